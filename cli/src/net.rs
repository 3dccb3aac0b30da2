//! Connections to `host:port` or a Unix socket path.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
#[cfg(unix)]
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::Duration;

/// An address is a Unix socket path when it contains a `/`, else `host:port`.
pub fn is_unix(addr: &str) -> bool {
    addr.contains('/')
}

/// A connected stream of either kind.
pub enum Stream {
    /// TCP.
    Tcp(TcpStream),
    /// A Unix stream socket.
    #[cfg(unix)]
    Unix(UnixStream),
}

impl Stream {
    /// Connects to `addr`, with `timeout` for the connect and for every read and write.
    pub fn connect(addr: &str, timeout: Duration) -> io::Result<Stream> {
        let stream = if is_unix(addr) {
            #[cfg(unix)]
            {
                Stream::Unix(UnixStream::connect(addr)?)
            }
            #[cfg(not(unix))]
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "Unix sockets need a Unix system",
            ));
        } else {
            let target = addr.to_socket_addrs()?.next().ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("{addr}: no address"))
            })?;
            Stream::Tcp(TcpStream::connect_timeout(&target, timeout)?)
        };
        stream.set_timeout(Some(timeout))?;
        Ok(stream)
    }

    /// Sets the read and write timeouts.
    pub fn set_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => {
                s.set_read_timeout(timeout)?;
                s.set_write_timeout(timeout)
            }
            #[cfg(unix)]
            Stream::Unix(s) => {
                s.set_read_timeout(timeout)?;
                s.set_write_timeout(timeout)
            }
        }
    }

    /// The local address as `(ip, port)` for TCP; `None` for Unix sockets.
    pub fn local(&self) -> Option<(String, u16)> {
        match self {
            Stream::Tcp(s) => s.local_addr().ok().map(|a| (a.ip().to_string(), a.port())),
            #[cfg(unix)]
            Stream::Unix(_) => None,
        }
    }

    /// The peer, for log lines.
    pub fn peer(&self) -> String {
        match self {
            Stream::Tcp(s) => s.peer_addr().map_or_else(|_| "?".into(), |a| a.to_string()),
            #[cfg(unix)]
            Stream::Unix(_) => "unix".into(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            #[cfg(unix)]
            Stream::Unix(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            #[cfg(unix)]
            Stream::Unix(s) => s.flush(),
        }
    }
}

/// A listening socket of either kind.
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// A Unix stream socket (the path is removed when the listener is dropped).
    #[cfg(unix)]
    Unix(UnixListener, std::path::PathBuf),
}

impl Listener {
    /// Binds `addr`. A Unix socket path must not exist yet.
    pub fn bind(addr: &str) -> io::Result<Listener> {
        if is_unix(addr) {
            #[cfg(unix)]
            return Ok(Listener::Unix(
                UnixListener::bind(addr)?,
                Path::new(addr).to_path_buf(),
            ));
            #[cfg(not(unix))]
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "Unix sockets need a Unix system",
            ));
        }
        Ok(Listener::Tcp(TcpListener::bind(addr)?))
    }

    /// The bound address, for the "listening on" line.
    pub fn local(&self) -> String {
        match self {
            Listener::Tcp(l) => l
                .local_addr()
                .map_or_else(|_| "?".into(), |a| a.to_string()),
            #[cfg(unix)]
            Listener::Unix(_, path) => path.display().to_string(),
        }
    }

    /// Waits for the next connection.
    pub fn accept(&self) -> io::Result<Stream> {
        Ok(match self {
            Listener::Tcp(l) => Stream::Tcp(l.accept()?.0),
            #[cfg(unix)]
            Listener::Unix(l, _) => Stream::Unix(l.accept()?.0),
        })
    }
}

#[cfg(unix)]
impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}
