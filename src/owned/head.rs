//! An HTTP response head that owns its bytes (a shared `Bytes`), for the async codec.

use bytes::Bytes;

use crate::exchange::head::HeadFacts;
use crate::exchange::{BodyLength, ResponseHead};

/// A validated HTTP/1.x response head that owns its bytes: what the async codec yields
/// for the reply to a request (`codec::ReplyHead::Response`), split off its read buffer
/// without a copy. [`head`](OwnedResponseHead::head) gives the borrowed view.
///
/// ```
/// # fn main() -> Result<(), uwsgi_wire::io::StreamError> {
/// use bytes::BytesMut;
/// use tokio_util::codec::Decoder;
/// use uwsgi_wire::codec::{ClientCodec, Frame, ReplyHead};
/// use uwsgi_wire::exchange::{BodyLength, Reply};
///
/// // Captured from uWSGI 2.0.21: a response with no Content-Length.
/// let mut buf = BytesMut::from(&include_bytes!("../../tests/vectors/uwsgi-http-reply.bin")[..]);
/// let mut codec = ClientCodec::default();
/// codec.expect(Reply::Response { head_request: false });
/// let Some(Frame::Head(ReplyHead::Response(head))) = codec.decode(&mut buf)? else { unreachable!() };
/// assert_eq!(head.head().status(), 200);
/// assert_eq!(head.body(), BodyLength::ToEof);
/// assert_eq!(&head.as_bytes()[..], b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedResponseHead {
    /// The head's bytes, blank line included.
    pub(crate) wire: Bytes,
    pub(crate) body: BodyLength,
    pub(crate) facts: HeadFacts,
}

impl OwnedResponseHead {
    /// The borrowed view: status, reason, headers.
    ///
    /// ```
    /// # fn head(wire: &'static [u8]) -> uwsgi_wire::owned::OwnedResponseHead {
    /// #     use tokio_util::codec::Decoder;
    /// #     let mut codec = uwsgi_wire::codec::ClientCodec::default();
    /// #     codec.expect(uwsgi_wire::exchange::Reply::Response { head_request: false });
    /// #     let mut buf = bytes::BytesMut::from(wire);
    /// #     match codec.decode(&mut buf) {
    /// #         Ok(Some(uwsgi_wire::codec::Frame::Head(uwsgi_wire::codec::ReplyHead::Response(head)))) => head,
    /// #         other => panic!("{other:?}"),
    /// #     }
    /// # }
    /// let head = head(b"HTTP/1.0 404 Not Found\r\n\r\n");
    /// assert_eq!((head.head().status(), head.head().reason()), (404, &b"Not Found"[..]));
    /// ```
    pub fn head(&self) -> ResponseHead<'_> {
        // What the parse found when the head was decoded: no second parse.
        ResponseHead {
            bytes: &self.wire,
            facts: self.facts,
        }
    }

    /// How the body after this head is delimited.
    ///
    /// ```
    /// # fn head(wire: &'static [u8]) -> uwsgi_wire::owned::OwnedResponseHead {
    /// #     use tokio_util::codec::Decoder;
    /// #     let mut codec = uwsgi_wire::codec::ClientCodec::default();
    /// #     codec.expect(uwsgi_wire::exchange::Reply::Response { head_request: false });
    /// #     let mut buf = bytes::BytesMut::from(wire);
    /// #     match codec.decode(&mut buf) {
    /// #         Ok(Some(uwsgi_wire::codec::Frame::Head(uwsgi_wire::codec::ReplyHead::Response(head)))) => head,
    /// #         other => panic!("{other:?}"),
    /// #     }
    /// # }
    /// let head = head(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    /// assert_eq!(head.body(), uwsgi_wire::exchange::BodyLength::Exact(2));
    /// ```
    pub const fn body(&self) -> BodyLength {
        self.body
    }

    /// The head's wire bytes, blank line included.
    ///
    /// ```
    /// # fn head(wire: &'static [u8]) -> uwsgi_wire::owned::OwnedResponseHead {
    /// #     use tokio_util::codec::Decoder;
    /// #     let mut codec = uwsgi_wire::codec::ClientCodec::default();
    /// #     codec.expect(uwsgi_wire::exchange::Reply::Response { head_request: false });
    /// #     let mut buf = bytes::BytesMut::from(wire);
    /// #     match codec.decode(&mut buf) {
    /// #         Ok(Some(uwsgi_wire::codec::Frame::Head(uwsgi_wire::codec::ReplyHead::Response(head)))) => head,
    /// #         other => panic!("{other:?}"),
    /// #     }
    /// # }
    /// let head = head(b"HTTP/1.1 200 OK\r\n\r\nok");
    /// assert_eq!(&head.as_bytes()[..], b"HTTP/1.1 200 OK\r\n\r\n");
    /// ```
    pub const fn as_bytes(&self) -> &Bytes {
        &self.wire
    }
}
