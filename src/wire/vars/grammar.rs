//! The vars block's grammar, checked in one walk: every pair is a non-empty key and a
//! value, each behind its `u16le` length, and nothing is left over.

use super::index::VarsIndex;
use super::view::{Seen, Var, Vars};
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

    /// [`parse`](Vars::parse) and [`index`](Vars::index) in one pass: validates `block`
    /// and, in the same walk, stores every pair in `slots`, the way httparse fills its
    /// caller-provided headers; the stores are off the parse's critical path, so the
    /// index costs no measurable parse time (BENCHMARKS.md). The pair limit is the
    /// smaller of `max_vars` and `slots.len()`: more pairs than that is
    /// [`ParseErrorKind::TooManyVars`] at the first pair that does not fit. Offsets count
    /// from the first byte of `block`. Nothing is allocated.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, ParseErrorKind, Vars};
    ///
    /// let block = b"\x0e\x00REQUEST_METHOD\x03\x00GET\x09\x00PATH_INFO\x01\x00/";
    /// let mut slots = [Default::default(); 64];
    /// let index = Vars::parse_indexed(block, &Limits::new(), &mut slots)?;
    /// assert_eq!(index.get(b"PATH_INFO"), Some(&b"/"[..]));
    ///
    /// let mut one = [Default::default(); 1];
    /// let err = Vars::parse_indexed(block, &Limits::new(), &mut one).unwrap_err();
    /// assert_eq!((err.kind(), err.offset()), (ParseErrorKind::TooManyVars { limit: 1 }, 21));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    #[inline]
    pub fn parse_indexed<'s>(
        block: &'a [u8],
        limits: &Limits,
        slots: &'s mut [Var<'a>],
    ) -> Result<VarsIndex<'a, 's>, ParseError> {
        // The slots the limit allows, so that the pair limit is their number: the store
        // below then needs no bounds check of its own (the limit check just made it).
        let max_vars = limits.max_vars.min(slots.len());
        let slots: &'s mut [Var<'a>] = match slots.get_mut(..max_vars) {
            Some(allowed) => allowed,
            // Not reached: `max_vars` is at most `slots.len()`.
            None => &mut [],
        };
        let mut content_length = Seen::Absent;
        let len = validate_each(block, slots.len(), |i, pair| {
            content_length.note(pair.0, pair.1);
            if let Some(slot) = slots.get_mut(i) {
                *slot = pair;
            }
        })?;
        let slots: &'s [Var<'a>] = slots;
        let vars = Vars {
            block,
            len,
            base: 0,
            content_length,
        };
        Ok(VarsIndex::new(vars, slots.get(..len).unwrap_or(slots)))
    }

    /// Parses a block that starts `base` bytes into the caller's buffer.
    #[inline]
    pub(crate) fn parse_at(
        block: &'a [u8],
        base: usize,
        limits: &Limits,
    ) -> Result<Self, ParseError> {
        let mut content_length = Seen::Absent;
        match validate_each(block, limits.max_vars, |_, (key, value)| {
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

/// Walks the block once, checking every length, and hands each pair and its index to
/// `each` as it is checked (the `CONTENT_LENGTH` scan, and the indexed parse's slots);
/// returns the number of pairs.
#[inline(always)]
fn validate_each<'a>(
    block: &'a [u8],
    max_vars: usize,
    mut each: impl FnMut(usize, Var<'a>),
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
        each(count, (key, value));
        rest = after_value;
        count += 1;
    }
    Ok(count)
}
