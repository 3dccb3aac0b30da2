//! `--master`: uWSGI's process model. The master binds the sockets (in `main`), then
//! forks the `--processes` workers before any Python interpreter or thread exists in it
//! (a fork after `Py_Initialize` or after threads start copies locks held by threads
//! that do not exist in the child). It never runs Python: it waits for signals and
//! replaces every worker that exits, as uWSGI's `master_loop` does.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use signal_hook::consts::{SIGCHLD, SIGINT, SIGTERM};
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

/// Runs the master: returns `Ok(id)` in each forked worker (numbered from 1, as
/// uWSGI's), and in the master only exits the process (0 after SIGTERM/SIGINT).
pub fn run(options: &Options, listeners: &[Listener], vacuum: &[PathBuf]) -> Result<u16, String> {
    let mut signals =
        Signals::new([SIGTERM, SIGINT, SIGCHLD]).map_err(|e| format!("signals: {e}"))?;
    for listener in listeners {
        tracing::info!(socket = %listener.describe(), processes = options.processes, "master: bound");
    }
    let mut workers: Vec<(Pid, Instant)> = Vec::with_capacity(options.processes.into());
    for id in 1..=options.processes {
        match spawn(id)? {
            Some(pid) => workers.push((pid, Instant::now())),
            None => return worker(signals, id),
        }
    }
    loop {
        let mut stop = None;
        for signal in signals.wait() {
            match signal {
                SIGCHLD => {}
                SIGINT => stop = Some("SIGINT"),
                _ => stop = Some("SIGTERM"),
            }
        }
        if let Some(name) = stop {
            tracing::info!("master: {name}: stopping the workers");
            shutdown(&mut workers);
            for path in vacuum {
                if let Err(err) = std::fs::remove_file(path) {
                    tracing::warn!(path = %path.display(), %err, "--vacuum");
                }
            }
            tracing::info!("master: goodbye");
            std::process::exit(0);
        }
        // Every child that exited (one SIGCHLD may stand for several).
        while let Some((pid, status)) = reap() {
            let Some(index) = workers.iter().position(|(p, _)| *p == pid) else {
                continue;
            };
            let id = u16::try_from(index + 1).unwrap_or(u16::MAX);
            let lived = workers[index].1.elapsed();
            tracing::warn!(worker = id, pid = pid.as_raw(), status = %describe(status), "master: worker exited; respawning");
            if lived < QUICK_DEATH {
                std::thread::sleep(QUICK_DEATH);
            }
            match spawn(id)? {
                Some(new) => workers[index] = (new, Instant::now()),
                None => return worker(signals, id),
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

/// In the worker just forked: the master's signal handlers and self-pipe go (the
/// worker installs its own for SIGTERM/SIGINT).
fn worker(signals: Signals, id: u16) -> Result<u16, String> {
    drop(signals);
    Ok(id)
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
