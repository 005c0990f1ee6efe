//! The receive budget: the memory that request frames from peers may take, shared fairly
//! between peers and reserved as their bytes arrive, never as lengths are announced.
//!
//! A request stream first reads its 4-byte length prefix, which costs nothing. To read the
//! payload it needs a **reading slot**: one of its peer's [`MAX_READING_STREAMS_PER_PEER`]
//! and one of the node's [`MAX_READING_STREAMS`]; streams beyond wait, holding no memory,
//! while QUIC flow control holds back their senders. A reading stream reserves **bytes**
//! for its buffer as the buffer fills: [`READ_CHUNK_BYTES`] at first, doubled each time it
//! is full, never more than the announced length; so it holds at most twice what has
//! arrived, and a stream that announced 4 MiB and sent 12 bytes holds 64 KiB. Bytes come
//! from the peer's share ([`PEER_BUFFERED_REQUEST_BYTES`]), then from the node's budget
//! ([`MAX_BUFFERED_REQUEST_BYTES`]), and stay reserved until the node has answered the
//! request. A reading stream that receives nothing for [`REQUEST_STALL_TIMEOUT`] is cut.
//!
//! One peer therefore holds at most its share and a few of the node's slots, whatever it
//! announces and however slowly it sends, and other peers' requests go on. Every reading
//! stream can always finish: the slots times [`MAX_FRAME_BYTES`] fit in the budget (both
//! the peer's and the node's), and what finished requests hold is released as they are
//! answered.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use kvitt_protocol::PublicKey;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::frame::{read_header, FrameError, HEADER_BYTES};
use super::{
    MAX_BUFFERED_REQUEST_BYTES, MAX_FRAME_BYTES, MAX_READING_STREAMS, MAX_READING_STREAMS_PER_PEER,
    PEER_BUFFERED_REQUEST_BYTES, READ_CHUNK_BYTES, REQUEST_STALL_TIMEOUT,
};

/// The budget's sizes; [`Sizes::default`] is the constants of the same names.
#[derive(Clone, Copy, Debug)]
pub(super) struct Sizes {
    /// [`MAX_BUFFERED_REQUEST_BYTES`].
    pub(super) node_bytes: usize,
    /// [`PEER_BUFFERED_REQUEST_BYTES`].
    pub(super) peer_bytes: usize,
    /// [`MAX_READING_STREAMS`].
    pub(super) node_readers: usize,
    /// [`MAX_READING_STREAMS_PER_PEER`].
    pub(super) peer_readers: usize,
    /// [`MAX_FRAME_BYTES`].
    pub(super) frame_bytes: usize,
    /// [`READ_CHUNK_BYTES`].
    pub(super) chunk_bytes: usize,
    /// [`REQUEST_STALL_TIMEOUT`].
    pub(super) stall: Duration,
}

impl Default for Sizes {
    fn default() -> Sizes {
        Sizes {
            node_bytes: MAX_BUFFERED_REQUEST_BYTES,
            peer_bytes: PEER_BUFFERED_REQUEST_BYTES,
            node_readers: MAX_READING_STREAMS,
            peer_readers: MAX_READING_STREAMS_PER_PEER,
            frame_bytes: MAX_FRAME_BYTES,
            chunk_bytes: READ_CHUNK_BYTES,
            stall: REQUEST_STALL_TIMEOUT,
        }
    }
}

/// The node's receive budget (see the module documentation).
pub(super) struct ReceiveBudget {
    sizes: Sizes,
    bytes: Arc<Semaphore>,
    readers: Arc<Semaphore>,
    /// Each peer's share while any of its streams holds it.
    shares: Mutex<HashMap<PublicKey, Weak<Share>>>,
}

/// One peer's share of the budget.
struct Share {
    bytes: Arc<Semaphore>,
    readers: Arc<Semaphore>,
}

/// The budget one request holds until it is dropped: bytes of its peer's share and of the
/// node's budget, as many of each.
pub(super) struct Held {
    share: Arc<Share>,
    peer: Option<OwnedSemaphorePermit>,
    node: Option<OwnedSemaphorePermit>,
}

impl Held {
    /// Reserves `more` bytes, from the peer's share first, then from the node's budget.
    async fn grow(&mut self, more: usize, node: &Arc<Semaphore>) -> Result<(), FrameError> {
        let permits = u32::try_from(more).map_err(|_| closed())?;
        let peer = Arc::clone(&self.share.bytes).acquire_many_owned(permits).await.map_err(|_| closed())?;
        let node = Arc::clone(node).acquire_many_owned(permits).await.map_err(|_| closed())?;
        merge(&mut self.peer, peer);
        merge(&mut self.node, node);
        Ok(())
    }
}

fn merge(held: &mut Option<OwnedSemaphorePermit>, more: OwnedSemaphorePermit) {
    match held {
        Some(permit) => permit.merge(more),
        None => *held = Some(more),
    }
}

fn closed() -> FrameError {
    FrameError::Io(io::Error::other("the receive budget is closed"))
}

impl ReceiveBudget {
    /// A budget of `sizes`; each reading slot's frame fits in the bytes it may need.
    pub(super) fn new(sizes: Sizes) -> ReceiveBudget {
        let sizes = Sizes {
            node_bytes: sizes.node_bytes.max(sizes.frame_bytes.saturating_mul(sizes.node_readers)),
            peer_bytes: sizes.peer_bytes.max(sizes.frame_bytes.saturating_mul(sizes.peer_readers)),
            node_readers: sizes.node_readers.max(1),
            peer_readers: sizes.peer_readers.max(1),
            chunk_bytes: sizes.chunk_bytes.max(1),
            ..sizes
        };
        ReceiveBudget {
            sizes,
            bytes: Arc::new(Semaphore::new(sizes.node_bytes)),
            readers: Arc::new(Semaphore::new(sizes.node_readers)),
            shares: Mutex::new(HashMap::new()),
        }
    }

    /// `peer`'s share: the one its other streams hold, or a new one.
    fn share(&self, peer: PublicKey) -> Arc<Share> {
        let mut shares = self.shares.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(share) = shares.get(&peer).and_then(Weak::upgrade) {
            return share;
        }
        shares.retain(|_, share| share.strong_count() > 0);
        let share = Arc::new(Share {
            bytes: Arc::new(Semaphore::new(self.sizes.peer_bytes)),
            readers: Arc::new(Semaphore::new(self.sizes.peer_readers)),
        });
        shares.insert(peer, Arc::downgrade(&share));
        share
    }

    /// Reads one request frame from `peer` (the length prefix, the payload, then the end
    /// of the stream), reserving budget as its bytes arrive. The bytes stay reserved while
    /// the returned [`Held`] lives.
    pub(super) async fn read_request<R: AsyncRead + Unpin>(
        &self,
        peer: PublicKey,
        reader: &mut R,
    ) -> Result<(Vec<u8>, Held), FrameError> {
        let length = read_header(reader, self.sizes.frame_bytes).await?;
        let share = self.share(peer);
        // A slot of the peer's first, so that a peer waiting for its own takes none of the node's.
        let peer_slot = Arc::clone(&share.readers).acquire_owned().await.map_err(|_| closed())?;
        let node_slot = Arc::clone(&self.readers).acquire_owned().await.map_err(|_| closed())?;
        let mut held = Held { share, peer: None, node: None };
        let mut payload = Vec::new();
        while payload.len() < length {
            if payload.len() == payload.capacity() {
                let capacity = match payload.capacity() {
                    0 => self.sizes.chunk_bytes,
                    full => full.saturating_mul(2),
                }
                .min(length);
                let more = capacity - payload.len();
                held.grow(more, &self.bytes).await?;
                payload.reserve_exact(more);
            }
            let room = (payload.capacity() - payload.len()).min(length - payload.len());
            let read = self.progress((&mut *reader).take(room as u64).read_buf(&mut payload)).await?;
            if read == 0 {
                return Err(FrameError::Truncated {
                    expected: (HEADER_BYTES + length) as u64,
                    received: (HEADER_BYTES + payload.len()) as u64,
                });
            }
        }
        let mut probe = [0u8; 1];
        if self.progress(reader.read(&mut probe)).await? != 0 {
            return Err(FrameError::Trailing);
        }
        drop((node_slot, peer_slot));
        Ok((payload, held))
    }

    /// Waits for `read` while the peer is expected to send, at most the stall timeout.
    async fn progress(
        &self,
        read: impl std::future::Future<Output = io::Result<usize>>,
    ) -> Result<usize, FrameError> {
        match tokio::time::timeout(self.sizes.stall, read).await {
            Ok(read) => Ok(read?),
            Err(_) => Err(FrameError::Stalled { after: self.sizes.stall }),
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncWriteExt, DuplexStream};
    use tokio::task::JoinHandle;

    use super::*;

    const A: [u8; 32] = [1; 32];
    const B: [u8; 32] = [2; 32];

    fn peer(seed: [u8; 32]) -> PublicKey {
        PublicKey::from(ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key())
    }

    /// Frames of 1000 bytes, buffers from 100, two readers and 2000 bytes a peer, four
    /// readers and 4000 bytes in all, the stall timeout of the node.
    fn small() -> Sizes {
        Sizes {
            node_bytes: 4000,
            peer_bytes: 2000,
            node_readers: 4,
            peer_readers: 2,
            frame_bytes: 1000,
            chunk_bytes: 100,
            stall: REQUEST_STALL_TIMEOUT,
        }
    }

    type Reading = JoinHandle<Result<(Vec<u8>, Held), FrameError>>;

    /// A stream from `from` into `budget`: its writing end, and the reading task.
    fn stream(budget: &Arc<ReceiveBudget>, from: [u8; 32]) -> (DuplexStream, Reading) {
        let (writer, mut reader) = tokio::io::duplex(64 * 1024);
        let budget = Arc::clone(budget);
        (writer, tokio::spawn(async move { budget.read_request(peer(from), &mut reader).await }))
    }

    /// Announces `length` bytes and sends `sent` of them.
    async fn announce(writer: &mut DuplexStream, length: usize, sent: usize) {
        writer.write_all(&(length as u32).to_be_bytes()).await.unwrap();
        writer.write_all(&vec![7u8; sent]).await.unwrap();
    }

    /// Lets every task run until it waits (time is paused and only moves when all wait).
    async fn settle() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    /// A whole request of `length` bytes from `from`, received and not yet answered.
    async fn unanswered(budget: &Arc<ReceiveBudget>, from: [u8; 32], length: usize) -> Held {
        let (mut writer, reading) = stream(budget, from);
        let writing = tokio::spawn(async move {
            announce(&mut writer, length, length).await;
            writer.shutdown().await.unwrap();
            writer
        });
        let (payload, held) = reading.await.unwrap().unwrap();
        assert_eq!(payload.len(), length);
        drop(writing.await.unwrap());
        held
    }

    /// A one-byte request from `from` waits until one of `unanswered` is answered.
    async fn waits_for_an_answer(budget: &Arc<ReceiveBudget>, from: [u8; 32], unanswered: &mut Vec<Held>) {
        let (mut writer, reading) = stream(budget, from);
        announce(&mut writer, 1, 1).await;
        writer.shutdown().await.unwrap();
        settle().await;
        assert!(!reading.is_finished());
        unanswered.pop();
        assert_eq!(reading.await.unwrap().unwrap().0, [7]);
    }

    fn node_held(budget: &ReceiveBudget) -> usize {
        budget.sizes.node_bytes - budget.bytes.available_permits()
    }

    fn peer_held(budget: &ReceiveBudget, from: [u8; 32]) -> usize {
        budget.sizes.peer_bytes - budget.share(peer(from)).bytes.available_permits()
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_holds_the_buffer_its_bytes_need_not_what_it_announced() {
        let budget = Arc::new(ReceiveBudget::new(Sizes::default()));
        let (mut writer, reading) = stream(&budget, A);
        announce(&mut writer, MAX_FRAME_BYTES, 12).await;
        settle().await;
        assert_eq!(node_held(&budget), READ_CHUNK_BYTES);
        assert_eq!(peer_held(&budget, A), READ_CHUNK_BYTES);
        // One byte past the first buffer doubles it; never more than twice what arrived.
        writer.write_all(&vec![7u8; READ_CHUNK_BYTES + 1 - 12]).await.unwrap();
        settle().await;
        assert_eq!(node_held(&budget), 2 * READ_CHUNK_BYTES);
        writer.write_all(&vec![7u8; MAX_FRAME_BYTES - READ_CHUNK_BYTES - 1]).await.unwrap();
        writer.shutdown().await.unwrap();
        let (payload, held) = reading.await.unwrap().unwrap();
        assert_eq!((payload.len(), payload.capacity()), (MAX_FRAME_BYTES, MAX_FRAME_BYTES));
        // Held until the request is answered, exactly the buffer.
        assert_eq!(node_held(&budget), MAX_FRAME_BYTES);
        drop(held);
        assert_eq!((node_held(&budget), peer_held(&budget, A)), (0, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_reads_at_most_its_slots_at_once_and_others_go_on() {
        let budget = Arc::new(ReceiveBudget::new(small()));
        let mut slow = Vec::new();
        for _ in 0..3 {
            let (mut writer, reading) = stream(&budget, A);
            announce(&mut writer, 1000, 150).await;
            slow.push((writer, reading));
        }
        settle().await;
        // Two readers of 200 bytes each (100, doubled once full); the third waits, holding nothing.
        assert_eq!(peer_held(&budget, A), 400);
        assert_eq!(node_held(&budget), 400);
        let (mut writer, reading) = stream(&budget, B);
        announce(&mut writer, 1000, 1000).await;
        writer.shutdown().await.unwrap();
        let (payload, _held) = reading.await.unwrap().unwrap();
        assert_eq!(payload.len(), 1000);
        // A slot freed (one of A's streams ends) lets the third in.
        let (mut first, first_reading) = slow.remove(0);
        first.write_all(&[7u8; 850]).await.unwrap();
        first.shutdown().await.unwrap();
        let (_, first_held) = first_reading.await.unwrap().unwrap();
        settle().await;
        assert_eq!(peer_held(&budget, A), 1000 + 200 + 200);
        drop(first_held);
        assert_eq!(peer_held(&budget, A), 400);
    }

    #[tokio::test(start_paused = true)]
    async fn the_reading_slots_of_a_peer_and_of_the_node_are_exact() {
        // Peers 10, 11, … each trickle into as many streams as they may read at once; one
        // stream more of any of them waits, holding nothing, until the node has a slot free.
        let budget = Arc::new(ReceiveBudget::new(Sizes::default()));
        let peers = MAX_READING_STREAMS / MAX_READING_STREAMS_PER_PEER;
        let mut trickling = Vec::new();
        for from in 0..peers as u8 {
            for _ in 0..MAX_READING_STREAMS_PER_PEER {
                let (mut writer, reading) = stream(&budget, [from + 10; 32]);
                announce(&mut writer, MAX_FRAME_BYTES, 12).await;
                trickling.push((writer, reading));
            }
        }
        let (mut over_peer, over_peer_reading) = stream(&budget, [10; 32]);
        announce(&mut over_peer, 20, 20).await;
        over_peer.shutdown().await.unwrap();
        settle().await;
        assert_eq!(node_held(&budget), MAX_READING_STREAMS * READ_CHUNK_BYTES);
        assert_eq!(budget.readers.available_permits(), 0);
        assert!(!over_peer_reading.is_finished());
        let (mut over_node, over_node_reading) = stream(&budget, A);
        announce(&mut over_node, 20, 20).await;
        over_node.shutdown().await.unwrap();
        settle().await;
        assert!(!over_node_reading.is_finished());
        // A stream of another peer ends: the node's free slot goes to A, first in line for
        // one; peer 10 still has all its slots taken.
        let (mut ended, ending) = trickling.pop().unwrap();
        ended.shutdown().await.unwrap();
        assert!(matches!(ending.await.unwrap(), Err(FrameError::Truncated { .. })));
        assert_eq!(over_node_reading.await.unwrap().unwrap().0.len(), 20);
        assert!(!over_peer_reading.is_finished());
        let (mut peer_ten, peer_ten_ending) = trickling.remove(0);
        peer_ten.shutdown().await.unwrap();
        assert!(matches!(peer_ten_ending.await.unwrap(), Err(FrameError::Truncated { .. })));
        assert_eq!(over_peer_reading.await.unwrap().unwrap().0.len(), 20);
    }

    #[tokio::test(start_paused = true)]
    async fn a_peers_share_is_exactly_its_slots_of_the_largest_frame() {
        let budget = Arc::new(ReceiveBudget::new(Sizes::default()));
        let mut held = Vec::new();
        for _ in 0..MAX_READING_STREAMS_PER_PEER {
            held.push(unanswered(&budget, A, MAX_FRAME_BYTES).await);
        }
        assert_eq!(peer_held(&budget, A), PEER_BUFFERED_REQUEST_BYTES);
        waits_for_an_answer(&budget, A, &mut held).await;
    }

    #[tokio::test(start_paused = true)]
    async fn the_node_budget_is_shared_and_waits_when_spent() {
        let budget = Arc::new(ReceiveBudget::new(small()));
        let mut held = Vec::new();
        for from in [A, A, B, B] {
            held.push(unanswered(&budget, from, 1000).await);
        }
        assert_eq!(node_held(&budget), budget.sizes.node_bytes);
        waits_for_an_answer(&budget, [3; 32], &mut held).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_peers_requests_together_hold_at_most_its_share() {
        let budget = Arc::new(ReceiveBudget::new(small()));
        let mut held = vec![unanswered(&budget, A, 1000).await, unanswered(&budget, A, 1000).await];
        assert_eq!(peer_held(&budget, A), 2000);
        // A's share is spent: its next request gets a slot but no byte of buffer.
        let (mut writer, reading) = stream(&budget, A);
        announce(&mut writer, 1000, 1000).await;
        writer.shutdown().await.unwrap();
        settle().await;
        assert!(!reading.is_finished());
        assert_eq!(node_held(&budget), 2000);
        // B is not held up, and A's request goes on once one of its own is answered, however
        // long that took: waiting for budget is not stalling.
        drop(unanswered(&budget, B, 1000).await);
        tokio::time::sleep(budget.sizes.stall * 10).await;
        held.pop();
        assert_eq!(reading.await.unwrap().unwrap().0.len(), 1000);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_silent_for_the_stall_timeout_is_cut_and_one_just_within_it_is_not() {
        let budget = Arc::new(ReceiveBudget::new(small()));
        let stall = budget.sizes.stall;
        let (mut patient, patient_reading) = stream(&budget, A);
        let (mut silent, silent_reading) = stream(&budget, A);
        announce(&mut patient, 1000, 10).await;
        announce(&mut silent, 1000, 10).await;
        for _ in 0..3 {
            tokio::time::sleep(stall - Duration::from_millis(1)).await;
            patient.write_all(&[7u8; 10]).await.unwrap();
        }
        match silent_reading.await.unwrap() {
            Err(FrameError::Stalled { after }) => assert_eq!(after, stall),
            other => panic!("{:?}", other.map(|(payload, _)| payload.len())),
        }
        drop(silent);
        // The end of the stream is awaited under the same timeout.
        patient.write_all(&[7u8; 960]).await.unwrap();
        settle().await;
        assert!(!patient_reading.is_finished());
        tokio::time::sleep(stall).await;
        assert!(matches!(patient_reading.await.unwrap(), Err(FrameError::Stalled { .. })));
        assert_eq!(node_held(&budget), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn every_stream_finishes_however_many_large_frames_arrive_at_once() {
        // Ten peers with ten frames each of the largest size, all sent at once, more than
        // the node's and each peer's slots; each is answered as soon as it has arrived.
        let budget = Arc::new(ReceiveBudget::new(small()));
        let mut answered = tokio::task::JoinSet::new();
        for from in 0..10u8 {
            for _ in 0..10 {
                let (mut writer, reading) = stream(&budget, [from + 10; 32]);
                tokio::spawn(async move {
                    announce(&mut writer, 1000, 1000).await;
                    writer.shutdown().await.unwrap();
                    writer
                });
                answered.spawn(async move { reading.await.unwrap().unwrap().0.len() });
            }
        }
        // Time is paused: if every task waited for another, it would jump to this deadline.
        let lengths = tokio::time::timeout(Duration::from_secs(3600), answered.join_all()).await;
        assert_eq!(lengths.expect("the streams wait for each other"), vec![1000; 100]);
        assert_eq!(node_held(&budget), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn malformed_frames_are_refused_and_hold_nothing() {
        let budget = Arc::new(ReceiveBudget::new(small()));
        let (mut writer, reading) = stream(&budget, A);
        announce(&mut writer, 1001, 0).await;
        assert!(matches!(reading.await.unwrap(), Err(FrameError::TooLarge { bytes: 1001, limit: 1000 })));
        let (mut writer, reading) = stream(&budget, A);
        announce(&mut writer, 1000, 999).await;
        writer.shutdown().await.unwrap();
        assert!(matches!(
            reading.await.unwrap(),
            Err(FrameError::Truncated { expected: 1004, received: 1003 })
        ));
        let (mut writer, reading) = stream(&budget, A);
        announce(&mut writer, 1000, 1001).await;
        assert!(matches!(reading.await.unwrap(), Err(FrameError::Trailing)));
        assert_eq!((node_held(&budget), peer_held(&budget, A)), (0, 0));
    }
}
