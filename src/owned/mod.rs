//! Owned packets and vars that share one reference-counted buffer (`alloc`).
//!
//! [`OwnedPacket`] and [`OwnedVars`] hold a [`Bytes`](bytes::Bytes) and the counts found
//! when the block was validated, so getting the borrowed [`Packet`](crate::Packet) or
//! [`Vars`](crate::Vars) view back is O(1) and never re-validates. Keys and values handed
//! out as `Bytes` are [`Bytes::slice_ref`](bytes::Bytes::slice_ref)s of the same buffer:
//! nothing is copied. The async codec ([`codec`](crate::codec), feature `tokio`) decodes
//! into these types straight from its read buffer. An owned view accepts exactly what
//! its borrowed view accepts; what follows a packet on the stream is the exchange's rule
//! ([`exchange::request_body_len`](crate::exchange::request_body_len)), the same for both.

#[cfg(feature = "tokio")]
mod head;
pub(crate) mod packet;
mod vars;

#[cfg(feature = "tokio")]
pub use head::OwnedResponseHead;
pub use packet::OwnedPacket;
#[cfg(feature = "http")]
pub(crate) use vars::socket_addr;
pub use vars::OwnedVars;
