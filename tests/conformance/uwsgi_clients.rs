//! Part 3, real uWSGI clients -> our decoder: `uwsgi --ping`, `uwsgi --signal`,
//! `uwsgi.rpc` from Python inside uWSGI, and `--subscribe-to` datagrams, decoded with the
//! typed messages and answered with the crate's encoders; the client's exit code says
//! whether it understood the answer.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::thread::{sleep, JoinHandle};
use std::time::{Duration, Instant};

use uwsgi_wire::{
    message::GenericResponse, message::Message, message::Ping, message::Pong, message::RpcCall,
    message::Signal, message::Subscription, message::SubscriptionBuilder, Limits, Modifier1,
    Packet, Payload, Status, VarsBuilder,
};

use crate::harness::{
    require, start_listening, Peer, TempDir, UWSGI_PING, UWSGI_PYRUN, UWSGI_SIGNAL,
    UWSGI_SUBSCRIBER,
};

const CLIENT_CAP: Duration = Duration::from_secs(60);

/// A uwsgi server for `count` connections, one after the other: each packet is parsed
/// with `Packet::parse` on a growing buffer and answered with `answer(&packet)`. The
/// thread returns the raw packets.
struct PacketServer {
    port: u16,
    thread: Option<JoinHandle<Result<Vec<Vec<u8>>, String>>>,
}

impl PacketServer {
    fn start(count: usize, answer: impl Fn(&Packet<'_>) -> Vec<u8> + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut packets = Vec::new();
            while packets.len() < count {
                let conn = match listener.accept() {
                    Ok((conn, _)) => conn,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        if Instant::now() > deadline {
                            return Err(format!("{} of {count} connections", packets.len()));
                        }
                        sleep(Duration::from_millis(10));
                        continue;
                    }
                    Err(e) => return Err(e.to_string()),
                };
                packets.push(serve_one(conn, &answer)?);
            }
            Ok(packets)
        });
        PacketServer {
            port,
            thread: Some(thread),
        }
    }

    /// The raw packets received; panics if the server failed.
    fn packets(mut self) -> Vec<Vec<u8>> {
        let thread = self.thread.take().expect("joined once");
        match thread.join() {
            Ok(Ok(packets)) => packets,
            Ok(Err(why)) => panic!("packet server: {why}"),
            Err(_) => panic!("packet server panicked"),
        }
    }
}

fn serve_one(
    mut conn: TcpStream,
    answer: &impl Fn(&Packet<'_>) -> Vec<u8>,
) -> Result<Vec<u8>, String> {
    conn.set_nonblocking(false).map_err(|e| e.to_string())?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match Packet::parse(&buf, &Limits::new()) {
            Ok(Status::Complete((packet, len))) => {
                if len != buf.len() {
                    return Err(format!("{} bytes after the packet", buf.len() - len));
                }
                let reply = answer(&packet);
                conn.write_all(&reply).map_err(|e| e.to_string())?;
                return Ok(buf);
            }
            Ok(Status::Partial { .. }) => match conn.read(&mut chunk) {
                Ok(0) => return Err(format!("EOF after {buf:02x?}")),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(format!("{e} after {buf:02x?}")),
            },
            Err(e) => return Err(format!("our decoder refused {buf:02x?}: {e}")),
        }
    }
}

fn encode(packet: &Packet<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    packet.encode_to(&mut out).expect("encodes");
    out
}

/// Runs a uWSGI client to its end; returns its exit code and log.
fn run_client(dir: &TempDir, name: &str, args: &[String]) -> (i32, String) {
    let mut client = Peer::start(name, dir.path(), "INT", CLIENT_CAP, "uwsgi", args);
    let status = client.wait_exit(Duration::from_secs(30));
    (status.code().unwrap_or(-1), client.log())
}

#[test]
fn uwsgi_ping_client_reads_our_pong_and_its_warning() {
    require!(UWSGI_PING);
    let dir = TempDir::new("client-ping");
    let ping = |pong: Pong<'static>| {
        let server = PacketServer::start(1, move |packet| {
            assert_eq!(Message::try_from(packet), Ok(Message::Ping(Ping)));
            encode(&Packet::try_from(&pong).expect("fits"))
        });
        let args = [
            "--plugin".to_owned(),
            "ping".to_owned(),
            "--ping".to_owned(),
            format!("127.0.0.1:{}", server.port),
        ];
        let (code, log) = run_client(&dir, "uwsgi-ping", &args);
        (server.packets(), code, log)
    };
    // A clean pong: exit 0.
    let (packets, code, log) = ping(Pong::default());
    assert_eq!(packets, [vec![0x64, 0x00, 0x00, 0x00]]);
    assert_eq!(code, 0, "uwsgi --ping log:\n{log}");
    // A pong with a warning payload: uWSGI prints it and exits 2.
    let (_, code, log) = ping(Pong::with_warning(b"disk almost full"));
    assert_eq!(code, 2, "uwsgi --ping log:\n{log}");
    assert!(
        log.contains("message: disk almost full"),
        "uwsgi --ping log:\n{log}"
    );
}

#[test]
fn uwsgi_signal_client_reads_our_generic_responses() {
    require!(UWSGI_SIGNAL);
    let dir = TempDir::new("client-signal");
    for (response, want_code, want_log) in [
        (GenericResponse::OK, 0, "signal 17 delivered to node"),
        (GenericResponse::FAILED, 2, "rejected signal 17"),
    ] {
        let server = PacketServer::start(1, move |packet| {
            assert_eq!(
                Message::try_from(packet),
                Ok(Message::Signal(Signal::new(17)))
            );
            encode(&Packet::try_from(&response).expect("fits"))
        });
        let args = [
            "--plugin".to_owned(),
            "signal".to_owned(),
            "--signal".to_owned(),
            format!("127.0.0.1:{},17", server.port),
        ];
        let (code, log) = run_client(&dir, "uwsgi-signal", &args);
        assert_eq!(server.packets(), [vec![0x6e, 0x00, 0x00, 0x11]]);
        assert_eq!(code, want_code, "uwsgi --signal log:\n{log}");
        assert!(log.contains(want_log), "uwsgi --signal log:\n{log}");
    }
}

/// The RPC server: `hello` answers `name(arg,arg,...)` in the modifier2 0 form; `big`
/// answers 70000 bytes in the large form (modifier2 5 + `CONTENT_LENGTH`, then raw).
fn rpc_answer(packet: &Packet<'_>) -> Vec<u8> {
    let call = RpcCall::try_from(packet).expect("an RPC call");
    assert_eq!(call.modifier2(), RpcCall::UWSGI_REPLY);
    match call.function() {
        b"big" => {
            let mut vars = VarsBuilder::default();
            vars.push("CONTENT_LENGTH", "70000").expect("fits");
            let mut out = encode(
                &Packet::new(
                    Modifier1::RPC,
                    uwsgi_wire::message::RpcReply::LARGE,
                    Payload::Vars(vars.vars()),
                )
                .expect("fits"),
            );
            out.extend((0..70000u32).map(|i| (i % 251) as u8));
            out
        }
        name => {
            let mut result = name.to_vec();
            result.push(b'(');
            result.extend(call.args().collect::<Vec<_>>().join(&b","[..]));
            result.push(b')');
            encode(&Packet::new(Modifier1::RPC, 0, Payload::Raw(&result)).expect("fits"))
        }
    }
}

#[test]
fn uwsgi_rpc_from_python_reads_our_results_small_and_large() {
    require!(UWSGI_PYRUN);
    let dir = TempDir::new("client-rpc");
    let server = PacketServer::start(2, rpc_answer);
    dir.write(
        "rpc_call.py",
        format!(
            r#"import sys, uwsgi
node = b'127.0.0.1:{port}'
small = uwsgi.rpc(node, b'hello', b'a', b'', b'b\xff')
large = uwsgi.rpc(node, b'big')
print('SMALL %r' % (small,))
print('LARGE %d' % len(large or b''))
ok = small == b'hello(a,,b\xff)' and large == bytes(i % 251 for i in range(70000))
sys.exit(0 if ok else 3)
"#,
            port = server.port
        ),
    );
    let args = [
        "--plugins".to_owned(),
        "python3,rpc".to_owned(),
        "--pyrun".to_owned(),
        "rpc_call.py".to_owned(),
    ];
    let (code, log) = run_client(&dir, "uwsgi-rpc", &args);
    let packets = server.packets();
    assert_eq!(code, 0, "uwsgi --pyrun log:\n{log}");
    assert!(log.contains(r"SMALL b'hello(a,,b\xff)'"), "log:\n{log}");
    assert!(log.contains("LARGE 70000"), "log:\n{log}");
    // The calls as uwsgi.rpc wrote them: an array, the empty argument kept.
    assert_eq!(
        packets[0],
        b"\xad\x10\x00\x00\x05\x00hello\x01\x00a\x00\x00\x02\x00b\xff"
    );
    assert_eq!(packets[1], b"\xad\x05\x00\x00\x03\x00big");
}

#[test]
fn uwsgi_subscribe_to_sends_subscribe_then_unsubscribe_on_sigint() {
    require!(UWSGI_SUBSCRIBER);
    let dir = TempDir::new("client-subscribe");
    let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    udp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let udp_port = udp.local_addr().expect("addr").port();
    let (mut subscriber, socket_port) = start_listening(|port| {
        Peer::start(
            "uwsgi-subscriber",
            dir.path(),
            "INT",
            CLIENT_CAP,
            "uwsgi",
            [
                "--master".to_owned(),
                "--socket".to_owned(),
                format!("127.0.0.1:{port}"),
                "--subscribe-to".to_owned(),
                format!("127.0.0.1:{udp_port}:example.com"),
            ],
        )
    });
    let mut datagram = vec![0u8; 65536];
    let recv = |buf: &mut Vec<u8>| -> Vec<u8> {
        let (n, _) = udp
            .recv_from(buf)
            .expect("a subscription datagram within 10 s");
        buf[..n].to_vec()
    };
    let subscribe = recv(&mut datagram);

    // Decoded: the seven fields uWSGI 2.0 sends, in its order.
    let address = format!("127.0.0.1:{socket_port}");
    let (packet, len) = Packet::parse(&subscribe, &Limits::new())
        .expect("parses")
        .complete()
        .expect("one whole datagram");
    assert_eq!(len, subscribe.len());
    let sub = Subscription::try_from(&packet).expect("a subscription");
    assert!(sub.is_subscribe());
    assert_eq!(
        (
            sub.key(),
            sub.address(),
            sub.modifier1(),
            sub.modifier2(),
            sub.cores(),
            sub.load(),
            sub.weight(),
            sub.backup(),
            sub.vars().get(b"sign")
        ),
        (
            &b"example.com"[..],
            address.as_bytes(),
            0,
            0,
            1,
            0,
            0,
            None,
            None
        )
    );
    // And our builder writes the very same datagram.
    let built = SubscriptionBuilder::new(b"example.com", address.as_bytes())
        .cores(1)
        .build()
        .expect("fits");
    let ours = encode(
        &Packet::try_from(&Subscription::new(built.vars(), 0).expect("valid")).expect("fits"),
    );
    assert_eq!(ours, subscribe);

    // SIGINT: a clean exit (status 0) and one unsubscribe datagram: the same bytes with
    // modifier2 1. Re-sent subscribes that were already queued are skipped.
    let status = subscriber.stop();
    assert_eq!(status.code(), Some(0), "log:\n{}", subscriber.log());
    let unsubscribe = loop {
        let next = recv(&mut datagram);
        if next[3] == 0 {
            assert_eq!(next, subscribe, "a repeated subscribe is identical");
            continue;
        }
        break next;
    };
    let mut expected = subscribe.clone();
    expected[3] = 1;
    assert_eq!(unsubscribe, expected);
    let (packet, _) = Packet::parse(&unsubscribe, &Limits::new())
        .expect("parses")
        .complete()
        .expect("whole");
    let unsub = Subscription::try_from(&packet).expect("a subscription");
    assert!(!unsub.is_subscribe());
    assert_eq!(unsub.key(), b"example.com");
}
