//! `uwsgi-wire signal ADDR NUMBER`: a uWSGI signal sent, the server's answer reported.

use clap::Args;
use uwsgi_wire::{message::GenericResponse, message::Signal, Packet};

use crate::args::Target;
use crate::failure::{fail, Failure, EXIT_SIGNAL_REJECTED};
use crate::net;

#[derive(Debug, Args)]
pub struct SignalArgs {
    #[command(flatten)]
    target: Target,
    /// The signal number, 0-255.
    number: u8,
}

pub fn run(args: &SignalArgs) -> Result<(), Failure> {
    let addr = &args.target.addr;
    let packet = Packet::from(&Signal::new(args.number));
    // The answer is one generic response packet and nothing after it.
    net::round_trip(
        addr,
        args.target.timeout,
        "signal",
        &packet,
        None,
        |reply, _| {
            let response = GenericResponse::try_from(&reply)
                .map_err(|e| fail(format!("{addr}: invalid reply: {e}")))?;
            if !response.is_ok() {
                return Err(Failure {
                    message: format!(
                        "{addr}: signal {} rejected (reply modifier2 {})",
                        args.number,
                        response.code()
                    ),
                    code: EXIT_SIGNAL_REJECTED,
                });
            }
            println!("signal {} queued by {addr}", args.number);
            Ok(())
        },
    )
}
