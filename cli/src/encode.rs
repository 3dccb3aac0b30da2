//! `uwsgi-wire encode [FILE]`: the JSON of `decode --json` back into packet bytes.

use std::path::PathBuf;

use clap::Args;

use crate::args::read_input;
use crate::failure::{fail, write_stdout, Failure};
use crate::json;

#[derive(Debug, Args)]
pub struct EncodeArgs {
    /// File holding the JSON; `-` (the default) reads standard input.
    #[arg(default_value = "-")]
    file: PathBuf,
}

pub fn run(args: &EncodeArgs) -> Result<(), Failure> {
    let text = read_input(&args.file)?;
    let value: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| fail(format!("invalid JSON: {e}")))?;
    let wire = json::json_to_wire(&value).map_err(|e| fail(format!("cannot encode: {e}")))?;
    write_stdout(&wire)
}
