//! The client API's limits against slow and greedy clients (spec/api.md §Limits): a
//! request head or body that does not arrive in time, connections beyond the cap, heads
//! over their limit and requests hyper cannot parse, all with problem documents where
//! there is an answer. Three real nodes serving on loopback, as in api.rs, with short
//! timeouts; no pass or fail depends on a timing but generous bounds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::api_nodes::{ApiNodes, Token};
use kvitt_node::api::serve::{ServeLimits, MAX_HEADERS, MAX_HEAD_BYTES};
use kvitt_node::core::{Caller, CallerRole, ClientRequest, ClientResponse};
use serde_json::Value;

const TOKENS: [Token; 3] = [
    ("merchant", "till-token", "kassa-1", CallerRole::Till),
    ("agency", "operator-token", "olof", CallerRole::Operator),
    ("ssc", "staff-token", "ssc-greta", CallerRole::SscStaff),
];

/// Far above any timeout of these tests: a wait that long is a failure.
const GENEROUS: Duration = Duration::from_secs(30);

fn start(limits: ServeLimits) -> ApiNodes {
    ApiNodes::start_with(&TOKENS, kvitt_node::policy::Policy::default(), limits)
}

fn limits(header: Duration, body: Duration, connections: usize) -> ServeLimits {
    ServeLimits { header_read_timeout: header, body_read_timeout: body, max_connections: connections }
}

fn connect(address: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(GENEROUS)).unwrap();
    stream
}

/// Everything the node sends until it closes the connection, and how long that took.
fn read_until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut answer = Vec::new();
    match stream.read_to_end(&mut answer) {
        Ok(_) => {}
        // A close with unread bytes in the node's buffer is a reset: closed too.
        Err(error) if error.kind() == ErrorKind::ConnectionReset => {}
        Err(error) => panic!("the node did not close the connection within {GENEROUS:?}: {error}"),
    }
    (String::from_utf8_lossy(&answer).into_owned(), started.elapsed())
}

/// The status and problem document of a raw answer, asserting it is one.
fn problem(answer: &str) -> (u16, Value) {
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no answer: {answer:?}"));
    let status = head.get(9..12).and_then(|code| code.parse().ok()).unwrap();
    assert!(head.to_ascii_lowercase().contains("content-type: application/problem+json"), "{answer}");
    let document: Value = serde_json::from_str(body).unwrap_or_else(|error| panic!("{error}: {answer}"));
    assert_eq!(document["status"], status, "{answer}");
    (status, document)
}

#[test]
fn a_half_sent_request_head_and_a_silent_connection_are_closed_after_the_header_timeout() {
    let nodes = start(limits(Duration::from_millis(500), GENEROUS, 16));
    let mut half_sent = connect(nodes.apis["agency"]);
    half_sent.write_all(b"GET /v1/directory HTTP/1.1\r\nHost: kvitt\r\nAuthoriz").unwrap();
    let mut silent = connect(nodes.apis["agency"]);
    for stream in [&mut half_sent, &mut silent] {
        let (answer, took) = read_until_closed(stream);
        assert!(answer.is_empty(), "no answer to half a request: {answer:?}");
        assert!(took < GENEROUS, "closed after {took:?}");
    }
}

#[test]
fn a_body_that_does_not_arrive_in_time_is_answered_408_and_the_connection_closed() {
    let nodes = start(limits(GENEROUS, Duration::from_millis(500), 16));
    let mut stream = connect(nodes.apis["merchant"]);
    let head = "POST /v1/receipts HTTP/1.1\r\nHost: kvitt\r\nAuthorization: Bearer till-token\r\n\
                Content-Type: application/json\r\nContent-Length: 100\r\n\r\n";
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(b"{\"merchant\":").unwrap();
    let (answer, _) = read_until_closed(&mut stream);
    let (status, document) = problem(&answer);
    assert_eq!(status, 408, "{answer}");
    assert_eq!(
        (&document["code"], &document["retry"]),
        (&Value::from("request.invalid"), &Value::from(true))
    );
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
}

/// `GET /v1/directory` as the agency's operator over `stream`.
fn ask_directory(stream: &mut TcpStream) {
    let request = "GET /v1/directory HTTP/1.1\r\nHost: kvitt\r\nAuthorization: Bearer operator-token\r\n\
                   Connection: close\r\n\r\n";
    stream.write_all(request.as_bytes()).unwrap();
}

#[test]
fn connections_beyond_the_cap_wait_for_one_to_close_while_the_node_goes_on() {
    let nodes = start(limits(GENEROUS, GENEROUS, 2));
    let agency = nodes.apis["agency"];
    let mut idle: Vec<TcpStream> = (0..2).map(|_| connect(agency)).collect();
    // Both idle connections are taken: the node answers a request on one of them.
    ask_directory(&mut idle[0]);
    let (answer, _) = read_until_closed(&mut idle[0]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    idle[0] = connect(agency);

    let mut waiting = connect(agency);
    ask_directory(&mut waiting);
    waiting.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut byte = [0u8; 1];
    let early = waiting.read(&mut byte);
    assert!(
        matches!(&early, Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "a connection beyond the cap of 2 was served: {early:?}"
    );
    // The node's core and its other APIs go on meanwhile.
    let operator = Caller { person: "olof".into(), role: CallerRole::Operator };
    let answer = nodes.ask("agency", operator, ClientRequest::Directory).unwrap();
    assert!(matches!(answer, ClientResponse::Directory { .. }));
    let mut ssc = connect(nodes.apis["ssc"]);
    ssc.write_all(b"GET /v1/directory HTTP/1.1\r\nHost: kvitt\r\nAuthorization: Bearer staff-token\r\nConnection: close\r\n\r\n").unwrap();
    assert!(read_until_closed(&mut ssc).0.starts_with("HTTP/1.1 200"));

    drop(idle.pop());
    waiting.set_read_timeout(Some(GENEROUS)).unwrap();
    let (answer, _) = read_until_closed(&mut waiting);
    assert!(answer.starts_with("HTTP/1.1 200"), "served once a connection closed: {answer}");
}

#[test]
fn requests_hyper_cannot_parse_or_hold_are_answered_with_problem_documents() {
    let nodes = start(ServeLimits::for_open_files(None));
    let address = nodes.apis["agency"];
    let head_of = |fields: &str| {
        format!("GET /v1/directory HTTP/1.1\r\nHost: kvitt\r\nAuthorization: Bearer operator-token\r\n{fields}\r\n")
    };
    let fits = head_of(&format!("X-Pad: {}\r\n", "a".repeat(MAX_HEAD_BYTES - 200)));
    let too_long = head_of(&format!("X-Pad: {}\r\n", "a".repeat(MAX_HEAD_BYTES)));
    let fields = |count: usize| (0..count).map(|n| format!("X-{n}: 1\r\n")).collect::<String>();
    let most_fields = head_of(&fields(MAX_HEADERS - 2));
    let too_many_fields = head_of(&fields(MAX_HEADERS));
    for (head, status) in [
        (fits.as_str(), 200),
        (most_fields.as_str(), 200),
        (too_long.as_str(), 431),
        (too_many_fields.as_str(), 431),
        ("GET /v1/directory HTTP/1.1\r\nHost kvitt\r\n\r\n", 400),
        ("GARBAGE\r\n\r\n", 400),
        ("GET /v1/directory HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
    ] {
        let mut stream = connect(address);
        stream.write_all(head.as_bytes()).unwrap();
        if status == 200 {
            stream.write_all(b"").unwrap();
            let mut answer = vec![0u8; 12];
            stream.read_exact(&mut answer).unwrap();
            assert_eq!(&answer, b"HTTP/1.1 200", "{}", &head[..80.min(head.len())]);
            continue;
        }
        let (answer, _) = read_until_closed(&mut stream);
        let (answered, document) = problem(&answer);
        assert_eq!(answered, status, "{answer}");
        assert_eq!(document["code"], "request.invalid", "{answer}");
    }
}
