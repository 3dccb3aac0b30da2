//! `uwsgi-wire rpc ADDR FUNCTION [ARG...]`: an RPC call, its result on stdout.

use std::fmt::Display;
use std::io::Read;

use clap::Args;
use uwsgi_wire::{message::RpcCall, message::RpcReply, ArrayBuilder, Packet};

use crate::args::{parse_size, Target};
use crate::failure::{fail, io_error, usage, write_stdout, Failure};
use crate::net;

#[derive(Debug, Args)]
pub struct RpcArgs {
    #[command(flatten)]
    target: Target,
    /// The largest result accepted, in bytes (suffixes K, M, G: powers of 1024); a
    /// larger one is refused before any of it is read.
    #[arg(long, default_value = "64M", value_parser = parse_size, value_name = "BYTES")]
    max_body: u64,
    /// The function's name.
    function: String,
    /// Its arguments (at most 254).
    args: Vec<String>,
}

fn cannot(err: impl Display) -> Failure {
    usage(format!("cannot build the call: {err}"))
}

pub fn run(args: &RpcArgs) -> Result<(), Failure> {
    let addr = &args.target.addr;
    let timeout = args.target.timeout;
    let mut items = ArrayBuilder::default();
    for item in std::iter::once(&args.function).chain(&args.args) {
        items.push(item).map_err(cannot)?;
    }
    let call = RpcCall::new(items.array(), RpcCall::UWSGI_REPLY).map_err(cannot)?;
    let packet = Packet::try_from(&call).map_err(cannot)?;
    // The result: the block of one packet, or the large form's CONTENT_LENGTH bytes
    // after it; either way within --max-body.
    let max_body = Some(args.max_body);
    net::round_trip(
        addr,
        timeout,
        "call",
        &packet,
        max_body,
        |reply, mut body| {
            let reply = RpcReply::try_from(&reply)
                .map_err(|e| fail(format!("{addr}: invalid reply: {e}")))?;
            match reply {
                RpcReply::Result(result) => {
                    if u64::try_from(result.len()).unwrap_or(u64::MAX) > args.max_body {
                        return Err(fail(format!(
                        "{addr}: reply too large: a result of {} bytes is over the limit of {} \
                         (raise it with --max-body)",
                        result.len(),
                        args.max_body
                    )));
                    }
                    write_stdout(result)
                }
                RpcReply::Large { len } => {
                    // Read whole before printing: a result cut short prints nothing.
                    let mut result = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
                    body.read_to_end(&mut result)
                        .map_err(|e| io_error(addr, e, timeout))?;
                    write_stdout(&result)
                }
            }
        },
    )
}
