//! The client API's OpenAPI 3.1 document, generated from the handlers (utoipa), and the
//! route that serves it: `GET /v1/openapi.json`.
//!
//! Each handler carries its `#[utoipa::path]` (method, path, parameters, body, answers);
//! [`routes`] registers every handler at the method and path of its own attribute, and a
//! test checks that the router's operations are exactly the document's. The document is committed as
//! spec/openapi.json; node/tests/openapi.rs fails when the two differ
//! (`KVITT_BLESS=1` writes it anew). It is served without a token, like the probes: it is
//! the same for every node of this version and says nothing of a node's data, and a code
//! generator or a test tool fetches it before it holds a token.

use axum::handler::Handler;
use axum::routing::{MethodFilter, MethodRouter};
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response as ResponseDoc};
use utoipa::{IntoParams, OpenApi};

use super::{admin, backup, claims, health, records, schemas, ssc, ApiState, ProblemDocument};
use super::{IntoResponse, Response, Router, PROBLEM_CONTENT_TYPE};
#[cfg(test)]
use serde_json::Value;

/// The path the document is served at.
pub const OPENAPI_PATH: &str = "/v1/openapi.json";

/// The name of the bearer-token security scheme (also in `ApiDoc`'s `security`).
const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "kvitt client API",
        description = "The HTTP/JSON API a kvitt node offers its own organisation's tills, employees, approvers, SSC staff and operator (spec/api.md). Every error is an RFC 9457 problem document (`application/problem+json`) whose `code` is stable; see spec/api.md §Errors for the status of each code.",
        license(name = "Apache-2.0 OR MIT", identifier = "Apache-2.0 OR MIT"),
    ),
    paths(
        records::push_receipt, records::list_receipts, records::fetch_receipt, records::enrol_cards,
        records::record,
        claims::new_draft, claims::show_draft, claims::add_item, claims::submit,
        claims::list_claims, claims::show_claim,
        claims::approve, claims::reject, claims::withdraw, claims::book, claims::pay, claims::reverse,
        ssc::exceptions, ssc::resolve, ssc::sie,
        admin::directory, admin::install_directory, admin::sync, admin::recover, backup::backup,
        health::healthz, health::readyz, openapi_json,
    ),
    components(schemas(
        ProblemDocument,
        schemas::RecordIdHex, schemas::PublicKeyHex, schemas::Hex, schemas::StatusSchema,
        schemas::ReceiptSchema, schemas::ClaimItemSchema, schemas::ClaimSchema, schemas::ClaimEventSchema,
        schemas::FindingSchema, schemas::ClaimActionSchema, schemas::DraftSchema, schemas::DraftViewSchema,
        schemas::DirectoryViewSchema, schemas::ClaimSummarySchema, schemas::ExceptionSchema,
        schemas::CardEnrolmentSchema, schemas::ResolutionSchema, schemas::RecoverySchema, schemas::ProbeSchema,
    )),
    modifiers(&Shared),
    security(("bearer" = [])),
)]
struct ApiDoc;

/// Adds the bearer-token scheme (api.md §Authentication and roles), and the problem
/// answers every route shares ([`Problems`]). The client API takes no session cookie: that
/// is the web app's (node/src/web), whose forms carry a CSRF token.
struct Shared;

impl utoipa::Modify for Shared {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let problem = Content::new(Some(Ref::from_schema_name("Problem")));
        for (status, description) in PROBLEM_STATUSES {
            let response = ResponseBuilder::new()
                .description(description)
                .content(PROBLEM_CONTENT_TYPE, problem.clone());
            components.responses.insert(Problems::name(status), RefOr::T(response.build()));
        }
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description = Some(
            "A token of this node (`kvitt token add`), naming a person and one role: till, employee, approver, ssc_staff or operator.".to_owned(),
        );
        components.add_security_scheme(BEARER, SecurityScheme::Http(scheme));
    }
}

/// The OpenAPI document of the client API.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as served and committed: pretty JSON with a final newline.
///
/// utoipa 5.5 writes a link's operation as `operation_id` (its `Link` lacks serde's
/// camelCase; fixed in utoipa 6, which needs Rust 1.88): OpenAPI's member is
/// `operationId`, the only snake_case key utoipa writes.
pub fn document_text() -> String {
    let text = document().to_pretty_json().unwrap_or_default();
    let mut text = text.replace("\"operation_id\": ", "\"operationId\": ");
    text.push('\n');
    text
}

/// `GET /v1/openapi.json`: this document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "This document", content_type = "application/json", body = Object)))]
pub(super) async fn openapi_json() -> Response {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], document_text()).into_response()
}

/// The routes of the document, each at the method and path of its `#[utoipa::path]`:
/// those that need a token, and those that do not (the probes and this document).
pub(super) fn routes() -> (RouteTable, RouteTable) {
    let with_token = RouteTable::default()
        .add::<records::__path_push_receipt, _, _>(records::push_receipt)
        .add::<records::__path_list_receipts, _, _>(records::list_receipts)
        .add::<records::__path_fetch_receipt, _, _>(records::fetch_receipt)
        .add::<records::__path_enrol_cards, _, _>(records::enrol_cards)
        .add::<records::__path_record, _, _>(records::record)
        .add::<claims::__path_new_draft, _, _>(claims::new_draft)
        .add::<claims::__path_show_draft, _, _>(claims::show_draft)
        .add::<claims::__path_add_item, _, _>(claims::add_item)
        .add::<claims::__path_submit, _, _>(claims::submit)
        .add::<claims::__path_list_claims, _, _>(claims::list_claims)
        .add::<claims::__path_show_claim, _, _>(claims::show_claim)
        .add::<claims::__path_approve, _, _>(claims::approve)
        .add::<claims::__path_reject, _, _>(claims::reject)
        .add::<claims::__path_withdraw, _, _>(claims::withdraw)
        .add::<claims::__path_book, _, _>(claims::book)
        .add::<claims::__path_pay, _, _>(claims::pay)
        .add::<claims::__path_reverse, _, _>(claims::reverse)
        .add::<ssc::__path_exceptions, _, _>(ssc::exceptions)
        .add::<ssc::__path_resolve, _, _>(ssc::resolve)
        .add::<ssc::__path_sie, _, _>(ssc::sie)
        .add::<admin::__path_directory, _, _>(admin::directory)
        .add::<admin::__path_install_directory, _, _>(admin::install_directory)
        .add::<admin::__path_sync, _, _>(admin::sync)
        .add::<admin::__path_recover, _, _>(admin::recover)
        .add::<backup::__path_backup, _, _>(backup::backup);
    let open = RouteTable::default()
        .add::<health::__path_healthz, _, _>(health::healthz)
        .add::<health::__path_readyz, _, _>(health::readyz)
        .add::<__path_openapi_json, _, _>(openapi_json);
    (with_token, open)
}

/// A router built from documented handlers, and the operations it routes.
#[derive(Default)]
pub(super) struct RouteTable {
    /// The routes.
    pub(super) router: Router<ApiState>,
    /// Each route's path and method, as its documentation gives them.
    operations: Vec<(String, HttpMethod)>,
}

impl RouteTable {
    /// The table with `handler` at the path and methods of its documentation `P`.
    fn add<P, H, T>(mut self, handler: H) -> RouteTable
    where
        P: utoipa::Path,
        H: Handler<T, ApiState>,
        T: 'static,
    {
        let mut methods = MethodRouter::new();
        for method in P::methods() {
            methods = methods.on(method_filter(&method), handler.clone());
            self.operations.push((P::path(), method));
        }
        RouteTable { router: self.router.route(&P::path(), methods), operations: self.operations }
    }
}

/// axum's filter for an OpenAPI method.
fn method_filter(method: &HttpMethod) -> MethodFilter {
    match method {
        HttpMethod::Get => MethodFilter::GET,
        HttpMethod::Post => MethodFilter::POST,
        HttpMethod::Put => MethodFilter::PUT,
        HttpMethod::Delete => MethodFilter::DELETE,
        HttpMethod::Options => MethodFilter::OPTIONS,
        HttpMethod::Head => MethodFilter::HEAD,
        HttpMethod::Patch => MethodFilter::PATCH,
        HttpMethod::Trace => MethodFilter::TRACE,
    }
}

/// The problem answers every route with a token may give (spec/api.md §Errors), each an
/// RFC 9457 problem document.
pub(super) struct Problems;

/// The statuses of [`Problems`], with the codes that carry each.
const PROBLEM_STATUSES: [(u16, &str); 11] = [
    (400, "`request.invalid`: a query parameter, path segment or body the route cannot read"),
    (401, "`auth.unauthenticated`: no token of this node"),
    (403, "`auth.forbidden`: the caller's role, or the node's, may not do this"),
    (404, "`request.not_found`, `code.unknown`: no such record, claim, draft or receipt for this caller, or no such route"),
    (405, "`request.invalid`: the route does not take this method (`Allow` names those it takes)"),
    (408, "`request.invalid`: the body did not arrive whole within 30 s"),
    (409, "a conflict: `receipt.serial`, `claim.receipt_taken`, `event.transition`, `event.chain`, `ledger.equivocation`, `routing.card_taken`, `code.collected`"),
    (413, "`request.invalid`: the body is over 1 MiB"),
    (422, "the request is well-formed but refused: `schema.field`, a record rule's code, a receipt format's code (`format.*`), `auth.not_member`, …"),
    (429, "`request.rate_limited`"),
    (503, "`node.unavailable`, `node.disk_full`, `node.recovering` (`retry: true`)"),
];

impl Problems {
    /// The name of the shared response for `status` in the document's components.
    fn name(status: u16) -> String {
        format!("Problem{status}")
    }
}

impl utoipa::IntoResponses for Problems {
    fn responses() -> std::collections::BTreeMap<String, RefOr<ResponseDoc>> {
        PROBLEM_STATUSES
            .iter()
            .map(|(status, _)| {
                let reference = Ref::new(format!("#/components/responses/{}", Problems::name(*status)));
                (status.to_string(), RefOr::Ref(reference))
            })
            .collect()
    }
}

/// The paging parameters of `GET /v1/claims` (spec/api.md §Paging).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "parameters' documentation: the route reads its query string itself")]
pub(super) struct Paging {
    /// Most entries in the page (1000 if not given; at most 10 000 are returned).
    #[param(minimum = 0)]
    limit: Option<u64>,
    /// The `kvitt-next` of the previous page.
    #[param(pattern = "^([0-9a-fA-F]{2})+$")]
    after: Option<String>,
}

/// The parameters of `GET /v1/receipts`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "parameters' documentation: the route reads its query string itself")]
pub(super) struct ReceiptListing {
    /// Only this employee's receipts (an employee sees only their own).
    employee: Option<String>,
    /// Most entries in the page (1000 if not given; at most 10 000 are returned).
    #[param(minimum = 0)]
    limit: Option<u64>,
    /// The `kvitt-next` of the previous page.
    #[param(pattern = "^([0-9a-fA-F]{2})+$")]
    after: Option<String>,
}

/// The parameters of `GET /v1/exceptions`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "parameters' documentation: the route reads its query string itself")]
pub(super) struct ExceptionListing {
    /// Resolved exceptions too.
    all: Option<bool>,
    /// Most entries in the page (1000 if not given; at most 10 000 are returned).
    #[param(minimum = 0)]
    limit: Option<u64>,
    /// The `kvitt-next` of the previous page.
    #[param(pattern = "^([0-9a-fA-F]{2})+$")]
    after: Option<String>,
}

/// What an SDRS or Kivra receipt does not carry, and the card to route a receipt by
/// (`POST /v1/receipts`, api.md §Receipt formats; with kvitt's JSON only `card`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "parameters' documentation: the route reads its query string itself")]
pub(super) struct ImportParams {
    /// The buyer's agency (organisation number); SDRS and Kivra only.
    buyer: Option<String>,
    /// The agency's reference for the employee (needs `buyer`); SDRS and Kivra only.
    employee: Option<String>,
    /// The kvitt id of the sale a return refers to; SDRS and Kivra only.
    #[param(value_type = Option<schemas::RecordIdHex>)]
    original: Option<String>,
    /// The card's PAR or masked number, to find the buyer by (routing.md).
    card: Option<String>,
}

/// The parameters of `GET /v1/sie`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, reason = "parameters' documentation: the route reads its query string itself")]
pub(super) struct SieParams {
    /// The agency's organisation number.
    agency: String,
    /// The first booking date, YYYY-MM-DD.
    #[param(format = Date)]
    from: String,
    /// The last booking date, YYYY-MM-DD.
    #[param(format = Date)]
    to: String,
    /// Claims exported before too.
    again: Option<bool>,
}

/// The claim id in a claim's path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code, reason = "parameters' documentation: the route reads its path itself")]
pub(super) struct ClaimId {
    /// The claim's record id.
    #[param(value_type = schemas::RecordIdHex)]
    id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The router routes exactly the operations the document lists: no route without its
    /// documentation, no documented route missing.
    #[test]
    fn the_router_and_the_document_name_the_same_operations() {
        let (with_token, open) = routes();
        let mut routed: Vec<(String, String)> = [with_token.operations, open.operations]
            .concat()
            .into_iter()
            .map(|(path, method)| (path, serde_json::to_value(method).unwrap().as_str().unwrap().to_owned()))
            .collect();
        routed.sort();
        let document = serde_json::to_value(document()).unwrap();
        let mut documented: Vec<(String, String)> = document["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object().unwrap().keys().map(move |method| (path.clone(), method.clone()))
            })
            .collect();
        documented.sort();
        assert_eq!(routed, documented);
        assert_eq!(routed.len(), 28, "every route of spec/api.md §Routes, the probes and this document");
    }

    /// Every link of the document names an operation of it, as `operationId`.
    #[test]
    fn every_link_names_an_operation() {
        let text = document_text();
        assert!(!text.contains("operation_id"), "a snake_case member is left");
        let document: Value = serde_json::from_str(&text).unwrap();
        let operations: Vec<&Value> = document["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .collect();
        let mut links = 0;
        for operation in &operations {
            for response in operation["responses"].as_object().unwrap().values() {
                for link in response
                    .get("links")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flat_map(|links| links.values())
                {
                    let target = &link["operationId"];
                    assert!(operations.iter().any(|operation| operation["operationId"] == *target), "{link}");
                    links += 1;
                }
            }
        }
        assert_eq!(links, 12, "drafts 3, claims 7, receipts 1, exceptions 1");
    }

    /// Every `$ref` of the document names a schema of its components.
    #[test]
    fn every_reference_resolves() {
        let document = serde_json::to_value(document()).unwrap();
        let mut references = Vec::new();
        let mut stack = vec![&document];
        while let Some(value) = stack.pop() {
            match value {
                Value::Object(members) => {
                    if let Some(Value::String(reference)) = members.get("$ref") {
                        references.push(reference.clone());
                    }
                    stack.extend(members.values());
                }
                Value::Array(items) => stack.extend(items),
                _ => {}
            }
        }
        assert!(references.len() > 50, "{references:?}");
        for reference in references {
            let (kind, name) = reference.trim_start_matches("#/components/").split_once('/').unwrap();
            assert!(document["components"][kind].get(name).is_some(), "{reference} names nothing");
        }
    }
}
