//! `uwsgi-wire-wsgi`: a WSGI host (Django, Flask, any WSGI application) on the uwsgi
//! protocol, in uWSGI's place behind nginx's `uwsgi_pass`.
//!
//! One process: the application is imported on the main thread, then `--threads N`
//! worker threads each serve one request at a time (one request per connection, as
//! nginx's uwsgi module sends them), holding the GIL only while Python runs: every read
//! and write on a connection happens with it released.

mod conn;
mod options;
mod wsgi;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex, PoisonError};
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

/// The state the threads share.
struct Shared {
    app: App,
    limits: Limits,
    buffer_size: usize,
    timeout: Duration,
    stopping: AtomicBool,
    /// Connections accepted and not yet done with.
    in_flight: AtomicUsize,
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
        .map(|spec| Listener::bind(spec, mode).map_err(|e| format!("--socket {spec}: {e}")))
        .collect::<Result<_, _>>()?;
    if let Some(pidfile) = &options.pidfile {
        std::fs::write(pidfile, format!("{}\n", std::process::id()))
            .map_err(|e| format!("--pidfile {}: {e}", pidfile.display()))?;
    }
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
    });

    // Acceptors hand connections to the workers through a rendezvous channel: a
    // connection is accepted only when a worker is free, the rest wait in the kernel's
    // listen queue, as with uWSGI.
    let (tx, rx) = sync_channel::<Conn>(0);
    let rx = Arc::new(Mutex::new(rx));
    for n in 0..options.threads {
        let (shared, rx) = (Arc::clone(&shared), Arc::clone(&rx));
        thread::Builder::new()
            .name(format!("worker-{n}"))
            .spawn(move || worker(&shared, &rx))
            .map_err(|e| format!("cannot start a worker: {e}"))?;
    }
    let mut vacuum: Vec<std::path::PathBuf> = Vec::new();
    for listener in listeners {
        tracing::info!(socket = %listener.describe(), threads = options.threads, "uwsgi-wire-wsgi serving");
        vacuum.extend(listener.path().cloned());
        let (shared, tx) = (Arc::clone(&shared), tx.clone());
        thread::Builder::new()
            .name("acceptor".into())
            .spawn(move || loop {
                match listener.accept() {
                    Ok(conn) => {
                        if shared.stopping.load(Ordering::SeqCst) {
                            continue;
                        }
                        shared.in_flight.fetch_add(1, Ordering::SeqCst);
                        if tx.send(conn).is_err() {
                            return;
                        }
                    }
                    Err(err) => {
                        tracing::warn!(%err, "accept failed");
                        // EMFILE and the like: give the workers time to free descriptors.
                        thread::sleep(Duration::from_millis(50));
                    }
                }
            })
            .map_err(|e| format!("cannot start an acceptor: {e}"))?;
    }
    drop(tx);

    if let Some(signal) = signals.forever().next() {
        let name = if signal == SIGINT {
            "SIGINT"
        } else {
            "SIGTERM"
        };
        tracing::info!("{name}: shutting down");
    }
    shared.stopping.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + DRAIN;
    while shared.in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    if options.vacuum {
        vacuum.extend(options.pidfile.iter().cloned());
        for path in vacuum {
            if let Err(err) = std::fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), %err, "--vacuum");
            }
        }
    }
    tracing::info!("goodbye");
    // The worker threads may be blocked on the channel or in the application: the
    // process ends here, as uWSGI's workers do on SIGINT.
    std::process::exit(0)
}

fn worker(shared: &Shared, rx: &Mutex<Receiver<Conn>>) {
    // The thread keeps its Python thread state from request to request (the GIL is
    // released, not given back, while it waits): `threading.local` data, such as
    // Django's database connections, lives as long as the thread, as with uWSGI.
    Python::with_gil(|py| {
        let mut buf = vec![0u8; shared.buffer_size];
        loop {
            let next =
                py.allow_threads(|| rx.lock().unwrap_or_else(PoisonError::into_inner).recv());
            let Ok(conn) = next else { return };
            serve(py, shared, conn, &mut buf);
            shared.in_flight.fetch_sub(1, Ordering::SeqCst);
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
