//! The small conversions every layer of the crate uses: lengths between `usize` and
//! `u64` without `as`, and raw bytes in a readable `Debug` form.

/// `n` as a `u64`: lossless on every platform Rust supports, saturating otherwise.
pub(crate) fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// `n` as a `usize`, saturating (a body length on a 32-bit target).
#[cfg(feature = "std")]
pub(crate) fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Debug-formats raw bytes as a byte string literal (`b"GET\xff"`).
pub(crate) struct ByteStr<'a>(pub(crate) &'a [u8]);

impl core::fmt::Debug for ByteStr<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}
