#!/bin/sh
# Regenerates docs/CHECK.md: `uwsgi-wire check` against uWSGI 2.0.21, gunicorn 27, the
# axum example and `uwsgi-wire serve` (tests/conformance/check.rs writes the grid).
set -eu
cd "$(dirname "$0")/../.."
cargo build --workspace --all-features --bins --examples
UWSGI_WIRE_WRITE_GRID=1 CI=true cargo test --all-features --test conformance \
    check::the_grid_of_the_real_servers_and_our_own -- --exact
