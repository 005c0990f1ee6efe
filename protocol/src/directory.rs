//! The directory: the network's signed member list, operated by the SSC.
//!
//! It decides who may talk to whom: a node accepts a connection only from a key listed
//! here, and a record only from the member entitled to send it. Nodes accept a newer
//! version only if the operator key they were initialised with signed it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::envelope::{Record, RecordType};
use crate::error::{Error, ErrorCode, Result};
use crate::fields::{check_address, check_code, check_count, check_text, parse_time, OrgId};
use crate::id::PublicKey;
use crate::limits::{MAX_ADDRESSES_PER_MEMBER, MAX_CODE_BYTES, MAX_MEMBERS_PER_DIRECTORY, MAX_NAME_BYTES};

/// One version of the member list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    /// The network's name; a node refuses a directory of another network.
    pub network: String,
    /// Version number; each publication increases it.
    pub version: u64,
    /// When this version was issued.
    pub issued_at: String,
    /// The members.
    pub members: Vec<Member>,
}

/// The part a member plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    /// Issues receipts.
    Merchant,
    /// Receives receipts, submits claims.
    Agency,
    /// Books and pays claims for the agencies it serves.
    Ssc,
}

/// A member of the network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// Merchant, agency or SSC.
    pub role: MemberRole,
    /// Organisation number (`NNNNNN-NNNN`, or `CC:id` for a foreign merchant).
    pub org: String,
    /// Name.
    pub name: String,
    /// The node's ed25519 public key, which its TLS certificate carries.
    pub key: PublicKey,
    /// Where the node listens, `host:port`.
    pub addresses: Vec<String>,
    /// For an SSC: the organisation numbers of the agencies it serves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serves: Vec<String>,
}

impl Record for Directory {
    const TYPE: RecordType = RecordType::Directory;

    fn validate(&self) -> Result<()> {
        check_code("network", &self.network, MAX_CODE_BYTES)?;
        parse_time("issued_at", &self.issued_at)?;
        check_count("members", self.members.len(), MAX_MEMBERS_PER_DIRECTORY, true)?;
        let mut keys = BTreeSet::new();
        let mut orgs = BTreeSet::new();
        for (index, member) in self.members.iter().enumerate() {
            let path = format!("members[{index}]");
            let org = member.validate().map_err(|error| error.within(&path))?;
            if !keys.insert(member.key) {
                return Err(Error::new(
                    ErrorCode::DuplicateMember,
                    format!("{path}.key"),
                    format!("key {} is listed twice", member.key.short()),
                ));
            }
            if !orgs.insert(org) {
                return Err(Error::new(
                    ErrorCode::DuplicateMember,
                    format!("{path}.org"),
                    format!("{} is listed twice", member.org),
                ));
            }
        }
        self.check_serves()
    }
}

impl Member {
    /// Checks one member on its own (what a directory checks of each member), so that a
    /// node can be told at `init` what the operator's directory would refuse.
    pub fn validate(&self) -> Result<OrgId> {
        let org = OrgId::parse("org", &self.org)?;
        if self.role != MemberRole::Merchant && !org.is_swedish() {
            return Err(Error::new(
                ErrorCode::OrgFormat,
                "org",
                "agencies and SSCs have Swedish organisation numbers",
            ));
        }
        check_text("name", &self.name, MAX_NAME_BYTES)?;
        self.key.verifying_key().map_err(|error| error.within("key"))?;
        check_count("addresses", self.addresses.len(), MAX_ADDRESSES_PER_MEMBER, true)?;
        for (index, address) in self.addresses.iter().enumerate() {
            check_address(&format!("addresses[{index}]"), address)?;
        }
        if self.role != MemberRole::Ssc && !self.serves.is_empty() {
            return Err(Error::new(ErrorCode::Serves, "serves", "only an SSC serves agencies"));
        }
        Ok(org)
    }
}

impl Directory {
    fn check_serves(&self) -> Result<()> {
        let agencies: BTreeSet<&str> = self
            .members
            .iter()
            .filter(|member| member.role == MemberRole::Agency)
            .map(|member| member.org.as_str())
            .collect();
        let mut served = BTreeSet::new();
        for (index, member) in self.members.iter().enumerate() {
            for (position, agency) in member.serves.iter().enumerate() {
                let path = format!("members[{index}].serves[{position}]");
                if !agencies.contains(agency.as_str()) {
                    return Err(Error::new(
                        ErrorCode::Serves,
                        path,
                        format!("{agency} is not an agency of this directory"),
                    ));
                }
                if !served.insert(agency.as_str()) {
                    return Err(Error::new(
                        ErrorCode::Serves,
                        path,
                        format!("{agency} is served by more than one SSC, or listed twice"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The member whose node key is `key`.
    pub fn member_by_key(&self, key: &PublicKey) -> Option<&Member> {
        self.members.iter().find(|member| member.key == *key)
    }

    /// The member with organisation number `org`.
    pub fn member_by_org(&self, org: &str) -> Option<&Member> {
        self.members.iter().find(|member| member.org == org)
    }

    /// The SSC serving the agency `org`.
    pub fn ssc_of(&self, agency_org: &str) -> Option<&Member> {
        self.members.iter().find(|member| {
            member.role == MemberRole::Ssc && member.serves.iter().any(|served| served == agency_org)
        })
    }
}
