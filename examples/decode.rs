//! Decodes one uwsgi packet and prints its header, block and body length.
//!
//! ```text
//! cargo run --example decode                 # a GET captured from nginx 1.22
//! cargo run --example decode -- packet.bin   # any file holding one packet (+ body)
//! ```

use std::process::ExitCode;

use uwsgi_wire::{Limits, Packet, Payload, Status};

/// A GET request captured from nginx 1.22.1 (`uwsgi_pass`, Debian's `uwsgi_params`),
/// see tests/vectors/README.md.
const NGINX_GET: &[u8] = include_bytes!("../tests/vectors/nginx-get.bin");

fn main() -> ExitCode {
    let (name, bytes) = match std::env::args_os().nth(1) {
        Some(path) => match std::fs::read(&path) {
            Ok(bytes) => (path.to_string_lossy().into_owned(), bytes),
            Err(err) => {
                eprintln!("decode: {}: {err}", path.to_string_lossy());
                return ExitCode::FAILURE;
            }
        },
        None => ("built-in nginx GET".to_string(), NGINX_GET.to_vec()),
    };
    match Packet::parse(&bytes, &Limits::new()) {
        Ok(Status::Complete((packet, consumed))) => {
            print(&name, &packet, bytes.len() - consumed);
            ExitCode::SUCCESS
        }
        Ok(Status::Partial { needed }) => {
            eprintln!("decode: {name}: truncated packet, {needed} more byte(s) needed");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("decode: {name}: invalid packet: {err}");
            ExitCode::FAILURE
        }
    }
}

fn print(name: &str, packet: &Packet<'_>, body_len: usize) {
    let header = packet.header();
    println!("{name}");
    println!(
        "modifier1 {} ({}), datasize {}, modifier2 {}",
        header.modifier1,
        header.modifier1.name().unwrap_or("unknown"),
        header.datasize,
        header.modifier2
    );
    match packet.payload() {
        Payload::Vars(vars) => {
            println!("{} vars:", vars.len());
            for (key, value) in vars {
                println!("  {} = {}", escape(key), escape(value));
            }
        }
        Payload::Array(array) => {
            println!("{} array items:", array.len());
            for item in array {
                println!("  {}", escape(item));
            }
        }
        Payload::Raw(raw) => println!("raw payload: {}", escape(raw)),
    }
    println!("body: {body_len} byte(s) after the block");
}

/// Raw bytes as printable text, with anything else escaped (`\xff`).
fn escape(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}
