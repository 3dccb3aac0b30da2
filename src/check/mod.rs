//! The conformance checker (feature `check`): a catalogue of cases, each sending
//! bytes to a uwsgi server and judging its answer, in the manner of h2spec. What
//! `uwsgi-wire check ADDR` runs, as a library: another server's own tests can run it
//! against an address, or over connections in memory, and assert on the [`Report`].
//!
//! - [`catalogue`]: every [`Case`], addressed `section/n` (`vars/3`), with its
//!   [`Level`] (MUST cases always run, SHOULD cases with [`Checker::strict`]) and the
//!   reference behaviour it checks (uWSGI 2.0 as observed, or the documented rule),
//!   citing docs/PROTOCOL.md.
//! - [`Checker::run`]: every case opens its own connections to the address (TCP
//!   `host:port` or `unix:PATH`, as nginx's `uwsgi_pass` writes it), sends its bytes,
//!   reads the answer through the exchange core's client side, and judges it. Every
//!   wait is bounded by [`Checker::timeout`]; at most 1 MiB is read per connection.
//! - [`Checker::run_with`]: the same over the connections a connector opens, any
//!   `AsyncRead + AsyncWrite`: one half of a [`tokio::io::duplex`] whose other half the
//!   server driver serves checks a service with no socket (the [`Checker`] example).
//!   No case needs a socket: none half-closes, a silent peer is found by the same
//!   timeouts, and every case ends over a duplex as over TCP (`tests/check.rs`).
//! - The [`Report`] prints as `uwsgi-wire check` prints it (`Display`), serializes to
//!   its JSON with serde (`serde_json::to_string_pretty(&report)`, as `--json`), and
//!   writes its JUnit XML ([`Report::write_junit`], as `--junit FILE`).
//! - The only thing required of the server is that it answers a `GET /` with any
//!   status; it cannot be reached or does not, and `run` is an [`Error`] (with the
//!   [`client::Error`] that says why as its source).
//!
//! Cases run one after the other. Logs go through `tracing`, at debug level.
//!
//! ```
//! use std::time::Duration;
//! use uwsgi_wire::check::Checker;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The crate's own server driver, serving an axum app.
//! let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?.to_string();
//! tokio::spawn(async move { uwsgi_wire::server::serve(listener, app).await });
//!
//! let report = Checker::new().timeout(Duration::from_secs(2)).run(&addr).await?;
//! for result in &report.results {
//!     println!("{}  {}  {:?}", result.case.id, result.case.title, result.outcome);
//! }
//! assert!(report.passed(), "{report:?}");
//! # Ok(())
//! # }
//! ```

mod cases;
mod catalogue;
mod probe;
mod report;

use std::future::Future;
use std::io;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite};

use crate::client::{self, ErrorKind};

use cases::Ctx;
use probe::{Answer, Probe, Write};

/// How much of what was sent and what came back a [`CaseResult`] keeps.
const KEEP: usize = 1024;

/// The [`Report::addr`] of a run over a connector.
const CONNECTOR: &str = "connector";

/// Whether a case is required.
///
/// ```
/// use uwsgi_wire::check::{catalogue, Level};
/// assert!(catalogue().iter().any(|case| case.level == Level::Should));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// Always run; a failure fails the run.
    Must,
    /// Run with [`Checker::strict`] (or when named in [`Checker::only`]); then a failure
    /// fails the run too.
    Should,
}

impl Level {
    /// `MUST` or `SHOULD`, as RFC 2119 writes them.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::check::Level::Should.as_str(), "SHOULD");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
        }
    }
}

/// One case of the [`catalogue`].
///
/// ```
/// let case = &uwsgi_wire::check::catalogue()[0];
/// assert_eq!(case.id, "framing/1");
/// assert_eq!((case.section, case.number), ("framing", 1));
/// assert!(case.source.starts_with("docs/PROTOCOL.md"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Case {
    /// `section/number`, as the command line addresses it: `vars/3`.
    pub id: &'static str,
    /// The section: `framing`, `vars`, `body`, `malformed`, `security`, `kinds`,
    /// `responses`.
    pub section: &'static str,
    /// The case's number in its section, from 1.
    pub number: u8,
    /// One line.
    pub title: &'static str,
    /// MUST or SHOULD.
    pub level: Level,
    /// The behaviour checked, what passes and what fails, and why.
    pub reference: &'static str,
    /// Where the reference comes from in docs/PROTOCOL.md.
    pub source: &'static str,
}

/// Every case, in the order they run (docs/CHECK.md has the same table).
///
/// ```
/// let ids: Vec<&str> = uwsgi_wire::check::catalogue().iter().map(|case| case.id).collect();
/// assert!(ids.contains(&"body/4"));
/// ```
pub fn catalogue() -> &'static [Case] {
    &catalogue::CASES
}

/// A case's outcome.
///
/// ```
/// use uwsgi_wire::check::Outcome;
/// assert_eq!(Outcome::Warn.as_str(), "warn");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The server behaved as the case requires.
    Pass,
    /// It did not.
    Fail,
    /// Worth knowing, not a failure: a kind the server does not speak, a magic var it
    /// acts on, a case that does not apply.
    Warn,
}

impl Outcome {
    /// `pass`, `fail` or `warn`.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::check::Outcome::Fail.as_str(), "fail");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Warn => "warn",
        }
    }
}

/// What one case found.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let addr = listener.local_addr()?.to_string();
/// # tokio::spawn(async move { uwsgi_wire::server::serve(listener, app).await });
/// let report = uwsgi_wire::check::Checker::new().only(["malformed/1"]).run(&addr).await?;
/// let result = &report.results[0];
/// assert_eq!(result.case.id, "malformed/1");
/// assert!(result.sent.ends_with(b"\x00\x00\x01\x00x")); // the empty key
/// println!("{}: {}", result.outcome.as_str(), result.detail);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CaseResult {
    /// The case.
    pub case: &'static Case,
    /// Pass, fail or warn.
    pub outcome: Outcome,
    /// What happened, in a sentence: why it passed, failed or warned.
    pub detail: String,
    /// The first 1024 bytes the case sent on its main connection.
    pub sent: Vec<u8>,
    /// The first 1024 bytes that came back on it.
    pub received: Vec<u8>,
    /// How long the case took.
    pub elapsed: Duration,
}

/// The results of a run, in catalogue order.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let addr = listener.local_addr()?.to_string();
/// # tokio::spawn(async move { uwsgi_wire::server::serve(listener, app).await });
/// use uwsgi_wire::check::{Checker, Outcome};
/// let report = Checker::new().only(["vars"]).run(&addr).await?;
/// assert_eq!(report.results.len(), 5);
/// assert_eq!(report.count(Outcome::Pass), 5);
/// assert!(report.passed());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Report {
    /// The address checked ([`Checker::run`]), or `connector` ([`Checker::run_with`]).
    pub addr: String,
    /// Whether the SHOULD cases ran ([`Checker::strict`]).
    pub strict: bool,
    /// The status of the plain `GET /` (`None`: the answer was not a valid HTTP head).
    pub baseline_status: Option<u16>,
    /// One per case run.
    pub results: Vec<CaseResult>,
}

impl Report {
    /// True when no case that ran failed: every MUST case, and every SHOULD case that
    /// ran (with [`Checker::strict`], or named), passed or warned.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let addr = listener.local_addr()?.to_string();
    /// # tokio::spawn(async move { uwsgi_wire::server::serve(listener, app).await });
    /// let report = uwsgi_wire::check::Checker::new().only(["framing/1"]).run(&addr).await?;
    /// assert!(report.passed());
    /// # Ok(())
    /// # }
    /// ```
    pub fn passed(&self) -> bool {
        self.results.iter().all(|r| r.outcome != Outcome::Fail)
    }

    /// How many cases had `outcome`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let addr = listener.local_addr()?.to_string();
    /// # tokio::spawn(async move { uwsgi_wire::server::serve(listener, app).await });
    /// use uwsgi_wire::check::Outcome;
    /// let report = uwsgi_wire::check::Checker::new().only(["responses"]).run(&addr).await?;
    /// assert_eq!(report.count(Outcome::Fail), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn count(&self, outcome: Outcome) -> usize {
        self.results.iter().filter(|r| r.outcome == outcome).count()
    }
}

/// The run could not start: the server cannot be reached or does not answer a plain
/// `GET /` at all, it speaks HTTP rather than uwsgi, or a case named in
/// [`Checker::only`] does not exist.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use uwsgi_wire::check::Error;
/// use uwsgi_wire::client::ErrorKind;
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let addr = listener.local_addr().unwrap().to_string();
/// drop(listener); // nothing listens there any more
/// let err = uwsgi_wire::check::Checker::new().run(&addr).await.unwrap_err();
/// assert!(err.to_string().contains("GET /"), "{err}");
/// let Error::NoAnswer { source, .. } = &err else { unreachable!() };
/// assert_eq!(source.kind(), ErrorKind::Connect);
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A name given to [`Checker::only`] is neither a case id nor a section.
    #[error("no case or section {id:?} (see the catalogue: `uwsgi-wire check --list`)")]
    UnknownCase {
        /// The name given.
        id: String,
    },
    /// The plain `GET /` got no answer: the server cannot be reached, closed without
    /// answering, or neither answered nor closed within the timeout.
    #[error(
        "{addr}: a plain GET / {source}; the server must answer it (any status) to be checked"
    )]
    NoAnswer {
        /// The address checked.
        addr: String,
        /// Why: [`Connect`](ErrorKind::Connect) (the connect's error is its own
        /// source), [`Closed`](ErrorKind::Closed) or [`Timeout`](ErrorKind::Timeout).
        source: client::Error,
    },
    /// The address answered the uwsgi `GET /` with 400 and a plain HTTP `GET /` with
    /// another status: it is an HTTP port, not a uwsgi socket.
    #[error("{addr} speaks HTTP, not uwsgi: it answered the uwsgi GET / with 400 and a plain HTTP GET / with {status}. It is an HTTP port (nginx's listen, uWSGI's --http-socket); check the address nginx's uwsgi_pass points at (uWSGI's --socket)")]
    SpeaksHttp {
        /// The address checked.
        addr: String,
        /// The status of the plain HTTP `GET /`.
        status: u16,
    },
}

/// Runs the catalogue against a server; by-value setters, then [`run`](Checker::run)
/// (an address) or [`run_with`](Checker::run_with) (any connection).
///
/// An axum router checked in memory, each connection a [`tokio::io::duplex`] served by
/// this crate's server driver:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use uwsgi_wire::{check::Checker, server};
///
/// let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
/// let report = Checker::new()
///     .timeout(std::time::Duration::from_millis(500))
///     .run_with(move || {
///         let (client, conn) = tokio::io::duplex(64 * 1024);
///         let app = app.clone();
///         tokio::spawn(async move { server::Builder::new().serve_connection(conn, app).await });
///         async { Ok(client) }
///     })
///     .await?;
/// assert!(report.passed(), "{report}");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Checker {
    timeout: Duration,
    strict: bool,
    only: Vec<String>,
}

impl Default for Checker {
    fn default() -> Self {
        Checker::new()
    }
}

impl Checker {
    /// Every MUST case, 5 s per wait.
    ///
    /// ```
    /// let checker = uwsgi_wire::check::Checker::new();
    /// # let _ = checker;
    /// ```
    pub fn new() -> Self {
        Checker {
            timeout: Duration::from_secs(5),
            strict: false,
            only: Vec::new(),
        }
    }

    /// The longest wait of a case for each thing it waits on: the connect, each write,
    /// the answer (a case may wait this long several times: once per connection, and
    /// half of it, at most 1 s, for a second answer). Default 5 s.
    ///
    /// ```
    /// let checker = uwsgi_wire::check::Checker::new().timeout(std::time::Duration::from_millis(500));
    /// # let _ = checker;
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Also run the SHOULD cases. Default false.
    ///
    /// ```
    /// let checker = uwsgi_wire::check::Checker::new().strict(true);
    /// # let _ = checker;
    /// ```
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Run only these: case ids (`vars/3`, run whatever their level) or whole sections
    /// (`vars`, their MUST cases, and SHOULD ones with [`strict`](Checker::strict)).
    /// Empty (the default): the whole catalogue.
    ///
    /// ```
    /// let checker = uwsgi_wire::check::Checker::new().only(["malformed", "kinds/1"]);
    /// # let _ = checker;
    /// ```
    pub fn only<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.only = ids.into_iter().map(Into::into).collect();
        self
    }

    /// The cases this checker runs, in order; an unknown id is an error.
    fn selected(&self) -> Result<Vec<&'static Case>, Error> {
        for id in &self.only {
            if !catalogue()
                .iter()
                .any(|case| case.id == id || case.section == id)
            {
                return Err(Error::UnknownCase { id: id.clone() });
            }
        }
        Ok(catalogue()
            .iter()
            .filter(|case| {
                let level_ok = self.strict || case.level == Level::Must;
                if self.only.is_empty() {
                    return level_ok;
                }
                self.only
                    .iter()
                    .any(|id| id == case.id || (id == case.section && level_ok))
            })
            .collect())
    }

    /// Runs the selected cases against `addr` (`host:port`, `unix:PATH`, or a path
    /// holding a `/`), one after the other, after a plain `GET /` that must be
    /// answered (any status; an answer that is not a valid HTTP head is
    /// `responses/1`'s failure, not an error).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let addr = listener.local_addr()?.to_string();
    /// # tokio::spawn(async move { uwsgi_wire::server::serve(listener, app).await });
    /// let report = uwsgi_wire::check::Checker::new().only(["security/1"]).run(&addr).await?;
    /// assert!(report.passed(), "{:?}", report.results);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run(&self, addr: &str) -> Result<Report, Error> {
        let builder = client::Builder::new().connect_timeout(self.timeout);
        let target = addr.to_owned();
        let connect = move || -> probe::Connecting {
            let (builder, target) = (builder.clone(), target.clone());
            Box::pin(async move {
                let stream = builder.connect(&target).await?;
                Ok(Box::pin(stream) as probe::Conn)
            })
        };
        self.run_probe(addr, Box::new(connect)).await
    }

    /// Runs the selected cases over the connections `connect` opens, one per call
    /// (each case opens one or more, one at a time), any `AsyncRead + AsyncWrite`
    /// (`Unpin` or not, as the server driver takes them): a socket of another kind, or one
    /// half of a [`tokio::io::duplex`] whose other half a server serves, to check a
    /// service with no socket at all. As [`run`](Checker::run) otherwise; the report's
    /// [`addr`](Report::addr) is `connector`. Every case applies over any connection:
    /// none half-closes, and a silent peer is found by the same timeouts.
    ///
    /// Opening is bounded by [`timeout`](Checker::timeout) too; an error opening the
    /// first connection is an [`Error::NoAnswer`] of kind
    /// [`Connect`](ErrorKind::Connect), with `connect`'s error as its source.
    ///
    /// (The [`Checker`] example checks an axum router in memory.) A connector that
    /// fails:
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::io;
    /// use uwsgi_wire::check::{Checker, Error};
    ///
    /// let down = || async { Err::<tokio::io::DuplexStream, _>(io::Error::other("app down")) };
    /// let err = Checker::new().run_with(down).await.unwrap_err();
    /// let Error::NoAnswer { source, .. } = &err else { unreachable!() };
    /// assert_eq!(source.kind(), uwsgi_wire::client::ErrorKind::Connect);
    /// assert!(err.to_string().starts_with("connector: a plain GET / could not be reached"), "{err}");
    /// # }
    /// ```
    pub async fn run_with<C, F, IO>(&self, mut connect: C) -> Result<Report, Error>
    where
        C: FnMut() -> F + Send + 'static,
        F: Future<Output = io::Result<IO>> + Send + 'static,
        IO: AsyncRead + AsyncWrite + Send + 'static,
    {
        let connect = move || -> probe::Connecting {
            let connecting = connect();
            Box::pin(async move {
                match connecting.await {
                    Ok(io) => Ok(Box::pin(io) as probe::Conn),
                    Err(err) => Err(client::Error::new(
                        ErrorKind::Connect,
                        format!("the connector failed: {err}"),
                    )
                    .with_source(err)),
                }
            })
        };
        self.run_probe(CONNECTOR, Box::new(connect)).await
    }

    /// The run itself, over any connector; `addr` names it in the report and errors.
    async fn run_probe(
        &self,
        addr: &str,
        connect: Box<dyn FnMut() -> probe::Connecting + Send>,
    ) -> Result<Report, Error> {
        let cases = self.selected()?;
        let probe = Probe {
            addr: addr.to_owned(),
            connect: Mutex::new(connect),
            timeout: self.timeout,
        };
        let first = probe
            .attempt(
                &[Write::now(cases::get())],
                crate::exchange::Reply::Response {
                    head_request: false,
                },
                Duration::ZERO,
            )
            .await;
        let baseline = match first.answer {
            Answer::Response { status, .. } => Some(status),
            Answer::Invalid(_) => None,
            _ => {
                let how = first.describe(self.timeout);
                let source = match first.answer {
                    Answer::Unreachable(err) => {
                        client::Error::new(err.kind(), how).with_source(err)
                    }
                    Answer::Closed => client::Error::new(ErrorKind::Closed, how),
                    Answer::Timeout => client::Error::new(ErrorKind::Timeout, how),
                    _ => client::Error::new(ErrorKind::MalformedHead, how),
                };
                return Err(Error::NoAnswer {
                    addr: addr.to_owned(),
                    source,
                });
            }
        };
        if baseline == Some(400) {
            // An HTTP server answers a uwsgi packet 400 (a bad request line); a uwsgi
            // server closes on HTTP bytes (docs/PROTOCOL.md section 5.1). Told apart by
            // one plain HTTP request, only when the answer is 400.
            let http = probe
                .attempt(
                    &[Write::now(
                        &b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"[..],
                    )],
                    crate::exchange::Reply::Response {
                        head_request: false,
                    },
                    Duration::ZERO,
                )
                .await;
            if let Answer::Response { status, .. } = http.answer {
                if status != 400 {
                    return Err(Error::SpeaksHttp {
                        addr: addr.to_owned(),
                        status,
                    });
                }
            }
        }
        tracing::debug!(%addr, ?baseline, cases = cases.len(), "check: running");
        let ctx = Ctx { probe, baseline };
        let mut results = Vec::with_capacity(cases.len());
        for case in cases {
            let started = Instant::now();
            let mut verdict = cases::run(&ctx, case).await;
            verdict.sent.truncate(KEEP);
            verdict.received.truncate(KEEP);
            tracing::debug!(case = case.id, outcome = verdict.outcome.as_str(), detail = %verdict.detail, "check: case done");
            results.push(CaseResult {
                case,
                outcome: verdict.outcome,
                detail: verdict.detail,
                sent: verdict.sent,
                received: verdict.received,
                elapsed: started.elapsed(),
            });
        }
        Ok(Report {
            addr: addr.to_owned(),
            strict: self.strict,
            baseline_status: baseline,
            results,
        })
    }
}
