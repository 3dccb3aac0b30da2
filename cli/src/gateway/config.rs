//! `--config FILE`: the gateway's settings as TOML, merged with the command line, and
//! the defaults of what neither gives.
//!
//! Each key of the file is a flag's long name (`max-body`, `tls-cert`, ...), plus
//! `listen` and `upstreams` for the positional arguments; a repeatable flag's key is a
//! table (`[location]`, `[static]`, `[param]`: one entry per flag). Every value goes
//! through the flag's own parser, so a file accepts and refuses what the command line
//! does. The merge: a flag given on the command line replaces the file's value of its
//! key; the repeatable ones (`--location`, `--static`, `--param` and the positional
//! upstreams) are added after the file's.

use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::location::{parse_location, parse_static};
use super::upstream::{parse_server, Server};
use super::GatewayArgs;
use crate::args::{parse_seconds, parse_size};
use crate::net::Addr;

/// Everything the gateway runs with: the command line over the file over the defaults.
#[derive(Debug)]
pub struct Settings {
    pub listen: Addr,
    pub upstreams: Vec<Server>,
    pub locations: Vec<(String, Vec<Server>)>,
    pub statics: Vec<(String, PathBuf)>,
    pub root: Option<PathBuf>,
    pub params: Vec<(String, String)>,
    pub modifier1: u8,
    /// The first of `--server-name` (nginx's `$server_name`).
    pub server_name: String,
    pub document_root: String,
    pub max_head: u64,
    pub max_body: u64,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub send_timeout: Duration,
    pub max_connections: usize,
    pub access_log: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// The runtime's worker threads; `None`: one per core.
    pub workers: Option<usize>,
    pub trace: bool,
}

/// The file as written: each value as text, parsed by the flag's parser in
/// [`Settings::new`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct File {
    listen: Option<Text>,
    #[serde(default)]
    upstreams: Vec<String>,
    #[serde(default, deserialize_with = "in_order")]
    location: Vec<(String, OneOrMany)>,
    #[serde(default, rename = "static", deserialize_with = "in_order")]
    statics: Vec<(String, String)>,
    root: Option<PathBuf>,
    #[serde(default, deserialize_with = "in_order")]
    param: Vec<(String, String)>,
    modifier1: Option<u8>,
    server_name: Option<OneOrMany>,
    document_root: Option<String>,
    max_head: Option<Text>,
    max_body: Option<Text>,
    connect_timeout: Option<Text>,
    timeout: Option<Text>,
    send_timeout: Option<Text>,
    max_connections: Option<usize>,
    access_log: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    workers: Option<usize>,
    trace: Option<bool>,
}

/// A value the flag takes as text: a TOML string, integer or float (`max-body = "16M"`,
/// `timeout = 30`, `timeout = 0.5`).
#[derive(Debug)]
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Text, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Any {
            Str(String),
            Int(i64),
            Float(f64),
        }
        Ok(Text(
            match Any::deserialize(deserializer)
                .map_err(|_| de::Error::custom("expected a string or a number"))?
            {
                Any::Str(text) => text,
                Any::Int(n) => n.to_string(),
                Any::Float(x) => x.to_string(),
            },
        ))
    }
}

/// A string, or an array of them (`server-name`, a location's upstreams).
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "a string or an array of strings")]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }
    }
}

/// A table as its entries in the file's order: params are sent in the order given, as
/// nginx sends its `uwsgi_param`s.
fn in_order<'de, D, V>(deserializer: D) -> Result<Vec<(String, V)>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Entries<V>(PhantomData<V>);
    impl<'de, V: Deserialize<'de>> Visitor<'de> for Entries<V> {
        type Value = Vec<(String, V)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a table")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut entries = Vec::new();
            while let Some(entry) = map.next_entry()? {
                entries.push(entry);
            }
            Ok(entries)
        }
    }
    deserializer.deserialize_map(Entries(PhantomData))
}

const DEFAULT_SERVER_NAME: &str = "localhost";
const DEFAULT_DOCUMENT_ROOT: &str = "/var/www/html";
const DEFAULT_MAX_HEAD: u64 = 32 << 10;
const DEFAULT_MAX_BODY: u64 = 1 << 20;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_MAX_CONNECTIONS: usize = 1024;

impl Settings {
    /// The command line merged over `--config`'s file; the message of a usage error
    /// (exit 2): an unreadable file, a TOML error or an unknown key (named, with its
    /// line), a value its flag refuses (named by its key), or no LISTEN.
    pub fn new(args: GatewayArgs) -> Result<Settings, String> {
        let file = match &args.config {
            Some(path) => read(path)?,
            None => File::default(),
        };
        // What the file says, each value through its flag's parser.
        let key = |key: &str, err: String| format!("--config: {key}: {err}");
        let listen = text("listen", file.listen, Addr::parse)?;
        let mut upstreams = file
            .upstreams
            .iter()
            .map(|server| parse_server(server).map_err(|e| key("upstreams", e)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut locations = Vec::new();
        for (prefix, servers) in file.location {
            let flag = format!("{prefix}={}", servers.into_vec().join(","));
            locations.push(parse_location(&flag).map_err(|e| key("location", e))?);
        }
        let mut statics = Vec::new();
        for (prefix, dir) in file.statics {
            statics.push(parse_static(&format!("{prefix}={dir}")).map_err(|e| key("static", e))?);
        }
        let mut params = file.param;
        if params.iter().any(|(name, _)| name.is_empty()) {
            return Err(key("param", "a param with an empty name".to_owned()));
        }
        let max_head = text("max-head", file.max_head, parse_size)?;
        let max_body = text("max-body", file.max_body, parse_size)?;
        let connect_timeout = text("connect-timeout", file.connect_timeout, parse_seconds)?;
        let timeout = text("timeout", file.timeout, parse_seconds)?;
        let send_timeout = text("send-timeout", file.send_timeout, parse_seconds)?;
        let server_names = file.server_name.map(OneOrMany::into_vec);
        if server_names.as_ref().is_some_and(Vec::is_empty) {
            return Err(key("server-name", "no name".to_owned()));
        }
        let workers = args.workers.or(file.workers);
        if workers == Some(0) {
            return Err("--workers: at least 1".to_owned());
        }

        // The command line over the file: repeatable flags after the file's entries.
        upstreams.extend(args.upstreams);
        locations.extend(args.locations);
        statics.extend(args.statics);
        params.extend(args.params);
        let root = args.root.or(file.root);
        // nginx's $document_root is its `root`, less one trailing `/` (as nginx's
        // `root` directive stores it).
        let document_root = args
            .document_root
            .or(file.document_root)
            .or_else(|| {
                let root = root.as_ref()?.display().to_string();
                Some(match root.strip_suffix('/') {
                    Some(stripped) if !stripped.is_empty() => stripped.to_owned(),
                    _ => root,
                })
            })
            .unwrap_or_else(|| DEFAULT_DOCUMENT_ROOT.to_owned());
        let listen = args
            .listen
            .or(listen)
            .ok_or("no LISTEN: give it first on the command line, or `listen` in --config")?;
        let server_name = match args
            .server_names
            .first()
            .or(server_names.iter().flatten().next())
        {
            Some(name) => name.clone(),
            None => DEFAULT_SERVER_NAME.to_owned(),
        };
        Ok(Settings {
            listen,
            upstreams,
            locations,
            statics,
            root,
            params,
            modifier1: args.modifier1.or(file.modifier1).unwrap_or(0),
            server_name,
            document_root,
            max_head: args.max_head.or(max_head).unwrap_or(DEFAULT_MAX_HEAD),
            max_body: args.max_body.or(max_body).unwrap_or(DEFAULT_MAX_BODY),
            connect_timeout: args
                .connect_timeout
                .or(connect_timeout)
                .unwrap_or(DEFAULT_TIMEOUT),
            timeout: args.timeout.or(timeout).unwrap_or(DEFAULT_TIMEOUT),
            send_timeout: args
                .send_timeout
                .or(send_timeout)
                .unwrap_or(DEFAULT_TIMEOUT),
            max_connections: args
                .max_connections
                .or(file.max_connections)
                .unwrap_or(DEFAULT_MAX_CONNECTIONS),
            access_log: args.access_log.or(file.access_log),
            tls_cert: args.tls_cert.or(file.tls_cert),
            tls_key: args.tls_key.or(file.tls_key),
            workers,
            trace: args.trace || file.trace.unwrap_or(false),
        })
    }
}

/// A value of the file through its flag's parser; the error names its key.
fn text<T>(
    key: &str,
    value: Option<Text>,
    parse: fn(&str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    value
        .map(|Text(text)| parse(&text))
        .transpose()
        .map_err(|e| format!("--config: {key}: {e}"))
}

/// The file, parsed; a file larger than any configuration (1 MiB) is refused.
fn read(path: &Path) -> Result<File, String> {
    let name = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("--config {name}: {e}"))?;
    if meta.len() > 1 << 20 {
        return Err(format!("--config {name}: over 1 MiB, not a configuration"));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("--config {name}: {e}"))?;
    toml::from_str(&text).map_err(|e| format!("--config {name}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: GatewayArgs,
    }

    fn settings(toml: &str, command_line: &[&str]) -> Result<Settings, String> {
        let dir = std::env::temp_dir().join(format!("uwsgi-wire-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}.toml", command_line.len() + toml.len()));
        std::fs::write(&path, toml).unwrap();
        let config = format!("--config={}", path.display());
        let argv = ["gateway", &config]
            .into_iter()
            .chain(command_line.iter().copied());
        let result = Settings::new(Cli::try_parse_from(argv).unwrap().args);
        std::fs::remove_file(&path).unwrap();
        result
    }

    #[test]
    fn every_key_is_read_and_the_command_line_wins() {
        let file = r#"
            listen = "127.0.0.1:8080"
            upstreams = ["127.0.0.1:1", "127.0.0.1:2 weight=3"]
            root = "/srv/root"
            server-name = ["a.example", "b.example"]
            document-root = "/srv/doc"
            modifier1 = 5
            max-head = "64K"
            max-body = 1024
            connect-timeout = 0.5
            timeout = "30"
            send-timeout = 10
            max-connections = 10
            access-log = "-"
            tls-cert = "c.pem"
            tls-key = "k.pem"
            workers = 3
            trace = true
            [location]
            "/main" = ["127.0.0.1:3", "127.0.0.1:4 weight=2"]
            "/one" = "unix:/run/one.sock"
            [static]
            "/static/" = "/srv/static/"
            [param]
            Z-First = "$host"
            A-Second = "b"
        "#;
        let s = settings(file, &[]).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.upstreams.len(), 2);
        assert_eq!(s.upstreams[1].weight, 3);
        assert_eq!(s.locations[0].0, "/main");
        assert_eq!(s.locations[0].1[1].weight, 2);
        assert_eq!(s.locations[1].1.len(), 1);
        assert_eq!(
            s.statics,
            [("/static/".into(), PathBuf::from("/srv/static/"))]
        );
        assert_eq!(s.root, Some(PathBuf::from("/srv/root")));
        // The file's order, not the keys'.
        assert_eq!(
            s.params,
            [
                ("Z-First".into(), "$host".into()),
                ("A-Second".into(), "b".into())
            ]
        );
        assert_eq!(s.server_name, "a.example");
        assert_eq!(s.document_root, "/srv/doc");
        assert_eq!((s.modifier1, s.max_head, s.max_body), (5, 64 << 10, 1024));
        assert_eq!(s.connect_timeout, Duration::from_millis(500));
        assert_eq!(s.timeout, Duration::from_secs(30));
        assert_eq!(s.send_timeout, Duration::from_secs(10));
        assert_eq!((s.max_connections, s.workers, s.trace), (10, Some(3), true));
        assert_eq!(s.access_log, Some(PathBuf::from("-")));
        assert_eq!(s.tls_cert, Some(PathBuf::from("c.pem")));
        assert_eq!(s.tls_key, Some(PathBuf::from("k.pem")));

        let s = settings(
            file,
            &[
                "127.0.0.1:9090",
                "127.0.0.1:5",
                "--server-name",
                "c.example",
                "--max-body=2K",
                "--workers=1",
                "--param=X=y",
                "--location=/api=127.0.0.1:6",
            ],
        )
        .unwrap();
        // Replaced.
        assert_eq!(s.listen.to_string(), "127.0.0.1:9090");
        assert_eq!(s.server_name, "c.example");
        assert_eq!((s.max_body, s.workers), (2048, Some(1)));
        // Added after the file's.
        assert_eq!(s.upstreams.len(), 3);
        assert_eq!(s.params.last(), Some(&("X".into(), "y".into())));
        assert_eq!(s.locations.last().map(|l| l.0.as_str()), Some("/api"));
        // Kept.
        assert_eq!(s.max_head, 64 << 10);
    }

    #[test]
    fn the_defaults_without_a_file() {
        let cli = Cli::try_parse_from(["gateway", "127.0.0.1:80"]).unwrap();
        let s = Settings::new(cli.args).unwrap();
        assert_eq!(s.server_name, "localhost");
        assert_eq!(s.document_root, "/var/www/html");
        for root in ["/srv/www", "/srv/www/"] {
            let root = format!("--root={root}");
            let cli = Cli::try_parse_from(["gateway", "127.0.0.1:80", &root]).unwrap();
            assert_eq!(Settings::new(cli.args).unwrap().document_root, "/srv/www");
        }
        assert_eq!((s.max_head, s.max_body), (32 << 10, 1 << 20));
        assert_eq!(s.timeout, Duration::from_secs(60));
        assert_eq!((s.max_connections, s.workers, s.trace), (1024, None, false));
        let cli = Cli::try_parse_from(["gateway"]).unwrap();
        assert!(Settings::new(cli.args).unwrap_err().contains("no LISTEN"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_by_name() {
        let err = settings("listen = \"127.0.0.1:1\"\nworker = 2\n", &[]).unwrap_err();
        assert!(err.contains("unknown field `worker`"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        let err = settings("[tls]\ncert = \"c\"\n", &[]).unwrap_err();
        assert!(err.contains("unknown field `tls`"), "{err}");
        let err = settings("max-body = \"lots\"\n", &[]).unwrap_err();
        assert!(err.contains("max-body: invalid size \"lots\""), "{err}");
        let err = settings("[location]\nmain = \"127.0.0.1:1\"\n", &[]).unwrap_err();
        assert!(
            err.contains("location: ") && err.contains("must start with '/'"),
            "{err}"
        );
        let err = settings("upstreams = [\"127.0.0.1:1 wait=2\"]\n", &[]).unwrap_err();
        assert!(
            err.contains("upstreams: ") && err.contains("weight=N"),
            "{err}"
        );
        let err = settings("workers = 0\nlisten = \"127.0.0.1:1\"\n", &[]).unwrap_err();
        assert!(err.contains("--workers: at least 1"), "{err}");
        let err = settings("timeout = [1]\n", &[]).unwrap_err();
        assert!(err.contains("expected a string or a number"), "{err}");
    }
}
