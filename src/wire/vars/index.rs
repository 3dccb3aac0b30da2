//! The pairs of a validated vars block stored in caller-provided slots, so that lookups
//! scan the slots instead of walking the block's chain of length prefixes.

use core::fmt;

use super::view::{Lookup, Var, Vars};
use crate::wire::error::{ParseError, ParseErrorKind};

/// The slots' own iterator, which [`Lookup`] scans from the end for the last duplicate.
type Slots<'s, 'a> = core::iter::Copied<core::slice::Iter<'s, Var<'a>>>;

impl<'a> Vars<'a> {
    /// Stores the pairs of this (already validated) view in `slots`, the way httparse
    /// fills its caller-provided headers: one more walk of the block ([`Vars::parse_indexed`]
    /// does both in one). Lookups through the
    /// returned [`VarsIndex`] then scan the slots instead of walking the block's chain of
    /// length prefixes again: 5-22x cheaper on the nginx captures (BENCHMARKS.md), so
    /// worth it from a few lookups on.
    ///
    /// More pairs than slots is [`ParseErrorKind::TooManyVars`] with `limit: slots.len()`,
    /// at the first pair that does not fit (offset in the buffer the view was parsed
    /// from). Nothing is allocated.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, Packet, ParseErrorKind, Status, Vars};
    ///
    /// let block = b"\x0e\x00REQUEST_METHOD\x03\x00GET\x09\x00PATH_INFO\x01\x00/";
    /// let vars = Vars::parse(block, &Limits::new())?;
    /// let mut slots = [Default::default(); 64];
    /// let index = vars.index(&mut slots)?;
    /// assert_eq!(index.pairs().len(), 2);
    /// assert_eq!(index.get(b"PATH_INFO"), Some(&b"/"[..]));
    /// assert_eq!(index.pairs()[0], (&b"REQUEST_METHOD"[..], &b"GET"[..]));
    ///
    /// let mut one = [Default::default(); 1];
    /// let err = vars.index(&mut one).unwrap_err();
    /// assert_eq!((err.kind(), err.offset()), (ParseErrorKind::TooManyVars { limit: 1 }, 21));
    ///
    /// // The vars of a packet: offsets count from the packet's first byte.
    /// let wire = b"\x00\x0a\x00\x00\x01\x00a\x00\x00\x01\x00b\x00\x00";
    /// let Status::Complete((packet, _)) = Packet::parse(wire, &Limits::new())? else { unreachable!() };
    /// let vars = packet.vars().expect("modifier1 0 carries vars");
    ///
    /// let mut slots = [Default::default(); 16];
    /// assert_eq!(vars.index(&mut slots)?.get(b"b"), Some(&b""[..]));
    ///
    /// let err = vars.index(&mut [Default::default(); 1]).unwrap_err();
    /// assert_eq!((err.kind(), err.offset()), (ParseErrorKind::TooManyVars { limit: 1 }, 9));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn index<'s>(&self, slots: &'s mut [Var<'a>]) -> Result<VarsIndex<'a, 's>, ParseError> {
        if self.len > slots.len() {
            let at = match self.iter().nth(slots.len()) {
                Some((key, _)) => self.offset_of(key).saturating_sub(2),
                None => self.base,
            };
            let kind = ParseErrorKind::TooManyVars { limit: slots.len() };
            return Err(ParseError::new(kind, at));
        }
        let mut len = 0;
        for (slot, pair) in slots.iter_mut().zip(self.iter()) {
            *slot = pair;
            len += 1;
        }
        let slots: &'s [Var<'a>] = slots;
        Ok(VarsIndex {
            vars: *self,
            pairs: slots.get(..len).unwrap_or(slots),
        })
    }
}

/// A validated vars block with its pairs stored in caller-provided slots, from
/// [`Vars::index`].
///
/// Lookups scan the slots (lengths first, then bytes) instead of walking the block's
/// chain of length prefixes, and [`get`](VarsIndex::get) scans from the end, so the
/// last duplicate is found first. Same results as the [`Vars`] methods of the same name.
/// The pairs themselves, to count or visit, are the slice [`pairs`](VarsIndex::pairs).
///
/// ```
/// use uwsgi_wire::{Limits, Vars};
/// let block = b"\x0b\x00HTTP_COOKIE\x03\x00a=1\x0b\x00HTTP_COOKIE\x03\x00b=2";
/// let mut slots = [Default::default(); 8];
/// let index = Vars::parse(block, &Limits::new())?.index(&mut slots)?;
/// assert_eq!(index.get(b"HTTP_COOKIE"), Some(&b"b=2"[..]));
/// assert_eq!(index.get_first(b"HTTP_COOKIE"), Some(&b"a=1"[..]));
/// assert_eq!(index.get_all(b"HTTP_COOKIE").collect::<Vec<_>>(), [&b"a=1"[..], b"b=2"]);
/// assert_eq!(index.vars(), Vars::parse(block, &Limits::new())?);
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Clone, Copy)]
pub struct VarsIndex<'a, 's> {
    vars: Vars<'a>,
    pairs: &'s [Var<'a>],
}

impl<'a, 's> VarsIndex<'a, 's> {
    /// The index of `vars` whose pairs, in order, are `pairs`.
    pub(super) const fn new(vars: Vars<'a>, pairs: &'s [Var<'a>]) -> Self {
        VarsIndex { vars, pairs }
    }

    /// The validated block itself (for [`Vars::content_length`], [`Vars::as_bytes`]).
    ///
    /// ```
    /// use uwsgi_wire::{Limits, Vars};
    /// let mut slots = [Default::default(); 4];
    /// let index = Vars::parse(b"\x01\x00a\x01\x00b", &Limits::new())?.index(&mut slots)?;
    /// assert_eq!(index.vars().as_bytes(), b"\x01\x00a\x01\x00b");
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub const fn vars(&self) -> Vars<'a> {
        self.vars
    }

    /// The pairs in wire order, duplicates included: the filled part of the slots. Count
    /// them with `pairs().len()`, visit them with `pairs().iter()`: no walk of the block.
    ///
    /// ```
    /// use uwsgi_wire::{Limits, Vars};
    /// let mut slots = [Default::default(); 4];
    /// let index = Vars::parse(b"\x01\x00a\x01\x00b", &Limits::new())?.index(&mut slots)?;
    /// assert_eq!(index.pairs(), [(&b"a"[..], &b"b"[..])]);
    /// assert_eq!(index.pairs().iter().copied().collect::<Vec<_>>(), [(&b"a"[..], &b"b"[..])]);
    ///
    /// let empty = Vars::parse(b"", &Limits::new())?.index(&mut slots)?;
    /// assert_eq!(empty.pairs().len(), 0);
    /// assert!(empty.pairs().is_empty());
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub const fn pairs(&self) -> &'s [Var<'a>] {
        self.pairs
    }

    /// The value of the **last** pair whose key is `key`, as [`Vars::get`].
    ///
    /// ```
    /// use uwsgi_wire::{Limits, Vars};
    /// let mut slots = [Default::default(); 4];
    /// let vars = Vars::parse(b"\x01\x00k\x01\x001\x01\x00k\x01\x002", &Limits::new())?;
    /// let index = vars.index(&mut slots)?;
    /// assert_eq!(index.get(b"k"), Some(&b"2"[..]));
    /// assert_eq!(index.get(b"missing"), None);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn get(&self, key: &[u8]) -> Option<&'a [u8]> {
        self.slots().last_value(key)
    }

    /// The value of the first pair whose key is `key`, as [`Vars::get_first`].
    ///
    /// ```
    /// use uwsgi_wire::{Limits, Vars};
    /// let mut slots = [Default::default(); 4];
    /// let vars = Vars::parse(b"\x01\x00k\x01\x001\x01\x00k\x01\x002", &Limits::new())?;
    /// let index = vars.index(&mut slots)?;
    /// assert_eq!(index.get_first(b"k"), Some(&b"1"[..]));
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn get_first(&self, key: &[u8]) -> Option<&'a [u8]> {
        self.slots().first_value(key)
    }

    /// Every value whose key is `key`, in wire order, as [`Vars::get_all`].
    ///
    /// ```
    /// use uwsgi_wire::{Limits, Vars};
    /// let mut slots = [Default::default(); 4];
    /// let vars = Vars::parse(b"\x01\x00k\x01\x001\x01\x00k\x01\x002", &Limits::new())?;
    /// let index = vars.index(&mut slots)?;
    /// assert_eq!(index.get_all(b"k").collect::<Vec<_>>(), [&b"1"[..], b"2"]);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn get_all<'k>(&self, key: &'k [u8]) -> impl Iterator<Item = &'a [u8]> + 'k
    where
        'a: 'k,
        's: 'k,
    {
        // Shorten the slots' borrow to `'k` first: the returned iterator names only `'a`
        // and `'k`.
        let pairs: &'k [Var<'a>] = self.pairs;
        pairs.iter().copied().all_values(key)
    }

    /// The pairs in wire order, as the lookups scan them.
    fn slots(&self) -> Slots<'s, 'a> {
        self.pairs.iter().copied()
    }
}

impl<'a> Lookup<'a> for Slots<'_, 'a> {
    /// The slots scanned from the end: the last duplicate is the first one found.
    #[inline]
    fn last_value(mut self, key: &[u8]) -> Option<&'a [u8]> {
        self.rfind(|&(k, _)| k == key).map(|(_, v)| v)
    }
}

impl<'a, 's> IntoIterator for VarsIndex<'a, 's> {
    type Item = Var<'a>;
    type IntoIter = Slots<'s, 'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.slots()
    }
}

impl fmt::Debug for VarsIndex<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.vars, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::limits::Limits;

    /// Real nginx 1.22 captures (tests/vectors/README.md): the vars block after the
    /// 4-byte header.
    const NGINX: [&[u8]; 3] = [
        include_bytes!("../../../tests/vectors/nginx-get.bin"),
        include_bytes!("../../../tests/vectors/nginx-56vars.bin"),
        include_bytes!("../../../tests/vectors/nginx-dup-headers.bin"),
    ];

    fn block(packet: &[u8]) -> &[u8] {
        let datasize = usize::from(u16::from_le_bytes([packet[1], packet[2]]));
        &packet[4..4 + datasize]
    }

    #[test]
    fn index_matches_the_walking_view() {
        for packet in NGINX {
            let block = block(packet);
            let vars = Vars::parse(block, &Limits::new()).unwrap();
            let mut slots = [Var::default(); 64];
            let index = vars.index(&mut slots).unwrap();
            assert_eq!(index.vars(), vars);
            assert_eq!(index.pairs().len(), vars.len());
            assert!(index.into_iter().eq(vars.iter()));
            let mut again = [Var::default(); 64];
            assert!(vars.index(&mut again).unwrap().into_iter().eq(vars.iter()));
            for (key, _) in vars.iter().chain([(&b"HTTP_MISSING"[..], &b""[..])]) {
                assert_eq!(index.get(key), vars.get(key));
                assert_eq!(index.get_first(key), vars.get_first(key));
                assert!(index.get_all(key).eq(vars.get_all(key)));
            }
        }
    }

    /// Every truncation of every capture, and every byte changed to 0x00 and 0xff: with
    /// enough slots, indexing never fails, so parse-then-index accepts and rejects
    /// exactly what `parse` does, with the same error kind and offset.
    #[test]
    fn index_after_parse_fails_exactly_like_parse() {
        let check = |input: &[u8]| {
            let mut slots = [Var::default(); 64];
            let plain = Vars::parse(input, &Limits::new()).map(|v| v.len());
            let indexed = Vars::parse(input, &Limits::new())
                .and_then(|v| v.index(&mut slots).map(|i| i.pairs().len()));
            assert_eq!(plain, indexed, "{input:?}");
        };
        let mut bad = [0u8; 2048];
        for packet in NGINX {
            let block = block(packet);
            for n in 0..=block.len() {
                check(&block[..n]);
            }
            let bad = &mut bad[..block.len()];
            for at in 0..block.len() {
                for byte in [0x00, 0xff] {
                    bad.copy_from_slice(block);
                    bad[at] = byte;
                    check(bad);
                }
            }
        }
    }

    #[test]
    fn too_few_slots_is_too_many_vars_at_the_first_pair_left_over() {
        let block = block(NGINX[0]);
        let vars = Vars::parse(block, &Limits::new()).unwrap();
        let n = vars.len();
        let mut slots = [Var::default(); 64];
        let exact = &mut slots[..n];
        assert_eq!(vars.index(exact).unwrap().pairs().len(), n);

        let short = &mut slots[..n - 1];
        let limits = Limits::new().max_vars(n - 1);
        let expected = Vars::parse(block, &limits).unwrap_err();
        assert_eq!(
            expected.kind(),
            ParseErrorKind::TooManyVars { limit: n - 1 }
        );
        assert_eq!(vars.index(short).unwrap_err(), expected);
        assert_eq!(
            vars.index(&mut []).unwrap_err(),
            ParseError::new(ParseErrorKind::TooManyVars { limit: 0 }, 0)
        );
        // With more slots than `max_vars`, the parse's limit is the one that refuses.
        let mut many = [Var::default(); 64];
        let err = Vars::parse(block, &Limits::new().max_vars(2))
            .and_then(|v| v.index(&mut many).map(|i| i.pairs().len()));
        assert_eq!(
            err.unwrap_err().kind(),
            ParseErrorKind::TooManyVars { limit: 2 }
        );
    }

    #[test]
    fn index_offsets_count_from_the_callers_buffer() {
        let packet = NGINX[0];
        let crate::wire::status::Status::Complete((parsed, _)) =
            crate::wire::packet::Packet::parse(packet, &Limits::new()).unwrap()
        else {
            panic!("complete capture");
        };
        let vars = parsed.vars().unwrap();
        let err = vars.index(&mut [Var::default(); 1]).unwrap_err();
        // The second pair starts after the header and the first pair.
        let (k, v) = vars.iter().next().unwrap();
        assert_eq!(err.offset(), 4 + 2 + k.len() + 2 + v.len());
    }
}
