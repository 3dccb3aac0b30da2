//! The length-prefixed field both block layouts are made of: `u16le len | bytes`.

// Why `length` and `bytes` are not nom's `le_u16` and `take` (they were, issue 7):
// in nom 8.0.0 every byte-consuming parser on `&[u8]` (`le_u16`, `take`, `length_data`)
// returns its remainder through `<&[u8] as nom::Input>::take_from`, which is not
// `#[inline]`. Without LTO that is an out-of-line call per field (4 per pair, the slice
// spilled to the stack around each): `Packet::parse` of the 16-var nginx GET ran 1431
// instructions against 449 for the same checks written by hand, 2.3-2.7x the time
// (callgrind and same-run ratios, see BENCHMARKS.md). With fat LTO, or through an input
// newtype whose `nom::Input` methods are `#[inline]`, the call goes but 1.4x the
// instructions and 1.2-1.5x the time stay (`Take` computes `Needed` with a select and
// keeps its panicking slice, on the path from one length to the next). The grammar is
// two lines, so it is written by hand; `benches/parse.rs` keeps both nom forms as
// baselines (`validate/nom_*`) to re-check this against newer nom releases.

/// A `u16le` length prefix and what follows it; `None` when fewer than 2 bytes are left.
/// The block has fully arrived: short is malformed, not "partial".
#[inline]
pub(crate) fn length(input: &[u8]) -> Option<(&[u8], u16)> {
    let (len, rest) = input.split_first_chunk::<2>()?;
    Some((rest, u16::from_le_bytes(*len)))
}

/// What follows `len` bytes, and those bytes; `None` when fewer are left.
#[inline]
pub(crate) fn bytes(input: &[u8], len: u16) -> Option<(&[u8], &[u8])> {
    let (field, rest) = input.split_at_checked(usize::from(len))?;
    Some((rest, field))
}

/// Splits one length-prefixed field off an already validated block. `#[inline]` because
/// [`VarsIter::next`](crate::VarsIter) and [`ArrayIter::next`](crate::ArrayIter) are
/// inlined into the caller's crate and would otherwise call this out of line twice per
/// pair.
#[inline]
pub(crate) fn split_field(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (rest, len) = length(input)?;
    let (rest, field) = bytes(rest, len)?;
    Some((field, rest))
}
