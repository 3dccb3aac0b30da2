//! Configurable limits for parsing and encoding.

use crate::wire::error::{ParseError, ParseErrorKind};
use crate::wire::header::Header;

/// Limits on everything in a packet that could grow, and on the body after it: applied
/// when parsing, encoding and framing exchanges ([`exchange`](crate::exchange)), the
/// same on both sides. (How long a response head may be is the client side's alone:
/// [`ClientExchange::max_head`](crate::exchange::ClientExchange::max_head).)
///
/// The defaults accept everything the real peers send: a datasize up to the 16-bit
/// maximum, as many pairs or items as such a block can hold, and a body of any size
/// (bodies are streamed, never buffered). Mirror a uWSGI server with
/// `max_datasize(4096)` (its default `buffer-size`) and `max_vars(128)` (2 x its
/// default `--max-vars` 64). Each limit is set with the method of its name:
///
/// ```
/// use uwsgi_wire::{ParseErrorKind, Limits, Packet};
///
/// let strict = Limits::new().max_datasize(4096).max_vars(128);
/// // A header announcing 5000 bytes is refused before the block arrives.
/// let err = Packet::parse(&[0x00, 0x88, 0x13, 0x00], &strict).unwrap_err();
/// assert_eq!(err.kind(), ParseErrorKind::DatasizeOverLimit { datasize: 5000, limit: 4096 });
/// assert_eq!(err.offset(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    pub(crate) max_datasize: u16,
    pub(crate) max_vars: usize,
    pub(crate) max_items: usize,
    pub(crate) max_body: u64,
}

/// The most pairs a 65535-byte vars block can hold: 5 bytes for the smallest pair
/// (1-byte key, empty value).
///
/// ```
/// use uwsgi_wire::{encode_vars, EncodeError, Limits, Vars, MAX_PAIRS_IN_BLOCK};
///
/// // That many smallest pairs fill a 65535-byte block exactly; one more does not fit.
/// let pairs = vec![("k", ""); MAX_PAIRS_IN_BLOCK];
/// let mut block = vec![0u8; 65535];
/// assert_eq!(encode_vars(&pairs, &mut block)?, 65535);
/// assert_eq!(Vars::parse(&block, &Limits::new())?.len(), MAX_PAIRS_IN_BLOCK);
/// let one_more = encode_vars(vec![("k", ""); MAX_PAIRS_IN_BLOCK + 1], &mut block);
/// assert_eq!(one_more, Err(EncodeError::BlockTooLarge { len: 65540, limit: 65535 }));
/// assert_eq!(Limits::new().max_vars(MAX_PAIRS_IN_BLOCK), Limits::new()); // the default
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_PAIRS_IN_BLOCK: usize = u16::MAX as usize / 5;

/// The most items a 65535-byte array can hold: 2 bytes for the smallest (empty) item.
///
/// ```
/// use uwsgi_wire::{encode_array, Array, EncodeError, Limits, MAX_ITEMS_IN_BLOCK};
///
/// let items = vec![""; MAX_ITEMS_IN_BLOCK];
/// let mut block = vec![0u8; 65535];
/// let n = encode_array(&items, &mut block)?;
/// assert_eq!(n, 65534);
/// assert_eq!(Array::parse(&block[..n], &Limits::new())?.len(), MAX_ITEMS_IN_BLOCK);
/// let one_more = encode_array(vec![""; MAX_ITEMS_IN_BLOCK + 1], &mut block);
/// assert_eq!(one_more, Err(EncodeError::BlockTooLarge { len: 65536, limit: 65535 }));
/// assert_eq!(Limits::new().max_items(MAX_ITEMS_IN_BLOCK), Limits::new()); // the default
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_ITEMS_IN_BLOCK: usize = u16::MAX as usize / 2;

impl Limits {
    /// The defaults: `max_datasize` 65535, `max_vars` [`MAX_PAIRS_IN_BLOCK`] (13107),
    /// `max_items` [`MAX_ITEMS_IN_BLOCK`] (32767), `max_body` unlimited.
    ///
    /// ```
    /// use uwsgi_wire::Limits;
    /// assert_eq!(Limits::new(), Limits::default());
    /// assert_eq!(Limits::new().max_datasize(65535).max_body(u64::MAX), Limits::new());
    /// ```
    pub const fn new() -> Self {
        Limits {
            max_datasize: u16::MAX,
            max_vars: MAX_PAIRS_IN_BLOCK,
            max_items: MAX_ITEMS_IN_BLOCK,
            max_body: u64::MAX,
        }
    }

    /// The largest block accepted or produced (the header's datasize). Default 65535.
    /// uWSGI's default `buffer-size` is 4096 (header included there; here it bounds the
    /// block alone).
    pub const fn max_datasize(mut self, max: u16) -> Self {
        self.max_datasize = max;
        self
    }

    /// The most key/value pairs in one vars block. Default [`MAX_PAIRS_IN_BLOCK`].
    pub const fn max_vars(mut self, max: usize) -> Self {
        self.max_vars = max;
        self
    }

    /// The most items in one array. Default [`MAX_ITEMS_IN_BLOCK`] (an RPC call has at
    /// most 255: name and 254 arguments).
    pub const fn max_items(mut self, max: usize) -> Self {
        self.max_items = max;
        self
    }

    /// The longest body the reading side accepts (a request's on a server, a reply's on a
    /// client): an announced length over it is refused before the first body byte, a
    /// body that runs to the end of the stream as soon as it passes it. Default
    /// `u64::MAX` (no limit); nginx's `client_max_body_size` is 1 MiB by default.
    pub const fn max_body(mut self, max: u64) -> Self {
        self.max_body = max;
        self
    }
}

impl Limits {
    /// Refuses a header whose datasize is over `max_datasize`, before its block is read
    /// (offset 1, where the datasize starts).
    pub(crate) fn check_header(&self, header: &Header) -> Result<(), ParseError> {
        if header.datasize > self.max_datasize {
            return Err(ParseError::new(
                ParseErrorKind::DatasizeOverLimit {
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
