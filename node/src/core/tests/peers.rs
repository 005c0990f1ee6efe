//! The operator's view of the peers: outbox depth and failed deliveries per member.

use super::*;

fn operator() -> Caller {
    Caller { person: "olle".into(), role: CallerRole::Operator }
}

fn states(net: &mut Net) -> Vec<crate::core::PeerState> {
    let reply = net.client("merchant", operator(), ClientRequest::Peers);
    while let Some((to, input)) = net.queue.pop_front() {
        net.step(to, input);
    }
    match net.reply(reply) {
        Ok(ClientResponse::Peers(states)) => states.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn each_peer_shows_its_outbox_depth_and_the_operator_alone_reads_it() {
    let mut net = Net::new();
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = false;
    for serial in 1..=2 {
        net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(serial))));
    }
    let states = states(&mut net);
    assert!(states.iter().all(|state| state.key != Net::key_of("merchant")), "not itself");
    let agency = states.iter().find(|state| state.key == Net::key_of("agency")).unwrap();
    assert_eq!(agency.outbox, 2, "{states:?}");
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = true;
    net.run();
    let states = self::states(&mut net);
    let agency = states.iter().find(|state| state.key == Net::key_of("agency")).unwrap();
    assert_eq!((agency.outbox, agency.failures), (0, 0), "{states:?}");

    let reply = net.client("merchant", till(), ClientRequest::Peers);
    net.run();
    assert_eq!(net.reply(reply).as_ref().unwrap_err().code.as_str(), "auth.forbidden");
}

#[test]
fn each_peer_shows_when_a_reconciliation_with_it_last_ended_well() {
    let mut net = Net::new();
    let agency = Net::key_of("agency");
    let last = |net: &mut Net| {
        let states = states(net);
        states.iter().find(|state| state.key == agency).unwrap().last_reconciled.clone()
    };
    assert_eq!(last(&mut net), None, "none since the node started");
    // A session that found nothing to send is a reconciliation all the same.
    net.step(Net::key_of("merchant"), found(agency, Vec::new()));
    let first = last(&mut net).expect("noted");
    assert_eq!(first, kvitt_protocol::fields::format_time(net.now.to_offset(time::UtcOffset::UTC)));
    net.now += time::Duration::minutes(1);
    net.step(Net::key_of("merchant"), found(agency, Vec::new()));
    let second = last(&mut net).expect("noted");
    assert!(second > first, "the later one: {second} after {first}");
    let ssc = states(&mut net).into_iter().find(|state| state.key == Net::key_of("ssc")).unwrap();
    assert_eq!(ssc.last_reconciled, None, "per peer");
}
