//! Reversing a wrong booking or payment: a signed `reversed` event that reaches the
//! agency, a reversing voucher in the next export, and the receipts free again.

use kvitt_protocol::event::{Action, Role, Status};

use super::claims::{approver, employee, ssc_staff};
use super::export::{booked_claim, lines, sie};
use super::*;
use crate::ledger::VoucherOf::{Booking, Reversal};

fn reverse(net: &mut Net, caller: Caller, claim: RecordId, reason: &str) -> Result<ClientResponse, Refusal> {
    net.ask("ssc", caller, ClientRequest::Reverse { claim, reason: reason.into() })
}

const REASON: &str = "Utbetald två gånger: samma resa finns i 2026-000031.";

#[test]
fn a_paid_claim_is_reversed_with_a_signed_event_that_reaches_the_agency() {
    let mut net = Net::new();
    let (claim, receipt) = booked_claim(&mut net, receipt(1), 5800);
    net.ask("ssc", ssc_staff(), ClientRequest::Pay { claim }).unwrap();
    assert_eq!(reverse(&mut net, ssc_staff(), claim, REASON), Ok(ClientResponse::Status(Status::Reversed)));
    assert_eq!(net.status_at("ssc", claim), Status::Reversed);
    assert_eq!(net.status_at("agency", claim), Status::Reversed, "the event went back to the agency");
    let Ok(ClientResponse::Claim(view)) =
        net.ask("agency", approver("boss"), ClientRequest::ShowClaim { claim })
    else {
        panic!("show")
    };
    let last = view.events.last().unwrap();
    assert_eq!(last.signer(), Net::key_of("ssc"));
    assert_eq!((last.body().actor.person.as_str(), last.body().actor.role), ("ssc-anna", Role::Ssc));
    assert_eq!(
        last.body().action,
        Action::Reversed { reason: REASON.into(), series: "K".into(), number: 2 },
        "the next number of the series, after the booking's K 1"
    );
    let Ok(ClientResponse::Claims(listed)) =
        net.ask("agency", employee("emp-1"), ClientRequest::ListClaims { limit: 10, after: None })
    else {
        panic!("list")
    };
    assert_eq!(listed.items.iter().map(|summary| summary.status).collect::<Vec<_>>(), vec![Status::Reversed]);

    // The receipt is free again: the employee claims it anew, and the SSC takes the claim.
    let corrected = net.claim("emp-1", &[receipt]);
    net.ask("agency", approver("boss"), ClientRequest::Decide { claim: corrected, action: Action::Approved })
        .unwrap();
    assert_eq!(net.status_at("ssc", corrected), Status::Approved);
    assert_eq!(
        net.ask("ssc", ssc_staff(), ClientRequest::Book { claim: corrected }),
        Ok(ClientResponse::Status(Status::Booked))
    );
    let ssc = Ledger::new(net.nodes[&Net::key_of("ssc")].store.clone());
    assert_eq!(ssc.exception(&corrected).unwrap(), None, "not a duplicate of the reversed claim");
}

#[test]
fn the_reversing_voucher_goes_into_the_next_export_negating_the_original_and_naming_it() {
    let mut net = Net::new();
    let (claim, _) = booked_claim(&mut net, receipt(1), 5800);
    net.ask("ssc", ssc_staff(), ClientRequest::Pay { claim }).unwrap();
    let first = sie(&mut net, false);
    assert_eq!(first.vouchers, vec![(claim, Booking)]);
    reverse(&mut net, ssc_staff(), claim, REASON).unwrap();

    let second = sie(&mut net, false);
    assert_eq!(second.vouchers, vec![(claim, Reversal)], "the original went in the earlier file");
    let text = lines(&second.bytes);
    let ver = text.iter().find(|line| line.starts_with("#VER")).unwrap();
    assert!(ver.starts_with("#VER K 2 20260504 \"?terf?ring av K 1: R?kning 2026-000001 emp-1 "), "{ver}");
    let rows = |text: &[String]| -> Vec<String> {
        text.iter().filter(|line| line.trim_start().starts_with("#TRANS")).cloned().collect()
    };
    let (booked, reversing) = (rows(&lines(&first.bytes)), rows(&text));
    assert_eq!(booked.len(), reversing.len());
    for (booked, reversing) in booked.iter().zip(&reversing) {
        let (amount, negated) = (super::export::amount(booked), super::export::amount(reversing));
        assert_eq!(negated, -amount, "{booked} / {reversing}");
    }
    // Both in one file when asked again, in voucher order.
    assert_eq!(sie(&mut net, true).vouchers, vec![(claim, Booking), (claim, Reversal)]);
    // A later booking numbers on after the reversal.
    let (next, _) = booked_claim(&mut net, receipt(2), 5800);
    let text = lines(&sie(&mut net, false).bytes);
    assert!(text.iter().any(|line| line.starts_with("#VER K 3 ")), "{text:#?}");
    assert_eq!(sie(&mut net, true).vouchers.last(), Some(&(next, Booking)));
}

#[test]
fn a_booked_claim_not_yet_paid_can_be_reversed_too() {
    let mut net = Net::new();
    let (claim, _) = booked_claim(&mut net, receipt(1), 5800);
    assert_eq!(reverse(&mut net, ssc_staff(), claim, REASON), Ok(ClientResponse::Status(Status::Reversed)));
    let refused = net.ask("ssc", ssc_staff(), ClientRequest::Pay { claim }).unwrap_err();
    assert_eq!(refused.code.as_str(), "event.transition", "reversed is final");
    let again = reverse(&mut net, ssc_staff(), claim, REASON).unwrap_err();
    assert_eq!(again.code.as_str(), "event.transition");
}

#[test]
fn only_ssc_staff_reverse_only_a_booked_or_paid_claim_and_only_with_a_reason() {
    let mut net = Net::new();
    let receipt_id = net.push(receipt(1));
    let claim = net.claim("emp-1", &[receipt_id]);
    net.ask("agency", approver("boss"), ClientRequest::Decide { claim, action: Action::Approved }).unwrap();
    let counter = |net: &Net| {
        Ledger::new(net.nodes[&Net::key_of("ssc")].store.clone())
            .counter(&format!("voucher/{AGENCY}"))
            .unwrap()
    };

    let approved = reverse(&mut net, ssc_staff(), claim, REASON).unwrap_err();
    assert_eq!((approved.code.as_str(), approved.path.as_str()), ("event.transition", "action"));
    assert!(approved.message.contains("may not record reversed on a Approved claim"), "{approved}");
    assert_eq!(counter(&net), 0, "a refused reversal takes no voucher number");

    net.ask("ssc", ssc_staff(), ClientRequest::Book { claim }).unwrap();
    let at_agency =
        net.ask("agency", approver("boss"), ClientRequest::Reverse { claim, reason: REASON.into() });
    assert_eq!(at_agency.unwrap_err().code.as_str(), "auth.forbidden");
    let by_approver = reverse(&mut net, approver("boss"), claim, REASON);
    assert_eq!(by_approver.unwrap_err().code.as_str(), "auth.forbidden");
    let empty = reverse(&mut net, ssc_staff(), claim, "").unwrap_err();
    assert_eq!((empty.code.as_str(), empty.path.as_str()), ("text.invalid", "reason"));
    let disguised = reverse(&mut net, ssc_staff(), claim, "Fel \u{202E}belopp").unwrap_err();
    assert_eq!((disguised.code.as_str(), disguised.path.as_str()), ("text.bidi", "reason"));
    assert_eq!(net.status_at("ssc", claim), Status::Booked);
    assert_eq!(counter(&net), 1, "only the booking's number is taken");
}
