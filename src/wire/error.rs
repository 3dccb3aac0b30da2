//! The wire core's errors: [`ParseError`] for parsing, [`EncodeError`] for encoding.
//!
//! Neither carries an I/O error and neither means "need more bytes": short input is
//! [`Status::Partial`](crate::Status::Partial), never an error.

use core::fmt;

/// Why a parse failed, and where.
///
/// The [`offset`](ParseError::offset) counts bytes from the start of the buffer handed to the
/// function that failed: for [`Packet::parse`](crate::Packet::parse) that is the first
/// header byte, for [`Vars::parse`](crate::Vars::parse) the first byte of the block.
///
/// ```
/// use uwsgi_wire::{Limits, ParseErrorKind, Vars};
///
/// // A key length of 0 at the very start of the block.
/// let err = Vars::parse(b"\x00\x00\x01\x00x", &Limits::new()).unwrap_err();
/// assert_eq!(err.kind(), ParseErrorKind::EmptyKey);
/// assert_eq!(err.offset(), 0);
/// assert_eq!(err.to_string(), "zero-length key at byte 0");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{kind} at byte {offset}")]
pub struct ParseError {
    kind: ParseErrorKind,
    offset: usize,
}

impl ParseError {
    /// An error of `kind` at byte `offset`.
    ///
    /// ```
    /// use uwsgi_wire::{ParseError, ParseErrorKind};
    /// let err = ParseError::new(ParseErrorKind::TrailingBytes { count: 1 }, 9);
    /// assert_eq!(err.offset(), 9);
    /// ```
    pub const fn new(kind: ParseErrorKind, offset: usize) -> Self {
        ParseError { kind, offset }
    }

    /// What is wrong.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, ParseErrorKind, Vars};
    /// let err = Vars::parse(b"\x05\x00ab", &Limits::new()).unwrap_err();
    /// assert_eq!(err.kind(), ParseErrorKind::KeyPastEnd { len: 5 });
    /// ```
    pub const fn kind(&self) -> ParseErrorKind {
        self.kind
    }

    /// The byte offset of the first byte that is wrong (a length prefix, a header field).
    ///
    /// ```
    /// use uwsgi_wire::{Limits, Vars};
    /// // One good pair (7 bytes), then a stray byte at offset 7.
    /// let err = Vars::parse(b"\x01\x00k\x02\x00v1\xff", &Limits::new()).unwrap_err();
    /// assert_eq!(err.offset(), 7);
    /// ```
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// The same error with `base` added to its offset: turns a block-relative offset into
    /// a packet-relative one.
    pub(crate) const fn shifted(self, base: usize) -> Self {
        ParseError {
            kind: self.kind,
            offset: self.offset.saturating_add(base),
        }
    }
}

/// The precise reason a parse failed. New reasons may be added in minor releases.
///
/// ```
/// use uwsgi_wire::ParseErrorKind;
/// let kind = ParseErrorKind::DatasizeOverLimit { datasize: 5000, limit: 4096 };
/// assert_eq!(kind.to_string(), "datasize 5000 is over the limit of 4096");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The header's datasize is larger than [`Limits::max_datasize`](crate::Limits).
    /// Reported at offset 1, where the datasize field starts, as soon as the header has
    /// arrived.
    DatasizeOverLimit {
        /// The datasize the header announced.
        datasize: u16,
        /// The configured limit.
        limit: u16,
    },
    /// A vars key with length 0 (uWSGI: "key cannot be null"). Offset of its length prefix.
    EmptyKey,
    /// A key length that runs past the end of the block. Offset of the length prefix.
    KeyPastEnd {
        /// The key length read from the prefix.
        len: u16,
    },
    /// The block ends after a key, where the 2-byte value length should be (0 or 1 byte
    /// left). Offset where the value length should start.
    MissingValueLength,
    /// A value length that runs past the end of the block. Offset of the length prefix.
    ValuePastEnd {
        /// The value length read from the prefix.
        len: u16,
    },
    /// An array item length that runs past the end of the block. Offset of the prefix.
    ItemPastEnd {
        /// The item length read from the prefix.
        len: u16,
    },
    /// 1 or 2 bytes left at the end of a vars block, or 1 byte at the end of an array:
    /// too short to hold another entry. Offset of the first stray byte.
    TrailingBytes {
        /// How many bytes are left over.
        count: u8,
    },
    /// More pairs than [`Limits::max_vars`](crate::Limits). Offset of the first pair
    /// over the limit.
    TooManyVars {
        /// The configured limit.
        limit: usize,
    },
    /// More items than [`Limits::max_items`](crate::Limits). Offset of the first item
    /// over the limit.
    TooManyItems {
        /// The configured limit.
        limit: usize,
    },
    /// A `CONTENT_LENGTH` value that is not a plain decimal number (only ASCII digits: no
    /// sign, no space, no other character) or does not fit in a `u64`. Offset of the value.
    InvalidContentLength,
    /// A second `CONTENT_LENGTH` whose value differs from the first (a request smuggling
    /// vector). Offset of the second value.
    ConflictingContentLength,
    /// The packet's modifier1/modifier2 are not those of the message type asked for.
    /// Offset 0 when modifier1 (or the block's layout) is wrong, 3 when only modifier2 is.
    UnexpectedPacket {
        /// The packet's modifier1.
        modifier1: u8,
        /// The packet's modifier2.
        modifier2: u8,
    },
    /// A message that carries no payload (a ping, a signal) came with one. Offset of the
    /// first payload byte.
    UnexpectedPayload,
    /// A var the message type requires is absent. Offset of the end of the block.
    MissingVar {
        /// The key that is missing.
        key: &'static str,
    },
    /// A var's value is not what the message type allows (not a number, an unknown
    /// command). Offset of the value.
    InvalidVar {
        /// The key whose value is wrong.
        key: &'static str,
    },
    /// An RPC call with no function name (an empty array). Offset of the block.
    MissingRpcFunction,
    /// An RPC call with more than 254 arguments. Offset of the first extra argument.
    TooManyRpcArgs,
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ParseErrorKind::DatasizeOverLimit { datasize, limit } => {
                write!(f, "datasize {datasize} is over the limit of {limit}")
            }
            ParseErrorKind::EmptyKey => f.write_str("zero-length key"),
            ParseErrorKind::KeyPastEnd { len } => {
                write!(f, "key length {len} runs past the end of the block")
            }
            ParseErrorKind::MissingValueLength => {
                f.write_str("block ends where a value length should be")
            }
            ParseErrorKind::ValuePastEnd { len } => {
                write!(f, "value length {len} runs past the end of the block")
            }
            ParseErrorKind::ItemPastEnd { len } => {
                write!(f, "array item length {len} runs past the end of the block")
            }
            ParseErrorKind::TrailingBytes { count } => {
                write!(f, "{count} stray byte(s) at the end of the block")
            }
            ParseErrorKind::TooManyVars { limit } => write!(f, "more than {limit} vars"),
            ParseErrorKind::TooManyItems { limit } => write!(f, "more than {limit} array items"),
            ParseErrorKind::InvalidContentLength => f.write_str("invalid CONTENT_LENGTH value"),
            ParseErrorKind::ConflictingContentLength => {
                f.write_str("CONTENT_LENGTH differs from an earlier CONTENT_LENGTH")
            }
            ParseErrorKind::UnexpectedPacket {
                modifier1,
                modifier2,
            } => write!(
                f,
                "unexpected packet type (modifier1 {modifier1}, modifier2 {modifier2})"
            ),
            ParseErrorKind::UnexpectedPayload => f.write_str("unexpected payload"),
            ParseErrorKind::MissingVar { key } => write!(f, "missing var {key}"),
            ParseErrorKind::InvalidVar { key } => write!(f, "invalid value for var {key}"),
            ParseErrorKind::MissingRpcFunction => f.write_str("RPC call without a function name"),
            ParseErrorKind::TooManyRpcArgs => f.write_str("RPC call with more than 254 arguments"),
        }
    }
}

/// Why an encode failed. Nothing is written when encoding fails.
///
/// ```
/// use uwsgi_wire::{encode_vars, EncodeError};
///
/// let mut buf = [0u8; 4];
/// let err = encode_vars([("KEY", "value")], &mut buf).unwrap_err();
/// assert_eq!(err, EncodeError::BufferTooSmall { needed: 12, available: 4 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A key longer than 65535 bytes, at pair `index` (0-based).
    #[error("key of pair {index} is {len} bytes, over 65535")]
    KeyTooLong {
        /// Index of the pair.
        index: usize,
        /// Length of the key.
        len: usize,
    },
    /// A value longer than 65535 bytes, at pair `index`.
    #[error("value of pair {index} is {len} bytes, over 65535")]
    ValueTooLong {
        /// Index of the pair.
        index: usize,
        /// Length of the value.
        len: usize,
    },
    /// An empty key, at pair `index`: no peer accepts it, so it is never encoded.
    #[error("key of pair {index} is empty")]
    EmptyKey {
        /// Index of the pair.
        index: usize,
    },
    /// An array item longer than 65535 bytes, at `index`.
    #[error("array item {index} is {len} bytes, over 65535")]
    ItemTooLong {
        /// Index of the item.
        index: usize,
        /// Length of the item.
        len: usize,
    },
    /// The encoded block would be longer than the limit (65535, or the configured
    /// [`Limits::max_datasize`](crate::Limits)).
    #[error("block of {len} bytes is over the limit of {limit}")]
    BlockTooLarge {
        /// Length the block would have (saturating).
        len: usize,
        /// The limit.
        limit: u16,
    },
    /// More pairs or items than the configured limit.
    #[error("more than {limit} entries")]
    TooManyEntries {
        /// The limit.
        limit: usize,
    },
    /// The output buffer has room for `available` bytes; the encoding needs `needed`.
    #[error("output needs {needed} bytes, only {available} available")]
    BufferTooSmall {
        /// Exact encoded length.
        needed: usize,
        /// Room in the buffer.
        available: usize,
    },
}
