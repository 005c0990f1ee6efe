//! Lists in pages: every claim, receipt and exception reachable however many the node
//! holds (the first 10,000 were once all a list looked at), each once, in order; a caller
//! who may see few of many gets short pages that still lead to the end; a cursor that no
//! page gave is refused.

use kvitt_protocol::claim::Claim;
use kvitt_protocol::event::ClaimState;

use super::claims::employee;
use super::*;
use crate::ledger::{encode_claim_state, keys, put_record, MAX_SCAN_ENTRIES};
use crate::store::{Batch, Store};

fn operator() -> Caller {
    Caller { person: "olof".into(), role: CallerRole::Operator }
}

/// Stores `count` submitted claims straight into the agency's ledger as a ledger from
/// before the claimant index did (no index entries), every `mine`-th of them by emp-1 and
/// the others by emp-2, put together in that order; their ids.
fn many_claims(net: &mut Net, count: usize, mine: usize) -> (Vec<RecordId>, Vec<RecordId>) {
    let agency = key("agency");
    let (mut theirs, mut ours) = (Vec::new(), Vec::new());
    let mut batch = Batch::new();
    for n in 0..count {
        let claimant = if n % mine == 0 { "emp-1" } else { "emp-2" };
        let body = Claim {
            number: format!("2026-{n:06}"),
            claimant: claimant.into(),
            // Put together one a second, in number order.
            created_at: kvitt_protocol::fields::format_time(
                time::macros::datetime!(2026-05-04 08:00 +02:00) + time::Duration::seconds(n as i64),
            ),
            ..kvitt_protocol::sample::claim(RecordId([7; 32]), 100)
        };
        let claim = Signed::sign(body, &agency).unwrap();
        put_record(&mut batch, &AnyRecord::Claim(claim.clone()));
        batch.insert(keys::claim(&claim.id()), encode_claim_state(&ClaimState::new(&claim)));
        if claimant == "emp-1" {
            ours.push(claim.id())
        } else {
            theirs.push(claim.id())
        }
    }
    net.nodes[&Net::key_of("agency")].store.apply(&batch).unwrap();
    (theirs, ours)
}

/// Every page of GET /v1/claims for `caller`, `limit` a page, following `next`.
fn claim_pages(net: &mut Net, caller: &Caller, limit: usize) -> Vec<Vec<RecordId>> {
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let request = ClientRequest::ListClaims { limit, after: after.take() };
        let Ok(ClientResponse::Claims(page)) = net.ask("agency", caller.clone(), request) else {
            panic!("a page of claims");
        };
        pages.push(page.items.iter().map(|claim| claim.id).collect());
        match page.next {
            Some(next) => after = Some(next),
            None => return pages,
        }
        assert!(pages.len() < 1000, "the pages do not end");
    }
}

#[test]
fn every_claim_is_listed_once_beyond_the_scan_limit_and_an_old_ledger_is_indexed_by_claimant() {
    let mut net = Net::new();
    let count = MAX_SCAN_ENTRIES + 50;
    let (theirs, ours) = many_claims(&mut net, count, 100);
    let mut all: Vec<RecordId> = theirs.iter().chain(&ours).copied().collect();
    all.sort();

    let pages = claim_pages(&mut net, &operator(), 3000);
    assert!(pages.iter().all(|page| page.len() <= 3000));
    assert_eq!(pages.concat(), all, "all {count} claims, each once, in id order");
    // At the default page size and at the largest, too.
    assert_eq!(claim_pages(&mut net, &operator(), MAX_PAGE_ENTRIES + 1).concat(), all);

    // emp-1's claims are in no claimant index yet: the ledger is from before it.
    assert_eq!(claim_pages(&mut net, &employee("emp-1"), 1000).concat(), Vec::<RecordId>::new());
    let store = net.nodes[&Net::key_of("agency")].store.clone();
    assert_eq!(crate::ledger::Ledger::new(store).index_claimants().unwrap(), count as u64);

    // Indexed at start: emp-1's claims, one in a hundred, newest first, in full pages
    // that look at none of emp-2's.
    let mut newest_first = ours.clone();
    newest_first.reverse();
    let pages = claim_pages(&mut net, &employee("emp-1"), 40);
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [40, 40, ours.len() - 80]);
    assert_eq!(pages.concat(), newest_first);
    // A cursor of another claimant's index, or of the id-ordered list, is refused.
    for cursor in
        [keys::claimant_prefix(kvitt_protocol::sample::AGENCY_ORG, "emp-2"), ours[0].as_bytes().to_vec()]
    {
        let request = ClientRequest::ListClaims { limit: 10, after: Some(Cursor(cursor)) };
        let Err(refusal) = net.ask("agency", employee("emp-1"), request) else { panic!("a foreign cursor") };
        assert_eq!(refusal.path, "after");
    }
}

#[test]
fn a_submitted_claim_is_in_its_claimants_index_from_the_batch_that_stores_it() {
    let mut net = Net::new();
    let first = net.push(receipt(1));
    let second = net.push(receipt(2));
    net.run();
    let older = net.claim("emp-1", &[first]);
    let newer = net.claim("emp-1", &[second]);
    let pages = claim_pages(&mut net, &employee("emp-1"), 1);
    assert_eq!(pages.concat(), [newer, older], "newest first, without any indexing at start");
    assert!(claim_pages(&mut net, &employee("emp-2"), 10).concat().is_empty());
}

#[test]
fn receipts_and_exceptions_page_too_and_a_foreign_cursor_is_refused() {
    let mut net = Net::new();
    let ids: Vec<RecordId> = (1..=5).map(|serial| net.push(receipt(serial))).collect();
    net.run();
    let mut listed = Vec::new();
    let mut after = None;
    loop {
        let request = ClientRequest::ListReceipts { employee: None, limit: 2, after: after.take() };
        let Ok(ClientResponse::Receipts(page)) = net.ask("agency", operator(), request) else {
            panic!("a page of receipts");
        };
        assert!(page.items.len() <= 2);
        listed.extend(page.items.iter().map(|receipt| receipt.id()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let mut sorted = listed.clone();
    sorted.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(sorted, expected, "each receipt once: {listed:?}");

    // Three exceptions (noted straight into the ledger), one a page.
    let mut batch = Batch::new();
    for n in 1..=3u8 {
        batch.insert(keys::exception(&RecordId([n; 32])), b"refused by peer: test".to_vec());
    }
    net.nodes[&Net::key_of("agency")].store.apply(&batch).unwrap();
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let request = ClientRequest::Exceptions { limit: 1, all: true, after: after.take() };
        let Ok(ClientResponse::Exceptions(page)) = net.ask("agency", operator(), request) else {
            panic!("a page of exceptions");
        };
        pages.push(page.items.iter().map(|exception| exception.id).collect::<Vec<_>>());
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, [[RecordId([1; 32])], [RecordId([2; 32])], [RecordId([3; 32])]]);

    // A cursor of another list, or of no list, is refused with its parameter named.
    for cursor in [Cursor(vec![1, 2, 3]), Cursor(b"buyer/556677-8899\0".to_vec())] {
        let request = ClientRequest::ListReceipts { employee: None, limit: 2, after: Some(cursor.clone()) };
        let Err(refusal) = net.ask("agency", operator(), request) else { panic!("{cursor:?} taken") };
        assert_eq!((refusal.code.as_str(), refusal.path.as_str()), ("request.invalid", "after"));
        let request = ClientRequest::Exceptions { limit: 2, all: true, after: Some(cursor.clone()) };
        if cursor.0.len() != 32 {
            let Err(refusal) = net.ask("agency", operator(), request) else { panic!("{cursor:?} taken") };
            assert_eq!(refusal.path, "after");
        }
    }
}

fn new_draft(net: &mut Net, person: &str) -> String {
    let request = ClientRequest::NewClaim { purpose: "Tjänsteresa".into() };
    let Ok(ClientResponse::Draft { draft, .. }) = net.ask("agency", employee(person), request) else {
        panic!("a draft");
    };
    draft.number
}

/// Every page of an employee's open drafts, `limit` a page: their numbers.
fn draft_pages(net: &mut Net, caller: &Caller, limit: usize) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let request = ClientRequest::ListDrafts { limit, before: before.take() };
        let Ok(ClientResponse::Drafts(page)) = net.ask("agency", caller.clone(), request) else {
            panic!("a page of drafts");
        };
        pages.push(page.items.iter().map(|draft| draft.number.clone()).collect());
        match page.next {
            Some(next) => before = Some(next),
            None => return pages,
        }
        assert!(pages.len() < 100, "the pages do not end");
    }
}

#[test]
fn an_employee_lists_their_open_drafts_newest_first_and_a_submitted_one_leaves_the_list() {
    let mut net = Net::new();
    let first = new_draft(&mut net, "emp-1");
    let theirs = new_draft(&mut net, "emp-2");
    let second = new_draft(&mut net, "emp-1");
    let receipt = net.push(receipt(1));
    net.run();
    let submitted = net.draft_to("emp-1", &[receipt], 5800);
    assert_eq!(
        draft_pages(&mut net, &employee("emp-1"), 1),
        [vec![submitted.clone()], vec![second.clone()], vec![first.clone()]]
    );
    let Ok(ClientResponse::Submitted { .. }) =
        net.ask("agency", employee("emp-1"), ClientRequest::Submit { number: submitted })
    else {
        panic!("submitted");
    };
    assert_eq!(draft_pages(&mut net, &employee("emp-1"), 10).concat(), [second.clone(), first.clone()]);
    assert_eq!(draft_pages(&mut net, &employee("emp-2"), 10).concat(), [theirs]);

    // Only an employee has drafts; a cursor of another's list is refused.
    let request = ClientRequest::ListDrafts { limit: 10, before: None };
    let Err(refusal) = net.ask("agency", super::claims::approver("chef"), request) else {
        panic!("an approver's drafts")
    };
    assert_eq!(refusal.code.as_str(), "auth.forbidden");
    let before = Some(Cursor(keys::drafter_prefix("emp-2")));
    let Err(refusal) = net.ask("agency", employee("emp-1"), ClientRequest::ListDrafts { limit: 10, before })
    else {
        panic!("another's cursor taken");
    };
    assert_eq!(refusal.path, "after");

    // A ledger from before the drafter index: its drafts are listed once it is indexed.
    let store = net.nodes[&Net::key_of("agency")].store.clone();
    let mut unindexed = Batch::new();
    for number in [&first, &second] {
        unindexed.remove(keys::drafter("emp-1", number));
    }
    store.apply(&unindexed).unwrap();
    assert!(draft_pages(&mut net, &employee("emp-1"), 10).concat().is_empty());
    crate::ledger::Ledger::new(store).index_claimants().unwrap();
    assert_eq!(draft_pages(&mut net, &employee("emp-1"), 10).concat(), [second, first]);
}
