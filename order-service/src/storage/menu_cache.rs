//! The menu entries this instance priced orders with, kept per restaurant with the menu's
//! version, so a confirm need not read the menu for every order. A copy may be stale (another
//! instance, or psql, changed the menu): the confirm writes only while the restaurant's
//! `menu_version` is still the copy's (`storage::orders::confirm`), and otherwise reads the menu
//! again, so a stale copy costs one refused write, never a wrong price. An item not in the copy
//! is always read, so one added since is found and an order for an unknown one is refused only
//! from what the database says.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use shared_types::Slug;
use uuid::Uuid;

use crate::domain::orders::MenuEntry;

/// Restaurants kept; past it an arbitrary one is let go.
pub const DEFAULT_RESTAURANTS: usize = 1_024;
/// Entries kept per restaurant (a copy never holds more; the rest are read for each order).
pub const DEFAULT_ENTRIES_PER_RESTAURANT: usize = 256;
/// What all copies may take together, by [`MenuCopy::approx_bytes`]: an owner controls how
/// long an entry's names are and how many variants and modifiers it has, so the count of
/// entries alone does not bound memory.
pub const DEFAULT_BUDGET_BYTES: usize = 32 << 20;

/// A restaurant's active menu entries at one `menu_version`, as far as they were read.
#[derive(Debug, Clone)]
pub struct MenuCopy {
    pub restaurant_id: Uuid,
    pub version: i64,
    pub entries: HashMap<i64, MenuEntry>,
}

impl MenuCopy {
    /// Whether every item in `item_ids` is here, so the order can be priced from this copy.
    pub fn has_all(&self, item_ids: &[i64]) -> bool {
        item_ids.iter().all(|id| self.entries.contains_key(id))
    }

    /// About what the copy takes in memory: its strings and a fixed cost per element.
    pub fn approx_bytes(&self) -> usize {
        const PER_ELEMENT: usize = 64;
        let entry = |entry: &MenuEntry| {
            PER_ELEMENT * (2 + entry.variants.len() + entry.modifiers.len())
                + entry.name.len()
                + entry
                    .station
                    .as_ref()
                    .map_or(0, |station| station.name.len())
                + entry.variants.iter().map(|v| v.label.len()).sum::<usize>()
                + entry.modifiers.iter().map(|m| m.name.len()).sum::<usize>()
        };
        PER_ELEMENT + self.entries.values().map(entry).sum::<usize>()
    }
}

#[derive(Debug)]
pub struct MenuCache {
    kept: Mutex<Kept>,
    restaurants: usize,
    entries_per_restaurant: usize,
    budget_bytes: usize,
}

#[derive(Debug, Default)]
struct Kept {
    menus: HashMap<Slug, (Arc<MenuCopy>, usize)>,
    bytes: usize,
}

impl Kept {
    fn remove(&mut self, slug: &Slug) {
        if let Some((_, bytes)) = self.menus.remove(slug) {
            self.bytes -= bytes;
        }
    }
}

impl MenuCache {
    pub fn new(restaurants: usize, entries_per_restaurant: usize, budget_bytes: usize) -> Self {
        Self {
            kept: Mutex::new(Kept::default()),
            restaurants,
            entries_per_restaurant,
            budget_bytes,
        }
    }

    /// The copy of this restaurant's menu, if one is kept.
    pub fn get(&self, slug: &Slug) -> Option<Arc<MenuCopy>> {
        self.lock().menus.get(slug).map(|(copy, _)| copy.clone())
    }

    /// Keeps what an order was just priced and written with: added to the copy kept if that
    /// is of the same version (and has room), else in place of it, unless a newer version is
    /// kept already. Other restaurants' copies are let go, arbitrary ones, to stay within the
    /// bounds.
    pub fn put(&self, slug: &Slug, read: MenuCopy) {
        let mut kept = self.lock();
        let mut copy = match kept.menus.get(slug) {
            Some((copy, _)) if copy.version > read.version => return,
            Some((copy, _)) if copy.version == read.version => {
                if read.entries.keys().all(|id| copy.entries.contains_key(id))
                    || copy.entries.len() >= self.entries_per_restaurant
                {
                    return;
                }
                let mut entries = copy.entries.clone();
                entries.extend(read.entries);
                MenuCopy { entries, ..read }
            }
            _ => read,
        };
        if copy.entries.len() > self.entries_per_restaurant {
            let surplus: Vec<i64> = copy
                .entries
                .keys()
                .skip(self.entries_per_restaurant)
                .copied()
                .collect();
            for id in surplus {
                copy.entries.remove(&id);
            }
        }
        let bytes = copy.approx_bytes();
        if bytes > self.budget_bytes {
            return;
        }
        kept.remove(slug);
        while kept.menus.len() >= self.restaurants || kept.bytes + bytes > self.budget_bytes {
            let Some(any) = kept.menus.keys().next().cloned() else {
                break;
            };
            kept.remove(&any);
        }
        kept.bytes += bytes;
        kept.menus.insert(slug.clone(), (Arc::new(copy), bytes));
    }

    /// Lets go of the copy at `version`: the menu has changed since (a newer copy is kept).
    pub fn forget(&self, slug: &Slug, version: i64) {
        let mut kept = self.lock();
        if kept
            .menus
            .get(slug)
            .is_some_and(|(copy, _)| copy.version <= version)
        {
            kept.remove(slug);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        // Each operation leaves the map and its byte count whole, so a panic elsewhere cannot
        // half-change them.
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug(name: &str) -> Slug {
        Slug::parse(name).expect("a valid slug")
    }

    fn entry(id: i64) -> MenuEntry {
        MenuEntry {
            id,
            name: format!("item {id}"),
            station: None,
            variants: Vec::new(),
            modifiers: Vec::new(),
        }
    }

    fn copy(version: i64, ids: &[i64]) -> MenuCopy {
        MenuCopy {
            restaurant_id: Uuid::nil(),
            version,
            entries: ids.iter().map(|&id| (id, entry(id))).collect(),
        }
    }

    #[test]
    fn reads_of_one_version_add_up() {
        let cache = MenuCache::new(10, 10, DEFAULT_BUDGET_BYTES);
        cache.put(&slug("a"), copy(3, &[1, 2]));
        cache.put(&slug("a"), copy(3, &[5]));
        let kept = cache.get(&slug("a")).expect("kept");
        assert!(kept.has_all(&[1, 2, 5]));
        assert!(!kept.has_all(&[1, 6]));
    }

    #[test]
    fn a_newer_version_replaces_the_copy_and_an_older_one_is_ignored() {
        let cache = MenuCache::new(10, 10, DEFAULT_BUDGET_BYTES);
        cache.put(&slug("a"), copy(3, &[1, 2]));
        cache.put(&slug("a"), copy(4, &[2]));
        let kept = cache.get(&slug("a")).expect("kept");
        assert_eq!((kept.version, kept.has_all(&[1])), (4, false));
        // A read that started before the change finishes after it: it must not win.
        cache.put(&slug("a"), copy(3, &[1, 2]));
        assert_eq!(cache.get(&slug("a")).expect("kept").version, 4);
    }

    #[test]
    fn forgetting_a_version_keeps_a_newer_copy() {
        let cache = MenuCache::new(10, 10, DEFAULT_BUDGET_BYTES);
        cache.put(&slug("a"), copy(4, &[1]));
        cache.forget(&slug("a"), 3);
        assert!(cache.get(&slug("a")).is_some());
        cache.forget(&slug("a"), 4);
        assert!(cache.get(&slug("a")).is_none());
    }

    #[test]
    fn restaurants_and_entries_are_bounded() {
        let cache = MenuCache::new(2, 3, DEFAULT_BUDGET_BYTES);
        cache.put(&slug("a"), copy(1, &[1, 2, 3, 4, 5]));
        assert_eq!(cache.get(&slug("a")).expect("kept").entries.len(), 3);
        cache.put(&slug("a"), copy(1, &[6]));
        assert_eq!(cache.get(&slug("a")).expect("kept").entries.len(), 3);
        cache.put(&slug("b"), copy(1, &[1]));
        cache.put(&slug("c"), copy(1, &[1]));
        let kept = ["a", "b", "c"]
            .iter()
            .filter(|name| cache.get(&slug(name)).is_some())
            .count();
        assert_eq!(kept, 2);
        assert!(cache.get(&slug("c")).is_some(), "the newest is kept");
    }

    #[test]
    fn copies_are_let_go_to_stay_within_the_byte_budget() {
        let one = copy(1, &[1, 2]).approx_bytes();
        let cache = MenuCache::new(100, 100, 2 * one);
        cache.put(&slug("a"), copy(1, &[1, 2]));
        cache.put(&slug("b"), copy(1, &[1, 2]));
        assert!(cache.get(&slug("a")).is_some() && cache.get(&slug("b")).is_some());
        cache.put(&slug("c"), copy(1, &[1, 2]));
        let kept = ["a", "b", "c"]
            .iter()
            .filter(|name| cache.get(&slug(name)).is_some())
            .count();
        assert_eq!(kept, 2);
        assert!(cache.get(&slug("c")).is_some(), "the newest is kept");
        // A copy over the whole budget is not kept at all, and evicts nothing.
        cache.put(&slug("d"), copy(1, &[1, 2, 3, 4, 5, 6]));
        assert!(cache.get(&slug("d")).is_none());
        assert!(cache.get(&slug("c")).is_some());
    }
}
