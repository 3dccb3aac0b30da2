//! Spooler requests (modifier1 17): vars in, a generic response out.

use crate::message::request::{expect_kind, vars_of};
use crate::wire::error::{EncodeError, ParseError};
use crate::wire::header::Modifier1;
use crate::wire::packet::{Packet, Payload};
use crate::wire::vars::Vars;

/// A spooler request: the vars become a spool file; the server answers with a
/// [`GenericResponse`](crate::message::GenericResponse) (`ff 00 00 01` written, `ff 00 00 00`
/// failed). modifier2 is ignored by uWSGI and carried untouched here.
///
/// ```
/// use uwsgi_wire::{Packet, message::SpoolerRequest, VarsBuilder};
/// use uwsgi_wire::Limits;
/// let mut vars = VarsBuilder::default();
/// vars.push("task", "send-mail")?.push("to", "ops@example.com")?;
/// let job = SpoolerRequest::new(vars.vars());
/// let mut buf = [0u8; 64];
/// let n = Packet::try_from(&job)?.encode(&mut buf)?;
/// let (packet, _) = Packet::parse(&buf[..n], &Limits::new())?.complete().unwrap();
/// assert_eq!(SpoolerRequest::try_from(&packet)?.vars().get(b"task"), Some(&b"send-mail"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolerRequest<'a> {
    vars: Vars<'a>,
    modifier2: u8,
}

impl<'a> SpoolerRequest<'a> {
    /// A spooler request carrying `vars` (modifier2 0).
    ///
    /// ```
    /// assert!(uwsgi_wire::message::SpoolerRequest::new(uwsgi_wire::Vars::default()).vars().is_empty());
    /// ```
    pub const fn new(vars: Vars<'a>) -> Self {
        SpoolerRequest { vars, modifier2: 0 }
    }

    /// The job's vars.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::message::SpoolerRequest::new(uwsgi_wire::Vars::default()).vars().len(), 0);
    /// ```
    pub const fn vars(&self) -> Vars<'a> {
        self.vars
    }
}

/// The spooler request in a packet (modifier1 17).
///
/// ```
/// use uwsgi_wire::{Packet, message::SpoolerRequest};
/// use uwsgi_wire::Limits;
/// let (packet, _) = Packet::parse(b"\x11\x05\x00\x00\x01\x00a\x00\x00", &Limits::new())?.complete().unwrap();
/// assert_eq!(SpoolerRequest::try_from(&packet)?.vars().len(), 1);
/// # Ok::<(), uwsgi_wire::ParseError>(())
/// ```
impl<'a> TryFrom<&Packet<'a>> for SpoolerRequest<'a> {
    type Error = ParseError;

    fn try_from(packet: &Packet<'a>) -> Result<Self, ParseError> {
        expect_kind(packet, Modifier1::SPOOLER, None)?;
        Ok(SpoolerRequest {
            vars: vars_of(packet)?,
            modifier2: packet.modifier2(),
        })
    }
}

/// The packet to send; fails only for vars over 65535 bytes.
///
/// ```
/// use uwsgi_wire::{message::SpoolerRequest, Packet, Vars};
/// let p = Packet::try_from(&SpoolerRequest::new(Vars::default()))?;
/// assert_eq!(p.header().to_bytes(), [17, 0, 0, 0]);
/// # Ok::<(), uwsgi_wire::EncodeError>(())
/// ```
impl<'a> TryFrom<&SpoolerRequest<'a>> for Packet<'a> {
    type Error = EncodeError;

    fn try_from(request: &SpoolerRequest<'a>) -> Result<Self, EncodeError> {
        Packet::new(
            Modifier1::SPOOLER,
            request.modifier2,
            Payload::Vars(request.vars),
        )
    }
}
