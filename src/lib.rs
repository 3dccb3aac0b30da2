//! A zero-copy, `no_std` parser and encoder for the **uwsgi wire protocol**, the binary
//! protocol nginx (`uwsgi_pass`), Apache (`mod_proxy_uwsgi`), lighttpd and the uWSGI
//! application server speak between a front-end web server and an application server.
//!
//! The core does no I/O and never allocates while parsing: bytes in, borrowed and
//! validated views out; views in, bytes out.
//!
//! ```
//! use uwsgi_wire::{Limits, Modifier1, Packet, Payload, Status, VarsBuilder};
//!
//! // Parse a request as nginx sends it: 4-byte header, vars block, then the body.
//! let wire = b"\x00\x2a\x00\x00\x0e\x00REQUEST_METHOD\x04\x00POST\x0e\x00CONTENT_LENGTH\x02\x0011hello world";
//! let Status::Complete((packet, consumed)) = Packet::parse(wire, &Limits::new())? else {
//!     unreachable!("the whole packet is here");
//! };
//! let vars = packet.vars().expect("modifier1 0 carries vars");
//! assert_eq!(vars.get(b"REQUEST_METHOD"), Some(&b"POST"[..]));
//! let body_len = usize::try_from(vars.content_length()?.unwrap_or(0))?; // never `as`
//! assert_eq!(&wire[consumed..consumed + body_len], b"hello world");
//!
//! // Encode one: exact length first, then the bytes, into a slice or any BufMut.
//! let mut builder = VarsBuilder::default();
//! builder.push("REQUEST_METHOD", "POST")?.push("CONTENT_LENGTH", "11")?;
//! let request = Packet::new(Modifier1::WSGI, 0, Payload::Vars(builder.vars()))?;
//! let mut buf = [0u8; 64];
//! let n = request.encode(&mut buf)?;
//! assert_eq!(&buf[..n], &wire[..consumed]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Layers
//!
//! - [`Header`]: the 4 bytes `modifier1 | datasize (u16 LE) | modifier2`; [`Modifier1`]
//!   names the packet types and carries any of the 256 values untouched.
//! - [`Vars`] and [`Array`]: validated views of the two block layouts; [`VarsBuilder`],
//!   [`ArrayBuilder`], [`encode_vars`] and [`encode_array`] write them.
//! - [`Packet`]: a header and its block; [`Packet::parse`] returns [`Status::Partial`] with
//!   the number of bytes still needed on short input, never an error.
//! - [`Limits`]: the configurable bounds, which every parse and builder takes;
//!   [`Limits::new`] (also `Default`) accepts every packet the real encoders send.
//! - [`exchange`]: the exchange core, one sans-I/O state machine that frames whole
//!   exchanges on a stream, one type per side: a request and the bytes its kind says
//!   follow it ([`exchange::ServerExchange`]), or the reply to what was sent
//!   ([`exchange::ClientExchange`]:
//!   an HTTP response head and its body, or a uwsgi-framed reply). No I/O, no
//!   allocation, `no_std`; the adapters [`io`] and `codec` are thin shells over it.
//!
//! Every error is a [`ParseError`] naming a [`ParseErrorKind`] and a byte offset, or an
//! [`EncodeError`]. Nothing panics and no length is ever truncated to 16 bits.
//!
//! # Features
//!
//! | feature | default | adds |
//! |---|---|---|
//! | `std` | yes | `std::error::Error` for the error types; the blocking adapter [`io`] ([`io::ServerReader`] and [`io::ClientReader`]: requests and their bodies, or replies and theirs, from any `Read`, one type per side; [`io::write_packet`]: vectored, short-write safe); [`io::StreamError`], the adapters' one error type; implies `alloc` |
//! | `alloc` | with `std` | [`VarsBuilder`], [`ArrayBuilder`], [`Packet::encode_to`] (any [`bytes::BufMut`]), [`owned::OwnedPacket`] and [`owned::OwnedVars`] (views over a shared `bytes::Bytes`) |
//! | `tokio` | no | the async adapter `codec`: `codec::ServerCodec` and `codec::ClientCodec`, `tokio_util::codec` `Decoder`/`Encoder`s yielding head, body chunks, end, one type per side (an HTTP response head is an `OwnedResponseHead`); implies `std` |
//! | `http` | no | `cgi`: the CGI/1.1 vars to `http::Request` and back (nginx `uwsgi_params` order), the raw HTTP/1.x response head both ways; implies `std` |
//! | `server` | no | `server`: the server driver, any tower/hyper service (an axum `Router`) served over uwsgi (`server::Builder::serve_connection`, `server::serve`); implies `tokio` and `http` |
//! | `axum` | no | axum's `ConnectInfo<SocketAddr>` in the server driver's requests, from `REMOTE_ADDR` and `REMOTE_PORT`, for axum's `ConnectInfo` extractor; implies `server` |
//! | `client` | no | `client`: the client driver, an `http::Request` sent as nginx's `uwsgi_pass` sends it, its `http::Response` back with a streaming body (`client::Builder::send_request`); implies `tokio` and `http` |
//! | `arbitrary` | no | `arbitrary`: `arbitrary::ArbitraryRequest` (nginx-style vars, a consistent `CONTENT_LENGTH`, its body) and `arbitrary::ArbitraryPacket` (every packet kind), `arbitrary::Arbitrary` generators of valid inputs for cargo-fuzz; implies `alloc` |
//! | `check` | no | `check`: the conformance catalogue for any uwsgi server (`check::catalogue`, `check::Checker::run` at an address, `run_with` over any connection: h2spec for uwsgi), its report as lines, JSON (serde) or JUnit XML; implies `client` |
//!
//! With `default-features = false` the crate is `#![no_std]` and needs no allocator: it
//! parses, and encodes into `&mut [u8]`.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;

mod wire;

pub mod diagnose;
pub mod exchange;
pub mod message;

#[cfg(feature = "arbitrary")]
pub mod arbitrary;
#[cfg(feature = "http")]
pub mod cgi;
#[cfg(feature = "check")]
pub mod check;
#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "tokio")]
pub mod codec;
#[cfg(any(feature = "server", feature = "client"))]
mod deadline;
#[cfg(feature = "std")]
pub mod io;
#[cfg(feature = "alloc")]
pub mod owned;
#[cfg(feature = "server")]
pub mod server;

pub use wire::{
    encode_array, encode_vars, is_magic_var, Array, ArrayIter, BlockKind, EncodeError, Header,
    Limits, Modifier1, Packet, Pair, ParseError, ParseErrorKind, Payload, Status, Var, Vars,
    VarsIndex, VarsIter, HEADER_LEN, MAX_ITEMS_IN_BLOCK, MAX_PAIRS_IN_BLOCK,
};
#[cfg(feature = "alloc")]
pub use wire::{ArrayBuilder, VarsBuilder};

/// Runs the README's examples as doctests, so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
