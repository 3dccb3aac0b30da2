//! The validated view of a vars block: its pairs in wire order, and lookups by key.

use core::fmt;
use core::iter::FusedIterator;

use crate::wire::convert::ByteStr;
use crate::wire::field::split_field;

/// A validated, borrowed vars block.
///
/// Built by [`Vars::parse`] (or as part of a [`Packet`](crate::Packet)), which checks the
/// whole block once, so iterating and looking up can never fail. Keys and values are raw
/// bytes in wire order; duplicates are kept. Nothing is copied and nothing allocated.
///
/// ```
/// use uwsgi_wire::{Limits, Vars};
///
/// // Two pairs: REQUEST_METHOD=GET, then an empty CONTENT_TYPE (nginx sends that).
/// let block = b"\x0e\x00REQUEST_METHOD\x03\x00GET\x0c\x00CONTENT_TYPE\x00\x00";
/// let vars = Vars::parse(block, &Limits::new())?;
/// assert_eq!(vars.len(), 2);
/// assert_eq!(vars.get(b"REQUEST_METHOD"), Some(&b"GET"[..]));
/// assert_eq!(vars.get(b"CONTENT_TYPE"), Some(&b""[..]));
/// let keys: Vec<&[u8]> = vars.iter().map(|(k, _)| k).collect();
/// assert_eq!(keys, [&b"REQUEST_METHOD"[..], b"CONTENT_TYPE"]);
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Clone, Copy)]
pub struct Vars<'a> {
    pub(super) block: &'a [u8],
    pub(super) len: usize,
    /// Where the block starts in the buffer the caller parsed, for error offsets.
    pub(super) base: usize,
    /// What validation saw of `CONTENT_LENGTH`: a server asks for it on every request,
    /// and without this a second walk of the block doubled the cost (BENCHMARKS.md).
    pub(super) content_length: Seen<'a>,
}

/// The `CONTENT_LENGTH` values the validating pass saw.
#[derive(Debug, Clone, Copy)]
pub(super) enum Seen<'a> {
    /// Not recorded (a view built without validating): walk the block.
    Unknown,
    /// No `CONTENT_LENGTH`.
    Absent,
    /// Exactly one, with this value.
    Once(&'a [u8]),
    /// More than one: walk them, to check they agree.
    Several,
}

/// One pair, `(key, value)`, borrowed from the block: what [`Vars::iter`] yields and a
/// [`VarsIndex`](crate::VarsIndex) stores. `Default` is a pair of empty slices, so
/// `[Default::default(); N]` makes the slots.
///
/// ```
/// use uwsgi_wire::{Limits, Var, Vars};
///
/// // Captured from nginx 1.22: the 16 vars of a GET, after the 4-byte header.
/// let wire = include_bytes!("../../../tests/vectors/nginx-get.bin");
/// let mut slots: [Var<'_>; 32] = [Var::default(); 32];
/// let index = Vars::parse(&wire[4..], &Limits::new())?.index(&mut slots)?;
/// let first: Option<&Var<'_>> = index.pairs().first();
/// assert_eq!(first, Some(&(&b"QUERY_STRING"[..], &b"a=1&b=2"[..])));
/// assert_eq!(index.pairs().len(), 16);
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
pub type Var<'a> = (&'a [u8], &'a [u8]);

impl<'a> Vars<'a> {
    /// Offset of the end of the block in the caller's buffer.
    pub(crate) fn end_offset(&self) -> usize {
        self.base.saturating_add(self.block.len())
    }

    /// A view over a block this crate has just encoded or validated, and therefore
    /// knows is valid; `base` bytes into the buffer the caller sees (a packet's block
    /// starts at 4), so that error offsets count from it as a parse's do.
    pub(crate) const fn trusted(block: &'a [u8], len: usize, base: usize) -> Self {
        Vars {
            block,
            len,
            base,
            content_length: Seen::Unknown,
        }
    }

    /// The number of pairs, duplicates included.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, Vars};
    /// let vars = Vars::parse(b"\x01\x00a\x00\x00\x01\x00a\x01\x00x", &Limits::new())?;
    /// assert_eq!(vars.len(), 2);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub const fn len(&self) -> usize {
        self.len
    }

    /// True when the block holds no pairs.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, Vars};
    /// assert!(Vars::parse(b"", &Limits::new())?.is_empty());
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The block's wire bytes (what the header's datasize counts).
    ///
    /// ```
    /// use uwsgi_wire::{Limits, Vars};
    /// let block = b"\x01\x00a\x01\x00b";
    /// assert_eq!(Vars::parse(block, &Limits::new())?.as_bytes(), block);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.block
    }

    /// The pairs in wire order, duplicates included.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, Vars};
    /// let vars = Vars::parse(b"\x01\x00a\x01\x00b", &Limits::new())?;
    /// assert_eq!(vars.iter().collect::<Vec<_>>(), [(&b"a"[..], &b"b"[..])]);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    ///
    /// Each iteration walks the block's chain of length prefixes again, which costs as
    /// much as the validating walk did, and so does each lookup by key. For many lookups,
    /// store the pairs once with [`Vars::index`]: the [`VarsIndex`](crate::VarsIndex)
    /// lookups scan the slots, and its [`pairs`](crate::VarsIndex::pairs) are a slice to
    /// visit with no further walk.
    ///
    /// ```
    /// use uwsgi_wire::{BlockKind, Limits, Packet, Status, Var, Vars};
    ///
    /// // Captured from nginx 1.22: a GET with 16 vars.
    /// let wire = include_bytes!("../../../tests/vectors/nginx-get.bin");
    /// let Status::Complete((packet, _)) = Packet::parse_as(wire, BlockKind::Raw, &Limits::new())?
    /// else {
    ///     unreachable!()
    /// };
    /// let mut slots = [Var::default(); 64];
    /// let index = Vars::parse(packet.payload().as_bytes(), &Limits::new())?.index(&mut slots)?;
    /// let bytes: usize = index.pairs().iter().map(|(key, value)| key.len() + value.len()).sum();
    /// assert_eq!((index.pairs().len(), bytes), (16, 372 - 4 * 16));
    /// assert_eq!(index.get(b"REQUEST_METHOD"), Some(&b"GET"[..]));
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
    /// use uwsgi_wire::{Limits, Vars};
    /// // nginx 1.22 sends one HTTP_COOKIE per Cookie header line.
    /// let vars = Vars::parse(b"\x0b\x00HTTP_COOKIE\x03\x00a=1\x0b\x00HTTP_COOKIE\x03\x00b=2", &Limits::new())?;
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
    /// use uwsgi_wire::{Limits, Vars};
    /// let vars = Vars::parse(b"\x01\x00k\x01\x001\x01\x00k\x01\x002", &Limits::new())?;
    /// assert_eq!(vars.get_first(b"k"), Some(&b"1"[..]));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn get_first(&self, key: &[u8]) -> Option<&'a [u8]> {
        self.iter().first_value(key)
    }

    /// Every value whose key is `key`, in wire order.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, Vars};
    /// let vars = Vars::parse(b"\x01\x00k\x01\x001\x01\x00j\x00\x00\x01\x00k\x01\x002", &Limits::new())?;
    /// assert_eq!(vars.get_all(b"k").collect::<Vec<_>>(), [&b"1"[..], b"2"]);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn get_all<'k>(&self, key: &'k [u8]) -> impl Iterator<Item = &'a [u8]> + 'k
    where
        'a: 'k,
    {
        self.iter().all_values(key)
    }
    /// Offset of a sub-slice of the block in the caller's buffer.
    pub(crate) fn offset_of(&self, inner: &[u8]) -> usize {
        let within = (inner.as_ptr() as usize).saturating_sub(self.block.as_ptr() as usize);
        self.base.saturating_add(within)
    }
}

/// Iterator over the pairs of a [`Vars`] block, in wire order.
///
/// ```
/// use uwsgi_wire::{Limits, Vars};
/// let vars = Vars::parse(b"\x01\x00a\x01\x00b\x01\x00c\x00\x00", &Limits::new())?;
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
            .entries(self.iter().map(|(k, v)| (ByteStr(k), ByteStr(v))))
            .finish()
    }
}

/// An empty block (0 pairs).
///
/// ```
/// use uwsgi_wire::Vars;
/// assert!(Vars::default().is_empty());
/// assert_eq!(Vars::default().iter().next(), None);
/// ```
impl Default for Vars<'_> {
    fn default() -> Self {
        Vars::trusted(&[], 0, 0)
    }
}

/// Lookup by key, written once for every view: [`Vars`] (a walk of the block),
/// [`VarsIndex`](crate::VarsIndex) (a scan of its slots) and, through its [`Vars`],
/// [`OwnedVars`](crate::owned::OwnedVars). Implemented by the iterators over their pairs
/// in wire order; only the last-duplicate search differs between them, and only because the
/// slots can be scanned from the end.
///
/// Keys compare as bytes (`==` on slices: the lengths first, then the bytes).
pub(super) trait Lookup<'a>: Iterator<Item = Var<'a>> + Sized {
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
