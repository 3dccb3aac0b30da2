//! `uwsgi-wire ping ADDR`: pings and their round-trip times.

use std::time::{Duration, Instant};

use clap::Args;
use uwsgi_wire::{message::Ping, message::Pong, Packet};

use crate::args::parse_seconds;
use crate::failure::{fail, Failure, EXIT_PONG_WARNING};
use crate::net::{self, Addr};

#[derive(Debug, Args)]
pub struct PingArgs {
    /// `host:port`, `unix:PATH`, or a Unix socket path (containing `/`).
    #[arg(value_parser = Addr::parse)]
    addr: Addr,
    /// How many pings to send, one connection each.
    #[arg(short = 'c', long, default_value_t = 1)]
    count: u32,
    /// Seconds to wait for the connection, the ping's write and each pong.
    #[arg(long, default_value = "3", value_parser = parse_seconds, value_name = "SECONDS")]
    timeout: Duration,
}

pub fn run(args: &PingArgs) -> Result<(), Failure> {
    let addr = &args.addr;
    let ping = Packet::from(&Ping);
    let mut warned = false;
    for _ in 0..args.count.max(1) {
        let started = Instant::now();
        // A pong is one packet (at most 4 + 65535 bytes) and nothing after it.
        warned |= net::round_trip(addr, args.timeout, "ping", &ping, None, |reply, _| {
            let pong = Pong::try_from(&reply)
                .map_err(|e| fail(format!("{addr}: invalid reply: not a pong: {e}")))?;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            match pong.warning() {
                None => println!("pong from {addr}: time={ms:.3} ms"),
                Some(warning) => println!(
                    "pong from {addr}: time={ms:.3} ms warning: {}",
                    warning.escape_ascii()
                ),
            }
            Ok(pong.warning().is_some())
        })?;
    }
    if warned {
        return Err(Failure {
            message: format!("{addr}: the pong carried a warning"),
            code: EXIT_PONG_WARNING,
        });
    }
    Ok(())
}
