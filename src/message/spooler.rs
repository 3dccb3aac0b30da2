//! Spooler requests (modifier1 17): vars in, a generic response out.

use crate::message::request::unexpected;
use crate::wire::error::{EncodeError, ParseError};
use crate::wire::header::Modifier1;
use crate::wire::packet::{Packet, Payload};
use crate::wire::vars::Vars;

/// A spooler request: the vars become a spool file; the server answers with a
/// [`GenericResponse`](crate::message::GenericResponse) (`ff 00 00 01` written, `ff 00 00 00`
/// failed). modifier2 is ignored by uWSGI and carried untouched here.
///
/// ```
/// use uwsgi_wire::{Limits, Packet, message::SpoolerRequest, VarsBuilder};
/// let mut vars = VarsBuilder::default();
/// vars.push("task", "send-mail")?.push("to", "ops@example.com")?;
/// let job = SpoolerRequest::new(vars.vars());
/// let mut buf = [0u8; 64];
/// let n = job.to_packet()?.encode(&mut buf)?;
/// let (packet, _) = Packet::parse(&buf[..n], &Limits::new())?.complete().unwrap();
/// assert_eq!(SpoolerRequest::from_packet(&packet)?.vars().get(b"task"), Some(&b"send-mail"[..]));
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

    /// The spooler request in a packet (modifier1 17).
    ///
    /// ```
    /// use uwsgi_wire::{Limits, Packet, message::SpoolerRequest};
    /// let (packet, _) = Packet::parse(b"\x11\x05\x00\x00\x01\x00a\x00\x00", &Limits::new())?.complete().unwrap();
    /// assert_eq!(SpoolerRequest::from_packet(&packet)?.vars().len(), 1);
    /// # Ok::<(), uwsgi_wire::ParseError>(())
    /// ```
    pub fn from_packet(packet: &Packet<'a>) -> Result<Self, ParseError> {
        match (packet.modifier1(), packet.vars()) {
            (Modifier1::SPOOLER, Some(vars)) => Ok(SpoolerRequest {
                vars,
                modifier2: packet.modifier2(),
            }),
            _ => Err(unexpected(packet)),
        }
    }

    /// The job's vars.
    ///
    /// ```
    /// assert_eq!(uwsgi_wire::message::SpoolerRequest::new(uwsgi_wire::Vars::default()).vars().len(), 0);
    /// ```
    pub const fn vars(&self) -> Vars<'a> {
        self.vars
    }

    /// The packet to send; fails only for vars over 65535 bytes.
    ///
    /// ```
    /// let p = uwsgi_wire::message::SpoolerRequest::new(uwsgi_wire::Vars::default()).to_packet()?;
    /// assert_eq!(p.header().to_bytes(), [17, 0, 0, 0]);
    /// # Ok::<(), uwsgi_wire::EncodeError>(())
    /// ```
    pub fn to_packet(&self) -> Result<Packet<'a>, EncodeError> {
        Packet::new(Modifier1::SPOOLER, self.modifier2, Payload::Vars(self.vars))
    }
}
