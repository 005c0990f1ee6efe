//! The SSC's exceptions: a duplicate claim is held (not booked, not rejected by itself),
//! listed with what to do next, and resolved by staff with a signed event.

use kvitt_protocol::event::{Action, Role, Status};

use super::claims::{approver, card_receipt, employee, ssc_staff};
use super::*;

/// Two claims of one card payment (the merchant reissued the receipt), both approved:
/// the first and the second claim's ids.
fn duplicate_claims(net: &mut Net) -> (RecordId, RecordId) {
    let original = net.push(card_receipt(1));
    let reissue = net.push(card_receipt(2));
    let first = net.claim("emp-1", &[original]);
    let second = net.claim("emp-1", &[reissue]);
    for claim in [first, second] {
        net.ask("agency", approver("boss"), ClientRequest::Decide { claim, action: Action::Approved })
            .unwrap();
    }
    (first, second)
}

fn exceptions(net: &mut Net, all: bool) -> Vec<Exception> {
    match net.ask("ssc", ssc_staff(), ClientRequest::Exceptions { limit: 10, all, after: None }) {
        Ok(ClientResponse::Exceptions(list)) => list.items,
        other => panic!("{other:?}"),
    }
}

fn resolve(
    net: &mut Net,
    caller: Caller,
    claim: RecordId,
    resolution: Resolution,
) -> Result<ClientResponse, Refusal> {
    let note = "Kvittot finns redan i 2026-000001".to_owned();
    net.ask("ssc", caller, ClientRequest::Resolve { claim, resolution, note })
}

#[test]
fn a_duplicate_is_held_open_with_its_next_step_and_cannot_be_booked_past() {
    let mut net = Net::new();
    let (first, second) = duplicate_claims(&mut net);
    assert_eq!(net.status_at("ssc", first), Status::Approved);
    assert_eq!(net.status_at("ssc", second), Status::Approved, "held, not rejected by itself");
    let open = exceptions(&mut net, false);
    assert_eq!(open.len(), 1, "{open:?}");
    let held = &open[0];
    assert_eq!((held.id, held.kind, held.open), (second, ExceptionKind::Duplicate, true));
    assert!(held.why.contains("card payment T-1/600000000042/OK4242"), "{}", held.why);
    assert!(held.next.contains("kvitt ssc resolve ID --decision reject"), "{}", held.next);
    assert_eq!(held.claim.as_ref().map(|claim| claim.status), Some(Status::Approved));
    let booked = net.ask("ssc", ssc_staff(), ClientRequest::Book { claim: second });
    let Err(refusal) = booked else { panic!("{booked:?}") };
    assert_eq!(refusal.code, RefusalCode::ExceptionOpen);
    assert_eq!(net.status_at("ssc", second), Status::Approved);
}

#[test]
fn resolving_a_duplicate_by_rejecting_it_signs_an_event_that_reaches_the_agency_and_closes_it() {
    let mut net = Net::new();
    let (_, second) = duplicate_claims(&mut net);
    assert_eq!(
        resolve(&mut net, ssc_staff(), second, Resolution::Reject),
        Ok(ClientResponse::Status(Status::Rejected))
    );
    assert_eq!(net.status_at("agency", second), Status::Rejected, "the resolution went back to the agency");
    let Ok(ClientResponse::Claim(view)) =
        net.ask("agency", approver("boss"), ClientRequest::ShowClaim { claim: second })
    else {
        panic!()
    };
    let last = view.events.last().unwrap();
    assert_eq!(last.signer(), Net::key_of("ssc"), "signed by the SSC");
    assert_eq!((last.body().actor.person.as_str(), last.body().actor.role), ("ssc-anna", Role::Ssc));
    let Action::Rejected { reason } = &last.body().action else { panic!("{last:?}") };
    assert!(
        reason.starts_with("Kvittot finns redan i 2026-000001 (exception resolved by ssc-anna: duplicate:")
    );
    assert!(reason.contains("card payment T-1/600000000042/OK4242"), "{reason}");
    assert!(exceptions(&mut net, false).is_empty(), "no longer open");
    let all = exceptions(&mut net, true);
    assert_eq!((all.len(), all[0].open), (1, false), "still there with --all");
    let again = resolve(&mut net, ssc_staff(), second, Resolution::Reject);
    assert!(matches!(&again, Err(refusal) if refusal.code.as_str() == "event.transition"), "{again:?}");
}

#[test]
fn resolving_a_duplicate_by_booking_it_notes_why_and_books_the_next_voucher() {
    let mut net = Net::new();
    let (first, second) = duplicate_claims(&mut net);
    assert_eq!(
        resolve(&mut net, ssc_staff(), second, Resolution::Book),
        Ok(ClientResponse::Status(Status::Booked))
    );
    let Ok(ClientResponse::Claim(view)) =
        net.ask("ssc", ssc_staff(), ClientRequest::ShowClaim { claim: second })
    else {
        panic!()
    };
    let actions: Vec<&str> = view.events.iter().map(|event| event.body().action.name()).collect();
    assert_eq!(actions, ["submitted", "approved", "reviewed", "booked"]);
    let Action::Reviewed { note: Some(note) } = &view.events[2].body().action else { panic!() };
    assert!(note.starts_with("exception resolved, booked anyway: Kvittot finns redan"), "{note}");
    assert!(exceptions(&mut net, false).is_empty());
    assert_eq!(net.status_at("ssc", first), Status::Approved, "the other claim is untouched");
}

#[test]
fn only_ssc_staff_resolve_and_only_with_a_note() {
    let mut net = Net::new();
    let (first, second) = duplicate_claims(&mut net);
    for caller in [approver("boss"), employee("emp-1")] {
        let refused = resolve(&mut net, caller, second, Resolution::Reject);
        assert!(matches!(&refused, Err(refusal) if refusal.code.as_str() == "auth.forbidden"), "{refused:?}");
    }
    let at_agency = net.ask(
        "agency",
        approver("boss"),
        ClientRequest::Resolve { claim: second, resolution: Resolution::Reject, note: "x".into() },
    );
    assert!(matches!(&at_agency, Err(refusal) if refusal.code.as_str() == "auth.forbidden"), "{at_agency:?}");
    let blank = net.ask(
        "ssc",
        ssc_staff(),
        ClientRequest::Resolve { claim: second, resolution: Resolution::Reject, note: " ".into() },
    );
    assert!(matches!(&blank, Err(refusal) if refusal.code.as_str() == "request.invalid"), "{blank:?}");
    let none = resolve(&mut net, ssc_staff(), first, Resolution::Reject);
    assert!(matches!(&none, Err(refusal) if refusal.code.as_str() == "request.not_found"), "{none:?}");
    assert_eq!(net.status_at("ssc", second), Status::Approved, "nothing changed");
    let listed =
        net.ask("ssc", employee("emp-1"), ClientRequest::Exceptions { limit: 10, all: false, after: None });
    assert!(matches!(&listed, Err(refusal) if refusal.code.as_str() == "auth.forbidden"), "{listed:?}");
}

#[test]
fn every_kind_is_read_from_its_words_and_has_a_next_step() {
    for (why, kind) in [
        ("duplicate: receipt 1a2b is already in claim 2026-000001", ExceptionKind::Duplicate),
        ("over-claim: items[0].amount: 9999999.99 SEK claimed on receipt 1a2b", ExceptionKind::OverClaim),
        ("equivocation", ExceptionKind::Equivocation),
        ("refused by peer: auth.signer", ExceptionKind::Delivery),
        ("outbox entry without its record", ExceptionKind::Delivery),
        ("policy: over the limit", ExceptionKind::Policy),
        ("rate: 11.90 is 4 % off the reference 11.45", ExceptionKind::Rate),
        ("something else", ExceptionKind::Other),
    ] {
        assert_eq!(ExceptionKind::of(why), kind, "{why}");
        assert!(!kind.next().is_empty());
    }
}
