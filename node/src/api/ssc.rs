//! The SSC's routes: exceptions and resolving them, and the SIE export of booked claims.

use super::claims::{decide, decision_claim};
use super::*;

pub(super) async fn exceptions(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
) -> Result<Response, Problem> {
    let ListParams { limit, all, after, .. } = query_params(query, &["limit", "all", "after"])?;
    match ask(&state, caller, ClientRequest::Exceptions { limit, all, after }).await? {
        ClientResponse::Exceptions(page) => Ok(page_response(&page.items, page.next.as_ref())),
        other => Err(unexpected(&other)),
    }
}

/// The body of POST /v1/exceptions/{id}/resolve.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    decision: Resolution,
    note: String,
}

pub(super) async fn resolve(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    id: Result<Path<String>, PathRejection>,
    query: QueryPairs,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let claim = decision_claim(id, query)?;
    let ResolveBody { decision, note } = parse_json(&body_text(body)?)?;
    decide(&state, caller, claim, |claim| ClientRequest::Resolve { claim, resolution: decision, note }).await
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
pub(super) async fn sie(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: QueryPairs,
) -> Result<Response, Problem> {
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
    match ask(&state, caller, ClientRequest::ExportSie(export)).await? {
        ClientResponse::Sie(file) => {
            let mut response = (
                [
                    (header::CONTENT_TYPE, SIE_CONTENT_TYPE.to_owned()),
                    (header::HeaderName::from_static(SIE_VOUCHERS_HEADER), file.vouchers.len().to_string()),
                ],
                file.bytes,
            )
                .into_response();
            let left_out: BTreeSet<String> =
                file.left_out.iter().map(|left| left.claim.to_string()).collect();
            if !left_out.is_empty() {
                let ids = left_out.into_iter().collect::<Vec<_>>().join(", ");
                if let Ok(value) = header::HeaderValue::from_str(&ids) {
                    response
                        .headers_mut()
                        .insert(header::HeaderName::from_static(SIE_LEFT_OUT_HEADER), value);
                }
            }
            Ok(response)
        }
        other => Err(unexpected(&other)),
    }
}
