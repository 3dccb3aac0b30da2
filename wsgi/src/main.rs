//! `uwsgi-wire-wsgi`: a WSGI host (Django, Flask, any WSGI application) on the uwsgi
//! protocol, in uWSGI's place behind nginx's `uwsgi_pass`.
//!
//! A worker process imports the application on its main thread, then `--threads N`
//! worker threads each serve one request at a time (one request per connection, as
//! nginx's uwsgi module sends them), holding the GIL only while Python runs: every read
//! and write on a connection happens with it released. Without `--master` the process
//! is the one worker; with it, the master (see `master.rs`) forks `--processes` of them.

mod conn;
mod master;
mod options;
mod wsgi;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use pyo3::Python;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use uwsgi_wire::exchange::request_body_len;
use uwsgi_wire::io::{read_packet, StreamError};
use uwsgi_wire::message::Request;
use uwsgi_wire::{Limits, Modifier1};

use conn::{Conn, Listener};
use options::Options;
use wsgi::{App, Source};

/// How long a shutdown waits for the requests in flight.
const DRAIN: Duration = Duration::from_secs(5);
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
    /// Connections accepted and not yet done with.
    in_flight: AtomicUsize,
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
    let options = Options::parse();
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
    for (key, value) in options.env_pairs()? {
        // Before Python starts (it copies the environment into `os.environ`) and before
        // any other thread exists.
        std::env::set_var(key, value);
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
    if let Some(pidfile) = &options.pidfile {
        std::fs::write(pidfile, format!("{}\n", std::process::id()))
            .map_err(|e| format!("--pidfile {}: {e}", pidfile.display()))?;
    }
    let mut vacuum: Vec<std::path::PathBuf> =
        listeners.iter().filter_map(|l| l.path().cloned()).collect();
    vacuum.extend(options.pidfile.iter().cloned());
    let vacuum = if options.vacuum { vacuum } else { Vec::new() };
    if options.master {
        // Returns in the forked workers only.
        let worker = master::run(options, &listeners, &vacuum)?;
        return serve_process(options, listeners, &worker, &[]);
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
    vacuum: &[std::path::PathBuf],
) -> Result<(), String> {
    let id = me.id;
    // SIGTERM and SIGINT are caught from here on (Python, initialized by PyO3 without
    // its signal handlers, leaves them alone).
    let mut signals = Signals::new([SIGTERM, SIGINT]).map_err(|e| format!("signals: {e}"))?;

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
        in_flight: AtomicUsize::new(0),
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
            thread::Builder::new()
                .name(format!("worker-{n}"))
                .spawn(move || {
                    worker(&shared, &listener, &permits, deadline);
                    // The budget is spent: the main thread drains and exits.
                    handle.close();
                })
                .map_err(|e| format!("cannot start a worker: {e}"))?;
        }
    }

    let drain = match signals.forever().next() {
        Some(signal) => {
            let name = if signal == SIGINT {
                "SIGINT"
            } else {
                "SIGTERM"
            };
            tracing::info!(worker = id, "{name}: shutting down");
            shared.stopping.store(true, Ordering::SeqCst);
            DRAIN
        }
        None => {
            tracing::info!(
                worker = id,
                max_requests = options.max_requests,
                "--max-requests reached: finishing the requests in flight"
            );
            Duration::from_secs(options.socket_timeout).max(MAX_REQUESTS_DRAIN)
        }
    };
    let deadline = Instant::now() + drain;
    while shared.in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    for path in vacuum {
        if let Err(err) = std::fs::remove_file(path) {
            tracing::warn!(path = %path.display(), %err, "--vacuum");
        }
    }
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
                        // Counted before the lock is let go: the thread that finds the
                        // budget spent next must see this request in flight.
                        shared.in_flight.fetch_add(1, Ordering::SeqCst);
                        conn
                    }
                };
                if shared.budget.is_none() {
                    shared.in_flight.fetch_add(1, Ordering::SeqCst);
                }
                permits.acquire();
                Ok::<_, std::io::Error>(Some(conn))
            });
            match accepted {
                Ok(None) => return,
                Ok(Some(conn)) => {
                    if !shared.stopping.load(Ordering::SeqCst) {
                        if let Some((slot, seconds)) = deadline {
                            slot.store(master::now() + seconds * 1000, Ordering::SeqCst);
                        }
                        serve(py, shared, conn, &mut buf);
                        if let Some((slot, _)) = deadline {
                            slot.store(0, Ordering::SeqCst);
                        }
                    }
                    permits.release();
                    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
                }
                // The listener's timeout (see `Listener::set_timeouts`): nothing came.
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
        conn.set_timeouts(shared.timeout)
            .map_err(StreamError::from)?;
        read_packet(&mut conn, buf, &shared.limits)
    });
    let packet = match read {
        Ok(Some(packet)) => packet,
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
    shared.app.call(py, &request, body_len, conn);
}
