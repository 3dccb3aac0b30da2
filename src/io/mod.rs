//! Blocking I/O (feature `std`): read exchanges from any [`Read`](std::io::Read), write packets
//! to any [`Write`](std::io::Write). A thin shell over the [exchange core](crate::exchange): the framing rules
//! live there, this module only moves bytes.
//!
//! - [`ServerReader`] and [`ClientReader`] own a reusable buffer. A [`ServerReader`]
//!   ([`read_packet`](ServerReader::read_packet)) reads each packet and hands the
//!   bytes that follow it (a request's `CONTENT_LENGTH` body, a cache `set`'s value) to a
//!   [`Body`]; a [`ClientReader`]
//!   ([`read_reply`](ClientReader::read_reply)) it reads the reply of a request: an HTTP
//!   response head, a uwsgi-framed reply or raw bytes, and its body. Whatever follows
//!   stays buffered for the next exchange; once the buffer has grown to the largest head
//!   seen, nothing is allocated.
//! - [`read_packet`] reads exactly one packet into a caller-provided buffer and nothing
//!   more: the body is still in the reader, for [`Body::new`].
//! - [`write_packet`], [`write_request`] and [`write_all_vectored`] write with vectored
//!   writes (header, block and body in one system call when the writer allows) and
//!   survive short writes and [`Interrupted`](std::io::ErrorKind::Interrupted).
//!
//! Short reads are never errors: every function here keeps reading until it has what it
//! needs. A peer that closes in the middle of an exchange is a [`StreamError`] whose
//! [`is_eof`](StreamError::is_eof) is true (inside a [`Body`]'s `read`, an
//! [`UnexpectedEof`](std::io::ErrorKind::UnexpectedEof) error).
//!
//! ```
//! use std::io::Read;
//! use uwsgi_wire::io::{Incoming, ServerReader};
//! use uwsgi_wire::Limits;
//!
//! // Two requests on one connection, as a front end could pipeline them.
//! let wire = [
//!     &std::fs::read("tests/vectors/nginx-post.bin")?[..], // captured from nginx 1.22
//!     &std::fs::read("tests/vectors/nginx-get.bin")?[..],  // likewise
//! ]
//! .concat();
//! let mut reader = ServerReader::new(&wire[..], Limits::new());
//!
//! let Some(Incoming { packet, mut body }) = reader.read_packet()? else { unreachable!() };
//! assert_eq!(packet.vars().unwrap().get(b"REQUEST_METHOD"), Some(&b"POST"[..]));
//! let mut text = String::new();
//! body.read_to_string(&mut text)?;
//! assert_eq!(text, "hello=world");
//!
//! let Some(Incoming { packet, body }) = reader.read_packet()? else { unreachable!() };
//! assert_eq!(packet.vars().unwrap().get(b"REQUEST_URI"), Some(&b"/path/x?a=1&b=2"[..]));
//! assert_eq!(body.remaining(), 0);
//! assert!(reader.read_packet()?.is_none()); // clean end of stream
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The client side: the reply uWSGI 2.0.21 sent to an RPC call for a 70000-byte result
//! (the large form: a packet, then the result after it).
//!
//! ```
//! use std::io::Read;
//! use uwsgi_wire::exchange::{Head, Reply};
//! use uwsgi_wire::io::{ClientReader, IncomingReply};
//! use uwsgi_wire::{Limits, Modifier1};
//!
//! let wire = std::fs::read("tests/vectors/uwsgi-rpc-reply-big.bin")?;
//! let mut reader = ClientReader::new(&wire[..], Limits::new());
//! let IncomingReply { head, mut body } = reader.read_reply(Reply::Packet(Modifier1::RPC))?;
//! assert!(matches!(head, Head::Packet(p) if p.modifier2() == 5));
//! let mut result = Vec::new();
//! body.read_to_end(&mut result)?;
//! assert_eq!(result, vec![b'B'; 70000]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod body;
mod error;
mod reader;
mod shape;
mod write;

pub use body::Body;
pub use error::StreamError;
pub use reader::{
    read_packet, ClientReader, Incoming, IncomingReply, ServerReader, DEFAULT_BUFFER_SIZE,
};
pub(crate) use shape::Shape;
pub use write::{write_all_vectored, write_packet, write_request};
