//! Finds the real peers, runs each one from its own temp folder on 127.0.0.1, and always
//! stops what it started.
//!
//! Nothing is installed here: `.ci/run` installs the Debian packages. When the env var
//! `CI` is set, a missing peer fails the test with the package to install; without it the
//! test prints `skipped: <reason>` (straight to stderr, so it shows without
//! `--nocapture`) and returns.
//!
//! Every peer runs in its own process group (`process_group(0)`) under coreutils
//! `timeout`, which caps its lifetime even if this test binary is killed before its
//! destructors run. [`Peer`]'s `Drop` sends the peer's stop signal to the whole group
//! (uWSGI exits on SIGINT; SIGTERM makes its master reload), waits up to 10 s, then
//! SIGKILLs the group.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The environment every peer gets (nothing inherited from the test runner).
pub const CLEAN_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// uWSGI's plugin folder in Debian's uwsgi-core.
pub const UWSGI_PLUGIN_DIR: &str = "/usr/lib/uwsgi/plugins";

/// How long a peer may take to listen, and a client to finish.
pub const START_TIMEOUT: Duration = Duration::from_secs(15);

/// One thing a test needs from the machine.
#[derive(Debug, Clone, Copy)]
pub enum Need {
    /// A program on `PATH` (or in an sbin folder), and the Debian package that has it.
    Program(&'static str, &'static str),
    /// A file, and the Debian package that has it.
    File(&'static str, &'static str),
    /// `/usr/lib/uwsgi/plugins/<name>_plugin.so`.
    UwsgiPlugin(&'static str),
}

/// What every peer needs: `timeout` (lifetime cap) and `sh` (its builtin `kill` signals
/// a process group; procps' `kill` is not in minimal images). Both are essential in
/// Debian.
const BASE: [Need; 2] = [
    Need::Program("timeout", "coreutils"),
    Need::Program("sh", "dash"),
];

pub const NGINX: &[Need] = &[
    Need::Program("nginx", "nginx"),
    Need::File("/etc/nginx/uwsgi_params", "nginx-common"),
];

pub const APACHE: &[Need] = &[
    Need::Program("apache2", "apache2"),
    Need::File("/usr/lib/apache2/modules/mod_mpm_event.so", "apache2-bin"),
    Need::File("/usr/lib/apache2/modules/mod_authz_core.so", "apache2-bin"),
    Need::File("/usr/lib/apache2/modules/mod_proxy.so", "apache2-bin"),
    Need::File("/usr/lib/apache2/modules/mod_proxy_uwsgi.so", "apache2-bin"),
];

pub const LIGHTTPD: &[Need] = &[Need::Program("lighttpd", "lighttpd")];

pub const UWSGI_ROUTER: &[Need] = &[
    Need::Program("uwsgi", "uwsgi-core"),
    Need::UwsgiPlugin("http"),
];

/// The app server of part 2 and 4: every plugin `UwsgiApp` loads.
pub const UWSGI_APP: &[Need] = &[
    Need::Program("uwsgi", "uwsgi-core"),
    Need::UwsgiPlugin("python3"),
    Need::UwsgiPlugin("ping"),
    Need::UwsgiPlugin("rpc"),
    Need::UwsgiPlugin("signal"),
    Need::UwsgiPlugin("echo"),
    Need::UwsgiPlugin("cache"),
    Need::UwsgiPlugin("spooler"),
];

pub const UWSGI_PING: &[Need] = &[
    Need::Program("uwsgi", "uwsgi-core"),
    Need::UwsgiPlugin("ping"),
];

pub const UWSGI_SIGNAL: &[Need] = &[
    Need::Program("uwsgi", "uwsgi-core"),
    Need::UwsgiPlugin("signal"),
];

pub const UWSGI_PYRUN: &[Need] = &[
    Need::Program("uwsgi", "uwsgi-core"),
    Need::UwsgiPlugin("python3"),
    Need::UwsgiPlugin("rpc"),
];

pub const UWSGI_SUBSCRIBER: &[Need] = &[Need::Program("uwsgi", "uwsgi-core")];

/// Returns from the test (skip) or panics (under `CI`) unless every need is met.
macro_rules! require {
    ($needs:expr) => {
        if !$crate::harness::available($needs) {
            return;
        }
    };
}
pub(crate) use require;

/// True when every need is met; otherwise prints `skipped: ...` or, under `CI`, panics.
pub fn available(needs: &[Need]) -> bool {
    let missing: Vec<String> = BASE
        .iter()
        .chain(needs)
        .filter_map(|need| match *need {
            Need::Program(name, package) => find_program(name)
                .is_none()
                .then(|| format!("program `{name}` not found (Debian package `{package}`)")),
            Need::File(path, package) => (!Path::new(path).exists())
                .then(|| format!("file {path} not found (Debian package `{package}`)")),
            Need::UwsgiPlugin(name) => {
                let package = if name.starts_with("python") {
                    "uwsgi-plugin-python3"
                } else {
                    "uwsgi-core"
                };
                let path = format!("{UWSGI_PLUGIN_DIR}/{name}_plugin.so");
                (!Path::new(&path).exists())
                    .then(|| format!("uWSGI plugin {path} not found (Debian package `{package}`)"))
            }
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    let reason = missing.join("; ");
    if ci() {
        panic!("{reason}. CI is set, so a missing peer is a failure: .ci/run installs nginx apache2 lighttpd uwsgi-core uwsgi-plugin-python3 curl");
    }
    // Straight to the process's stderr: the test harness captures `eprintln!`.
    let _ = writeln!(
        std::io::stderr(),
        "skipped: {reason} (set CI=1 to make this a failure)"
    );
    false
}

/// True when the `CI` env var is set (to anything but empty, `0` or `false`).
pub fn ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// The program's path: `PATH`, then the sbin folders (nginx, apache2 and lighttpd live in
/// /usr/sbin, which a non-root `PATH` may lack).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(std::env::split_paths(CLEAN_PATH))
        .map(|dir| dir.join(name))
        .find(|candidate| {
            fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

fn program(name: &str) -> PathBuf {
    find_program(name).unwrap_or_else(|| panic!("program `{name}` vanished"))
}

/// True when this process runs as root (the owner of `/proc/self` is the effective uid).
pub fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A fresh folder under the system temp dir, removed on drop (kept with `KEEP_TMP=1`).
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "uwsgi-wire-conformance-{}-{n}-{name}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `name` in the folder and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path.join(name);
        fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// Creates a sub-folder and returns its path.
    pub fn mkdir(&self, name: &str) -> PathBuf {
        let path = self.path.join(name);
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("KEEP_TMP").is_some() {
            let _ = writeln!(std::io::stderr(), "kept {}", self.path.display());
        } else {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// A free TCP port on 127.0.0.1 (bound to port 0, then released). Another process can
/// take it before the peer binds it: [`start_listening`] retries on "in use".
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// A running peer (or client) in its own process group; stopped on drop.
#[derive(Debug)]
pub struct Peer {
    name: String,
    child: Child,
    stop_signal: &'static str,
    log: PathBuf,
    exit: Option<ExitStatus>,
}

impl Peer {
    /// Starts `program args` in `dir` with a clean environment (`PATH`, `LANG=C`), its
    /// output in `dir/<name>.log`, in a new process group, capped at `cap` by `timeout`
    /// (which sends `stop_signal`, then SIGKILL 5 s later).
    pub fn start<I, S>(
        name: &str,
        dir: &Path,
        stop_signal: &'static str,
        cap: Duration,
        program_name: &str,
        args: I,
    ) -> Peer
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let log = dir.join(format!("{name}.log"));
        let out = File::create(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let err = out.try_clone().expect("dup log fd");
        let mut cmd = Command::new(program("timeout"));
        cmd.arg(format!("--signal={stop_signal}"))
            .arg("--kill-after=5s")
            .arg(format!("{}s", cap.as_secs().max(1)))
            .arg(program(program_name))
            .args(args.into_iter().map(Into::into))
            .current_dir(dir)
            .env_clear()
            .env("PATH", CLEAN_PATH)
            .env("LANG", "C")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Peer {
            name: name.to_owned(),
            child,
            stop_signal,
            log,
            exit: None,
        }
    }

    /// Everything the peer wrote to stdout and stderr so far.
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(25)..].join("\n")
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// Waits until 127.0.0.1:`port` accepts a connection; `Err` with the log if the peer
    /// exited first or the time ran out.
    pub fn wait_port(&mut self, port: u16) -> Result<(), String> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.exited() {
                return Err(format!(
                    "{} exited ({status}) before listening on {addr}; its log:\n{}",
                    self.name,
                    self.log_tail()
                ));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} did not listen on {addr} within {START_TIMEOUT:?}; its log:\n{}",
                    self.name,
                    self.log_tail()
                ));
            }
            sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the log contains `needle`; panics with the log when it does not.
    pub fn wait_log(&mut self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.log().contains(needle) {
            if let Some(status) = self.exited() {
                panic!(
                    "{} exited ({status}) before logging {needle:?}; its log:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not log {needle:?} within {timeout:?}; its log:\n{}",
                self.name,
                self.log_tail()
            );
            sleep(Duration::from_millis(20));
        }
    }

    /// Waits for a client to finish by itself; panics (after stopping it) on timeout.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited() {
                self.signal_group("KILL");
                return status;
            }
            if Instant::now() > deadline {
                self.stop();
                panic!(
                    "{} did not exit within {timeout:?}; its log:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            sleep(Duration::from_millis(20));
        }
    }

    /// Sends the stop signal to the group, waits up to 10 s, then SIGKILLs the group.
    /// Returns the exit status (`timeout` passes the peer's own status through).
    pub fn stop(&mut self) -> ExitStatus {
        if let Some(status) = self.exited() {
            self.signal_group("KILL");
            return status;
        }
        self.signal_group(self.stop_signal);
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = self.exited() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = writeln!(
                    std::io::stderr(),
                    "{} ignored SIG{} for 10 s: SIGKILL",
                    self.name,
                    self.stop_signal
                );
                self.signal_group("KILL");
                let status = self
                    .child
                    .wait()
                    .unwrap_or_else(|_| ExitStatus::from_raw(9));
                self.exit = Some(status);
                break status;
            }
            sleep(Duration::from_millis(10));
        };
        // Whatever is left of the group (workers that outlived their master).
        self.signal_group("KILL");
        status
    }

    fn signal_group(&self, signal: &str) {
        let _ = Command::new(program("sh"))
            .args(["-c", r#"kill -s "$0" -- "-$1""#, signal])
            .arg(self.child.id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a server on a free port: `start(port)` spawns it, then this waits until the
/// port accepts. Starts are serialised within this test binary, so no two tests pick the
/// same released port before one binds it; a port another process takes in between
/// ("in use" in the log) is retried with another one, up to 3 times.
pub fn start_listening(mut start: impl FnMut(u16) -> Peer) -> (Peer, u16) {
    static STARTING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = STARTING.lock().unwrap_or_else(PoisonError::into_inner);
    let mut last = String::new();
    for _ in 0..3 {
        let port = free_port();
        let mut peer = start(port);
        match peer.wait_port(port) {
            Ok(()) => return (peer, port),
            Err(why) if why.contains("in use") => last = why,
            Err(why) => panic!("{why}"),
        }
    }
    panic!("no free port after 3 tries: {last}")
}

/// Polls `f` every 20 ms until it returns `Some`, for at most `timeout`.
pub fn poll<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        sleep(Duration::from_millis(20));
    }
}

/// `uwsgi-wire gateway 127.0.0.1:PORT ARGS...` (the CLI binary `bin`) on a free port,
/// its output in `dir/gateway.log`, stopped by SIGINT, capped at `cap`.
pub fn start_gateway(
    bin: &str,
    dir: &Path,
    cap: Duration,
    args: impl IntoIterator<Item = String> + Clone,
) -> (Peer, u16) {
    start_listening(|port| {
        let mut all = vec!["gateway".to_owned(), format!("127.0.0.1:{port}")];
        all.extend(args.clone());
        Peer::start("gateway", dir, "INT", cap, bin, all)
    })
}

/// Whether process `pid` runs: its /proc entry is there and it is no zombie.
#[allow(dead_code)] // for the wsgi tests, which include this file
pub fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

/// Sends `signal` (a name: `TERM`, `HUP`, ...) to process `pid` with kill(1); fails the
/// test when it cannot.
#[allow(dead_code)] // for the wsgi and CLI tests, which include this file
pub fn kill(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -s {signal} {pid}");
}

/// The pid of the process whose command line is `program` followed by, among its
/// arguments, `arg` (a server started through `timeout` and `env`: the real one).
pub fn pid_running(program: &str, arg: &str) -> u32 {
    let found = poll(Duration::from_secs(5), || {
        fs::read_dir("/proc").ok()?.find_map(|entry| {
            let entry = entry.ok()?;
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = fs::read(entry.path().join("cmdline")).ok()?;
            let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
            (args.first() == Some(&program.as_bytes()) && args.contains(&arg.as_bytes()))
                .then_some(pid)
        })
    });
    found.unwrap_or_else(|| panic!("no process runs {program} ... {arg}"))
}

/// A field of /proc/PID/status in KiB (`VmHWM`: the peak resident set).
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().strip_suffix("kB")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// A uwsgi backend on a free port that answers every request (a packet without a
/// body) `delay` after reading it, with `name` as its body, on a thread of its own (one
/// request at a time); and the number of connections it accepted.
pub fn named_backend(
    name: &'static str,
    delay: Duration,
) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read as _, Write as _};
    use std::sync::atomic::Ordering;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            count.fetch_add(1, Ordering::SeqCst);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            // The packet: its 4-byte header, then its vars.
            let mut header = [0u8; 4];
            if stream.read_exact(&mut header).is_err() {
                continue;
            }
            let mut vars = vec![0u8; usize::from(u16::from_le_bytes([header[1], header[2]]))];
            if stream.read_exact(&mut vars).is_err() {
                continue;
            }
            sleep(delay);
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{name}",
                name.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    (port, accepted)
}
