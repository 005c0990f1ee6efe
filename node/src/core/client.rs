//! What clients (tills, employees, approvers, SSC staff, the operator) ask of their node
//! and what it answers: the core's side of the client API (crate::api is the HTTP side).

use kvitt_protocol::claim::ClaimItem;
use kvitt_protocol::directory::Directory;
use kvitt_protocol::event::{Action, Status};
use kvitt_protocol::receipt::Receipt;
use kvitt_protocol::{AnyRecord, PublicKey, RecordId, Signed};
use serde::{Deserialize, Serialize};

use super::{ClaimView, Draft, Exception, Resolution, SieExport, SieFile};
use crate::policy::Finding;

/// The person or till calling the client API, as its bearer token says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// The person's (or till's) reference.
    pub person: String,
    /// What they may do.
    pub role: CallerRole,
}

/// Roles of client API callers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallerRole {
    /// A point-of-sale system pushing receipts (merchant nodes).
    Till,
    /// An employee listing receipts and building claims (agency nodes).
    Employee,
    /// An approver (attestant) deciding claims (agency nodes).
    Approver,
    /// Shared service center staff (SSC node).
    SscStaff,
    /// The node's operator: everything read-only, directory management.
    Operator,
}

/// What a client asks of its node.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientRequest {
    /// A till pushes a receipt to its merchant node, which signs, stores and delivers it.
    PushReceipt(Box<Receipt>),
    /// A till pushes a receipt without a buyer, with the reference of the card that paid:
    /// the node asks the SSCs which agency enrolled the card, then signs the receipt for
    /// it, or for no buyer if none did (spec/routing.md §Lookup).
    PushCardReceipt {
        /// The receipt, naming no buyer.
        receipt: Box<Receipt>,
        /// The card reference (PAR or token reference), never stored or signed.
        card: String,
    },
    /// An agency's employee presents a receipt code (as typed, or the QR payload): the
    /// node collects the receipt from the merchant the code names (spec/codes.md).
    FetchReceipt {
        /// The code as presented.
        code: String,
    },
    /// An agency's operator replaces the agency's enrolled cards at its SSC: each card
    /// reference, with the employee whose card it is, if one is.
    Enrol {
        /// The cards.
        cards: Vec<CardEnrolment>,
    },
    /// Receipts held for this agency (all, or one employee's), oldest sale first: a page.
    ListReceipts {
        /// Only this employee's receipts.
        employee: Option<String>,
        /// At most this many.
        limit: usize,
        /// Where the page starts: the `next` of the page before.
        after: Option<Cursor>,
    },
    /// Receipts held for this agency that match a search, newest sale first: a page (the
    /// web app's "Mina kvitton").
    FindReceipts {
        /// What to look for.
        search: ReceiptSearch,
        /// At most this many.
        limit: usize,
        /// Where the page starts: the `next` of the page before.
        before: Option<Cursor>,
    },
    /// One record by id.
    Record(RecordId),
    /// An employee opens a claim draft.
    NewClaim {
        /// What the claim is for.
        purpose: String,
    },
    /// An employee adds an item to their draft.
    AddItem {
        /// The draft's claim number.
        number: String,
        /// The item.
        item: Box<ClaimItem>,
    },
    /// An employee adds several items to their draft at once, all or none (the web app's
    /// per diem: its whole days and its half days).
    AddItems {
        /// The draft's claim number.
        number: String,
        /// The items, at least one.
        items: Vec<ClaimItem>,
    },
    /// An employee looks at their draft and what the policy says of it.
    ShowDraft {
        /// The draft's claim number.
        number: String,
    },
    /// An employee's open drafts (opened, not yet submitted), newest first: a page.
    ListDrafts {
        /// At most this many.
        limit: usize,
        /// Where the page starts: the `next` of the page before.
        before: Option<Cursor>,
    },
    /// An employee submits their draft: the node signs the claim and a submitted event.
    Submit {
        /// The draft's claim number.
        number: String,
    },
    /// An approver, the claimant or SSC staff records a decision on a claim.
    Decide {
        /// The claim.
        claim: RecordId,
        /// Approved, rejected (with reason) or withdrawn.
        action: Action,
    },
    /// SSC staff book an approved claim (the next voucher number of the agency's series).
    Book {
        /// The claim.
        claim: RecordId,
    },
    /// SSC staff mark a booked claim paid today.
    Pay {
        /// The claim.
        claim: RecordId,
    },
    /// SSC staff reverse a booked or paid claim found wrong: a signed `reversed` event
    /// and a reversing voucher (the next voucher number of the agency's series).
    Reverse {
        /// The claim.
        claim: RecordId,
        /// Why, in words the employee and an auditor can follow.
        reason: String,
    },
    /// SSC staff export one agency's vouchers (bookings and reversals) as an SIE 4I file;
    /// vouchers exported before are left out unless `again`.
    ExportSie(SieExport),
    /// A claim with its status, events and any exception.
    ShowClaim {
        /// The claim.
        claim: RecordId,
    },
    /// Claims the node holds, a page: an employee's own newest first, everyone's in claim
    /// id order for staff.
    ListClaims {
        /// At most this many.
        limit: usize,
        /// Where the page starts: the `next` of the page before.
        after: Option<Cursor>,
    },
    /// Records held as exceptions (duplicate claims, equivocation evidence, refusals),
    /// each with what to do next.
    Exceptions {
        /// At most this many.
        limit: usize,
        /// Resolved ones too, not only those still open.
        all: bool,
        /// Where the page starts: the `next` of the page before.
        after: Option<Cursor>,
    },
    /// SSC staff resolve a claim held for an exception: reject it, or book it anyway.
    Resolve {
        /// The claim.
        claim: RecordId,
        /// What they decide.
        resolution: Resolution,
        /// Why, in words the employee and an auditor can follow.
        note: String,
    },
    /// The merchant's operator: the latest receipts of each register with their delivery
    /// state (core::pushes).
    Pushes {
        /// At most this many per register.
        limit: usize,
    },
    /// The operator: every peer with its outbox depth and failed deliveries (core::peers).
    Peers,
    /// The directory in force.
    Directory,
    /// The operator installs a newer signed directory (its canonical CBOR bytes); peers
    /// learn it from the version every message carries.
    InstallDirectory {
        /// The signed directory.
        bytes: Vec<u8>,
    },
    /// The operator reconciles now with one peer, or with every peer this node may share
    /// a channel with, and waits for the sessions to end (core::sessions).
    Reconcile {
        /// Only this peer: its organisation number or node key (hex).
        peer: Option<String>,
    },
    /// The operator's `kvitt recover` (core::recovery): the node reconciles with every
    /// peer first (core::sessions); the core then finishes the recovery once every peer is
    /// settled, or says how it stands.
    Recover {
        /// Finish even though some peers were not reached or still hold records this node
        /// lacks (only with a floor to raise serials above).
        partial: bool,
    },
}

/// One card an agency enrols.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardEnrolment {
    /// The card reference (PAR or token reference).
    pub reference: String,
    /// The employee whose card it is; none for a card of the agency itself.
    #[serde(default)]
    pub employee: Option<String>,
}

/// What a node answers a client.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientResponse {
    /// The receipt is signed and on disk; `duplicate` if it had been pushed before.
    Pushed {
        /// The receipt's id.
        id: RecordId,
        /// Whether the same receipt was already stored.
        duplicate: bool,
        /// The code the till shows for a receipt signed without a buyer (spec/codes.md).
        code: Option<kvitt_protocol::code::ReceiptCode>,
    },
    /// A receipt collected by code is stored with its assignment to the employee.
    Fetched {
        /// The receipt's id.
        id: RecordId,
        /// The id of the merchant's assignment of it to this agency.
        assignment: RecordId,
    },
    /// The agency's enrolment is in force at its SSC, with this many cards.
    Enrolled {
        /// The number of cards.
        cards: u64,
    },
    /// Receipts, verified on reading.
    Receipts(Page<Signed<Receipt>>),
    /// One record.
    Record(Box<AnyRecord>),
    /// A claim draft as it now stands, and what the agency's policy says of it today.
    Draft {
        /// The draft.
        draft: Box<Draft>,
        /// Broken rules; an error among them blocks submission.
        findings: Vec<Finding>,
    },
    /// Open drafts, newest first.
    Drafts(Page<Draft>),
    /// The claim was signed and submitted.
    Submitted {
        /// The claim's id.
        claim: RecordId,
    },
    /// The claim's status after the decision.
    Status(Status),
    /// The claim's status after a decision, with the policy's warnings to the decider.
    Decided {
        /// Where the claim stands now.
        status: Status,
        /// What the policy says of this decision (warnings only: errors refuse it).
        findings: Vec<Finding>,
    },
    /// One claim.
    Claim(Box<ClaimView>),
    /// An SIE file and the claims it books.
    Sie(Box<SieFile>),
    /// Claims: id, number, claimant, status, total in öre.
    Claims(Page<ClaimSummary>),
    /// Exceptions, with their kind and what to do next.
    Exceptions(Page<Exception>),
    /// The directory in force (after an install: the one installed, or the one kept if
    /// the same was offered again).
    Directory {
        /// The signed directory.
        directory: Box<Signed<Directory>>,
        /// Whether this request installed it (false: it was already in force).
        installed: bool,
    },
    /// The latest receipts of each register, with their delivery state.
    Pushes(Vec<super::RegisterPushes>),
    /// Every peer's delivery state.
    Peers(Vec<super::PeerState>),
    /// How each session of a [`ClientRequest::Reconcile`] went.
    Reconciled(Vec<PeerReconciliation>),
    /// How a [`ClientRequest::Recover`] stands.
    Recovery(Box<super::RecoveryStatus>),
}

/// What a receipt search looks for; every part given must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiptSearch {
    /// Only this employee's receipts (an employee's own, whatever they name).
    pub employee: Option<String>,
    /// The merchant's name contains this (any case).
    pub merchant: Option<String>,
    /// Sold on or after this day (at the place of sale).
    pub from: Option<time::Date>,
    /// Sold on or before this day (at the place of sale).
    pub to: Option<time::Date>,
    /// A total of at least this many minor units.
    pub min_total: Option<i64>,
    /// A total of at most this many minor units.
    pub max_total: Option<i64>,
}

impl ReceiptSearch {
    /// Whether `receipt` matches.
    pub fn matches(&self, receipt: &Receipt) -> bool {
        let day =
            kvitt_protocol::fields::parse_time("issued_at", &receipt.issued_at).ok().map(|time| time.date());
        let merchant = self.merchant.as_deref().map(str::to_lowercase);
        merchant.is_none_or(|part| receipt.merchant.name.to_lowercase().contains(&part))
            && self.from.is_none_or(|from| day.is_some_and(|day| day >= from))
            && self.to.is_none_or(|to| day.is_some_and(|day| day <= to))
            && self.min_total.is_none_or(|min| receipt.total >= min)
            && self.max_total.is_none_or(|max| receipt.total <= max)
    }
}

/// Where a list goes on: a position in the node's order of that list, opaque to clients,
/// who take it from one page and give it back for the next (hex on the client API).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor(pub Vec<u8>);

/// One page of a list: its entries, and where the next page starts if the list goes on.
/// A page may hold fewer entries than asked for (each page looks at a bounded part of the
/// node's index): only `next: None` means the list has ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    /// The entries, in the list's order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` at the end of the list.
    pub next: Option<Cursor>,
}

/// How reconciliation with one peer went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerReconciliation {
    /// The peer.
    pub peer: PublicKey,
    /// Its organisation number, as the directory says.
    pub org: String,
    /// What the session found, or why it did not finish.
    pub result: Result<super::Summary, String>,
}

/// One line of a claim list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClaimSummary {
    /// The claim's id.
    pub id: RecordId,
    /// The agency's claim number.
    pub number: String,
    /// The agency.
    pub agency: String,
    /// The employee.
    pub claimant: String,
    /// Where it stands.
    pub status: Status,
    /// Total claimed, öre.
    pub total: i64,
}
