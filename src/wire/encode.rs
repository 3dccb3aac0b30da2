//! Encoding vars and array blocks: exact length first, then the bytes.
//!
//! Every length is checked with `u16::try_from`, never cast: a key, value, item or block
//! over 65535 bytes is an [`EncodeError`], never a wrapped length.

use crate::wire::error::EncodeError;

/// A key/value pair to encode: `(key, value)` tuples of anything that is `AsRef<[u8]>`
/// (`&str`, `&[u8]`, `String`, `Vec<u8>`, ...), or a reference to one.
///
/// ```
/// use uwsgi_wire::Pair;
/// let pair = ("KEY", b"value".to_vec());
/// assert_eq!((pair.key(), pair.value()), (&b"KEY"[..], &b"value"[..]));
/// ```
pub trait Pair {
    /// The key bytes.
    ///
    /// Implement the trait for a type of your own to encode it without building tuples:
    ///
    /// ```
    /// use uwsgi_wire::{encode_vars, Limits, Pair, Vars};
    ///
    /// struct Param {
    ///     name: &'static str,
    ///     value: Vec<u8>,
    /// }
    ///
    /// impl Pair for Param {
    ///     fn key(&self) -> &[u8] {
    ///         self.name.as_bytes()
    ///     }
    ///     fn value(&self) -> &[u8] {
    ///         &self.value
    ///     }
    /// }
    ///
    /// let param = Param { name: "PATH_INFO", value: b"/".to_vec() };
    /// assert_eq!(param.key(), b"PATH_INFO");
    /// let mut buf = [0u8; 32];
    /// let n = encode_vars([&param], &mut buf)?;
    /// assert_eq!(Vars::parse(&buf[..n], &Limits::new())?.get(b"PATH_INFO"), Some(&b"/"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn key(&self) -> &[u8];
    /// The value bytes.
    ///
    /// ```
    /// use uwsgi_wire::Pair;
    /// // nginx sends an empty CONTENT_TYPE with a GET: empty values are fine.
    /// assert_eq!(("CONTENT_TYPE", "").value(), b"");
    /// assert_eq!((b"HTTP_X".as_slice(), vec![0xff]).value(), [0xff]);
    /// ```
    fn value(&self) -> &[u8];
}

impl<K: AsRef<[u8]>, V: AsRef<[u8]>> Pair for (K, V) {
    fn key(&self) -> &[u8] {
        self.0.as_ref()
    }
    fn value(&self) -> &[u8] {
        self.1.as_ref()
    }
}

impl<T: Pair + ?Sized> Pair for &T {
    fn key(&self) -> &[u8] {
        (**self).key()
    }
    fn value(&self) -> &[u8] {
        (**self).value()
    }
}

/// The 16-bit length prefixes of one pair, after checking them.
///
/// `#[inline]`, as the other helpers here: the encoders are generic, so they are
/// compiled in the caller's crate, where a non-`#[inline]` helper is an out-of-line call
/// per pair returning its `Result` through memory (1.2x the instructions and 1.37x the
/// time of a hand-written encoder; BENCHMARKS.md).
#[inline]
pub(crate) fn pair_prefixes(
    index: usize,
    key: &[u8],
    value: &[u8],
) -> Result<[u16; 2], EncodeError> {
    len_prefixes(index, key.len(), value.len())
}

/// [`pair_prefixes`] of a key and a value of these lengths.
pub(crate) fn len_prefixes(
    index: usize,
    key_len: usize,
    value_len: usize,
) -> Result<[u16; 2], EncodeError> {
    if key_len == 0 {
        return Err(EncodeError::EmptyKey { index });
    }
    let klen = u16::try_from(key_len).map_err(|_| EncodeError::KeyTooLong {
        index,
        len: key_len,
    })?;
    let vlen = u16::try_from(value_len).map_err(|_| EncodeError::ValueTooLong {
        index,
        len: value_len,
    })?;
    Ok([klen, vlen])
}

/// The size one pair adds to a block.
#[inline]
fn pair_len(index: usize, key: &[u8], value: &[u8]) -> Result<usize, EncodeError> {
    let [klen, vlen] = pair_prefixes(index, key, value)?;
    Ok(4 + usize::from(klen) + usize::from(vlen))
}

/// The 16-bit length prefix of one array item, after checking it.
#[inline]
pub(crate) fn item_prefix(index: usize, item: &[u8]) -> Result<u16, EncodeError> {
    u16::try_from(item.len()).map_err(|_| EncodeError::ItemTooLong {
        index,
        len: item.len(),
    })
}

#[inline]
fn item_len(index: usize, item: &[u8]) -> Result<usize, EncodeError> {
    Ok(2 + usize::from(item_prefix(index, item)?))
}

/// Adds `add` to a block length, failing once it passes `limit`.
#[inline]
pub(crate) fn grow(len: usize, add: usize, limit: u16) -> Result<usize, EncodeError> {
    let new = len.saturating_add(add);
    if new > usize::from(limit) {
        return Err(EncodeError::BlockTooLarge { len: new, limit });
    }
    Ok(new)
}

/// The exact length of the vars block `pairs` encode to, or why they cannot be encoded
/// (an empty key, a key or value over 65535 bytes, a block over 65535 bytes).
fn vars_encoded_len<I>(pairs: I) -> Result<usize, EncodeError>
where
    I: IntoIterator,
    I::Item: Pair,
{
    let mut len = 0usize;
    for (index, pair) in pairs.into_iter().enumerate() {
        len = grow(len, pair_len(index, pair.key(), pair.value())?, u16::MAX)?;
    }
    Ok(len)
}

/// The exact length of the array block `items` encode to, or why they cannot be encoded.
fn array_encoded_len<I>(items: I) -> Result<usize, EncodeError>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let mut len = 0usize;
    for (index, item) in items.into_iter().enumerate() {
        len = grow(len, item_len(index, item.as_ref())?, u16::MAX)?;
    }
    Ok(len)
}

/// Writes length-prefixed fields into a slice whose size was checked beforehand; a write
/// past the end is reported (`None`), never a panic or a silent truncation. Inlined, with
/// the 2-byte prefix stored directly: an out-of-line call and a `memcpy` per field made
/// `encode_vars` 1.8x slower (BENCHMARKS.md).
///
/// It keeps no count of what it wrote (the caller takes it from what is left,
/// [`SliceWriter::written`]): one value fewer live across the `memcpy` calls keeps the
/// output pointer in a register instead of a stack slot reloaded per field (encode_vars
/// went from 1.19x to within 1.1x of a hand-written encoder; BENCHMARKS.md).
struct SliceWriter<'b> {
    rest: &'b mut [u8],
}

impl SliceWriter<'_> {
    #[inline]
    fn put_field(&mut self, field: &[u8]) -> Option<()> {
        let len = u16::try_from(field.len()).ok()?;
        let (prefix, rest) = core::mem::take(&mut self.rest).split_first_chunk_mut::<2>()?;
        *prefix = len.to_le_bytes();
        let (dst, rest) = rest.split_at_mut_checked(field.len())?;
        dst.copy_from_slice(field);
        self.rest = rest;
        Some(())
    }

    /// The bytes written into a buffer of `len` bytes.
    #[inline]
    fn written(&self, len: usize) -> usize {
        len.saturating_sub(self.rest.len())
    }
}

/// Encodes `pairs`, in order, as a vars block at the start of `buf`; returns its length.
/// Nothing is allocated; nothing is written when it fails. The pairs are walked twice
/// (length, then bytes), hence `Clone`.
///
/// The length is checked before anything is written, so a `buf` that is too small
/// reports the exact length needed ([`EncodeError::BufferTooSmall`]); encoding into an
/// empty slice is how to size a buffer first. Every other error (an empty key, a key or
/// value over 65535 bytes, a block over 65535 bytes) comes first, whatever `buf` is.
///
/// ```
/// use uwsgi_wire::{encode_vars, EncodeError, Limits, Vars};
/// let mut buf = [0u8; 64];
/// let n = encode_vars([("REQUEST_METHOD", "GET"), ("CONTENT_TYPE", "")], &mut buf)?;
/// let vars = Vars::parse(&buf[..n], &Limits::new())?;
/// assert_eq!(vars.get(b"REQUEST_METHOD"), Some(&b"GET"[..]));
///
/// // The exact length, before any buffer exists.
/// let needed = encode_vars([("REQUEST_METHOD", "GET")], &mut []);
/// assert_eq!(needed, Err(EncodeError::BufferTooSmall { needed: 2 + 14 + 2 + 3, available: 0 }));
/// assert_eq!(encode_vars([("", "x")], &mut []), Err(EncodeError::EmptyKey { index: 0 }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_vars<I>(pairs: I, buf: &mut [u8]) -> Result<usize, EncodeError>
where
    I: IntoIterator + Clone,
    I::Item: Pair,
{
    let needed = vars_encoded_len(pairs.clone())?;
    let available = buf.len();
    if needed > available {
        return Err(EncodeError::BufferTooSmall { needed, available });
    }
    let mut w = SliceWriter { rest: buf };
    for pair in pairs {
        // The pairs are walked a second time: an iterator that yields more than it did
        // the first time is caught here, as a buffer that is too small.
        w.put_field(pair.key())
            .and_then(|()| w.put_field(pair.value()))
            .ok_or(EncodeError::BufferTooSmall { needed, available })?;
    }
    Ok(w.written(available))
}

/// Encodes `items`, in order, as an array block at the start of `buf`; returns its
/// length. Nothing is allocated; nothing is written when it fails. As with
/// [`encode_vars`], a `buf` too small reports the exact length needed
/// ([`EncodeError::BufferTooSmall`]), so an empty slice sizes a buffer first.
///
/// ```
/// use uwsgi_wire::{encode_array, EncodeError};
/// let mut buf = [0u8; 16];
/// let n = encode_array(["hello", "world"], &mut buf)?;
/// assert_eq!(&buf[..n], b"\x05\x00hello\x05\x00world");
///
/// let needed = encode_array(["hello", ""], &mut []);
/// assert_eq!(needed, Err(EncodeError::BufferTooSmall { needed: 2 + 5 + 2, available: 0 }));
/// assert_eq!(encode_array::<[&str; 0]>([], &mut []), Ok(0));
/// # Ok::<(), uwsgi_wire::EncodeError>(())
/// ```
pub fn encode_array<I>(items: I, buf: &mut [u8]) -> Result<usize, EncodeError>
where
    I: IntoIterator + Clone,
    I::Item: AsRef<[u8]>,
{
    let needed = array_encoded_len(items.clone())?;
    let available = buf.len();
    if needed > available {
        return Err(EncodeError::BufferTooSmall { needed, available });
    }
    let mut w = SliceWriter { rest: buf };
    for item in items {
        w.put_field(item.as_ref())
            .ok_or(EncodeError::BufferTooSmall { needed, available })?;
    }
    Ok(w.written(available))
}

/// Fails when `buf` cannot take `needed` more bytes (`BufMut::put_slice` would panic).
#[cfg(feature = "alloc")]
pub(crate) fn check_room<B: bytes::BufMut>(buf: &B, needed: usize) -> Result<(), EncodeError> {
    let available = buf.remaining_mut();
    if needed > available {
        return Err(EncodeError::BufferTooSmall { needed, available });
    }
    Ok(())
}
