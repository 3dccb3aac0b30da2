//! Conformance suite (issue 3): the crate against the real peers, Debian's nginx,
//! Apache `mod_proxy_uwsgi`, lighttpd and uWSGI 2.0, started by the tests themselves.
//!
//! 1. [`front_ends`]: real encoders -> our decoder (every var, the body, re-encoding).
//! 2. [`to_uwsgi`]: our encoder -> the real uWSGI app server (requests, ping, echo,
//!    signal, RPC, spooler, cache).
//! 3. [`uwsgi_clients`]: real uWSGI clients (`--ping`, `--signal`, `uwsgi.rpc`,
//!    `--subscribe-to`) -> our decoder, answered by our encoder.
//! 4. [`rejections`]: the malformed vectors of `tests/errors.rs`, uWSGI's verdict and
//!    ours.
//!
//! Nothing is installed here (`.ci/run` does that). With `CI` set a missing peer fails
//! the test; without it the test prints `skipped: <reason>`. See `README.md` beside this
//! file for the harness and the table of results.
#![cfg(all(unix, feature = "std"))]

mod backend;
mod client;
mod expect;
mod harness;
mod peers;
mod uwsgi_app;

mod check;
mod client_driver;
mod diagnose;
mod front_ends;
mod gateway;
mod guide;
mod own_servers;
mod rejections;
mod response_heads;
mod server_driver;
mod to_uwsgi;
mod uwsgi_clients;
