//! The claim flow between the cores: drafts, approval, the SSC's duplicate checks,
//! booking and payment.

use super::*;

pub(super) fn employee(person: &str) -> Caller {
    Caller { person: person.into(), role: CallerRole::Employee }
}

pub(super) fn approver(person: &str) -> Caller {
    Caller { person: person.into(), role: CallerRole::Approver }
}

pub(super) fn ssc_staff() -> Caller {
    Caller { person: "ssc-anna".into(), role: CallerRole::SscStaff }
}

/// A receipt paid by card; `reissue` gives another serial for the same card payment.
pub(super) fn card_receipt(serial: u64) -> Receipt {
    let receipt = receipt(serial);
    let total = receipt.total;
    Receipt {
        payments: vec![Payment::Card {
            amount: total,
            masked_pan: "************4321".into(),
            brand: "Visa".into(),
            rrn: "600000000042".into(),
            terminal: "T-1".into(),
            approval_code: "OK4242".into(),
        }],
        ..receipt
    }
}

impl Net {
    pub(super) fn ask(
        &mut self,
        node: &str,
        caller: Caller,
        request: ClientRequest,
    ) -> Result<ClientResponse, kvitt_protocol::wire::Refusal> {
        let reply = self.client(node, caller, request);
        self.run();
        self.reply(reply).clone()
    }

    pub(super) fn push(&mut self, receipt: Receipt) -> RecordId {
        match self.ask("merchant", till(), ClientRequest::PushReceipt(Box::new(receipt))) {
            Ok(ClientResponse::Pushed { id, .. }) => id,
            other => panic!("push: {other:?}"),
        }
    }

    /// An employee claims the receipts in one claim and submits it.
    pub(super) fn claim(&mut self, person: &str, receipts: &[RecordId]) -> RecordId {
        self.claim_to(person, receipts, 5800)
    }

    /// An employee claims the receipts in one claim, each item booked to `account`, and
    /// submits it.
    pub(super) fn claim_to(&mut self, person: &str, receipts: &[RecordId], account: u16) -> RecordId {
        let number = self.draft_to(person, receipts, account);
        match self.ask("agency", employee(person), ClientRequest::Submit { number }) {
            Ok(ClientResponse::Submitted { claim }) => claim,
            other => panic!("submit: {other:?}"),
        }
    }

    /// An employee's draft of the receipts, each item of 100 kronor booked to `account`
    /// and cost center CC-1, not yet submitted; its number.
    pub(super) fn draft_to(&mut self, person: &str, receipts: &[RecordId], account: u16) -> String {
        let Ok(ClientResponse::Draft { draft, .. }) =
            self.ask("agency", employee(person), ClientRequest::NewClaim { purpose: "Tjänsteresa".into() })
        else {
            panic!("draft");
        };
        for receipt in receipts {
            let item = kvitt_protocol::claim::ClaimItem::Receipt {
                receipt: *receipt,
                business_purpose: "Resa till möte".into(),
                amount: 10_000,
                booking: kvitt_protocol::claim::Booking {
                    account,
                    cost_center: "CC-1".into(),
                    project: None,
                },
                foreign: None,
                participants: vec![],
            };
            let added = self.ask(
                "agency",
                employee(person),
                ClientRequest::AddItem { number: draft.number.clone(), item: Box::new(item) },
            );
            assert!(added.is_ok(), "add item: {added:?}");
        }
        draft.number
    }

    pub(super) fn status_at(&mut self, node: &str, claim: RecordId) -> kvitt_protocol::event::Status {
        let caller = if node == "ssc" { ssc_staff() } else { approver("boss") };
        match self.ask(node, caller, ClientRequest::ShowClaim { claim }) {
            Ok(ClientResponse::Claim(view)) => view.status,
            other => panic!("show: {other:?}"),
        }
    }
}

#[test]
fn a_claim_goes_from_receipt_to_paid_with_every_status_back_at_the_agency() {
    use kvitt_protocol::event::{Action, Status};
    let mut net = Net::new();
    let receipt = net.push(receipt(1));
    let claim = net.claim("emp-1", &[receipt]);
    assert_eq!(net.status_at("agency", claim), Status::Submitted);

    let own = net.ask("agency", approver("emp-1"), ClientRequest::Decide { claim, action: Action::Approved });
    let Err(refusal) = own else { panic!("self-approval must be refused") };
    assert_eq!(refusal.code, RefusalCode::Policy);
    assert!(refusal.message.contains("policy.self_approval (error): emp-1 may not approve"), "{refusal}");
    assert_eq!(net.status_at("agency", claim), Status::Submitted, "a refused decision changes nothing");

    let approved =
        net.ask("agency", approver("boss"), ClientRequest::Decide { claim, action: Action::Approved });
    assert_eq!(approved, Ok(ClientResponse::Decided { status: Status::Approved, findings: vec![] }));
    assert_eq!(net.status_at("ssc", claim), Status::Approved, "the approved claim reached the SSC");

    assert_eq!(
        net.ask("ssc", ssc_staff(), ClientRequest::Book { claim }),
        Ok(ClientResponse::Status(Status::Booked))
    );
    assert_eq!(
        net.ask("ssc", ssc_staff(), ClientRequest::Pay { claim }),
        Ok(ClientResponse::Status(Status::Paid))
    );
    assert_eq!(net.status_at("agency", claim), Status::Paid, "every SSC event came back to the agency");
}

/// Regression: the SSC compared a claim's card payments only with other claims', so a
/// receipt and its reissue (one card payment) in the same claim were paid twice.
#[test]
fn one_card_payment_twice_in_one_claim_is_held_by_the_ssc() {
    use kvitt_protocol::event::{Action, Status};
    let mut net = Net::new();
    let original = net.push(card_receipt(1));
    let reissue = net.push(card_receipt(2));
    let claim = net.claim("emp-1", &[original, reissue]);
    net.ask("agency", approver("boss"), ClientRequest::Decide { claim, action: Action::Approved }).unwrap();
    assert_eq!(net.status_at("ssc", claim), Status::Approved, "held for staff, not booked");
    let Ok(ClientResponse::Claim(view)) = net.ask("ssc", ssc_staff(), ClientRequest::ShowClaim { claim })
    else {
        panic!()
    };
    let reason = view.exception.unwrap_or_default();
    assert!(reason.contains("card payment T-1/600000000042/OK4242"), "{reason}");
}

#[test]
fn a_card_receipt_in_a_claim_the_ssc_rejected_can_go_into_a_corrected_claim() {
    use kvitt_protocol::event::{Action, Status};
    let mut net = Net::new();
    let receipt = net.push(card_receipt(1));
    let first = net.claim("emp-1", &[receipt]);
    net.ask("agency", approver("boss"), ClientRequest::Decide { claim: first, action: Action::Approved })
        .unwrap();
    let rejected = Action::Rejected { reason: "Fel kostnadsställe".into() };
    net.ask("ssc", ssc_staff(), ClientRequest::Decide { claim: first, action: rejected }).unwrap();
    assert_eq!(net.status_at("agency", first), Status::Rejected);

    let corrected = net.claim("emp-1", &[receipt]);
    net.ask("agency", approver("boss"), ClientRequest::Decide { claim: corrected, action: Action::Approved })
        .unwrap();
    assert_eq!(net.status_at("ssc", corrected), Status::Approved, "not a duplicate of the rejected claim");
    assert_eq!(
        net.ask("ssc", ssc_staff(), ClientRequest::Book { claim: corrected }),
        Ok(ClientResponse::Status(Status::Booked))
    );
}

#[test]
fn a_refused_booking_takes_no_voucher_number() {
    use kvitt_protocol::event::{Action, Status};
    let mut net = Net::new();
    let claims: Vec<RecordId> = (1..=2)
        .map(|serial| {
            let receipt = net.push(receipt(serial));
            let claim = net.claim("emp-1", &[receipt]);
            net.ask("agency", approver("boss"), ClientRequest::Decide { claim, action: Action::Approved })
                .unwrap();
            claim
        })
        .collect();
    let book = |net: &mut Net, claim| net.ask("ssc", ssc_staff(), ClientRequest::Book { claim });
    assert_eq!(book(&mut net, claims[0]), Ok(ClientResponse::Status(Status::Booked)));
    assert!(book(&mut net, claims[0]).is_err(), "a booked claim is not booked again");
    assert_eq!(book(&mut net, claims[1]), Ok(ClientResponse::Status(Status::Booked)));
    let Ok(ClientResponse::Claim(view)) =
        net.ask("ssc", ssc_staff(), ClientRequest::ShowClaim { claim: claims[1] })
    else {
        panic!()
    };
    let numbers: Vec<u64> = view
        .events
        .iter()
        .filter_map(|event| match &event.body().action {
            Action::Booked { number, .. } => Some(*number),
            _ => None,
        })
        .collect();
    assert_eq!(numbers, vec![2], "the series has no gap");
}

#[test]
fn a_receipt_cannot_be_in_two_live_claims_at_the_agency() {
    let mut net = Net::new();
    let receipt = net.push(receipt(1));
    net.claim("emp-1", &[receipt]);
    let Ok(ClientResponse::Draft { draft, .. }) =
        net.ask("agency", employee("emp-1"), ClientRequest::NewClaim { purpose: "Igen".into() })
    else {
        panic!()
    };
    let item = kvitt_protocol::claim::ClaimItem::Receipt {
        receipt,
        business_purpose: "Samma kvitto igen".into(),
        amount: 100,
        booking: kvitt_protocol::claim::Booking { account: 5800, cost_center: "CC-1".into(), project: None },
        foreign: None,
        participants: vec![],
    };
    let Err(refusal) = net.ask(
        "agency",
        employee("emp-1"),
        ClientRequest::AddItem { number: draft.number, item: Box::new(item) },
    ) else {
        panic!("the second claim must be refused");
    };
    assert_eq!(refusal.code.as_str(), "claim.receipt_taken");
}

#[test]
fn each_pair_of_nodes_indexes_the_same_channel_and_nothing_of_others() {
    use kvitt_protocol::event::Action;
    let mut net = Net::new();
    let receipt = net.push(receipt(1));
    let claim = net.claim("emp-1", &[receipt]);
    net.ask("agency", approver("boss"), ClientRequest::Decide { claim, action: Action::Approved }).unwrap();
    net.ask("ssc", ssc_staff(), ClientRequest::Book { claim }).unwrap();
    net.ask("ssc", ssc_staff(), ClientRequest::Pay { claim }).unwrap();
    let channel = |node: &str, peer: &str| channel_ids(&net, node, peer);
    let merchant_agency = channel("merchant", "agency");
    assert_eq!(merchant_agency, [receipt].into(), "the merchant and the agency share the receipt");
    assert_eq!(channel("agency", "merchant"), merchant_agency, "both sides index the same channel");
    let agency_ssc = channel("agency", "ssc");
    assert!(agency_ssc.contains(&claim) && agency_ssc.contains(&receipt), "{agency_ssc:?}");
    assert_eq!(agency_ssc.len(), 2 + 4, "claim, receipt, submitted, approved, booked, paid");
    assert_eq!(channel("ssc", "agency"), agency_ssc, "both sides index the same channel");
    assert!(channel("merchant", "ssc").is_empty(), "a merchant and an SSC share nothing");
    assert!(channel("ssc", "merchant").is_empty(), "a merchant and an SSC share nothing");
}

/// The ids `node` indexes in the channel it shares with `peer`.
pub(super) fn channel_ids(net: &Net, node: &str, peer: &str) -> std::collections::BTreeSet<RecordId> {
    crate::sync::ChannelIndex::load(net.nodes[&Net::key_of(node)].store.as_ref())
        .unwrap()
        .snapshot(&Net::key_of(peer))
        .into_items()
        .iter()
        .map(|item| item.id)
        .collect()
}

/// The test directory at `version`, with the SSC serving the agency or not.
fn directory_serving(version: u64, serves: bool) -> Signed<Directory> {
    let mut body = directory(version).body().clone();
    for member in &mut body.members {
        if member.role == MemberRole::Ssc && !serves {
            member.serves.clear();
        }
    }
    Signed::sign(body, &key("operator")).unwrap()
}

#[test]
fn a_claim_approved_while_no_ssc_serves_the_agency_goes_once_one_does() {
    use kvitt_protocol::event::{Action, Status};
    let mut net = Net::new();
    let install = |net: &mut Net, node: &str, directory: Signed<Directory>| {
        let from = if node == "ssc" { "agency" } else { "ssc" };
        let input = Input::Peer {
            reply: 0,
            from: Net::key_of(from),
            directory_version: directory.body().version,
            request: PeerRequest::Deliver(vec![Ok(AnyRecord::Directory(directory))]),
        };
        net.step(Net::key_of(node), input);
    };
    install(&mut net, "agency", directory_serving(2, false));
    let receipt = net.push(receipt(1));
    let claim = net.claim("emp-1", &[receipt]);
    net.ask("agency", approver("boss"), ClientRequest::Decide { claim, action: Action::Approved }).unwrap();
    let ssc = Ledger::new(net.nodes[&Net::key_of("ssc")].store.clone());
    assert!(!ssc.contains(&claim).unwrap(), "no SSC served the agency: the claim waits");

    install(&mut net, "ssc", directory_serving(3, true));
    install(&mut net, "agency", directory_serving(3, true));
    net.run();
    assert_eq!(net.status_at("ssc", claim), Status::Approved, "sent once the directory names an SSC");
    let shared = channel_ids(&net, "agency", "ssc");
    assert!(shared.contains(&claim) && shared.contains(&receipt), "{shared:?}");
    assert_eq!(shared, channel_ids(&net, "ssc", "agency"), "both sides index the same channel");
}

#[test]
fn a_rate_far_from_the_reference_holds_the_booking_as_an_exception() {
    use kvitt_protocol::claim::{Booking, ClaimItem, ExchangeRate, ForeignAmount};
    use kvitt_protocol::event::{Action, Status};
    let mut net = Net::new();
    let eur = Receipt { currency: "EUR".into(), ..receipt(1) };
    let total = eur.total;
    let receipt = net.push(eur);
    let Ok(ClientResponse::Draft { draft, .. }) =
        net.ask("agency", employee("emp-1"), ClientRequest::NewClaim { purpose: "Berlin".into() })
    else {
        panic!("draft");
    };
    // 13.0000 SEK/EUR on 2026-05-04 against the example table's 11.5300: 1.47 / 11.53 =
    // 12.75 %, limit 2 %.
    let rate = ExchangeRate { value: 130_000, scale: 4 };
    let item = ClaimItem::Receipt {
        receipt,
        business_purpose: "Möte".into(),
        amount: rate.convert(total, "EUR").unwrap(),
        booking: Booking { account: 5832, cost_center: "CC-1".into(), project: None },
        foreign: Some(ForeignAmount {
            amount: total,
            currency: "EUR".into(),
            rate,
            rate_date: "2026-05-04".into(),
            rate_source: "card-issuer".into(),
        }),
        participants: vec![],
    };
    let number = draft.number.clone();
    net.ask(
        "agency",
        employee("emp-1"),
        ClientRequest::AddItem { number: number.clone(), item: Box::new(item) },
    )
    .unwrap();
    let Ok(ClientResponse::Submitted { claim }) =
        net.ask("agency", employee("emp-1"), ClientRequest::Submit { number })
    else {
        panic!("submit");
    };
    net.ask("agency", approver("boss"), ClientRequest::Decide { claim, action: Action::Approved }).unwrap();
    let Err(refusal) = net.ask("ssc", ssc_staff(), ClientRequest::Book { claim }) else {
        panic!("a claim with a rate finding is not booked");
    };
    assert_eq!(refusal.code, RefusalCode::RateHeld);
    let expected = "rate: rate.tolerance: items[0]: EUR rate 13.0000 on 2026-05-04 is 12.75 % from the reference 11.5300 (Riksbanken), limit 2 %";
    assert_eq!(refusal.message, expected);
    let Ok(ClientResponse::Claim(view)) = net.ask("ssc", ssc_staff(), ClientRequest::ShowClaim { claim })
    else {
        panic!("show");
    };
    assert_eq!((view.status, view.exception.as_deref()), (Status::Approved, Some(expected)));
    // Booking again is refused while the exception is open; staff resolve it by booking
    // anyway, with a note, and the voucher is taken then.
    let Err(refusal) = net.ask("ssc", ssc_staff(), ClientRequest::Book { claim }) else {
        panic!("an open exception is not booked past");
    };
    assert_eq!(refusal.code, RefusalCode::ExceptionOpen);
    let resolve = ClientRequest::Resolve {
        claim,
        resolution: crate::core::exceptions::Resolution::Book,
        note: "the hotel's card terminal used its own rate; receipt checked".into(),
    };
    assert_eq!(net.ask("ssc", ssc_staff(), resolve), Ok(ClientResponse::Status(Status::Booked)));
}

#[test]
fn a_draft_whose_purpose_holds_a_bidi_control_is_refused_before_it_is_stored() {
    let mut net = Net::new();
    let purpose = "Konferens \u{2067}i Berlin\u{2069}".to_owned();
    let Err(refusal) = net.ask("agency", employee("emp-1"), ClientRequest::NewClaim { purpose }) else {
        panic!("a bidi isolate in a purpose must be refused");
    };
    assert_eq!((refusal.code.as_str(), refusal.path.as_str()), ("text.bidi", "purpose"));
    let agency = Ledger::new(net.nodes[&Net::key_of("agency")].store.clone());
    assert_eq!(agency.counter("claim-number").unwrap(), 0, "no claim number taken");
}

#[test]
fn a_claim_or_voucher_counter_at_its_largest_value_is_refused_by_name_not_overflowed() {
    use kvitt_protocol::event::{Action, Status};
    let mut net = Net::new();
    let receipt = net.push(receipt(1));
    let claim = net.claim("emp-1", &[receipt]);
    net.ask("agency", approver("boss"), ClientRequest::Decide { claim, action: Action::Approved }).unwrap();
    let at_largest = |net: &Net, node: &str, counter: &str| {
        let mut batch = Batch::new();
        batch.insert(crate::ledger::keys::meta(counter), u64::MAX.to_be_bytes().to_vec());
        net.nodes[&Net::key_of(node)].store.apply(&batch).unwrap();
    };
    at_largest(&net, "agency", "claim-number");
    let Err(refusal) =
        net.ask("agency", employee("emp-1"), ClientRequest::NewClaim { purpose: "Resa".into() })
    else {
        panic!("no claim number follows u64::MAX")
    };
    assert!(
        refusal.message.contains("meta/claim-number") && refusal.message.contains("largest value"),
        "{refusal}"
    );

    at_largest(&net, "ssc", &format!("voucher/{AGENCY}"));
    let Err(refusal) = net.ask("ssc", ssc_staff(), ClientRequest::Book { claim }) else {
        panic!("no voucher number follows u64::MAX")
    };
    assert!(refusal.message.contains(&format!("meta/voucher/{AGENCY}")), "{refusal}");
    assert_eq!(net.status_at("ssc", claim), Status::Approved, "the refused booking changed nothing");
}

#[test]
fn items_added_together_are_added_all_or_none() {
    use kvitt_protocol::claim::{Booking, ClaimItem, MealsProvided};
    let mut net = Net::new();
    let number = net.draft_to("emp-1", &[], 5800);
    let per_diem = |days: u32, amount: i64| ClaimItem::PerDiem {
        start: "2026-05-04".into(),
        end: "2026-05-06".into(),
        destination: "Göteborg".into(),
        business_purpose: "Konferens".into(),
        days,
        daily_amount: 30_000,
        meals: MealsProvided::default(),
        meal_reduction: 0,
        amount,
        booking: Booking { account: 7321, cost_center: "CC-1".into(), project: None },
    };
    let mut add = |items: Vec<ClaimItem>| {
        net.ask("agency", employee("emp-1"), ClientRequest::AddItems { number: number.clone(), items })
    };
    // The second's arithmetic is wrong: neither is added.
    let Err(refusal) = add(vec![per_diem(2, 60_000), per_diem(1, 1)]) else { panic!("a wrong item taken") };
    assert_eq!(refusal.path, "items[1].amount");
    let Err(refusal) = add(Vec::new()) else { panic!("no items taken") };
    assert_eq!((refusal.code.as_str(), refusal.path.as_str()), ("request.invalid", "items"));
    let Ok(ClientResponse::Draft { draft, .. }) = add(vec![per_diem(2, 60_000), per_diem(1, 30_000)]) else {
        panic!("two right items refused");
    };
    assert_eq!(draft.items.len(), 2);
}
