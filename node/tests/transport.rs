//! `kvitt_node::transport`: real quinn endpoints on 127.0.0.1, mutual authentication pinned
//! to node keys, framing limits, removal of peers, and concurrency.
//!
//! Outcomes are deterministic: no assertion depends on timing, except that an absence
//! (no 65th request while 64 are held) is checked over a short wait, which can only let
//! a broken limit pass, never fail a working one.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kvitt_node::transport::{
    code, FrameKind, IncomingRequest, Limits, PeerKeys, Transport, TransportConfig, TransportError,
    MAX_FRAME_BYTES, MAX_INFLIGHT_REQUESTS_PER_PEER,
};
use kvitt_protocol::PublicKey;
use kvitt_test_support::keys::{self, seeded as signing_key};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Generous: a test fails on an error, not on being slow.
const TIMEOUT: Duration = Duration::from_secs(30);

const A: u8 = 1;
const B: u8 = 2;
const C: u8 = 3;

/// The public key of the fixed key `seed`.
fn public(seed: u8) -> PublicKey {
    keys::public(&signing_key(seed))
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A node with key `seed` that lists the keys `peers`.
fn start_with(seed: u8, peers: &[u8], limits: Limits) -> (Transport, mpsc::Receiver<IncomingRequest>) {
    let peers = PeerKeys::new(peers.iter().map(|seed| public(*seed)));
    let config = TransportConfig { listen: loopback(), key: signing_key(seed), peers, limits };
    Transport::bind(config).unwrap()
}

fn start(seed: u8, peers: &[u8]) -> (Transport, mpsc::Receiver<IncomingRequest>) {
    start_with(seed, peers, Limits::default())
}

/// Answers every request with `answer(peer, request)` until the channel closes.
fn serve<F>(mut requests: mpsc::Receiver<IncomingRequest>, answer: F) -> tokio::task::JoinHandle<()>
where
    F: Fn(PublicKey, Vec<u8>) -> Vec<u8> + Send + 'static,
{
    tokio::spawn(async move {
        while let Some(request) = requests.recv().await {
            let _ = request.reply.send(answer(request.peer, request.bytes));
        }
    })
}

/// "`<peer hex>` said `<request>`", so a test sees who the server thought was talking.
fn echo_with_peer(peer: PublicKey, request: Vec<u8>) -> Vec<u8> {
    let mut answer = format!("{peer} said ").into_bytes();
    answer.extend_from_slice(&request);
    answer
}

async fn request(
    from: &Transport,
    to: &Transport,
    to_seed: u8,
    bytes: &[u8],
) -> Result<Vec<u8>, TransportError> {
    from.request(public(to_seed), to.local_addr(), bytes.to_vec(), TIMEOUT).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_that_list_each_other_exchange_requests_both_ways() {
    let (a, a_requests) = start(A, &[B]);
    let (b, b_requests) = start(B, &[A]);
    serve(a_requests, echo_with_peer);
    serve(b_requests, echo_with_peer);
    for round in 0..3 {
        let answer = request(&a, &b, B, format!("ping {round}").as_bytes()).await.unwrap();
        assert_eq!(answer, format!("{} said ping {round}", public(A)).into_bytes());
        let answer = request(&b, &a, A, format!("pong {round}").as_bytes()).await.unwrap();
        assert_eq!(answer, format!("{} said pong {round}", public(B)).into_bytes());
    }
    // An empty request is a frame too.
    assert_eq!(request(&a, &b, B, b"").await.unwrap(), format!("{} said ", public(A)).into_bytes());
    assert_eq!(a.key(), public(A));
    assert_ne!(a.local_addr().port(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_and_answers_over_one_megabyte_round_trip() {
    let (a, _a_requests) = start(A, &[B]);
    let (b, b_requests) = start(B, &[A]);
    serve(b_requests, |_, request| {
        let mut answer: Vec<u8> = request.iter().rev().copied().collect();
        answer.extend(std::iter::repeat_n(0xab, 2_000_000));
        answer
    });
    let big: Vec<u8> = (0..1_500_000u32).map(|index| (index % 251) as u8).collect();
    let answer = request(&a, &b, B, &big).await.unwrap();
    assert_eq!(answer.len(), 3_500_000);
    assert!(answer.iter().take(big.len()).eq(big.iter().rev()));
    assert!(answer.iter().skip(big.len()).all(|byte| *byte == 0xab));
    // Exactly at the limit still goes through.
    let (c, _c_requests) = start(C, &[B + 10]);
    let (d, d_requests) = start(B + 10, &[C]);
    serve(d_requests, |_, request| request.len().to_be_bytes().to_vec());
    let answer = request(&c, &d, B + 10, &vec![1u8; MAX_FRAME_BYTES]).await.unwrap();
    assert_eq!(answer, MAX_FRAME_BYTES.to_be_bytes().to_vec());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_over_the_limit_are_refused_with_their_size() {
    let (a, _a_requests) = start(A, &[B]);
    let (b, mut b_requests) = start(B, &[A]);
    let oversized = vec![0u8; MAX_FRAME_BYTES + 1];
    let error = request(&a, &b, B, &oversized).await.unwrap_err();
    match &error {
        TransportError::FrameTooLarge { peer, kind: FrameKind::Request, bytes, limit } => {
            assert_eq!(*peer, public(B));
            assert_eq!(*bytes, (MAX_FRAME_BYTES + 1) as u64);
            assert_eq!(*limit, MAX_FRAME_BYTES);
        }
        other => panic!("{other}"),
    }
    let message = error.to_string();
    assert!(message.contains(&(MAX_FRAME_BYTES + 1).to_string()), "{message}");
    assert!(message.contains(&MAX_FRAME_BYTES.to_string()), "{message}");
    assert!(b_requests.try_recv().is_err(), "nothing was sent");

    // An answer over the limit is not sent; the dialler hears why.
    let answering = tokio::spawn(async move {
        let request = b_requests.recv().await.unwrap();
        request.reply.send(vec![0u8; MAX_FRAME_BYTES + 1]).unwrap();
        b_requests
    });
    match request(&a, &b, B, b"give me too much").await.unwrap_err() {
        TransportError::Abandoned { code, .. } => assert_eq!(code, u64::from(code::STREAM_ANSWER_TOO_LARGE)),
        other => panic!("{other}"),
    }
    let mut b_requests = answering.await.unwrap();
    // A node that drops the reply abandons the exchange rather than leaving it hanging.
    let dropping = tokio::spawn(async move {
        drop(b_requests.recv().await.unwrap());
        b_requests
    });
    match request(&a, &b, B, b"no answer").await.unwrap_err() {
        TransportError::Abandoned { code, .. } => assert_eq!(code, u64::from(code::STREAM_NO_ANSWER)),
        other => panic!("{other}"),
    }
    drop(dropping.await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_the_server_does_not_list_is_refused_and_never_reaches_its_handler() {
    let (a, _a_requests) = start(A, &[B]);
    let (b, mut b_requests) = start(B, &[A]);
    let (c, _c_requests) = start(C, &[B]); // c lists b, but b does not list c
    for _ in 0..2 {
        match request(&c, &b, B, b"let me in").await.unwrap_err() {
            TransportError::Refused { peer, address, .. } => {
                assert_eq!(peer, public(B));
                assert_eq!(address, b.local_addr());
            }
            other => panic!("expected Refused, got {other}"),
        }
    }
    // The first request b's handler ever sees is a's.
    let a_request = tokio::spawn(async move { request(&a, &b, B, b"member").await });
    let first = b_requests.recv().await.unwrap();
    assert_eq!(first.peer, public(A));
    assert_eq!(first.bytes, b"member");
    first.reply.send(b"ok".to_vec()).unwrap();
    assert_eq!(a_request.await.unwrap().unwrap(), b"ok");
    assert!(b_requests.try_recv().is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_key_is_not_the_dialled_key_is_refused_by_the_client() {
    let (a, _a_requests) = start(A, &[B, C]);
    let (b, mut b_requests) = start(B, &[A]);
    let (_c, _c_requests) = start(C, &[A]);
    // a dials c's key at b's address: b is listed, but it is not c.
    let error = a.request(public(C), b.local_addr(), b"for c".to_vec(), TIMEOUT).await.unwrap_err();
    match &error {
        TransportError::Untrusted { peer, reason, .. } => {
            assert_eq!(*peer, public(C));
            assert!(reason.contains("not the dialled key"), "{reason}");
        }
        other => panic!("expected Untrusted, got {other}"),
    }
    // A server whose key a does not list at all is refused too.
    let (d, _d_requests) = start(B + 10, &[A]);
    match a.request(public(B), d.local_addr(), b"for b".to_vec(), TIMEOUT).await.unwrap_err() {
        TransportError::Untrusted { .. } => {}
        other => panic!("expected Untrusted, got {other}"),
    }
    // A key not in the allow-list is not dialled at all.
    match a.request(public(B + 10), d.local_addr(), b"x".to_vec(), TIMEOUT).await.unwrap_err() {
        TransportError::NotMember { peer } => assert_eq!(peer, public(B + 10)),
        other => panic!("expected NotMember, got {other}"),
    }
    // b never saw a request; the right dial still works.
    let a_request = tokio::spawn(async move { request(&a, &b, B, b"for b").await });
    let first = b_requests.recv().await.unwrap();
    assert_eq!(first.bytes, b"for b");
    first.reply.send(b"ok".to_vec()).unwrap();
    assert_eq!(a_request.await.unwrap().unwrap(), b"ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_peer_keeps_its_connection_until_disconnected_then_is_refused() {
    let (a, _a_requests) = start(A, &[B]);
    let (b, b_requests) = start(B, &[A]);
    serve(b_requests, echo_with_peer);
    request(&a, &b, B, b"before").await.unwrap();

    // Removing a from the list governs new handshakes only: the open connection stays.
    assert!(b.peers().remove(&public(A)));
    request(&a, &b, B, b"still connected").await.unwrap();

    // disconnect cuts it off at once; reconnecting is refused by the allow-list.
    b.disconnect(&public(A));
    for _ in 0..3 {
        match request(&a, &b, B, b"after").await.unwrap_err() {
            TransportError::Refused { .. } => {}
            other => panic!("expected Refused, got {other}"),
        }
    }
    // Listed again: a gets back in.
    b.peers().insert(public(A));
    request(&a, &b, B, b"back").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_peers_disconnects_removed_members_in_both_directions() {
    let (a, a_requests) = start(A, &[B, C]);
    let (b, b_requests) = start(B, &[A]);
    let (c, c_requests) = start(C, &[A]);
    serve(a_requests, echo_with_peer);
    serve(b_requests, echo_with_peer);
    serve(c_requests, echo_with_peer);
    request(&a, &b, B, b"a to b").await.unwrap();
    request(&b, &a, A, b"b to a").await.unwrap();
    request(&a, &c, C, b"a to c").await.unwrap();

    let removed = a.set_peers([public(C)]);
    assert_eq!(removed.into_iter().collect::<Vec<_>>(), vec![public(B)]);
    match request(&b, &a, A, b"b to a").await.unwrap_err() {
        TransportError::Refused { .. } => {}
        other => panic!("expected Refused, got {other}"),
    }
    match request(&a, &b, B, b"a to b").await.unwrap_err() {
        TransportError::NotMember { .. } => {}
        other => panic!("expected NotMember, got {other}"),
    }
    // c is untouched.
    request(&a, &c, C, b"a to c").await.unwrap();
    request(&c, &a, A, b"c to a").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_concurrent_requests_all_complete() {
    let (a, _a_requests) = start(A, &[B]);
    let (b, b_requests) = start(B, &[A]);
    serve(b_requests, |_, request| request.iter().rev().copied().collect());
    let mut requests = JoinSet::new();
    for index in 0..500u32 {
        let a = a.clone();
        let address = b.local_addr();
        requests.spawn(async move {
            let body = format!("request {index:04} {}", "x".repeat(1000)).into_bytes();
            let answer = a.request(public(B), address, body.clone(), TIMEOUT).await.unwrap();
            assert!(answer.iter().eq(body.iter().rev()));
            index
        });
    }
    let mut done = Vec::new();
    while let Some(index) = requests.join_next().await {
        done.push(index.unwrap());
    }
    done.sort_unstable();
    assert_eq!(done, (0..500).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_the_inflight_limit_of_requests_is_outstanding_per_peer() {
    let (a, _a_requests) = start(A, &[B]);
    let (b, mut b_requests) = start(B, &[A]);
    let total = MAX_INFLIGHT_REQUESTS_PER_PEER + 36;
    let mut requests = JoinSet::new();
    for index in 0..total {
        let a = a.clone();
        let address = b.local_addr();
        requests.spawn(async move { a.request(public(B), address, vec![0; index], TIMEOUT).await });
    }
    let mut held = Vec::new();
    for _ in 0..MAX_INFLIGHT_REQUESTS_PER_PEER {
        held.push(b_requests.recv().await.unwrap());
    }
    let extra = tokio::time::timeout(Duration::from_millis(300), b_requests.recv()).await;
    assert!(extra.is_err(), "a request beyond the in-flight limit arrived");
    for request in held {
        let length = request.bytes.len();
        request.reply.send(length.to_be_bytes().to_vec()).unwrap();
    }
    let server = serve(b_requests, |_, request| request.len().to_be_bytes().to_vec());
    let mut completed = 0;
    while let Some(result) = requests.join_next().await {
        result.unwrap().unwrap();
        completed += 1;
    }
    assert_eq!(completed, total);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn address_validation_with_retry_still_connects() {
    let limits = Limits { retry_above_handshakes: 0, ..Limits::default() };
    let (a, _a_requests) = start(A, &[B]);
    let (b, b_requests) = start_with(B, &[A], limits);
    serve(b_requests, echo_with_peer);
    assert_eq!(
        request(&a, &b, B, b"retried").await.unwrap(),
        format!("{} said retried", public(A)).into_bytes()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_refused_as_busy() {
    let limits = Limits { max_incoming_connections: 1, ..Limits::default() };
    let (a, _a_requests) = start(A, &[B]);
    let (c, _c_requests) = start(C, &[B]);
    let (b, b_requests) = start_with(B, &[A, C], limits);
    serve(b_requests, echo_with_peer);
    request(&a, &b, B, b"first").await.unwrap();
    match request(&c, &b, B, b"second").await.unwrap_err() {
        TransportError::Busy { peer, .. } => assert_eq!(peer, public(B)),
        other => panic!("expected Busy, got {other}"),
    }
    // a's connection is unaffected.
    request(&a, &b, B, b"again").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_transport_refuses_to_send() {
    let (a, _a_requests) = start(A, &[B]);
    let (b, b_requests) = start(B, &[A]);
    serve(b_requests, echo_with_peer);
    request(&a, &b, B, b"open").await.unwrap();
    a.close().await;
    match request(&a, &b, B, b"closed").await.unwrap_err() {
        TransportError::Closed => {}
        other => panic!("expected Closed, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_listening_is_an_error_not_a_hang() {
    let (a, _a_requests) = start(A, &[B]);
    // A bound UDP socket that never answers.
    let silent = std::net::UdpSocket::bind(loopback()).unwrap();
    let result =
        a.request(public(B), silent.local_addr().unwrap(), b"hello?".to_vec(), Duration::from_secs(1)).await;
    match result.unwrap_err() {
        TransportError::TimedOut { peer, after } => {
            assert_eq!(peer, public(B));
            assert_eq!(after, Duration::from_secs(1));
        }
        other => panic!("expected TimedOut, got {other}"),
    }
}

/// B on its own runtime, listening at `listen`: dropping the runtime ends B without a
/// word to its peers, as `kill -9` does.
fn start_on_own_runtime(listen: SocketAddr) -> (tokio::runtime::Runtime, Transport) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let peers = PeerKeys::new([public(A)]);
    let config = TransportConfig { listen, key: signing_key(B), peers, limits: Limits::default() };
    let (b, b_requests) = runtime.block_on(async { Transport::bind(config) }).unwrap();
    runtime.spawn(async move {
        let mut b_requests = b_requests;
        while let Some(request) = b_requests.recv().await {
            let _ = request.reply.send(echo_with_peer(request.peer, request.bytes));
        }
    });
    (runtime, b)
}

/// A peer killed and started again on the same port with the same key answers the stale
/// connection's next packet with a stateless reset its dialler recognises (the reset key
/// is derived from the node key), and the request goes through on a new connection at
/// once. With a random reset key per start, the dialler would wait for the 30 s idle
/// timeout, and this request, given 10 s, would time out.
#[test]
fn a_request_to_a_peer_killed_and_restarted_goes_through_on_a_new_connection() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let (a, _a_requests) = runtime.block_on(async { start(A, &[B]) });
    // Below the ephemeral range: no socket of another test takes the port between lives.
    let (first_life, b) = start_on_own_runtime(kvitt_node::loopback::free_address().unwrap());
    let address = b.local_addr();
    let ask = |bytes: &[u8]| {
        runtime.block_on(a.request(public(B), address, bytes.to_vec(), Duration::from_secs(10)))
    };
    assert_eq!(ask(b"first life").unwrap(), echo_with_peer(public(A), b"first life".to_vec()));
    drop(b);
    first_life.shutdown_background();
    // The port is free once the first life's socket is dropped.
    let deadline = Instant::now() + TIMEOUT;
    let (_second_life, _b) = loop {
        match std::net::UdpSocket::bind(address) {
            Ok(probe) => {
                drop(probe);
                break start_on_own_runtime(address);
            }
            Err(error) if Instant::now() < deadline => {
                let _ = error;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(error) => panic!("{address} stays taken: {error}"),
        }
    };
    assert_eq!(ask(b"second life").unwrap(), echo_with_peer(public(A), b"second life".to_vec()));
}

/// Not a test: requests per second for a 1 KB request and a 32 B answer with 64 in flight
/// over loopback, to compare with ../shared/LIMITS.md ("QUIC request/response, 64 in
/// flight: 104k/s"). Run with
/// `cargo test --release -p kvitt-node --test transport -- --ignored --nocapture measure`.
#[test]
#[ignore = "measurement, not a test"]
fn measure_requests_per_second() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let (a, _a_requests) = start(A, &[B]);
        let (b, b_requests) = start(B, &[A]);
        serve(b_requests, |_, _| vec![0u8; 32]);
        let request = Arc::new(vec![7u8; 1024]);
        let address = b.local_addr();
        a.request(public(B), address, request.to_vec(), TIMEOUT).await.unwrap(); // connect first
        for (label, total) in
            [("warm-up", 20_000usize), ("run 1", 200_000), ("run 2", 200_000), ("run 3", 200_000)]
        {
            let started = Instant::now();
            let mut workers = JoinSet::new();
            for worker in 0..64 {
                let a = a.clone();
                let request = Arc::clone(&request);
                workers.spawn(async move {
                    for _ in (worker..total).step_by(64) {
                        let answer = a.request(public(B), address, request.to_vec(), TIMEOUT).await.unwrap();
                        assert_eq!(answer.len(), 32);
                    }
                });
            }
            while let Some(done) = workers.join_next().await {
                done.unwrap();
            }
            let seconds = started.elapsed().as_secs_f64();
            let rate = total as f64 / seconds;
            println!(
                "{label}: {total} requests in {seconds:.2} s: {rate:.0} requests/s ({:.2} of 104k/s)",
                rate / 104_000.0
            );
        }
    });
}
