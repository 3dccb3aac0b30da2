//! The async adapter (`uwsgi_wire::codec`): real captures split at every byte, pending
//! reads, pipelining, bounded memory with a multi-MiB body, back-pressure, cancellation,
//! early closes, real TCP and Unix sockets.
#![cfg(feature = "tokio")]

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_util::codec::{Decoder, Encoder, FramedRead, FramedWrite};
use uwsgi_wire::codec::{ClientCodec, Frame, ServerCodec};
use uwsgi_wire::exchange::{request_body_len, ExchangeErrorKind};
use uwsgi_wire::io::StreamError;
use uwsgi_wire::owned::OwnedPacket;
use uwsgi_wire::{Limits, Modifier1, Packet, ParseErrorKind, Payload, VarsBuilder};

#[path = "support/captures.rs"]
mod captures;
use captures::{packet_error, vector, Expected};

/// Captured from nginx 1.22 (POST with an 11-byte body, GET, duplicate headers, a
/// chunked upload de-chunked to a 32-byte body), Apache 2.4 (POST), and a ping from
/// `uwsgi --ping`: one pipelined stream.
fn pipelined() -> (Vec<u8>, Expected) {
    captures::pipelined(&[
        "nginx-post.bin",
        "nginx-get.bin",
        "nginx-dup-headers.bin",
        "uwsgi-ping.bin",
        "nginx-chunked.bin",
        "apache-post.bin",
    ])
}

/// Folds frames back into (packet, body) pairs, checking the Head -> Body* -> End order.
fn collect(frames: Vec<Frame<OwnedPacket>>) -> Expected {
    let mut out: Expected = Vec::new();
    let mut open = false;
    for frame in frames {
        match frame {
            Frame::Head(packet) => {
                assert!(!open, "Head inside a packet");
                open = true;
                out.push((packet.as_bytes().to_vec(), Vec::new()));
            }
            Frame::Body(chunk) => {
                assert!(open && !chunk.is_empty(), "Body outside a packet, or empty");
                out.last_mut().unwrap().1.extend_from_slice(&chunk);
            }
            Frame::End => {
                assert!(open, "End outside a packet");
                open = false;
            }
        }
    }
    assert!(!open, "missing End");
    out
}

/// Decodes everything `decode` gives from `buf`.
fn drain(codec: &mut ServerCodec, buf: &mut BytesMut, out: &mut Vec<Frame<OwnedPacket>>) {
    while let Some(frame) = codec.decode(buf).unwrap() {
        out.push(frame);
    }
}

#[test]
fn every_split_through_the_decoder() {
    let (wire, expected) = pipelined();
    for at in 0..=wire.len() {
        let mut codec = ServerCodec::default();
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        buf.extend_from_slice(&wire[..at]);
        drain(&mut codec, &mut buf, &mut frames);
        buf.extend_from_slice(&wire[at..]);
        drain(&mut codec, &mut buf, &mut frames);
        assert_eq!(codec.decode_eof(&mut buf).unwrap(), None, "split at {at}");
        assert_eq!(collect(frames), expected, "split at {at}");
    }
}

#[test]
fn byte_by_byte_through_the_decoder() {
    let (wire, expected) = pipelined();
    let mut codec = ServerCodec::default();
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for &b in &wire {
        buf.extend_from_slice(&[b]);
        drain(&mut codec, &mut buf, &mut frames);
    }
    // One-byte body chunks: nothing is held back waiting for more.
    let body_frames = frames
        .iter()
        .filter(|f| matches!(f, Frame::Body(_)))
        .count();
    assert_eq!(
        body_frames,
        expected.iter().map(|(_, b)| b.len()).sum::<usize>()
    );
    assert_eq!(collect(frames), expected);
}

#[test]
fn heads_share_the_read_buffer() {
    let wire = vector("nginx-post.bin"); // captured from nginx 1.22
    let mut buf = BytesMut::from(&wire[..]);
    let start = buf.as_ptr();
    let Some(Frame::Head(head)) = ServerCodec::default().decode(&mut buf).unwrap() else {
        panic!()
    };
    // The head is the first bytes of the read buffer itself, and so are its values.
    assert_eq!(head.as_bytes().as_ptr(), start);
    let owned = head.owned_vars().unwrap();
    let method = owned.get(b"REQUEST_METHOD").unwrap();
    assert_eq!(method, "POST");
    assert!(head.as_bytes().as_ptr_range().contains(&method.as_ptr()));
}

#[test]
fn a_refused_request_leaves_the_read_buffer_as_it_was() {
    // The 16-var GET captured from nginx 1.22, then a request whose CONTENT_LENGTH is not
    // a number: the first decodes; the second is refused and consumes nothing.
    let mut bad = VarsBuilder::default();
    bad.push("CONTENT_LENGTH", "5abc").unwrap();
    bad.push("REQUEST_METHOD", "POST").unwrap();
    let mut wire = vector("nginx-get.bin");
    let good_len = wire.len();
    Packet::new(Modifier1::WSGI, 0, Payload::Vars(bad.vars()))
        .unwrap()
        .encode_to(&mut wire)
        .unwrap();
    let mut buf = BytesMut::from(&wire[..]);
    let mut codec = ServerCodec::default();
    assert!(matches!(codec.decode(&mut buf), Ok(Some(Frame::Head(_)))));
    assert!(matches!(codec.decode(&mut buf), Ok(Some(Frame::End))));
    let err = codec.decode(&mut buf).unwrap_err();
    assert_eq!(err.status_code(), Some(400), "{err}");
    assert_eq!(&buf[..], &wire[good_len..]);
}

/// Returns one chunk per `poll_read`, with a `Pending` (and an immediate wake-up)
/// before each, like a socket whose data trickles in.
struct Trickle {
    chunks: Vec<Vec<u8>>,
    next: usize,
    pending: bool,
}

impl AsyncRead for Trickle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.pending {
            self.pending = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.pending = false;
        // An empty chunk would read as the end of the stream: skip it.
        while self.chunks.get(self.next).is_some_and(Vec::is_empty) {
            self.next += 1;
        }
        let next = self.next;
        if let Some(chunk) = self.chunks.get_mut(next) {
            let n = chunk.len().min(buf.remaining());
            buf.put_slice(&chunk[..n]);
            chunk.drain(..n);
            if chunk.is_empty() {
                self.next += 1;
            }
        }
        Poll::Ready(Ok(()))
    }
}

async fn read_all(reader: impl AsyncRead + Unpin, codec: ServerCodec) -> Expected {
    let mut framed = FramedRead::new(reader, codec);
    let mut frames = Vec::new();
    while let Some(frame) = framed.next().await {
        frames.push(frame.unwrap());
    }
    collect(frames)
}

#[tokio::test]
async fn every_split_through_framed_read_with_pending_reads() {
    let (wire, expected) = pipelined();
    for at in 0..=wire.len() {
        let reader = Trickle {
            chunks: vec![wire[..at].to_vec(), wire[at..].to_vec()],
            next: 0,
            pending: false,
        };
        assert_eq!(
            read_all(reader, ServerCodec::default()).await,
            expected,
            "split at {at}"
        );
    }
    let bytewise = Trickle {
        chunks: wire.iter().map(|&b| vec![b]).collect(),
        next: 0,
        pending: false,
    };
    assert_eq!(read_all(bytewise, ServerCodec::default()).await, expected);
}

#[test]
fn oversize_and_malformed_heads() {
    // nginx's largest packet (65535-byte block), captured from nginx 1.22.
    let wire = vector("nginx-large-header.bin");
    let mut codec = ServerCodec::new(Limits::new().max_datasize(4096));
    let mut buf = BytesMut::with_capacity(64);
    buf.extend_from_slice(&wire[..4]);
    let err = codec.decode(&mut buf).unwrap_err();
    match packet_error(&err) {
        Some(e) => assert_eq!(
            (e.kind(), e.offset()),
            (
                ParseErrorKind::DatasizeOverLimit {
                    datasize: 65535,
                    limit: 4096
                },
                1
            )
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(err.status_code(), Some(431));
    assert_eq!(buf.capacity(), 64, "the buffer did not grow for it");

    // Within the limit, the decoder reserves exactly what the head still lacks.
    let mut codec = ServerCodec::default();
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&wire[..10]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert!(buf.capacity() >= 65539);
    assert!(buf.capacity() < 2 * 65539);

    // Malformed vars: 400. Derived from the spec: a key length of 0.
    let mut buf = BytesMut::from(&b"\x00\x05\x00\x00\x00\x00\x01\x00x"[..]);
    let err = ServerCodec::default().decode(&mut buf).unwrap_err();
    assert!(matches!(packet_error(&err), Some(e) if e.kind() == ParseErrorKind::EmptyKey));
    assert_eq!(err.status_code(), Some(400));

    // A body over the limit: 413, before any body byte is read.
    let post = vector("nginx-post.bin"); // captured from nginx 1.22, 11-byte body
    let mut buf = BytesMut::from(&post[..472]);
    let err = ServerCodec::new(Limits::new().max_body(10))
        .decode(&mut buf)
        .unwrap_err();
    assert!(matches!(
        &err,
        StreamError::Exchange(e) if e.kind() == ExchangeErrorKind::BodyTooLarge {
            length: 11,
            limit: 10
        }
    ));
    assert_eq!(err.status_code(), Some(413));
}

#[test]
fn a_peer_that_closes_early() {
    let wire = vector("nginx-post.bin"); // captured from nginx 1.22: 472-byte packet + 11
    for (cut, message) in [
        (2, "after 2 bytes of a head, at least 2 short"),
        (100, "after 100 bytes of a head, at least 372 short"),
        (476, "7 bytes before the end of the body"),
    ] {
        let mut codec = ServerCodec::default();
        let mut buf = BytesMut::from(&wire[..cut]);
        let mut frames = Vec::new();
        let err = loop {
            match codec.decode_eof(&mut buf) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => panic!("cut at {cut}: clean end"),
                Err(err) => break err,
            }
        };
        // Nothing can be answered on a connection the peer closed.
        assert_eq!(err.status_code(), None);
        assert!(err.is_eof(), "{err:?}");
        assert!(err.to_string().contains(message), "{err}");
    }
    // A close between packets is a clean end.
    let mut buf = BytesMut::new();
    assert_eq!(ServerCodec::default().decode_eof(&mut buf).unwrap(), None);
}

#[test]
fn decoded_frames_encode_back_to_the_same_bytes() {
    let (wire, _) = pipelined();
    let mut codec = ServerCodec::default();
    let mut buf = BytesMut::from(&wire[..]);
    let mut out = BytesMut::new();
    let mut encoder = ClientCodec::default();
    while let Some(frame) = codec.decode(&mut buf).unwrap() {
        encoder.encode(frame, &mut out).unwrap();
    }
    assert_eq!(&out[..], &wire[..]);
}

#[test]
fn the_encoder_checks_bodies_against_content_length() -> Result<(), Box<dyn std::error::Error>> {
    let mut vars = VarsBuilder::default();
    vars.push("REQUEST_METHOD", "POST")?
        .push("CONTENT_LENGTH", "5")?;
    let packet = Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars.vars()))?;
    let mut codec = ClientCodec::default();
    let mut out = BytesMut::new();
    codec.encode(packet, &mut out)?;
    codec.encode(Frame::Body(Bytes::from_static(b"hel")), &mut out)?;
    // End before the last 2 bytes.
    let err = codec.encode(Frame::End, &mut out).unwrap_err();
    assert!(matches!(
        err,
        StreamError::BodyLength {
            announced: 5,
            sent: 3
        }
    ));
    // Too many bytes: refused, nothing written.
    let len = out.len();
    let err = codec
        .encode(Frame::Body(Bytes::from_static(b"lo!")), &mut out)
        .unwrap_err();
    assert!(matches!(
        err,
        StreamError::BodyLength {
            announced: 5,
            sent: 6
        }
    ));
    assert_eq!(out.len(), len);
    // A new head before the body is complete.
    assert!(codec.encode(packet, &mut out).is_err());
    codec.encode(Frame::Body(Bytes::from_static(b"lo")), &mut out)?;
    codec.encode(Frame::End, &mut out)?;
    codec.encode(packet, &mut out)?;
    Ok(())
}

/// Writes a request with a `body_len`-byte body into `writer` in 8 KiB pieces, counting
/// the bytes it managed to write.
async fn write_big_request(
    mut writer: impl AsyncWrite + Unpin,
    body_len: usize,
    written: Arc<AtomicU64>,
) {
    let mut vars = VarsBuilder::default();
    vars.push("REQUEST_METHOD", "PUT")
        .unwrap()
        .push("CONTENT_LENGTH", body_len.to_string())
        .unwrap();
    let mut head = Vec::new();
    Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars.vars()))
        .unwrap()
        .encode_to(&mut head)
        .unwrap();
    writer.write_all(&head).await.unwrap();
    let piece: Vec<u8> = (0..8192u32).map(|i| (i % 251) as u8).collect();
    let mut left = body_len;
    while left > 0 {
        let n = left.min(piece.len());
        writer.write_all(&piece[..n]).await.unwrap();
        written.fetch_add(n as u64, Ordering::SeqCst);
        left -= n;
    }
    writer.shutdown().await.unwrap();
}

const BIG: usize = 8 << 20; // 8 MiB

#[tokio::test]
async fn a_multi_mib_body_streams_with_bounded_memory() {
    let (client, server) = tokio::io::duplex(64 * 1024);
    let written = Arc::new(AtomicU64::new(0));
    let writer = tokio::spawn(write_big_request(client, BIG, written.clone()));
    let chunk = 16 * 1024;
    let mut framed = FramedRead::new(server, ServerCodec::default().body_chunk(chunk));
    let Some(Ok(Frame::Head(head))) = framed.next().await else {
        panic!()
    };
    assert_eq!(request_body_len(&head.packet()), Ok(BIG as u64));
    assert_eq!(framed.decoder().body_remaining(), Some(BIG as u64));
    let (mut received, mut max_capacity, mut chunks) = (0usize, 0usize, 0usize);
    loop {
        max_capacity = max_capacity.max(framed.read_buffer().capacity());
        match framed.next().await.unwrap().unwrap() {
            Frame::Body(bytes) => {
                assert!(bytes.len() <= chunk);
                // The pattern survives intact.
                assert_eq!(bytes[0], ((received % 8192) % 251) as u8);
                received += bytes.len();
                chunks += 1;
            }
            Frame::End => break,
            Frame::Head(_) => panic!("second head"),
        }
    }
    writer.await.unwrap();
    assert_eq!(received, BIG);
    assert!(framed.next().await.is_none());
    // The read buffer never held more than a head or a chunk or so, whatever the body
    // size: 8 KiB initial capacity, at most one chunk reserved on top.
    println!("8 MiB body: {chunks} chunks, read buffer capacity at most {max_capacity} bytes");
    assert!(
        max_capacity <= 2 * chunk + 8192,
        "buffer grew to {max_capacity}"
    );
}

#[tokio::test]
async fn a_slow_reader_applies_back_pressure() {
    let pipe = 16 * 1024;
    let (client, server) = tokio::io::duplex(pipe);
    let written = Arc::new(AtomicU64::new(0));
    let writer = tokio::spawn(write_big_request(client, 1 << 20, written.clone()));
    let chunk = 4096;
    let mut framed = FramedRead::new(server, ServerCodec::default().body_chunk(chunk));
    assert!(matches!(framed.next().await, Some(Ok(Frame::Head(_)))));
    let mut consumed = 0u64;
    let mut max_ahead = 0u64;
    while let Some(frame) = framed.next().await {
        match frame.unwrap() {
            Frame::Body(bytes) => consumed += bytes.len() as u64,
            Frame::End => break,
            Frame::Head(_) => panic!(),
        }
        if consumed % (64 * 1024) == 0 {
            // A slow consumer: the writer must wait for it.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let ahead = written.load(Ordering::SeqCst).saturating_sub(consumed);
        max_ahead = max_ahead.max(ahead);
        // What the writer got ahead by is bounded by the pipe, the read buffer and
        // the writer's one 8 KiB piece in flight: nothing queues in the codec.
        assert!(
            ahead <= (pipe + framed.read_buffer().capacity() + 8192) as u64,
            "writer {ahead} bytes ahead"
        );
        assert!(framed.read_buffer().capacity() <= 2 * chunk + 8192);
    }
    writer.await.unwrap();
    assert_eq!(consumed, 1 << 20);
    println!("slow reader: the writer was at most {max_ahead} bytes ahead");
}

/// Drips `wire` into the pipe a few bytes at a time with pauses.
async fn drip(mut writer: impl AsyncWrite + Unpin, wire: Vec<u8>) {
    for piece in wire.chunks(37) {
        writer.write_all(piece).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    writer.shutdown().await.unwrap();
}

#[tokio::test]
async fn cancelled_reads_lose_nothing() {
    let (wire, expected) = pipelined();
    let (client, server) = tokio::io::duplex(64);
    let writer = tokio::spawn(drip(client, wire));
    let mut framed = FramedRead::new(server, ServerCodec::default());
    let (mut frames, mut cancelled) = (Vec::new(), 0);
    loop {
        tokio::select! {
            frame = framed.next() => match frame {
                Some(frame) => frames.push(frame.unwrap()),
                None => break,
            },
            // Drops the pending `next()` future, often mid-packet.
            _ = tokio::time::sleep(Duration::from_micros(300)) => cancelled += 1,
        }
    }
    writer.await.unwrap();
    assert!(cancelled > 10, "only {cancelled} cancellations");
    assert_eq!(collect(frames), expected);
}

/// Reads every packet on `stream`, answers each with a raw HTTP response carrying the
/// body length, and returns what it saw.
async fn serve(stream: impl AsyncRead + AsyncWrite + Unpin) -> Expected {
    let mut framed = tokio_util::codec::Framed::new(stream, ServerCodec::default());
    let mut frames = Vec::new();
    let mut body = 0usize;
    while let Some(frame) = framed.next().await {
        let frame = frame.unwrap();
        match &frame {
            Frame::Body(chunk) => body += chunk.len(),
            Frame::End => {
                let reply = format!("HTTP/1.1 200 OK\r\nX-Body: {body}\r\n\r\n");
                framed.send(Bytes::from(reply)).await.unwrap();
                body = 0;
            }
            Frame::Head(_) => {}
        }
        frames.push(frame);
    }
    collect(frames)
}

/// Sends the capture's packets and bodies as frames, then checks the replies.
async fn client(stream: impl AsyncRead + AsyncWrite + Unpin, wire: &[u8], expected: &Expected) {
    let (mut read, write) = tokio::io::split(stream);
    let mut out = FramedWrite::new(write, ClientCodec::default());
    let mut codec = ServerCodec::default();
    let mut buf = BytesMut::from(wire);
    while let Some(frame) = codec.decode(&mut buf).unwrap() {
        out.send(frame).await.unwrap();
    }
    out.get_mut().shutdown().await.unwrap();
    let mut replies = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut read, &mut replies)
        .await
        .unwrap();
    let want: String = expected
        .iter()
        .map(|(_, body)| format!("HTTP/1.1 200 OK\r\nX-Body: {}\r\n\r\n", body.len()))
        .collect();
    assert_eq!(String::from_utf8(replies).unwrap(), want);
}

#[tokio::test]
async fn over_a_real_tcp_socket() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { serve(listener.accept().await.unwrap().0).await });
    let (wire, expected) = pipelined();
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    client(stream, &wire, &expected).await;
    assert_eq!(server.await.unwrap(), expected);
}

#[cfg(unix)]
#[tokio::test]
async fn over_a_real_unix_socket() {
    let dir = std::env::temp_dir().join(format!("uwsgi-wire-codec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sock");
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let server = tokio::spawn(async move { serve(listener.accept().await.unwrap().0).await });
    let (wire, expected) = pipelined();
    let stream = tokio::net::UnixStream::connect(&path).await.unwrap();
    client(stream, &wire, &expected).await;
    assert_eq!(server.await.unwrap(), expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_tcp_peer_that_disconnects_mid_head_and_mid_body() {
    let wire = vector("nginx-post.bin"); // captured from nginx 1.22
    for (cut, message) in [
        (10, "after 10 bytes of a head, at least 462 short"),
        (478, "5 bytes before the end"),
    ] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let mut framed =
                FramedRead::new(listener.accept().await.unwrap().0, ServerCodec::default());
            loop {
                match framed.next().await {
                    Some(Ok(_)) => {}
                    Some(Err(err)) => return err,
                    None => panic!("clean end"),
                }
            }
        });
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(&wire[..cut]).await.unwrap();
        drop(stream);
        let err = server.await.unwrap();
        assert!(err.is_eof(), "{err:?}");
        assert!(err.to_string().contains(message), "{err}");
    }
}
