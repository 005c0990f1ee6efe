//! Peer requests decoded ahead, on a second thread: decoding a delivered batch and
//! verifying its signatures is a pure function of the sender's key and the bytes
//! (`kvitt_node::runtime::decode_peer_request`, which `kvitt run` also calls off the core's
//! thread), so it can run while the request is still on the simulated wire. The run stays
//! one sequence of events on one thread, and its wire and ledger hashes do not change.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use kvitt_node::core::PeerRequest;
use kvitt_node::runtime::decode_peer_request;
use kvitt_protocol::PublicKey;

/// A request handed to the [`Predecoder`], to take its decoding back by.
pub type Ticket = u64;

/// What `decode_peer_request` returns: the sender's directory version and the request.
pub type Decoded = (u64, PeerRequest);

type Job = (Ticket, PublicKey, Arc<[u8]>);

/// Decodes requests on its own thread, in the order handed in; results are taken back
/// in any order.
pub struct Predecoder {
    jobs: Option<Sender<Job>>,
    /// In a mutex only so that the world stays `Sync` for the end checks' threads; it is
    /// reached through `&mut self` (`get_mut`), never locked.
    results: Mutex<Receiver<(Ticket, Decoded)>>,
    /// Results received and not yet taken.
    ready: HashMap<Ticket, Decoded>,
    /// Tickets whose result nobody will take (the receiver was down): dropped on arrival.
    forgotten: HashSet<Ticket>,
    next: Ticket,
    worker: Option<JoinHandle<()>>,
}

impl Predecoder {
    /// A decoder with its thread started (or none if the thread cannot start: then
    /// [`Predecoder::take`] answers `None` and the caller decodes itself).
    pub fn new() -> Predecoder {
        let (jobs, inbox) = mpsc::channel::<Job>();
        let (outbox, results) = mpsc::channel();
        let worker = std::thread::Builder::new()
            .name("kvitt-sim-decode".into())
            .spawn(move || {
                for (ticket, from, bytes) in inbox {
                    if outbox.send((ticket, decode_peer_request(from, &bytes))).is_err() {
                        return;
                    }
                }
            })
            .ok();
        Predecoder {
            jobs: worker.as_ref().map(|_| jobs),
            results: Mutex::new(results),
            ready: HashMap::new(),
            forgotten: HashSet::new(),
            next: 0,
            worker,
        }
    }

    /// Starts decoding `bytes`, a request from `from`.
    pub fn submit(&mut self, from: PublicKey, bytes: Arc<[u8]>) -> Ticket {
        self.next += 1;
        if let Some(jobs) = &self.jobs {
            if jobs.send((self.next, from, bytes)).is_err() {
                self.jobs = None;
            }
        }
        self.next
    }

    /// The decoding of `ticket`, waiting for it if need be; `None` if the thread is gone
    /// (it never started, or it panicked), and the caller must decode the bytes itself.
    pub fn take(&mut self, ticket: Ticket) -> Option<Decoded> {
        loop {
            if let Some(decoded) = self.ready.remove(&ticket) {
                return Some(decoded);
            }
            let results = self.results.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
            let (done, decoded) = results.recv().ok()?;
            if !self.forgotten.remove(&done) {
                self.ready.insert(done, decoded);
            }
        }
    }

    /// `ticket`'s result will not be taken.
    pub fn forget(&mut self, ticket: Ticket) {
        if self.ready.remove(&ticket).is_none() && ticket <= self.next {
            self.forgotten.insert(ticket);
        }
    }
}

impl Default for Predecoder {
    fn default() -> Predecoder {
        Predecoder::new()
    }
}

impl Drop for Predecoder {
    /// Closes the queue, so the thread ends after the jobs in it, and waits for it.
    fn drop(&mut self) {
        self.jobs = None;
        // Results still queued are dropped with the receiver; the thread's send fails
        // and it returns.
        self.ready.clear();
        if let Some(worker) = self.worker.take() {
            // A panic in the thread was reported by `take` answering `None`.
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kvitt_protocol::wire::{RecordBytes, Request, RequestBody};
    use kvitt_protocol::Signed;

    #[test]
    fn results_come_back_by_ticket_in_any_order_and_equal_decoding_in_place() {
        let merchant = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
        let from = PublicKey::from(merchant.verifying_key());
        let requests: Vec<Arc<[u8]>> = (1..=3u64)
            .map(|serial| {
                let receipt =
                    kvitt_protocol::sample::receipt("556000-0001", "202100-5489", "KASSA-1", serial);
                let signed = Signed::sign(receipt, &merchant).unwrap();
                let records = vec![RecordBytes(signed.bytes().to_vec())];
                let request = Request { directory_version: serial, body: RequestBody::Deliver { records } };
                request.encode().unwrap().into()
            })
            .collect();
        let mut decoder = Predecoder::new();
        let tickets: Vec<Ticket> = requests.iter().map(|bytes| decoder.submit(from, bytes.clone())).collect();
        decoder.forget(tickets[1]);
        for index in [2, 0] {
            let (version, request) = decoder.take(tickets[index]).unwrap();
            let (expected_version, expected) = decode_peer_request(from, &requests[index]);
            assert_eq!(version, expected_version);
            assert_eq!(format!("{request:?}"), format!("{expected:?}"));
        }
        assert!(decoder.ready.is_empty() && decoder.forgotten.is_empty());
    }
}
