//! Operator diagnostics: what is wrong with bytes that are not the uwsgi packet they
//! should be, and what to change (docs/PROTOCOL.md, "Diagnostics").

use core::fmt;

use crate::wire::array::Array;
use crate::wire::header::{BlockKind, Header, HEADER_LEN};
use crate::wire::limits::Limits;
use crate::wire::vars::{Var, Vars};

/// The HTTP methods recognised where a uwsgi header should be; `PRI` starts the HTTP/2
/// connection preface (`PRI * HTTP/2.0`).
const METHODS: [&str; 9] = [
    "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "PRI",
];

/// The longest request line a [`Diagnosis::Http`] quotes.
const MAX_LINE: usize = 80;

/// A likely cause of bytes a uwsgi server cannot use, found by [`Diagnosis::find`], and
/// what to change; its `Display` is the message for an operator (the CLI's `decode` and
/// the server driver's log print it).
///
/// Finding one allocates nothing and reads at most the bytes given: the input may be a
/// whole packet, a capture, or the start of a connection's stream.
///
/// ```
/// use uwsgi_wire::diagnose::Diagnosis;
///
/// // nginx with `proxy_pass` (HTTP) where `uwsgi_pass` was meant.
/// let found = Diagnosis::find(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", Diagnosis::UWSGI_BUFFER_SIZE);
/// let Some(Diagnosis::Http { method, header, .. }) = found else { unreachable!() };
/// assert_eq!((method, header.modifier1.0, header.datasize), ("GET", 71, 21573));
/// let message = found.unwrap().to_string();
/// assert!(message.contains("invalid request block size: 21573 (max 4096)"));
/// assert!(message.contains("uwsgi_pass"));
///
/// // A packet whose datasize was written big-endian: 00 0a (10) read as 2560.
/// let found = Diagnosis::find(b"\x00\x00\x0a\x00\x03\x00KEY\x03\x00val", Diagnosis::UWSGI_BUFFER_SIZE);
/// assert!(matches!(found, Some(Diagnosis::BigEndian { swapped: 10, .. })));
///
/// // A well-formed packet within the buffer: nothing to say.
/// assert_eq!(Diagnosis::find(b"\x00\x05\x00\x00\x01\x00K\x00\x00", 4096), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Diagnosis<'a> {
    /// The bytes start with an HTTP request line (or the HTTP/2 preface): something
    /// speaks HTTP to a uwsgi socket (nginx's `proxy_pass` where `uwsgi_pass` was meant,
    /// a browser or curl pointed at it).
    Http {
        /// The method the bytes start with (`"PRI"` for the HTTP/2 preface).
        method: &'static str,
        /// The request line, without its line end (at most 80 bytes of it).
        line: &'a [u8],
        /// How a uwsgi server reads the first 4 bytes (`GET ` is modifier1 71, datasize
        /// 21573: the number in uWSGI's log).
        header: Header,
    },
    /// The bytes start with a TLS handshake record (`16 03`): something speaks HTTPS (TLS)
    /// to a uwsgi socket.
    Tls {
        /// How a uwsgi server reads the first 4 bytes (modifier1 22).
        header: Header,
    },
    /// The datasize does not fit read little-endian (more than the bytes that follow, or
    /// no valid block), but does read big-endian: the sender swapped the byte order.
    BigEndian {
        /// The header as read (little-endian, the protocol's byte order).
        header: Header,
        /// The datasize read big-endian, which frames a valid block.
        swapped: u16,
        /// The bytes after the header in the input.
        available: usize,
    },
    /// A vars block over the receiver's buffer (uWSGI's `buffer-size`, 4096 by default):
    /// uWSGI refuses it with "invalid request block size". The vars that make it big are
    /// named, the largest first.
    OverBufferSize {
        /// The block's length (the header's datasize).
        datasize: u16,
        /// The buffer it is over.
        buffer_size: u16,
        /// The (up to) 3 largest vars among the bytes given, the largest first; a var's
        /// size on the wire is its key and value plus 4 length bytes.
        largest: [Option<Var<'a>>; 3],
    },
}

impl Diagnosis<'_> {
    /// uWSGI's default `buffer-size` (`-b`): the largest block it reads.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::diagnose::Diagnosis::UWSGI_BUFFER_SIZE, 4096);
    /// ```
    pub const UWSGI_BUFFER_SIZE: u16 = 4096;
}

impl<'a> Diagnosis<'a> {
    /// Looks at the start of `buf` (a packet, or what arrived of one) and returns the
    /// first cause that applies, in this order: HTTP, TLS, a big-endian datasize, a vars
    /// block over `buffer_size` (pass [`UWSGI_BUFFER_SIZE`](Self::UWSGI_BUFFER_SIZE) to
    /// judge against uWSGI's default). `None` when nothing is wrong that it recognises.
    ///
    /// ```
    /// use uwsgi_wire::diagnose::Diagnosis;
    ///
    /// // A 5000-byte cookie makes the block too big for uWSGI's default buffer.
    /// let mut vars = uwsgi_wire::VarsBuilder::default();
    /// vars.push("REQUEST_METHOD", "GET")?.push("HTTP_COOKIE", "c".repeat(5000))?;
    /// let packet = uwsgi_wire::Packet::new(uwsgi_wire::Modifier1::WSGI, 0, uwsgi_wire::Payload::Vars(vars.vars()))?;
    /// let mut wire = Vec::new();
    /// packet.encode_to(&mut wire)?;
    /// let found = Diagnosis::find(&wire, Diagnosis::UWSGI_BUFFER_SIZE).ok_or("no diagnosis")?;
    /// let Diagnosis::OverBufferSize { datasize, largest, .. } = found else { unreachable!() };
    /// assert_eq!(datasize, 5036);
    /// assert_eq!(largest[0].map(|(key, _)| key), Some(&b"HTTP_COOKIE"[..]));
    /// assert!(found.to_string().contains("HTTP_COOKIE (5015 bytes)"));
    /// assert!(found.to_string().contains("--buffer-size 8192"));
    /// // A server configured with a larger buffer takes it.
    /// assert_eq!(Diagnosis::find(&wire, 8192), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn find(buf: &'a [u8], buffer_size: u16) -> Option<Self> {
        if let Some(found) = http(buf) {
            return Some(found);
        }
        let bytes = buf.first_chunk::<HEADER_LEN>()?;
        let header = Header::from_bytes(*bytes);
        if bytes[0] == 0x16 && bytes[1] == 0x03 && bytes[2] <= 0x04 {
            return Some(Diagnosis::Tls { header });
        }
        let rest = buf.get(HEADER_LEN..).unwrap_or_default();
        if let Some(found) = big_endian(header, rest) {
            return Some(found);
        }
        if header.datasize > buffer_size && header.modifier1.block_kind() == BlockKind::Vars {
            let block = rest.get(..usize::from(header.datasize)).unwrap_or(rest);
            return Some(Diagnosis::OverBufferSize {
                datasize: header.datasize,
                buffer_size,
                largest: largest_vars(block),
            });
        }
        None
    }
}

/// An HTTP request line (or the HTTP/2 preface) at the start of `buf`.
fn http(buf: &[u8]) -> Option<Diagnosis<'_>> {
    let method = METHODS.into_iter().find(|m| {
        buf.strip_prefix(m.as_bytes())
            .is_some_and(|rest| rest.first() == Some(&b' '))
    })?;
    let header = Header::from_bytes(*buf.first_chunk::<HEADER_LEN>()?);
    let end = buf
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(buf.len())
        .min(MAX_LINE);
    Some(Diagnosis::Http {
        method,
        line: buf.get(..end).unwrap_or_default(),
        header,
    })
}

/// Whether `block` is a valid block of `kind` that a sender would frame: a raw block must
/// take every byte that follows (nothing else marks its end).
fn frames(kind: BlockKind, block: &[u8], rest_len: usize) -> bool {
    match kind {
        BlockKind::Vars => !block.is_empty() && Vars::parse(block, &Limits::new()).is_ok(),
        BlockKind::Array => !block.is_empty() && Array::parse(block, &Limits::new()).is_ok(),
        BlockKind::Raw => !block.is_empty() && block.len() == rest_len,
    }
}

/// A datasize that frames nothing little-endian but a valid block big-endian.
fn big_endian(header: Header, rest: &[u8]) -> Option<Diagnosis<'static>> {
    let swapped = header.datasize.swap_bytes();
    if swapped == header.datasize {
        return None;
    }
    let kind = header.modifier1.block_kind();
    let as_sent = rest.get(..usize::from(header.datasize));
    if as_sent.is_some_and(|block| kind == BlockKind::Raw || frames(kind, block, rest.len())) {
        return None;
    }
    let block = rest.get(..usize::from(swapped))?;
    frames(kind, block, rest.len()).then_some(Diagnosis::BigEndian {
        header,
        swapped,
        available: rest.len(),
    })
}

/// The wire size of a var: its key and value and their two 2-byte lengths.
fn wire_size((key, value): Var<'_>) -> usize {
    key.len() + value.len() + 4
}

/// The 3 largest whole vars at the start of `block` (it may be cut short), the largest
/// first; the walk stops at the first pair that does not fit or has an empty key.
fn largest_vars(block: &[u8]) -> [Option<Var<'_>>; 3] {
    let mut top: [Option<Var<'_>>; 3] = [None; 3];
    let mut rest = block;
    while let Some((var, next)) = next_var(rest) {
        rest = next;
        let mut candidate = Some(var);
        for slot in &mut top {
            let bigger = match (candidate, *slot) {
                (Some(c), Some(s)) => wire_size(c) > wire_size(s),
                (Some(_), None) => true,
                (None, _) => false,
            };
            if bigger {
                core::mem::swap(slot, &mut candidate);
            }
        }
    }
    top
}

/// One pair off the front of `buf`, and what follows it.
fn next_var(buf: &[u8]) -> Option<(Var<'_>, &[u8])> {
    let (key, rest) = take(buf)?;
    if key.is_empty() {
        return None;
    }
    let (value, rest) = take(rest)?;
    Some(((key, value), rest))
}

/// A 16-bit little-endian length and that many bytes.
fn take(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = buf.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_le_bytes(*len));
    (len <= rest.len()).then(|| rest.split_at(len))
}

/// The `--buffer-size` to suggest for a block of `datasize` bytes: the next power of two,
/// at most 65535 (the largest datasize).
fn suggested_buffer(datasize: u16) -> u32 {
    u32::from(datasize)
        .checked_next_power_of_two()
        .unwrap_or(u32::MAX)
        .min(u32::from(u16::MAX))
}

impl fmt::Display for Diagnosis<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Diagnosis::Http {
                method,
                line,
                header,
            } => {
                let (what, kind) = if method == "PRI" {
                    ("HTTP/2", "the HTTP/2 connection preface")
                } else {
                    ("HTTP", "the request line")
                };
                write!(
                    f,
                    "{what} sent to a uwsgi socket: the bytes start with {kind} \"{}\", not a \
                     uwsgi header (they read as modifier1 {}, datasize {}; uWSGI logs \
                     \"invalid request block size: {} (max {})...skip\" and closes the \
                     connection). Change the sender: in nginx use uwsgi_pass (with include \
                     uwsgi_params;), not proxy_pass; or, to take HTTP itself, start uWSGI \
                     with --http-socket instead of --socket",
                    line.escape_ascii(),
                    header.modifier1.0,
                    header.datasize,
                    header.datasize,
                    Diagnosis::UWSGI_BUFFER_SIZE,
                )
            }
            Diagnosis::Tls { header } => write!(
                f,
                "TLS sent to a uwsgi socket: the bytes start with a TLS handshake record \
                 (16 03), not a uwsgi header (they read as modifier1 {}, datasize {}; uWSGI \
                 logs \"-- unavailable modifier requested: {} --\" and closes the \
                 connection). Something speaks HTTPS to this socket: terminate TLS in the \
                 front end (nginx: listen 443 ssl, then uwsgi_pass); or, to take HTTPS \
                 itself, start uWSGI with --https-socket instead of --socket",
                header.modifier1.0, header.datasize, header.modifier1.0,
            ),
            Diagnosis::BigEndian {
                header,
                swapped,
                available,
            } => {
                let [lo, hi] = header.datasize.to_le_bytes();
                write!(
                    f,
                    "datasize looks big-endian: its bytes {lo:02x} {hi:02x} read as {} \
                     little-endian (the protocol's byte order), ",
                    header.datasize
                )?;
                if usize::from(header.datasize) > available {
                    write!(f, "more than the {available} bytes that follow")?;
                } else {
                    f.write_str("which frames no valid block")?;
                }
                write!(
                    f,
                    ", but as {swapped} big-endian, which frames a valid block. Fix the \
                     sender: datasize is a little-endian u16 (u16::to_le_bytes)"
                )?;
                if header.datasize > Diagnosis::UWSGI_BUFFER_SIZE {
                    write!(
                        f,
                        "; uWSGI logs \"invalid request block size: {} (max {})...skip\"",
                        header.datasize,
                        Diagnosis::UWSGI_BUFFER_SIZE
                    )?;
                }
                Ok(())
            }
            Diagnosis::OverBufferSize {
                datasize,
                buffer_size,
                largest,
            } => {
                write!(
                    f,
                    "the vars block is {datasize} bytes, over the {buffer_size}-byte buffer \
                     (uWSGI's default --buffer-size is {}; uWSGI logs \"invalid request \
                     block size: {datasize} (max {buffer_size})...skip\" and closes the \
                     connection)",
                    Diagnosis::UWSGI_BUFFER_SIZE
                )?;
                for (i, (key, value)) in largest.iter().flatten().enumerate() {
                    let lead = if i == 0 { ". The largest vars: " } else { ", " };
                    write!(
                        f,
                        "{lead}{} ({} bytes)",
                        key.escape_ascii(),
                        wire_size((key, value))
                    )?;
                }
                write!(
                    f,
                    ". Raise the receiver's buffer (uWSGI: --buffer-size {}; this crate: \
                     Limits::max_datasize) or send less (large cookies or headers from the \
                     client)",
                    suggested_buffer(datasize)
                )
            }
        }
    }
}
