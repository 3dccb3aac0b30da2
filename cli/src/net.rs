//! Addresses (`host:port`, `unix:PATH`, a path), connections with a timeout on every
//! wait, the one round trip of `ping`, `rpc` and `signal`, and one-line descriptions of
//! network errors.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use uwsgi_wire::client::Address;
use uwsgi_wire::exchange::{ExchangeErrorKind, Head, Reply};
use uwsgi_wire::io::{write_packet, Body, ClientReader, IncomingReply};
use uwsgi_wire::{io::StreamError, Limits, Packet};

use crate::failure::{fail, reply_error, send_error, Failure};

/// Where to connect or listen, as nginx's `uwsgi_pass` and uWSGI's `--socket` write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    /// `host:port`: TCP. `host` is a name, an IPv4 address or an IPv6 address (with or
    /// without brackets); a name is tried at every address it resolves to, in order.
    Tcp {
        /// The host as given, brackets removed.
        host: String,
        /// The port.
        port: u16,
    },
    /// `unix:PATH`, or any address containing a `/`: a Unix stream socket.
    Unix(PathBuf),
}

/// What the address forms are, for error messages.
const FORMS: &str = "expected host:port, unix:PATH, or a socket path containing '/'";

impl Addr {
    /// Parses an address by the client driver's rule ([`Address`]), then checks what it
    /// leaves to the connect: a socket path that is not empty, a host and a port number.
    pub fn parse(text: &str) -> Result<Addr, String> {
        let Ok(parsed) = text.parse::<Address>();
        let host_port = match parsed {
            Address::Unix(path) if path.as_os_str().is_empty() => {
                return Err(format!("{text:?}: the socket path is empty"))
            }
            Address::Unix(path) => return Ok(Addr::Unix(path)),
            Address::Tcp(host_port) => host_port,
        };
        let Some((host, port)) = host_port.rsplit_once(':') else {
            return Err(format!(
                "{text:?}: no port ({FORMS}; write ./{text} or unix:{text} for a socket file)"
            ));
        };
        let port: u16 = port
            .parse()
            .map_err(|_| format!("{text:?}: invalid port {port:?} ({FORMS})"))?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() {
            return Err(format!("{text:?}: no host ({FORMS})"));
        }
        Ok(Addr::Tcp {
            host: host.to_owned(),
            port,
        })
    }

    /// The TCP port, `None` for a Unix socket.
    pub fn port(&self) -> Option<u16> {
        match self {
            Addr::Tcp { port, .. } => Some(*port),
            Addr::Unix(_) => None,
        }
    }

    /// The `Host` header a client of this address sends: `host:port` (brackets put back
    /// around an IPv6 address), `localhost` for a Unix socket.
    pub fn host_header(&self) -> String {
        match self {
            Addr::Tcp { .. } => self.to_string(),
            Addr::Unix(_) => "localhost".to_owned(),
        }
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Addr::Tcp { host, port } => write!(f, "{host}:{port}"),
            Addr::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// Runs `work` on its own thread and waits at most `timeout` for it: for the waits std
/// offers no timeout for (name resolution, a Unix connect to a full backlog). On a
/// timeout the thread is left behind; the command is about to exit anyway.
fn within<T: Send + 'static>(
    timeout: Duration,
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    match rx.recv_timeout(timeout) {
        Ok(result) => result,
        Err(_) => Err(io::Error::from(io::ErrorKind::TimedOut)),
    }
}

/// Resolves `host:port` to every address it names, in the resolver's order, within
/// `timeout`.
pub fn resolve(host: &str, port: u16, timeout: Duration) -> io::Result<Vec<SocketAddr>> {
    let host = host.to_owned();
    let addrs = within(timeout, move || {
        (host.as_str(), port)
            .to_socket_addrs()
            .map(Iterator::collect::<Vec<_>>)
    })?;
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "the name resolves to no address",
        ));
    }
    Ok(addrs)
}

/// Tries each address in order, each with `timeout`, until one connects; the error is
/// the last address's, naming every address tried when there were several.
pub fn connect_any(addrs: &[SocketAddr], timeout: Duration) -> io::Result<TcpStream> {
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(stream) => return Ok(stream),
            Err(err) => last = Some(err),
        }
    }
    let err = last.unwrap_or_else(|| io::Error::from(io::ErrorKind::NotFound));
    if addrs.len() < 2 {
        return Err(err);
    }
    let tried: Vec<String> = addrs.iter().map(SocketAddr::to_string).collect();
    Err(io::Error::new(
        err.kind(),
        format!("{} (tried {})", describe(&err, timeout), tried.join(", ")),
    ))
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
    /// Connects to `addr`: `timeout` bounds the name resolution, the connect (to each
    /// address a name resolves to) and, once connected, every read and write.
    pub fn connect(addr: &Addr, timeout: Duration) -> io::Result<Stream> {
        let stream = match addr {
            Addr::Tcp { host, port } => {
                let addrs = resolve(host, *port, timeout)?;
                Stream::Tcp(connect_any(&addrs, timeout)?)
            }
            #[cfg(unix)]
            Addr::Unix(path) => {
                let path = path.clone();
                Stream::Unix(within(timeout, move || UnixStream::connect(path))?)
            }
            #[cfg(not(unix))]
            Addr::Unix(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "Unix sockets need a Unix system",
                ))
            }
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

    /// The local address of a TCP connection; `None` for Unix sockets.
    pub fn local(&self) -> Option<SocketAddr> {
        match self {
            Stream::Tcp(s) => s.local_addr().ok(),
            #[cfg(unix)]
            Stream::Unix(_) => None,
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

/// Connects to `addr` as [`Stream::connect`] does; its error in one line naming `addr`.
pub fn connect(addr: &Addr, timeout: Duration) -> Result<Stream, Failure> {
    Stream::connect(addr, timeout).map_err(|e| fail(format!("{addr}: {}", describe(&e, timeout))))
}

/// The exchange of `ping`, `rpc` and `signal`: connects to `addr`, sends `packet` (the
/// `what` of an error), reads the packet uWSGI answers it with and hands it to `read`
/// with the bytes that follow it. `timeout` bounds every wait. `max_body` is `None`
/// when nothing follows the reply packet, else the `--max-body` given, which a reply
/// over it names.
pub fn round_trip<T>(
    addr: &Addr,
    timeout: Duration,
    what: &str,
    packet: &Packet<'_>,
    max_body: Option<u64>,
    read: impl FnOnce(Packet<'_>, Body<'_, Stream>) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let mut stream = connect(addr, timeout)?;
    write_packet(&mut stream, packet).map_err(|e| send_error(addr, what, &e, timeout))?;
    // Within the limit, checked before a byte of the body is read.
    let mut reader = ClientReader::new(stream, Limits::new().max_body(max_body.unwrap_or(0)));
    let IncomingReply { head, body } = reader.read_reply(Reply::to(packet)).map_err(|e| {
        let too_large = matches!(&e, StreamError::Exchange(err)
                if matches!(err.kind(), ExchangeErrorKind::BodyTooLarge { .. }));
        let mut failure = reply_error(addr, e, timeout);
        if too_large && max_body.is_some() {
            failure.message += " (raise it with --max-body)";
        }
        failure
    })?;
    let Head::Packet(reply) = head else {
        return Err(fail(format!("{addr}: invalid reply: not a packet")));
    };
    read(reply, body)
}

/// True for the errors a socket timeout gives: `TimedOut` (a connect), `WouldBlock` (a
/// read or write past `SO_RCVTIMEO` / `SO_SNDTIMEO` on Unix).
pub fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

/// An I/O error in a few lowercase words, without std's `(os error N)`: `connection
/// refused`, `timed out after 3 s`, `no such file or directory`.
pub fn describe(err: &io::Error, timeout: Duration) -> String {
    if is_timeout(err) && err.get_ref().is_none() {
        return format!("timed out after {} s", timeout.as_secs_f64());
    }
    let text = err.to_string();
    let text = match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => &text[..at],
        _ => text.as_str(),
    };
    let mut chars = text.chars();
    match chars.next() {
        // Lowercase a leading capital unless the word is an acronym ("IO", "TLS").
        Some(first) if !chars.next().is_some_and(char::is_uppercase) => first
            .to_lowercase()
            .chain(text[first.len_utf8()..].chars())
            .collect(),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn tcp(host: &str, port: u16) -> Addr {
        Addr::Tcp {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn address_forms() {
        assert_eq!(Addr::parse("127.0.0.1:3031"), Ok(tcp("127.0.0.1", 3031)));
        assert_eq!(Addr::parse("localhost:3031"), Ok(tcp("localhost", 3031)));
        assert_eq!(Addr::parse("[::1]:3031"), Ok(tcp("::1", 3031)));
        assert_eq!(Addr::parse("::1:3031"), Ok(tcp("::1", 3031)));
        assert_eq!(
            Addr::parse("unix:/run/uwsgi.sock"),
            Ok(Addr::Unix("/run/uwsgi.sock".into()))
        );
        assert_eq!(
            Addr::parse("unix:relative.sock"),
            Ok(Addr::Unix("relative.sock".into()))
        );
        assert_eq!(
            Addr::parse("/run/uwsgi.sock"),
            Ok(Addr::Unix("/run/uwsgi.sock".into()))
        );
        assert_eq!(
            Addr::parse("./uwsgi.sock"),
            Ok(Addr::Unix("./uwsgi.sock".into()))
        );
        // A path may hold a colon.
        assert_eq!(Addr::parse("/tmp/a:1"), Ok(Addr::Unix("/tmp/a:1".into())));
        for bad in [
            "unix:",
            "uwsgi.sock",
            "localhost",
            "host:",
            "host:port",
            ":3031",
            "h:65536",
        ] {
            assert!(Addr::parse(bad).is_err(), "{bad}");
        }
        assert!(Addr::parse("uwsgi.sock")
            .unwrap_err()
            .contains("write ./uwsgi.sock or unix:uwsgi.sock"));
    }

    #[test]
    fn addresses_print_back_in_a_form_that_parses() {
        for text in [
            "127.0.0.1:3031",
            "localhost:1",
            "[::1]:3031",
            "unix:/tmp/x.sock",
        ] {
            let addr = Addr::parse(text).unwrap();
            assert_eq!(addr.to_string(), text);
            assert_eq!(Addr::parse(&addr.to_string()), Ok(addr));
        }
        assert_eq!(
            Addr::parse("/tmp/x.sock").unwrap().to_string(),
            "unix:/tmp/x.sock"
        );
        assert_eq!(Addr::parse("[::1]:80").unwrap().host_header(), "[::1]:80");
        assert_eq!(Addr::parse("unix:/x/y").unwrap().host_header(), "localhost");
        assert_eq!(Addr::parse("unix:/x/y").unwrap().port(), None);
    }

    #[test]
    fn connect_tries_every_address_in_order() {
        let open = TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let closed_addr = closed.local_addr().unwrap();
        drop(closed);
        let timeout = Duration::from_secs(5);
        let stream = connect_any(&[closed_addr, open.local_addr().unwrap()], timeout).unwrap();
        assert_eq!(stream.peer_addr().unwrap(), open.local_addr().unwrap());

        let err = connect_any(&[closed_addr, closed_addr], timeout).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        assert_eq!(
            describe(&err, timeout),
            format!("connection refused (tried {closed_addr}, {closed_addr})")
        );
        let err = connect_any(&[closed_addr], timeout).unwrap_err();
        assert_eq!(describe(&err, timeout), "connection refused");
    }

    #[test]
    fn a_name_connects_through_each_address_it_resolves_to() {
        let open = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = open.local_addr().unwrap().port();
        let addr = Addr::parse(&format!("localhost:{port}")).unwrap();
        let stream = Stream::connect(&addr, Duration::from_secs(5)).unwrap();
        assert!(stream.local().is_some());
    }

    #[test]
    fn errors_read_as_a_few_words() {
        let timeout = Duration::from_millis(1500);
        #[cfg(target_os = "linux")]
        {
            let refused = io::Error::from_raw_os_error(111); // ECONNREFUSED
            assert_eq!(describe(&refused, timeout), "connection refused");
        }
        let timed_out = io::Error::from(io::ErrorKind::WouldBlock);
        assert_eq!(describe(&timed_out, timeout), "timed out after 1.5 s");
        let custom = io::Error::other("IO trouble");
        assert_eq!(describe(&custom, timeout), "IO trouble");
        let custom = io::Error::other("Broken");
        assert_eq!(describe(&custom, timeout), "broken");
    }
}
