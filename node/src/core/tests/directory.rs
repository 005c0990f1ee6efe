//! Two directories with one version: the operator equivocated, and every way a directory
//! reaches a node (a delivery, an answer to a directory request, the client API, the
//! directory the node starts from) catches it like any other equivocation.

use std::collections::BTreeSet;

use kvitt_protocol::wire::{RecordBytes, ResponseBody, Verdict};
use kvitt_protocol::RecordId;

use super::*;

const EQUIVOCATION: &str = "ledger.equivocation";
const NOT_ACCEPTED: &str = "directory.not_accepted";

/// Another directory with `version`: the same members, issued at another time.
fn other_directory(version: u64, issued_at: &str, signer: &str) -> Signed<Directory> {
    let body = Directory { issued_at: issued_at.into(), ..directory(version).body().clone() };
    Signed::sign(body, &key(signer)).unwrap()
}

fn conflicting(version: u64) -> Signed<Directory> {
    other_directory(version, "2026-02-01T00:00:00+01:00", "operator")
}

fn operator() -> Caller {
    Caller { person: "operator-1".into(), role: CallerRole::Operator }
}

/// Delivers `directory` to `to` as `from` would, carrying out the step's effects as a
/// driver does, and returns the verdict.
fn deliver(net: &mut Net, to: &str, from: &str, directory: &Signed<Directory>) -> Verdict {
    let from = Net::key_of(from);
    let input = Input::Peer {
        reply: 0,
        from,
        directory_version: net.nodes[&from].core.directory().body().version,
        request: PeerRequest::Deliver(vec![Ok(AnyRecord::Directory(directory.clone()))]),
    };
    let to = Net::key_of(to);
    let effects = net.nodes.get_mut(&to).unwrap().core.handle(net.now, input);
    let mut verdict = None;
    let mut rest = Vec::new();
    for effect in effects {
        match effect {
            Effect::WhenDurable(inner) => {
                let mut durable = Vec::new();
                for effect in inner {
                    match effect {
                        Deferred::ToPeer { response, .. } => {
                            let ResponseBody::Delivered { results } = response.body else {
                                panic!("not a delivery answer: {:?}", response.body)
                            };
                            let [one] = <[Verdict; 1]>::try_from(results).unwrap();
                            verdict = Some(one);
                        }
                        other => durable.push(other),
                    }
                }
                rest.push(Effect::WhenDurable(durable));
            }
            other => rest.push(other),
        }
    }
    net.carry_out(to, rest);
    verdict.expect("the delivery is answered")
}

fn refusal_code(verdict: &Verdict) -> &str {
    match verdict {
        Verdict::Refused { refusal } => refusal.code.as_str(),
        other => panic!("not refused: {other:?}"),
    }
}

fn ledger(net: &Net, node: &str) -> Ledger {
    Ledger::new(net.nodes[&Net::key_of(node)].store.clone())
}

fn exceptions(net: &Net, node: &str) -> Vec<RecordId> {
    ledger(net, node).exceptions(100).unwrap()
}

/// The ids of the two records the evidence `id` holds at `node`.
fn evidence_pair(net: &Net, node: &str, id: &RecordId) -> BTreeSet<RecordId> {
    let Some(AnyRecord::Evidence(evidence)) = ledger(net, node).record(id).unwrap() else {
        panic!("{id} is not stored evidence at {node}");
    };
    let (first, second) = evidence.body().records().unwrap();
    [first.id(), second.id()].into()
}

fn in_force(net: &Net, node: &str) -> RecordId {
    net.nodes[&Net::key_of(node)].core.directory().id()
}

/// Restarts `node` from `directory` (its `directory.cbor`) over what its store kept.
fn restart(net: &mut Net, node: &str, directory: Signed<Directory>) {
    let old = net.nodes.remove(&Net::key_of(node)).unwrap();
    let identity = old.core.identity().clone();
    let core = NodeCore::start(identity, old.core.config.clone(), directory, old.store.clone()).unwrap();
    net.nodes.insert(Net::key_of(node), Node { core, store: old.store, up: true });
}

#[test]
fn a_second_directory_of_a_version_held_is_kept_as_evidence_and_sent_to_every_member() {
    let mut net = Net::new();
    assert!(matches!(deliver(&mut net, "agency", "ssc", &directory(2)), Verdict::Stored { .. }));
    let verdict = deliver(&mut net, "agency", "ssc", &conflicting(2));
    assert_eq!(refusal_code(&verdict), EQUIVOCATION, "{verdict:?}");
    assert_eq!(in_force(&net, "agency"), directory(2).id(), "the directory it had stays in force");

    let caught = exceptions(&net, "agency");
    let [evidence] = caught.as_slice() else { panic!("one evidence: {caught:?}") };
    assert_eq!(evidence_pair(&net, "agency", evidence), [directory(2).id(), conflicting(2).id()].into());
    assert_eq!(ledger(&net, "agency").exception(evidence).unwrap().as_deref(), Some("equivocation"));
    assert!(!ledger(&net, "agency").contains(&conflicting(2).id()).unwrap(), "kept only as evidence");
    for peer in ["merchant", "ssc"] {
        let queued = ledger(&net, "agency").outbox(&Net::key_of(peer), 10).unwrap();
        assert!(queued.iter().any(|(_, id)| id == evidence), "queued for the {peer}: {queued:?}");
    }

    net.run();
    for peer in ["merchant", "ssc"] {
        assert_eq!(exceptions(&net, peer), caught, "the {peer} has the evidence");
    }
    let listed =
        net.client("agency", operator(), ClientRequest::Exceptions { limit: 10, all: false, after: None });
    net.run();
    let Ok(ClientResponse::Exceptions(crate::core::Page { items: listed, .. })) = net.reply(listed) else {
        panic!("{:?}", net.reply(listed))
    };
    let listed: Vec<_> = listed
        .iter()
        .map(|exception| (exception.id, exception.kind, exception.why.as_str(), exception.open))
        .collect();
    assert_eq!(
        listed,
        [(*evidence, ExceptionKind::Equivocation, "equivocation", true)],
        "evidence stays open"
    );
    assert_eq!(in_force(&net, "agency"), directory(2).id());
}

#[test]
fn the_same_conflicting_directory_again_by_any_path_makes_no_second_evidence() {
    let mut net = Net::new();
    deliver(&mut net, "agency", "ssc", &directory(2));
    for _ in 0..3 {
        let verdict = deliver(&mut net, "agency", "ssc", &conflicting(2));
        assert_eq!(refusal_code(&verdict), EQUIVOCATION);
        net.now += time::Duration::seconds(2);
    }
    // The client API (`PUT /v1/directory`).
    let install = net.client(
        "agency",
        operator(),
        ClientRequest::InstallDirectory { bytes: conflicting(2).bytes().to_vec() },
    );
    // The answer to a directory request (a peer answering out of turn).
    let answer = Response {
        directory_version: 2,
        body: ResponseBody::Directory { record: Some(RecordBytes(conflicting(2).bytes().to_vec())) },
    };
    net.queue.push_back((
        Net::key_of("agency"),
        Input::Answer { to: Net::key_of("ssc"), exchange: 9_999, answer: Ok(answer) },
    ));
    net.run();
    let Err(refusal) = net.reply(install) else { panic!("installed: {:?}", net.reply(install)) };
    assert_eq!(refusal.code.as_str(), EQUIVOCATION);
    assert_eq!(exceptions(&net, "agency").len(), 1, "one evidence for one pair, however often it comes");
    assert_eq!(in_force(&net, "agency"), directory(2).id());
}

#[test]
fn a_directory_conflicting_with_the_one_the_node_started_from_is_caught_before_and_after_it_is_replaced() {
    let mut net = Net::new();
    // Version 1 is the directory every node started from; no ledger holds it yet.
    let verdict = deliver(&mut net, "agency", "ssc", &conflicting(1));
    assert_eq!(refusal_code(&verdict), EQUIVOCATION, "{verdict:?}");
    assert_eq!(in_force(&net, "agency"), directory(1).id());
    let caught = exceptions(&net, "agency");
    let [evidence] = caught.as_slice() else { panic!("one evidence: {caught:?}") };
    assert_eq!(evidence_pair(&net, "agency", evidence), [directory(1).id(), conflicting(1).id()].into());

    // Once version 2 is in force, version 1 still holds its slot.
    assert!(matches!(deliver(&mut net, "agency", "ssc", &directory(2)), Verdict::Stored { .. }));
    assert_eq!(refusal_code(&deliver(&mut net, "agency", "ssc", &conflicting(1))), EQUIVOCATION);
    assert_eq!(exceptions(&net, "agency").len(), 1, "the same pair again");
    let third = other_directory(1, "2026-03-01T00:00:00+01:00", "operator");
    assert_eq!(refusal_code(&deliver(&mut net, "agency", "ssc", &third)), EQUIVOCATION);
    assert_eq!(exceptions(&net, "agency").len(), 2, "another pair");
    assert_eq!(in_force(&net, "agency"), directory(2).id());
}

#[test]
fn an_older_directory_delivered_is_kept_as_history_and_installing_one_is_refused_as_not_newer() {
    let mut net = Net::new();
    assert!(matches!(deliver(&mut net, "agency", "ssc", &directory(3)), Verdict::Stored { .. }));
    // Delivered (a peer's reconciliation sends what this node lacks): kept, not in force.
    let verdict = deliver(&mut net, "agency", "ssc", &directory(2));
    assert!(matches!(verdict, Verdict::Stored { .. }), "{verdict:?}");
    assert!(ledger(&net, "agency").contains(&directory(2).id()).unwrap());
    assert!(matches!(deliver(&mut net, "agency", "ssc", &directory(2)), Verdict::Duplicate { .. }));
    assert!(exceptions(&net, "agency").is_empty());
    assert_eq!(in_force(&net, "agency"), directory(3).id());
    // Installed by the operator: refused, it would not take force.
    let operator = Caller { person: "operator-1".into(), role: CallerRole::Operator };
    let install = ClientRequest::InstallDirectory { bytes: directory(1).bytes().to_vec() };
    let refusal = net.ask("agency", operator, install).unwrap_err();
    assert_eq!(refusal.code.as_str(), NOT_ACCEPTED);
    assert!(refusal.message.contains("not newer"), "{}", refusal.message);
    assert_eq!(in_force(&net, "agency"), directory(3).id());
}

#[test]
fn a_directory_of_a_version_held_signed_by_another_key_is_refused_without_evidence() {
    let mut net = Net::new();
    deliver(&mut net, "agency", "ssc", &directory(2));
    for signer in ["ssc", "impostor"] {
        let forged = other_directory(2, "2026-02-01T00:00:00+01:00", signer);
        let verdict = deliver(&mut net, "agency", "ssc", &forged);
        assert_eq!(refusal_code(&verdict), NOT_ACCEPTED, "{verdict:?}");
        let Verdict::Refused { refusal } = &verdict else { unreachable!() };
        assert!(refusal.message.contains("not the operator"), "{}", refusal.message);
    }
    assert!(exceptions(&net, "agency").is_empty());
    assert_eq!(in_force(&net, "agency"), directory(2).id());
}

#[test]
fn a_node_started_from_a_directory_conflicting_with_its_ledger_keeps_the_ledgers() {
    let mut net = Net::new();
    deliver(&mut net, "agency", "ssc", &directory(2));
    // `kvitt directory import` put another version 2 in directory.cbor.
    restart(&mut net, "agency", conflicting(2));
    assert_eq!(in_force(&net, "agency"), directory(2).id(), "the ledger's version 2 stays in force");
    net.run();
    let caught = exceptions(&net, "agency");
    let [evidence] = caught.as_slice() else { panic!("one evidence: {caught:?}") };
    assert_eq!(evidence_pair(&net, "agency", evidence), [directory(2).id(), conflicting(2).id()].into());
    assert_eq!(exceptions(&net, "ssc"), caught, "sent to the members");

    // A directory.cbor older than what the node learned since is no conflict.
    restart(&mut net, "agency", directory(1));
    net.run();
    assert_eq!(in_force(&net, "agency"), directory(2).id());
    assert_eq!(exceptions(&net, "agency"), caught);
}
