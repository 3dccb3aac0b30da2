//! `uwsgi-wire decode [FILE]`: one packet read and listed, or printed as JSON.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use uwsgi_wire::{diagnose::Diagnosis, BlockKind, Limits, Packet, Payload, Status};

use crate::args::read_input;
use crate::failure::{fail, write_stdout, Failure};
use crate::json;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Kind {
    Vars,
    Array,
    Raw,
}

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// File holding the packet; `-` (the default) reads standard input.
    #[arg(default_value = "-")]
    file: PathBuf,
    /// Print one JSON object instead of a listing (the input of `encode`).
    #[arg(long)]
    json: bool,
    /// Read the block as this layout instead of the one its modifier1 implies (e.g. `raw`
    /// for replies such as RPC results).
    #[arg(long = "as", value_name = "KIND")]
    kind: Option<Kind>,
}

pub fn run(args: &DecodeArgs) -> Result<(), Failure> {
    let bytes = read_input(&args.file)?;
    let parsed = match args.kind {
        None => Packet::parse(&bytes, &Limits::new()),
        Some(kind) => {
            let kind = match kind {
                Kind::Vars => BlockKind::Vars,
                Kind::Array => BlockKind::Array,
                Kind::Raw => BlockKind::Raw,
            };
            Packet::parse_as(&bytes, kind, &Limits::new())
        }
    };
    // What an operator should change (HTTP or TLS sent to a uwsgi socket, a big-endian
    // datasize, a block over uWSGI's default buffer-size): first on a failure, a note
    // on stderr otherwise.
    let diagnosis = Diagnosis::find(&bytes, Diagnosis::UWSGI_BUFFER_SIZE);
    let failed = |what: String| match diagnosis {
        Some(found) => fail(format!("{found} (as a uwsgi packet: {what})")),
        None => fail(what),
    };
    let (packet, consumed) = match parsed {
        Ok(Status::Complete(done)) => done,
        Ok(Status::Partial { needed }) => {
            return Err(failed(format!(
                "truncated packet: {needed} more byte(s) needed ({} given)",
                bytes.len()
            )))
        }
        Err(err) => return Err(failed(format!("invalid packet: {err}"))),
    };
    if let Some(found) = diagnosis {
        eprintln!("uwsgi-wire: note: {found}");
    }
    let body_len = bytes.len() - consumed;
    if args.json {
        let text = json::packet_to_json(&packet, body_len).to_string();
        return write_stdout(format!("{text}\n").as_bytes());
    }
    write_stdout(listing(&packet, body_len).as_bytes())
}

/// The readable form of a packet.
fn listing(packet: &Packet<'_>, body_len: usize) -> String {
    let h = packet.header();
    let name = h.modifier1.name().unwrap_or("unknown");
    let mut out = format!(
        "modifier1 {} ({name})  datasize {}  modifier2 {}\n",
        h.modifier1, h.datasize, h.modifier2
    );
    match packet.payload() {
        Payload::Vars(vars) => {
            out += &format!("vars ({}):\n", vars.len());
            for (k, v) in vars {
                out += &format!("  {} = {}\n", k.escape_ascii(), v.escape_ascii());
            }
        }
        Payload::Array(array) => {
            out += &format!("array ({} items):\n", array.len());
            for (i, item) in array.iter().enumerate() {
                out += &format!("  [{i}] {}\n", item.escape_ascii());
            }
        }
        Payload::Raw(raw) => {
            out += &format!("payload ({} bytes): {}\n", raw.len(), raw.escape_ascii())
        }
    }
    out += &format!("body: {body_len} byte(s)\n");
    out
}
