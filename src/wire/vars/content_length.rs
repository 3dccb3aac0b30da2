//! The `CONTENT_LENGTH` rule: what the validating pass saw of it, and the strict parse
//! of its value.

use super::view::{Seen, Vars};
use crate::wire::error::{ParseError, ParseErrorKind};

impl<'a> Seen<'a> {
    /// Notes one pair. The length test first keeps this off the parse's critical path.
    #[inline(always)]
    pub(super) fn note(&mut self, key: &[u8], value: &'a [u8]) {
        if key.len() == 14 && key == b"CONTENT_LENGTH" {
            *self = match *self {
                Seen::Absent => Seen::Once(value),
                _ => Seen::Several,
            };
        }
    }
}

impl<'a> Vars<'a> {
    /// The request body length announced by `CONTENT_LENGTH`, checked strictly.
    ///
    /// - `Ok(None)`: no `CONTENT_LENGTH`, or an empty one (nginx sends `""` for a
    ///   request without a body): no body follows.
    /// - `Ok(Some(n))`: the value is 1 or more ASCII digits (leading zeros allowed, as
    ///   in HTTP) that fit in a `u64`.
    /// - [`ParseErrorKind::InvalidContentLength`]: anything else (a sign, a space, a letter,
    ///   overflow), where uWSGI would silently use the leading digits.
    /// - [`ParseErrorKind::ConflictingContentLength`]: a later `CONTENT_LENGTH` whose number
    ///   differs from an earlier one (an empty one counts as 0).
    ///
    /// ```
    /// use uwsgi_wire::{Limits, ParseErrorKind, Vars};
    /// let vars = Vars::parse(b"\x0e\x00CONTENT_LENGTH\x02\x0042", &Limits::new())?;
    /// assert_eq!(vars.content_length(), Ok(Some(42)));
    ///
    /// let smuggle = Vars::parse(b"\x0e\x00CONTENT_LENGTH\x01\x005\x0e\x00CONTENT_LENGTH\x01\x006", &Limits::new())?;
    /// let err = smuggle.content_length().unwrap_err();
    /// assert_eq!(err.kind(), ParseErrorKind::ConflictingContentLength);
    /// assert_eq!(err.offset(), 37);
    ///
    /// let signed = Vars::parse(b"\x0e\x00CONTENT_LENGTH\x02\x00+5", &Limits::new())?;
    /// assert_eq!(signed.content_length().unwrap_err().kind(), ParseErrorKind::InvalidContentLength);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    #[inline]
    pub fn content_length(&self) -> Result<Option<u64>, ParseError> {
        self.noted_content_length()
    }

    /// [`content_length`](Vars::content_length), always inlined: the exchange core asks on
    /// every request, and in the codec's decode LLVM left the `#[inline]` one out of line,
    /// the view passed through memory (BENCHMARKS.md, target 1).
    #[inline(always)]
    pub(crate) fn noted_content_length(&self) -> Result<Option<u64>, ParseError> {
        // What validation saw answers the common cases here, inlined: a server asks on
        // every request (the codec's decode, BENCHMARKS.md).
        match self.content_length {
            Seen::Absent => Ok(None),
            Seen::Once(value) => parse_content_length(value).ok_or_else(|| {
                ParseError::new(ParseErrorKind::InvalidContentLength, self.offset_of(value))
            }),
            Seen::Unknown | Seen::Several => self.content_length_walk(),
        }
    }

    /// [`content_length`](Vars::content_length) by walking every `CONTENT_LENGTH`: a
    /// view built without validating, or one with several.
    fn content_length_walk(&self) -> Result<Option<u64>, ParseError> {
        let mut found: Option<Option<u64>> = None;
        for value in self.get_all(b"CONTENT_LENGTH") {
            let at = self.offset_of(value);
            let parsed = parse_content_length(value)
                .ok_or(ParseError::new(ParseErrorKind::InvalidContentLength, at))?;
            match found {
                Some(earlier) if earlier.unwrap_or(0) != parsed.unwrap_or(0) => {
                    return Err(ParseError::new(
                        ParseErrorKind::ConflictingContentLength,
                        at,
                    ));
                }
                Some(Some(_)) => {}
                _ => found = Some(parsed),
            }
        }
        Ok(found.flatten())
    }
}

/// Parses a `CONTENT_LENGTH` value: empty is `Some(None)`, digits are `Some(Some(n))`,
/// anything else `None`.
#[inline]
fn parse_content_length(value: &[u8]) -> Option<Option<u64>> {
    if value.is_empty() {
        return Some(None);
    }
    parse_decimal(value).map(Some)
}

/// 1 or more ASCII digits that fit a `u64`; no sign, space or anything else.
pub(crate) fn parse_decimal(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}
