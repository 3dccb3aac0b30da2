//! The example binaries, which `cargo test --all-features` builds next to the tests.

use std::path::PathBuf;

/// An example binary next to this test binary (target/<profile>/examples/NAME).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let path = profile.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with `--all-features` (cargo test builds the examples)",
        path.display()
    );
    path
}

/// The CLI binary (`uwsgi-wire`) next to this test binary (target/<profile>/uwsgi-wire),
/// which `cargo test --workspace` builds.
#[allow(dead_code)] // not every test binary that includes this file runs the CLI
pub fn cli_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let path = profile.join("uwsgi-wire");
    assert!(
        path.exists(),
        "{} is missing: run `cargo test --workspace --all-features` (it builds the CLI) or `cargo build --workspace --all-features --bins --examples`",
        path.display()
    );
    path
}
