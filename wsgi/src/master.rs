//! `--master`: uWSGI's process model. The master binds the sockets (in `main`), then
//! forks the `--processes` workers before any Python interpreter or thread exists in it
//! (a fork after `Py_Initialize` or after threads start copies locks held by threads
//! that do not exist in the child). It never runs Python: it waits for signals and
//! replaces every worker that exits, as uWSGI's `master_loop` does.
//!
//! SIGHUP reloads gracefully: the master forks a new set of workers at once and sends
//! SIGHUP to the old ones, which stop accepting (within `ACCEPT_WAIT`), finish their
//! requests (for at most `RELOAD_DRAIN`) and exit. The listening sockets stay open in
//! the master throughout, so a connection is never refused: it waits in the backlog or
//! goes to a new worker. A SIGHUP while old workers still drain is ignored, as uWSGI
//! ignores a reload during a reload. Unlike uWSGI (which re-executes itself), the
//! master keeps its options: a reload loads the application's code anew, not the
//! command line or the `--ini` file.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::mman::{mmap_anonymous, MapFlags, ProtFlags};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{alarm, fork, ForkResult, Pid};
use signal_hook::consts::{SIGALRM, SIGCHLD, SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::conn::Listener;
use crate::options::Options;
use crate::process::Vacuum;
use crate::{DRAIN, RELOAD_DRAIN};

/// How long the master waits, after SIGTERM, for the workers to drain and exit before
/// it kills them (a worker drains for `DRAIN`).
const STOP: Duration = Duration::from_secs(DRAIN.as_secs() + 3);
/// How long the master waits for a worker replaced by a reload before it kills it (the
/// worker drains for `RELOAD_DRAIN`).
const RELOAD_STOP: Duration = Duration::from_secs(RELOAD_DRAIN.as_secs() + 3);

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
/// uWSGI keeps its workers' harakiri times in shared memory. Two slots per worker id:
/// during a reload the old worker keeps its slot while the new one uses the other.
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

    fn of(&self, slot: usize) -> &'static [AtomicU64] {
        let start = slot * self.per_worker;
        &self.all[start..start + self.per_worker]
    }

    /// No request running in `slot`'s threads: a new worker starts clean, and one cut
    /// short leaves no deadline behind.
    fn clear(&self, slot: usize) {
        self.of(slot)
            .iter()
            .for_each(|d| d.store(0, Ordering::SeqCst));
    }
}

/// Milliseconds since the epoch, the clock of the `--harakiri` deadlines.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A worker as the master tracks it.
struct Child {
    pid: Pid,
    /// 1 to `--processes`.
    id: u16,
    /// Its `--harakiri` slot.
    slot: usize,
    started: Instant,
    /// Set when a reload replaced it: SIGKILL past this instant.
    retired: Option<Instant>,
}

/// Runs the master: returns the `Worker` in each forked worker, and in the master only
/// exits the process (0 after SIGTERM/SIGINT).
pub fn run(options: &Options, listeners: &[Listener], vacuum: &Vacuum) -> Result<Worker, String> {
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGCHLD, SIGALRM, SIGHUP])
        .map_err(|e| format!("signals: {e}"))?;
    for listener in listeners {
        tracing::info!(socket = %listener.describe(), processes = options.processes, "master: bound");
    }
    let processes = usize::from(options.processes);
    let deadlines = options
        .harakiri
        .map(|_| {
            Deadlines::new(
                2 * processes,
                listeners.len() * usize::from(options.threads),
            )
        })
        .transpose()?;
    let forked = |id: u16, slot: usize, signals: Signals| {
        // The master's signal handlers and self-pipe go (the worker installs its own
        // for SIGTERM/SIGINT/SIGHUP).
        drop(signals);
        Ok(Worker {
            id,
            deadlines: deadlines.as_ref().map(|d| d.of(slot)),
        })
    };
    // The slots of the current generation start at `base` (0 or `processes`).
    let mut base = 0;
    let mut workers: Vec<Child> = Vec::with_capacity(2 * processes);
    for id in 1..=options.processes {
        let slot = base + usize::from(id) - 1;
        match spawn(id)? {
            Some(pid) => workers.push(Child::new(pid, id, slot)),
            None => return forked(id, slot, signals),
        }
    }
    loop {
        if deadlines.is_some() || workers.iter().any(|w| w.retired.is_some()) {
            // SIGALRM wakes the loop every second to look at the deadlines.
            alarm::set(1);
        }
        let mut stop = None;
        let mut reload = false;
        for signal in signals.wait() {
            match signal {
                SIGCHLD | SIGALRM => {}
                SIGHUP => reload = true,
                SIGINT => stop = Some("SIGINT"),
                _ => stop = Some("SIGTERM"),
            }
        }
        if let Some(deadlines) = &deadlines {
            let now = now();
            for worker in &workers {
                let threads = deadlines.of(worker.slot);
                let over = threads.iter().any(|d| {
                    let deadline = d.load(Ordering::SeqCst);
                    deadline != 0 && now >= deadline
                });
                if over {
                    tracing::warn!(
                        worker = worker.id,
                        pid = worker.pid.as_raw(),
                        "master: HARAKIRI: a request ran over --harakiri; SIGKILL"
                    );
                    let _ = kill(worker.pid, Signal::SIGKILL);
                    deadlines.clear(worker.slot);
                }
            }
        }
        for worker in &workers {
            if worker.retired.is_some_and(|by| Instant::now() > by) {
                tracing::warn!(
                    worker = worker.id,
                    pid = worker.pid.as_raw(),
                    "master: a worker replaced by the reload is still running; SIGKILL"
                );
                let _ = kill(worker.pid, Signal::SIGKILL);
            }
        }
        if let Some(name) = stop {
            tracing::info!("master: {name}: stopping the workers");
            stop_all(&mut workers, vacuum, 0);
        }
        if reload && workers.iter().any(|w| w.retired.is_some()) {
            tracing::warn!("master: SIGHUP: the last reload is not over; ignored");
        } else if reload {
            tracing::info!(
                "master: SIGHUP: graceful reload (new workers; the old ones finish their requests)"
            );
            let by = Instant::now() + RELOAD_STOP;
            for worker in &mut workers {
                let _ = kill(worker.pid, Signal::SIGHUP);
                worker.retired = Some(by);
            }
            base = processes - base;
            for id in 1..=options.processes {
                let slot = base + usize::from(id) - 1;
                if let Some(deadlines) = &deadlines {
                    deadlines.clear(slot);
                }
                match spawn(id)? {
                    Some(pid) => workers.push(Child::new(pid, id, slot)),
                    None => return forked(id, slot, signals),
                }
            }
        }
        // Every child that exited (one SIGCHLD may stand for several).
        while let Some((pid, status)) = reap() {
            let Some(index) = workers.iter().position(|w| w.pid == pid) else {
                continue;
            };
            let Child {
                id,
                slot,
                started,
                retired,
                ..
            } = workers.remove(index);
            if retired.is_some() {
                tracing::info!(worker = id, pid = pid.as_raw(), status = %describe(status), "master: worker replaced by the reload exited");
                continue;
            }
            if let WaitStatus::Exited(_, code @ 2) = status {
                // The worker could not start (the application did not load, ...): a
                // replacement would fail the same way, so the master stops, as uWSGI
                // does with `--need-app`.
                tracing::error!(
                    worker = id,
                    pid = pid.as_raw(),
                    "master: worker could not start (exit status 2); stopping"
                );
                stop_all(&mut workers, vacuum, code);
            }
            tracing::warn!(worker = id, pid = pid.as_raw(), status = %describe(status), "master: worker exited; respawning");
            if started.elapsed() < QUICK_DEATH {
                std::thread::sleep(QUICK_DEATH);
            }
            if let Some(deadlines) = &deadlines {
                deadlines.clear(slot);
            }
            match spawn(id)? {
                Some(new) => workers.push(Child::new(new, id, slot)),
                None => return forked(id, slot, signals),
            }
        }
    }
}

impl Child {
    fn new(pid: Pid, id: u16, slot: usize) -> Child {
        Child {
            pid,
            id,
            slot,
            started: Instant::now(),
            retired: None,
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
fn stop_all(workers: &mut Vec<Child>, vacuum: &Vacuum, code: i32) -> ! {
    shutdown(workers);
    vacuum.clean();
    tracing::info!("master: goodbye");
    std::process::exit(code)
}

/// SIGTERM to every worker, then waits for them (they finish their requests, for at
/// most `DRAIN`); the ones left at `STOP` get SIGKILL.
fn shutdown(workers: &mut Vec<Child>) {
    for worker in workers.iter() {
        let _ = kill(worker.pid, Signal::SIGTERM);
    }
    let deadline = Instant::now() + STOP;
    while !workers.is_empty() {
        while let Some((pid, status)) = reap() {
            tracing::info!(pid = pid.as_raw(), status = %describe(status), "master: worker stopped");
            workers.retain(|w| w.pid != pid);
        }
        if workers.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            for worker in workers.drain(..) {
                let pid = worker.pid;
                tracing::warn!(pid = pid.as_raw(), "master: worker still running; SIGKILL");
                let _ = kill(pid, Signal::SIGKILL);
                let _ = waitpid(pid, None);
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
