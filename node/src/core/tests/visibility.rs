//! No route tells a caller of something they may not see: another employee's claim or
//! receipt is answered exactly as one the node does not hold, whatever the route; and a
//! receipt's own fields are judged before the directory, so a wrong org number is a
//! field error, not a membership that a retry might fix.

use kvitt_protocol::event::{Action, Status};
use kvitt_protocol::wire::Refusal;

use super::claims::employee;
use super::*;

fn not_found(result: Result<ClientResponse, Refusal>) -> Refusal {
    match result {
        Err(refusal) if refusal.code.as_str() == "request.not_found" => refusal,
        other => panic!("answered as if it existed: {other:?}"),
    }
}

#[test]
fn another_employee_s_claim_is_answered_as_no_claim_on_every_route() {
    let mut net = Net::new();
    let receipt = net.push(receipt(1));
    let claim = net.claim("emp-1", &[receipt]);
    let unknown = RecordId([9; 32]);
    for id in [claim, unknown] {
        let withdraw = ClientRequest::Decide { claim: id, action: Action::Withdrawn };
        let refused = not_found(net.ask("agency", employee("emp-2"), withdraw));
        assert_eq!(refused.message, format!("no claim {id}"), "the same words for both");
        let show = not_found(net.ask("agency", employee("emp-2"), ClientRequest::ShowClaim { claim: id }));
        assert_eq!(show.message, format!("no claim {id}"));
        not_found(net.ask("agency", employee("emp-2"), ClientRequest::Record(id)));
    }
    assert_eq!(net.status_at("agency", claim), Status::Submitted, "nothing changed");
    let withdraw = ClientRequest::Decide { claim, action: Action::Withdrawn };
    assert!(net.ask("agency", employee("emp-1"), withdraw).is_ok(), "the claimant may");
    assert_eq!(net.status_at("agency", claim), Status::Withdrawn);
}

#[test]
fn another_employee_s_receipt_cannot_be_added_to_a_draft_and_is_not_named() {
    let mut net = Net::new();
    let theirs = net.push(receipt(1)); // bought for emp-1
    let Ok(ClientResponse::Draft { draft, .. }) =
        net.ask("agency", employee("emp-2"), ClientRequest::NewClaim { purpose: "Resa".into() })
    else {
        panic!("a draft");
    };
    let item = kvitt_protocol::claim::ClaimItem::Receipt {
        receipt: theirs,
        business_purpose: "Resa".into(),
        amount: 100,
        booking: kvitt_protocol::claim::Booking { account: 5800, cost_center: "CC-1".into(), project: None },
        foreign: None,
        participants: vec![],
    };
    let add = ClientRequest::AddItem { number: draft.number, item: Box::new(item) };
    let refused = not_found(net.ask("agency", employee("emp-2"), add));
    assert!(!refused.message.contains("emp-1"), "{refused:?}");
    assert_eq!(refused.message, format!("no receipt {theirs} at this agency"));
}

#[test]
fn a_buyer_org_number_with_a_wrong_check_digit_is_a_field_error_without_retry() {
    let mut net = Net::new();
    let mut wrong = receipt(1);
    wrong.buyer.as_mut().unwrap().agency = "202100-5480".into(); // 202100-5489 with another last digit
    let refused = match net.ask("merchant", till(), ClientRequest::PushReceipt(Box::new(wrong))) {
        Err(refusal) => refusal,
        other => panic!("{other:?}"),
    };
    assert_ne!(refused.code.as_str(), "auth.not_member", "{refused:?}");
    assert_eq!(refused.path, "body.buyer.agency", "{refused:?}");
    assert!(!refused.retry, "{refused:?}");
    // A well-formed number of no member is what auth.not_member (retry) is for.
    let mut stranger = receipt(1);
    stranger.buyer.as_mut().unwrap().agency = "556036-0793".into();
    let refused = match net.ask("merchant", till(), ClientRequest::PushReceipt(Box::new(stranger))) {
        Err(refusal) => refusal,
        other => panic!("{other:?}"),
    };
    assert_eq!((refused.code.as_str(), refused.retry), ("auth.not_member", true));
}
