//! Interoperability vectors for reconciliation, spec/vectors/reconcile/*.json: whole
//! sessions (the initiator's salt, both sides' items, every frame in order, both outcomes) and frames a
//! receiver must refuse, so that an implementation written from spec/reconcile.md alone can
//! check itself byte for byte against the reference. spec/vectors/README.md §Reconciliation
//! vectors describes the format.
//!
//! - `committed_vectors_match_the_generator`: [`generate`] runs the reference state
//!   machines against each other (and, for refusals, hands one side a doctored frame) and
//!   renders each vector; the committed files must be identical.
//!   `KVITT_BLESS=1 cargo test -p kvitt-protocol --test reconcile vectors` rewrites them.
//! - `every_vector_replays_on_each_side`: reads the committed files only, and replays each
//!   side alone: a fresh state machine with the stated items (and salt) is fed the frames its
//!   peer sent and must produce exactly the next committed frame of its own, then the stated
//!   outcome (or, for a refusal, the stated error, then `Finished`).
//! - `session_vectors_follow_the_spec_hashes`: recomputes the keys, the hello, the coded
//!   symbols, the decoded tags, the resolved ids and the lists of each committed session
//!   from the spec's definitions (SHA-256, SipHash-2-4, the integer index sequence) without
//!   the reference's internals, and checks the outcomes against the two item sets.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hasher as _;
use std::path::PathBuf;

use ciborium::value::Value;
use kvitt_protocol::cbor;
use sha2::{Digest, Sha256};

use super::*;
use kvitt_test_support::golden::{self, Golden};

mod generate;
mod render;
mod replay;
mod sizes;
mod spec_hashes;

use generate::*;
use render::*;
use replay::*;
use spec_hashes::*;

/// The committed vectors and how to regenerate them. A directory of their own: the record
/// vectors' tests (tests/vectors/) own every `*.json` directly in spec/vectors/.
fn golden() -> Golden {
    Golden::new(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors/reconcile"),
        "protocol/tests/reconcile/vectors/",
        "KVITT_BLESS=1 cargo test -p kvitt-protocol --test reconcile vectors",
    )
}

// ---------------------------------------------------------------------------------------
// The vector model.
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Initiator,
    Responder,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Initiator => "initiator",
            Role::Responder => "responder",
        }
    }

    fn parse(name: &str) -> Option<Role> {
        match name {
            "initiator" => Some(Role::Initiator),
            "responder" => Some(Role::Responder),
            _ => None,
        }
    }

    fn peer(self) -> Role {
        match self {
            Role::Initiator => Role::Responder,
            Role::Responder => Role::Initiator,
        }
    }
}

#[derive(Clone, Debug)]
struct Frame {
    from: Role,
    bytes: Vec<u8>,
}

/// One side of a vector: its salt (the initiator's; the responder has none) and its items,
/// ascending.
struct Side {
    salt: Option<Salt>,
    items: Vec<Item>,
}

enum End {
    /// The frames are a whole session; both sides end with these outcomes.
    Session { initiator: Outcome, responder: Outcome },
    /// After the frames, `receiver` is handed `frame` and refuses it with `error`.
    Refusal { receiver: Role, state: &'static str, frame: Frame, error: ReconcileError },
}

struct Vector {
    name: String,
    description: String,
    initiator: Side,
    responder: Side,
    frames: Vec<Frame>,
    end: End,
}

// ---------------------------------------------------------------------------------------
// Items and salts of the vectors: fixed, and derivable from the README's description.
// ---------------------------------------------------------------------------------------

/// 2026-01-01T00:00:00Z.
const EPOCH: u64 = 1_767_225_600;

/// Item `n` of the pool the vectors draw from: id SHA-256("kvitt reconcile vector item n"),
/// time EPOCH + 3600·(n mod 7), so that times repeat and order by id within a time.
fn pool_item(n: u32) -> Item {
    let id: [u8; 32] = Sha256::digest(format!("kvitt reconcile vector item {n}")).into();
    Item { time: EPOCH + 3600 * u64::from(n % 7), id: RecordId(id) }
}

/// These pool items, ascending.
fn pool(numbers: impl IntoIterator<Item = u32>) -> Vec<Item> {
    let mut items: Vec<Item> = numbers.into_iter().map(pool_item).collect();
    items.sort_unstable();
    items
}

/// The initiator's salt: the first 16 bytes of SHA-256("kvitt reconcile vector salt <label>
/// initiator").
fn vector_salt(label: &str) -> Salt {
    let digest = Sha256::digest(format!("kvitt reconcile vector salt {label} initiator"));
    let mut salt = [0u8; 16];
    salt.copy_from_slice(&digest[..16]);
    Salt(salt)
}

impl Side {
    /// The initiator of the vector labelled `label`, holding `items`.
    fn initiator(label: &str, items: Vec<Item>) -> Side {
        Side { salt: Some(vector_salt(label)), items }
    }

    /// A responder holding `items`.
    fn responder(items: Vec<Item>) -> Side {
        Side { salt: None, items }
    }

    /// The initiator's salt, which every hash of the session is keyed with.
    fn initiator_salt(&self) -> Result<Salt, String> {
        self.salt.ok_or_else(|| "the initiator has no salt".to_owned())
    }
}

// ---------------------------------------------------------------------------------------
// Running the reference: whole sessions, and one side over given frames.
// ---------------------------------------------------------------------------------------

enum Machine<'a> {
    Initiator(Initiator<'a>),
    Responder(Responder<'a>),
}

impl Machine<'_> {
    fn receive(&mut self, frame: &[u8]) -> Result<Step, ReconcileError> {
        match self {
            Machine::Initiator(initiator) => initiator.receive(frame),
            Machine::Responder(responder) => responder.receive(frame),
        }
    }
}

/// The live session between the two sides: every frame, and both outcomes.
fn live_session(initiator: &Side, responder: &Side) -> (Vec<Frame>, Outcome, Outcome) {
    let mut sides = [
        Machine::Initiator(Initiator::new(&initiator.items, initiator.initiator_salt().unwrap()).unwrap()),
        Machine::Responder(Responder::new(&responder.items).unwrap()),
    ];
    let Machine::Initiator(first) = &mut sides[0] else { unreachable!() };
    let mut frames = vec![Frame { from: Role::Initiator, bytes: first.start().unwrap() }];
    let mut outcomes: [Option<Outcome>; 2] = [None, None];
    while outcomes.iter().any(Option::is_none) {
        assert!(frames.len() < 100, "a vector's session runs away");
        let to = frames.last().unwrap().from.peer();
        let index = usize::from(to == Role::Responder);
        assert!(outcomes[index].is_none(), "the {} is sent a frame after it finished", to.name());
        let step = sides[index].receive(&frames.last().unwrap().bytes).unwrap();
        match step {
            Step::Send(bytes) => frames.push(Frame { from: to, bytes }),
            Step::Done { last, outcome } => {
                outcomes[index] = Some(outcome);
                frames.extend(last.map(|bytes| Frame { from: to, bytes }));
            }
        }
    }
    let [initiator_outcome, responder_outcome] = outcomes;
    (frames, initiator_outcome.unwrap(), responder_outcome.unwrap())
}

/// What replaying one side over committed frames found.
struct Replayed<'a> {
    machine: Machine<'a>,
    /// The outcome, if the side finished.
    outcome: Option<Outcome>,
}

/// Replays `role` alone over `frames`: a fresh state machine is fed each frame its peer
/// sent and must produce exactly the next committed frame of its own, in order, as an
/// ordinary frame or (at the very end) as its last.
fn replay<'a>(role: Role, side: &'a Side, frames: &[Frame]) -> Result<Replayed<'a>, String> {
    let mut machine = match role {
        Role::Initiator => Machine::Initiator(
            Initiator::new(&side.items, side.initiator_salt()?).map_err(|e| e.to_string())?,
        ),
        Role::Responder => Machine::Responder(Responder::new(&side.items).map_err(|e| e.to_string())?),
    };
    // What the side has produced and the frames have not yet shown, and whether it was its
    // last (with the outcome it finishes with).
    let mut pending: Option<(Vec<u8>, Option<Outcome>)> = match &mut machine {
        Machine::Initiator(initiator) => {
            Some((initiator.start().map_err(|error| format!("start: {error}"))?, None))
        }
        Machine::Responder(_) => None,
    };
    let mut outcome = None;
    for (index, frame) in frames.iter().enumerate() {
        if outcome.is_some() {
            return Err(format!("frames[{index}]: the {} had already finished", role.name()));
        }
        if frame.from == role {
            match pending.take() {
                Some((bytes, finishing)) if bytes == frame.bytes => outcome = finishing,
                Some((bytes, _)) => {
                    return Err(format!(
                        "frames[{index}]: the {} sends another frame ({})",
                        role.name(),
                        first_difference(&bytes, &frame.bytes)
                    ))
                }
                None => return Err(format!("frames[{index}]: the {} has nothing to send", role.name())),
            }
            continue;
        }
        if let Some((bytes, _)) = &pending {
            return Err(format!(
                "frames[{index}]: the {} would first send {}, which is not committed",
                role.name(),
                describe(bytes)
            ));
        }
        match machine.receive(&frame.bytes).map_err(|error| format!("frames[{index}] refused: {error}"))? {
            Step::Send(bytes) => pending = Some((bytes, None)),
            Step::Done { last: Some(bytes), outcome: finishing } => pending = Some((bytes, Some(finishing))),
            Step::Done { last: None, outcome: finished } => outcome = Some(finished),
        }
    }
    if let Some((bytes, _)) = pending {
        return Err(format!("the {} would send {}, which is not committed", role.name(), describe(&bytes)));
    }
    Ok(Replayed { machine, outcome })
}

/// A frame in a few words.
fn describe(frame: &[u8]) -> String {
    match Message::decode(frame) {
        Ok(message) => format!("a `{}` of {} bytes", message.kind(), frame.len()),
        Err(error) => format!("{} bytes ({error})", frame.len()),
    }
}

/// Where two frames part: the byte, and a few bytes of each from there.
fn first_difference(produced: &[u8], committed: &[u8]) -> String {
    let at = produced.iter().zip(committed).take_while(|(a, b)| a == b).count();
    let excerpt = |bytes: &[u8]| hex::encode(&bytes[at..bytes.len().min(at + 8)]);
    format!(
        "{} bytes, committed {}; from byte {at}: {} where the file has {}",
        produced.len(),
        committed.len(),
        excerpt(produced),
        excerpt(committed)
    )
}

/// The variant's name of an error: what the vectors state and the spec's §Errors names.
fn variant(error: &ReconcileError) -> String {
    format!("{error:?}").chars().take_while(char::is_ascii_alphanumeric).collect()
}

// ---------------------------------------------------------------------------------------
// Generated against committed.
// ---------------------------------------------------------------------------------------

fn rendered() -> BTreeMap<String, String> {
    golden::by_name(generate().iter().map(|vector| (vector.file_name(), vector.render())))
}

#[test]
fn committed_vectors_match_the_generator() {
    golden().check(rendered);
}
