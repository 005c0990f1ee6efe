//! Finding one's own items from what a session names them by, without a per-item index:
//! a decoded tag holds its item's time, so its candidates are the items of that second,
//! found by binary search of the time-ordered items and hashed; a decoded id is looked for
//! by one scan of the items that compares two bytes an item before it compares the rest.

use super::keys::SessionKeys;
use super::{Item, ReconcileError};
use crate::id::RecordId;

/// The positions in `items` (strictly ascending) of the items with these tags, `None` for
/// a tag none has; an error if two of our items share one of them (for items of the same
/// second, a 2^-32 accident a pair). Tags of one second are looked up together, so a
/// session hashes each of its items at most once however many tags it asks for.
pub(crate) fn find_tags(
    items: &[Item],
    tags: &[u64],
    keys: &SessionKeys,
) -> Result<Vec<Option<usize>>, ReconcileError> {
    let mut order: Vec<usize> = (0..tags.len()).collect();
    order.sort_unstable_by_key(|at| tags.get(*at).copied());
    let tag_at = |at: &usize| tags.get(*at).copied().unwrap_or_default();
    let mut found = vec![None; tags.len()];
    let mut rest = order.as_slice();
    while let Some(first) = rest.first() {
        let second = SessionKeys::second(tag_at(first));
        let group_length = rest.partition_point(|at| SessionKeys::second(tag_at(at)) == second);
        let (group, after) = rest.split_at(group_length);
        rest = after;
        let from = items.partition_point(|item| item.time < second);
        let to = if SessionKeys::is_last_second(second) {
            items.len()
        } else {
            items.partition_point(|item| item.time <= second)
        };
        for (position, item) in items.iter().enumerate().take(to).skip(from) {
            let tag = keys.tag_of(item);
            let start = group.partition_point(|at| tag_at(at) < tag);
            for at in group.get(start..).unwrap_or_default().iter().take_while(|at| tag_at(at) == tag) {
                if let Some(slot) = found.get_mut(*at) {
                    if slot.replace(position).is_some_and(|before| before != position) {
                        return Err(ReconcileError::InconsistentSymbols {
                            reason: "two of our items share a tag",
                        });
                    }
                }
            }
        }
    }
    Ok(found)
}

/// Whether any of `items` has one of `ids` (ascending). One pass over the items; for most
/// of them, one look at a 65,536-bit table of the ids' first two bytes.
pub(crate) fn holds_any(items: &[Item], ids: &[RecordId]) -> bool {
    if ids.is_empty() {
        return false;
    }
    let prefix = |id: &RecordId| usize::from(u16::from_be_bytes([id.0[0], id.0[1]]));
    let mut table = vec![0u64; 1 << 10];
    for id in ids {
        if let Some(word) = table.get_mut(prefix(id) >> 6) {
            *word |= 1 << (prefix(id) & 63);
        }
    }
    items.iter().any(|item| {
        let at = prefix(&item.id);
        table.get(at >> 6).is_some_and(|word| word >> (at & 63) & 1 == 1)
            && ids.binary_search(&item.id).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::Salt;

    fn item(time: u64, n: u32) -> Item {
        let mut id = [7u8; 32];
        id[..4].copy_from_slice(&n.to_le_bytes());
        Item { time, id: RecordId(id) }
    }

    #[test]
    fn tags_lead_to_their_items_by_their_second() {
        let keys = SessionKeys::new(&Salt([9; 16]));
        // Several items a second, and items past the last second a tag can hold.
        let mut items: Vec<Item> = (0..300).map(|n| item(u64::from(n / 4), n)).collect();
        items.extend((300..310).map(|n| item(u64::from(u32::MAX) + u64::from(n), n)));
        items.sort_unstable();
        let wanted = [5usize, 6, 7, 100, 0, 305, 309, 299];
        let mut tags: Vec<u64> = wanted.iter().map(|at| keys.tag_of(&items[*at])).collect();
        tags.push(keys.tag_of(&item(3, 9999)));
        let found = find_tags(&items, &tags, &keys).unwrap();
        let expected: Vec<Option<usize>> = wanted.iter().map(|at| Some(*at)).chain([None]).collect();
        assert_eq!(found, expected);
        // Two items with one tag (the same id at another time of the same tag second).
        let twin = Item { time: u64::from(u32::MAX) + 1000, id: items[305].id };
        let mut twins = items.clone();
        twins.push(twin);
        assert!(find_tags(&twins, &[keys.tag_of(&twin)], &keys).is_err());
    }

    #[test]
    fn held_ids_are_found_and_others_not() {
        let items: Vec<Item> = (0..2000).map(|n| item(u64::from(n), n * 3)).collect();
        let mut ids = vec![item(0, 1).id, item(0, 2).id, item(0, 4).id];
        ids.sort_unstable();
        assert!(!holds_any(&items, &ids));
        ids.push(items[1500].id);
        ids.sort_unstable();
        assert!(holds_any(&items, &ids));
        assert!(!holds_any(&items, &[]));
    }
}
