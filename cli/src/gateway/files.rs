//! `--static PREFIX=DIR` (nginx's `alias`) and `--root DIR`: files as nginx's static
//! module serves them, with every file call (open, fstat, read) made on the runtime's
//! own thread as nginx makes them (without `aio`): a page-cache read does not block, and
//! a trip to tokio's blocking pool per call (tower-http's `ServeDir`) cost seven times
//! nginx's CPU for a 1 KiB file. The HTTP semantics (`Range`, multiple ranges,
//! `If-Match`, `If-Unmodified-Since`, HEAD, 405) are http-serve's `serve`, over a
//! [`File`] entity; on top of it what nginx does differently: its `ETag`, its
//! `If-None-Match` and exact `If-Modified-Since` (`if_modified_since exact`; http-serve
//! answers 304 for any later date and ignores the date beside an entity tag), its
//! `If-Range` with a date (which http-serve never honours), its range parser (416 for
//! a bad `Range`, which http-serve ignores), `index.html` for a directory, 403 for one
//! without it, and a 301 for a directory without its `/`.

use std::cell::RefCell;
use std::convert::Infallible;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{
    ACCEPT_RANGES, ALLOW, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, DATE, ETAG, IF_MATCH,
    IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, LAST_MODIFIED, LOCATION,
    RANGE,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;

use super::{answer, Body};

/// The most bytes read from a file at once, on the runtime's thread: a 1 KiB file is one
/// read, a large one is streamed 256 KiB per poll of its body (read when hyper asks for
/// more, so a response holds at most one chunk and hyper's write buffer).
const CHUNK: u64 = 256 * 1024;

/// One directory of files, served under a prefix (`--static`) or for every path
/// (`--root`, the empty prefix).
pub struct Files {
    prefix: String,
    dir: PathBuf,
}

impl Files {
    /// Fails (a usage error's message) when `dir` is not a directory.
    pub fn new(prefix: &str, dir: &Path) -> Result<Files, String> {
        if !dir.is_dir() {
            return Err(format!("{}: not a directory", dir.display()));
        }
        Ok(Files {
            prefix: prefix.to_owned(),
            dir: dir.to_owned(),
        })
    }

    /// Answers `request` with the file for `path`, its normalized path (nginx's `$uri`:
    /// decoded, no `.` or `..` segment, so that what follows the prefix names a file
    /// under the directory and nothing above it).
    pub fn serve<B>(&self, request: &Request<B>, path: &[u8]) -> Response<Body> {
        // As nginx's alias: the prefix replaced by the directory.
        let rest = path.get(self.prefix.len()..).unwrap_or_default();
        let rest = rest.strip_prefix(b"/").unwrap_or(rest);
        let Some(rest) = relative(rest) else {
            return answer(StatusCode::NOT_FOUND);
        };
        let index = path.ends_with(b"/") || path.is_empty();
        // Made in a buffer of its final size: `join` and then `push` copied it twice.
        let room = self.dir.as_os_str().len() + rest.as_os_str().len() + "/index.html".len();
        let mut target = PathBuf::with_capacity(room);
        target.push(&self.dir);
        target.push(rest);
        if index {
            target.push("index.html");
        }
        let file = match File::open(&target) {
            Ok(file) => file,
            // nginx's answers: a missing file (or a file where a directory was named) is
            // 404, one it may not read 403.
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                // A directory without its index.html: nginx's 403, its listing off.
                let listing = index && target.parent().is_some_and(Path::is_dir);
                return answer(if listing {
                    StatusCode::FORBIDDEN
                } else {
                    StatusCode::NOT_FOUND
                });
            }
            Err(err) if err.kind() == io::ErrorKind::PermissionDenied => {
                return answer(StatusCode::FORBIDDEN)
            }
            Err(err) => {
                tracing::error!(file = %target.display(), "static file: {err}");
                return answer(StatusCode::INTERNAL_SERVER_ERROR);
            }
        };
        if file.directory {
            if index {
                // A directory named index.html: nginx's 403 too.
                return answer(StatusCode::FORBIDDEN);
            }
            return redirect_to_directory(request);
        }
        if !file.regular {
            return answer(StatusCode::NOT_FOUND);
        }
        if plain(request) {
            return file.whole(request.method() == Method::HEAD);
        }
        file.serve(request)
    }
}

/// `rest` as a path relative to the directory, each of its components a plain name;
/// `None` for anything else (the gateway normalized the path, so this is a second lock).
#[cfg(unix)]
fn relative(rest: &[u8]) -> Option<&Path> {
    // On the bytes, `/` the only separator: `Path`'s parse of its components cost as
    // much as the rest of the path's handling.
    let plain = rest.first() != Some(&b'/')
        && !rest
            .split(|&b| b == b'/')
            .any(|name| matches!(name, b"." | b".."));
    plain.then(|| Path::new(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(rest)))
}

/// `rest` as a path relative to the directory, each of its components a plain name;
/// `None` for anything else (the gateway normalized the path, so this is a second lock).
#[cfg(not(unix))]
fn relative(rest: &[u8]) -> Option<&Path> {
    let rest = Path::new(std::str::from_utf8(rest).ok()?);
    rest.components()
        .all(|c| matches!(c, std::path::Component::Normal(_)))
        .then_some(rest)
}

/// A GET or HEAD without a condition or a range: http-serve and nginx send the whole
/// file with its validators, which [`File::whole`] does directly.
fn plain<B>(request: &Request<B>) -> bool {
    const CONDITIONS: [HeaderName; 6] = [
        RANGE,
        IF_RANGE,
        IF_MATCH,
        IF_NONE_MATCH,
        IF_MODIFIED_SINCE,
        IF_UNMODIFIED_SINCE,
    ];
    let method = request.method();
    (method == Method::GET || method == Method::HEAD)
        && !request
            .headers()
            .keys()
            .any(|name| CONDITIONS.contains(name))
}

/// A directory named without its `/`: nginx's 301 to the request's own path and `/`.
fn redirect_to_directory<B>(request: &Request<B>) -> Response<Body> {
    let mut location = request.uri().path().to_owned();
    location.push('/');
    if let Some(query) = request.uri().query() {
        location.push('?');
        location.push_str(query);
    }
    let mut redirect = answer(StatusCode::MOVED_PERMANENTLY);
    if let Ok(location) = HeaderValue::from_str(&location) {
        redirect.headers_mut().insert(LOCATION, location);
    }
    redirect
}

/// The headers to hand http-serve, where nginx's rules differ from its: without
/// `If-Modified-Since` and `If-None-Match` (answered after it, by [`not_modified`]),
/// without `If-Range`, and without `Range` when nginx sends the whole file (`If-Range`
/// does not match, or [`nginx_range`] says so) or 416 (then `true`). `None` when the
/// request's own headers do.
fn nginx_view(
    request: &HeaderMap,
    etag: &HeaderValue,
    modified: Option<SystemTime>,
    len: u64,
) -> (Option<HeaderMap>, bool) {
    let range = match request.get(IF_RANGE) {
        Some(if_range) if !range_applies(if_range, etag, modified) => None,
        _ => request
            .get(RANGE)
            .map(|range| nginx_range(range.as_bytes(), len)),
    };
    let keep_range = matches!(range, None | Some(Ranges::Partial));
    if keep_range
        && ![IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE]
            .iter()
            .any(|name| request.contains_key(name))
    {
        return (None, false);
    }
    let mut headers = request.clone();
    headers.remove(IF_MODIFIED_SINCE);
    headers.remove(IF_NONE_MATCH);
    headers.remove(IF_RANGE);
    if range != Some(Ranges::Partial) {
        // No Range, an If-Range not matching, or nginx's whole file or 416.
        headers.remove(RANGE);
    }
    (Some(headers), range == Some(Ranges::Unsatisfiable))
}

/// What nginx's range filter makes of a `Range` header.
#[derive(Debug, PartialEq)]
enum Ranges {
    /// One or more ranges in the file: http-serve sends them (one as a 206, several as
    /// `multipart/byteranges`, or the whole file when that is shorter).
    Partial,
    /// Ignored, the whole file sent: not `bytes=`, an empty file, a first range from 0
    /// past the end, or ranges longer together than the file.
    Whole,
    /// 416: a syntax error, an overflow, or no range inside the file.
    Unsatisfiable,
}

/// nginx's `ngx_http_range_parse` (its `max_ranges` unset): its syntax (spaces allowed
/// around numbers, anything else a 416, which http-serve would ignore) and its answers
/// for ranges outside the file (`bytes=-0` is 416, where http-serve sends an empty 206).
fn nginx_range(value: &[u8], len: u64) -> Ranges {
    let Some(mut rest) = value
        .get(..6)
        .filter(|unit| unit.eq_ignore_ascii_case(b"bytes="))
        .and(value.get(6..))
        .filter(|rest| !rest.is_empty())
    else {
        return Ranges::Whole;
    };
    let skip_spaces = |s: &mut &[u8]| {
        while let [b' ', tail @ ..] = s {
            *s = tail;
        }
    };
    // A number, or None for no digit or an overflow.
    let number = |s: &mut &[u8]| -> Option<u64> {
        let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
        let (n, tail) = s.split_at(digits);
        *s = tail;
        if digits == 0 {
            return None;
        }
        n.iter().try_fold(0u64, |acc, d| {
            acc.checked_mul(10)?
                .checked_add(u64::from(d - b'0'))
                .filter(|&v| v <= i64::MAX as u64)
        })
    };
    let (mut found, mut size) = (false, 0u64);
    loop {
        skip_spaces(&mut rest);
        let (start, end);
        if let [b'-', tail @ ..] = rest {
            rest = tail;
            let Some(suffix) = number(&mut rest) else {
                return Ranges::Unsatisfiable;
            };
            (start, end) = (len.saturating_sub(suffix), len);
        } else {
            let Some(first) = number(&mut rest) else {
                return Ranges::Unsatisfiable;
            };
            skip_spaces(&mut rest);
            let [b'-', tail @ ..] = rest else {
                return Ranges::Unsatisfiable;
            };
            rest = tail;
            skip_spaces(&mut rest);
            start = first;
            if matches!(rest, [] | [b',', ..]) {
                end = len;
            } else {
                let Some(last) = number(&mut rest) else {
                    return Ranges::Unsatisfiable;
                };
                end = if last >= len { len } else { last + 1 };
            }
        }
        skip_spaces(&mut rest);
        if !matches!(rest, [] | [b',', ..]) {
            return Ranges::Unsatisfiable;
        }
        if start < end {
            found = true;
            size = size.saturating_add(end - start);
        } else if start == 0 {
            return Ranges::Whole;
        }
        match rest {
            [b',', tail @ ..] => rest = tail,
            _ => break,
        }
    }
    if !found {
        Ranges::Unsatisfiable
    } else if size > len {
        Ranges::Whole
    } else {
        Ranges::Partial
    }
}

/// An open regular file (or directory), its metadata read once.
struct File {
    file: Open,
    len: u64,
    modified: Option<SystemTime>,
    directory: bool,
    regular: bool,
    /// For a regular file: the type by extension.
    content_type: &'static str,
}

impl File {
    /// Opens `path` and reads its metadata, on this thread. Non-blocking, as nginx
    /// opens files: a FIFO's open would wait for a writer (reads of a regular file
    /// ignore the flag).
    fn open(path: &Path) -> io::Result<File> {
        let mut options = fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
        let file = options.open(path)?;
        let meta = file.metadata()?;
        let modified = meta.modified().ok();
        let (len, regular) = (meta.len(), meta.is_file());
        let content_type = if regular { content_type(path) } else { "" };
        Ok(File {
            file: Open {
                file,
                at: AtomicU64::new(0),
            },
            len,
            modified,
            directory: meta.is_dir(),
            regular,
            content_type,
        })
    }

    /// The answer to a GET or HEAD without a condition or a range: what http-serve's
    /// `serve` answers to it (the same headers in the same order, the same body), made
    /// directly. Its conditions and ranges were three quarters of the file code's
    /// instructions for a 1 KiB GET, and its two dates a sixth.
    fn whole(self, head: bool) -> Response<Body> {
        let headers = whole_head(&self);
        let len = self.len;
        let body = if head || len == 0 {
            super::empty()
        } else {
            // A small file read now, into the one buffer the body is; a read that fails
            // is made again by the streamed body, which cuts the response as it does for
            // a large file.
            let small = (len <= CHUNK)
                .then(|| usize::try_from(len).ok())
                .flatten()
                .and_then(|len| self.file.read(0, len).ok());
            match small {
                Some(buf) => Full::new(Bytes::from(buf))
                    .map_err(|never: Infallible| match never {})
                    .boxed_unsync(),
                None => StreamBody::new(Frames(Chunks {
                    file: Arc::new(self.file),
                    range: 0..len,
                }))
                .boxed_unsync(),
            }
        };
        let mut response = Response::new(body);
        *response.headers_mut() = headers;
        response
    }

    /// A regular file's answer to any request: http-serve's, with nginx's rules on top.
    fn serve<B>(self, request: &Request<B>) -> Response<Body> {
        let file = self.entity();
        let etag = file.etag.clone();
        let (modified, len) = (file.modified, file.len);
        let (headers, unsatisfiable) = nginx_view(request.headers(), &etag, modified, len);
        let response = match headers {
            Some(headers) => {
                let mut inner = Request::new(());
                *inner.method_mut() = request.method().clone();
                *inner.headers_mut() = headers;
                http_serve::serve(file, &inner)
            }
            None => http_serve::serve(file, request),
        };
        let (mut parts, body) = response.into_parts();
        match parts.status {
            StatusCode::OK | StatusCode::PARTIAL_CONTENT => {
                if not_modified(request.headers(), &etag, modified) {
                    return not_modified_response(etag, parts.headers.remove(LAST_MODIFIED));
                }
                if unsatisfiable {
                    let mut response = answer(StatusCode::RANGE_NOT_SATISFIABLE);
                    if let Ok(range) = HeaderValue::try_from(format!("bytes */{len}")) {
                        response.headers_mut().insert(CONTENT_RANGE, range);
                    }
                    return response;
                }
            }
            StatusCode::METHOD_NOT_ALLOWED => {
                // nginx's 405 names no methods; http-serve's lower-case list is kept
                // but spelled as RFC 9110's examples.
                parts
                    .headers
                    .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            }
            _ => {}
        }
        Response::from_parts(parts, body.boxed_unsync())
    }

    /// The file as http-serve's entity, for the answers with conditions or ranges.
    fn entity(self) -> Entity {
        Entity {
            file: Arc::new(self.file),
            len: self.len,
            modified: self.modified,
            etag: validators(self.modified, self.len).etag,
            content_type: HeaderValue::from_static(self.content_type),
        }
    }
}

/// The head of [`File::whole`]'s answer: http-serve's for a GET without a condition or a
/// range, in its order. The last few are kept on each thread, each for the second its
/// `Date` says: the six headers inserted anew were a quarter of the file code's
/// instructions, a copy of the map costs a third of that.
fn whole_head(file: &File) -> HeaderMap {
    /// What the head depends on: the file's modification time and size, its type, and
    /// the second now (`Last-Modified` is `Date` when the file's second is not earlier).
    type Key = (Option<(i64, i64)>, u64, &'static str);
    thread_local! {
        static HEADS: RefCell<Kept<Key, HeaderMap>> = const { RefCell::new(Kept::new()) };
    }
    let now = file.modified.map(|_| SystemTime::now());
    let key: Key = (
        file.modified
            .zip(now)
            .map(|(m, now)| (unix_seconds(m), unix_seconds(now))),
        file.len,
        file.content_type,
    );
    // The same file's head of an earlier second goes first.
    let same_file = |(times, len, ty): &Key| {
        times.map(|t| t.0) == key.0.map(|t| t.0) && (*len, *ty) == (key.1, key.2)
    };
    Kept::get(
        &HEADS,
        |k| *k == key,
        same_file,
        || {
            let validators = validators(file.modified, file.len);
            // Room for a seventh without growing the copies' index: hyper's
            // `Connection: keep-alive` to an HTTP/1.0 client.
            let mut headers = HeaderMap::with_capacity(7);
            headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            if let Some((modified, now)) = file.modified.zip(now) {
                // As http-serve: the date now, and `Last-Modified` no later than it.
                let date = http_date(now);
                let last_modified = match validators.last_modified {
                    Some(last_modified) if modified < now => last_modified,
                    _ => date.clone(),
                };
                headers.insert(DATE, date);
                headers.insert(LAST_MODIFIED, last_modified);
            }
            headers.insert(ETAG, validators.etag);
            headers.insert(CONTENT_LENGTH, validators.length);
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(file.content_type));
            (key, headers)
        },
    )
}

/// The values last made for a few keys, on one thread: a short list searched in order,
/// the oldest dropped when it is full.
struct Kept<K, V>(Vec<(K, V)>);

impl<K, V: Clone> Kept<K, V> {
    /// Enough for a site's usual files and types.
    const LEN: usize = 16;

    const fn new() -> Self {
        Kept(Vec::new())
    }

    /// The value kept under the key `found` names, else the one `make` makes, kept under
    /// its key in place of the one `stale` names (else of the oldest when full).
    fn get(
        kept: &'static std::thread::LocalKey<RefCell<Self>>,
        found: impl Fn(&K) -> bool,
        stale: impl Fn(&K) -> bool,
        make: impl FnOnce() -> (K, V),
    ) -> V {
        let hit = kept.with_borrow(|kept| {
            kept.0
                .iter()
                .find(|(k, _)| found(k))
                .map(|(_, value)| value.clone())
        });
        hit.unwrap_or_else(|| {
            let (key, value) = make();
            kept.with_borrow_mut(|kept| {
                let entry = (key, value.clone());
                match kept.0.iter().position(|(k, _)| stale(k)) {
                    Some(at) => kept.0[at] = entry,
                    None => {
                        if kept.0.len() == Self::LEN {
                            kept.0.remove(0);
                        }
                        kept.0.push(entry);
                    }
                }
            });
            value
        })
    }
}

/// A regular file as http-serve's entity.
struct Entity {
    file: Arc<Open>,
    len: u64,
    modified: Option<SystemTime>,
    /// nginx's entity tag.
    etag: HeaderValue,
    content_type: HeaderValue,
}

/// A regular file's headers that depend only on its modification time and size:
/// nginx's `ETag`, `Last-Modified` (1970 for an earlier time, as nginx says it; `None`
/// for a date HTTP cannot say), and `Content-Length`.
#[derive(Clone)]
struct Validators {
    etag: HeaderValue,
    last_modified: Option<HeaderValue>,
    length: HeaderValue,
}

/// The [`Validators`] of a file modified at `modified` with `len` bytes.
/// The last few files' are kept on each thread, for the answers with conditions and each
/// second's new head (made anew, the three values were a sixth of a 1 KiB GET's file
/// code).
fn validators(modified: Option<SystemTime>, len: u64) -> Validators {
    /// 9999-12-31T23:59:59Z, the last second an HTTP date says.
    const LAST_DATE: u64 = 253_402_300_799;
    type Key = (Option<i64>, u64);
    thread_local! {
        static VALIDATORS: RefCell<Kept<Key, Validators>> = const { RefCell::new(Kept::new()) };
    }
    let secs = modified.map(unix_seconds);
    let key = (secs, len);
    Kept::get(
        &VALIDATORS,
        |k| *k == key,
        |_| false,
        || {
            let validators = Validators {
                etag: etag(secs.unwrap_or(0), len),
                last_modified: secs
                    .map(|s| s.max(0).unsigned_abs())
                    .filter(|&s| s <= LAST_DATE)
                    .map(|s| http_date(UNIX_EPOCH + std::time::Duration::from_secs(s))),
                length: HeaderValue::from(len),
            };
            (key, validators)
        },
    )
}

/// A time's whole seconds since 1970, as `stat`'s `st_mtime` says it (rounded down,
/// negative before 1970).
fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let before = before.duration();
            let secs = before.as_secs() + u64::from(before.subsec_nanos() > 0);
            i64::try_from(secs).map_or(i64::MIN, |s| -s)
        }
    }
}

/// `time` as an HTTP date (httpdate's, as http-serve writes it).
fn http_date(time: SystemTime) -> HeaderValue {
    HeaderValue::try_from(httpdate::fmt_http_date(time))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// What tower-http's ServeDir sent: `mime_guess`'s first type for the extension, or
/// `application/octet-stream`. The last few extensions' types are kept on each thread:
/// `mime_guess`'s case-insensitive search was a thirtieth of a 1 KiB GET's instructions.
fn content_type(path: &Path) -> &'static str {
    thread_local! {
        static TYPES: RefCell<Kept<Box<[u8]>, &'static str>> = const { RefCell::new(Kept::new()) };
    }
    let extension = extension(path.as_os_str().as_encoded_bytes());
    Kept::get(
        &TYPES,
        |ext| **ext == *extension,
        |_| false,
        || {
            let mime = mime_guess::from_ext(std::str::from_utf8(extension).unwrap_or_default())
                .first_raw()
                .unwrap_or("application/octet-stream");
            (extension.into(), mime)
        },
    )
}

/// The extension of the file a path names (empty for none), as [`Path::extension`]
/// says it for the gateway's paths (a file's name last, no `..`), from the path's bytes:
/// `Path`'s parse of its components was half the type's cost.
fn extension(path: &[u8]) -> &[u8] {
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or_default();
    match name.iter().rposition(|&b| b == b'.') {
        // None, or a name starting with its only dot (`.profile`): no extension.
        None | Some(0) => b"",
        Some(dot) => &name[dot + 1..],
    }
}

impl http_serve::Entity for Entity {
    type Error = http_serve::BoxError;
    type Data = Bytes;

    fn len(&self) -> u64 {
        self.len
    }

    fn get_range(
        &self,
        range: Range<u64>,
    ) -> Pin<Box<dyn futures_core::Stream<Item = Result<Bytes, Self::Error>> + Send + Sync>> {
        Box::pin(Chunks {
            file: Arc::clone(&self.file),
            range,
        })
    }

    fn add_headers(&self, headers: &mut HeaderMap) {
        headers.insert(CONTENT_TYPE, self.content_type.clone());
    }

    fn etag(&self) -> Option<HeaderValue> {
        Some(self.etag.clone())
    }

    fn last_modified(&self) -> Option<SystemTime> {
        // As nginx's `Last-Modified` for a file from before 1970 (and httpdate would
        // panic on an earlier time).
        self.modified.map(|m| m.max(UNIX_EPOCH))
    }
}

/// A range of a file, read on demand: one read of at most [`CHUNK`] bytes each poll,
/// on the polling thread.
struct Chunks {
    file: Arc<Open>,
    range: Range<u64>,
}

/// The open file of a response, shared by its body's ranges (several with
/// `multipart/byteranges`).
struct Open {
    file: fs::File,
    /// The file's offset: a range starting where the last read stopped (the first
    /// from 0, every next chunk) needs no seek.
    at: AtomicU64,
}

impl Open {
    /// Reads `len` bytes at `offset` into a new buffer, not zeroed first (`pread` into
    /// a zeroed buffer cost a memset of the whole file).
    fn read(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut file = &self.file;
        if self.at.swap(u64::MAX, Ordering::Relaxed) != offset {
            file.seek(SeekFrom::Start(offset))?;
        }
        let mut buf = Vec::with_capacity(len);
        file.take(len as u64).read_to_end(&mut buf)?;
        if buf.len() < len {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.at.store(offset + len as u64, Ordering::Relaxed);
        Ok(buf)
    }
}

impl futures_core::Stream for Chunks {
    type Item = Result<Bytes, http_serve::BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Range { start, end } = self.range;
        if start >= end {
            return Poll::Ready(None);
        }
        let len = usize::try_from((end - start).min(CHUNK)).unwrap_or(usize::MAX);
        Poll::Ready(Some(match self.file.read(start, len) {
            Ok(buf) => {
                self.range.start += len as u64;
                Ok(Bytes::from(buf))
            }
            Err(err) => {
                // The file shrank or the disk failed: the response is cut short, as
                // nginx cuts it (its head is sent).
                self.range.start = end;
                tracing::error!("static file read: {err}");
                Err(err.into())
            }
        }))
    }
}

/// A file's [`Chunks`] as a body's frames.
struct Frames(Chunks);

impl futures_core::Stream for Frames {
    type Item = Result<Frame<Bytes>, http_serve::BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.0)
            .poll_next(cx)
            .map(|chunk| chunk.map(|chunk| chunk.map(Frame::data)))
    }
}

/// nginx's `If-Range`: an entity tag (it ends with `"`) equal to the file's, or a date
/// equal to its modification time (in whole seconds, as `Last-Modified` says it); else
/// the range is not sent, the whole file is.
fn range_applies(if_range: &HeaderValue, etag: &HeaderValue, modified: Option<SystemTime>) -> bool {
    if if_range.as_bytes().ends_with(b"\"") {
        return if_range == etag;
    }
    date(if_range).is_some_and(|d| Some(d) == modified.and_then(seconds))
}

/// An HTTP date.
fn date(value: &HeaderValue) -> Option<SystemTime> {
    httpdate::parse_http_date(value.to_str().ok()?).ok()
}

/// A time to the whole second below it, as HTTP dates say it.
fn seconds(time: SystemTime) -> Option<SystemTime> {
    let secs = time.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

/// nginx's `ETag` for a file: `"MTIME-SIZE"`, both in lower-case hex, the modification
/// time in whole seconds (0 when unknown; a `-` and its distance before 1970 for an
/// earlier time, as nginx prints a negative `time_t`).
fn etag(secs: i64, len: u64) -> HeaderValue {
    // Written in place: `format!`'s machinery was a tenth of a 1 KiB GET's instructions.
    let mut tag = [0u8; 36];
    tag[0] = b'"';
    let mut end = 1;
    if secs < 0 {
        tag[end] = b'-';
        end += 1;
    }
    end += hex(secs.unsigned_abs(), &mut tag[end..]);
    tag[end] = b'-';
    end += 1;
    end += hex(len, &mut tag[end..]);
    tag[end] = b'"';
    HeaderValue::from_bytes(&tag[..=end]).unwrap_or_else(|_| HeaderValue::from_static("\"0-0\""))
}

/// Writes `n` in lower-case hex, without leading zeros, at the start of `out` (room for
/// 16 digits); returns the digits' count.
fn hex(n: u64, out: &mut [u8]) -> usize {
    let digits = (64 - n.leading_zeros()).div_ceil(4).max(1) as usize;
    for (i, slot) in out.iter_mut().take(digits).enumerate() {
        let shift = 4 * (digits - 1 - i);
        *slot = b"0123456789abcdef"[(n >> shift & 0xf) as usize];
    }
    digits
}

/// nginx's not-modified filter (`if_modified_since exact`, `etag on`): with
/// `If-Modified-Since` or `If-None-Match`, 304 when every one given matches: the date
/// equal to the file's, an entity tag equal to the file's (weakly) or `*`.
fn not_modified(request: &HeaderMap, etag: &HeaderValue, modified: Option<SystemTime>) -> bool {
    let since = request.get(IF_MODIFIED_SINCE);
    let none_match = request.get(IF_NONE_MATCH);
    if since.is_none() && none_match.is_none() {
        return false;
    }
    if let Some(since) = since {
        if date(since).is_none() || date(since) != modified.and_then(seconds) {
            return false;
        }
    }
    if let Some(none_match) = none_match {
        let ours = etag.as_bytes();
        let matches = none_match.as_bytes().split(|&b| b == b',').any(|tag| {
            let tag = tag.trim_ascii();
            tag == b"*" || tag.strip_prefix(b"W/").unwrap_or(tag) == ours
        });
        if !matches {
            return false;
        }
    }
    true
}

/// A 304 as nginx sends it: the validators, no body, no `Content-Type`.
fn not_modified_response(etag: HeaderValue, modified: Option<HeaderValue>) -> Response<Body> {
    let mut response = answer(StatusCode::NOT_MODIFIED);
    let headers = response.headers_mut();
    headers.remove(CONTENT_TYPE);
    headers.insert(ETAG, etag);
    if let Some(modified) = modified {
        headers.insert(LAST_MODIFIED, modified);
    }
    let (parts, _) = response.into_parts();
    Response::from_parts(parts, super::empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_static(k),
                    HeaderValue::from_str(v).unwrap(),
                )
            })
            .collect()
    }

    fn at(date: &str) -> Option<SystemTime> {
        Some(httpdate::parse_http_date(date).unwrap())
    }

    #[test]
    fn the_etag_is_nginx_s_mtime_and_size_in_hex() {
        // 2026-12-07T16:00:00Z is 1796659200 = 0x6b16d800 (checked with `date -d`).
        let modified = at("Mon, 07 Dec 2026 16:00:00 GMT");
        assert_eq!(validators(modified, 1024).etag, "\"6b16d800-400\"");
        // The fraction of a second is not in it.
        let later = modified.map(|m| m + std::time::Duration::from_millis(999));
        assert_eq!(validators(later, 1024).etag, "\"6b16d800-400\"");
        assert_eq!(validators(None, 0).etag, "\"0-0\"");
        assert_eq!(etag(0, u64::MAX), "\"0-ffffffffffffffff\"");
        assert_eq!(etag(16, 15), "\"10-f\"");
        // nginx 1.22's for a file touched at 1960-01-01T00:00:00Z, and half a second later.
        let old = at("Thu, 01 Jan 1970 00:00:00 GMT")
            .map(|e| e - std::time::Duration::from_secs(315_619_200));
        assert_eq!(validators(old, 1024).etag, "\"-12cff780-400\"");
        let later = old.map(|m| m + std::time::Duration::from_millis(500));
        assert_eq!(validators(later, 1024).etag, "\"-12cff780-400\"");
        let earlier = old.map(|m| m - std::time::Duration::from_millis(500));
        assert_eq!(validators(earlier, 1024).etag, "\"-12cff781-400\"");
        assert_eq!(
            validators(old, 1024).last_modified.unwrap(),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }

    #[test]
    fn validators_are_kept_per_modification_time_and_size() {
        let modified = at("Mon, 07 Dec 2026 16:00:00 GMT");
        // More files than are kept, twice: the second pass makes evicted ones again.
        for _ in 0..2 {
            for len in 0..20u64 {
                let got = validators(modified, len);
                assert_eq!(got.etag, format!("\"6b16d800-{len:x}\""));
                assert_eq!(got.length, len.to_string().as_str());
                assert_eq!(got.last_modified.unwrap(), "Mon, 07 Dec 2026 16:00:00 GMT");
            }
        }
        let none = validators(None, 7);
        assert_eq!(
            (none.etag, none.last_modified),
            ("\"0-7\"".parse().unwrap(), None)
        );
    }

    #[test]
    fn not_modified_needs_every_validator_given_to_match() {
        let tag = HeaderValue::from_static("\"6b16d800-400\"");
        // A modification time with a fraction of a second: dates compare in seconds.
        let modified =
            at("Mon, 07 Dec 2026 16:00:00 GMT").map(|m| m + std::time::Duration::from_millis(250));
        let check = |pairs: &[(&'static str, &str)]| not_modified(&headers(pairs), &tag, modified);
        assert!(!check(&[]));
        assert!(check(&[("if-none-match", "\"6b16d800-400\"")]));
        assert!(check(&[("if-none-match", "\"x\", W/\"6b16d800-400\"")]));
        assert!(check(&[("if-none-match", "*")]));
        assert!(!check(&[("if-none-match", "\"6b16d800-401\"")]));
        assert!(check(&[(
            "if-modified-since",
            "Mon, 07 Dec 2026 16:00:00 GMT"
        )]));
        // Exact, as nginx's default: a later date is not the file's.
        assert!(!check(&[(
            "if-modified-since",
            "Mon, 07 Dec 2026 16:00:01 GMT"
        )]));
        assert!(!check(&[("if-modified-since", "yesterday")]));
        assert!(!check(&[
            ("if-modified-since", "Mon, 07 Dec 2026 16:00:00 GMT"),
            ("if-none-match", "\"other\""),
        ]));
    }

    #[test]
    fn if_range_is_the_etag_or_the_exact_date() {
        let tag = HeaderValue::from_static("\"6b16d800-400\"");
        let modified =
            at("Mon, 07 Dec 2026 16:00:00 GMT").map(|m| m + std::time::Duration::from_millis(250));
        let check = |v: &'static str| range_applies(&HeaderValue::from_static(v), &tag, modified);
        assert!(check("\"6b16d800-400\""));
        assert!(!check("\"6b16d800-401\""));
        assert!(check("Mon, 07 Dec 2026 16:00:00 GMT"));
        assert!(!check("Mon, 07 Dec 2026 16:00:01 GMT"));
        assert!(!check("soon"));
    }

    #[test]
    fn only_plain_names_under_the_directory() {
        assert_eq!(relative(b"css/app.css"), Some(Path::new("css/app.css")));
        assert_eq!(relative(b""), Some(Path::new("")));
        assert_eq!(relative(b"docs/"), Some(Path::new("docs/")));
        assert_eq!(relative(b"a..b/.c/d."), Some(Path::new("a..b/.c/d.")));
        for path in [
            &b"../secret"[..],
            b"a/../../secret",
            b"/etc/passwd",
            b"./a",
            b"a/./b",
            b"a/..",
            b"..",
        ] {
            assert_eq!(relative(path), None, "{}", String::from_utf8_lossy(path));
        }
    }

    #[test]
    fn ranges_are_judged_as_nginx_judges_them() {
        use Ranges::*;
        // Each answer checked against nginx 1.22 on an 18-byte file (and an empty one).
        for (range, len, want) in [
            ("bytes=0-1", 18, Partial),
            ("bytes=5-12", 18, Partial),
            ("bytes=-4", 18, Partial),
            ("bytes=9-", 18, Partial),
            ("bytes=17-", 18, Partial),
            ("bytes= 1-2", 18, Partial),
            ("bytes=1-2, 4-5", 18, Partial),
            ("BYTES=0-1", 18, Partial),
            ("bytes=0-1,5-6", 18, Partial),
            ("bytes=0-100,1-2", 18, Whole),
            ("bytes=0-100", 18, Partial),
            ("items=0-3", 18, Whole),
            ("bytes=", 18, Whole),
            ("bytes=0-1", 0, Whole),
            ("bytes=abc", 18, Unsatisfiable),
            ("bytes=5-2", 18, Unsatisfiable),
            ("bytes=-0", 18, Unsatisfiable),
            ("bytes=18-", 18, Unsatisfiable),
            ("bytes=100-200", 18, Unsatisfiable),
            ("bytes=-", 18, Unsatisfiable),
            ("bytes=1-2;", 18, Unsatisfiable),
            ("bytes=99999999999999999999-", 18, Unsatisfiable),
        ] {
            assert_eq!(nginx_range(range.as_bytes(), len), want, "{range} of {len}");
        }
    }

    #[test]
    fn the_content_type_is_mime_guess_s_whatever_was_kept() {
        let of = |name: &str| content_type(Path::new(name));
        // More extensions than are kept, twice: the second pass finds evicted ones again.
        for _ in 0..2 {
            for (name, want) in [
                ("a.css", "text/css"),
                ("b/c.html", "text/html"),
                ("A.CSS", "text/css"),
                ("x.js", "text/javascript"),
                ("p.png", "image/png"),
                ("noext", "application/octet-stream"),
                ("d.unknownext", "application/octet-stream"),
            ] {
                assert_eq!(of(name), want, "{name}");
            }
            for n in 0..20 {
                assert_eq!(of(&format!("f.x{n}")), "application/octet-stream");
            }
        }
    }

    #[test]
    fn the_extension_is_path_s() {
        for path in [
            "/srv/a.css",
            "/srv/b/c.tar.gz",
            "/srv/.profile",
            "/srv/.a.b",
            "/srv/noext",
            "/srv/dot.",
            "/srv/d.ir/index.html",
            "/srv/d.ir/file",
            "relative.JS",
            "",
        ] {
            let std = Path::new(path).extension().unwrap_or_default();
            assert_eq!(extension(path.as_bytes()), std.as_encoded_bytes(), "{path}");
        }
    }

    /// A directory of its own under the system's temporary one, removed when dropped.
    struct Scratch(PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// The status, the headers in order and the whole body of a response.
    fn taken(response: Response<Body>) -> (StatusCode, Vec<(String, String)>, Vec<u8>) {
        let (parts, body) = response.into_parts();
        let headers = parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.to_string(), value)
            })
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let body = runtime.block_on(body.collect()).unwrap().to_bytes();
        (parts.status, headers, body.to_vec())
    }

    #[test]
    fn a_plain_get_or_head_is_the_answer_http_serve_gives() {
        let dir =
            Scratch(std::env::temp_dir().join(format!("uwsgi-wire-plain-{}", std::process::id())));
        fs::create_dir_all(&dir.0).unwrap();
        let now = SystemTime::now();
        let day = std::time::Duration::from_secs(86_400);
        let large: Vec<u8> = (0..CHUNK * 2 + 3).map(|i| (i % 251) as u8).collect();
        // (name, content, modification time): empty, small, streamed in three chunks,
        // modified in the future (`Last-Modified` is then the date now), before 1970
        // (`Last-Modified` is 1970's first second, as nginx says it).
        let files: [(&str, &[u8], Option<SystemTime>); 6] = [
            ("empty.txt", b"", None),
            ("small.css", b"body { color: red }\n", Some(now - day)),
            ("large.bin", &large, None),
            ("exact.bin", &large[..CHUNK as usize], None),
            ("future.html", b"<p>later</p>\n", Some(now + day)),
            ("old.js", b"1;\n", Some(UNIX_EPOCH - day)),
        ];
        for (name, content, modified) in files {
            let path = dir.0.join(name);
            fs::write(&path, content).unwrap();
            if let Some(modified) = modified {
                fs::File::options()
                    .write(true)
                    .open(&path)
                    .unwrap()
                    .set_modified(modified)
                    .unwrap();
            }
            for method in [Method::GET, Method::HEAD] {
                let mut request = Request::new(());
                *request.method_mut() = method.clone();
                request
                    .headers_mut()
                    .insert("accept", HeaderValue::from_static("*/*"));
                assert!(plain(&request));
                // Both at the same second: the date is in both heads.
                let (direct, general) = loop {
                    let direct = taken(File::open(&path).unwrap().whole(method == Method::HEAD));
                    let general = taken(File::open(&path).unwrap().serve(&request));
                    if direct.1.iter().find(|(n, _)| n == "date")
                        == general.1.iter().find(|(n, _)| n == "date")
                    {
                        break (direct, general);
                    }
                };
                assert_eq!(direct, general, "{method} {name}");
                assert_eq!(direct.0, StatusCode::OK);
                let body: &[u8] = if method == Method::HEAD { b"" } else { content };
                assert!(direct.2 == body, "{method} {name}: the body");
            }
        }
        // Conditions and ranges go to http-serve.
        for (name, value) in [
            ("range", "bytes=0-1"),
            ("if-range", "\"x\""),
            ("if-match", "*"),
            ("if-none-match", "*"),
            ("if-modified-since", "Mon, 07 Dec 2026 16:00:00 GMT"),
            ("if-unmodified-since", "Mon, 07 Dec 2026 16:00:00 GMT"),
        ] {
            let mut request = Request::new(());
            request.headers_mut().insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
            assert!(!plain(&request), "{name}");
        }
        let mut post = Request::new(());
        *post.method_mut() = Method::POST;
        assert!(!plain(&post));
    }
}
