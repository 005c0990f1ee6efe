//! Real mode (`kvitt-sim --real`): the cast run as separate `kvitt run` processes on
//! loopback, with real QUIC, TLS and sled, joined through a fault-injecting UDP relay;
//! tills, employees, approvers and SSC staff drive them through the client API while
//! nodes are killed with SIGKILL and restarted and links lose, duplicate, delay and cut
//! datagrams. After the faults heal every node reconciles on demand until a whole round
//! finds nothing to send, the nodes are stopped, and the deterministic mode's checks run
//! over a copy of each node's sled ledger.

pub mod chaos;
pub mod claims;
pub mod client;
pub mod enrol;
pub mod ledgers;
pub mod nodes;
pub mod relay;
pub mod report;
pub mod tills;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::cast::Cast;
use crate::check::Violation;
use crate::config::{Sabotage, SimConfig};
use crate::run::SetupError;
use client::Api;
use nodes::{SSC_STAFF, TILL};
use report::RealReport;

/// How long the network has, after the faults healed, until a whole round of on-demand
/// reconciliation finds nothing missing anywhere.
const CONVERGE_PATIENCE: Duration = Duration::from_secs(180);

/// How long, after the claims are done, the watcher waits for receipts still on their way.
const WATCH_PATIENCE: Duration = Duration::from_secs(60);

/// What real mode needs besides the run's configuration.
#[derive(Clone, Debug)]
pub struct RealOptions {
    /// The `kvitt` binary to run the nodes with.
    pub kvitt: PathBuf,
    /// Where the nodes' data directories go; kept after the run. A fresh temporary
    /// directory (removed after a good run) if `None`.
    pub data: Option<PathBuf>,
    /// How often each node reconciles with each peer, seconds.
    pub reconcile_interval_secs: u64,
    /// Over how long the tills spread their purchases (zero: as fast as the nodes answer).
    pub duration: Duration,
}

/// What a real run ended with.
pub struct RealOutcome {
    /// The figures.
    pub report: RealReport,
    /// Broken guarantees (none in a good run).
    pub violations: Vec<Violation>,
    /// Where the nodes' data and logs are (removed after a good run in a temporary one).
    pub data: PathBuf,
}

fn setup(what: &str) -> impl FnOnce(nodes::NodesError) -> SetupError + '_ {
    move |error| SetupError(format!("{what}: {error}"))
}

/// The directory the nodes' data goes in.
fn data_directory(options: &RealOptions, seed: u64) -> Result<(PathBuf, bool), SetupError> {
    match &options.data {
        Some(data) => {
            let occupied =
                std::fs::read_dir(data).map(|mut entries| entries.next().is_some()).unwrap_or(false);
            if occupied {
                return Err(SetupError(format!(
                    "--data {}: not empty; real mode sets up new nodes in an empty directory",
                    data.display()
                )));
            }
            Ok((data.clone(), false))
        }
        None => {
            let data = std::env::temp_dir().join(format!("kvitt-sim-real-{}-{seed}", std::process::id()));
            // A leftover of an earlier run with this process id: nothing of ours.
            let _ = std::fs::remove_dir_all(&data);
            Ok((data, true))
        }
    }
}

/// The client APIs of the network's people (address and tokens of each node), read
/// without holding the nodes' lock.
struct People {
    apis: Vec<(SocketAddr, std::collections::BTreeMap<String, String>)>,
}

impl People {
    fn api(&self, node: usize, person: &str) -> Api {
        let (address, tokens) = self
            .apis
            .get(node)
            .cloned()
            .unwrap_or((SocketAddr::from(([127, 0, 0, 1], 0)), Default::default()));
        let token = tokens.get(person).or_else(|| tokens.get("operator")).cloned().unwrap_or_default();
        Api::new(address, token)
    }
}

/// Runs `config` for real; `progress` hears how many receipts are acknowledged.
pub fn run(
    config: &SimConfig,
    options: &RealOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<RealOutcome, SetupError> {
    let wall = Instant::now();
    if config.sabotage == Some(Sabotage::PanicInCore) {
        return Err(SetupError("--sabotage panic-in-core is for the deterministic mode".into()));
    }
    if !options.kvitt.is_file() {
        return Err(SetupError(format!(
            "no kvitt binary at {}: build it (cargo build --release -p kvitt) or give --kvitt PATH",
            options.kvitt.display()
        )));
    }
    let cast = Cast::new(config).map_err(|error| SetupError(format!("the directory: {error}")))?;
    let (base, temporary) = data_directory(options, config.seed)?;
    let listen = (0..cast.parties.len())
        .map(|_| nodes::free_address())
        .collect::<Result<Vec<_>, _>>()
        .map_err(setup("ports"))?;
    let relay = relay::Relay::start(&listen, config.seed)
        .map_err(|error| SetupError(format!("the relay: {error}")))?;
    let fronts: Vec<SocketAddr> = (0..listen.len()).filter_map(|index| relay.front(index)).collect();
    let directory = nodes::directory_at(&cast, &fronts).map_err(setup("the directory"))?;
    let mut network = nodes::set_up(&cast, &base, &listen, &directory, options.reconcile_interval_secs)
        .map_err(setup("setting up"))?;
    for node in &mut network {
        node.start(&options.kvitt).map_err(setup("starting"))?;
    }
    let people = People { apis: network.iter().map(|node| (node.api, node.tokens.clone())).collect() };
    enrol::enrol_all(&cast, &|agency| people.api(agency, "operator"))
        .map_err(|why| SetupError(format!("enrolling the agencies' cards: {why}")))?;
    let network = Mutex::new(network);
    let shared = tills::Shared::default();
    let done = AtomicBool::new(false);
    let workload_done = AtomicBool::new(false);
    let faults = config.fault_mix.faults();
    let chaos_plan = chaos::Plan::of(&faults);
    let mut claims_outcome = None;
    let mut chaos_log = chaos::Log::default();
    let mut pushing_s = 0.0;
    std::thread::scope(|scope| {
        let watcher = scope
            .spawn(|| tills::watch(&|agency| people.api(agency, "operator"), &shared, &done, WATCH_PATIENCE));
        let chaos = scope
            .spawn(|| chaos::run(&chaos_plan, &relay, &network, &options.kvitt, config.seed, &workload_done));
        let pushing = Instant::now();
        let tills = scope.spawn(|| {
            let till = |merchant| people.api(merchant, TILL);
            let load = tills::Load {
                receipts: config.receipts,
                seed: config.seed,
                duration: options.duration,
                till: &till,
            };
            tills::run(&cast, &load, &shared, wall);
        });
        while !tills.is_finished() {
            progress(tills::lock(&shared).acknowledged.len() as u64);
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = tills.join();
        pushing_s = pushing.elapsed().as_secs_f64();
        progress(tills::lock(&shared).acknowledged.len() as u64);
        // Claims are filed of receipts that reached their agency: give the last ones time.
        wait_for_agencies(&shared, WATCH_PATIENCE);
        claims_outcome = Some(claims::run(
            config.claims,
            config.seed,
            &|agency, employee| claims::Actors {
                employee: people.api(agency, employee),
                approver: people.api(agency, cast.parties.get(agency).map_or("", |party| party.approver())),
                staff: people.api(cast.ssc(), SSC_STAFF),
            },
            &shared,
        ));
        workload_done.store(true, Ordering::SeqCst);
        chaos_log = chaos.join().unwrap_or_default();
        done.store(true, Ordering::SeqCst);
        let _ = watcher.join();
    });
    // Everything heals: links, lost datagrams, nodes left down.
    relay.set_faults(relay::LinkFaults::default());
    relay.heal();
    let healed = Instant::now();
    let mut violations = chaos_log.failures.clone();
    {
        let mut network = chaos::lock(&network);
        for node in network.iter_mut().filter(|node| !node.is_running()) {
            node.start(&options.kvitt).map_err(setup("restarting after the faults"))?;
        }
    }
    let convergence = converge(&people, cast.parties.len());
    let converge_s = healed.elapsed().as_secs_f64();
    if let Err(why) = &convergence {
        violations.push(Violation {
            invariant: "every channel converged after the faults healed",
            details: why.clone(),
        });
    }
    let mut network = network.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    for node in &mut network {
        node.stop().map_err(setup("stopping"))?;
        violations.extend(node.panics().into_iter().map(|line| Violation {
            invariant: "no node panicked",
            details: format!("{}: {line}", node.name),
        }));
    }
    let relay_stats = relay.stats();
    relay.stop();
    let pushed = std::mem::take(&mut *tills::lock(&shared));
    let claims = claims_outcome.unwrap_or_else(claims::ClaimsOutcome::empty);
    violations.extend(workload_violations(&pushed, &claims));
    match ledgers::world(&cast, &network) {
        Ok(world) => {
            if config.sabotage == Some(Sabotage::DropAcknowledged) {
                crate::run::drop_one_acknowledged(&world, &pushed.acknowledged);
            }
            violations.extend(crate::check::check(
                &world,
                &pushed.acknowledged,
                &crate::workload::Codes::default(),
                &[],
            ));
        }
        Err(why) => {
            violations.push(Violation { invariant: "every node's ledger opens after the run", details: why })
        }
    }
    let report = RealReport::new(
        config,
        &network,
        &pushed,
        &claims,
        report::Times { wall: wall.elapsed(), pushing_s, converge_s, sync_rounds: convergence.unwrap_or(0) },
        relay_stats,
        &chaos_log,
    );
    if temporary && violations.is_empty() {
        let _ = std::fs::remove_dir_all(&base);
    }
    Ok(RealOutcome { report, violations, data: base })
}

/// Waits until every acknowledged receipt is seen at its agency, or `patience` passes.
fn wait_for_agencies(shared: &tills::Shared, patience: Duration) {
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        let pushed = tills::lock(shared);
        if pushed.at_agency.len() >= pushed.acknowledged.len() {
            return;
        }
        drop(pushed);
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Asks every node to reconcile with every peer now, round after round, until a whole
/// round's sessions all finish and find nothing either side lacks: how many rounds it
/// took, or what was still wrong when [`CONVERGE_PATIENCE`] ran out.
fn converge(people: &People, nodes: usize) -> Result<u64, String> {
    let deadline = Instant::now() + CONVERGE_PATIENCE;
    let mut rounds = 0u64;
    loop {
        rounds += 1;
        let mut unsettled = Vec::new();
        for node in 0..nodes {
            match people.api(node, "operator").post("/v1/sync", Some(&serde_json::json!({}))).ok() {
                Ok(sessions) => {
                    for session in sessions.as_array().map(Vec::as_slice).unwrap_or_default() {
                        let field =
                            |name: &str| session.get(name).and_then(serde_json::Value::as_u64).unwrap_or(0);
                        let ok = session.get("ok").and_then(serde_json::Value::as_bool).unwrap_or(false);
                        if !ok || field("they_lack") > 0 || field("we_lack") > 0 {
                            unsettled.push(format!("node {node} with {session}"));
                        }
                    }
                }
                Err(why) => unsettled.push(format!("node {node}: {why}")),
            }
        }
        if unsettled.is_empty() {
            return Ok(rounds);
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "after {rounds} rounds of on-demand sessions in {} s, still: {}",
                CONVERGE_PATIENCE.as_secs(),
                unsettled.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// What the tills and claims could not do although the faults healed.
fn workload_violations(pushed: &tills::Pushed, claims: &claims::ClaimsOutcome) -> Vec<Violation> {
    let mut found = Vec::new();
    if pushed.given_up > 0 {
        found.push(Violation {
            invariant: "every push is answered once its node is back",
            details: format!(
                "{} receipts unanswered for {} s",
                pushed.given_up,
                tills::PUSH_PATIENCE.as_secs()
            ),
        });
    }
    found.extend(pushed.refused.iter().take(5).map(|why| Violation {
        invariant: "every well-formed receipt is acknowledged",
        details: why.clone(),
    }));
    found.extend(claims.problems.iter().take(5).map(|why| Violation {
        invariant: "every claim step succeeds once its nodes are back",
        details: why.clone(),
    }));
    found
}
