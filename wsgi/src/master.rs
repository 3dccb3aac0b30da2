//! `--master`: uWSGI's process model. The master binds the sockets (in `main`), then
//! forks the `--processes` workers before any Python interpreter or thread exists in it
//! (a fork after `Py_Initialize` or after threads start copies locks held by threads
//! that do not exist in the child). It never runs Python: it waits for signals and
//! replaces every worker that exits, as uWSGI's `master_loop` does.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::mman::{mmap_anonymous, MapFlags, ProtFlags};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{alarm, fork, ForkResult, Pid};
use signal_hook::consts::{SIGALRM, SIGCHLD, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::conn::Listener;
use crate::options::Options;
use crate::DRAIN;

/// How long the master waits, after SIGTERM, for the workers to drain and exit before
/// it kills them (a worker drains for `DRAIN`).
const STOP: Duration = Duration::from_secs(DRAIN.as_secs() + 3);

/// A worker that dies this soon after its start is respawned after a pause (a broken
/// application would otherwise be forked in a tight loop).
const QUICK_DEATH: Duration = Duration::from_secs(1);

/// What a forked worker gets from the master.
pub struct Worker {
    /// 1 to `--processes`, as uWSGI numbers them.
    pub id: u16,
    /// With `--harakiri`: one deadline per thread of this worker (milliseconds since the
    /// epoch, 0 while the thread has no request), in memory the master reads.
    pub deadlines: Option<&'static [AtomicU64]>,
}

/// The `--harakiri` deadlines of every thread of every worker, in an anonymous shared
/// mapping made before the first fork (so every worker shares it with the master), as
/// uWSGI keeps its workers' harakiri times in shared memory.
struct Deadlines {
    all: &'static [AtomicU64],
    per_worker: usize,
}

impl Deadlines {
    fn new(workers: usize, per_worker: usize) -> Result<Deadlines, String> {
        let len = workers * per_worker;
        let bytes = NonZeroUsize::new(len * std::mem::size_of::<AtomicU64>())
            .ok_or("--harakiri: no thread to watch")?;
        // SAFETY: a new anonymous mapping (no address asked for) aliases nothing; it is
        // never unmapped, so it lives as long as the process ('static).
        let ptr = unsafe {
            mmap_anonymous(
                None,
                bytes,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            )
        }
        .map_err(|e| format!("--harakiri: mmap: {e}"))?;
        // SAFETY: the mapping is `len` u64s, page-aligned, zero-filled (a valid
        // `AtomicU64` is any 8 bytes), and only ever accessed through these atomics.
        let all = unsafe { std::slice::from_raw_parts(ptr.as_ptr().cast::<AtomicU64>(), len) };
        Ok(Deadlines { all, per_worker })
    }

    fn of(&self, id: u16) -> &'static [AtomicU64] {
        let start = (usize::from(id) - 1) * self.per_worker;
        &self.all[start..start + self.per_worker]
    }
}

/// Milliseconds since the epoch, the clock of the `--harakiri` deadlines.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Runs the master: returns the `Worker` in each forked worker, and in the master only
/// exits the process (0 after SIGTERM/SIGINT).
pub fn run(
    options: &Options,
    listeners: &[Listener],
    vacuum: &[PathBuf],
) -> Result<Worker, String> {
    let mut signals =
        Signals::new([SIGTERM, SIGINT, SIGCHLD, SIGALRM]).map_err(|e| format!("signals: {e}"))?;
    for listener in listeners {
        tracing::info!(socket = %listener.describe(), processes = options.processes, "master: bound");
    }
    let deadlines = options
        .harakiri
        .map(|_| {
            Deadlines::new(
                options.processes.into(),
                listeners.len() * usize::from(options.threads),
            )
        })
        .transpose()?;
    let forked = |id: u16, signals: Signals| {
        // The master's signal handlers and self-pipe go (the worker installs its own
        // for SIGTERM/SIGINT).
        drop(signals);
        Ok(Worker {
            id,
            deadlines: deadlines.as_ref().map(|d| d.of(id)),
        })
    };
    let mut workers: Vec<(Pid, Instant)> = Vec::with_capacity(options.processes.into());
    for id in 1..=options.processes {
        match spawn(id)? {
            Some(pid) => workers.push((pid, Instant::now())),
            None => return forked(id, signals),
        }
    }
    loop {
        if options.harakiri.is_some() {
            // SIGALRM wakes the loop every second to look at the deadlines.
            alarm::set(1);
        }
        let mut stop = None;
        for signal in signals.wait() {
            match signal {
                SIGCHLD | SIGALRM => {}
                SIGINT => stop = Some("SIGINT"),
                _ => stop = Some("SIGTERM"),
            }
        }
        if let Some(deadlines) = &deadlines {
            let now = now();
            for (index, (pid, _)) in workers.iter().enumerate() {
                let id = u16::try_from(index + 1).unwrap_or(u16::MAX);
                let threads = deadlines.of(id);
                let over = threads.iter().any(|d| {
                    let deadline = d.load(Ordering::SeqCst);
                    deadline != 0 && now >= deadline
                });
                if over {
                    tracing::warn!(
                        worker = id,
                        pid = pid.as_raw(),
                        "master: HARAKIRI: a request ran over --harakiri; SIGKILL"
                    );
                    let _ = kill(*pid, Signal::SIGKILL);
                    threads.iter().for_each(|d| d.store(0, Ordering::SeqCst));
                }
            }
        }
        if let Some(name) = stop {
            tracing::info!("master: {name}: stopping the workers");
            stop_all(&mut workers, vacuum, 0);
        }
        // Every child that exited (one SIGCHLD may stand for several).
        while let Some((pid, status)) = reap() {
            let Some(index) = workers.iter().position(|(p, _)| *p == pid) else {
                continue;
            };
            let id = u16::try_from(index + 1).unwrap_or(u16::MAX);
            if let WaitStatus::Exited(_, code @ 2) = status {
                // The worker could not start (the application did not load, ...): a
                // replacement would fail the same way, so the master stops, as uWSGI
                // does with `--need-app`.
                tracing::error!(
                    worker = id,
                    pid = pid.as_raw(),
                    "master: worker could not start (exit status 2); stopping"
                );
                workers.remove(index);
                stop_all(&mut workers, vacuum, code);
            }
            let lived = workers[index].1.elapsed();
            tracing::warn!(worker = id, pid = pid.as_raw(), status = %describe(status), "master: worker exited; respawning");
            if lived < QUICK_DEATH {
                std::thread::sleep(QUICK_DEATH);
            }
            if let Some(deadlines) = &deadlines {
                // A request cut short leaves its deadline behind.
                deadlines
                    .of(id)
                    .iter()
                    .for_each(|d| d.store(0, Ordering::SeqCst));
            }
            match spawn(id)? {
                Some(new) => workers[index] = (new, Instant::now()),
                None => return forked(id, signals),
            }
        }
    }
}

/// Forks worker `id`: `Some(pid)` in the master, `None` in the worker.
fn spawn(id: u16) -> Result<Option<Pid>, String> {
    // SAFETY: the master is single-threaded (no Python, no thread has been started in
    // it: signal-hook's iterator uses a self-pipe, not a thread), so the child gets a
    // consistent copy of the whole process and may do anything, not only
    // async-signal-safe calls.
    match unsafe { fork() } {
        Ok(ForkResult::Parent { child }) => {
            tracing::info!(worker = id, pid = child.as_raw(), "master: worker spawned");
            Ok(Some(child))
        }
        Ok(ForkResult::Child) => Ok(None),
        Err(err) => Err(format!("fork: {err}")),
    }
}

/// One exited child, without waiting.
fn reap() -> Option<(Pid, WaitStatus)> {
    match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
        Ok(status) => status.pid().map(|pid| (pid, status)),
        Err(_) => None,
    }
}

fn describe(status: WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("exit status {code}"),
        WaitStatus::Signaled(_, signal, _) => format!("killed by {signal}"),
        other => format!("{other:?}"),
    }
}

/// Stops the workers, removes the `--vacuum` files and exits with `code`.
fn stop_all(workers: &mut Vec<(Pid, Instant)>, vacuum: &[PathBuf], code: i32) -> ! {
    shutdown(workers);
    for path in vacuum {
        if let Err(err) = std::fs::remove_file(path) {
            tracing::warn!(path = %path.display(), %err, "--vacuum");
        }
    }
    tracing::info!("master: goodbye");
    std::process::exit(code)
}

/// SIGTERM to every worker, then waits for them (they finish their requests, for at
/// most `DRAIN`); the ones left at `STOP` get SIGKILL.
fn shutdown(workers: &mut Vec<(Pid, Instant)>) {
    for (pid, _) in workers.iter() {
        let _ = kill(*pid, Signal::SIGTERM);
    }
    let deadline = Instant::now() + STOP;
    while !workers.is_empty() {
        while let Some((pid, status)) = reap() {
            tracing::info!(pid = pid.as_raw(), status = %describe(status), "master: worker stopped");
            workers.retain(|(p, _)| *p != pid);
        }
        if workers.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            for (pid, _) in workers.drain(..) {
                tracing::warn!(pid = pid.as_raw(), "master: worker still running; SIGKILL");
                let _ = kill(pid, Signal::SIGKILL);
                let _ = waitpid(pid, None);
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
