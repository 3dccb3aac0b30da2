//! Inputs the fuzz targets (`fuzz/`) found, one named test each: the input inline (its
//! bytes, or the few lines that build it), which target found it and when, and what was
//! wrong. `fuzz/seed.sh` turns the byte literals here into seeds.

/// Found by `streaming` (2026-11-23, 28 s from the seeds): the async codec's read buffer
/// grew past what `codec.rs` documents ("within the largest of its initial capacity
/// (8 KiB), the largest head and about one body chunk"): 100,891 bytes with the default
/// limits, where 65,539 (the largest head) is the bound; a longer run saw 114,634.
///
/// The decoder asked for exactly the bytes a head still needed (`src.reserve(needed)`),
/// but `BytesMut::reserve` (bytes 1.x) grows like a `Vec`: when the allocation is too
/// small to take them in place and the unread bytes cannot be moved to its front without
/// an overlapping copy (there are more of them than consumed bytes before them), it at
/// least *doubles* the allocation. Heads of 40,000 and then 65,539 bytes doubled a
/// 40,000-byte buffer to 80,000; a 20,000-byte packet followed by 50,000 bytes of a
/// 65,539-byte head then doubled that to 160,000 (140,000 of capacity past the consumed
/// bytes): more than twice the largest head. Fixed in the codec (then `UwsgiCodec`) by
/// reserving through `BytesMut::try_reclaim` (reuse the allocation, never grow it) and
/// otherwise moving the unread bytes (at most a head) to an allocation of exactly the
/// size needed (at least 8 KiB).
///
/// The stream is driven as `tokio_util::codec::FramedRead` drives it: an 8 KiB buffer,
/// `decode` until it asks for more, then one read into the spare capacity.
#[cfg(feature = "tokio")]
#[test]
fn codec_buffer_never_doubles_past_a_head() {
    use bytes::BytesMut;
    use tokio_util::codec::Decoder;
    use uwsgi_wire::codec::{Frame, ServerCodec, DEFAULT_BODY_CHUNK};
    use uwsgi_wire::Limits;

    // Echo packets (modifier1 101: a raw block, no body) of the given total sizes.
    fn echo(total: usize) -> Vec<u8> {
        let datasize = u16::try_from(total - 4).unwrap().to_le_bytes();
        let mut wire = vec![0x65, datasize[0], datasize[1], 0x00];
        wire.resize(total, b'e');
        wire
    }
    let sizes = [40_000, 65_539, 20_000, 65_539];
    let stream: Vec<u8> = sizes.iter().flat_map(|&n| echo(n)).collect();
    // The reads: P1 in two, P2 in two, then P3 and most of P4 at once, the rest of P4
    // (each as far as the buffer's spare capacity takes it).
    let reads = [8_192, 31_808, 40_000, 25_539, 70_000, 15_539];
    assert_eq!(reads.iter().sum::<usize>(), stream.len());

    let max_datasize = u16::MAX; // the default
    let limits = Limits::new().max_datasize(max_datasize);
    assert_eq!(limits, Limits::new());
    let mut codec = ServerCodec::new(limits);
    let head = 4 + usize::from(max_datasize);
    let bound = 8192usize.max(head).max(DEFAULT_BODY_CHUNK);
    let mut buf = BytesMut::with_capacity(8192);
    let (mut at, mut heads, mut ends) = (0, Vec::new(), 0);
    let mut pending = reads.iter().copied();
    let mut piece = 0;
    while at < stream.len() {
        while let Some(frame) = codec.decode(&mut buf).unwrap() {
            match frame {
                Frame::Head(packet) => heads.push(packet.as_bytes().len()),
                Frame::End => ends += 1,
                Frame::Body(_) => panic!("echo packets have no body"),
            }
        }
        assert!(
            buf.capacity() <= bound,
            "capacity {} after decode, over {bound}",
            buf.capacity()
        );
        // One read: what is left of the planned piece, as far as the spare capacity
        // takes it (FramedRead reserves 1 byte, then reads into the spare capacity).
        if piece == 0 {
            piece = pending.next().unwrap_or(usize::MAX);
        }
        buf.reserve(1);
        let n = piece.min(buf.capacity() - buf.len()).min(stream.len() - at);
        buf.extend_from_slice(&stream[at..at + n]);
        (at, piece) = (at + n, piece - n);
        assert!(
            buf.capacity() <= bound,
            "capacity {} after a read, over {bound}",
            buf.capacity()
        );
    }
    while let Some(frame) = codec.decode_eof(&mut buf).unwrap() {
        match frame {
            Frame::Head(packet) => heads.push(packet.as_bytes().len()),
            Frame::End => ends += 1,
            Frame::Body(_) => panic!("echo packets have no body"),
        }
    }
    assert_eq!(heads, sizes);
    assert_eq!(ends, sizes.len());
    assert!(buf.is_empty());
}
