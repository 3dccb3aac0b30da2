//! Builders that own their block (`alloc`): push pairs or items in caller order, each
//! checked as it is pushed, so the finished block always encodes.

use alloc::vec::Vec;

use crate::array::Array;
use crate::encode::{grow, item_prefix, pair_prefixes};
use crate::error::EncodeError;
use crate::limits::{Limits, MAX_ITEMS_IN_BLOCK, MAX_PAIRS_IN_BLOCK};
use crate::vars::Vars;

/// Builds a vars block in caller order, checking every pair as it is pushed, so the
/// finished block always encodes.
///
/// ```
/// use uwsgi_wire::{Modifier1, Packet, Payload, VarsBuilder};
///
/// let mut vars = VarsBuilder::new();
/// vars.push("REQUEST_METHOD", "POST")?
///     .push("CONTENT_LENGTH", "5")?
///     .push(b"HTTP_X_BYTES", b"\xff\x00")?;
/// assert_eq!(vars.len(), 3);
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
    /// An empty builder with the default limits (65535-byte block).
    ///
    /// ```
    /// assert!(uwsgi_wire::VarsBuilder::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::with_limits(Limits::new())
    }

    /// An empty builder enforcing `limits` (`max_datasize`, `max_vars`).
    ///
    /// ```
    /// use uwsgi_wire::{EncodeError, Limits, VarsBuilder};
    /// let mut vars = VarsBuilder::with_limits(Limits::new().max_datasize(8));
    /// assert_eq!(vars.push("KEY", "long value").unwrap_err(), EncodeError::BlockTooLarge { len: 17, limit: 8 });
    /// assert!(vars.is_empty());
    /// ```
    pub fn with_limits(limits: Limits) -> Self {
        VarsBuilder {
            block: Vec::new(),
            len: 0,
            limits,
        }
    }

    /// Appends a pair. On error nothing is appended.
    ///
    /// ```
    /// use uwsgi_wire::{EncodeError, VarsBuilder};
    /// let mut vars = VarsBuilder::new();
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
        let (key, value) = (key.as_ref(), value.as_ref());
        let [klen, vlen] = pair_prefixes(self.len, key, value)?;
        let add = 4 + key.len() + value.len();
        if self.len >= self.limits.max_vars.min(MAX_PAIRS_IN_BLOCK) {
            return Err(EncodeError::TooManyEntries {
                limit: self.limits.max_vars,
            });
        }
        grow(self.block.len(), add, self.limits.max_datasize)?;
        self.block.reserve(add);
        self.block.extend_from_slice(&klen.to_le_bytes());
        self.block.extend_from_slice(key);
        self.block.extend_from_slice(&vlen.to_le_bytes());
        self.block.extend_from_slice(value);
        self.len += 1;
        Ok(self)
    }

    /// The number of pairs pushed.
    ///
    /// ```
    /// let mut vars = uwsgi_wire::VarsBuilder::new();
    /// vars.push("A", "")?;
    /// assert_eq!(vars.len(), 1);
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no pair was pushed.
    ///
    /// ```
    /// assert!(uwsgi_wire::VarsBuilder::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The exact encoded length of the block so far.
    ///
    /// ```
    /// let mut vars = uwsgi_wire::VarsBuilder::new();
    /// vars.push("A", "bc")?;
    /// assert_eq!(vars.encoded_len(), 7);
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn encoded_len(&self) -> usize {
        self.block.len()
    }

    /// The block so far as a validated view (no copy).
    ///
    /// ```
    /// let mut vars = uwsgi_wire::VarsBuilder::new();
    /// vars.push("A", "1")?.push("A", "2")?;
    /// assert_eq!(vars.vars().get_all(b"A").count(), 2);
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn vars(&self) -> Vars<'_> {
        Vars::trusted(&self.block, self.len)
    }

    /// The block's wire bytes.
    ///
    /// ```
    /// let mut vars = uwsgi_wire::VarsBuilder::new();
    /// vars.push("A", "1")?;
    /// assert_eq!(vars.as_bytes(), b"\x01\x00A\x01\x001");
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.block
    }

    /// Empties the builder, keeping its allocation for the next block.
    ///
    /// ```
    /// let mut vars = uwsgi_wire::VarsBuilder::new();
    /// vars.push("A", "1")?;
    /// vars.clear();
    /// assert!(vars.is_empty() && vars.as_bytes().is_empty());
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn clear(&mut self) {
        self.block.clear();
        self.len = 0;
    }
}

/// Builds an array block (an RPC call, say) in caller order.
///
/// ```
/// use uwsgi_wire::{ArrayBuilder, Modifier1, Packet, Payload};
/// let mut call = ArrayBuilder::new();
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
    /// An empty builder with the default limits.
    ///
    /// ```
    /// assert!(uwsgi_wire::ArrayBuilder::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::with_limits(Limits::new())
    }

    /// An empty builder enforcing `limits` (`max_datasize`, `max_items`).
    ///
    /// ```
    /// use uwsgi_wire::{ArrayBuilder, EncodeError, Limits};
    /// let mut a = ArrayBuilder::with_limits(Limits::new().max_items(1));
    /// a.push("f")?;
    /// assert_eq!(a.push("x").unwrap_err(), EncodeError::TooManyEntries { limit: 1 });
    /// # Ok::<(), EncodeError>(())
    /// ```
    pub fn with_limits(limits: Limits) -> Self {
        ArrayBuilder {
            block: Vec::new(),
            len: 0,
            limits,
        }
    }

    /// Appends an item. On error nothing is appended.
    ///
    /// ```
    /// let mut a = uwsgi_wire::ArrayBuilder::new();
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

    /// The number of items pushed.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::ArrayBuilder::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no item was pushed.
    ///
    /// ```
    /// assert!(uwsgi_wire::ArrayBuilder::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The exact encoded length of the block so far.
    ///
    /// ```
    /// let mut a = uwsgi_wire::ArrayBuilder::new();
    /// a.push("abc")?;
    /// assert_eq!(a.encoded_len(), 5);
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn encoded_len(&self) -> usize {
        self.block.len()
    }

    /// The block so far as a validated view.
    ///
    /// ```
    /// let mut a = uwsgi_wire::ArrayBuilder::new();
    /// a.push("x")?;
    /// assert_eq!(a.array().get(0), Some(&b"x"[..]));
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn array(&self) -> Array<'_> {
        Array::trusted(&self.block, self.len)
    }

    /// The block's wire bytes.
    ///
    /// ```
    /// let mut a = uwsgi_wire::ArrayBuilder::new();
    /// a.push("x")?;
    /// assert_eq!(a.as_bytes(), b"\x01\x00x");
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.block
    }

    /// Empties the builder, keeping its allocation.
    ///
    /// ```
    /// let mut a = uwsgi_wire::ArrayBuilder::new();
    /// a.push("x")?;
    /// a.clear();
    /// assert!(a.is_empty());
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn clear(&mut self) {
        self.block.clear();
        self.len = 0;
    }
}
