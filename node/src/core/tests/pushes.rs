//! The merchant operator's view of the tills: each register's latest receipts, newest
//! first, each queued, delivered or refused with the peer's words.

use super::*;
use crate::core::{Delivery, RegisterPushes};

fn operator() -> Caller {
    Caller { person: "olle".into(), role: CallerRole::Operator }
}

/// Asks without running the network on (the agency may be down): the queue is drained.
fn ask_here(
    net: &mut Net,
    node: &str,
    caller: Caller,
    request: ClientRequest,
) -> Result<ClientResponse, kvitt_protocol::wire::Refusal> {
    let reply = net.client(node, caller, request);
    while let Some((to, input)) = net.queue.pop_front() {
        net.step(to, input);
    }
    net.reply(reply).clone()
}

fn pushes(net: &mut Net) -> Vec<RegisterPushes> {
    match ask_here(net, "merchant", operator(), ClientRequest::Pushes { limit: 10 }) {
        Ok(ClientResponse::Pushes(registers)) => registers,
        other => panic!("{other:?}"),
    }
}

#[test]
fn each_register_lists_its_latest_receipts_queued_then_delivered_or_refused() {
    let mut net = Net::new();
    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = false;
    let ids: Vec<RecordId> = (1..=3)
        .map(|serial| {
            match ask_here(
                &mut net,
                "merchant",
                till(),
                ClientRequest::PushReceipt(Box::new(receipt(serial))),
            ) {
                Ok(ClientResponse::Pushed { id, .. }) => id,
                other => panic!("{other:?}"),
            }
        })
        .collect();
    let registers = pushes(&mut net);
    assert_eq!(registers.len(), 1);
    let serials: Vec<u64> = registers[0].pushes.iter().map(|push| push.serial).collect();
    assert_eq!(serials, vec![3, 2, 1], "newest first");
    assert!(registers[0].pushes.iter().all(|push| push.delivery == Delivery::Queued), "{registers:?}");
    match ask_here(&mut net, "merchant", operator(), ClientRequest::Pushes { limit: 2 }) {
        Ok(ClientResponse::Pushes(registers)) => assert_eq!(registers[0].pushes.len(), 2, "the limit"),
        other => panic!("{other:?}"),
    }

    net.nodes.get_mut(&Net::key_of("agency")).unwrap().up = true;
    net.run();
    let registers = pushes(&mut net);
    assert!(registers[0].pushes.iter().all(|push| push.delivery == Delivery::Delivered), "{registers:?}");

    // A refusal for good leaves its exception, which the list shows with the peer's words.
    let mut batch = crate::store::Batch::new();
    batch.insert(crate::ledger::keys::exception(&ids[0]), b"refused by peer: receipt.serial [x]".to_vec());
    net.nodes[&Net::key_of("merchant")].store.apply(&batch).unwrap();
    let registers = pushes(&mut net);
    let first = registers[0].pushes.iter().find(|push| push.id == ids[0]).unwrap();
    assert_eq!(first.delivery, Delivery::Refused("receipt.serial [x]".into()));
}

#[test]
fn only_the_operator_of_a_merchant_node_lists_pushes() {
    let mut net = Net::new();
    for (node, caller) in [("merchant", till()), ("agency", operator())] {
        let refused = ask_here(&mut net, node, caller, ClientRequest::Pushes { limit: 10 }).unwrap_err();
        assert_eq!(refused.code.as_str(), "auth.forbidden", "{node}");
    }
}
