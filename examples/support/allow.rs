//! The peer allow-list of `examples/tokio_server.rs`: which TCP peers it serves.
//!
//! Included with `#[path]` by the example and by `tests/allow_list.rs`, which tests the
//! decision directly (and through the built example).
//!
//! By default only loopback peers (`127.0.0.0/8`, `::1`, and `::ffff:127.0.0.0/104` as a
//! dual-stack listener sees IPv4 peers) are served. `--allow BLOCK` (repeatable) adds an
//! address block, `--allow-any` serves everyone. A block is `ADDR/PREFIX` (`10.0.0.0/8`,
//! `fd00::/8`) or one address (`192.0.2.7`); host bits past the prefix are ignored.

use std::net::IpAddr;
use std::str::FromStr;

/// An address block: `10.0.0.0/8`, `fd00::/8`, or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    addr: IpAddr,
    prefix: u8,
}

impl FromStr for Block {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{text:?} is not an address or ADDR/PREFIX block"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(p) if p <= max => p,
                _ => return Err(format!("{text:?}: the prefix must be 0 to {max}")),
            },
        };
        Ok(Block { addr, prefix })
    }
}

impl Block {
    /// True when `ip` is inside the block (same address family, same leading
    /// `prefix` bits).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(block), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(block) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(block), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(block) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Which TCP peers are served: loopback always, plus the `--allow` blocks, or everyone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    any: bool,
    blocks: Vec<Block>,
}

impl AllowList {
    /// Reads the flags that follow the address: `--allow BLOCK` (repeatable) and
    /// `--allow-any`. No flag: loopback only.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut list = AllowList::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--allow-any" => list.any = true,
                "--allow" => {
                    let block = args.next().ok_or("--allow needs an ADDR or ADDR/PREFIX")?;
                    list.blocks.push(block.parse()?);
                }
                other => match other.strip_prefix("--allow=") {
                    Some(block) => list.blocks.push(block.parse()?),
                    None => return Err(format!("unknown argument {other:?}")),
                },
            }
        }
        Ok(list)
    }

    /// True when a TCP connection from `peer` is to be served. An IPv4 peer seen by an
    /// IPv6 listener (`::ffff:a.b.c.d`) is judged as the IPv4 address it is.
    pub fn allows(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.any || peer.is_loopback() || self.blocks.iter().any(|b| b.contains(peer))
    }

    /// What is served, for the startup log: `loopback`, `loopback, 10.0.0.0/8`, `any`.
    pub fn describe(&self) -> String {
        if self.any {
            return "any peer (--allow-any)".to_string();
        }
        let mut text = "loopback".to_string();
        for block in &self.blocks {
            text.push_str(&format!(", {}/{}", block.addr, block.prefix));
        }
        text
    }
}
