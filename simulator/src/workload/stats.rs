//! What a run's workload counted, for the report and the checks.

use std::collections::BTreeMap;

/// What the workload counted.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct WorkloadStats {
    /// Receipts acknowledged by their merchant's node.
    pub receipts: u64,
    /// Refunds among them.
    pub refunds: u64,
    /// Receipts reissued (a second receipt for one card payment).
    pub reissues: u64,
    /// Pushes left unanswered by a crash (and pushed again).
    pub pushes_retried: u64,
    /// Claims submitted.
    pub claims_submitted: u64,
    /// Claims approved by the agency.
    pub claims_approved: u64,
    /// Claims rejected by the approver.
    pub claims_rejected: u64,
    /// Claims rejected by the SSC (a duplicate caught).
    pub claims_rejected_by_ssc: u64,
    /// Claims paid.
    pub claims_paid: u64,
    /// Receipts pushed with only the card payment and routed by it.
    pub routed_by_card: u64,
    /// Of those, written by a till that speaks SDRS and imported from its document.
    pub sdrs_receipts: u64,
    /// Receipts paid in cash and signed without a buyer (a receipt code each).
    pub cash_receipts: u64,
    /// Of those, collected by the paying employee's agency.
    pub codes_collected: u64,
    /// Wrong guesses of a code, refused (`code.unknown`).
    pub code_guesses_refused: u64,
    /// Collected codes presented again by another agency, refused (`code.collected`).
    pub codes_refused_again: u64,
    /// Paid claims reversed by the SSC (one in `REVERSE_EVERY`).
    pub claims_reversed: u64,
    /// Claim flows given up (a crash lost an answer, or nothing to claim).
    pub claims_abandoned: u64,
    /// Attempts to claim a receipt another claim holds, refused.
    pub double_claims_refused: u64,
    /// Such attempts accepted (a finding).
    pub double_claims_accepted: u64,
    /// Times the equivocating merchant had to send its forged receipt again (the first
    /// delivery was lost or cut off).
    pub equivocation_resent: u64,
    /// Refusals by code that the workload did not expect.
    pub refusals: BTreeMap<String, u64>,
}
