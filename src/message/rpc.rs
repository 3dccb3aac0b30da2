//! RPC (modifier1 173): a call is an array (function name, then up to 254 arguments).

use crate::message::fields::{missing, Digits};
use crate::message::request::{expect_kind, unexpected, unexpected_modifier2};
use crate::wire::array::{Array, ArrayIter};
use crate::wire::encode::encode_vars;
use crate::wire::error::{EncodeError, ParseError, ParseErrorKind};
use crate::wire::header::{Header, Modifier1, HEADER_LEN};
use crate::wire::limits::Limits;
use crate::wire::packet::{Packet, Payload};

/// The most arguments an RPC call can carry (uWSGI's `UMAX8 - 1`).
///
/// ```
/// use uwsgi_wire::{ArrayBuilder, ParseErrorKind, message::RpcCall, message::MAX_RPC_ARGS};
///
/// let mut call = ArrayBuilder::default();
/// call.push("join")?;
/// for _ in 0..MAX_RPC_ARGS {
///     call.push("x")?;
/// }
/// assert_eq!(RpcCall::new(call.array(), 0)?.args().len(), MAX_RPC_ARGS);
///
/// call.push("one too many")?;
/// let err = RpcCall::new(call.array(), 0).unwrap_err();
/// // At the extra argument: after "join" (2 + 4 bytes) and 254 x (2 + 1 bytes each).
/// assert_eq!((err.kind(), err.offset()), (ParseErrorKind::TooManyRpcArgs, 6 + 254 * 3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_RPC_ARGS: usize = 254;

/// An RPC call: `uwsgi.rpc(node, "function", "arg", ...)` on the wire.
///
/// ```
/// use uwsgi_wire::{Packet, message::RpcCall};
/// use uwsgi_wire::Limits;
///
/// // Captured from uWSGI 2.0.21: uwsgi.rpc(addr, "hello", "a", "", "b").
/// let wire = include_bytes!("../../tests/vectors/uwsgi-rpc-call.bin");
/// let (packet, _) = Packet::parse(wire, &Limits::new())?.complete().unwrap();
/// let call = RpcCall::try_from(&packet)?;
/// assert_eq!(call.function(), b"hello");
/// assert_eq!(call.args().collect::<Vec<_>>(), [&b"a"[..], b"", b"b"]);
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpcCall<'a> {
    array: Array<'a>,
    function: &'a [u8],
    modifier2: u8,
}

impl<'a> RpcCall<'a> {
    /// modifier2 0: the result comes back as a uwsgi packet `[173, len, 0]` + result, or
    /// in the large form (modifier2 5) when it is over 65535 bytes. See [`RpcReply`].
    ///
    /// ```
    /// use uwsgi_wire::{Packet, message::RpcCall};
    /// use uwsgi_wire::Limits;
    /// // `uwsgi.rpc()` in uWSGI 2.0.21 asks for the framed reply.
    /// let wire = include_bytes!("../../tests/vectors/uwsgi-rpc-call.bin");
    /// let (packet, _) = Packet::parse(wire, &Limits::new())?.complete().ok_or("short")?;
    /// assert_eq!(RpcCall::try_from(&packet)?.modifier2(), RpcCall::UWSGI_REPLY);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const UWSGI_REPLY: u8 = 0;
    /// modifier2 1: the result comes back raw, with no header, until the server closes.
    ///
    /// ```
    /// use uwsgi_wire::{ArrayBuilder, message::RpcCall, Packet};
    /// let mut call = ArrayBuilder::default();
    /// call.push("hello")?.push("x")?;
    /// let packet = Packet::try_from(&RpcCall::new(call.array(), RpcCall::RAW_REPLY)?)?;
    /// assert_eq!(packet.header().to_bytes(), [0xad, 0x0a, 0x00, 0x01]);
    /// // uWSGI 2.0.21 answered this very call with the bare result.
    /// assert_eq!(include_bytes!("../../tests/vectors/uwsgi-rpc-reply-raw.bin"), b"HI:x");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const RAW_REPLY: u8 = 1;

    /// A call from an array whose first item is the function name; fails for an empty
    /// array or more than [`MAX_RPC_ARGS`] arguments. Offsets count from the array.
    ///
    /// ```
    /// use uwsgi_wire::{ArrayBuilder, ParseErrorKind, message::RpcCall};
    /// let mut a = ArrayBuilder::default();
    /// a.push("hello")?.push("world")?;
    /// let call = RpcCall::new(a.array(), RpcCall::UWSGI_REPLY)?;
    /// assert_eq!(call.function(), b"hello");
    ///
    /// let err = RpcCall::new(ArrayBuilder::default().array(), 0).unwrap_err();
    /// assert_eq!(err.kind(), ParseErrorKind::MissingRpcFunction);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(array: Array<'a>, modifier2: u8) -> Result<Self, ParseError> {
        Self::at(array, modifier2, 0)
    }

    fn at(array: Array<'a>, modifier2: u8, base: usize) -> Result<Self, ParseError> {
        let Some(function) = array.get(0) else {
            return Err(ParseError::new(ParseErrorKind::MissingRpcFunction, base));
        };
        if array.len() > MAX_RPC_ARGS + 1 {
            // Offset of the first extra argument: walk to it.
            let before: usize = array
                .iter()
                .take(MAX_RPC_ARGS + 1)
                .map(|i| 2 + i.len())
                .sum();
            return Err(ParseError::new(
                ParseErrorKind::TooManyRpcArgs,
                base + before,
            ));
        }
        Ok(RpcCall {
            array,
            function,
            modifier2,
        })
    }

    /// The function name.
    ///
    /// ```
    /// # use uwsgi_wire::{ArrayBuilder, message::RpcCall};
    /// # let mut a = ArrayBuilder::default();
    /// # a.push("hello")?;
    /// assert_eq!(RpcCall::new(a.array(), 0)?.function(), b"hello");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn function(&self) -> &'a [u8] {
        self.function
    }

    /// The arguments, in order (empty ones kept).
    ///
    /// ```
    /// # use uwsgi_wire::{ArrayBuilder, message::RpcCall};
    /// # let mut a = ArrayBuilder::default();
    /// # a.push("f")?.push("")?.push("x")?;
    /// let call = RpcCall::new(a.array(), 0)?;
    /// assert_eq!(call.args().len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn args(&self) -> ArrayIter<'a> {
        let mut items = self.array.iter();
        items.next();
        items
    }

    /// The whole array (function name first).
    ///
    /// ```
    /// # use uwsgi_wire::{ArrayBuilder, message::RpcCall};
    /// # let mut a = ArrayBuilder::default();
    /// # a.push("f")?;
    /// assert_eq!(RpcCall::new(a.array(), 0)?.array().len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn array(&self) -> Array<'a> {
        self.array
    }

    /// modifier2: [`RpcCall::UWSGI_REPLY`] or [`RpcCall::RAW_REPLY`] (2 and 3 ask for
    /// HTTP and XML-RPC replies in uWSGI's other handlers).
    ///
    /// ```
    /// # use uwsgi_wire::{ArrayBuilder, message::RpcCall};
    /// # let mut a = ArrayBuilder::default();
    /// # a.push("f")?;
    /// assert_eq!(RpcCall::new(a.array(), RpcCall::RAW_REPLY)?.modifier2(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn modifier2(&self) -> u8 {
        self.modifier2
    }
}

/// The call in a packet (modifier1 173, read as an array).
///
/// ```
/// use uwsgi_wire::{ParseErrorKind, Packet, message::RpcCall};
/// use uwsgi_wire::Limits;
/// let (packet, _) = Packet::parse(b"\xad\x00\x00\x00", &Limits::new())?.complete().unwrap();
/// let err = RpcCall::try_from(&packet).unwrap_err();
/// assert_eq!((err.kind(), err.offset()), (ParseErrorKind::MissingRpcFunction, 4));
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
impl<'a> TryFrom<&Packet<'a>> for RpcCall<'a> {
    type Error = ParseError;

    fn try_from(packet: &Packet<'a>) -> Result<Self, ParseError> {
        expect_kind(packet, Modifier1::RPC, None)?;
        match packet.array() {
            Some(array) => RpcCall::at(array, packet.modifier2(), HEADER_LEN),
            None => Err(unexpected(packet)),
        }
    }
}

/// The packet to send; fails only for an array over 65535 bytes (one parsed from an
/// oversize slice: packets and builders never hold one).
///
/// ```
/// use uwsgi_wire::{ArrayBuilder, message::RpcCall, Packet};
/// let mut a = ArrayBuilder::default();
/// a.push("hello")?;
/// let packet = Packet::try_from(&RpcCall::new(a.array(), 0)?)?;
/// assert_eq!(packet.header().to_bytes(), [0xad, 7, 0, 0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl<'a> TryFrom<&RpcCall<'a>> for Packet<'a> {
    type Error = EncodeError;

    fn try_from(call: &RpcCall<'a>) -> Result<Self, EncodeError> {
        Packet::new(Modifier1::RPC, call.modifier2, Payload::Array(call.array))
    }
}

/// The reply to an RPC call made with modifier2 0 ([`RpcCall::UWSGI_REPLY`]), as uWSGI
/// frames it. Read it from a packet with `RpcReply::try_from(&packet)?` (the packet read
/// with [`BlockKind::Raw`](crate::BlockKind::Raw), or as the
/// [`exchange`](crate::exchange) client delivers it); write it with
/// [`encode`](RpcReply::encode).
///
/// ```
/// use uwsgi_wire::{message::RpcReply, BlockKind, Limits, Packet};
///
/// // Captured from uWSGI 2.0.21: the result "HI:x".
/// let wire = include_bytes!("../../tests/vectors/uwsgi-rpc-reply.bin");
/// let (packet, consumed) = Packet::parse_as(wire, BlockKind::Raw, &Limits::new())?
///     .complete()
///     .ok_or("short")?;
/// assert_eq!(RpcReply::try_from(&packet)?, RpcReply::Result(b"HI:x"));
/// assert_eq!(consumed, wire.len());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpcReply<'a> {
    /// `[173, len, 0]` + the result (up to 65535 bytes).
    Result(&'a [u8]),
    /// `[173, dictlen, 5]` + `{CONTENT_LENGTH: n}`: a result over 65535 bytes; the `len`
    /// raw bytes after the packet are the result.
    Large {
        /// The result's length.
        len: u64,
    },
}

// Written with `encode` into the caller's buffer, not converted to a `Packet`: a packet
// borrows its block, and the large form's block (`{CONTENT_LENGTH: len}`) exists nowhere
// until its digits are formatted, so `encode` writes it (and the header) where the caller
// says; the `len` result bytes then follow the packet on the stream.
impl<'a> RpcReply<'a> {
    /// modifier2 of the large form.
    ///
    /// ```
    /// use uwsgi_wire::{BlockKind, Limits, Packet, message::RpcReply};
    /// // uWSGI 2.0.21's reply for a 70000-byte result: the packet, then the result.
    /// let wire = include_bytes!("../../tests/vectors/uwsgi-rpc-reply-big.bin");
    /// let (packet, consumed) = Packet::parse_as(wire, BlockKind::Raw, &Limits::new())?
    ///     .complete()
    ///     .ok_or("short")?;
    /// assert_eq!(packet.modifier2(), RpcReply::LARGE);
    /// assert_eq!(RpcReply::try_from(&packet)?, RpcReply::Large { len: 70000 });
    /// assert_eq!(wire.len() - consumed, 70000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const LARGE: u8 = 5;

    /// The reply uWSGI sends for `result`: [`RpcReply::Result`] up to 65535 bytes,
    /// [`RpcReply::Large`] beyond (then write `result` itself after the packet).
    ///
    /// ```
    /// use uwsgi_wire::message::RpcReply;
    /// assert_eq!(RpcReply::for_result(b"HI:x"), RpcReply::Result(b"HI:x"));
    /// assert_eq!(RpcReply::for_result(&vec![b'B'; 70000]), RpcReply::Large { len: 70000 });
    /// ```
    pub fn for_result(result: &'a [u8]) -> Self {
        if result.len() <= usize::from(u16::MAX) {
            RpcReply::Result(result)
        } else {
            RpcReply::Large {
                len: crate::wire::convert::to_u64(result.len()),
            }
        }
    }

    /// The exact number of bytes [`encode`](RpcReply::encode) writes (for the large form,
    /// the packet only: the result's bytes follow it).
    ///
    /// ```
    /// use uwsgi_wire::message::RpcReply;
    /// assert_eq!(RpcReply::Result(b"HI:x").encoded_len(), 8);
    /// assert_eq!(RpcReply::Large { len: 70000 }.encoded_len(), 4 + 2 + 14 + 2 + 5);
    /// ```
    pub fn encoded_len(&self) -> usize {
        match self {
            RpcReply::Result(result) => HEADER_LEN + result.len(),
            RpcReply::Large { len } => HEADER_LEN + 2 + 14 + 2 + Digits::new().format(*len).len(),
        }
    }

    /// Writes the reply packet at the start of `buf`, as uWSGI frames it: `[173, len, 0]`
    /// followed by the result, or `[173, dictlen, 5]` followed by `{CONTENT_LENGTH: len}`
    /// (then write the `len` result bytes yourself). Fails for a [`RpcReply::Result`]
    /// over 65535 bytes (use [`for_result`](RpcReply::for_result)) or a buffer that is
    /// too small.
    ///
    /// ```
    /// use uwsgi_wire::message::RpcReply;
    /// let mut buf = [0u8; 32];
    /// let n = RpcReply::Large { len: 70000 }.encode(&mut buf)?;
    /// // Byte for byte what uWSGI 2.0.21 sends for a 70000-byte result.
    /// assert_eq!(&buf[..n], b"\xad\x17\x00\x05\x0e\x00CONTENT_LENGTH\x05\x0070000");
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        match self {
            RpcReply::Result(result) => {
                Packet::new(Modifier1::RPC, 0, Payload::Raw(result))?.encode(buf)
            }
            RpcReply::Large { len } => {
                let mut digits = Digits::new();
                let pair = [("CONTENT_LENGTH".as_bytes(), digits.format(*len))];
                let needed = self.encoded_len();
                let available = buf.len();
                let Some((head, block)) = buf
                    .get_mut(..needed)
                    .and_then(|out| out.split_first_chunk_mut::<HEADER_LEN>())
                else {
                    return Err(EncodeError::BufferTooSmall { needed, available });
                };
                let n = encode_vars(pair, block)?;
                let datasize = u16::try_from(n).map_err(|_| EncodeError::BlockTooLarge {
                    len: n,
                    limit: u16::MAX,
                })?;
                *head = Header::new(Modifier1::RPC, datasize, Self::LARGE).to_bytes();
                Ok(needed)
            }
        }
    }
}

/// The reply in a packet (modifier1 173, modifier2 0 or [`RpcReply::LARGE`]).
///
/// ```
/// use uwsgi_wire::{BlockKind, Limits, Packet, message::RpcReply};
/// let (p, _) = Packet::parse_as(b"\xad\x02\x00\x00ok", BlockKind::Raw, &Limits::new())?.complete().unwrap();
/// assert_eq!(RpcReply::try_from(&p)?, RpcReply::Result(b"ok"));
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
impl<'a> TryFrom<&Packet<'a>> for RpcReply<'a> {
    type Error = ParseError;

    fn try_from(packet: &Packet<'a>) -> Result<Self, ParseError> {
        expect_kind(packet, Modifier1::RPC, None)?;
        let block = packet.payload().as_bytes();
        match packet.modifier2() {
            0 => Ok(RpcReply::Result(block)),
            RpcReply::LARGE => {
                let vars = crate::Vars::parse_at(block, HEADER_LEN, &Limits::new())?;
                match vars.content_length()? {
                    Some(len) => Ok(RpcReply::Large { len }),
                    None => Err(missing(&vars, "CONTENT_LENGTH")),
                }
            }
            _ => Err(unexpected_modifier2(packet)),
        }
    }
}
