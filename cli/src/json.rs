//! The JSON form of a packet, shared by `decode --json` and `encode`.
//!
//! Bytes are a JSON string when they are valid UTF-8, else `{"hex": "<lowercase hex>"}`,
//! so any packet survives `decode --json | encode` byte for byte.

use serde_json::{json, Map, Value};
use uwsgi_wire::{ArrayBuilder, BlockKind, Modifier1, Packet, Payload, VarsBuilder};

/// Raw bytes as JSON.
pub fn bytes_to_json(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(text) => Value::String(text.to_owned()),
        Err(_) => json!({ "hex": hex(bytes) }),
    }
}

// Not `escape_ascii` as elsewhere: `encode` reads these back, so every byte is two digits.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// JSON back to raw bytes; `what` names the field in error messages.
pub fn json_to_bytes(value: &Value, what: &str) -> Result<Vec<u8>, String> {
    match value {
        Value::String(text) => Ok(text.as_bytes().to_vec()),
        Value::Object(map) if map.len() == 1 => match map.get("hex") {
            Some(Value::String(digits)) => {
                unhex(digits).ok_or_else(|| format!("{what}: invalid hex {digits:?}"))
            }
            _ => Err(format!("{what}: expected a string or {{\"hex\": \"...\"}}")),
        },
        _ => Err(format!("{what}: expected a string or {{\"hex\": \"...\"}}")),
    }
}

fn unhex(digits: &str) -> Option<Vec<u8>> {
    if digits.len() % 2 != 0 {
        return None;
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(digits.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The JSON object for a parsed packet and the number of bytes after it.
pub fn packet_to_json(packet: &Packet<'_>, body_len: usize) -> Value {
    let header = packet.header();
    let mut out = Map::new();
    out.insert("modifier1".into(), header.modifier1.0.into());
    out.insert("modifier2".into(), header.modifier2.into());
    out.insert("datasize".into(), header.datasize.into());
    match packet.payload() {
        Payload::Vars(vars) => {
            out.insert("kind".into(), "vars".into());
            let pairs = vars
                .iter()
                .map(|(k, v)| json!([bytes_to_json(k), bytes_to_json(v)]));
            out.insert("vars".into(), Value::Array(pairs.collect()));
        }
        Payload::Array(array) => {
            out.insert("kind".into(), "array".into());
            out.insert(
                "array".into(),
                Value::Array(array.iter().map(bytes_to_json).collect()),
            );
        }
        Payload::Raw(raw) => {
            out.insert("kind".into(), "raw".into());
            out.insert("payload".into(), bytes_to_json(raw));
        }
    }
    out.insert("body_len".into(), body_len.into());
    Value::Object(out)
}

fn byte_field(object: &Map<String, Value>, name: &str) -> Result<u8, String> {
    let value = object
        .get(name)
        .ok_or_else(|| format!("missing \"{name}\""))?;
    value
        .as_u64()
        .and_then(|n| u8::try_from(n).ok())
        .ok_or_else(|| format!("\"{name}\" must be an integer from 0 to 255, not {value}"))
}

fn list<'v>(object: &'v Map<String, Value>, name: &str) -> Result<&'v Vec<Value>, String> {
    object
        .get(name)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("kind {name} needs a \"{name}\" list"))
}

/// Encodes the JSON form into packet bytes (header and block), followed by `body` when
/// present. `datasize` and `body_len` are ignored: they are derived.
pub fn json_to_wire(value: &Value) -> Result<Vec<u8>, String> {
    let object = value.as_object().ok_or("expected a JSON object")?;
    let modifier1 = Modifier1(byte_field(object, "modifier1")?);
    let modifier2 = byte_field(object, "modifier2")?;
    let kind = match object.get("kind").and_then(Value::as_str) {
        Some("vars") => BlockKind::Vars,
        Some("array") => BlockKind::Array,
        Some("raw") => BlockKind::Raw,
        None => modifier1.block_kind(),
        Some(other) => return Err(format!("unknown kind {other:?} (vars, array or raw)")),
    };
    let mut vars = VarsBuilder::default();
    let mut array = ArrayBuilder::default();
    let raw;
    let payload = match kind {
        BlockKind::Vars => {
            for (i, pair) in list(object, "vars")?.iter().enumerate() {
                let [k, v] = pair.as_array().map(Vec::as_slice).unwrap_or_default() else {
                    return Err(format!("vars[{i}]: expected [key, value]"));
                };
                let (k, v) = (
                    json_to_bytes(k, &format!("vars[{i}] key"))?,
                    json_to_bytes(v, &format!("vars[{i}] value"))?,
                );
                vars.push(k, v).map_err(|e| format!("vars[{i}]: {e}"))?;
            }
            Payload::Vars(vars.vars())
        }
        BlockKind::Array => {
            for (i, item) in list(object, "array")?.iter().enumerate() {
                let item = json_to_bytes(item, &format!("array[{i}]"))?;
                array.push(item).map_err(|e| format!("array[{i}]: {e}"))?;
            }
            Payload::Array(array.array())
        }
        BlockKind::Raw => {
            raw = match object.get("payload") {
                Some(p) => json_to_bytes(p, "payload")?,
                None => Vec::new(),
            };
            Payload::Raw(&raw)
        }
    };
    let packet = Packet::new(modifier1, modifier2, payload).map_err(|e| e.to_string())?;
    let mut wire = Vec::with_capacity(packet.encoded_len());
    packet.encode_to(&mut wire).map_err(|e| e.to_string())?;
    if let Some(body) = object.get("body") {
        wire.extend_from_slice(&json_to_bytes(body, "body")?);
    }
    Ok(wire)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_through_json() {
        for bytes in [&b""[..], b"plain", b"\xff\x00\x80", "é".as_bytes()] {
            assert_eq!(json_to_bytes(&bytes_to_json(bytes), "x").unwrap(), bytes);
        }
        assert_eq!(bytes_to_json(b"\xff\x00"), json!({"hex": "ff00"}));
        assert!(json_to_bytes(&json!({"hex": "f"}), "x").is_err());
        assert!(json_to_bytes(&json!({"hex": "zz"}), "x").is_err());
        assert!(json_to_bytes(&json!(5), "x").is_err());
    }
}
