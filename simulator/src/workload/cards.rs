//! Card routing in the workload (spec/routing.md): each agency enrols its employees'
//! cards, and tills push part of the receipts with only the card payment.

use kvitt_node::core::{CardEnrolment, ClientRequest};
use kvitt_protocol::routing::RoutingKey;

use crate::cast::Cast;

/// The simulated network's routing key, its bytes (real mode writes them to the nodes'
/// `routing.key`).
pub const SIM_ROUTING_KEY_BYTES: [u8; 32] = *b"kvitt simulator routing key 32 b";
/// The simulated network's routing key.
pub const SIM_ROUTING_KEY: RoutingKey = RoutingKey::new(SIM_ROUTING_KEY_BYTES);

/// The card reference (a 29-character PAR) of `employee` of the agency at node `agency`:
/// distinct for every (agency, employee).
pub fn card_reference(agency: usize, employee: &str) -> String {
    let digest = <sha2::Sha256 as sha2::Digest>::digest(format!("{agency}/{employee}"));
    let hex = hex::encode(digest).to_uppercase();
    format!("V001{}", hex.get(..25).unwrap_or_default())
}

/// The last four digits of the card number of `employee` of the agency at node `agency`,
/// as the card slip shows them.
pub fn last_four(agency: usize, employee: &str) -> u32 {
    1000 + u32::try_from(employee.len() * 31 + agency).unwrap_or(0)
}

/// Every employee's card of the agency at node `agency`, as its operator enrols them.
pub fn cards(cast: &Cast, agency: usize) -> Vec<CardEnrolment> {
    let employees = cast.parties.get(agency).map(|party| party.employees().to_vec()).unwrap_or_default();
    employees
        .into_iter()
        .map(|employee| CardEnrolment {
            reference: card_reference(agency, &employee),
            employee: Some(employee),
        })
        .collect()
}

/// The enrolment of every employee's card of the agency at node `agency`.
pub fn enrolment(cast: &Cast, agency: usize) -> ClientRequest {
    ClientRequest::Enrol { cards: cards(cast, agency) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kvitt_protocol::routing::CardReference;

    #[test]
    fn card_references_are_pars_and_distinct() {
        let a = card_reference(1, "emp-1-0");
        assert_eq!(a.len(), 29);
        assert!(CardReference::parse("card", &a).is_ok());
        assert_ne!(a, card_reference(2, "emp-1-0"));
        assert_ne!(a, card_reference(1, "emp-1-1"));
    }
}
