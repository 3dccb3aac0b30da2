//! A validated vars block that owns its bytes.

use core::fmt;
use core::net::{IpAddr, SocketAddr};

use bytes::Bytes;

use crate::message::request::url_scheme;
use crate::wire::error::ParseError;
use crate::wire::limits::Limits;
use crate::wire::vars::{parse_decimal, Vars};

/// A validated vars block that owns its bytes (a cheap-to-clone [`Bytes`]).
///
/// A request made by [`cgi::request_from_vars`](crate::cgi::request_from_vars) carries
/// its vars as this type in its extensions; one the server driver serves carries the
/// whole [`OwnedPacket`](super::OwnedPacket), whose [`owned_vars`](super::OwnedPacket::owned_vars)
/// gives them (O(1), no copy). Typed accessors read what a service asks of them:
/// [`remote_addr`](OwnedVars::remote_addr),
/// [`scheme`](OwnedVars::scheme), [`script_name`](OwnedVars::script_name),
/// [`server_name`](OwnedVars::server_name), [`server_port`](OwnedVars::server_port),
/// and [`get`](OwnedVars::get) for any var by name.
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

    /// The client as the front end saw it: `REMOTE_ADDR` (an IPv4 or IPv6 address, as
    /// nginx's `$remote_addr` writes it) and `REMOTE_PORT`. `None` when either is
    /// missing or does not parse.
    ///
    /// ```
    /// use uwsgi_wire::{owned::OwnedVars, VarsBuilder};
    /// let mut vars = VarsBuilder::default();
    /// vars.push("REMOTE_ADDR", "2001:db8::7")?.push("REMOTE_PORT", "51000")?;
    /// let vars = OwnedVars::from_vars(&vars.vars());
    /// assert_eq!(vars.remote_addr(), Some("[2001:db8::7]:51000".parse()?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        let vars = self.vars();
        socket_addr(vars.get(b"REMOTE_ADDR"), vars.get(b"REMOTE_PORT"))
    }

    /// The URL scheme, by uWSGI's rule ([`message::Request::scheme`](crate::message::Request::scheme)):
    /// `UWSGI_SCHEME`, else `HTTPS` (`on` or `1`: `https`), else nginx's `REQUEST_SCHEME`,
    /// else `http`.
    ///
    /// ```
    /// use uwsgi_wire::{owned::OwnedVars, Vars, VarsBuilder};
    /// let mut vars = VarsBuilder::default();
    /// vars.push("HTTPS", "on")?; // nginx's uwsgi_params: `uwsgi_param HTTPS $https if_not_empty;`
    /// assert_eq!(OwnedVars::from_vars(&vars.vars()).scheme(), b"https");
    /// assert_eq!(OwnedVars::from_vars(&Vars::default()).scheme(), b"http");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scheme(&self) -> &[u8] {
        url_scheme(&self.vars()).0
    }

    /// `SCRIPT_NAME`: where the front end mounted the application (`uwsgi_param
    /// SCRIPT_NAME /app;`); empty when absent, as CGI's empty value for the root.
    ///
    /// ```
    /// use uwsgi_wire::{owned::OwnedVars, Vars, VarsBuilder};
    /// let mut vars = VarsBuilder::default();
    /// vars.push("SCRIPT_NAME", "/app")?;
    /// assert_eq!(OwnedVars::from_vars(&vars.vars()).script_name(), b"/app");
    /// assert_eq!(OwnedVars::from_vars(&Vars::default()).script_name(), b"");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn script_name(&self) -> &[u8] {
        self.vars().get(b"SCRIPT_NAME").unwrap_or_default()
    }

    /// `SERVER_NAME` (nginx's `$server_name`), when present and not empty.
    ///
    /// ```
    /// use uwsgi_wire::{owned::OwnedVars, VarsBuilder};
    /// let mut vars = VarsBuilder::default();
    /// vars.push("SERVER_NAME", "example.com")?.push("SERVER_PORT", "443")?;
    /// let vars = OwnedVars::from_vars(&vars.vars());
    /// assert_eq!(vars.server_name(), Some(&b"example.com"[..]));
    /// assert_eq!(vars.server_port(), Some(443));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn server_name(&self) -> Option<&[u8]> {
        self.vars()
            .get(b"SERVER_NAME")
            .filter(|name| !name.is_empty())
    }

    /// `SERVER_PORT` (nginx's `$server_port`, the port the client connected to), when it
    /// is a port number.
    ///
    /// ```
    /// use uwsgi_wire::{owned::OwnedVars, VarsBuilder};
    /// let mut vars = VarsBuilder::default();
    /// vars.push("SERVER_PORT", "eighty")?;
    /// assert_eq!(OwnedVars::from_vars(&vars.vars()).server_port(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn server_port(&self) -> Option<u16> {
        text(self.vars().get(b"SERVER_PORT")?)?.parse().ok()
    }

    /// A sub-slice of the block as a [`Bytes`] sharing the buffer.
    pub(crate) fn share(&self, inner: &[u8]) -> Bytes {
        // Every slice handed in comes from `self.vars()`, so it lies inside the block;
        // an empty slice is handled by `slice_ref` itself.
        self.block.slice_ref(inner)
    }
}

/// A var's value as text, for the accessors that parse one.
/// The address `REMOTE_ADDR` and `REMOTE_PORT` name, when both are there and parse.
pub(crate) fn socket_addr(addr: Option<&[u8]>, port: Option<&[u8]>) -> Option<SocketAddr> {
    let ip: IpAddr = text(addr?)?.parse().ok()?;
    // As `u16`'s `FromStr` reads it (one `+` allowed), without a UTF-8 check first.
    let port = port?;
    let port = u16::try_from(parse_decimal(port.strip_prefix(b"+").unwrap_or(port))?).ok()?;
    Some(SocketAddr::new(ip, port))
}

fn text(value: &[u8]) -> Option<&str> {
    core::str::from_utf8(value).ok()
}

impl fmt::Debug for OwnedVars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.vars(), f)
    }
}
