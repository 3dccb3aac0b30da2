//! The built `uwsgi-wire` binary on files: decode/encode round trips on every real
//! capture in tests/vectors/ (origins in tests/vectors/README.md), the JSON schema, and
//! exit codes for bad input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_uwsgi-wire"))
}

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run uwsgi-wire");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn vectors() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 30,
        "the captures are missing from {}",
        dir.display()
    );
    files
}

/// Replies that are not uwsgi packets at all: raw bytes with no header.
const NOT_FRAMED: [&str; 4] = [
    "uwsgi-echo-reply.bin",
    "uwsgi-http-reply.bin",
    "uwsgi-http-reply-content-length.bin",
    "uwsgi-rpc-reply-raw.bin",
];

/// Packets whose block is raw although their modifier1 reads as an array (RPC replies).
fn needs_raw(name: &str) -> bool {
    name.starts_with("uwsgi-rpc-reply")
}

#[test]
fn decode_json_then_encode_reproduces_every_capture() {
    for path in vectors() {
        let name = path.file_name().unwrap().to_str().unwrap();
        let wire = std::fs::read(&path).unwrap();
        let mut args = vec!["decode", "--json"];
        if needs_raw(name) {
            args.extend(["--as", "raw"]);
        }
        let decoded = run(&args, &wire);
        if NOT_FRAMED.contains(&name) {
            assert!(!decoded.status.success(), "{name} is not a packet");
            continue;
        }
        assert!(
            decoded.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&decoded.stderr)
        );
        let value: Value = serde_json::from_slice(&decoded.stdout).unwrap();
        let datasize = value["datasize"].as_u64().unwrap() as usize;
        assert_eq!(
            value["body_len"].as_u64().unwrap() as usize,
            wire.len() - 4 - datasize,
            "{name}"
        );
        let encoded = run(&["encode"], &decoded.stdout);
        assert!(
            encoded.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&encoded.stderr)
        );
        assert_eq!(
            encoded.stdout,
            &wire[..4 + datasize],
            "{name}: header and block byte for byte"
        );
    }
}

#[test]
fn json_schema_of_a_vars_packet() {
    // Captured from nginx 1.22: curl 'http://127.0.0.1:P/path/x?a=1&b=2'.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/nginx-get.bin");
    let out = run(&["decode", "--json", path.to_str().unwrap()], b"");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "exactly one JSON object");
    let value: Value = serde_json::from_str(&text).unwrap();
    let keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "modifier1",
            "modifier2",
            "datasize",
            "kind",
            "vars",
            "body_len"
        ]
    );
    assert_eq!(value["modifier1"], 0);
    assert_eq!(value["datasize"], 372);
    assert_eq!(value["kind"], "vars");
    assert_eq!(value["vars"][0], json!(["QUERY_STRING", "a=1&b=2"]));
    assert_eq!(value["vars"].as_array().unwrap().len(), 16);
    assert_eq!(value["body_len"], 0);
}

#[test]
fn json_schema_of_array_raw_and_non_utf8() {
    // Derived from the spec: an RPC call (array), a ping (raw) and a var with bytes that
    // are not UTF-8, built with `encode` and decoded back.
    let call = run(
        &["decode", "--json"],
        b"\xad\x09\x00\x00\x01\x00f\x00\x00\x02\x00\xff\xfe",
    );
    let value: Value = serde_json::from_slice(&call.stdout).unwrap();
    assert_eq!(value["kind"], "array");
    assert_eq!(value["array"], json!(["f", "", {"hex": "fffe"}]));

    let ping = run(&["decode", "--json"], &[0x64, 0, 0, 0]);
    let value: Value = serde_json::from_slice(&ping.stdout).unwrap();
    assert_eq!(
        value,
        json!({"modifier1": 100, "modifier2": 0, "datasize": 0, "kind": "raw", "payload": "", "body_len": 0})
    );

    let request = json!({
        "modifier1": 0, "modifier2": 0, "kind": "vars",
        "vars": [["HTTP_X_BIN", {"hex": "ff00"}], ["EMPTY", ""]],
        "body": {"hex": "c0ffee"}
    });
    let encoded = run(&["encode"], request.to_string().as_bytes());
    assert!(encoded.status.success());
    assert_eq!(
        encoded.stdout,
        b"\x00\x19\x00\x00\x0a\x00HTTP_X_BIN\x02\x00\xff\x00\x05\x00EMPTY\x00\x00\xc0\xff\xee"
    );
    let back = run(&["decode", "--json"], &encoded.stdout);
    let value: Value = serde_json::from_slice(&back.stdout).unwrap();
    assert_eq!(value["vars"][0], json!(["HTTP_X_BIN", {"hex": "ff00"}]));
    assert_eq!(value["body_len"], 3);
}

#[test]
fn invalid_input_fails_with_kind_and_offset() {
    // Derived from the spec: a zero-length key at packet offset 4.
    let out = run(&["decode"], b"\x00\x05\x00\x00\x00\x00\x01\x00x");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err,
        "uwsgi-wire: invalid packet: zero-length key at byte 4\n"
    );

    let out = run(&["decode"], b"\x00\x10\x00\x00\x01\x00");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err,
        "uwsgi-wire: truncated packet: 14 more byte(s) needed (6 given)\n"
    );

    for (bad, why) in [
        (
            json!({"modifier1": 300, "modifier2": 0}),
            "\"modifier1\" must be an integer from 0 to 255",
        ),
        (
            json!({"modifier1": 0, "modifier2": 0, "kind": "vars", "vars": [["", "x"]]}),
            "key of pair 0 is empty",
        ),
        (
            json!({"modifier1": 0, "modifier2": 0, "kind": "vars", "vars": [["K", "v".repeat(65536)]]}),
            "value of pair 0 is 65536 bytes, over 65535",
        ),
    ] {
        let out = run(&["encode"], bad.to_string().as_bytes());
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(why), "{err}");
        assert!(out.stdout.is_empty(), "nothing is written on error");
    }
    let out = run(&["encode"], b"not json");
    assert_eq!(out.status.code(), Some(1));
    let out = run(&["decode", "/nonexistent/file"], b"");
    assert_eq!(out.status.code(), Some(1));
    let out = run(&["no-such-command"], b"");
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
}

#[test]
fn readable_listing() {
    // Captured from uWSGI 2.0.21: uwsgi --signal ADDR,17.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/uwsgi-signal.bin");
    let out = run(&["decode", path.to_str().unwrap()], b"");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "modifier1 110 (signal)  datasize 0  modifier2 17\npayload (0 bytes): \nbody: 0 byte(s)\n"
    );
}

#[test]
fn help_is_available_for_every_subcommand() {
    for sub in [
        "decode", "encode", "request", "ping", "rpc", "signal", "serve",
    ] {
        let out = run(&[sub, "--help"], b"");
        assert!(out.status.success(), "{sub}");
        assert!(
            String::from_utf8(out.stdout)
                .unwrap()
                .contains("Usage: uwsgi-wire"),
            "{sub}"
        );
    }
}
