//! A TCP connection registered with the runtime's reactor only once it would first wait.
//!
//! Behind nginx a request is whole in the socket when the connection is accepted
//! (`TCP_DEFER_ACCEPT` makes sure of it), and its answer fits the socket's send buffer:
//! such a connection is read, answered and closed without ever waiting. Registering it
//! with epoll would cost two `epoll_ctl` calls and tokio's bookkeeping for nothing
//! (2.7 µs of the 38 µs of CPU a request cost, benches/e2e/RESULTS.md). Until a read or
//! a write would block, this stream calls the non-blocking socket directly; from then on
//! it is a plain [`tokio::net::TcpStream`].

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The most bytes the first read of a connection asks for.
const FIRST_READ: usize = 4096;

/// A TCP connection that registers itself with the reactor when it would first block.
#[derive(Debug)]
pub(super) enum LazyTcp {
    /// Not registered: calls go straight to the non-blocking socket.
    Plain {
        stream: std::net::TcpStream,
        /// A read came back short or would have blocked: the next one would find
        /// nothing, so it is not made (tokio clears a socket's readiness the same way).
        drained: bool,
        /// No read was made yet.
        first: bool,
        /// A read returned pending once (and woke its task at once): if polled again,
        /// the stream registers and waits. A caller that only peeks (polls once and
        /// drops the read, as after an answer) never pays for the registration.
        yielded: bool,
    },
    /// Registered with the reactor, as any tokio stream.
    Registered(TcpStream),
    /// The registration failed (the error was returned): every call fails.
    Failed,
}

impl LazyTcp {
    /// `stream` must be in non-blocking mode.
    pub(super) fn new(stream: std::net::TcpStream) -> Self {
        LazyTcp::Plain {
            stream,
            drained: false,
            first: true,
            yielded: false,
        }
    }

    /// Registers the socket with the reactor (once); after this, every call goes through
    /// tokio's stream, which waits for readiness.
    fn registered(&mut self) -> io::Result<&mut TcpStream> {
        if let LazyTcp::Plain { .. } = self {
            if let LazyTcp::Plain { stream, .. } = std::mem::replace(self, LazyTcp::Failed) {
                *self = LazyTcp::Registered(TcpStream::from_std(stream)?);
            }
        }
        match self {
            LazyTcp::Registered(stream) => Ok(stream),
            _ => Err(io::Error::other(
                "the connection could not wait for readiness",
            )),
        }
    }

    /// Runs `op` on the unregistered socket; `None` when it would block (the caller then
    /// registers and waits), retrying on `EINTR`.
    fn plain<T>(
        stream: &std::net::TcpStream,
        mut op: impl FnMut(&std::net::TcpStream) -> io::Result<T>,
    ) -> Option<io::Result<T>> {
        loop {
            match op(stream) {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return None,
                done => return Some(done),
            }
        }
    }
}

thread_local! {
    /// Where a plain read lands before its bytes are copied into the caller's buffer: a
    /// safe read needs initialized memory, and the codec's buffer is fresh (never
    /// initialized) for every connection. Zeroing the 4 KiB a first read asks for costs
    /// more than copying the few hundred bytes a request packet is (4.1k of the 22.9k
    /// instructions a request cost, benches/e2e/RESULTS.md); this buffer is zeroed once
    /// per thread and stays in cache.
    static SCRATCH: RefCell<[u8; FIRST_READ]> = const { RefCell::new([0; FIRST_READ]) };
}

/// Reads up to `want` bytes from the unregistered socket into `buf`: straight into it
/// when that room is initialized already, else through [`SCRATCH`] when it fits there,
/// else into room zeroed first. `Some(Ok(short))` says whether it read less than asked
/// (the socket has nothing more), `None` that it would block.
fn read_plain(
    stream: &std::net::TcpStream,
    buf: &mut ReadBuf<'_>,
    want: usize,
) -> Option<io::Result<bool>> {
    let ready = buf.initialized().len() - buf.filled().len();
    if want > ready && want <= FIRST_READ {
        // `None` when the scratch is out of reach (the thread is exiting; nothing in
        // here reaches this function again, so it is never borrowed twice): the read
        // then zeroes its room instead.
        let through_scratch = SCRATCH
            .try_with(|scratch| {
                let mut scratch = scratch.try_borrow_mut().ok()?;
                let scratch = scratch.get_mut(..want)?;
                Some(
                    LazyTcp::plain(stream, |mut stream| stream.read(scratch)).map(|read| {
                        read.map(|n| {
                            buf.put_slice(&scratch[..n]);
                            n < want
                        })
                    }),
                )
            })
            .ok()
            .flatten();
        if let Some(done) = through_scratch {
            return done;
        }
    }
    let unfilled = buf.initialize_unfilled_to(want);
    let read = LazyTcp::plain(stream, |mut stream| stream.read(unfilled))?;
    Some(read.map(|n| {
        buf.advance(n);
        n < want
    }))
}

impl AsyncRead for LazyTcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let LazyTcp::Plain {
            stream,
            drained,
            first,
            yielded,
        } = this
        {
            if !*drained {
                // The first read asks for 4 KiB (uWSGI's default `buffer-size`, enough
                // for a request packet): a full read is followed by another, so a larger
                // packet takes one more system call; later reads ask for all the room
                // there is.
                let want = if *first {
                    *first = false;
                    buf.remaining().min(FIRST_READ)
                } else {
                    buf.remaining()
                };
                match read_plain(stream, buf, want) {
                    Some(Ok(short)) => {
                        *drained = short;
                        return Poll::Ready(Ok(()));
                    }
                    Some(Err(err)) => return Poll::Ready(Err(err)),
                    None => *drained = true,
                }
            }
            if !*yielded {
                *yielded = true;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
        Pin::new(this.registered()?).poll_read(cx, buf)
    }
}

impl AsyncWrite for LazyTcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let LazyTcp::Plain { stream, .. } = this {
            if let Some(done) = Self::plain(stream, |mut stream| stream.write(buf)) {
                return Poll::Ready(done);
            }
        }
        Pin::new(this.registered()?).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let LazyTcp::Plain { stream, .. } = this {
            if let Some(done) = Self::plain(stream, |mut stream| stream.write_vectored(bufs)) {
                return Poll::Ready(done);
            }
        }
        Pin::new(this.registered()?).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A TCP socket has no user-space buffer to flush.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            LazyTcp::Plain { stream, .. } => Poll::Ready(match stream.shutdown(Shutdown::Write) {
                Err(err) if err.kind() == io::ErrorKind::NotConnected => Ok(()),
                done => done,
            }),
            LazyTcp::Registered(stream) => {
                ready!(Pin::new(stream).poll_shutdown(cx))?;
                Poll::Ready(Ok(()))
            }
            LazyTcp::Failed => Poll::Ready(Ok(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};
    use std::time::Duration;

    use futures_util::FutureExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A connected pair: the lazy (server) end, non-blocking, and the client's std end.
    fn pair() -> (LazyTcp, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        (LazyTcp::new(server), client)
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn bytes_already_in_are_read_and_answered_without_registering() {
        runtime().block_on(async {
            let (mut lazy, mut client) = pair();
            client.write_all(b"request").unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            let mut buf = [0u8; 64];
            let n = lazy.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"request");
            // A peek after a short read finds nothing and makes no system call: pending.
            assert!(lazy.read(&mut buf).now_or_never().is_none());
            lazy.write_all(b"answer").await.unwrap();
            assert!(matches!(lazy, LazyTcp::Plain { .. }), "{lazy:?}");
            lazy.shutdown().await.unwrap();
            let mut answer = Vec::new();
            client.read_to_end(&mut answer).unwrap();
            assert_eq!(answer, b"answer");
        });
    }

    #[test]
    fn the_first_read_asks_for_4_kib_and_the_next_one_for_the_rest() {
        runtime().block_on(async {
            let (mut lazy, mut client) = pair();
            let sent: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
            client.write_all(&sent).unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            let mut buf = vec![0u8; 8192];
            let first = lazy.read(&mut buf).await.unwrap();
            assert_eq!(first, FIRST_READ);
            let mut got = buf[..first].to_vec();
            let second = lazy.read(&mut buf).await.unwrap();
            assert_eq!(second, sent.len() - FIRST_READ);
            got.extend_from_slice(&buf[..second]);
            assert_eq!(got, sent);
            assert!(matches!(lazy, LazyTcp::Plain { .. }), "{lazy:?}");
        });
    }

    #[test]
    fn reads_into_fresh_memory_give_the_bytes_as_sent() {
        runtime().block_on(async {
            let (mut lazy, mut client) = pair();
            let sent: Vec<u8> = (0..10_000u32).map(|i| (i % 241) as u8).collect();
            client.write_all(&sent).unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            // The codec's buffer: capacity, nothing initialized (through the scratch).
            let mut got = bytes::BytesMut::with_capacity(8192);
            assert_eq!(lazy.read_buf(&mut got).await.unwrap(), FIRST_READ);
            assert_eq!(lazy.read_buf(&mut got).await.unwrap(), 8192 - FIRST_READ);
            // More room than the scratch: zeroed, read in place.
            got.reserve(16_384);
            assert_eq!(lazy.read_buf(&mut got).await.unwrap(), 10_000 - 8192);
            assert_eq!(&got[..], &sent[..]);
            assert!(matches!(lazy, LazyTcp::Plain { .. }), "{lazy:?}");
        });
    }

    #[test]
    fn a_read_that_must_wait_registers_and_is_woken_by_the_bytes() {
        runtime().block_on(async {
            let (mut lazy, client) = pair();
            let writer = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(100));
                (&client).write_all(b"late").unwrap();
                client
            });
            let mut buf = [0u8; 64];
            let n = tokio::time::timeout(Duration::from_secs(5), lazy.read(&mut buf))
                .await
                .expect("the late bytes wake the read")
                .unwrap();
            assert_eq!(&buf[..n], b"late");
            assert!(matches!(lazy, LazyTcp::Registered(_)), "{lazy:?}");
            let mut client = writer.join().unwrap();
            drop(lazy);
            let mut rest = Vec::new();
            client.read_to_end(&mut rest).unwrap();
            assert!(rest.is_empty());
        });
    }

    #[test]
    fn the_end_of_the_stream_reads_as_zero_bytes() {
        runtime().block_on(async {
            let (mut lazy, client) = pair();
            (&client).write_all(b"last").unwrap();
            drop(client);
            let mut all = Vec::new();
            tokio::time::timeout(Duration::from_secs(5), lazy.read_to_end(&mut all))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(all, b"last");
        });
    }
}
