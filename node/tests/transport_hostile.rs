//! `kvitt_node::transport` against a member that abuses the framing: streams that announce
//! the largest frame and then trickle, or send nearly all of it and stall. Other peers'
//! requests must go on meanwhile (spec/node.md §Framing, the receive budget).
//!
//! The attacker is a raw quinn client with a listed node key, so it can write what a
//! `Transport` never would. Outcomes are structural, not timed: the honest requests must
//! complete while the attacker's streams are still held open, well before the timeouts that
//! would free them.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kvitt_node::transport::verify::NodeServerVerifier;
use kvitt_node::transport::{
    node_certificate, node_dns_name, IncomingRequest, Limits, PeerKeys, Transport, TransportConfig, ALPN,
    HELLO, HELLO_OK, MAX_FRAME_BYTES, MAX_READING_STREAMS_PER_PEER, REQUEST_READ_TIMEOUT,
};
use kvitt_protocol::PublicKey;
use kvitt_test_support::keys::{self, seeded as signing_key};
use quinn::crypto::rustls::QuicClientConfig;
use tokio::sync::mpsc;

/// The attacker (a member), the node attacked, an honest member.
const ATTACKER: u8 = 1;
const NODE: u8 = 2;
const HONEST: u8 = 3;

/// Streams the attacker opens, each announcing a frame of [`MAX_FRAME_BYTES`].
const ATTACK_STREAMS: usize = 40;

/// Bytes each trickling stream sends of the frame it announced.
const TRICKLE_BYTES: usize = 12;

/// An honest delivery: some hundred receipts.
const DELIVERY_BYTES: usize = 100 * 1024;

/// Less than [`REQUEST_READ_TIMEOUT`], the first moment the old budget freed anything.
const HONEST_TIMEOUT: Duration = Duration::from_secs(20);

/// The public key of the fixed key `seed`.
fn public(seed: u8) -> PublicKey {
    keys::public(&signing_key(seed))
}

/// A node with key `seed` that lists `peers`, answering every request with its length.
fn start(seed: u8, peers: &[u8]) -> Transport {
    let peers = PeerKeys::new(peers.iter().map(|seed| public(*seed)));
    let config = TransportConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        key: signing_key(seed),
        peers,
        limits: Limits::default(),
    };
    let (transport, mut requests): (Transport, mpsc::Receiver<IncomingRequest>) =
        Transport::bind(config).unwrap();
    tokio::spawn(async move {
        while let Some(request) = requests.recv().await {
            let _ = request.reply.send(request.bytes.len().to_string().into_bytes());
        }
    });
    transport
}

/// A raw QUIC client endpoint that pins `node`'s key and presents the node certificate of
/// `seed`, or no certificate at all.
fn raw_client(seed: Option<u8>, node: u8) -> quinn::Endpoint {
    let verifier = NodeServerVerifier::new(PeerKeys::new([public(node)]));
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut tls = match seed {
        Some(seed) => {
            let (certificate, private_key) = node_certificate(&signing_key(seed)).unwrap();
            tls.with_client_auth_cert(vec![certificate], private_key).unwrap()
        }
        None => tls.with_no_client_auth(),
    };
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(
        QuicClientConfig::try_from(tls).unwrap(),
    )));
    endpoint
}

/// A raw QUIC connection from `seed` to the node at `address`, past the hello.
async fn raw_connection(seed: u8, node: u8, address: SocketAddr) -> (quinn::Endpoint, quinn::Connection) {
    let endpoint = raw_client(Some(seed), node);
    let connection = endpoint.connect(address, &node_dns_name(&public(node))).unwrap().await.unwrap();
    let (mut send, mut recv) = connection.open_bi().await.unwrap();
    send.write_all(&[&(HELLO.len() as u32).to_be_bytes()[..], HELLO].concat()).await.unwrap();
    send.finish().unwrap();
    let answer = recv.read_to_end(64).await.unwrap();
    assert_eq!(answer, [&(HELLO_OK.len() as u32).to_be_bytes()[..], HELLO_OK].concat());
    (endpoint, connection)
}

/// Opens `count` streams that each announce a frame of [`MAX_FRAME_BYTES`], all before
/// any payload: the old budget reserved the announced lengths at once.
async fn announce(connection: &quinn::Connection, count: usize) -> Vec<quinn::SendStream> {
    let mut streams = Vec::new();
    for _ in 0..count {
        let (mut send, _recv) = connection.open_bi().await.unwrap();
        send.write_all(&(MAX_FRAME_BYTES as u32).to_be_bytes()).await.unwrap();
        streams.push(send);
    }
    streams
}

/// [`announce`], then [`TRICKLE_BYTES`] on each stream, then nothing more; the streams
/// are returned, held open.
async fn announce_and_trickle(connection: &quinn::Connection) -> Vec<quinn::SendStream> {
    let mut streams = announce(connection, ATTACK_STREAMS).await;
    for stream in &mut streams {
        stream.write_all(&[7u8; TRICKLE_BYTES]).await.unwrap();
    }
    streams
}

/// How many of `streams` the node has not stopped (STOP_SENDING) yet.
async fn still_open(streams: &[quinn::SendStream]) -> usize {
    let mut open = 0;
    for stream in streams {
        // `timeout` polls the future once before it looks at the clock.
        if tokio::time::timeout(Duration::ZERO, stream.stopped()).await.is_err() {
            open += 1;
        }
    }
    open
}

/// One honest exchange of `bytes` from `from` to the node, within [`HONEST_TIMEOUT`].
async fn honest(from: &Transport, node: &Transport, bytes: usize) -> Duration {
    honest_within(from, node, bytes, HONEST_TIMEOUT).await
}

/// One honest exchange of `bytes` from `from` to the node, within `timeout`; its latency.
async fn honest_within(from: &Transport, node: &Transport, bytes: usize, timeout: Duration) -> Duration {
    let started = Instant::now();
    let answer = from.request(public(NODE), node.local_addr(), vec![1u8; bytes], timeout).await;
    assert_eq!(answer.unwrap(), bytes.to_string().into_bytes(), "honest request of {bytes} bytes");
    started.elapsed()
}

/// 40 streams that announce 4 MiB and send 12 bytes used to hold the whole receive budget
/// (128 MiB reserved from the announced lengths), and every other peer's request waited
/// ~29 s for the attacker's streams to time out. Now a stream holds what it received and a
/// peer at most its share: an honest delivery and a small request complete while every
/// attacking stream is still held open (the stall timeout may have cut the few that got a
/// reading slot, if this machine is very slow).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_trickling_forty_large_frames_does_not_hold_up_other_peers() {
    let node = start(NODE, &[ATTACKER, HONEST]);
    let honest_peer = start(HONEST, &[NODE]);
    honest(&honest_peer, &node, 10).await; // connected before the attack
    let (_endpoint, connection) = raw_connection(ATTACKER, NODE, node.local_addr()).await;
    let attack = announce_and_trickle(&connection).await;
    // Let the node read the announcements: a shorter wait can only let the old budget pass.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = Instant::now();
    honest(&honest_peer, &node, DELIVERY_BYTES).await;
    honest(&honest_peer, &node, 50).await;
    let open = still_open(&attack).await;
    assert!(
        open >= ATTACK_STREAMS - MAX_READING_STREAMS_PER_PEER,
        "only {open} of {ATTACK_STREAMS} attacking streams open after {:?}",
        started.elapsed()
    );
    assert!(started.elapsed() < REQUEST_READ_TIMEOUT);
}

/// The stronger form: each stream sends all but one byte of the 4 MiB it announced, then
/// stalls. Before, 32 of them held the whole budget with real bytes. Now the attacker's
/// share holds four, and honest requests go on while they are held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_filling_forty_large_frames_gets_only_its_share() {
    let node = start(NODE, &[ATTACKER, HONEST]);
    let honest_peer = start(HONEST, &[NODE]);
    honest(&honest_peer, &node, 10).await;
    let (_endpoint, connection) = raw_connection(ATTACKER, NODE, node.local_addr()).await;
    // Each stream's bytes from a task of its own: writes wait on flow control once the
    // node reads no more of them.
    let mut writers = tokio::task::JoinSet::new();
    for mut stream in announce(&connection, ATTACK_STREAMS).await {
        writers.spawn(async move {
            let _ = stream.write_all(&vec![7u8; MAX_FRAME_BYTES - 1]).await;
            stream
        });
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    honest(&honest_peer, &node, DELIVERY_BYTES).await;
    honest(&honest_peer, &node, 50).await;
    writers.abort_all();
}

/// Not a test: an honest peer's latency, normal and under the trickling attack (the first
/// requests after it starts, then the median). Run with
/// `cargo test --release -p kvitt-node --test transport_hostile -- --ignored --nocapture measure`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, not a test"]
async fn measure_honest_latency_under_attack() {
    const ROUNDS: usize = 20;
    let patient = REQUEST_READ_TIMEOUT * 2;
    let node = start(NODE, &[ATTACKER, HONEST]);
    let honest_peer = start(HONEST, &[NODE]);
    honest(&honest_peer, &node, 10).await;
    let kinds = [("delivery of 100 KiB", DELIVERY_BYTES), ("small request of 50 B", 50)];
    let median = |mut latencies: Vec<Duration>| {
        latencies.sort();
        latencies[latencies.len() / 2]
    };
    for (label, bytes) in kinds {
        let mut latencies = Vec::new();
        for _ in 0..ROUNDS {
            latencies.push(honest_within(&honest_peer, &node, bytes, patient).await);
        }
        println!("normal, {label}: median {:?} of {ROUNDS}", median(latencies));
    }
    let (_endpoint, connection) = raw_connection(ATTACKER, NODE, node.local_addr()).await;
    let _attack = announce_and_trickle(&connection).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (label, bytes) in kinds {
        let mut latencies = Vec::new();
        for _ in 0..ROUNDS {
            latencies.push(honest_within(&honest_peer, &node, bytes, patient).await);
        }
        let first = latencies[0];
        println!("under attack, {label}: first {first:?}, median {:?} of {ROUNDS}", median(latencies));
    }
}

/// spec/node.md §QUIC and TLS profile: a client that presents no certificate fails the
/// handshake with the TLS alert certificate_required (116), a CONNECTION_CLOSE with the
/// crypto error code 0x0100 + 116; it never reaches the hello, so no application close
/// code applies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_a_certificate_gets_the_alert_certificate_required() {
    const CERTIFICATE_REQUIRED: u64 = 0x0100 + 116;
    let node = start(NODE, &[ATTACKER]);
    let endpoint = raw_client(None, NODE);
    let connecting = endpoint.connect(node.local_addr(), &node_dns_name(&public(NODE))).unwrap();
    // TLS 1.3: the client may finish its side before the server judges its (empty)
    // certificate, so the alert arrives either on the handshake or right after it.
    let error = match connecting.await {
        Err(error) => error,
        Ok(connection) => connection.closed().await,
    };
    let code = match &error {
        quinn::ConnectionError::TransportError(error) => u64::from(error.code),
        quinn::ConnectionError::ConnectionClosed(close) => u64::from(close.error_code),
        other => panic!("expected a TLS alert, got {other:?}"),
    };
    assert_eq!(code, CERTIFICATE_REQUIRED, "{error}");
}
