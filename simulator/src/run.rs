//! One simulated run: the cast started, the workload and the faults scheduled, events
//! handled in virtual-time order until the workload is done, the faults have healed and
//! every channel has converged (or a deadline passes), then the checks.

use std::collections::BTreeMap;
use std::time::Instant;

use kvitt_node::core::Input;
use kvitt_node::store::{Batch, Store};
use kvitt_protocol::RecordId;

use crate::cast::Cast;
use crate::check::{self, Violation};
use crate::config::{Sabotage, SimConfig};
use crate::faults::{inject, FaultPlan};
use crate::net::Network;
use crate::node::SimNode;
use crate::report::Report;
use crate::rng::SimRng;
use crate::session;
use crate::watch::Watch;
use crate::workload::{Acknowledged, Route, Workload};
use crate::world::{Event, World};

/// Where virtual time starts: Monday 2026-05-04 00:00 UTC.
pub const START_MS: i64 = 1_777_852_800_000;

/// How often, once the workload is done and the faults healed, the run checks whether
/// the network has settled.
const SETTLE_CHECK_MS: i64 = 60_000;

/// How long after the last fault healed the network has to converge.
const CONVERGE_DEADLINE_MS: i64 = 24 * 60 * 60_000;

/// What a run ended with.
pub struct Outcome {
    /// The figures.
    pub report: Report,
    /// Broken guarantees (none in a good run).
    pub violations: Vec<Violation>,
    /// Hash of every message sent.
    pub wire_hash: String,
    /// Hash of every node's ledger at the end.
    pub ledger_hash: String,
}

/// Why a run could not start.
#[derive(Debug)]
pub struct SetupError(pub String);

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SetupError {}

/// Runs `config`; `progress` hears how many receipts are acknowledged, now and then.
pub fn run(config: &SimConfig, progress: &mut dyn FnMut(u64)) -> Result<Outcome, SetupError> {
    let wall = Instant::now();
    let cast = Cast::new(config).map_err(|error| SetupError(format!("the directory: {error}")))?;
    let mut rng = SimRng::new(config.seed);
    let operator = kvitt_protocol::PublicKey::from(cast.operator.verifying_key());
    let mut nodes = Vec::new();
    // One copy of each record however many nodes hold it (README, "The simulated network").
    let pool = std::sync::Arc::new(kvitt_node::store::ValuePool::new());
    let interval = std::time::Duration::from_secs(config.reconcile_interval_s.max(1).unsigned_abs());
    for (index, party) in cast.parties.iter().enumerate() {
        let core_config =
            SimNode::core_config(operator, config.seed ^ (index as u64).wrapping_mul(0x9e37), interval);
        let node = SimNode::new(party.clone(), core_config, &cast.directory, &pool)
            .map_err(|error| SetupError(format!("starting {}: {error}", party.name)))?;
        nodes.push(node);
    }
    let mut workload = Workload::plan(&cast, config, &mut rng, START_MS);
    let faults = config.fault_mix.faults();
    let plan = FaultPlan::draw(&mut rng, &faults, cast.parties.len(), (START_MS, workload.end_ms));
    let mut world = World::new(nodes, Network::new(faults), rng, START_MS);
    if config.sabotage == Some(Sabotage::PanicInCore) {
        world.panic_at_step = Some(1000);
    }
    // Each core starts its first round of sessions at its first step, as in production.
    for node in 0..world.nodes.len() {
        world.step(node, Input::Tick);
    }
    workload.start(&cast, config, &mut world, START_MS);
    plan.schedule(&mut world);
    let mut restart = |world: &mut World, node: usize| {
        let core_config = SimNode::core_config(operator, config.seed ^ world.now_ms as u64, interval);
        let started = world.nodes.get_mut(node).map(|sim| sim.start(core_config, &cast.directory));
        if let Some(Err(error)) = started {
            world.failures.push(Violation {
                invariant: "every node starts again",
                details: format!("node {node}: {error}"),
            });
            return;
        }
        world.step(node, Input::Tick);
    };
    let mut settled_at: Option<i64> = None;
    let mut next_check = 0i64;
    let mut last_progress = 0u64;
    let mut deadline_missed = false;
    let mut quiet_at: Option<i64> = None;
    let workload_started = START_MS;
    let mut watch = Watch::default();
    while let Some(event) = world.next_event() {
        dispatch(&cast, &mut world, &mut workload, event, &mut restart);
        while !world.answers.is_empty() || !world.stored.is_empty() {
            for (node, id) in std::mem::take(&mut world.stored_events) {
                watch.stored(&world, node, &id);
            }
            for (node, id) in std::mem::take(&mut world.stored) {
                workload.stored(&cast, node, id, world.now_ms);
            }
            for (tag, answer) in std::mem::take(&mut world.answers) {
                workload.answered(&cast, &mut world, tag, answer);
            }
        }
        if workload.stats.receipts >= last_progress + 250 {
            last_progress = workload.stats.receipts;
            progress(last_progress);
        }
        if world.now_ms >= plan.healed_at_ms.max(workload.end_ms) && workload.is_done() {
            let quiet = *quiet_at.get_or_insert(world.now_ms);
            if world.now_ms < next_check {
                continue;
            }
            next_check = world.now_ms + SETTLE_CHECK_MS;
            if check::settled(&world) {
                settled_at = Some(world.now_ms);
                break;
            }
            if world.now_ms > quiet + CONVERGE_DEADLINE_MS {
                deadline_missed = true;
                break;
            }
        }
    }
    progress(workload.stats.receipts);
    if config.sabotage == Some(Sabotage::DropAcknowledged) {
        drop_one_acknowledged(&world, &workload.acknowledged);
    }
    if config.sabotage == Some(Sabotage::LeakCardReceipt) {
        let leaked = workload.acknowledged.iter().find(|(_, ack)| ack.route == Route::Card);
        if let Some((id, ack)) = leaked {
            copy_to_another_agency(&world, id, ack.agency, ack.agency);
        }
    }
    if config.sabotage == Some(Sabotage::LeakCodeReceipt) {
        let uncollected = workload.codes.receipts.iter().find(|(_, code)| code.collected_by.is_none());
        if let Some((id, code)) = uncollected {
            copy_to_another_agency(&world, id, code.merchant, code.agency);
        }
    }
    // What the watch saw while the run went comes first, with its time; the check at the
    // end finds the same breaches again, without it.
    let mut violations = watch.violations;
    // The ledger hash is taken on another thread while the checks run: both only read.
    let (found, ledger_hash) = std::thread::scope(|scope| {
        let hash = scope.spawn(|| check::ledger_hash(&world));
        let found = check::check(&world, &workload.acknowledged, &workload.codes, &workload.equivocations);
        match hash.join() {
            Ok(hash) => (found, hash),
            Err(panicked) => std::panic::resume_unwind(panicked),
        }
    });
    violations.extend(found);
    let healed_at = quiet_at.unwrap_or(world.now_ms);
    if deadline_missed || settled_at.is_none() {
        violations.push(Violation {
            invariant: "the network settled after the faults healed",
            details: format!(
                "not settled {} virtual s after the faults healed and the workload ended; workload done: {}",
                (world.now_ms - healed_at) / 1000,
                workload.is_done()
            ),
        });
    }
    let report = Report::new(
        config,
        &world,
        &workload,
        (workload_started, settled_at.unwrap_or(world.now_ms), healed_at),
        wall.elapsed(),
    );
    Ok(Outcome { report, violations, wire_hash: world.net.trace_hash(), ledger_hash })
}

fn dispatch(
    cast: &Cast,
    world: &mut World,
    workload: &mut Workload,
    event: Event,
    restart: &mut dyn FnMut(&mut World, usize),
) {
    match event {
        Event::Request { from, to, life, exchange, bytes, ticket } => {
            world.request(from, to, life, exchange, (bytes, ticket))
        }
        Event::Answer { to, life, from, exchange, bytes } => world.answer(to, life, from, exchange, &bytes),
        Event::Timeout { node, life, peer, exchange } => world.timeout(node, life, peer, exchange),
        Event::Wake { node, life, at } => world.wake(node, life, at),
        Event::Fsync { node, life } => world.fsync(node, life),
        Event::SessionEnd(ended) => session::end(world, *ended),
        Event::Fault(fault) => inject(world, fault, restart),
        Event::Workload(tag) => workload.run(cast, world, tag),
    }
}

/// The deliberate bugs of [`Sabotage::LeakCardReceipt`] and [`Sabotage::LeakCodeReceipt`]:
/// receipt `id` is copied from node `source`'s ledger into that of an agency other than
/// `entitled` (one that did not enrol its card, or present its code).
fn copy_to_another_agency(world: &World, id: &RecordId, source: usize, entitled: usize) {
    let other = world.nodes.iter().enumerate().find(|(index, sim)| {
        *index != entitled && sim.party.identity.role == kvitt_protocol::directory::MemberRole::Agency
    });
    let (Some(source), Some((_, other))) = (world.nodes.get(source), other) else {
        return;
    };
    let key = kvitt_node::ledger::keys::record(id);
    if let Ok(Some(bytes)) = source.store.get(&key) {
        let mut batch = Batch::new();
        batch.insert(key, bytes);
        let _ = other.store.apply(&batch);
    }
}

/// The deliberate bug of [`Sabotage::DropAcknowledged`]: one acknowledged receipt is
/// deleted from its agency's ledger.
pub(crate) fn drop_one_acknowledged(world: &World, acknowledged: &BTreeMap<RecordId, Acknowledged>) {
    let Some((id, ack)) = acknowledged.iter().next() else {
        return;
    };
    if let Some(sim) = world.nodes.get(ack.agency) {
        let mut batch = Batch::new();
        batch.remove(kvitt_node::ledger::keys::record(id));
        let _ = sim.store.apply(&batch);
    }
}
