//! The agency's policy at the core: the facts its rules need from the ledger (the dates
//! of sale of a claim's receipts), and refusing what a policy error blocks. The findings
//! of the money rules (core::money), errors whatever the policy, are shown beside them.
//!
//! The rules themselves are pure (crate::policy::rules); this module only feeds them.

use std::collections::BTreeMap;

use kvitt_protocol::claim::{Claim, ClaimItem};
use kvitt_protocol::directory::MemberRole;
use kvitt_protocol::event::{Action, Status};
use kvitt_protocol::fields::parse_time;
use kvitt_protocol::wire::{Refusal, RefusalCode};
use kvitt_protocol::{AnyRecord, RecordId};
use time::Date;

use super::{unavailable, Caller, CallerRole, ClaimView, ClientResponse, Draft, NodeCore, Step};
use crate::policy::rules::{check_approval, check_claim};
use crate::policy::{Finding, Policy};

impl NodeCore {
    /// A decision by a client: an approver's approval is checked against the policy first
    /// (errors refuse it, with self-approval named); the warnings come back with the status.
    pub(super) fn decide_with_policy(
        &mut self,
        step: &mut Step,
        caller: &Caller,
        claim_id: RecordId,
        action: Action,
    ) -> Result<(Status, Vec<Finding>), Refusal> {
        if let Action::Booked { .. } = action {
            // Booking takes the voucher number and checks the claim (core::claims::book):
            // a client never signs a `booked` event of its own making.
            return Err(super::forbidden(
                caller,
                "record booked directly: book the claim, which checks it and numbers its voucher",
            ));
        }
        let mut findings = Vec::new();
        if action == Action::Approved
            && self.identity.role == MemberRole::Agency
            && caller.role == CallerRole::Approver
        {
            let claim = self.claim(step, &claim_id)?;
            // A return may have come since submission: nothing is approved beyond what the
            // receipts support.
            self.check_amounts(step, claim.body(), Some(claim_id), None)?;
            findings = self.approval_findings(claim.body(), &caller.person);
            let what = format!("approval of claim {} by {}", claim.body().number, caller.person);
            refuse_errors(&findings, &self.config.policy, &what)?;
        }
        let status = self.decide(step, caller, claim_id, action)?;
        Ok((status, findings))
    }

    /// A draft as the client API answers it: with what the policy says of it today.
    pub(super) fn draft_response(&self, step: &Step, draft: Draft) -> Result<ClientResponse, Refusal> {
        let findings = self.claim_findings(step, &self.claim_of(&draft), None, step.now.date())?;
        Ok(ClientResponse::Draft { draft: Box::new(draft), findings })
    }

    /// An employee's own draft.
    pub(super) fn show_draft(&self, step: &Step, caller: &Caller, number: &str) -> Result<Draft, Refusal> {
        self.require(caller, MemberRole::Agency, &[CallerRole::Employee], "read drafts")?;
        self.draft(step, caller, number)
    }

    /// What the agency's policy and the money rules say of a claim (or a draft's claim)
    /// if it were submitted `today`; `this` is its id once signed.
    pub(super) fn claim_findings(
        &self,
        step: &Step,
        claim: &Claim,
        this: Option<RecordId>,
        today: Date,
    ) -> Result<Vec<Finding>, Refusal> {
        if self.identity.role != MemberRole::Agency {
            return Ok(Vec::new());
        }
        let items = &claim.items;
        let mut sale_dates = BTreeMap::new();
        for item in items {
            if let ClaimItem::Receipt { receipt, .. } = item {
                if let Some(date) = self.sale_date(step, receipt)? {
                    sale_dates.insert(*receipt, date);
                }
            }
        }
        let mut findings = self.money_findings(step, claim, this)?;
        findings.extend(check_claim(&self.config.policy, items, &sale_dates, today));
        Ok(findings)
    }

    /// What the agency's policy says of `approver` approving `claim`.
    pub(super) fn approval_findings(&self, claim: &Claim, approver: &str) -> Vec<Finding> {
        check_approval(&self.config.policy, claim, approver)
    }

    /// The findings a claim view shows at the agency: the claim's, judged on the day it
    /// was submitted, and, to an approver while it waits for a decision, theirs.
    pub(super) fn view_findings(
        &self,
        step: &Step,
        caller: &Caller,
        view: &ClaimView,
    ) -> Result<Vec<Finding>, Refusal> {
        let submitted = view
            .events
            .first()
            .and_then(|event| parse_time("at", &event.body().at).ok())
            .map_or_else(|| step.now.date(), |at| at.date());
        let mut findings = self.claim_findings(step, view.claim.body(), Some(view.claim.id()), submitted)?;
        if self.identity.role == MemberRole::Agency
            && caller.role == CallerRole::Approver
            && view.status == Status::Submitted
        {
            findings.extend(self.approval_findings(view.claim.body(), &caller.person));
        }
        Ok(findings)
    }

    /// The day a receipt the ledger holds was issued, in the merchant's own offset.
    fn sale_date(&self, step: &Step, receipt: &RecordId) -> Result<Option<Date>, Refusal> {
        Ok(match step.ledger.record(receipt).map_err(unavailable)? {
            Some(AnyRecord::Receipt(receipt)) => {
                parse_time("issued_at", &receipt.body().issued_at).ok().map(|at| at.date())
            }
            _ => None,
        })
    }
}

/// Refuses with `claim.policy` if any finding is an error: `what` is refused (e.g.
/// `submission of claim 2026-000001`), and every finding is listed, one a line.
pub(super) fn refuse_errors(findings: &[Finding], policy: &Policy, what: &str) -> Result<(), Refusal> {
    let Some(first) = findings.iter().find(|finding| finding.is_error()) else {
        return Ok(());
    };
    let lines: Vec<String> = findings.iter().map(|finding| format!("  {finding}")).collect();
    Err(Refusal {
        code: RefusalCode::Policy.into(),
        path: first.item.clone().unwrap_or_default(),
        message: format!("policy {} refuses the {what}:\n{}", policy.label(), lines.join("\n")),
        retry: false,
    })
}
