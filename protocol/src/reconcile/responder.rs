//! The side that answers a session: it compares the hello with its own set, and either
//! says the sets are the same, streams coded symbols sized by the estimate, or starts a
//! list exchange; then it resolves the tags the initiator lacks and checks the outcome.

use super::estimator::{digest_sum, estimate_difference, plausible, read_counters, Summary};
use super::hello::{HelloSummary, Summarised};
use super::initiator::check_peer_count;
use super::keys::SessionKeys;
use super::list::ListExchange;
use super::message::{pack_symbols, Fingerprint, Message};
use super::symbol::Coder;
use super::transfer::{Lacking, Receiver};
use super::{
    check_local_items, Item, Need, Outcome, ReconcileError, Salt, Step, MAX_RECONCILE_ROUNDS,
    MAX_RECONCILE_SYMBOLS, MAX_SYMBOLS_PER_FRAME, RECONCILE_VERSION,
};

/// Symbols in the first batch per estimated difference, in tenths: decoding needs about
/// 1.35 per difference for large differences (more for small ones, which
/// [`FIRST_BATCH_EXTRA`] covers), and the estimate has a standard deviation of 1/8 of the
/// difference, so 1.35 / (1 − 2 × 1/8) = 1.8 still suffices when the estimate is two
/// standard deviations low: a third round trip about one session in a hundred, not one in
/// five as with 1.5 (spec/reconcile.md §Choices of the reference implementation).
const FIRST_BATCH_TENTHS_PER_DIFFERENCE: u64 = 18;
/// Symbols added to every first batch: small differences need proportionally more.
const FIRST_BATCH_EXTRA: u64 = 12;

/// The responder of a session over a borrowed, sorted item slice.
pub struct Responder<'a> {
    items: &'a [Item],
    /// The hello summary of `items` under the salt the caller expects the initiator to
    /// use, if it keeps one.
    kept: Option<HelloSummary>,
    /// Frames received so far (each is one initiator message).
    rounds: usize,
    state: State<'a>,
}

enum State<'a> {
    /// Waiting for the hello.
    Ready,
    /// Sending coded symbols, then resolving tags.
    Coding(Box<Coding>),
    /// Exchanging whole lists.
    Listing(ListExchange<'a>),
    /// Finished or failed.
    Over,
}

impl State<'_> {
    fn name(&self) -> &'static str {
        match self {
            State::Ready => "waiting for the hello",
            State::Coding(_) => "sending coded symbols",
            State::Listing(_) => "exchanging item lists",
            State::Over => "over",
        }
    }
}

struct Coding {
    keys: SessionKeys,
    summary: Summary,
    their_count: u64,
    their_fingerprint: u128,
    coder: Coder,
    receiver: Receiver,
    /// Whether a `decoded` has come: no more symbols then.
    transferring: bool,
}

impl<'a> Responder<'a> {
    /// A session over `items`, which must be strictly ascending in (time, id) order and at
    /// most [`super::MAX_RECONCILE_ITEMS`]. The responder has no salt: every hash of a
    /// session is keyed with the initiator's (spec/reconcile.md §Keys and hashes).
    pub fn new(items: &'a [Item]) -> Result<Responder<'a>, ReconcileError> {
        check_local_items(items)?;
        Ok(Responder { items, kept: None, rounds: 0, state: State::Ready })
    }

    /// A session over `items` as [`Responder::new`], with `hello`, a summary of `items` the
    /// caller keeps under the salt this peer's hellos use (spec/reconcile.md §Keys and
    /// hashes): a hello under that salt then costs no hashing, and the items are hashed
    /// only if the sets differ. A summary under another salt, or whose count is not that
    /// of `items`, is not used.
    pub fn with_hello(items: &'a [Item], hello: HelloSummary) -> Result<Responder<'a>, ReconcileError> {
        check_local_items(items)?;
        Ok(Responder { items, kept: Some(hello), rounds: 0, state: State::Ready })
    }

    /// How many frames this side has received.
    pub fn rounds(&self) -> usize {
        self.rounds
    }

    /// Takes the initiator's next frame. Any error ends the session.
    pub fn receive(&mut self, frame: &[u8]) -> Result<Step, ReconcileError> {
        let state = std::mem::replace(&mut self.state, State::Over);
        let result = self.advance(state, frame);
        if result.is_err() || matches!(result, Ok(Step::Done { .. })) {
            self.state = State::Over;
        }
        result
    }

    fn advance(&mut self, state: State<'a>, frame: &[u8]) -> Result<Step, ReconcileError> {
        if matches!(state, State::Over) {
            return Err(ReconcileError::Finished);
        }
        if self.rounds >= MAX_RECONCILE_ROUNDS {
            return Err(ReconcileError::TooManyRounds { limit: MAX_RECONCILE_ROUNDS });
        }
        self.rounds += 1;
        let message = Message::decode(frame)?;
        match (state, message) {
            (State::Ready, Message::Hello { version, salt, count, fingerprint, estimator }) => {
                if version != RECONCILE_VERSION {
                    return Err(ReconcileError::Version { version });
                }
                check_peer_count(count)?;
                let counters = read_counters(&estimator);
                if !plausible(&counters, count) {
                    let largest =
                        counters.iter().map(|counter| (*counter as i16).unsigned_abs()).max().unwrap_or(0);
                    return Err(ReconcileError::WrongCount {
                        what: "items (by the estimator)",
                        announced: count as i64,
                        implied: i64::from(largest),
                    });
                }
                self.hello(salt, count, fingerprint, &counters)
            }
            (State::Coding(coding), Message::More { symbols }) if !coding.transferring => {
                self.more(coding, symbols)
            }
            (State::Coding(coding), Message::Decoded { count, fingerprint, tags, done })
                // The first `decoded` says what we lack; later ones do not.
                if coding.transferring == count.is_none() =>
            {
                let lacking = count
                    .zip(fingerprint)
                    .map(|(count, fingerprint)| Lacking { count, sum: fingerprint.sum() });
                self.decoded(coding, lacking, &tags, done)
            }
            (State::Coding(coding), Message::List { count: None, items, done })
                if !coding.transferring =>
            {
                // The initiator ran out of symbols and falls back to lists.
                self.list(ListExchange::new(self.items, coding.their_count), &items, done)
            }
            (State::Listing(exchange), Message::List { count: None, items, done }) => {
                self.list(exchange, &items, done)
            }
            (state, message) => Err(ReconcileError::Unexpected { kind: message.kind(), state: state.name() }),
        }
    }

    fn hello(
        &mut self,
        their_salt: Salt,
        their_count: u64,
        their_fingerprint: Fingerprint,
        their_counters: &[u16],
    ) -> Result<Step, ReconcileError> {
        let Summarised { keys, summary, symbols, digests } =
            HelloSummary::summarise(self.kept.take(), self.items, their_salt);
        if summary.count == their_count && summary.fingerprint == their_fingerprint.sum() {
            let frame = Message::Same.encode()?;
            return Ok(Step::Done { last: Some(frame), outcome: Outcome::default() });
        }
        let difference = estimate_difference(&summary, their_count, their_counters).max(1);
        if prefers_lists(difference, their_count, summary.count) {
            let mut exchange = ListExchange::new(self.items, their_count);
            let frame = exchange.next_message(Some(summary.count)).encode()?;
            self.state = State::Listing(exchange);
            return Ok(Step::Send(frame));
        }
        let mut coder = Coder::new(symbols, digests);
        let batch = difference
            .saturating_mul(FIRST_BATCH_TENTHS_PER_DIFFERENCE)
            .div_ceil(10)
            .saturating_add(FIRST_BATCH_EXTRA)
            .min(MAX_SYMBOLS_PER_FRAME as u64) as usize;
        let symbols = pack_symbols(&coder.produce(batch, self.items, &keys));
        let frame = Message::Symbols {
            count: Some(summary.count),
            fingerprint: Some(Fingerprint::of_sum(summary.fingerprint)),
            start: 0,
            symbols,
        }
        .encode()?;
        self.state = State::Coding(Box::new(Coding {
            keys,
            summary,
            their_count,
            their_fingerprint: their_fingerprint.sum(),
            coder,
            receiver: Receiver::default(),
            transferring: false,
        }));
        Ok(Step::Send(frame))
    }

    /// Answers a `decoded` with the ids of its tags; after the last, checks that the
    /// outcome turns our count and fingerprint into the initiator's.
    fn decoded(
        &mut self,
        mut coding: Box<Coding>,
        lacking: Option<Lacking>,
        tags: &[u8],
        done: bool,
    ) -> Result<Step, ReconcileError> {
        coding.transferring = true;
        let decodable = coding.coder.produced();
        let Coding { receiver, keys, .. } = &mut *coding;
        let frame = receiver.receive(lacking, tags, self.items, keys, decodable)?.encode()?;
        if !done {
            self.state = State::Coding(coding);
            return Ok(Step::Send(frame));
        }
        let (have, need) = coding.receiver.result();
        // `need.count` is at most the symbols sent (checked on receipt): no overflow.
        let implied = coding.summary.count as i64 - have.len() as i64 + need.count as i64;
        if implied != coding.their_count as i64 {
            return Err(ReconcileError::WrongCount {
                what: "items",
                announced: coding.their_count as i64,
                implied,
            });
        }
        let removed = digest_sum(coding.keys.hello(), have);
        if coding.summary.fingerprint_after(removed, need.sum) != coding.their_fingerprint {
            return Err(ReconcileError::Verification);
        }
        Ok(Step::Done { last: Some(frame), outcome: Outcome::new(have.to_vec(), Need::Count(need.count)) })
    }

    fn more(&mut self, mut coding: Box<Coding>, symbols: u64) -> Result<Step, ReconcileError> {
        let start = coding.coder.produced();
        let total = start.saturating_add(symbols);
        if total > MAX_RECONCILE_SYMBOLS as u64 {
            return Err(ReconcileError::TooMany {
                what: "symbols in the session",
                count: total,
                limit: MAX_RECONCILE_SYMBOLS as u64,
            });
        }
        let symbols = pack_symbols(&coding.coder.produce(symbols as usize, self.items, &coding.keys));
        let frame = Message::Symbols { count: None, fingerprint: None, start, symbols }.encode()?;
        self.state = State::Coding(coding);
        Ok(Step::Send(frame))
    }

    fn list(
        &mut self,
        mut exchange: ListExchange<'a>,
        items: &[u8],
        done: bool,
    ) -> Result<Step, ReconcileError> {
        let step = exchange.step(items, done)?;
        if let Step::Send(_) = step {
            self.state = State::Listing(exchange);
        }
        Ok(step)
    }
}

/// Whether exchanging lists (40 bytes an item, both sets) is expected to cost less than
/// symbols and the decoded exchange (about 70 bytes a difference), or the difference is
/// beyond what the symbols can decode, or one set is empty (the difference is all of the
/// other).
fn prefers_lists(difference: u64, their_count: u64, our_count: u64) -> bool {
    their_count == 0
        || our_count == 0
        || u128::from(difference) * 70 >= u128::from(their_count + our_count) * 40
        || u128::from(difference) * 14 > MAX_RECONCILE_SYMBOLS as u128 * 10
}
