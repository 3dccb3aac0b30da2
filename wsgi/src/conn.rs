//! The listening sockets (TCP or Unix, as uWSGI's `--socket` names them) and their
//! connections.

use std::io::{self, IoSlice, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::Duration;

use nix::libc;
use nix::sys::socket::{setsockopt, sockopt};
use nix::sys::time::{TimeVal, TimeValLike};
// The macro names itself and its helper unqualified.
use nix::{setsockopt_impl, sockopt_impl};

/// How long an `accept()` waits before it returns `WouldBlock`, so that a worker told to
/// stop sees it within this time without giving up the blocking, wake-one `accept()`
/// (no poll before each accept, no thundering herd).
const ACCEPT_WAIT: Duration = Duration::from_millis(200);

sockopt_impl!(
    /// `TCP_DEFER_ACCEPT` (Linux), which nix does not name.
    DeferAccept,
    SetOnly,
    libc::IPPROTO_TCP,
    libc::TCP_DEFER_ACCEPT,
    i32
);

/// The seconds `TCP_DEFER_ACCEPT` waits for a request's first bytes: uWSGI's value.
const DEFER_ACCEPT_SECS: i32 = 4;

/// A bound `--socket`.
#[derive(Debug)]
pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

impl Listener {
    /// Binds `spec` as uWSGI reads it: with a `:` it is TCP `host:port` (`:port` for
    /// every IPv4 address), else a Unix socket path (a stale socket file there is
    /// removed first, as uWSGI does).
    ///
    /// A TCP socket gets `TCP_DEFER_ACCEPT`, as uWSGI sets it: `accept` returns a
    /// connection once its request has arrived, so a worker never blocks (and is never
    /// switched out) waiting for the packet it just accepted.
    pub fn bind(spec: &str, mode: Option<u32>) -> io::Result<Listener> {
        if let Some((host, port)) = spec.rsplit_once(':') {
            let host = if host.is_empty() { "0.0.0.0" } else { host };
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let addrs: Vec<_> = (host, port.parse::<u16>().map_err(io::Error::other)?)
                .to_socket_addrs()?
                .collect();
            let listener = TcpListener::bind(&addrs[..])?;
            accept_wait(&listener)?;
            setsockopt(&listener, DeferAccept, &DEFER_ACCEPT_SECS)?;
            return Ok(Listener::Tcp(listener));
        }
        let path = PathBuf::from(spec);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_socket()) {
            std::fs::remove_file(&path)?;
        }
        let listener = UnixListener::bind(&path)?;
        accept_wait(&listener)?;
        if let Some(mode) = mode {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
        }
        Ok(Listener::Unix(listener, path))
    }

    /// Bounds every write on the connections this listener accepts. A TCP listener
    /// takes `SO_SNDTIMEO` itself, which Linux copies to each socket it accepts (no
    /// system call per connection); its `SO_RCVTIMEO` is the accept wait (copied too),
    /// so [`Conn::set_timeouts`] sets each TCP connection's read timeout, and a Unix
    /// connection's both (it inherits neither).
    pub fn set_timeouts(&self, timeout: Duration) -> io::Result<()> {
        if let Listener::Tcp(listener) = self {
            let secs = i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX);
            setsockopt(listener, sockopt::SendTimeout, &TimeVal::new(secs, 0))?;
        }
        Ok(())
    }

    /// The next connection, or `WouldBlock` after `ACCEPT_WAIT` without one.
    pub fn accept(&self) -> io::Result<Conn> {
        match self {
            Listener::Tcp(l) => l.accept().map(|(s, _)| Conn::Tcp(s)),
            Listener::Unix(l, _) => l.accept().map(|(s, _)| Conn::Unix(s)),
        }
    }

    /// What to log: the address or the path.
    pub fn describe(&self) -> String {
        match self {
            Listener::Tcp(l) => l
                .local_addr()
                .map_or_else(|e| e.to_string(), |a| a.to_string()),
            Listener::Unix(_, path) => path.display().to_string(),
        }
    }

    /// The socket file a Unix listener leaves behind (for `--vacuum`).
    pub fn path(&self) -> Option<&PathBuf> {
        match self {
            Listener::Tcp(_) => None,
            Listener::Unix(_, path) => Some(path),
        }
    }
}

/// Bounds `accept()` on `listener` to `ACCEPT_WAIT` (Linux applies `SO_RCVTIMEO` of a
/// listening socket to `accept`); the option is the socket's, so every process that
/// inherits it gets it.
fn accept_wait(listener: &impl AsFd) -> io::Result<()> {
    let wait = TimeVal::milliseconds(i64::try_from(ACCEPT_WAIT.as_millis()).unwrap_or(i64::MAX));
    setsockopt(listener, sockopt::ReceiveTimeout, &wait).map_err(io::Error::from)
}

/// One accepted connection.
#[derive(Debug)]
pub enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Conn {
    /// Bounds every read and write: a Unix connection's; a TCP connection's reads (its
    /// writes are bounded from its listener, [`Listener::set_timeouts`]).
    pub fn set_timeouts(&self, timeout: Duration) -> io::Result<()> {
        match self {
            Conn::Tcp(s) => s.set_read_timeout(Some(timeout)),
            Conn::Unix(s) => {
                s.set_read_timeout(Some(timeout))?;
                s.set_write_timeout(Some(timeout))
            }
        }
    }

    /// Ends the connection (both directions) for every handle on it.
    pub fn shutdown(&self) -> io::Result<()> {
        match self {
            Conn::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
            Conn::Unix(s) => s.shutdown(std::net::Shutdown::Both),
        }
    }
}

impl AsFd for Conn {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Conn::Tcp(s) => s.as_fd(),
            Conn::Unix(s) => s.as_fd(),
        }
    }
}

impl AsRawFd for Conn {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

// Through a shared reference, as std's streams allow: `wsgi.input` reads and the response
// writes through one `Arc<Conn>` (no `dup` per request).
impl Read for &Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => (&*s).read(buf),
            Conn::Unix(s) => (&*s).read(buf),
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Write for &Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => (&*s).write(buf),
            Conn::Unix(s) => (&*s).write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => (&*s).write_vectored(bufs),
            Conn::Unix(s) => (&*s).write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
