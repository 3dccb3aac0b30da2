//! `check::Checker::run_with`: the whole catalogue over connections in memory
//! (`tokio::io::duplex`, this crate's server driver on the other half), against the
//! router of `examples/axum.rs`; the same outcomes as over TCP; a connector that fails
//! or hangs is an error, never a hang.
#![cfg(all(feature = "check", feature = "server"))]

#[path = "../examples/support/axum_app.rs"]
#[allow(dead_code)] // only `app` is used here
mod axum_app;

use std::collections::BTreeSet;
use std::io;
use std::time::Duration;

use tokio::io::DuplexStream;
use uwsgi_wire::check::{catalogue, Checker, Error, Level, Outcome, Report};
use uwsgi_wire::client::ErrorKind;
use uwsgi_wire::server;

/// Short: everything is in this process.
const TIMEOUT: Duration = Duration::from_millis(700);

fn checker() -> Checker {
    Checker::new().timeout(TIMEOUT).strict(true)
}

/// Opens a duplex per call and serves its other half with the example's router.
fn in_memory() -> impl FnMut() -> std::future::Ready<io::Result<DuplexStream>> + Send + 'static {
    let app = axum_app::app();
    move || {
        let (client, conn) = tokio::io::duplex(64 * 1024);
        let app = app.clone();
        tokio::spawn(async move { server::Builder::new().serve_connection(conn, app).await });
        std::future::ready(Ok(client))
    }
}

fn ids(report: &Report, level: Level, outcome: Outcome) -> BTreeSet<&'static str> {
    report
        .results
        .iter()
        .filter(|r| r.case.level == level && r.outcome == outcome)
        .map(|r| r.case.id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_axum_router_passes_every_must_case_in_memory() {
    let report = checker()
        .run_with(in_memory())
        .await
        .expect("the router answers GET /");
    eprintln!("{report}");
    assert_eq!(report.addr, "connector");
    // The router has no `/`: the plain GET / is its 404, and every valid request's.
    assert_eq!(report.baseline_status, Some(404));
    assert_eq!(report.results.len(), catalogue().len());
    // Every MUST case passes but malformed/5, a warning by design: the driver's buffer
    // holds 65535 bytes, so no datasize is over it and it waits for the rest.
    let must: BTreeSet<&str> = catalogue()
        .iter()
        .filter(|c| c.level == Level::Must && c.id != "malformed/5")
        .map(|c| c.id)
        .collect();
    assert_eq!(ids(&report, Level::Must, Outcome::Pass), must, "{report}");
    assert_eq!(
        ids(&report, Level::Must, Outcome::Warn),
        BTreeSet::from(["malformed/5"]),
        "{report}"
    );
    // The SHOULD cases: none fails. body/3 passes (axum's 404 for `/` does not read the
    // body), kinds/1 too (the driver answers a ping); the driver closes an echo and a
    // signal, as a server that does not speak them.
    assert_eq!(
        ids(&report, Level::Should, Outcome::Fail),
        BTreeSet::new(),
        "{report}"
    );
    assert_eq!(
        ids(&report, Level::Should, Outcome::Pass),
        BTreeSet::from(["body/3", "kinds/1"]),
        "{report}"
    );
    assert_eq!(
        ids(&report, Level::Should, Outcome::Warn),
        BTreeSet::from(["kinds/2", "kinds/3"]),
        "{report}"
    );
    assert!(report.passed());
}

/// No case needs a socket: over a duplex each case ends as it does over TCP against
/// the same router (with the same driver, `serve`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_ends_in_memory_as_over_tcp() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let served = tokio::spawn(async move { server::serve(listener, axum_app::app()).await });
    let checker = checker();
    let (tcp, memory) = tokio::join!(checker.run(&addr), checker.run_with(in_memory()));
    let (tcp, memory) = (tcp.expect("over TCP"), memory.expect("in memory"));
    served.abort();
    assert_eq!(tcp.addr, addr);
    assert_eq!(tcp.baseline_status, memory.baseline_status);
    let outcomes = |report: &Report| -> Vec<(&str, Outcome)> {
        report
            .results
            .iter()
            .map(|r| (r.case.id, r.outcome))
            .collect()
    };
    assert_eq!(
        outcomes(&tcp),
        outcomes(&memory),
        "TCP:\n{tcp}\nin memory:\n{memory}"
    );
}

/// A connector that fails is the run's error, of kind `Connect` with the connector's
/// error as its source; one that never opens, or opens a connection nobody serves, is
/// a `Timeout`, within the checker's timeout.
#[tokio::test]
async fn a_connector_that_fails_or_hangs_is_an_error_not_a_hang() {
    let refused = || async {
        Err::<DuplexStream, _>(io::Error::new(io::ErrorKind::ConnectionRefused, "no app"))
    };
    let err = checker().run_with(refused).await.unwrap_err();
    let Error::NoAnswer { addr, source } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(addr, "connector");
    assert_eq!(source.kind(), ErrorKind::Connect, "{err}");
    assert!(err.to_string().contains("no app"), "{err}");
    // The chain ends with the connector's own error, as a socket's ends with the connect's.
    let mut cause: &dyn std::error::Error = source;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let cause = cause.downcast_ref::<io::Error>().expect("the io::Error");
    assert_eq!(cause.kind(), io::ErrorKind::ConnectionRefused);

    let started = std::time::Instant::now();
    let never = || std::future::pending::<io::Result<DuplexStream>>();
    let err = checker().run_with(never).await.unwrap_err();
    let Error::NoAnswer { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(source.kind(), ErrorKind::Timeout, "{err}");

    // Nobody reads the other half: the GET / is neither answered nor closed.
    let mut halves = Vec::new();
    let unserved = move || {
        let (client, conn) = tokio::io::duplex(64 * 1024);
        halves.push(conn);
        std::future::ready(Ok(client))
    };
    let err = checker().run_with(unserved).await.unwrap_err();
    assert!(
        err.to_string().contains("neither answered nor closed"),
        "{err}"
    );
    assert!(started.elapsed() < TIMEOUT * 4, "{:?}", started.elapsed());
}

/// The run is `Send`: it can be spawned on a multi-thread runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_over_a_connector_can_be_spawned() {
    let checker = checker().only(["vars"]);
    let run = tokio::spawn(async move { checker.run_with(in_memory()).await });
    let report = run.await.expect("joined").expect("ran");
    assert_eq!(report.count(Outcome::Pass), 5, "{report}");
}
