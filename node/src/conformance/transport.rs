//! Transport checks: node.md §QUIC and TLS profile, §Verifying a peer, §Connection setup,
//! §Framing and §Application error codes.

use kvitt_protocol::wire::{AnyCode, Request, RequestBody, Response, ResponseBody};
use kvitt_protocol::ErrorCode;

use super::link::{Dial, Link, LinkError};
use super::messages::Network;
use super::{Options, Report};
use crate::transport::{code, ALPN, MAX_FRAME_BYTES};

/// TLS alert no_application_protocol (RFC 8446 §6.2, RFC 7301 §3.2).
const ALERT_NO_APPLICATION_PROTOCOL: u8 = 120;
/// TLS alert certificate_required (RFC 8446 §6.2).
const ALERT_CERTIFICATE_REQUIRED: u8 = 116;

const TLS: &str = "node.md §QUIC and TLS profile";
const VERIFYING: &str = "node.md §Verifying a peer";
const HELLO: &str = "node.md §Connection setup";
const FRAMING: &str = "node.md §Framing";

/// A handshake `dial` must fail with `alert`.
async fn refused_with(dial: &Dial<'_>, alert: u8) -> Result<String, String> {
    match Link::connect(dial).await {
        Err(LinkError::Alert(got)) if got == alert => Ok(format!("TLS alert {alert}")),
        Err(other) => Err(format!("expected TLS alert {alert}, got {other}")),
        Ok(_) => Err(format!("the handshake succeeded; expected TLS alert {alert}")),
    }
}

/// The handshake checks, then a connection past the hello for the rest; `None` if there is
/// none (every later check needs one).
pub(super) async fn check(options: &Options, report: &mut Report) -> Option<Link> {
    let dial = |alpn: &'static [u8], with_key: bool| Dial {
        peer: options.peer,
        peer_key: options.peer_key,
        key: with_key.then_some(&options.key),
        alpn,
    };
    let wrong_alpn = refused_with(&dial(b"kvitt/0", true), ALERT_NO_APPLICATION_PROTOCOL).await;
    report.record(TLS, "a client offering only ALPN kvitt/0 is refused", wrong_alpn);
    let no_certificate = refused_with(&dial(ALPN, false), ALERT_CERTIFICATE_REQUIRED).await;
    report.record(TLS, "a client without a certificate is refused", no_certificate);
    let pinned =
        Link::connect(&dial(ALPN, true)).await.map(|_| "the node's certificate holds the pinned key".into());
    report.record(
        VERIFYING,
        "TLS 1.3, ALPN kvitt/1, mutual ed25519 certificates",
        pinned.map_err(|e| e.to_string()),
    );
    match Link::connect_with_hello(&dial(ALPN, true)).await {
        Ok(link) => {
            report.record(HELLO, "the hello is answered `kvitt/1 ok`", Ok("on the first stream".into()));
            Some(link)
        }
        Err(error) => {
            report.record(HELLO, "the hello is answered `kvitt/1 ok`", Err(error.to_string()));
            None
        }
    }
}

/// The framing limits at their edges, and a frame with bytes after it.
pub(super) async fn framing(link: &Link, network: &Network, report: &mut Report) {
    let over = u32::try_from(MAX_FRAME_BYTES + 1).unwrap_or(u32::MAX).to_be_bytes();
    let result = match link.exchange_raw(&over).await {
        Err(LinkError::Reset(got)) if got == u64::from(code::STREAM_FRAME_TOO_LARGE) => {
            Ok("reset with STREAM_FRAME_TOO_LARGE before the payload".to_owned())
        }
        other => Err(format!("expected a reset with code 1, got {}", describe(other))),
    };
    report.record(FRAMING, "a length prefix of MAX_FRAME_BYTES + 1", result);

    // Exactly MAX_FRAME_BYTES: read whole, then refused as CBOR (0x00 is the integer 0,
    // and the rest trails it).
    let result = match link.exchange(&vec![0u8; MAX_FRAME_BYTES]).await {
        Ok(answer) => refused_code(&answer, ErrorCode::TrailingBytes.into()),
        Err(error) => Err(format!("expected a refused response, got {error}")),
    };
    report.record(FRAMING, "a frame of exactly MAX_FRAME_BYTES is read and judged", result);

    let request = Request {
        directory_version: network.version,
        body: RequestBody::Directory { have: network.version },
    };
    let result = match request.encode() {
        Ok(payload) => {
            let length = u32::try_from(payload.len()).unwrap_or(u32::MAX).to_be_bytes();
            match link.exchange_raw(&[&length[..], &payload, &[0]].concat()).await {
                Err(LinkError::Reset(got)) if got == u64::from(code::STREAM_MALFORMED) => {
                    Ok("reset with STREAM_MALFORMED".to_owned())
                }
                other => Err(format!("expected a reset with code 4, got {}", describe(other))),
            }
        }
        Err(error) => Err(error.to_string()),
    };
    report.record(FRAMING, "a byte after the request frame", result);
}

/// The answer is a `refused` response with `code`.
pub(super) fn refused_code(answer: &[u8], code: AnyCode) -> Result<String, String> {
    match Response::decode(answer) {
        Ok(Response { body: ResponseBody::Refused { refusal }, .. }) if refusal.code == code => {
            Ok(format!("refused {code}"))
        }
        Ok(other) => Err(format!("expected refused {code}, got {:?}", other.body)),
        Err(error) => Err(format!("the answer is not a response: {error}")),
    }
}

fn describe(outcome: Result<Vec<u8>, LinkError>) -> String {
    match outcome {
        Ok(answer) => format!("an answer of {} bytes", answer.len()),
        Err(error) => error.to_string(),
    }
}
