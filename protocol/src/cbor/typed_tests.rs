//! The one-pass read of whole messages and reconciliation frames ([`decode_typed`]) against
//! the value tree ([`decode_by_value`]): on every message vector (spec/vectors/messages/) and
//! every frame of the reconcile vectors (spec/vectors/reconcile/), whole and damaged at
//! every byte, both accept the same bytes as the same value, and the errors are the value
//! tree's, code, path and detail.

use std::fmt::Debug;
use std::path::Path;

use super::*;
use crate::reconcile::Message;
use crate::wire::{Request, Response};

/// The verdict on `bytes` as code, path and detail, or the value.
fn verdict<T>(result: Result<T>) -> std::result::Result<T, (ErrorCode, String, String)> {
    result.map_err(|error| (error.code(), error.path().to_owned(), error.detail().to_owned()))
}

/// Whether the one-pass read and the value tree agree on `bytes` as a `T`, and
/// [`decode_typed`] gives the value tree's verdict. Returns whether `bytes` is valid.
fn agree<T: DeserializeOwned + Serialize + PartialEq + Debug>(bytes: &[u8], name: &str) -> bool {
    let by_value = verdict(decode_by_value::<T>(bytes));
    let fast = from_canonical::<T>(bytes, 1, 0).ok();
    assert_eq!(fast.as_ref(), by_value.as_ref().ok(), "{name}: {}", hex::encode(bytes));
    assert_eq!(verdict(decode_typed::<T>(bytes)), by_value, "{name}");
    by_value.is_ok()
}

/// Checks `bytes` whole and, if valid and of ordinary size, damaged at every byte (one bit
/// flipped low and high). Returns whether the whole bytes are valid.
fn agree_damaged<T: DeserializeOwned + Serialize + PartialEq + Debug>(bytes: &[u8], name: &str) -> bool {
    let valid = agree::<T>(bytes, name);
    if valid && bytes.len() <= 4000 {
        for at in 0..bytes.len() {
            for xor in [0x01, 0x80] {
                let mut damaged = bytes.to_vec();
                damaged[at] ^= xor;
                agree::<T>(&damaged, &format!("{name} at {at} ^ {xor:#x}"));
            }
            agree::<T>(&bytes[..at], &format!("{name} cut at {at}"));
        }
    }
    valid
}

/// The JSON files of a vector folder under spec/vectors/.
fn vector_files(folder: &str) -> Vec<(String, serde_json::Value)> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors").join(folder);
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|extension| extension == "json") {
            let json = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            files.push((path.display().to_string(), json));
        }
    }
    files
}

/// Every `hex` string anywhere in `json`: the frames of a reconcile vector.
fn frames(json: &serde_json::Value, found: &mut Vec<Vec<u8>>) {
    match json {
        serde_json::Value::Object(fields) => {
            for (key, item) in fields {
                match (key.as_str(), item.as_str()) {
                    ("hex", Some(text)) => found.push(hex::decode(text).unwrap()),
                    _ => frames(item, found),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| frames(item, found)),
        _ => {}
    }
}

#[test]
fn the_one_pass_read_agrees_with_the_value_tree_on_every_message_vector() {
    let (mut valid, mut all) = (0, 0);
    for (name, json) in vector_files("messages") {
        let bytes = hex::decode(json["cbor"].as_str().unwrap()).unwrap();
        let ok = match json["decode_as"].as_str().unwrap() {
            "request" => agree_damaged::<Request>(&bytes, &name),
            "response" => agree_damaged::<Response>(&bytes, &name),
            other => panic!("{name}: decode_as {other}"),
        };
        valid += usize::from(ok);
        all += 1;
    }
    assert!(all >= 20 && valid >= 10, "{valid} valid of {all}");
}

#[test]
fn the_one_pass_read_agrees_with_the_value_tree_on_every_reconcile_frame() {
    let mut valid = 0;
    for (name, json) in vector_files("reconcile") {
        let mut found = Vec::new();
        frames(&json, &mut found);
        for bytes in found {
            valid += usize::from(agree_damaged::<Message>(&bytes, &name));
        }
    }
    assert!(valid >= 50, "{valid} valid frames");
}
