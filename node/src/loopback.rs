//! Loopback addresses for networks of nodes started on one machine: the demo, the
//! simulator's real mode, the end-to-end tests.
//!
//! Such a network picks its nodes' ports before the nodes bind them, and binds them again
//! after every restart. A port found by binding port 0 comes from the kernel's ephemeral
//! range, from which every client connection and every socket bound to port 0 also draws:
//! one of them can take the port in between, and the node then fails with "address already
//! in use" (seen in CI: a merchant of the simulator's real mode could not start). So the
//! ports handed out here lie below the ephemeral range, where the kernel never picks on
//! its own, are free for both TCP and UDP when handed out, and are never handed out twice
//! by one process.

use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::Mutex;

/// The lowest port handed out: above the registered ports services commonly listen on.
pub const LOWEST_PORT: u16 = 20_000;

/// The start of the kernel's ephemeral range when `/proc` does not say (Linux's default).
const DEFAULT_EPHEMERAL_START: u16 = 32_768;

/// Where Linux keeps its ephemeral range: "first last".
const EPHEMERAL_RANGE_FILE: &str = "/proc/sys/net/ipv4/ip_local_port_range";

/// The ports this process has handed out.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A loopback address whose port is free for TCP and UDP, below the ephemeral range and
/// not handed out before by this process. Falls back to a port the kernel picks (port 0)
/// when the ephemeral range leaves no room below it.
pub fn free_address() -> io::Result<SocketAddr> {
    let ceiling = ephemeral_start();
    if ceiling <= LOWEST_PORT {
        return kernel_picked_address();
    }
    let span = ceiling - LOWEST_PORT;
    // A different start in every process, so that concurrent processes rarely try the
    // same ports.
    let start = std::collections::hash_map::RandomState::new().build_hasher().finish();
    let candidates =
        (0..span).map(|step| LOWEST_PORT + (start.wrapping_add(u64::from(step)) % u64::from(span)) as u16);
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(address) = first_free(candidates, &mut handed_out) {
        return Ok(address);
    }
    Err(io::Error::new(
        io::ErrorKind::AddrNotAvailable,
        format!("no loopback port from {LOWEST_PORT} to {ceiling} is free for both TCP and UDP"),
    ))
}

/// The loopback address of the first of `candidates` not in `handed_out` and free for TCP
/// and UDP now; noted in `handed_out`.
fn first_free(candidates: impl Iterator<Item = u16>, handed_out: &mut BTreeSet<u16>) -> Option<SocketAddr> {
    let address = candidates
        .filter(|port| !handed_out.contains(port))
        .map(|port| SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .find(|address| TcpListener::bind(address).is_ok() && UdpSocket::bind(address).is_ok())?;
    handed_out.insert(address.port());
    Some(address)
}

/// The first port of the kernel's ephemeral range.
fn ephemeral_start() -> u16 {
    std::fs::read_to_string(EPHEMERAL_RANGE_FILE)
        .ok()
        .and_then(|range| range.split_whitespace().next().and_then(|first| first.parse().ok()))
        .unwrap_or(DEFAULT_EPHEMERAL_START)
}

/// A port the kernel picks, free for UDP at least.
fn kernel_picked_address() -> io::Result<SocketAddr> {
    UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_on_loopback_below_the_ephemeral_range_free_and_never_repeated() {
        let addresses: Vec<SocketAddr> = (0..50).map(|_| free_address().unwrap()).collect();
        let ports: BTreeSet<u16> = addresses.iter().map(SocketAddr::port).collect();
        assert_eq!(ports.len(), addresses.len(), "{addresses:?}");
        for address in &addresses {
            assert!(address.ip().is_loopback(), "{address}");
            assert!((LOWEST_PORT..ephemeral_start()).contains(&address.port()), "{address}");
            TcpListener::bind(address).unwrap();
            UdpSocket::bind(address).unwrap();
        }
    }

    #[test]
    fn a_port_in_use_for_tcp_or_udp_or_handed_out_before_is_passed_over() {
        let [tcp, udp, before, free] = [(); 4].map(|()| free_address().unwrap().port());
        let _tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, tcp)).unwrap();
        let _udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, udp)).unwrap();
        let mut handed_out = BTreeSet::from([before]);
        let found = first_free([tcp, udp, before, free].into_iter(), &mut handed_out);
        assert_eq!(found, Some(SocketAddr::from((Ipv4Addr::LOCALHOST, free))));
        assert!(handed_out.contains(&free));
        assert_eq!(first_free([tcp, udp, before, free].into_iter(), &mut handed_out), None);
    }
}
