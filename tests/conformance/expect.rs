//! Checks shared by the front-end tests: every decoded var against an expected list, the
//! body, and that re-encoding gives back the received bytes.

use uwsgi_wire::{message::Request, Modifier1, Packet, VarsBuilder};

use crate::backend::Capture;

/// What a var's value must be.
#[derive(Debug, Clone)]
pub enum Want {
    /// Exactly these bytes.
    Exact(Vec<u8>),
    /// Starts with these bytes (a peer's version string: `Apache/2.4.`).
    Prefix(&'static str),
}

/// The vars a request must carry, in wire order.
#[derive(Debug, Default)]
pub struct Expected {
    pairs: Vec<(Vec<u8>, Want)>,
}

impl Expected {
    pub fn new() -> Expected {
        Expected::default()
    }

    /// The next pair must be `key` = `value`.
    pub fn var(mut self, key: &str, value: impl AsRef<[u8]>) -> Expected {
        self.pairs.push((
            key.as_bytes().to_vec(),
            Want::Exact(value.as_ref().to_vec()),
        ));
        self
    }

    /// The next pair must be `key` with a value starting with `prefix`.
    pub fn prefix(mut self, key: &str, prefix: &'static str) -> Expected {
        self.pairs
            .push((key.as_bytes().to_vec(), Want::Prefix(prefix)));
        self
    }

    /// Asserts the decoded pairs, in order, one by one.
    #[track_caller]
    pub fn check(&self, capture: &Capture) {
        let packet = capture.packet();
        let vars = packet.vars().expect("a request packet carries vars");
        let got: Vec<(&[u8], &[u8])> = vars.iter().collect();
        let show = |pairs: &[(&[u8], &[u8])]| {
            pairs
                .iter()
                .map(|(k, v)| {
                    format!(
                        "  {} = {:?}\n",
                        String::from_utf8_lossy(k),
                        String::from_utf8_lossy(v)
                    )
                })
                .collect::<String>()
        };
        let keys = |pairs: &[(&[u8], &[u8])]| -> Vec<String> {
            pairs
                .iter()
                .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
                .collect()
        };
        let want_keys: Vec<String> = self
            .pairs
            .iter()
            .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
            .collect();
        assert_eq!(
            keys(&got),
            want_keys,
            "var names/order differ; received:\n{}",
            show(&got)
        );
        for ((key, value), (_, want)) in got.iter().zip(&self.pairs) {
            let name = String::from_utf8_lossy(key);
            match want {
                Want::Exact(bytes) => assert_eq!(
                    value,
                    &&bytes[..],
                    "{name}: got {:?}, want {:?}",
                    String::from_utf8_lossy(value),
                    String::from_utf8_lossy(bytes)
                ),
                Want::Prefix(prefix) => assert!(
                    value.starts_with(prefix.as_bytes()),
                    "{name}: {:?} does not start with {prefix:?}",
                    String::from_utf8_lossy(value)
                ),
            }
        }
    }
}

/// The checks every captured request gets: the header, the body bytes, nothing after
/// the body, the typed request's body length, and re-encoding (`Packet::encode` of the
/// parsed packet, and `VarsBuilder` fed the decoded pairs) gives the received bytes.
#[track_caller]
pub fn check_request(capture: &Capture, modifier1: Modifier1, modifier2: u8, body: &[u8]) {
    let packet = capture.packet();
    assert_eq!(
        (packet.modifier1(), packet.modifier2()),
        (modifier1, modifier2)
    );
    let datasize = u16::from_le_bytes([capture.raw[1], capture.raw[2]]);
    assert_eq!(usize::from(datasize) + 4, capture.packet_len);
    assert!(
        capture.body() == body,
        "body differs: got {} bytes, want {} (first difference at {:?})",
        capture.body().len(),
        body.len(),
        capture.body().iter().zip(body).position(|(a, b)| a != b)
    );
    assert!(
        capture.extra.is_empty(),
        "{} stray bytes after the body: {:?}",
        capture.extra.len(),
        String::from_utf8_lossy(&capture.extra)
    );
    assert!(
        capture.closed,
        "the front end did not close after the answer"
    );
    let request = capture.request();
    assert_eq!(request.content_length(), body.len() as u64);

    // Re-encode 1: the parsed packet.
    let mut out = vec![0u8; packet.encoded_len()];
    assert_eq!(packet.encode(&mut out), Ok(capture.packet_len));
    assert!(out == capture.packet_bytes(), "Packet::encode differs");

    // Re-encode 2: the builder, fed the decoded pairs one by one.
    let mut builder = VarsBuilder::default();
    for (key, value) in request.vars().iter() {
        builder.push(key, value).expect("a decoded pair re-encodes");
    }
    let rebuilt = Request::new(modifier1, modifier2, builder.vars()).expect("same vars");
    let mut out = Vec::new();
    Packet::try_from(&rebuilt)
        .expect("fits")
        .encode_to(&mut out)
        .expect("encodes");
    assert!(
        out == capture.packet_bytes(),
        "VarsBuilder re-encoding differs"
    );
}
