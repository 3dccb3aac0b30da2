//! What follows a packet on the stream, by its kind and direction: the one place the
//! body rules of docs/PROTOCOL.md section 4 are written.

use crate::message::{CacheReply, CacheRequest, RpcReply, CACHE_MAGIC};
use crate::wire::error::ParseError;
use crate::wire::header::{BlockKind, Header, Modifier1};
use crate::wire::packet::Packet;

/// The number of bytes that follow `packet` on the stream when a server receives it
/// (docs/PROTOCOL.md section 4.1): the strict [`Vars::content_length`](crate::Vars::content_length)
/// for request types ([`Modifier1::is_request`]; absent or empty is 0), the `size` of a
/// magic cache `set` or `update` ([`CacheRequest::value_len`]), and 0 for every other
/// type. The exchange core ([`ServerExchange`](crate::exchange::ServerExchange))
/// frames streams by this rule.
///
/// ```
/// use uwsgi_wire::{exchange::request_body_len, Limits, Packet, Status};
/// // A POST captured from nginx 1.22: 11 body bytes follow the packet.
/// let wire = include_bytes!("../../tests/vectors/nginx-post.bin");
/// let Status::Complete((packet, consumed)) = Packet::parse(wire, &Limits::new())? else { unreachable!() };
/// assert_eq!(request_body_len(&packet)?, 11);
/// assert_eq!(wire.len() - consumed, 11);
///
/// // A cache set as uWSGI's client sends it: the 2 value bytes follow the packet.
/// let set = b"\x6f\x3a\x00\x11\x03\x00cmd\x03\x00set\x03\x00key\x01\x00k\x04\x00size\x01\x002\
///             \x07\x00expires\x02\x0030\x04\x00size\x01\x002\x05\x00cache\x00\x00vv";
/// let Status::Complete((packet, _)) = Packet::parse(set, &Limits::new())? else { unreachable!() };
/// assert_eq!(request_body_len(&packet)?, 2);
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
///
/// Always inlined, with the cache rule out of line: a server asks on every request, and
/// the call took the 64-byte packet by reference, so through memory (BENCHMARKS.md,
/// target 1).
#[inline(always)]
pub fn request_body_len(packet: &Packet<'_>) -> Result<u64, ParseError> {
    let m1 = packet.modifier1();
    if m1.is_request() {
        return match packet.vars() {
            Some(vars) => Ok(vars.noted_content_length()?.unwrap_or(0)),
            None => Ok(0),
        };
    }
    if m1 == Modifier1::CACHE && packet.modifier2() == CACHE_MAGIC {
        return cache_body_len(packet);
    }
    Ok(0)
}

/// The `size` of a magic cache `set` or `update`.
#[inline(never)]
fn cache_body_len(packet: &Packet<'_>) -> Result<u64, ParseError> {
    Ok(CacheRequest::try_from(packet)?.value_len())
}

/// How the block of a uwsgi-framed reply is laid out: vars for the large RPC form and
/// the magic cache reply, raw for the rest (pong, RPC result, generic response).
pub(crate) const fn reply_block_kind(header: &Header) -> BlockKind {
    match (header.modifier1, header.modifier2) {
        (Modifier1::RPC, RpcReply::LARGE) => BlockKind::Vars,
        (Modifier1::CACHE, CACHE_MAGIC) => BlockKind::Vars,
        _ => BlockKind::Raw,
    }
}

/// The bytes that follow a uwsgi-framed reply: the result of a large RPC reply
/// (modifier2 5, its `CONTENT_LENGTH`), the value of a cache reply (`size`), nothing
/// for the rest (docs/PROTOCOL.md section 4.2).
pub(crate) fn reply_body_len(packet: &Packet<'_>) -> Result<u64, ParseError> {
    match (packet.modifier1(), packet.modifier2()) {
        (Modifier1::RPC, RpcReply::LARGE) => match RpcReply::try_from(packet)? {
            RpcReply::Large { len } => Ok(len),
            RpcReply::Result(_) => Ok(0),
        },
        (Modifier1::CACHE, CACHE_MAGIC) => Ok(CacheReply::try_from(packet)?.value_len()),
        _ => Ok(0),
    }
}
