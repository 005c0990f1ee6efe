//! Finding one's own items from what a session names them by, without a per-item index:
//! a decoded tag holds its item's time, so its candidates are the items of that second,
//! found by binary search of the time-ordered items and hashed.

use super::keys::SessionKeys;
use super::{Item, ReconcileError};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::RecordId;
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
}
