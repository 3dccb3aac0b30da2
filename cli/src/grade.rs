//! `serve --check`: grades the vars a front end sent (nginx, Apache, lighttpd, a Rust
//! gateway) against what uWSGI and WSGI apps expect, request by request.
//!
//! Pure functions over the parsed vars: [`grade`] returns the findings of one request,
//! [`Tally`] counts them over a run (bounded: one counter per finding id and level).
//! Each finding has a stable `id` (`section/name`), a [`Level`] and a one-line message
//! naming the vars involved. The sources of the rules are in docs/PROTOCOL.md section 6.
//!
//! | id | level | when |
//! |---|---|---|
//! | `params/required` | error | `REQUEST_METHOD`, `REQUEST_URI`, `SERVER_PROTOCOL`, `SERVER_NAME`, `SERVER_PORT` or `REMOTE_ADDR` absent or empty (every front end tested sends them) |
//! | `params/recommended` | warn | `PATH_INFO`, `QUERY_STRING`, `REMOTE_PORT` absent, or `HTTP_HOST` absent on HTTP/1.1 |
//! | `params/optional` | info | `DOCUMENT_ROOT` or `REQUEST_SCHEME` absent (the uWSGI router sends neither) |
//! | `params/port` | warn | `SERVER_PORT` or `REMOTE_PORT` not a decimal port |
//! | `vars/duplicate` | warn (error for two different `CONTENT_LENGTH`s) | a key sent more than once: uWSGI's environ keeps the last |
//! | `vars/cookie-comma` | warn | `HTTP_COOKIE` holds a `,`: repeated Cookie headers joined with `, ` |
//! | `block/buffer-size` | warn | the block is over uWSGI's default `buffer-size` (4096): "invalid request block size" |
//! | `block/max-vars` | warn | more than 128 vars: uWSGI's default limit |
//! | `path/mismatch` | warn | `SCRIPT_NAME` + `PATH_INFO` is not `REQUEST_URI`'s decoded path |
//! | `path/not-decoded` | warn | ... it is the path still percent-encoded |
//! | `path/normalized` | info | ... it is the decoded path with `//`, `.` and `..` resolved |
//! | `path/script-name` | warn | `SCRIPT_NAME` not empty: the app is mounted there |
//! | `path/query-mismatch` | warn | `QUERY_STRING` is not `REQUEST_URI`'s query |
//! | `body/unframed` | error | `HTTP_TRANSFER_ENCODING` or `HTTP_CONTENT_LENGTH` without a `CONTENT_LENGTH`: a body not framed |
//! | `body/transfer-encoding` | warn | `HTTP_TRANSFER_ENCODING` forwarded beside a `CONTENT_LENGTH` |
//! | `body/length-differs` | warn | `HTTP_CONTENT_LENGTH` is not `CONTENT_LENGTH` |
//! | `body/no-length` | warn | a POST, PUT or PATCH without `CONTENT_LENGTH` |

use std::collections::BTreeMap;
use std::fmt;

use uwsgi_wire::Vars;

/// uWSGI's default `buffer-size`: the largest request block it reads.
pub const UWSGI_BUFFER_SIZE: usize = 4096;
/// uWSGI's default limit on the number of vars in a request.
pub const UWSGI_MAX_VARS: usize = 128;

/// Sent by every front end tested (nginx, Apache, lighttpd, the uWSGI router, the
/// gateway), and needed by WSGI (PEP 3333) or uWSGI's own log line.
pub const REQUIRED: [&str; 6] = [
    "REQUEST_METHOD",
    "REQUEST_URI",
    "SERVER_PROTOCOL",
    "SERVER_NAME",
    "SERVER_PORT",
    "REMOTE_ADDR",
];
/// Sent by most front ends; apps read them.
pub const RECOMMENDED: [&str; 3] = ["PATH_INFO", "QUERY_STRING", "REMOTE_PORT"];
/// In `uwsgi_params`, not needed by uWSGI.
pub const OPTIONAL: [&str; 2] = ["DOCUMENT_ROOT", "REQUEST_SCHEME"];

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// A known, harmless difference worth knowing.
    Info,
    /// Works with uWSGI's defaults only in part, or misleads some apps.
    Warn,
    /// uWSGI or a WSGI app cannot read the request as the client sent it.
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing the grader found in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub id: &'static str,
    pub level: Level,
    pub message: String,
}

impl Finding {
    fn new(id: &'static str, level: Level, message: String) -> Finding {
        Finding { id, level, message }
    }
}

/// The worst level among `findings`, `None` when there are none.
pub fn worst(findings: &[Finding]) -> Option<Level> {
    findings.iter().map(|f| f.level).max()
}

/// The JSON `serve --check` adds to its answer: `"grade"` (`ok`, `info`, `warn` or
/// `error`: the worst finding) and `"findings"` (`[{"id", "level", "message"}]`).
pub fn to_json(findings: &[Finding]) -> [(String, serde_json::Value); 2] {
    let grade = worst(findings).map_or("ok", Level::as_str);
    let list = findings
        .iter()
        .map(|f| serde_json::json!({ "id": f.id, "level": f.level.as_str(), "message": f.message }))
        .collect();
    [
        ("grade".into(), grade.into()),
        ("findings".into(), serde_json::Value::Array(list)),
    ]
}

/// `METHOD URI PROTOCOL` from the vars (`-` for an absent one), escaped for a log line.
pub fn request_line(vars: &Vars<'_>) -> String {
    let get = |k: &str| {
        vars.get(k.as_bytes())
            .map_or_else(|| "-".to_owned(), |v| show(v, 200))
    };
    format!(
        "{} {} {}",
        get("REQUEST_METHOD"),
        get("REQUEST_URI"),
        get("SERVER_PROTOCOL")
    )
}

/// Grades one request's vars. Never panics; the work is linear in the block (plus a
/// sort of the keys for the duplicates).
pub fn grade(vars: &Vars<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    params(vars, &mut out);
    duplicates(vars, &mut out);
    block(vars, &mut out);
    path(vars, &mut out);
    body(vars, &mut out);
    out
}

fn params(vars: &Vars<'_>, out: &mut Vec<Finding>) {
    for name in REQUIRED {
        match vars.get(name.as_bytes()) {
            None => out.push(Finding::new(
                "params/required",
                Level::Error,
                format!("{name} absent: every front end tested sends it (nginx's uwsgi_params, Apache, lighttpd, the uWSGI router)"),
            )),
            Some([]) => out.push(Finding::new(
                "params/required",
                Level::Error,
                format!("{name} is empty"),
            )),
            Some(_) => {}
        }
    }
    for name in RECOMMENDED {
        if vars.get(name.as_bytes()).is_none() {
            let why = match name {
                "PATH_INFO" => "apps route on it (Django, Flask); nginx, Apache and the uWSGI router always send it, lighttpd not for a one-segment path",
                "QUERY_STRING" => "every front end tested sends it, empty when there is no query",
                _ => "every front end tested sends it (the client's port)",
            };
            out.push(Finding::new(
                "params/recommended",
                Level::Warn,
                format!("{name} absent: {why}"),
            ));
        }
    }
    let http11 = vars.get(b"SERVER_PROTOCOL") == Some(b"HTTP/1.1");
    if http11 && vars.get(b"HTTP_HOST").is_none() {
        out.push(Finding::new(
            "params/recommended",
            Level::Warn,
            "HTTP_HOST absent on an HTTP/1.1 request: apps build URLs and check ALLOWED_HOSTS from it".into(),
        ));
    }
    for name in OPTIONAL {
        if vars.get(name.as_bytes()).is_none() {
            out.push(Finding::new(
                "params/optional",
                Level::Info,
                format!("{name} absent (in nginx's uwsgi_params; uWSGI does not need it)"),
            ));
        }
    }
    for name in ["SERVER_PORT", "REMOTE_PORT"] {
        if let Some(v) = vars.get(name.as_bytes()) {
            if !v.is_empty() && !is_port(v) {
                out.push(Finding::new(
                    "params/port",
                    Level::Warn,
                    format!("{name}={} is not a port number", show(v, 64)),
                ));
            }
        }
    }
}

fn is_port(v: &[u8]) -> bool {
    v.len() <= 5
        && v.iter().all(u8::is_ascii_digit)
        && std::str::from_utf8(v).is_ok_and(|s| s.parse::<u16>().is_ok())
}

fn duplicates(vars: &Vars<'_>, out: &mut Vec<Finding>) {
    // Keys in first-appearance order with their values, in one pass (a block of
    // thousands of repeated keys stays linear).
    let mut first: BTreeMap<&[u8], (usize, Vec<&[u8]>)> = BTreeMap::new();
    for (i, (k, v)) in vars.iter().enumerate() {
        first.entry(k).or_insert((i, Vec::new())).1.push(v);
    }
    let mut dups: Vec<_> = first
        .into_iter()
        .filter(|(_, (_, values))| values.len() > 1)
        .map(|(k, (i, values))| (i, k, values))
        .collect();
    dups.sort_unstable();
    for (_, key, values) in dups {
        let n = values.len();
        let last = values.last().copied().unwrap_or_default();
        let all_same = values.iter().all(|v| *v == last);
        let name = show(key, 64);
        if key == b"CONTENT_LENGTH" && !all_same {
            out.push(Finding::new(
                "vars/duplicate",
                Level::Error,
                format!("CONTENT_LENGTH sent {n} times with different values: uWSGI frames the body by the last, a proxy may by the first (request smuggling)"),
            ));
            continue;
        }
        let shown: Vec<String> = values.iter().take(4).map(|v| show(v, 40)).collect();
        let more = if values.len() > 4 { ", ..." } else { "" };
        let join = if key == b"HTTP_COOKIE" { "; " } else { ", " };
        let message = if all_same {
            format!(
                "{name} sent {n} times, each {}: uWSGI's environ keeps one",
                show(last, 40)
            )
        } else {
            format!(
                "{name} sent {n} times ({}{more}): uWSGI's environ keeps only the last, {}; the others are lost unless the front end joins them (with {join:?}), as Apache and lighttpd do and nginx 1.22 does not",
                shown.join(" | "),
                show(last, 40)
            )
        };
        out.push(Finding::new("vars/duplicate", Level::Warn, message));
    }
    if let Some(cookie) = vars.get(b"HTTP_COOKIE") {
        if cookie.contains(&b',') {
            out.push(Finding::new(
                "vars/cookie-comma",
                Level::Warn,
                format!(
                    "HTTP_COOKIE={} holds a ',': repeated Cookie headers joined with ', ' (Apache does this); cookies are separated by '; ' (RFC 6265 5.4), so a parser reads one cookie where the client sent several",
                    show(cookie, 60)
                ),
            ));
        }
    }
}

fn block(vars: &Vars<'_>, out: &mut Vec<Finding>) {
    let size: usize = vars.iter().map(|(k, v)| 4 + k.len() + v.len()).sum();
    if size > UWSGI_BUFFER_SIZE {
        let mut big: Vec<(usize, &[u8])> = vars
            .iter()
            .map(|(k, v)| (4 + k.len() + v.len(), k))
            .collect();
        big.sort_by_key(|b| std::cmp::Reverse(b.0));
        // The largest vars, until the rest would fit (at most 5 named).
        let mut rest = size;
        let mut names: Vec<String> = Vec::new();
        for (n, k) in &big {
            if rest <= UWSGI_BUFFER_SIZE {
                break;
            }
            if names.len() == 5 {
                names.push("...".into());
                break;
            }
            rest -= n;
            names.push(format!("{} ({n} bytes)", show(k, 64)));
        }
        out.push(Finding::new(
            "block/buffer-size",
            Level::Warn,
            format!(
                "block of {size} bytes is over uWSGI's default buffer-size of {UWSGI_BUFFER_SIZE}: uWSGI logs \"invalid request block size: {size} (max {UWSGI_BUFFER_SIZE})...skip request\" and closes; the largest vars: {}; start uWSGI with --buffer-size {} or more",
                names.join(", "),
                size.next_power_of_two().max(8192)
            ),
        ));
    }
    let n = vars.len();
    if n > UWSGI_MAX_VARS {
        out.push(Finding::new(
            "block/max-vars",
            Level::Warn,
            format!(
                "{n} vars: uWSGI reads at most {UWSGI_MAX_VARS} by default (--max-vars) and closes"
            ),
        ));
    }
}

fn path(vars: &Vars<'_>, out: &mut Vec<Finding>) {
    let Some(uri) = vars.get(b"REQUEST_URI") else {
        return;
    };
    let (raw_path, query) = match uri.iter().position(|&b| b == b'?') {
        Some(at) => (&uri[..at], Some(&uri[at + 1..])),
        None => (uri, None),
    };
    if let Some(qs) = vars.get(b"QUERY_STRING") {
        if qs != query.unwrap_or_default() {
            out.push(Finding::new(
                "path/query-mismatch",
                Level::Warn,
                format!(
                    "QUERY_STRING={} is not REQUEST_URI's query {}",
                    show(qs, 80),
                    show(query.unwrap_or_default(), 80)
                ),
            ));
        }
    }
    let script = vars.get(b"SCRIPT_NAME");
    let info = vars.get(b"PATH_INFO");
    if (script.is_none() && info.is_none()) || !raw_path.starts_with(b"/") {
        return;
    }
    let script = script.unwrap_or_default();
    let info = info.unwrap_or_default();
    let mut joined = Vec::with_capacity(script.len() + info.len());
    joined.extend_from_slice(script);
    joined.extend_from_slice(info);
    let decoded = percent_decode(raw_path);
    let both = format!(
        "SCRIPT_NAME + PATH_INFO = {:?} + {:?}",
        show(script, 80),
        show(info, 80)
    );
    if joined != decoded {
        if joined == normalize(&decoded) {
            out.push(Finding::new(
                "path/normalized",
                Level::Info,
                format!(
                    "{both} is REQUEST_URI's decoded path {} with '//', '.' and '..' resolved (nginx does this)",
                    show(&decoded, 80)
                ),
            ));
        } else if joined == raw_path {
            out.push(Finding::new(
                "path/not-decoded",
                Level::Warn,
                format!(
                    "{both} is REQUEST_URI's path still percent-encoded; CGI and WSGI expect it decoded: {}",
                    show(&decoded, 80)
                ),
            ));
        } else {
            out.push(Finding::new(
                "path/mismatch",
                Level::Warn,
                format!(
                    "{both} is not REQUEST_URI's decoded path {}",
                    show(&decoded, 80)
                ),
            ));
        }
    }
    if !script.is_empty() {
        out.push(Finding::new(
            "path/script-name",
            Level::Warn,
            format!(
                "SCRIPT_NAME={} is not empty: a WSGI app takes it as its mount point and routes PATH_INFO={}; lighttpd mounted at \"/\" splits the first segment off so (its \"fix-root-scriptname\" => \"enable\" keeps SCRIPT_NAME empty)",
                show(script, 80),
                if info.is_empty() {
                    "\"\" (the app's root)".to_owned()
                } else {
                    show(info, 80)
                }
            ),
        ));
    }
}

fn body(vars: &Vars<'_>, out: &mut Vec<Finding>) {
    let length = vars.get(b"CONTENT_LENGTH").filter(|v| !v.is_empty());
    let te = vars.get(b"HTTP_TRANSFER_ENCODING");
    let client_length = vars.get(b"HTTP_CONTENT_LENGTH");
    if let Some(te) = te {
        if length.is_none() {
            out.push(Finding::new(
                "body/unframed",
                Level::Error,
                format!(
                    "HTTP_TRANSFER_ENCODING={} and no CONTENT_LENGTH: the client's body is not framed (the uWSGI router's chunked input); uWSGI reads no body, and any bytes sent after the packet as the next one",
                    show(te, 40)
                ),
            ));
        } else {
            out.push(Finding::new(
                "body/transfer-encoding",
                Level::Warn,
                format!(
                    "HTTP_TRANSFER_ENCODING={} forwarded beside CONTENT_LENGTH={} (nginx de-chunks and keeps the header): the body is framed by CONTENT_LENGTH, but an app that honours the header reads wsgi.input as chunked or to its end",
                    show(te, 40),
                    show(length.unwrap_or_default(), 20)
                ),
            ));
        }
    }
    if let Some(client) = client_length {
        match length {
            None if te.is_none() => out.push(Finding::new(
                "body/unframed",
                Level::Error,
                format!(
                    "the client sent Content-Length: {} (HTTP_CONTENT_LENGTH) but there is no CONTENT_LENGTH: the body is not framed",
                    show(client, 20)
                ),
            )),
            Some(length) if length != client => out.push(Finding::new(
                "body/length-differs",
                Level::Warn,
                format!(
                    "HTTP_CONTENT_LENGTH={} is not CONTENT_LENGTH={}: the body is framed by CONTENT_LENGTH, an app reading the header reads another length",
                    show(client, 20),
                    show(length, 20)
                ),
            )),
            _ => {}
        }
    }
    let method = vars.get(b"REQUEST_METHOD").unwrap_or_default();
    let wants_body = matches!(method, b"POST" | b"PUT" | b"PATCH");
    if wants_body && length.is_none() && te.is_none() && client_length.is_none() {
        out.push(Finding::new(
            "body/no-length",
            Level::Warn,
            format!(
                "a {} without CONTENT_LENGTH: uWSGI reads no body; if the client sent one, it was not forwarded",
                show(method, 20)
            ),
        ));
    }
}

/// `%XX` decoded; an invalid escape is kept as it is.
pub fn percent_decode(raw: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' && i + 2 < raw.len() {
            if let (Some(h), Some(l)) = (hex(raw[i + 1]), hex(raw[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

/// A path with empty segments merged and `.` / `..` resolved (nginx's `merge_slashes`
/// and its dot-segment handling); `..` above the root stays at the root.
pub fn normalize(path: &[u8]) -> Vec<u8> {
    let mut segments: Vec<&[u8]> = Vec::new();
    for segment in path.split(|&b| b == b'/') {
        match segment {
            b"" | b"." => {}
            b".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = Vec::with_capacity(path.len());
    for s in &segments {
        out.push(b'/');
        out.extend_from_slice(s);
    }
    let trailing = path.ends_with(b"/") || path.ends_with(b"/.") || path.ends_with(b"/..");
    if out.is_empty() || trailing {
        out.push(b'/');
    }
    out
}

/// Bytes for a message: escaped (`\xe9`, `\n`), cut at `max` bytes with `...`.
fn show(bytes: &[u8], max: usize) -> String {
    let cut = &bytes[..bytes.len().min(max)];
    let mut s = cut.escape_ascii().to_string();
    if bytes.len() > max {
        s.push_str("...");
    }
    s
}

/// The findings of a run, counted per level and id: bounded by the number of ids.
#[derive(Debug, Default)]
pub struct Tally {
    requests: u64,
    clean: u64,
    counts: BTreeMap<(Level, &'static str), u64>,
}

impl Tally {
    /// Adds one graded request.
    pub fn add(&mut self, findings: &[Finding]) {
        self.requests += 1;
        if findings.is_empty() {
            self.clean += 1;
        }
        for f in findings {
            *self.counts.entry((f.level, f.id)).or_insert(0) += 1;
        }
    }

    /// How many findings of `level` were counted.
    pub fn count(&self, level: Level) -> u64 {
        self.counts
            .iter()
            .filter(|((l, _), _)| *l == level)
            .map(|(_, n)| n)
            .sum()
    }

    /// The summary lines: `check summary: N requests, C without findings, E errors, W
    /// warnings, I info`, then one line per id, worst first: `check summary: warn
    /// vars/duplicate x2`.
    pub fn summary(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "check summary: {} requests, {} without findings, {} errors, {} warnings, {} info",
            self.requests,
            self.clean,
            self.count(Level::Error),
            self.count(Level::Warn),
            self.count(Level::Info)
        )];
        for ((level, id), n) in self.counts.iter().rev() {
            lines.push(format!("check summary: {level} {id} x{n}"));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uwsgi_wire::{Limits, VarsBuilder};

    fn grade_pairs(pairs: &[(&str, &str)]) -> Vec<Finding> {
        let mut b = VarsBuilder::default();
        for (k, v) in pairs {
            b.push(k, v).expect("push");
        }
        grade(&b.vars())
    }

    fn ids(findings: &[Finding]) -> Vec<(&'static str, Level)> {
        findings.iter().map(|f| (f.id, f.level)).collect()
    }

    /// nginx 1.22's GET with Debian's uwsgi_params (tests/vectors/nginx-get.bin).
    const NGINX_GET: [(&str, &str); 16] = [
        ("QUERY_STRING", "a=1&b=2"),
        ("REQUEST_METHOD", "GET"),
        ("CONTENT_TYPE", ""),
        ("CONTENT_LENGTH", ""),
        ("REQUEST_URI", "/path/x?a=1&b=2"),
        ("PATH_INFO", "/path/x"),
        ("DOCUMENT_ROOT", "/var/www/html"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("REQUEST_SCHEME", "http"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("REMOTE_PORT", "36746"),
        ("SERVER_PORT", "37941"),
        ("SERVER_NAME", "localhost"),
        ("HTTP_HOST", "127.0.0.1"),
        ("HTTP_USER_AGENT", "uwsgi-wire-capture"),
        ("HTTP_ACCEPT", "*/*"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut v = NGINX_GET.to_vec();
        v.extend_from_slice(extra);
        v
    }

    #[test]
    fn nginx_get_has_no_findings() {
        assert_eq!(grade_pairs(&NGINX_GET), vec![]);
    }

    #[test]
    fn missing_params_by_tier() {
        let f = grade_pairs(&[("REQUEST_METHOD", "GET"), ("PATH_INFO", "/")]);
        let required: Vec<_> = f.iter().filter(|f| f.id == "params/required").collect();
        assert_eq!(required.len(), 5, "{f:#?}");
        assert!(required.iter().all(|f| f.level == Level::Error));
        assert!(f
            .iter()
            .any(|f| f.id == "params/recommended" && f.message.starts_with("QUERY_STRING absent")));
        assert!(f
            .iter()
            .any(|f| f.id == "params/optional" && f.message.starts_with("DOCUMENT_ROOT")));
        assert_eq!(worst(&f), Some(Level::Error));
        // An empty required var is as bad as an absent one.
        let mut v = with(&[]);
        v[1].1 = "";
        let f = grade_pairs(&v);
        assert_eq!(ids(&f), [("params/required", Level::Error)]);
        assert_eq!(f[0].message, "REQUEST_METHOD is empty");
    }

    #[test]
    fn host_is_recommended_on_http_1_1_only() {
        let v: Vec<_> = NGINX_GET
            .iter()
            .copied()
            .filter(|(k, _)| *k != "HTTP_HOST")
            .collect();
        assert_eq!(ids(&grade_pairs(&v)), [("params/recommended", Level::Warn)]);
        let mut v = v;
        v[7].1 = "HTTP/1.0";
        assert_eq!(grade_pairs(&v), vec![]);
    }

    #[test]
    fn ports_must_be_numbers() {
        let mut v = with(&[]);
        v[10].1 = "99999";
        let f = grade_pairs(&v);
        assert_eq!(ids(&f), [("params/port", Level::Warn)]);
        assert_eq!(f[0].message, "REMOTE_PORT=99999 is not a port number");
    }

    #[test]
    fn duplicates_repeated_and_merged() {
        // nginx 1.22: one var per header line.
        let f = grade_pairs(&with(&[
            ("HTTP_COOKIE", "a=1"),
            ("HTTP_X_DUP", "one"),
            ("HTTP_COOKIE", "b=2"),
            ("HTTP_X_DUP", "two"),
            ("HTTP_X_DUP", "three"),
        ]));
        assert_eq!(
            ids(&f),
            [
                ("vars/duplicate", Level::Warn),
                ("vars/duplicate", Level::Warn)
            ]
        );
        assert!(
            f[0].message.starts_with(
                "HTTP_COOKIE sent 2 times (a=1 | b=2): uWSGI's environ keeps only the last, b=2"
            ),
            "{}",
            f[0].message
        );
        assert!(f[0].message.contains("\"; \""));
        assert!(f[1]
            .message
            .starts_with("HTTP_X_DUP sent 3 times (one | two | three)"));
        // Apache: merged with ", ", Cookie too.
        let f = grade_pairs(&with(&[
            ("HTTP_COOKIE", "a=1, b=2"),
            ("HTTP_X_DUP", "one, two"),
        ]));
        assert_eq!(ids(&f), [("vars/cookie-comma", Level::Warn)]);
        // lighttpd: "; " for Cookie: nothing to say.
        assert_eq!(grade_pairs(&with(&[("HTTP_COOKIE", "a=1; b=2")])), vec![]);
        // The same value twice.
        let f = grade_pairs(&with(&[("X_A", "v"), ("X_A", "v")]));
        assert_eq!(
            f[0].message,
            "X_A sent 2 times, each v: uWSGI's environ keeps one"
        );
    }

    #[test]
    fn conflicting_content_lengths_are_an_error() {
        let mut v = with(&[("CONTENT_LENGTH", "5")]);
        v[3].1 = "3";
        let f = grade_pairs(&v);
        assert!(
            f.iter()
                .any(|f| f.id == "vars/duplicate" && f.level == Level::Error),
            "{f:#?}"
        );
    }

    #[test]
    fn a_block_over_4096_names_its_biggest_vars() {
        let long = "x".repeat(5000);
        let mut b = VarsBuilder::default();
        for (k, v) in NGINX_GET {
            b.push(k, v).unwrap();
        }
        b.push("HTTP_X_LONG", &long).unwrap();
        let vars = b.vars();
        let f = grade(&vars);
        assert_eq!(ids(&f), [("block/buffer-size", Level::Warn)]);
        let size = vars
            .iter()
            .map(|(k, v)| 4 + k.len() + v.len())
            .sum::<usize>();
        assert!(size > 5000);
        let msg = &f[0].message;
        assert!(
            msg.starts_with(&format!(
                "block of {size} bytes is over uWSGI's default buffer-size of 4096"
            )),
            "{msg}"
        );
        assert!(
            msg.contains("the largest vars: HTTP_X_LONG (5015 bytes); "),
            "{msg}"
        );
        // Many mid-sized vars: named until the rest fits, at most 5.
        let mut b = VarsBuilder::default();
        for i in 0..10 {
            b.push(format!("HTTP_X_{i}"), "y".repeat(1000 + i)).unwrap();
        }
        let f = grade(&b.vars());
        let msg = &f
            .iter()
            .find(|f| f.id == "block/buffer-size")
            .unwrap()
            .message;
        assert!(msg.contains("the largest vars: HTTP_X_9 (1021 bytes), HTTP_X_8 (1020 bytes), HTTP_X_7 (1019 bytes), HTTP_X_6 (1018 bytes), HTTP_X_5 (1017 bytes), ...;"), "{msg}");
        let mut b = VarsBuilder::default();
        for i in 0..5 {
            b.push(format!("HTTP_X_{i}"), "y".repeat(1000)).unwrap();
        }
        let f = grade(&b.vars());
        let msg = &f
            .iter()
            .find(|f| f.id == "block/buffer-size")
            .unwrap()
            .message;
        assert!(
            msg.contains("the largest vars: HTTP_X_0 (1012 bytes); "),
            "{msg}"
        );
        assert!(msg.contains("--buffer-size 8192"), "{msg}");
        // 4096 exactly is fine.
        let mut b = VarsBuilder::default();
        b.push("K", "v".repeat(4096 - 5)).unwrap();
        assert!(!grade(&b.vars()).iter().any(|f| f.id == "block/buffer-size"));
    }

    #[test]
    fn more_than_128_vars() {
        let mut b = VarsBuilder::default();
        for (k, v) in NGINX_GET {
            b.push(k, v).unwrap();
        }
        for i in 0..113 {
            b.push(format!("X_{i}"), "").unwrap();
        }
        assert_eq!(ids(&grade(&b.vars())), [("block/max-vars", Level::Warn)]);
    }

    #[test]
    fn lighttpd_splits_script_name_and_path_info() {
        let base = [
            ("REQUEST_METHOD", "GET"),
            ("SERVER_PROTOCOL", "HTTP/1.1"),
            ("SERVER_NAME", "127.0.0.1"),
            ("SERVER_PORT", "80"),
            ("REMOTE_ADDR", "127.0.0.1"),
            ("REMOTE_PORT", "5000"),
            ("HTTP_HOST", "h"),
            ("DOCUMENT_ROOT", "/d"),
            ("REQUEST_SCHEME", "http"),
        ];
        let mut v = base.to_vec();
        v.extend([
            ("REQUEST_URI", "/path/x?a=1"),
            ("QUERY_STRING", "a=1"),
            ("SCRIPT_NAME", "/path"),
            ("PATH_INFO", "/x"),
        ]);
        let f = grade_pairs(&v);
        assert_eq!(ids(&f), [("path/script-name", Level::Warn)]);
        assert!(f[0].message.starts_with("SCRIPT_NAME=/path is not empty: a WSGI app takes it as its mount point and routes PATH_INFO=/x"));
        // One segment: no PATH_INFO at all.
        let mut v = base.to_vec();
        v.extend([
            ("REQUEST_URI", "/post"),
            ("QUERY_STRING", ""),
            ("SCRIPT_NAME", "/post"),
        ]);
        assert_eq!(
            ids(&grade_pairs(&v)),
            [
                ("params/recommended", Level::Warn),
                ("path/script-name", Level::Warn)
            ]
        );
    }

    #[test]
    fn path_info_is_the_decoded_path() {
        let mut v = with(&[]);
        v[4].1 = "/caf%C3%A9/a%20b?a=1&b=2";
        v[5].1 = "/caf\u{e9}/a b";
        assert_eq!(grade_pairs(&v), vec![]);
        v[5].1 = "/caf%C3%A9/a%20b";
        assert_eq!(ids(&grade_pairs(&v)), [("path/not-decoded", Level::Warn)]);
        v[5].1 = "/other";
        let f = grade_pairs(&v);
        assert_eq!(ids(&f), [("path/mismatch", Level::Warn)]);
        assert_eq!(f[0].message, "SCRIPT_NAME + PATH_INFO = \"\" + \"/other\" is not REQUEST_URI's decoded path /caf\\xc3\\xa9/a b");
        v[4].1 = "/a//b/./c/../d?a=1&b=2";
        v[5].1 = "/a/b/d";
        assert_eq!(ids(&grade_pairs(&v)), [("path/normalized", Level::Info)]);
        // Apache: SCRIPT_NAME "" and PATH_INFO the whole path.
        assert_eq!(grade_pairs(&with(&[("SCRIPT_NAME", "")])), vec![]);
    }

    #[test]
    fn query_string_against_request_uri() {
        let mut v = with(&[]);
        v[0].1 = "a=2";
        assert_eq!(
            ids(&grade_pairs(&v)),
            [("path/query-mismatch", Level::Warn)]
        );
        v[0].1 = "";
        v[4].1 = "/path/x";
        assert_eq!(grade_pairs(&v), vec![]);
    }

    #[test]
    fn bodies_and_their_framing() {
        let mut post = with(&[]);
        post[1].1 = "POST";
        // nginx's chunked POST: de-chunked, CONTENT_LENGTH set, the header forwarded.
        let mut v = post.clone();
        v[3].1 = "32";
        v.push(("HTTP_TRANSFER_ENCODING", "chunked"));
        assert_eq!(
            ids(&grade_pairs(&v)),
            [("body/transfer-encoding", Level::Warn)]
        );
        // The uWSGI router's chunked POST: no CONTENT_LENGTH at all.
        let mut v: Vec<_> = post
            .iter()
            .copied()
            .filter(|(k, _)| *k != "CONTENT_LENGTH")
            .collect();
        v.push(("HTTP_TRANSFER_ENCODING", "chunked"));
        assert_eq!(ids(&grade_pairs(&v)), [("body/unframed", Level::Error)]);
        // A Content-Length the client sent and no CONTENT_LENGTH.
        let mut v = post.clone();
        v.push(("HTTP_CONTENT_LENGTH", "11"));
        assert_eq!(ids(&grade_pairs(&v)), [("body/unframed", Level::Error)]);
        // Two lengths that differ.
        let mut v = post.clone();
        v[3].1 = "11";
        v.push(("HTTP_CONTENT_LENGTH", "12"));
        assert_eq!(
            ids(&grade_pairs(&v)),
            [("body/length-differs", Level::Warn)]
        );
        v.pop();
        v.push(("HTTP_CONTENT_LENGTH", "11"));
        assert_eq!(grade_pairs(&v), vec![]);
        // A POST with nothing.
        assert_eq!(ids(&grade_pairs(&post)), [("body/no-length", Level::Warn)]);
    }

    #[test]
    fn helpers() {
        assert_eq!(percent_decode(b"/a%2fb%zz%4"), b"/a/b%zz%4");
        assert_eq!(percent_decode(b"%"), b"%");
        assert_eq!(percent_decode(b"%41"), b"A");
        assert_eq!(normalize(b"/a//b/./../c/"), b"/a/c/");
        assert_eq!(normalize(b"/../.."), b"/");
        assert_eq!(normalize(b""), b"/");
        assert_eq!(show(b"caf\xe9\n", 3), "caf...");
        assert_eq!(show(b"caf\xe9\n", 9), "caf\\xe9\\n");
    }

    #[test]
    fn tally_counts_and_summarises() {
        let mut t = Tally::default();
        t.add(&[]);
        t.add(&grade_pairs(&with(&[("X", "1"), ("X", "2")])));
        t.add(&grade_pairs(&[("PATH_INFO", "/")]));
        let s = t.summary();
        assert!(
            s[0].starts_with(
                "check summary: 3 requests, 1 without findings, 6 errors, 3 warnings, 2 info"
            ),
            "{s:?}"
        );
        assert_eq!(s[1], "check summary: error params/required x6");
        assert!(s.contains(&"check summary: warn vars/duplicate x1".to_owned()));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // Every short block that parses is graded without a panic.
        let mut seed = 0x2545_f491_u32;
        for _ in 0..20_000 {
            let mut block = Vec::new();
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let pairs = seed % 6;
            for _ in 0..pairs {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let pick = [
                    "REQUEST_URI",
                    "PATH_INFO",
                    "SCRIPT_NAME",
                    "QUERY_STRING",
                    "CONTENT_LENGTH",
                    "HTTP_COOKIE",
                    "HTTP_TRANSFER_ENCODING",
                    "REQUEST_METHOD",
                    "%",
                ][(seed >> 8) as usize % 9];
                let value: Vec<u8> = (0..(seed >> 20) % 7)
                    .map(|i| b"/%?.,a\xff"[(i as usize + seed as usize) % 7])
                    .collect();
                block.extend_from_slice(&(pick.len() as u16).to_le_bytes());
                block.extend_from_slice(pick.as_bytes());
                block.extend_from_slice(&(value.len() as u16).to_le_bytes());
                block.extend_from_slice(&value);
            }
            if let Ok(vars) = Vars::parse(&block, &Limits::new()) {
                let _ = grade(&vars);
                let _ = request_line(&vars);
            }
        }
    }
}
