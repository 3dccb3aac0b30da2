//! Writing packets and bodies to a blocking stream: vectored, short-write safe.

use std::io::{self, IoSlice, Write};

use crate::exchange::request_body_len;
use crate::wire::convert::to_u64;
use crate::wire::packet::Packet;

/// Writes every byte of `bufs`, in order, with vectored writes: the stable equivalent
/// of the unstable `Write::write_all_vectored`.
///
/// Retries on [`io::ErrorKind::Interrupted`], carries on after short writes (a writer
/// may take a single byte per call), and fails with [`io::ErrorKind::WriteZero`] when
/// the writer accepts nothing. `bufs` is advanced as bytes are written, so its contents
/// are unspecified afterwards.
///
/// ```
/// use std::io::IoSlice;
/// let mut out = Vec::new();
/// let mut bufs = [IoSlice::new(b"head"), IoSlice::new(b""), IoSlice::new(b"-body")];
/// uwsgi_wire::io::write_all_vectored(&mut out, &mut bufs)?;
/// assert_eq!(out, b"head-body");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_all_vectored<W: Write + ?Sized>(
    writer: &mut W,
    mut bufs: &mut [IoSlice<'_>],
) -> io::Result<()> {
    // Drop leading empty slices, so an empty write is not mistaken for WriteZero.
    IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        match writer.write_vectored(bufs) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "failed to write the whole packet",
                ))
            }
            Ok(n) => {
                let total: usize = bufs.iter().map(|b| b.len()).sum();
                if n > total {
                    // `advance_slices` would panic; a writer must never claim this.
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "writer reported more bytes written than it was given",
                    ));
                }
                IoSlice::advance_slices(&mut bufs, n);
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Writes a packet (header and block) with one vectored write when the writer allows.
///
/// ```
/// use uwsgi_wire::{Modifier1, Packet, Payload};
/// let mut out = Vec::new();
/// uwsgi_wire::io::write_packet(&mut out, &Packet::new(Modifier1::PING, 0, Payload::Raw(b""))?)?;
/// assert_eq!(out, [0x64, 0, 0, 0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_packet<W: Write + ?Sized>(writer: &mut W, packet: &Packet<'_>) -> io::Result<()> {
    let header = packet.header().to_bytes();
    let mut bufs = [
        IoSlice::new(&header),
        IoSlice::new(packet.payload().as_bytes()),
    ];
    write_all_vectored(writer, &mut bufs)
}

/// Writes a packet followed by its body, together (one vectored write when the writer
/// allows).
///
/// For request types ([`Modifier1::is_request`](crate::Modifier1::is_request)) and a
/// magic cache `set`/`update`, the body must be exactly what the packet announces
/// ([`request_body_len`](crate::exchange::request_body_len): `CONTENT_LENGTH`, none when it is absent or empty; the cache
/// `size`): anything else is an [`io::ErrorKind::InvalidInput`] error and nothing is
/// written, since the peer would read a wrong body or the next request from it. For
/// other types `body` is written as given.
///
/// ```
/// use uwsgi_wire::{Modifier1, Packet, Payload, VarsBuilder};
/// let mut vars = VarsBuilder::default();
/// vars.push("REQUEST_METHOD", "POST")?.push("CONTENT_LENGTH", "5")?;
/// let packet = Packet::new(Modifier1::WSGI, 0, Payload::Vars(vars.vars()))?;
///
/// let mut out = Vec::new();
/// uwsgi_wire::io::write_request(&mut out, &packet, b"hello")?;
/// assert!(out.ends_with(b"5hello"));
///
/// let err = uwsgi_wire::io::write_request(&mut Vec::new(), &packet, b"hi").unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_request<W: Write + ?Sized>(
    writer: &mut W,
    packet: &Packet<'_>,
    body: &[u8],
) -> io::Result<()> {
    // The kinds whose following bytes the exchange core frames must get exactly those.
    if packet.modifier1().is_request() || request_body_len(packet).is_ok_and(|len| len > 0) {
        let announced = request_body_len(packet)
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
        if announced != to_u64(body.len()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "body is {} bytes but the packet announces {announced}",
                    body.len()
                ),
            ));
        }
    }
    let header = packet.header().to_bytes();
    let mut bufs = [
        IoSlice::new(&header),
        IoSlice::new(packet.payload().as_bytes()),
        IoSlice::new(body),
    ];
    write_all_vectored(writer, &mut bufs)
}
