//! `--static PREFIX=DIR` (nginx's `alias`) and `--root DIR`: files through tower-http's
//! `ServeDir` (`Content-Type` by extension, `Last-Modified`, `If-Unmodified-Since`,
//! `Range`, HEAD, `index.html` for a directory), with what nginx does on top of it
//! here: its `ETag`, its `If-None-Match` and its exact `If-Modified-Since` (nginx's
//! `if_modified_since exact`; `ServeDir` answers 304 for any later date), its
//! `If-Range` (which `ServeDir` ignores), and its 301 for a directory without its `/`
//! (`ServeDir` answers 307).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use http::header::{
    CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE,
    LAST_MODIFIED, LOCATION, RANGE,
};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use percent_encoding::{percent_encode, AsciiSet, NON_ALPHANUMERIC};
use tower_http::services::ServeDir;

use super::{answer, Body};

/// Every byte but these is escaped in the path handed to `ServeDir`, which decodes it
/// back: the file name is exactly the request's decoded path, whatever it holds.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The most bytes read from a file at once: each read is a trip to tokio's blocking
/// pool (two thread wake-ups), so fewer, larger reads cost less CPU per byte; 256 KiB
/// (ServeDir's default is 64 KiB) is a 1 MiB file in four reads, and bounds the memory a
/// response holds to twice that (tokio's file buffer and the chunk).
const CHUNK: usize = 256 * 1024;

/// One directory of files, served under a prefix (`--static`) or for every path
/// (`--root`, the empty prefix).
pub struct Files {
    prefix: String,
    dir: PathBuf,
    serve: ServeDir,
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
            serve: ServeDir::new(dir).with_buf_chunk_size(CHUNK),
        })
    }

    /// Answers `request` with the file for `path`, its normalized path (nginx's `$uri`:
    /// decoded, no `.` or `..` segment, so that what follows the prefix names a file
    /// under the directory and nothing above it).
    pub async fn serve<B>(&self, request: &Request<B>, path: &[u8]) -> Response<Body> {
        // As nginx's alias: the prefix replaced by the directory.
        let rest = path.get(self.prefix.len()..).unwrap_or_default();
        let mut target = String::from("/");
        target.extend(percent_encode(
            rest.strip_prefix(b"/").unwrap_or(rest),
            PATH,
        ));
        if let Some(query) = request.uri().query() {
            target.push('?');
            target.push_str(query);
        }
        let Ok(uri) = target.parse::<Uri>() else {
            return answer(StatusCode::BAD_REQUEST);
        };
        let mut inner = Request::new(());
        *inner.method_mut() = request.method().clone();
        *inner.uri_mut() = uri;
        *inner.version_mut() = request.version();
        *inner.headers_mut() = request.headers().clone();
        // nginx's rules for these three, below, not ServeDir's (which has no If-Range).
        inner.headers_mut().remove(IF_MODIFIED_SINCE);
        inner.headers_mut().remove(IF_NONE_MATCH);
        let if_range = inner.headers_mut().remove(IF_RANGE);
        let Some(mut response) = self.call(&inner, path).await else {
            return answer(StatusCode::INTERNAL_SERVER_ERROR);
        };
        if response.status() == StatusCode::PARTIAL_CONTENT {
            let stale = etag(response.headers())
                .zip(if_range)
                .is_some_and(|(etag, if_range)| {
                    !range_applies(&if_range, &etag, response.headers())
                });
            if stale {
                // The client's copy is not this file: the whole file, as nginx sends it.
                inner.headers_mut().remove(RANGE);
                let Some(whole) = self.call(&inner, path).await else {
                    return answer(StatusCode::INTERNAL_SERVER_ERROR);
                };
                response = whole;
            }
        }
        let (mut parts, body) = response.into_parts();
        match parts.status {
            StatusCode::OK | StatusCode::PARTIAL_CONTENT => {
                if let Some(etag) = etag(&parts.headers) {
                    if not_modified(request.headers(), &etag, &parts.headers) {
                        return not_modified_response(etag, parts.headers.remove(LAST_MODIFIED));
                    }
                    parts.headers.insert(ETAG, etag);
                }
            }
            StatusCode::TEMPORARY_REDIRECT => {
                // A directory without its `/`: nginx's 301 to the request's own path
                // and `/` (ServeDir's Location is the path it was given).
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
                return redirect;
            }
            StatusCode::NOT_FOUND => return answer(StatusCode::NOT_FOUND),
            _ => {}
        }
        Response::from_parts(parts, body.map_err(Into::into).boxed_unsync())
    }

    /// ServeDir's answer; `None` (logged) for an I/O error other than a missing file.
    async fn call(
        &self,
        request: &Request<()>,
        path: &[u8],
    ) -> Option<Response<tower_http::services::fs::ServeFileSystemResponseBody>> {
        match self.serve.clone().try_call(request.clone()).await {
            Ok(response) => Some(response),
            Err(err) => {
                tracing::error!(dir = %self.dir.display(), path = %String::from_utf8_lossy(path), "static file: {err}");
                None
            }
        }
    }
}

/// nginx's `If-Range`: an entity tag (it ends with `"`) equal to the file's, or a date
/// equal to its `Last-Modified`; else the range is not sent, the whole file is.
fn range_applies(if_range: &HeaderValue, etag: &HeaderValue, response: &HeaderMap) -> bool {
    if if_range.as_bytes().ends_with(b"\"") {
        return if_range == etag;
    }
    let date = |v: &HeaderValue| -> Option<SystemTime> {
        httpdate::parse_http_date(v.to_str().ok()?).ok()
    };
    date(if_range).is_some_and(|d| Some(d) == response.get(LAST_MODIFIED).and_then(date))
}

/// nginx's `ETag` for a file: `"MTIME-SIZE"`, both in lower-case hex, the modification
/// time in seconds, from the `Last-Modified` and the size `ServeDir` answered with.
fn etag(headers: &HeaderMap) -> Option<HeaderValue> {
    let modified = headers
        .get(LAST_MODIFIED)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())?;
    let secs = modified.duration_since(UNIX_EPOCH).ok()?.as_secs();
    // A 206's Content-Length is the range's; its Content-Range ends with the file's.
    let size = match headers.get(CONTENT_RANGE) {
        Some(range) => range
            .to_str()
            .ok()?
            .rsplit_once('/')?
            .1
            .parse::<u64>()
            .ok()?,
        None => headers
            .get(CONTENT_LENGTH)?
            .to_str()
            .ok()?
            .parse::<u64>()
            .ok()?,
    };
    HeaderValue::from_str(&format!("\"{secs:x}-{size:x}\"")).ok()
}

/// nginx's not-modified filter (`if_modified_since exact`, `etag on`): with
/// `If-Modified-Since` or `If-None-Match`, 304 when every one given matches: the date
/// equal to the file's, an entity tag equal to the file's (weakly) or `*`.
fn not_modified(request: &HeaderMap, etag: &HeaderValue, response: &HeaderMap) -> bool {
    let since = request.get(IF_MODIFIED_SINCE);
    let none_match = request.get(IF_NONE_MATCH);
    if since.is_none() && none_match.is_none() {
        return false;
    }
    if let Some(since) = since {
        let date = |v: &HeaderValue| -> Option<SystemTime> {
            httpdate::parse_http_date(v.to_str().ok()?).ok()
        };
        let modified = response.get(LAST_MODIFIED).and_then(date);
        if date(since).is_none() || date(since) != modified {
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

    #[test]
    fn the_etag_is_nginx_s_mtime_and_size_in_hex() {
        let response = headers(&[
            ("last-modified", "Mon, 07 Dec 2026 16:00:00 GMT"),
            ("content-length", "1024"),
        ]);
        // 2026-12-07T16:00:00Z is 1796659200 = 0x6b16d800 (checked with `date -d`).
        assert_eq!(etag(&response).unwrap(), "\"6b16d800-400\"");
        let partial = headers(&[
            ("last-modified", "Mon, 07 Dec 2026 16:00:00 GMT"),
            ("content-length", "10"),
            ("content-range", "bytes 0-9/1024"),
        ]);
        assert_eq!(etag(&partial).unwrap(), "\"6b16d800-400\"");
    }

    #[test]
    fn not_modified_needs_every_validator_given_to_match() {
        let tag = HeaderValue::from_static("\"6b16d800-400\"");
        let response = headers(&[("last-modified", "Mon, 07 Dec 2026 16:00:00 GMT")]);
        let check = |pairs: &[(&'static str, &str)]| not_modified(&headers(pairs), &tag, &response);
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
}
