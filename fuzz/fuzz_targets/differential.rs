//! `differential`: the crate's `Vars` and `Array` parsers against a deliberately simple
//! reference decoder written here: plain index arithmetic, checked operations, no nom,
//! nothing shared with `src/`. Both read the whole input as one block, with the default
//! limits and with a small count limit taken from the first byte.
//!
//! They must agree on every input: the same pairs (or items) in the same order, or both
//! reject with the same `ParseErrorKind` at the same offset. For vars that accept, the lookups
//! (`get`, `get_first`, `get_all`), `content_length` (value or error and offset) and the
//! magic-var helpers must agree with plain scans too. The block is then wrapped in a
//! packet header: `Packet::parse` must give the same answer, offsets shifted by 4.
//!
//! The rules the reference implements are the documented ones (README "Limits and
//! strictness", `ParseErrorKind` docs): a vars pair needs 3 bytes to start (1 or 2 left over is
//! `TrailingBytes`), then the count limit, then a non-zero key length (`EmptyKey`), the
//! key inside the block (`KeyPastEnd`, at the key length), 2 bytes of value length
//! (`MissingValueLength`, where it should start) and the value inside the block
//! (`ValuePastEnd`, at the value length). An array item needs 2 bytes to start (1 left
//! over is `TrailingBytes`), then the count limit, then the item inside the block
//! (`ItemPastEnd`). `CONTENT_LENGTH`: ASCII digits fitting a `u64`, empty means none, and
//! a later value that differs numerically from an earlier one (empty counts as 0) is a
//! conflict; the first bad or conflicting value in wire order is reported.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uwsgi_wire::{
    is_magic_var, Array, Limits, Packet, ParseErrorKind, Status, Vars, MAX_ITEMS_IN_BLOCK,
    MAX_PAIRS_IN_BLOCK,
};

/// A reference rejection: what and where.
type RefError = (ParseErrorKind, usize);

/// One reference pair: key, value, and where the value starts in the block.
struct RefPair<'a> {
    key: &'a [u8],
    value: &'a [u8],
    value_at: usize,
}

/// Reads a little-endian u16 at `at`, if two bytes are there.
fn read_u16(block: &[u8], at: usize) -> Option<u16> {
    let lo = *block.get(at)?;
    let hi = *block.get(at.checked_add(1)?)?;
    Some(u16::from(lo) | (u16::from(hi) << 8))
}

fn ref_vars(block: &[u8], max_vars: usize) -> Result<Vec<RefPair<'_>>, RefError> {
    let mut pairs = Vec::new();
    let mut pos = 0usize;
    while pos < block.len() {
        let left = block.len() - pos;
        if left <= 2 {
            let count = u8::try_from(left).expect("1 or 2");
            return Err((ParseErrorKind::TrailingBytes { count }, pos));
        }
        if pairs.len() == max_vars {
            return Err((ParseErrorKind::TooManyVars { limit: max_vars }, pos));
        }
        let klen = read_u16(block, pos).expect("3 bytes are left");
        if klen == 0 {
            return Err((ParseErrorKind::EmptyKey, pos));
        }
        let key_at = pos + 2;
        let key_end = key_at.checked_add(usize::from(klen)).expect("no overflow");
        if key_end > block.len() {
            return Err((ParseErrorKind::KeyPastEnd { len: klen }, pos));
        }
        let vlen_at = key_end;
        let Some(vlen) = read_u16(block, vlen_at) else {
            return Err((ParseErrorKind::MissingValueLength, vlen_at));
        };
        let value_at = vlen_at + 2;
        let value_end = value_at
            .checked_add(usize::from(vlen))
            .expect("no overflow");
        if value_end > block.len() {
            return Err((ParseErrorKind::ValuePastEnd { len: vlen }, vlen_at));
        }
        pairs.push(RefPair {
            key: &block[key_at..key_end],
            value: &block[value_at..value_end],
            value_at,
        });
        pos = value_end;
    }
    Ok(pairs)
}

fn ref_array(block: &[u8], max_items: usize) -> Result<Vec<&[u8]>, RefError> {
    let mut items = Vec::new();
    let mut pos = 0usize;
    while pos < block.len() {
        let Some(len) = read_u16(block, pos) else {
            return Err((ParseErrorKind::TrailingBytes { count: 1 }, pos));
        };
        if items.len() == max_items {
            return Err((ParseErrorKind::TooManyItems { limit: max_items }, pos));
        }
        let at = pos + 2;
        let end = at.checked_add(usize::from(len)).expect("no overflow");
        if end > block.len() {
            return Err((ParseErrorKind::ItemPastEnd { len }, pos));
        }
        items.push(&block[at..end]);
        pos = end;
    }
    Ok(items)
}

/// `None`: not a valid CONTENT_LENGTH. `Some(None)`: empty. `Some(Some(n))`: a number.
fn ref_number(value: &[u8]) -> Option<Option<u64>> {
    if value.is_empty() {
        return Some(None);
    }
    let mut n: u64 = 0;
    for &b in value {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(Some(n))
}

fn ref_content_length(pairs: &[RefPair<'_>]) -> Result<Option<u64>, RefError> {
    let mut first: Option<u64> = None; // the first value's number (empty = 0)
    let mut any_number = false;
    for pair in pairs.iter().filter(|p| p.key == b"CONTENT_LENGTH") {
        let parsed =
            ref_number(pair.value).ok_or((ParseErrorKind::InvalidContentLength, pair.value_at))?;
        let number = parsed.unwrap_or(0);
        any_number |= parsed.is_some();
        match first {
            None => first = Some(number),
            Some(earlier) if earlier != number => {
                return Err((ParseErrorKind::ConflictingContentLength, pair.value_at));
            }
            Some(_) => {}
        }
    }
    Ok(if any_number { first } else { None })
}

fn ref_is_magic(key: &[u8]) -> bool {
    key.len() >= 6 && key[..6].eq_ignore_ascii_case(b"UWSGI_")
}

fuzz_target!(|data: &[u8]| {
    let small = data.first().map_or(0, |b| usize::from(b & 0x1f));
    // (max_vars, max_items): the defaults (`Limits::new`), then the small limit.
    for (max_vars, max_items) in [(MAX_PAIRS_IN_BLOCK, MAX_ITEMS_IN_BLOCK), (small, small)] {
        let limits = Limits::new().max_vars(max_vars).max_items(max_items);
        vars_agree(data, &limits, max_vars);
        array_agree(data, &limits, max_items);
    }
});

/// `max_vars`: the one `limits` was built with.
fn vars_agree(block: &[u8], limits: &Limits, max_vars: usize) {
    let reference = ref_vars(block, max_vars);
    let got = Vars::parse(block, limits);
    let vars = match (&reference, got) {
        (Ok(pairs), Ok(vars)) => {
            assert_eq!(vars.len(), pairs.len());
            assert!(
                vars.iter().eq(pairs.iter().map(|p| (p.key, p.value))),
                "pairs differ"
            );
            vars
        }
        (Err((kind, at)), Err(err)) => {
            assert_eq!(
                (err.kind(), err.offset()),
                (*kind, *at),
                "rejections differ"
            );
            packet_agrees(block, limits, Err(*kind), *at);
            return;
        }
        (Ok(_), Err(err)) => panic!("the crate refused a block the reference accepts: {err}"),
        (Err((kind, at)), Ok(_)) => {
            panic!("the crate accepted a block the reference refuses: {kind} at {at}")
        }
    };
    let pairs = reference.expect("matched Ok above");

    // Lookups against plain scans, for a few keys (and one that is absent).
    let mut keys: Vec<&[u8]> = pairs.iter().map(|p| p.key).take(4).collect();
    keys.push(b"CONTENT_LENGTH");
    keys.push(b"\x00absent\xff");
    for key in keys {
        let all: Vec<&[u8]> = pairs
            .iter()
            .filter(|p| p.key == key)
            .map(|p| p.value)
            .collect();
        assert!(vars.get_all(key).eq(all.iter().copied()));
        assert_eq!(vars.get(key), all.last().copied());
        assert_eq!(vars.get_first(key), all.first().copied());
    }

    let content_length = vars.content_length().map_err(|e| (e.kind(), e.offset()));
    assert_eq!(
        content_length,
        ref_content_length(&pairs),
        "content_length differs"
    );

    let magic: Vec<(&[u8], &[u8])> = pairs
        .iter()
        .filter(|p| ref_is_magic(p.key))
        .map(|p| (p.key, p.value))
        .collect();
    assert!(vars
        .iter()
        .filter(|(k, _)| is_magic_var(k))
        .eq(magic.iter().copied()));
    assert_eq!(vars.has_magic_vars(), !magic.is_empty());

    packet_agrees(block, limits, Ok(pairs.len()), 0);
}

/// `max_items`: the one `limits` was built with.
fn array_agree(block: &[u8], limits: &Limits, max_items: usize) {
    let reference = ref_array(block, max_items);
    match (&reference, Array::parse(block, limits)) {
        (Ok(items), Ok(array)) => {
            assert_eq!(array.len(), items.len());
            assert!(array.iter().eq(items.iter().copied()), "items differ");
            for (i, item) in items.iter().enumerate().take(4) {
                assert_eq!(array.get(i), Some(*item));
            }
            assert_eq!(array.get(items.len()), None);
        }
        (Err((kind, at)), Err(err)) => {
            assert_eq!(
                (err.kind(), err.offset()),
                (*kind, *at),
                "rejections differ"
            );
        }
        (Ok(_), Err(err)) => panic!("the crate refused an array the reference accepts: {err}"),
        (Err((kind, at)), Ok(_)) => {
            panic!("the crate accepted an array the reference refuses: {kind} at {at}")
        }
    }
}

/// The same block inside a modifier1 0 packet gives the same answer, offsets + 4.
fn packet_agrees(
    block: &[u8],
    limits: &Limits,
    expected: Result<usize, ParseErrorKind>,
    at: usize,
) {
    let Ok(datasize) = u16::try_from(block.len()) else {
        return; // no packet can carry it
    };
    let mut wire = Vec::with_capacity(block.len() + 4);
    wire.push(0);
    wire.extend_from_slice(&datasize.to_le_bytes());
    wire.push(0);
    wire.extend_from_slice(block);
    match (Packet::parse(&wire, limits), expected) {
        (Ok(Status::Complete((packet, consumed))), Ok(count)) => {
            assert_eq!(consumed, wire.len());
            assert_eq!(packet.vars().map(|v| v.len()), Some(count));
        }
        (Err(err), Err(kind)) => assert_eq!((err.kind(), err.offset()), (kind, at + 4)),
        (got, expected) => panic!("packet parse {got:?} vs block parse {expected:?}"),
    }
}
