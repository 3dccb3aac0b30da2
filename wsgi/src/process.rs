//! `--daemonize` and `--uid`/`--gid`: what uWSGI's `daemonize()` and `uwsgi_as_root()`
//! (core/utils.c) do, in the same order in the start-up (detach first; the privileges
//! drop once the pidfile is written and the sockets bound).

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::{umask, Mode};
use nix::unistd::{
    dup2_stderr, dup2_stdin, dup2_stdout, fork, getegid, geteuid, initgroups, setgid, setgroups,
    setsid, setuid, ForkResult, Gid, Group, Uid, User,
};

/// Detaches from the terminal as uWSGI does: fork (the parent exits 0), a new session,
/// fork again (no controlling terminal can come back), umask 0, stdin from `/dev/null`,
/// stdout and stderr appended to `log` (created with mode 0640).
pub fn daemonize(log: &Path) -> Result<(), String> {
    // Opened before the detach, so that a log that cannot be opened is an error the
    // terminal sees.
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .open(log)
        .map_err(|e| format!("--daemonize {}: {e}", log.display()))?;
    let null = File::open("/dev/null").map_err(|e| format!("/dev/null: {e}"))?;
    for round in 0..2 {
        // SAFETY: the process is single-threaded here (neither Python nor any thread has
        // been started), so the child gets a consistent copy of the whole process and
        // may do anything, not only async-signal-safe calls.
        match unsafe { fork() }.map_err(|e| format!("--daemonize: fork: {e}"))? {
            ForkResult::Parent { .. } => std::process::exit(0),
            ForkResult::Child => {}
        }
        if round == 0 {
            setsid().map_err(|e| format!("--daemonize: setsid: {e}"))?;
        }
    }
    umask(Mode::empty());
    let redirect = dup2_stdin(&null)
        .and_then(|()| dup2_stdout(&file))
        .and_then(|()| dup2_stderr(&file));
    redirect.map_err(|e| format!("--daemonize {}: dup2: {e}", log.display()))?;
    tracing::info!(pid = std::process::id(), log = %log.display(), "daemonized");
    Ok(())
}

/// Becomes `--uid`/`--gid` (names or numbers) as uWSGI does: `setgid`, then the
/// supplementary groups (the user's by `initgroups`, none without a user or for uid 0),
/// then `setuid`. Not running as root, ids other than the current ones are refused
/// (uWSGI skips the drop silently).
pub fn drop_privileges(uid: Option<&str>, gid: Option<&str>) -> Result<(), String> {
    if uid.is_none() && gid.is_none() {
        return Ok(());
    }
    let group = gid.map(group_id).transpose()?;
    let user = uid.map(user_id).transpose()?;
    if !geteuid().is_root() {
        let same = user.as_ref().is_none_or(|(uid, _)| *uid == geteuid())
            && group.is_none_or(|gid| gid == getegid());
        return if same {
            Ok(())
        } else {
            Err("--uid/--gid: changing user or group needs root".into())
        };
    }
    if let Some(gid) = group {
        setgid(gid).map_err(|e| format!("--gid {gid}: setgid: {e}"))?;
        match &user {
            Some((uid, name)) if !uid.is_root() => {
                initgroups(name, gid).map_err(|e| format!("--uid {uid}: initgroups: {e}"))?
            }
            _ => setgroups(&[]).map_err(|e| format!("--gid {gid}: setgroups: {e}"))?,
        }
    }
    if let Some((uid, _)) = &user {
        setuid(*uid).map_err(|e| format!("--uid {uid}: setuid: {e}"))?;
    }
    tracing::info!(
        uid = geteuid().as_raw(),
        gid = getegid().as_raw(),
        "privileges dropped"
    );
    Ok(())
}

/// A `--gid`: a number, else a group's name.
fn group_id(spec: &str) -> Result<Gid, String> {
    if let Ok(number) = spec.parse::<u32>() {
        return Ok(Gid::from_raw(number));
    }
    match Group::from_name(spec) {
        Ok(Some(group)) => Ok(group.gid),
        Ok(None) => Err(format!("--gid {spec}: group not found")),
        Err(e) => Err(format!("--gid {spec}: {e}")),
    }
}

/// A `--uid`: a number, else a user's name; with the name `initgroups` needs (the
/// number itself for a uid no user has, as uWSGI does).
fn user_id(spec: &str) -> Result<(Uid, CString), String> {
    let user = if let Ok(number) = spec.parse::<u32>() {
        let uid = Uid::from_raw(number);
        let name = User::from_uid(uid)
            .ok()
            .flatten()
            .map_or_else(|| spec.to_owned(), |user| user.name);
        (uid, name)
    } else {
        match User::from_name(spec) {
            Ok(Some(user)) => (user.uid, user.name),
            Ok(None) => return Err(format!("--uid {spec}: user not found")),
            Err(e) => return Err(format!("--uid {spec}: {e}")),
        }
    };
    let name = CString::new(user.1).map_err(|_| format!("--uid {spec}: a NUL in the name"))?;
    Ok((user.0, name))
}

/// The files `--vacuum` removes at exit, as uWSGI's `vacuum()`: the Unix sockets, each
/// only while it is still the socket this process bound (same inode; another server may
/// have taken the path since), and the pidfile.
#[derive(Debug, Default)]
pub struct Vacuum(Vec<(PathBuf, Option<u64>)>);

impl Vacuum {
    /// A Unix socket just bound at `path`.
    pub fn socket(&mut self, path: PathBuf) {
        let inode = std::fs::symlink_metadata(&path).ok().map(|m| m.ino());
        self.0.push((path, inode));
    }

    /// The pidfile.
    pub fn file(&mut self, path: PathBuf) {
        self.0.push((path, None));
    }

    /// Removes them, logging what it leaves and why.
    pub fn clean(&self) {
        for (path, inode) in &self.0 {
            let replaced = inode.is_some_and(|inode| {
                std::fs::symlink_metadata(path).is_ok_and(|m| m.ino() != inode)
            });
            if replaced {
                tracing::warn!(path = %path.display(), "--vacuum: the socket file is another one now; left");
                continue;
            }
            match std::fs::remove_file(path) {
                Ok(()) => tracing::info!(path = %path.display(), "--vacuum: removed"),
                Err(err) => tracing::warn!(path = %path.display(), %err, "--vacuum"),
            }
        }
    }
}
