//! The server driver (`uwsgi_wire::server`, feature `server`).
//!
//! 1. `examples/axum` (an axum `Router` served by `server::serve`) behind real nginx 1.22
//!    `uwsgi_pass`: headers, a streamed upload and download with the example's peak RSS
//!    bounded, 64 concurrent requests, a client gone mid-body, slow-drip connections
//!    cut by the head timeout, graceful shutdown, axum's `ConnectInfo` as the client
//!    nginx saw.
//! 2. `server::serve_connection` on its own, where nginx adds nothing: pipelining, the
//!    error answers (400, 431, 413, 408) asserted on the raw bytes, the typed vars
//!    extension, `Connection::graceful_shutdown`, the tracing spans.
#![cfg(feature = "server")]

mod direct {
    use std::time::{Duration, Instant};

    use axum::body::Body;
    use axum::extract::Request;
    use axum::routing::{any, get};
    use axum::Router;
    use http_body_util::BodyExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
    use uwsgi_wire::server::{Builder, Error};
    use uwsgi_wire::{Limits, VarsBuilder};

    /// A request packet (modifier1 0) with these vars, then `body`.
    fn packet(vars: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
        let mut block = VarsBuilder::default();
        for (key, value) in vars {
            block.push(key, value).expect("var fits");
        }
        let len = u16::try_from(block.as_bytes().len()).expect("datasize fits");
        let mut out = vec![0];
        out.extend_from_slice(&len.to_le_bytes());
        out.push(0);
        out.extend_from_slice(block.as_bytes());
        out.extend_from_slice(body);
        out
    }

    fn get_packet(path: &str) -> Vec<u8> {
        packet(
            &[
                ("REQUEST_METHOD", "GET"),
                ("REQUEST_URI", path),
                ("SERVER_PROTOCOL", "HTTP/1.1"),
            ],
            b"",
        )
    }

    fn post(path: &str, body: &[u8]) -> Vec<u8> {
        let len = body.len().to_string();
        packet(
            &[
                ("REQUEST_METHOD", "POST"),
                ("REQUEST_URI", path),
                ("SERVER_PROTOCOL", "HTTP/1.1"),
                ("CONTENT_LENGTH", &len),
            ],
            body,
        )
    }

    fn app() -> Router {
        Router::new()
            .route("/a", get(|| async { "first" }))
            .route(
                "/len",
                any(|request: Request| async move {
                    let body = request.into_body().collect().await;
                    match body {
                        Ok(body) => format!("len={}", body.to_bytes().len()),
                        Err(err) => format!("error: {err}"),
                    }
                }),
            )
            // The request body streamed straight back as the response body (hyper's echo).
            .route(
                "/mirror",
                any(|request: Request| async move { Body::new(request.into_body()) }),
            )
    }

    /// Serves one in-memory connection: writes `input` (then closes the write side when
    /// `close` is set), and returns every byte answered up to the server's close, and
    /// what `serve_connection` returned.
    async fn exchange(builder: Builder, input: &[u8], close: bool) -> (Vec<u8>, Result<(), Error>) {
        let (mut client, server): (DuplexStream, DuplexStream) = tokio::io::duplex(1 << 20);
        let served = tokio::spawn(async move { builder.serve_connection(server, app()).await });
        client.write_all(input).await.expect("write the request");
        if close {
            client.shutdown().await.expect("shut down the write side");
        }
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), client.read_to_end(&mut answer))
            .await
            .expect("the server closes the connection")
            .expect("read the answer");
        let result = tokio::time::timeout(Duration::from_secs(10), served)
            .await
            .expect("serve_connection returns")
            .expect("no panic");
        (answer, result)
    }

    /// The answer `write_status` gives for an error met before the service was called.
    fn status(code: u16, reason: &str) -> String {
        let body = format!("{code} {reason}\n");
        format!(
            "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    #[tokio::test]
    async fn a_response_body_is_written_while_the_service_waits_for_more() {
        // The second event is only produced once the first has reached the client: a
        // driver that held bytes back until the body ended would never send either.
        let (next, wait) = tokio::sync::oneshot::channel::<()>();
        let wait = std::sync::Arc::new(std::sync::Mutex::new(Some(wait)));
        let app = Router::new().route(
            "/events",
            get(move || {
                let wait = wait.lock().expect("not poisoned").take();
                async move {
                    let events = futures_util::stream::unfold((0, wait), |(i, wait)| async move {
                        let (event, wait) = match i {
                            0 => ("data: 0\n\n", wait),
                            1 => {
                                wait?.await.ok()?;
                                ("data: 1\n\n", None)
                            }
                            _ => return None,
                        };
                        Some((Ok::<_, std::io::Error>(event), (i + 1, wait)))
                    });
                    Body::from_stream(events)
                }
            }),
        );
        let (mut client, server): (DuplexStream, DuplexStream) = tokio::io::duplex(1 << 20);
        let served =
            tokio::spawn(async move { Builder::new().serve_connection(server, app).await });
        client
            .write_all(&get_packet("/events"))
            .await
            .expect("write the request");
        let mut answer = Vec::new();
        let first = async {
            while !answer.ends_with(b"data: 0\n\n") {
                let mut buf = [0u8; 512];
                let n = client.read(&mut buf).await.expect("read");
                assert!(n > 0, "closed before the first event");
                answer.extend_from_slice(&buf[..n]);
            }
        };
        tokio::time::timeout(Duration::from_secs(5), first)
            .await
            .expect("the first event arrives while the body waits for the second");
        next.send(()).expect("the body is waiting");
        tokio::time::timeout(Duration::from_secs(10), client.read_to_end(&mut answer))
            .await
            .expect("the server closes the connection")
            .expect("read the rest");
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(
            answer.ends_with("\r\n\r\ndata: 0\n\ndata: 1\n\n"),
            "{answer}"
        );
        served.await.expect("no panic").expect("a clean end");
    }

    #[tokio::test]
    async fn pipelined_requests_are_answered_in_turn() {
        let mut input = get_packet("/a");
        input.extend_from_slice(&post("/len", b"hello"));
        input.extend_from_slice(&get_packet("/a"));
        let (answer, result) = exchange(Builder::new(), &input, true).await;
        let answer = String::from_utf8_lossy(&answer);
        let first = "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 5\r\n\r\nfirst";
        let second = "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 5\r\n\r\nlen=5";
        assert_eq!(answer, format!("{first}{second}{first}"));
        result.expect("a clean end at the front end's close");
    }

    #[tokio::test]
    async fn a_request_body_streams_back_as_the_response_body() {
        let body = crate::client::pattern(300 * 1024);
        let mut input = post("/mirror", &body);
        input.extend_from_slice(&get_packet("/a"));
        let (answer, result) = exchange(Builder::new(), &input, true).await;
        let head = b"HTTP/1.1 200 OK\r\ncontent-length: 307200\r\n\r\n";
        assert!(
            answer.starts_with(head),
            "{:?}",
            String::from_utf8_lossy(&answer[..answer.len().min(200)])
        );
        assert_eq!(&answer[head.len()..head.len() + body.len()], &body[..]);
        let rest = String::from_utf8_lossy(&answer[head.len() + body.len()..]);
        assert_eq!(
            rest,
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 5\r\n\r\nfirst"
        );
        result.expect("a clean end");
    }

    #[tokio::test]
    async fn a_malformed_packet_is_answered_400() {
        // `key_past_end` of tests/errors.rs: a key length of 16 in a 5-byte block.
        let (answer, result) =
            exchange(Builder::new(), b"\x00\x05\x00\x00\x10\x00abc", false).await;
        assert_eq!(String::from_utf8_lossy(&answer), status(400, "Bad Request"));
        assert!(matches!(result, Err(Error::Stream(_))), "{result:?}");
    }

    #[tokio::test]
    async fn an_oversize_datasize_is_answered_431_from_the_header_alone() {
        let builder = Builder::new().limits(Limits::new().max_datasize(4096));
        // Datasize 5000: refused before a byte of the block arrives.
        let (answer, result) = exchange(builder, b"\x00\x88\x13\x00", false).await;
        assert_eq!(
            String::from_utf8_lossy(&answer),
            status(431, "Request Header Fields Too Large")
        );
        assert!(matches!(result, Err(Error::Stream(_))), "{result:?}");
    }

    #[tokio::test]
    async fn a_body_over_max_body_is_answered_413_before_the_service() {
        let builder = Builder::new().limits(Limits::new().max_body(10));
        // CONTENT_LENGTH 11 over a limit of 10: refused on the announced length.
        let input = packet(
            &[
                ("REQUEST_METHOD", "POST"),
                ("REQUEST_URI", "/len"),
                ("CONTENT_LENGTH", "11"),
            ],
            b"hello world",
        );
        let (answer, result) = exchange(builder, &input, false).await;
        assert_eq!(
            String::from_utf8_lossy(&answer),
            status(413, "Payload Too Large")
        );
        assert!(matches!(result, Err(Error::Stream(_))), "{result:?}");
    }

    #[tokio::test]
    async fn a_slow_head_is_answered_408_at_the_head_timeout() {
        let builder = Builder::new().head_timeout(Duration::from_millis(300));
        let start = Instant::now();
        // 2 of the 4 header bytes, and the connection stays open.
        let (answer, result) = exchange(builder, b"\x00\x10", false).await;
        let took = start.elapsed();
        assert_eq!(
            String::from_utf8_lossy(&answer),
            status(408, "Request Timeout")
        );
        assert!(matches!(result, Err(Error::HeadTimeout)), "{result:?}");
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(3),
            "{took:?}"
        );
    }

    /// One request `packet` answered by `app` in memory; the answer up to the close.
    async fn answer_with(app: Router, packet: &[u8]) -> String {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let served = tokio::spawn(Builder::new().serve_connection(server, app));
        client.write_all(packet).await.expect("write the request");
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), client.read_to_end(&mut answer))
            .await
            .expect("the server closes the connection")
            .expect("read the answer");
        let result = served.await.expect("no panic");
        assert!(result.is_ok(), "{result:?}");
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// Connections served one after another on one thread read into the buffer the last
    /// one ended with: a packet a handler kept past its connection keeps its own bytes
    /// (the next connection then reads into a new buffer, not over them).
    #[tokio::test(flavor = "current_thread")]
    async fn a_packet_kept_past_its_connection_keeps_its_bytes() {
        use std::sync::{Arc, Mutex};
        use uwsgi_wire::owned::OwnedPacket;
        let kept: Arc<Mutex<Vec<OwnedPacket>>> = Arc::default();
        let keeping = Arc::clone(&kept);
        let app = Router::new().fallback(move |request: Request| {
            let keeping = Arc::clone(&keeping);
            async move {
                if let Some(packet) = request.extensions().get::<OwnedPacket>() {
                    keeping.lock().unwrap().push(packet.clone());
                }
                request.uri().path().to_string()
            }
        });
        let paths = ["/first", "/second-one", "/third"];
        for path in paths {
            let (mut client, server) = tokio::io::duplex(1 << 16);
            client.write_all(&get_packet(path)).await.unwrap();
            client.shutdown().await.unwrap();
            // Awaited here, on this thread: each connection takes over the last one's
            // buffer if nothing holds it.
            let served = Builder::new().serve_connection(server, app.clone()).await;
            assert!(served.is_ok(), "{served:?}");
            let mut answer = Vec::new();
            client.read_to_end(&mut answer).await.unwrap();
            assert!(answer.ends_with(path.as_bytes()), "{answer:?}");
        }
        let kept = kept.lock().unwrap();
        let uris: Vec<_> = kept
            .iter()
            .map(|packet| packet.owned_vars().unwrap().get(b"REQUEST_URI").unwrap())
            .collect();
        assert_eq!(uris, paths.map(bytes::Bytes::from));
    }

    /// The request's one extension, the packet, with the typed accessors of its vars,
    /// and axum's `ConnectInfo`, as a handler sees them.
    fn vars_app() -> Router {
        use std::net::SocketAddr;
        use uwsgi_wire::owned::{OwnedPacket, OwnedVars};
        Router::new()
            .route(
                "/vars",
                get(|request: Request| async move {
                    let extensions = request.extensions();
                    let Some(packet) = extensions.get::<OwnedPacket>() else {
                        return "no packet".to_string();
                    };
                    let Some(vars) = packet.owned_vars() else {
                        return "no vars".to_string();
                    };
                    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
                    format!(
                        "modifiers={}/{} remote={:?} scheme={} script={} server={:?}:{:?} raw={:?} vars_too={}",
                        packet.packet().modifier1().0,
                        packet.packet().modifier2(),
                        vars.remote_addr(),
                        text(vars.scheme()),
                        text(vars.script_name()),
                        vars.server_name().map(text),
                        vars.server_port(),
                        vars.get(b"DOCUMENT_ROOT"),
                        extensions.get::<OwnedVars>().is_some(),
                    )
                }),
            )
            .route(
                "/ip",
                get(
                    |axum::extract::ConnectInfo(client): axum::extract::ConnectInfo<SocketAddr>| async move {
                        client.to_string()
                    },
                ),
            )
    }

    fn vars_get(path: &str, vars: &[(&str, &str)]) -> Vec<u8> {
        let mut all = vec![
            ("REQUEST_METHOD", "GET"),
            ("REQUEST_URI", path),
            ("SERVER_PROTOCOL", "HTTP/1.1"),
        ];
        all.extend_from_slice(vars);
        packet(&all, b"")
    }

    #[tokio::test]
    async fn the_packet_is_the_one_extension_and_its_vars_are_typed() {
        // As nginx's uwsgi_params sends them for an HTTPS client over IPv6.
        let front = [
            ("REMOTE_ADDR", "2001:db8::7"),
            ("REMOTE_PORT", "51000"),
            ("HTTPS", "on"),
            ("REQUEST_SCHEME", "https"),
            ("SCRIPT_NAME", "/app"),
            ("SERVER_NAME", "example.com"),
            ("SERVER_PORT", "443"),
            ("DOCUMENT_ROOT", "/srv"),
        ];
        let answer = answer_with(vars_app(), &vars_get("/vars", &front)).await;
        assert!(
            answer.ends_with(
                "modifiers=0/0 remote=Some([2001:db8::7]:51000) scheme=https script=/app \
                 server=Some(\"example.com\"):Some(443) raw=Some(b\"/srv\") vars_too=false"
            ),
            "{answer}"
        );
        let answer = answer_with(vars_app(), &vars_get("/ip", &front)).await;
        assert!(answer.ends_with("\r\n\r\n[2001:db8::7]:51000"), "{answer}");

        // Missing vars: nothing made up. HTTPS=off decides over REQUEST_SCHEME, as in
        // uWSGI; an address with no port is no client.
        let sparse = [
            ("REMOTE_ADDR", "192.0.2.1"),
            ("HTTPS", "off"),
            ("REQUEST_SCHEME", "https"),
        ];
        let answer = answer_with(vars_app(), &vars_get("/vars", &sparse)).await;
        assert!(
            answer.ends_with(
                "modifiers=0/0 remote=None scheme=http script= server=None:None raw=None vars_too=false"
            ),
            "{answer}"
        );
        // No client in the vars: no `ConnectInfo`, and axum's extractor answers 500.
        let answer = answer_with(vars_app(), &vars_get("/ip", &sparse)).await;
        assert!(answer.starts_with("HTTP/1.1 500 "), "{answer}");
        let unparsable = [("REMOTE_ADDR", "localhost"), ("REMOTE_PORT", "1")];
        let answer = answer_with(vars_app(), &vars_get("/ip", &unparsable)).await;
        assert!(answer.starts_with("HTTP/1.1 500 "), "{answer}");
    }

    #[tokio::test]
    async fn graceful_shutdown_closes_an_idle_connection_at_once() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        // The default head timeout is 30 s: an idle connection would hold that long.
        let connection = Builder::new().serve_connection(server, app());
        let mut connection = std::pin::pin!(connection);
        tokio::select! {
            done = &mut connection => panic!("an idle connection ended: {done:?}"),
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
        let start = Instant::now();
        connection.as_mut().graceful_shutdown();
        let done = tokio::time::timeout(Duration::from_secs(1), connection)
            .await
            .expect("closed at once");
        assert!(done.is_ok(), "{done:?}");
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.expect("the close");
        assert_eq!(
            String::from_utf8_lossy(&answer),
            "",
            "closed with no answer"
        );
        assert!(start.elapsed() < Duration::from_millis(500));
    }

    #[tokio::test]
    async fn graceful_shutdown_finishes_the_request_in_flight_and_no_pipelined_one() {
        use std::sync::{Arc, Mutex};
        use tokio::sync::{mpsc, oneshot};
        let (called, mut was_called) = mpsc::channel::<()>(1);
        let (release, released) = oneshot::channel::<()>();
        let released = Arc::new(Mutex::new(Some(released)));
        let app = app().route(
            "/wait",
            get(move || {
                let called = called.clone();
                let released = released.lock().expect("not poisoned").take();
                async move {
                    let _ = called.send(()).await;
                    if let Some(released) = released {
                        let _ = released.await;
                    }
                    "waited"
                }
            }),
        );
        let (mut client, server) = tokio::io::duplex(1 << 16);
        // Two pipelined requests: without the shutdown both are answered
        // (`pipelined_requests_are_answered_in_turn`).
        let mut input = get_packet("/wait");
        input.extend_from_slice(&get_packet("/a"));
        client.write_all(&input).await.expect("write the requests");
        let connection = Builder::new().serve_connection(server, app);
        let mut connection = std::pin::pin!(connection);
        tokio::select! {
            done = &mut connection => panic!("ended before the service was called: {done:?}"),
            _ = was_called.recv() => {}
        }
        connection.as_mut().graceful_shutdown();
        let _ = release.send(());
        let done = tokio::time::timeout(Duration::from_secs(5), connection)
            .await
            .expect("the connection ends");
        assert!(done.is_ok(), "{done:?}");
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.expect("the close");
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nwaited"), "{answer}");
        assert_eq!(answer.matches("HTTP/1.1").count(), 1, "{answer}");
    }

    /// The spans the driver opens, as a subscriber records them: name and fields, in
    /// the order they close.
    #[derive(Clone, Default)]
    struct Spans(std::sync::Arc<std::sync::Mutex<SpansInner>>);

    #[derive(Default)]
    struct SpansInner {
        open: std::collections::HashMap<u64, (String, Fields)>,
        closed: Vec<(String, Fields)>,
        /// Every event at WARN or above: its fields, the message among them.
        warnings: Vec<Fields>,
    }

    #[derive(Default, Debug, Clone)]
    struct Fields(std::collections::BTreeMap<String, String>);

    impl tracing::field::Visit for Fields {
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            self.0
                .insert(field.name().to_string(), format!("{value:?}"));
        }
        fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
            self.0.insert(field.name().to_string(), value.to_string());
        }
    }

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Spans {
        fn on_new_span(
            &self,
            attrs: &tracing::span::Attributes<'_>,
            id: &tracing::span::Id,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let mut fields = Fields::default();
            attrs.record(&mut fields);
            let name = attrs.metadata().name().to_string();
            let mut spans = self.0.lock().expect("not poisoned");
            spans.open.insert(id.into_u64(), (name, fields));
        }

        fn on_record(
            &self,
            id: &tracing::span::Id,
            values: &tracing::span::Record<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let mut spans = self.0.lock().expect("not poisoned");
            if let Some((_, fields)) = spans.open.get_mut(&id.into_u64()) {
                values.record(fields);
            }
        }

        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            if *event.metadata().level() <= tracing::Level::WARN {
                let mut fields = Fields::default();
                event.record(&mut fields);
                self.0.lock().expect("not poisoned").warnings.push(fields);
            }
        }

        fn on_close(&self, id: tracing::span::Id, _: tracing_subscriber::layer::Context<'_, S>) {
            let mut spans = self.0.lock().expect("not poisoned");
            if let Some(span) = spans.open.remove(&id.into_u64()) {
                spans.closed.push(span);
            }
        }
    }

    /// The spans closed while `app` answered `input` under a subscriber at `level`.
    async fn spans_of(level: tracing::Level, input: &[u8]) -> Vec<(String, Fields)> {
        use tracing_subscriber::layer::SubscriberExt;
        let spans = Spans::default();
        let subscriber = tracing_subscriber::registry()
            .with(spans.clone())
            .with(tracing_subscriber::filter::LevelFilter::from_level(level));
        // Thread-local, and the test's runtime runs the connection on this thread.
        let _default = tracing::subscriber::set_default(subscriber);
        let (answer, result) = exchange(Builder::new(), input, true).await;
        assert!(
            result.is_ok(),
            "{result:?}: {}",
            String::from_utf8_lossy(&answer)
        );
        let closed = spans.0.lock().expect("not poisoned").closed.clone();
        closed
    }

    #[tokio::test]
    async fn a_request_span_records_method_path_status_and_latency() {
        let mut input = get_packet("/a?x=1");
        input.extend_from_slice(&get_packet("/nowhere"));
        let spans = spans_of(tracing::Level::DEBUG, &input).await;
        let names: Vec<&str> = spans.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["request", "request", "connection"], "{spans:?}");
        let fields = |i: usize, name: &str| spans[i].1 .0.get(name).cloned();
        assert_eq!(fields(0, "method").as_deref(), Some("GET"));
        assert_eq!(fields(0, "path").as_deref(), Some("/a"));
        assert_eq!(fields(0, "status").as_deref(), Some("200"));
        assert_eq!(fields(1, "path").as_deref(), Some("/nowhere"));
        assert_eq!(fields(1, "status").as_deref(), Some("404"));
        // A `Duration`'s Debug form: `12.3µs`, `1.2ms`.
        let latency = fields(0, "latency").unwrap_or_default();
        assert!(latency.ends_with('s'), "{latency:?}");
        // `serve_connection` knows no peer (`serve` names the listener's).
        assert_eq!(fields(2, "peer"), None, "{spans:?}");
    }

    #[tokio::test]
    async fn under_serve_the_connection_span_and_its_failure_name_the_peer() {
        use tracing_subscriber::layer::SubscriberExt;
        let spans = Spans::default();
        let subscriber = tracing_subscriber::registry()
            .with(spans.clone())
            .with(tracing_subscriber::filter::LevelFilter::DEBUG);
        let _default = tracing::subscriber::set_default(subscriber);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(
            uwsgi_wire::server::serve(listener, app()).with_graceful_shutdown(async {
                let _ = stopped.await;
            }),
        );
        let mut client = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let peer = client.local_addr().expect("local address").to_string();
        // The malformed packet of `a_malformed_packet_is_answered_400`.
        client
            .write_all(b"\x00\x05\x00\x00\x10\x00abc")
            .await
            .expect("write");
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), client.read_to_end(&mut answer))
            .await
            .expect("the server closes the connection")
            .expect("read");
        assert_eq!(String::from_utf8_lossy(&answer), status(400, "Bad Request"));
        let _ = stop.send(());
        let served = tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .expect("the server stops");
        assert!(matches!(served, Ok(Ok(()))), "{served:?}");
        let spans = spans.0.lock().expect("not poisoned");
        let connection = spans
            .closed
            .iter()
            .find(|(name, _)| name == "connection")
            .map(|(_, fields)| fields.0.get("peer").cloned());
        assert_eq!(connection, Some(Some(peer.clone())), "{:?}", spans.closed);
        let failed = spans.warnings.iter().find(|fields| {
            fields
                .0
                .get("message")
                .is_some_and(|m| m == "connection failed")
        });
        let failed = failed.unwrap_or_else(|| panic!("no failure logged: {:?}", spans.warnings));
        assert_eq!(failed.0.get("peer"), Some(&peer), "{failed:?}");
        assert!(failed.0.contains_key("error"), "{failed:?}");
    }

    /// The time `serve` with at most `max` connections takes to answer a fast request
    /// sent while a slow one (500 ms) is in flight.
    async fn fast_answer_behind_a_slow_one(max: Option<usize>) -> Duration {
        let app = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    "slow"
                }),
            )
            .route("/a", get(|| async { "first" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local address");
        let serve = uwsgi_wire::server::serve(listener, app);
        let serve = match max {
            Some(max) => serve.max_connections(max),
            None => serve,
        };
        let server = tokio::spawn(async move { serve.await });
        let ask = |path: &'static str| async move {
            let mut client = tokio::net::TcpStream::connect(addr).await.expect("connect");
            client.write_all(&get_packet(path)).await.expect("write");
            let mut answer = Vec::new();
            tokio::time::timeout(Duration::from_secs(10), client.read_to_end(&mut answer))
                .await
                .expect("answered")
                .expect("read");
            String::from_utf8_lossy(&answer).into_owned()
        };
        let slow = tokio::spawn(ask("/slow"));
        // The slow request is in flight (a task of its own) before the fast one connects.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let start = Instant::now();
        let fast = ask("/a").await;
        let took = start.elapsed();
        assert!(fast.ends_with("first"), "{fast}");
        let slow = slow.await.expect("no panic");
        assert!(slow.ends_with("slow"), "{slow}");
        server.abort();
        took
    }

    #[tokio::test]
    async fn max_connections_holds_a_connection_back_until_one_ends() {
        // One at a time: the fast request waits in the backlog for the slow one's end
        // (400 ms after it connected).
        let held = fast_answer_behind_a_slow_one(Some(1)).await;
        assert!(held >= Duration::from_millis(300), "{held:?}");
        // With room for both, it is answered at once.
        let free = fast_answer_behind_a_slow_one(None).await;
        assert!(free < Duration::from_millis(300), "{free:?}");
    }

    #[tokio::test]
    async fn an_info_subscriber_gets_no_driver_span() {
        // The spans are at DEBUG: at the usual INFO level none is created (and the
        // latency clock is not read).
        let spans = spans_of(tracing::Level::INFO, &get_packet("/a")).await;
        assert!(spans.is_empty(), "{spans:?}");
    }
}

mod behind_nginx {
    use std::collections::HashSet;
    use std::fs;
    use std::io::{ErrorKind, Read, Write};
    use std::net::TcpStream;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::sync::{Arc, Barrier};
    use std::thread;
    use std::time::{Duration, Instant, SystemTime};

    use serde_json::{json, Value};
    use sha2::{Digest, Sha256};

    use crate::client::{find, pattern, HttpRequest, HttpResponse};
    use crate::harness::{self, poll, require, start_listening, Peer, TempDir, NGINX};
    use crate::own_servers::examples;

    /// The longest a peer may live (the `timeout` cap).
    const CAP: Duration = Duration::from_secs(300);

    /// The bound on the example's peak RSS (`VmHWM`) in the streaming tests: its debug
    /// build peaks near 7.5 MiB after a warm-up request (README), and a driver holding
    /// the 10 MiB upload, or 10 MiB of the 100 MiB download, even once would pass
    /// 17 MiB; a few copies (a `Vec` doubling as it grows, a collected body and its
    /// hash input) would pass 40 MiB. The growth over the warmed-up peak is bounded
    /// tighter, by [`MAX_GROWTH_KIB`].
    const MAX_PEAK_KIB: u64 = 40 * 1024;

    /// The most the peak RSS may grow during one streamed transfer: less than the
    /// 10 MiB the smallest transfer would add if held whole once.
    const MAX_GROWTH_KIB: u64 = 8 * 1024;

    /// A running `examples/axum`.
    struct Axum {
        peer: Peer,
        port: u16,
        pid: u32,
    }

    impl Axum {
        /// Starts examples/axum on a free port, with `env` (`NAME=value`) set.
        fn start(dir: &TempDir, env: &[&str]) -> Axum {
            let bin = example_binary();
            let bin_str = bin.to_str().expect("UTF-8 path").to_owned();
            let (peer, port) = start_listening(|port| {
                let mut args: Vec<String> = env.iter().map(|var| var.to_string()).collect();
                args.push(bin_str.clone());
                args.push(format!("127.0.0.1:{port}"));
                // `env` execs the example: its pid is the one `timeout` started.
                Peer::start("axum", dir.path(), "TERM", CAP, "env", args)
            });
            let pid = harness::pid_running(&bin_str, &format!("127.0.0.1:{port}"));
            let axum = Axum { peer, port, pid };
            assert!(
                axum.log()
                    .contains(&format!("listening on 127.0.0.1:{port}")),
                "{}",
                axum.log()
            );
            axum
        }

        fn log(&self) -> String {
            self.peer.log()
        }

        fn peak_rss_kib(&self) -> u64 {
            harness::status_kib(self.pid, "VmHWM")
        }

        /// The TCP connections the example holds open (its sockets in /proc/net/tcp
        /// that are not listening): one per front-end connection.
        fn connections(&self) -> usize {
            let inodes: HashSet<String> = fs::read_dir(format!("/proc/{}/fd", self.pid))
                .map(|fds| {
                    fds.filter_map(|fd| fs::read_link(fd.ok()?.path()).ok())
                        .filter_map(|target| {
                            let target = target.to_str()?;
                            let inode = target.strip_prefix("socket:[")?.strip_suffix(']')?;
                            Some(inode.to_owned())
                        })
                        .collect()
                })
                .unwrap_or_default();
            let table = fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
            table
                .lines()
                .skip(1)
                .filter(|line| {
                    // st is the 4th field (0A = LISTEN), the inode the 10th.
                    let mut fields = line.split_whitespace();
                    let state = fields.nth(3);
                    let inode = fields.nth(5);
                    state != Some("0A") && inode.is_some_and(|inode| inodes.contains(inode))
                })
                .count()
        }

        /// Waits until the example holds `want` connections; panics with what it holds.
        fn wait_connections(&self, want: usize, timeout: Duration) {
            let reached = poll(timeout, || (self.connections() == want).then_some(()));
            assert!(
                reached.is_some(),
                "the example holds {} connections, not {want}, after {timeout:?}",
                self.connections()
            );
        }

        /// Sends SIGTERM to the example alone (not to its `timeout` parent).
        fn terminate(&self) {
            let sent = Command::new("sh")
                .args(["-c", r#"kill -s TERM "$0""#])
                .arg(self.pid.to_string())
                .stdout(Stdio::null())
                .status()
                .expect("run sh");
            assert!(sent.success(), "kill -s TERM {}", self.pid);
        }
    }

    /// examples/axum as `cargo test --workspace --all-features` built it; refused when
    /// older than its sources (`cargo test --test conformance` alone does not rebuild
    /// examples: run `cargo build --all-features --example axum` first).
    fn example_binary() -> PathBuf {
        let bin = examples::example("axum");
        let built = modified(&bin);
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut sources = vec![root.join("examples/axum.rs")];
        for dir in ["examples/support", "src/server"] {
            if let Ok(dir) = fs::read_dir(root.join(dir)) {
                sources.extend(dir.filter_map(|entry| Some(entry.ok()?.path())));
            }
        }
        for source in sources {
            assert!(
                modified(&source) <= built,
                "{} is older than {}: run `cargo build --all-features --example axum` (or \
                 `cargo test --workspace --all-features`, which builds the examples)",
                bin.display(),
                source.display()
            );
        }
        bin
    }

    fn modified(path: &Path) -> SystemTime {
        fs::metadata(path)
            .and_then(|m| m.modified())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// nginx 1.22 in front of the example, streaming both ways.
    struct Nginx {
        port: u16,
        _peer: Peer,
    }

    /// nginx 1.22 with `uwsgi_pass 127.0.0.1:<backend>` and Debian's `uwsgi_params` for
    /// every path, streaming in both directions:
    ///
    /// - `uwsgi_request_buffering off`: the body goes to the example as the client
    ///   sends it (the default spools it to a temp file first, and a client gone
    ///   mid-body would never reach the example);
    /// - `uwsgi_buffering off`: nginx reads the response only as fast as the client
    ///   takes it. With the default (`on`), nginx would drain the 100 MiB download into
    ///   its temp file at full speed, so the example would never wait on a slow reader
    ///   and its bounded memory would not be shown; with `off` back-pressure reaches
    ///   the driver's writes;
    /// - `client_max_body_size 200m` (the default 1 MiB refuses the 10 MiB upload).
    fn nginx(dir: &TempDir, backend: u16) -> Nginx {
        let (peer, port) = crate::peers::nginx_server(
            dir,
            &format!(
                "location / {{
            include /etc/nginx/uwsgi_params;
            uwsgi_pass 127.0.0.1:{backend};
            uwsgi_request_buffering off;
            uwsgi_buffering off;
            client_max_body_size 200m;
        }}"
            ),
        );
        Nginx { port, _peer: peer }
    }

    /// The example behind nginx, in a fresh folder.
    fn stack(name: &str, env: &[&str]) -> (TempDir, Axum, Nginx) {
        let dir = TempDir::new(name);
        let axum = Axum::start(&dir, env);
        let front = nginx(&dir, axum.port);
        (dir, axum, front)
    }

    fn sha256_hex(bytes: &[u8]) -> String {
        hex(&Sha256::digest(bytes))
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// GET `target` through nginx; the response and how long it took.
    fn get(port: u16, target: &str) -> (HttpResponse, Duration) {
        let start = Instant::now();
        let (_, response) = HttpRequest::new("GET", target, port).send(port, b"");
        (response, start.elapsed())
    }

    /// Warms the example up (its runtime's first allocations) and returns its peak RSS.
    fn warmed_up_peak(axum: &Axum, front: &Nginx) -> u64 {
        let (response, _) = get(front.port, "/echo?warm=up");
        response.json();
        let (response, _) = get(front.port, "/big/1000000");
        assert_eq!(response.body.len(), 1_000_000);
        axum.peak_rss_kib()
    }

    #[test]
    fn axum_get_keeps_the_query_and_every_header_line() {
        require!(NGINX);
        let (_dir, _axum, front) = stack("axum-headers", &[]);
        let (_, response) = HttpRequest::new("GET", "/echo?a=1&b=two%20words&a=3", front.port)
            .header("Cookie", "a=1")
            .header("X-Dup", "first")
            .header("Cookie", "b=2")
            .header("X-Dup", "second")
            .header("Accept", "*/*")
            .send(front.port, b"");
        let answer = response.json();
        assert_eq!(answer["method"], "GET");
        assert_eq!(answer["path"], "/echo");
        assert_eq!(answer["query"], "a=1&b=two%20words&a=3");
        assert_eq!(answer["body_len"], 0);
        assert_eq!(answer["body_sha256"], sha256_hex(b""));
        // nginx sends one HTTP_ var per header line, in the client's order, after
        // Debian's `uwsgi_params` (HTTP_HOST = $host: no port). The empty
        // CONTENT_TYPE and CONTENT_LENGTH of a GET make no header. `http::HeaderMap`
        // keeps every value, a repeated name's in order.
        assert_eq!(
            answer["headers"],
            json!([
                ["host", "127.0.0.1"],
                ["cookie", "a=1"],
                ["cookie", "b=2"],
                ["x-dup", "first"],
                ["x-dup", "second"],
                ["accept", "*/*"],
                ["connection", "close"],
            ]),
        );
    }

    #[test]
    fn axum_events_reach_the_client_as_they_are_yielded() {
        // examples/axum.rs's /events: 5 server-sent events, one every 300 ms, behind
        // nginx with `uwsgi_buffering off`. Each must arrive within 100 ms of its time (300
        // ms after the one before); a driver that held them until the stream ended would
        // deliver all five at once, 1.2 s late.
        require!(NGINX);
        let (_dir, _axum, front) = stack("axum-events", &[]);
        let mut stream = TcpStream::connect(("127.0.0.1", front.port)).expect("connect to nginx");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("a read timeout");
        stream
            .write_all(
                b"GET /events?n=5&ms=300 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            )
            .expect("send the request");
        let mut seen = Vec::new();
        let mut arrivals = Vec::new();
        let mut buf = [0u8; 4096];
        while arrivals.len() < 5 {
            let n = stream.read(&mut buf).expect("read the events");
            assert!(
                n > 0,
                "closed after {} events: {:?}",
                arrivals.len(),
                String::from_utf8_lossy(&seen)
            );
            let at = Instant::now();
            seen.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&seen);
            while arrivals.len() < 5 && text.contains(&format!("data: {}\n\n", arrivals.len())) {
                arrivals.push(at);
            }
        }
        let gaps: Vec<Duration> = arrivals.windows(2).map(|w| w[1] - w[0]).collect();
        eprintln!("measured: gaps between the events {gaps:?} (300 ms apart when sent)");
        for (i, gap) in gaps.iter().enumerate() {
            let late = gap.as_millis().abs_diff(300);
            assert!(
                late <= 100,
                "event {} arrived {gap:?} after event {i}",
                i + 1
            );
        }
    }

    #[test]
    fn axum_streams_a_10_mib_upload_in_bounded_memory() {
        require!(NGINX);
        let (_dir, axum, front) = stack("axum-upload", &[]);
        let before = warmed_up_peak(&axum, &front);
        let body = pattern(10 << 20);
        let start = Instant::now();
        let (_, response) = HttpRequest::new("POST", "/echo?upload", front.port)
            .header("Content-Type", "application/octet-stream")
            .header("Content-Length", body.len().to_string())
            .send(front.port, &body);
        let took = start.elapsed();
        let answer = response.json();
        assert_eq!(answer["method"], "POST");
        assert_eq!(answer["body_len"], 10 << 20);
        assert_eq!(answer["body_sha256"], sha256_hex(&body));
        let peak = axum.peak_rss_kib();
        eprintln!("measured: 10 MiB upload in {took:?}; example VmHWM {before} KiB warmed up, {peak} KiB after");
        assert!(peak < MAX_PEAK_KIB, "peak RSS {peak} KiB");
        assert!(
            peak - before < MAX_GROWTH_KIB,
            "peak RSS grew by {} KiB (from {before} KiB) for a 10 MiB body",
            peak - before
        );
    }

    #[test]
    fn axum_streams_a_100_mib_download_in_bounded_memory() {
        require!(NGINX);
        let (_dir, axum, front) = stack("axum-download", &[]);
        let before = warmed_up_peak(&axum, &front);
        const LEN: u64 = 100 << 20;
        let start = Instant::now();
        let mut conn = TcpStream::connect(("127.0.0.1", front.port)).expect("connect nginx");
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let request = HttpRequest::new("GET", &format!("/big/{LEN}"), front.port).bytes();
        conn.write_all(&request).expect("send the request");
        // The head, then the body counted and compared as it streams, never held: byte
        // for byte against the pattern `/big/N` documents, which a digest would only
        // summarise (and SHA-256 of 100 MiB takes ~6 s in this debug build).
        let mut buf = vec![0u8; 64 * 1024];
        let mut head = Vec::new();
        let body_start = loop {
            let n = conn.read(&mut buf).expect("read the head");
            assert!(
                n > 0,
                "closed in the head: {:?}",
                String::from_utf8_lossy(&head)
            );
            head.extend_from_slice(&buf[..n]);
            if let Some(at) = find(&head, b"\r\n\r\n") {
                break at + 4;
            }
        };
        let head_text = String::from_utf8_lossy(&head[..body_start]).to_ascii_lowercase();
        assert!(head_text.starts_with("http/1.1 200 ok\r\n"), "{head_text}");
        assert!(
            head_text.contains(&format!("\r\ncontent-length: {LEN}\r\n")),
            "{head_text}"
        );
        // `/big/N` sends `0123456789` repeated: byte i is b'0' + i % 10.
        let expected: Vec<u8> = b"0123456789".repeat(buf.len() / 10 + 2);
        let mut count: u64 = 0;
        let mut check = |chunk: &[u8]| {
            let offset = usize::try_from(count % 10).expect("small");
            assert!(
                chunk == &expected[offset..offset + chunk.len()],
                "wrong bytes in the {} bytes at offset {count}",
                chunk.len()
            );
            count += chunk.len() as u64;
        };
        check(&head[body_start..]);
        let mut paused = false;
        loop {
            let n = conn.read(&mut buf).expect("read the body");
            if n == 0 {
                break;
            }
            check(&buf[..n]);
            if !paused {
                // A slow reader for a while: the socket buffers and nginx's fill up, and
                // the example's writes wait (back-pressure) instead of queueing.
                paused = true;
                thread::sleep(Duration::from_millis(300));
            }
        }
        let took = start.elapsed();
        assert_eq!(count, LEN, "body bytes, then the close");
        let peak = axum.peak_rss_kib();
        eprintln!("measured: 100 MiB download in {took:?}; example VmHWM {before} KiB warmed up, {peak} KiB after");
        assert!(peak < MAX_PEAK_KIB, "peak RSS {peak} KiB");
        assert!(
            peak - before < MAX_GROWTH_KIB,
            "peak RSS grew by {} KiB (from {before} KiB) for a 100 MiB download",
            peak - before
        );
    }

    #[test]
    fn axum_answers_64_concurrent_requests() {
        require!(NGINX);
        let (_dir, _axum, front) = stack("axum-concurrent", &[]);
        let port = front.port;
        const N: usize = 64;

        // 64 POSTs at once, each with its own query, header and 16 KiB body.
        let barrier = Arc::new(Barrier::new(N));
        let posts: Vec<_> = (0..N)
            .map(|i| {
                let barrier = Arc::clone(&barrier);
                thread::spawn(move || {
                    let mut body = format!("request {i}:").into_bytes();
                    body.extend_from_slice(&pattern(16 * 1024 + i));
                    let request = HttpRequest::new("POST", &format!("/echo?i={i}"), port)
                        .header("X-Index", i.to_string())
                        .header("Content-Length", body.len().to_string());
                    barrier.wait();
                    let (_, response) = request.send(port, &body);
                    let answer = response.json();
                    assert_eq!(answer["query"], format!("i={i}"));
                    let index: Vec<&Value> = answer["headers"]
                        .as_array()
                        .expect("headers")
                        .iter()
                        .filter(|pair| pair[0] == "x-index")
                        .collect();
                    assert_eq!(index, [&json!(["x-index", i.to_string()])]);
                    assert_eq!(answer["body_len"], body.len());
                    assert_eq!(answer["body_sha256"], sha256_hex(&body));
                })
            })
            .collect();
        for post in posts {
            post.join().expect("a POST failed");
        }

        // 64 requests that each take 500 ms, at once: served side by side, not in turn
        // (32 s).
        let barrier = Arc::new(Barrier::new(N + 1));
        let slows: Vec<_> = (0..N)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                thread::spawn(move || {
                    barrier.wait();
                    let (response, took) = get(port, "/slow?ms=500");
                    assert_eq!(response.status, 200);
                    assert_eq!(response.body, b"slow\n");
                    took
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let took: Vec<Duration> = slows
            .into_iter()
            .map(|slow| slow.join().expect("a slow request failed"))
            .collect();
        let all = start.elapsed();
        eprintln!(
            "measured: 64 concurrent /slow?ms=500 all answered in {all:?} (slowest {:?})",
            took.iter().max().expect("64")
        );
        assert!(took.iter().all(|t| *t >= Duration::from_millis(500)));
        assert!(all < Duration::from_secs(4), "{all:?}");
    }

    #[test]
    fn axum_sees_a_client_gone_mid_body_as_a_body_error() {
        require!(NGINX);
        let (_dir, axum, front) = stack("axum-gone", &[]);
        let (response, _) = get(front.port, "/echo");
        response.json();
        axum.wait_connections(0, Duration::from_secs(5));

        // A 1 MiB Content-Length, half of it, then the client closes.
        let mut conn = TcpStream::connect(("127.0.0.1", front.port)).expect("connect nginx");
        let head = HttpRequest::new("POST", "/echo?gone", front.port)
            .header("Content-Length", (1u32 << 20).to_string())
            .bytes();
        conn.write_all(&head).expect("head");
        conn.write_all(&pattern(512 * 1024)).expect("half the body");
        // Let nginx forward it (the example holds the connection meanwhile).
        axum.wait_connections(1, Duration::from_secs(5));
        thread::sleep(Duration::from_millis(200));
        drop(conn);

        let gone = Instant::now();
        let mut axum = axum;
        axum.peer
            .wait_log("request body failed", Duration::from_secs(10));
        let log = axum.log();
        let line = log
            .lines()
            .find(|line| line.contains("request body failed"))
            .expect("the warning");
        assert!(line.contains("WARN"), "{line}");
        assert!(
            line.contains("the connection ended before the end of the body"),
            "{line}"
        );
        // What the handler had read before the error: some, never more than was sent.
        let read: u64 = line
            .split("body_len=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no body_len in {line}"));
        assert!(read > 0 && read <= 512 * 1024, "{line}");
        eprintln!(
            "measured: body error logged {:?} after the close, after {read} body bytes",
            gone.elapsed()
        );

        // Nothing hangs: the connection is gone and the next request is answered.
        axum.wait_connections(0, Duration::from_secs(5));
        let (response, took) = get(front.port, "/echo?next");
        assert_eq!(response.json()["query"], "next");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }

    #[test]
    fn axum_slow_drip_connections_are_cut_by_the_head_timeout() {
        require!(NGINX);
        const DRIPS: usize = 200;
        const HEAD_TIMEOUT: Duration = Duration::from_millis(3000);
        let (_dir, axum, front) = stack("axum-drip", &["UWSGI_HEAD_TIMEOUT_MS=3000"]);
        let (response, _) = get(front.port, "/echo");
        response.json();
        axum.wait_connections(0, Duration::from_secs(5));

        // 200 connections straight to the example, each sending one byte of a request
        // header (`00 10 00 00`: datasize 16) a second: 3 bytes, at 0, 1 and 2 s, then
        // nothing, so nothing of theirs is unread when the server closes them. (A
        // connect can take 1 s, a lost SYN's retransmission on a loaded machine: each
        // one's time counts from its own connect, and the drip from the first.)
        let start = Instant::now();
        let drips: Vec<(TcpStream, Instant)> = (0..DRIPS)
            .map(|_| {
                let conn = TcpStream::connect(("127.0.0.1", axum.port)).expect("connect");
                (conn, Instant::now())
            })
            .collect();
        let mut dripper = Some(thread::spawn(move || {
            for (k, byte) in [0x00u8, 0x10, 0x00].into_iter().enumerate() {
                if let Some(wait) =
                    (start + Duration::from_secs(k as u64)).checked_duration_since(Instant::now())
                {
                    thread::sleep(wait);
                }
                for (conn, _) in &drips {
                    let mut drip: &TcpStream = conn;
                    drip.write_all(&[byte]).expect("drip a byte");
                }
            }
            // None is answered before its head timeout (checked right after the last
            // byte, whatever the request loop below is doing).
            for (conn, _) in &drips {
                let mut drip: &TcpStream = conn;
                drip.set_nonblocking(true).expect("nonblocking");
                let mut byte = [0u8; 1];
                match drip.read(&mut byte) {
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    other => panic!("answered before the head timeout: {other:?}"),
                }
                drip.set_nonblocking(false).expect("blocking");
            }
            let checked = Instant::now();
            // Then one reader each, to time every answer and close where it happens.
            let readers: Vec<_> = drips
                .into_iter()
                .map(|(mut drip, connected)| {
                    thread::Builder::new()
                        .stack_size(64 * 1024)
                        .spawn(move || {
                            drip.set_read_timeout(Some(Duration::from_secs(20)))
                                .expect("timeout");
                            let mut answer = Vec::new();
                            drip.read_to_end(&mut answer)
                                .expect("read the answer and the close");
                            (answer, connected.elapsed())
                        })
                        .expect("spawn a reader")
                })
                .collect();
            (checked, readers)
        }));

        // Meanwhile ordinary requests through nginx are answered as usual, until every
        // drip is closed.
        let mut slowest = Duration::ZERO;
        let mut requests = 0;
        let mut held = 0;
        let mut counted = Instant::now() - Duration::from_secs(1);
        let mut readers = None;
        loop {
            let (response, took) = get(front.port, &format!("/echo?n={requests}"));
            assert_eq!(response.json()["query"], format!("n={requests}"));
            assert!(took < Duration::from_secs(1), "a request took {took:?}");
            slowest = slowest.max(took);
            requests += 1;
            if counted.elapsed() > Duration::from_millis(500) {
                held = held.max(axum.connections());
                counted = Instant::now();
            }
            if let Some(done) = dripper.take_if(|dripper| dripper.is_finished()) {
                readers = Some(done.join().expect("dripper"));
                held = held.max(axum.connections());
            }
            if let Some((_, readers)) = &readers {
                if readers.iter().all(|reader| reader.is_finished()) {
                    break;
                }
            }
            thread::sleep(Duration::from_millis(50));
        }
        let (checked, readers) = readers.expect("the dripper ended");
        let first = start;
        // Every drip was accepted and is held by a task (not queued in the backlog).
        assert!(held >= DRIPS, "{held} connections held");
        // The check that none was answered came before any head timeout could end.
        let checked = checked - first;
        assert!(
            checked < HEAD_TIMEOUT - Duration::from_millis(300),
            "the drip was checked {checked:?} after the first connect"
        );
        // Each was answered 408 and closed at its head timeout.
        let expected = "HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n\r\n408 Request Timeout\n";
        let mut closed: Vec<Duration> = readers
            .into_iter()
            .map(|reader| {
                let (answer, closed) = reader.join().expect("a reader");
                assert_eq!(String::from_utf8_lossy(&answer), expected);
                closed
            })
            .collect();
        closed.sort();
        let (soonest, latest) = (closed[0], closed[DRIPS - 1]);
        eprintln!(
            "measured: {DRIPS} drips held {held} connections, none answered {checked:?} after the first connect; {requests} requests meanwhile, slowest {slowest:?}; each answered 408 and closed {soonest:?} to {latest:?} (median {:?}) after its connect",
            closed[DRIPS / 2]
        );
        assert!(
            soonest >= HEAD_TIMEOUT - Duration::from_millis(50),
            "{soonest:?}"
        );
        assert!(latest < HEAD_TIMEOUT + Duration::from_secs(3), "{latest:?}");
        axum.wait_connections(0, Duration::from_secs(5));
        let (response, took) = get(front.port, "/echo?after");
        assert_eq!(response.json()["query"], "after");
        assert!(took < Duration::from_secs(1), "{took:?}");
    }

    #[test]
    fn axum_shuts_down_gracefully_with_a_request_in_flight() {
        require!(NGINX);
        // Without TCP_DEFER_ACCEPT, so that the kernel hands over the idle connection
        // below (with it, the kernel keeps a connection that sent nothing to itself).
        let (_dir, mut axum, front) = stack("axum-shutdown", &["UWSGI_DEFER_ACCEPT=0"]);
        let (response, _) = get(front.port, "/echo");
        response.json();
        axum.wait_connections(0, Duration::from_secs(5));

        let port = front.port;
        let slow = thread::spawn(move || get(port, "/slow?ms=2000"));
        // And a connection straight to the example that has sent nothing (a stalled
        // client, a front end's spare connection): nothing of it is in flight.
        let mut idle = TcpStream::connect(("127.0.0.1", axum.port)).expect("connect the example");
        thread::sleep(Duration::from_millis(300));
        assert_eq!(axum.connections(), 2, "the slow request is in flight");
        let signalled = Instant::now();
        axum.terminate();

        // The idle connection is closed at once, with no answer (it used to hold the
        // shutdown for the whole head timeout, 30 s, then get a 408).
        idle.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut answer = Vec::new();
        idle.read_to_end(&mut answer).expect("the close");
        let idle_closed = signalled.elapsed();
        assert_eq!(String::from_utf8_lossy(&answer), "");
        assert!(idle_closed < Duration::from_secs(1), "{idle_closed:?}");

        // The listener closes at once: a new connection is refused, and nginx answers a
        // new request 502.
        let refused = poll(Duration::from_secs(2), || {
            match TcpStream::connect(("127.0.0.1", axum.port)) {
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => Some(signalled.elapsed()),
                _ => None,
            }
        });
        let refused = refused.expect("the example still accepts after SIGTERM");
        let (response, _) = get(front.port, "/echo?late");
        assert_eq!(response.status, 502);

        // The request in flight completes.
        let (response, took) = slow.join().expect("the slow request");
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"slow\n");
        assert!(took >= Duration::from_secs(2), "{took:?}");

        // Then the example exits 0.
        let status = axum.peer.wait_exit(Duration::from_secs(5));
        let exited = signalled.elapsed();
        eprintln!(
            "measured: idle connection closed {idle_closed:?} and new ones refused {refused:?} after SIGTERM; in-flight request done in {took:?}; exit {status} {exited:?} after SIGTERM"
        );
        assert!(status.success(), "{status}: {}", axum.log());
        assert!(exited < Duration::from_secs(4), "{exited:?}");
        assert!(axum.log().contains("shutting down"), "{}", axum.log());
    }

    #[test]
    fn axum_connect_info_is_the_client_nginx_saw() {
        require!(NGINX);
        // examples/axum.rs's /ip answers axum's `ConnectInfo<SocketAddr>`, which the
        // driver sets from nginx's REMOTE_ADDR and REMOTE_PORT: this client's own
        // address and source port, not nginx's connection to the example.
        let (_dir, axum, front) = stack("axum-ip", &[]);
        for _ in 0..2 {
            let (client_port, response) =
                HttpRequest::new("GET", "/ip", front.port).send(front.port, b"");
            assert_eq!(response.status, 200, "{}", axum.log());
            assert_eq!(
                String::from_utf8_lossy(&response.body),
                format!("127.0.0.1:{client_port}")
            );
        }
    }
}
