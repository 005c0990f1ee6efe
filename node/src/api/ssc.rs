//! The SSC's routes: exceptions and resolving them, and the SIE export of booked claims.

use utoipa::ToSchema;

use super::answers::{ask, Decision, Listed, SieAnswer};
use super::claims::decision_claim;
use super::openapi::{ClaimId, ExceptionListing, Problems, SieParams};
use super::schemas::{ExceptionSchema, ResolutionSchema};
use super::*;
use crate::core::Exception;

/// Lists exceptions (`all=true`: resolved ones too), each with its next step, one page.
#[utoipa::path(get, path = "/v1/exceptions", tag = "exceptions", params(ExceptionListing),
    responses((status = 200, description = "A page of exceptions", body = [ExceptionSchema], headers(
        ("kvitt-next" = String, description = "Where the next page starts (`after`); absent on the last page")),
        links(("Resolve" = (operation_id = "resolve", parameters(("id" = "$response.body#/0/id")))))),
        Problems))]
pub(super) async fn exceptions(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
) -> Result<Listed<Exception>, Problem> {
    let ListParams { limit, all, after, .. } = query_params(query, &["limit", "all", "after"])?;
    ask(&state, caller, ClientRequest::Exceptions { limit, all, after }).await
}

/// The body of POST /v1/exceptions/{id}/resolve.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ResolveBody {
    /// Reject the held claim, or book it after all.
    #[schema(value_type = ResolutionSchema)]
    decision: Resolution,
    /// Why (text ≤ 256 bytes, not empty).
    note: String,
}

/// Rejects or books a claim held for an exception (SSC staff); `id` is the claim's.
#[utoipa::path(post, path = "/v1/exceptions/{id}/resolve", tag = "exceptions", params(ClaimId),
    request_body = ResolveBody,
    responses((status = 200, description = "Where the claim stands now", body = Decision), Problems))]
pub(super) async fn resolve(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Decision, Problem> {
    let claim = decision_claim(id, query)?;
    let ResolveBody { decision, note } = parse_json(&body_text(body)?)?;
    ask(&state, caller, ClientRequest::Resolve { claim, resolution: decision, note }).await
}

/// The content type of an SIE file: text in code page 437 (SIE's PC8).
pub const SIE_CONTENT_TYPE: &str = "text/plain; charset=IBM437";

/// The header of a GET /v1/sie answer that says how many vouchers the file holds.
pub const SIE_VOUCHERS_HEADER: &str = "kvitt-vouchers";

/// The header of a GET /v1/sie answer that names the claims whose vouchers of the range
/// were left out (they cannot be computed from the records; each is a `booking`
/// exception, GET /v1/exceptions says why): claim ids, comma-separated, each once.
/// Absent when nothing was left out.
pub const SIE_LEFT_OUT_HEADER: &str = "kvitt-left-out";

/// GET /v1/sie?agency=ORG&from=DATE&to=DATE[&again=true]: the SIE 4I file of one
/// agency's claims booked from..=to; claims exported before only with `again=true`.
#[utoipa::path(get, path = "/v1/sie", tag = "sie", params(SieParams),
    responses((status = 200, description = "The SIE 4I file, in PC8 (code page 437)",
        content((String = "text/plain; charset=IBM437")), headers(
            ("kvitt-vouchers" = u64, description = "How many vouchers the file holds"),
            ("kvitt-left-out" = String, description = "The claims whose vouchers were left out, comma-separated; absent when none"))),
        Problems))]
pub(super) async fn sie(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
) -> Result<SieAnswer, Problem> {
    let Query(pairs) = query.map_err(|rejection| bad_request(rejection.body_text()))?;
    let mut given: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in pairs {
        if !["agency", "from", "to", "again"].contains(&name.as_str()) {
            return Err(bad_parameter(
                &name,
                format!("unknown query parameter {name:?}: this route takes only agency, from, to, again"),
            ));
        }
        if given.insert(name.clone(), value).is_some() {
            return Err(bad_parameter(&name, format!("query parameter {name:?} is given more than once")));
        }
    }
    let required = |name: &str| {
        given
            .get(name)
            .cloned()
            .ok_or_else(|| bad_parameter(name, format!("query parameter {name:?} is required")))
    };
    let date = |name: &str| -> Result<time::Date, Problem> {
        let text = required(name)?;
        kvitt_protocol::fields::parse_date(name, &text)
            .map_err(|_| bad_parameter(name, format!("{name} {text:?} is not a date YYYY-MM-DD")))
    };
    let again = match given.get("again").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => return Err(bad_parameter("again", format!("again {other:?} is not true or false"))),
    };
    let export = SieExport { agency: required("agency")?, from: date("from")?, to: date("to")?, again };
    ask(&state, caller, ClientRequest::ExportSie(export)).await
}
