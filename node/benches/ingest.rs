//! Durable ingest: how many receipts per second a node acknowledges, and how long each
//! acknowledgement takes, when every acknowledgement waits for group-committed fsync.
//!
//! (a) an agency receiving `deliver` requests from several merchants at once: each
//!     request carries a batch of signed receipts; the agency decodes and strictly
//!     verifies them (on the blocking pool, both cores), authorizes them against the
//!     directory, writes them to sled and answers once the batch is fsynced;
//! (b) a merchant receiving receipts from several tills: each push is validated, signed,
//!     stored with its outbox entry and acknowledged after fsync (one receipt per ack).
//!
//! (a) runs twice: once through the in-process link (the figure without the transport)
//! and once over real QUIC on loopback, each merchant its own endpoint with its node
//! certificate, mutual TLS pinned to the directory's keys, as between nodes. LIMITS.md's
//! ceiling for "received over QUIC, verified and stored" is 31k/s with single
//! verify_strict, of which QUIC is 6.8 µs per receipt.
//!
//! Run: `cargo bench -p kvitt-node --bench ingest` (release build). Last line:
//! `result: ingest_receipts_per_s=… p99_ms=… ceiling_ratio=…` for (a) over QUIC.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use hdrhistogram::Histogram;
use kvitt_node::core::{Caller, CallerRole, ClientRequest, CoreConfig, Identity, NodeCore, RetryPolicy};
use kvitt_node::local_link::LocalNetwork;
use kvitt_node::runtime::{IncomingRequest, PeerInbox};
use kvitt_node::store::group_commit::GroupCommit;
use kvitt_node::store::{SledStore, Store};
use kvitt_node::transport::{runtime_link, PeerKeys, Transport, TransportConfig};
use kvitt_protocol::directory::{Directory, Member, MemberRole};
use kvitt_protocol::receipt::{Line, Receipt};
use kvitt_protocol::wire::{RecordBytes, Request, RequestBody, Response, ResponseBody, Verdict};
use kvitt_protocol::{sample, PublicKey, Signed};
use tokio::sync::oneshot;

const AGENCY: &str = "202100-5489";
const MERCHANTS: [&str; 4] = ["556016-0680", "556036-0793", "556677-8899", "556123-4567"];
/// Receipts each merchant delivers in (a).
const RECEIPTS_PER_MERCHANT: usize = 10_000;
/// Receipts per deliver request in (a).
const BATCH: usize = 256;
/// Tills pushing concurrently in (b), and receipts each.
const TILLS: usize = 16;
const PUSHES_PER_TILL: usize = 500;
/// LIMITS.md: verified and stored over QUIC, single verify_strict, 2 cores.
const CEILING_PER_S: f64 = 31_000.0;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// The sample receipt of `merchant` with eight lines at 6 % and 25 % instead of its two,
/// their prices and article number varying with the serial, for one of 50 employees.
fn receipt(merchant: &str, serial: u64) -> Receipt {
    let variant = i64::try_from(serial % 100).unwrap_or(0) * 10;
    let mut receipt = sample::receipt(merchant, AGENCY, "KASSA-1", serial);
    receipt.lines = (0..8)
        .map(|index| {
            let (category, rate) = if index % 2 == 0 { ("food", 600) } else { ("general", 2500) };
            let line = sample::line(&format!("Vara {index}"), category, 1000, 1_000 + variant + index, rate);
            Line { article: Some(format!("ART-{}", serial % 977)), ..line }
        })
        .collect();
    receipt.buyer.as_mut().unwrap().employee = Some(format!("emp-{}", serial % 50));
    sample::paid_by_card(receipt, "T-1", &format!("{serial:012}"))
}

fn directory(operator: &SigningKey) -> Signed<Directory> {
    let mut members: Vec<Member> = MERCHANTS
        .iter()
        .enumerate()
        .map(|(index, org)| Member {
            role: MemberRole::Merchant,
            org: (*org).into(),
            name: format!("Handlare {index}"),
            key: PublicKey::from(key(10 + u8::try_from(index).unwrap_or(0)).verifying_key()),
            addresses: vec![format!("127.0.0.1:{}", 48000 + index)],
            serves: vec![],
        })
        .collect();
    members.push(Member {
        role: MemberRole::Agency,
        org: AGENCY.into(),
        name: "Myndigheten".into(),
        key: PublicKey::from(key(2).verifying_key()),
        addresses: vec!["127.0.0.1:48100".into()],
        serves: vec![],
    });
    let body = Directory {
        network: "kvitt-bench".into(),
        version: 1,
        issued_at: "2026-01-01T00:00:00+01:00".into(),
        members,
    };
    Signed::sign(body, operator).unwrap()
}

/// A node on a sled ledger in `dir`, driven by the real runtime.
fn start(
    dir: &std::path::Path,
    seed: u8,
    org: &str,
    role: MemberRole,
    operator: &SigningKey,
    directory: &Signed<Directory>,
    network: &LocalNetwork,
) -> (kvitt_node::handle::NodeHandle, PeerInbox, Arc<GroupCommit>) {
    let store: Arc<dyn Store> = Arc::new(SledStore::open(&dir.join(org), 256 << 20).unwrap());
    let commit = Arc::new(GroupCommit::start(Arc::clone(&store)).unwrap());
    let identity = Identity { signing_key: key(seed), org: org.into(), role };
    let config = CoreConfig {
        operator: PublicKey::from(operator.verifying_key()),
        retry: RetryPolicy::default(),
        delivery_batch: 512,
        seed: u64::from(seed),
        reference_rates: Some(kvitt_books::ReferenceRates::example().unwrap()),
        policy: Default::default(),
        uncollected_days: kvitt_node::core::DEFAULT_UNCOLLECTED_DAYS,
        routing_key: None,
    };
    let core = NodeCore::start(identity.clone(), config, directory.clone(), store).unwrap();
    let (handle, inbox) =
        kvitt_node::runtime::spawn(core, Arc::clone(&commit), network.endpoint(identity.key()));
    network.attach(identity.key(), inbox.clone());
    (handle, inbox, commit)
}

struct Figures {
    per_second: f64,
    latency: Histogram<u64>,
    syncs: u64,
}

fn print(name: &str, unit: &str, figures: &Figures) {
    let ms = |quantile: f64| figures.latency.value_at_quantile(quantile) as f64 / 1000.0;
    println!(
        "{name}: {:.0} receipts/s ({:.2} of the {CEILING_PER_S:.0}/s ceiling); ack latency per {unit} p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {} fsyncs",
        figures.per_second,
        figures.per_second / CEILING_PER_S,
        ms(0.5),
        ms(0.99),
        figures.latency.max() as f64 / 1000.0,
        figures.syncs,
    );
}

/// How the merchants reach the agency in (a).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Link {
    InProcess,
    Quic,
}

/// One merchant's way to send a request to the agency.
#[derive(Clone)]
enum Sender {
    InProcess(PeerInbox),
    Quic(Transport, PublicKey, std::net::SocketAddr),
}

impl Sender {
    async fn send(&self, peer: PublicKey, bytes: Vec<u8>) -> Vec<u8> {
        match self {
            Sender::InProcess(inbox) => {
                let (reply, answer) = oneshot::channel();
                inbox.deliver(IncomingRequest { peer, bytes, reply }).await;
                answer.await.unwrap()
            }
            Sender::Quic(transport, agency, address) => {
                transport.request(*agency, *address, bytes, Duration::from_secs(120)).await.unwrap()
            }
        }
    }
}

/// (a): merchants deliver pre-signed receipts to the agency, one request in flight each.
async fn agency_ingest(
    dir: &std::path::Path,
    operator: &SigningKey,
    directory: &Signed<Directory>,
    link: Link,
) -> Figures {
    let network = LocalNetwork::new();
    let (_handle, inbox, commit) = start(dir, 2, AGENCY, MemberRole::Agency, operator, directory, &network);
    let members = PeerKeys::new(directory.body().members.iter().map(|member| member.key));
    let agency_quic = (link == Link::Quic).then(|| {
        let (transport, requests) =
            Transport::bind(TransportConfig::new("127.0.0.1:0".parse().unwrap(), key(2), members.clone()))
                .unwrap();
        runtime_link::forward(requests, inbox.clone());
        transport
    });
    let mut batches_per_merchant = Vec::new();
    for (index, org) in MERCHANTS.iter().enumerate() {
        let signer = key(10 + u8::try_from(index).unwrap_or(0));
        let records: Vec<RecordBytes> = (1..=RECEIPTS_PER_MERCHANT as u64)
            .map(|serial| RecordBytes(Signed::sign(receipt(org, serial), &signer).unwrap().bytes().to_vec()))
            .collect();
        let requests: Vec<Vec<u8>> = records
            .chunks(BATCH)
            .map(|chunk| {
                Request { directory_version: 1, body: RequestBody::Deliver { records: chunk.to_vec() } }
                    .encode()
                    .unwrap()
            })
            .collect();
        batches_per_merchant.push((PublicKey::from(signer.verifying_key()), requests));
    }
    let mut senders = Vec::new();
    for index in 0..MERCHANTS.len() {
        senders.push(match &agency_quic {
            None => Sender::InProcess(inbox.clone()),
            Some(agency) => {
                let signer = key(10 + u8::try_from(index).unwrap_or(0));
                let config = TransportConfig::new("127.0.0.1:0".parse().unwrap(), signer, members.clone());
                let (transport, _requests) = Transport::bind(config).unwrap();
                // Connected before the clock starts: handshakes are not ingest.
                let hello = Request { directory_version: 1, body: RequestBody::Directory { have: 1 } };
                transport
                    .request(
                        agency.key(),
                        agency.local_addr(),
                        hello.encode().unwrap(),
                        Duration::from_secs(10),
                    )
                    .await
                    .unwrap();
                Sender::Quic(transport, agency.key(), agency.local_addr())
            }
        });
    }
    let started = Instant::now();
    let mut merchants = Vec::new();
    for ((peer, requests), sender) in batches_per_merchant.into_iter().zip(senders) {
        merchants.push(tokio::spawn(async move {
            let mut latency = Histogram::<u64>::new(3).unwrap();
            for bytes in requests {
                let sent = Instant::now();
                let response = Response::decode(&sender.send(peer, bytes).await).unwrap();
                latency.record(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX)).unwrap();
                let ResponseBody::Delivered { results } = response.body else {
                    panic!("refused: {response:?}")
                };
                assert!(
                    results.iter().all(|verdict| matches!(verdict, Verdict::Stored { .. })),
                    "{results:?}"
                );
            }
            latency
        }));
    }
    let mut latency = Histogram::<u64>::new(3).unwrap();
    for merchant in merchants {
        latency.add(merchant.await.unwrap()).unwrap();
    }
    let elapsed = started.elapsed();
    let total = RECEIPTS_PER_MERCHANT * MERCHANTS.len();
    Figures { per_second: total as f64 / elapsed.as_secs_f64(), latency, syncs: commit.stats().syncs }
}

/// (b): tills push receipts to their merchant node through its client interface.
async fn merchant_push(
    dir: &std::path::Path,
    operator: &SigningKey,
    directory: &Signed<Directory>,
) -> Figures {
    let network = LocalNetwork::new();
    let (handle, _inbox, commit) =
        start(dir, 10, MERCHANTS[0], MemberRole::Merchant, operator, directory, &network);
    // The agency is not attached, so deliveries wait in the outbox: this measures ingest only.
    let started = Instant::now();
    let mut tills = Vec::new();
    for till in 0..TILLS {
        let handle = handle.clone();
        tills.push(tokio::spawn(async move {
            let mut latency = Histogram::<u64>::new(3).unwrap();
            for index in 0..PUSHES_PER_TILL {
                let mut body = receipt(MERCHANTS[0], u64::try_from(index + 1).unwrap_or(0));
                body.register = format!("KASSA-{till}");
                let caller = Caller { person: format!("till-{till}"), role: CallerRole::Till };
                let sent = Instant::now();
                handle.ask(caller, ClientRequest::PushReceipt(Box::new(body))).await.unwrap();
                latency.record(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX)).unwrap();
            }
            latency
        }));
    }
    let mut latency = Histogram::<u64>::new(3).unwrap();
    for till in tills {
        latency.add(till.await.unwrap()).unwrap();
    }
    let elapsed = started.elapsed();
    Figures {
        per_second: (TILLS * PUSHES_PER_TILL) as f64 / elapsed.as_secs_f64(),
        latency,
        syncs: commit.stats().syncs,
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let operator = key(1);
    let directory = directory(&operator);
    let dir =
        tempfile::tempdir_in(std::env::var_os("KVITT_BENCH_DIR").unwrap_or_else(|| ".".into())).unwrap();
    println!("durable ingest, 2 tokio workers, sled on {}", dir.path().display());
    let merchant = runtime.block_on(merchant_push(dir.path(), &operator, &directory));
    print(&format!("(b) merchant, {TILLS} tills × {PUSHES_PER_TILL} pushes"), "push", &merchant);
    let scenario =
        format!("{} merchants × {RECEIPTS_PER_MERCHANT} receipts in batches of {BATCH}", MERCHANTS.len());
    let local =
        runtime.block_on(agency_ingest(&dir.path().join("local"), &operator, &directory, Link::InProcess));
    print(&format!("(a) agency, in-process link, {scenario}"), "batch", &local);
    let quic = runtime.block_on(agency_ingest(&dir.path().join("quic"), &operator, &directory, Link::Quic));
    print(&format!("(a) agency, over QUIC, {scenario}"), "batch", &quic);
    runtime.shutdown_timeout(Duration::from_secs(5));
    println!(
        "over QUIC: {:.2} of the in-process rate ({:.0}/s)",
        quic.per_second / local.per_second,
        local.per_second
    );
    println!(
        "result: ingest_receipts_per_s={:.0} p99_ms={:.2} ceiling_ratio={:.2}",
        quic.per_second,
        quic.latency.value_at_quantile(0.99) as f64 / 1000.0,
        quic.per_second / CEILING_PER_S
    );
}
