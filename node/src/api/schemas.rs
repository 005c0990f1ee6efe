//! The OpenAPI schemas of JSON whose Rust type lives outside the API: the protocol's
//! records (kvitt_protocol) and the core's views (crate::core, crate::policy).
//!
//! Those types know nothing of HTTP or OpenAPI, so each gets a unit type here whose
//! schema is written as JSON Schema, naming the spec section that defines the shape; the
//! API's own types derive theirs (`#[derive(ToSchema)]`) and point at these with
//! `#[schema(value_type = …)]`. They say what a client relies on (the members, their JSON
//! types, which are required) and leave the record rules to protocol.md, which the node
//! checks and answers with precise codes. CI's schemathesis run checks every answer it
//! provokes against them (.ci/run).

use std::borrow::Cow;

use serde_json::{json, Value};
use utoipa::openapi::{RefOr, Schema};

/// The schema a JSON Schema text stands for. The texts are this module's own, and the
/// test `every_schema_written_here_is_read_whole` reads each one.
fn from_json(value: Value) -> RefOr<Schema> {
    serde_json::from_value(value).unwrap_or_else(|error| {
        tracing::error!(%error, "a schema of api/schemas.rs does not read as a schema");
        RefOr::T(Schema::default())
    })
}

/// Declares a unit type whose OpenAPI schema, under the component name given, is the JSON
/// Schema given.
macro_rules! schema {
    ($(#[doc = $doc:literal])* $type:ident as $name:literal = $json:tt) => {
        $(#[doc = $doc])*
        pub(super) struct $type;

        impl $type {
            /// The schema's JSON Schema text.
            fn text() -> Value {
                json!($json)
            }
        }

        impl utoipa::PartialSchema for $type {
            fn schema() -> RefOr<Schema> {
                from_json(Self::text())
            }
        }

        impl utoipa::ToSchema for $type {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

schema!(
    /// A record id: 64 hex digits (api.md §Conventions).
    RecordIdHex as "RecordId" = {
        "type": "string", "pattern": "^[0-9a-fA-F]{64}$",
        "description": "A record id: the SHA-256 of the record's envelope, 64 hex digits (protocol.md §Record id)."
    }
);

schema!(
    /// A node key: an ed25519 public key, 64 hex digits.
    PublicKeyHex as "PublicKey" = {
        "type": "string", "pattern": "^[0-9a-fA-F]{64}$",
        "description": "An ed25519 public key (a node key), 64 hex digits."
    }
);

schema!(
    /// Bytes as lower-case hex.
    Hex as "Hex" = {"type": "string", "pattern": "^([0-9a-f]{2})*$", "description": "Bytes, as lower-case hex."}
);

schema!(
    /// Where a claim stands (protocol.md §Claim state machine).
    StatusSchema as "Status" = {
        "type": "string",
        "enum": ["draft", "submitted", "approved", "rejected", "withdrawn", "booked", "paid", "reversed"],
        "description": "Where a claim stands (protocol.md §Claim state machine)."
    }
);

schema!(
    /// A receipt body (protocol.md §Receipt fields).
    ReceiptSchema as "Receipt" = {
        "type": "object",
        "description": "A receipt body: the fields of protocol.md §Receipt fields, amounts in minor units, rates in basis points (api.md §POST /v1/receipts).",
        "required": ["merchant", "register", "serial", "control_unit", "issued_at", "currency", "lines", "vat", "total", "payments"],
        "properties": {
            "merchant": {"type": "object", "required": ["name", "org", "vat_number", "address"]},
            "register": {"type": "string"},
            "serial": {"type": "integer", "minimum": 0},
            "control_unit": {"type": "string"},
            "issued_at": {"type": "string", "description": "YYYY-MM-DDTHH:MM:SS±HH:MM"},
            "currency": {"type": "string"},
            "lines": {"type": "array", "items": {"type": "object"}},
            "vat": {"type": "array", "items": {"type": "object"}},
            "rounding": {"type": "integer"},
            "total": {"type": "integer"},
            "payments": {"type": "array", "items": {"type": "object", "required": ["method", "amount"]}},
            "buyer": {"type": "object", "required": ["agency"]},
            "original": {"$ref": "#/components/schemas/RecordId"}
        }
    }
);

schema!(
    /// A claim item (protocol.md §Claim fields): a receipt, mileage or a per diem.
    ClaimItemSchema as "ClaimItem" = {
        "type": "object",
        "description": "A claim item (protocol.md §Claim fields, api.md §POST /v1/drafts/{number}/items): `kind` `receipt`, `mileage` or `per_diem`, with that kind's fields.",
        "required": ["kind", "business_purpose", "amount", "booking"],
        "properties": {
            "kind": {"type": "string", "enum": ["receipt", "mileage", "per_diem"]},
            "business_purpose": {"type": "string"},
            "amount": {"type": "integer"},
            "booking": {"type": "object", "required": ["account", "cost_center"]},
            "receipt": {"$ref": "#/components/schemas/RecordId"}
        }
    }
);

schema!(
    /// A claim body (protocol.md §Claim fields).
    ClaimSchema as "Claim" = {
        "type": "object",
        "description": "A claim body (protocol.md §Claim fields).",
        "required": ["number", "agency", "claimant", "purpose", "created_at", "items"],
        "properties": {
            "number": {"type": "string"},
            "agency": {"type": "string"},
            "claimant": {"type": "string"},
            "purpose": {"type": "string"},
            "created_at": {"type": "string"},
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/ClaimItem"}}
        }
    }
);

schema!(
    /// A claim event body (protocol.md §Claim event fields).
    ClaimEventSchema as "ClaimEvent" = {
        "type": "object",
        "description": "A claim event body (protocol.md §Claim event fields): the claim, the previous event, the action and who took it.",
        "required": ["claim", "action", "actor", "at"],
        "properties": {
            "claim": {"$ref": "#/components/schemas/RecordId"},
            "action": {"type": "object", "required": ["kind"]},
            "actor": {"type": "object"},
            "at": {"type": "string"}
        }
    }
);

schema!(
    /// A finding of the agency's policy (policy.md).
    FindingSchema as "Finding" = {
        "type": "object",
        "description": "What the agency's policy says of a claim (policy.md): an `error` blocks, a `warning` does not.",
        "required": ["rule", "severity", "message"],
        "properties": {
            "rule": {"type": "string"},
            "severity": {"type": "string", "enum": ["error", "warning"]},
            "message": {"type": "string"},
            "item": {"type": "string"}
        }
    }
);

schema!(
    /// A decision the caller may take on a claim now (api.md §Claims).
    ClaimActionSchema as "ClaimAction" = {
        "type": "string", "enum": ["approve", "reject", "withdraw", "book", "pay", "reverse"],
        "description": "A decision the caller may take on the claim now: its route is POST /v1/claims/{id}/<action>."
    }
);

schema!(
    /// A claim draft (api.md §Claim drafts).
    DraftSchema as "Draft" = {
        "type": "object",
        "description": "A claim draft (api.md §Claim drafts): not signed until submitted.",
        "required": ["number", "claimant", "purpose", "created_at", "items"],
        "properties": {
            "number": {"type": "string"},
            "claimant": {"type": "string"},
            "purpose": {"type": "string"},
            "created_at": {"type": "string"},
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/ClaimItem"}}
        }
    }
);

schema!(
    /// A draft as the API shows it: the draft's fields and the policy's findings.
    DraftViewSchema as "DraftView" = {
        "description": "A claim draft with `findings`, what the agency's policy says of it today (an `error` among them blocks submission).",
        "allOf": [
            {"$ref": "#/components/schemas/Draft"},
            {
                "type": "object",
                "required": ["findings"],
                "properties": {"findings": {"type": "array", "items": {"$ref": "#/components/schemas/Finding"}}}
            }
        ]
    }
);

schema!(
    /// The directory in force, as a record with `installed`.
    DirectoryViewSchema as "DirectoryView" = {
        "description": "The signed directory in force, as a record (its `body` the directory: protocol.md §Directory), and whether this request installed it.",
        "allOf": [
            {"$ref": "#/components/schemas/RecordView"},
            {"type": "object", "required": ["installed"], "properties": {"installed": {"type": "boolean"}}}
        ]
    }
);

schema!(
    /// One line of a claim list (api.md §GET /v1/claims).
    ClaimSummarySchema as "ClaimSummary" = {
        "type": "object",
        "description": "One line of a claim list: total in minor units.",
        "required": ["id", "number", "agency", "claimant", "status", "total"],
        "properties": {
            "id": {"$ref": "#/components/schemas/RecordId"},
            "number": {"type": "string"},
            "agency": {"type": "string"},
            "claimant": {"type": "string"},
            "status": {"$ref": "#/components/schemas/Status"},
            "total": {"type": "integer"}
        }
    }
);

schema!(
    /// An exception and its next step (api.md §GET /v1/exceptions).
    ExceptionSchema as "Exception" = {
        "type": "object",
        "description": "An exception the node noted, with what to do next (api.md §Exceptions).",
        "required": ["id", "kind", "why", "next", "open"],
        "properties": {
            "id": {"$ref": "#/components/schemas/RecordId"},
            "kind": {"type": "string", "enum": ["duplicate", "over_claim", "equivocation", "delivery", "policy", "rate", "booking", "other"]},
            "why": {"type": "string"},
            "next": {"type": "string"},
            "open": {"type": "boolean"},
            "claim": {
                "type": "object",
                "required": ["number", "agency", "status"],
                "properties": {
                    "number": {"type": "string"},
                    "agency": {"type": "string"},
                    "status": {"$ref": "#/components/schemas/Status"}
                }
            }
        }
    }
);

schema!(
    /// A card to enrol (routing.md §Enrolment).
    CardEnrolmentSchema as "CardEnrolment" = {
        "type": "object",
        "description": "A card of the agency (routing.md §Enrolment): its PAR or masked number, and the employee it belongs to, if one.",
        "required": ["reference"],
        "properties": {
            "reference": {"type": "string"},
            "employee": {"type": ["string", "null"]}
        },
        "additionalProperties": false
    }
);

schema!(
    /// What SSC staff decide about a claim held for an exception.
    ResolutionSchema as "Resolution" = {
        "type": "string", "enum": ["reject", "book"],
        "description": "Reject the claim held for the exception, or book it after all."
    }
);

schema!(
    /// How a recovery stands (api.md §POST /v1/recover).
    RecoverySchema as "Recovery" = {
        "type": "object",
        "description": "How the recovery of a damaged ledger stands (api.md §POST /v1/recover, node.md §Recovery): not recovering, recovering (with each peer's progress), or finished (with its report)."
    }
);

schema!(
    /// A probe's answer (api.md §Probes).
    ProbeSchema as "Probe" = {
        "type": "object",
        "description": "A probe's answer (api.md §Probes): `ok` if every check passed, each check named.",
        "required": ["status", "checks"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "failing"]},
            "checks": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["ok", "detail"],
                    "properties": {"ok": {"type": "boolean"}, "detail": {"type": "string"}}
                }
            }
        }
    }
);

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    use super::*;

    /// Each schema text reads whole: the schema written back is the text again (a member
    /// utoipa did not read would be missing).
    #[test]
    fn every_schema_written_here_is_read_whole() {
        let schemas = [
            (RecordIdHex::schema(), RecordIdHex::text()),
            (PublicKeyHex::schema(), PublicKeyHex::text()),
            (Hex::schema(), Hex::text()),
            (StatusSchema::schema(), StatusSchema::text()),
            (ReceiptSchema::schema(), ReceiptSchema::text()),
            (ClaimItemSchema::schema(), ClaimItemSchema::text()),
            (ClaimSchema::schema(), ClaimSchema::text()),
            (ClaimEventSchema::schema(), ClaimEventSchema::text()),
            (FindingSchema::schema(), FindingSchema::text()),
            (ClaimActionSchema::schema(), ClaimActionSchema::text()),
            (DraftSchema::schema(), DraftSchema::text()),
            (DraftViewSchema::schema(), DraftViewSchema::text()),
            (DirectoryViewSchema::schema(), DirectoryViewSchema::text()),
            (ClaimSummarySchema::schema(), ClaimSummarySchema::text()),
            (ExceptionSchema::schema(), ExceptionSchema::text()),
            (CardEnrolmentSchema::schema(), CardEnrolmentSchema::text()),
            (ResolutionSchema::schema(), ResolutionSchema::text()),
            (RecoverySchema::schema(), RecoverySchema::text()),
            (ProbeSchema::schema(), ProbeSchema::text()),
        ];
        for (schema, text) in schemas {
            assert_eq!(serde_json::to_value(&schema).unwrap(), text);
        }
    }
}
