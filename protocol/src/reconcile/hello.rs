//! A set's hello summary under one initiator salt, kept up to date as items are added.
//!
//! A node may use one hello salt for its sessions with one peer for up to a day
//! (spec/reconcile.md §Keys and hashes). The summary the hello carries (count, fingerprint,
//! estimator counters) is a sum over the items, so under a kept salt both sides can hold it
//! and add each new item's digest as the item arrives: a session between equal sets then
//! costs a hello and a `same`, not a hash of every item on both sides. Each item's digest
//! is computed only if the sets turn out to differ.

use super::estimator::Summary;
use super::keys::{HelloDigest, HelloKey};
use super::{Item, Salt};
use crate::id::RecordId;

/// The hello summary of a set under the hello key of one salt.
#[derive(Clone)]
pub struct HelloSummary {
    salt: Salt,
    key: HelloKey,
    pub(crate) summary: Summary,
}

impl HelloSummary {
    /// Hashes every one of `items` (distinct items) under the hello key of `salt`.
    pub fn of(items: &[Item], salt: Salt) -> HelloSummary {
        let key = HelloKey::new(&salt);
        let summary = Summary::of(items, &key).0;
        HelloSummary { salt, key, summary }
    }

    /// Adds an item the set did not hold: one hash.
    pub fn add(&mut self, id: &RecordId) {
        self.summary.add(&self.key.digest(id));
    }

    /// The salt whose hello key the summary is under.
    pub fn salt(&self) -> Salt {
        self.salt
    }

    /// How many items the set holds.
    pub fn count(&self) -> u64 {
        self.summary.count
    }

    /// The hello key, summary and (if they were computed for it) digests of `items` under
    /// `salt`: from `kept` if it is of as many items under that salt (the caller keeps it
    /// in step with the items), else hashed now.
    pub(crate) fn summarise(
        kept: Option<HelloSummary>,
        items: &[Item],
        salt: Salt,
    ) -> (HelloKey, Summary, Option<Vec<HelloDigest>>) {
        match kept {
            Some(kept) if kept.salt == salt && kept.summary.count == items.len() as u64 => {
                (kept.key, kept.summary, None)
            }
            _ => {
                let key = HelloKey::new(&salt);
                let (summary, digests) = Summary::of(items, &key);
                (key, summary, Some(digests))
            }
        }
    }
}

impl std::fmt::Debug for HelloSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HelloSummary").field("salt", &self.salt).field("count", &self.summary.count).finish()
    }
}
