//! The vars block's grammar, checked in one walk: every pair is a non-empty key and a
//! value, each behind its `u16le` length, and nothing is left over.

use super::content_length::Seen;
use super::view::{Var, Vars};
use crate::wire::error::{ParseError, ParseErrorKind};
use crate::wire::field::{bytes, length};
use crate::wire::limits::Limits;

impl<'a> Vars<'a> {
    /// Parses and validates a whole vars block with the given limits (`max_vars`;
    /// [`Limits::new`] for the defaults, which accept every block a real peer sends).
    ///
    /// ParseError offsets count from the first byte of `block`.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, ParseErrorKind, Vars};
    /// let err = Vars::parse(b"\x01\x00k\x09\x00short", &Limits::new()).unwrap_err();
    /// assert_eq!(err.kind(), ParseErrorKind::ValuePastEnd { len: 9 });
    /// assert_eq!(err.offset(), 3);
    ///
    /// let block = b"\x01\x00a\x00\x00\x01\x00b\x00\x00";
    /// let err = Vars::parse(block, &Limits::new().max_vars(1)).unwrap_err();
    /// assert_eq!(err.kind(), ParseErrorKind::TooManyVars { limit: 1 });
    /// assert_eq!(err.offset(), 5);
    /// ```
    pub fn parse(block: &'a [u8], limits: &Limits) -> Result<Self, ParseError> {
        Self::parse_at(block, 0, limits)
    }

    /// Parses a block that starts `base` bytes into the caller's buffer.
    #[inline]
    pub(crate) fn parse_at(
        block: &'a [u8],
        base: usize,
        limits: &Limits,
    ) -> Result<Self, ParseError> {
        let mut content_length = Seen::Absent;
        match validate_each(block, limits.max_vars, |(key, value)| {
            content_length.note(key, value)
        }) {
            Ok(len) => Ok(Vars {
                block,
                len,
                base,
                content_length,
            }),
            Err(err) => Err(err.shifted(base)),
        }
    }
}

/// Walks the block once, checking every length, and hands each pair to `each` as it is
/// checked (the `CONTENT_LENGTH` scan); returns the number of pairs.
#[inline(always)]
fn validate_each<'a>(
    block: &'a [u8],
    max_vars: usize,
    mut each: impl FnMut(Var<'a>),
) -> Result<usize, ParseError> {
    let mut rest = block;
    let mut count = 0usize;
    while !rest.is_empty() {
        let at = block.len() - rest.len();
        // uWSGI needs 3 bytes to start a pair (`ptrbuf + 2 < bufferend`): 1 or 2 left
        // over can only be stray bytes, even when they would read as a key length.
        if rest.len() <= 2 {
            return Err(ParseError::new(
                ParseErrorKind::TrailingBytes {
                    count: rest.len() as u8,
                },
                at,
            ));
        }
        // `>=` is `==` here: `count` grows by one from 0.
        if count >= max_vars {
            return Err(ParseError::new(
                ParseErrorKind::TooManyVars { limit: max_vars },
                at,
            ));
        }
        let (after_klen, klen) = length(rest).ok_or(ParseError::new(
            ParseErrorKind::TrailingBytes { count: 2 },
            at,
        ))?;
        if klen == 0 {
            return Err(ParseError::new(ParseErrorKind::EmptyKey, at));
        }
        let (after_key, key) = bytes(after_klen, klen).ok_or(ParseError::new(
            ParseErrorKind::KeyPastEnd { len: klen },
            at,
        ))?;
        let vat = at + 2 + usize::from(klen);
        let (after_vlen, vlen) =
            length(after_key).ok_or(ParseError::new(ParseErrorKind::MissingValueLength, vat))?;
        let (after_value, value) = bytes(after_vlen, vlen).ok_or(ParseError::new(
            ParseErrorKind::ValuePastEnd { len: vlen },
            vat,
        ))?;
        each((key, value));
        rest = after_value;
        count += 1;
    }
    Ok(count)
}
