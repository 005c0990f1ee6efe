//! Card routing (spec/routing.md): a receipt pushed with its card finds the enrolling
//! agency; an unknown card's receipt stays with the merchant; the SSC answers one card of
//! one serial at a bounded rate and holds no clear reference.

use kvitt_protocol::routing::{CardHash, CardReference, RoutingKey};
use kvitt_protocol::wire::{RefusalCode, ResponseBody};

use super::*;

const PAR: &str = "V0010013018209568912345678912";
const STRANGER: &str = "V0010013018209568900000000001";

fn operator() -> Caller {
    Caller { person: "operator-1".into(), role: CallerRole::Operator }
}

fn hash(reference: &str) -> CardHash {
    RoutingKey::new([9; 32]).card_hash(&CardReference::parse("card", reference).unwrap())
}

fn buyerless(serial: u64) -> Box<Receipt> {
    Box::new(Receipt { buyer: None, ..receipt(serial) })
}

fn card_push(serial: u64, card: &str) -> ClientRequest {
    ClientRequest::PushCardReceipt { receipt: buyerless(serial), card: card.into() }
}

fn push_by_card(net: &mut Net, serial: u64, card: &str) -> Result<ClientResponse, Refusal> {
    net.ask("merchant", till(), card_push(serial, card))
}

fn enrolment(cards: &[(&str, Option<&str>)]) -> ClientRequest {
    let cards = cards
        .iter()
        .map(|(reference, employee)| CardEnrolment {
            reference: (*reference).into(),
            employee: employee.map(str::to_owned),
        })
        .collect();
    ClientRequest::Enrol { cards }
}

fn enrol(net: &mut Net, cards: &[(&str, Option<&str>)]) -> Result<ClientResponse, Refusal> {
    net.ask("agency", operator(), enrolment(cards))
}

/// Sends `request` to the SSC as `from` and returns the SSC's answer.
fn ask_ssc(net: &mut Net, from: &str, request: PeerRequest) -> ResponseBody {
    let from = Net::key_of(from);
    let input = Input::Peer { reply: 0, from, directory_version: 1, request };
    let ssc = Net::key_of("ssc");
    let effects = net.nodes.get_mut(&ssc).unwrap().core.handle(net.now, input);
    let mut answer = None;
    for effect in effects {
        match effect {
            Effect::Write(batch) => net.nodes[&ssc].store.apply(&batch).unwrap(),
            Effect::WhenDurable(inner) => {
                for effect in inner {
                    if let Deferred::ToPeer { response, .. } = effect {
                        answer = Some(response.body);
                    }
                }
            }
            _ => {}
        }
    }
    answer.expect("answered")
}

fn lookup(net: &mut Net, from: &str, serial: u64, card: &str) -> ResponseBody {
    ask_ssc(net, from, PeerRequest::Route { register: "CAR-7".into(), serial, card: hash(card) })
}

fn refusal_code(body: &ResponseBody) -> &str {
    match body {
        ResponseBody::Refused { refusal } => refusal.code.as_str(),
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn a_receipt_pushed_with_an_enrolled_card_reaches_the_agency_and_an_unknown_one_stays() {
    let mut net = Net::new();
    assert_eq!(enrol(&mut net, &[(PAR, Some("emp-1"))]), Ok(ClientResponse::Enrolled { cards: 1 }));
    let Ok(ClientResponse::Pushed { id, duplicate: false, code: None }) = push_by_card(&mut net, 1, PAR)
    else {
        panic!("not pushed")
    };
    net.run();
    assert_eq!(net.receipts_at_agency(), 1);
    let agency = Ledger::new(net.nodes[&Net::key_of("agency")].store.clone());
    let Some(AnyRecord::Receipt(held)) = agency.record(&id).unwrap() else { panic!("not held") };
    assert_eq!((held.body().buyer_agency(), held.body().buyer_employee()), (Some(AGENCY), Some("emp-1")));

    // The unknown card's receipt gets a code, to be collected with (spec/codes.md).
    let Ok(ClientResponse::Pushed { id: kept, code: Some(_), .. }) = push_by_card(&mut net, 2, STRANGER)
    else {
        panic!("not pushed with a code")
    };
    net.run();
    assert_eq!(net.receipts_at_agency(), 1, "the unknown card's receipt stays with the merchant");
    let merchant = Ledger::new(net.nodes[&Net::key_of("merchant")].store.clone());
    let Some(AnyRecord::Receipt(kept)) = merchant.record(&kept).unwrap() else { panic!("not kept") };
    assert_eq!(kept.body().buyer, None);
    assert!(net.nodes[&Net::key_of("merchant")].core.outbox.is_idle());
}

#[test]
fn a_card_push_repeated_after_the_card_was_enrolled_is_answered_with_the_receipt_signed_first() {
    let mut net = Net::new();
    // The first push finds no agency for the card: the merchant keeps the receipt.
    let Ok(ClientResponse::Pushed { id: kept, duplicate: false, code: Some(code) }) =
        push_by_card(&mut net, 1, PAR)
    else {
        panic!("not kept")
    };
    net.run();
    // Its answer was lost; the card is enrolled before the till pushes again.
    assert_eq!(enrol(&mut net, &[(PAR, Some("emp-1"))]), Ok(ClientResponse::Enrolled { cards: 1 }));
    net.run();
    let again = push_by_card(&mut net, 1, PAR);
    assert_eq!(again, Ok(ClientResponse::Pushed { id: kept, duplicate: true, code: Some(code) }));
    // A different receipt for the same serial is still refused.
    let other = Box::new(Receipt { issued_at: "2026-01-01T00:05:00+01:00".into(), ..*buyerless(1) });
    let refusal =
        net.ask("merchant", till(), ClientRequest::PushCardReceipt { receipt: other, card: PAR.into() });
    assert_eq!(refusal.unwrap_err().code, RefusalCode::SerialOrder);
}

#[test]
fn a_card_push_repeated_while_its_lookup_ran_is_answered_with_the_receipt_the_first_lookup_signed() {
    let mut net = Net::new();
    // The till pushes and, its answer slow in coming, pushes again; the card is enrolled
    // between the two lookups, so the first finds no agency and the second finds one.
    let first = net.client("merchant", till(), card_push(1, PAR));
    let enrolled = net.client("agency", operator(), enrolment(&[(PAR, Some("emp-1"))]));
    let second = net.client("merchant", till(), card_push(1, PAR));
    net.run();
    assert_eq!(net.reply(enrolled), &Ok(ClientResponse::Enrolled { cards: 1 }));
    let Ok(ClientResponse::Pushed { id: kept, duplicate: false, code: Some(code) }) =
        net.reply(first).clone()
    else {
        panic!("the first push was not kept: {:?}", net.reply(first))
    };
    // The second lookup's agency signs nothing: the receipt signed for the first is the answer.
    assert_eq!(
        net.reply(second),
        &Ok(ClientResponse::Pushed { id: kept, duplicate: true, code: Some(code) })
    );
    assert_eq!(net.receipts_at_agency(), 0);
    // The card's next receipt does reach the agency: the enrolment was in place.
    assert!(matches!(push_by_card(&mut net, 2, PAR), Ok(ClientResponse::Pushed { code: None, .. })));
    net.run();
    assert_eq!(net.receipts_at_agency(), 1);
}

#[test]
fn without_an_ssc_answer_the_till_is_told_to_push_again_and_nothing_is_signed() {
    let mut net = Net::new();
    net.nodes.get_mut(&Net::key_of("ssc")).unwrap().up = false;
    let refusal = push_by_card(&mut net, 1, PAR).unwrap_err();
    assert!(refusal.retry, "{refusal}");
    let merchant = Ledger::new(net.nodes[&Net::key_of("merchant")].store.clone());
    assert_eq!(merchant.last_serial("CAR-7").unwrap(), None, "no serial used");
}

#[test]
fn a_push_names_a_buyer_or_a_card_and_never_a_card_number() {
    let mut net = Net::new();
    let both = ClientRequest::PushCardReceipt { receipt: Box::new(receipt(1)), card: PAR.into() };
    assert_eq!(net.ask("merchant", till(), both).unwrap_err().path, "buyer");
    let pan = push_by_card(&mut net, 1, "4111111111111111").unwrap_err();
    assert_eq!((pan.code.as_str(), pan.path.as_str()), ("payment.masked_pan", "card"));
    let refused = enrol(&mut net, &[(PAR, None), ("4111111111111111", None)]).unwrap_err();
    assert_eq!(refused.path, "cards[1].reference");
}

#[test]
fn lookups_are_rate_limited_per_merchant_at_the_limit() {
    let mut net = Net::new();
    for serial in 1..=u64::from(ROUTE_LOOKUPS_PER_MINUTE) {
        let answer = lookup(&mut net, "merchant", serial, STRANGER);
        assert_eq!(answer, ResponseBody::Routed { agency: None, employee: None }, "lookup {serial}");
    }
    let over = lookup(&mut net, "merchant", u64::from(ROUTE_LOOKUPS_PER_MINUTE) + 1, STRANGER);
    assert_eq!(refusal_code(&over), RefusalCode::RateLimited.as_str());
    net.now += time::Duration::minutes(1);
    let next = lookup(&mut net, "merchant", u64::from(ROUTE_LOOKUPS_PER_MINUTE) + 1, STRANGER);
    assert!(matches!(next, ResponseBody::Routed { .. }), "{next:?}");
}

#[test]
fn a_merchant_cannot_probe_a_card_at_a_serial_it_already_looked_up() {
    let mut net = Net::new();
    enrol(&mut net, &[(PAR, None)]).unwrap();
    assert!(matches!(lookup(&mut net, "merchant", 5, STRANGER), ResponseBody::Routed { agency: None, .. }));
    // Another card at the same or an earlier serial is a probe.
    for serial in [5, 4] {
        assert_eq!(refusal_code(&lookup(&mut net, "merchant", serial, PAR)), "receipt.serial");
    }
    // The same card at the same serial is a retry.
    assert!(matches!(lookup(&mut net, "merchant", 5, STRANGER), ResponseBody::Routed { .. }));
    let answer = lookup(&mut net, "merchant", 6, PAR);
    assert_eq!(answer, ResponseBody::Routed { agency: Some(AGENCY.into()), employee: None });
}

#[test]
fn only_merchants_look_up_and_only_served_agencies_enrol() {
    let mut net = Net::new();
    assert_eq!(refusal_code(&lookup(&mut net, "agency", 1, PAR)), "auth.forbidden");
    let cards = vec![kvitt_protocol::wire::EnrolledCard { card: hash(PAR), employee: None }];
    assert_eq!(refusal_code(&ask_ssc(&mut net, "merchant", PeerRequest::Enrol { cards })), "auth.forbidden");
}

#[test]
fn a_new_enrolment_replaces_the_old_and_the_ssc_holds_no_reference() {
    let mut net = Net::new();
    enrol(&mut net, &[(PAR, None), (STRANGER, Some("emp-2"))]).unwrap();
    assert!(matches!(
        lookup(&mut net, "merchant", 1, STRANGER),
        ResponseBody::Routed { agency: Some(_), .. }
    ));
    enrol(&mut net, &[(PAR, None)]).unwrap();
    assert!(matches!(lookup(&mut net, "merchant", 2, STRANGER), ResponseBody::Routed { agency: None, .. }));
    let ssc = &net.nodes[&Net::key_of("ssc")].store;
    for (key, value) in ssc.scan(b"", None, usize::MAX).unwrap() {
        for reference in [PAR, STRANGER] {
            let clear = reference.as_bytes();
            assert!(
                !key.windows(clear.len()).any(|w| w == clear)
                    && !value.windows(clear.len()).any(|w| w == clear)
            );
        }
    }
}

#[test]
fn a_card_another_agency_enrolled_is_refused_naming_only_its_entry() {
    let mut net = Net::new();
    enrol(&mut net, &[(PAR, None)]).unwrap();
    // Version 2 lists a second agency the SSC serves.
    let mut body = directory(2).body().clone();
    body.members.push(member(MemberRole::Agency, "202100-5497", "agency-2", 7403));
    for member in &mut body.members {
        if member.role == MemberRole::Ssc {
            member.serves.push("202100-5497".into());
        }
    }
    let v2 = Signed::sign(body, &key("operator")).unwrap();
    let install = ClientRequest::InstallDirectory { bytes: v2.bytes().to_vec() };
    assert!(net.ask("ssc", operator(), install).is_ok());
    let cards = |references: &[&str]| {
        references
            .iter()
            .map(|reference| kvitt_protocol::wire::EnrolledCard { card: hash(reference), employee: None })
            .collect()
    };
    let taken = ask_ssc(&mut net, "agency-2", PeerRequest::Enrol { cards: cards(&[STRANGER, PAR]) });
    let ResponseBody::Refused { refusal } = &taken else { panic!("not refused: {taken:?}") };
    assert_eq!((refusal.code.as_str(), refusal.path.as_str()), ("routing.card_taken", "body.cards[1]"));
    assert!(!refusal.message.contains(AGENCY), "{refusal}");
    // Nothing of the refused enrolment was written: the first agency keeps its card.
    let answer = lookup(&mut net, "merchant", 1, PAR);
    assert_eq!(answer, ResponseBody::Routed { agency: Some(AGENCY.into()), employee: None });
    assert_eq!(
        lookup(&mut net, "merchant", 2, STRANGER),
        ResponseBody::Routed { agency: None, employee: None }
    );
    let own = ask_ssc(&mut net, "agency-2", PeerRequest::Enrol { cards: cards(&[STRANGER]) });
    assert_eq!(own, ResponseBody::Enrolled { cards: 1 });
}
