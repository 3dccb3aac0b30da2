//! Typed messages: one file per packet kind, zero-copy over the core views.
//!
//! Every message reads from a parsed [`Packet`] and writes back to one with the std
//! conversion traits: `Signal::try_from(&packet)?` (a [`ParseError`] when the packet is
//! another kind or breaks the kind's rules) and `Packet::try_from(&signal)?` (an
//! [`EncodeError`] only for a block over 65535 bytes; `Packet::from`
//! for the kinds that always fit). [`Message`] does both for any kind a server receives.
//! The HTTP view of a request (`http::Request`) is a layer above this one.
//!
//! ```
//! use uwsgi_wire::{message::Signal, Packet};
//! use uwsgi_wire::Limits;
//!
//! // `uwsgi --signal ADDR,17` on the wire, typed and written back.
//! let (packet, _) = Packet::parse(&[0x6e, 0x00, 0x00, 0x11], &Limits::new())?.complete().ok_or("short")?;
//! let signal = Signal::try_from(&packet)?;
//! assert_eq!(signal.number(), 17);
//! assert_eq!(Packet::from(&signal), packet);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cache;
mod echo;
mod fields;
mod ping;
// Crate-visible for the request rules the layers above apply too (`url_scheme`).
pub(crate) mod request;
mod response;
mod rpc;
mod signal;
mod spooler;
mod subscription;

pub use cache::{CacheCommand, CacheReply, CacheRequest, CACHE_MAGIC};
pub use echo::Echo;
pub use ping::{Ping, Pong};
pub use request::Request;
pub use response::GenericResponse;
pub use rpc::{RpcCall, RpcReply, MAX_RPC_ARGS};
pub use signal::Signal;
pub use spooler::SpoolerRequest;
pub use subscription::Subscription;
#[cfg(feature = "alloc")]
pub use subscription::SubscriptionBuilder;

use crate::wire::error::{EncodeError, ParseError};
use crate::wire::header::Modifier1;
use crate::wire::packet::Packet;

/// Any packet a uWSGI server receives, typed by its modifier1 (and modifier2 where it
/// selects the message): `Message::try_from(&packet)?`, and `Packet::try_from(&message)?`
/// back.
///
/// ```
/// use uwsgi_wire::{message::Message, Packet};
/// use uwsgi_wire::Limits;
///
/// for wire in [&include_bytes!("../../tests/vectors/uwsgi-ping.bin")[..],
///              include_bytes!("../../tests/vectors/uwsgi-signal.bin"),
///              include_bytes!("../../tests/vectors/nginx-get.bin")] {
///     let (packet, _) = Packet::parse(wire, &Limits::new())?.complete().unwrap();
///     match Message::try_from(&packet)? {
///         Message::Ping(_) => println!("ping"),
///         Message::Signal(s) => println!("signal {}", s.number()),
///         Message::Request(r) => println!("{:?}", r.vars().get(b"REQUEST_METHOD")),
///         other => println!("{other:?}"),
///     }
/// }
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message<'a> {
    /// modifier1 0, 5, 6, 7, 8, 9, 14, 15, 30.
    Request(Request<'a>),
    /// modifier1 100, modifier2 0.
    Ping(Ping),
    /// modifier1 100, modifier2 1.
    Pong(Pong<'a>),
    /// modifier1 101.
    Echo(Echo<'a>),
    /// modifier1 110.
    Signal(Signal),
    /// modifier1 173.
    RpcCall(RpcCall<'a>),
    /// modifier1 17.
    Spooler(SpoolerRequest<'a>),
    /// modifier1 111, modifier2 17 (the magic interface).
    Cache(CacheRequest<'a>),
    /// modifier1 224.
    Subscription(Subscription<'a>),
    /// modifier1 255.
    Response(GenericResponse<'a>),
    /// Any other packet (other cache commands and ping/echo sub-types, symcall, legion,
    /// unknown types), untouched.
    Other(Packet<'a>),
}

/// Types a packet parsed with [`Packet::parse`] (the request direction).
///
/// ```
/// use uwsgi_wire::{message::Message, message::Signal, Packet};
/// use uwsgi_wire::Limits;
/// let (packet, _) = Packet::parse(&[0x6e, 0, 0, 9], &Limits::new())?.complete().unwrap();
/// assert_eq!(Message::try_from(&packet)?, Message::Signal(Signal::new(9)));
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
impl<'a> TryFrom<&Packet<'a>> for Message<'a> {
    type Error = ParseError;

    fn try_from(packet: &Packet<'a>) -> Result<Self, ParseError> {
        let m1 = packet.modifier1();
        Ok(match m1 {
            _ if m1.is_request() => Message::Request(packet.try_into()?),
            // Sub-types this crate does not know (a ping with modifier2 2, an echo with
            // modifier2 1) are `Other`, like the cache commands other than the magic one.
            Modifier1::PING if packet.modifier2() == 0 => Message::Ping(packet.try_into()?),
            Modifier1::PING if packet.modifier2() == 1 => Message::Pong(packet.try_into()?),
            Modifier1::ECHO if packet.modifier2() == 0 => Message::Echo(packet.try_into()?),
            Modifier1::SIGNAL => Message::Signal(packet.try_into()?),
            Modifier1::RPC => Message::RpcCall(packet.try_into()?),
            Modifier1::SPOOLER => Message::Spooler(packet.try_into()?),
            Modifier1::CACHE if packet.modifier2() == CACHE_MAGIC => {
                Message::Cache(packet.try_into()?)
            }
            Modifier1::SUBSCRIPTION => Message::Subscription(packet.try_into()?),
            Modifier1::RESPONSE => Message::Response(packet.try_into()?),
            _ => Message::Other(*packet),
        })
    }
}

/// The packet of any message: each variant's own ([`Message::Other`] as it is).
///
/// ```
/// use uwsgi_wire::{message::Message, Packet};
/// use uwsgi_wire::Limits;
/// let wire = include_bytes!("../../tests/vectors/nginx-get.bin");
/// let (packet, _) = Packet::parse(wire, &Limits::new())?.complete().ok_or("short")?;
/// assert_eq!(Packet::try_from(&Message::try_from(&packet)?)?, packet);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl<'a> TryFrom<&Message<'a>> for Packet<'a> {
    type Error = EncodeError;

    fn try_from(message: &Message<'a>) -> Result<Self, EncodeError> {
        match message {
            Message::Request(m) => m.try_into(),
            Message::Ping(m) => Ok(m.into()),
            Message::Pong(m) => m.try_into(),
            Message::Echo(m) => Ok(m.into()),
            Message::Signal(m) => Ok(m.into()),
            Message::RpcCall(m) => m.try_into(),
            Message::Spooler(m) => m.try_into(),
            Message::Cache(m) => m.try_into(),
            Message::Subscription(m) => m.try_into(),
            Message::Response(m) => m.try_into(),
            Message::Other(packet) => Ok(*packet),
        }
    }
}
