//! Part (b) of the ingest bench, open loop: tills push receipts to their merchant node
//! through its client interface at a fixed offered rate, whatever the node's latency.
//!
//! Each till has a schedule, one push every `TILLS / rate` seconds from a common start,
//! and sends its next push at its scheduled time, or at once if the previous push
//! returned late. Latency is recorded twice: from the actual send ("service time", what
//! a closed-loop bench reports) and from the scheduled send ("corrected"), which keeps
//! the time a push waited behind a slow one and so is free of coordinated omission. The
//! scheduled times rely on tokio's timer, which fires up to about 1 ms late: the
//! corrected figures include that.

use std::time::Duration;

use ed25519_dalek::SigningKey;
use hdrhistogram::Histogram;
use kvitt_node::core::{Caller, CallerRole, ClientRequest};
use kvitt_node::local_link::LocalNetwork;
use kvitt_protocol::directory::{Directory, MemberRole};
use kvitt_protocol::Signed;
use tokio::time::Instant;

use crate::fixture::{micros, ms, receipt, start, MERCHANTS};

/// Tills pushing concurrently.
pub const TILLS: usize = 16;
/// Pushes per second offered by all tills together, unless `KVITT_BENCH_PUSH_RATE` says.
pub const DEFAULT_RATE: u32 = 5_000;
/// How long the tills push.
const DURATION: Duration = Duration::from_secs(3);

/// What one open-loop run measured.
pub struct Figures {
    /// Pushes per second offered.
    pub offered: u32,
    /// Pushes acknowledged per second of wall time.
    pub achieved: f64,
    /// Latency from the actual send, microseconds.
    pub service: Histogram<u64>,
    /// Latency from the scheduled send, microseconds.
    pub corrected: Histogram<u64>,
    /// fsyncs the group commit ran.
    pub syncs: u64,
}

impl Figures {
    /// Two lines: the rates, then the service and corrected percentiles.
    pub fn print(&self) {
        let pushes = self.service.len();
        println!(
            "(b) merchant, {TILLS} tills, open loop: offered {}/s, acknowledged {:.0}/s, {pushes} pushes, {} fsyncs",
            self.offered, self.achieved, self.syncs
        );
        for (name, histogram) in [("service time", &self.service), ("corrected   ", &self.corrected)] {
            println!(
                "    {name} per push: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
                ms(histogram.value_at_quantile(0.5)),
                ms(histogram.value_at_quantile(0.9)),
                ms(histogram.value_at_quantile(0.99)),
                ms(histogram.value_at_quantile(0.999)),
                ms(histogram.max()),
            );
        }
    }
}

/// The offered rate: `KVITT_BENCH_PUSH_RATE`, or [`DEFAULT_RATE`].
pub fn offered_rate() -> u32 {
    std::env::var("KVITT_BENCH_PUSH_RATE")
        .ok()
        .and_then(|rate| rate.parse().ok())
        .filter(|rate| *rate > 0)
        .unwrap_or(DEFAULT_RATE)
}

/// Tills push receipts to a merchant at `rate` pushes per second in all.
pub async fn merchant_push(
    dir: &std::path::Path,
    operator: &SigningKey,
    directory: &Signed<Directory>,
    rate: u32,
) -> Figures {
    let network = LocalNetwork::new();
    let (handle, _inbox, commit) =
        start(dir, 10, MERCHANTS[0], MemberRole::Merchant, operator, directory, &network);
    // The agency is not attached, so deliveries wait in the outbox: this measures ingest only.
    let interval = Duration::from_secs_f64(TILLS as f64 / f64::from(rate));
    let per_till = (DURATION.as_secs_f64() / interval.as_secs_f64()).ceil() as usize;
    let started = Instant::now();
    let mut tills = Vec::new();
    for till in 0..TILLS {
        let handle = handle.clone();
        // The tills' schedules are spread over one interval, not all at the same instant.
        let first = started + interval.mul_f64(till as f64 / TILLS as f64);
        tills.push(tokio::spawn(async move {
            let mut service = Histogram::<u64>::new(3).unwrap();
            let mut corrected = Histogram::<u64>::new(3).unwrap();
            for index in 0..per_till {
                let scheduled = first + interval.mul_f64(index as f64);
                tokio::time::sleep_until(scheduled).await;
                let mut body = receipt(MERCHANTS[0], u64::try_from(index + 1).unwrap_or(0));
                body.register = format!("KASSA-{till}");
                let caller = Caller { person: format!("till-{till}"), role: CallerRole::Till };
                let sent = Instant::now();
                handle.ask(caller, ClientRequest::PushReceipt(Box::new(body))).await.unwrap();
                service.record(micros(sent.elapsed())).unwrap();
                corrected.record(micros(scheduled.elapsed())).unwrap();
            }
            (service, corrected)
        }));
    }
    let mut service = Histogram::<u64>::new(3).unwrap();
    let mut corrected = Histogram::<u64>::new(3).unwrap();
    for till in tills {
        let (till_service, till_corrected) = till.await.unwrap();
        service.add(till_service).unwrap();
        corrected.add(till_corrected).unwrap();
    }
    let elapsed = started.elapsed();
    Figures {
        offered: rate,
        achieved: service.len() as f64 / elapsed.as_secs_f64(),
        service,
        corrected,
        syncs: commit.stats().syncs,
    }
}
