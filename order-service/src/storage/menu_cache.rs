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
}

#[derive(Debug)]
pub struct MenuCache {
    menus: Mutex<HashMap<Slug, Arc<MenuCopy>>>,
    restaurants: usize,
    entries_per_restaurant: usize,
}

impl MenuCache {
    pub fn new(restaurants: usize, entries_per_restaurant: usize) -> Self {
        Self {
            menus: Mutex::new(HashMap::new()),
            restaurants,
            entries_per_restaurant,
        }
    }

    /// The copy of this restaurant's menu, if one is kept.
    pub fn get(&self, slug: &Slug) -> Option<Arc<MenuCopy>> {
        self.lock().get(slug).cloned()
    }

    /// Keeps what was just read of the menu: added to the copy kept if that is of the same
    /// version (and has room), else in place of it, unless a newer version is kept already.
    pub fn put(&self, slug: &Slug, read: MenuCopy) {
        let mut menus = self.lock();
        let merged = match menus.get(slug) {
            Some(kept) if kept.version > read.version => return,
            Some(kept) if kept.version == read.version => {
                let mut entries = kept.entries.clone();
                for (id, entry) in read.entries {
                    if entries.len() >= self.entries_per_restaurant {
                        break;
                    }
                    entries.insert(id, entry);
                }
                MenuCopy { entries, ..read }
            }
            _ => {
                let mut read = read;
                if read.entries.len() > self.entries_per_restaurant {
                    let keep: Vec<i64> = read
                        .entries
                        .keys()
                        .copied()
                        .take(self.entries_per_restaurant)
                        .collect();
                    read.entries.retain(|id, _| keep.contains(id));
                }
                read
            }
        };
        if !menus.contains_key(slug)
            && menus.len() >= self.restaurants
            && let Some(any) = menus.keys().next().cloned()
        {
            menus.remove(&any);
        }
        menus.insert(slug.clone(), Arc::new(merged));
    }

    /// Lets go of the copy at `version`: the menu has changed since (a newer copy is kept).
    pub fn forget(&self, slug: &Slug, version: i64) {
        let mut menus = self.lock();
        if menus.get(slug).is_some_and(|kept| kept.version <= version) {
            menus.remove(slug);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Slug, Arc<MenuCopy>>> {
        // Each operation leaves the map whole, so a panic elsewhere cannot half-change it.
        self.menus
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
        let cache = MenuCache::new(10, 10);
        cache.put(&slug("a"), copy(3, &[1, 2]));
        cache.put(&slug("a"), copy(3, &[5]));
        let kept = cache.get(&slug("a")).expect("kept");
        assert!(kept.has_all(&[1, 2, 5]));
        assert!(!kept.has_all(&[1, 6]));
    }

    #[test]
    fn a_newer_version_replaces_the_copy_and_an_older_one_is_ignored() {
        let cache = MenuCache::new(10, 10);
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
        let cache = MenuCache::new(10, 10);
        cache.put(&slug("a"), copy(4, &[1]));
        cache.forget(&slug("a"), 3);
        assert!(cache.get(&slug("a")).is_some());
        cache.forget(&slug("a"), 4);
        assert!(cache.get(&slug("a")).is_none());
    }

    #[test]
    fn restaurants_and_entries_are_bounded() {
        let cache = MenuCache::new(2, 3);
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
}
