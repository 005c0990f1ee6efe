//! The money rules at every stage (spec/node.md §Claim amounts): a claim item never asks
//! more than its receipt supports (returns netted, other live claims counted), and a
//! receipt is booked on the right side of the border. Regressions of issue 12: a 1,624 SEK
//! receipt claimed at 9,999,999.99 SEK went through draft, submission, approval, booking
//! and payment; a Berlin hotel was booked as lodging in Sweden.

use kvitt_protocol::claim::{Booking, Claim, ClaimItem, ExchangeRate, ForeignAmount};
use kvitt_protocol::event::{Action, Actor, ClaimEvent, Role, Status};

use super::claims::{approver, employee, ssc_staff};
use super::*;
use crate::core::exceptions::{ExceptionKind, Resolution};
use crate::policy::{Finding, Rule, Severity};

/// A receipt item of `amount` öre of `receipt`, booked to `account`.
fn item(receipt: RecordId, amount: i64, account: u16) -> ClaimItem {
    ClaimItem::Receipt {
        receipt,
        business_purpose: "Taxi till mötet".into(),
        amount,
        booking: Booking { account, cost_center: "CC-1".into(), project: None },
        foreign: None,
        participants: vec![],
    }
}

/// The taxi ride `receipt(serial)` taken back in part: a return of `refund` öre naming
/// `original`, refunded by Swish.
fn refund(serial: u64, original: RecordId, refund: i64) -> Receipt {
    let template = receipt(serial);
    let line = Line { kind: LineKind::Return, unit_price: Some(refund), ..template.lines[0].clone() };
    let body = Receipt { lines: vec![line], original: Some(original), ..template }.with_computed_totals();
    let total = body.total;
    Receipt { payments: vec![Payment::Swish { amount: total, reference: format!("RET{serial}") }], ..body }
}

/// The total of the taxi ride `receipt(serial)`, in öre.
fn fare(serial: u64) -> i64 {
    receipt(serial).total
}

impl Net {
    /// emp-1's new draft; its number.
    fn open_draft(&mut self) -> String {
        match self.ask("agency", employee("emp-1"), ClientRequest::NewClaim { purpose: "Resa".into() }) {
            Ok(ClientResponse::Draft { draft, .. }) => draft.number,
            other => panic!("draft: {other:?}"),
        }
    }

    fn add(&mut self, number: &str, item: ClaimItem) -> Result<ClientResponse, Refusal> {
        let request = ClientRequest::AddItem { number: number.into(), item: Box::new(item) };
        self.ask("agency", employee("emp-1"), request)
    }

    fn findings_of(&mut self, number: &str) -> Vec<Finding> {
        match self.ask("agency", employee("emp-1"), ClientRequest::ShowDraft { number: number.into() }) {
            Ok(ClientResponse::Draft { findings, .. }) => findings,
            other => panic!("draft: {other:?}"),
        }
    }

    fn submit(&mut self, number: &str) -> Result<ClientResponse, Refusal> {
        self.ask("agency", employee("emp-1"), ClientRequest::Submit { number: number.into() })
    }

    /// emp-1 claims `amount` öre of `receipt` on 5800, submits and has it approved.
    fn approved_claim(&mut self, receipt: RecordId, amount: i64) -> RecordId {
        let number = self.open_draft();
        self.add(&number, item(receipt, amount, 5800)).unwrap();
        let Ok(ClientResponse::Submitted { claim }) = self.submit(&number) else { panic!("submit") };
        self.ask("agency", approver("boss"), ClientRequest::Decide { claim, action: Action::Approved })
            .unwrap();
        claim
    }

    /// Asks and carries out what follows, without waiting for the network to settle: the
    /// SSC's events of a claim delivered by [`Net::deliver_to_ssc`] go to an agency that
    /// does not hold the claim, which asks for it again and again.
    fn ask_now(
        &mut self,
        node: &str,
        caller: Caller,
        request: ClientRequest,
    ) -> Result<ClientResponse, Refusal> {
        let reply = self.client(node, caller, request);
        for _ in 0..1_000 {
            let Some((to, input)) = self.queue.pop_front() else { break };
            self.step(to, input);
        }
        self.reply(reply).clone()
    }

    /// Delivers `records` to the SSC as the agency would, past the agency's own checks: a
    /// claim signed by the agency's key reaches the SSC whatever the agency's node checked.
    fn deliver_to_ssc(&mut self, records: Vec<AnyRecord>) {
        let input = Input::Peer {
            reply: 0,
            from: Net::key_of("agency"),
            directory_version: 1,
            request: PeerRequest::Deliver(records.into_iter().map(Ok).collect()),
        };
        self.step(Net::key_of("ssc"), input);
    }

    fn ssc_status(&mut self, claim: RecordId) -> Status {
        match self.ask_now("ssc", ssc_staff(), ClientRequest::ShowClaim { claim }) {
            Ok(ClientResponse::Claim(view)) => view.status,
            other => panic!("show: {other:?}"),
        }
    }

    fn exception_at_ssc(&mut self, claim: RecordId) -> Option<Exception> {
        match self.ask_now(
            "ssc",
            ssc_staff(),
            ClientRequest::Exceptions { limit: 10, all: true, after: None },
        ) {
            Ok(ClientResponse::Exceptions(list)) => {
                list.items.into_iter().find(|exception| exception.id == claim)
            }
            other => panic!("{other:?}"),
        }
    }
}

/// Claim `number` of `items` with its receipt, submitted and approved, each signed by the
/// agency's key.
fn approved_records(
    number: &str,
    receipt: &Signed<Receipt>,
    items: Vec<ClaimItem>,
) -> (RecordId, Vec<AnyRecord>) {
    let agency = key("agency");
    let claim = Claim {
        number: number.into(),
        agency: AGENCY.into(),
        claimant: "emp-1".into(),
        purpose: "Resa".into(),
        created_at: "2026-05-04T09:00:00+02:00".into(),
        items,
    };
    let claim = Signed::sign(claim, &agency).unwrap();
    let event = |previous: Option<RecordId>, person: &str, role, action| {
        let body = ClaimEvent {
            claim: claim.id(),
            previous,
            at: "2026-05-04T09:10:00+02:00".into(),
            actor: Actor { person: person.into(), role },
            action,
        };
        Signed::sign(body, &agency).unwrap()
    };
    let submitted = event(None, "emp-1", Role::Employee, Action::Submitted);
    let approved = event(Some(submitted.id()), "boss", Role::Approver, Action::Approved);
    let records = vec![
        AnyRecord::Receipt(receipt.clone()),
        AnyRecord::Claim(claim.clone()),
        AnyRecord::ClaimEvent(submitted),
        AnyRecord::ClaimEvent(approved),
    ];
    (claim.id(), records)
}

#[test]
fn an_item_may_claim_its_receipt_whole_and_not_one_ore_more() {
    let mut net = Net::new();
    let receipt = net.push(receipt(1));
    let number = net.open_draft();
    let over = net.add(&number, item(receipt, 999_999_999, 5800));
    let Err(refusal) = over else { panic!("9,999,999.99 SEK on a {} öre receipt: {over:?}", fare(1)) };
    assert_eq!((refusal.code.as_str(), refusal.path.as_str()), ("claim.over_claim", "items[0].amount"));
    assert!(refusal.message.starts_with("9999999.99 SEK claimed on receipt"), "{refusal}");
    let one_more = net.add(&number, item(receipt, fare(1) + 1, 5800));
    assert!(matches!(&one_more, Err(refusal) if refusal.code.as_str() == "claim.over_claim"), "{one_more:?}");
    assert!(net.add(&number, item(receipt, fare(1), 5800)).is_ok(), "the whole receipt may be claimed");
    assert!(net.findings_of(&number).is_empty());
}

#[test]
fn a_return_after_the_item_shows_on_the_draft_and_refuses_submission() {
    let mut net = Net::new();
    let original = net.push(receipt(1));
    let number = net.open_draft();
    net.add(&number, item(original, fare(1), 5800)).unwrap();
    net.push(refund(2, original, 10_000));
    let findings = net.findings_of(&number);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!((findings[0].rule, findings[0].severity), (Rule::OverClaim, Severity::Error));
    assert_eq!(findings[0].item.as_deref(), Some("items[0]"));
    assert!(findings[0].message.contains("less 100.00 SEK returned"), "{}", findings[0].message);
    let refused = net.submit(&number);
    let Err(refusal) = refused else { panic!("{refused:?}") };
    assert_eq!((refusal.code.as_str(), refusal.path.as_str()), ("claim.over_claim", "items[0].amount"));
    assert!(net.findings_of(&number).len() == 1, "the draft is still there, unsigned");
    // What is left after the return may be claimed.
    let corrected = net.open_draft();
    assert!(net.add(&corrected, item(original, fare(1) - 10_000 + 1, 5800)).is_err());
    net.add(&corrected, item(original, fare(1) - 10_000, 5800)).unwrap();
    assert!(matches!(net.submit(&corrected), Ok(ClientResponse::Submitted { .. })));
}

#[test]
fn a_return_after_submission_refuses_the_approval() {
    let mut net = Net::new();
    let original = net.push(receipt(1));
    let number = net.open_draft();
    net.add(&number, item(original, fare(1), 5800)).unwrap();
    let Ok(ClientResponse::Submitted { claim }) = net.submit(&number) else { panic!("submit") };
    net.push(refund(2, original, 10_000));
    let approval =
        net.ask("agency", approver("boss"), ClientRequest::Decide { claim, action: Action::Approved });
    let Err(refusal) = approval else { panic!("{approval:?}") };
    assert_eq!(refusal.code.as_str(), "claim.over_claim");
    assert_eq!(net.status_at("agency", claim), Status::Submitted, "nothing was signed");
    let Ok(ClientResponse::Claim(view)) =
        net.ask("agency", approver("boss"), ClientRequest::ShowClaim { claim })
    else {
        panic!()
    };
    assert!(view.findings.iter().any(|finding| finding.rule == Rule::OverClaim), "{:?}", view.findings);
    // The approver rejects it; the receipt is free for a corrected claim.
    let reject = Action::Rejected { reason: "Taxin återbetalades delvis".into() };
    net.ask("agency", approver("boss"), ClientRequest::Decide { claim, action: reject }).unwrap();
    let corrected = net.open_draft();
    assert!(net.add(&corrected, item(original, fare(1) - 10_000, 5800)).is_ok());
}

#[test]
fn a_booked_event_is_made_only_by_booking() {
    let mut net = Net::new();
    let original = net.push(receipt(1));
    let claim = net.approved_claim(original, fare(1));
    let action = Action::Booked { series: "K".into(), number: 77 };
    let booked = net.ask("ssc", ssc_staff(), ClientRequest::Decide { claim, action });
    assert!(matches!(&booked, Err(refusal) if refusal.code.as_str() == "auth.forbidden"), "{booked:?}");
    assert_eq!(net.status_at("ssc", claim), Status::Approved);
}

#[test]
fn a_rejected_claim_shows_no_amount_finding_once_a_corrected_one_holds_the_receipt() {
    let mut net = Net::new();
    let original = net.push(receipt(1));
    let number = net.open_draft();
    net.add(&number, item(original, fare(1), 5800)).unwrap();
    let Ok(ClientResponse::Submitted { claim }) = net.submit(&number) else { panic!("submit") };
    let reject = Action::Rejected { reason: "Fel kostnadsställe".into() };
    net.ask("agency", approver("boss"), ClientRequest::Decide { claim, action: reject }).unwrap();
    net.approved_claim(original, fare(1));
    let Ok(ClientResponse::Claim(view)) =
        net.ask("agency", approver("boss"), ClientRequest::ShowClaim { claim })
    else {
        panic!()
    };
    assert!(view.findings.is_empty(), "{:?}", view.findings);
}

#[test]
fn the_ssc_holds_an_arriving_over_claim_and_never_books_it() {
    let mut net = Net::new();
    net.run();
    let receipt = Signed::sign(receipt(1), &key("merchant")).unwrap();
    let (claim, records) =
        approved_records("2026-009001", &receipt, vec![item(receipt.id(), 999_999_999, 5800)]);
    net.deliver_to_ssc(records);
    assert_eq!(net.ssc_status(claim), Status::Approved, "stored, and held");
    let held = net.exception_at_ssc(claim).expect("held as an exception");
    assert_eq!((held.kind, held.open), (ExceptionKind::OverClaim, true));
    assert!(held.why.starts_with("over-claim: items[0].amount: 9999999.99 SEK claimed"), "{}", held.why);
    assert!(held.next.contains("--decision reject"), "{}", held.next);
    let booked = net.ask_now("ssc", ssc_staff(), ClientRequest::Book { claim });
    assert!(matches!(&booked, Err(refusal) if refusal.code == RefusalCode::ExceptionOpen), "{booked:?}");
    let anyway = ClientRequest::Resolve { claim, resolution: Resolution::Book, note: "ser rätt ut".into() };
    let anyway = net.ask_now("ssc", ssc_staff(), anyway);
    assert!(matches!(&anyway, Err(refusal) if refusal.code.as_str() == "claim.over_claim"), "{anyway:?}");
    let Ok(ClientResponse::Claim(view)) = net.ask_now("ssc", ssc_staff(), ClientRequest::ShowClaim { claim })
    else {
        panic!()
    };
    assert_eq!(view.events.len(), 2, "no note signed for a booking that was refused");
    let reject =
        ClientRequest::Resolve { claim, resolution: Resolution::Reject, note: "För högt belopp".into() };
    assert_eq!(net.ask_now("ssc", ssc_staff(), reject), Ok(ClientResponse::Status(Status::Rejected)));
}

#[test]
fn a_return_that_reaches_the_ssc_after_the_claim_refuses_the_booking() {
    let mut net = Net::new();
    let original = net.push(receipt(1));
    let claim = net.approved_claim(original, fare(1));
    assert_eq!(net.status_at("ssc", claim), Status::Approved);
    // The taxi refunds part of the fare; the agency forwards the return to its SSC.
    let returned = net.push(refund(2, original, 10_000));
    let ssc = Ledger::new(net.nodes[&Net::key_of("ssc")].store.clone());
    assert!(ssc.contains(&returned).unwrap(), "the agency sent the return after the claim");
    let booked = net.ask("ssc", ssc_staff(), ClientRequest::Book { claim });
    let Err(refusal) = booked else { panic!("{booked:?}") };
    assert_eq!(refusal.code.as_str(), "claim.over_claim");
    assert!(refusal.message.contains("less 100.00 SEK returned"), "{refusal}");
    assert_eq!(net.status_at("ssc", claim), Status::Approved, "not booked");
    let held = net.exception_at_ssc(claim).expect("held for staff to reject");
    assert_eq!(held.kind, ExceptionKind::OverClaim);
    // The channels of the agency and the SSC hold the return alike (nothing to reconcile).
    let agency_side = super::claims::channel_ids(&net, "agency", "ssc");
    assert!(agency_side.contains(&returned), "{agency_side:?}");
    assert_eq!(agency_side, super::claims::channel_ids(&net, "ssc", "agency"));
}

#[test]
fn returns_travel_with_the_claim_and_the_ssc_nets_them() {
    let mut net = Net::new();
    let original = net.push(receipt(1));
    let returned = net.push(refund(2, original, 10_000));
    let claim = net.approved_claim(original, fare(1) - 10_000);
    let ssc = Ledger::new(net.nodes[&Net::key_of("ssc")].store.clone());
    assert!(ssc.contains(&returned).unwrap(), "sent with the claim");
    assert_eq!(
        net.ask("ssc", ssc_staff(), ClientRequest::Book { claim }),
        Ok(ClientResponse::Status(Status::Booked))
    );
}

#[test]
fn two_live_claims_of_one_receipt_count_together_at_the_ssc() {
    let mut net = Net::new();
    let original = net.push(receipt(1));
    let first = net.approved_claim(original, 30_000);
    // A second claim of the same receipt, as a faulty agency might send it: a duplicate,
    // and together with the first over the fare.
    let receipt = match net.ask("ssc", ssc_staff(), ClientRequest::Record(original)) {
        Ok(ClientResponse::Record(record)) => match *record {
            AnyRecord::Receipt(receipt) => receipt,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    let (second, records) =
        approved_records("2026-009002", &receipt, vec![item(original, fare(1) - 29_999, 5800)]);
    net.deliver_to_ssc(records);
    let held = net.exception_at_ssc(second).expect("held");
    assert_eq!(held.kind, ExceptionKind::OverClaim, "{}", held.why);
    assert!(held.why.contains("300.00 SEK of it in other claims"), "{}", held.why);
    assert!(held.why.contains("; duplicate: receipt"), "both reasons: {}", held.why);
    let anyway = ClientRequest::Resolve { claim: second, resolution: Resolution::Book, note: "x".into() };
    let anyway = net.ask_now("ssc", ssc_staff(), anyway);
    assert!(matches!(&anyway, Err(refusal) if refusal.code.as_str() == "claim.over_claim"), "{anyway:?}");
    // Nor is the first booked while the second is live: together they ask too much.
    let booked = net.ask_now("ssc", ssc_staff(), ClientRequest::Book { claim: first });
    assert!(matches!(&booked, Err(refusal) if refusal.code.as_str() == "claim.over_claim"), "{booked:?}");
    let reject =
        ClientRequest::Resolve { claim: second, resolution: Resolution::Reject, note: "Dubblett".into() };
    assert_eq!(net.ask_now("ssc", ssc_staff(), reject), Ok(ClientResponse::Status(Status::Rejected)));
    // The first was held at its refused booking; staff book it now that it is alone.
    let book = ClientRequest::Resolve { claim: first, resolution: Resolution::Book, note: "Ensam nu".into() };
    assert_eq!(net.ask_now("ssc", ssc_staff(), book), Ok(ClientResponse::Status(Status::Booked)));
}

#[test]
fn a_receipt_from_abroad_on_the_account_for_sweden_is_a_draft_error_and_refused_at_booking() {
    let mut net = Net::new();
    let euro = Receipt { currency: "EUR".into(), ..receipt(1) };
    let total = euro.total;
    let receipt = net.push(euro);
    let rate = ExchangeRate { value: 115_300, scale: 4 };
    let foreign = |account: u16| ClaimItem::Receipt {
        receipt,
        business_purpose: "Hotell i Berlin".into(),
        amount: rate.convert(total, "EUR").unwrap(),
        booking: Booking { account, cost_center: "CC-1".into(), project: None },
        foreign: Some(ForeignAmount {
            amount: total,
            currency: "EUR".into(),
            rate,
            rate_date: "2026-05-04".into(),
            rate_source: "riksbanken".into(),
        }),
        participants: vec![],
    };
    let number = net.open_draft();
    net.add(&number, foreign(5831)).unwrap();
    let findings = net.findings_of(&number);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!((findings[0].rule, findings[0].severity), (Rule::Place, Severity::Error));
    assert!(
        findings[0].message.contains("is for expenses in Sweden, but receipt"),
        "{}",
        findings[0].message
    );
    assert!(findings[0].message.ends_with("was sold abroad: book it to 5832"), "{}", findings[0].message);
    let refused = net.submit(&number);
    assert!(matches!(&refused, Err(refusal) if refusal.code == RefusalCode::Policy), "{refused:?}");
    // The SSC refuses to book such a claim whoever sent it.
    let signed = match net.ask("agency", approver("boss"), ClientRequest::Record(receipt)) {
        Ok(ClientResponse::Record(record)) => match *record {
            AnyRecord::Receipt(receipt) => receipt,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    let (claim, records) = approved_records("2026-009003", &signed, vec![foreign(5831)]);
    net.deliver_to_ssc(records);
    let booked = net.ask_now("ssc", ssc_staff(), ClientRequest::Book { claim });
    let Err(refusal) = booked else { panic!("{booked:?}") };
    assert_eq!((refusal.code.as_str(), refusal.path.as_str()), ("books.place", "items[0].booking.account"));
    assert_eq!(net.ssc_status(claim), Status::Approved, "not booked");
    // Rejected, and claimed again on 5832, the same receipt is booked.
    let reject = Action::Rejected { reason: "Logi i utlandet bokförs på 5832".into() };
    net.ask_now("ssc", ssc_staff(), ClientRequest::Decide { claim, action: reject }).unwrap();
    let (abroad, records) = approved_records("2026-009004", &signed, vec![foreign(5832)]);
    net.deliver_to_ssc(records);
    assert_eq!(
        net.ask_now("ssc", ssc_staff(), ClientRequest::Book { claim: abroad }),
        Ok(ClientResponse::Status(Status::Booked))
    );
}
