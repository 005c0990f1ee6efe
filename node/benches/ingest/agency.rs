//! Part (a) of the ingest bench, closed loop: merchants deliver pre-signed receipts to
//! the agency in batches, one request in flight each. The agency decodes and strictly
//! verifies them (on the blocking pool, both cores), authorizes them against the
//! directory, writes them to sled and answers once the batch is fsynced. It runs through
//! the in-process link (the figure without the transport) and over real QUIC on
//! loopback, each merchant its own endpoint with mutual TLS pinned to the directory.

use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use hdrhistogram::Histogram;
use kvitt_node::local_link::LocalNetwork;
use kvitt_node::runtime::{IncomingRequest, PeerInbox};
use kvitt_node::transport::{runtime_link, PeerKeys, Transport, TransportConfig};
use kvitt_protocol::directory::{Directory, MemberRole};
use kvitt_protocol::wire::{RecordBytes, Request, RequestBody, Response, ResponseBody, Verdict};
use kvitt_protocol::{PublicKey, Signed};
use tokio::sync::oneshot;

use crate::cpu::process_time;
use crate::fixture::{key, merchant_key, micros, ms, receipt, start, AGENCY, MERCHANTS};

/// Receipts each merchant delivers.
pub const RECEIPTS_PER_MERCHANT: usize = 10_000;
/// Receipts per deliver request.
pub const BATCH: usize = 256;
/// The most receipts one fsync can carry here: every merchant's batch in flight at once.
pub const MAX_GROUP: usize = BATCH * MERCHANTS.len();

/// What one closed-loop run measured.
pub struct Figures {
    /// Receipts acknowledged per second of wall time.
    pub per_second: f64,
    /// Acknowledgement latency per batch, in microseconds.
    pub latency: Histogram<u64>,
    /// fsyncs the group commit ran.
    pub syncs: u64,
    /// CPU time of the whole process (node, transport and the merchants' side of the
    /// link; the receipts are signed before the clock starts) per acknowledged receipt,
    /// in microseconds; `None` where `/proc` cannot be read.
    pub cpu_per_receipt: Option<f64>,
}

impl Figures {
    /// One line: the rate, its share of `ceiling` (when the building blocks were
    /// measured), the latency percentiles, the fsyncs and the CPU a receipt.
    pub fn print(&self, name: &str, ceiling: Option<f64>) {
        let share = match ceiling {
            Some(ceiling) => format!(" ({:.2} of the {ceiling:.0}/s ceiling)", self.per_second / ceiling),
            None => String::new(),
        };
        println!(
            "{name}: {:.0} receipts/s{share}; ack latency per batch p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {} fsyncs; {}",
            self.per_second,
            ms(self.latency.value_at_quantile(0.5)),
            ms(self.latency.value_at_quantile(0.99)),
            ms(self.latency.max()),
            self.syncs,
            self.cpu_line(),
        );
    }

    /// The CPU a receipt, as the `result:` lines print it.
    pub fn cpu_line(&self) -> String {
        match self.cpu_per_receipt {
            Some(micros) => format!("cpu_us_per_receipt={micros:.1}"),
            None => "cpu_us_per_receipt=unknown".into(),
        }
    }
}

/// How the merchants reach the agency in (a).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// The runtime's in-process link: no transport.
    InProcess,
    /// QUIC on loopback with mutual TLS.
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

/// Merchants deliver pre-signed receipts to the agency, one request in flight each.
pub async fn agency_ingest(
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
        let signer = merchant_key(index);
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
                let signer = merchant_key(index);
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
    let cpu_before = process_time();
    let mut merchants = Vec::new();
    for ((peer, requests), sender) in batches_per_merchant.into_iter().zip(senders) {
        merchants.push(tokio::spawn(async move {
            let mut latency = Histogram::<u64>::new(3).unwrap();
            for bytes in requests {
                let sent = Instant::now();
                let response = Response::decode(&sender.send(peer, bytes).await).unwrap();
                latency.record(micros(sent.elapsed())).unwrap();
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
    let cpu_per_receipt = cpu_before
        .zip(process_time())
        .map(|(before, after)| after.saturating_sub(before).as_secs_f64() * 1e6 / total as f64);
    Figures {
        per_second: total as f64 / elapsed.as_secs_f64(),
        latency,
        syncs: commit.stats().syncs,
        cpu_per_receipt,
    }
}
