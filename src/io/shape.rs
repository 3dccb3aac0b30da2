//! What a decoded head looked like, without borrowing the buffer it was decoded from:
//! the adapters keep reading, or split the bytes off, then rebuild the view over the
//! same bytes in O(1), without parsing them again.

use crate::exchange::head::HeadFacts;
use crate::exchange::{Head, ResponseHead};
use crate::owned::packet::Layout;
use crate::wire::header::{Header, HEADER_LEN};
use crate::wire::packet::Packet;
use crate::wire::status::Status;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Shape {
    Packet(Layout),
    Response(HeadFacts),
    Raw,
}

impl Shape {
    pub(crate) fn of(head: &Head<'_>) -> Self {
        match head {
            Head::Packet(packet) => Shape::Packet(Layout::of(&packet.payload())),
            Head::Response(head) => Shape::Response(head.facts),
            Head::Raw => Shape::Raw,
        }
    }

    /// The head again, over `wire`: exactly the bytes the exchange consumed for it.
    pub(crate) fn head(self, wire: &[u8]) -> Head<'_> {
        match self {
            Shape::Packet(layout) => match Header::parse(wire) {
                Status::Complete(header) => {
                    let block = wire.get(HEADER_LEN..).unwrap_or_default();
                    Head::Packet(Packet::from_parts(
                        header.modifier1,
                        header.modifier2,
                        layout.payload(block),
                    ))
                }
                // `wire` holds the whole packet; this arm only keeps the code panic-free.
                Status::Partial { .. } => Head::Raw,
            },
            Shape::Response(facts) => Head::Response(ResponseHead { bytes: wire, facts }),
            Shape::Raw => Head::Raw,
        }
    }
}
