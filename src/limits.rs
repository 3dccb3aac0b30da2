//! Configurable limits for parsing and encoding.

/// Limits applied when parsing and encoding.
///
/// The defaults accept every packet a real encoder can produce: a datasize up to the
/// 16-bit maximum and as many pairs or items as such a block can hold. Mirror a uWSGI
/// server with `max_datasize(4096)` (its default `buffer-size`) and `max_vars(128)`
/// (2 x its default `--max-vars` 64).
///
/// ```
/// use uwsgi_wire::{ErrorKind, Limits, Packet};
///
/// let strict = Limits::new().max_datasize(4096).max_vars(128);
/// // A header announcing 5000 bytes is refused before the block arrives.
/// let err = Packet::parse_with(&[0x00, 0x88, 0x13, 0x00], &strict).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::DatasizeOverLimit { datasize: 5000, limit: 4096 });
/// assert_eq!(err.offset(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    pub(crate) max_datasize: u16,
    pub(crate) max_vars: usize,
    pub(crate) max_items: usize,
}

/// The most pairs a 65535-byte vars block can hold: 5 bytes for the smallest pair
/// (1-byte key, empty value).
///
/// ```
/// use uwsgi_wire::{encode_vars, vars_encoded_len, Limits, Vars, MAX_PAIRS_IN_BLOCK};
///
/// // That many smallest pairs fill a 65535-byte block exactly; one more does not fit.
/// let pairs = vec![("k", ""); MAX_PAIRS_IN_BLOCK];
/// let mut block = vec![0u8; 65535];
/// assert_eq!(encode_vars(&pairs, &mut block)?, 65535);
/// assert_eq!(Vars::parse(&block)?.len(), MAX_PAIRS_IN_BLOCK);
/// assert!(vars_encoded_len(vec![("k", ""); MAX_PAIRS_IN_BLOCK + 1]).is_err());
/// assert_eq!(Limits::new().get_max_vars(), MAX_PAIRS_IN_BLOCK);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_PAIRS_IN_BLOCK: usize = u16::MAX as usize / 5;

/// The most items a 65535-byte array can hold: 2 bytes for the smallest (empty) item.
///
/// ```
/// use uwsgi_wire::{array_encoded_len, encode_array, Array, Limits, MAX_ITEMS_IN_BLOCK};
///
/// let items = vec![""; MAX_ITEMS_IN_BLOCK];
/// let mut block = vec![0u8; 65535];
/// let n = encode_array(&items, &mut block)?;
/// assert_eq!(n, 65534);
/// assert_eq!(Array::parse(&block[..n])?.len(), MAX_ITEMS_IN_BLOCK);
/// assert!(array_encoded_len(vec![""; MAX_ITEMS_IN_BLOCK + 1]).is_err());
/// assert_eq!(Limits::new().get_max_items(), MAX_ITEMS_IN_BLOCK);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_ITEMS_IN_BLOCK: usize = u16::MAX as usize / 2;

impl Limits {
    /// The defaults: `max_datasize` 65535, `max_vars` [`MAX_PAIRS_IN_BLOCK`] (13107),
    /// `max_items` [`MAX_ITEMS_IN_BLOCK`] (32767).
    ///
    /// ```
    /// use uwsgi_wire::Limits;
    /// assert_eq!(Limits::new(), Limits::default());
    /// assert_eq!(Limits::new().get_max_datasize(), 65535);
    /// ```
    pub const fn new() -> Self {
        Limits {
            max_datasize: u16::MAX,
            max_vars: MAX_PAIRS_IN_BLOCK,
            max_items: MAX_ITEMS_IN_BLOCK,
        }
    }

    /// The largest block accepted or produced (header datasize). uWSGI's default
    /// `buffer-size` is 4096 (header included there; here it bounds the block alone).
    ///
    /// ```
    /// use uwsgi_wire::Limits;
    /// assert_eq!(Limits::new().max_datasize(4096).get_max_datasize(), 4096);
    /// ```
    pub const fn max_datasize(mut self, max: u16) -> Self {
        self.max_datasize = max;
        self
    }

    /// The most key/value pairs in one vars block.
    ///
    /// ```
    /// use uwsgi_wire::Limits;
    /// assert_eq!(Limits::new().max_vars(128).get_max_vars(), 128);
    /// ```
    pub const fn max_vars(mut self, max: usize) -> Self {
        self.max_vars = max;
        self
    }

    /// The most items in one array (an RPC call has at most 255: name and 254 arguments).
    ///
    /// ```
    /// use uwsgi_wire::Limits;
    /// assert_eq!(Limits::new().max_items(255).get_max_items(), 255);
    /// ```
    pub const fn max_items(mut self, max: usize) -> Self {
        self.max_items = max;
        self
    }

    /// The configured datasize limit.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::Limits::new().get_max_datasize(), u16::MAX);
    /// ```
    pub const fn get_max_datasize(&self) -> u16 {
        self.max_datasize
    }

    /// The configured pair limit.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::Limits::new().get_max_vars(), 13107);
    /// ```
    pub const fn get_max_vars(&self) -> usize {
        self.max_vars
    }

    /// The configured item limit.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::Limits::new().get_max_items(), 32767);
    /// ```
    pub const fn get_max_items(&self) -> usize {
        self.max_items
    }
}

impl Limits {
    /// Refuses a header whose datasize is over `max_datasize`, before its block is read
    /// (offset 1, where the datasize starts).
    pub(crate) fn check_header(&self, header: &crate::Header) -> Result<(), crate::Error> {
        if header.datasize > self.max_datasize {
            return Err(crate::Error::new(
                crate::ErrorKind::DatasizeOverLimit {
                    datasize: header.datasize,
                    limit: self.max_datasize,
                },
                1,
            ));
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new()
    }
}
