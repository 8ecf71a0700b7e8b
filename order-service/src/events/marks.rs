//! The relay's marks of what the broker confirmed, owed until they are written.
//!
//! A mark is a restaurant's watermark (`outbox_progress.published_seq`), so marks for many
//! events of a restaurant are one row, whenever it is written. The relay writes them a little
//! after the confirms instead of after each batch: under load it turns round once per event or
//! two, and an upsert per turn was most of its database work. A mark written late only means
//! that, after a crash or a takeover, those events are published again (duplicates that
//! consumers drop). Plain state, no I/O, so the rules are unit-tested.

use std::time::Duration;

use tokio::time::Instant;
use uuid::Uuid;

/// How long a confirmed event waits for its mark, about (a long confirm wait in the loop can
/// add to it; the marks are also written before any read of the outbox).
pub const MARK_WITHIN: Duration = Duration::from_millis(10);

/// Confirmed events not yet marked: per restaurant the highest `seq`.
#[derive(Debug, Default)]
pub struct OwedMarks {
    highest: Vec<(Uuid, i64)>,
    /// When the oldest owed mark was confirmed.
    since: Option<Instant>,
}

impl OwedMarks {
    /// The broker confirmed `seq` of `restaurant` (and every one before it) at `now`.
    pub fn owe(&mut self, restaurant: Uuid, seq: i64, now: Instant) {
        self.since.get_or_insert(now);
        // Few restaurants per batch: a scan beats hashing.
        match self
            .highest
            .iter_mut()
            .find(|(known, _)| *known == restaurant)
        {
            Some((_, top)) => *top = (*top).max(seq),
            None => self.highest.push((restaurant, seq)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.highest.is_empty()
    }

    /// When the owed marks must be written, if any are owed.
    pub fn due_at(&self) -> Option<Instant> {
        self.since.map(|since| since + MARK_WITHIN)
    }

    /// The marks to write, each restaurant with its highest confirmed `seq`; none owed after.
    pub fn take(&mut self) -> (Vec<Uuid>, Vec<i64>) {
        self.since = None;
        std::mem::take(&mut self.highest).into_iter().unzip()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn restaurant(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn one_mark_per_restaurant_at_its_highest_seq() {
        let now = Instant::now();
        let mut owed = OwedMarks::default();
        owed.owe(restaurant(1), 4, now);
        owed.owe(restaurant(2), 9, now);
        owed.owe(restaurant(1), 6, now);
        // A read that republished an older event does not lower it.
        owed.owe(restaurant(1), 5, now);
        assert_eq!(
            owed.take(),
            (vec![restaurant(1), restaurant(2)], vec![6, 9])
        );
        assert!(owed.is_empty());
        assert_eq!(owed.due_at(), None);
    }

    #[test]
    fn due_a_fixed_time_after_the_oldest_owed_confirm() {
        let start = Instant::now();
        let mut owed = OwedMarks::default();
        assert_eq!(owed.due_at(), None);
        owed.owe(restaurant(1), 1, start);
        owed.owe(restaurant(1), 2, start + Duration::from_millis(7));
        assert_eq!(owed.due_at(), Some(start + MARK_WITHIN));
        owed.take();
        let later = start + Duration::from_millis(30);
        owed.owe(restaurant(1), 3, later);
        assert_eq!(owed.due_at(), Some(later + MARK_WITHIN));
    }
}
