//! The vars block ("dictionary"): `u16le klen | key | u16le vlen | value`, repeated.

use core::fmt;
use core::iter::FusedIterator;

use nom::bytes::complete::take;
use nom::number::complete::le_u16;

use crate::error::{Error, ErrorKind};
use crate::limits::Limits;

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
/// # Ok::<(), uwsgi_wire::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct Vars<'a> {
    block: &'a [u8],
    len: usize,
    /// Where the block starts in the buffer the caller parsed, for error offsets.
    base: usize,
}

impl<'a> Vars<'a> {
    /// Parses and validates a whole vars block with the default [`Limits`].
    ///
    /// Error offsets count from the first byte of `block`.
    ///
    /// ```
    /// use uwsgi_wire::{ErrorKind, Vars};
    /// let err = Vars::parse(b"\x01\x00k\x09\x00short").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::ValuePastEnd { len: 9 });
    /// assert_eq!(err.offset(), 3);
    /// ```
    pub fn parse(block: &'a [u8]) -> Result<Self, Error> {
        Self::parse_with(block, &Limits::new())
    }

    /// Parses and validates a whole vars block with the given limits (`max_vars`).
    ///
    /// ```
    /// use uwsgi_wire::{ErrorKind, Limits, Vars};
    /// let block = b"\x01\x00a\x00\x00\x01\x00b\x00\x00";
    /// let err = Vars::parse_with(block, &Limits::new().max_vars(1)).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::TooManyVars { limit: 1 });
    /// assert_eq!(err.offset(), 5);
    /// ```
    pub fn parse_with(block: &'a [u8], limits: &Limits) -> Result<Self, Error> {
        Self::parse_at(block, 0, limits)
    }

    /// Parses a block that starts `base` bytes into the caller's buffer.
    pub(crate) fn parse_at(block: &'a [u8], base: usize, limits: &Limits) -> Result<Self, Error> {
        match validate(block, limits.max_vars) {
            Ok(len) => Ok(Vars { block, len, base }),
            Err(err) => Err(err.shifted(base)),
        }
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
    /// # Ok::<(), uwsgi_wire::Error>(())
    /// ```
    pub const fn len(&self) -> usize {
        self.len
    }

    /// True when the block holds no pairs.
    ///
    /// ```
    /// assert!(uwsgi_wire::Vars::parse(b"")?.is_empty());
    /// # Ok::<(), uwsgi_wire::Error>(())
    /// ```
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The block's wire bytes (what the header's datasize counts).
    ///
    /// ```
    /// let block = b"\x01\x00a\x01\x00b";
    /// assert_eq!(uwsgi_wire::Vars::parse(block)?.as_bytes(), block);
    /// # Ok::<(), uwsgi_wire::Error>(())
    /// ```
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.block
    }

    /// The pairs in wire order, duplicates included.
    ///
    /// ```
    /// let vars = uwsgi_wire::Vars::parse(b"\x01\x00a\x01\x00b")?;
    /// assert_eq!(vars.iter().collect::<Vec<_>>(), [(&b"a"[..], &b"b"[..])]);
    /// # Ok::<(), uwsgi_wire::Error>(())
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
    /// # Ok::<(), uwsgi_wire::Error>(())
    /// ```
    pub fn get(&self, key: &[u8]) -> Option<&'a [u8]> {
        self.get_all(key).last()
    }

    /// The value of the first pair whose key is `key`.
    ///
    /// ```
    /// let vars = uwsgi_wire::Vars::parse(b"\x01\x00k\x01\x001\x01\x00k\x01\x002")?;
    /// assert_eq!(vars.get_first(b"k"), Some(&b"1"[..]));
    /// # Ok::<(), uwsgi_wire::Error>(())
    /// ```
    pub fn get_first(&self, key: &[u8]) -> Option<&'a [u8]> {
        self.get_all(key).next()
    }

    /// Every value whose key is `key`, in wire order.
    ///
    /// ```
    /// let vars = uwsgi_wire::Vars::parse(b"\x01\x00k\x01\x001\x01\x00j\x00\x00\x01\x00k\x01\x002")?;
    /// assert_eq!(vars.get_all(b"k").collect::<Vec<_>>(), [&b"1"[..], b"2"]);
    /// # Ok::<(), uwsgi_wire::Error>(())
    /// ```
    pub fn get_all<'k>(&self, key: &'k [u8]) -> impl Iterator<Item = &'a [u8]> + 'k
    where
        'a: 'k,
    {
        self.iter()
            .filter_map(move |(k, v)| if k == key { Some(v) } else { None })
    }

    /// The request body length announced by `CONTENT_LENGTH`, checked strictly.
    ///
    /// - `Ok(None)`: no `CONTENT_LENGTH`, or an empty one (nginx sends `""` for a
    ///   request without a body): no body follows.
    /// - `Ok(Some(n))`: the value is 1 or more ASCII digits (leading zeros allowed, as
    ///   in HTTP) that fit in a `u64`.
    /// - [`ErrorKind::InvalidContentLength`]: anything else (a sign, a space, a letter,
    ///   overflow), where uWSGI would silently use the leading digits.
    /// - [`ErrorKind::ConflictingContentLength`]: a later `CONTENT_LENGTH` whose number
    ///   differs from an earlier one (an empty one counts as 0).
    ///
    /// ```
    /// use uwsgi_wire::{ErrorKind, Vars};
    /// let vars = Vars::parse(b"\x0e\x00CONTENT_LENGTH\x02\x0042")?;
    /// assert_eq!(vars.content_length(), Ok(Some(42)));
    ///
    /// let smuggle = Vars::parse(b"\x0e\x00CONTENT_LENGTH\x01\x005\x0e\x00CONTENT_LENGTH\x01\x006")?;
    /// let err = smuggle.content_length().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::ConflictingContentLength);
    /// assert_eq!(err.offset(), 37);
    ///
    /// let signed = Vars::parse(b"\x0e\x00CONTENT_LENGTH\x02\x00+5")?;
    /// assert_eq!(signed.content_length().unwrap_err().kind(), ErrorKind::InvalidContentLength);
    /// # Ok::<(), uwsgi_wire::Error>(())
    /// ```
    pub fn content_length(&self) -> Result<Option<u64>, Error> {
        let mut found: Option<Option<u64>> = None;
        for value in self.get_all(b"CONTENT_LENGTH") {
            let at = self.offset_of(value);
            let parsed = parse_content_length(value)
                .ok_or(Error::new(ErrorKind::InvalidContentLength, at))?;
            match found {
                Some(earlier) if earlier.unwrap_or(0) != parsed.unwrap_or(0) => {
                    return Err(Error::new(ErrorKind::ConflictingContentLength, at));
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

/// Walks the block once, checking every length; returns the number of pairs.
fn validate(block: &[u8], max_vars: usize) -> Result<usize, Error> {
    let mut rest = block;
    let mut count = 0usize;
    while !rest.is_empty() {
        let at = block.len() - rest.len();
        // uWSGI needs 3 bytes to start a pair (`ptrbuf + 2 < bufferend`): 1 or 2 left
        // over can only be stray bytes, even when they would read as a key length.
        if rest.len() <= 2 {
            return Err(Error::new(
                ErrorKind::TrailingBytes {
                    count: rest.len() as u8,
                },
                at,
            ));
        }
        if count == max_vars {
            return Err(Error::new(ErrorKind::TooManyVars { limit: max_vars }, at));
        }
        let (after_klen, klen) =
            length(rest).ok_or(Error::new(ErrorKind::TrailingBytes { count: 2 }, at))?;
        if klen == 0 {
            return Err(Error::new(ErrorKind::EmptyKey, at));
        }
        let (after_key, _key) =
            bytes(after_klen, klen).ok_or(Error::new(ErrorKind::KeyPastEnd { len: klen }, at))?;
        let vat = at + 2 + usize::from(klen);
        let (after_vlen, vlen) =
            length(after_key).ok_or(Error::new(ErrorKind::MissingValueLength, vat))?;
        let (after_value, _value) = bytes(after_vlen, vlen)
            .ok_or(Error::new(ErrorKind::ValuePastEnd { len: vlen }, vat))?;
        rest = after_value;
        count += 1;
    }
    Ok(count)
}

/// A `u16le` length prefix; `None` when fewer than 2 bytes are left. The block has fully
/// arrived, so the `complete` parser is used: short is malformed, not "partial".
pub(crate) fn length(input: &[u8]) -> Option<(&[u8], u16)> {
    le_u16::<_, ()>(input).ok()
}

/// `len` bytes and what follows them; `None` when fewer are left.
pub(crate) fn bytes(input: &[u8], len: u16) -> Option<(&[u8], &[u8])> {
    take::<_, _, ()>(len)(input).ok()
}

/// Splits one length-prefixed field off an already validated block.
pub(crate) fn split_field(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = input.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_le_bytes(*len));
    if len > rest.len() {
        return None;
    }
    let (field, rest) = rest.split_at(len);
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
/// # Ok::<(), uwsgi_wire::Error>(())
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
