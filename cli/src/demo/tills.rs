//! The demo's two receipts that take another way than an enrolled card pushed as kvitt
//! JSON, both through the nodes' HTTP API as a real till and employee use it:
//!
//! - a till that speaks SDRS posts its own XML (`POST /v1/receipts`, `application/xml`);
//!   the document carries the card's PAR (`se:Customer/se:Identifier Type="PAR"`), so the
//!   merchant's node routes it by the card it names (spec/api.md §Card references);
//! - a cash sale is signed without a buyer, the till shows its receipt code, and the
//!   employee collects it at their agency (`POST /v1/receipts/fetch`, what the web page
//!   /hamta and `kvitt receipt fetch` do): the agency's node fetches it from the merchant.

use std::path::PathBuf;

use kvitt_formats::{sdrs_document, SdrsSale, SDRS_MEDIA_TYPE};
use kvitt_node::core::CallerRole;
use kvitt_protocol::RecordId;
use serde::Deserialize;

use super::day::{DayError, Org};
use crate::cli::client::{Client, Failure};

/// What `POST /v1/receipts` and `POST /v1/receipts/fetch` answer, the parts the demo reads.
#[derive(Deserialize)]
struct Answer {
    id: RecordId,
}

/// `POST path` of `body` (of `content_type`) to the node of `data` as `person` in `role`,
/// off the async runtime (the client is blocking); the answer's record id.
async fn post(
    step: String,
    data: PathBuf,
    (person, role): (&'static str, CallerRole),
    path: &'static str,
    (content_type, body): (&'static str, String),
) -> Result<RecordId, DayError> {
    let blocking = tokio::task::spawn_blocking(move || {
        let client = Client::as_person(&data, person, &[role]).map_err(|error| format!("{error:#}"))?;
        let answer =
            client.post_document(path, &[], content_type, body.as_bytes()).map_err(
                |failure| match failure {
                    Failure::Problem(problem) => problem.to_string(),
                    Failure::Other(error) => format!("{error:#}"),
                },
            )?;
        serde_json::from_str::<Answer>(&answer).map(|answer| answer.id).map_err(|error| error.to_string())
    });
    match blocking.await {
        Ok(result) => result.map_err(|why| DayError::Unexpected(format!("{step}: {why}"))),
        Err(error) => Err(DayError::Unexpected(format!("{step}: {error}"))),
    }
}

/// The SDRS till of `merchant` posts `sale`'s document to its node as `till-1`.
pub(super) async fn push_sdrs(merchant: &Org, sale: &SdrsSale<'_>) -> Result<RecordId, DayError> {
    let step = format!("{}'s SDRS till posts receipt {} #{}", merchant.name, sale.register, sale.serial);
    let body = (SDRS_MEDIA_TYPE, sdrs_document(sale));
    post(step, merchant.data.clone(), ("till-1", CallerRole::Till), "/v1/receipts", body).await
}

/// `employee` collects the receipt of `code` at `agency`, as the web page /hamta does.
pub(super) async fn fetch_by_code(
    agency: &Org,
    employee: &'static str,
    code: &str,
) -> Result<RecordId, DayError> {
    let step = format!("{employee} collects the receipt of code {code} at {}", agency.name);
    let body = ("application/json", serde_json::json!({ "code": code }).to_string());
    post(step, agency.data.clone(), (employee, CallerRole::Employee), "/v1/receipts/fetch", body).await
}
