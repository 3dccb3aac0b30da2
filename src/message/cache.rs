//! The cache "magic" interface (modifier1 111, modifier2 17), as uWSGI 2.0's
//! `uwsgi_cache_magic_*` functions speak it (core/cache.c, plugins/cache/cache.c).
//!
//! The value bytes of a `set`/`update` request and of a `get` reply follow the vars
//! block and are **not** counted in datasize: their length is the `size` var.

#[cfg(feature = "alloc")]
use crate::message::fields::Digits;
use crate::message::fields::{missing, number, required};
use crate::message::request::{expect_kind, vars_of};
use crate::wire::error::{EncodeError, ParseError, ParseErrorKind};
use crate::wire::header::Modifier1;
use crate::wire::packet::{Packet, Payload};
use crate::wire::vars::Vars;

/// modifier2 of the magic interface.
///
/// ```
/// use uwsgi_wire::{message::CacheCommand, message::Message, Packet, message::CACHE_MAGIC};
/// use uwsgi_wire::Limits;
///
/// // `cmd=clear`, as uWSGI's cache client sends it: modifier1 111, modifier2 17.
/// let wire = b"\x6f\x0c\x00\x11\x03\x00cmd\x05\x00clear";
/// assert_eq!(wire[3], CACHE_MAGIC);
/// let (packet, _) = Packet::parse(wire, &Limits::new())?.complete().ok_or("short")?;
/// let Message::Cache(request) = Message::try_from(&packet)? else {
///     return Err("not a cache request".into());
/// };
/// assert_eq!(request.command(), CacheCommand::Clear);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const CACHE_MAGIC: u8 = 17;

/// A magic cache command (the `cmd` var).
///
/// ```
/// use uwsgi_wire::message::CacheCommand;
/// assert_eq!(CacheCommand::from_bytes(b"update"), Some(CacheCommand::Update));
/// assert_eq!(CacheCommand::Set.as_bytes(), b"set");
/// assert_eq!(CacheCommand::from_bytes(b"GET"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheCommand {
    /// Read a value.
    Get,
    /// Check a key.
    Exists,
    /// Delete a key.
    Del,
    /// Empty the cache.
    Clear,
    /// Store a value for a key that is not there yet.
    Set,
    /// Store a value, replacing any.
    Update,
}

impl CacheCommand {
    /// The command named by `cmd` (matched exactly, as uWSGI does).
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::message::CacheCommand::from_bytes(b"del"), Some(uwsgi_wire::message::CacheCommand::Del));
    /// ```
    pub fn from_bytes(cmd: &[u8]) -> Option<Self> {
        Some(match cmd {
            b"get" => CacheCommand::Get,
            b"exists" => CacheCommand::Exists,
            b"del" => CacheCommand::Del,
            b"clear" => CacheCommand::Clear,
            b"set" => CacheCommand::Set,
            b"update" => CacheCommand::Update,
            _ => return None,
        })
    }

    /// The `cmd` value.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::message::CacheCommand::Clear.as_bytes(), b"clear");
    /// ```
    pub const fn as_bytes(self) -> &'static [u8] {
        match self {
            CacheCommand::Get => b"get",
            CacheCommand::Exists => b"exists",
            CacheCommand::Del => b"del",
            CacheCommand::Clear => b"clear",
            CacheCommand::Set => b"set",
            CacheCommand::Update => b"update",
        }
    }

    /// True for `set` and `update`, whose value bytes follow the vars.
    ///
    /// ```
    /// assert!(uwsgi_wire::message::CacheCommand::Set.carries_value());
    /// assert!(!uwsgi_wire::message::CacheCommand::Get.carries_value());
    /// ```
    pub const fn carries_value(self) -> bool {
        matches!(self, CacheCommand::Set | CacheCommand::Update)
    }
}

/// A magic cache request: `[111, dictlen, 17]` + vars + (for `set`/`update`) `size`
/// value bytes.
///
/// Checked when parsed: `cmd` is one of the six commands, `key` is present for all but
/// `clear`, `size` (which uWSGI's client sends twice) is a number and required for
/// `set`/`update`, `expires` is a number.
///
/// ```
/// use uwsgi_wire::{message::CacheCommand, message::CacheRequest, Packet};
/// use uwsgi_wire::Limits;
///
/// // What uwsgi.cache_set('k', 'vv', 30, '@127.0.0.1:4000') sends (uWSGI 2.0.21).
/// let wire = b"\x6f\x3a\x00\x11\x03\x00cmd\x03\x00set\x03\x00key\x01\x00k\x04\x00size\x01\x002\
///              \x07\x00expires\x02\x0030\x04\x00size\x01\x002\x05\x00cache\x00\x00vv";
/// let (packet, consumed) = Packet::parse(wire, &Limits::new())?.complete().unwrap();
/// let req = CacheRequest::try_from(&packet)?;
/// assert_eq!(req.command(), CacheCommand::Set);
/// assert_eq!(req.key(), b"k");
/// assert_eq!(req.expires(), 30);
/// assert_eq!(req.vars().get(b"cache"), Some(&b""[..])); // the cache name: empty, the default
/// assert_eq!(&wire[consumed..][..usize::try_from(req.value_len())?], b"vv");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheRequest<'a> {
    vars: Vars<'a>,
    command: CacheCommand,
    key: &'a [u8],
    value_len: u64,
    expires: u64,
}

impl<'a> CacheRequest<'a> {
    /// A request from its vars, checked as described above.
    ///
    /// ```
    /// use uwsgi_wire::{message::CacheRequest, ParseErrorKind, VarsBuilder};
    /// let mut v = VarsBuilder::default();
    /// v.push("cmd", "set")?.push("key", "k")?;
    /// let err = CacheRequest::new(v.vars()).unwrap_err();
    /// assert_eq!(err.kind(), ParseErrorKind::MissingVar { key: "size" });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(vars: Vars<'a>) -> Result<Self, ParseError> {
        let cmd = required(&vars, "cmd")?;
        let command = CacheCommand::from_bytes(cmd).ok_or_else(|| {
            ParseError::new(
                ParseErrorKind::InvalidVar { key: "cmd" },
                vars.offset_of(cmd),
            )
        })?;
        let key = match command {
            CacheCommand::Clear => vars.get(b"key").unwrap_or(b""),
            _ => required(&vars, "key")?,
        };
        let size = number(&vars, "size")?;
        let value_len = match (command.carries_value(), size) {
            (true, None) => return Err(missing(&vars, "size")),
            (true, Some(len)) => len,
            (false, _) => 0,
        };
        Ok(CacheRequest {
            vars,
            command,
            key,
            value_len,
            expires: number(&vars, "expires")?.unwrap_or(0),
        })
    }

    /// The command.
    ///
    /// ```
    /// # use uwsgi_wire::{message::CacheCommand, message::CacheRequest, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("cmd", "clear")?;
    /// assert_eq!(CacheRequest::new(v.vars())?.command(), CacheCommand::Clear);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn command(&self) -> CacheCommand {
        self.command
    }

    /// The key (empty for a `clear` without one).
    ///
    /// ```
    /// # use uwsgi_wire::{message::CacheRequest, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("cmd", "get")?.push("key", "user:1")?;
    /// assert_eq!(CacheRequest::new(v.vars())?.key(), b"user:1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn key(&self) -> &'a [u8] {
        self.key
    }

    /// The number of value bytes after the packet: `size` for `set`/`update`, else 0.
    ///
    /// ```
    /// # use uwsgi_wire::{message::CacheRequest, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("cmd", "update")?.push("key", "k")?.push("size", "3")?;
    /// assert_eq!(CacheRequest::new(v.vars())?.value_len(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn value_len(&self) -> u64 {
        self.value_len
    }

    /// `expires`, in seconds from now (0: never, or absent).
    ///
    /// ```
    /// # use uwsgi_wire::{message::CacheRequest, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("cmd", "get")?.push("key", "k")?;
    /// assert_eq!(CacheRequest::new(v.vars())?.expires(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn expires(&self) -> u64 {
        self.expires
    }

    /// All the vars, unknown ones included; `cache`, the cache name (`None` or empty
    /// means the server's default cache), is one of them.
    ///
    /// ```
    /// # use uwsgi_wire::{message::CacheRequest, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("cmd", "get")?.push("key", "k")?.push("cache", "sessions")?;
    /// let req = CacheRequest::new(v.vars())?;
    /// assert_eq!(req.vars().len(), 3);
    /// assert_eq!(req.vars().get(b"cache"), Some(&b"sessions"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn vars(&self) -> Vars<'a> {
        self.vars
    }

    /// The vars of a request in the order uWSGI's client writes them: `cmd`, `key`,
    /// `size`, `expires` (when not 0), `size` again (uWSGI writes it twice for
    /// `set`/`update`), `cache` (when given). `value_len` is ignored for commands that
    /// carry no value.
    ///
    /// They are the block of the request: [`CacheRequest::new`] types it, and the
    /// packet conversion frames it.
    ///
    /// ```
    /// use uwsgi_wire::{message::CacheCommand, message::CacheRequest, Packet};
    /// let vars = CacheRequest::build(CacheCommand::Set, b"k", 2, 30, Some(b""))?;
    /// let request = CacheRequest::new(vars.vars())?;
    /// let mut wire = Vec::new();
    /// Packet::try_from(&request)?.encode_to(&mut wire)?;
    /// wire.extend_from_slice(b"vv");
    /// // Byte for byte what uwsgi.cache_set('k', 'vv', 30, '@host:port') sends.
    /// assert_eq!(&wire[..8], b"\x6f\x3a\x00\x11\x03\x00cm");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "alloc")]
    pub fn build(
        command: CacheCommand,
        key: &[u8],
        value_len: u64,
        expires: u64,
        cache: Option<&[u8]>,
    ) -> Result<crate::VarsBuilder, EncodeError> {
        let mut vars = crate::VarsBuilder::default();
        let mut digits = Digits::new();
        vars.push("cmd", command.as_bytes())?;
        if command != CacheCommand::Clear {
            vars.push("key", key)?;
        }
        if command.carries_value() {
            vars.push("size", digits.format(value_len))?;
            if expires > 0 {
                vars.push("expires", digits.format(expires))?;
            }
            vars.push("size", digits.format(value_len))?;
        }
        if let Some(cache) = cache {
            vars.push("cache", cache)?;
        }
        Ok(vars)
    }
}

/// The reply to a magic request: `[111, dictlen, 17]` + `{status, size?, expires?}` +
/// (for a `get` hit) `size` value bytes. uWSGI answers only on success (`status` `ok`):
/// a miss or a failure closes the connection with no reply.
///
/// ```
/// use uwsgi_wire::{message::CacheReply, Packet};
/// use uwsgi_wire::Limits;
/// // A get hit as uWSGI 2.0.21 answers it: status=ok, size=5, expires=<unix time>, "hello".
/// let wire = b"\x6f\x2a\x00\x11\x06\x00status\x02\x00ok\x04\x00size\x01\x005\
///              \x07\x00expires\x0a\x001795392550hello";
/// let (packet, consumed) = Packet::parse(wire, &Limits::new())?.complete().unwrap();
/// let reply = CacheReply::try_from(&packet)?;
/// assert!(reply.is_ok());
/// assert_eq!(reply.expires(), Some(1795392550));
/// assert_eq!(&wire[consumed..][..usize::try_from(reply.value_len())?], b"hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheReply<'a> {
    vars: Vars<'a>,
    status: &'a [u8],
    value_len: u64,
    expires: Option<u64>,
}

impl<'a> CacheReply<'a> {
    /// A reply from its vars: `status` is required, `size` and `expires` must be numbers.
    ///
    /// ```
    /// use uwsgi_wire::{message::CacheReply, ParseErrorKind, Vars};
    /// let err = CacheReply::new(Vars::default()).unwrap_err();
    /// assert_eq!(err.kind(), ParseErrorKind::MissingVar { key: "status" });
    /// ```
    pub fn new(vars: Vars<'a>) -> Result<Self, ParseError> {
        Ok(CacheReply {
            vars,
            status: required(&vars, "status")?,
            value_len: number(&vars, "size")?.unwrap_or(0),
            expires: number(&vars, "expires")?,
        })
    }

    /// The `status` value (`ok` is the only one uWSGI 2.0 sends).
    ///
    /// ```
    /// # use uwsgi_wire::{message::CacheReply, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("status", "ok")?;
    /// assert_eq!(CacheReply::new(v.vars())?.status(), b"ok");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn status(&self) -> &'a [u8] {
        self.status
    }

    /// True when `status` is `ok`.
    ///
    /// ```
    /// # use uwsgi_wire::{message::CacheReply, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("status", "notfound")?;
    /// assert!(!CacheReply::new(v.vars())?.is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_ok(&self) -> bool {
        self.status == b"ok"
    }

    /// The number of value bytes after the packet (`size`, 0 when absent).
    ///
    /// ```
    /// # use uwsgi_wire::{message::CacheReply, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("status", "ok")?;
    /// assert_eq!(CacheReply::new(v.vars())?.value_len(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn value_len(&self) -> u64 {
        self.value_len
    }

    /// The item's expiry as an absolute unix time, when it has one.
    ///
    /// ```
    /// # use uwsgi_wire::{message::CacheReply, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("status", "ok")?.push("expires", "1795392550")?;
    /// assert_eq!(CacheReply::new(v.vars())?.expires(), Some(1795392550));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn expires(&self) -> Option<u64> {
        self.expires
    }

    /// All the vars.
    ///
    /// ```
    /// # use uwsgi_wire::{message::CacheReply, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("status", "ok")?;
    /// assert_eq!(CacheReply::new(v.vars())?.vars().len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn vars(&self) -> Vars<'a> {
        self.vars
    }

    /// The vars of an `ok` reply as uWSGI writes them: `status`, then for a `get` hit
    /// `size` and `expires` (absolute unix time, when not 0). [`CacheReply::new`] types
    /// them, and the packet conversion frames them.
    ///
    /// ```
    /// use uwsgi_wire::{message::CacheReply, Packet};
    /// let vars = CacheReply::build(Some((5, 1795392550)))?;
    /// assert_eq!(vars.vars().len(), 3);
    /// let miss = CacheReply::build(None)?;
    /// assert_eq!(miss.as_bytes(), b"\x06\x00status\x02\x00ok");
    /// let packet = Packet::try_from(&CacheReply::new(miss.vars())?)?;
    /// assert_eq!(packet.header().to_bytes(), [0x6f, 12, 0, 17]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "alloc")]
    pub fn build(hit: Option<(u64, u64)>) -> Result<crate::VarsBuilder, EncodeError> {
        let mut vars = crate::VarsBuilder::default();
        let mut digits = Digits::new();
        vars.push("status", "ok")?;
        if let Some((value_len, expires)) = hit {
            vars.push("size", digits.format(value_len))?;
            if expires > 0 {
                vars.push("expires", digits.format(expires))?;
            }
        }
        Ok(vars)
    }
}

/// The request in a packet (modifier1 111, modifier2 17).
///
/// ```
/// use uwsgi_wire::{message::CacheRequest, ParseErrorKind, Packet};
/// use uwsgi_wire::Limits;
/// let (p, _) = Packet::parse(b"\x6f\x05\x00\x00\x01\x00k\x00\x00", &Limits::new())?.complete().unwrap();
/// let err = CacheRequest::try_from(&p).unwrap_err();
/// assert!(matches!(err.kind(), ParseErrorKind::UnexpectedPacket { modifier1: 111, modifier2: 0 }));
/// assert_eq!(err.offset(), 3); // not the magic interface: modifier2 is what is wrong
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
impl<'a> TryFrom<&Packet<'a>> for CacheRequest<'a> {
    type Error = ParseError;

    fn try_from(packet: &Packet<'a>) -> Result<Self, ParseError> {
        CacheRequest::new(magic_vars(packet)?)
    }
}

/// The packet to send; the value bytes (for `set`/`update`) are written after it.
///
/// ```
/// # use uwsgi_wire::{message::CacheRequest, Packet, VarsBuilder};
/// # let mut v = VarsBuilder::default();
/// # v.push("cmd", "clear")?;
/// let p = Packet::try_from(&CacheRequest::new(v.vars())?)?;
/// assert_eq!(p.header().to_bytes(), [0x6f, 12, 0, 17]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl<'a> TryFrom<&CacheRequest<'a>> for Packet<'a> {
    type Error = EncodeError;

    fn try_from(request: &CacheRequest<'a>) -> Result<Self, EncodeError> {
        magic_packet(request.vars)
    }
}

/// The reply in a packet (modifier1 111, modifier2 17).
///
/// ```
/// use uwsgi_wire::{message::CacheReply, Packet};
/// use uwsgi_wire::Limits;
/// let (p, _) = Packet::parse(b"\x6f\x0c\x00\x11\x06\x00status\x02\x00ok", &Limits::new())?.complete().unwrap();
/// assert!(CacheReply::try_from(&p)?.is_ok());
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
impl<'a> TryFrom<&Packet<'a>> for CacheReply<'a> {
    type Error = ParseError;

    fn try_from(packet: &Packet<'a>) -> Result<Self, ParseError> {
        CacheReply::new(magic_vars(packet)?)
    }
}

/// The packet to send; the value bytes follow it.
///
/// ```
/// # use uwsgi_wire::{message::CacheReply, Packet, VarsBuilder};
/// # let mut v = VarsBuilder::default();
/// # v.push("status", "ok")?;
/// let p = Packet::try_from(&CacheReply::new(v.vars())?)?;
/// assert_eq!(p.header().to_bytes(), [0x6f, 12, 0, 17]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl<'a> TryFrom<&CacheReply<'a>> for Packet<'a> {
    type Error = EncodeError;

    fn try_from(reply: &CacheReply<'a>) -> Result<Self, EncodeError> {
        magic_packet(reply.vars)
    }
}

/// The vars of a magic packet (modifier1 111, modifier2 17), a request's or a reply's.
fn magic_vars<'a>(packet: &Packet<'a>) -> Result<Vars<'a>, ParseError> {
    expect_kind(packet, Modifier1::CACHE, Some(CACHE_MAGIC))?;
    vars_of(packet)
}

/// The magic packet carrying `vars`.
fn magic_packet(vars: Vars<'_>) -> Result<Packet<'_>, EncodeError> {
    Packet::new(Modifier1::CACHE, CACHE_MAGIC, Payload::Vars(vars))
}
