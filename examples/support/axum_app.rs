//! The router of `examples/axum.rs`, in a file of its own so that the tests and the
//! fuzz targets serve the same app in memory (`#[path = ".../axum_app.rs"] mod axum_app;`).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use bytes::Bytes;
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};

/// The example's routes (the module docs of `examples/axum.rs` list them).
pub fn app() -> Router {
    Router::new()
        .route("/echo", any(echo))
        .route("/big/{n}", get(big))
        .route("/slow", get(slow))
        .route("/events", get(events))
        .route("/bench", get(bench))
        .route("/ip", get(ip))
}

/// Describes the request; the body is hashed chunk by chunk as it arrives.
async fn echo(request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_string(), value)
        })
        .collect();
    let mut hash = Sha256::new();
    let mut body_len = 0u64;
    let mut body = body;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Some(data) = frame.data_ref() {
                    body_len += data.len() as u64;
                    hash.update(data);
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, body_len, "request body failed");
                return (http::StatusCode::BAD_REQUEST, format!("body: {err}\n")).into_response();
            }
        }
    }
    let digest: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Json(serde_json::json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "headers": headers,
        "body_len": body_len,
        "body_sha256": digest,
    }))
    .into_response()
}

/// `n` bytes, produced 64 KiB at a time as the connection takes them.
async fn big(Path(n): Path<u64>) -> Response {
    const CHUNK: u64 = 64 * 1024;
    // A chunk starts at any offset 0..=9 of the pattern and takes CHUNK bytes: the
    // pattern needs CHUNK + 9 of them.
    let pattern: Bytes = b"0123456789"
        .repeat(usize::try_from(CHUNK / 10 + 2).unwrap_or(0))
        .into();
    let chunks = futures_util::stream::unfold(0u64, move |sent| {
        let pattern = pattern.clone();
        async move {
            if sent >= n {
                return None;
            }
            let len = (n - sent).min(CHUNK);
            let start = usize::try_from(sent % 10).unwrap_or(0);
            let end = start + usize::try_from(len).unwrap_or(0);
            Some((Ok::<_, io::Error>(pattern.slice(start..end)), sent + len))
        }
    });
    let mut response = Body::from_stream(chunks).into_response();
    response
        .headers_mut()
        .insert(http::header::CONTENT_LENGTH, n.into());
    response
}

async fn slow(Query(query): Query<HashMap<String, u64>>) -> &'static str {
    let ms = query.get("ms").copied().unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    "slow\n"
}

/// `n` server-sent events (`data: 0`, `data: 1`, ...), one every `ms` milliseconds, the
/// first at once (`GET /events?n=5&ms=300`; defaults 5 and 300): each reaches the front
/// end as it is yielded, not when the stream ends.
async fn events(Query(query): Query<HashMap<String, u64>>) -> Response {
    let n = query.get("n").copied().unwrap_or(5);
    let ms = query.get("ms").copied().unwrap_or(300);
    let events = futures_util::stream::unfold(0u64, move |i| async move {
        if i >= n {
            return None;
        }
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        Some((
            Ok::<_, io::Error>(Bytes::from(format!("data: {i}\n\n"))),
            i + 1,
        ))
    });
    (
        [(http::header::CONTENT_TYPE, "text/event-stream")],
        Body::from_stream(events),
    )
        .into_response()
}

/// The end-to-end benchmark's answer (benches/e2e/): the same 78 bytes every backend
/// there writes, `HTTP/1.1 200 OK`, `Content-Type: text/plain`, `Content-Length: 13`,
/// `Hello, world!` (header names in lower case, as `http::HeaderName` holds them).
async fn bench() -> impl IntoResponse {
    (
        [(http::header::CONTENT_TYPE, "text/plain")],
        "Hello, world!",
    )
}

/// The client as the front end saw it, `IP:PORT` (`[IP]:PORT` for IPv6): axum's
/// `ConnectInfo`, which the driver sets from `REMOTE_ADDR` and `REMOTE_PORT` (feature
/// `axum`); without them the extractor rejects the request with 500.
async fn ip(ConnectInfo(client): ConnectInfo<SocketAddr>) -> String {
    client.to_string()
}
