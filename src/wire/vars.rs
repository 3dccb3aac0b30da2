//! The vars block ("dictionary"): `u16le klen | key | u16le vlen | value`, repeated.

use core::fmt;
use core::iter::FusedIterator;

use crate::wire::error::{ParseError, ParseErrorKind};
use crate::wire::limits::Limits;

/// A validated, borrowed vars block.
///
/// Built by [`Vars::parse`] (or as part of a [`Packet`](crate::Packet)), which checks the
/// whole block once, so iterating and looking up can never fail. Keys and values are raw
/// bytes in wire order; duplicates are kept. Nothing is copied and nothing allocated.
///
/// ```
/// use uwsgi_wire::Vars;
///
/// // Two pairs: REQUEST_METHOD=GET, then an empty CONTENT_TYPE (nginx sends that).
/// let block = b"\x0e\x00REQUEST_METHOD\x03\x00GET\x0c\x00CONTENT_TYPE\x00\x00";
/// let vars = Vars::parse(block)?;
/// assert_eq!(vars.len(), 2);
/// assert_eq!(vars.get(b"REQUEST_METHOD"), Some(&b"GET"[..]));
/// assert_eq!(vars.get(b"CONTENT_TYPE"), Some(&b""[..]));
/// let keys: Vec<&[u8]> = vars.iter().map(|(k, _)| k).collect();
/// assert_eq!(keys, [&b"REQUEST_METHOD"[..], b"CONTENT_TYPE"]);
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Clone, Copy)]
pub struct Vars<'a> {
    block: &'a [u8],
    len: usize,
    /// Where the block starts in the buffer the caller parsed, for error offsets.
    base: usize,
    /// What validation saw of `CONTENT_LENGTH`: a server asks for it on every request,
    /// and without this a second walk of the block doubled the cost (BENCHMARKS.md).
    content_length: Seen<'a>,
}

/// The `CONTENT_LENGTH` values the validating pass saw.
#[derive(Debug, Clone, Copy)]
enum Seen<'a> {
    /// Not recorded (a view built without validating): walk the block.
    Unknown,
    /// No `CONTENT_LENGTH`.
    Absent,
    /// Exactly one, with this value.
    Once(&'a [u8]),
    /// More than one: walk them, to check they agree.
    Several,
}

impl<'a> Seen<'a> {
    /// Notes one pair. The length test first keeps this off the parse's critical path.
    #[inline(always)]
    fn note(&mut self, key: &[u8], value: &'a [u8]) {
        if key.len() == 14 && key == b"CONTENT_LENGTH" {
            *self = match *self {
                Seen::Absent => Seen::Once(value),
                _ => Seen::Several,
            };
        }
    }
}

impl<'a> Vars<'a> {
    /// Parses and validates a whole vars block with the default [`Limits`].
    ///
    /// ParseError offsets count from the first byte of `block`.
    ///
    /// ```
    /// use uwsgi_wire::{ParseErrorKind, Vars};
    /// let err = Vars::parse(b"\x01\x00k\x09\x00short").unwrap_err();
    /// assert_eq!(err.kind(), ParseErrorKind::ValuePastEnd { len: 9 });
    /// assert_eq!(err.offset(), 3);
    /// ```
    pub fn parse(block: &'a [u8]) -> Result<Self, ParseError> {
        Self::parse_with(block, &Limits::new())
    }

    /// Parses and validates a whole vars block with the given limits (`max_vars`).
    ///
    /// ```
    /// use uwsgi_wire::{ParseErrorKind, Limits, Vars};
    /// let block = b"\x01\x00a\x00\x00\x01\x00b\x00\x00";
    /// let err = Vars::parse_with(block, &Limits::new().max_vars(1)).unwrap_err();
    /// assert_eq!(err.kind(), ParseErrorKind::TooManyVars { limit: 1 });
    /// assert_eq!(err.offset(), 5);
    /// ```
    pub fn parse_with(block: &'a [u8], limits: &Limits) -> Result<Self, ParseError> {
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

    /// Parses and validates a whole vars block like [`parse`](Vars::parse) and, in the
    /// same pass, stores every pair in `slots`, the way httparse fills its caller-provided
    /// headers. Lookups through the returned [`VarsIndex`] scan the slots instead of
    /// walking the block's length chain again: 5-22x cheaper on the nginx captures, for
    /// no measurable extra parse time (the stores are off the parse's critical path;
    /// BENCHMARKS.md).
    ///
    /// More pairs than slots is [`ParseErrorKind::TooManyVars`] with `limit: slots.len()`, at
    /// the first pair that does not fit. ParseError offsets count from the first byte of
    /// `block`. Nothing is allocated.
    ///
    /// ```
    /// use uwsgi_wire::{ParseErrorKind, Vars};
    ///
    /// let block = b"\x0e\x00REQUEST_METHOD\x03\x00GET\x09\x00PATH_INFO\x01\x00/";
    /// let mut slots = [Default::default(); 64];
    /// let index = Vars::parse_indexed(block, &mut slots)?;
    /// assert_eq!(index.len(), 2);
    /// assert_eq!(index.get(b"PATH_INFO"), Some(&b"/"[..]));
    /// assert_eq!(index.pairs()[0], (&b"REQUEST_METHOD"[..], &b"GET"[..]));
    ///
    /// let mut one = [Default::default(); 1];
    /// let err = Vars::parse_indexed(block, &mut one).unwrap_err();
    /// assert_eq!((err.kind(), err.offset()), (ParseErrorKind::TooManyVars { limit: 1 }, 21));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    #[inline]
    pub fn parse_indexed<'s>(
        block: &'a [u8],
        slots: &'s mut [Var<'a>],
    ) -> Result<VarsIndex<'a, 's>, ParseError> {
        Self::parse_indexed_with(block, &Limits::new(), slots)
    }

    /// [`parse_indexed`](Vars::parse_indexed) with the given limits: the pair limit is
    /// the smaller of `max_vars` and `slots.len()`.
    ///
    /// ```
    /// use uwsgi_wire::{ParseErrorKind, Limits, Vars};
    /// let block = b"\x01\x00a\x00\x00\x01\x00b\x00\x00";
    /// let mut slots = [Default::default(); 8];
    /// let err = Vars::parse_indexed_with(block, &Limits::new().max_vars(1), &mut slots)
    ///     .unwrap_err();
    /// assert_eq!((err.kind(), err.offset()), (ParseErrorKind::TooManyVars { limit: 1 }, 5));
    /// ```
    #[inline]
    pub fn parse_indexed_with<'s>(
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
        Ok(VarsIndex {
            vars: Vars {
                block,
                len,
                base: 0,
                content_length,
            },
            pairs: slots.get(..len).unwrap_or(slots),
        })
    }

    /// Stores the pairs of this (already validated) view in `slots`: the index for a
    /// view that came from [`Packet::parse`](crate::Packet::parse). One more walk of the
    /// block; [`parse_indexed`](Vars::parse_indexed) does both in one pass.
    ///
    /// More pairs than slots is [`ParseErrorKind::TooManyVars`] with `limit: slots.len()`, at
    /// the first pair that does not fit (offset in the buffer the view was parsed from).
    ///
    /// ```
    /// use uwsgi_wire::{ParseErrorKind, Packet, Status};
    /// let wire = b"\x00\x0a\x00\x00\x01\x00a\x00\x00\x01\x00b\x00\x00";
    /// let Status::Complete((packet, _)) = Packet::parse(wire)? else { unreachable!() };
    /// let vars = packet.vars().expect("modifier1 0 carries vars");
    ///
    /// let mut slots = [Default::default(); 16];
    /// assert_eq!(vars.index(&mut slots)?.get(b"b"), Some(&b""[..]));
    ///
    /// let err = vars.index(&mut [Default::default(); 1]).unwrap_err();
    /// assert_eq!((err.kind(), err.offset()), (ParseErrorKind::TooManyVars { limit: 1 }, 9));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn index<'s>(&self, slots: &'s mut [Var<'a>]) -> Result<VarsIndex<'a, 's>, ParseError> {
        if self.len > slots.len() {
            let at = match self.iter().nth(slots.len()) {
                Some((key, _)) => self.offset_of(key).saturating_sub(2),
                None => self.base,
            };
            let kind = ParseErrorKind::TooManyVars { limit: slots.len() };
            return Err(ParseError::new(kind, at));
        }
        let mut len = 0;
        for (slot, pair) in slots.iter_mut().zip(self.iter()) {
            *slot = pair;
            len += 1;
        }
        let slots: &'s [Var<'a>] = slots;
        Ok(VarsIndex {
            vars: *self,
            pairs: slots.get(..len).unwrap_or(slots),
        })
    }

    /// Offset of the end of the block in the caller's buffer.
    pub(crate) fn end_offset(&self) -> usize {
        self.base.saturating_add(self.block.len())
    }

    /// A view over a block this crate has just encoded and therefore knows is valid.
    pub(crate) const fn trusted(block: &'a [u8], len: usize) -> Self {
        Vars {
            block,
            len,
            base: 0,
            content_length: Seen::Unknown,
        }
    }

    /// An empty block (0 pairs).
    ///
    /// ```
    /// assert!(uwsgi_wire::Vars::empty().is_empty());
    /// ```
    pub const fn empty() -> Self {
        Vars::trusted(&[], 0)
    }

    /// The number of pairs, duplicates included.
    ///
    /// ```
    /// let vars = uwsgi_wire::Vars::parse(b"\x01\x00a\x00\x00\x01\x00a\x01\x00x")?;
    /// assert_eq!(vars.len(), 2);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub const fn len(&self) -> usize {
        self.len
    }

    /// True when the block holds no pairs.
    ///
    /// ```
    /// assert!(uwsgi_wire::Vars::parse(b"")?.is_empty());
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The block's wire bytes (what the header's datasize counts).
    ///
    /// ```
    /// let block = b"\x01\x00a\x01\x00b";
    /// assert_eq!(uwsgi_wire::Vars::parse(block)?.as_bytes(), block);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.block
    }

    /// The pairs in wire order, duplicates included.
    ///
    /// ```
    /// let vars = uwsgi_wire::Vars::parse(b"\x01\x00a\x01\x00b")?;
    /// assert_eq!(vars.iter().collect::<Vec<_>>(), [(&b"a"[..], &b"b"[..])]);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    ///
    /// Each iteration walks the block's chain of length prefixes again, which costs as
    /// much as the validating walk did. To visit every pair of a packet just parsed,
    /// parse it with the index instead: [`Vars::parse_indexed`] stores the pairs as it
    /// validates them, and [`VarsIndex::iter`] reads them back with no second walk (about
    /// half the time on the nginx captures; BENCHMARKS.md, target 4):
    ///
    /// ```
    /// use uwsgi_wire::{BlockKind, Limits, Packet, Status, Var, Vars};
    ///
    /// // Captured from nginx 1.22: a GET with 16 vars.
    /// let wire = include_bytes!("../../tests/vectors/nginx-get.bin");
    /// let Status::Complete((packet, _)) = Packet::parse_as(wire, BlockKind::Raw, &Limits::new())?
    /// else {
    ///     unreachable!()
    /// };
    /// let mut slots = [Var::default(); 64];
    /// let index = Vars::parse_indexed(packet.payload().as_bytes(), &mut slots)?;
    /// let bytes: usize = index.iter().map(|(key, value)| key.len() + value.len()).sum();
    /// assert_eq!((index.len(), bytes), (16, 372 - 4 * 16));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn iter(&self) -> VarsIter<'a> {
        VarsIter {
            rest: self.block,
            remaining: self.len,
        }
    }

    /// The value of the **last** pair whose key is `key`, as a WSGI environ (and uWSGI's
    /// own request parser) sees it when a key repeats. [`get_all`](Vars::get_all) gives
    /// every one; [`get_first`](Vars::get_first) the first.
    ///
    /// ```
    /// // nginx 1.22 sends one HTTP_COOKIE per Cookie header line.
    /// let vars = uwsgi_wire::Vars::parse(b"\x0b\x00HTTP_COOKIE\x03\x00a=1\x0b\x00HTTP_COOKIE\x03\x00b=2")?;
    /// assert_eq!(vars.get(b"HTTP_COOKIE"), Some(&b"b=2"[..]));
    /// assert_eq!(vars.get(b"MISSING"), None);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn get(&self, key: &[u8]) -> Option<&'a [u8]> {
        self.iter().last_value(key)
    }

    /// The value of the first pair whose key is `key`.
    ///
    /// ```
    /// let vars = uwsgi_wire::Vars::parse(b"\x01\x00k\x01\x001\x01\x00k\x01\x002")?;
    /// assert_eq!(vars.get_first(b"k"), Some(&b"1"[..]));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn get_first(&self, key: &[u8]) -> Option<&'a [u8]> {
        self.iter().first_value(key)
    }

    /// Every value whose key is `key`, in wire order.
    ///
    /// ```
    /// let vars = uwsgi_wire::Vars::parse(b"\x01\x00k\x01\x001\x01\x00j\x00\x00\x01\x00k\x01\x002")?;
    /// assert_eq!(vars.get_all(b"k").collect::<Vec<_>>(), [&b"1"[..], b"2"]);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn get_all<'k>(&self, key: &'k [u8]) -> impl Iterator<Item = &'a [u8]> + 'k
    where
        'a: 'k,
    {
        self.iter().all_values(key)
    }

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
    /// use uwsgi_wire::{ParseErrorKind, Vars};
    /// let vars = Vars::parse(b"\x0e\x00CONTENT_LENGTH\x02\x0042")?;
    /// assert_eq!(vars.content_length(), Ok(Some(42)));
    ///
    /// let smuggle = Vars::parse(b"\x0e\x00CONTENT_LENGTH\x01\x005\x0e\x00CONTENT_LENGTH\x01\x006")?;
    /// let err = smuggle.content_length().unwrap_err();
    /// assert_eq!(err.kind(), ParseErrorKind::ConflictingContentLength);
    /// assert_eq!(err.offset(), 37);
    ///
    /// let signed = Vars::parse(b"\x0e\x00CONTENT_LENGTH\x02\x00+5")?;
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

    /// Offset of a sub-slice of the block in the caller's buffer.
    pub(crate) fn offset_of(&self, inner: &[u8]) -> usize {
        let within = (inner.as_ptr() as usize).saturating_sub(self.block.as_ptr() as usize);
        self.base.saturating_add(within)
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
        // `>=`, not `==` (the same here: `count` grows by one from 0), so that the
        // compiler knows `count < max_vars` below: the indexed parse then stores into
        // its slots without a bounds check of its own.
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
// two lines, so it is
// written by hand; `benches/parse.rs` keeps both nom forms as baselines
// (`validate/nom_*`) to re-check this against newer nom releases.

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
/// [`VarsIter::next`] and [`ArrayIter::next`](crate::ArrayIter) are inlined into the
/// caller's crate and would otherwise call this out of line twice per pair.
#[inline]
pub(crate) fn split_field(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (rest, len) = length(input)?;
    let (rest, field) = bytes(rest, len)?;
    Some((field, rest))
}

/// Iterator over the pairs of a [`Vars`] block, in wire order.
///
/// ```
/// let vars = uwsgi_wire::Vars::parse(b"\x01\x00a\x01\x00b\x01\x00c\x00\x00")?;
/// let mut it = vars.iter();
/// assert_eq!(it.len(), 2);
/// assert_eq!(it.next(), Some((&b"a"[..], &b"b"[..])));
/// assert_eq!(it.next(), Some((&b"c"[..], &b""[..])));
/// assert_eq!(it.next(), None);
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Debug, Clone)]
pub struct VarsIter<'a> {
    rest: &'a [u8],
    remaining: usize,
}

impl<'a> Iterator for VarsIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        // The block was validated, so `None` here only ever means "no more pairs".
        let (key, rest) = split_field(self.rest)?;
        let (value, rest) = split_field(rest)?;
        self.rest = rest;
        self.remaining = self.remaining.saturating_sub(1);
        Some((key, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for VarsIter<'_> {}
impl FusedIterator for VarsIter<'_> {}

impl<'a> IntoIterator for Vars<'a> {
    type Item = (&'a [u8], &'a [u8]);
    type IntoIter = VarsIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a> IntoIterator for &Vars<'a> {
    type Item = (&'a [u8], &'a [u8]);
    type IntoIter = VarsIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Two views are equal when they hold the same pairs in the same order.
impl PartialEq for Vars<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.block == other.block
    }
}

impl Eq for Vars<'_> {}

impl fmt::Debug for Vars<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.iter()
                    .map(|(k, v)| (crate::ByteStr(k), crate::ByteStr(v))),
            )
            .finish()
    }
}

/// One pair as a [`VarsIndex`] stores it: `(key, value)`, borrowed from the block.
/// `Default` is a pair of empty slices, so `[Default::default(); N]` makes the slots.
///
/// ```
/// use uwsgi_wire::{Var, Vars};
///
/// // Captured from nginx 1.22: the 16 vars of a GET, after the 4-byte header.
/// let wire = include_bytes!("../../tests/vectors/nginx-get.bin");
/// let mut slots: [Var<'_>; 32] = [Var::default(); 32];
/// let index = Vars::parse_indexed(&wire[4..], &mut slots)?;
/// let first: Option<&Var<'_>> = index.pairs().first();
/// assert_eq!(first, Some(&(&b"QUERY_STRING"[..], &b"a=1&b=2"[..])));
/// assert_eq!(index.len(), 16);
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
pub type Var<'a> = (&'a [u8], &'a [u8]);

/// A validated vars block with its pairs stored in caller-provided slots, from
/// [`Vars::parse_indexed`] or [`Vars::index`].
///
/// Lookups scan the slots (lengths first, then bytes) instead of walking the block's
/// chain of length prefixes, and [`get`](VarsIndex::get) scans from the end, so the
/// last duplicate is found first. Same results as the [`Vars`] methods of the same name.
///
/// ```
/// use uwsgi_wire::Vars;
/// let block = b"\x0b\x00HTTP_COOKIE\x03\x00a=1\x0b\x00HTTP_COOKIE\x03\x00b=2";
/// let mut slots = [Default::default(); 8];
/// let index = Vars::parse_indexed(block, &mut slots)?;
/// assert_eq!(index.get(b"HTTP_COOKIE"), Some(&b"b=2"[..]));
/// assert_eq!(index.get_first(b"HTTP_COOKIE"), Some(&b"a=1"[..]));
/// assert_eq!(index.get_all(b"HTTP_COOKIE").collect::<Vec<_>>(), [&b"a=1"[..], b"b=2"]);
/// assert_eq!(index.vars(), Vars::parse(block)?);
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Clone, Copy)]
pub struct VarsIndex<'a, 's> {
    vars: Vars<'a>,
    pairs: &'s [Var<'a>],
}

impl<'a, 's> VarsIndex<'a, 's> {
    /// The validated block itself (for [`Vars::content_length`], [`Vars::as_bytes`]).
    ///
    /// ```
    /// let mut slots = [Default::default(); 4];
    /// let index = uwsgi_wire::Vars::parse_indexed(b"\x01\x00a\x01\x00b", &mut slots)?;
    /// assert_eq!(index.vars().as_bytes(), b"\x01\x00a\x01\x00b");
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub const fn vars(&self) -> Vars<'a> {
        self.vars
    }

    /// The pairs in wire order, duplicates included: the filled part of the slots.
    ///
    /// ```
    /// let mut slots = [Default::default(); 4];
    /// let index = uwsgi_wire::Vars::parse_indexed(b"\x01\x00a\x01\x00b", &mut slots)?;
    /// assert_eq!(index.pairs(), [(&b"a"[..], &b"b"[..])]);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub const fn pairs(&self) -> &'s [Var<'a>] {
        self.pairs
    }

    /// The number of pairs, duplicates included.
    ///
    /// ```
    /// let mut slots = [Default::default(); 4];
    /// assert_eq!(uwsgi_wire::Vars::parse_indexed(b"", &mut slots)?.len(), 0);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub const fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when the block holds no pairs.
    ///
    /// ```
    /// let mut slots = [Default::default(); 4];
    /// assert!(uwsgi_wire::Vars::parse_indexed(b"", &mut slots)?.is_empty());
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub const fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The pairs in wire order.
    ///
    /// ```
    /// let mut slots = [Default::default(); 4];
    /// let index = uwsgi_wire::Vars::parse_indexed(b"\x01\x00a\x01\x00b", &mut slots)?;
    /// assert_eq!(index.iter().collect::<Vec<_>>(), [(&b"a"[..], &b"b"[..])]);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn iter(&self) -> core::iter::Copied<core::slice::Iter<'s, Var<'a>>> {
        self.pairs.iter().copied()
    }

    /// The value of the **last** pair whose key is `key`, as [`Vars::get`].
    ///
    /// ```
    /// let mut slots = [Default::default(); 4];
    /// let index = uwsgi_wire::Vars::parse_indexed(b"\x01\x00k\x01\x001\x01\x00k\x01\x002", &mut slots)?;
    /// assert_eq!(index.get(b"k"), Some(&b"2"[..]));
    /// assert_eq!(index.get(b"missing"), None);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn get(&self, key: &[u8]) -> Option<&'a [u8]> {
        self.iter().last_value(key)
    }

    /// The value of the first pair whose key is `key`, as [`Vars::get_first`].
    ///
    /// ```
    /// let mut slots = [Default::default(); 4];
    /// let index = uwsgi_wire::Vars::parse_indexed(b"\x01\x00k\x01\x001\x01\x00k\x01\x002", &mut slots)?;
    /// assert_eq!(index.get_first(b"k"), Some(&b"1"[..]));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn get_first(&self, key: &[u8]) -> Option<&'a [u8]> {
        self.iter().first_value(key)
    }

    /// Every value whose key is `key`, in wire order, as [`Vars::get_all`].
    ///
    /// ```
    /// let mut slots = [Default::default(); 4];
    /// let index = uwsgi_wire::Vars::parse_indexed(b"\x01\x00k\x01\x001\x01\x00k\x01\x002", &mut slots)?;
    /// assert_eq!(index.get_all(b"k").collect::<Vec<_>>(), [&b"1"[..], b"2"]);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn get_all<'k>(&self, key: &'k [u8]) -> impl Iterator<Item = &'a [u8]> + 'k
    where
        'a: 'k,
        's: 'k,
    {
        // Shorten the slots' borrow to `'k` first: the returned iterator names only `'a`
        // and `'k`.
        let pairs: &'k [Var<'a>] = self.pairs;
        pairs.iter().copied().all_values(key)
    }
}

/// Lookup by key, written once for every view: [`Vars`] (a walk of the block),
/// [`VarsIndex`] (a scan of its slots) and, through its [`Vars`],
/// [`OwnedVars`](crate::owned::OwnedVars). Implemented by the iterators over their pairs in wire
/// order; only the last-duplicate search differs between them, and only because the
/// slots can be scanned from the end.
///
/// Keys compare as bytes (`==` on slices: the lengths first, then the bytes).
pub(crate) trait Lookup<'a>: Iterator<Item = Var<'a>> + Sized {
    /// Every value whose key is `key`, in wire order.
    #[inline]
    fn all_values<'k>(self, key: &'k [u8]) -> impl Iterator<Item = &'a [u8]> + 'k
    where
        Self: 'k,
        'a: 'k,
    {
        self.filter_map(move |(k, v)| if k == key { Some(v) } else { None })
    }

    /// The value of the first pair whose key is `key`.
    #[inline]
    fn first_value(mut self, key: &[u8]) -> Option<&'a [u8]> {
        self.find_map(|(k, v)| if k == key { Some(v) } else { None })
    }

    /// The value of the last pair whose key is `key` (a forward walk: the block's chain
    /// of length prefixes can only be read from the front).
    #[inline]
    fn last_value(self, key: &[u8]) -> Option<&'a [u8]> {
        self.all_values(key).last()
    }
}

impl<'a> Lookup<'a> for VarsIter<'a> {}

impl<'a> Lookup<'a> for core::iter::Copied<core::slice::Iter<'_, Var<'a>>> {
    /// The slots scanned from the end: the last duplicate is the first one found.
    #[inline]
    fn last_value(mut self, key: &[u8]) -> Option<&'a [u8]> {
        self.rfind(|&(k, _)| k == key).map(|(_, v)| v)
    }
}

impl<'a, 's> IntoIterator for VarsIndex<'a, 's> {
    type Item = Var<'a>;
    type IntoIter = core::iter::Copied<core::slice::Iter<'s, Var<'a>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl fmt::Debug for VarsIndex<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.vars, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real nginx 1.22 captures (tests/vectors/README.md): the vars block after the
    /// 4-byte header.
    const NGINX: [&[u8]; 3] = [
        include_bytes!("../../tests/vectors/nginx-get.bin"),
        include_bytes!("../../tests/vectors/nginx-56vars.bin"),
        include_bytes!("../../tests/vectors/nginx-dup-headers.bin"),
    ];

    fn block(packet: &[u8]) -> &[u8] {
        let datasize = usize::from(u16::from_le_bytes([packet[1], packet[2]]));
        &packet[4..4 + datasize]
    }

    #[test]
    fn indexed_parse_matches_the_walking_view() {
        for packet in NGINX {
            let block = block(packet);
            let vars = Vars::parse(block).unwrap();
            let mut slots = [Var::default(); 64];
            let index = Vars::parse_indexed(block, &mut slots).unwrap();
            assert_eq!(index.vars(), vars);
            assert_eq!(index.len(), vars.len());
            assert!(index.iter().eq(vars.iter()));
            let mut again = [Var::default(); 64];
            assert!(vars.index(&mut again).unwrap().iter().eq(vars.iter()));
            for (key, _) in vars.iter().chain([(&b"HTTP_MISSING"[..], &b""[..])]) {
                assert_eq!(index.get(key), vars.get(key));
                assert_eq!(index.get_first(key), vars.get_first(key));
                assert!(index.get_all(key).eq(vars.get_all(key)));
            }
        }
    }

    /// Every truncation of every capture, and every byte changed to 0x00 and 0xff:
    /// the indexed parse accepts and rejects exactly what `parse` does, with the same
    /// error kind and offset.
    #[test]
    fn indexed_parse_fails_exactly_like_parse() {
        let check = |input: &[u8]| {
            let mut slots = [Var::default(); 64];
            let plain = Vars::parse(input).map(|v| v.len());
            let indexed = Vars::parse_indexed(input, &mut slots).map(|i| i.len());
            assert_eq!(plain, indexed, "{input:?}");
        };
        let mut bad = [0u8; 2048];
        for packet in NGINX {
            let block = block(packet);
            for n in 0..=block.len() {
                check(&block[..n]);
            }
            let bad = &mut bad[..block.len()];
            for at in 0..block.len() {
                for byte in [0x00, 0xff] {
                    bad.copy_from_slice(block);
                    bad[at] = byte;
                    check(bad);
                }
            }
        }
    }

    #[test]
    fn too_few_slots_is_too_many_vars_at_the_first_pair_left_over() {
        let block = block(NGINX[0]);
        let vars = Vars::parse(block).unwrap();
        let n = vars.len();
        let mut slots = [Var::default(); 64];
        let exact = &mut slots[..n];
        assert_eq!(Vars::parse_indexed(block, exact).unwrap().len(), n);
        assert_eq!(vars.index(exact).unwrap().len(), n);

        let short = &mut slots[..n - 1];
        let limits = Limits::new().max_vars(n - 1);
        let expected = Vars::parse_with(block, &limits).unwrap_err();
        assert_eq!(
            expected.kind(),
            ParseErrorKind::TooManyVars { limit: n - 1 }
        );
        assert_eq!(Vars::parse_indexed(block, short).unwrap_err(), expected);
        assert_eq!(vars.index(short).unwrap_err(), expected);
        assert_eq!(
            Vars::parse_indexed(block, &mut []).unwrap_err(),
            ParseError::new(ParseErrorKind::TooManyVars { limit: 0 }, 0)
        );
        // The smaller of max_vars and the slot count is the limit.
        let mut many = [Var::default(); 64];
        let err = Vars::parse_indexed_with(block, &Limits::new().max_vars(2), &mut many);
        assert_eq!(
            err.unwrap_err().kind(),
            ParseErrorKind::TooManyVars { limit: 2 }
        );
    }

    #[test]
    fn index_offsets_count_from_the_callers_buffer() {
        let packet = NGINX[0];
        let crate::Status::Complete((parsed, _)) = crate::Packet::parse(packet).unwrap() else {
            panic!("complete capture");
        };
        let vars = parsed.vars().unwrap();
        let err = vars.index(&mut [Var::default(); 1]).unwrap_err();
        // The second pair starts after the header and the first pair.
        let (k, v) = vars.iter().next().unwrap();
        assert_eq!(err.offset(), 4 + 2 + k.len() + 2 + v.len());
    }
}
