//! `uwsgi-wire-wsgi` behind `uwsgi-wire gateway` (the CLI's HTTP front end, in nginx's
//! place) instead of nginx: the cases of `nginx.rs` that `support` shares, through the
//! other front end; and `uwsgi-wire check` (the conformance catalogue) against the host
//! itself, every MUST case passing.
//!
//! The CLI binary is the one `cargo test --workspace` builds beside this test
//! (`target/<profile>/uwsgi-wire`); alone, build it first with `cargo build -p
//! uwsgi-wire-cli`.

#[allow(dead_code)]
#[path = "../../tests/support/examples.rs"]
mod examples;
#[allow(dead_code, unused_imports, unused_macros)]
#[path = "../../tests/conformance/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "../../tests/conformance/peers.rs"]
mod peers;
mod support;

use std::process::Command;

use support::{
    download_100_mib, form_and_input_stream, query_and_cookies, stack_behind, upload_10_mib,
    view_raises, Front, Stack,
};

fn app(name: &str) -> Stack {
    stack_behind(Front::Gateway, name, &["--module", "app"])
}

#[test]
fn get_with_query_and_cookies() {
    let env = query_and_cookies(&app("gw-env"));
    // The gateway's own values where they are nginx's variables.
    assert_eq!(env["SERVER_NAME"], "localhost");
    assert_eq!(env["REMOTE_ADDR"], "127.0.0.1");
}

#[test]
fn form_post_and_the_input_stream_through_the_gateway() {
    form_and_input_stream(&app("gw-form"));
}

#[test]
fn a_10_mib_upload_through_the_gateway() {
    upload_10_mib(&app("gw-upload"));
}

#[test]
fn a_100_mib_download_through_the_gateway() {
    download_100_mib(&app("gw-download"));
}

#[test]
fn a_view_that_raises_through_the_gateway() {
    view_raises(&app("gw-raise"));
}

/// `uwsgi-wire check HOST --strict --json` straight against the host's socket: every
/// MUST case passes (the SHOULD ones are printed).
#[test]
fn uwsgi_wire_check_passes_every_must_case() {
    // Threads, so that a case holding a connection open does not stall the next.
    let s = stack_behind(
        Front::Gateway,
        "gw-check",
        &["--module", "app", "--threads", "4"],
    );
    let out = Command::new(examples::cli_binary())
        .args(["check", &s.socket, "--strict", "--json", "--timeout", "5"])
        .output()
        .expect("run uwsgi-wire check");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let results = report["results"].as_array().expect("results");
    assert!(results.len() >= 20, "{report}");
    let mut failed = Vec::new();
    for case in results {
        let (id, level, outcome) = (&case["id"], &case["level"], &case["outcome"]);
        eprintln!("{id} {level} {outcome} {}", case["detail"]);
        if level == "MUST" && outcome != "pass" {
            failed.push(format!("{id}: {outcome}: {}", case["detail"]));
        }
    }
    assert!(
        failed.is_empty(),
        "MUST cases not passed:\n{}\nhost log:\n{}",
        failed.join("\n"),
        s.host.log()
    );
}
