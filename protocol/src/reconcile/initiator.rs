//! The side that opens a session: it says hello, decodes the responder's coded symbols
//! against its own, asks for more until they decode, and then tells the responder what
//! each side lacks.

use super::estimator::{digest_sum, Summary};
use super::hello::{HelloSummary, Summarised};
use super::keys::SessionKeys;
use super::list::ListExchange;
use super::lookup::find_tags;
use super::message::{Fingerprint, Message};
use super::symbol::{CodedSymbol, Coder, Decoder};
use super::transfer::Sender;
use super::{
    check_local_items, Item, Need, Outcome, ReconcileError, Salt, Step, MAX_RECONCILE_ITEMS,
    MAX_RECONCILE_ROUNDS, MAX_RECONCILE_SYMBOLS, MAX_SYMBOLS_PER_FRAME, RECONCILE_VERSION,
};

/// The fewest symbols a `more` asks for.
const MIN_MORE_SYMBOLS: usize = 16;

/// The initiator of a session over a borrowed, sorted item slice.
pub struct Initiator<'a> {
    items: &'a [Item],
    salt: Salt,
    /// The hello summary of `items` under `salt`, if the caller keeps one.
    kept: Option<HelloSummary>,
    /// Messages sent so far, the hello included.
    rounds: usize,
    state: State<'a>,
}

enum State<'a> {
    /// Built; the hello not yet made.
    Ready,
    /// The hello went out; the coder of our symbols waits for the responder's.
    Hello(Box<Hello>, Box<Coder>),
    /// Receiving coded symbols.
    Decoding(Box<Decoding>),
    /// Decoded; exchanging items and tags.
    Transferring(Box<Transferring>),
    /// Exchanging whole lists.
    Listing(ListExchange<'a>),
    /// Finished or failed.
    Over,
}

impl State<'_> {
    fn name(&self) -> &'static str {
        match self {
            State::Ready => "not yet started",
            State::Hello(..) => "waiting for the responder's first answer",
            State::Decoding(_) => "decoding coded symbols",
            State::Transferring(_) => "exchanging the decoded difference",
            State::Listing(_) => "exchanging item lists",
            State::Over => "over",
        }
    }
}

/// What the hello told the responder, and the keys of the session.
struct Hello {
    keys: SessionKeys,
    summary: Summary,
}

/// What the responder's first answer told us.
struct Peer {
    count: u64,
    fingerprint: u128,
}

struct Decoding {
    hello: Hello,
    peer: Peer,
    coder: Box<Coder>,
    decoder: Decoder,
    /// How many symbols the last `more` asked for.
    asked: Option<usize>,
}

struct Transferring {
    hello: Hello,
    peer: Peer,
    sender: Sender,
}

impl<'a> Initiator<'a> {
    /// A session over `items`, which must be strictly ascending in (time, id) order and at
    /// most [`MAX_RECONCILE_ITEMS`]; `salt` must be fresh random bytes.
    pub fn new(items: &'a [Item], salt: Salt) -> Result<Initiator<'a>, ReconcileError> {
        check_local_items(items)?;
        Ok(Initiator { items, salt, kept: None, rounds: 0, state: State::Ready })
    }

    /// A session over `items` under the salt of `hello`, a summary of `items` the caller
    /// keeps for sessions with this peer (spec/reconcile.md §Keys and hashes): the hello
    /// then costs no hashing, and the items are hashed only if the sets differ. A summary
    /// whose count is not that of `items` is not used.
    pub fn with_hello(items: &'a [Item], hello: HelloSummary) -> Result<Initiator<'a>, ReconcileError> {
        check_local_items(items)?;
        Ok(Initiator { items, salt: hello.salt(), kept: Some(hello), rounds: 0, state: State::Ready })
    }

    /// The first frame, the hello: the item count, the salted fingerprint and the
    /// difference estimator. Hashes every item once, unless a kept summary says it all.
    pub fn start(&mut self) -> Result<Vec<u8>, ReconcileError> {
        if !matches!(self.state, State::Ready) {
            return Err(ReconcileError::Unexpected { kind: "hello", state: "already started" });
        }
        let Summarised { keys, summary, symbols, digests } =
            HelloSummary::summarise(self.kept.take(), self.items, self.salt);
        let hello = Message::Hello {
            version: RECONCILE_VERSION,
            salt: self.salt,
            count: summary.count,
            fingerprint: Fingerprint::of_sum(summary.fingerprint),
            estimator: summary.estimator_bytes(),
        };
        let frame = self.send(&hello)?;
        self.state = State::Hello(Box::new(Hello { keys, summary }), Box::new(Coder::new(symbols, digests)));
        Ok(frame)
    }

    /// How many frames this side has sent.
    pub fn rounds(&self) -> usize {
        self.rounds
    }

    /// Takes the responder's next frame. Any error ends the session.
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
        let message = Message::decode(frame)?;
        match (state, message) {
            (State::Hello(..), Message::Same) => Ok(Step::Done { last: None, outcome: Outcome::default() }),
            (
                State::Hello(hello, coder),
                Message::Symbols { count: Some(count), fingerprint: Some(fingerprint), start, symbols },
            ) => {
                check_peer_count(count)?;
                let peer = Peer { count, fingerprint: fingerprint.sum() };
                let decoding = Box::new(Decoding {
                    hello: *hello,
                    peer,
                    coder,
                    decoder: Decoder::default(),
                    asked: None,
                });
                self.decode(decoding, start, &symbols)
            }
            (State::Hello(..), Message::List { count: Some(count), items, done }) => {
                check_peer_count(count)?;
                let exchange = ListExchange::new(self.items, count);
                self.list(exchange, &items, done)
            }
            (State::Decoding(decoding), Message::Symbols { count: None, start, symbols, .. }) => {
                self.decode(decoding, start, &symbols)
            }
            (State::Transferring(transferring), Message::Resolved { ids }) => {
                self.resolved(transferring, &ids)
            }
            (State::Listing(exchange), Message::List { count: None, items, done }) => {
                self.list(exchange, &items, done)
            }
            (state, message) => Err(ReconcileError::Unexpected { kind: message.kind(), state: state.name() }),
        }
    }

    /// Encodes a frame to send, counting it against [`MAX_RECONCILE_ROUNDS`].
    fn send(&mut self, message: &Message) -> Result<Vec<u8>, ReconcileError> {
        if self.rounds >= MAX_RECONCILE_ROUNDS {
            return Err(ReconcileError::TooManyRounds { limit: MAX_RECONCILE_ROUNDS });
        }
        let frame = message.encode()?;
        self.rounds += 1;
        Ok(frame)
    }

    fn decode(
        &mut self,
        mut decoding: Box<Decoding>,
        start: u64,
        symbols: &[u8],
    ) -> Result<Step, ReconcileError> {
        let received = decoding.decoder.received();
        if start != received as u64 {
            return Err(ReconcileError::malformed(format!("symbols: start {start}, expected {received}")));
        }
        let theirs = CodedSymbol::read_all(symbols)?;
        if theirs.is_empty() || decoding.asked.is_some_and(|asked| asked != theirs.len()) {
            return Err(ReconcileError::WrongCount {
                what: "symbols",
                announced: decoding.asked.unwrap_or(1) as i64,
                implied: theirs.len() as i64,
            });
        }
        let total = received + theirs.len();
        if total > MAX_RECONCILE_SYMBOLS {
            return Err(ReconcileError::TooMany {
                what: "symbols in the session",
                count: total as u64,
                limit: MAX_RECONCILE_SYMBOLS as u64,
            });
        }
        let ours = decoding.coder.produce(theirs.len(), self.items, &decoding.hello.keys);
        decoding.decoder.add(&theirs, &ours, &decoding.hello.keys)?;
        if decoding.decoder.is_complete()? {
            return self.decoded(decoding);
        }
        if total >= MAX_RECONCILE_SYMBOLS {
            // The symbols ran out: fall back to lists.
            let mut exchange = ListExchange::new(self.items, decoding.peer.count);
            let frame = self.send(&exchange.next_message(None))?;
            self.state = State::Listing(exchange);
            return Ok(Step::Send(frame));
        }
        let more =
            (total / 2).clamp(MIN_MORE_SYMBOLS, MAX_SYMBOLS_PER_FRAME).min(MAX_RECONCILE_SYMBOLS - total);
        decoding.asked = Some(more);
        let frame = self.send(&Message::More { symbols: more as u64 })?;
        self.state = State::Decoding(decoding);
        Ok(Step::Send(frame))
    }

    /// The difference decoded: our items it names, the tags of theirs, and the first
    /// `decoded` message.
    fn decoded(&mut self, decoding: Box<Decoding>) -> Result<Step, ReconcileError> {
        let Decoding { hello, peer, decoder, .. } = *decoding;
        let tags = decoder.tags();
        let positions = find_tags(self.items, &tags, &hello.keys)?;
        let (mut have, mut theirs) = (Vec::new(), Vec::new());
        for (tag, position) in tags.into_iter().zip(positions) {
            match position {
                Some(position) => have.push(
                    self.items
                        .get(position)
                        .ok_or(ReconcileError::InconsistentSymbols {
                            reason: "a decoded tag out of our items",
                        })?
                        .id,
                ),
                None => theirs.push(tag),
            }
        }
        let implied = hello.summary.count as i64 - have.len() as i64 + theirs.len() as i64;
        if implied != peer.count as i64 {
            return Err(ReconcileError::WrongCount { what: "items", announced: peer.count as i64, implied });
        }
        let lacks_none = theirs.is_empty();
        let mut sender = Sender::new(have, theirs, &hello.keys);
        if lacks_none && hello.summary.fingerprint_after(sender.have_sum(), 0) != peer.fingerprint {
            return Err(ReconcileError::Verification);
        }
        let frame = self.send(&sender.next_message())?;
        self.state = State::Transferring(Box::new(Transferring { hello, peer, sender }));
        Ok(Step::Send(frame))
    }

    fn resolved(&mut self, mut transferring: Box<Transferring>, ids: &[u8]) -> Result<Step, ReconcileError> {
        transferring.sender.receive(ids, &transferring.hello.keys)?;
        if !transferring.sender.is_done_sending() {
            let frame = self.send(&transferring.sender.next_message())?;
            self.state = State::Transferring(transferring);
            return Ok(Step::Send(frame));
        }
        let Transferring { hello, peer, sender, .. } = *transferring;
        let (have, need) = sender.result();
        let added = digest_sum(hello.keys.hello(), need);
        if hello.summary.fingerprint_after(sender.have_sum(), added) != peer.fingerprint {
            return Err(ReconcileError::Verification);
        }
        Ok(Step::Done { last: None, outcome: Outcome::new(have.to_vec(), Need::Ids(need.to_vec())) })
    }

    fn list(
        &mut self,
        mut exchange: ListExchange<'a>,
        items: &[u8],
        done: bool,
    ) -> Result<Step, ReconcileError> {
        let step = exchange.step(items, done)?;
        if let Step::Send(_) | Step::Done { last: Some(_), .. } = step {
            if self.rounds >= MAX_RECONCILE_ROUNDS {
                return Err(ReconcileError::TooManyRounds { limit: MAX_RECONCILE_ROUNDS });
            }
            self.rounds += 1;
        }
        if let Step::Send(_) = step {
            self.state = State::Listing(exchange);
        }
        Ok(step)
    }
}

/// A peer may hold no more items than we may.
pub(crate) fn check_peer_count(count: u64) -> Result<(), ReconcileError> {
    if count > MAX_RECONCILE_ITEMS as u64 {
        return Err(ReconcileError::TooMany {
            what: "peer's items",
            count,
            limit: MAX_RECONCILE_ITEMS as u64,
        });
    }
    Ok(())
}
