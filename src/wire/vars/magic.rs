//! Security helpers: finding and stripping uWSGI's "magic" `UWSGI_*` vars.
//!
//! uWSGI reads a family of vars whose names start with `UWSGI_` as instructions rather
//! than as request data: `UWSGI_FILE` and `UWSGI_SCRIPT` load and run a new application
//! (`UWSGI_FILE=exec://...` is a published remote-code-execution exploit),
//! `UWSGI_SETENV` sets an environment variable in the worker, `UWSGI_CHDIR`,
//! `UWSGI_PYHOME`, `UWSGI_HOME`, `UWSGI_MODULE`, `UWSGI_CALLABLE`, `UWSGI_POSTFILE`,
//! `UWSGI_TOUCH_RELOAD`, ... (uWSGI 2.0 `core/protocol.c`). Whoever can put a var into a
//! request that reaches a uWSGI socket can therefore change what the server loads.
//!
//! A web server in front never forwards such a name from an HTTP client (a header
//! `UWSGI-File` arrives as `HTTP_UWSGI_FILE`), so the risk is a proxy that forwards vars
//! it did not write itself: a uwsgi-to-uwsgi router, a gateway that copies vars out of
//! its own input, a configuration that builds var names from request data. Such a proxy
//! should reject the request ([`Vars::has_magic_vars`]) or drop them
//! ([`Vars::without_magic_vars`], or [`is_magic_var`] as a filter without an allocator).
//!
//! This is defence in depth, not a substitute for the real fix: a uwsgi socket must only
//! ever accept connections from trusted peers.

use super::view::Vars;
#[cfg(feature = "alloc")]
use crate::wire::{builder::VarsBuilder, error::EncodeError};

/// The prefix that marks a uWSGI magic var.
const MAGIC_VAR_PREFIX: &[u8] = b"UWSGI_";

/// True when `key` names a uWSGI magic var: it starts with `UWSGI_`, compared ASCII
/// case-insensitively.
///
/// uWSGI itself compares the exact upper-case names; matching any case as well costs
/// nothing (no ordinary var is spelt `uwsgi_...`) and keeps a server or plugin that
/// compares case-insensitively from being caught out.
///
/// Filter with it to find the magic pairs, or, with no allocator, to drop them while
/// encoding (nothing is copied):
///
/// ```
/// use uwsgi_wire::{encode_vars, is_magic_var, Limits, Vars};
///
/// assert!(is_magic_var(b"UWSGI_FILE"));
/// assert!(is_magic_var(b"uwsgi_setenv"));
/// assert!(!is_magic_var(b"HTTP_UWSGI_FILE")); // a client header, harmless
/// assert!(!is_magic_var(b"UWSGI")); // no underscore: not the prefix
///
/// let untrusted = Vars::parse(b"\x0a\x00UWSGI_FILE\x0d\x00exec://whoami\x09\x00PATH_INFO\x01\x00/", &Limits::new())?;
/// let magic: Vec<_> = untrusted.iter().filter(|(k, _)| is_magic_var(k)).collect();
/// assert_eq!(magic, [(&b"UWSGI_FILE"[..], &b"exec://whoami"[..])]);
/// let mut buf = [0u8; 64];
/// let n = encode_vars(untrusted.iter().filter(|(k, _)| !is_magic_var(k)), &mut buf)?;
/// assert_eq!(&buf[..n], b"\x09\x00PATH_INFO\x01\x00/");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn is_magic_var(key: &[u8]) -> bool {
    key.get(..MAGIC_VAR_PREFIX.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(MAGIC_VAR_PREFIX))
}

impl<'a> Vars<'a> {
    /// True when any key is a magic `UWSGI_*` var: the check for a proxy that rejects such
    /// requests outright. Stops at the first one; nothing is allocated.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, Vars};
    ///
    /// let clean = Vars::parse(b"\x0e\x00REQUEST_METHOD\x03\x00GET", &Limits::new())?;
    /// assert!(!clean.has_magic_vars());
    /// let hostile = Vars::parse(b"\x0c\x00UWSGI_SETENV\x14\x00LD_PRELOAD=/tmp/x.so", &Limits::new())?;
    /// assert!(hostile.has_magic_vars());
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn has_magic_vars(&self) -> bool {
        self.iter().any(|(key, _)| is_magic_var(key))
    }

    /// A [`VarsBuilder`] holding every pair except the magic `UWSGI_*` ones, in wire order
    /// (duplicates kept): the block a proxy forwards in place of untrusted input. The
    /// caller may push its own vars (trusted magic ones included) before encoding.
    ///
    /// Fails only for a view parsed from a slice longer than a packet's block can be
    /// (65535 bytes): what is left must still fit in one block.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, Modifier1, Packet, Payload, Vars};
    ///
    /// let untrusted = Vars::parse(
    ///     b"\x0e\x00REQUEST_METHOD\x03\x00GET\x0a\x00UWSGI_FILE\x0d\x00exec://whoami\x09\x00PATH_INFO\x01\x00/",
    ///     &Limits::new(),
    /// )?;
    /// let clean = untrusted.without_magic_vars()?;
    /// assert!(!clean.vars().has_magic_vars());
    /// assert_eq!(clean.vars().len(), 2);
    /// assert_eq!(clean.vars().get(b"PATH_INFO"), Some(&b"/"[..]));
    ///
    /// let mut wire = Vec::new();
    /// Packet::new(Modifier1::WSGI, 0, Payload::Vars(clean.vars()))?.encode_to(&mut wire)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "alloc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
    pub fn without_magic_vars(&self) -> Result<VarsBuilder, EncodeError> {
        let mut out = VarsBuilder::default();
        for (key, value) in self.iter().filter(|(key, _)| !is_magic_var(key)) {
            out.push(key, value)?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_is_uwsgi_underscore() {
        assert_eq!(MAGIC_VAR_PREFIX, b"UWSGI_");
    }
}
