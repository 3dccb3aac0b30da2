//! Helpers for the vars of typed messages: required and numeric fields, and decimal
//! formatting without an allocator.

use crate::wire::error::{ParseError, ParseErrorKind};
use crate::wire::vars::{parse_decimal, Vars};

/// The error for a var the message type requires: at the end of the block.
pub(crate) fn missing(vars: &Vars<'_>, key: &'static str) -> ParseError {
    ParseError::new(ParseErrorKind::MissingVar { key }, vars.end_offset())
}

/// A var the message type requires (the last one, if it repeats).
pub(crate) fn required<'a>(vars: &Vars<'a>, key: &'static str) -> Result<&'a [u8], ParseError> {
    vars.get(key.as_bytes()).ok_or_else(|| missing(vars, key))
}

/// A decimal var that may repeat (uWSGI's client sends `size` twice): every occurrence
/// must be the same number. `None` when absent.
pub(crate) fn number(vars: &Vars<'_>, key: &'static str) -> Result<Option<u64>, ParseError> {
    let mut found = None;
    for value in vars.get_all(key.as_bytes()) {
        let invalid = || ParseError::new(ParseErrorKind::InvalidVar { key }, vars.offset_of(value));
        let n = parse_decimal(value).ok_or_else(invalid)?;
        if found.is_some_and(|earlier| earlier != n) {
            return Err(invalid());
        }
        found = Some(n);
    }
    Ok(found)
}

/// Formats a `u64` in decimal without allocating.
pub(crate) struct Digits([u8; 20]);

impl Digits {
    pub(crate) const fn new() -> Self {
        Digits([0; 20])
    }

    pub(crate) fn format(&mut self, mut n: u64) -> &[u8] {
        let mut at = self.0.len();
        loop {
            at -= 1;
            self.0[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                return &self.0[at..];
            }
        }
    }
}
