//! `axum_router`: the axum app of `examples/axum.rs` (examples/support/axum_app.rs)
//! through the server driver, in memory, as nginx talks to it
//! (`uwsgi_wire::arbitrary::Fuzzer`: no panic, no hang, every answer one nginx reads).
#![no_main]

use std::sync::LazyLock;
use uwsgi_wire::arbitrary::Fuzzer;

#[path = "../../examples/support/axum_app.rs"]
mod axum_app;

static FUZZER: LazyLock<Fuzzer<axum::Router>> = LazyLock::new(|| Fuzzer::new(axum_app::app()));

libfuzzer_sys::fuzz_target!(|data: &[u8]| FUZZER.run(data));
