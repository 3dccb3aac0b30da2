//! The state machine: bytes in, events out, for both sides of a stream.

use crate::wire::convert::to_u64;
use crate::wire::header::{Header, Modifier1, HEADER_LEN};
use crate::wire::limits::Limits;
use crate::wire::packet::Packet;
use crate::wire::status::Status;

use super::error::{ExchangeError, ExchangeErrorKind};
use super::follow::{reply_block_kind, reply_body_len, request_body_len};
use super::{BodyLength, Event, Head, Reply};
use super::{HeadParser, ResponseHead, DEFAULT_MAX_HEAD};

/// The one sans-I/O state machine under both sides ([`ServerExchange`](super::ServerExchange),
/// [`ClientExchange`](super::ClientExchange)) and the adapters: see the [module docs](super).
///
/// Give [`decode`](Machine::decode) the bytes received and not yet consumed; it returns
/// the next [`Event`] and how many bytes it consumed, or [`Status::Partial`] with the least
/// number of bytes still missing. Drop the consumed bytes and call again. At the end of
/// the stream call [`decode_eof`](Machine::decode_eof) instead, which finishes a body
/// that runs to the end of the stream and tells a clean close from a cut one.
///
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    side: Side,
    limits: Limits,
    /// The longest response head a client reads (a server reads none).
    max_head: usize,
    state: State,
    /// Stream bytes consumed so far: the base of every error offset.
    position: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Server,
    Client,
}

#[derive(Debug, Clone)]
enum State {
    /// Between exchanges: a server waits for the next packet; a client expects nothing.
    Idle,
    /// A client waits for a uwsgi-framed reply with this modifier1.
    ReplyPacket(Modifier1),
    /// A client reads an HTTP response head.
    Response {
        parser: HeadParser,
        head_request: bool,
    },
    /// A client waits for the first byte of an unframed reply.
    Raw(BodyLength),
    /// Body bytes of known length still to come.
    Body { remaining: u64 },
    /// A body that ends with the stream; `seen` bytes so far.
    ToEof { seen: u64 },
    /// The exchange is complete; [`Event::End`] is next.
    End,
}

impl Machine {
    /// The server side of a stream: every exchange is a packet and the bytes its kind
    /// says follow it (docs/PROTOCOL.md section 4.1): the strict `CONTENT_LENGTH` for
    /// request types, `size` for a magic cache `set` or `update`, nothing for the rest.
    /// Exchanges follow one another on the stream (pipelining).
    pub(crate) const fn server(limits: Limits) -> Self {
        Machine {
            side: Side::Server,
            limits,
            max_head: DEFAULT_MAX_HEAD,
            state: State::Idle,
            position: 0,
        }
    }

    /// The client side of a stream: call [`expect`](Machine::expect) with the
    /// [`Reply`] of each request sent, then decode the reply.
    pub(crate) const fn client(limits: Limits) -> Self {
        Machine {
            side: Side::Client,
            limits,
            max_head: DEFAULT_MAX_HEAD,
            state: State::Idle,
            position: 0,
        }
    }

    /// A server-side machine already inside a body of `len` bytes.
    pub(crate) fn within_body(len: u64) -> Self {
        let mut exchange = Machine::server(Limits::new());
        exchange.state = if len > 0 {
            State::Body { remaining: len }
        } else {
            State::End
        };
        exchange
    }

    /// The same machine reading response heads of at most `max` bytes: the replies
    /// expected from now on (a head already being read keeps its parser's limit).
    pub(crate) const fn with_max_head(mut self, max: usize) -> Self {
        self.max_head = max;
        self
    }

    /// The next reply to read is `reply` (client side; [`Reply::to`] gives it for any
    /// packet sent). Returns false, changing nothing, when an exchange is still in
    /// progress (its [`Event::End`] has not been decoded yet) or on a server.
    pub(crate) fn expect(&mut self, reply: Reply) -> bool {
        if self.side != Side::Client || !matches!(self.state, State::Idle) {
            return false;
        }
        self.state = match reply {
            Reply::Response { head_request } => State::Response {
                parser: HeadParser::new(self.max_head),
                head_request,
            },
            Reply::Packet(modifier1) => State::ReplyPacket(modifier1),
            Reply::Raw(length) => State::Raw(length),
        };
        true
    }

    /// True once a head was decoded and until its [`Event::End`]: inside the body, or
    /// with only the end left to decode.
    pub(crate) const fn after_head(&self) -> bool {
        matches!(
            self.state,
            State::Body { .. } | State::ToEof { .. } | State::End
        )
    }

    /// True between exchanges: before the first head, and after each [`Event::End`].
    pub(crate) const fn is_idle(&self) -> bool {
        matches!(self.state, State::Idle)
    }

    /// The body bytes still to come when inside a body of known length, else `None`.
    pub(crate) const fn body_remaining(&self) -> Option<u64> {
        match self.state {
            State::Body { remaining } => Some(remaining),
            _ => None,
        }
    }

    /// The number of stream bytes consumed so far.
    pub(crate) const fn position(&self) -> u64 {
        self.position
    }

    /// Decodes the next event from `buf`, the bytes received and not consumed yet.
    ///
    /// - `Complete((event, consumed))`: drop the first `consumed` bytes of `buf` (0 for
    ///   [`Event::End`]).
    /// - `Partial { needed }`: at least `needed` more bytes must arrive; keep `buf` and
    ///   call again with them appended. Nothing was consumed.
    ///
    /// An error leaves the stream position undefined: answer (see
    /// [`ExchangeError::status_code`]) and close.
    ///
    #[inline]
    pub(crate) fn decode<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Status<(Event<'a, Head<'a>>, usize)>, ExchangeError> {
        let status = self.step(buf)?;
        if let Status::Complete((_, consumed)) = &status {
            self.position = self.position.saturating_add(to_u64(*consumed));
        }
        Ok(status)
    }

    /// Like [`decode`](Machine::decode), at the end of the stream: `buf` holds the last
    /// bytes received and no more will come.
    ///
    /// - `Some((event, consumed))`: an event, as from `decode`; a body that runs to the
    ///   end of the stream gets its [`Event::End`] here. Call again until `None`.
    /// - `None`: the stream ended cleanly, between exchanges.
    /// - An error when it ended inside an exchange, or before a reply that was
    ///   expected ([`ExchangeError::is_eof`]).
    pub(crate) fn decode_eof<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Option<(Event<'a, Head<'a>>, usize)>, ExchangeError> {
        let missing = match self.decode(buf)? {
            Status::Complete(done) => return Ok(Some(done)),
            Status::Partial { needed } => needed,
        };
        let kind = match self.state {
            State::Idle if buf.is_empty() => return Ok(None),
            State::ToEof { .. } => {
                // Every byte was handed out (decode takes any byte): the body is complete.
                self.state = State::Idle;
                return Ok(Some((Event::End, 0)));
            }
            State::Idle => ExchangeErrorKind::EofInHead {
                received: buf.len(),
                missing,
            },
            State::ReplyPacket(_) | State::Response { .. } | State::Raw(_) if buf.is_empty() => {
                ExchangeErrorKind::NoReply
            }
            State::ReplyPacket(_) | State::Response { .. } | State::Raw(_) => {
                ExchangeErrorKind::EofInHead {
                    received: buf.len(),
                    missing,
                }
            }
            State::Body { remaining } => ExchangeErrorKind::EofInBody { remaining },
            // `decode` always completes in this state.
            State::End => return Ok(None),
        };
        Err(self.error(kind, to_u64(buf.len())))
    }

    /// The buffer an adapter should make room for while a head is partial: `have` bytes
    /// of it, `needed` more at least (what `decode` returned). Exactly the missing bytes
    /// of a packet, whose `needed` is the rest of its block; for a response head, whose
    /// `needed` is only a lower bound (the blank line), twice what it has, so a long head
    /// takes a few reads, not one per two bytes. Never past the largest head the limits
    /// allow (4 + `max_datasize`, or `max_head`): the byte after it is refused anyway.
    pub(crate) fn head_room(&self, have: usize, needed: usize) -> usize {
        let bound = match self.state {
            State::Response { .. } => self.max_head,
            _ => HEADER_LEN + usize::from(self.limits.max_datasize),
        };
        have.saturating_add(needed)
            .max(have.saturating_mul(2))
            .min(bound)
            .max(have.saturating_add(1))
    }

    /// [`decode`](Machine::decode) when only the [`Event::End`] is left: true, and the
    /// machine is idle again, exactly as `decode` and `decode_eof` would leave it (they
    /// consume nothing there). Lets an adapter answer the end without the buffer.
    #[inline]
    pub(crate) fn take_end(&mut self) -> bool {
        let end = matches!(self.state, State::End);
        if end {
            self.state = State::Idle;
        }
        end
    }

    fn error(&self, kind: ExchangeErrorKind, at: u64) -> ExchangeError {
        ExchangeError::new(kind, self.position.saturating_add(at))
    }

    #[inline]
    fn step<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Status<(Event<'a, Head<'a>>, usize)>, ExchangeError> {
        match self.state {
            State::Idle => match self.side {
                Side::Server => self.request(buf),
                Side::Client if buf.is_empty() => Ok(Status::Partial { needed: 1 }),
                Side::Client => Err(self.error(ExchangeErrorKind::UnexpectedData, 0)),
            },
            State::ReplyPacket(expected) => self.reply_packet(buf, expected),
            State::Response { .. } => self.response(buf),
            State::Raw(length) => {
                if buf.is_empty() && length != BodyLength::Exact(0) {
                    return Ok(Status::Partial { needed: 1 });
                }
                self.start_body(length, 0)?;
                let head = Head::Raw;
                Ok(Status::Complete((Event::Head { head, body: length }, 0)))
            }
            State::Body { remaining } => {
                if buf.is_empty() {
                    return Ok(Status::Partial { needed: 1 });
                }
                let n = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                let left = remaining.saturating_sub(to_u64(n));
                self.state = if left == 0 {
                    State::End
                } else {
                    State::Body { remaining: left }
                };
                Ok(Status::Complete((
                    Event::Body(buf.get(..n).unwrap_or_default()),
                    n,
                )))
            }
            State::ToEof { seen } => {
                if buf.is_empty() {
                    return Ok(Status::Partial { needed: 1 });
                }
                let total = seen.saturating_add(to_u64(buf.len()));
                let limit = self.limits.max_body;
                if total > limit {
                    let kind = ExchangeErrorKind::BodyTooLarge {
                        length: total,
                        limit,
                    };
                    return Err(self.error(kind, limit.saturating_sub(seen)));
                }
                self.state = State::ToEof { seen: total };
                Ok(Status::Complete((Event::Body(buf), buf.len())))
            }
            State::End => {
                self.state = State::Idle;
                Ok(Status::Complete((Event::End, 0)))
            }
        }
    }

    /// Enters the body of an exchange whose head was `consumed` bytes.
    fn start_body(&mut self, length: BodyLength, consumed: usize) -> Result<(), ExchangeError> {
        self.state = match length {
            BodyLength::Exact(len) if len > self.limits.max_body => {
                let kind = ExchangeErrorKind::BodyTooLarge {
                    length: len,
                    limit: self.limits.max_body,
                };
                return Err(self.error(kind, to_u64(consumed)));
            }
            BodyLength::Exact(0) => State::End,
            BodyLength::Exact(remaining) => State::Body { remaining },
            BodyLength::ToEof => State::ToEof { seen: 0 },
        };
        Ok(())
    }

    #[inline]
    fn request<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Status<(Event<'a, Head<'a>>, usize)>, ExchangeError> {
        Ok(self.request_head(buf)?.map(|(packet, len, consumed)| {
            let head = Head::Packet(packet);
            let body = BodyLength::Exact(len);
            (Event::Head { head, body }, consumed)
        }))
    }

    /// True when [`decode`](Machine::decode) would read a request head: a server
    /// between exchanges.
    #[inline]
    pub(crate) fn awaits_request(&self) -> bool {
        matches!((&self.state, self.side), (State::Idle, Side::Server))
    }

    /// The next request's header, checked against the limits, and the packet's length
    /// once all of it is in `buf`.
    #[inline(always)]
    fn request_len(&self, buf: &[u8]) -> Result<Status<(Header, usize)>, ExchangeError> {
        Packet::frame_len(buf, &self.limits).map_err(|err| self.packet_error(err))
    }

    /// [`decode`](Machine::decode) for an adapter that owns its buffer, when
    /// [`awaits_request`](Machine::awaits_request): the request head, its body length
    /// and the bytes it took, without the event. The same `Partial` and the same errors
    /// as `decode`, and it consumes the head as `decode` does. The codec splits the
    /// packet off its buffer after this (BENCHMARKS.md, target 1).
    #[inline(always)]
    pub(crate) fn take_request<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Status<(Packet<'a>, u64, usize)>, ExchangeError> {
        let done = self.request_head(buf)?;
        if let Status::Complete((_, _, total)) = &done {
            self.position = self.position.saturating_add(to_u64(*total));
        }
        Ok(done)
    }

    /// Always inlined: the codec's request path runs through it on every request.
    #[inline(always)]
    fn request_head<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Status<(Packet<'a>, u64, usize)>, ExchangeError> {
        let (header, total) = match self.request_len(buf)? {
            Status::Complete(done) => done,
            Status::Partial { needed } => return Ok(Status::Partial { needed }),
        };
        // `request_len` saw all `total` bytes.
        let block = buf.get(HEADER_LEN..total).unwrap_or_default();
        let kind = header.modifier1.block_kind();
        let packet = Packet::from_block(&header, block, kind, &self.limits)
            .map_err(|err| self.packet_error(err))?;
        let len = request_body_len(&packet).map_err(|err| self.packet_error(err))?;
        self.start_body(BodyLength::Exact(len), total)?;
        Ok(Status::Complete((packet, len, total)))
    }

    fn packet_error(&self, err: crate::ParseError) -> ExchangeError {
        self.error(ExchangeErrorKind::Packet(err), to_u64(err.offset()))
    }

    fn reply_packet<'a>(
        &mut self,
        buf: &'a [u8],
        expected: Modifier1,
    ) -> Result<Status<(Event<'a, Head<'a>>, usize)>, ExchangeError> {
        let header = match Header::parse(buf) {
            Status::Complete(header) => header,
            Status::Partial { needed } => return Ok(Status::Partial { needed }),
        };
        if header.modifier1 != expected {
            let kind = ExchangeErrorKind::UnexpectedReply {
                expected,
                modifier1: header.modifier1,
                modifier2: header.modifier2,
            };
            return Err(self.error(kind, 0));
        }
        let reply_error = |this: &Self, err: crate::ParseError| {
            this.error(ExchangeErrorKind::ReplyPacket(err), to_u64(err.offset()))
        };
        let (packet, consumed) =
            match Packet::parse_as(buf, reply_block_kind(&header), &self.limits) {
                Ok(Status::Complete(done)) => done,
                Ok(Status::Partial { needed }) => return Ok(Status::Partial { needed }),
                Err(err) => return Err(reply_error(self, err)),
            };
        let len = reply_body_len(&packet).map_err(|err| reply_error(self, err))?;
        let body = BodyLength::Exact(len);
        self.start_body(body, consumed)?;
        let head = Head::Packet(packet);
        Ok(Status::Complete((Event::Head { head, body }, consumed)))
    }

    fn response<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Status<(Event<'a, Head<'a>>, usize)>, ExchangeError> {
        let State::Response {
            parser,
            head_request,
        } = &mut self.state
        else {
            return Ok(Status::Partial { needed: 1 });
        };
        let head_request = *head_request;
        let parsed = parser.parse(buf);
        let (head, consumed) = match parsed {
            Ok(Status::Complete(done)) => done,
            Ok(Status::Partial { needed }) => return Ok(Status::Partial { needed }),
            // The parser's offset counts from the head's first byte.
            Err(err) => return Err(self.error(err.kind(), err.offset())),
        };
        let body = response_body(&head, head_request);
        self.start_body(body, consumed)?;
        Ok(Status::Complete((
            Event::Head {
                head: Head::Response(head),
                body,
            },
            consumed,
        )))
    }
}

/// How the body of an HTTP response is delimited (docs/PROTOCOL.md section 4.2): none
/// after a `HEAD` request and for 1xx, 204 and 304; a chunked body runs to the end of
/// the stream and is passed through as bytes; else Content-Length, or the end of the
/// stream (uWSGI closes after the response).
fn response_body(head: &ResponseHead<'_>, head_request: bool) -> BodyLength {
    let status = head.status();
    if head_request || (100..200).contains(&status) || status == 204 || status == 304 {
        return BodyLength::Exact(0);
    }
    if head.is_chunked() {
        return BodyLength::ToEof;
    }
    match head.content_length() {
        Some(len) => BodyLength::Exact(len),
        None => BodyLength::ToEof,
    }
}
