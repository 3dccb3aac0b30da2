//! The array block (RPC calls, cache values): `u16le len | item`, repeated.

use core::fmt;
use core::iter::FusedIterator;

use crate::wire::convert::ByteStr;
use crate::wire::error::{ParseError, ParseErrorKind};
use crate::wire::field::{bytes, length, split_field};
use crate::wire::limits::Limits;

/// A validated, borrowed array block. Empty items are kept.
///
/// ```
/// use uwsgi_wire::{Array, Limits};
///
/// // An RPC call: function "hello" with arguments "a", "" and "b".
/// let block = b"\x05\x00hello\x01\x00a\x00\x00\x01\x00b";
/// let array = Array::parse(block, &Limits::new())?;
/// assert_eq!(array.len(), 4);
/// assert_eq!(array.iter().collect::<Vec<_>>(), [&b"hello"[..], b"a", b"", b"b"]);
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Clone, Copy)]
pub struct Array<'a> {
    block: &'a [u8],
    len: usize,
}

impl<'a> Array<'a> {
    /// Parses and validates a whole array block with the given limits (`max_items`;
    /// [`Limits::new`] for the defaults).
    ///
    /// ```
    /// use uwsgi_wire::{Array, Limits, ParseErrorKind};
    /// let err = Array::parse(b"\x01\x00a\x07", &Limits::new()).unwrap_err();
    /// assert_eq!((err.kind(), err.offset()), (ParseErrorKind::TrailingBytes { count: 1 }, 3));
    ///
    /// let err = Array::parse(b"\x00\x00\x00\x00", &Limits::new().max_items(1)).unwrap_err();
    /// assert_eq!((err.kind(), err.offset()), (ParseErrorKind::TooManyItems { limit: 1 }, 2));
    /// ```
    pub fn parse(block: &'a [u8], limits: &Limits) -> Result<Self, ParseError> {
        validate(block, limits.max_items).map(|len| Array { block, len })
    }

    /// A view over a block this crate has just encoded.
    #[cfg(feature = "alloc")]
    pub(crate) const fn trusted(block: &'a [u8], len: usize) -> Self {
        Array { block, len }
    }

    /// The number of items.
    ///
    /// ```
    /// use uwsgi_wire::{Array, Limits};
    /// assert_eq!(Array::parse(b"\x00\x00", &Limits::new())?.len(), 1);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub const fn len(&self) -> usize {
        self.len
    }

    /// True when the array has no items.
    ///
    /// ```
    /// use uwsgi_wire::{Array, Limits};
    /// assert!(Array::parse(b"", &Limits::new())?.is_empty());
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The block's wire bytes.
    ///
    /// ```
    /// use uwsgi_wire::{Array, Limits};
    /// assert_eq!(Array::parse(b"\x01\x00x", &Limits::new())?.as_bytes(), b"\x01\x00x");
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.block
    }

    /// The items in wire order.
    ///
    /// ```
    /// use uwsgi_wire::{Array, Limits};
    /// let array = Array::parse(b"\x01\x00x\x00\x00", &Limits::new())?;
    /// assert_eq!(array.iter().collect::<Vec<_>>(), [&b"x"[..], b""]);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn iter(&self) -> ArrayIter<'a> {
        ArrayIter {
            rest: self.block,
            remaining: self.len,
        }
    }

    /// The item at `index`, walking from the start.
    ///
    /// ```
    /// use uwsgi_wire::{Array, Limits};
    /// let array = Array::parse(b"\x01\x00x\x01\x00y", &Limits::new())?;
    /// assert_eq!(array.get(1), Some(&b"y"[..]));
    /// assert_eq!(array.get(2), None);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn get(&self, index: usize) -> Option<&'a [u8]> {
        self.iter().nth(index)
    }
}

fn validate(block: &[u8], max_items: usize) -> Result<usize, ParseError> {
    let mut rest = block;
    let mut count = 0usize;
    while !rest.is_empty() {
        let at = block.len() - rest.len();
        let (after_len, len) = length(rest).ok_or(ParseError::new(
            ParseErrorKind::TrailingBytes { count: 1 },
            at,
        ))?;
        if count == max_items {
            return Err(ParseError::new(
                ParseErrorKind::TooManyItems { limit: max_items },
                at,
            ));
        }
        let (after_item, _item) = bytes(after_len, len)
            .ok_or(ParseError::new(ParseErrorKind::ItemPastEnd { len }, at))?;
        rest = after_item;
        count += 1;
    }
    Ok(count)
}

/// Iterator over the items of an [`Array`].
///
/// ```
/// use uwsgi_wire::{Array, Limits};
/// let array = Array::parse(b"\x02\x00hi", &Limits::new())?;
/// let mut it = array.iter();
/// assert_eq!(it.next(), Some(&b"hi"[..]));
/// assert_eq!(it.next(), None);
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ArrayIter<'a> {
    rest: &'a [u8],
    remaining: usize,
}

impl<'a> Iterator for ArrayIter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let (item, rest) = split_field(self.rest)?;
        self.rest = rest;
        self.remaining = self.remaining.saturating_sub(1);
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for ArrayIter<'_> {}
impl FusedIterator for ArrayIter<'_> {}

impl<'a> IntoIterator for Array<'a> {
    type Item = &'a [u8];
    type IntoIter = ArrayIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a> IntoIterator for &Array<'a> {
    type Item = &'a [u8];
    type IntoIter = ArrayIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Two views are equal when they hold the same items in the same order.
impl PartialEq for Array<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.block == other.block
    }
}

impl Eq for Array<'_> {}

impl fmt::Debug for Array<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter().map(ByteStr)).finish()
    }
}
