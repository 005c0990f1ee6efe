//! What the approver's, SSC staff's, operator's and merchant's pages share: the role a
//! page is for, a record id from the path, the cursor of a paged list, their menu.

use axum::response::Response;
use kvitt_protocol::directory::MemberRole;
use kvitt_protocol::RecordId;

use crate::core::{CallerRole, Cursor};
use crate::web::i18n::Text;
use crate::web::i18n_roles::role_text_of;
use crate::web::{forbidden, SignedIn};

/// How many entries a page of a list shows.
pub const PAGE_ENTRIES: usize = 50;

/// `None` if the signed-in person has `role`; else the `403` to answer, as the API
/// answers a token of another role (`auth.forbidden`).
pub fn unless_role(person: &SignedIn, role: CallerRole) -> Option<Response> {
    (person.caller.role != role).then(|| forbidden(person.lang))
}

/// The record id of a path segment, if it is one (a page answers `404` otherwise, as for
/// an unknown record).
pub fn record_id(text: &str) -> Option<RecordId> {
    text.parse().ok()
}

/// The cursor of a page's `after` parameter (hex, as the API's `kvitt-next`); a bad one
/// starts the list again.
pub fn cursor(after: Option<&str>) -> Option<Cursor> {
    after.and_then(|text| hex::decode(text).ok()).filter(|bytes| !bytes.is_empty()).map(Cursor)
}

/// The `after` parameter of the next page's link.
pub fn next_after(next: Option<&Cursor>) -> Option<String> {
    next.map(|Cursor(bytes)| hex::encode(bytes))
}

/// The menu entries of the approver's, SSC staff's, operator's and merchant's pages for
/// `role` on a node of `node` role (the employee's are the foundation's): each only where
/// the core serves it (approvers decide at the agency, SSC staff work at the SSC, the
/// tills are the merchant's; the operator's page is on every node).
pub fn menu(t: &'static Text, role: CallerRole, node: MemberRole) -> Vec<(&'static str, &'static str)> {
    let r = role_text_of(t);
    match (role, node) {
        (CallerRole::Approver, MemberRole::Agency) => vec![(super::approver::QUEUE_PATH, r.to_approve)],
        (CallerRole::SscStaff, MemberRole::Ssc) => vec![
            (super::ssc::CLAIMS_PATH, r.to_book),
            (super::ssc::EXCEPTIONS_PATH, r.exceptions),
            (super::ssc::SIE_PATH, r.sie_export),
        ],
        (CallerRole::Operator, MemberRole::Merchant) => {
            vec![(super::operator::OPERATOR_PATH, r.operations), (super::merchant::TILLS_PATH, r.tills)]
        }
        (CallerRole::Operator, _) => vec![(super::operator::OPERATOR_PATH, r.operations)],
        _ => Vec::new(),
    }
}
