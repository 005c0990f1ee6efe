//! A fault-injecting UDP relay between real nodes, in user space (no root, no netem): the
//! directory lists each node at the relay's front address for it, and the relay forwards
//! every datagram to the node's real socket, dropping, duplicating, delaying (and so
//! reordering) or cutting it as told.
//!
//! A QUIC endpoint sends from the socket it listens on, so the source address of a
//! datagram says which node sent it. For each sender the relay opens one upstream socket
//! per front, so the node behind the front sees a distinct peer address per sender and its
//! answers come back through the same pair.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::net::UdpSocket;

use crate::rng::SimRng;

/// The largest datagram the relay forwards (QUIC's are at most 1,452 bytes here; this
/// is UDP's limit, so nothing is truncated).
const MAX_DATAGRAM: usize = 65_535;

/// What the relay does to every datagram it forwards.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LinkFaults {
    /// Probability that a datagram is dropped.
    pub loss: f64,
    /// Probability that a datagram is sent twice.
    pub duplication: f64,
    /// Delay added to every datagram.
    pub delay_ms: u64,
    /// A further random delay up to this, per datagram (which reorders them).
    pub jitter_ms: u64,
}

/// What the relay did, for the report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RelayStats {
    /// Datagrams forwarded (a duplicate counts twice).
    pub forwarded: u64,
    /// Datagrams dropped at random.
    pub lost: u64,
    /// Datagrams dropped because their link was cut.
    pub cut: u64,
    /// Datagrams sent twice.
    pub duplicated: u64,
}

/// The relay's mutable state, shared by its tasks and its controller.
struct Shared {
    faults: LinkFaults,
    /// Directed links `(from, to)` that drop everything.
    cut: BTreeSet<(usize, usize)>,
    rng: SimRng,
    stats: RelayStats,
}

/// What becomes of one datagram: the delays of the copies to send (none: dropped).
fn decide(shared: &mut Shared, from: usize, to: usize) -> Vec<Duration> {
    if shared.cut.contains(&(from, to)) {
        shared.stats.cut += 1;
        return Vec::new();
    }
    let faults = shared.faults;
    if faults.loss > 0.0 && shared.rng.chance(faults.loss) {
        shared.stats.lost += 1;
        return Vec::new();
    }
    let copies = if faults.duplication > 0.0 && shared.rng.chance(faults.duplication) {
        shared.stats.duplicated += 1;
        2
    } else {
        1
    };
    (0..copies)
        .map(|_| {
            let jitter = if faults.jitter_ms > 0 { shared.rng.below(faults.jitter_ms + 1) } else { 0 };
            shared.stats.forwarded += 1;
            Duration::from_millis(faults.delay_ms + jitter)
        })
        .collect()
}

/// A running relay: one front socket per node.
pub struct Relay {
    fronts: Vec<SocketAddr>,
    shared: Arc<Mutex<Shared>>,
    runtime: tokio::runtime::Runtime,
}

impl Relay {
    /// Starts a relay in front of `nodes` (each node's real QUIC address), with its own
    /// runtime, forwarding faultlessly until told otherwise; `seed` drives its choices.
    pub fn start(nodes: &[SocketAddr], seed: u64) -> std::io::Result<Relay> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("kvitt-sim-relay")
            .enable_all()
            .build()?;
        let shared = Arc::new(Mutex::new(Shared {
            faults: LinkFaults::default(),
            cut: BTreeSet::new(),
            rng: SimRng::new(seed),
            stats: RelayStats::default(),
        }));
        let senders: Arc<HashMap<SocketAddr, usize>> =
            Arc::new(nodes.iter().enumerate().map(|(index, address)| (*address, index)).collect());
        let mut fronts = Vec::new();
        for (index, target) in nodes.iter().enumerate() {
            let socket = runtime.block_on(UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0))))?;
            fronts.push(socket.local_addr()?);
            let front = Front { index, target: *target, socket: Arc::new(socket), senders: senders.clone() };
            runtime.spawn(front.serve(shared.clone()));
        }
        Ok(Relay { fronts, shared, runtime })
    }

    /// The address peers should use for node `index` (its front).
    pub fn front(&self, index: usize) -> Option<SocketAddr> {
        self.fronts.get(index).copied()
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // Every update completes before the lock is released, so a poisoned lock still
        // holds consistent state.
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `faults` to every datagram from now on.
    pub fn set_faults(&self, faults: LinkFaults) {
        self.lock().faults = faults;
    }

    /// Cuts the link from `from` to `to` (one way).
    pub fn cut(&self, from: usize, to: usize) {
        self.lock().cut.insert((from, to));
    }

    /// Cuts every link to and from `node`.
    pub fn isolate(&self, node: usize) {
        let count = self.fronts.len();
        let mut shared = self.lock();
        for other in (0..count).filter(|other| *other != node) {
            shared.cut.insert((node, other));
            shared.cut.insert((other, node));
        }
    }

    /// Heals every cut link.
    pub fn heal(&self) {
        self.lock().cut.clear();
    }

    /// What the relay has done so far.
    pub fn stats(&self) -> RelayStats {
        self.lock().stats
    }

    /// Stops the relay's tasks.
    pub fn stop(self) {
        self.runtime.shutdown_background();
    }
}

/// The relay's socket for one node.
struct Front {
    index: usize,
    target: SocketAddr,
    socket: Arc<UdpSocket>,
    /// Which node each known source address is.
    senders: Arc<HashMap<SocketAddr, usize>>,
}

/// Sends `bytes` to `destination` from `socket` after each of `delays`.
fn send_after(socket: &Arc<UdpSocket>, destination: SocketAddr, bytes: &[u8], delays: Vec<Duration>) {
    for delay in delays {
        let (socket, bytes) = (socket.clone(), bytes.to_vec());
        tokio::spawn(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            // A send that fails (the node is down) is a lost datagram, as on a network.
            let _ = socket.send_to(&bytes, destination).await;
        });
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Front {
    /// Forwards what arrives at the front to the node, through one upstream socket per
    /// sender, and starts a task carrying each upstream socket's answers back.
    async fn serve(self, shared: Arc<Mutex<Shared>>) {
        let mut upstreams: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
        let mut buffer = vec![0u8; MAX_DATAGRAM];
        loop {
            // Errors on a UDP receive are per datagram (an ICMP unreachable from an
            // earlier send); the socket stays usable.
            let Ok((length, source)) = self.socket.recv_from(&mut buffer).await else {
                continue;
            };
            let from = self.senders.get(&source).copied().unwrap_or(usize::MAX);
            let upstream = match upstreams.get(&source) {
                Some(upstream) => upstream.clone(),
                None => {
                    let Ok(socket) = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await else {
                        continue;
                    };
                    let upstream = Arc::new(socket);
                    let back = Back {
                        upstream: upstream.clone(),
                        front: self.socket.clone(),
                        client: source,
                        from: self.index,
                        to: from,
                    };
                    tokio::spawn(back.serve(shared.clone()));
                    upstreams.insert(source, upstream.clone());
                    upstream
                }
            };
            let delays = decide(&mut lock(&shared), from, self.index);
            let bytes = buffer.get(..length).unwrap_or_default();
            send_after(&upstream, self.target, bytes, delays);
        }
    }
}

/// The way back: a node's answers to one sender.
struct Back {
    upstream: Arc<UdpSocket>,
    front: Arc<UdpSocket>,
    client: SocketAddr,
    from: usize,
    to: usize,
}

impl Back {
    async fn serve(self, shared: Arc<Mutex<Shared>>) {
        let mut buffer = vec![0u8; MAX_DATAGRAM];
        loop {
            let Ok((length, _)) = self.upstream.recv_from(&mut buffer).await else {
                continue;
            };
            let delays = decide(&mut lock(&shared), self.from, self.to);
            let bytes = buffer.get(..length).unwrap_or_default();
            send_after(&self.front, self.client, bytes, delays);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket as StdSocket;

    /// Two plain UDP sockets standing in for nodes 0 and 1, and a relay in front of them.
    fn pair() -> (StdSocket, StdSocket, Relay) {
        let a = StdSocket::bind("127.0.0.1:0").unwrap();
        let b = StdSocket::bind("127.0.0.1:0").unwrap();
        for socket in [&a, &b] {
            socket.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        }
        let relay = Relay::start(&[a.local_addr().unwrap(), b.local_addr().unwrap()], 7).unwrap();
        (a, b, relay)
    }

    fn receive(socket: &StdSocket) -> Option<(Vec<u8>, SocketAddr)> {
        let mut buffer = [0u8; 2048];
        socket.recv_from(&mut buffer).ok().map(|(length, from)| (buffer[..length].to_vec(), from))
    }

    #[test]
    fn datagrams_go_through_both_ways() {
        let (a, b, relay) = pair();
        a.send_to(b"hello", relay.front(1).unwrap()).unwrap();
        let (bytes, upstream) = receive(&b).expect("b hears a");
        assert_eq!(bytes, b"hello");
        b.send_to(b"back", upstream).unwrap();
        let (bytes, from) = receive(&a).expect("a hears b's answer");
        assert_eq!(bytes, b"back");
        assert_eq!(from, relay.front(1).unwrap(), "the answer comes from b's front");
        assert_eq!(relay.stats().forwarded, 2);
    }

    #[test]
    fn a_cut_link_drops_one_way_until_healed() {
        let (a, b, relay) = pair();
        a.send_to(b"open", relay.front(1).unwrap()).unwrap();
        let (_, upstream) = receive(&b).expect("b hears a");
        relay.cut(1, 0);
        b.send_to(b"cut", upstream).unwrap();
        assert!(receive(&a).is_none(), "b → a is cut");
        a.send_to(b"still open", relay.front(1).unwrap()).unwrap();
        assert_eq!(receive(&b).expect("a → b is not cut").0, b"still open");
        relay.heal();
        b.send_to(b"healed", upstream).unwrap();
        assert_eq!(receive(&a).expect("healed").0, b"healed");
        assert_eq!(relay.stats().cut, 1);
    }

    #[test]
    fn loss_drops_and_duplication_doubles() {
        let (a, b, relay) = pair();
        relay.set_faults(LinkFaults { loss: 1.0, ..LinkFaults::default() });
        a.send_to(b"lost", relay.front(1).unwrap()).unwrap();
        assert!(receive(&b).is_none());
        relay.set_faults(LinkFaults { duplication: 1.0, ..LinkFaults::default() });
        a.send_to(b"twice", relay.front(1).unwrap()).unwrap();
        assert_eq!(receive(&b).unwrap().0, b"twice");
        assert_eq!(receive(&b).unwrap().0, b"twice");
        assert_eq!(relay.stats(), RelayStats { forwarded: 2, lost: 1, cut: 0, duplicated: 1 });
    }

    #[test]
    fn isolating_a_node_cuts_all_its_links() {
        let (a, b, relay) = pair();
        relay.isolate(0);
        a.send_to(b"x", relay.front(1).unwrap()).unwrap();
        assert!(receive(&b).is_none());
        assert_eq!(relay.stats().cut, 1);
    }
}
