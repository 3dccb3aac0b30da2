//! Subscriptions (modifier1 224): the UDP datagrams a uWSGI instance sends to a
//! subscription server (`--subscribe-to`) to join (modifier2 0) or leave (any other
//! modifier2) a pool. Layout from uWSGI 2.0's `uwsgi_subscription_ub`
//! (core/subscription.c) and the server's `corerouter_manage_subscription`.

use crate::message::fields::required;
use crate::message::request::{expect_kind, vars_of};
use crate::wire::error::{EncodeError, ParseError, ParseErrorKind};
use crate::wire::header::Modifier1;
use crate::wire::packet::{Packet, Payload};
use crate::wire::vars::{parse_decimal, Vars};

/// A subscribe or unsubscribe datagram.
///
/// `key` and `address` are required, and the address must be 1 to 255 bytes (uWSGI's
/// server drops the node otherwise: `address_len > 0xff || address_len == 0`); the
/// numeric fields must be decimal numbers (`modifier1`/`modifier2` at most 255) and
/// count as 0 when absent; `sign`, when present, must be the last pair, as the server
/// assumes. Keys this type does not know are kept in [`vars`](Subscription::vars).
///
/// ```
/// use uwsgi_wire::{Packet, message::Subscription};
/// use uwsgi_wire::Limits;
/// // Captured from uWSGI 2.0.21 `--subscribe-to 127.0.0.1:PORT:example.com`.
/// let wire = include_bytes!("../../tests/vectors/uwsgi-subscribe.bin");
/// let (packet, _) = Packet::parse(wire, &Limits::new())?.complete().unwrap();
/// let sub = Subscription::try_from(&packet)?;
/// assert!(sub.is_subscribe());
/// assert_eq!(sub.key(), b"example.com");
/// assert_eq!((sub.modifier1(), sub.cores(), sub.weight()), (0, 1, 0));
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscription<'a> {
    vars: Vars<'a>,
    command: u8,
    key: &'a [u8],
    address: &'a [u8],
    modifier1: u8,
    modifier2: u8,
    cores: u64,
    load: u64,
    weight: u64,
    backup: Option<u64>,
    unix: Option<u64>,
}

impl<'a> Subscription<'a> {
    /// A subscription from its vars and the packet's modifier2 (0 subscribe, else
    /// unsubscribe), checked as described above.
    ///
    /// ```
    /// use uwsgi_wire::{ParseErrorKind, message::Subscription, VarsBuilder};
    /// let mut v = VarsBuilder::default();
    /// v.push("key", "example.com")?.push("address", "127.0.0.1:3031")?.push("modifier1", "300")?;
    /// let err = Subscription::new(v.vars(), 0).unwrap_err();
    /// assert_eq!(err.kind(), ParseErrorKind::InvalidVar { key: "modifier1" });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(vars: Vars<'a>, modifier2: u8) -> Result<Self, ParseError> {
        let number = |key: &'static str| -> Result<Option<u64>, ParseError> {
            match vars.get(key.as_bytes()) {
                None => Ok(None),
                Some(value) => parse_decimal(value).map(Some).ok_or_else(|| {
                    ParseError::new(ParseErrorKind::InvalidVar { key }, vars.offset_of(value))
                }),
            }
        };
        let byte = |key: &'static str| -> Result<u8, ParseError> {
            let n = number(key)?.unwrap_or(0);
            u8::try_from(n).map_err(|_| {
                let at = vars.get(key.as_bytes()).map_or(0, |v| vars.offset_of(v));
                ParseError::new(ParseErrorKind::InvalidVar { key }, at)
            })
        };
        if let Some((last_key, _)) = vars.iter().last() {
            if last_key != b"sign" {
                if let Some(sign) = vars.get(b"sign") {
                    return Err(ParseError::new(
                        ParseErrorKind::InvalidVar { key: "sign" },
                        vars.offset_of(sign),
                    ));
                }
            }
        }
        let address = required(&vars, "address")?;
        if address.is_empty() || address.len() > 255 {
            return Err(ParseError::new(
                ParseErrorKind::InvalidVar { key: "address" },
                vars.offset_of(address),
            ));
        }
        Ok(Subscription {
            vars,
            command: modifier2,
            key: required(&vars, "key")?,
            address,
            modifier1: byte("modifier1")?,
            modifier2: byte("modifier2")?,
            cores: number("cores")?.unwrap_or(0),
            load: number("load")?.unwrap_or(0),
            weight: number("weight")?.unwrap_or(0),
            backup: number("backup")?,
            unix: number("unix")?,
        })
    }

    /// True for a subscribe (packet modifier2 0), false for an unsubscribe.
    ///
    /// ```
    /// # use uwsgi_wire::{message::Subscription, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("key", "k")?.push("address", "a")?;
    /// assert!(!Subscription::new(v.vars(), 1)?.is_subscribe());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn is_subscribe(&self) -> bool {
        self.command == 0
    }

    /// The pool key (a domain name, usually).
    ///
    /// ```
    /// # use uwsgi_wire::{message::Subscription, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("key", "example.com")?.push("address", "a")?;
    /// assert_eq!(Subscription::new(v.vars(), 0)?.key(), b"example.com");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn key(&self) -> &'a [u8] {
        self.key
    }

    /// The address requests for the key should be sent to.
    ///
    /// ```
    /// # use uwsgi_wire::{message::Subscription, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("key", "k")?.push("address", "127.0.0.1:3031")?;
    /// assert_eq!(Subscription::new(v.vars(), 0)?.address(), b"127.0.0.1:3031");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn address(&self) -> &'a [u8] {
        self.address
    }

    /// The modifier1 the router should use towards this node.
    ///
    /// ```
    /// # use uwsgi_wire::{message::Subscription, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("key", "k")?.push("address", "a")?.push("modifier1", "5")?;
    /// assert_eq!(Subscription::new(v.vars(), 0)?.modifier1(), 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn modifier1(&self) -> u8 {
        self.modifier1
    }

    /// The modifier2 the router should use towards this node.
    ///
    /// ```
    /// # use uwsgi_wire::{message::Subscription, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("key", "k")?.push("address", "a")?;
    /// assert_eq!(Subscription::new(v.vars(), 0)?.modifier2(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn modifier2(&self) -> u8 {
        self.modifier2
    }

    /// `cores` (processes x cores of the node).
    ///
    /// ```
    /// # use uwsgi_wire::{message::Subscription, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("key", "k")?.push("address", "a")?.push("cores", "4")?;
    /// assert_eq!(Subscription::new(v.vars(), 0)?.cores(), 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn cores(&self) -> u64 {
        self.cores
    }

    /// `load`.
    ///
    /// ```
    /// # use uwsgi_wire::{message::Subscription, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("key", "k")?.push("address", "a")?;
    /// assert_eq!(Subscription::new(v.vars(), 0)?.load(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn load(&self) -> u64 {
        self.load
    }

    /// `weight` (0 is what uWSGI sends by default; its server counts it as 1).
    ///
    /// ```
    /// # use uwsgi_wire::{message::Subscription, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("key", "k")?.push("address", "a")?.push("weight", "7")?;
    /// assert_eq!(Subscription::new(v.vars(), 0)?.weight(), 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn weight(&self) -> u64 {
        self.weight
    }

    /// `backup` level (sent by uWSGI master's `--subscribe2`, not by 2.0).
    ///
    /// ```
    /// # use uwsgi_wire::{message::Subscription, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("key", "k")?.push("address", "a")?;
    /// assert_eq!(Subscription::new(v.vars(), 0)?.backup(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn backup(&self) -> Option<u64> {
        self.backup
    }

    /// `unix`: the signing time (unix seconds), sent with `sign`.
    ///
    /// ```
    /// # use uwsgi_wire::{message::Subscription, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("key", "k")?.push("address", "a")?.push("unix", "1700000000")?;
    /// assert_eq!(Subscription::new(v.vars(), 0)?.unix(), Some(1_700_000_000));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn unix(&self) -> Option<u64> {
        self.unix
    }

    /// The bytes the signature covers: the block up to (not including) the `sign` pair,
    /// as uWSGI's server computes it. The whole block when unsigned.
    ///
    /// ```
    /// # use uwsgi_wire::{message::Subscription, VarsBuilder};
    /// let mut v = VarsBuilder::default();
    /// v.push("key", "k")?.push("address", "a")?;
    /// let covered = v.as_bytes().len();
    /// v.push("sign", [0xde, 0xad])?;
    /// assert_eq!(Subscription::new(v.vars(), 0)?.signed_bytes(), &v.as_bytes()[..covered]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn signed_bytes(&self) -> &'a [u8] {
        let block = self.vars.as_bytes();
        match self.vars.get(b"sign") {
            // `sign` is the last pair (checked in `new`): cut its 2+4+2 prefix and value.
            Some(sign) => block
                .get(..block.len().saturating_sub(2 + 4 + 2 + sign.len()))
                .unwrap_or(block),
            None => block,
        }
    }

    /// All the vars, unknown keys included: the text fields are read here by name.
    ///
    /// ```
    /// # use uwsgi_wire::{message::Subscription, VarsBuilder};
    /// # let mut v = VarsBuilder::default();
    /// # v.push("key", "k")?.push("address", "a")?.push("notify", "/tmp/n.sock")?.push("vassal", "x")?;
    /// let sub = Subscription::new(v.vars(), 0)?;
    /// assert_eq!(sub.vars().get(b"notify"), Some(&b"/tmp/n.sock"[..]));
    /// assert_eq!(sub.vars().get(b"vassal"), Some(&b"x"[..]));
    /// assert_eq!(sub.vars().get(b"sign"), None); // unsigned
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const fn vars(&self) -> Vars<'a> {
        self.vars
    }
}

/// The subscription in a packet (modifier1 224).
///
/// ```
/// use uwsgi_wire::{Packet, message::Subscription};
/// use uwsgi_wire::Limits;
/// let wire = include_bytes!("../../tests/vectors/uwsgi-unsubscribe.bin");
/// let (packet, _) = Packet::parse(wire, &Limits::new())?.complete().unwrap();
/// assert!(!Subscription::try_from(&packet)?.is_subscribe());
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
impl<'a> TryFrom<&Packet<'a>> for Subscription<'a> {
    type Error = ParseError;

    fn try_from(packet: &Packet<'a>) -> Result<Self, ParseError> {
        expect_kind(packet, Modifier1::SUBSCRIPTION, None)?;
        Subscription::new(vars_of(packet)?, packet.modifier2())
    }
}

/// The datagram to send (modifier2 0 subscribe, 1 unsubscribe).
///
/// ```
/// # use uwsgi_wire::{message::Subscription, Packet, VarsBuilder};
/// # let mut v = VarsBuilder::default();
/// # v.push("key", "k")?.push("address", "a")?;
/// let p = Packet::try_from(&Subscription::new(v.vars(), 1)?)?;
/// assert_eq!(p.header().modifier2, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl<'a> TryFrom<&Subscription<'a>> for Packet<'a> {
    type Error = EncodeError;

    fn try_from(subscription: &Subscription<'a>) -> Result<Self, EncodeError> {
        Packet::new(
            Modifier1::SUBSCRIPTION,
            subscription.command,
            Payload::Vars(subscription.vars),
        )
    }
}

/// Builds subscription vars in uWSGI's field order: `key`, `address`, `modifier1`,
/// `modifier2`, `cores`, `load`, `weight`, then the optional `backup`, `sni_key`,
/// `sni_crt`, `sni_ca`, `proto`, `notify`, any extra fields, and `unix`. To sign, sign
/// the built block's bytes and push `sign` last. The vars are the block of a
/// [`Subscription`]: [`Subscription::new`] types them, and the packet conversion frames
/// them.
///
/// ```
/// use uwsgi_wire::{message::Subscription, message::SubscriptionBuilder, Packet};
/// let vars = SubscriptionBuilder::new(b"example.com", b"127.0.0.1:3031")
///     .cores(1)
///     .build()?;
/// let subscribe = Subscription::new(vars.vars(), 0)?;
/// let mut wire = Vec::new();
/// Packet::try_from(&subscribe)?.encode_to(&mut wire)?;
/// assert_eq!(&wire[..4], &[0xe0, 0x65, 0x00, 0x00]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "alloc")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionBuilder<'b> {
    key: &'b [u8],
    address: &'b [u8],
    numbers: [u64; 5],
    backup: Option<u64>,
    unix: Option<u64>,
    text: alloc::vec::Vec<(&'b [u8], &'b [u8])>,
}

#[cfg(feature = "alloc")]
impl<'b> SubscriptionBuilder<'b> {
    const NUMBERS: [&'static str; 5] = ["modifier1", "modifier2", "cores", "load", "weight"];
    const TEXT_ORDER: [&'static [u8]; 5] = [b"sni_key", b"sni_crt", b"sni_ca", b"proto", b"notify"];

    /// A subscription for `key` served at `address`; every number starts at 0.
    ///
    /// ```
    /// let b = uwsgi_wire::message::SubscriptionBuilder::new(b"example.com", b"127.0.0.1:3031");
    /// assert_eq!(b.build()?.vars().len(), 7);
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn new(key: &'b [u8], address: &'b [u8]) -> Self {
        SubscriptionBuilder {
            key,
            address,
            numbers: [0; 5],
            backup: None,
            unix: None,
            text: alloc::vec::Vec::new(),
        }
    }

    /// The modifier1 requests to this node should carry.
    ///
    /// ```
    /// let v = uwsgi_wire::message::SubscriptionBuilder::new(b"k", b"a").modifier1(5).build()?;
    /// assert_eq!(v.vars().get(b"modifier1"), Some(&b"5"[..]));
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn modifier1(mut self, modifier1: u8) -> Self {
        self.numbers[0] = u64::from(modifier1);
        self
    }

    /// The modifier2 requests to this node should carry.
    ///
    /// ```
    /// let v = uwsgi_wire::message::SubscriptionBuilder::new(b"k", b"a").modifier2(1).build()?;
    /// assert_eq!(v.vars().get(b"modifier2"), Some(&b"1"[..]));
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn modifier2(mut self, modifier2: u8) -> Self {
        self.numbers[1] = u64::from(modifier2);
        self
    }

    /// `cores`.
    ///
    /// ```
    /// let v = uwsgi_wire::message::SubscriptionBuilder::new(b"k", b"a").cores(8).build()?;
    /// assert_eq!(v.vars().get(b"cores"), Some(&b"8"[..]));
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn cores(mut self, cores: u64) -> Self {
        self.numbers[2] = cores;
        self
    }

    /// `load`.
    ///
    /// ```
    /// let v = uwsgi_wire::message::SubscriptionBuilder::new(b"k", b"a").load(3).build()?;
    /// assert_eq!(v.vars().get(b"load"), Some(&b"3"[..]));
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn load(mut self, load: u64) -> Self {
        self.numbers[3] = load;
        self
    }

    /// `weight`.
    ///
    /// ```
    /// let v = uwsgi_wire::message::SubscriptionBuilder::new(b"k", b"a").weight(7).build()?;
    /// assert_eq!(v.vars().get(b"weight"), Some(&b"7"[..]));
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn weight(mut self, weight: u64) -> Self {
        self.numbers[4] = weight;
        self
    }

    /// `backup` (uWSGI master's `--subscribe2` field).
    ///
    /// ```
    /// let v = uwsgi_wire::message::SubscriptionBuilder::new(b"k", b"a").backup(1).build()?;
    /// assert_eq!(v.vars().get(b"backup"), Some(&b"1"[..]));
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn backup(mut self, backup: u64) -> Self {
        self.backup = Some(backup);
        self
    }

    /// `unix`, the signing time; goes last before `sign`.
    ///
    /// ```
    /// let v = uwsgi_wire::message::SubscriptionBuilder::new(b"k", b"a").unix(1_700_000_000).build()?;
    /// assert_eq!(v.vars().iter().last(), Some((&b"unix"[..], &b"1700000000"[..])));
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn unix(mut self, unix: u64) -> Self {
        self.unix = Some(unix);
        self
    }

    /// A text field (`sni_key`, `sni_crt`, `sni_ca`, `proto`, `notify`, placed in
    /// uWSGI's order, or any other key, placed after them in the order given).
    ///
    /// ```
    /// let v = uwsgi_wire::message::SubscriptionBuilder::new(b"k", b"a")
    ///     .field(b"notify", b"/run/n.sock")
    ///     .field(b"sni_key", b"/etc/k.pem")
    ///     .build()?;
    /// let keys: Vec<&[u8]> = v.vars().iter().map(|(k, _)| k).skip(7).collect();
    /// assert_eq!(keys, [&b"sni_key"[..], b"notify"]);
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn field(mut self, name: &'b [u8], value: &'b [u8]) -> Self {
        self.text.push((name, value));
        self
    }

    /// The vars, in order.
    ///
    /// ```
    /// use uwsgi_wire::{message::Subscription, message::SubscriptionBuilder};
    /// let v = SubscriptionBuilder::new(b"k", b"a").weight(2).build()?;
    /// assert_eq!(Subscription::new(v.vars(), 0).unwrap().weight(), 2);
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn build(&self) -> Result<crate::VarsBuilder, EncodeError> {
        let mut vars = crate::VarsBuilder::default();
        let mut digits = crate::message::fields::Digits::new();
        vars.push("key", self.key)?.push("address", self.address)?;
        for (name, n) in Self::NUMBERS.iter().zip(self.numbers) {
            vars.push(name, digits.format(n))?;
        }
        if let Some(backup) = self.backup {
            vars.push("backup", digits.format(backup))?;
        }
        for name in Self::TEXT_ORDER {
            for (_, value) in self.text.iter().filter(|(k, _)| *k == name) {
                vars.push(name, value)?;
            }
        }
        for (name, value) in self
            .text
            .iter()
            .filter(|(k, _)| !Self::TEXT_ORDER.contains(k))
        {
            vars.push(name, value)?;
        }
        if let Some(unix) = self.unix {
            vars.push("unix", digits.format(unix))?;
        }
        Ok(vars)
    }
}
