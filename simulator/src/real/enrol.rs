//! Real mode's enrolments: before the tills open, each agency's operator enrols its
//! employees' cards at the SSC (`POST /v1/cards`), so that the tills push sales with only
//! the card payment and the merchants' nodes find each receipt's agency by the card.

use std::time::{Duration, Instant};

use serde_json::json;

use super::client::{Answer, Api};
use crate::cast::Cast;
use crate::workload::cards;

/// How long an agency goes on enrolling while the SSC does not answer (it may still be
/// starting).
pub const ENROL_PATIENCE: Duration = Duration::from_secs(60);

/// How long it waits before asking again.
const ENROL_RETRY: Duration = Duration::from_millis(250);

/// Enrols every agency's cards through `operator(agency)`'s API; the first agency whose
/// enrolment is refused, or not answered within [`ENROL_PATIENCE`], with why.
pub fn enrol_all(cast: &Cast, operator: &dyn Fn(usize) -> Api) -> Result<(), String> {
    for agency in cast.agencies() {
        let enrolled: Vec<_> = cards::cards(cast, agency)
            .into_iter()
            .map(|card| json!({ "reference": card.reference, "employee": card.employee }))
            .collect();
        let body = json!({ "cards": enrolled });
        let api = operator(agency);
        let deadline = Instant::now() + ENROL_PATIENCE;
        loop {
            match api.post("/v1/cards", Some(&body)) {
                Answer::Ok(..) => break,
                Answer::Refused(status, code, detail) if status < 500 || Instant::now() >= deadline => {
                    return Err(format!("agency node {agency}: {status} {code}: {detail}"));
                }
                Answer::Unanswered(why) if Instant::now() >= deadline => {
                    return Err(format!("agency node {agency}: no answer: {why}"));
                }
                Answer::Refused(..) | Answer::Unanswered(_) => std::thread::sleep(ENROL_RETRY),
            }
        }
    }
    Ok(())
}
