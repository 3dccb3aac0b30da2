//! What several commands take: a server and its timeout, an input file, and the parsers
//! of sizes, seconds, headers and params.

use std::io::{self, Read};
use std::path::Path;
use std::time::Duration;

use clap::Args;

use crate::failure::{fail, Failure};
use crate::net::{self, Addr, Stream};

/// The server a blocking command talks to.
#[derive(Debug, Args)]
pub struct Target {
    /// `host:port`, `unix:PATH`, or a Unix socket path (containing `/`).
    #[arg(value_parser = Addr::parse)]
    pub addr: Addr,
    /// Seconds to wait for the name lookup, the connection (to each address a name
    /// resolves to), and each read and write.
    #[arg(long, default_value = "30", value_parser = parse_seconds, value_name = "SECONDS")]
    pub timeout: Duration,
}

impl Target {
    pub fn connect(&self) -> Result<Stream, Failure> {
        net::connect(&self.addr, self.timeout)
    }
}

/// `FILE`: its bytes, or standard input's for `-`.
pub fn read_input(file: &Path) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    if file.as_os_str() == "-" {
        io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| fail(format!("stdin: {e}")))?;
    } else {
        bytes = std::fs::read(file).map_err(|e| fail(format!("{}: {e}", file.display())))?;
    }
    Ok(bytes)
}

/// `--timeout`: a positive number of seconds.
pub fn parse_seconds(value: &str) -> Result<Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("invalid timeout {value:?}: give a positive number of seconds"))
}

/// `--max-body`: bytes, with an optional K, M or G suffix (powers of 1024).
pub fn parse_size(value: &str) -> Result<u64, String> {
    let (digits, unit) = match value.char_indices().last() {
        Some((at, 'k' | 'K')) => (&value[..at], 1 << 10),
        Some((at, 'm' | 'M')) => (&value[..at], 1 << 20),
        Some((at, 'g' | 'G')) => (&value[..at], 1 << 30),
        _ => (value, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(|| format!("invalid size {value:?}: give bytes, e.g. 1048576 or 1M"))
}

/// `-H`: `Name: value`.
pub fn parse_header(value: &str) -> Result<(String, String), String> {
    let (name, rest) = value
        .split_once(':')
        .ok_or_else(|| format!("invalid header {value:?}: expected 'Name: value'"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("invalid header {value:?}: the name is empty"));
    }
    Ok((name.to_owned(), rest.trim_start().to_owned()))
}

/// `--param`: `KEY=VALUE`.
pub fn parse_param(value: &str) -> Result<(String, String), String> {
    let (key, rest) = value
        .split_once('=')
        .ok_or_else(|| format!("invalid param {value:?}: expected KEY=VALUE"))?;
    if key.is_empty() {
        return Err(format!("invalid param {value:?}: the key is empty"));
    }
    Ok((key.to_owned(), rest.to_owned()))
}
