//! Writes a store has taken but not yet handed to sled: applied batches wait here, visible
//! to every read, until the next `sync` (its first half, `write_out`, on the group commit's
//! write thread) writes them into sled, as one batch made of them in apply order, just
//! before sled's flush and the fsync.
//!
//! Why: sled 0.34 takes a process-wide lock for writing a batch (`apply_batch`) that its
//! `flush()` holds for reading while it writes and `sync_file_range`s its log. Writing each
//! batch into sled as the core applies it therefore stalls the node's core for the length
//! of every flush (a disk round trip), and a group commit then carries only the few batches
//! applied between two flushes: one fsync for one or two pushes, the core idle meanwhile
//! (measured in `cargo bench -p kvitt-node --bench ingest`, part b). Staged, the core never
//! meets that lock: the group commit's write thread writes the whole group into sled itself
//! and flushes.
//!
//! Reads lay the staged writes over sled's state, newest first. A batch leaves the staged
//! map only after sled holds it, so a read never misses it; and the staged bytes are
//! bounded ([`MAX_STAGED_BYTES`]): past it, the staged batches are written into sled at once.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{Batch, Entry, StoreError};

/// Most bytes of keys and values staged before a new batch joins them: a batch that would
/// pass this first has the staged ones written into sled, so a store whose `sync` is not
/// called often (no group commit running) holds at most this plus one batch in memory.
pub const MAX_STAGED_BYTES: usize = 64 << 20;

/// Most bytes of keys and values written underneath in one write: the staged batches go
/// in groups of whole batches up to this (a larger batch alone), so that one sync never
/// hands sled a batch of up to [`MAX_STAGED_BYTES`], whose behaviour at that size was
/// never measured, while a group commit of small pushes still costs one write.
pub const MAX_GROUP_WRITE_BYTES: usize = 4 << 20;

/// The batches applied and not yet written into the store underneath.
pub(super) struct Staged {
    state: Mutex<State>,
    /// Held while staged batches are written underneath, so that they arrive in apply order.
    writing: Mutex<()>,
    limit_bytes: usize,
}

#[derive(Default)]
struct State {
    /// The newest staged value of each key (`None`: removed), with the batch that wrote it.
    values: BTreeMap<Vec<u8>, (u64, Option<Vec<u8>>)>,
    /// Staged batches in apply order, with their numbers.
    queue: Vec<(u64, Batch)>,
    next: u64,
    bytes: usize,
}

impl Staged {
    /// An empty stage holding at most `limit_bytes` ([`MAX_STAGED_BYTES`] in production).
    pub(super) fn new(limit_bytes: usize) -> Staged {
        Staged { state: Mutex::new(State::default()), writing: Mutex::new(()), limit_bytes }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stages `batch`, visible to reads at once. If it would pass the limit, the batches
    /// staged before it are first written with `write` (an error then stages nothing).
    pub(super) fn apply(
        &self,
        batch: &Batch,
        write: impl FnMut(Batch) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let bytes = batch_bytes(batch);
        if self.lock().bytes.saturating_add(bytes) > self.limit_bytes {
            self.write_through(write)?;
        }
        let mut state = self.lock();
        let number = state.next;
        state.next += 1;
        for (key, value) in batch.operations() {
            state.values.insert(key.clone(), (number, value.clone()));
        }
        state.queue.push((number, batch.clone()));
        state.bytes += bytes;
        Ok(())
    }

    /// Writes every staged batch with one call of `write`, as one batch made of them in
    /// apply order, then drops them from the stage (reads find them underneath from then
    /// on). One write for the group, not one a batch: the store underneath pays its fixed
    /// cost of a batch (sled: its lock, log reservation and batch seal) once, and a key
    /// several batches wrote (a counter) is written once. Each staged batch stays atomic,
    /// being part of a larger atomic one; none was acknowledged before the sync that
    /// follows this write. On an error the batches stay visible here but are lost to the
    /// disk: the caller's sync fails.
    pub(super) fn write_through(
        &self,
        mut write: impl FnMut(Batch) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let queue = {
            let mut state = self.lock();
            // Batches staged from now on count towards the limit afresh.
            state.bytes = 0;
            std::mem::take(&mut state.queue)
        };
        let Some(last) = queue.last().map(|(number, _)| *number) else { return Ok(()) };
        let (mut group, mut group_bytes) = (Batch::new(), 0);
        for (_, batch) in queue {
            let bytes = batch_bytes(&batch);
            if group_bytes > 0 && group_bytes + bytes > MAX_GROUP_WRITE_BYTES {
                write(std::mem::take(&mut group))?;
                group_bytes = 0;
            }
            group.append(batch);
            group_bytes += bytes;
        }
        write(group)?;
        let mut state = self.lock();
        state.values.retain(|_, (number, _)| *number > last);
        Ok(())
    }

    /// The staged value of `key`: `Some(None)` if staged as removed, `None` if not staged.
    pub(super) fn get(&self, key: &[u8]) -> Option<Option<Vec<u8>>> {
        self.lock().values.get(key).map(|(_, value)| value.clone())
    }

    /// The staged writes under `prefix`, copied: a batch that leaves the stage after this
    /// is already underneath, so a read taken after the copy cannot miss it.
    pub(super) fn under(&self, prefix: &[u8]) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        let state = self.lock();
        state
            .values
            .range(prefix.to_vec()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(key, (_, value))| (key.clone(), value.clone()))
            .collect()
    }

    /// Bytes staged now.
    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

fn batch_bytes(batch: &Batch) -> usize {
    batch.operations().iter().map(|(key, value)| key.len() + value.as_ref().map_or(0, Vec::len)).sum()
}

/// A page of entries under `prefix` after `after`, at most `limit`: `base` (asked for a
/// page of the size it is given) with `pending` writes laid over it.
pub(crate) fn scan_over(
    base: impl FnOnce(usize) -> Result<Vec<Entry>, StoreError>,
    pending: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    prefix: &[u8],
    after: Option<&[u8]>,
    limit: usize,
) -> Result<Vec<Entry>, StoreError> {
    let outside = |key: &[u8]| after.is_some_and(|after| key <= after);
    page_over(base, pending, prefix, outside, limit, Order::Ascending)
}

/// [`scan_over`] backwards: entries under `prefix` before `before`, newest key first.
pub(crate) fn scan_back_over(
    base: impl FnOnce(usize) -> Result<Vec<Entry>, StoreError>,
    pending: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    prefix: &[u8],
    before: Option<&[u8]>,
    limit: usize,
) -> Result<Vec<Entry>, StoreError> {
    let outside = |key: &[u8]| before.is_some_and(|before| key >= before);
    page_over(base, pending, prefix, outside, limit, Order::Descending)
}

/// Which end of the merged keys a page is taken from.
#[derive(Clone, Copy)]
enum Order {
    Ascending,
    Descending,
}

/// The page both scans share: `base`'s page with the pending writes under `prefix` that are
/// not `outside` the page's bound laid over it, `limit` entries taken in `order`.
fn page_over(
    base: impl FnOnce(usize) -> Result<Vec<Entry>, StoreError>,
    pending: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    prefix: &[u8],
    outside: impl Fn(&[u8]) -> bool,
    limit: usize,
    order: Order,
) -> Result<Vec<Entry>, StoreError> {
    let pending = within(pending, prefix);
    // Ask the base for enough entries that removals laid over it cannot starve the page.
    let removed = pending.iter().filter(|(_, value)| value.is_none()).count();
    let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = base(limit.saturating_add(removed))?.into_iter().collect();
    for (key, value) in pending {
        if !outside(key) {
            lay(&mut merged, key, value);
        }
    }
    Ok(match order {
        Order::Ascending => merged.into_iter().take(limit).collect(),
        Order::Descending => merged.into_iter().rev().take(limit).collect(),
    })
}

fn within<'a>(
    pending: &'a BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    prefix: &'a [u8],
) -> Vec<(&'a Vec<u8>, &'a Option<Vec<u8>>)> {
    pending.range(prefix.to_vec()..).take_while(|(key, _)| key.starts_with(prefix)).collect()
}

fn lay(merged: &mut BTreeMap<Vec<u8>, Vec<u8>>, key: &[u8], value: &Option<Vec<u8>>) {
    match value {
        Some(value) => merged.insert(key.to_vec(), value.clone()),
        None => merged.remove(key),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::store::batch_of as batch;

    #[test]
    fn the_staged_batches_are_written_as_one_batch_in_apply_order() {
        let staged = Staged::new(MAX_STAGED_BYTES);
        let never = |_: Batch| -> Result<(), StoreError> { unreachable!("below the limit") };
        staged.apply(&batch(&[(b"counter", Some(b"1")), (b"a", Some(b"a"))]), never).unwrap();
        staged.apply(&batch(&[(b"counter", Some(b"2")), (b"a", None)]), never).unwrap();
        staged.apply(&batch(&[(b"counter", Some(b"3"))]), never).unwrap();
        let mut written = Vec::new();
        staged
            .write_through(|group| {
                written.push(group);
                Ok(())
            })
            .unwrap();
        let expected = batch(&[
            (b"counter", Some(b"1")),
            (b"a", Some(b"a")),
            (b"counter", Some(b"2")),
            (b"a", None),
            (b"counter", Some(b"3")),
        ]);
        assert_eq!(written, [expected], "one write, the batches' operations in apply order");
        assert_eq!(staged.get(b"counter"), None, "left the stage once written");
        staged.write_through(|_| unreachable!("nothing staged: nothing written")).unwrap();
    }

    #[test]
    fn a_group_past_the_write_limit_goes_in_writes_of_whole_batches() {
        let staged = Staged::new(MAX_STAGED_BYTES);
        let never = |_: Batch| -> Result<(), StoreError> { unreachable!("below the limit") };
        // Keys of 1 byte: a, b and c together are one byte short of the limit.
        let value = vec![7u8; MAX_GROUP_WRITE_BYTES / 3 - 1];
        let large = vec![8u8; MAX_GROUP_WRITE_BYTES + 1];
        for (key, value) in [(b"a", &value), (b"b", &value), (b"c", &value), (b"d", &large), (b"e", &value)] {
            staged.apply(&batch(&[(key, Some(value))]), never).unwrap();
        }
        let mut written: Vec<Vec<Vec<u8>>> = Vec::new();
        staged
            .write_through(|group| {
                written.push(group.operations().iter().map(|(key, _)| key.clone()).collect());
                Ok(())
            })
            .unwrap();
        // With d the first group would pass the limit: d alone (past it by itself), then e.
        let keys = |keys: &[&[u8]]| keys.iter().map(|key| key.to_vec()).collect::<Vec<_>>();
        assert_eq!(written, [keys(&[b"a", b"b", b"c"]), keys(&[b"d"]), keys(&[b"e"])]);
    }
}
