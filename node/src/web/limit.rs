//! The sign-in rate limit: at most [`SIGN_INS_PER_CLIENT`] sign-in attempts per client
//! address and [`SIGN_INS_GLOBAL`] in all per [`SIGN_IN_WINDOW`] (fixed windows). A link
//! holds 256 random bits, so guessing is hopeless anyway; the limit keeps a flood of
//! attempts from costing the node (each attempt locks and rewrites access.json). Behind
//! a reverse proxy every client has the proxy's address: the per-client limit then acts
//! as a second global one.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The window the limits count in.
pub const SIGN_IN_WINDOW: Duration = Duration::from_secs(60);
/// Most sign-in attempts from one client address per window.
pub const SIGN_INS_PER_CLIENT: u32 = 10;
/// Most sign-in attempts from all clients per window.
pub const SIGN_INS_GLOBAL: u32 = 100;
/// Most client addresses counted at once; beyond it the counts of past windows go.
const MAX_CLIENTS: usize = 10_000;

#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

impl Window {
    /// Counts one attempt at `now` if the limit allows it.
    fn admit(&mut self, now: Instant, limit: u32) -> bool {
        if now.saturating_duration_since(self.start) >= SIGN_IN_WINDOW {
            *self = Window { start: now, count: 0 };
        }
        if self.count >= limit {
            return false;
        }
        self.count += 1;
        true
    }
}

/// Counts sign-in attempts.
pub struct SignInLimit {
    state: Mutex<(Window, HashMap<IpAddr, Window>)>,
}

impl SignInLimit {
    /// No attempts counted yet.
    pub fn new(now: Instant) -> SignInLimit {
        SignInLimit { state: Mutex::new((Window { start: now, count: 0 }, HashMap::new())) }
    }

    /// Whether an attempt from `client` at `now` may go ahead (and counts it if so).
    pub fn admit(&self, client: IpAddr, now: Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (global, clients) = &mut *state;
        if clients.len() >= MAX_CLIENTS && !clients.contains_key(&client) {
            clients.retain(|_, window| now.saturating_duration_since(window.start) < SIGN_IN_WINDOW);
        }
        if clients.len() >= MAX_CLIENTS && !clients.contains_key(&client) {
            return false;
        }
        let window = clients.entry(client).or_insert(Window { start: now, count: 0 });
        let mut trial = *window;
        if !trial.admit(now, SIGN_INS_PER_CLIENT) || !global.admit(now, SIGN_INS_GLOBAL) {
            return false;
        }
        *window = trial;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_and_all_of_them_are_limited_per_window_at_the_edge() {
        let start = Instant::now();
        let limit = SignInLimit::new(start);
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..SIGN_INS_PER_CLIENT {
            assert!(limit.admit(one, start));
        }
        assert!(!limit.admit(one, start), "the 11th in the window");
        assert!(!limit.admit(one, start + SIGN_IN_WINDOW - Duration::from_millis(1)));
        assert!(limit.admit(one, start + SIGN_IN_WINDOW), "a new window");

        let limit = SignInLimit::new(start);
        let mut admitted = 0;
        for client in 0..=255u8 {
            let address = IpAddr::from([198, 51, 100, client]);
            admitted += (0..SIGN_INS_PER_CLIENT).filter(|_| limit.admit(address, start)).count() as u32;
        }
        assert_eq!(admitted, SIGN_INS_GLOBAL, "all clients together");
        assert!(limit.admit(IpAddr::from([203, 0, 113, 9]), start + SIGN_IN_WINDOW));
    }
}
