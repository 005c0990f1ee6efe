//! The agency's policy at the core: the employee sees the findings on the draft, an error
//! refuses the submission and changes nothing, a warning does not block, and an approver
//! is held to the cost centers the policy gives them.

use kvitt_protocol::event::{Action, Status};
use time::macros::datetime;

use super::claims::{approver, employee};
use super::*;
use crate::policy::{Finding, Policy, Rule, Severity};

fn policy(text: &str) -> Policy {
    Policy::parse(std::path::Path::new("policy.toml"), &format!("format = 1\nrevision = \"t\"\n{text}"))
        .unwrap()
}

fn rules(findings: &[Finding]) -> Vec<(Rule, Severity)> {
    findings.iter().map(|finding| (finding.rule, finding.severity)).collect()
}

impl Net {
    /// Every entry of a node's store, to see that a refusal wrote nothing.
    fn store_contents(&self, node: &str) -> Vec<crate::store::Entry> {
        let store = &self.nodes[&Net::key_of(node)].store;
        crate::store::Store::scan(store.as_ref(), b"", None, usize::MAX).unwrap()
    }

    fn draft_findings(&mut self, number: &str) -> (Vec<kvitt_protocol::claim::ClaimItem>, Vec<Finding>) {
        match self.ask("agency", employee("emp-1"), ClientRequest::ShowDraft { number: number.into() }) {
            Ok(ClientResponse::Draft { draft, findings }) => (draft.items, findings),
            other => panic!("draft: {other:?}"),
        }
    }

    fn claims_of_emp(&mut self) -> usize {
        match self.ask("agency", employee("emp-1"), ClientRequest::ListClaims { limit: 10, after: None }) {
            Ok(ClientResponse::Claims(claims)) => claims.items.len(),
            other => panic!("list: {other:?}"),
        }
    }
}

#[test]
fn a_policy_error_refuses_the_submission_and_leaves_the_draft_as_it_was() {
    // The receipts are from 2026-05-04: with a one-month deadline, 2026-06-04 is the last day.
    let mut net = Net::with_policy(policy("[deadline]\nmonths = 1\n"));
    let receipt = net.push(receipt(1));
    let number = net.draft_to("emp-1", &[receipt], 5800);
    net.now = datetime!(2026-06-05 08:00 +02:00);
    let (items, findings) = net.draft_findings(&number);
    assert_eq!(rules(&findings), [(Rule::Deadline, Severity::Error)], "shown before submitting");
    let written = net.store_contents("agency");
    let refused = net.ask("agency", employee("emp-1"), ClientRequest::Submit { number: number.clone() });
    let Err(refusal) = refused else { panic!("{refused:?}") };
    assert_eq!(refusal.code, RefusalCode::Policy);
    assert_eq!(refusal.path, "items[0]");
    assert!(
        refusal
            .message
            .contains("policy.deadline (error, items[0]): receipt from 2026-05-04 is 1 months old"),
        "{refusal}"
    );
    assert_eq!(net.store_contents("agency"), written, "nothing signed, nothing written");
    assert_eq!(net.claims_of_emp(), 0);
    assert_eq!(net.draft_findings(&number).0, items, "the draft is intact");
    // On the last day the same draft goes through.
    net.now = datetime!(2026-06-04 23:00 +02:00);
    assert!(matches!(
        net.ask("agency", employee("emp-1"), ClientRequest::Submit { number }),
        Ok(ClientResponse::Submitted { .. })
    ));
    assert_eq!(net.claims_of_emp(), 1);
}

#[test]
fn a_warning_is_shown_on_the_draft_and_does_not_block() {
    let mut net =
        Net::with_policy(policy("[[max]]\naccount = 5800\nper_item_ore = 9999\nseverity = \"warning\"\n"));
    let receipt = net.push(receipt(1));
    let number = net.draft_to("emp-1", &[receipt], 5800);
    let (_, findings) = net.draft_findings(&number);
    assert_eq!(rules(&findings), [(Rule::Max, Severity::Warning)]);
    assert!(matches!(
        net.ask("agency", employee("emp-1"), ClientRequest::Submit { number }),
        Ok(ClientResponse::Submitted { .. })
    ));
}

#[test]
fn an_approver_is_held_to_the_cost_centers_the_policy_gives_them() {
    let allow = "[approvers]\n[[approvers.allow]]\nperson = \"boss\"\ncost_centers = [\"CC-2\"]\n\
                 [[approvers.allow]]\nperson = \"chief\"\ncost_centers = [\"*\"]\n";
    let mut net = Net::with_policy(policy(allow));
    let receipt = net.push(receipt(1));
    let claim = net.claim("emp-1", &[receipt]);
    let Ok(ClientResponse::Claim(view)) =
        net.ask("agency", approver("boss"), ClientRequest::ShowClaim { claim })
    else {
        panic!()
    };
    assert_eq!(rules(&view.findings), [(Rule::Approver, Severity::Error)], "the approver sees it first");
    let refused =
        net.ask("agency", approver("boss"), ClientRequest::Decide { claim, action: Action::Approved });
    let Err(refusal) = refused else { panic!("{refused:?}") };
    assert_eq!(refusal.code, RefusalCode::Policy);
    assert!(refusal
        .message
        .contains("policy.approver (error, items[0]): boss may not approve cost center CC-1"));
    assert_eq!(net.status_at("agency", claim), Status::Submitted, "a refused approval changes nothing");
    let approved =
        net.ask("agency", approver("chief"), ClientRequest::Decide { claim, action: Action::Approved });
    assert_eq!(approved, Ok(ClientResponse::Decided { status: Status::Approved, findings: vec![] }));
}

#[test]
fn an_approver_warning_comes_back_with_the_decision() {
    let allow = "[approvers]\nseverity = \"warning\"\n[[approvers.allow]]\nperson = \"boss\"\n\
                 cost_centers = [\"CC-2\"]\n[[approvers.allow]]\nperson = \"chief\"\ncost_centers = [\"CC-1\"]\n";
    let mut net = Net::with_policy(policy(allow));
    let receipt = net.push(receipt(1));
    let claim = net.claim("emp-1", &[receipt]);
    let Ok(ClientResponse::Decided { status, findings }) =
        net.ask("agency", approver("boss"), ClientRequest::Decide { claim, action: Action::Approved })
    else {
        panic!()
    };
    assert_eq!(status, Status::Approved);
    assert_eq!(rules(&findings), [(Rule::Approver, Severity::Warning)]);
}

#[test]
fn a_cost_center_no_approver_may_approve_blocks_the_submission() {
    let allow = "[approvers]\n[[approvers.allow]]\nperson = \"boss\"\ncost_centers = [\"CC-2\"]\n";
    let mut net = Net::with_policy(policy(allow));
    let receipt = net.push(receipt(1));
    let number = net.draft_to("emp-1", &[receipt], 5800);
    let refused = net.ask("agency", employee("emp-1"), ClientRequest::Submit { number });
    let Err(refusal) = refused else { panic!("{refused:?}") };
    assert!(refusal.message.contains("no approver may approve cost center CC-1 under policy t"), "{refusal}");
}
