//! Valid inputs for fuzzing (feature `arbitrary`): [`ArbitraryRequest`], a request as
//! nginx's `uwsgi_pass` sends it (its `uwsgi_params` vars, the client's headers, a
//! `CONTENT_LENGTH` that matches its body), and [`ArbitraryPacket`], a valid packet of
//! any kind, with the bytes that follow it.
//!
//! Both implement [`arbitrary::Arbitrary`], so a cargo-fuzz target of a server built on
//! this crate takes them as its input and reaches its handlers instead of its parser's
//! error paths. Every value is accepted by this crate's own parsers (`tests/arbitrary.rs`
//! checks it for any input bytes; the `arbitrary_requests` fuzz target keeps checking).
//!
//! ```
//! use arbitrary::{Arbitrary, Unstructured};
//! use uwsgi_wire::arbitrary::{ArbitraryPacket, ArbitraryRequest};
//! use uwsgi_wire::{Packet, message::Request};
//! use uwsgi_wire::Limits;
//!
//! let seed = [7u8; 256];
//! let request = ArbitraryRequest::arbitrary(&mut Unstructured::new(&seed))?;
//! let wire = request.to_bytes();
//! let (packet, consumed) = Packet::parse(&wire, &Limits::new())?.complete().ok_or("whole")?;
//! let parsed = Request::try_from(&packet)?;
//! assert_eq!(parsed.content_length(), request.body().len() as u64);
//! assert_eq!(&wire[consumed..], request.body());
//! assert_eq!(parsed.vars(), request.vars());
//!
//! let any = ArbitraryPacket::arbitrary(&mut Unstructured::new(&seed))?;
//! assert!(any.to_bytes().starts_with(&any.packet().header().to_bytes()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(feature = "server")]
mod fuzzer;
#[cfg(feature = "server")]
pub use fuzzer::Fuzzer;

use alloc::vec::Vec;

use ::arbitrary::{Arbitrary, Unstructured};

use crate::message::{
    CacheCommand, CacheReply, CacheRequest, Echo, GenericResponse, Ping, Pong, Request, RpcCall,
    RpcReply, Signal, SpoolerRequest, SubscriptionBuilder,
};
use crate::wire::builder::{ArrayBuilder, VarsBuilder};
use crate::wire::header::{BlockKind, Modifier1, HEADER_LEN};
use crate::wire::limits::Limits;
use crate::wire::packet::Packet;
use crate::wire::vars::Vars;

/// The request types (modifier1), WSGI most often.
const REQUEST_TYPES: [Modifier1; 10] = [
    Modifier1::WSGI,
    Modifier1::WSGI,
    Modifier1::PSGI,
    Modifier1::LUA,
    Modifier1::RACK,
    Modifier1::JVM,
    Modifier1::CGI,
    Modifier1::PHP,
    Modifier1::MONO,
    Modifier1(30),
];

const METHODS: [&str; 9] = [
    "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "PROPFIND",
];

/// Common header vars; others are made up from `[A-Z0-9_]`.
const HEADERS: [&str; 11] = [
    "HTTP_USER_AGENT",
    "HTTP_ACCEPT",
    "HTTP_ACCEPT_ENCODING",
    "HTTP_COOKIE",
    "HTTP_AUTHORIZATION",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_REQUEST_ID",
    "HTTP_REFERER",
    "HTTP_CONNECTION",
    "HTTP_TRANSFER_ENCODING",
    "HTTP_X_DUP",
];

/// The longest body generated: enough to cross buffer and chunk boundaries, small enough
/// for a fuzzer's input.
const MAX_BODY: usize = 16 * 1024;

/// A valid request as nginx 1.22's `uwsgi_pass` sends it: a request type (modifier1 0
/// most often), the `uwsgi_params` vars in nginx's order (`QUERY_STRING`,
/// `REQUEST_METHOD`, `CONTENT_TYPE`, `CONTENT_LENGTH`, `REQUEST_URI`, `PATH_INFO`, ...,
/// `SERVER_NAME`), then the client's headers as `HTTP_*` vars (duplicates included, as
/// nginx 1.22 sends them), and a body of exactly `CONTENT_LENGTH` bytes (empty
/// `CONTENT_LENGTH` with no body, as nginx sends it).
///
/// ```
/// use arbitrary::{Arbitrary, Unstructured};
/// use uwsgi_wire::arbitrary::ArbitraryRequest;
///
/// let request = ArbitraryRequest::arbitrary(&mut Unstructured::new(b"any bytes at all"))?;
/// assert!(request.modifier1().is_request());
/// assert!(request.vars().get(b"REQUEST_METHOD").is_some());
/// assert_eq!(request.to_bytes().len(), 4 + request.vars().as_bytes().len() + request.body().len());
/// # Ok::<(), arbitrary::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArbitraryRequest {
    modifier1: Modifier1,
    modifier2: u8,
    vars: VarsBuilder,
    body: Vec<u8>,
}

impl ArbitraryRequest {
    /// The packet type (one for which [`Modifier1::is_request`] holds).
    ///
    /// ```
    /// # use arbitrary::{Arbitrary, Unstructured};
    /// let r = uwsgi_wire::arbitrary::ArbitraryRequest::arbitrary(&mut Unstructured::new(&[]))?;
    /// assert_eq!(r.modifier1(), uwsgi_wire::Modifier1::WSGI);
    /// # Ok::<(), arbitrary::Error>(())
    /// ```
    pub fn modifier1(&self) -> Modifier1 {
        self.modifier1
    }

    /// The packet's modifier2 (0, or 1 for a Ring request of modifier1 8).
    ///
    /// ```
    /// # use arbitrary::{Arbitrary, Unstructured};
    /// let r = uwsgi_wire::arbitrary::ArbitraryRequest::arbitrary(&mut Unstructured::new(&[]))?;
    /// assert_eq!(r.modifier2(), 0);
    /// # Ok::<(), arbitrary::Error>(())
    /// ```
    pub fn modifier2(&self) -> u8 {
        self.modifier2
    }

    /// The vars, in the order they go on the wire.
    ///
    /// ```
    /// # use arbitrary::{Arbitrary, Unstructured};
    /// let r = uwsgi_wire::arbitrary::ArbitraryRequest::arbitrary(&mut Unstructured::new(&[]))?;
    /// assert_eq!(r.vars().get(b"REQUEST_METHOD"), Some(&b"GET"[..]));
    /// assert_eq!(r.vars().get(b"CONTENT_LENGTH"), Some(&b""[..]));
    /// # Ok::<(), arbitrary::Error>(())
    /// ```
    pub fn vars(&self) -> Vars<'_> {
        self.vars.vars()
    }

    /// The body: exactly `CONTENT_LENGTH` bytes.
    ///
    /// ```
    /// # use arbitrary::{Arbitrary, Unstructured};
    /// let r = uwsgi_wire::arbitrary::ArbitraryRequest::arbitrary(&mut Unstructured::new(&[]))?;
    /// assert!(r.body().is_empty());
    /// # Ok::<(), arbitrary::Error>(())
    /// ```
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The wire bytes: the 4-byte header, the vars block, the body.
    ///
    /// ```
    /// # use arbitrary::{Arbitrary, Unstructured};
    /// let r = uwsgi_wire::arbitrary::ArbitraryRequest::arbitrary(&mut Unstructured::new(&[]))?;
    /// let header = uwsgi_wire::Header::new(r.modifier1(), u16::try_from(r.vars().as_bytes().len())?, 0);
    /// assert_eq!(r.to_bytes()[..4], header.to_bytes());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let block = self.vars.as_bytes();
        let mut out = Vec::with_capacity(HEADER_LEN + block.len() + self.body.len());
        let [lo, hi] = u16::try_from(block.len()).unwrap_or(u16::MAX).to_le_bytes();
        out.extend_from_slice(&[self.modifier1.0, lo, hi, self.modifier2]);
        out.extend_from_slice(block);
        out.extend_from_slice(&self.body);
        out
    }
}

/// `1..=max` bytes from `charset`.
fn token(u: &mut Unstructured<'_>, charset: &[u8], max: usize) -> ::arbitrary::Result<Vec<u8>> {
    let len = u.int_in_range(1..=max.max(1))?;
    (0..len)
        .map(|_| u.choose(charset).copied())
        .collect::<::arbitrary::Result<Vec<u8>>>()
}

/// `0..=max` arbitrary bytes.
fn bytes(u: &mut Unstructured<'_>, max: usize) -> ::arbitrary::Result<Vec<u8>> {
    let len = u.int_in_range(0..=max)?;
    Ok(u.bytes(len.min(u.len()))?.to_vec())
}

const PATH: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/%!$&'()*+,;=:@";
const QUERY: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-._~/%=&+?";
const NAME: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
/// Header values: visible ASCII, space and tab (no CR, LF or NUL).
const VALUE: &[u8] = b" \tabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

fn fail<E>(_: E) -> ::arbitrary::Error {
    ::arbitrary::Error::IncorrectFormat
}

impl<'a> Arbitrary<'a> for ArbitraryRequest {
    fn arbitrary(u: &mut Unstructured<'a>) -> ::arbitrary::Result<Self> {
        let modifier1 = *u.choose(&REQUEST_TYPES)?;
        let modifier2 = u8::from(modifier1 == Modifier1::JVM && u.arbitrary::<bool>()?);
        let method = *u.choose(&METHODS)?;
        let mut path = b"/".to_vec();
        if u.arbitrary::<bool>()? {
            path.extend(token(u, PATH, 64)?);
        }
        let query = if u.arbitrary::<bool>()? {
            token(u, QUERY, 64)?
        } else {
            Vec::new()
        };
        let body = if u.arbitrary::<bool>()? {
            bytes(u, MAX_BODY)?
        } else {
            Vec::new()
        };
        let mut uri = path.clone();
        if !query.is_empty() {
            uri.push(b'?');
            uri.extend_from_slice(&query);
        }
        let length = if body.is_empty() {
            Vec::new()
        } else {
            alloc::format!("{}", body.len()).into_bytes()
        };
        let content_type: &[u8] = if body.is_empty() {
            b""
        } else {
            u.choose(&[
                &b"application/x-www-form-urlencoded"[..],
                b"application/json",
                b"application/octet-stream",
                b"text/plain; charset=utf-8",
            ])?
        };
        let https = u.arbitrary::<bool>()?;
        let port = alloc::format!("{}", u.int_in_range(1u16..=65535)?);
        let remote_port = alloc::format!("{}", u.int_in_range(1024u16..=65535)?);
        let mut vars = VarsBuilder::default();
        let scheme: &[u8] = if https { b"https" } else { b"http" };
        let params: [(&[u8], &[u8]); 9] = [
            (b"QUERY_STRING", &query),
            (b"REQUEST_METHOD", method.as_bytes()),
            (b"CONTENT_TYPE", content_type),
            (b"CONTENT_LENGTH", &length),
            (b"REQUEST_URI", &uri),
            (b"PATH_INFO", &path),
            (b"DOCUMENT_ROOT", b"/usr/share/nginx/html"),
            (
                b"SERVER_PROTOCOL",
                u.choose(&[&b"HTTP/1.1"[..], b"HTTP/1.0", b"HTTP/2.0"])?,
            ),
            (b"REQUEST_SCHEME", scheme),
        ];
        for (key, value) in params {
            vars.push(key, value).map_err(fail)?;
        }
        if https {
            vars.push("HTTPS", "on").map_err(fail)?;
        }
        for (key, value) in [
            (&b"REMOTE_ADDR"[..], &b"127.0.0.1"[..]),
            (b"REMOTE_PORT", remote_port.as_bytes()),
            (b"SERVER_PORT", port.as_bytes()),
            (b"SERVER_NAME", b"localhost"),
        ] {
            vars.push(key, value).map_err(fail)?;
        }
        // The client's headers, Host first (a valid host, as nginx checks it), within a
        // 16-bit block.
        let mut host = token(u, b"abcdefghijklmnopqrstuvwxyz0123456789-.", 32)?;
        if u.arbitrary::<bool>()? {
            host.extend_from_slice(port.as_bytes());
            host.insert(host.len() - port.len(), b':');
        }
        vars.push("HTTP_HOST", host).map_err(fail)?;
        let headers = u.int_in_range(0..=24)?;
        for _ in 0..headers {
            let key = if u.ratio(3, 4)? {
                u.choose(&HEADERS)?.as_bytes().to_vec()
            } else {
                let mut key = b"HTTP_".to_vec();
                key.extend(token(u, NAME, 24)?);
                key
            };
            let value = if u.arbitrary::<bool>()? {
                token(u, VALUE, 512)?
            } else {
                Vec::new()
            };
            if vars.push(&key, &value).is_err() {
                break;
            }
        }
        Ok(ArbitraryRequest {
            modifier1,
            modifier2,
            vars,
            body,
        })
    }
}

/// A valid packet of any kind and the bytes that follow it on the stream: a request
/// ([`ArbitraryRequest`]) and its body, a ping, an echo, a signal, an RPC call (an array
/// block), a spooler request, a magic cache request (a `set` or `update` with its value),
/// a subscription; or, in the other direction ([`is_reply`](Self::is_reply)), a pong, an
/// RPC reply (the large form with its result), a cache reply, a generic response.
///
/// Requests parse with [`Packet::parse`] and type with
/// [`Message`](crate::message::Message) (`Message::try_from(&packet)`); replies with their
/// own type's.
///
/// ```
/// use arbitrary::{Arbitrary, Unstructured};
/// use uwsgi_wire::arbitrary::ArbitraryPacket;
/// use uwsgi_wire::exchange::request_body_len;
/// use uwsgi_wire::{message::Message, Limits, Packet};
///
/// let any = ArbitraryPacket::arbitrary(&mut Unstructured::new(&[3, 1, 4, 1, 5, 9, 2, 6]))?;
/// let wire = any.to_bytes();
/// if !any.is_reply() {
///     let (packet, consumed) = Packet::parse(&wire, &Limits::new())?.complete().ok_or("whole")?;
///     Message::try_from(&packet)?;
///     assert_eq!(&wire[consumed..], any.follows());
///     assert_eq!(request_body_len(&packet)?, any.follows().len() as u64);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArbitraryPacket {
    /// The header and the block.
    head: Vec<u8>,
    /// The bytes after the packet.
    follows: Vec<u8>,
    reply: bool,
}

impl ArbitraryPacket {
    /// The packet and the bytes that follow it.
    ///
    /// ```
    /// # use arbitrary::{Arbitrary, Unstructured};
    /// let p = uwsgi_wire::arbitrary::ArbitraryPacket::arbitrary(&mut Unstructured::new(&[]))?;
    /// assert_eq!(p.to_bytes().len(), p.packet().encoded_len() + p.follows().len());
    /// # Ok::<(), arbitrary::Error>(())
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.head.clone();
        out.extend_from_slice(&self.follows);
        out
    }

    /// The packet, its block read as its receiver reads it (an RPC reply's as raw).
    ///
    /// ```
    /// # use arbitrary::{Arbitrary, Unstructured};
    /// let p = uwsgi_wire::arbitrary::ArbitraryPacket::arbitrary(&mut Unstructured::new(&[]))?;
    /// assert!(p.packet().modifier1().is_request()); // the first kind: a request
    /// # Ok::<(), arbitrary::Error>(())
    /// ```
    pub fn packet(&self) -> Packet<'_> {
        let kind = match self.head.first() {
            Some(&m1) if self.reply && Modifier1(m1) == Modifier1::RPC => BlockKind::Raw,
            Some(&m1) => Modifier1(m1).block_kind(),
            None => BlockKind::Raw,
        };
        match Packet::parse_as(&self.head, kind, &Limits::new()) {
            Ok(status) => status.complete().map(|(packet, _)| packet),
            Err(_) => None,
        }
        // Valid by construction; a ping otherwise.
        .unwrap_or(Packet::from(&Ping))
    }

    /// The bytes after the packet: a request's body, a cache `set`'s value, a large RPC
    /// result; empty for the other kinds.
    ///
    /// ```
    /// # use arbitrary::{Arbitrary, Unstructured};
    /// let p = uwsgi_wire::arbitrary::ArbitraryPacket::arbitrary(&mut Unstructured::new(&[]))?;
    /// assert!(p.follows().is_empty());
    /// # Ok::<(), arbitrary::Error>(())
    /// ```
    pub fn follows(&self) -> &[u8] {
        &self.follows
    }

    /// True for the kinds a server sends back (pong, RPC reply, cache reply, generic
    /// response), false for those it receives.
    ///
    /// ```
    /// # use arbitrary::{Arbitrary, Unstructured};
    /// let p = uwsgi_wire::arbitrary::ArbitraryPacket::arbitrary(&mut Unstructured::new(&[]))?;
    /// assert!(!p.is_reply());
    /// # Ok::<(), arbitrary::Error>(())
    /// ```
    pub fn is_reply(&self) -> bool {
        self.reply
    }
}

/// The wire bytes of `packet`.
fn wire(packet: Result<Packet<'_>, crate::EncodeError>) -> ::arbitrary::Result<Vec<u8>> {
    let packet = packet.map_err(fail)?;
    let mut out = Vec::with_capacity(packet.encoded_len());
    packet.encode_to(&mut out).map_err(fail)?;
    Ok(out)
}

/// Up to `max` vars with keys from `[A-Za-z0-9_]` and arbitrary values.
fn some_vars(u: &mut Unstructured<'_>, max: usize) -> ::arbitrary::Result<VarsBuilder> {
    let mut vars = VarsBuilder::default();
    for _ in 0..u.int_in_range(0..=max)? {
        let key = token(
            u,
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_",
            16,
        )?;
        if vars.push(key, bytes(u, 64)?).is_err() {
            break;
        }
    }
    Ok(vars)
}

impl<'a> Arbitrary<'a> for ArbitraryPacket {
    fn arbitrary(u: &mut Unstructured<'a>) -> ::arbitrary::Result<Self> {
        let (head, follows, reply) = match u.int_in_range(0u8..=11)? {
            0 => {
                let generated = ArbitraryRequest::arbitrary(u)?;
                let vars = generated.vars();
                let request =
                    Request::new(generated.modifier1, generated.modifier2, vars).map_err(fail)?;
                (
                    wire(Packet::try_from(&request))?,
                    generated.body.clone(),
                    false,
                )
            }
            1 => (wire(Ok(Packet::from(&Ping)))?, Vec::new(), false),
            2 => {
                let payload = bytes(u, 256)?;
                (
                    wire(Echo::new(&payload).map(|e| Packet::from(&e)))?,
                    Vec::new(),
                    false,
                )
            }
            3 => {
                let signal = Signal::new(u.arbitrary()?);
                (wire(Ok(Packet::from(&signal)))?, Vec::new(), false)
            }
            4 => {
                let mut array = ArrayBuilder::default();
                array
                    .push(token(u, b"abcdefghijklmnopqrstuvwxyz_", 16)?)
                    .map_err(fail)?;
                for _ in 0..u.int_in_range(0..=8)? {
                    array.push(bytes(u, 64)?).map_err(fail)?;
                }
                let call = RpcCall::new(array.array(), 0).map_err(fail)?;
                (wire(Packet::try_from(&call))?, Vec::new(), false)
            }
            5 => {
                let vars = some_vars(u, 8)?;
                let spool = SpoolerRequest::new(vars.vars());
                (wire(Packet::try_from(&spool))?, Vec::new(), false)
            }
            6 => {
                let command = *u.choose(&[
                    CacheCommand::Get,
                    CacheCommand::Exists,
                    CacheCommand::Del,
                    CacheCommand::Clear,
                    CacheCommand::Set,
                    CacheCommand::Update,
                ])?;
                let key = token(u, NAME, 32)?;
                let value = if command.carries_value() {
                    bytes(u, 512)?
                } else {
                    Vec::new()
                };
                let expires = u.int_in_range(0u64..=86_400)?;
                let cache: Option<&[u8]> = *u.choose(&[None, Some(&b"default"[..])])?;
                let vars = CacheRequest::build(
                    command,
                    &key,
                    crate::wire::convert::to_u64(value.len()),
                    expires,
                    cache,
                )
                .map_err(fail)?;
                let request = CacheRequest::new(vars.vars()).map_err(fail)?;
                (wire(Packet::try_from(&request))?, value, false)
            }
            7 => {
                let key = token(u, b"abcdefghijklmnopqrstuvwxyz.-", 32)?;
                let port = u.int_in_range(1u16..=65535)?;
                let address = alloc::format!("127.0.0.1:{port}").into_bytes();
                let vars = SubscriptionBuilder::new(&key, &address)
                    .modifier1(u.arbitrary()?)
                    .modifier2(u.arbitrary()?)
                    .build()
                    .map_err(fail)?;
                let subscription =
                    crate::message::Subscription::new(vars.vars(), 0).map_err(fail)?;
                (wire(Packet::try_from(&subscription))?, Vec::new(), false)
            }
            8 => {
                let warning = bytes(u, 64)?;
                let pong = Pong::with_warning(&warning);
                (wire(Packet::try_from(&pong))?, Vec::new(), true)
            }
            9 => {
                // A result of up to 70000 bytes: over 65535 it is the large form, the
                // result after the packet.
                let len = if u.ratio(1, 16)? {
                    u.int_in_range(65536usize..=70_000)?
                } else {
                    u.int_in_range(0usize..=512)?
                };
                let mut result = bytes(u, len)?;
                result.resize(len, b'R');
                let reply = RpcReply::for_result(&result);
                let mut head = alloc::vec![0u8; reply.encoded_len()];
                let n = reply.encode(&mut head).map_err(fail)?;
                head.truncate(n);
                let follows = match reply {
                    RpcReply::Large { .. } => result.clone(),
                    _ => Vec::new(),
                };
                (head, follows, true)
            }
            10 => {
                let hit = if u.arbitrary::<bool>()? {
                    Some((u.int_in_range(0u64..=512)?, u.arbitrary::<u32>()?.into()))
                } else {
                    None
                };
                let vars = CacheReply::build(hit).map_err(fail)?;
                let reply = CacheReply::new(vars.vars()).map_err(fail)?;
                let value =
                    alloc::vec![b'v'; hit.map_or(0, |(len, _)| usize::try_from(len).unwrap_or(0))];
                (wire(Packet::try_from(&reply))?, value, true)
            }
            _ => {
                let response = GenericResponse::new(u.arbitrary()?);
                (wire(Packet::try_from(&response))?, Vec::new(), true)
            }
        };
        Ok(ArbitraryPacket {
            head,
            follows,
            reply,
        })
    }
}
