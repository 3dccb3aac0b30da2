//! What each case sends, and how it judges the answer.

use std::time::Duration;

use crate::exchange::{BodyLength, Reply};
use crate::wire::builder::VarsBuilder;
use crate::wire::header::{Header, Modifier1};

use super::probe::{dribble, Answer, Attempt, Probe, Write};
use super::{Case, Outcome};

/// The reply to every request type.
const RESPONSE: Reply = Reply::Response {
    head_request: false,
};

/// A case's verdict, before it becomes a `CaseResult`.
pub(super) struct Verdict {
    pub(super) outcome: Outcome,
    pub(super) detail: String,
    pub(super) sent: Vec<u8>,
    pub(super) received: Vec<u8>,
}

impl Verdict {
    fn new(outcome: Outcome, detail: impl Into<String>, attempt: &Attempt) -> Verdict {
        Verdict {
            outcome,
            detail: detail.into(),
            sent: attempt.sent.clone(),
            received: attempt.received.clone(),
        }
    }
}

/// The vars of a request as nginx's `uwsgi_params` sends them, `extra` last.
pub(super) fn request_vars(
    method: &str,
    content_length: &str,
    extra: &[(&[u8], &[u8])],
) -> VarsBuilder {
    let mut vars = VarsBuilder::default();
    let base: [(&str, &str); 15] = [
        ("QUERY_STRING", ""),
        ("REQUEST_METHOD", method),
        (
            "CONTENT_TYPE",
            if content_length.is_empty() {
                ""
            } else {
                "application/octet-stream"
            },
        ),
        ("CONTENT_LENGTH", content_length),
        ("REQUEST_URI", "/"),
        ("PATH_INFO", "/"),
        ("DOCUMENT_ROOT", "/var/www/html"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("REQUEST_SCHEME", "http"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("REMOTE_PORT", "40000"),
        ("SERVER_PORT", "80"),
        ("SERVER_NAME", "localhost"),
        ("HTTP_HOST", "localhost"),
        ("HTTP_USER_AGENT", "uwsgi-wire-check"),
    ];
    for (key, value) in base {
        // Every pair is small and there are few of them: push cannot fail here.
        let _ = vars.push(key, value);
    }
    for (key, value) in extra {
        if let Err(err) = vars.push(key, value) {
            tracing::warn!(error = %err, "check: a var did not fit");
        }
    }
    vars
}

/// Header + block, modifier1 0.
pub(super) fn packet(vars: &VarsBuilder) -> Vec<u8> {
    raw_packet(0, 0, vars.as_bytes())
}

/// Header + `block`; the datasize saturates at 65535 (callers keep blocks within it).
fn raw_packet(modifier1: u8, modifier2: u8, block: &[u8]) -> Vec<u8> {
    let datasize = u16::try_from(block.len()).unwrap_or(u16::MAX);
    let mut out = Header::new(Modifier1(modifier1), datasize, modifier2)
        .to_bytes()
        .to_vec();
    out.extend_from_slice(block);
    out
}

/// The plain `GET /`.
pub(super) fn get() -> Vec<u8> {
    packet(&request_vars("GET", "", &[]))
}

/// One run's state: where, and the plain GET /'s status.
pub(super) struct Ctx {
    pub(super) probe: Probe,
    pub(super) baseline: Option<u16>,
}

impl Ctx {
    fn limit(&self) -> Duration {
        self.probe.timeout
    }

    /// How long to wait for a second answer after the first.
    fn linger(&self) -> Duration {
        (self.probe.timeout / 2).min(Duration::from_secs(1))
    }

    async fn send(&self, bytes: Vec<u8>) -> Attempt {
        self.probe
            .attempt(&[Write::now(bytes)], RESPONSE, Duration::ZERO)
            .await
    }

    /// A valid request's verdict: the plain GET /'s status.
    fn same_status(&self, attempt: &Attempt) -> Verdict {
        let limit = self.limit();
        match (attempt.status(), self.baseline) {
            (Some(got), Some(want)) if got == want => Verdict::new(
                Outcome::Pass,
                format!("answered {got}, as the plain GET /"),
                attempt,
            ),
            (Some(got), None) => Verdict::new(Outcome::Pass, format!("answered {got}"), attempt),
            (Some(_), Some(want)) => Verdict::new(
                Outcome::Fail,
                format!("{}; the plain GET / gets {want}", attempt.describe(limit)),
                attempt,
            ),
            _ => Verdict::new(Outcome::Fail, attempt.describe(limit), attempt),
        }
    }

    /// An invalid request's verdict: refused (a close, or a 4xx other than `control`,
    /// the status of the same request made valid), then the next connection answered.
    async fn refused(&self, attempt: &Attempt, control: Option<u16>) -> Verdict {
        let limit = self.limit();
        let how = match &attempt.answer {
            Answer::Closed => Ok("refused: closed without answering".to_owned()),
            Answer::Response { status, .. }
                if (400..500).contains(status) && Some(*status) != control =>
            {
                Ok(format!("refused: answered {status}"))
            }
            Answer::Response { status, .. } if Some(*status) == control => Err(format!(
                "answered {status}, the status of the same request without the defect: it was accepted"
            )),
            _ => Err(attempt.describe(limit)),
        };
        match how {
            Err(why) => Verdict::new(Outcome::Fail, why, attempt),
            Ok(how) => match self.alive().await {
                Ok(()) => Verdict::new(Outcome::Pass, how, attempt),
                Err(why) => Verdict::new(Outcome::Fail, format!("{how}; then {why}"), attempt),
            },
        }
    }

    /// The server still answers a plain GET / on a new connection.
    async fn alive(&self) -> Result<(), String> {
        let next = self.send(get()).await;
        match next.answer {
            Answer::Response { .. } => Ok(()),
            _ => Err(format!(
                "the next connection's GET / {}",
                next.describe(self.limit())
            )),
        }
    }

    /// A case that must be answered or refused, never waited on, and leave the server
    /// alive.
    async fn not_waited_on(&self, attempt: &Attempt) -> Verdict {
        let limit = self.limit();
        let how = match &attempt.answer {
            Answer::Closed => "refused: closed without answering".to_owned(),
            Answer::Response { status, .. } => format!("answered {status}"),
            _ => return Verdict::new(Outcome::Fail, attempt.describe(limit), attempt),
        };
        match self.alive().await {
            Ok(()) => Verdict::new(Outcome::Pass, how, attempt),
            Err(why) => Verdict::new(Outcome::Fail, format!("{how}; then {why}"), attempt),
        }
    }

    /// The status of a valid POST / with a 5-byte body (the control of body/4-7).
    async fn valid_post_status(&self) -> Option<u16> {
        let mut bytes = packet(&request_vars("POST", "5", &[]));
        bytes.extend_from_slice(b"hello");
        self.send(bytes).await.status()
    }
}

/// A block: the plain GET's vars, then `tail` (malformed bytes).
fn get_with_tail(tail: &[u8]) -> Vec<u8> {
    let vars = request_vars("GET", "", &[]);
    let mut block = vars.as_bytes().to_vec();
    block.extend_from_slice(tail);
    raw_packet(0, 0, &block)
}

/// A POST / with `content_length` vars (raw), then `body`.
fn post_with(content_lengths: &[&str], body: &[u8]) -> Vec<u8> {
    let mut vars = request_vars("POST", content_lengths.first().copied().unwrap_or(""), &[]);
    for more in content_lengths.iter().skip(1) {
        let _ = vars.push("CONTENT_LENGTH", more);
    }
    let mut bytes = packet(&vars);
    bytes.extend_from_slice(body);
    bytes
}

/// True when `bytes` hold an HTTP/1.x status line (`HTTP/1.x NNN`) at a line start.
fn has_status_line(bytes: &[u8]) -> bool {
    bytes.windows(12).enumerate().any(|(at, w)| {
        (at == 0 || bytes[at - 1] == b'\n')
            && w.starts_with(b"HTTP/1.")
            && w[8] == b' '
            && w[9..12].iter().all(u8::is_ascii_digit)
    })
}

pub(super) async fn run(ctx: &Ctx, case: &Case) -> Verdict {
    let limit = ctx.limit();
    match case.id {
        "framing/1" => {
            let bytes = get();
            let (head, rest) = bytes.split_at(2);
            let writes = [
                Write::now(head),
                Write::after(Duration::from_millis(50), rest),
            ];
            let attempt = ctx.probe.attempt(&writes, RESPONSE, Duration::ZERO).await;
            ctx.same_status(&attempt)
        }
        "framing/2" => {
            // One byte per write; a 1 ms pause every 16 of them lets each reach the
            // server on its own.
            let mut writes = dribble(&get(), 1, Duration::ZERO);
            for write in writes.iter_mut().step_by(16).skip(1) {
                write.pause = Duration::from_millis(1);
            }
            let attempt = ctx.probe.attempt(&writes, RESPONSE, Duration::ZERO).await;
            ctx.same_status(&attempt)
        }
        "framing/3" => {
            let attempt = ctx.send(vec![0, 0, 0, 0]).await;
            ctx.not_waited_on(&attempt).await
        }
        "framing/4" => {
            let attempt = ctx.send(edge_packet()).await;
            let verdict = ctx.not_waited_on(&attempt).await;
            match (&attempt.answer, verdict.outcome) {
                (Answer::Response { status, .. }, Outcome::Pass) if *status >= 500 => Verdict {
                    outcome: Outcome::Fail,
                    detail: format!("answered {status} to a valid 65535-byte block: refuse with a close or a 4xx"),
                    ..verdict
                },
                _ => verdict,
            }
        }
        "framing/5" => {
            let mut bytes = get();
            bytes.extend_from_slice(&get());
            let attempt = ctx
                .probe
                .attempt(&[Write::now(bytes)], RESPONSE, ctx.linger())
                .await;
            let verdict = ctx.same_status(&attempt);
            if verdict.outcome != Outcome::Pass {
                return verdict;
            }
            let extra = &attempt.extra;
            if extra.is_empty() {
                Verdict {
                    detail: format!(
                        "{}; the second packet got no answer before the close or within {:?}",
                        verdict.detail,
                        ctx.linger()
                    ),
                    ..verdict
                }
            } else if extra.starts_with(b"HTTP/1.") || extra.starts_with(b"Status:") {
                Verdict {
                    detail: format!("{}; the second packet was answered too", verdict.detail),
                    ..verdict
                }
            } else {
                Verdict::new(
                    Outcome::Fail,
                    format!(
                        "{}, then {} bytes that are not a response",
                        verdict.detail,
                        extra.len()
                    ),
                    &attempt,
                )
            }
        }
        "vars/1" => {
            let vars = request_vars("GET", "", &[(b"HTTP_X_UWSGI_WIRE_EMPTY", b"")]);
            ctx.same_status(&ctx.send(packet(&vars)).await)
        }
        "vars/2" => {
            let vars = request_vars(
                "GET",
                "",
                &[
                    (b"HTTP_X_UWSGI_WIRE_DUP", b"one"),
                    (b"HTTP_X_UWSGI_WIRE_DUP", b"two"),
                ],
            );
            ctx.same_status(&ctx.send(packet(&vars)).await)
        }
        "vars/3" => {
            let vars = request_vars(
                "GET",
                "",
                &[
                    (b"X_UWSGI_WIRE_\xe9\x80", b"\xff\x00\x01"),
                    (b"HTTP_X_UWSGI_WIRE_BIN", b"caf\xe9 \xff"),
                ],
            );
            ctx.same_status(&ctx.send(packet(&vars)).await)
        }
        "vars/4" => {
            let mut key = b"HTTP_X_UWSGI_WIRE_".to_vec();
            key.resize(300, b'L');
            let (v255, v256, v1000) = (vec![b'a'; 255], vec![b'b'; 256], vec![b'c'; 1000]);
            let vars = request_vars(
                "GET",
                "",
                &[
                    (&key, b"x"),
                    (b"HTTP_X_UWSGI_WIRE_255", &v255),
                    (b"HTTP_X_UWSGI_WIRE_256", &v256),
                    (b"HTTP_X_UWSGI_WIRE_1000", &v1000),
                ],
            );
            ctx.same_status(&ctx.send(packet(&vars)).await)
        }
        "vars/5" => {
            let names: Vec<Vec<u8>> = (0..85)
                .map(|i| format!("HTTP_X_UWSGI_WIRE_{i}").into_bytes())
                .collect();
            let extra: Vec<(&[u8], &[u8])> =
                names.iter().map(|n| (n.as_slice(), &b"v"[..])).collect();
            let vars = request_vars("GET", "", &extra);
            ctx.same_status(&ctx.send(packet(&vars)).await)
        }
        "body/1" => {
            let attempt = ctx.send(post_with(&["5"], b"hello")).await;
            match attempt.answer {
                Answer::Response { status, .. } => {
                    Verdict::new(Outcome::Pass, format!("answered {status}"), &attempt)
                }
                _ => Verdict::new(Outcome::Fail, attempt.describe(limit), &attempt),
            }
        }
        "body/2" => {
            let body: Vec<u8> = (0..64u8).map(|i| b'a' + i % 26).collect();
            let head = post_with(&["64"], b"");
            let mut writes = vec![Write::now(head)];
            writes.extend(
                dribble(&body, 8, Duration::from_millis(20))
                    .into_iter()
                    .map(|mut w| {
                        w.pause = Duration::from_millis(20);
                        w
                    }),
            );
            let attempt = ctx.probe.attempt(&writes, RESPONSE, Duration::ZERO).await;
            match attempt.answer {
                Answer::Response { status, .. } => {
                    Verdict::new(Outcome::Pass, format!("answered {status}"), &attempt)
                }
                _ => Verdict::new(Outcome::Fail, attempt.describe(limit), &attempt),
            }
        }
        "body/3" => {
            let attempt = ctx.send(post_with(&["100"], b"0123456789")).await;
            match attempt.answer {
                Answer::Response { status, .. } => Verdict::new(
                    Outcome::Pass,
                    format!("answered {status} without the rest of the body"),
                    &attempt,
                ),
                Answer::Closed => {
                    Verdict::new(Outcome::Pass, "gave up: closed the connection", &attempt)
                }
                _ => Verdict::new(
                    Outcome::Fail,
                    format!(
                        "{}: it still waits for the 90 missing body bytes",
                        attempt.describe(limit)
                    ),
                    &attempt,
                ),
            }
        }
        "body/4" | "body/5" | "body/6" | "body/7" => {
            let lengths: &[&str] = match case.id {
                "body/4" => &["5abc"],
                "body/5" => &["-5"],
                "body/6" => &["+5"],
                _ => &["5", "6"],
            };
            let control = ctx.valid_post_status().await;
            let attempt = ctx.send(post_with(lengths, b"hello!")).await;
            ctx.refused(&attempt, control).await
        }
        "malformed/1" => {
            let attempt = ctx.send(get_with_tail(b"\x00\x00\x01\x00x")).await;
            ctx.refused(&attempt, ctx.baseline).await
        }
        "malformed/2" => {
            let attempt = ctx.send(get_with_tail(b"\x10\x00abc")).await;
            ctx.refused(&attempt, ctx.baseline).await
        }
        "malformed/3" => {
            let attempt = ctx.send(get_with_tail(b"\x01\x00x\x09\x00abc")).await;
            ctx.refused(&attempt, ctx.baseline).await
        }
        "malformed/4" => {
            let attempt = ctx.send(get_with_tail(b"\x05")).await;
            ctx.refused(&attempt, ctx.baseline).await
        }
        "malformed/5" => {
            let mut bytes = edge_packet();
            bytes.truncate(1024);
            let attempt = ctx.send(bytes).await;
            if matches!(attempt.answer, Answer::Timeout) {
                return Verdict::new(
                    Outcome::Warn,
                    format!("waited for the rest of the block for {limit:?}: its buffer holds 65535 bytes, so no datasize is over it"),
                    &attempt,
                );
            }
            ctx.refused(&attempt, ctx.baseline).await
        }
        "security/1" => {
            let inner = get();
            let len = inner.len().to_string();
            let attempt = ctx
                .probe
                .attempt(
                    &[Write::now(post_with(&[&len], &inner))],
                    RESPONSE,
                    ctx.linger(),
                )
                .await;
            match &attempt.answer {
                Answer::Response { status, .. } => {
                    if has_status_line(&attempt.extra) || has_status_line(&attempt.body) {
                        Verdict::new(Outcome::Fail, format!("answered {status}, then answered the packet in the body as a request"), &attempt)
                    } else {
                        Verdict::new(Outcome::Pass, format!("answered {status} once"), &attempt)
                    }
                }
                Answer::Closed => {
                    Verdict::new(Outcome::Pass, "refused: closed without answering", &attempt)
                }
                _ => Verdict::new(Outcome::Fail, attempt.describe(limit), &attempt),
            }
        }
        "security/2" => {
            let vars = request_vars(
                "GET",
                "",
                &[
                    (b"UWSGI_SCHEME", b"https"),
                    (b"UWSGI_APPID", b"uwsgi-wire-check"),
                ],
            );
            let attempt = ctx.send(packet(&vars)).await;
            let seen = match (&attempt.answer, ctx.baseline) {
                (Answer::Response { status, .. }, Some(want)) if *status == want => None,
                (Answer::Response { status, .. }, None) => {
                    let _ = status;
                    None
                }
                _ => Some(format!(
                    "it acts on them: {}, where the plain GET / gets {:?}",
                    attempt.describe(limit),
                    ctx.baseline
                )),
            };
            match (ctx.alive().await, seen) {
                (Err(why), _) => Verdict::new(Outcome::Fail, why, &attempt),
                (Ok(()), Some(seen)) => Verdict::new(Outcome::Warn, seen, &attempt),
                (Ok(()), None) => Verdict::new(
                    Outcome::Pass,
                    "no visible effect: answered as the plain GET /",
                    &attempt,
                ),
            }
        }
        "kinds/1" => {
            let attempt = ctx
                .probe
                .attempt(
                    &[Write::now([0x64, 0, 0, 0])],
                    Reply::Packet(Modifier1::PING),
                    Duration::ZERO,
                )
                .await;
            kind_verdict(ctx, &attempt, "ping", |answer| match answer {
                Answer::Packet {
                    modifier1: 100,
                    modifier2: 1,
                } => Some(Ok("a pong".to_owned())),
                Answer::Packet { .. } => Some(Err("a packet that is not a pong".to_owned())),
                _ => None,
            })
            .await
        }
        "kinds/2" => {
            let attempt = ctx
                .probe
                .attempt(
                    &[Write::now(raw_packet(101, 0, b"hello"))],
                    Reply::Raw(BodyLength::Exact(5)),
                    Duration::ZERO,
                )
                .await;
            let body = attempt.body.clone();
            kind_verdict(ctx, &attempt, "echo", move |answer| match answer {
                Answer::Raw if body == b"hello" => Some(Ok("the payload back".to_owned())),
                Answer::Raw if body.starts_with(b"HTTP/") => None,
                Answer::Raw => Some(Err(format!(
                    "{} bytes that are not the payload",
                    body.len()
                ))),
                _ => None,
            })
            .await
        }
        "kinds/3" => {
            let attempt = ctx
                .probe
                .attempt(
                    &[Write::now([0x6e, 0, 0, 17])],
                    Reply::Packet(Modifier1::RESPONSE),
                    Duration::ZERO,
                )
                .await;
            kind_verdict(ctx, &attempt, "signal", |answer| match answer {
                Answer::Packet {
                    modifier1: 255,
                    modifier2: 1,
                } => Some(Ok("queued (ff 00 00 01)".to_owned())),
                Answer::Packet {
                    modifier1: 255,
                    modifier2: 0,
                } => Some(Ok("rejected (ff 00 00 00)".to_owned())),
                Answer::Packet { .. } => {
                    Some(Err("a packet that is not a generic response".to_owned()))
                }
                _ => None,
            })
            .await
        }
        "responses/1" => {
            let attempt = ctx.send(get()).await;
            match &attempt.answer {
                Answer::Response { status, version: Some(minor), .. } => {
                    Verdict::new(Outcome::Pass, format!("HTTP/1.{minor} {status}"), &attempt)
                }
                Answer::Response { status, version: None, status_header: true, .. } => {
                    Verdict::new(Outcome::Pass, format!("a CGI head, Status {status}"), &attempt)
                }
                Answer::Response { .. } => Verdict::new(
                    Outcome::Fail,
                    "no status line and no Status header: nginx reads this as a CGI head and makes up a 200",
                    &attempt,
                ),
                _ => Verdict::new(Outcome::Fail, attempt.describe(limit), &attempt),
            }
        }
        "responses/2" => {
            let vars = request_vars(
                "GET",
                "",
                &[(
                    b"HTTP_X_UWSGI_WIRE_INJECT",
                    b"a\r\nX-Uwsgi-Wire-Injected: 1\r\n\x00b",
                )],
            );
            let attempt = ctx.send(packet(&vars)).await;
            match &attempt.answer {
                Answer::Response {
                    status, headers, ..
                } => {
                    let injected = headers.iter().any(|(name, value)| {
                        name.eq_ignore_ascii_case(b"x-uwsgi-wire-injected")
                            || value.iter().any(|b| matches!(b, b'\r' | b'\n' | 0))
                    });
                    if injected {
                        Verdict::new(
                            Outcome::Fail,
                            format!("answered {status} with the injected header"),
                            &attempt,
                        )
                    } else {
                        Verdict::new(
                            Outcome::Pass,
                            format!("answered {status}, nothing injected"),
                            &attempt,
                        )
                    }
                }
                Answer::Closed => {
                    Verdict::new(Outcome::Pass, "refused: closed without answering", &attempt)
                }
                _ => Verdict::new(Outcome::Fail, attempt.describe(limit), &attempt),
            }
        }
        other => Verdict {
            outcome: Outcome::Fail,
            detail: format!("no such case: {other}"),
            sent: Vec::new(),
            received: Vec::new(),
        },
    }
}

/// A GET / whose block is exactly 65535 bytes (padded by one header var).
fn edge_packet() -> Vec<u8> {
    let base = request_vars("GET", "", &[]);
    let key = b"HTTP_X_UWSGI_WIRE_PAD";
    let pad = 65535usize.saturating_sub(base.as_bytes().len() + 4 + key.len());
    let value = vec![b'p'; pad];
    packet(&request_vars("GET", "", &[(key, &value)]))
}

/// Another kind's verdict: `judge` gives `Some(Ok)` for the right reply, `Some(Err)`
/// for a wrong one of the right kind, `None` for "does not speak it" (a warning).
async fn kind_verdict(
    ctx: &Ctx,
    attempt: &Attempt,
    name: &str,
    judge: impl Fn(&Answer) -> Option<Result<String, String>>,
) -> Verdict {
    let verdict = match judge(&attempt.answer) {
        Some(Ok(how)) => Verdict::new(Outcome::Pass, how, attempt),
        Some(Err(why)) => Verdict::new(Outcome::Fail, why, attempt),
        None => Verdict::new(
            Outcome::Warn,
            format!("does not speak {name}: {}", attempt.describe(ctx.limit())),
            attempt,
        ),
    };
    match ctx.alive().await {
        Ok(()) => verdict,
        Err(why) => Verdict::new(
            Outcome::Fail,
            format!("{}; then {why}", verdict.detail),
            attempt,
        ),
    }
}
