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
/// How long the tills push, unless `KVITT_BENCH_PUSH_SECONDS` says: long enough that the
/// p99 rests on hundreds of pushes (50,000 at 5,000/s) and a stall of sled's or of the
/// disk shows in it, not only in the max.
pub const DEFAULT_SECONDS: u32 = 10;

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
    /// Wall time from the first scheduled push to the last acknowledgement.
    pub elapsed: Duration,
}

impl Figures {
    /// Two lines: the rates, then the service and corrected percentiles.
    pub fn print(&self) {
        let pushes = self.service.len();
        println!(
            "(b) merchant, {TILLS} tills, open loop: offered {}/s for {:.1} s, acknowledged {:.0}/s, \
             measured {pushes} pushes and {} fsyncs ({:.2} a push)",
            self.offered,
            self.elapsed.as_secs_f64(),
            self.achieved,
            self.syncs,
            self.syncs as f64 / pushes.max(1) as f64,
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
fn offered_rate() -> u32 {
    positive_knob("KVITT_BENCH_PUSH_RATE", DEFAULT_RATE)
}

/// How long the tills push: `KVITT_BENCH_PUSH_SECONDS`, or [`DEFAULT_SECONDS`].
fn push_duration() -> Duration {
    Duration::from_secs(u64::from(positive_knob("KVITT_BENCH_PUSH_SECONDS", DEFAULT_SECONDS)))
}

/// The positive whole number the environment variable `name` holds, or `default` if it is
/// unset; any other value is refused, so a typo does not silently measure something else.
fn positive_knob(name: &str, default: u32) -> u32 {
    match std::env::var(name) {
        Err(_) => default,
        Ok(value) => match value.parse() {
            Ok(number) if number > 0 => number,
            _ => panic!("{name}={value}: a whole number above 0 is expected"),
        },
    }
}

/// Part (b) at the offered rate (`KVITT_BENCH_PUSH_RATE`) for the set time
/// (`KVITT_BENCH_PUSH_SECONDS`), its figures printed: returns the rate and the figures.
pub fn run(
    runtime: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    operator: &SigningKey,
    directory: &Signed<Directory>,
) -> (u32, Figures) {
    let rate = offered_rate();
    let figures = runtime.block_on(merchant_push(dir, operator, directory, rate, push_duration()));
    figures.print();
    (rate, figures)
}

/// Tills push receipts to a merchant at `rate` pushes per second in all.
async fn merchant_push(
    dir: &std::path::Path,
    operator: &SigningKey,
    directory: &Signed<Directory>,
    rate: u32,
    duration: Duration,
) -> Figures {
    let network = LocalNetwork::new();
    let (handle, _inbox, commit) =
        start(dir, 10, MERCHANTS[0], MemberRole::Merchant, operator, directory, &network);
    // The agency is not attached, so deliveries wait in the outbox: this measures ingest only.
    let interval = Duration::from_secs_f64(TILLS as f64 / f64::from(rate));
    let per_till = (duration.as_secs_f64() / interval.as_secs_f64()).ceil() as usize;
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
        elapsed,
    }
}
