//! The fallback: both sides stream their whole sorted item lists, [`MAX_ITEMS_PER_FRAME`]
//! at a time, each merging the peer's list against its own as it arrives. It costs 40
//! bytes an item, which beats coded symbols only when most items differ (one side empty,
//! disjoint sets), and it is exact and bounded for every input: the fallback when symbols
//! run out.
//!
//! Turns alternate: each side answers every `list` with its own next one (an empty one
//! with `done` once it has sent everything) until both have sent `done`; the side that
//! completes that with its own message sends it as its last.

use super::message::{pack_items, unpack_items, Message};
use super::{Item, Need, Outcome, ReconcileError, Step, MAX_ITEMS_PER_FRAME};

/// One side of a list exchange.
pub(crate) struct ListExchange<'a> {
    ours: &'a [Item],
    /// How many of ours have been sent.
    sent: usize,
    sent_done: bool,
    /// How many items the peer announced.
    announced: u64,
    received: u64,
    received_done: bool,
    last_received: Option<Item>,
    /// How many of ours have been compared with the peer's list.
    compared: usize,
    have: Vec<Item>,
    need: Vec<Item>,
}

impl<'a> ListExchange<'a> {
    pub(crate) fn new(ours: &'a [Item], announced: u64) -> ListExchange<'a> {
        ListExchange {
            ours,
            sent: 0,
            sent_done: false,
            announced,
            received: 0,
            received_done: false,
            last_received: None,
            compared: 0,
            have: Vec::new(),
            need: Vec::new(),
        }
    }

    /// Our next `list` message; `first` is the responder's count, for its first.
    pub(crate) fn next_message(&mut self, first: Option<u64>) -> Message {
        let end = self.ours.len().min(self.sent + MAX_ITEMS_PER_FRAME);
        let items = pack_items(self.ours.get(self.sent..end).unwrap_or_default());
        self.sent = end;
        self.sent_done = end == self.ours.len();
        Message::List { count: first, items, done: self.sent_done }
    }

    /// Merges the peer's next items into the outcome.
    pub(crate) fn receive(&mut self, items: &[u8], done: bool) -> Result<(), ReconcileError> {
        if self.received_done {
            // A side that has sent everything answers with empty lists until both are done.
            if items.is_empty() && done {
                return Ok(());
            }
            return Err(ReconcileError::Unexpected {
                kind: "list",
                state: "the peer had already sent all its items",
            });
        }
        for theirs in unpack_items(items) {
            if self.last_received.is_some_and(|last| last >= theirs) {
                return Err(ReconcileError::PeerUnsorted { what: "listed items" });
            }
            self.last_received = Some(theirs);
            self.received += 1;
            if self.received > self.announced {
                return Err(ReconcileError::WrongCount {
                    what: "items",
                    announced: self.announced as i64,
                    implied: self.received as i64,
                });
            }
            while let Some(ours) = self.ours.get(self.compared).filter(|ours| **ours < theirs) {
                self.have.push(*ours);
                self.compared += 1;
            }
            if self.ours.get(self.compared) == Some(&theirs) {
                self.compared += 1;
            } else {
                self.need.push(theirs);
            }
        }
        if done {
            if self.received != self.announced {
                return Err(ReconcileError::WrongCount {
                    what: "items",
                    announced: self.announced as i64,
                    implied: self.received as i64,
                });
            }
            self.have.extend(self.ours.get(self.compared..).unwrap_or_default());
            self.compared = self.ours.len();
            self.received_done = true;
        }
        Ok(())
    }

    fn finished(&self) -> bool {
        self.sent_done && self.received_done
    }

    fn outcome(&mut self) -> Outcome {
        let ids = |items: Vec<Item>| items.into_iter().map(|item| item.id).collect();
        Outcome::new(ids(std::mem::take(&mut self.have)), Need::Ids(ids(std::mem::take(&mut self.need))))
    }

    /// Takes the peer's `list` and says what to do: answer with ours, or finish.
    pub(crate) fn step(&mut self, items: &[u8], done: bool) -> Result<Step, ReconcileError> {
        self.receive(items, done)?;
        if self.finished() {
            return Ok(Step::Done { last: None, outcome: self.outcome() });
        }
        let answer = self.next_message(None).encode()?;
        if self.finished() {
            return Ok(Step::Done { last: Some(answer), outcome: self.outcome() });
        }
        Ok(Step::Send(answer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::RecordId;

    fn items(numbers: &[u8]) -> Vec<Item> {
        numbers.iter().map(|n| Item { time: u64::from(*n), id: RecordId([*n; 32]) }).collect()
    }

    #[test]
    fn merging_finds_both_sides_differences() {
        let (ours, theirs) = (items(&[1, 2, 4, 7]), items(&[2, 3, 4, 8, 9]));
        let mut exchange = ListExchange::new(&ours, theirs.len() as u64);
        exchange.next_message(None);
        exchange.receive(&pack_items(&theirs[..2]), false).unwrap();
        exchange.receive(&pack_items(&theirs[2..]), true).unwrap();
        assert!(exchange.finished());
        let outcome = exchange.outcome();
        assert_eq!(outcome.have, vec![RecordId([1; 32]), RecordId([7; 32])]);
        assert_eq!(outcome.need, Need::Ids(vec![RecordId([3; 32]), RecordId([8; 32]), RecordId([9; 32])]));
    }

    #[test]
    fn lists_must_ascend_and_match_their_count() {
        let ours = items(&[1]);
        let mut exchange = ListExchange::new(&ours, 2);
        assert_eq!(
            exchange.receive(&pack_items(&items(&[3, 2])), false),
            Err(ReconcileError::PeerUnsorted { what: "listed items" })
        );
        let mut exchange = ListExchange::new(&ours, 1);
        assert!(matches!(
            exchange.receive(&pack_items(&items(&[2, 3])), false),
            Err(ReconcileError::WrongCount { .. })
        ));
        let mut exchange = ListExchange::new(&ours, 3);
        assert!(matches!(
            exchange.receive(&pack_items(&items(&[2, 3])), true),
            Err(ReconcileError::WrongCount { .. })
        ));
        let mut exchange = ListExchange::new(&ours, 1);
        exchange.receive(&pack_items(&items(&[2])), true).unwrap();
        exchange.receive(&[], true).unwrap();
        assert!(matches!(exchange.receive(&[], false), Err(ReconcileError::Unexpected { .. })));
        assert!(matches!(
            exchange.receive(&pack_items(&items(&[3])), true),
            Err(ReconcileError::Unexpected { .. })
        ));
    }
}
