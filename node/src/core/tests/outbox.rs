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

#[test]
fn a_late_answer_settles_only_the_entries_that_still_queue_what_it_delivered() {
    let mut net = Net::new();
    let merchant_key = Net::key_of("merchant");
    let push = |serial| Input::Client {
        reply: 1000 + serial,
        caller: till(),
        request: ClientRequest::PushReceipt(Box::new(receipt(serial))),
    };
    // The step that pushes receipt 1 queues it and sends its delivery; the disk refuses
    // its write, but its delivery goes all the same (as a driver that sent a refused
    // step's requests did), and is answered once receipt 2 has taken the outbox sequence
    // number receipt 1 was given and never kept.
    let merchant = net.nodes.get_mut(&merchant_key).unwrap();
    let effects = merchant.core.handle(net.now, push(1));
    let (writes, deferred): (Vec<Effect>, Vec<Effect>) =
        effects.into_iter().partition(|effect| matches!(effect, Effect::Write(_)));
    assert!(!writes.is_empty(), "a write to refuse");
    assert!(merchant.core.write_refused(net.now).is_some(), "a wake-up for the retry");
    let sends_delivery = |effect: &Effect| {
        matches!(effect, Effect::WhenDurable(inner)
            if inner.iter().any(|deferred| matches!(deferred, Deferred::Send { .. })))
    };
    assert!(deferred.iter().any(sends_delivery), "the step sends receipt 1's delivery");
    net.carry_out(merchant_key, deferred);
    net.step(merchant_key, push(2));
    let second = match net.reply(1002) {
        Ok(ClientResponse::Pushed { id, .. }) => *id,
        other => panic!("{other:?}"),
    };
    let queued = queued_for_agency(&net);
    assert_eq!(queued.iter().map(|(_, id)| *id).collect::<Vec<_>>(), vec![second]);
    assert_eq!(queued[0].0, 0, "receipt 2 took the sequence number receipt 1 never kept");

    // The answer for receipt 1 arrives: it settles nothing of receipt 2's (whose own
    // delivery it sets off; that one's answer waits in the queue).
    let answer =
        |(to, input): &(PublicKey, Input)| *to == merchant_key && matches!(input, Input::Answer { .. });
    let at = net.queue.iter().position(answer).expect("the answer for receipt 1");
    let (to, answer) = net.queue.remove(at).unwrap();
    net.step(to, answer);
    assert_eq!(queued_for_agency(&net), queued, "receipt 2 is still queued");
    net.now += time::Duration::minutes(5);
    net.run();
    assert!(queued_for_agency(&net).is_empty());
    let agency = Ledger::new(net.nodes[&Net::key_of("agency")].store.clone());
    assert!(agency.contains(&second).unwrap(), "receipt 2 reached the agency");
}
