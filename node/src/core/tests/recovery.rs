//! A node that lost acknowledged records: it signs nothing until `kvitt recover`, gets
//! back what its peers hold, reports what none holds, and goes on above its floor.

use super::claims::{approver, employee};
use super::*;
use crate::ledger::Floor;
use crate::sync::Summary;
use kvitt_protocol::event::Action;

impl Net {
    /// `name`'s ledger is lost while it is down (sled could not open it): it restarts
    /// over an empty one in which the floor it kept is noted as a recovery, as
    /// `kvitt run` leaves it. Returns that floor.
    fn lose_ledger_found_damaged(&mut self, name: &str) -> Floor {
        let key = Net::key_of(name);
        let old = self.nodes.remove(&key).unwrap();
        let (floor, _) = Floor::survey(old.store.as_ref(), &key).unwrap();
        let store = Arc::new(MemoryStore::new());
        let recovery = Recovery {
            reason: "sled could not open the ledger".into(),
            since: "2026-05-04T09:00:00Z".into(),
            aside: Some("ledger.damaged-1".into()),
            floor: Some(floor.clone()),
            records_at_start: 0,
            raised: Vec::new(),
        };
        store.apply(&recovery.begin(&Ledger::new(store.clone())).unwrap()).unwrap();
        store.sync().unwrap();
        let identity = old.core.identity().clone();
        let core = NodeCore::start(identity, old.core.config.clone(), directory(1), store.clone()).unwrap();
        assert!(core.recovering().is_some());
        self.nodes.insert(key, Node { core, store, up: true });
        floor
    }

    /// What reconciliation would find and send: `from` delivers to `to` every record of
    /// their channel `to` lacks.
    pub(super) fn reconcile(&mut self, from: &str, to: &str) {
        let ledger = Ledger::new(self.nodes[&Net::key_of(from)].store.clone());
        let peer = Net::key_of(to);
        let receiver = Ledger::new(self.nodes[&peer].store.clone());
        let mut have = Vec::new();
        for id in ledger.record_ids(None, 100_000).unwrap() {
            let record = ledger.record(&id).unwrap().unwrap();
            let time = kvitt_protocol::channel::record_time(&record);
            let shared =
                ledger.store().get(&crate::ledger::keys::channel(&peer, time, &id)).unwrap().is_some();
            if shared && !receiver.contains(&id).unwrap() {
                have.push(id);
            }
        }
        self.queue.push_back((Net::key_of(from), found(peer, have)));
        self.run();
    }

    /// `kvitt recover` at `node`, its session with `peer` finding that `node` lacks
    /// `lacking` records the peer holds.
    fn recover(
        &mut self,
        node: &str,
        peer: &str,
        lacking: usize,
        partial: bool,
    ) -> Result<RecoveryStatus, Refusal> {
        // Sessions with the node's other peers find nothing.
        let key = Net::key_of(node);
        for other in self.nodes[&key].core.reconciliation_peers() {
            self.outcomes.insert((key, other), Ok(Summary::default()));
        }
        let outcome = Ok(Summary { need: lacking, ..Summary::default() });
        self.outcomes.insert((key, Net::key_of(peer)), outcome);
        self.end_sessions();
        let request = ClientRequest::Recover { partial };
        self.ask(node, operator(), request).map(|response| match response {
            ClientResponse::Recovery(status) => *status,
            other => panic!("recover: {other:?}"),
        })
    }
}

fn operator() -> Caller {
    Caller { person: "operator-1".into(), role: CallerRole::Operator }
}

fn push(net: &mut Net, serial: u64) -> Result<ClientResponse, Refusal> {
    net.ask("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(serial))))
}

#[test]
fn a_merchant_that_lost_its_ledger_signs_nothing_until_recovered_then_goes_on_above_its_floor() {
    let mut net = Net::new();
    for serial in 1..=3 {
        net.push(receipt(serial));
    }
    assert_eq!(net.receipts_at_agency(), 3);
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = false;
    for serial in 4..=8 {
        // Acknowledged and not delivered: the agency is down.
        let reply = net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(serial))));
        while let Some((to, input)) = net.queue.pop_front() {
            net.step(to, input);
        }
        assert!(matches!(net.reply(reply), Ok(ClientResponse::Pushed { duplicate: false, .. })));
    }
    let floor = net.lose_ledger_found_damaged("merchant");
    assert_eq!(floor.registers["CAR-7"].last, 8);

    // Recovering: nothing is signed, not even a receipt the till pushed before.
    for serial in [9, 2] {
        let refusal = push(&mut net, serial).unwrap_err();
        assert_eq!(
            (refusal.code.as_str(), refusal.retry),
            (RefusalCode::Recovering.as_str(), true),
            "{refusal}"
        );
        assert!(refusal.message.contains("kvitt recover"), "{refusal}");
    }
    // Until every peer is settled, recover says how it stands.
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = true;
    let RecoveryStatus::Recovering { peers, .. } = net.recover("merchant", "agency", 3, false).unwrap()
    else {
        panic!("not finished while the agency holds records the merchant lacks");
    };
    assert_eq!(peers[0].lacking, Some(3));

    // The agency sends back what it holds; the five it never got are lost, and said so.
    net.reconcile("agency", "merchant");
    let RecoveryStatus::Finished(report) = net.recover("merchant", "agency", 0, false).unwrap() else {
        panic!("finished once the agency is settled");
    };
    assert_eq!(report.lost_receipts, 5);
    assert_eq!(report.lost, vec![LostSerials { register: "CAR-7".into(), from: 4, to: 8 }]);
    let merchant = Ledger::new(net.nodes[&Net::key_of("merchant")].store.clone());
    for serial in 1..=3 {
        let id = Signed::sign(receipt(serial), &key("merchant")).unwrap().id();
        assert!(merchant.contains(&id).unwrap(), "serial {serial} came back from the agency");
    }

    // The till goes on above the floor; a lost serial is never signed again.
    let refusal = push(&mut net, 5).unwrap_err();
    assert_eq!(refusal.code.as_str(), "receipt.serial", "{refusal}");
    assert!(matches!(push(&mut net, 9), Ok(ClientResponse::Pushed { duplicate: false, .. })));
    assert_eq!(net.receipts_at_agency(), 4);
    let agency = Ledger::new(net.nodes[&Net::key_of("agency")].store.clone());
    assert!(agency.exceptions(10).unwrap().is_empty(), "no equivocation anywhere");
    assert!(merchant.exceptions(10).unwrap().is_empty());
    let RecoveryStatus::NotRecovering { last: Some(last) } =
        net.recover("merchant", "agency", 0, false).unwrap()
    else {
        panic!("the last report is kept");
    };
    assert_eq!(last.lost_receipts, 5);
}

#[test]
fn a_partial_recovery_needs_a_floor_and_only_an_operator_recovers() {
    let mut net = Net::new();
    net.push(receipt(1));
    net.lose_ledger_found_damaged("merchant");
    let refusal = net.ask("merchant", till(), ClientRequest::Recover { partial: true }).unwrap_err();
    assert_eq!(refusal.code.as_str(), "auth.forbidden");
    // The agency cannot be reached: with a floor, the operator may finish anyway.
    let RecoveryStatus::Finished(report) = net.recover("merchant", "agency", 1, true).unwrap() else {
        panic!("a partial recovery finishes");
    };
    assert_eq!(report.unsettled, vec![AGENCY.to_owned()]);
    assert_eq!(report.lost_receipts, 1, "not back yet: reported, and serial 1 is never reused");
    assert!(matches!(push(&mut net, 2), Ok(ClientResponse::Pushed { .. })));

    // Without a floor, only the peers say how far the series went.
    let key = Net::key_of("merchant");
    let old = net.nodes.remove(&key).unwrap();
    let store = Arc::new(MemoryStore::new());
    let recovery = Recovery {
        reason: "the floor file is damaged".into(),
        since: "2026-05-04T09:00:00Z".into(),
        aside: None,
        floor: None,
        records_at_start: 0,
        raised: Vec::new(),
    };
    store.apply(&recovery.begin(&Ledger::new(store.clone())).unwrap()).unwrap();
    let core =
        NodeCore::start(old.core.identity().clone(), old.core.config.clone(), directory(1), store.clone())
            .unwrap();
    net.nodes.insert(key, Node { core, store, up: true });
    let refusal = net.recover("merchant", "agency", 1, true).unwrap_err();
    assert_eq!(refusal.code.as_str(), "request.invalid", "{refusal}");
    net.reconcile("agency", "merchant");
    assert!(matches!(net.recover("merchant", "agency", 0, false), Ok(RecoveryStatus::Finished(_))));
    let mut other = receipt(2);
    other.lines[0].description = "Taxi Arlanda, annan".into();
    let refusal = net.ask("merchant", till(), ClientRequest::PushReceipt(Box::new(other))).unwrap_err();
    assert_eq!(
        refusal.code.as_str(),
        "receipt.serial",
        "the series goes on after what the agency returned: {refusal}"
    );
    assert!(matches!(push(&mut net, 3), Ok(ClientResponse::Pushed { duplicate: false, .. })));
}

#[test]
fn an_agency_that_lost_its_ledger_gives_no_claim_number_twice() {
    let mut net = Net::new();
    let receipt = net.push(receipt(1));
    let claim = net.claim("emp-1", &[receipt]);
    net.ask("agency", approver("appr-1"), ClientRequest::Decide { claim, action: Action::Approved }).unwrap();
    let Ok(ClientResponse::Draft { draft, .. }) =
        net.ask("agency", employee("emp-1"), ClientRequest::NewClaim { purpose: "Kvar".into() })
    else {
        panic!("draft");
    };
    let taken = draft.number;
    net.lose_ledger_found_damaged("agency");
    let refusal =
        net.ask("agency", employee("emp-1"), ClientRequest::NewClaim { purpose: "Ny".into() }).unwrap_err();
    assert_eq!(refusal.code, RefusalCode::Recovering);
    // The merchant and the SSC send back what they hold: the receipt, the approved claim
    // and its events.
    net.reconcile("merchant", "agency");
    net.reconcile("ssc", "agency");
    let agency = Ledger::new(net.nodes[&Net::key_of("agency")].store.clone());
    assert!(agency.contains(&claim).unwrap(), "the approved claim is back from the SSC");
    assert!(matches!(net.recover("agency", "ssc", 0, false), Ok(RecoveryStatus::Finished(_))));
    let Ok(ClientResponse::Draft { draft, .. }) =
        net.ask("agency", employee("emp-1"), ClientRequest::NewClaim { purpose: "Ny".into() })
    else {
        panic!("draft after the recovery");
    };
    assert!(
        draft.number > taken,
        "{} after {taken}: the draft lost with the ledger kept its number",
        draft.number
    );
}
