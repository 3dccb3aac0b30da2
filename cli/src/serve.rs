//! `uwsgi-wire serve [ADDR]`: the inspection server, every request answered with its
//! decoded vars as JSON and logged one line each; with `--check`, graded too.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use clap::Args;
use uwsgi_wire::{owned::OwnedPacket, server, Limits, Packet};

use crate::failure::{fail, Failure};
use crate::net::{self, Addr};
use crate::{grade, json};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// `host:port`, `unix:PATH`, or the path of a Unix socket to create (containing `/`).
    #[arg(default_value = "127.0.0.1:3031", value_parser = Addr::parse)]
    addr: Addr,
    /// Grade what the front end sends: every request is still answered, with a
    /// `findings` array (`id`, `level`, `message`) and a `grade` in its JSON, and each
    /// finding is logged (`check METHOD URI PROTOCOL: LEVEL ID: MESSAGE`); a summary is
    /// logged at shutdown (Ctrl-C), which exits 1 if any finding was an error.
    #[arg(long)]
    check: bool,
}

pub fn run(args: &ServeArgs) -> Result<(), Failure> {
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .without_time()
        .with_target(false)
        .with_ansi(false)
        .init();
    let addr = &args.addr;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| fail(format!("starting the runtime: {e}")))?;
    runtime.block_on(async {
        let bind = |e: io::Error| fail(format!("{addr}: {}", net::describe(&e, Duration::ZERO)));
        let (listener, local, _cleanup): (server::Listener, String, Option<RemoveOnDrop>) =
            match addr {
                Addr::Tcp { host, port } => {
                    let listener = tokio::net::TcpListener::bind((host.as_str(), *port))
                        .await
                        .map_err(bind)?;
                    let local = listener.local_addr().map_err(bind)?.to_string();
                    (listener.into(), local, None)
                }
                Addr::Unix(path) => {
                    let listener = tokio::net::UnixListener::bind(path).map_err(bind)?;
                    let cleanup = RemoveOnDrop(path.clone());
                    (
                        listener.into(),
                        format!("unix:{}", path.display()),
                        Some(cleanup),
                    )
                }
            };
        println!("listening on {local}");
        io::stdout().flush().ok();
        // Bounded: at most 256 connections at once, 30 s for a request packet and between
        // body reads, a 1 GiB body at most (read and counted, never held).
        let builder = server::Builder::new()
            .limits(Limits::new().max_body(1 << 30))
            .head_timeout(Duration::from_secs(30))
            .body_timeout(Duration::from_secs(30))
            .write_timeout(Duration::from_secs(30));
        let tally = args.check.then(Default::default);
        let inspector = Inspector {
            tally: tally.clone(),
        };
        server::serve(listener, inspector)
            .connection(builder)
            .max_connections(256)
            .shutdown_timeout(Duration::from_secs(5))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| fail(format!("{addr}: {e}")))?;
        check_summary(tally.as_deref())
    })
}

/// `serve --check` at shutdown: the summary on stderr; exit 1 if a finding was an error.
fn check_summary(tally: Option<&Mutex<grade::Tally>>) -> Result<(), Failure> {
    let Some(tally) = tally else { return Ok(()) };
    let tally = tally.lock().unwrap_or_else(PoisonError::into_inner);
    for line in tally.summary() {
        eprintln!("{line}");
    }
    match tally.count(grade::Level::Error) {
        0 => Ok(()),
        n => Err(fail(format!("check: {n} findings were errors"))),
    }
}

/// Removes a Unix socket file when `serve` ends.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The inspection service: every request is answered with its decoded packet as JSON
/// (and its body's length), and logged one line each. The server driver answers pings.
/// With `serve --check` (`tally` set) every request is graded too (`grade.rs`).
#[derive(Debug, Clone)]
struct Inspector {
    tally: Option<Arc<Mutex<grade::Tally>>>,
}

type Answer = http::Response<http_body_util::Full<bytes::Bytes>>;

impl tower_service::Service<http::Request<server::RequestBody>> for Inspector {
    type Response = Answer;
    type Error = std::convert::Infallible;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Answer, Self::Error>> + Send>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<server::RequestBody>) -> Self::Future {
        Box::pin(inspect(request, self.tally.clone()))
    }
}

async fn inspect(
    request: http::Request<server::RequestBody>,
    tally: Option<Arc<Mutex<grade::Tally>>>,
) -> Result<Answer, std::convert::Infallible> {
    use http_body_util::BodyExt;
    let packet = request.extensions().get::<OwnedPacket>().cloned();
    let mut body = request.into_body();
    let mut body_len = 0u64;
    let mut failed = None;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => body_len += frame.data_ref().map_or(0, |d| d.len() as u64),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let Some(packet) = packet else {
        return Ok(text_answer(500, "no packet\n".into()));
    };
    let packet = packet.packet();
    let header = packet.header();
    let mut line = String::new();
    if let Some(vars) = packet.vars() {
        let get = |k: &[u8]| vars.get(k).unwrap_or(b"-").escape_ascii().to_string();
        line = format!(
            "{}:{} modifier1={} modifier2={} {} {} vars={} body={body_len}",
            get(b"REMOTE_ADDR"),
            get(b"REMOTE_PORT"),
            header.modifier1,
            header.modifier2,
            get(b"REQUEST_METHOD"),
            get(b"REQUEST_URI"),
            vars.len()
        );
    }
    if let Some(e) = failed {
        eprintln!("{line} body error: {e}");
        if let Some(tally) = &tally {
            check(&packet, tally);
        }
        return Ok(text_answer(400, format!("{e}\n")));
    }
    eprintln!("{line}");
    let findings = tally.map(|tally| check(&packet, &tally));
    let mut json = json::packet_to_json(&packet, 0);
    if let Some(object) = json.as_object_mut() {
        object.insert("body_len".into(), body_len.into());
        if let Some(findings) = findings {
            object.extend(grade::to_json(&findings));
        }
    }
    let mut answer = text_answer(200, format!("{json:#}\n"));
    answer.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(answer)
}

/// `serve --check`: grades a request packet, logs each finding (or `ok`) with the
/// request line, and counts them.
fn check(packet: &Packet<'_>, tally: &Mutex<grade::Tally>) -> Vec<grade::Finding> {
    let Some(vars) = packet.vars() else {
        return Vec::new();
    };
    let findings = grade::grade(&vars);
    let request = grade::request_line(&vars);
    if findings.is_empty() {
        eprintln!("check {request}: ok");
    }
    for f in &findings {
        eprintln!("check {request}: {} {}: {}", f.level, f.id, f.message);
    }
    tally
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .add(&findings);
    findings
}

fn text_answer(status: u16, text: String) -> Answer {
    let mut answer = http::Response::new(http_body_util::Full::new(bytes::Bytes::from(text)));
    *answer.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    answer.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    answer
}
