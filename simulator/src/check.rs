//! The guarantees a run must keep, checked at its end (after every fault healed and the
//! channels converged): each violation names the invariant and the records involved.

use std::collections::{BTreeMap, BTreeSet};

use kvitt_node::ledger::{Ledger, MAX_SCAN_ENTRIES};
use kvitt_node::store::Store;
use kvitt_protocol::claim::Claim;
use kvitt_protocol::event::Status;
use kvitt_protocol::evidence::Slot;
use kvitt_protocol::receipt::Payment;
use kvitt_protocol::{AnyRecord, RecordId, Signed};

use crate::routes::{self, Routes};
use crate::workload::{Acknowledged, Codes, Equivocation};
use crate::world::World;

mod held;

/// One broken guarantee.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// The invariant's name.
    pub invariant: &'static str,
    /// What broke it: nodes, records.
    pub details: String,
}

fn violation(invariant: &'static str, details: String) -> Violation {
    Violation { invariant, details }
}

/// Every check, given the receipts the tills had acknowledged (and those collected by
/// code), the receipt codes and the equivocations injected; at most a few violations of
/// each kind are listed.
pub fn check(
    world: &World,
    acknowledged: &BTreeMap<RecordId, Acknowledged>,
    codes: &Codes,
    equivocations: &[Equivocation],
) -> Vec<Violation> {
    let mut found = Vec::new();
    found.extend(world.failures.iter().cloned());
    acknowledged_at_agency(world, acknowledged, &mut found);
    routes::collected_wrongly(codes, &mut found);
    let routes = Routes { acknowledged, codes };
    channels_converged(world, &mut found);
    no_receipt_paid_twice(world, &mut found);
    paid_claims_book_into_balanced_vouchers(world, &mut found);
    reversals_negate_their_bookings(world, &mut found);
    let mut evidence = Vec::with_capacity(world.nodes.len());
    let mut outside = Vec::new();
    for node in held::per_node(world, &routes) {
        evidence.push(node.evidence);
        outside.extend(node.outside);
        found.extend(node.routes);
    }
    equivocations_caught(equivocations, &evidence, &mut found);
    found.extend(outside);
    found
}

fn acknowledged_at_agency(
    world: &World,
    acknowledged: &BTreeMap<RecordId, Acknowledged>,
    found: &mut Vec<Violation>,
) {
    for (id, ack) in acknowledged {
        let held = world
            .nodes
            .get(ack.agency)
            .is_some_and(|sim| Ledger::new(sim.store.clone()).contains(id).unwrap_or(false));
        if !held {
            found.push(violation(
                "every acknowledged receipt is at its agency",
                format!(
                    "receipt {id} (merchant node {}, employee {}) acknowledged at {} ms, missing at agency node {}",
                    ack.merchant, ack.employee, ack.pushed_ms, ack.agency
                ),
            ));
        }
    }
}

/// Two nodes whose views of their shared channel differ.
pub struct Unconverged {
    node: usize,
    peer: usize,
    ours: usize,
    theirs: usize,
    /// A few records only one side holds.
    sample: Vec<String>,
}

/// Pairs of nodes whose views of their shared channel differ.
pub fn unconverged(world: &World) -> Vec<Unconverged> {
    let mut differ = Vec::new();
    for (node, sim) in world.nodes.iter().enumerate() {
        let Some(core) = &sim.core else {
            continue;
        };
        for peer_key in core.reconciliation_peers() {
            let Some(&peer) = world.index_of.get(&peer_key) else {
                continue;
            };
            if peer < node {
                continue;
            }
            let Some(other) = world.nodes.get(peer) else {
                continue;
            };
            let ours = sim.index.snapshot(&peer_key).into_items();
            let theirs = other.index.snapshot(&sim.party.key()).into_items();
            if ours != theirs {
                let (a, b): (BTreeSet<_>, BTreeSet<_>) = (ours.iter().collect(), theirs.iter().collect());
                let sample: Vec<String> = a
                    .symmetric_difference(&b)
                    .take(3)
                    .map(|item| {
                        let side = if a.contains(item) { node } else { peer };
                        let kind = world
                            .nodes
                            .get(side)
                            .and_then(|sim| Ledger::new(sim.store.clone()).record(&item.id).ok().flatten())
                            .map_or_else(|| "?".to_owned(), |record| record.kind().to_string());
                        format!("{kind} {} only at node {side}", item.id)
                    })
                    .collect();
                differ.push(Unconverged { node, peer, ours: ours.len(), theirs: theirs.len(), sample });
            }
        }
    }
    differ
}

/// Whether every node is up, no outbox holds anything, and every channel is converged.
pub fn settled(world: &World) -> bool {
    world.nodes.iter().all(|sim| {
        sim.is_up()
            && Ledger::new(sim.store.clone()).outbox_peers().map(|peers| peers.is_empty()).unwrap_or(false)
    }) && unconverged(world).is_empty()
}

fn channels_converged(world: &World, found: &mut Vec<Violation>) {
    for Unconverged { node, peer, ours, theirs, sample } in unconverged(world).into_iter().take(5) {
        found.push(violation(
            "every channel converged after the faults healed",
            format!(
                "node {node} holds {ours} items of its channel with node {peer}, which holds {theirs}: {}",
                sample.join("; ")
            ),
        ));
    }
}

/// What one node has paid so far: each receipt and card payment with the claim that paid
/// it. Fed claim by claim, it names a second payment of either.
#[derive(Default)]
pub struct PaidClaims {
    claims: BTreeSet<RecordId>,
    receipts: BTreeMap<RecordId, RecordId>,
    cards: BTreeMap<String, RecordId>,
    /// Each paid claim's receipts and card payments, so that its reversal visits only
    /// those (walking every payment a node made for each reversal grew with the square
    /// of the run: a tenth of a million-receipt run's time).
    noted: BTreeMap<RecordId, (Vec<RecordId>, Vec<String>)>,
}

impl PaidClaims {
    /// Notes that node `node` paid `claim`, whose receipts `ledger` holds; the violations
    /// if a receipt or a card payment of it was paid before (or twice within it). A claim
    /// noted before is not counted again (its `paid` event may be stored more than once:
    /// delivered, then found again by reconciliation).
    pub fn paid(&mut self, node: usize, ledger: &Ledger, claim: &Signed<Claim>) -> Vec<Violation> {
        let mut found = Vec::new();
        if !self.claims.insert(claim.id()) {
            return found;
        }
        let noted = self.noted.entry(claim.id()).or_default();
        for receipt in claim.body().receipts() {
            noted.0.push(receipt);
            if let Ok(Some(AnyRecord::Receipt(held))) = ledger.record(&receipt) {
                for payment in &held.body().payments {
                    if let Payment::Card { terminal, rrn, approval_code, .. } = payment {
                        let card = format!("{terminal}/{rrn}/{approval_code}");
                        noted.1.push(card.clone());
                        if let Some(other) = self.cards.insert(card.clone(), claim.id()) {
                            let claims = if other == claim.id() {
                                format!("twice in paid claim {other}")
                            } else {
                                format!("in paid claims {other} and {}", claim.id())
                            };
                            found.push(violation(
                                "no card payment is paid twice",
                                format!("node {node}: card payment {card} (receipt {receipt}) is {claims}"),
                            ));
                        }
                    }
                }
            }
            if let Some(other) = self.receipts.insert(receipt, claim.id()) {
                found.push(violation(
                    "no receipt is in two paid claims",
                    format!("node {node}: receipt {receipt} is in paid claims {other} and {}", claim.id()),
                ));
            }
        }
        found
    }

    /// Notes that `claim` was reversed: its payment was taken back, so its receipts and
    /// card payments may be paid in a corrected claim. (It stays noted as seen, so that
    /// its `paid` event stored again is not counted as a new payment.)
    pub fn reversed(&mut self, claim: &RecordId) {
        let Some((receipts, cards)) = self.noted.remove(claim) else {
            return;
        };
        for receipt in receipts {
            if self.receipts.get(&receipt) == Some(claim) {
                self.receipts.remove(&receipt);
            }
        }
        for card in cards {
            if self.cards.get(&card) == Some(claim) {
                self.cards.remove(&card);
            }
        }
    }
}

fn no_receipt_paid_twice(world: &World, found: &mut Vec<Violation>) {
    for (node, sim) in world.nodes.iter().enumerate() {
        let ledger = Ledger::new(sim.store.clone());
        let mut paid = PaidClaims::default();
        for state in ledger.claim_states(MAX_SCAN_ENTRIES).unwrap_or_default() {
            if state.status != Status::Paid {
                continue;
            }
            if let Ok(Some(AnyRecord::Claim(claim))) = ledger.record(&state.claim) {
                found.extend(paid.paid(node, &ledger, &claim));
            }
        }
    }
}

/// Every claim paid at a node books, with the default booking and allowance tables, into
/// one voucher whose rows add up to zero öre: the SSC never pays what its books could not
/// take.
fn paid_claims_book_into_balanced_vouchers(world: &World, found: &mut Vec<Violation>) {
    use kvitt_books::{book, AgencyBooks, AllowanceTables, BookingTable, ClaimReceipts};
    use kvitt_protocol::evidence::Slot;
    let tables = BookingTable::default_table()
        .map_err(|error| error.to_string())
        .and_then(|table| AllowanceTables::default_tables().map(|a| (table, a)).map_err(|e| e.to_string()));
    let (table, allowances) = match tables {
        Ok(tables) => tables,
        Err(error) => {
            found.push(violation("every paid claim books into a balanced voucher", error));
            return;
        }
    };
    for (node, sim) in world.nodes.iter().enumerate() {
        let ledger = Ledger::new(sim.store.clone());
        for state in ledger.claim_states(MAX_SCAN_ENTRIES).unwrap_or_default() {
            if state.status != Status::Paid {
                continue;
            }
            let Ok(Some(AnyRecord::Claim(claim))) = ledger.record(&state.claim) else {
                continue;
            };
            let receipts: Vec<_> = claim
                .body()
                .receipts()
                .filter_map(|id| match ledger.record(&id) {
                    Ok(Some(AnyRecord::Receipt(receipt))) => Some(receipt),
                    _ => None,
                })
                .collect();
            // The assignments that give receipts signed without a buyer theirs (its slot).
            let assignments: Vec<_> = receipts
                .iter()
                .filter_map(|receipt| {
                    let slot = Slot::Assignment { signer: receipt.signer(), receipt: receipt.id() };
                    match ledger.slot_holder(&slot).ok().flatten().map(|id| ledger.record(&id)) {
                        Some(Ok(Some(AnyRecord::Assignment(assignment)))) => Some(assignment),
                        _ => None,
                    }
                })
                .collect();
            let agency = claim.body().agency.clone();
            let books = AgencyBooks {
                org: agency.clone(),
                name: agency,
                series: "K".into(),
                corporate_cards: Vec::new(),
            };
            let date = kvitt_protocol::fields::parse_time("created_at", &claim.body().created_at)
                .map(|time| time.date());
            let voucher = date.map_err(|error| error.to_string()).and_then(|date| {
                let records = ClaimReceipts { receipts: &receipts, assignments: &assignments };
                book(table, allowances, &books, &claim, records, date).map_err(|e| e.to_string())
            });
            let problem = match voucher {
                Err(error) => Some(format!("does not book: {error}")),
                Ok(voucher) => {
                    let sum: i64 = voucher.rows.iter().map(|row| row.amount).sum();
                    (sum != 0).then(|| format!("books into a voucher whose rows add up to {sum} öre"))
                }
            };
            if let Some(problem) = problem {
                found.push(violation(
                    "every paid claim books into a balanced voucher",
                    format!("node {node}: paid claim {} ({}) {problem}", claim.id(), claim.body().number),
                ));
            }
        }
    }
}

/// Every reversed claim at a node that keeps vouchers (the SSC) keeps both its booking and
/// its reversing voucher, and the reversal's rows are the booking's, negated: the books
/// show the claim as never booked. A node that keeps neither (an agency) is not judged.
fn reversals_negate_their_bookings(world: &World, found: &mut Vec<Violation>) {
    use kvitt_node::ledger::VoucherOf;
    const RULE: &str = "every reversing voucher negates its claim's booking";
    for (node, sim) in world.nodes.iter().enumerate() {
        let ledger = Ledger::new(sim.store.clone());
        for state in ledger.claim_states(MAX_SCAN_ENTRIES).unwrap_or_default() {
            if state.status != Status::Reversed {
                continue;
            }
            let claim = state.claim;
            let problem = match (
                ledger.voucher(&claim, VoucherOf::Booking),
                ledger.voucher(&claim, VoucherOf::Reversal),
            ) {
                (Ok(None), Ok(None)) => None,
                (Ok(Some(booking)), Ok(Some(reversal))) => {
                    let negated: Vec<(u16, i64)> =
                        booking.rows.iter().map(|row| (row.account, -row.amount)).collect();
                    let rows: Vec<(u16, i64)> =
                        reversal.rows.iter().map(|row| (row.account, row.amount)).collect();
                    (rows != negated).then(|| format!("reverses {negated:?} as {rows:?}"))
                }
                (booking, reversal) => Some(format!(
                    "keeps booking {:?} and reversal {:?}",
                    booking.map(|voucher| voucher.map(|voucher| voucher.number)),
                    reversal.map(|voucher| voucher.map(|voucher| voucher.number))
                )),
            };
            if let Some(problem) = problem {
                found.push(violation(RULE, format!("node {node}: reversed claim {claim} {problem}")));
            }
        }
    }
}

/// Whether every member of each injected equivocation's channel holds evidence of it;
/// `evidence` has, for each node, the slots its evidence records prove.
fn equivocations_caught(equivocations: &[Equivocation], evidence: &[Vec<Slot>], found: &mut Vec<Violation>) {
    for injected in equivocations {
        for member in &injected.members {
            let caught = evidence.get(*member).is_some_and(|slots| slots.contains(&injected.slot));
            if !caught {
                let Slot::Receipt { register, serial, .. } = &injected.slot else {
                    continue;
                };
                found.push(violation(
                    "every injected equivocation is caught with evidence at every channel member",
                    format!(
                        "node {member} holds no evidence of receipts {} and {} (register {register}, serial {serial})",
                        injected.records.0, injected.records.1
                    ),
                ));
            }
        }
    }
}

/// A hash of every node's whole ledger, in node order.
pub fn ledger_hash(world: &World) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for sim in &world.nodes {
        let mut after: Option<Vec<u8>> = None;
        while let Ok(page) = sim.store.scan(b"", after.as_deref(), MAX_SCAN_ENTRIES) {
            let Some((last, _)) = page.last() else {
                break;
            };
            after = Some(last.clone());
            for (key, value) in &page {
                hash.update((key.len() as u64).to_be_bytes());
                hash.update(key);
                hash.update((value.len() as u64).to_be_bytes());
                hash.update(value);
            }
        }
    }
    hex::encode(hash.finalize())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kvitt_node::store::{Batch, MemoryStore, Store};
    use kvitt_protocol::sample;

    use super::*;

    fn key(seed: u8) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
    }

    /// A ledger holding `receipts`, signed by one merchant key.
    fn ledger_with(receipts: &[kvitt_protocol::receipt::Receipt]) -> (Ledger, Vec<RecordId>) {
        let store = Arc::new(MemoryStore::new());
        let mut batch = Batch::new();
        let mut ids = Vec::new();
        for receipt in receipts {
            let signed = Signed::sign(receipt.clone(), &key(1)).unwrap();
            batch.insert(kvitt_node::ledger::keys::record(&signed.id()), signed.bytes().to_vec());
            ids.push(signed.id());
        }
        store.apply(&batch).unwrap();
        (Ledger::new(store), ids)
    }

    fn claim_of(receipts: &[RecordId]) -> Signed<Claim> {
        let mut claim = sample::claim(receipts[0], 162_400);
        let item = claim.items[0].clone();
        claim.items = receipts
            .iter()
            .map(|id| match item.clone() {
                kvitt_protocol::claim::ClaimItem::Receipt {
                    business_purpose,
                    amount,
                    booking,
                    foreign,
                    participants,
                    ..
                } => kvitt_protocol::claim::ClaimItem::Receipt {
                    receipt: *id,
                    business_purpose,
                    amount,
                    booking,
                    foreign,
                    participants,
                },
                other => other,
            })
            .collect();
        Signed::sign(claim, &key(2)).unwrap()
    }

    #[test]
    fn a_receipt_in_a_second_paid_claim_is_named() {
        let agency = sample::AGENCY_ORG;
        let (ledger, ids) = ledger_with(&[
            sample::receipt(sample::MERCHANT_ORG, agency, "K1", 1),
            sample::receipt(sample::MERCHANT_ORG, agency, "K1", 2),
        ]);
        let mut paid = PaidClaims::default();
        assert!(paid.paid(0, &ledger, &claim_of(&ids[..1])).is_empty());
        assert!(paid.paid(0, &ledger, &claim_of(&ids[..1])).is_empty(), "the same claim noted again");
        assert!(
            paid.paid(0, &ledger, &claim_of(&ids[1..])).is_empty(),
            "another receipt, another card payment"
        );
        let again = claim_of(&ids[..1]);
        let found = paid.paid(0, &ledger, &{
            let mut body = again.body().clone();
            body.purpose = "Samma kvitto igen".into();
            Signed::sign(body, &key(2)).unwrap()
        });
        let broken: Vec<_> = found.iter().map(|violation| violation.invariant).collect();
        assert_eq!(
            broken,
            ["no card payment is paid twice", "no receipt is in two paid claims"],
            "{found:?}"
        );
    }

    #[test]
    fn a_receipt_of_a_reversed_claim_may_be_paid_again_in_a_corrected_claim() {
        let agency = sample::AGENCY_ORG;
        let (ledger, ids) = ledger_with(&[sample::receipt(sample::MERCHANT_ORG, agency, "K1", 1)]);
        let mut paid = PaidClaims::default();
        let first = claim_of(&ids);
        assert!(paid.paid(0, &ledger, &first).is_empty());
        paid.reversed(&first.id());
        assert!(paid.paid(0, &ledger, &first).is_empty(), "its paid event stored again is no payment");
        let mut body = first.body().clone();
        body.purpose = "Rättad räkning".into();
        let corrected = Signed::sign(body, &key(2)).unwrap();
        assert!(paid.paid(0, &ledger, &corrected).is_empty(), "the reversed payment was taken back");
        let mut body = first.body().clone();
        body.purpose = "En gång till".into();
        let third = Signed::sign(body, &key(2)).unwrap();
        assert_eq!(paid.paid(0, &ledger, &third).len(), 2, "but the corrected one is paid");
    }

    #[test]
    fn a_reversal_frees_only_the_payments_its_claim_still_holds() {
        let agency = sample::AGENCY_ORG;
        let (ledger, ids) = ledger_with(&[
            sample::receipt(sample::MERCHANT_ORG, agency, "K1", 1),
            sample::receipt(sample::MERCHANT_ORG, agency, "K1", 2),
        ]);
        let mut paid = PaidClaims::default();
        let first = claim_of(&ids);
        assert!(paid.paid(0, &ledger, &first).is_empty());
        let mut body = claim_of(&ids[1..]).body().clone();
        body.purpose = "Andra kvittot igen".into();
        let second = Signed::sign(body, &key(2)).unwrap();
        assert_eq!(paid.paid(0, &ledger, &second).len(), 2, "the second receipt paid twice");
        paid.reversed(&first.id());
        paid.reversed(&first.id());
        let mut body = claim_of(&ids).body().clone();
        body.purpose = "Efter återföringen".into();
        let third = Signed::sign(body, &key(2)).unwrap();
        let found = paid.paid(0, &ledger, &third);
        let broken: Vec<_> = found.iter().map(|violation| violation.details.as_str()).collect();
        assert_eq!(found.len(), 2, "only the second receipt is still held: {broken:?}");
        assert!(found.iter().all(|violation| violation.details.contains(&ids[1].to_string())), "{broken:?}");
        assert!(
            found.iter().all(|violation| violation.details.contains(&second.id().to_string())),
            "held by the second claim, which was not reversed: {broken:?}"
        );
    }

    #[test]
    fn one_card_payment_on_two_receipts_of_one_claim_is_named() {
        let agency = sample::AGENCY_ORG;
        let first = sample::paid_by_card(sample::receipt(sample::MERCHANT_ORG, agency, "K1", 1), "T-1", "42");
        let reissued =
            sample::paid_by_card(sample::receipt(sample::MERCHANT_ORG, agency, "K1", 2), "T-1", "42");
        let (ledger, ids) = ledger_with(&[first, reissued]);
        let found = PaidClaims::default().paid(3, &ledger, &claim_of(&ids));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].invariant, "no card payment is paid twice");
        assert!(found[0].details.starts_with("node 3: card payment T-1/42/A1B2C3"), "{}", found[0].details);
        assert!(found[0].details.contains("twice in paid claim"), "{}", found[0].details);
    }
}
