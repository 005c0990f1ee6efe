//! When and with whom the core starts reconciliation sessions (core::sessions).

use super::*;

fn operator() -> Caller {
    Caller { person: "operator-1".into(), role: CallerRole::Operator }
}

/// Hands `input` to `node`'s core directly and returns the sessions it starts and the
/// answers it gives.
fn step(net: &mut Net, node: &str, input: Input) -> (Vec<SessionStart>, Vec<Deferred>) {
    let core = &mut net.nodes.get_mut(&Net::key_of(node)).unwrap().core;
    let (mut starts, mut answers) = (Vec::new(), Vec::new());
    for effect in core.handle(net.now, input) {
        match effect {
            Effect::StartSession(start) => starts.push(start),
            Effect::WhenDurable(deferred) => answers.extend(deferred),
            Effect::Write(_) | Effect::WakeAt(_) => {}
        }
    }
    (starts, answers)
}

fn ended(peer: &str, result: Result<Summary, String>) -> Input {
    Input::SessionEnded { peer: Net::key_of(peer), side: SessionSide::Initiator, result }
}

fn peers(starts: &[SessionStart]) -> Vec<PublicKey> {
    starts.iter().map(|start| start.peer).collect()
}

#[test]
fn a_round_starts_one_session_per_peer_at_start_and_again_after_the_interval() {
    let mut net = Net::new();
    let (starts, _) = step(&mut net, "agency", Input::Tick);
    let mut expected = vec![Net::key_of("merchant"), Net::key_of("ssc")];
    expected.sort();
    let mut started = peers(&starts);
    started.sort();
    assert_eq!(started, expected, "at start, with every peer");
    assert!(step(&mut net, "agency", Input::Tick).0.is_empty(), "not again before the interval");
    step(&mut net, "agency", ended("merchant", Ok(Summary::default())));
    net.now += DEFAULT_RECONCILE_INTERVAL;
    let (starts, _) = step(&mut net, "agency", Input::Tick);
    assert_eq!(peers(&starts), vec![Net::key_of("merchant")], "the SSC's session still runs: not a second");
}

#[test]
fn a_peer_a_session_could_not_reach_is_reconciled_with_as_soon_as_it_is_heard_from_under_a_new_salt() {
    let mut net = Net::new();
    let (starts, _) = step(&mut net, "merchant", Input::Tick);
    let first = starts[0].clone();
    step(&mut net, "merchant", ended("agency", Ok(Summary::default())));
    net.now += DEFAULT_RECONCILE_INTERVAL;
    let (starts, _) = step(&mut net, "merchant", Input::Tick);
    let second = starts[0].clone();
    assert_eq!(second.hello_salt, first.hello_salt, "a salt is kept while sessions go well");
    assert_ne!(second.first_number, first.first_number, "every start numbers its sessions anew");
    step(&mut net, "merchant", ended("agency", Err("no answer".into())));
    let request = PeerRequest::Directory { have: 1 };
    let from_agency = Input::Peer { reply: 0, from: Net::key_of("agency"), directory_version: 1, request };
    let (starts, _) = step(&mut net, "merchant", from_agency.clone());
    assert_eq!(peers(&starts), vec![Net::key_of("agency")], "the agency is back");
    assert_ne!(starts[0].hello_salt, first.hello_salt, "after a failure, a new salt");
    step(&mut net, "merchant", ended("agency", Ok(Summary::default())));
    assert!(step(&mut net, "merchant", from_agency).0.is_empty(), "reached: nothing to start");
}

#[test]
fn an_operators_sync_is_answered_by_a_session_that_started_after_it_was_asked() {
    let mut net = Net::new();
    let (starts, _) = step(&mut net, "merchant", Input::Tick);
    assert_eq!(peers(&starts), vec![Net::key_of("agency")]);
    let sync =
        |caller: Caller| Input::Client { reply: 9, caller, request: ClientRequest::Reconcile { peer: None } };
    let (_, answers) = step(&mut net, "merchant", sync(till()));
    let [Deferred::ToClient { result: Err(refusal), .. }] = answers.as_slice() else {
        panic!("refused: {answers:?}");
    };
    assert_eq!(refusal.code, RefusalCode::Forbidden);
    let (starts, answers) = step(&mut net, "merchant", sync(operator()));
    assert!(starts.is_empty() && answers.is_empty(), "the running session started before the operator asked");
    let (starts, answers) = step(&mut net, "merchant", ended("agency", Ok(Summary::default())));
    assert_eq!(peers(&starts), vec![Net::key_of("agency")], "so another follows it");
    assert!(answers.is_empty());
    let found = Summary { need: 2, ..Summary::default() };
    let (_, answers) = step(&mut net, "merchant", ended("agency", Ok(found.clone())));
    let [Deferred::ToClient { reply: 9, result: Ok(ClientResponse::Reconciled(sessions)) }] =
        answers.as_slice()
    else {
        panic!("answered: {answers:?}");
    };
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].result, Ok(found));
    assert_eq!(sessions[0].org, AGENCY);
}

#[test]
fn salts_and_session_numbers_come_from_the_entropy_the_driver_gave() {
    let draw = |entropy: u8| {
        let mut random = Random::new([entropy; 32]);
        (random.salt(), random.salt(), random.bytes())
    };
    assert_eq!(draw(1), draw(1), "a simulation replays");
    assert_ne!(draw(1), draw(2));
    let (first, second, _) = draw(1);
    assert_ne!(first, second);
}
