//! The policy's rules at their edges, and the errors of a bad policy file.

use std::collections::BTreeMap;
use std::path::Path;

use kvitt_protocol::claim::{Booking, Claim, ClaimItem, Vehicle};
use kvitt_protocol::RecordId;
use time::macros::date;

use super::rules::{add_months, check_approval, check_claim, months_between};
use super::{Finding, Policy, PolicyError, Rule, Severity};

const FULL: &str = r#"
format = 1
revision = "2026-01"

[deadline]
months = 12

[[max]]
account = 5831
per_item_ore = 250000

[[max]]
kind = "mileage"
per_item_ore = 50000
severity = "warning"

[representation]
accounts = [6071, 6072]
min_participants = 1
min_purpose_chars = 10

[approvers]
[[approvers.allow]]
person = "boss"
cost_centers = ["CC-100"]
[[approvers.allow]]
person = "chief"
cost_centers = ["*"]
"#;

fn policy(text: &str) -> Policy {
    Policy::parse(Path::new("policy.toml"), text).unwrap()
}

fn booking(account: u16, cost_center: &str) -> Booking {
    Booking { account, cost_center: cost_center.into(), project: None }
}

fn receipt_item(receipt: u8, amount: i64, account: u16, purpose: &str, participants: &[&str]) -> ClaimItem {
    ClaimItem::Receipt {
        receipt: RecordId([receipt; 32]),
        business_purpose: purpose.into(),
        amount,
        booking: booking(account, "CC-100"),
        foreign: None,
        participants: participants.iter().map(|name| (*name).to_owned()).collect(),
    }
}

fn mileage(amount_km: u32, date: &str) -> ClaimItem {
    ClaimItem::Mileage {
        date: date.into(),
        route: "Uppsala-Arlanda".into(),
        business_purpose: "Till flyget".into(),
        km: amount_km,
        vehicle: Vehicle::OwnCar,
        rate_per_km: 250,
        amount: i64::from(amount_km) * 250,
        booking: booking(5611, "CC-100"),
    }
}

fn rules(findings: &[Finding]) -> Vec<(Rule, Severity)> {
    findings.iter().map(|finding| (finding.rule, finding.severity)).collect()
}

#[test]
fn the_deadline_holds_on_its_last_day_and_is_broken_the_day_after() {
    let policy = policy(FULL);
    let sold = BTreeMap::from([(RecordId([1; 32]), date!(2025 - 09 - 02))]);
    let items = [receipt_item(1, 10_000, 5800, "Tåg till Malmö", &[])];
    assert!(check_claim(&policy, &items, &sold, date!(2026 - 09 - 02)).is_empty());
    let late = check_claim(&policy, &items, &sold, date!(2026 - 09 - 03));
    assert_eq!(rules(&late), [(Rule::Deadline, Severity::Error)]);
    assert_eq!(late[0].item.as_deref(), Some("items[0]"));
    let message = &check_claim(&policy, &items, &sold, date!(2026 - 11 - 03))[0].message;
    assert!(message.starts_with("receipt from 2025-09-02 is 14 months old, limit 12"), "{message}");
    // A trip runs from its own date; a receipt the agency does not hold has none.
    let trip = [mileage(10, "2025-01-31")];
    assert!(check_claim(&policy, &trip, &sold, date!(2026 - 01 - 31)).is_empty());
    assert_eq!(
        rules(&check_claim(&policy, &trip, &sold, date!(2026 - 02 - 01))),
        [(Rule::Deadline, Severity::Error)]
    );
    assert!(
        check_claim(&policy, &[receipt_item(9, 1, 5800, "x", &[])], &sold, date!(2030 - 01 - 01)).is_empty()
    );
}

#[test]
fn months_are_calendar_months_and_a_missing_day_is_the_months_last() {
    assert_eq!(add_months(date!(2026 - 01 - 31), 1), date!(2026 - 02 - 28));
    assert_eq!(add_months(date!(2024 - 02 - 29), 12), date!(2025 - 02 - 28));
    assert_eq!(add_months(date!(2025 - 11 - 15), 3), date!(2026 - 02 - 15));
    assert_eq!(months_between(date!(2025 - 09 - 02), date!(2026 - 09 - 01)), 11);
    assert_eq!(months_between(date!(2025 - 09 - 02), date!(2026 - 09 - 02)), 12);
    assert_eq!(months_between(date!(2026 - 09 - 02), date!(2025 - 09 - 02)), 0);
}

#[test]
fn the_maximum_per_category_holds_at_the_limit_and_is_broken_one_ore_over() {
    let policy = policy(FULL);
    let none = BTreeMap::new();
    let today = date!(2026 - 05 - 04);
    assert!(check_claim(&policy, &[receipt_item(1, 250_000, 5831, "Hotell", &[])], &none, today).is_empty());
    let over = check_claim(&policy, &[receipt_item(1, 250_001, 5831, "Hotell", &[])], &none, today);
    assert_eq!(rules(&over), [(Rule::Max, Severity::Error)]);
    assert_eq!(over[0].message, "2500.01 SEK is above the limit of 2500.00 SEK per item for account 5831");
    // Another account is not limited; a kind's limit is a warning where the policy says so.
    assert!(check_claim(&policy, &[receipt_item(1, 900_000, 5800, "Tåg", &[])], &none, today).is_empty());
    assert!(check_claim(&policy, &[mileage(200, "2026-05-04")], &none, today).is_empty());
    assert_eq!(
        rules(&check_claim(&policy, &[mileage(201, "2026-05-04")], &none, today)),
        [(Rule::Max, Severity::Warning)]
    );
}

#[test]
fn representation_needs_participants_and_a_business_purpose() {
    let policy = policy(FULL);
    let none = BTreeMap::new();
    let today = date!(2026 - 05 - 04);
    let complete = receipt_item(1, 50_000, 6071, "Middag med Finlands skatteverk", &["Anna Berg"]);
    assert!(check_claim(&policy, &[complete], &none, today).is_empty());
    let bare = check_claim(&policy, &[receipt_item(1, 50_000, 6072, "Middag", &[])], &none, today);
    assert_eq!(
        rules(&bare),
        [(Rule::RepresentationParticipants, Severity::Error), (Rule::RepresentationPurpose, Severity::Error)]
    );
    assert!(bare[0].message.contains("names 0 participants, at least 1 required"), "{}", bare[0].message);
    // The same receipt on a travel account is no representation.
    assert!(check_claim(&policy, &[receipt_item(1, 50_000, 5800, "Middag", &[])], &none, today).is_empty());
}

#[test]
fn self_approval_is_named_whatever_the_policy() {
    let claim = claim_of(vec![receipt_item(1, 100, 5800, "Tåg", &[])]);
    let findings = check_approval(&Policy::default(), &claim, "emp-1");
    assert_eq!(rules(&findings), [(Rule::SelfApproval, Severity::Error)]);
    assert_eq!(
        findings[0].to_string(),
        "policy.self_approval (error): emp-1 may not approve their own claim 2026-000001"
    );
    assert!(check_approval(&Policy::default(), &claim, "boss").is_empty());
}

#[test]
fn an_approver_may_approve_only_the_cost_centers_the_policy_gives_them() {
    let policy = policy(FULL);
    let mut other = receipt_item(2, 100, 5800, "Tåg", &[]);
    if let ClaimItem::Receipt { booking, .. } = &mut other {
        booking.cost_center = "CC-200".into();
    }
    let claim = claim_of(vec![receipt_item(1, 100, 5800, "Tåg", &[]), other]);
    let boss = check_approval(&policy, &claim, "boss");
    assert_eq!(rules(&boss), [(Rule::Approver, Severity::Error)]);
    assert_eq!(boss[0].item.as_deref(), Some("items[1]"));
    assert!(boss[0].message.contains("boss may not approve cost center CC-200"), "{}", boss[0].message);
    assert!(check_approval(&policy, &claim, "chief").is_empty(), "* is every cost center");
    assert_eq!(check_approval(&policy, &claim, "stranger").len(), 2);
    // A cost center nobody may approve is shown to the employee before submitting.
    let only_boss = self::policy(&FULL.replace("cost_centers = [\"*\"]", "cost_centers = [\"CC-300\"]"));
    let findings = check_claim(&only_boss, &claim.items, &BTreeMap::new(), date!(2026 - 05 - 04));
    assert_eq!(rules(&findings), [(Rule::Approver, Severity::Error)]);
    assert!(findings[0].message.contains("no approver may approve cost center CC-200"));
}

fn claim_of(items: Vec<ClaimItem>) -> Claim {
    Claim {
        number: "2026-000001".into(),
        agency: "202100-5489".into(),
        claimant: "emp-1".into(),
        purpose: "Konferens".into(),
        created_at: "2026-05-04T08:00:00+02:00".into(),
        items,
    }
}

#[test]
fn a_bad_policy_file_is_refused_naming_the_field() {
    let error = |text: &str| Policy::parse(Path::new("p/policy.toml"), text).unwrap_err().to_string();
    let with = |from: &str, to: &str| {
        let text = FULL.replace(from, to);
        assert_ne!(text, FULL, "{from} is in the file");
        error(&text)
    };
    assert_eq!(with("format = 1", "format = 2"), "p/policy.toml: format = 2, this node reads format = 1");
    assert_eq!(with("months = 12", "months = 0"), "p/policy.toml: deadline.months: 0 is outside 1..=120");
    assert_eq!(with("months = 12", "months = 121"), "p/policy.toml: deadline.months: 121 is outside 1..=120");
    assert_eq!(
        with("account = 5831", "account = 999"),
        "p/policy.toml: max[0].account: 999 is not a BAS account 1000-8999"
    );
    assert_eq!(
        with("account = 5831", "account = 5831\nkind = \"receipt\""),
        "p/policy.toml: max[0]: name exactly one of account and kind"
    );
    assert!(with("per_item_ore = 250000", "per_item_ore = -1")
        .starts_with("p/policy.toml: max[0].per_item_ore: -1"));
    assert!(with("kind = \"mileage\"", "account = 5831").contains("max[1]: Account(5831) is limited twice"));
    assert!(with("accounts = [6071, 6072]", "accounts = []").contains("representation.accounts: empty"));
    assert!(with("person = \"chief\"", "person = \"boss\"")
        .contains("approvers.allow[1].person: \"boss\" is listed twice"));
    assert!(with("cost_centers = [\"*\"]", "cost_centers = []").contains("approvers.allow[1].cost_centers"));
    assert!(with("revision = \"2026-01\"", "revision = \" \"").contains("revision: empty"));
    let syntax = with("[deadline]", "[deadlines]");
    assert!(syntax.contains("deadlines"), "{syntax}");
    assert!(matches!(
        Policy::parse(Path::new("x"), "format = 1\nrevision = \"r\"\nmonths = 3\n"),
        Err(PolicyError::Syntax { .. })
    ));
}

#[test]
fn no_policy_file_is_the_empty_policy_and_an_unreadable_one_an_error() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(Policy::load(dir.path()).unwrap(), Policy::default());
    std::fs::write(dir.path().join(super::POLICY_FILE), FULL).unwrap();
    assert_eq!(Policy::load(dir.path()).unwrap(), policy(FULL));
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::create_dir(dir.path().join("sub").join(super::POLICY_FILE)).unwrap();
    assert!(matches!(Policy::load(&dir.path().join("sub")), Err(PolicyError::Io { .. })));
    use kvitt_protocol::directory::MemberRole;
    assert_eq!(Policy::load_for(dir.path(), MemberRole::Agency).unwrap(), policy(FULL));
    let error = Policy::load_for(dir.path(), MemberRole::Ssc).unwrap_err().to_string();
    assert!(
        error.ends_with("policy.toml: format: a policy is an agency's, and this node is a Ssc node"),
        "{error}"
    );
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(Policy::load_for(empty.path(), MemberRole::Merchant).unwrap(), Policy::default());
}

#[test]
fn the_example_of_spec_policy_md_is_a_valid_policy() {
    let spec = include_str!("../../../spec/policy.md");
    let start = spec.find("```toml\n").unwrap() + "```toml\n".len();
    let end = start + spec[start..].find("```").unwrap();
    let example = policy(&spec[start..end]);
    assert_eq!(example.revision, "2026-01");
    assert_eq!(example.max.len(), 2);
    assert!(example.approvers.unwrap().allows("gd-kontoret", "CC-999"));
}
