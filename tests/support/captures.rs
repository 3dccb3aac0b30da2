//! The captures in `tests/vectors/` (made by tests/peers/capture.sh; origins in
//! tests/vectors/README.md), for the adapter tests.

/// One capture's bytes.
pub fn vector(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What a stream of packets should decode to: per packet, its wire bytes and body.
pub type Expected = Vec<(Vec<u8>, Vec<u8>)>;

/// The captures `names`, one after the other as a pipelined stream, and what each
/// packet in it is.
pub fn pipelined(names: &[&str]) -> (Vec<u8>, Expected) {
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    for name in names {
        let bytes = vector(name);
        let Ok(uwsgi_wire::Status::Complete((_, consumed))) =
            uwsgi_wire::Packet::parse(&bytes, &uwsgi_wire::Limits::new())
        else {
            panic!("{name} is a whole packet")
        };
        expected.push((bytes[..consumed].to_vec(), bytes[consumed..].to_vec()));
        wire.extend_from_slice(&bytes);
    }
    (wire, expected)
}

/// The malformed-packet error inside a stream error, if that is what it is.
pub fn packet_error(err: &uwsgi_wire::io::StreamError) -> Option<uwsgi_wire::ParseError> {
    match err {
        uwsgi_wire::io::StreamError::Exchange(e) => match e.kind() {
            uwsgi_wire::exchange::ExchangeErrorKind::Packet(p) => Some(p),
            _ => None,
        },
        _ => None,
    }
}
