//! Which sessions peers open the core takes, under which salt (core::responding).

use super::*;

fn core<'a>(net: &'a mut Net, node: &str) -> &'a mut NodeCore {
    &mut net.nodes.get_mut(&Net::key_of(node)).unwrap().core
}

/// Tells `node`'s core that session `session` `peer` opened ended with `result`.
fn responder_ended(net: &mut Net, node: &str, peer: &str, session: u64, result: Result<Summary, String>) {
    let now = net.now;
    let input =
        Input::SessionEnded { peer: Net::key_of(peer), side: SessionSide::Responder(session), result };
    core(net, node).handle(now, input);
}

#[test]
fn a_peer_may_have_its_share_of_sessions_open_and_a_further_one_is_refused_as_unavailable() {
    let mut net = Net::new();
    let merchant = Net::key_of("merchant");
    let agency = core(&mut net, "agency");
    for session in 1..=MAX_RESPONDER_SESSIONS_PER_PEER as u64 {
        let answer = agency.answer_session(merchant, session).unwrap();
        assert_eq!(answer.idle_timeout, SESSION_IDLE_TIMEOUT);
    }
    let extra = MAX_RESPONDER_SESSIONS_PER_PEER as u64 + 1;
    let refusal = agency.answer_session(merchant, extra).unwrap_err();
    assert_eq!(refusal.code, RefusalCode::Unavailable, "the peer may try again");
    assert_eq!(refusal.message, format!("{MAX_RESPONDER_SESSIONS_PER_PEER} sessions open already"));
    let refusal = agency.answer_session(merchant, 1).unwrap_err();
    assert_eq!(refusal.message, "session 1 is open already");
    assert!(agency.answer_session(Net::key_of("ssc"), extra).is_ok(), "another peer has its own share");
}

#[test]
fn a_session_that_ended_well_or_went_idle_frees_its_slot() {
    let mut net = Net::new();
    let merchant = Net::key_of("merchant");
    for session in 1..=MAX_RESPONDER_SESSIONS_PER_PEER as u64 {
        core(&mut net, "agency").answer_session(merchant, session).unwrap();
    }
    let idle = format!("no frame for {} s", SESSION_IDLE_TIMEOUT.as_secs());
    responder_ended(&mut net, "agency", "merchant", 1, Err(idle));
    let agency = core(&mut net, "agency");
    assert!(agency.answer_session(merchant, 7).is_ok(), "the idle session's slot is free");
    assert!(agency.answer_session(merchant, 8).is_err(), "and only that one");
    responder_ended(&mut net, "agency", "merchant", 2, Ok(Summary::default()));
    assert!(core(&mut net, "agency").answer_session(merchant, 8).is_ok());
}

#[test]
fn answering_a_session_leaves_the_initiators_salts_as_they_were() {
    // A responder has no salt (spec/reconcile.md §Keys and hashes): answering draws nothing.
    let hello_salts = |answer_first: bool| {
        let mut net = Net::new();
        if answer_first {
            core(&mut net, "agency").answer_session(Net::key_of("merchant"), 1).unwrap();
        }
        let now = net.now;
        let starts = core(&mut net, "agency").handle(now, Input::Tick);
        starts
            .into_iter()
            .filter_map(|effect| match effect {
                Effect::StartSession(start) => Some(start.hello_salt),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let initiated = hello_salts(false);
    assert!(!initiated.is_empty());
    assert_eq!(hello_salts(true), initiated, "answering draws no salt");
}
