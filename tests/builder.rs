//! Editing a parsed vars block: `VarsBuilder::from_vars`, `set` and `remove`, as a proxy
//! rewrites the vars it forwards. Each edit is checked like `push`, and a refused one
//! leaves the builder as it was.

use proptest::collection::vec;
use proptest::prelude::*;
use uwsgi_wire::{
    encode_vars, EncodeError, Limits, Modifier1, Packet, Payload, Status, Vars, VarsBuilder,
};

/// nginx 1.22, `curl http://127.0.0.1/path/x?a=1&b=2`: 16 vars (tests/vectors/README.md).
const NGINX_GET: &[u8] = include_bytes!("vectors/nginx-get.bin");
/// nginx 1.22 with two `Cookie` and two `X-Dup` header lines: one var per line.
const NGINX_DUP: &[u8] = include_bytes!("vectors/nginx-dup-headers.bin");

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// The whole packet at the start of `wire`, and how many bytes it takes.
fn parse(wire: &[u8]) -> (Packet<'_>, usize) {
    match Packet::parse(wire, &Limits::new()) {
        Ok(Status::Complete(done)) => done,
        other => panic!("a whole packet: {other:?}"),
    }
}

fn pairs(vars: Vars<'_>) -> Pairs {
    vars.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect()
}

/// What `VarsBuilder::from_vars` must match: every pair pushed in order.
fn pushed(vars: &Vars<'_>, limits: Limits) -> Result<VarsBuilder, EncodeError> {
    let mut out = VarsBuilder::new(limits);
    for (k, v) in vars {
        out.push(k, v)?;
    }
    Ok(out)
}

/// A proxy's rewrite of a captured request: the client address replaced, a header
/// dropped, the packet re-encoded and parsed again.
#[test]
fn nginx_request_rewritten_and_round_tripped() {
    let (packet, consumed) = parse(NGINX_GET);
    assert_eq!(consumed, NGINX_GET.len());
    let vars = packet.vars().expect("modifier1 0 carries vars");
    assert_eq!(vars.get(b"REMOTE_ADDR"), Some(&b"127.0.0.1"[..]));
    assert_eq!(vars.get(b"HTTP_ACCEPT"), Some(&b"*/*"[..]));

    let mut edit = VarsBuilder::from_vars(&vars, Limits::new()).unwrap();
    assert_eq!(edit.as_bytes(), vars.as_bytes(), "an exact copy");
    assert_eq!(edit.vars().len(), 16);
    edit.set("REMOTE_ADDR", "203.0.113.195").unwrap();
    assert_eq!(edit.remove("HTTP_ACCEPT"), 1);
    assert_eq!(edit.remove("HTTP_ACCEPT"), 0, "nothing left to remove");

    let mut wire = Vec::new();
    Packet::new(
        packet.header().modifier1,
        packet.header().modifier2,
        Payload::Vars(edit.vars()),
    )
    .unwrap()
    .encode_to(&mut wire)
    .unwrap();
    let (again, consumed) = parse(&wire);
    assert_eq!(consumed, wire.len());
    assert_eq!(again.header().modifier1, Modifier1::WSGI);
    // 4 bytes more for the address, 2 + 11 + 2 + 3 fewer for HTTP_ACCEPT.
    assert_eq!(usize::from(again.header().datasize), 372 + 4 - 18);

    // The same pairs in the same order, REMOTE_ADDR's value changed where it was.
    let expected: Pairs = pairs(vars)
        .into_iter()
        .filter(|(k, _)| k != b"HTTP_ACCEPT")
        .map(|(k, v)| match &k[..] {
            b"REMOTE_ADDR" => (k, b"203.0.113.195".to_vec()),
            _ => (k, v),
        })
        .collect();
    let got = pairs(again.vars().unwrap());
    assert_eq!(got, expected);
    assert_eq!(got.len(), 15);
    assert_eq!(got[9].0, b"REMOTE_ADDR", "in its captured place");
    assert_eq!(again.vars().unwrap().content_length(), Ok(None));
}

#[test]
fn set_collapses_duplicates_at_the_first_one() {
    let (packet, _) = parse(NGINX_DUP);
    let vars = packet.vars().unwrap();
    assert_eq!(vars.get_all(b"HTTP_COOKIE").count(), 2);
    let mut edit = VarsBuilder::from_vars(&vars, Limits::new()).unwrap();
    let first_cookie = vars.iter().position(|(k, _)| k == b"HTTP_COOKIE").unwrap();

    edit.set("HTTP_COOKIE", "a=1; b=2").unwrap();
    assert_eq!(edit.vars().len(), vars.len() - 1);
    let got = pairs(edit.vars());
    assert_eq!(
        got[first_cookie],
        (b"HTTP_COOKIE".to_vec(), b"a=1; b=2".to_vec())
    );
    let mut expected = pairs(vars);
    expected[first_cookie].1 = b"a=1; b=2".to_vec();
    let second = expected
        .iter()
        .rposition(|(k, _)| k == b"HTTP_COOKIE")
        .unwrap();
    expected.remove(second);
    assert_eq!(got, expected);

    // Removing collapses nothing: every one goes.
    assert_eq!(edit.remove(b"HTTP_X_DUP"), 2);
    assert_eq!(edit.vars().get(b"HTTP_X_DUP"), None);
    // What the builder holds is always a valid block.
    assert_eq!(
        Vars::parse(edit.as_bytes(), &Limits::new()).unwrap(),
        edit.vars()
    );
}

#[test]
fn set_appends_a_missing_key_and_replaces_in_place() {
    let mut vars = VarsBuilder::default();
    vars.push("A", "1").unwrap().push("B", "2").unwrap();
    vars.set("C", "3").unwrap();
    assert_eq!(
        vars.as_bytes(),
        b"\x01\x00A\x01\x001\x01\x00B\x01\x002\x01\x00C\x01\x003"
    );
    // A longer and a shorter value, in the middle and at the start.
    vars.set("B", "two").unwrap().set("A", "").unwrap();
    assert_eq!(
        vars.as_bytes(),
        b"\x01\x00A\x00\x00\x01\x00B\x03\x00two\x01\x00C\x01\x003"
    );
    assert_eq!(vars.vars().len(), 3);
    // Keys are compared as bytes: case matters, a prefix is another key.
    vars.set("a", "x").unwrap().set("AB", "y").unwrap();
    assert_eq!(vars.vars().len(), 5);
    assert_eq!(vars.vars().get(b"A"), Some(&b""[..]));
    // Setting the only pair of a builder, and an empty builder.
    let mut one = VarsBuilder::default();
    one.set("K", "v").unwrap().set("K", "w").unwrap();
    assert_eq!(one.as_bytes(), b"\x01\x00K\x01\x00w");
    assert_eq!(one.remove("K"), 1);
    assert!(one.vars().is_empty() && one.as_bytes().is_empty());
    assert_eq!(one.remove("K"), 0);
}

#[test]
fn refused_sets_change_nothing() {
    let limits = Limits::new().max_datasize(32).max_vars(3);
    let mut vars = VarsBuilder::new(limits);
    vars.push("A", "1")
        .unwrap()
        .push("B", "2")
        .unwrap()
        .push("A", "3")
        .unwrap();
    let before = vars.clone();
    let over = vec![b'x'; 65536];

    // An empty key is never in the block: it would be appended, at index len.
    assert_eq!(
        vars.set("", "x").unwrap_err(),
        EncodeError::EmptyKey { index: 3 }
    );
    // A key over 16 bits is never in the block either.
    assert_eq!(
        vars.set(&over, "x").unwrap_err(),
        EncodeError::KeyTooLong {
            index: 3,
            len: 65536
        }
    );
    // A value over 16 bits for a key that is there: the index of its first pair.
    assert_eq!(
        vars.set("B", &over).unwrap_err(),
        EncodeError::ValueTooLong {
            index: 1,
            len: 65536
        }
    );
    // The block after the edit would be over the limit. Both `A`s go, so only B's 6
    // bytes stay: 6 + 4 + 1 + 21 = 32 fits, one byte more does not.
    assert_eq!(
        vars.set("A", vec![b'v'; 22]).unwrap_err(),
        EncodeError::BlockTooLarge { len: 33, limit: 32 }
    );
    // Appending a fourth pair is over max_vars; replacing never is.
    assert_eq!(
        vars.set("C", "").unwrap_err(),
        EncodeError::TooManyEntries { limit: 3 }
    );
    assert_eq!(vars, before, "every refused set left the builder as it was");

    vars.set("A", vec![b'v'; 21]).unwrap();
    assert_eq!((vars.vars().len(), vars.as_bytes().len()), (2, 32));
    assert_eq!(
        vars.set("C", "").unwrap_err(),
        EncodeError::BlockTooLarge { len: 37, limit: 32 }
    );
    assert_eq!(vars.remove("A"), 1);
    vars.set("C", "").unwrap();
    assert_eq!(vars.as_bytes(), b"\x01\x00B\x01\x002\x01\x00C\x00\x00");
}

#[test]
fn from_vars_fails_where_pushing_would() {
    // A view of a slice longer than a block: one pair with a 65535-byte value.
    let mut long = b"\x01\x00k\xff\xff".to_vec();
    long.resize(5 + 65535, b'v');
    let vars = Vars::parse(&long, &Limits::new()).unwrap();
    assert_eq!(
        VarsBuilder::from_vars(&vars, Limits::new()).unwrap_err(),
        EncodeError::BlockTooLarge {
            len: 65540,
            limit: 65535
        }
    );

    // A capture under tighter limits: the same error as pushing its pairs one by one.
    let (packet, _) = parse(NGINX_GET);
    let vars = packet.vars().unwrap();
    for limits in [
        Limits::new().max_vars(15),
        Limits::new().max_vars(0),
        Limits::new().max_datasize(371),
        Limits::new().max_datasize(100),
        Limits::new().max_datasize(0),
        Limits::new().max_datasize(100).max_vars(2),
    ] {
        let err = VarsBuilder::from_vars(&vars, limits).unwrap_err();
        assert_eq!(Err(err), pushed(&vars, limits), "{limits:?}");
    }
    let exact = Limits::new().max_vars(16).max_datasize(372);
    let fits = VarsBuilder::from_vars(&vars, exact).unwrap();
    assert_eq!(fits, pushed(&vars, exact).unwrap());
    // The limits stay with the builder.
    let mut fits = fits;
    assert_eq!(
        fits.push("X", "").unwrap_err(),
        EncodeError::TooManyEntries { limit: 16 }
    );
    assert_eq!(fits.remove("HTTP_ACCEPT"), 1);
    assert_eq!(
        fits.set("X", "12345678901234").unwrap_err(),
        EncodeError::BlockTooLarge {
            len: 373,
            limit: 372
        }
    );
    fits.set("X", "1234567890123").unwrap();

    // An empty view gives an empty builder.
    assert!(VarsBuilder::from_vars(&Vars::default(), Limits::new())
        .unwrap()
        .vars()
        .is_empty());
}

/// One edit of the model test below.
#[derive(Debug, Clone)]
enum Edit {
    Push(Vec<u8>, Vec<u8>),
    Set(Vec<u8>, Vec<u8>),
    Remove(Vec<u8>),
}

/// Three keys, so that edits hit existing keys (and duplicates) most of the time; now
/// and then an empty one, which every edit must refuse or ignore.
fn key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => prop::sample::select(vec![&b"A"[..], b"B", b"AB"]).prop_map(<[u8]>::to_vec),
        1 => Just(Vec::new()),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    let value = || vec(any::<u8>(), 0..12);
    prop_oneof![
        2 => (key(), value()).prop_map(|(k, v)| Edit::Push(k, v)),
        2 => (key(), value()).prop_map(|(k, v)| Edit::Set(k, v)),
        1 => key().prop_map(Edit::Remove),
    ]
}

proptest! {
    /// Any sequence of pushes, sets and removes gives the block a list of pairs edited
    /// the documented way encodes to, and the same errors.
    #[test]
    fn edits_match_a_list_of_pairs(
        edits in vec(edit(), 0..24),
        max_vars in 1usize..8,
        max_datasize in 8u16..48,
    ) {
        let limits = Limits::new().max_vars(max_vars).max_datasize(max_datasize);
        let mut builder = VarsBuilder::new(limits);
        let mut model: Pairs = Vec::new();
        for edit in edits {
            let before = builder.clone();
            let refused = match &edit {
                Edit::Push(k, v) => builder.push(k, v).err(),
                Edit::Set(k, v) => builder.set(k, v).err(),
                Edit::Remove(k) => {
                    let n = model.iter().filter(|(m, _)| m == k).count();
                    prop_assert_eq!(builder.remove(k), n);
                    None
                }
            };
            // The model, with the documented checks.
            let mut next = model.clone();
            match edit {
                Edit::Push(k, v) => next.push((k, v)),
                Edit::Set(k, v) => match next.iter().position(|(m, _)| *m == k) {
                    Some(at) => {
                        next[at].1 = v;
                        let mut i = 0;
                        next.retain(|(m, _)| {
                            i += 1;
                            i - 1 == at || *m != k
                        });
                    }
                    None => next.push((k, v)),
                },
                Edit::Remove(k) => next.retain(|(m, _)| *m != k),
            }
            let fits = next.len() <= max_vars
                && next.iter().all(|(k, _)| !k.is_empty())
                && next.iter().map(|(k, v)| 4 + k.len() + v.len()).sum::<usize>()
                    <= usize::from(max_datasize);
            if let Some(err) = refused {
                prop_assert!(!fits, "refused {:?} though it fits", err);
                prop_assert_eq!(&builder, &before, "a refused edit changed the builder");
            } else {
                prop_assert!(fits);
                model = next;
            }
            let mut block = vec![0u8; usize::from(max_datasize)];
            let n = encode_vars(&model, &mut block).unwrap();
            prop_assert_eq!(builder.as_bytes(), &block[..n]);
            prop_assert_eq!(builder.vars().len(), model.len());
            prop_assert_eq!(Vars::parse(builder.as_bytes(), &Limits::new()).unwrap(), builder.vars());
        }
    }
}
