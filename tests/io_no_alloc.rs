//! Proves that the blocking adapter allocates nothing per packet once warm: a counting
//! global allocator watches a `ServerReader` read many requests and their bodies, and
//! the writers write them.
#![cfg(feature = "std")]

use std::io::{self, Read};

use uwsgi_wire::io::{write_request, Incoming, ServerReader};
use uwsgi_wire::{Limits, Packet, Status};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations;

/// Plays `wire` over and over, `step` bytes per read at most (short reads), without
/// allocating.
struct Repeat<'a> {
    wire: &'a [u8],
    pos: usize,
    step: usize,
}

impl Read for Repeat<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.wire.len() {
            self.pos = 0;
        }
        let n = out.len().min(self.step).min(self.wire.len() - self.pos);
        out[..n].copy_from_slice(&self.wire[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn vector(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn the_counter_sees_allocations() {
    // Guards the proofs below: if counting were broken, zero would mean nothing.
    let (_, n) = allocations(|| drop(std::hint::black_box(vec![1u8; 10])));
    assert_eq!(n, 1);
}

/// Reads `rounds` packets with their bodies; returns the body bytes seen.
fn read_rounds<R: Read>(reader: &mut ServerReader<R>, rounds: usize) -> usize {
    let mut scratch = [0u8; 512];
    let mut total = 0;
    for _ in 0..rounds {
        let Some(Incoming { packet, mut body }) = reader.read_packet().unwrap() else {
            panic!("endless stream")
        };
        let vars = packet.vars().unwrap();
        assert!(vars.get(b"REQUEST_METHOD").is_some());
        loop {
            let n = body.read(&mut scratch).unwrap();
            if n == 0 {
                break;
            }
            total += n;
        }
    }
    total
}

#[test]
fn reading_packets_and_bodies_allocates_nothing_once_warm() {
    // Captured from nginx 1.22: a POST with an 11-byte body, then a GET, then the
    // largest packet nginx sends (a 65535-byte block), over and over.
    let wire = [
        vector("nginx-post.bin"),
        vector("nginx-get.bin"),
        vector("nginx-large-header.bin"),
    ]
    .concat();
    for step in [1 << 20, 4096, 7] {
        let mut reader = ServerReader::new(
            Repeat {
                wire: &wire,
                pos: 0,
                step,
            },
            Limits::new(),
        );
        // Warm up: the first round grows the buffer to the largest packet.
        read_rounds(&mut reader, 3);
        let mut body = 0;
        let (_, n) = allocations(|| body = read_rounds(&mut reader, 300));
        assert_eq!(n, 0, "reads of at most {step} bytes allocated");
        assert_eq!(body, 100 * 11);
        assert_eq!(
            reader.buffer_capacity(),
            65539,
            "grew once, to the largest packet"
        );
    }
}

#[test]
fn writing_a_request_allocates_nothing() {
    let wire = vector("nginx-post.bin"); // captured from nginx 1.22
    let Ok(Status::Complete((packet, consumed))) = Packet::parse(&wire, &Limits::new()) else {
        panic!()
    };
    let mut out = vec![0u8; 1024];
    let (_, n) = allocations(|| {
        for _ in 0..100 {
            let mut sink = &mut out[..];
            write_request(&mut sink, &packet, &wire[consumed..]).unwrap();
        }
    });
    assert_eq!(n, 0);
    assert_eq!(&out[..wire.len()], &wire[..]);
}
