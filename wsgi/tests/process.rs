//! `uwsgi-wire-wsgi`'s process control behind real nginx 1.22 `uwsgi_pass`: the NGINX
//! guide's command line as it is (paths under a temp folder), `--daemonize` with
//! `--pidfile` and `--vacuum`, `--uid`/`--gid`, `--ini`, SIGHUP reloads under load and
//! SIGTERM with a request in flight.
//!
//! With `CI` set, a missing nginx fails the test; without it the test prints
//! `skipped: ...` and returns.

#[allow(dead_code, unused_imports, unused_macros)]
#[path = "../../tests/conformance/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "../../tests/conformance/peers.rs"]
mod peers;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harness::{alive, free_port, is_root, kill, poll, require, Peer, TempDir, CLEAN_PATH, NGINX};

const HOST: &str = env!("CARGO_BIN_EXE_uwsgi-wire-wsgi");
const TIMEOUT: Duration = Duration::from_secs(30);

/// The guide's `myapp.wsgi:application`, as a plain WSGI application: `/` tells who
/// serves (pid, ids, the settings module from `--env`, the directory), `/slow?s=S`
/// answers after S seconds.
const MYAPP_WSGI: &str = r#"import json, os, time
from urllib.parse import parse_qs


def application(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        seconds = float(parse_qs(environ.get("QUERY_STRING", "")).get("s", ["1"])[0])
        time.sleep(seconds)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"slept"]
    body = json.dumps({
        "pid": os.getpid(), "uid": os.getuid(), "gid": os.getgid(),
        "groups": os.getgroups(), "cwd": os.getcwd(),
        "settings": os.environ.get("DJANGO_SETTINGS_MODULE"),
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
"#;

/// `dir/projects/myapp` holding the `myapp` package (as the guide's Django project).
fn project(dir: &TempDir) -> PathBuf {
    let project = dir.mkdir("projects/myapp");
    let package = project.join("myapp");
    std::fs::create_dir_all(&package).unwrap();
    std::fs::write(package.join("__init__.py"), "").unwrap();
    std::fs::write(package.join("wsgi.py"), MYAPP_WSGI).unwrap();
    project
}

/// A GET through nginx: the status and the body, or why it failed.
fn get(port: u16, target: &str) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    // HTTP/1.0: nginx sends the body as it is, not chunked.
    let head = format!("GET {target} HTTP/1.0\r\nHost: localhost\r\n\r\n");
    stream
        .write_all(head.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no head: {raw:?}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status: {head:?}"))?;
    Ok((status, body.to_owned()))
}

/// `/` through nginx, as JSON (a 200 asserted).
fn who(port: u16) -> serde_json::Value {
    let (status, body) = get(port, "/").unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// A field of /proc/PID/status, as it is written (`Uid`: `0\t0\t0\t0`).
fn proc_status(pid: u32, field: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
        .trim()
        .to_owned()
}

/// The fields of /proc/PID/stat after the command (`state ppid pgrp session ...`);
/// empty once the process is gone or a zombie.
fn stat(pid: u32) -> Vec<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<String> = stat.rsplit_once(')').map_or(vec![], |(_, rest)| {
        rest.split_whitespace().map(str::to_owned).collect()
    });
    if fields.first().is_some_and(|state| state == "Z") {
        return Vec::new();
    }
    fields
}

/// The live processes whose parent is `ppid`.
fn children(ppid: u32) -> Vec<u32> {
    let mut found: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .filter(|pid| {
            stat(*pid)
                .get(1)
                .is_some_and(|ppid_| *ppid_ == ppid.to_string())
        })
        .collect();
    found.sort_unstable();
    found
}

/// A daemonized host (it left the test's process group): SIGKILLed with its workers on
/// drop if a test failed before stopping it.
struct Daemon {
    pid: u32,
    log: PathBuf,
}

impl Daemon {
    /// Runs the host with `args` from `dir` (a clean environment) and waits until its
    /// parent exited 0, `pidfile` names it and `port` (if any) accepts.
    fn start(dir: &Path, args: &[&str], pidfile: &Path, log: &Path, port: Option<u16>) -> Daemon {
        let started = Instant::now();
        let out = Command::new("timeout")
            .arg("30")
            .arg(HOST)
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", CLEAN_PATH)
            .env("LANG", "C")
            .output()
            .unwrap();
        let Output {
            status,
            stdout,
            stderr,
        } = out;
        let log_text = || std::fs::read_to_string(log).unwrap_or_default();
        assert!(status.success(), "{status}: {}", log_text());
        // Everything goes to the log, nothing to the terminal; the parent exits at once.
        assert!(
            stdout.is_empty() && stderr.is_empty(),
            "{stdout:?} {stderr:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        let pid = poll(TIMEOUT, || pid_in(pidfile))
            .unwrap_or_else(|| panic!("no pidfile {}: {}", pidfile.display(), log_text()));
        let daemon = Daemon {
            pid,
            log: log.to_owned(),
        };
        if let Some(port) = port {
            poll(TIMEOUT, || TcpStream::connect(("127.0.0.1", port)).ok())
                .unwrap_or_else(|| panic!("port {port}: {}", daemon.log()));
        }
        daemon
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then waits (at most 15 s) for the master and its workers to be gone.
    fn stop(&self) {
        let workers = children(self.pid);
        kill("TERM", self.pid);
        let gone = poll(Duration::from_secs(15), || {
            Some(()).filter(|()| !alive(self.pid) && workers.iter().all(|w| !alive(*w)))
        });
        assert!(gone.is_some(), "still running: {}", self.log());
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if alive(self.pid) {
            for pid in children(self.pid).into_iter().chain([self.pid]) {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
    }
}

/// The guide's command but for the program's name, under `dir`, as `uid`/`gid`;
/// returns the running daemon, nginx in front, and the pidfile.
fn guide(dir: &TempDir, uid: &str, gid: &str) -> (Daemon, peers::FrontEnd, PathBuf) {
    let project = project(dir);
    let pidfile = dir.mkdir("run/uwsgi").join("project-master.pid");
    let log = dir.mkdir("log/uwsgi").join("myapp.log");
    let port = free_port();
    let args = [
        format!("--chdir={}", project.display()),
        "--module=myapp.wsgi:application".into(),
        "--env".into(),
        "DJANGO_SETTINGS_MODULE=myapp.settings".into(),
        "--master".into(),
        format!("--pidfile={}", pidfile.display()),
        format!("--socket=127.0.0.1:{port}"),
        "--processes=5".into(),
        format!("--uid={uid}"),
        format!("--gid={gid}"),
        "--harakiri=20".into(),
        "--max-requests=5000".into(),
        "--vacuum".into(),
        format!("--daemonize={}", log.display()),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let daemon = Daemon::start(dir.path(), &args, &pidfile, &log, Some(port));
    let nginx = peers::nginx(dir, port);
    (daemon, nginx, pidfile)
}

#[test]
fn the_guides_command_runs_as_it_is() {
    require!(NGINX);
    let dir = TempDir::new("guide");
    let (uid, gid) = (nix::unistd::getuid(), nix::unistd::getgid());
    let (daemon, nginx, pidfile) = guide(&dir, &uid.to_string(), &gid.to_string());
    let workers = poll(TIMEOUT, || {
        Some(children(daemon.pid)).filter(|c| c.len() == 5)
    })
    .unwrap_or_else(|| panic!("five workers: {}", daemon.log()));
    // Detached: a session of its own, not the test's.
    let ours = stat(std::process::id())[3].clone();
    assert_ne!(stat(daemon.pid)[3], ours);
    let me = who(nginx.port);
    assert!(
        workers.contains(&(me["pid"].as_u64().unwrap() as u32)),
        "{me}"
    );
    assert_eq!(me["settings"], "myapp.settings");
    assert_eq!(
        me["cwd"].as_str().map(Path::new),
        Some(dir.path().join("projects/myapp").as_path())
    );
    assert_eq!(me["uid"], uid.as_raw());
    assert!(
        daemon.log().contains("uwsgi-wire-wsgi serving"),
        "{}",
        daemon.log()
    );
    daemon.stop();
    assert!(daemon.log().contains("master: goodbye"), "{}", daemon.log());
    // As uWSGI: with --uid, --vacuum leaves the pidfile written before the drop.
    assert!(pidfile.exists());
}

/// As root, `--uid`/`--gid` really drop the privileges of the master and of every
/// worker: uid and gid `nobody`'s, no supplementary group but its own.
#[test]
fn as_root_the_workers_run_as_nobody() {
    require!(NGINX);
    if !is_root() {
        eprintln!("skipped: not running as root (nothing to drop)");
        return;
    }
    let nobody = nix::unistd::User::from_name("nobody")
        .unwrap()
        .expect("a user nobody");
    let (uid, gid) = (nobody.uid.as_raw(), nobody.gid.as_raw());
    let dir = TempDir::new("nobody");
    // The user reads the application through the temp folders.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (daemon, nginx, _) = guide(&dir, "nobody", &gid.to_string());
    let workers = poll(TIMEOUT, || {
        Some(children(daemon.pid)).filter(|c| c.len() == 5)
    })
    .unwrap_or_else(|| panic!("five workers: {}", daemon.log()));
    let ids = |id: u32| format!("{id}\t{id}\t{id}\t{id}");
    for pid in workers.iter().chain([&daemon.pid]) {
        assert_eq!(proc_status(*pid, "Uid"), ids(uid), "pid {pid}");
        assert_eq!(proc_status(*pid, "Gid"), ids(gid), "pid {pid}");
        let groups = proc_status(*pid, "Groups");
        assert!(
            groups.split_whitespace().all(|g| g == gid.to_string()),
            "pid {pid}: {groups}"
        );
    }
    let me = who(nginx.port);
    assert_eq!(
        (me["uid"].as_u64(), me["gid"].as_u64()),
        (Some(uid.into()), Some(gid.into()))
    );
    daemon.stop();
}

/// `--daemonize FILE` without a master: the parent exits 0 at once, the daemon runs in a
/// session of its own with stdin on /dev/null and stdout and stderr appended to FILE,
/// umask 0; the relative `--pidfile` is written from the starting folder; SIGHUP is
/// ignored (no master); on SIGTERM `--vacuum` removes the pidfile and the Unix socket.
#[test]
fn daemonize_pidfile_and_vacuum() {
    require!(NGINX);
    let dir = TempDir::new("daemonize");
    let project = project(&dir);
    let socket = dir.path().join("app.sock");
    let log = dir.path().join("app.log");
    std::fs::write(&log, "an earlier line\n").unwrap();
    let args = [
        format!("--socket={}", socket.display()),
        format!("--chdir={}", project.display()),
        "--module=myapp.wsgi".into(),
        "--env=DJANGO_SETTINGS_MODULE=myapp.settings".into(),
        "--pidfile=app.pid".into(),
        "--vacuum".into(),
        "--daemonize=app.log".into(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let pidfile = dir.path().join("app.pid");
    let daemon = Daemon::start(dir.path(), &args, &pidfile, &log, None);
    poll(TIMEOUT, || socket.exists().then_some(()))
        .unwrap_or_else(|| panic!("no socket: {}", daemon.log()));
    let fields = stat(daemon.pid);
    // Forked twice: not the session leader (no terminal can come back), not ours.
    assert_ne!(fields[3], daemon.pid.to_string());
    assert_ne!(fields[3], stat(std::process::id())[3]);
    let fd = |n: u32| std::fs::read_link(format!("/proc/{}/fd/{n}", daemon.pid)).unwrap();
    assert_eq!(fd(0), Path::new("/dev/null"));
    assert_eq!((fd(1), fd(2)), (log.clone(), log.clone()));
    assert_eq!(proc_status(daemon.pid, "Umask"), "0000");
    let (_nginx, port) = peers::nginx_server(
        &dir,
        &format!(
            "location / {{ include /etc/nginx/uwsgi_params; uwsgi_pass unix:{}; }}",
            socket.display()
        ),
    );
    let me = who(port);
    assert_eq!(me["pid"].as_u64(), Some(daemon.pid.into()));
    assert_eq!(me["settings"], "myapp.settings");
    // Without a master there is nothing to reload from: SIGHUP is logged, not obeyed.
    kill("HUP", daemon.pid);
    poll(TIMEOUT, || {
        daemon
            .log()
            .contains("a reload needs --master; ignored")
            .then_some(())
    })
    .unwrap_or_else(|| panic!("SIGHUP: {}", daemon.log()));
    assert_eq!(who(port)["pid"].as_u64(), Some(daemon.pid.into()));
    daemon.stop();
    let text = daemon.log();
    assert!(
        text.starts_with("an earlier line\n") && text.contains("goodbye"),
        "{text}"
    );
    assert!(!pidfile.exists() && !socket.exists(), "{text}");
}

/// `--ini FILE`: the `[uwsgi]` section's keys are the options (flags as `true`, magic
/// variables expanded), the command line after `--ini` overrides them, and a key that
/// is no option is refused by name (uWSGI would keep it as a placeholder, silently).
#[test]
fn ini_files_as_uwsgi_reads_them() {
    require!(NGINX);
    let dir = TempDir::new("ini");
    project(&dir);
    let conf = dir.mkdir("conf");
    let (mut host, port) = harness::start_listening(|port| {
        let ini = format!(
            "[uwsgi]\n; the guide's options in a file\nsocket = 127.0.0.1:{port}\n\
             chdir = %d../projects/myapp\nmodule = myapp.wsgi:application\n\
             env = DJANGO_SETTINGS_MODULE=myapp.settings\nmaster = true\nprocesses = 2\n\
             vacuum = false\npidfile = %d%n.pid\n\n[other]\nprocesses = 4\n"
        );
        std::fs::write(conf.join("myapp.ini"), ini).unwrap();
        Peer::start(
            "ini",
            dir.path(),
            "INT",
            Duration::from_secs(120),
            HOST,
            ["--ini", "conf/myapp.ini", "--processes", "3"],
        )
    });
    let nginx = peers::nginx(&dir, port);
    let master: u32 = poll(TIMEOUT, || pid_in(&conf.join("myapp.pid")))
        .unwrap_or_else(|| panic!("no pidfile: {}", host.log()));
    // `--processes 3` after the file wins over its `processes = 2`.
    poll(TIMEOUT, || Some(children(master)).filter(|c| c.len() == 3))
        .unwrap_or_else(|| panic!("three workers: {}", host.log()));
    let me = who(nginx.port);
    assert_eq!(me["settings"], "myapp.settings");
    assert_eq!(
        me["cwd"].as_str().map(Path::new),
        Some(dir.path().join("projects/myapp").as_path())
    );
    let status = host.stop();
    assert!(status.success(), "{status}: {}", host.log());
    // `vacuum = false`: the pidfile stays.
    assert!(conf.join("myapp.pid").exists());

    let refused = [
        ("max_requests = 5\n", "--max_requests"),
        ("socket = %(base)/a.sock\n", "%(name) placeholders"),
    ];
    for (line, message) in refused {
        std::fs::write(conf.join("bad.ini"), format!("[uwsgi]\nmodule = m\n{line}")).unwrap();
        let out = Command::new(HOST)
            .args(["--socket", "127.0.0.1:0", "--ini"])
            .arg(conf.join("bad.ini"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(message), "{message}: {stderr}");
    }
}

/// SIGHUP to the master under a steady load through nginx: new workers serve, the old
/// ones finish what they accepted (a 2 s request started before the reload gets its
/// 200), not one request fails; a SIGHUP during a reload is ignored. Then SIGTERM with
/// a request in flight: it finishes (200) and every process exits.
#[test]
fn sighup_reloads_under_load_without_a_failed_request() {
    require!(NGINX);
    let dir = TempDir::new("reload");
    let project = project(&dir).display().to_string();
    let (mut host, port) = harness::start_listening(|port| {
        let socket = format!("127.0.0.1:{port}");
        Peer::start(
            "reload",
            dir.path(),
            "INT",
            Duration::from_secs(120),
            HOST,
            [
                "--socket",
                &socket,
                "--chdir",
                &project,
                "--module",
                "myapp.wsgi",
                "--master",
                "--processes",
                "2",
                "--threads",
                "2",
                "--pidfile",
                "master.pid",
            ],
        )
    });
    let nginx = peers::nginx(&dir, port);
    let master = pid_in(&dir.path().join("master.pid")).expect("the master's pid");
    let first = poll(TIMEOUT, || Some(children(master)).filter(|c| c.len() == 2))
        .unwrap_or_else(|| panic!("two workers: {}", host.log()));

    let stop = Arc::new(AtomicBool::new(false));
    let results = Arc::new(Mutex::new((
        0usize,
        Vec::<String>::new(),
        Vec::<u64>::new(),
    )));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (stop, results, port) = (Arc::clone(&stop), Arc::clone(&results), nginx.port);
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let outcome = get(port, "/");
                    let mut r = results.lock().unwrap();
                    r.0 += 1;
                    match outcome {
                        Ok((200, body)) => {
                            let pid = serde_json::from_str::<serde_json::Value>(&body)
                                .ok()
                                .and_then(|v| v["pid"].as_u64());
                            r.2.extend(pid);
                        }
                        Ok((status, body)) => r.1.push(format!("{status} {body}")),
                        Err(err) => r.1.push(err),
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let port = nginx.port;
    let long = std::thread::spawn(move || get(port, "/slow?s=2"));
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let mut old = first.clone();
    for round in 0..3 {
        kill("HUP", master);
        if round == 0 {
            // The old workers still drain (the 2 s request): this one is ignored.
            std::thread::sleep(Duration::from_millis(200));
            kill("HUP", master);
        }
        let new = poll(TIMEOUT, || {
            Some(children(master)).filter(|c| c.len() == 2 && c.iter().all(|p| !old.contains(p)))
        })
        .unwrap_or_else(|| panic!("round {round}: no new workers: {}", host.log()));
        old = new;
        std::thread::sleep(Duration::from_millis(300));
    }
    let reloads = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.join().unwrap();
    }
    assert_eq!(long.join().unwrap(), Ok((200, "slept".to_owned())));
    let (total, failed, pids) = std::mem::take(&mut *results.lock().unwrap());
    eprintln!(
        "{total} requests during 3 reloads ({reloads:?}), {} failed",
        failed.len()
    );
    assert!(failed.is_empty(), "{failed:?}\n{}", host.log());
    assert!(total >= 100, "{total}");
    let served: std::collections::BTreeSet<u64> = pids.into_iter().collect();
    // Four generations of two workers, each of which served.
    assert!(served.len() >= 6, "{served:?}");
    let log = host.log();
    assert!(
        log.contains("the last reload is not over; ignored"),
        "{log}"
    );

    // SIGTERM to the master with a request in flight: it finishes, then all exit 0.
    let in_flight = std::thread::spawn(move || get(port, "/slow?s=1.5"));
    std::thread::sleep(Duration::from_millis(500));
    let stopping = Instant::now();
    kill("TERM", master);
    assert_eq!(in_flight.join().unwrap(), Ok((200, "slept".to_owned())));
    let gone = poll(Duration::from_secs(15), || {
        Some(()).filter(|()| !alive(master) && old.iter().all(|pid| !alive(*pid)))
    });
    assert!(gone.is_some(), "still running: {}", host.log());
    assert!(stopping.elapsed() < Duration::from_secs(10));
    let status = host.stop();
    assert!(status.success(), "{status}: {}", host.log());
}

/// `--vacuum` removes a Unix socket only while it is still the one the host bound (as
/// uWSGI checks the inode): a server that took the path since keeps its socket.
#[test]
fn vacuum_leaves_a_socket_file_another_server_took() {
    let dir = TempDir::new("vacuum-inode");
    let project = project(&dir).display().to_string();
    let socket = dir.path().join("app.sock");
    let socket_arg = socket.display().to_string();
    let mut host = Peer::start(
        "vacuum",
        dir.path(),
        "TERM",
        Duration::from_secs(60),
        HOST,
        [
            "--socket",
            &socket_arg,
            "--chdir",
            &project,
            "--module",
            "myapp.wsgi",
            "--pidfile",
            "app.pid",
            "--vacuum",
        ],
    );
    host.wait_log("uwsgi-wire-wsgi serving", TIMEOUT);
    std::fs::remove_file(&socket).unwrap();
    let _other = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let status = host.stop();
    assert!(status.success(), "{status}: {}", host.log());
    assert!(socket.exists(), "{}", host.log());
    assert!(!dir.path().join("app.pid").exists(), "{}", host.log());
    assert!(
        host.log()
            .contains("the socket file is another one now; left"),
        "{}",
        host.log()
    );
}

/// A reload deploys: the new workers import the application anew (the master never
/// imported it), so code changed on disk serves after SIGHUP.
#[test]
fn a_reload_serves_the_new_code() {
    require!(NGINX);
    let dir = TempDir::new("deploy");
    let project = project(&dir);
    let chdir = project.display().to_string();
    let (host, port) = harness::start_listening(|port| {
        let socket = format!("127.0.0.1:{port}");
        Peer::start(
            "deploy",
            dir.path(),
            "INT",
            Duration::from_secs(60),
            HOST,
            [
                "--socket",
                &socket,
                "--chdir",
                &chdir,
                "--module",
                "myapp.wsgi",
                "--master",
                "--pidfile",
                "master.pid",
            ],
        )
    });
    let nginx = peers::nginx(&dir, port);
    let master = pid_in(&dir.path().join("master.pid")).expect("the master's pid");
    assert_eq!(who(nginx.port)["settings"], serde_json::Value::Null);
    let v2 = MYAPP_WSGI.replace(
        r#"os.environ.get("DJANGO_SETTINGS_MODULE")"#,
        r#""deployed: version 2""#,
    );
    std::fs::write(project.join("myapp/wsgi.py"), v2).unwrap();
    // Still the old code until the reload.
    assert_eq!(who(nginx.port)["settings"], serde_json::Value::Null);
    kill("HUP", master);
    poll(TIMEOUT, || {
        (who(nginx.port)["settings"] == "deployed: version 2").then_some(())
    })
    .unwrap_or_else(|| panic!("the new code does not serve: {}", host.log()));
}

/// The pid a pidfile holds, once it is there and whole.
fn pid_in(pidfile: &Path) -> Option<u32> {
    std::fs::read_to_string(pidfile).ok()?.trim().parse().ok()
}
