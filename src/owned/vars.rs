//! A validated vars block that owns its bytes.

use core::fmt;

use bytes::Bytes;

use crate::wire::error::ParseError;
use crate::wire::limits::Limits;
use crate::wire::vars::Vars;

/// A validated vars block that owns its bytes (a cheap-to-clone [`Bytes`]).
///
/// ```
/// use bytes::Bytes;
/// use uwsgi_wire::{Limits, owned::OwnedVars};
///
/// let block = Bytes::from_static(b"\x0e\x00REQUEST_METHOD\x03\x00GET\x09\x00PATH_INFO\x01\x00/");
/// let vars = OwnedVars::parse(block.clone(), &Limits::new())?;
/// // A value is a slice of the same buffer, not a copy.
/// let method = vars.get(b"REQUEST_METHOD").unwrap();
/// assert_eq!(method, "GET");
/// assert_eq!(method.as_ptr(), block[18..].as_ptr());
/// // The borrowed view costs nothing to get back.
/// assert_eq!(vars.vars().len(), 2);
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct OwnedVars {
    pub(super) block: Bytes,
    pub(super) len: usize,
}

impl OwnedVars {
    /// Validates `block` as a vars block with the given limits (`max_vars`;
    /// [`Limits::new`] for the defaults).
    ///
    /// ```
    /// use uwsgi_wire::{Limits, ParseErrorKind, owned::OwnedVars};
    /// let err = OwnedVars::parse(bytes::Bytes::from_static(b"\x00\x00\x00\x00"), &Limits::new()).unwrap_err();
    /// assert_eq!(err.kind(), ParseErrorKind::EmptyKey);
    ///
    /// let block = bytes::Bytes::from_static(b"\x01\x00a\x00\x00\x01\x00b\x00\x00");
    /// let err = OwnedVars::parse(block, &Limits::new().max_vars(1)).unwrap_err();
    /// assert_eq!(err.kind(), ParseErrorKind::TooManyVars { limit: 1 });
    /// ```
    pub fn parse(block: Bytes, limits: &Limits) -> Result<Self, ParseError> {
        let len = Vars::parse(&block, limits)?.len();
        Ok(OwnedVars { block, len })
    }

    /// Copies a borrowed view into a new buffer (one allocation, one copy).
    ///
    /// ```
    /// use uwsgi_wire::{Limits, Vars};
    /// let vars = Vars::parse(b"\x01\x00a\x01\x00b", &Limits::new())?;
    /// let owned = uwsgi_wire::owned::OwnedVars::from_vars(&vars);
    /// assert_eq!(owned.vars(), vars);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn from_vars(vars: &Vars<'_>) -> Self {
        OwnedVars {
            block: Bytes::copy_from_slice(vars.as_bytes()),
            len: vars.len(),
        }
    }

    /// The borrowed view: O(1), no re-validation.
    ///
    /// ```
    /// use uwsgi_wire::{owned::OwnedVars, Limits};
    /// let owned = OwnedVars::parse(bytes::Bytes::from_static(b"\x01\x00k\x01\x00v"), &Limits::new())?;
    /// assert_eq!(owned.vars().get(b"k"), Some(&b"v"[..]));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn vars(&self) -> Vars<'_> {
        Vars::trusted(&self.block, self.len, 0)
    }

    /// The value of the last pair named `key` (as [`Vars::get`]), sharing the buffer.
    ///
    /// ```
    /// use uwsgi_wire::{owned::OwnedVars, Limits};
    /// let owned = OwnedVars::parse(bytes::Bytes::from_static(b"\x01\x00k\x01\x001\x01\x00k\x01\x002"), &Limits::new())?;
    /// assert_eq!(owned.get(b"k").unwrap(), "2");
    /// assert!(owned.get(b"nope").is_none());
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn get(&self, key: &[u8]) -> Option<Bytes> {
        self.vars().get(key).map(|v| self.share(v))
    }

    /// The value of the first pair named `key` (as [`Vars::get_first`]), sharing the
    /// buffer.
    ///
    /// ```
    /// use uwsgi_wire::{owned::OwnedVars, Limits};
    /// let owned = OwnedVars::parse(bytes::Bytes::from_static(b"\x01\x00k\x01\x001\x01\x00k\x01\x002"), &Limits::new())?;
    /// assert_eq!(owned.get_first(b"k").unwrap(), "1");
    /// assert!(owned.get_first(b"nope").is_none());
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn get_first(&self, key: &[u8]) -> Option<Bytes> {
        self.vars().get_first(key).map(|v| self.share(v))
    }

    /// Every value named `key` in wire order (as [`Vars::get_all`]), each sharing the
    /// buffer.
    ///
    /// ```
    /// use uwsgi_wire::{owned::OwnedVars, Limits};
    /// use bytes::Bytes;
    /// let owned = OwnedVars::parse(Bytes::from_static(b"\x01\x00k\x01\x001\x01\x00j\x00\x00\x01\x00k\x01\x002"), &Limits::new())?;
    /// assert_eq!(owned.get_all(b"k").collect::<Vec<_>>(), [Bytes::from("1"), Bytes::from("2")]);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn get_all<'k>(&'k self, key: &'k [u8]) -> impl Iterator<Item = Bytes> + 'k {
        self.vars().get_all(key).map(move |v| self.share(v))
    }

    /// Every pair in wire order as owned `(key, value)` slices of the same buffer.
    ///
    /// ```
    /// use uwsgi_wire::{owned::OwnedVars, Limits};
    /// let owned = OwnedVars::parse(bytes::Bytes::from_static(b"\x01\x00a\x01\x00b"), &Limits::new())?;
    /// let pairs: Vec<_> = owned.iter().collect();
    /// assert_eq!(pairs, [(bytes::Bytes::from("a"), bytes::Bytes::from("b"))]);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (Bytes, Bytes)> + '_ {
        self.vars()
            .iter()
            .map(move |(k, v)| (self.share(k), self.share(v)))
    }

    /// The block's wire bytes.
    ///
    /// ```
    /// use uwsgi_wire::{owned::OwnedVars, Limits};
    /// let block = bytes::Bytes::from_static(b"\x01\x00a\x01\x00b");
    /// assert_eq!(OwnedVars::parse(block.clone(), &Limits::new())?.as_bytes(), &block);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn as_bytes(&self) -> &Bytes {
        &self.block
    }

    /// A sub-slice of the block as a [`Bytes`] sharing the buffer.
    pub(crate) fn share(&self, inner: &[u8]) -> Bytes {
        // Every slice handed in comes from `self.vars()`, so it lies inside the block;
        // an empty slice is handled by `slice_ref` itself.
        self.block.slice_ref(inner)
    }
}

impl fmt::Debug for OwnedVars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.vars(), f)
    }
}
