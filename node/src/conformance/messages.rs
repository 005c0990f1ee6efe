//! Message checks: node.md §Messages (requests, responses, refusals), §Judging a request,
//! §Verdicts, and protocol.md §Decoding through the record vectors of spec/vectors/.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use kvitt_protocol::directory::{Directory, Member, MemberRole};
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::wire::{AnyCode, RecordBytes, Request, RequestBody, Response, ResponseBody, Verdict};
use kvitt_protocol::{limits, sample, ErrorCode, PublicKey, Signed};

use super::link::Link;
use super::transport::refused_code;
use super::{Options, Report};

const DIRECTORY: &str = "node.md §Request (directory)";
const MESSAGES: &str = "node.md §Messages";
const LIMITS: &str = "node.md §Request (limits)";
const DELIVERY: &str = "node.md §Judging a request";
const DECODING: &str = "protocol.md §Decoding (vectors)";

/// What the directory says about the two sides.
pub(super) struct Network {
    /// The version of the directory the node holds.
    pub(super) version: u64,
    /// This side's member.
    pub(super) me: Member,
    /// The node's member.
    pub(super) peer: Member,
}

/// Sends `request` and decodes the response.
pub(super) async fn ask(link: &Link, request: &Request) -> Result<Response, String> {
    let payload = request.encode().map_err(|error| error.to_string())?;
    let answer = link.exchange(&payload).await.map_err(|error| error.to_string())?;
    Response::decode(&answer).map_err(|error| format!("the answer is not a response: {error}"))
}

/// Asks for the directory (have 0, then the version it names) and finds both sides in it.
pub(super) async fn directory(options: &Options, link: &Link, report: &mut Report) -> Option<Network> {
    let first = async {
        let response =
            ask(link, &Request { directory_version: 0, body: RequestBody::Directory { have: 0 } }).await?;
        let ResponseBody::Directory { record: Some(RecordBytes(bytes)) } = response.body else {
            return Err(format!("expected a directory record, got {:?}", response.body));
        };
        let directory =
            Signed::<Directory>::decode(&bytes).map_err(|error| format!("the directory: {error}"))?;
        let body = directory.body();
        if body.version != response.directory_version {
            return Err(format!(
                "directory v{} in a response of version {}",
                body.version, response.directory_version
            ));
        }
        let own_key: PublicKey = options.key.verifying_key().into();
        let me =
            body.member_by_key(&own_key).cloned().ok_or("the directory does not list this side's key")?;
        let peer = body
            .member_by_key(&options.peer_key)
            .cloned()
            .ok_or("the directory does not list the node's key")?;
        Ok(Network { version: body.version, me, peer })
    };
    let network = match first.await {
        Ok(network) => network,
        Err(why) => {
            report.record(DIRECTORY, "`have: 0` is answered with the signed directory", Err(why));
            return None;
        }
    };
    report.record(
        DIRECTORY,
        "`have: 0` is answered with the signed directory",
        Ok(format!(
            "v{}, {} is {:?} {}",
            network.version, network.peer.name, network.peer.role, network.peer.org
        )),
    );
    let same = Request {
        directory_version: network.version,
        body: RequestBody::Directory { have: network.version },
    };
    let result = match ask(link, &same).await {
        Ok(Response { body: ResponseBody::Directory { record: None }, .. }) => Ok("no record".to_owned()),
        Ok(other) => Err(format!("expected a directory response without record, got {:?}", other.body)),
        Err(why) => Err(why),
    };
    report.record(DIRECTORY, "`have` = the node's version is answered without a record", result);
    Some(network)
}

/// Requests that are not canonical, have unknown fields, or hold 512 and 513 records.
pub(super) async fn requests(link: &Link, network: &Network, report: &mut Report) {
    let request = Request { directory_version: network.version, body: RequestBody::Directory { have: 0 } };
    let Ok(canonical) = request.encode() else {
        report.record(MESSAGES, "encode a directory request", Err("the encoder failed".into()));
        return;
    };
    // `have: 0` as 0x18 0x00: the integer 0 in two bytes instead of one.
    let long_zero = replace_once(&canonical, b"\x64have\x00", b"\x64have\x18\x00");
    let result = send_expecting_refusal(link, &long_zero, ErrorCode::NonCanonical.into()).await;
    report.record(MESSAGES, "a request with a non-shortest integer", result);
    // An unknown field `x` in the body (one byte, so it sorts first).
    let unknown = replace_once(&canonical, b"\xa2\x64have", b"\xa3\x61x\x01\x64have");
    let result = send_expecting_refusal(link, &unknown, ErrorCode::Schema.into()).await;
    report.record(MESSAGES, "a request with an unknown field", result);

    let limit = limits::MAX_RECORDS_PER_DELIVERY;
    let deliver = |count: usize| Request {
        directory_version: network.version,
        body: RequestBody::Deliver { records: vec![RecordBytes(Vec::new()); count] },
    };
    let result = match ask(link, &deliver(limit)).await {
        Ok(Response { body: ResponseBody::Delivered { results }, .. }) => {
            let malformed = results
                .iter()
                .filter(|verdict| refusal_code(verdict) == Some(AnyCode::Record(ErrorCode::Malformed)))
                .count();
            if results.len() == limit && malformed == limit {
                Ok(format!("{limit} verdicts, each refused encoding.malformed"))
            } else {
                Err(format!("{} verdicts, {malformed} of them encoding.malformed", results.len()))
            }
        }
        Ok(other) => Err(format!("expected {limit} verdicts, got {:?}", other.body)),
        Err(why) => Err(why),
    };
    report.record(LIMITS, "a delivery of MAX_RECORDS_PER_DELIVERY empty records", result);
    let result = match deliver(limit + 1).encode() {
        Ok(payload) => send_expecting_refusal(link, &payload, ErrorCode::TooMany.into()).await,
        Err(error) => Err(error.to_string()),
    };
    report.record(LIMITS, "a delivery of MAX_RECORDS_PER_DELIVERY + 1 records is refused whole", result);
}

/// A fresh receipt of this side (as merchant) for the node (as agency): `stored`, then
/// `duplicate`. Returns its bytes for the reconciliation checks.
pub(super) async fn delivery(
    options: &Options,
    link: &Link,
    network: &Network,
    report: &mut Report,
) -> Option<Signed<Receipt>> {
    const NAME: &str = "a new receipt is stored, and again is a duplicate";
    if network.me.role != MemberRole::Merchant || network.peer.role != MemberRole::Agency {
        let why = format!(
            "not run: needs a merchant's key and an agency node, not {:?} and {:?}",
            network.me.role, network.peer.role
        );
        report.record(DELIVERY, NAME, Err(why));
        return None;
    }
    // A register of its own per run, so that a second run signs no serial twice.
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs());
    let body = sample::receipt(&network.me.org, &network.peer.org, &format!("CONFORMANCE-{seconds}"), 1);
    let receipt = match Signed::sign(body, &options.key) {
        Ok(receipt) => receipt,
        Err(error) => {
            report.record(DELIVERY, NAME, Err(format!("signing the receipt: {error}")));
            return None;
        }
    };
    let id = receipt.id();
    let stored = verdict_of(link, network, receipt.bytes()).await;
    let result = match stored {
        Ok(Verdict::Stored { id: got }) if got == id => Ok(format!("stored {}", id.short())),
        other => Err(format!("expected stored {}, got {other:?}", id.short())),
    };
    let first_ok = result.is_ok();
    report.record(DELIVERY, "a new receipt of this merchant is stored", result);
    let result = match verdict_of(link, network, receipt.bytes()).await {
        Ok(Verdict::Duplicate { id: got }) if got == id => Ok(format!("duplicate {}", id.short())),
        other => Err(format!("expected duplicate {}, got {other:?}", id.short())),
    };
    report.record(DELIVERY, "the same receipt again is a duplicate", result);
    first_ok.then_some(receipt)
}

/// Delivers each invalid record vector of `vectors` alone: each must be refused with the
/// vector's code (paths are advisory, protocol.md §Decoding, and are not compared).
pub(super) async fn record_vectors(link: &Link, network: &Network, vectors: &Path, report: &mut Report) {
    let mut files: Vec<_> = match std::fs::read_dir(vectors) {
        Ok(entries) => entries.filter_map(|entry| entry.ok().map(|entry| entry.path())).collect(),
        Err(error) => {
            report.record(DECODING, format!("read {}", vectors.display()), Err(error.to_string()));
            return;
        }
    };
    files.retain(|path| path.extension().is_some_and(|ext| ext == "json"));
    files.sort();
    for path in files {
        let name = path.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
        let Some((bytes, code)) = invalid_record(&path) else { continue };
        let result = match verdict_of(link, network, &bytes).await {
            Ok(verdict) if refusal_code(&verdict) == Some(code) => Ok(format!("refused {code}")),
            other => Err(format!("expected refused {code}, got {other:?}")),
        };
        report.record(DECODING, name, result);
    }
}

/// Sends each invalid request vector of `messages` (spec/vectors/messages/) as it is: each
/// must be answered `refused` with the vector's code.
pub(super) async fn request_vectors(link: &Link, messages: &Path, report: &mut Report) {
    const SECTION: &str = "node.md §Messages (vectors)";
    let mut files: Vec<_> = match std::fs::read_dir(messages) {
        Ok(entries) => entries.filter_map(|entry| entry.ok().map(|entry| entry.path())).collect(),
        Err(error) => {
            report.record(SECTION, format!("read {}", messages.display()), Err(error.to_string()));
            return;
        }
    };
    files.retain(|path| path.extension().is_some_and(|ext| ext == "json"));
    files.sort();
    for path in files {
        let name = path.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
        let Some((bytes, code)) = invalid_vector(&path, &["request"]) else { continue };
        report.record(SECTION, name, send_expecting_refusal(link, &bytes, code).await);
    }
}

/// The bytes and code of an invalid vector a node judges as it is delivered: one record,
/// whose code does not depend on a decoder expecting one type (a claim given to the
/// receipt decoder is a valid claim to a node).
fn invalid_record(path: &Path) -> Option<(Vec<u8>, AnyCode)> {
    invalid_vector(path, &["receipt", "claim", "claim_event", "directory", "evidence", "any"])
}

/// The bytes and code of an invalid vector decoded as one of `decoders`, unless its code
/// comes from a decoder expecting one record type.
fn invalid_vector(path: &Path, decoders: &[&str]) -> Option<(Vec<u8>, AnyCode)> {
    let vector: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    let text = |key: &str| vector.get(key).and_then(serde_json::Value::as_str);
    let expected = vector.get("expected")?;
    let decode_as = text("decode_as")?;
    let code = AnyCode::parse(expected.get("error").and_then(serde_json::Value::as_str)?)?;
    let invalid = expected.get("valid").and_then(serde_json::Value::as_bool) == Some(false);
    let typed = code == ErrorCode::RecordType && decode_as != "any" && decode_as != "request";
    if !invalid || !decoders.contains(&decode_as) || typed {
        return None;
    }
    Some((hex::decode(text("cbor")?).ok()?, code))
}

/// Delivers one record and returns its verdict.
async fn verdict_of(link: &Link, network: &Network, record: &[u8]) -> Result<Verdict, String> {
    let request = Request {
        directory_version: network.version,
        body: RequestBody::Deliver { records: vec![RecordBytes(record.to_vec())] },
    };
    match ask(link, &request).await?.body {
        ResponseBody::Delivered { results } if results.len() == 1 => {
            results.into_iter().next().ok_or_else(|| "no verdict".to_owned())
        }
        other => Err(format!("expected one verdict, got {other:?}")),
    }
}

/// The code of a refused verdict.
fn refusal_code(verdict: &Verdict) -> Option<AnyCode> {
    match verdict {
        Verdict::Refused { refusal } => Some(refusal.code),
        _ => None,
    }
}

async fn send_expecting_refusal(link: &Link, payload: &[u8], code: AnyCode) -> Result<String, String> {
    let answer = link.exchange(payload).await.map_err(|error| error.to_string())?;
    refused_code(&answer, code)
}

/// `bytes` with the first `from` replaced by `to` (unchanged if there is none, which the
/// check then reports as an unexpected answer).
fn replace_once(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = bytes.windows(from.len()).position(|window| window == from);
    match at.and_then(|at| Some((bytes.get(..at)?, bytes.get(at + from.len()..)?))) {
        Some((before, after)) => [before, to, after].concat(),
        None => bytes.to_vec(),
    }
}
