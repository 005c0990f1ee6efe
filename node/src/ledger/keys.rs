//! Builds the keys of the ledger; one function per family.

use super::*;

/// Where a record's bytes live.
pub fn record(id: &RecordId) -> Vec<u8> {
    [RECORD_PREFIX, id.as_bytes()].concat()
}

/// Where the holder of a slot is noted.
pub fn slot(slot: &Slot) -> Vec<u8> {
    let mut key = b"slot/".to_vec();
    match slot {
        Slot::Receipt { signer, register, serial } => {
            key.push(b'r');
            key.extend_from_slice(signer.as_bytes());
            key.extend_from_slice(register.as_bytes());
            key.push(0);
            key.extend_from_slice(&serial.to_be_bytes());
        }
        Slot::Claim { signer, number } => {
            key.push(b'c');
            key.extend_from_slice(signer.as_bytes());
            key.extend_from_slice(number.as_bytes());
        }
        Slot::ClaimEvent { signer, claim, previous } => {
            key.push(b'e');
            key.extend_from_slice(signer.as_bytes());
            key.extend_from_slice(claim.as_bytes());
            key.extend_from_slice(previous.as_ref().map_or(&[0u8; 32], |previous| previous.as_bytes()));
        }
        Slot::Assignment { signer, receipt } => {
            key.push(b'a');
            key.extend_from_slice(signer.as_bytes());
            key.extend_from_slice(receipt.as_bytes());
        }
        Slot::Directory { signer, version } => {
            key.push(b'd');
            key.extend_from_slice(signer.as_bytes());
            key.extend_from_slice(&version.to_be_bytes());
        }
    }
    key
}

/// The prefix of an agency's receipts, optionally of one employee.
pub fn buyer_prefix(agency: &str, employee: Option<&str>) -> Vec<u8> {
    let mut key = [b"buyer/".as_slice(), agency.as_bytes(), b"\0"].concat();
    if let Some(employee) = employee {
        key.extend_from_slice(employee.as_bytes());
        key.push(0);
    }
    key
}

/// A receipt in its buyer's index, ordered by time of sale (UTC seconds).
pub fn buyer(agency: &str, employee: Option<&str>, issued_unix: i64, id: &RecordId) -> Vec<u8> {
    let mut key = buyer_prefix(agency, Some(employee.unwrap_or("")));
    // Flip the sign bit so that byte order is numeric order for negative times too.
    key.extend_from_slice(&(issued_unix as u64 ^ (1 << 63)).to_be_bytes());
    key.extend_from_slice(id.as_bytes());
    key
}

/// The prefix of one claimant's claims at an agency in the claimant index.
pub fn claimant_prefix(agency: &str, claimant: &str) -> Vec<u8> {
    [b"claimant/".as_slice(), agency.as_bytes(), b"\0", claimant.as_bytes(), b"\0"].concat()
}

/// A claim in the claimant index ([`super::claimants`]), ordered by when it was put
/// together (UTC seconds), then id.
pub fn claimant(agency: &str, claimant: &str, created_unix: i64, id: &RecordId) -> Vec<u8> {
    let mut key = claimant_prefix(agency, claimant);
    // Flip the sign bit so that byte order is numeric order for negative times too.
    key.extend_from_slice(&(created_unix as u64 ^ (1 << 63)).to_be_bytes());
    key.extend_from_slice(id.as_bytes());
    key
}

/// The last serial issued on a register of this node.
pub fn serial(register: &str) -> Vec<u8> {
    [SERIAL_PREFIX, register.as_bytes()].concat()
}

/// Which claim holds a receipt.
pub fn held(receipt: &RecordId) -> Vec<u8> {
    [b"held/".as_slice(), receipt.as_bytes()].concat()
}

/// The prefix of the returns of a receipt.
pub fn returns_prefix(original: &RecordId) -> Vec<u8> {
    [b"return/".as_slice(), original.as_bytes()].concat()
}

/// A receipt that names `original` as the receipt it returns or corrects.
pub fn return_of(original: &RecordId, refund: &RecordId) -> Vec<u8> {
    [returns_prefix(original).as_slice(), refund.as_bytes()].concat()
}

/// The prefix of the claims that name a receipt.
pub fn claims_of_receipt_prefix(receipt: &RecordId) -> Vec<u8> {
    [b"claimed/".as_slice(), receipt.as_bytes()].concat()
}

/// A claim that names `receipt` in an item, whatever its status.
pub fn claim_of_receipt(receipt: &RecordId, claim: &RecordId) -> Vec<u8> {
    [claims_of_receipt_prefix(receipt).as_slice(), claim.as_bytes()].concat()
}

/// A claim's state.
pub fn claim(claim: &RecordId) -> Vec<u8> {
    [b"claim/".as_slice(), claim.as_bytes()].concat()
}

/// A claim by its agency and number.
pub fn claim_number(agency: &str, number: &str) -> Vec<u8> {
    [b"claimno/".as_slice(), agency.as_bytes(), b"\0", number.as_bytes()].concat()
}

/// The prefix of one peer's outbox.
pub fn outbox_prefix(peer: &PublicKey) -> Vec<u8> {
    [b"out/".as_slice(), peer.as_bytes()].concat()
}

/// One outbox entry.
pub fn outbox(peer: &PublicKey, sequence: u64) -> Vec<u8> {
    [outbox_prefix(peer).as_slice(), &sequence.to_be_bytes()].concat()
}

/// The outbox index: the sequence of the one outbox entry that queues `record` for
/// `peer`, so that queueing a record again (a reconciliation, a restart, a peer coming
/// back) finds it already queued instead of adding a second entry. Written and removed in
/// the same batch as the entry.
pub fn queued(peer: &PublicKey, record: &RecordId) -> Vec<u8> {
    [QUEUED_PREFIX, peer.as_bytes(), record.as_bytes()].concat()
}

/// The prefix of the outbox index.
pub const QUEUED_PREFIX: &[u8] = b"queued/";

/// The prefix of the channel index (every channel's records).
pub const CHANNEL_PREFIX: &[u8] = b"chan/";

/// A record in the channel shared with `peer`, at its place in (time, id) order.
pub fn channel(peer: &PublicKey, time: u64, id: &RecordId) -> Vec<u8> {
    [CHANNEL_PREFIX, peer.as_bytes(), &time.to_be_bytes(), id.as_bytes()].concat()
}

/// An approved claim no SSC served when it was approved: sent once a directory names
/// one.
pub fn waiting(claim: &RecordId) -> Vec<u8> {
    [b"waiting/".as_slice(), claim.as_bytes()].concat()
}

/// The prefix of the drafts.
pub const DRAFT_PREFIX: &[u8] = b"draft/";

/// A claim being put together (not yet signed), by its number.
pub fn draft(number: &str) -> Vec<u8> {
    [DRAFT_PREFIX, number.as_bytes()].concat()
}

/// The prefix of one employee's open drafts in the drafter index.
pub fn drafter_prefix(claimant: &str) -> Vec<u8> {
    [b"drafter/".as_slice(), claimant.as_bytes(), b"\0"].concat()
}

/// An open draft in the drafter index ([`super::claimants`]), by its claimant and number
/// (numbers are given in order, so the key order is the order they were opened). Written
/// with the draft, removed with it when it is submitted.
pub fn drafter(claimant: &str, number: &str) -> Vec<u8> {
    [drafter_prefix(claimant).as_slice(), number.as_bytes()].concat()
}

/// The prefix of every claim's chain keys, whose values are the events' ids.
pub const CHAIN_PREFIX: &[u8] = b"chain/";

/// The prefix of a claim's events in chain order.
pub fn chain_prefix(claim: &RecordId) -> Vec<u8> {
    [CHAIN_PREFIX, claim.as_bytes()].concat()
}

/// The `position`-th event of a claim.
pub fn chain(claim: &RecordId, position: u32) -> Vec<u8> {
    [chain_prefix(claim).as_slice(), &position.to_be_bytes()].concat()
}

/// A card transaction (terminal, retrieval reference, approval code): which claim paid
/// for it. Two receipts for one card payment are one expense.
pub fn card(terminal: &str, rrn: &str, approval_code: &str) -> Vec<u8> {
    [b"card/".as_slice(), terminal.as_bytes(), b"\0", rrn.as_bytes(), b"\0", approval_code.as_bytes()]
        .concat()
}

/// An exception for staff to look at.
pub fn exception(id: &RecordId) -> Vec<u8> {
    [b"exception/".as_slice(), id.as_bytes()].concat()
}

/// A claim's booking or reversal voucher exported in an SIE file (SSC): the date of the
/// export. The booking's key is the claim id alone (as before reversals existed), the
/// reversal's ends in `r`.
pub fn sie(claim: &RecordId, of: VoucherOf) -> Vec<u8> {
    let mut key = [b"sie/".as_slice(), claim.as_bytes()].concat();
    if of == VoucherOf::Reversal {
        key.push(of.tag());
    }
    key
}

/// The voucher an SSC keeps for a claim's booking or reversal.
pub fn voucher(claim: &RecordId, of: VoucherOf) -> Vec<u8> {
    [b"voucher/".as_slice(), claim.as_bytes(), &[of.tag()]].concat()
}

/// The prefix of every register's last serial.
pub const SERIAL_PREFIX: &[u8] = b"serial/";

/// The prefix of a record's key.
pub const RECORD_PREFIX: &[u8] = b"rec/";

/// The prefix of the metadata values.
pub const META_PREFIX: &[u8] = b"meta/";

/// The metadata counter of an agency's claim numbers (the last one given to a draft).
pub const CLAIM_NUMBER_COUNTER: &str = "claim-number";

/// The metadata counter of an agency's voucher series at the SSC (the last voucher
/// number booked).
pub fn voucher_counter(agency: &str) -> String {
    format!("voucher/{agency}")
}

/// Whether the metadata counter `name` numbers what this node signs: claim numbers and
/// voucher numbers, which must never be given twice (the ledger floor keeps them).
pub fn numbers_signed_records(name: &str) -> bool {
    name == CLAIM_NUMBER_COUNTER || name.starts_with("voucher/")
}

/// The prefix of the slots of one register's receipts signed by `signer`, in serial order.
pub fn register_slots(signer: &PublicKey, register: &str) -> Vec<u8> {
    let mut key = slot(&Slot::Receipt { signer: *signer, register: register.into(), serial: 0 });
    key.truncate(key.len().saturating_sub(8));
    key
}

/// A metadata value.
pub fn meta(name: &str) -> Vec<u8> {
    [META_PREFIX, name.as_bytes()].concat()
}

/// Which agency (and employee) enrolled a card, at the SSC: keyed by the card's keyed
/// hash only (spec/routing.md).
pub fn enrolled_card(hash: &CardHash) -> Vec<u8> {
    [b"card/".as_slice(), &hash.0].concat()
}

/// The card hashes an agency enrolled, at the SSC serving it.
pub fn enrolment(agency: &str) -> Vec<u8> {
    [b"enrol/".as_slice(), agency.as_bytes()].concat()
}

/// The last serial of a merchant's register an SSC answered a lookup for, and its card.
pub fn route_serial(merchant: &PublicKey, register: &str) -> Vec<u8> {
    [b"route/".as_slice(), merchant.as_bytes(), register.as_bytes()].concat()
}

/// At a merchant: the receipt a code is for (and, once collected, its assignment), under
/// the code's keyed hash, never the code itself (spec/codes.md §Binding).
pub fn code(hash: &[u8; 32]) -> Vec<u8> {
    [b"code/".as_slice(), hash].concat()
}

/// At a merchant: a receipt waiting to be collected by code, in the order of its sale
/// (seconds since the epoch, big-endian), so that the oldest are found first.
pub fn uncollected(issued_unix: i64, receipt: &RecordId) -> Vec<u8> {
    let issued = u64::try_from(issued_unix).unwrap_or(0);
    [UNCOLLECTED_PREFIX, &issued.to_be_bytes(), receipt.as_bytes()].concat()
}

/// The prefix of [`uncollected`].
pub const UNCOLLECTED_PREFIX: &[u8] = b"uncollected/";
