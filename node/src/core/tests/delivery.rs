//! A pushed receipt reaches its agency: acknowledged durably, once, in series, through
//! outages, crashes and a changing directory, within the message limit; a conflicting
//! record becomes one piece of evidence.

use super::*;

#[test]
fn a_pushed_receipt_is_acknowledged_durably_and_reaches_the_agency() {
    let mut net = Net::new();
    let reply = net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(1))));
    net.run();
    let Ok(ClientResponse::Pushed { id, duplicate: false, code: None }) = net.reply(reply) else {
        panic!("pushed: {:?}", net.reply(reply));
    };
    assert_eq!(net.receipts_at_agency(), 1);
    let merchant = &net.nodes[&Net::key_of("merchant")];
    let ledger = Ledger::new(merchant.store.clone());
    assert!(ledger.outbox(&Net::key_of("agency"), 10).unwrap().is_empty(), "delivered and settled");
    merchant.store.crash();
    assert!(ledger.contains(id).unwrap(), "acknowledged means durable");
}

#[test]
fn the_same_receipt_twice_is_one_receipt() {
    let mut net = Net::new();
    let first = net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(1))));
    let second = net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(1))));
    net.run();
    assert!(matches!(net.reply(first), Ok(ClientResponse::Pushed { duplicate: false, .. })));
    assert!(matches!(net.reply(second), Ok(ClientResponse::Pushed { duplicate: true, .. })));
    assert_eq!(net.receipts_at_agency(), 1);
}

#[test]
fn serials_must_continue_the_register_series() {
    let mut net = Net::new();
    net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(5))));
    let gap = net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(7))));
    let next = net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(6))));
    net.run();
    let Err(refusal) = net.reply(gap) else { panic!("a gap is refused") };
    assert_eq!(refusal.code.as_str(), "receipt.serial");
    assert!(matches!(net.reply(next), Ok(ClientResponse::Pushed { .. })));
}

#[test]
fn a_register_at_the_largest_serial_refuses_the_next_receipt_and_the_node_goes_on() {
    let mut net = Net::new();
    let last = net.client(
        "merchant",
        till(),
        ClientRequest::PushReceipt(Box::new(Receipt { serial: u64::MAX, ..receipt(1) })),
    );
    let after = net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(2))));
    let other_register = Receipt { register: "CAR-8".into(), ..receipt(3) };
    let other = net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(other_register)));
    net.run();
    assert!(
        matches!(net.reply(last), Ok(ClientResponse::Pushed { duplicate: false, .. })),
        "{:?}",
        net.reply(last)
    );
    let Err(refusal) = net.reply(after) else { panic!("no serial follows u64::MAX: {:?}", net.reply(after)) };
    assert_eq!(refusal.code.as_str(), "receipt.serial");
    assert!(refusal.message.contains("CAR-7 has used its last serial (18446744073709551615)"), "{refusal}");
    assert!(!refusal.retry);
    assert!(matches!(net.reply(other), Ok(ClientResponse::Pushed { .. })), "{:?}", net.reply(other));
    assert_eq!(net.receipts_at_agency(), 2);
}

#[test]
fn delivery_resumes_when_the_agency_comes_back_and_nothing_is_doubled() {
    let mut net = Net::new();
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = false;
    for serial in 1..=20 {
        net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(serial))));
    }
    for _ in 0..5 {
        while let Some((to, input)) = net.queue.pop_front() {
            net.step(to, input);
        }
        net.now += time::Duration::seconds(30);
        net.step(Net::key_of("merchant"), Input::Tick);
    }
    assert_eq!(net.receipts_at_agency(), 0);
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = true;
    net.now += time::Duration::minutes(5);
    net.run();
    assert_eq!(net.receipts_at_agency(), 20);
}

#[test]
fn a_merchant_restarted_after_a_crash_delivers_what_it_acknowledged() {
    let mut net = Net::new();
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = false;
    for serial in 1..=3 {
        net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(serial))));
    }
    while let Some((to, input)) = net.queue.pop_front() {
        net.step(to, input);
    }
    // kill -9 and restart the merchant from what its store kept.
    let merchant = net.nodes.remove(&Net::key_of("merchant")).unwrap();
    merchant.store.crash();
    let identity = merchant.core.identity().clone();
    let config = merchant.core.config.clone();
    let core = NodeCore::start(identity, config, directory(1), merchant.store.clone()).unwrap();
    net.nodes.insert(Net::key_of("merchant"), Node { core, store: merchant.store, up: true });
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = true;
    net.run();
    assert_eq!(net.receipts_at_agency(), 3);
}

#[test]
fn a_receipt_signed_by_another_key_than_the_directory_lists_is_refused() {
    let mut net = Net::new();
    let forged = Signed::sign(receipt(1), &key("impostor")).unwrap();
    let agency = net.nodes.get_mut(&Net::key_of("agency")).unwrap();
    let effects = agency.core.handle(
        net.now,
        Input::Peer {
            reply: 9,
            from: Net::key_of("merchant"),
            directory_version: 1,
            request: PeerRequest::Deliver(vec![Ok(AnyRecord::Receipt(forged))]),
        },
    );
    let response = effects
        .into_iter()
        .find_map(|effect| match effect {
            Effect::WhenDurable(inner) => inner.into_iter().find_map(|effect| match effect {
                Deferred::ToPeer { response, .. } => Some(response),
                _ => None,
            }),
            _ => None,
        })
        .unwrap();
    let kvitt_protocol::wire::ResponseBody::Delivered { results } = response.body else { panic!() };
    let [kvitt_protocol::wire::Verdict::Refused { refusal }] = results.as_slice() else {
        panic!("{results:?}")
    };
    // Naming the merchant but signed by a stranger: forged whoever carries it (node.md
    // §Authorization: the signer is checked against the directory before the carrier).
    assert_eq!(refusal.code.as_str(), "auth.signer", "the directory lists another key for the seller");
    assert_eq!(net.receipts_at_agency(), 0);
}

#[test]
fn a_newer_directory_spreads_to_peers_through_ordinary_traffic() {
    let mut net = Net::new();
    // The SSC hands the agency version 2, as a delivered record.
    let newer = AnyRecord::Directory(directory(2));
    let input = Input::Peer {
        reply: 0,
        from: Net::key_of("ssc"),
        directory_version: 1,
        request: PeerRequest::Deliver(vec![Ok(newer)]),
    };
    net.step(Net::key_of("agency"), input);
    assert_eq!(net.nodes[&Net::key_of("agency")].core.directory().body().version, 2);
    // The merchant learns of it from the agency's answer to an ordinary delivery.
    net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(1))));
    net.run();
    assert_eq!(net.nodes[&Net::key_of("merchant")].core.directory().body().version, 2);
}

#[test]
fn a_node_without_traffic_learns_a_newer_directory_by_asking_the_ssc() {
    let mut net = Net::new();
    net.run();
    let input = Input::Peer {
        reply: 0,
        from: Net::key_of("agency"),
        directory_version: 1,
        request: PeerRequest::Deliver(vec![Ok(AnyRecord::Directory(directory(2)))]),
    };
    net.step(Net::key_of("ssc"), input);
    assert_eq!(net.nodes[&Net::key_of("merchant")].core.directory().body().version, 1);
    net.now += time::Duration::milliseconds(DIRECTORY_POLL_INTERVAL_MS);
    net.run();
    assert_eq!(net.nodes[&Net::key_of("merchant")].core.directory().body().version, 2);
}

#[test]
fn a_directory_that_no_longer_lists_the_node_is_refused_and_the_old_one_kept() {
    let mut net = Net::new();
    let mut body = directory(2).body().clone();
    body.members.retain(|member| member.key != Net::key_of("agency"));
    for member in &mut body.members {
        member.serves.clear();
    }
    let without_agency = Signed::sign(body, &key("operator")).unwrap();
    let input = Input::Peer {
        reply: 0,
        from: Net::key_of("ssc"),
        directory_version: 2,
        request: PeerRequest::Deliver(vec![Ok(AnyRecord::Directory(without_agency))]),
    };
    net.step(Net::key_of("agency"), input);
    assert_eq!(net.nodes[&Net::key_of("agency")].core.directory().body().version, 1);
}

#[test]
fn an_outbox_entry_whose_record_is_lost_is_set_aside_and_the_rest_delivered() {
    let mut net = Net::new();
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = false;
    let first = net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(1))));
    while let Some((to, input)) = net.queue.pop_front() {
        net.step(to, input);
    }
    let Ok(ClientResponse::Pushed { id: lost, .. }) = net.reply(first).clone() else { panic!("pushed") };
    let mut damage = Batch::new();
    damage.remove(crate::ledger::keys::record(&lost));
    net.nodes[&Net::key_of("merchant")].store.apply(&damage).unwrap();
    net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt(2))));
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = true;
    net.now += time::Duration::minutes(5);
    net.run();
    assert_eq!(net.receipts_at_agency(), 1, "receipt 2 is not held up behind the lost one");
    let merchant = Ledger::new(net.nodes[&Net::key_of("merchant")].store.clone());
    assert!(merchant.outbox(&Net::key_of("agency"), 10).unwrap().is_empty());
    assert!(merchant.exception(&lost).unwrap().is_some(), "the lost entry is kept as an exception");
}

#[test]
fn deliveries_are_split_to_stay_within_the_message_limit() {
    let mut net = Net::new();
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = false;
    let receipts = 80;
    let mut total_bytes = 0;
    for serial in 1..=receipts {
        let mut body = receipt(serial);
        let line = body.lines[0].clone();
        body.lines = (0..400)
            .map(|index| Line {
                description: format!("Taxi, stopp {index} på vägen till Arlanda"),
                ..line.clone()
            })
            .collect();
        let body = Receipt { vat: vec![], total: 0, payments: vec![], ..body }.with_computed_totals();
        let total = body.total;
        let body = Receipt {
            payments: vec![Payment::Swish { amount: total, reference: format!("SW{serial}") }],
            ..body
        };
        total_bytes += Signed::sign(body.clone(), &key("merchant")).unwrap().bytes().len();
        let reply = net.client("merchant", till(), ClientRequest::PushReceipt(Box::new(body)));
        while let Some((to, input)) = net.queue.pop_front() {
            net.step(to, input);
        }
        assert!(matches!(net.reply(reply), Ok(ClientResponse::Pushed { .. })), "{:?}", net.reply(reply));
    }
    assert!(
        total_bytes > kvitt_protocol::limits::MAX_MESSAGE_BYTES,
        "{total_bytes} bytes: the test needs more"
    );
    net.sent.clear();
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = true;
    net.now += time::Duration::minutes(5);
    net.run();
    assert_eq!(net.receipts_at_agency(), usize::try_from(receipts).unwrap());
    assert!(net.sent.len() >= 2, "split into several deliveries: {:?}", net.sent);
    assert!(
        net.sent.iter().all(|&bytes| bytes <= kvitt_protocol::limits::MAX_MESSAGE_BYTES),
        "{:?}",
        net.sent
    );
}

#[test]
fn a_conflicting_record_yields_one_piece_of_evidence_sent_to_the_channel() {
    let mut net = Net::new();
    let first = Signed::sign(receipt(1), &key("merchant")).unwrap();
    let mut other = receipt(1);
    other.lines[0].description = "Taxi Arlanda, annan".into();
    let other = Signed::sign(other.with_computed_totals(), &key("merchant")).unwrap();
    let deliver = |record: &Signed<Receipt>| Input::Peer {
        reply: 0,
        from: Net::key_of("merchant"),
        directory_version: 1,
        request: PeerRequest::Deliver(vec![Ok(AnyRecord::Receipt(record.clone()))]),
    };
    net.step(Net::key_of("agency"), deliver(&first));
    for _ in 0..3 {
        net.step(Net::key_of("agency"), deliver(&other));
        net.now += time::Duration::seconds(2);
    }
    let agency = Ledger::new(net.nodes[&Net::key_of("agency")].store.clone());
    assert_eq!(agency.exceptions(10).unwrap().len(), 1, "one evidence for one pair, however often it comes");
    net.run();
    let merchant = Ledger::new(net.nodes[&Net::key_of("merchant")].store.clone());
    assert_eq!(
        merchant.exceptions(10).unwrap(),
        agency.exceptions(10).unwrap(),
        "the channel's other member has it"
    );
    let ssc = Ledger::new(net.nodes[&Net::key_of("ssc")].store.clone());
    assert!(ssc.exceptions(10).unwrap().is_empty(), "the SSC is not in the receipt's channel");
}
