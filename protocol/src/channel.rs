//! Channels: which members are entitled to hold a record, and where it sits in the order
//! that reconciliation walks.
//!
//! A channel is a set of members; a record is in one or more channels and goes to no one
//! outside them:
//!
//! | record | its channel |
//! |---|---|
//! | receipt (a return too) | the merchant that signed it and the buyer agency |
//! | claim | the agency that signed it and, once the agency has approved it, the SSC that serves that agency |
//! | claim event | its claim's |
//! | a receipt attached to a claim | also its claim's (the SSC verifies the receipt) |
//! | a return of an attached receipt (its `original`) | also that claim's (the SSC nets it, spec/protocol.md §Claim amounts) |
//! | directory | every member it lists |
//! | evidence | that of the records it holds |
//! | assignment | the merchant that signed it and the agency it names |
//! | a receipt with an assignment | also the assigned agency's (kvitt-node places it there) |
//! | the assignment of a receipt attached to a claim | also its claim's (the SSC finds the receipt's buyer by it) |
//!
//! Two members reconcile a record when both are in one of its channels: a merchant and an
//! SSC never reconcile anything, though both may hold an attached receipt. Whether a
//! receipt is attached, and which claim an event belongs to, is in the holder's ledger,
//! not in the record; so [`parties`] answers with what the record itself says and names
//! the claim whose channel completes the answer. Likewise whether a claim is approved: an
//! agency's node leaves the SSC out of a claim's channel until then (kvitt-node's
//! channel index), since a claim withdrawn before approval is none of the SSC's business.

use std::collections::BTreeSet;

use crate::directory::Directory;
use crate::envelope::AnyRecord;
use time::OffsetDateTime;

use crate::fields::parse_time;
use crate::id::{PublicKey, RecordId};

/// The channel a record is in, as far as the record and the directory tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parties {
    /// These members' node keys.
    Members(BTreeSet<PublicKey>),
    /// A claim event: the parties of the claim with this id.
    OfClaim(RecordId),
}

/// The channel of `record` under `directory`. A party the directory does not list (an
/// agency not yet a member, say) is left out: no node can be reconciled with it.
pub fn parties(record: &AnyRecord, directory: &Directory) -> Parties {
    let key_of = |org: &str| directory.member_by_org(org).map(|member| member.key);
    let members = match record {
        AnyRecord::Receipt(receipt) => {
            [Some(receipt.signer()), receipt.body().buyer_agency().and_then(key_of)]
                .into_iter()
                .flatten()
                .collect()
        }
        AnyRecord::Claim(claim) => claim_parties(&claim.body().agency, directory),
        AnyRecord::ClaimEvent(event) => return Parties::OfClaim(event.body().claim),
        AnyRecord::Assignment(assignment) => {
            [Some(assignment.signer()), key_of(&assignment.body().buyer.agency)]
                .into_iter()
                .flatten()
                .collect()
        }
        AnyRecord::Directory(listed) => listed.body().members.iter().map(|member| member.key).collect(),
        AnyRecord::Evidence(evidence) => {
            match AnyRecord::decode_conflicting(&evidence.body().first)
                .map(|first| parties(&first, directory))
            {
                Ok(Parties::Members(members)) => members,
                Ok(claim @ Parties::OfClaim(_)) => return claim,
                // A valid evidence record holds valid records; nothing else to say.
                Err(_) => BTreeSet::new(),
            }
        }
    };
    Parties::Members(members)
}

/// The channel of a claim of `agency`: the agency and the SSC serving it.
pub fn claim_parties(agency: &str, directory: &Directory) -> BTreeSet<PublicKey> {
    [directory.member_by_org(agency).map(|member| member.key), directory.ssc_of(agency).map(|ssc| ssc.key)]
        .into_iter()
        .flatten()
        .collect()
}

/// Where a record sits in the reconciliation order (time, then id): the time the record
/// states, in seconds since the Unix epoch (a receipt's sale, a claim's creation, an
/// event's, a directory's issue, evidence's detection). A valid record always has one.
/// spec/protocol.md §Record time.
pub fn record_time(record: &AnyRecord) -> u64 {
    let (path, text) = match record {
        AnyRecord::Receipt(receipt) => ("issued_at", &receipt.body().issued_at),
        AnyRecord::Claim(claim) => ("created_at", &claim.body().created_at),
        AnyRecord::ClaimEvent(event) => ("at", &event.body().at),
        AnyRecord::Directory(directory) => ("issued_at", &directory.body().issued_at),
        AnyRecord::Evidence(evidence) => ("detected_at", &evidence.body().detected_at),
        AnyRecord::Assignment(assignment) => ("assigned_at", &assignment.body().assigned_at),
    };
    parse_time(path, text).map_or(0, |time| item_time(&time))
}

/// The item time of an instant: whole seconds since 1970-01-01T00:00:00Z, and 0 for an
/// instant before it (the wire's item time is unsigned; spec/protocol.md §Record time).
pub fn item_time(time: &OffsetDateTime) -> u64 {
    u64::try_from(time.unix_timestamp()).unwrap_or(0)
}
