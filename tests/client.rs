//! The client driver's `Client` against the crate's own server driver on a real TCP (and
//! Unix) listener: under tower's own layers (`ServiceBuilder`'s timeout and concurrency
//! limit), and with the vars of one request (`cgi::RequestParams`) reaching the backend
//! exactly.
#![cfg(all(feature = "client", feature = "server"))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::routing::get;
use axum::{Json, Router};
use bytes::Bytes;
use http_body_util::BodyExt;
use tower::{Service, ServiceBuilder, ServiceExt};
use uwsgi_wire::cgi::{NginxParams, RequestParams};
use uwsgi_wire::client::{Builder, Client};
use uwsgi_wire::owned::OwnedPacket;

/// What the backend saw: requests at once now, the most at once, and how many.
#[derive(Default)]
struct Seen {
    now: AtomicUsize,
    max: AtomicUsize,
    total: AtomicUsize,
}

/// `/hold/MS` answers after MS milliseconds, counting the requests it holds at once;
/// `/vars` answers with every var the request packet carried, in order.
fn app(seen: Arc<Seen>) -> Router {
    async fn hold(
        State(seen): State<Arc<Seen>>,
        axum::extract::Path(ms): axum::extract::Path<u64>,
    ) -> &'static str {
        seen.total.fetch_add(1, Ordering::SeqCst);
        let now = seen.now.fetch_add(1, Ordering::SeqCst) + 1;
        seen.max.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        seen.now.fetch_sub(1, Ordering::SeqCst);
        "held"
    }
    async fn vars(request: Request) -> Json<Vec<(String, String)>> {
        let packet = request
            .extensions()
            .get::<OwnedPacket>()
            .expect("the packet");
        let vars = packet.owned_vars().expect("a request's vars");
        Json(
            vars.iter()
                .map(|(k, v)| {
                    (
                        String::from_utf8_lossy(&k).into_owned(),
                        String::from_utf8_lossy(&v).into_owned(),
                    )
                })
                .collect(),
        )
    }
    Router::new()
        .route("/hold/{ms}", get(hold))
        .route("/vars", get(vars))
        .with_state(seen)
}

/// The server driver serving `app` on a loopback port: its address.
async fn backend(seen: Arc<Seen>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { uwsgi_wire::server::serve(listener, app(seen)).await });
    addr
}

/// The requests sent here: bodies of one type, so that `ready` knows which service.
type Req = http::Request<http_body_util::Empty<Bytes>>;

fn request(path: &str) -> Req {
    http::Request::get(path)
        .body(http_body_util::Empty::new())
        .unwrap()
}

#[test]
fn a_client_is_a_service_to_share_and_spawn() {
    // What `ServiceBuilder` layers, `tokio::spawn` and a shared gateway need.
    fn shareable<S>(_: &S)
    where
        S: Service<Req, Response = http::Response<uwsgi_wire::client::ResponseBody>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Error: Into<tower::BoxError>,
        S::Future: Send + 'static,
    {
    }
    shareable(&Builder::new().build("127.0.0.1:3031"));
}

#[tokio::test]
async fn a_timeout_layer_fires_with_towers_elapsed_on_a_slow_backend() {
    let seen = Arc::new(Seen::default());
    let addr = backend(seen.clone()).await;
    // The client's own head timeout (60 s) is far off: the layer's is what fires.
    let mut service = ServiceBuilder::new()
        .timeout(Duration::from_millis(300))
        .concurrency_limit(4)
        .service(Builder::new().build(&addr));

    let started = Instant::now();
    let err = ServiceExt::<Req>::ready(&mut service)
        .await
        .unwrap()
        .call(request("/hold/5000"))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(err.is::<tower::timeout::error::Elapsed>(), "{err:?}");
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // It fired while the backend held the request, not before it was sent.
    assert_eq!(seen.total.load(Ordering::SeqCst), 1);

    // The same stack answers a backend that is quick enough.
    let response = ServiceExt::<Req>::ready(&mut service)
        .await
        .unwrap()
        .call(request("/hold/10"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"held");
}

/// `calls` requests at once through a concurrency limit of `limit`: the most the
/// backend held at once.
async fn most_at_once(limit: usize, calls: usize) -> usize {
    let seen = Arc::new(Seen::default());
    let addr = backend(seen.clone()).await;
    let service = ServiceBuilder::new()
        .timeout(Duration::from_secs(20))
        .concurrency_limit(limit)
        .service(Builder::new().build(&addr));
    let tasks: Vec<_> = (0..calls)
        .map(|_| {
            let service = service.clone();
            tokio::spawn(async move {
                let response = service.oneshot(request("/hold/100")).await?;
                let body = response.into_body().collect().await?.to_bytes();
                Ok::<_, tower::BoxError>(body)
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(&task.await.unwrap().unwrap()[..], b"held");
    }
    assert_eq!(seen.total.load(Ordering::SeqCst), calls);
    seen.max.load(Ordering::SeqCst)
}

#[tokio::test]
async fn a_concurrency_limit_of_one_lets_the_backend_see_one_request_at_once() {
    assert_eq!(most_at_once(1, 6).await, 1);
    // The control: the client and the backend do run requests side by side, so the
    // layer is what kept them apart.
    assert!(most_at_once(6, 6).await > 1);
}

/// The vars the backend received for `request`, through `service`.
async fn vars_through<S>(
    service: &mut S,
    request: http::Request<http_body_util::Empty<Bytes>>,
) -> Vec<(String, String)>
where
    S: Service<
        http::Request<http_body_util::Empty<Bytes>>,
        Response = http::Response<uwsgi_wire::client::ResponseBody>,
    >,
    S::Error: std::fmt::Debug,
{
    let response = service.ready().await.unwrap().call(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&body).unwrap()
}

fn all<'a>(vars: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    vars.iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

#[tokio::test]
async fn the_params_of_one_request_reach_the_backend_exactly() {
    let addr = backend(Arc::default()).await;
    let client = Builder::new()
        .params(
            NginxParams::new()
                .param("X_BUILDER", "builder")
                .param("X_OVERRIDE", "builder"),
        )
        .build(&addr);
    // Through the layers too: the extension travels with the request.
    let mut service = ServiceBuilder::new()
        .timeout(Duration::from_secs(20))
        .concurrency_limit(4)
        .service(client.clone());
    for (peer, remote_addr, remote_port) in [
        ("192.0.2.7:40000", "192.0.2.7", "40000"),
        ("[2001:db8::7]:8080", "2001:db8::7", "8080"),
        ("[::ffff:192.0.2.8]:1", "::ffff:192.0.2.8", "1"),
    ] {
        let mut with = request("/vars");
        with.extensions_mut().insert(
            RequestParams::new()
                .remote_addr(peer.parse().unwrap())
                .param("X_EXTRA", "extra")
                .param("X_OVERRIDE", "request"),
        );
        let vars = vars_through(&mut service, with).await;
        assert_eq!(all(&vars, "REMOTE_ADDR"), [remote_addr], "{vars:?}");
        assert_eq!(all(&vars, "REMOTE_PORT"), [remote_port], "{vars:?}");
        assert_eq!(all(&vars, "X_EXTRA"), ["extra"], "{vars:?}");
        assert_eq!(all(&vars, "X_OVERRIDE"), ["request"], "{vars:?}");
        assert_eq!(all(&vars, "X_BUILDER"), ["builder"], "{vars:?}");
        // Where nginx puts the client's address: after REQUEST_SCHEME.
        let at = vars.iter().position(|(k, _)| k == "REMOTE_ADDR").unwrap();
        assert_eq!(vars[at - 1].0, "REQUEST_SCHEME");
        assert_eq!(vars[at + 1].0, "REMOTE_PORT");
    }
    // A request without them: the shared params alone; nothing of the last request's
    // stayed with the client. Straight through `send` this time.
    let response = client.send(request("/vars")).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let vars: Vec<(String, String)> = serde_json::from_slice(&body).unwrap();
    assert_eq!(all(&vars, "REMOTE_ADDR"), Vec::<&str>::new(), "{vars:?}");
    assert_eq!(all(&vars, "REMOTE_PORT"), Vec::<&str>::new(), "{vars:?}");
    assert_eq!(all(&vars, "X_EXTRA"), Vec::<&str>::new(), "{vars:?}");
    assert_eq!(all(&vars, "X_OVERRIDE"), ["builder"], "{vars:?}");
}

#[tokio::test]
async fn a_client_of_a_unix_socket() {
    let dir = std::env::temp_dir().join(format!("uwsgi-wire-client-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("app.sock");
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    tokio::spawn(async move { uwsgi_wire::server::serve(listener, app(Arc::default())).await });
    // Written either way `uwsgi_pass` takes it.
    for addr in [
        format!("unix:{}", path.display()),
        path.display().to_string(),
    ] {
        let client: Client = Builder::new().build(&addr);
        let response = client.send(request("/hold/1")).await.unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"held", "{addr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn try_send_gives_the_request_back_only_when_nothing_was_sent() {
    // Refused: nothing was sent, the request comes back whole, to try elsewhere.
    let refused = Builder::new().build("127.0.0.1:1");
    let mut err = refused.try_send(request("/vars?again")).await.unwrap_err();
    assert_eq!(err.error().kind(), uwsgi_wire::client::ErrorKind::Connect);
    let back = err.take_message().expect("the request, nothing of it sent");
    assert_eq!(back.uri(), "/vars?again");
    assert!(err.take_message().is_none());

    // Accepted, then closed after reading the packet: the server saw the request, so
    // it is not given back (sending it again elsewhere could run it twice).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut got = vec![0u8; 4];
        tokio::io::AsyncReadExt::read_exact(&mut conn, &mut got)
            .await
            .unwrap();
    });
    let mut err = Builder::new()
        .build(&addr)
        .try_send(request("/"))
        .await
        .unwrap_err();
    server.await.unwrap();
    assert_eq!(err.error().kind(), uwsgi_wire::client::ErrorKind::Closed);
    assert!(err.take_message().is_none());
    // And it succeeds as `send` does.
    let ok = Builder::new()
        .build(&backend(Arc::default()).await)
        .try_send(request("/vars"))
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}
