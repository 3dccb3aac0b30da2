//! `uwsgi-wire-wsgi`: a WSGI host (Django, Flask, any WSGI application) on the uwsgi
//! protocol, in uWSGI's place behind nginx's `uwsgi_pass`.
//!
//! A worker process imports the application on its main thread, then `--threads N`
//! worker threads each serve one request at a time (one request per connection, as
//! nginx's uwsgi module sends them), holding the GIL only while Python runs: every read
//! and write on a connection happens with it released. Without `--master` the process
//! is the one worker; with it, the master (see `master.rs`) forks `--processes` of them.

mod conn;
mod ini;
mod master;
mod options;
mod process;
mod wsgi;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use pyo3::Python;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use uwsgi_wire::exchange::request_body_len;
use uwsgi_wire::message::Request;
use uwsgi_wire::{Limits, Modifier1, Packet, Status};

use conn::{Conn, Listener};
use options::Options;
use wsgi::{App, Source};

/// How long a shutdown waits for the requests in flight.
const DRAIN: Duration = Duration::from_secs(5);
/// How long a worker replaced by a reload (SIGHUP) waits for its requests in flight
/// (uWSGI's `--reload-mercy` default).
const RELOAD_DRAIN: Duration = Duration::from_secs(60);
/// How long a worker at `--max-requests` waits for its last requests (they were
/// accepted: they are served, not dropped).
const MAX_REQUESTS_DRAIN: Duration = Duration::from_secs(60);

/// The state the threads share.
struct Shared {
    app: App,
    limits: Limits,
    buffer_size: usize,
    timeout: Duration,
    stopping: AtomicBool,
    /// Worker threads not yet returned (a thread returns once `stopping` is set, after
    /// the request it serves; one waiting in `accept()` sees it within `ACCEPT_WAIT`).
    running: AtomicUsize,
    /// Requests this worker may still accept (`--max-requests`), taken under the lock:
    /// the thread holding it is the only one in `accept()`, so none is left blocked
    /// there once the count reaches 0.
    budget: Option<Mutex<u64>>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = match ini::expand(std::env::args_os()) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("uwsgi-wire-wsgi: {message}");
            return ExitCode::from(2);
        }
    };
    let options = Options::parse_from(args);
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("uwsgi-wire-wsgi: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(options: &Options) -> Result<(), String> {
    if let Some(refusal) = options.refused() {
        return Err(refusal);
    }
    let mode = options.socket_mode()?;
    let env = options.env_pairs()?;
    // uWSGI's order: detach, write the pidfile (the daemon's pid, the path from the
    // starting directory), chdir, bind the sockets, drop the privileges.
    if let Some(log) = &options.daemonize {
        process::daemonize(log)?;
    }
    for (key, value) in env {
        // Before Python starts (it copies the environment into `os.environ`) and before
        // any other thread exists.
        std::env::set_var(key, value);
    }
    let pidfile = options
        .pidfile
        .as_deref()
        .map(std::path::absolute)
        .transpose()
        .map_err(|e| format!("--pidfile: {e}"))?;
    if let Some(pidfile) = &pidfile {
        std::fs::write(pidfile, format!("{}\n", std::process::id()))
            .map_err(|e| format!("--pidfile {}: {e}", pidfile.display()))?;
    }
    if let Some(dir) = &options.chdir {
        std::env::set_current_dir(dir).map_err(|e| format!("--chdir {}: {e}", dir.display()))?;
    }
    let listeners: Vec<Listener> = options
        .socket
        .iter()
        .map(|spec| {
            Listener::bind(spec, mode)
                .and_then(|l| {
                    l.set_timeouts(Duration::from_secs(options.socket_timeout))
                        .map(|()| l)
                })
                .map_err(|e| format!("--socket {spec}: {e}"))
        })
        .collect::<Result<_, _>>()?;
    process::drop_privileges(options.uid.as_deref(), options.gid.as_deref())?;
    let mut vacuum = process::Vacuum::default();
    if options.vacuum {
        for path in listeners.iter().filter_map(Listener::path) {
            vacuum.socket(std::path::absolute(path).unwrap_or_else(|_| path.clone()));
        }
        // As uWSGI: the pidfile written before a `--uid` drop is left (the user may
        // not remove it).
        if options.uid.is_none() {
            pidfile.into_iter().for_each(|path| vacuum.file(path));
        }
    }
    if options.master {
        // Returns in the forked workers only.
        let worker = master::run(options, &listeners, &vacuum)?;
        return serve_process(options, listeners, &worker, &process::Vacuum::default());
    }
    let single = master::Worker {
        id: 0,
        deadlines: None,
    };
    serve_process(options, listeners, &single, &vacuum)
}

/// One worker process (`id` 0 without a master): loads the application, serves until
/// SIGTERM/SIGINT or `--max-requests`, then exits (removing `vacuum`).
fn serve_process(
    options: &Options,
    listeners: Vec<Listener>,
    me: &master::Worker,
    vacuum: &process::Vacuum,
) -> Result<(), String> {
    let id = me.id;
    // SIGTERM, SIGINT and SIGHUP are caught from here on (Python, initialized by PyO3
    // without its signal handlers, leaves them alone).
    let mut signals =
        Signals::new([SIGTERM, SIGINT, SIGHUP]).map_err(|e| format!("signals: {e}"))?;

    let source = match (&options.module, &options.wsgi_file) {
        (Some(module), _) => Source::Module(module),
        (None, Some(file)) => Source::File(file),
        (None, None) => return Err("one of --module and --wsgi-file is required".into()),
    };
    let app = Python::with_gil(|py| {
        App::load(
            py,
            source,
            &options.callable,
            options.home.as_deref(),
            &options.pythonpath,
            options.threads > 1,
        )
        .map_err(|err| {
            err.print(py);
            "the application could not be loaded".to_owned()
        })
    })?;
    let shared = Arc::new(Shared {
        app,
        limits: Limits::new().max_datasize(options.buffer_size),
        buffer_size: usize::from(options.buffer_size) + 4,
        timeout: Duration::from_secs(options.socket_timeout),
        stopping: AtomicBool::new(false),
        running: AtomicUsize::new(0),
        budget: options.max_requests.map(Mutex::new),
    });

    // Every worker thread accepts for itself, as uWSGI's threads do: no hand-off
    // between threads (a channel's context switches cost more than the request, see
    // the README). With several sockets, `--threads` threads accept on each and the
    // permits bound the requests served at once to `--threads`.
    let permits = Arc::new(Permits::new(usize::from(options.threads)));
    let handle = signals.handle();
    let mut deadlines = me.deadlines.unwrap_or_default().iter();
    for listener in listeners {
        tracing::info!(socket = %listener.describe(), threads = options.threads, worker = id, "uwsgi-wire-wsgi serving");
        let listener = Arc::new(listener);
        for n in 0..options.threads {
            let deadline = deadlines.next().zip(options.harakiri);
            let (shared, listener, permits, handle) = (
                Arc::clone(&shared),
                Arc::clone(&listener),
                Arc::clone(&permits),
                handle.clone(),
            );
            shared.running.fetch_add(1, Ordering::SeqCst);
            thread::Builder::new()
                .name(format!("worker-{n}"))
                .spawn(move || {
                    worker(&shared, &listener, &permits, deadline);
                    shared.running.fetch_sub(1, Ordering::SeqCst);
                    // The budget is spent (or the worker stops): the main thread drains
                    // and exits.
                    handle.close();
                })
                .map_err(|e| format!("cannot start a worker: {e}"))?;
        }
    }

    let drain = loop {
        match signals.forever().next() {
            Some(SIGHUP) if me.id == 0 => {
                // No master to fork new workers from: the process would only stop.
                tracing::warn!("SIGHUP: a reload needs --master; ignored");
            }
            Some(SIGHUP) => {
                tracing::info!(
                    worker = id,
                    "SIGHUP: finishing the requests in flight (reload)"
                );
                shared.stopping.store(true, Ordering::SeqCst);
                break RELOAD_DRAIN;
            }
            Some(signal) => {
                let name = if signal == SIGINT {
                    "SIGINT"
                } else {
                    "SIGTERM"
                };
                tracing::info!(worker = id, "{name}: shutting down");
                shared.stopping.store(true, Ordering::SeqCst);
                break DRAIN;
            }
            None => {
                tracing::info!(
                    worker = id,
                    max_requests = options.max_requests,
                    "--max-requests reached: finishing the requests in flight"
                );
                break Duration::from_secs(options.socket_timeout).max(MAX_REQUESTS_DRAIN);
            }
        }
    };
    // Every thread returns once its request is done (none is dropped once accepted);
    // a SIGTERM or SIGINT during a longer drain shortens it to `DRAIN`.
    let mut deadline = Instant::now() + drain;
    while shared.running.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        if signals.pending().any(|s| s != SIGHUP) {
            shared.stopping.store(true, Ordering::SeqCst);
            deadline = deadline.min(Instant::now() + DRAIN);
        }
        thread::sleep(Duration::from_millis(10));
    }
    vacuum.clean();
    tracing::info!(worker = id, "goodbye");
    // The worker threads may be blocked in accept() or in the application: the
    // process ends here, as uWSGI's workers do on SIGINT.
    std::process::exit(0)
}

/// Counts the requests served at once (a semaphore over a mutex and a condvar).
struct Permits {
    /// Free permits, and the threads waiting for one.
    state: Mutex<(usize, usize)>,
    freed: Condvar,
}

impl Permits {
    fn new(n: usize) -> Permits {
        Permits {
            state: Mutex::new((n, 0)),
            freed: Condvar::new(),
        }
    }

    /// Waits for a permit (never long: one is freed when any request ends).
    fn acquire(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        while state.0 == 0 {
            state.1 += 1;
            state = self
                .freed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.1 -= 1;
        }
        state.0 -= 1;
    }

    fn release(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.0 += 1;
        // std's notify is a futex system call even with no waiter: one per request
        // otherwise.
        if state.1 > 0 {
            self.freed.notify_one();
        }
    }
}

/// Serves connections from `listener` until the `--max-requests` budget is spent
/// (forever without one).
/// With `--harakiri`, `deadline` is this thread's slot the master watches, and the
/// seconds a request may run.
fn worker(
    shared: &Shared,
    listener: &Listener,
    permits: &Permits,
    deadline: Option<(&AtomicU64, u64)>,
) {
    // The thread keeps its Python thread state from request to request (the GIL is
    // released, not given back, while it waits): `threading.local` data, such as
    // Django's database connections, lives as long as the thread, as with uWSGI.
    Python::with_gil(|py| {
        let mut buf = vec![0u8; shared.buffer_size];
        loop {
            if shared.stopping.load(Ordering::SeqCst) {
                return;
            }
            let accepted = py.allow_threads(|| {
                let conn = match &shared.budget {
                    None => listener.accept()?,
                    Some(budget) => {
                        let mut left = budget.lock().unwrap_or_else(PoisonError::into_inner);
                        if *left == 0 {
                            return Ok(None);
                        }
                        let conn = listener.accept()?;
                        *left -= 1;
                        conn
                    }
                };
                permits.acquire();
                Ok::<_, std::io::Error>(Some(conn))
            });
            match accepted {
                Ok(None) => return,
                Ok(Some(conn)) => {
                    // Served even when the worker is stopping: the front end sent it
                    // here, no other process will see it.
                    if let Some((slot, seconds)) = deadline {
                        slot.store(master::now() + seconds * 1000, Ordering::SeqCst);
                    }
                    serve(py, shared, conn, &mut buf);
                    if let Some((slot, _)) = deadline {
                        slot.store(0, Ordering::SeqCst);
                    }
                    permits.release();
                }
                // `ACCEPT_WAIT` passed without a connection: look at `stopping`.
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(err) => {
                    tracing::warn!(%err, "accept failed");
                    // EMFILE and the like: give the other threads time to free
                    // descriptors.
                    py.allow_threads(|| thread::sleep(Duration::from_millis(50)));
                }
            }
        }
    });
}

/// One connection: one request, as nginx's uwsgi module sends it. The GIL is released
/// until the application is called.
fn serve(py: Python<'_>, shared: &Shared, mut conn: Conn, buf: &mut [u8]) {
    let read = py.allow_threads(|| {
        conn.set_timeouts(shared.timeout)?;
        read_request(&mut conn, buf, &shared.limits)
    });
    let (packet, early) = match read {
        Ok(Some(read)) => read,
        Ok(None) => return,
        Err(err) => return tracing::warn!(%err, "invalid request packet (see --buffer-size)"),
    };
    if packet.modifier1() != Modifier1::WSGI {
        return tracing::warn!(
            modifier1 = packet.modifier1().0,
            "unavailable modifier requested"
        );
    }
    let request = Request::try_from(&packet).and_then(|r| Ok((r, request_body_len(&packet)?)));
    let (request, body_len) = match request {
        Ok(parsed) => parsed,
        Err(err) => {
            tracing::warn!(%err, "bad request");
            let _ = py.allow_threads(|| {
                std::io::Write::write_all(
                    &mut conn,
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
                )
            });
            return;
        }
    };
    // Body bytes that came in the packet's read; never more than the body (nginx sends
    // nothing after it).
    let early = &early[..usize::try_from(body_len).map_or(early.len(), |n| n.min(early.len()))];
    shared.app.call(py, &request, body_len, early, conn);
}

/// Reads one request packet into `buf` in as few reads as the front end allows: nginx
/// writes a small request's packet and body at once, so one `read` brings both (where
/// reading the header, then the block, takes two). The packet, and the bytes that came
/// after it (the body's first ones); `None` when the front end closed before sending a
/// byte. A packet larger than `buf` (`--buffer-size`) is an error, as in uWSGI.
fn read_request<'b>(
    conn: &mut Conn,
    buf: &'b mut [u8],
    limits: &Limits,
) -> std::io::Result<Option<(Packet<'b>, &'b [u8])>> {
    use std::io::{Error, ErrorKind, Read};
    let invalid = |err: uwsgi_wire::ParseError| Error::new(ErrorKind::InvalidData, err);
    let mut filled = 0;
    let total = loop {
        let have = buf.get(..filled).unwrap_or_default();
        if let Status::Complete((_, len)) = Packet::parse(have, limits).map_err(invalid)? {
            break len;
        }
        let Some(room) = buf.get_mut(filled..).filter(|room| !room.is_empty()) else {
            return Err(Error::new(
                ErrorKind::InvalidData,
                format!("a packet over the {filled}-byte buffer"),
            ));
        };
        match conn.read(room) {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    };
    let buf: &'b [u8] = buf;
    let (wire, early) = buf.split_at(total);
    match Packet::parse(wire, limits).map_err(invalid)? {
        Status::Complete((packet, _)) => Ok(Some((
            packet,
            early.get(..filled - total).unwrap_or_default(),
        ))),
        Status::Partial { .. } => Err(Error::other("packet parsed twice, differently")),
    }
}
