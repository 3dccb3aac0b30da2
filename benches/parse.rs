//! Micro-benchmarks for issue 7: parse, validate, lookup, iterate and encode, each next to
//! its baselines in the same criterion group so the report shows them side by side.
//!
//! Inputs are real packets captured from nginx 1.22 by `tests/peers/capture.sh` (see
//! `tests/vectors/README.md`): a plain GET (16 vars), a GET with 40 extra `X-Custom-NN`
//! headers (56 vars) and a GET with a 65166-byte `X-Big` header (datasize 65535, 17 vars).
//!
//! Baselines, all written here:
//! - `chain_limit`: the dependent-chain limit. Reads the datasize, then walks the length
//!   prefixes of the same block with bounds checks and counts the pairs; nothing else.
//! - `hand_validate`: exactly the checks `Vars::parse` makes (same error kinds, same
//!   offsets), written by hand; `nom_slice` and `nom_inlined_input`: the same checks with
//!   nom 8's `le_u16` and `take`, as the library had them before issue 7.
//! - `httparse`: `httparse::Request::parse` on the same request written as the HTTP/1.1
//!   head a proxy would parse instead (see [`http_head`]).
//! - `copy`: `copy_from_slice` of the finished packet bytes, for the encoders.
//!
//! The slot arrays (for `Vars::index` and httparse's headers) and the output
//! buffer are made once, outside the timed loop, as a server would keep them per
//! connection.
//!
//! Modes of this binary (commands and figures in BENCHMARKS.md):
//! - `cargo bench --bench parse -- --noplot`: criterion, every group.
//! - `cargo bench --bench parse -- --test`: every case once (CI).
//! - `PARSE_BENCH_RATIOS=ROUNDS cargo bench --bench parse`: each target of the issue as a
//!   ratio, the two sides timed in alternating ~50 µs batches (ABBA...) so that load from
//!   other processes hits both alike; prints the median per-call times and the median of
//!   the per-round ratios.
//! - `PARSE_BENCH_CALLGRIND=N` (and `PARSE_BENCH_INPUT=get16|vars56|large64k`): every case
//!   N times, for `valgrind --tool=callgrind --toggle-collect='parse::case::*'`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use uwsgi_wire::{
    encode_vars, BlockKind, Header, Limits, Packet, ParseError, ParseErrorKind, Status, Var, Vars,
    VarsIndex, HEADER_LEN, MAX_PAIRS_IN_BLOCK,
};

/// nginx 1.22, `curl http://127.0.0.1/path/x?a=1&b=2`: 16 vars, datasize 372.
const GET16: &[u8] = include_bytes!("../tests/vectors/nginx-get.bin");
/// nginx 1.22, a GET with 40 `X-Custom-NN: value-NN` headers: 56 vars, datasize 1473.
const VARS56: &[u8] = include_bytes!("../tests/vectors/nginx-56vars.bin");
/// nginx 1.22, a GET with a 65166-byte `X-Big` header: 17 vars, datasize 65535.
const LARGE64K: &[u8] = include_bytes!("../tests/vectors/nginx-large-header.bin");

/// Slots for the indexed parse and for httparse's headers (the inputs need at most 56).
const SLOTS: usize = 64;

// ---------------------------------------------------------------------------------------
// Baselines
// ---------------------------------------------------------------------------------------

/// (a) The dependent-chain limit: read the header's datasize, then walk
/// `klen | key | vlen | value` by length prefixes with bounds checks, counting pairs.
/// No other check (empty keys, limits, error kinds, offsets) is made.
#[inline(never)]
fn chain_limit(packet: &[u8]) -> Option<usize> {
    let (head, rest) = packet.split_first_chunk::<HEADER_LEN>()?;
    let datasize = usize::from(u16::from_le_bytes([head[1], head[2]]));
    let mut block = rest.get(..datasize)?;
    let mut pairs = 0usize;
    while let Some((klen, rest)) = block.split_first_chunk::<2>() {
        let rest = rest.get(usize::from(u16::from_le_bytes(*klen))..)?;
        let (vlen, rest) = rest.split_first_chunk::<2>()?;
        block = rest.get(usize::from(u16::from_le_bytes(*vlen))..)?;
        pairs += 1;
    }
    block.is_empty().then_some(pairs)
}

/// The vars validation of `Vars::parse` (src/wire/vars/grammar.rs `validate_each`), written by hand:
/// the same checks in the same order, the same error kinds and offsets.
#[inline(never)]
fn hand_validate(block: &[u8], max_vars: usize) -> Result<usize, ParseError> {
    let mut rest = block;
    let mut count = 0usize;
    while !rest.is_empty() {
        let at = block.len() - rest.len();
        if rest.len() <= 2 {
            let count = if rest.len() == 1 { 1 } else { 2 };
            return Err(ParseError::new(ParseErrorKind::TrailingBytes { count }, at));
        }
        if count == max_vars {
            return Err(ParseError::new(
                ParseErrorKind::TooManyVars { limit: max_vars },
                at,
            ));
        }
        let Some((klen, after_klen)) = rest.split_first_chunk::<2>() else {
            return Err(ParseError::new(
                ParseErrorKind::TrailingBytes { count: 2 },
                at,
            ));
        };
        let klen = u16::from_le_bytes(*klen);
        if klen == 0 {
            return Err(ParseError::new(ParseErrorKind::EmptyKey, at));
        }
        let Some(after_key) = after_klen.get(usize::from(klen)..) else {
            return Err(ParseError::new(
                ParseErrorKind::KeyPastEnd { len: klen },
                at,
            ));
        };
        let vat = at + 2 + usize::from(klen);
        let Some((vlen, after_vlen)) = after_key.split_first_chunk::<2>() else {
            return Err(ParseError::new(ParseErrorKind::MissingValueLength, vat));
        };
        let vlen = u16::from_le_bytes(*vlen);
        let Some(after_value) = after_vlen.get(usize::from(vlen)..) else {
            return Err(ParseError::new(
                ParseErrorKind::ValuePastEnd { len: vlen },
                vat,
            ));
        };
        rest = after_value;
        count += 1;
    }
    Ok(count)
}

/// `Packet::parse` of a vars packet with the hand-written validation: header, datasize
/// limit, partial check, then [`hand_validate`]. Returns the pair count and the bytes
/// consumed.
#[inline(never)]
fn hand_packet(buf: &[u8]) -> Result<Status<(usize, usize)>, ParseError> {
    // `Limits::new()`'s values, which the library's parse checks.
    let (max_datasize, max_vars) = (u16::MAX, MAX_PAIRS_IN_BLOCK);
    let header = match Header::parse(buf) {
        Status::Complete(header) => header,
        Status::Partial { needed } => return Ok(Status::Partial { needed }),
    };
    if header.datasize > max_datasize {
        let kind = ParseErrorKind::DatasizeOverLimit {
            datasize: header.datasize,
            limit: max_datasize,
        };
        return Err(ParseError::new(kind, 1));
    }
    let total = HEADER_LEN + usize::from(header.datasize);
    let Some(block) = buf.get(HEADER_LEN..total) else {
        return Ok(Status::Partial {
            needed: total - buf.len(),
        });
    };
    match hand_validate(block, max_vars) {
        Ok(count) => Ok(Status::Complete((count, total))),
        Err(err) => Err(ParseError::new(err.kind(), err.offset() + HEADER_LEN)),
    }
}

/// The same checks with nom 8's combinators as the library used them before issue 7
/// (`le_u16` and `take` from `complete`, error type `()`), generic over the input so the
/// same code runs on `&[u8]` and on [`nom_input::Inlined`].
#[inline(always)]
fn nom_validate<I>(block: I, max_vars: usize) -> Result<usize, ParseError>
where
    I: nom::Input<Item = u8> + Copy,
{
    use nom::bytes::complete::take;
    use nom::number::complete::le_u16;
    let total = block.input_len();
    let mut rest = block;
    let mut count = 0usize;
    while rest.input_len() != 0 {
        let at = total - rest.input_len();
        if rest.input_len() <= 2 {
            let count = if rest.input_len() == 1 { 1 } else { 2 };
            return Err(ParseError::new(ParseErrorKind::TrailingBytes { count }, at));
        }
        if count == max_vars {
            return Err(ParseError::new(
                ParseErrorKind::TooManyVars { limit: max_vars },
                at,
            ));
        }
        let Ok((after_klen, klen)) = le_u16::<_, ()>(rest) else {
            return Err(ParseError::new(
                ParseErrorKind::TrailingBytes { count: 2 },
                at,
            ));
        };
        if klen == 0 {
            return Err(ParseError::new(ParseErrorKind::EmptyKey, at));
        }
        let Ok((after_key, _key)) = take::<_, _, ()>(klen)(after_klen) else {
            return Err(ParseError::new(
                ParseErrorKind::KeyPastEnd { len: klen },
                at,
            ));
        };
        let vat = at + 2 + usize::from(klen);
        let Ok((after_vlen, vlen)) = le_u16::<_, ()>(after_key) else {
            return Err(ParseError::new(ParseErrorKind::MissingValueLength, vat));
        };
        let Ok((after_value, _value)) = take::<_, _, ()>(vlen)(after_vlen) else {
            return Err(ParseError::new(
                ParseErrorKind::ValuePastEnd { len: vlen },
                vat,
            ));
        };
        rest = after_value;
        count += 1;
    }
    Ok(count)
}

/// nom on `&[u8]`: every `le_u16` and `take` ends in `<&[u8] as nom::Input>::take_from`,
/// which nom 8.0.0 does not mark `#[inline]`: an out-of-line call per field.
#[inline(never)]
fn nom_slice(block: &[u8], max_vars: usize) -> Result<usize, ParseError> {
    nom_validate(block, max_vars)
}

/// nom on a newtype whose `nom::Input` methods are all `#[inline]`.
#[inline(never)]
fn nom_inlined_input(block: &[u8], max_vars: usize) -> Result<usize, ParseError> {
    nom_validate(nom_input::Inlined(block), max_vars)
}

mod nom_input {
    use std::iter::{Copied, Enumerate};
    use std::slice::Iter;

    /// `&[u8]` for nom with every `Input` method `#[inline]` (nom's own impl for `&[u8]`
    /// leaves `take_from` out of line).
    #[derive(Clone, Copy)]
    pub(crate) struct Inlined<'a>(pub(crate) &'a [u8]);

    impl<'a> nom::Input for Inlined<'a> {
        type Item = u8;
        type Iter = Copied<Iter<'a, u8>>;
        type IterIndices = Enumerate<Self::Iter>;

        #[inline]
        fn input_len(&self) -> usize {
            self.0.len()
        }
        #[inline]
        fn take(&self, index: usize) -> Self {
            Inlined(&self.0[..index])
        }
        #[inline]
        fn take_from(&self, index: usize) -> Self {
            Inlined(&self.0[index..])
        }
        #[inline]
        fn take_split(&self, index: usize) -> (Self, Self) {
            let (prefix, suffix) = self.0.split_at(index);
            (Inlined(suffix), Inlined(prefix))
        }
        #[inline]
        fn position<P: Fn(u8) -> bool>(&self, predicate: P) -> Option<usize> {
            self.0.iter().position(|&b| predicate(b))
        }
        #[inline]
        fn iter_elements(&self) -> Self::Iter {
            self.0.iter().copied()
        }
        #[inline]
        fn iter_indices(&self) -> Self::IterIndices {
            self.iter_elements().enumerate()
        }
        #[inline]
        fn slice_index(&self, count: usize) -> Result<usize, nom::Needed> {
            match count.checked_sub(self.0.len()) {
                Some(missing) if missing > 0 => Err(nom::Needed::new(missing)),
                _ => Ok(count),
            }
        }
    }
}

/// (b) The same request as the HTTP/1.1 head nginx received, rebuilt from the vars the
/// way nginx built the vars from it (the reverse of the name mapping in docs/PROTOCOL.md
/// section 6.4): the request line `REQUEST_METHOD REQUEST_URI SERVER_PROTOCOL`, then every
/// `HTTP_*` var in wire order as a header, its name with the prefix dropped, `_` turned
/// back into `-` and each word capitalised (`HTTP_USER_AGENT` -> `User-Agent`), then the
/// blank line. The other vars (`REMOTE_ADDR`, `DOCUMENT_ROOT`, ...) are nginx's own and
/// were never in the head.
fn http_head(vars: &Vars<'_>) -> Vec<u8> {
    let mut head = Vec::new();
    for (i, key) in [&b"REQUEST_METHOD"[..], b"REQUEST_URI", b"SERVER_PROTOCOL"]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            head.push(b' ');
        }
        head.extend_from_slice(vars.get(key).expect("nginx always sends it"));
    }
    head.extend_from_slice(b"\r\n");
    for (key, value) in vars.iter() {
        let Some(name) = key.strip_prefix(b"HTTP_") else {
            continue;
        };
        let mut word_start = true;
        for &b in name {
            head.push(match b {
                b'_' => b'-',
                _ if word_start => b.to_ascii_uppercase(),
                _ => b.to_ascii_lowercase(),
            });
            word_start = b == b'_';
        }
        head.extend_from_slice(b": ");
        head.extend_from_slice(value);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// One parse with httparse into caller-provided header slots; returns the head length
/// and the header count.
#[inline(never)]
fn httparse_request<'b>(head: &'b [u8], headers: &mut [httparse::Header<'b>]) -> (usize, usize) {
    let mut request = httparse::Request::new(headers);
    match request.parse(head) {
        Ok(httparse::Status::Complete(n)) => (n, request.headers.len()),
        _ => (0, 0),
    }
}

// ---------------------------------------------------------------------------------------
// The library, each use in one named function
// ---------------------------------------------------------------------------------------

/// `Packet::parse`: header, limits, full validation; the view keeps the pair count.
#[inline(never)]
fn wire_parse(buf: &[u8]) -> Option<(Vars<'_>, usize)> {
    match Packet::parse(buf, &Limits::new()) {
        Ok(Status::Complete((packet, consumed))) => Some((packet.vars()?, consumed)),
        _ => None,
    }
}

/// Parse + validate + index: the packet framed with the block read raw, then
/// `Vars::parse_indexed` into caller-provided slots, in one pass.
#[inline(never)]
fn wire_parse_indexed<'a, 's>(
    buf: &'a [u8],
    slots: &'s mut [Var<'a>],
) -> Option<(VarsIndex<'a, 's>, usize)> {
    let Ok(Status::Complete((packet, consumed))) =
        Packet::parse_as(buf, BlockKind::Raw, &Limits::new())
    else {
        return None;
    };
    let index = Vars::parse_indexed(packet.payload().as_bytes(), &Limits::new(), slots).ok()?;
    Some((index, consumed))
}

/// `Packet::parse`, then `Vars::index`: the index built with a second walk.
#[inline(never)]
fn wire_parse_then_index<'a, 's>(
    buf: &'a [u8],
    slots: &'s mut [Var<'a>],
) -> Option<VarsIndex<'a, 's>> {
    wire_parse(buf)?.0.index(slots).ok()
}

/// Parse, then visit every pair (the sum of key and value lengths): `Packet::parse`, then
/// `Vars::iter`, which walks the block's chain of length prefixes a second time.
#[inline(never)]
fn wire_parse_then_visit(buf: &[u8]) -> Option<usize> {
    let (vars, _) = wire_parse(buf)?;
    Some(vars.iter().map(|(k, v)| k.len() + v.len()).sum())
}

/// Parse with the index, then visit every pair from the slots the validating pass
/// filled: `Packet::parse_as(.., BlockKind::Raw, ..)`, `Vars::parse_indexed`, then
/// `VarsIndex::pairs` (the way BENCHMARKS.md documents for visiting every pair).
#[inline(never)]
fn wire_parse_indexed_then_visit<'a>(buf: &'a [u8], slots: &mut [Var<'a>]) -> Option<usize> {
    let (index, _) = wire_parse_indexed(buf, slots)?;
    Some(index.pairs().iter().map(|(k, v)| k.len() + v.len()).sum())
}

#[inline(never)]
fn vars_get<'a>(vars: &Vars<'a>, key: &[u8]) -> Option<&'a [u8]> {
    vars.get(key)
}

#[inline(never)]
fn index_get<'a>(index: &VarsIndex<'a, '_>, key: &[u8]) -> Option<&'a [u8]> {
    index.get(key)
}

#[inline(never)]
fn vars_sum(vars: &Vars<'_>) -> usize {
    vars.iter().map(|(k, v)| k.len() + v.len()).sum()
}

#[inline(never)]
fn index_sum(index: &VarsIndex<'_, '_>) -> usize {
    index.pairs().iter().map(|(k, v)| k.len() + v.len()).sum()
}

/// `Packet::encode` of the parsed packet.
#[inline(never)]
fn encode_packet(packet: &Packet<'_>, buf: &mut [u8]) -> usize {
    packet.encode(buf).unwrap_or(0)
}

/// The header, then `encode_vars` from a list of pairs: the block built from scratch.
#[inline(never)]
fn encode_from_pairs(header: Header, pairs: &[Var<'_>], buf: &mut [u8]) -> usize {
    let Some((head, block)) = buf.split_first_chunk_mut::<HEADER_LEN>() else {
        return 0;
    };
    *head = header.to_bytes();
    encode_vars(pairs, block).map_or(0, |n| n + HEADER_LEN)
}

/// What `encode_vars` could cost: the same checks (empty key, 16-bit lengths, a block of
/// at most 65535 bytes, room in `buf`) and the same two passes, with every write inline
/// (the library's `SliceWriter::put_field` is called out of line per field and copies the
/// 2-byte prefix with a `memcpy` call). A baseline for the encode group, not library code.
#[inline(never)]
fn hand_encode(header: Header, pairs: &[Var<'_>], buf: &mut [u8]) -> usize {
    let mut len = 0usize;
    for (key, value) in pairs {
        if key.is_empty() || u16::try_from(key.len().max(value.len())).is_err() {
            return 0;
        }
        len += 4 + key.len() + value.len();
        if len > usize::from(u16::MAX) {
            return 0;
        }
    }
    let Some(out) = buf.get_mut(..HEADER_LEN + len) else {
        return 0;
    };
    let Some((head, mut rest)) = out.split_first_chunk_mut::<HEADER_LEN>() else {
        return 0;
    };
    *head = header.to_bytes();
    for &(key, value) in pairs {
        for field in [key, value] {
            let Some((prefix, after)) = std::mem::take(&mut rest).split_first_chunk_mut::<2>()
            else {
                return 0;
            };
            *prefix = u16::try_from(field.len()).unwrap_or(0).to_le_bytes();
            let Some((to, after)) = after.split_at_mut_checked(field.len()) else {
                return 0;
            };
            to.copy_from_slice(field);
            rest = after;
        }
    }
    HEADER_LEN + len
}

/// (c) A copy of the finished packet bytes.
#[inline(never)]
fn copy_packet(packet: &[u8], buf: &mut [u8]) -> usize {
    match buf.get_mut(..packet.len()) {
        Some(out) => {
            out.copy_from_slice(packet);
            packet.len()
        }
        None => 0,
    }
}

// ---------------------------------------------------------------------------------------
// Inputs, checked once before anything is timed
// ---------------------------------------------------------------------------------------

struct Input {
    name: &'static str,
    packet: &'static [u8],
    parsed: Packet<'static>,
    vars: Vars<'static>,
    index: VarsIndex<'static, 'static>,
    pairs: &'static [Var<'static>],
    head: &'static [u8],
    /// A key near the end of the block, and one that is not there.
    near_end: &'static [u8],
    missing: &'static [u8],
}

fn input(name: &'static str, packet: &'static [u8], near_end: &'static [u8]) -> Input {
    let Ok(Status::Complete((parsed, consumed))) = Packet::parse(packet, &Limits::new()) else {
        panic!("{name}: not one complete packet");
    };
    assert_eq!(consumed, packet.len(), "{name}: bytes after the packet");
    let vars = parsed.vars().expect("modifier1 0 carries vars");
    let n = vars.len();
    let block = vars.as_bytes();
    assert_eq!(chain_limit(packet), Some(n), "{name}: chain loop");
    let complete = Ok(Status::Complete((n, consumed)));
    assert_eq!(hand_packet(packet), complete, "{name}: hand-written");
    assert_eq!(nom_slice(block, MAX_PAIRS_IN_BLOCK), Ok(n), "{name}: nom");
    assert_eq!(nom_inlined_input(block, MAX_PAIRS_IN_BLOCK), Ok(n));
    let mut slots = [Var::default(); SLOTS];
    let (indexed, used) = wire_parse_indexed(packet, &mut slots).expect("indexed");
    assert!(
        used == consumed && indexed.pairs().iter().copied().eq(vars.iter()),
        "{name}: index"
    );
    let slots: &'static mut [Var<'static>] = Vec::leak(vec![Var::default(); SLOTS]);
    let index = vars.index(slots).expect("enough slots");
    let head: &'static [u8] = Vec::leak(http_head(&vars));
    let mut headers = [httparse::EMPTY_HEADER; SLOTS];
    let (len, count) = httparse_request(head, &mut headers);
    assert_eq!(len, head.len(), "{name}: httparse did not parse the head");
    let http_vars = vars.iter().filter(|(k, _)| k.starts_with(b"HTTP_")).count();
    assert_eq!(count, http_vars, "{name}: header count");
    assert!(vars.get(near_end).is_some(), "{name}: key near the end");
    let missing = b"HTTP_AUTHORIZATION";
    assert_eq!(index_get(&index, missing), None);
    assert_eq!(vars_sum(&vars), index_sum(&index));
    let visited = Some(vars_sum(&vars));
    assert_eq!(
        wire_parse_then_visit(packet),
        visited,
        "{name}: parse, visit"
    );
    let mut slots = [Var::default(); SLOTS];
    assert_eq!(
        wire_parse_indexed_then_visit(packet, &mut slots),
        visited,
        "{name}: indexed parse, visit"
    );
    let pairs: &'static [Var<'static>] = Vec::leak(vars.iter().collect());
    let mut buf = vec![0u8; packet.len()];
    assert_eq!(encode_packet(&parsed, &mut buf), packet.len());
    assert_eq!(buf, packet, "{name}: Packet::encode");
    buf.fill(0);
    assert_eq!(
        encode_from_pairs(parsed.header(), pairs, &mut buf),
        packet.len()
    );
    assert_eq!(buf, packet, "{name}: encode_vars");
    buf.fill(0);
    assert_eq!(hand_encode(parsed.header(), pairs, &mut buf), packet.len());
    assert_eq!(buf, packet, "{name}: hand_encode");
    Input {
        name,
        packet,
        parsed,
        vars,
        index,
        pairs,
        head,
        near_end,
        missing,
    }
}

fn inputs() -> Vec<Input> {
    vec![
        input("get16", placed(GET16), b"HTTP_USER_AGENT"),
        input("vars56", placed(VARS56), b"HTTP_X_CUSTOM_39"),
        input("large64k", placed(LARGE64K), b"HTTP_X_BIG"),
    ]
}

/// A copy of `packet` that starts `PARSE_BENCH_OFFSET` bytes (default 0) after a 4096-byte
/// boundary, so its length prefixes fall on the same cache-line offsets in every build
/// (where `include_bytes!` data lands moves with the code around it).
fn placed(packet: &[u8]) -> &'static [u8] {
    let offset = env_number("PARSE_BENCH_OFFSET").unwrap_or(0) % 4096;
    let buf: &'static mut [u8] = Vec::leak(vec![0u8; packet.len() + 2 * 4096]);
    let start = (4096 - buf.as_ptr() as usize % 4096) % 4096 + offset;
    let copy = &mut buf[start..start + packet.len()];
    copy.copy_from_slice(packet);
    copy
}

/// What a case may use besides its input, made once per case and input.
struct Scratch {
    slots: [Var<'static>; SLOTS],
    headers: [httparse::Header<'static>; SLOTS],
    buf: Vec<u8>,
}

impl Scratch {
    fn new() -> Self {
        Scratch {
            slots: [Var::default(); SLOTS],
            headers: [httparse::EMPTY_HEADER; SLOTS],
            buf: vec![0u8; 1 << 17],
        }
    }
}

// ---------------------------------------------------------------------------------------
// The cases: one `#[inline(never)]` function each, shared by every mode
// ---------------------------------------------------------------------------------------

type CaseFn = fn(&Input, &mut Scratch);

struct Case {
    group: &'static str,
    function: &'static str,
    run: CaseFn,
    inputs: &'static [&'static str],
}

const ALL: &[&str] = &["get16", "vars56", "large64k"];
const SMALL: &[&str] = &["get16", "vars56"];
const ENCODE: &[&str] = &["get16", "large64k"];

/// Defines `case::GROUP_FUNCTION(input, scratch)` running the body once (its result
/// through `black_box`), and `CASES`, the table every mode walks.
macro_rules! cases {
    ($($group:literal $function:literal $name:ident($i:ident, $s:ident) on $inputs:ident => $body:expr;)*) => {
        mod case {
            use super::*;
            $(
                #[inline(never)]
                #[allow(unused_variables)]
                pub(crate) fn $name($i: &Input, $s: &mut Scratch) {
                    let _ = black_box($body);
                }
            )*
        }
        const CASES: &[Case] = &[$(Case {
            group: $group,
            function: $function,
            run: case::$name,
            inputs: $inputs,
        }),*];
    };
}

cases! {
    "parse" "uwsgi_wire" parse_uwsgi_wire(i, s) on ALL =>
        wire_parse(black_box(i.packet)).map(|(v, n)| (v.len(), n));
    "parse" "uwsgi_wire_indexed" parse_uwsgi_wire_indexed(i, s) on ALL =>
        wire_parse_indexed(black_box(i.packet), black_box(&mut s.slots)).map(|(x, n)| (x.pairs().len(), n));
    "parse" "uwsgi_wire_then_index" parse_uwsgi_wire_then_index(i, s) on ALL =>
        wire_parse_then_index(black_box(i.packet), black_box(&mut s.slots)).map(|x| x.pairs().len());
    "parse" "uwsgi_wire_then_visit" parse_uwsgi_wire_then_visit(i, s) on ALL =>
        wire_parse_then_visit(black_box(i.packet));
    "parse" "uwsgi_wire_indexed_then_visit" parse_uwsgi_wire_indexed_then_visit(i, s) on ALL =>
        wire_parse_indexed_then_visit(black_box(i.packet), black_box(&mut s.slots));
    "parse" "hand_validate" parse_hand_validate(i, s) on ALL => hand_packet(black_box(i.packet));
    "parse" "chain_limit" parse_chain_limit(i, s) on ALL => chain_limit(black_box(i.packet));
    "parse" "httparse" parse_httparse(i, s) on ALL =>
        httparse_request(black_box(i.head), black_box(&mut s.headers));

    "validate" "vars_parse" validate_vars_parse(i, s) on ALL =>
        Vars::parse(black_box(i.vars.as_bytes()), &Limits::new()).map(|v| v.len());
    "validate" "hand" validate_hand(i, s) on ALL =>
        hand_validate(black_box(i.vars.as_bytes()), black_box(MAX_PAIRS_IN_BLOCK));
    "validate" "nom_slice" validate_nom_slice(i, s) on ALL =>
        nom_slice(black_box(i.vars.as_bytes()), black_box(MAX_PAIRS_IN_BLOCK));
    "validate" "nom_inlined_input" validate_nom_inlined_input(i, s) on ALL =>
        nom_inlined_input(black_box(i.vars.as_bytes()), black_box(MAX_PAIRS_IN_BLOCK));

    "lookup" "rewalk_near_end" lookup_rewalk_near_end(i, s) on SMALL => vars_get(black_box(&i.vars), black_box(i.near_end));
    "lookup" "index_near_end" lookup_index_near_end(i, s) on SMALL => index_get(black_box(&i.index), black_box(i.near_end));
    "lookup" "rewalk_missing" lookup_rewalk_missing(i, s) on SMALL => vars_get(black_box(&i.vars), black_box(i.missing));
    "lookup" "index_missing" lookup_index_missing(i, s) on SMALL => index_get(black_box(&i.index), black_box(i.missing));

    "iterate" "rewalk" iterate_rewalk(i, s) on SMALL => vars_sum(black_box(&i.vars));
    "iterate" "index" iterate_index(i, s) on SMALL => index_sum(black_box(&i.index));

    "encode" "packet_encode" encode_packet_encode(i, s) on ENCODE =>
        encode_packet(black_box(&i.parsed), black_box(&mut s.buf));
    "encode" "encode_vars" encode_encode_vars(i, s) on ENCODE =>
        encode_from_pairs(black_box(i.parsed.header()), black_box(i.pairs), black_box(&mut s.buf));
    "encode" "hand_encode" encode_hand_encode(i, s) on ENCODE =>
        hand_encode(black_box(i.parsed.header()), black_box(i.pairs), black_box(&mut s.buf));
    "encode" "copy" encode_copy(i, s) on ENCODE => copy_packet(black_box(i.packet), black_box(&mut s.buf));
}

fn find(group: &str, function: &str) -> CaseFn {
    CASES
        .iter()
        .find(|c| c.group == group && c.function == function)
        .map(|c| c.run)
        .unwrap_or_else(|| panic!("no case {group}/{function}"))
}

// ---------------------------------------------------------------------------------------
// Mode 1: criterion
// ---------------------------------------------------------------------------------------

fn criterion_groups(c: &mut Criterion, inputs: &[Input]) {
    for group_name in ["parse", "validate", "lookup", "iterate", "encode"] {
        let mut group = c.benchmark_group(group_name);
        for input in inputs {
            let bytes = match group_name {
                "validate" => input.vars.as_bytes().len(),
                _ => input.packet.len(),
            };
            group.throughput(Throughput::Bytes(bytes as u64));
            for case in CASES.iter().filter(|c| c.group == group_name) {
                if !case.inputs.contains(&input.name) {
                    continue;
                }
                let mut scratch = Scratch::new();
                let id = BenchmarkId::new(case.function, input.name);
                group.bench_function(id, |b| b.iter(|| (case.run)(input, &mut scratch)));
            }
        }
        group.finish();
    }
}

// ---------------------------------------------------------------------------------------
// Mode 2: the targets as interleaved ratios
// ---------------------------------------------------------------------------------------

/// Per-call time of `iters` calls, in ns.
fn batch(run: CaseFn, input: &Input, scratch: &mut Scratch, iters: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        run(input, scratch);
    }
    start.elapsed().as_secs_f64() * 1e9 / f64::from(iters)
}

/// How many calls make a batch of about `target`.
fn calibrate(run: CaseFn, input: &Input, scratch: &mut Scratch, target: Duration) -> u32 {
    let one = batch(run, input, scratch, 1000).max(0.1);
    ((target.as_secs_f64() * 1e9 / one) as u32).max(1)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Times `a` and `b` in alternating batches (A B, B A, ...); returns the median per-call
/// times and the median of the per-round ratios a/b.
fn compare(a: (CaseFn, &Input), b: (CaseFn, &Input), rounds: usize) -> (f64, f64, f64) {
    let target = Duration::from_micros(50);
    let (mut sa, mut sb) = (Scratch::new(), Scratch::new());
    let ia = calibrate(a.0, a.1, &mut sa, target);
    let ib = calibrate(b.0, b.1, &mut sb, target);
    let (mut ta, mut tb, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (x, y) = if round % 2 == 0 {
            let x = batch(a.0, a.1, &mut sa, ia);
            (x, batch(b.0, b.1, &mut sb, ib))
        } else {
            let y = batch(b.0, b.1, &mut sb, ib);
            (batch(a.0, a.1, &mut sa, ia), y)
        };
        ta.push(x);
        tb.push(y);
        ratio.push(x / y);
    }
    (median(&mut ta), median(&mut tb), median(&mut ratio))
}

/// `a` / `b` at most (`AtMost`) or at least (`AtLeast`) the figure.
#[derive(Clone, Copy)]
enum Goal {
    AtMost(f64),
    AtLeast(f64),
    Info,
}

/// (label, a = (group, function, input), b = (group, function, input), goal)
type Target = (
    &'static str,
    (&'static str, &'static str, &'static str),
    (&'static str, &'static str, &'static str),
    Goal,
);

const TARGETS: &[Target] = &[
    (
        "parse+validate+index get16 vs chain limit",
        ("parse", "uwsgi_wire_indexed", "get16"),
        ("parse", "chain_limit", "get16"),
        Goal::AtMost(1.25),
    ),
    (
        "parse+validate+index vars56 vs chain limit",
        ("parse", "uwsgi_wire_indexed", "vars56"),
        ("parse", "chain_limit", "vars56"),
        Goal::AtMost(1.25),
    ),
    (
        "parse+validate get16 vs chain limit",
        ("parse", "uwsgi_wire", "get16"),
        ("parse", "chain_limit", "get16"),
        Goal::AtMost(1.25),
    ),
    (
        "parse+validate vars56 vs chain limit",
        ("parse", "uwsgi_wire", "vars56"),
        ("parse", "chain_limit", "vars56"),
        Goal::AtMost(1.25),
    ),
    (
        "parse, then visit every pair (Vars::iter), get16, vs chain limit",
        ("parse", "uwsgi_wire_then_visit", "get16"),
        ("parse", "chain_limit", "get16"),
        Goal::AtMost(1.3),
    ),
    (
        "parse with index, then visit every pair (VarsIndex::pairs), get16, vs chain limit",
        ("parse", "uwsgi_wire_indexed_then_visit", "get16"),
        ("parse", "chain_limit", "get16"),
        Goal::AtMost(1.3),
    ),
    (
        "parse, then visit every pair (Vars::iter), vars56, vs chain limit",
        ("parse", "uwsgi_wire_then_visit", "vars56"),
        ("parse", "chain_limit", "vars56"),
        Goal::AtMost(1.3),
    ),
    (
        "parse with index, then visit every pair (VarsIndex::pairs), vars56, vs chain limit",
        ("parse", "uwsgi_wire_indexed_then_visit", "vars56"),
        ("parse", "chain_limit", "vars56"),
        Goal::AtMost(1.3),
    ),
    (
        "httparse / parse+validate+index, get16",
        ("parse", "httparse", "get16"),
        ("parse", "uwsgi_wire_indexed", "get16"),
        Goal::AtLeast(1.5),
    ),
    (
        "httparse / parse+validate+index, vars56",
        ("parse", "httparse", "vars56"),
        ("parse", "uwsgi_wire_indexed", "vars56"),
        Goal::AtLeast(3.0),
    ),
    (
        "httparse / chain limit, get16 (the ceiling for the row above)",
        ("parse", "httparse", "get16"),
        ("parse", "chain_limit", "get16"),
        Goal::Info,
    ),
    (
        "httparse / chain limit, vars56",
        ("parse", "httparse", "vars56"),
        ("parse", "chain_limit", "vars56"),
        Goal::Info,
    ),
    (
        "httparse / parse+validate, get16",
        ("parse", "httparse", "get16"),
        ("parse", "uwsgi_wire", "get16"),
        Goal::AtLeast(1.5),
    ),
    (
        "httparse / parse+validate, vars56",
        ("parse", "httparse", "vars56"),
        ("parse", "uwsgi_wire", "vars56"),
        Goal::AtLeast(3.0),
    ),
    (
        "httparse / parse+validate+index, large64k",
        ("parse", "httparse", "large64k"),
        ("parse", "uwsgi_wire_indexed", "large64k"),
        Goal::Info,
    ),
    (
        "parse+validate+index large64k vs get16",
        ("parse", "uwsgi_wire_indexed", "large64k"),
        ("parse", "uwsgi_wire_indexed", "get16"),
        Goal::AtMost(2.0),
    ),
    (
        "parse+validate large64k vs get16",
        ("parse", "uwsgi_wire", "large64k"),
        ("parse", "uwsgi_wire", "get16"),
        Goal::AtMost(2.0),
    ),
    (
        "Packet::encode get16 vs copy",
        ("encode", "packet_encode", "get16"),
        ("encode", "copy", "get16"),
        Goal::AtMost(2.0),
    ),
    (
        "Packet::encode large64k vs copy",
        ("encode", "packet_encode", "large64k"),
        ("encode", "copy", "large64k"),
        Goal::AtMost(1.2),
    ),
    (
        "header + encode_vars get16 vs copy",
        ("encode", "encode_vars", "get16"),
        ("encode", "copy", "get16"),
        Goal::AtMost(2.0),
    ),
    (
        "header + encode_vars large64k vs copy",
        ("encode", "encode_vars", "large64k"),
        ("encode", "copy", "large64k"),
        Goal::AtMost(1.2),
    ),
    (
        "hand-written encode (baseline) get16 vs copy",
        ("encode", "hand_encode", "get16"),
        ("encode", "copy", "get16"),
        Goal::Info,
    ),
    (
        "header + encode_vars get16 vs hand-written encode",
        ("encode", "encode_vars", "get16"),
        ("encode", "hand_encode", "get16"),
        Goal::Info,
    ),
    (
        "nom on &[u8] vs hand-written, get16",
        ("validate", "nom_slice", "get16"),
        ("validate", "hand", "get16"),
        Goal::AtMost(1.1),
    ),
    (
        "nom on &[u8] vs hand-written, vars56",
        ("validate", "nom_slice", "vars56"),
        ("validate", "hand", "vars56"),
        Goal::AtMost(1.1),
    ),
    (
        "nom on &[u8] vs hand-written, large64k",
        ("validate", "nom_slice", "large64k"),
        ("validate", "hand", "large64k"),
        Goal::AtMost(1.1),
    ),
    (
        "nom, inlined Input vs hand-written, vars56",
        ("validate", "nom_inlined_input", "vars56"),
        ("validate", "hand", "vars56"),
        Goal::AtMost(1.1),
    ),
    (
        "Vars::parse (now) vs hand-written, vars56",
        ("validate", "vars_parse", "vars56"),
        ("validate", "hand", "vars56"),
        Goal::AtMost(1.1),
    ),
    (
        "index vs rewalk: get near end, get16",
        ("lookup", "index_near_end", "get16"),
        ("lookup", "rewalk_near_end", "get16"),
        Goal::Info,
    ),
    (
        "index vs rewalk: get missing, get16",
        ("lookup", "index_missing", "get16"),
        ("lookup", "rewalk_missing", "get16"),
        Goal::Info,
    ),
    (
        "index vs rewalk: get near end, vars56",
        ("lookup", "index_near_end", "vars56"),
        ("lookup", "rewalk_near_end", "vars56"),
        Goal::Info,
    ),
    (
        "index vs rewalk: get missing, vars56",
        ("lookup", "index_missing", "vars56"),
        ("lookup", "rewalk_missing", "vars56"),
        Goal::Info,
    ),
    (
        "index vs rewalk: iterate, get16",
        ("iterate", "index", "get16"),
        ("iterate", "rewalk", "get16"),
        Goal::Info,
    ),
    (
        "index vs rewalk: iterate, vars56",
        ("iterate", "index", "vars56"),
        ("iterate", "rewalk", "vars56"),
        Goal::Info,
    ),
    (
        "indexed parse vs plain parse, get16",
        ("parse", "uwsgi_wire_indexed", "get16"),
        ("parse", "uwsgi_wire", "get16"),
        Goal::Info,
    ),
    (
        "indexed parse vs plain parse, vars56",
        ("parse", "uwsgi_wire_indexed", "vars56"),
        ("parse", "uwsgi_wire", "vars56"),
        Goal::Info,
    ),
];

fn ratios(inputs: &[Input], rounds: usize) {
    let input = |name: &str| inputs.iter().find(|i| i.name == name).expect("input");
    println!("| target | a (median ns) | b (median ns) | a / b | goal | met |");
    println!("|---|---|---|---|---|---|");
    for &(label, a, b, goal) in TARGETS {
        let (ta, tb, r) = compare(
            (find(a.0, a.1), input(a.2)),
            (find(b.0, b.1), input(b.2)),
            rounds,
        );
        let (goal, met) = match goal {
            Goal::AtMost(x) => (format!("<= {x}"), if r <= x { "yes" } else { "NO" }),
            Goal::AtLeast(x) => (format!(">= {x}"), if r >= x { "yes" } else { "NO" }),
            Goal::Info => ("-".to_owned(), "-"),
        };
        println!(
            "| {label}: `{}/{}/{}` / `{}/{}/{}` | {ta:.1} | {tb:.1} | {r:.3} | {goal} | {met} |",
            a.0, a.1, a.2, b.0, b.1, b.2
        );
    }
}

// ---------------------------------------------------------------------------------------
// Mode 3: fixed iteration counts for callgrind
// ---------------------------------------------------------------------------------------

/// Runs every case that applies to the input named by `PARSE_BENCH_INPUT` (default
/// `get16`) `iterations` times; `--toggle-collect='parse::case::*'` then counts only inside
/// the case functions and `callgrind_annotate --inclusive=yes` gives each one's total.
fn callgrind(inputs: &[Input], iterations: usize) {
    let name = std::env::var("PARSE_BENCH_INPUT").unwrap_or_else(|_| "get16".into());
    let Some(input) = inputs.iter().find(|i| i.name == name) else {
        eprintln!("PARSE_BENCH_INPUT: no input {name:?} (get16, vars56, large64k)");
        std::process::exit(2);
    };
    for case in CASES.iter().filter(|c| c.inputs.contains(&input.name)) {
        let mut scratch = Scratch::new();
        for _ in 0..iterations {
            (case.run)(input, &mut scratch);
        }
    }
}

fn env_number(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|n| n.parse().ok())
}

fn main() {
    let inputs = inputs();
    if let Some(n) = env_number("PARSE_BENCH_CALLGRIND") {
        return callgrind(&inputs, n);
    }
    if let Some(rounds) = env_number("PARSE_BENCH_RATIOS") {
        return ratios(&inputs, rounds.max(1));
    }
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    criterion_groups(&mut criterion, &inputs);
    criterion.final_summary();
}
