//! The one error type of the stream adapters ([`io`](crate::io) and `codec`).

use std::io;

use crate::exchange::ExchangeError;
use crate::wire::error::EncodeError;

/// Why reading or writing a stream failed, in the blocking adapter [`io`](crate::io) and
/// the tokio codec alike.
///
/// "Need more bytes" is never an error: the adapters wait for them. A peer that closes
/// in the middle of an exchange is an [`Exchange`](StreamError::Exchange) error whose
/// [`is_eof`](ExchangeError::is_eof) is true.
///
/// ```
/// use uwsgi_wire::io::ServerReader;
/// use uwsgi_wire::{ParseErrorKind, Limits, io::StreamError};
/// use uwsgi_wire::exchange::ExchangeErrorKind;
///
/// // A header announcing a 5000-byte block, against a 4096-byte limit.
/// let wire = [0x00, 0x88, 0x13, 0x00];
/// let mut reader = ServerReader::new(&wire[..], Limits::new().max_datasize(4096));
/// let err = reader.read_packet().unwrap_err();
/// assert!(matches!(
///     &err,
///     StreamError::Exchange(e) if matches!(e.kind(), ExchangeErrorKind::Packet(p)
///         if p.kind() == ParseErrorKind::DatasizeOverLimit { datasize: 5000, limit: 4096 })
/// ));
/// assert_eq!(err.status_code(), Some(431));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// The stream itself failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The bytes do not frame: a malformed or oversize packet, response head or body, or
    /// a peer that closed in the middle of an exchange.
    #[error(transparent)]
    Exchange(#[from] ExchangeError),
    /// A packet given to an encoder cannot be encoded.
    #[error("cannot encode: {0}")]
    Encode(#[from] EncodeError),
    /// The body given to an encoder does not match the length its head announced: more
    /// body bytes than announced, or a new head or end before all of them. Nothing of
    /// the offending part is written.
    #[error("body of {sent} bytes does not match the announced length of {announced}")]
    BodyLength {
        /// The length the head announced.
        announced: u64,
        /// The body bytes sent (counting the rejected part).
        sent: u64,
    },
    /// The caller's buffer is too small for the packet
    /// ([`io::read_packet`](crate::io::read_packet)).
    #[error("packet of {needed} bytes does not fit a buffer of {available}")]
    BufferTooSmall {
        /// Header and block length.
        needed: usize,
        /// The buffer's length.
        available: usize,
    },
}

impl StreamError {
    /// The HTTP status to answer with, or `None` when nothing can be answered: the
    /// mapping of [`ExchangeError::status_code`] (431, 413, 400 for requests; 502 for
    /// replies), 431 for a packet larger than the caller's buffer, `None` for I/O and
    /// local (encoder) errors.
    ///
    /// ```
    /// use uwsgi_wire::io::StreamError;
    /// let err = StreamError::BufferTooSmall { needed: 70000, available: 4096 };
    /// assert_eq!(err.status_code(), Some(431));
    /// ```
    pub fn status_code(&self) -> Option<u16> {
        match self {
            StreamError::Exchange(err) => err.status_code(),
            StreamError::BufferTooSmall { .. } => Some(431),
            StreamError::Io(_) | StreamError::Encode(_) | StreamError::BodyLength { .. } => None,
        }
    }

    /// True when the peer closed the stream in the middle of an exchange (also an I/O
    /// error of kind [`io::ErrorKind::UnexpectedEof`], as a request [`Body`]'s reads
    /// report it).
    ///
    /// [`Body`]: crate::io::Body
    ///
    /// ```
    /// use uwsgi_wire::{io::ServerReader, Limits};
    /// let mut reader = ServerReader::new(&[0x00, 0x05][..], Limits::new()); // 2 of 4 header bytes
    /// assert!(reader.read_packet().unwrap_err().is_eof());
    /// ```
    pub fn is_eof(&self) -> bool {
        match self {
            StreamError::Exchange(err) => err.is_eof(),
            StreamError::Io(err) => err.kind() == io::ErrorKind::UnexpectedEof,
            _ => false,
        }
    }
}

/// An [`io::Error`] for a framing error met inside a `Read` (a request body): kind
/// [`io::ErrorKind::UnexpectedEof`] when the peer closed early, else
/// [`io::ErrorKind::InvalidData`]; the [`ExchangeError`] is its inner error.
impl From<ExchangeError> for io::Error {
    fn from(err: ExchangeError) -> Self {
        let kind = if err.is_eof() {
            io::ErrorKind::UnexpectedEof
        } else {
            io::ErrorKind::InvalidData
        };
        io::Error::new(kind, err)
    }
}
