//! Typed messages: one file per packet kind, each with `from_packet` (parse) and
//! `to_packet` (encode) side by side, zero-copy over the core views.

mod cache;
mod echo;
mod fields;
mod ping;
mod request;
mod response;
mod rpc;
mod signal;
mod spooler;
mod subscription;

pub use cache::{CacheCommand, CacheReply, CacheRequest, CACHE_MAGIC};
pub use echo::Echo;
pub use ping::{Ping, Pong};
pub use request::Request;
pub use response::{GenericResponse, ResponseFormat};
pub use rpc::{RpcCall, RpcReply, MAX_RPC_ARGS};
pub use signal::Signal;
pub use spooler::SpoolerRequest;
pub use subscription::Subscription;
#[cfg(feature = "alloc")]
pub use subscription::SubscriptionBuilder;

#[cfg(feature = "http")]
pub(crate) use request::url_scheme;

use crate::wire::error::ParseError;
use crate::wire::header::Modifier1;
use crate::wire::packet::Packet;

/// Any packet a uWSGI server receives, typed by its modifier1 (and modifier2 where it
/// selects the message).
///
/// ```
/// use uwsgi_wire::{Limits, message::Message, Packet};
///
/// for wire in [&include_bytes!("../../tests/vectors/uwsgi-ping.bin")[..],
///              include_bytes!("../../tests/vectors/uwsgi-signal.bin"),
///              include_bytes!("../../tests/vectors/nginx-get.bin")] {
///     let (packet, _) = Packet::parse(wire, &Limits::new())?.complete().unwrap();
///     match Message::from_packet(&packet)? {
///         Message::Ping(_) => println!("ping"),
///         Message::Signal(s) => println!("signal {}", s.number()),
///         Message::Request(r) => println!("{:?}", r.method()),
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

impl<'a> Message<'a> {
    /// Types a packet parsed with [`Packet::parse`] (the request direction).
    ///
    /// ```
    /// use uwsgi_wire::{Limits, message::Message, Packet, message::Signal};
    /// let (packet, _) = Packet::parse(&[0x6e, 0, 0, 9], &Limits::new())?.complete().unwrap();
    /// assert_eq!(Message::from_packet(&packet)?, Message::Signal(Signal::new(9)));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn from_packet(packet: &Packet<'a>) -> Result<Self, ParseError> {
        let m1 = packet.modifier1();
        Ok(match m1 {
            _ if m1.is_request() => Message::Request(Request::from_packet(packet)?),
            // Sub-types this crate does not know (a ping with modifier2 2, an echo with
            // modifier2 1) are `Other`, like the cache commands other than the magic one.
            Modifier1::PING if packet.modifier2() == 0 => Message::Ping(Ping::from_packet(packet)?),
            Modifier1::PING if packet.modifier2() == 1 => Message::Pong(Pong::from_packet(packet)?),
            Modifier1::ECHO if packet.modifier2() == 0 => Message::Echo(Echo::from_packet(packet)?),
            Modifier1::SIGNAL => Message::Signal(Signal::from_packet(packet)?),
            Modifier1::RPC => Message::RpcCall(RpcCall::from_packet(packet)?),
            Modifier1::SPOOLER => Message::Spooler(SpoolerRequest::from_packet(packet)?),
            Modifier1::CACHE if packet.modifier2() == CACHE_MAGIC => {
                Message::Cache(CacheRequest::from_packet(packet)?)
            }
            Modifier1::SUBSCRIPTION => Message::Subscription(Subscription::from_packet(packet)?),
            Modifier1::RESPONSE => Message::Response(GenericResponse::from_packet(packet)?),
            _ => Message::Other(*packet),
        })
    }
}
