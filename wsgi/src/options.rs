//! The command line, spelled as uWSGI 2.0 spells it (`--opt value` and `--opt=value`).

use std::path::PathBuf;

use clap::Parser;

/// Host a WSGI application (Django, Flask, ...) on the uwsgi protocol, in uWSGI's place:
/// the options are uWSGI's, with uWSGI's meaning.
#[derive(Debug, Parser)]
// uWSGI lets a later value of an option replace an earlier one (the command line after
// an `--ini` file, or a second `--ini`).
#[command(name = "uwsgi-wire-wsgi", version, args_override_self = true)]
pub struct Options {
    /// Listen on this socket: TCP `host:port` (`:port` for every address) or a Unix
    /// socket path. Repeatable.
    #[arg(long, short = 's', visible_alias = "uwsgi-socket", required = true)]
    pub socket: Vec<String>,
    /// Change to this directory before loading the application.
    #[arg(long)]
    pub chdir: Option<PathBuf>,
    /// The application's module: `pkg.mod` or `pkg.mod:callable`.
    #[arg(long, visible_alias = "wsgi")]
    pub module: Option<String>,
    /// The application's file (a `.py`), loaded as a module.
    #[arg(long, visible_alias = "file")]
    pub wsgi_file: Option<PathBuf>,
    /// The callable's name in the module (or file), when `--module` does not name one.
    #[arg(long, default_value = "application")]
    pub callable: String,
    /// `KEY=VALUE` set in the process environment before Python starts. Repeatable.
    #[arg(long)]
    pub env: Vec<String>,
    /// The virtualenv whose site-packages the application imports from.
    #[arg(long, short = 'H', visible_aliases = ["virtualenv", "venv", "pyhome"])]
    pub home: Option<PathBuf>,
    /// A directory put first on `sys.path`. Repeatable.
    #[arg(long, visible_alias = "python-path")]
    pub pythonpath: Vec<PathBuf>,
    /// Requests served at once (threads; the GIL is released around all socket I/O).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: u16,
    /// The largest request packet (vars) accepted, in bytes (uWSGI's default 4096; at
    /// most 65535). A larger one is logged and its connection closed.
    #[arg(long, short = 'b', default_value_t = 4096)]
    pub buffer_size: u16,
    /// Seconds a read or write on a connection may wait (uWSGI's default 4).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..))]
    pub socket_timeout: u64,
    /// Write the process id to this file.
    #[arg(long)]
    pub pidfile: Option<PathBuf>,
    /// Remove the Unix sockets and the pidfile on exit.
    #[arg(long)]
    pub vacuum: bool,
    /// The mode of the Unix sockets (octal; `--chmod-socket` alone is 666).
    #[arg(long, num_args = 0..=1, default_missing_value = "666")]
    pub chmod_socket: Option<String>,
    /// Exit on SIGTERM: what this host always does (uWSGI 2.0 reloads without it).
    #[arg(long)]
    pub die_on_term: bool,
    /// A master process: it binds the sockets, forks the `--processes` workers (before
    /// any Python or thread exists in it) and replaces every worker that exits.
    #[arg(long, short = 'M')]
    pub master: bool,
    /// Worker processes (each with its own interpreter and `--threads`); over 1 needs
    /// `--master`.
    #[arg(long, short = 'p', visible_alias = "workers", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub processes: u16,
    /// A worker exits (after finishing them) once it has accepted this many requests;
    /// the master replaces it. Needs `--master`.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_requests: Option<u64>,

    /// Seconds a request may run: past them the master kills its worker (SIGKILL) and
    /// replaces it. Needs `--master`.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub harakiri: Option<u64>,

    /// Detach from the terminal (fork twice, new session, umask 0, as uWSGI) and write
    /// the log (stdout and stderr) to this file, appended.
    #[arg(long, short = 'd')]
    pub daemonize: Option<PathBuf>,
    /// Run as this user (name or number) once the sockets are bound and the pidfile
    /// written (as root only).
    #[arg(long)]
    pub uid: Option<String>,
    /// Run as this group (name or number) once the sockets are bound; the supplementary
    /// groups become the `--uid` user's.
    #[arg(long)]
    pub gid: Option<String>,
    /// Read options from the `[uwsgi]` section of this INI file (`FILE:SECTION` for
    /// another section), in place of the `--ini`: `key = value` for `--key=value`,
    /// `master = true` for a flag. Repeatable.
    #[arg(long)]
    pub ini: Vec<PathBuf>,
}

impl Options {
    /// The first uWSGI option given that this host does not support yet, as the message
    /// to exit with.
    pub fn refused(&self) -> Option<String> {
        // uWSGI without a master forks the workers from the first one and never replaces
        // them; this host only has the supervised model.
        if !self.master && self.processes > 1 {
            return Some(format!(
                "--processes {} needs --master (no master-less workers here)",
                self.processes
            ));
        }
        if !self.master && self.max_requests.is_some() {
            return Some("--max-requests needs --master (to replace the worker)".into());
        }
        if !self.master && self.harakiri.is_some() {
            return Some("--harakiri needs --master (to kill and replace the worker)".into());
        }
        if let Some(file) = self.ini.first() {
            // `ini::expand` replaces every `--ini` before parsing: one left here was
            // not read.
            return Some(format!("--ini {}: not read", file.display()));
        }
        match (&self.module, &self.wsgi_file) {
            (None, None) => Some("one of --module and --wsgi-file is required".into()),
            (Some(_), Some(_)) => Some("--module and --wsgi-file exclude each other".into()),
            _ => None,
        }
    }

    /// The mode `--chmod-socket` asks for.
    pub fn socket_mode(&self) -> Result<Option<u32>, String> {
        self.chmod_socket
            .as_deref()
            .map(|mode| {
                u32::from_str_radix(mode, 8)
                    .ok()
                    .filter(|m| *m <= 0o7777)
                    .ok_or_else(|| format!("--chmod-socket {mode}: not an octal mode"))
            })
            .transpose()
    }

    /// `--env` as pairs.
    pub fn env_pairs(&self) -> Result<Vec<(&str, &str)>, String> {
        self.env
            .iter()
            .map(|pair| {
                pair.split_once('=')
                    .filter(|(key, _)| !key.is_empty())
                    .ok_or_else(|| format!("--env {pair}: expected KEY=VALUE"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, clap::Error> {
        Options::try_parse_from(std::iter::once("uwsgi-wire-wsgi").chain(args.iter().copied()))
    }

    #[test]
    fn both_spellings_and_the_guides_options() {
        let o = parse(&[
            "--chdir=/srv/app",
            "--module",
            "myapp.wsgi:application",
            "--env",
            "DJANGO_SETTINGS_MODULE=myapp.settings",
            "--socket=127.0.0.1:29000",
            "--socket",
            "/tmp/a.sock",
            "--vacuum",
            "--chmod-socket",
            "-H",
            "/venv",
            "--threads=4",
            "--die-on-term",
        ])
        .unwrap();
        assert_eq!(o.socket, ["127.0.0.1:29000", "/tmp/a.sock"]);
        assert_eq!(o.module.as_deref(), Some("myapp.wsgi:application"));
        assert_eq!(o.socket_mode(), Ok(Some(0o666)));
        assert_eq!(
            o.env_pairs().unwrap(),
            [("DJANGO_SETTINGS_MODULE", "myapp.settings")]
        );
        assert_eq!(o.home.as_deref(), Some(std::path::Path::new("/venv")));
        assert_eq!(o.threads, 4);
        assert_eq!(o.refused(), None);
    }

    #[test]
    fn unsupported_options_are_refused_by_name() {
        let base = ["--socket", ":1", "--module", "m"];
        for (extra, name) in [
            (&["--processes=5"][..], "--processes 5 needs --master"),
            (&["--max-requests=5000"], "--max-requests needs --master"),
            (&["--harakiri", "20"], "--harakiri needs --master"),
        ] {
            let o = parse(&[&base[..], extra].concat()).unwrap();
            let refusal = o.refused().unwrap();
            assert!(refusal.starts_with(name), "{refusal}");
        }
        assert_eq!(
            parse(&[&base[..], &["--processes", "1"]].concat())
                .unwrap()
                .refused(),
            None
        );
        let o =
            parse(&[&base[..], &["-M", "--workers=3", "--max-requests", "9"]].concat()).unwrap();
        assert_eq!((o.master, o.processes, o.max_requests), (true, 3, Some(9)));
        assert_eq!(o.refused(), None);
        // The guide's command, but for the program's name.
        let o = parse(&[
            "--chdir=/var/django/projects/myapp",
            "--module=myapp.wsgi:application",
            "--env",
            "DJANGO_SETTINGS_MODULE=myapp.settings",
            "--master",
            "--pidfile=/usr/local/var/run/uwsgi/project-master.pid",
            "--socket=127.0.0.1:29000",
            "--processes=5",
            "--uid=505",
            "--gid=505",
            "--harakiri=20",
            "--max-requests=5000",
            "--vacuum",
            "--daemonize=/usr/local/var/log/uwsgi/myapp.log",
        ])
        .unwrap();
        assert_eq!(o.refused(), None);
        assert_eq!(
            (o.uid.as_deref(), o.gid.as_deref()),
            (Some("505"), Some("505"))
        );
        // A later value replaces an earlier one, as with uWSGI.
        let o = parse(&[&base[..], &["--threads=2", "--threads", "3"]].concat()).unwrap();
        assert_eq!(o.threads, 3);
        let err = parse(&[&base[..], &["--lazy-apps"]].concat()).unwrap_err();
        assert!(err.to_string().contains("--lazy-apps"), "{err}");
        assert_eq!(err.exit_code(), 2);
    }
}
