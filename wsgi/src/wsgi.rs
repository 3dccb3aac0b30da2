//! The Python side: the application, and PEP 3333's objects (`wsgi.input`,
//! `start_response` and its `write()`), each request's call.

use std::ffi::CString;
use std::io::{self, IoSlice, Read};
use std::path::Path;
use std::sync::Arc;

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use uwsgi_wire::io::{write_all_vectored, Body};
use uwsgi_wire::message::Request;

use std::os::fd::AsRawFd;

use nix::sys::sendfile::sendfile;
use nix::sys::socket::{send, MsgFlags};

use crate::conn::Conn;

/// How the application is found (`--module`, `--wsgi-file`, `--callable`).
#[derive(Debug)]
pub enum Source<'a> {
    Module(&'a str),
    File(&'a Path),
}

/// The loaded application and the environ's constant parts.
#[derive(Debug)]
pub struct App {
    callable: Py<PyAny>,
    file_wrapper: Py<PyAny>,
    errors: Py<PyAny>,
    /// `wsgi.version`, `(1, 0)`.
    version: Py<PyTuple>,
    multithread: bool,
}

/// Puts a virtualenv's site-packages first on `sys.path`, with `sys.prefix` pointing at
/// it, as the venv's own `activate_this.py` does (uWSGI sets PYTHONHOME instead; with an
/// embedded interpreter that would hide the standard library, which a venv lacks).
fn activate_home(py: Python<'_>, home: &Path) -> PyResult<()> {
    let code = c"
import os, site, sys
def activate(home):
    home = os.path.abspath(home)
    version = 'python%d.%d' % sys.version_info[:2]
    site_packages = os.path.join(home, 'lib', version, 'site-packages')
    if not os.path.isdir(site_packages):
        raise ImportError('--home %s: no %s' % (home, site_packages))
    before = list(sys.path)
    site.addsitedir(site_packages)
    sys.path[:] = [p for p in sys.path if p not in before] + before
    sys.prefix = sys.exec_prefix = home
";
    let module = PyModule::from_code(py, code, c"<uwsgi-wire-wsgi home>", c"_uwsgi_wire_home")?;
    module.getattr("activate")?.call1((home.as_os_str(),))?;
    Ok(())
}

impl App {
    /// Imports the application (on the main thread, before any worker starts).
    pub fn load(
        py: Python<'_>,
        source: Source<'_>,
        callable: &str,
        home: Option<&Path>,
        pythonpath: &[std::path::PathBuf],
        multithread: bool,
    ) -> PyResult<App> {
        let sys = py.import("sys")?;
        let path = sys.getattr("path")?.downcast_into::<PyList>()?;
        if let Some(home) = home {
            activate_home(py, home)?;
        }
        for dir in pythonpath.iter().rev() {
            // A `str` (a `pathlib.Path` on `sys.path` is ignored by the import system).
            path.insert(0, dir.as_os_str())?;
        }
        // Like `python -m`: the current directory (`--chdir`) is importable.
        path.insert(0, "")?;
        let module = match source {
            Source::Module(spec) => {
                let (module, name) = spec.split_once(':').unwrap_or((spec, callable));
                py.import(module)?.getattr(name)?
            }
            Source::File(file) => {
                // uWSGI names the module after the file's path.
                let name: String = file
                    .to_string_lossy()
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                let code = std::fs::read_to_string(file)
                    .map_err(|e| PyOSError::new_err(format!("{}: {e}", file.display())))?;
                let to_c =
                    |s: String| CString::new(s).map_err(|e| PyValueError::new_err(e.to_string()));
                let module = PyModule::from_code(
                    py,
                    &to_c(code)?,
                    &to_c(file.to_string_lossy().into_owned())?,
                    &to_c(format!("uwsgi_file_{name}"))?,
                )?;
                module.getattr(callable)?
            }
        };
        if !module.is_callable() {
            return Err(PyTypeError::new_err("the application is not callable"));
        }
        Ok(App {
            callable: module.unbind(),
            file_wrapper: py.import("wsgiref.util")?.getattr("FileWrapper")?.unbind(),
            errors: sys.getattr("stderr")?.unbind(),
            version: PyTuple::new(py, [1, 0])?.unbind(),
            multithread,
        })
    }

    /// Serves one request: builds the environ, calls the application, streams its
    /// response to `conn`, and always calls the iterable's `close()`. Errors are logged
    /// here; a request the application failed on before its head left gets a 500.
    /// `early` is the body's first bytes, read with the packet.
    pub fn call(
        &self,
        py: Python<'_>,
        request: &Request<'_>,
        body_len: u64,
        early: &[u8],
        conn: Conn,
    ) {
        let vars = request.vars();
        let method = vars.get(b"REQUEST_METHOD").unwrap_or_default();
        let uri = String::from_utf8_lossy(vars.get(b"REQUEST_URI").unwrap_or_default());
        // One connection shared by `wsgi.input` and the response (no `dup` per request).
        let conn = Arc::new(conn);
        let input = Input {
            conn: Arc::clone(&conn),
            remaining: body_len.saturating_sub(u64::try_from(early.len()).unwrap_or(u64::MAX)),
            buf: early.to_vec(),
            pos: 0,
        };
        let response = Response {
            conn: Arc::clone(&conn),
            head: None,
            sent: false,
            head_only: method == b"HEAD",
            content_length: None,
            broken: None,
        };
        let (input, response) = match (Bound::new(py, input), Bound::new(py, response)) {
            (Ok(i), Ok(r)) => (i, r),
            (Err(err), _) | (_, Err(err)) => return err.print(py),
        };
        if let Err(err) = self.run(py, request, &input, &response) {
            let mut r = response.borrow_mut();
            if r.broken.is_some() {
                tracing::info!(uri = %uri, "client gone mid-response: {err}");
            } else {
                tracing::error!(uri = %uri, "the application failed: {err}");
                // The traceback, to the log (stderr), as uWSGI prints it.
                err.print(py);
                if !r.sent {
                    r.head = Some(INTERNAL_ERROR.to_vec());
                    r.head_only = false;
                    let _ = r.send(py, b"Internal Server Error");
                }
            }
        }
        // The body the application left unread is read and dropped: closing a socket
        // with unread bytes resets the connection, and nginx would lose the end of the
        // response. Then the connection ends here, whatever Python objects (a traceback,
        // an application's cache) still hold `wsgi.input` or `start_response`: closed
        // when this is the last handle, else shut down.
        let broken = response.try_borrow().map_or(true, |r| r.broken.is_some());
        let left = input.try_borrow().map_or(0, |i| i.remaining);
        drop((input, response));
        py.allow_threads(|| {
            if left > 0 && !broken {
                let _ = io::copy(&mut Body::new(&mut &*conn, left), &mut io::sink());
            }
            if Arc::strong_count(&conn) > 1 {
                let _ = conn.shutdown();
            }
            drop(conn);
        });
    }

    fn run(
        &self,
        py: Python<'_>,
        request: &Request<'_>,
        input: &Bound<'_, Input>,
        response: &Bound<'_, Response>,
    ) -> PyResult<()> {
        let environ = PyDict::new(py);
        for (key, value) in uwsgi_wire::cgi::environ(&request.vars()) {
            environ.set_item(latin1(py, key), latin1(py, value))?;
        }
        // The constant keys and values made once (interned), not per request.
        environ.set_item(intern!(py, "wsgi.version"), self.version.bind(py))?;
        let scheme = match request.scheme() {
            b"http" => intern!(py, "http").clone(),
            b"https" => intern!(py, "https").clone(),
            other => latin1(py, other),
        };
        environ.set_item(intern!(py, "wsgi.url_scheme"), scheme)?;
        environ.set_item(intern!(py, "wsgi.input"), input)?;
        environ.set_item(intern!(py, "wsgi.errors"), self.errors.bind(py))?;
        environ.set_item(intern!(py, "wsgi.multithread"), self.multithread)?;
        environ.set_item(intern!(py, "wsgi.multiprocess"), false)?;
        environ.set_item(intern!(py, "wsgi.run_once"), false)?;
        environ.set_item(intern!(py, "wsgi.file_wrapper"), self.file_wrapper.bind(py))?;

        let result = self.callable.bind(py).call1((environ, response))?;
        let streamed = match self.sendable(&result) {
            Some((file, offset)) => send_file(py, response, &file, offset),
            None => stream(py, &result, response),
        };
        // PEP 3333: close() is called however the iteration ended (a client gone, an
        // exception), once the response is done with.
        // A list or a tuple (the common answer) has none: no AttributeError made and
        // dropped per request.
        let plain =
            result.is_exact_instance_of::<PyList>() || result.is_exact_instance_of::<PyTuple>();
        let closed = if plain {
            Ok(())
        } else {
            match result.getattr(intern!(py, "close")) {
                Ok(close) => close.call0().map(drop),
                Err(_) => Ok(()),
            }
        };
        streamed?;
        closed?;
        let mut r = response.borrow_mut();
        if !r.sent {
            if r.head.is_none() {
                return Err(PyRuntimeError::new_err(
                    "the application returned without calling start_response()",
                ));
            }
            r.send(py, b"").map_err(PyErr::from)?;
        }
        Ok(())
    }
}

impl App {
    /// The file under a `wsgi.file_wrapper` response, when it can go out with
    /// `sendfile(2)`: a regular file (its `fileno()`), reopened through `/proc/self/fd`
    /// so that the host holds a descriptor of its own (the application may close its
    /// file object meanwhile), with the file object's position (`tell()`), where PEP 3333
    /// says the transmission starts. `None` (the chunks of the iteration instead) for
    /// anything else: another iterable, a file-like object without a descriptor
    /// (`BytesIO`), a pipe, a system without `/proc`.
    fn sendable(&self, result: &Bound<'_, PyAny>) -> Option<(std::fs::File, u64)> {
        if !result.get_type().is(self.file_wrapper.bind(result.py())) {
            return None;
        }
        let filelike = result.getattr("filelike").ok()?;
        let fd: i32 = filelike.call_method0("fileno").ok()?.extract().ok()?;
        let offset: u64 = filelike.call_method0("tell").ok()?.extract().ok()?;
        let file = std::fs::File::open(format!("/proc/self/fd/{fd}")).ok()?;
        file.metadata()
            .is_ok_and(|m| m.is_file())
            .then_some((file, offset))
    }
}

/// A `wsgi.file_wrapper` response over a regular file: the head, then the file from
/// `offset` to its end (at most the `Content-Length` the application set) with
/// `sendfile(2)`, the GIL released, each call bounded by the socket's write timeout.
fn send_file(
    py: Python<'_>,
    response: &Bound<'_, Response>,
    file: &std::fs::File,
    mut offset: u64,
) -> PyResult<()> {
    let mut r = response.borrow_mut();
    if !r.sent && r.head.is_none() {
        return Err(PyRuntimeError::new_err(
            "the application returned a file before calling start_response()",
        ));
    }
    let size = file.metadata().map_err(PyErr::from)?.len();
    let mut left = size.saturating_sub(offset);
    if let Some(length) = r.content_length {
        left = left.min(length);
    }
    if r.head_only || left == 0 {
        return r.send(py, b"").map_err(PyErr::from);
    }
    if let Some(kind) = r.broken {
        return Err(io::Error::new(kind, "the client is gone").into());
    }
    let head = if r.sent { None } else { r.head.take() };
    r.sent = true;
    let conn = &*r.conn;
    let sent = py.allow_threads(|| -> io::Result<()> {
        // The head with MSG_MORE: it leaves with the file's first bytes, not in a
        // segment of its own (a Unix socket ignores the flag).
        // (nix names no MSG_MORE.)
        let more = MsgFlags::from_bits_retain(nix::libc::MSG_MORE);
        let mut head = head.as_deref().unwrap_or_default();
        while !head.is_empty() {
            let n = send(conn.as_raw_fd(), head, more)?;
            head = &head[n..];
        }
        while left > 0 {
            let mut at = i64::try_from(offset).map_err(io::Error::other)?;
            let chunk = usize::try_from(left.min(1 << 30)).unwrap_or(1 << 30);
            match sendfile(conn, file, Some(&mut at), chunk)? {
                // The file is shorter than it was: what is left of it was sent.
                0 => break,
                n => {
                    offset += n as u64;
                    left -= n as u64;
                }
            }
        }
        Ok(())
    });
    if let Err(err) = &sent {
        r.broken = Some(err.kind());
    }
    sent.map_err(PyErr::from)
}

/// Writes each chunk of the response iterable as it is yielded.
fn stream(
    py: Python<'_>,
    result: &Bound<'_, PyAny>,
    response: &Bound<'_, Response>,
) -> PyResult<()> {
    for chunk in result.try_iter()? {
        let chunk = chunk?;
        let chunk = chunk.downcast::<PyBytes>().map_err(|_| {
            PyTypeError::new_err(format!(
                "the response iterable yielded {}, not bytes",
                chunk
                    .get_type()
                    .name()
                    .map_or_else(|_| "?".into(), |n| n.to_string())
            ))
        })?;
        let bytes = chunk.as_bytes();
        if bytes.is_empty() {
            continue;
        }
        let mut r = response.borrow_mut();
        if !r.sent && r.head.is_none() {
            return Err(PyRuntimeError::new_err(
                "the application yielded a body before calling start_response()",
            ));
        }
        r.send(py, bytes).map_err(PyErr::from)?;
    }
    Ok(())
}

const INTERNAL_ERROR: &[u8] =
    b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 21\r\n\r\n";

/// A byte string as PEP 3333's native string: latin-1, one char per byte.
fn latin1<'py>(py: Python<'py>, bytes: &[u8]) -> Bound<'py, PyString> {
    if bytes.is_ascii() {
        // ASCII is valid UTF-8: no re-encoding for the common case.
        return PyString::new(py, std::str::from_utf8(bytes).unwrap_or_default());
    }
    let text: String = bytes.iter().map(|&b| char::from(b)).collect();
    PyString::new(py, &text)
}

/// A native string back to bytes: every char must be latin-1.
fn to_latin1(text: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u8>> {
    let text = text
        .downcast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("{what} must be a str")))?
        .to_cow()?;
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| PyValueError::new_err(format!("{what} {text:?} is not latin-1")))
}

/// `wsgi.input`: the request body, read from the connection as the application asks for
/// it (never buffered whole), ending at `CONTENT_LENGTH`.
#[pyclass(module = "uwsgi_wire_wsgi")]
pub struct Input {
    conn: Arc<Conn>,
    /// Body bytes still in the connection.
    remaining: u64,
    /// Bytes read ahead by `readline`, from `pos`.
    buf: Vec<u8>,
    pos: usize,
}

/// How much `readline` reads from the connection at a time.
const LINE_CHUNK: usize = 8192;

impl Input {
    /// Reads up to `want` more body bytes into `buf` (fewer only at the end); the GIL is
    /// released around the reads.
    fn fill(&mut self, py: Python<'_>, want: usize) -> PyResult<()> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let want = usize::try_from(self.remaining).map_or(want, |left| left.min(want));
        let start = self.buf.len();
        self.buf.resize(start + want, 0);
        let (conn, remaining, buf) = (&mut self.conn, &mut self.remaining, &mut self.buf);
        let filled = py.allow_threads(|| -> io::Result<usize> {
            let mut conn = &**conn;
            let mut body = Body::new(&mut conn, *remaining);
            let mut filled = 0;
            while filled < want {
                let n = body.read(&mut buf[start + filled..])?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            *remaining = body.remaining();
            Ok(filled)
        });
        let filled = filled.inspect_err(|_| self.buf.truncate(start))?;
        self.buf.truncate(start + filled);
        Ok(())
    }

    fn available(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    fn take<'py>(&mut self, py: Python<'py>, n: usize) -> Bound<'py, PyBytes> {
        let n = n.min(self.buf.len() - self.pos);
        let out = PyBytes::new(py, &self.buf[self.pos..self.pos + n]);
        self.pos += n;
        out
    }

    fn line<'py>(
        &mut self,
        py: Python<'py>,
        limit: Option<usize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        loop {
            let have = self.available();
            let within = limit.map_or(have.len(), |l| l.min(have.len()));
            if let Some(at) = have[..within].iter().position(|&b| b == b'\n') {
                return Ok(self.take(py, at + 1));
            }
            if limit.is_some_and(|l| have.len() >= l) || self.remaining == 0 {
                return Ok(self.take(py, within));
            }
            let want = limit.map_or(LINE_CHUNK, |l| (l - have.len()).min(LINE_CHUNK));
            self.fill(py, want)?;
        }
    }
}

/// `None` or a negative size: no limit.
fn limit(size: Option<isize>) -> Option<usize> {
    size.and_then(|s| usize::try_from(s).ok())
}

#[pymethods]
impl Input {
    /// `read(size=-1)`: `size` bytes (fewer only at the end of the body), or the rest.
    #[pyo3(signature = (size = None))]
    fn read<'py>(&mut self, py: Python<'py>, size: Option<isize>) -> PyResult<Bound<'py, PyBytes>> {
        let want = match limit(size) {
            Some(n) => n,
            None => usize::try_from(self.remaining)
                .map_err(|_| PyValueError::new_err("body too large to read at once"))?
                .saturating_add(self.available().len()),
        };
        let have = self.available().len();
        if have < want {
            self.fill(py, want - have)?;
        }
        Ok(self.take(py, want))
    }

    /// `readline(size=-1)`: up to and including the next `\n`, at most `size` bytes.
    #[pyo3(signature = (size = None))]
    fn readline<'py>(
        &mut self,
        py: Python<'py>,
        size: Option<isize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        self.line(py, limit(size))
    }

    /// `readlines(hint=-1)`: the lines, until their total size reaches `hint`.
    #[pyo3(signature = (hint = None))]
    fn readlines<'py>(
        &mut self,
        py: Python<'py>,
        hint: Option<isize>,
    ) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let hint = limit(hint).filter(|&h| h > 0);
        let (mut lines, mut total) = (Vec::new(), 0);
        loop {
            let line = self.line(py, None)?;
            let len = line.as_bytes().len();
            if len == 0 {
                return Ok(lines);
            }
            total += len;
            lines.push(line);
            if hint.is_some_and(|h| total >= h) {
                return Ok(lines);
            }
        }
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let line = self.line(py, None)?;
        Ok((!line.as_bytes().is_empty()).then_some(line))
    }
}

/// `start_response` (the object is the callable) and the `write()` it returns; the
/// response head, held until the first body byte (PEP 3333), then written as the raw
/// HTTP/1.1 head uWSGI writes and nginx reads.
#[pyclass(module = "uwsgi_wire_wsgi")]
pub struct Response {
    conn: Arc<Conn>,
    /// The head `start_response` set, not yet sent.
    head: Option<Vec<u8>>,
    sent: bool,
    /// HEAD: the body is dropped.
    head_only: bool,
    /// The `Content-Length` of the head `start_response` set, if any (a file sent with
    /// `sendfile` stops there).
    content_length: Option<u64>,
    /// The write that failed (the client went away).
    broken: Option<io::ErrorKind>,
}

impl Response {
    /// Writes the pending head (if not sent yet) and `data` in one vectored write, with
    /// the GIL released.
    fn send(&mut self, py: Python<'_>, data: &[u8]) -> io::Result<()> {
        if let Some(kind) = self.broken {
            return Err(io::Error::new(kind, "the client is gone"));
        }
        let head = if self.sent { None } else { self.head.take() };
        self.sent = true;
        let data = if self.head_only { &[][..] } else { data };
        let head = head.as_deref().unwrap_or_default();
        if head.is_empty() && data.is_empty() {
            return Ok(());
        }
        let mut conn = &*self.conn;
        let written = py.allow_threads(|| {
            write_all_vectored(&mut conn, &mut [IoSlice::new(head), IoSlice::new(data)])
        });
        if let Err(err) = &written {
            self.broken = Some(err.kind());
        }
        written
    }
}

fn check_field(bytes: &[u8], what: &str) -> PyResult<()> {
    match bytes.iter().find(|b| matches!(b, b'\r' | b'\n' | b'\0')) {
        // A CR or LF would let the application split the head (or the response).
        Some(b) => Err(PyValueError::new_err(format!(
            "{what} holds the byte {b:#04x}"
        ))),
        None => Ok(()),
    }
}

/// The raw head for `start_response`'s arguments, and its `Content-Length`.
fn encode_head(
    status: &Bound<'_, PyAny>,
    headers: &Bound<'_, PyAny>,
) -> PyResult<(Vec<u8>, Option<u64>)> {
    let status = to_latin1(status, "the status")?;
    check_field(&status, "the status")?;
    if status.len() < 3
        || !status[..3].iter().all(u8::is_ascii_digit)
        || status.get(3).is_some_and(|&b| b != b' ')
    {
        return Err(PyValueError::new_err(format!(
            "the status {:?} is not `NNN reason`",
            String::from_utf8_lossy(&status)
        )));
    }
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(b"HTTP/1.1 ");
    head.extend_from_slice(&status);
    if status.len() == 3 {
        // uWSGI adds the reason to a bare code.
        let reason = std::str::from_utf8(&status)
            .ok()
            .and_then(|s| s.parse::<u16>().ok())
            .and_then(|code| http::StatusCode::from_u16(code).ok())
            .and_then(|code| code.canonical_reason())
            .unwrap_or("Unknown");
        head.push(b' ');
        head.extend_from_slice(reason.as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    let mut content_length = None;
    for header in headers.try_iter()? {
        let header = header?;
        let pair = header
            .downcast::<PyTuple>()
            .ok()
            .filter(|t| t.len() == 2)
            .ok_or_else(|| PyTypeError::new_err("a header must be a (name, value) tuple"))?;
        let name = to_latin1(&pair.get_item(0)?, "a header name")?;
        let value = to_latin1(&pair.get_item(1)?, "a header value")?;
        if name.is_empty() || name.iter().any(|&b| b == b':' || b <= b' ' || b == 0x7f) {
            return Err(PyValueError::new_err(format!(
                "the header name {:?} is not a token",
                String::from_utf8_lossy(&name)
            )));
        }
        check_field(&value, "a header value")?;
        if name.eq_ignore_ascii_case(b"content-length") {
            content_length = std::str::from_utf8(&value)
                .ok()
                .and_then(|v| v.trim().parse().ok());
        }
        head.extend_from_slice(&name);
        head.extend_from_slice(b": ");
        head.extend_from_slice(&value);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    Ok((head, content_length))
}

#[pymethods]
impl Response {
    /// `start_response(status, response_headers, exc_info=None)`: returns `write`.
    #[pyo3(signature = (status, headers, exc_info = None))]
    fn __call__<'py>(
        slf: &Bound<'py, Self>,
        status: &Bound<'py, PyAny>,
        headers: &Bound<'py, PyAny>,
        exc_info: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let exc_info = exc_info.filter(|e| !e.is_none());
        {
            let this = slf.borrow();
            match exc_info {
                // PEP 3333: too late to change the head: re-raise the application's error.
                Some(info) if this.sent => return Err(PyErr::from_value(info.get_item(1)?)),
                None if this.sent || this.head.is_some() => {
                    return Err(PyRuntimeError::new_err(
                        "start_response() called again without exc_info",
                    ))
                }
                _ => {}
            }
        }
        let (head, content_length) = encode_head(status, headers)?;
        let mut this = slf.borrow_mut();
        this.head = Some(head);
        this.content_length = content_length;
        drop(this);
        slf.getattr("write")
    }

    /// `write(data)`: the imperative body API; the data leaves at once.
    fn write(&mut self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let data = data
            .downcast::<PyBytes>()
            .map_err(|_| PyTypeError::new_err("write() takes bytes"))?;
        if !self.sent && self.head.is_none() {
            return Err(PyRuntimeError::new_err("write() before start_response()"));
        }
        self.send(py, data.as_bytes()).map_err(PyErr::from)
    }
}
