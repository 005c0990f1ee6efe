//! Claims over receipts collected by code (spec/codes.md §Claims): a receipt signed without
//! a buyer is bought by the agency its merchant's assignment names; the assignment travels
//! with the claim to the SSC, which books the claim as one over a receipt naming its buyer;
//! a claim over a buyerless receipt without an assignment to the claim's agency is refused,
//! at the agency and at the SSC; a lost assignment comes back by reconciliation.

use kvitt_protocol::assignment::Assignment;
use kvitt_protocol::channel::record_time;
use kvitt_protocol::claim::{Booking, Claim, ClaimItem};
use kvitt_protocol::event::{Action, Status};
use kvitt_protocol::evidence::Slot;
use kvitt_protocol::wire::{ResponseBody, Verdict};

use super::claims::{approver, employee, ssc_staff};
use super::export::{amount, lines, sie};
use super::*;
use crate::ledger::{keys, put_record};

/// Another agency (not in the directory: only its organisation number matters here).
const OTHER_AGENCY: &str = "202100-6255";

/// A cash receipt of `register`, serial 1, signed without a buyer.
fn cash(register: &str) -> Receipt {
    Receipt { buyer: None, register: register.into(), ..receipt(1) }
}

/// The till pushes `cash(register)` and `person` collects it by its code: the receipt's
/// and the assignment's ids.
fn collected(net: &mut Net, register: &str, person: &str) -> (RecordId, RecordId) {
    let pushed = net.ask("merchant", till(), ClientRequest::PushReceipt(Box::new(cash(register))));
    let Ok(ClientResponse::Pushed { code: Some(code), .. }) = pushed else { panic!("push: {pushed:?}") };
    match net.ask("agency", employee(person), ClientRequest::FetchReceipt { code: code.to_string() }) {
        Ok(ClientResponse::Fetched { id, assignment }) => (id, assignment),
        other => panic!("fetch: {other:?}"),
    }
}

/// The merchant's assignment of `receipt` to `agency` (emp-1), at `at`.
fn assignment(receipt: &Signed<Receipt>, agency: &str, at: &str) -> Signed<Assignment> {
    let body = Assignment {
        receipt: receipt.id(),
        buyer: Buyer { agency: agency.into(), employee: Some("emp-1".into()) },
        assigned_at: at.into(),
    };
    Signed::sign(body, &key("merchant")).unwrap()
}

/// Emp-1's claim of 100 kronor on `receipt`, signed by the agency.
fn claim_of(receipt: RecordId) -> Signed<Claim> {
    let claim = Claim {
        number: "2026-000901".into(),
        agency: AGENCY.into(),
        claimant: "emp-1".into(),
        purpose: "Tjänsteresa".into(),
        created_at: "2026-05-04T09:00:00+02:00".into(),
        items: vec![ClaimItem::Receipt {
            receipt,
            business_purpose: "Resa till möte".into(),
            amount: 10_000,
            booking: Booking { account: 5800, cost_center: "CC-1".into(), project: None },
            foreign: None,
            participants: vec![],
        }],
    };
    Signed::sign(claim, &key("agency")).unwrap()
}

/// Writes `records` into `name`'s ledger as if it had stored them (with their slots),
/// for what no peer would deliver: a node that lost one record of several.
fn hold(net: &Net, name: &str, records: &[AnyRecord]) {
    let mut batch = Batch::new();
    for record in records {
        put_record(&mut batch, record);
        if let Some(slot) = Slot::of(record) {
            batch.insert(keys::slot(&slot), record.id().as_bytes().to_vec());
        }
    }
    net.nodes[&Net::key_of(name)].store.apply(&batch).unwrap();
}

/// `name` loses `ids` (each record and its slot), as from a ledger restored from an old
/// backup.
fn lose(net: &Net, name: &str, ids: &[RecordId]) {
    let ledger = ledger(net, name);
    let mut batch = Batch::new();
    for id in ids {
        let record = ledger.record(id).unwrap().unwrap();
        batch.remove(keys::record(id));
        if let Some(slot) = Slot::of(&record) {
            batch.remove(keys::slot(&slot));
        }
    }
    net.nodes[&Net::key_of(name)].store.apply(&batch).unwrap();
}

fn ledger(net: &Net, name: &str) -> Ledger {
    Ledger::new(net.nodes[&Net::key_of(name)].store.clone())
}

/// `from` delivers `records` to `to`; the verdicts.
fn deliver(net: &mut Net, from: &str, to: &str, records: Vec<AnyRecord>) -> Vec<Verdict> {
    let input = Input::Peer {
        reply: 0,
        from: Net::key_of(from),
        directory_version: 1,
        request: PeerRequest::Deliver(records.into_iter().map(Ok).collect()),
    };
    let effects = net.nodes.get_mut(&Net::key_of(to)).unwrap().core.handle(net.now, input);
    let mut verdicts = None;
    for effect in effects {
        match effect {
            Effect::Write(batch) => net.nodes[&Net::key_of(to)].store.apply(&batch).unwrap(),
            Effect::WhenDurable(inner) => {
                for effect in inner {
                    if let Effect::ToPeer { response, .. } = effect {
                        let ResponseBody::Delivered { results } = response.body else {
                            panic!("{response:?}")
                        };
                        verdicts = Some(results);
                    }
                }
            }
            _ => {}
        }
    }
    verdicts.expect("answered")
}

/// The code (and whether to retry) of a refused verdict.
fn refused(verdict: &Verdict) -> (&'static str, bool) {
    match verdict {
        Verdict::Refused { refusal } => (refusal.code.as_str(), refusal.retry),
        other => panic!("not refused: {other:?}"),
    }
}

fn approve(net: &mut Net, claim: RecordId) {
    let approved =
        net.ask("agency", approver("boss"), ClientRequest::Decide { claim, action: Action::Approved });
    assert!(approved.is_ok(), "{approved:?}");
}

/// The `#TRANS` rows (account, öre) of each voucher of the SSC's SIE export, in order.
fn voucher_rows(net: &mut Net) -> Vec<Vec<(String, i64)>> {
    let mut vouchers = Vec::new();
    for line in lines(&sie(net, false).bytes) {
        match line.trim_start() {
            "{" => vouchers.push(Vec::new()),
            row if row.starts_with("#TRANS") => {
                let account = row.split(' ').nth(1).unwrap().to_owned();
                vouchers.last_mut().unwrap().push((account, amount(row)));
            }
            _ => {}
        }
    }
    vouchers
}

#[test]
fn a_collected_receipt_is_claimed_approved_and_booked_as_one_naming_its_buyer() {
    let mut net = Net::new();
    let (cash, assignment) = collected(&mut net, "CAR-8", "emp-1");
    let named = net.push(receipt(1));
    let cash_claim = net.claim("emp-1", &[cash]);
    approve(&mut net, cash_claim);
    let named_claim = net.claim("emp-1", &[named]);
    approve(&mut net, named_claim);

    // The assignment went with the claim: the SSC holds it, and shares it with the agency.
    let ssc = ledger(&net, "ssc");
    let Some(held @ AnyRecord::Assignment(_)) = ssc.record(&assignment).unwrap() else {
        panic!("the SSC lacks the assignment")
    };
    let channel = keys::channel(&Net::key_of("agency"), record_time(&held), &assignment);
    assert!(ssc.store().get(&channel).unwrap().is_some(), "in the claim's channel at the SSC");
    let agency = ledger(&net, "agency");
    let channel = keys::channel(&Net::key_of("ssc"), record_time(&held), &assignment);
    assert!(agency.store().get(&channel).unwrap().is_some(), "in the claim's channel at the agency");
    assert_eq!(net.status_at("ssc", cash_claim), Status::Approved);
    assert_eq!(ssc.exception(&cash_claim).unwrap(), None);

    for claim in [cash_claim, named_claim] {
        assert_eq!(
            net.ask("ssc", ssc_staff(), ClientRequest::Book { claim }),
            Ok(ClientResponse::Status(Status::Booked))
        );
    }
    let vouchers = voucher_rows(&mut net);
    assert_eq!(vouchers.len(), 2);
    assert_eq!(vouchers[0], vouchers[1], "the same rows, VAT deducted, as the receipt naming its buyer");
    assert_eq!(vouchers[0].iter().map(|(_, amount)| amount).sum::<i64>(), 0);
    assert!(vouchers[0].iter().any(|(_, amount)| *amount == -10_000), "owed to the employee: {vouchers:?}");
    assert_eq!(
        net.ask("ssc", ssc_staff(), ClientRequest::Pay { claim: cash_claim }),
        Ok(ClientResponse::Status(Status::Paid))
    );
    assert_eq!(net.status_at("agency", cash_claim), Status::Paid);
}

#[test]
fn the_agency_refuses_a_draft_of_a_buyerless_receipt_without_its_assignment_to_it() {
    let mut net = Net::new();
    let cash = Signed::sign(cash("CAR-8"), &key("merchant")).unwrap();
    hold(&net, "agency", &[AnyRecord::Receipt(cash.clone())]);
    let Ok(ClientResponse::Draft { draft, .. }) =
        net.ask("agency", employee("emp-1"), ClientRequest::NewClaim { purpose: "Resa".into() })
    else {
        panic!("draft")
    };
    let Claim { items, .. } = claim_of(cash.id()).body().clone();
    let add = |net: &mut Net| {
        let item = Box::new(items[0].clone());
        net.ask("agency", employee("emp-1"), ClientRequest::AddItem { number: draft.number.clone(), item })
    };
    let refusal = add(&mut net).unwrap_err();
    assert_eq!(
        (refusal.code.as_str(), refusal.path.as_str()),
        ("claim.receipt_unassigned", "items[0].receipt")
    );
    // Assigned to another agency: bought by it, not by this one.
    let theirs = assignment(&cash, OTHER_AGENCY, "2026-05-04T08:00:00+02:00");
    hold(&net, "agency", &[AnyRecord::Assignment(theirs)]);
    assert_eq!(add(&mut net).unwrap_err().code, RefusalCode::ReceiptMismatch);
}

#[test]
fn the_ssc_refuses_a_claim_whose_buyerless_receipt_has_no_assignment_until_it_comes() {
    let mut net = Net::new();
    let cash = Signed::sign(cash("CAR-8"), &key("merchant")).unwrap();
    let ours = assignment(&cash, AGENCY, "2026-05-04T08:00:00+02:00");
    let claim = AnyRecord::Claim(claim_of(cash.id()));
    // The receipt alone: the SSC cannot tell whose it is.
    let verdicts = deliver(&mut net, "agency", "ssc", vec![AnyRecord::Receipt(cash.clone())]);
    assert_eq!(refused(&verdicts[0]), ("claim.receipt_unassigned", true));
    // Held without its assignment (lost, say): the claim waits for it.
    hold(&net, "ssc", &[AnyRecord::Receipt(cash.clone())]);
    let verdicts = deliver(&mut net, "agency", "ssc", vec![claim.clone()]);
    assert_eq!(refused(&verdicts[0]), ("claim.receipt_unassigned", true));
    let Verdict::Refused { refusal } = &verdicts[0] else { unreachable!() };
    assert_eq!(refusal.path, "items[0].receipt");
    // With it, as the agency sends them: assignment, receipt, claim.
    let verdicts = deliver(&mut net, "agency", "ssc", vec![AnyRecord::Assignment(ours), claim]);
    assert!(verdicts.iter().all(|verdict| matches!(verdict, Verdict::Stored { .. })), "{verdicts:?}");
}

#[test]
fn the_ssc_refuses_a_claim_whose_buyerless_receipt_is_assigned_to_another_agency() {
    let mut net = Net::new();
    let cash = Signed::sign(cash("CAR-8"), &key("merchant")).unwrap();
    let theirs = assignment(&cash, OTHER_AGENCY, "2026-05-04T08:00:00+02:00");
    hold(&net, "ssc", &[AnyRecord::Receipt(cash.clone()), AnyRecord::Assignment(theirs)]);
    let verdicts = deliver(&mut net, "agency", "ssc", vec![AnyRecord::Claim(claim_of(cash.id()))]);
    assert_eq!(refused(&verdicts[0]), ("claim.receipt_mismatch", false));
}

#[test]
fn assignments_are_taken_only_from_whoever_may_carry_them() {
    let mut net = Net::new();
    let cash = Signed::sign(cash("CAR-8"), &key("merchant")).unwrap();
    let at = "2026-05-04T08:00:00+02:00";
    let theirs = AnyRecord::Assignment(assignment(&cash, OTHER_AGENCY, at));
    let ours = AnyRecord::Assignment(assignment(&cash, AGENCY, at));
    let forged = Assignment { receipt: cash.id(), ..assignment(&cash, AGENCY, at).body().clone() };
    let forged = AnyRecord::Assignment(Signed::sign(forged, &key("agency")).unwrap());
    assert_eq!(
        refused(&deliver(&mut net, "merchant", "agency", vec![theirs.clone()])[0]).0,
        "auth.misrouted"
    );
    assert_eq!(refused(&deliver(&mut net, "agency", "ssc", vec![theirs.clone()])[0]).0, "auth.forbidden");
    assert_eq!(refused(&deliver(&mut net, "agency", "ssc", vec![forged.clone()])[0]).0, "auth.signer");
    // A merchant takes back only its own, from the agency it names.
    assert_eq!(refused(&deliver(&mut net, "agency", "merchant", vec![theirs])[0]).0, "auth.forbidden");
    assert_eq!(refused(&deliver(&mut net, "agency", "merchant", vec![forged])[0]).0, "auth.forbidden");
    // The receipt's merchant may give the agency its assignment (reconciliation), the
    // agency its SSC, and the agency the merchant.
    assert!(matches!(deliver(&mut net, "merchant", "agency", vec![ours.clone()])[0], Verdict::Stored { .. }));
    assert!(matches!(deliver(&mut net, "agency", "ssc", vec![ours.clone()])[0], Verdict::Stored { .. }));
    assert!(matches!(deliver(&mut net, "agency", "merchant", vec![ours])[0], Verdict::Stored { .. }));
}

#[test]
fn a_second_assignment_of_a_claimed_receipt_is_equivocation_at_the_ssc() {
    let mut net = Net::new();
    let (cash, _) = collected(&mut net, "CAR-8", "emp-1");
    let claim = net.claim("emp-1", &[cash]);
    approve(&mut net, claim);
    let Some(AnyRecord::Receipt(cash)) = ledger(&net, "ssc").record(&cash).unwrap() else { panic!() };
    let again = assignment(&cash, AGENCY, "2026-05-05T08:00:00+02:00");
    let verdicts = deliver(&mut net, "agency", "ssc", vec![AnyRecord::Assignment(again)]);
    assert_eq!(refused(&verdicts[0]).0, "ledger.equivocation");
    assert_eq!(ledger(&net, "ssc").exceptions(10).unwrap().len(), 1, "the evidence is an exception");
}

#[test]
fn an_ssc_or_agency_that_lost_an_assignment_gets_it_back_by_reconciliation() {
    let mut net = Net::new();
    let (cash, assignment) = collected(&mut net, "CAR-8", "emp-1");
    let claim = net.claim("emp-1", &[cash]);
    approve(&mut net, claim);

    lose(&net, "ssc", &[assignment]);
    net.reconcile("agency", "ssc");
    assert!(ledger(&net, "ssc").contains(&assignment).unwrap(), "the agency gave it back");

    // The agency loses the receipt, its assignment and its place in emp-1's list.
    let Some(AnyRecord::Receipt(held)) = ledger(&net, "agency").record(&cash).unwrap() else { panic!() };
    lose(&net, "agency", &[cash, assignment]);
    let issued = kvitt_protocol::fields::parse_time("issued_at", &held.body().issued_at).unwrap();
    let mut batch = Batch::new();
    batch.remove(keys::buyer(AGENCY, Some("emp-1"), issued.unix_timestamp(), &cash));
    net.nodes[&Net::key_of("agency")].store.apply(&batch).unwrap();
    net.reconcile("ssc", "agency");
    let agency = ledger(&net, "agency");
    assert!(
        agency.contains(&assignment).unwrap() && agency.contains(&cash).unwrap(),
        "the SSC gave both back"
    );
    let listed = agency.receipts_of_buyer(AGENCY, Some("emp-1"), 10).unwrap();
    assert_eq!(listed, vec![cash]);
}

/// Pushes a cash receipt of `CAR-8` and has emp-1 collect it; its code and assignment.
fn collected_with_code(net: &mut Net) -> (String, RecordId) {
    let pushed = net.ask("merchant", till(), ClientRequest::PushReceipt(Box::new(cash("CAR-8"))));
    let Ok(ClientResponse::Pushed { code: Some(code), .. }) = pushed else { panic!("push: {pushed:?}") };
    let Ok(ClientResponse::Fetched { assignment, .. }) = fetch(net, &code.to_string(), "emp-1") else {
        panic!("fetch")
    };
    (code.to_string(), assignment)
}

fn fetch(net: &mut Net, code: &str, person: &str) -> Result<ClientResponse, Refusal> {
    net.ask("agency", employee(person), ClientRequest::FetchReceipt { code: code.into() })
}

/// The merchant's ledger goes back to before the collect of `assignment`: the assignment
/// is lost and the code unspent.
fn merchant_forgets(net: &Net, assignment: RecordId) {
    lose(net, "merchant", &[assignment]);
    let mut batch = Batch::new();
    for (key, entry) in ledger(net, "merchant").store().scan(b"code/", None, 10).unwrap() {
        batch.insert(key, entry[..32].to_vec());
    }
    net.nodes[&Net::key_of("merchant")].store.apply(&batch).unwrap();
}

#[test]
fn a_merchant_that_lost_a_collect_takes_its_assignment_back_and_the_code_stays_spent() {
    let mut net = Net::new();
    let (code, assignment) = collected_with_code(&mut net);
    merchant_forgets(&net, assignment);
    net.reconcile("agency", "merchant");
    assert!(ledger(&net, "merchant").contains(&assignment).unwrap(), "the agency gave it back");
    // The code is spent again: a colleague is told so, and no second assignment is signed.
    assert_eq!(fetch(&mut net, &code, "emp-3").unwrap_err().code, RefusalCode::CodeCollected);
    let again = fetch(&mut net, &code, "emp-1");
    assert!(
        matches!(again, Ok(ClientResponse::Fetched { assignment: same, .. }) if same == assignment),
        "{again:?}"
    );
}

#[test]
fn an_agency_catches_a_second_assignment_of_a_receipt_it_collected() {
    let mut net = Net::new();
    let (code, first) = collected_with_code(&mut net);
    // Not given its assignment back, the merchant signs a second one for the code.
    merchant_forgets(&net, first);
    assert_eq!(fetch(&mut net, &code, "emp-3").unwrap_err().code, RefusalCode::Equivocation);
    let agency = ledger(&net, "agency");
    assert_eq!(agency.exceptions(10).unwrap().len(), 1, "both kept as evidence");
    let Some(AnyRecord::Assignment(held)) = agency.record(&first).unwrap() else { panic!() };
    let slot = Slot::of(&AnyRecord::Assignment(held)).unwrap();
    assert_eq!(agency.slot_holder(&slot).unwrap(), Some(first), "the first still gives the buyer");
}
