//! What follows a packet on the stream, by its kind and direction: the one place the
//! body rules of docs/PROTOCOL.md section 4 are written.

use crate::message::{CacheReply, CacheRequest, RpcReply, CACHE_MAGIC};
use crate::wire::error::ParseError;
use crate::wire::header::{BlockKind, Header, Modifier1};
use crate::wire::packet::Packet;

/// The bytes that follow a packet a server receives: the strict `CONTENT_LENGTH` for
/// request types (absent or empty is 0), `size` for a magic cache `set` or `update`
/// (docs/PROTOCOL.md section 4.1), nothing for every other kind.
///
/// Always inlined, with the cache rule out of line: a server asks on every request, and
/// the call took the 64-byte packet by reference, so through memory (BENCHMARKS.md,
/// target 1).
#[inline(always)]
pub(crate) fn request_body_len(packet: &Packet<'_>) -> Result<u64, ParseError> {
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
