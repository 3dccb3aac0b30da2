//! The 4-byte packet header and the modifier1 packet types.

use core::fmt;

use crate::wire::status::Status;

/// Length of a uwsgi header in bytes.
///
/// ```
/// use uwsgi_wire::{Header, Limits, Packet, Status, HEADER_LEN};
///
/// // Captured from nginx 1.22: a 372-byte vars block after the header.
/// let wire = include_bytes!("../../tests/vectors/nginx-get.bin");
/// let (packet, consumed) = Packet::parse(wire, &Limits::new())?.complete().ok_or("short capture")?;
/// assert_eq!(consumed, HEADER_LEN + usize::from(packet.header().datasize));
/// assert_eq!(Header::parse(&wire[..1]), Status::Partial { needed: HEADER_LEN - 1 });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const HEADER_LEN: usize = 4;

/// A uwsgi packet header: `modifier1 (u8) | datasize (u16 LE) | modifier2 (u8)`.
///
/// Every 4-byte input is a valid header; limits on `datasize` are checked by the packet
/// parser, not here.
///
/// ```
/// use uwsgi_wire::{Header, Modifier1, Status};
///
/// // A ping, as `uwsgi --ping` sends it.
/// let Status::Complete(h) = Header::parse(&[0x64, 0x00, 0x00, 0x00]) else { unreachable!() };
/// assert_eq!(h, Header::new(Modifier1::PING, 0, 0));
/// assert_eq!(h.to_bytes(), [0x64, 0, 0, 0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Header {
    /// Packet type.
    pub modifier1: Modifier1,
    /// Length of the block that follows (not counting a request body).
    pub datasize: u16,
    /// Sub-type, command or flag; its meaning depends on `modifier1`.
    pub modifier2: u8,
}

impl Header {
    /// A header from its three fields.
    ///
    /// ```
    /// use uwsgi_wire::{Header, Modifier1};
    /// let h = Header::new(Modifier1::SIGNAL, 0, 17);
    /// assert_eq!(h.to_bytes(), [0x6e, 0x00, 0x00, 0x11]);
    /// ```
    pub const fn new(modifier1: Modifier1, datasize: u16, modifier2: u8) -> Self {
        Header {
            modifier1,
            datasize,
            modifier2,
        }
    }

    /// Reads a header from the start of `buf`; `Partial` when fewer than 4 bytes are given.
    ///
    /// ```
    /// use uwsgi_wire::{Header, Status};
    /// assert_eq!(Header::parse(&[0x00, 0x10]), Status::Partial { needed: 2 });
    /// let Status::Complete(h) = Header::parse(&[0x00, 0x10, 0x02, 0x00, 0xAA]) else { panic!() };
    /// assert_eq!(h.datasize, 0x0210);
    ///
    /// // Any 4 bytes are a header.
    /// let Status::Complete(h) = Header::parse(&[0xad, 0x05, 0x00, 0x01]) else { panic!() };
    /// assert_eq!((h.modifier1, h.datasize, h.modifier2), (uwsgi_wire::Modifier1::RPC, 5, 1));
    /// ```
    pub fn parse(buf: &[u8]) -> Status<Header> {
        match buf.first_chunk::<HEADER_LEN>() {
            Some(bytes) => Status::Complete(Header::from_bytes(*bytes)),
            None => Status::Partial {
                needed: HEADER_LEN - buf.len(),
            },
        }
    }

    /// A header from exactly 4 bytes (every 4 bytes are one).
    pub(crate) const fn from_bytes(bytes: [u8; HEADER_LEN]) -> Self {
        Header {
            modifier1: Modifier1(bytes[0]),
            datasize: u16::from_le_bytes([bytes[1], bytes[2]]),
            modifier2: bytes[3],
        }
    }

    /// The 4 wire bytes, to write anywhere (`copy_from_slice`, `BufMut::put_slice`).
    ///
    /// ```
    /// use uwsgi_wire::{Header, Modifier1, HEADER_LEN};
    /// assert_eq!(Header::new(Modifier1::WSGI, 0x1234, 0).to_bytes(), [0, 0x34, 0x12, 0]);
    ///
    /// let mut buf = [0u8; 8];
    /// buf[..HEADER_LEN].copy_from_slice(&Header::new(Modifier1::PING, 0, 1).to_bytes());
    /// assert_eq!(&buf[..4], &[0x64, 0, 0, 1]);
    /// ```
    pub const fn to_bytes(self) -> [u8; HEADER_LEN] {
        let [lo, hi] = self.datasize.to_le_bytes();
        [self.modifier1.0, lo, hi, self.modifier2]
    }
}

/// The packet type in a header's first byte.
///
/// A transparent newtype over `u8`: every value 0-255 is representable and round-trips,
/// known or not (uWSGI itself closes the connection on an unknown one; a codec must not
/// care). The associated constants name the values real peers use; match on them like
/// enum variants.
///
/// ```
/// use uwsgi_wire::Modifier1;
///
/// let m = Modifier1::from(110u8);
/// assert_eq!(m, Modifier1::SIGNAL);
/// assert_eq!(m.name(), Some("signal"));
/// assert_eq!(Modifier1(42).name(), None);
/// assert_eq!(u8::from(Modifier1(42)), 42);
/// match m {
///     Modifier1::PING => unreachable!(),
///     Modifier1::SIGNAL => {}
///     _ => unreachable!(),
/// }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Modifier1(pub u8);

impl Modifier1 {
    /// 0: WSGI (Python) request; also the default for HTTP-style requests from nginx.
    ///
    /// ```
    /// use uwsgi_wire::{BlockKind, Header, Modifier1, Status};
    /// // Captured from nginx 1.22 with the default `uwsgi_modifier1`.
    /// let wire = include_bytes!("../../tests/vectors/nginx-get.bin");
    /// assert_eq!(Header::parse(wire).map(|h| h.modifier1), Status::Complete(Modifier1::WSGI));
    /// assert!(Modifier1::WSGI.is_request());
    /// assert_eq!(Modifier1::WSGI.block_kind(), BlockKind::Vars);
    /// ```
    pub const WSGI: Modifier1 = Modifier1(0);
    /// 5: PSGI (Perl) request.
    ///
    /// ```
    /// use uwsgi_wire::{Header, Modifier1, Status};
    /// // Captured from nginx 1.22 with `uwsgi_modifier1 5; uwsgi_modifier2 9;`.
    /// let wire = include_bytes!("../../tests/vectors/nginx-modifiers.bin");
    /// let header = Header::parse(wire).map(|h| (h.modifier1, h.modifier2));
    /// assert_eq!(header, Status::Complete((Modifier1::PSGI, 9)));
    /// assert!(Modifier1::PSGI.is_request());
    /// ```
    pub const PSGI: Modifier1 = Modifier1(5);
    /// 6: Lua WSAPI request.
    ///
    /// ```
    /// use uwsgi_wire::Modifier1;
    /// assert_eq!((Modifier1::LUA.0, Modifier1::LUA.name()), (6, Some("lua")));
    /// assert!(Modifier1::LUA.is_request());
    /// ```
    pub const LUA: Modifier1 = Modifier1(6);
    /// 7: Rack (Ruby) request.
    ///
    /// ```
    /// use uwsgi_wire::Modifier1;
    /// assert_eq!((Modifier1::RACK.0, Modifier1::RACK.name()), (7, Some("rack")));
    /// assert!(Modifier1::RACK.is_request());
    /// ```
    pub const RACK: Modifier1 = Modifier1(7);
    /// 8: JVM request (modifier2 1 = Ring).
    ///
    /// ```
    /// use uwsgi_wire::{Modifier1, message::Request, Packet, Vars};
    /// let ring = Request::new(Modifier1::JVM, 1, Vars::default())?;
    /// assert_eq!(Packet::try_from(&ring)?.header().to_bytes(), [8, 0, 0, 1]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const JVM: Modifier1 = Modifier1(8);
    /// 9: CGI request.
    ///
    /// ```
    /// use uwsgi_wire::Modifier1;
    /// assert_eq!((Modifier1::CGI.0, Modifier1::CGI.name()), (9, Some("cgi")));
    /// assert!(Modifier1::CGI.is_request());
    /// ```
    pub const CGI: Modifier1 = Modifier1(9);
    /// 14: PHP request.
    ///
    /// ```
    /// use uwsgi_wire::Modifier1;
    /// assert_eq!((Modifier1::PHP.0, Modifier1::PHP.name()), (14, Some("php")));
    /// assert!(Modifier1::PHP.is_request());
    /// ```
    pub const PHP: Modifier1 = Modifier1(14);
    /// 15: Mono (ASP.NET) request.
    ///
    /// ```
    /// use uwsgi_wire::Modifier1;
    /// assert_eq!((Modifier1::MONO.0, Modifier1::MONO.name()), (15, Some("mono")));
    /// assert!(Modifier1::MONO.is_request());
    /// ```
    pub const MONO: Modifier1 = Modifier1(15);
    /// 17: spooler request (vars), answered with a generic response.
    ///
    /// ```
    /// use uwsgi_wire::{BlockKind, Modifier1};
    /// // A vars block, but no body follows it: not a request type.
    /// assert_eq!(Modifier1::SPOOLER.block_kind(), BlockKind::Vars);
    /// assert!(!Modifier1::SPOOLER.is_request());
    /// ```
    pub const SPOOLER: Modifier1 = Modifier1(17);
    /// 18: symcall.
    ///
    /// ```
    /// use uwsgi_wire::{BlockKind, Modifier1};
    /// assert_eq!((Modifier1::SYMCALL.0, Modifier1::SYMCALL.name()), (18, Some("symcall")));
    /// assert_eq!(Modifier1::SYMCALL.block_kind(), BlockKind::Raw);
    /// ```
    pub const SYMCALL: Modifier1 = Modifier1(18);
    /// 30: WSGI request with SCRIPT_NAME stripped from PATH_INFO.
    ///
    /// ```
    /// use uwsgi_wire::Modifier1;
    /// assert_eq!(Modifier1::WSGI_SCRIPT_NAME.0, 30);
    /// assert!(Modifier1::WSGI_SCRIPT_NAME.is_request());
    /// ```
    pub const WSGI_SCRIPT_NAME: Modifier1 = Modifier1(30);
    /// 72: not a real packet type: the bytes `HTTP` of a raw HTTP response read as a header.
    ///
    /// ```
    /// use uwsgi_wire::{Header, Modifier1, Status};
    /// // What uWSGI 2.0.21 answered a request with: raw HTTP, no uwsgi header (a client
    /// // knows it from what it sent: `exchange::Reply::to`).
    /// let reply = include_bytes!("../../tests/vectors/uwsgi-http-reply.bin");
    /// let modifier1 = Header::parse(reply).map(|h| h.modifier1);
    /// assert_eq!(modifier1, Status::Complete(Modifier1::RAW_HTTP));
    /// assert!(reply.starts_with(b"HTTP/1.1 "));
    /// ```
    pub const RAW_HTTP: Modifier1 = Modifier1(72);
    /// 100: ping (modifier2 0) and pong (modifier2 1).
    ///
    /// ```
    /// use uwsgi_wire::{Header, Modifier1, Status};
    /// // What `uwsgi --ping` sent, and what uWSGI 2.0.21 answered.
    /// let ping = include_bytes!("../../tests/vectors/uwsgi-ping.bin");
    /// let pong = include_bytes!("../../tests/vectors/uwsgi-pong.bin");
    /// assert_eq!(Header::parse(ping), Status::Complete(Header::new(Modifier1::PING, 0, 0)));
    /// assert_eq!(Header::parse(pong), Status::Complete(Header::new(Modifier1::PING, 0, 1)));
    /// ```
    pub const PING: Modifier1 = Modifier1(100);
    /// 101: echo.
    ///
    /// ```
    /// use uwsgi_wire::{BlockKind, message::Echo, Modifier1, Packet};
    /// assert_eq!(Packet::from(&Echo::new(b"echo-payload")?).modifier1(), Modifier1::ECHO);
    /// assert_eq!(Modifier1::ECHO.block_kind(), BlockKind::Raw);
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub const ECHO: Modifier1 = Modifier1(101);
    /// 109: legion (UDP, encrypted dict).
    ///
    /// ```
    /// use uwsgi_wire::{BlockKind, Modifier1};
    /// assert_eq!((Modifier1::LEGION.0, Modifier1::LEGION.name()), (109, Some("legion")));
    /// // Encrypted: nothing to read inside without the key.
    /// assert_eq!(Modifier1::LEGION.block_kind(), BlockKind::Raw);
    /// ```
    pub const LEGION: Modifier1 = Modifier1(109);
    /// 110: signal; the signal number is modifier2.
    ///
    /// ```
    /// use uwsgi_wire::{Header, Modifier1, Status};
    /// // What `uwsgi --signal ADDR,17` sent.
    /// let wire = include_bytes!("../../tests/vectors/uwsgi-signal.bin");
    /// assert_eq!(Header::parse(wire), Status::Complete(Header::new(Modifier1::SIGNAL, 0, 17)));
    /// ```
    pub const SIGNAL: Modifier1 = Modifier1(110);
    /// 111: cache; the command is modifier2 (17 is the "magic" interface).
    ///
    /// ```
    /// use uwsgi_wire::{BlockKind, Modifier1, message::CACHE_MAGIC};
    /// assert_eq!(Modifier1::CACHE.block_kind(), BlockKind::Vars);
    /// assert_eq!((Modifier1::CACHE.0, CACHE_MAGIC), (111, 17));
    /// ```
    pub const CACHE: Modifier1 = Modifier1(111);
    /// 173: RPC.
    ///
    /// ```
    /// use uwsgi_wire::{BlockKind, Header, Modifier1, Status};
    /// // What `uwsgi.rpc(node, b'hello', b'a', b'', b'b')` sent (uWSGI 2.0.21).
    /// let wire = include_bytes!("../../tests/vectors/uwsgi-rpc-call.bin");
    /// assert_eq!(Header::parse(wire).map(|h| h.modifier1), Status::Complete(Modifier1::RPC));
    /// assert_eq!(Modifier1::RPC.block_kind(), BlockKind::Array);
    /// ```
    pub const RPC: Modifier1 = Modifier1(173);
    /// 200: close mark for persistent connections (documented, unused by peers).
    ///
    /// ```
    /// use uwsgi_wire::{BlockKind, Modifier1};
    /// assert_eq!((Modifier1::CLOSE.0, Modifier1::CLOSE.name()), (200, Some("close")));
    /// assert_eq!(Modifier1::CLOSE.block_kind(), BlockKind::Raw);
    /// ```
    pub const CLOSE: Modifier1 = Modifier1(200);
    /// 224: subscription (UDP datagram); modifier2 0 subscribes, anything else unsubscribes.
    ///
    /// ```
    /// use uwsgi_wire::{Header, Modifier1, Status};
    /// // The datagrams of `uwsgi --subscribe-to` at start-up and at shutdown (uWSGI 2.0.21).
    /// let join = include_bytes!("../../tests/vectors/uwsgi-subscribe.bin");
    /// let leave = include_bytes!("../../tests/vectors/uwsgi-unsubscribe.bin");
    /// let header = |m2| Status::Complete(Header::new(Modifier1::SUBSCRIPTION, 102, m2));
    /// assert_eq!(Header::parse(join), header(0));
    /// assert_eq!(Header::parse(leave), header(1));
    /// ```
    pub const SUBSCRIPTION: Modifier1 = Modifier1(224);
    /// 255: generic response.
    ///
    /// ```
    /// use uwsgi_wire::{Header, Modifier1, Status};
    /// // uWSGI 2.0.21's answer to a signal: queued.
    /// let wire = include_bytes!("../../tests/vectors/uwsgi-signal-reply.bin");
    /// assert_eq!(Header::parse(wire), Status::Complete(Header::new(Modifier1::RESPONSE, 0, 1)));
    /// ```
    pub const RESPONSE: Modifier1 = Modifier1(255);

    /// A short name for a known value, `None` for any other.
    ///
    /// ```
    /// use uwsgi_wire::Modifier1;
    /// assert_eq!(Modifier1::RPC.name(), Some("rpc"));
    /// ```
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "wsgi",
            5 => "psgi",
            6 => "lua",
            7 => "rack",
            8 => "jvm",
            9 => "cgi",
            14 => "php",
            15 => "mono",
            17 => "spooler",
            18 => "symcall",
            30 => "wsgi-script-name",
            72 => "raw-http",
            100 => "ping",
            101 => "echo",
            109 => "legion",
            110 => "signal",
            111 => "cache",
            173 => "rpc",
            200 => "close",
            224 => "subscription",
            255 => "response",
            _ => return None,
        })
    }

    /// True for the HTTP-style request types whose block is vars followed by a body of
    /// `CONTENT_LENGTH` bytes: 0, 5, 6, 7, 8, 9, 14, 15, 30.
    ///
    /// ```
    /// use uwsgi_wire::Modifier1;
    /// assert!(Modifier1::PSGI.is_request());
    /// assert!(!Modifier1::PING.is_request());
    /// ```
    pub const fn is_request(self) -> bool {
        matches!(self.0, 0 | 5 | 6 | 7 | 8 | 9 | 14 | 15 | 30)
    }

    /// How the block of a packet with this modifier1 is laid out when a server receives
    /// it (the request direction). Replies differ: an RPC reply's block is raw.
    ///
    /// ```
    /// use uwsgi_wire::{BlockKind, Modifier1};
    /// assert_eq!(Modifier1::WSGI.block_kind(), BlockKind::Vars);
    /// assert_eq!(Modifier1::RPC.block_kind(), BlockKind::Array);
    /// assert_eq!(Modifier1::ECHO.block_kind(), BlockKind::Raw);
    /// assert_eq!(Modifier1(42).block_kind(), BlockKind::Raw);
    /// ```
    pub const fn block_kind(self) -> BlockKind {
        match self.0 {
            0 | 5 | 6 | 7 | 8 | 9 | 14 | 15 | 17 | 30 | 111 | 224 => BlockKind::Vars,
            173 => BlockKind::Array,
            _ => BlockKind::Raw,
        }
    }
}

impl From<u8> for Modifier1 {
    fn from(value: u8) -> Self {
        Modifier1(value)
    }
}

impl From<Modifier1> for u8 {
    fn from(value: Modifier1) -> Self {
        value.0
    }
}

impl fmt::Debug for Modifier1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "Modifier1({} {name})", self.0),
            None => write!(f, "Modifier1({})", self.0),
        }
    }
}

impl fmt::Display for Modifier1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The layout of a packet's block.
///
/// ```
/// use uwsgi_wire::{BlockKind, Modifier1};
/// assert_eq!(Modifier1::SUBSCRIPTION.block_kind(), BlockKind::Vars);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockKind {
    /// Key/value pairs, `u16le klen | key | u16le vlen | value` repeated.
    Vars,
    /// Items, `u16le len | item` repeated.
    Array,
    /// Bytes with no inner framing.
    Raw,
}
