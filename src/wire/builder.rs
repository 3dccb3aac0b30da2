//! Builders that own their block (`alloc`): push pairs or items in caller order, each
//! checked as it is pushed, so the finished block always encodes.

use alloc::vec::Vec;

use crate::wire::array::Array;
use crate::wire::encode::{grow, item_prefix, len_prefixes, pair_prefixes};
use crate::wire::error::EncodeError;
use crate::wire::field::split_field;
use crate::wire::limits::{Limits, MAX_ITEMS_IN_BLOCK, MAX_PAIRS_IN_BLOCK};
use crate::wire::vars::Vars;

/// Builds a vars block in caller order, checking every pair as it is pushed, so the
/// finished block always encodes.
///
/// ```
/// use uwsgi_wire::{Modifier1, Packet, Payload, VarsBuilder};
///
/// let mut vars = VarsBuilder::default();
/// vars.push("REQUEST_METHOD", "POST")?
///     .push("CONTENT_LENGTH", "5")?
///     .push(b"HTTP_X_BYTES", b"\xff\x00")?;
/// assert_eq!(vars.vars().len(), 3);
/// assert_eq!(vars.vars().get(b"CONTENT_LENGTH"), Some(&b"5"[..]));
///
/// let mut wire = Vec::new();
/// Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars.vars()))?.encode_to(&mut wire)?;
/// wire.extend_from_slice(b"hello"); // the body follows the packet
/// # Ok::<(), uwsgi_wire::EncodeError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VarsBuilder {
    block: Vec<u8>,
    len: usize,
    limits: Limits,
}

impl VarsBuilder {
    /// An empty builder enforcing `limits` (`max_datasize`, `max_vars`) in every push or
    /// set. [`VarsBuilder::default`] has the default limits ([`Limits::new`]: a
    /// 65535-byte block).
    ///
    /// ```
    /// use uwsgi_wire::{EncodeError, Limits, VarsBuilder};
    /// let mut vars = VarsBuilder::new(Limits::new().max_datasize(8));
    /// assert_eq!(vars.push("KEY", "long value").unwrap_err(), EncodeError::BlockTooLarge { len: 17, limit: 8 });
    /// assert!(vars.vars().is_empty());
    /// assert!(VarsBuilder::default().vars().is_empty());
    /// assert_eq!(VarsBuilder::default(), VarsBuilder::new(Limits::new()));
    /// ```
    pub fn new(limits: Limits) -> Self {
        VarsBuilder {
            block: Vec::new(),
            len: 0,
            limits,
        }
    }

    /// A builder holding a copy of `vars` (one allocation, one copy), enforcing `limits`
    /// (`max_datasize`, `max_vars`) here and in every later push or set: the start of an
    /// edit with [`set`](VarsBuilder::set) and [`remove`](VarsBuilder::remove), as a
    /// proxy rewrites the vars it forwards.
    ///
    /// The same as pushing every pair of `vars` in order into [`VarsBuilder::new`], and
    /// fails where that would: [`EncodeError::BlockTooLarge`] (`len`: the length with the
    /// first pair that does not fit) for a view parsed from a slice longer than a block
    /// can be or over `max_datasize`, [`EncodeError::TooManyEntries`] for more than
    /// `max_vars` or [`MAX_PAIRS_IN_BLOCK`] pairs. With [`Limits::new`], a view of a
    /// packet's block always fits.
    ///
    /// ```
    /// use uwsgi_wire::{EncodeError, Limits, Vars, VarsBuilder};
    ///
    /// let vars = Vars::parse(b"\x0b\x00REMOTE_ADDR\x08\x0010.0.0.1\x09\x00PATH_INFO\x01\x00/", &Limits::new())?;
    /// let mut builder = VarsBuilder::from_vars(&vars, Limits::new())?;
    /// assert_eq!(builder.vars(), vars);
    /// builder.set("REMOTE_ADDR", "192.0.2.7")?;
    /// assert_eq!(builder.vars().get(b"REMOTE_ADDR"), Some(&b"192.0.2.7"[..]));
    ///
    /// // One pair with a 65535-byte value is a valid view but more than a block holds.
    /// let mut long = b"\x01\x00k\xff\xff".to_vec();
    /// long.resize(5 + 65535, b'v');
    /// let err = VarsBuilder::from_vars(&Vars::parse(&long, &Limits::new())?, Limits::new()).unwrap_err();
    /// assert_eq!(err, EncodeError::BlockTooLarge { len: 65540, limit: 65535 });
    ///
    /// // Tighter limits refuse where a push would.
    /// let vars = Vars::parse(b"\x01\x00A\x01\x001\x01\x00B\x01\x002\x01\x00C\x01\x003", &Limits::new())?;
    /// let two = Limits::new().max_vars(2);
    /// let err = VarsBuilder::from_vars(&vars, two).unwrap_err();
    /// assert_eq!(err, EncodeError::TooManyEntries { limit: 2 });
    /// let err = VarsBuilder::from_vars(&vars, Limits::new().max_datasize(10)).unwrap_err();
    /// assert_eq!(err, EncodeError::BlockTooLarge { len: 12, limit: 10 });
    ///
    /// let mut builder = VarsBuilder::from_vars(&vars, Limits::new().max_vars(3))?;
    /// assert_eq!(builder.vars().len(), 3);
    /// assert_eq!(builder.push("D", "4").unwrap_err(), EncodeError::TooManyEntries { limit: 3 });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_vars(vars: &Vars<'_>, limits: Limits) -> Result<Self, EncodeError> {
        let mut out = Self::new(limits);
        let block = vars.as_bytes();
        // A view is validated (non-empty keys, 16-bit lengths), so when the whole block
        // fits both limits every push would succeed: copy it at once.
        if vars.len() <= limits.max_vars.min(MAX_PAIRS_IN_BLOCK)
            && block.len() <= usize::from(limits.max_datasize)
        {
            out.block.extend_from_slice(block);
            out.len = vars.len();
            return Ok(out);
        }
        // Over a limit: push pair by pair, to fail exactly where `push` does.
        for (key, value) in vars {
            out.push(key, value)?;
        }
        Ok(out)
    }

    /// Room for `additional` more bytes of block, allocated at once (a hint: the
    /// limits are checked by each push, as always).
    #[cfg(feature = "http")]
    pub(crate) fn reserve(&mut self, additional: usize) {
        let room = usize::from(self.limits.max_datasize).saturating_sub(self.block.len());
        self.block.reserve(additional.min(room));
    }

    /// A builder with the default limits holding `block`, `len` pairs a caller wrote
    /// itself and checked against those limits (`NginxParams`' fast path: no pair
    /// over 16 bits, the block within `max_datasize`, at most `max_vars` pairs, no
    /// key empty).
    #[cfg(feature = "http")]
    pub(crate) fn written(block: Vec<u8>, len: usize) -> Self {
        debug_assert!(len <= MAX_PAIRS_IN_BLOCK && block.len() <= usize::from(u16::MAX));
        VarsBuilder {
            block,
            len,
            limits: Limits::new(),
        }
    }

    /// Appends a pair. On error nothing is appended.
    ///
    /// ```
    /// use uwsgi_wire::{EncodeError, VarsBuilder};
    /// let mut vars = VarsBuilder::default();
    /// vars.push("A", "1")?;
    /// assert_eq!(vars.push("", "x").unwrap_err(), EncodeError::EmptyKey { index: 1 });
    /// let huge = vec![b'x'; 65536];
    /// assert_eq!(vars.push("BIG", &huge).unwrap_err(), EncodeError::ValueTooLong { index: 1, len: 65536 });
    /// # Ok::<(), EncodeError>(())
    /// ```
    pub fn push(
        &mut self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<&mut Self, EncodeError> {
        let key = key.as_ref();
        self.push_mapped(key, &[], |b| b, value.as_ref())
    }

    /// Pushes the pair whose key is `prefix` then `name` with `map` applied to each
    /// byte, made as it is copied in: a header's CGI name (`HTTP_` and the name upper
    /// case, `-` as `_`) with no buffer of its own.
    pub(crate) fn push_mapped(
        &mut self,
        prefix: &[u8],
        name: &[u8],
        map: impl Fn(u8) -> u8,
        value: &[u8],
    ) -> Result<&mut Self, EncodeError> {
        let key_len = prefix.len() + name.len();
        let [klen, vlen] = len_prefixes(self.len, key_len, value.len())?;
        let add = 4 + key_len + value.len();
        if self.len >= self.limits.max_vars.min(MAX_PAIRS_IN_BLOCK) {
            return Err(EncodeError::TooManyEntries {
                limit: self.limits.max_vars,
            });
        }
        grow(self.block.len(), add, self.limits.max_datasize)?;
        self.block.reserve(add);
        self.block.extend_from_slice(&klen.to_le_bytes());
        self.block.extend_from_slice(prefix);
        self.block.extend(name.iter().map(|&b| map(b)));
        self.block.extend_from_slice(&vlen.to_le_bytes());
        self.block.extend_from_slice(value);
        self.len += 1;
        Ok(self)
    }

    /// The block, for a caller that sends it (the client driver, which writes the
    /// packet header in front of it).
    #[cfg(feature = "client")]
    pub(crate) fn into_block(self) -> Vec<u8> {
        self.block
    }

    /// Sets `key` to `value`: afterwards exactly one pair has the key `key` (compared as
    /// bytes, as [`Vars::get`] does).
    ///
    /// - When pairs with that key exist, the first one's value becomes `value`, in its
    ///   place, and every later one is removed (`vars().len()` drops by their
    ///   number).
    /// - When none does, the pair is appended, as [`push`](VarsBuilder::push) would.
    ///
    /// Every other pair keeps its place and order. The checks are `push`'s, on the block
    /// as it would be after the edit, with `index` the position the pair takes:
    /// [`EncodeError::EmptyKey`], [`EncodeError::KeyTooLong`],
    /// [`EncodeError::ValueTooLong`], [`EncodeError::BlockTooLarge`] (`max_datasize`), and
    /// [`EncodeError::TooManyEntries`] (`max_vars`) only when the pair is appended. On
    /// error nothing changes.
    ///
    /// ```
    /// use uwsgi_wire::{EncodeError, Limits, VarsBuilder};
    ///
    /// let mut vars = VarsBuilder::default();
    /// vars.push("HTTP_COOKIE", "a=1")?.push("PATH_INFO", "/")?.push("HTTP_COOKIE", "b=2")?;
    /// vars.set("HTTP_COOKIE", "a=1; b=2")?.set("REMOTE_ADDR", "192.0.2.7")?;
    /// let pairs: Vec<_> = vars.vars().iter().collect();
    /// assert_eq!(pairs, [
    ///     (&b"HTTP_COOKIE"[..], &b"a=1; b=2"[..]), // the first one's place
    ///     (b"PATH_INFO", b"/"),
    ///     (b"REMOTE_ADDR", b"192.0.2.7"),          // appended
    /// ]);
    ///
    /// let huge = vec![b'x'; 65536];
    /// assert_eq!(vars.set("PATH_INFO", &huge).unwrap_err(), EncodeError::ValueTooLong { index: 1, len: 65536 });
    /// let mut full = VarsBuilder::new(Limits::new().max_vars(1));
    /// full.push("A", "1")?;
    /// full.set("A", "2")?; // replacing needs no room
    /// assert_eq!(full.set("B", "1").unwrap_err(), EncodeError::TooManyEntries { limit: 1 });
    /// assert_eq!(full.as_bytes(), b"\x01\x00A\x01\x002");
    /// # Ok::<(), EncodeError>(())
    /// ```
    pub fn set(
        &mut self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<&mut Self, EncodeError> {
        let (key, value) = (key.as_ref(), value.as_ref());
        // The first pair with the key (its index and where it starts), and how many
        // bytes all the pairs with the key take.
        let mut first = None;
        let mut matched_bytes = 0usize;
        for (index, (start, end, k)) in spans(&self.block).enumerate() {
            if k == key {
                first = first.or(Some((index, start)));
                matched_bytes += end - start;
            }
        }
        let Some((index, start)) = first else {
            return self.push(key, value);
        };
        let [klen, vlen] = pair_prefixes(index, key, value)?;
        let add = 4 + key.len() + value.len();
        grow(
            self.block.len().saturating_sub(matched_bytes),
            add,
            self.limits.max_datasize,
        )?;
        // Every pair with the key goes, the first included; the new one takes its place.
        let removed = self.remove_from(start, key);
        let pair = klen
            .to_le_bytes()
            .into_iter()
            .chain(key.iter().copied())
            .chain(vlen.to_le_bytes())
            .chain(value.iter().copied());
        self.block.splice(start..start, pair);
        self.len = self.len.saturating_sub(removed) + 1;
        Ok(self)
    }

    /// Removes every pair whose key is `key` (compared as bytes), keeping the others in
    /// their order; returns how many were removed (0 when there was none). Never fails:
    /// the block only shrinks.
    ///
    /// ```
    /// let mut vars = uwsgi_wire::VarsBuilder::default();
    /// vars.push("HTTP_X_DUP", "a")?.push("PATH_INFO", "/")?.push("HTTP_X_DUP", "b")?;
    /// assert_eq!(vars.remove(b"HTTP_X_DUP"), 2);
    /// assert_eq!(vars.remove("MISSING"), 0);
    /// assert_eq!(vars.vars().len(), 1);
    /// assert_eq!(vars.as_bytes(), b"\x09\x00PATH_INFO\x01\x00/");
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn remove(&mut self, key: impl AsRef<[u8]>) -> usize {
        let removed = self.remove_from(0, key.as_ref());
        self.len = self.len.saturating_sub(removed);
        removed
    }

    /// Removes every pair with the key `key` from byte `from` (a pair boundary) on, in
    /// place: each kept pair moves down over the removed ones. Returns how many went; the
    /// caller adjusts `len`.
    fn remove_from(&mut self, from: usize, key: &[u8]) -> usize {
        let (mut read, mut write, mut removed) = (from, from, 0usize);
        while let Some((end, matched)) = pair_at(&self.block, read).map(|(end, k)| (end, k == key))
        {
            if matched {
                removed += 1;
            } else {
                if write != read {
                    self.block.copy_within(read..end, write);
                }
                write += end - read;
            }
            read = end;
        }
        self.block.truncate(write);
        removed
    }

    /// The block so far as a validated view (no copy).
    ///
    /// ```
    /// let mut vars = uwsgi_wire::VarsBuilder::default();
    /// vars.push("A", "1")?.push("A", "2")?;
    /// assert_eq!(vars.vars().get_all(b"A").count(), 2);
    /// assert_eq!(vars.vars().len(), 2);
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn vars(&self) -> Vars<'_> {
        Vars::trusted(&self.block, self.len, 0)
    }

    /// The block's wire bytes; their length is the block's exact encoded length.
    ///
    /// ```
    /// let mut vars = uwsgi_wire::VarsBuilder::default();
    /// vars.push("A", "1")?;
    /// assert_eq!(vars.as_bytes(), b"\x01\x00A\x01\x001");
    /// vars.push("B", "cd")?;
    /// assert_eq!(vars.as_bytes().len(), 6 + 7);
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.block
    }

    /// Empties the builder, keeping its allocation for the next block.
    ///
    /// ```
    /// let mut vars = uwsgi_wire::VarsBuilder::default();
    /// vars.push("A", "1")?;
    /// vars.clear();
    /// assert!(vars.vars().is_empty() && vars.as_bytes().is_empty());
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn clear(&mut self) {
        self.block.clear();
        self.len = 0;
    }
}

/// The pair of a (valid) block that starts at byte `at`: where it ends, and its key;
/// `None` at the end of the block.
fn pair_at(block: &[u8], at: usize) -> Option<(usize, &[u8])> {
    let (key, rest) = split_field(block.get(at..)?)?;
    let (_, rest) = split_field(rest)?;
    Some((block.len() - rest.len(), key))
}

/// The pairs of a (valid) block as `(start, end, key)`, in order.
fn spans(block: &[u8]) -> impl Iterator<Item = (usize, usize, &[u8])> {
    let mut at = 0;
    core::iter::from_fn(move || {
        let (end, key) = pair_at(block, at)?;
        let start = core::mem::replace(&mut at, end);
        Some((start, end, key))
    })
}

/// Builds an array block (an RPC call, say) in caller order.
///
/// ```
/// use uwsgi_wire::{ArrayBuilder, Modifier1, Packet, Payload};
/// let mut call = ArrayBuilder::default();
/// call.push("hello")?.push("world")?;
/// let packet = Packet::new(Modifier1::RPC, 0, Payload::Array(call.array()))?;
/// let mut buf = [0u8; 32];
/// let n = packet.encode(&mut buf)?;
/// assert_eq!(&buf[..n], b"\xad\x0e\x00\x00\x05\x00hello\x05\x00world");
/// # Ok::<(), uwsgi_wire::EncodeError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArrayBuilder {
    block: Vec<u8>,
    len: usize,
    limits: Limits,
}

impl ArrayBuilder {
    /// An empty builder enforcing `limits` (`max_datasize`, `max_items`) in every push.
    /// [`ArrayBuilder::default`] has the default limits ([`Limits::new`]).
    ///
    /// ```
    /// use uwsgi_wire::{ArrayBuilder, EncodeError, Limits};
    /// let mut a = ArrayBuilder::new(Limits::new().max_items(1));
    /// a.push("f")?;
    /// assert_eq!(a.push("x").unwrap_err(), EncodeError::TooManyEntries { limit: 1 });
    /// assert!(ArrayBuilder::default().array().is_empty());
    /// assert_eq!(ArrayBuilder::default(), ArrayBuilder::new(Limits::new()));
    /// # Ok::<(), EncodeError>(())
    /// ```
    pub fn new(limits: Limits) -> Self {
        ArrayBuilder {
            block: Vec::new(),
            len: 0,
            limits,
        }
    }

    /// Appends an item. On error nothing is appended.
    ///
    /// ```
    /// let mut a = uwsgi_wire::ArrayBuilder::default();
    /// a.push("")?;
    /// assert_eq!(a.as_bytes(), b"\x00\x00");
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn push(&mut self, item: impl AsRef<[u8]>) -> Result<&mut Self, EncodeError> {
        let item = item.as_ref();
        let prefix = item_prefix(self.len, item)?;
        let add = 2 + item.len();
        if self.len >= self.limits.max_items.min(MAX_ITEMS_IN_BLOCK) {
            return Err(EncodeError::TooManyEntries {
                limit: self.limits.max_items,
            });
        }
        grow(self.block.len(), add, self.limits.max_datasize)?;
        self.block.extend_from_slice(&prefix.to_le_bytes());
        self.block.extend_from_slice(item);
        self.len += 1;
        Ok(self)
    }

    /// The block so far as a validated view.
    ///
    /// ```
    /// let mut a = uwsgi_wire::ArrayBuilder::default();
    /// assert_eq!(a.array().len(), 0);
    /// a.push("x")?;
    /// assert_eq!(a.array().get(0), Some(&b"x"[..]));
    /// assert_eq!(a.array().len(), 1);
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn array(&self) -> Array<'_> {
        Array::trusted(&self.block, self.len)
    }

    /// The block's wire bytes; their length is the block's exact encoded length.
    ///
    /// ```
    /// let mut a = uwsgi_wire::ArrayBuilder::default();
    /// a.push("x")?;
    /// assert_eq!(a.as_bytes(), b"\x01\x00x");
    /// a.push("abc")?;
    /// assert_eq!(a.as_bytes().len(), 3 + 5);
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.block
    }

    /// Empties the builder, keeping its allocation.
    ///
    /// ```
    /// let mut a = uwsgi_wire::ArrayBuilder::default();
    /// a.push("x")?;
    /// a.clear();
    /// assert!(a.array().is_empty());
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn clear(&mut self) {
        self.block.clear();
        self.len = 0;
    }
}
