//! A set's hello summary under one initiator salt, kept up to date as items are added.
//!
//! A node may use one hello salt for its sessions with one peer for up to a day
//! (spec/reconcile.md §Keys and hashes). The summary the hello carries (count, fingerprint,
//! estimator counters) is a sum over the items, so under a kept salt both sides can hold it
//! and add each new item's digest as the item arrives: a session between equal sets then
//! costs a hello and a `same`, not a hash of every item on both sides. The keys of the coded
//! symbols depend on that salt alone, so the summary keeps the set's first coded symbols
//! too: a session between sets that differ in fewer items than they cover hashes only the
//! items it finds.

use super::estimator::Summary;
use super::keys::{HelloDigest, SessionKeys};
use super::symbol::{first_symbols, toggle_item, CodedSymbol};
use super::{Item, Salt};

/// The fewest coded symbols a summary keeps.
const MIN_KEPT_SYMBOLS: usize = 64;
/// The most coded symbols a summary keeps (12 bytes each): as many as a session with about
/// 15,000 differences sends.
pub const MAX_KEPT_SYMBOLS: usize = 32_768;
/// A summary keeps about one coded symbol for this many items (a power of two at least),
/// under 1 byte an item: enough for sessions between sets that differ in up to about one
/// item in 70.
const ITEMS_PER_KEPT_SYMBOL: usize = 32;

/// The hello summary of a set under the hello key of one salt, with the set's first coded
/// symbols: all of them sums over the items, kept up to date one item at a time.
#[derive(Clone)]
pub struct HelloSummary {
    salt: Salt,
    keys: SessionKeys,
    summary: Summary,
    symbols: Vec<CodedSymbol>,
}

/// How many coded symbols a summary of `count` items keeps.
fn kept_symbols(count: u64) -> usize {
    let per_symbol = usize::try_from(count).unwrap_or(usize::MAX) / ITEMS_PER_KEPT_SYMBOL;
    per_symbol.next_power_of_two().clamp(MIN_KEPT_SYMBOLS, MAX_KEPT_SYMBOLS)
}

/// What a session starts from: its keys, the hello summary of its items, their first coded
/// symbols (as many as were kept: possibly none), and their digests if they were computed.
pub(crate) struct Summarised {
    pub(crate) keys: SessionKeys,
    pub(crate) summary: Summary,
    pub(crate) symbols: Vec<CodedSymbol>,
    pub(crate) digests: Option<Vec<HelloDigest>>,
}

impl HelloSummary {
    /// Hashes every one of `items` (distinct items, ascending) under the keys of `salt`.
    pub fn of(items: &[Item], salt: Salt) -> HelloSummary {
        let keys = SessionKeys::new(&salt);
        let (summary, digests) = Summary::of(items, keys.hello());
        let symbols = first_symbols(items, &digests, &keys, kept_symbols(summary.count));
        HelloSummary { salt, keys, summary, symbols }
    }

    /// Adds an item the set did not hold: one hash, and its share of the kept symbols
    /// (about 2·ln(symbols) of them).
    pub fn add(&mut self, item: &Item) {
        let digest = self.keys.hello().digest(&item.id);
        self.summary.add(&digest);
        toggle_item(&mut self.symbols, item.time, &digest, &self.keys);
    }

    /// Whether the set has grown so far past the coded symbols kept for it that a new
    /// summary ([`HelloSummary::of`]) would keep more than twice as many. Rebuilding then
    /// costs a hash of each item, at most once per doubling of the set.
    pub fn outgrown(&self) -> bool {
        kept_symbols(self.summary.count) > 2 * self.symbols.len()
    }

    /// The salt whose keys the summary is under.
    pub fn salt(&self) -> Salt {
        self.salt
    }

    /// How many items the set holds.
    pub fn count(&self) -> u64 {
        self.summary.count
    }

    /// Bytes the summary holds beyond its fixed part: its kept coded symbols.
    pub fn kept_bytes(&self) -> usize {
        self.symbols.len() * std::mem::size_of::<CodedSymbol>()
    }

    /// What a session over `items` under `salt` starts from: `kept` if it is of as many
    /// items under that salt (the caller keeps it in step with the items), else hashed now.
    pub(crate) fn summarise(kept: Option<HelloSummary>, items: &[Item], salt: Salt) -> Summarised {
        match kept {
            Some(kept) if kept.salt == salt && kept.summary.count == items.len() as u64 => {
                Summarised { keys: kept.keys, summary: kept.summary, symbols: kept.symbols, digests: None }
            }
            _ => {
                let keys = SessionKeys::new(&salt);
                let (summary, digests) = Summary::of(items, keys.hello());
                Summarised { keys, summary, symbols: Vec::new(), digests: Some(digests) }
            }
        }
    }
}

impl std::fmt::Debug for HelloSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HelloSummary").field("salt", &self.salt).field("count", &self.summary.count).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_symbols_are_a_power_of_two_between_their_bounds() {
        let per = ITEMS_PER_KEPT_SYMBOL as u64;
        // At and below the lower bound: 64 symbols, however few the items.
        assert_eq!(kept_symbols(0), MIN_KEPT_SYMBOLS);
        assert_eq!(kept_symbols(MIN_KEPT_SYMBOLS as u64 * per + per - 1), MIN_KEPT_SYMBOLS);
        // One symbol's worth of items more: the next power of two.
        assert_eq!(kept_symbols((MIN_KEPT_SYMBOLS as u64 + 1) * per), 2 * MIN_KEPT_SYMBOLS);
        // The upper bound exactly, and past it: never more than MAX_KEPT_SYMBOLS.
        assert_eq!(kept_symbols(MAX_KEPT_SYMBOLS as u64 * per), MAX_KEPT_SYMBOLS);
        assert_eq!(kept_symbols(MAX_KEPT_SYMBOLS as u64 * per + per), MAX_KEPT_SYMBOLS);
        assert_eq!(kept_symbols(u64::MAX), MAX_KEPT_SYMBOLS);
    }
}
