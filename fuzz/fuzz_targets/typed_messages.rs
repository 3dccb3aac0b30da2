//! `typed_messages`: arbitrary bytes through every typed message parser.
//!
//! The input is parsed as a packet with `Packet::parse` (the block read by modifier1, the
//! request direction) and with `Packet::parse_as` for each `BlockKind` (`Raw` is how
//! replies are read). Every complete packet goes through `Message::try_from` and
//! each type's own parser: `Request`, `Ping`, `Pong`, `Echo`, `Signal`, `RpcCall`,
//! `RpcReply`, `SpoolerRequest`, `CacheRequest`, `CacheReply`, `Subscription`,
//! `GenericResponse` (`X::try_from(&packet)`). The raw input is also read as an RPC reply
//! (`Packet::parse_as` with `BlockKind::Raw`, then `RpcReply::try_from`) and goes through
//! (feature `http`) `cgi::parse_response_head`; the vars of every packet go through
//! `cgi::request_from_vars`.
//!
//! - nothing panics, accessors included;
//! - whatever parses re-encodes (`Packet::try_from(&message)`, `Packet::from` for the
//!   kinds that always fit, `RpcReply::encode`) without an error to exactly the packet's
//!   bytes (`RpcReply::Large` to its canonical form), and that parses back, read the same
//!   way, to an equal message;
//! - `CacheRequest::build`, `CacheReply::build` and `SubscriptionBuilder` rebuild a parsed
//!   message's fields into vars that parse to the same fields (or a block-size
//!   `EncodeError`);
//! - `request_from_vars`: no header name or value, method or URI holds CR, LF or NUL
//!   (header injection); when it succeeds, no `HTTP_*` var that became a header held
//!   one; a `ForbiddenByte` error names one of those three bytes;
//! - `parse_response_head`: the head length is within the input, no header holds CR, LF
//!   or NUL, and the head re-encoded (`encode_response_head`) parses back to the same
//!   status and headers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uwsgi_wire::cgi::{
    self, encode_response_head, parse_response_head, request_from_vars, HeadStyle,
};
use uwsgi_wire::{
    message::CacheReply, message::CacheRequest, message::Echo, message::GenericResponse,
    message::Message, message::Ping, message::Pong, message::Request, message::RpcCall,
    message::RpcReply, message::Signal, message::SpoolerRequest, message::Subscription,
    message::SubscriptionBuilder, owned::OwnedVars, ArrayBuilder, BlockKind, EncodeError, Limits,
    Packet, ParseError, Status, Vars,
};

/// How a packet was read, so its re-encoding can be read back the same way.
#[derive(Clone, Copy, Debug)]
enum Mode {
    ByModifier1,
    As(BlockKind),
}

impl Mode {
    fn parse(self, buf: &[u8]) -> Option<(Packet<'_>, usize)> {
        let parsed = match self {
            Mode::ByModifier1 => Packet::parse(buf, &Limits::new()),
            Mode::As(kind) => Packet::parse_as(buf, kind, &Limits::new()),
        };
        parsed.ok()?.complete()
    }
}

/// The packet's bytes, encoded.
fn encode(packet: &Packet<'_>) -> Vec<u8> {
    let mut out = vec![0u8; packet.encoded_len()];
    let n = packet
        .encode(&mut out)
        .expect("a packet encodes into its encoded_len");
    assert_eq!(n, out.len());
    out
}

/// What the packet conversion returns: a packet (`Packet::from`, for the kinds that always
/// fit), or a `Result` (`Packet::try_from`), which must be `Ok` for a parsed message.
trait Encoded<'a> {
    fn packet(self, what: &str) -> Packet<'a>;
}

impl<'a> Encoded<'a> for Packet<'a> {
    fn packet(self, _: &str) -> Packet<'a> {
        self
    }
}

impl<'a> Encoded<'a> for Result<Packet<'a>, EncodeError> {
    fn packet(self, what: &str) -> Packet<'a> {
        self.unwrap_or_else(|err| panic!("{what}: a parsed message does not re-encode: {err}"))
    }
}

/// The re-encoded packet's bytes, which must be the original's.
fn reencode(what: &str, packet: Packet<'_>, original: &[u8]) -> Vec<u8> {
    let wire = encode(&packet);
    assert_eq!(wire, original, "{what}: re-encoded to other bytes");
    wire
}

/// `$message`, parsed by `$from` from a packet read by `$mode` out of `$original`:
/// `$packet` (its packet conversion) encodes to exactly `$original`, which `$from` parses back
/// to an equal message.
macro_rules! roundtrip {
    ($what:literal, $mode:expr, $original:expr, $message:expr, $packet:expr, $from:path) => {{
        let wire = reencode($what, Encoded::packet($packet, $what), $original);
        let (again, _) = $mode.parse(&wire).expect("the same bytes parse again");
        let back =
            $from(&again).unwrap_or_else(|err| panic!("{}: does not parse back: {err}", $what));
        assert_eq!(back, $message, "{}: parsed back to another message", $what);
    }};
}

fn typed(mode: Mode, packet: &Packet<'_>, wire: &[u8]) {
    if let Ok(message) = Message::try_from(packet) {
        roundtrip!(
            "Message",
            mode,
            wire,
            message,
            Packet::try_from(&message),
            Message::try_from
        );
    }
    if let Ok(m) = Request::try_from(packet) {
        let _ = (m.scheme(), m.content_length());
        roundtrip!(
            "Request",
            mode,
            wire,
            m,
            Packet::try_from(&m),
            Request::try_from
        );
    }
    if let Ok(m) = Ping::try_from(packet) {
        roundtrip!("Ping", mode, wire, m, Packet::from(&m), Ping::try_from);
    }
    if let Ok(m) = Pong::try_from(packet) {
        let _ = m.warning();
        roundtrip!("Pong", mode, wire, m, Packet::try_from(&m), Pong::try_from);
    }
    if let Ok(m) = Echo::try_from(packet) {
        assert_eq!(
            Echo::new(m.payload()),
            Ok(m),
            "Echo::new accepts a parsed payload"
        );
        roundtrip!("Echo", mode, wire, m, Packet::from(&m), Echo::try_from);
    }
    if let Ok(m) = Signal::try_from(packet) {
        roundtrip!("Signal", mode, wire, m, Packet::from(&m), Signal::try_from);
    }
    if let Ok(m) = RpcCall::try_from(packet) {
        let args: Vec<&[u8]> = m.args().collect();
        assert_eq!(args.len() + 1, m.array().len());
        // The function and arguments, rebuilt: the same call.
        let mut items = ArrayBuilder::default();
        items.push(m.function()).expect("a parsed function name");
        for arg in &args {
            items.push(arg).expect("a parsed argument");
        }
        let rebuilt = RpcCall::new(items.array(), m.modifier2()).expect("a parsed call");
        assert_eq!(rebuilt, m, "RpcCall rebuilt from its items");
        roundtrip!(
            "RpcCall",
            mode,
            wire,
            m,
            Packet::try_from(&m),
            RpcCall::try_from
        );
    }
    if let Ok(m) = RpcReply::try_from(packet) {
        reply_roundtrip(&m, Some(wire));
    }
    if let Ok(m) = SpoolerRequest::try_from(packet) {
        roundtrip!(
            "SpoolerRequest",
            mode,
            wire,
            m,
            Packet::try_from(&m),
            SpoolerRequest::try_from
        );
    }
    if let Ok(m) = CacheRequest::try_from(packet) {
        let cache = m.vars().get(b"cache");
        roundtrip!(
            "CacheRequest",
            mode,
            wire,
            m,
            Packet::try_from(&m),
            CacheRequest::try_from
        );
        // Its fields through the builder, in uWSGI's client order: the same request.
        match CacheRequest::build(m.command(), m.key(), m.value_len(), m.expires(), cache) {
            Ok(vars) => {
                let built = CacheRequest::new(vars.vars()).expect("built cache vars parse");
                assert_eq!(
                    (built.command(), built.key(), built.value_len()),
                    (m.command(), m.key(), m.value_len())
                );
                // `expires` is only written for set/update.
                if m.command().carries_value() {
                    assert_eq!(built.expires(), m.expires());
                }
                assert_eq!(built.vars().get(b"cache"), cache);
            }
            Err(err) => assert!(
                matches!(err, EncodeError::BlockTooLarge { .. }),
                "CacheRequest::build: {err:?}"
            ),
        }
    }
    if let Ok(m) = CacheReply::try_from(packet) {
        let _ = (m.status(), m.is_ok());
        roundtrip!(
            "CacheReply",
            mode,
            wire,
            m,
            Packet::try_from(&m),
            CacheReply::try_from
        );
        if let Some(expires) = m.expires().filter(|&e| e > 0) {
            let vars = CacheReply::build(Some((m.value_len(), expires))).expect("small vars");
            let built = CacheReply::new(vars.vars()).expect("built reply vars parse");
            assert_eq!(
                (built.value_len(), built.expires()),
                (m.value_len(), Some(expires))
            );
            assert!(built.is_ok());
        }
    }
    if let Ok(m) = Subscription::try_from(packet) {
        subscription(&m);
        roundtrip!(
            "Subscription",
            mode,
            wire,
            m,
            Packet::try_from(&m),
            Subscription::try_from
        );
    }
    if let Ok(m) = GenericResponse::try_from(packet) {
        let _ = (m.code(), m.is_ok(), m.payload());
        roundtrip!(
            "GenericResponse",
            mode,
            wire,
            m,
            Packet::try_from(&m),
            GenericResponse::try_from
        );
    }
    if let Some(vars) = packet.vars() {
        http_request(&vars);
    }
}

/// The accessors, and the fields rebuilt with `SubscriptionBuilder`.
fn subscription(m: &Subscription<'_>) {
    let signed = m.signed_bytes();
    let block = m.vars().as_bytes();
    assert!(
        block.starts_with(signed),
        "signed_bytes is a prefix of the block"
    );
    if m.vars().get(b"sign").is_none() {
        assert_eq!(signed, block);
    }
    let _ = m.vars().get(b"notify");
    let mut builder = SubscriptionBuilder::new(m.key(), m.address())
        .modifier1(m.modifier1())
        .modifier2(m.modifier2())
        .cores(m.cores())
        .load(m.load())
        .weight(m.weight());
    if let Some(backup) = m.backup() {
        builder = builder.backup(backup);
    }
    if let Some(unix) = m.unix() {
        builder = builder.unix(unix);
    }
    match builder.build() {
        Ok(vars) => {
            let built = Subscription::new(vars.vars(), 0).expect("built subscription vars parse");
            assert_eq!(
                (
                    built.key(),
                    built.address(),
                    built.modifier1(),
                    built.modifier2()
                ),
                (m.key(), m.address(), m.modifier1(), m.modifier2())
            );
            assert_eq!(
                (
                    built.cores(),
                    built.load(),
                    built.weight(),
                    built.backup(),
                    built.unix()
                ),
                (m.cores(), m.load(), m.weight(), m.backup(), m.unix())
            );
        }
        Err(err) => assert!(
            matches!(err, EncodeError::BlockTooLarge { .. }),
            "SubscriptionBuilder::build: {err:?}"
        ),
    }
}

/// An RPC reply at the start of `buf`, read as a client reads it: the packet with its block
/// raw, then typed; `consumed` covers the packet only.
fn parse_reply(buf: &[u8]) -> Result<Status<(RpcReply<'_>, usize)>, ParseError> {
    Ok(
        match Packet::parse_as(buf, BlockKind::Raw, &Limits::new())? {
            Status::Complete((packet, consumed)) => {
                Status::Complete((RpcReply::try_from(&packet)?, consumed))
            }
            Status::Partial { needed } => Status::Partial { needed },
        },
    )
}

/// `RpcReply::encode` into `encoded_len` bytes, parsed back with `parse_reply`.
fn reply_roundtrip(reply: &RpcReply<'_>, original: Option<&[u8]>) {
    let mut out = vec![0u8; reply.encoded_len()];
    let n = reply.encode(&mut out).expect("a parsed reply encodes");
    assert_eq!(n, out.len(), "RpcReply::encoded_len is exact");
    if let (RpcReply::Result(_), Some(original)) = (reply, original) {
        assert_eq!(out, original, "RpcReply::Result re-encoded to other bytes");
    }
    match parse_reply(&out) {
        Ok(Status::Complete((back, consumed))) => {
            assert_eq!(consumed, out.len());
            assert_eq!(&back, reply, "RpcReply parsed back to another reply");
        }
        other => panic!("RpcReply does not parse back: {other:?}"),
    }
}

/// The longest response head read: the client driver's default, 64 KiB.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;

fn forbidden(bytes: &[u8]) -> bool {
    bytes.iter().any(|b| matches!(b, b'\r' | b'\n' | b'\0'))
}

/// `request_from_vars` never lets CR, LF or NUL through.
fn http_request(vars: &Vars<'_>) {
    match request_from_vars(&OwnedVars::from_vars(vars)) {
        Ok(request) => {
            assert!(!forbidden(request.method().as_str().as_bytes()));
            assert!(!forbidden(request.uri().to_string().as_bytes()));
            for (name, value) in request.headers() {
                assert!(
                    !forbidden(name.as_str().as_bytes()),
                    "header injection: name {name:?}"
                );
                assert!(
                    !forbidden(value.as_bytes()),
                    "header injection: {name}: {value:?}"
                );
            }
            // Every header came from an `HTTP_*`, `CONTENT_TYPE` or `CONTENT_LENGTH`
            // var, and those held no forbidden byte, else the conversion fails.
            for (key, value) in vars.iter() {
                if key.starts_with(b"HTTP_") && key != b"HTTP_TRANSFER_ENCODING" {
                    let twin = key == b"HTTP_CONTENT_LENGTH"
                        || (key == b"HTTP_CONTENT_TYPE" && vars.get(b"CONTENT_TYPE").is_some());
                    if !twin && key.len() > 5 {
                        assert!(
                            !forbidden(key) && !forbidden(value),
                            "a var with CR, LF or NUL became a header: {key:?}"
                        );
                    }
                }
            }
        }
        Err(cgi::Error::ForbiddenByte { byte, .. }) => {
            assert!(
                matches!(byte, b'\r' | b'\n' | b'\0'),
                "ForbiddenByte {byte:#04x}"
            );
        }
        Err(_) => {}
    }
}

/// `parse_response_head`, and the head re-encoded and parsed again.
fn response_head(data: &[u8]) {
    let Ok(Status::Complete((response, head_len))) = parse_response_head(data, MAX_RESPONSE_HEAD)
    else {
        return;
    };
    assert!(head_len <= data.len() && head_len <= MAX_RESPONSE_HEAD);
    for (name, value) in response.headers() {
        assert!(!forbidden(name.as_str().as_bytes()) && !forbidden(value.as_bytes()));
    }
    let mut out = Vec::new();
    encode_response_head(&response, HeadStyle::StatusLine, &mut out)
        .expect("a parsed response head re-encodes");
    match parse_response_head(&out, MAX_RESPONSE_HEAD) {
        Ok(Status::Complete((back, n))) => {
            assert_eq!(n, out.len());
            assert_eq!(back.status(), response.status());
            assert_eq!(back.headers(), response.headers());
        }
        Err(cgi::Error::InvalidResponse(_)) if out.len() > MAX_RESPONSE_HEAD => {}
        other => panic!("a re-encoded response head does not parse back: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    for mode in [
        Mode::ByModifier1,
        Mode::As(BlockKind::Raw),
        Mode::As(BlockKind::Vars),
        Mode::As(BlockKind::Array),
    ] {
        if let Some((packet, consumed)) = mode.parse(data) {
            typed(mode, &packet, &data[..consumed]);
        }
    }

    if let Ok(Status::Complete((reply, consumed))) = parse_reply(data) {
        assert!(consumed <= data.len());
        reply_roundtrip(&reply, Some(&data[..consumed]));
    }

    response_head(data);
});
