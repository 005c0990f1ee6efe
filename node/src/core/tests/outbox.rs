//! The outbox holds one entry per record and peer, whatever queues the record.

use super::*;

/// The merchant's outbox entries for the agency.
fn queued_for_agency(net: &Net) -> Vec<(u64, kvitt_protocol::RecordId)> {
    let merchant = Ledger::new(net.nodes[&Net::key_of("merchant")].store.clone());
    merchant.outbox(&Net::key_of("agency"), 1000).unwrap()
}

#[test]
fn records_found_missing_again_and_again_while_queued_have_one_outbox_entry_each() {
    let mut net = Net::new();
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = false;
    let replies: Vec<ReplyId> = (1..=5)
        .map(|serial| net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(serial)))))
        .collect();
    while let Some((to, input)) = net.queue.pop_front() {
        net.step(to, input);
    }
    let ids: Vec<kvitt_protocol::RecordId> = replies
        .iter()
        .map(|reply| match net.reply(*reply) {
            Ok(ClientResponse::Pushed { id, .. }) => *id,
            other => panic!("{other:?}"),
        })
        .collect();
    let found_missing = found(Net::key_of("agency"), ids.clone());
    // Five sessions find the agency lacking the whole backlog, then the merchant restarts
    // and a sixth finds it again.
    for _ in 0..5 {
        net.step(Net::key_of("merchant"), found_missing.clone());
    }
    let merchant = net.nodes.get_mut(&Net::key_of("merchant")).unwrap();
    let core = NodeCore::start(
        merchant.core.identity().clone(),
        merchant.core.config.clone(),
        directory(1),
        merchant.store.clone(),
    )
    .unwrap();
    merchant.core = core;
    net.step(Net::key_of("merchant"), found_missing);
    let queued = queued_for_agency(&net);
    assert_eq!(queued.iter().map(|(_, id)| *id).collect::<Vec<_>>(), ids, "one entry each, in push order");

    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = true;
    net.now += time::Duration::minutes(5);
    net.run();
    assert_eq!(net.receipts_at_agency(), 5);
    assert!(queued_for_agency(&net).is_empty());
    let store = &net.nodes[&Net::key_of("merchant")].store;
    assert!(
        store.scan(crate::ledger::keys::QUEUED_PREFIX, None, 10).unwrap().is_empty(),
        "settled: unindexed"
    );

    // Settled, a record is queued again if a peer is found lacking it again (say, after
    // a bad restore there).
    net.step(Net::key_of("merchant"), found(Net::key_of("agency"), vec![ids[0]]));
    assert_eq!(queued_for_agency(&net).len(), 1);
}

#[test]
fn a_settlement_the_disk_refused_leaves_the_entries_queued_and_they_go_again() {
    let mut net = Net::new();
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = false;
    net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(1))));
    while let Some((to, input)) = net.queue.pop_front() {
        net.step(to, input);
    }
    assert_eq!(queued_for_agency(&net).len(), 1, "the agency is down: queued");

    // The agency is back; the merchant delivers, and the agency stores the receipt. The
    // merchant's step that settles the answer has its writes refused (a full disk): the
    // step saw its outbox empty in its overlay, but the ledger still holds the entry.
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = true;
    net.now += time::Duration::minutes(5);
    net.step(Net::key_of("merchant"), Input::Tick);
    let delivered = |input: &Input| {
        matches!(
            input,
            Input::Answer { answer: Ok(Response { body: ResponseBody::Delivered { .. }, .. }), .. }
        )
    };
    let at = net.queue.iter().position(|(_, input)| delivered(input)).expect("the delivery's answer");
    let (to, answer) = net.queue.remove(at).unwrap();
    assert_eq!(to, Net::key_of("merchant"));
    let merchant = net.nodes.get_mut(&Net::key_of("merchant")).unwrap();
    let effects = merchant.core.handle(net.now, answer);
    assert!(effects.iter().any(|effect| matches!(effect, Effect::Write(_))), "a settlement to refuse");
    assert!(merchant.core.write_refused(net.now).is_some(), "a wake-up for the entry left");
    assert_eq!(queued_for_agency(&net).len(), 1, "nothing of the refused step was written");
    assert_eq!(net.receipts_at_agency(), 1);

    // Space again: the entry goes once more (a duplicate at the agency) and is settled.
    net.now += time::Duration::minutes(5);
    net.run();
    assert!(queued_for_agency(&net).is_empty(), "the entry the refused step left was delivered again");
    assert_eq!(net.receipts_at_agency(), 1);
}
