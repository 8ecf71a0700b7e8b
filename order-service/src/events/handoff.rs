//! Committed events handed in memory from the request that committed them to this instance's
//! active relay, so that it publishes them without reading them back (one round trip less on
//! the way to the screen).
//!
//! The relay may publish a handed event only if that keeps its restaurant's events in `seq`
//! order: only when it published the event just before, in this term as the active relay.
//! Every other case (a restaurant it has not published yet, a hole left by another instance's
//! change, a hand-off lost to a full queue) falls back to reading the outbox, which is always
//! correct: the rows are committed, and the read takes them in `position` order. Plain state,
//! no I/O, so every rule is unit-tested.

use std::collections::HashMap;

use uuid::Uuid;

use crate::telemetry::TraceContext;

/// One committed event, as the relay would have read it from `order_events`.
#[derive(Debug)]
pub struct HandedEvent {
    pub restaurant_id: Uuid,
    pub seq: i64,
    pub event_id: Uuid,
    pub routing_key: String,
    /// The message body: the event as serialized by the request.
    pub body: Vec<u8>,
    pub trace_context: TraceContext,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
}

/// What the active relay published of each restaurant in its current term: the `seq` of the
/// latest event the broker confirmed (so every earlier one was confirmed too).
#[derive(Debug, Default)]
pub struct PublishedSeqs {
    last: HashMap<Uuid, i64>,
}

/// Handed events split by [`PublishedSeqs::sort`].
#[derive(Debug, Default)]
pub struct Sorted {
    /// Events that follow on from what was published, by restaurant and in `seq` order: to be
    /// published now.
    pub publish: Vec<HandedEvent>,
    /// Some event could not be published from memory: the outbox must be read.
    pub needs_read: bool,
}

impl PublishedSeqs {
    /// The broker confirmed `seq` of `restaurant`.
    pub fn published(&mut self, restaurant: Uuid, seq: i64) {
        let last = self.last.entry(restaurant).or_insert(seq);
        *last = (*last).max(seq);
    }

    /// Splits `handed` into what can be published at once and what the outbox read must
    /// publish. Events already published (a read found them first) are dropped.
    pub fn sort(&self, mut handed: Vec<HandedEvent>) -> Sorted {
        handed.sort_by_key(|event| (event.restaurant_id, event.seq));
        let mut sorted = Sorted::default();
        // The restaurant of the events being looked at, and the `seq` that may follow on.
        let mut next: Option<(Uuid, Option<i64>)> = None;
        for event in handed {
            let expected = match next {
                Some((restaurant, expected)) if restaurant == event.restaurant_id => expected,
                _ => self.last.get(&event.restaurant_id).map(|last| last + 1),
            };
            let follows = match expected {
                Some(expected) if event.seq < expected => {
                    // Published already.
                    next = Some((event.restaurant_id, Some(expected)));
                    continue;
                }
                Some(expected) => event.seq == expected,
                // Nothing published of this restaurant in this term: what came before is unknown.
                None => false,
            };
            if follows {
                next = Some((event.restaurant_id, Some(event.seq + 1)));
                sorted.publish.push(event);
            } else {
                // A hole (or an unknown start): this restaurant's later events wait for the read.
                sorted.needs_read = true;
                next = Some((event.restaurant_id, None));
            }
        }
        sorted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn restaurant(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn handed(restaurant_n: u128, seq: i64) -> HandedEvent {
        HandedEvent {
            restaurant_id: restaurant(restaurant_n),
            seq,
            event_id: Uuid::new_v4(),
            routing_key: "orders.luigis.confirmed".into(),
            body: Vec::new(),
            trace_context: TraceContext::new(),
            occurred_at: chrono::Utc::now(),
        }
    }

    fn seqs(sorted: &Sorted) -> Vec<(u128, i64)> {
        sorted
            .publish
            .iter()
            .map(|event| (event.restaurant_id.as_u128(), event.seq))
            .collect()
    }

    #[test]
    fn a_restaurant_not_yet_published_this_term_needs_the_read() {
        let published = PublishedSeqs::default();
        let sorted = published.sort(vec![handed(1, 1)]);
        assert!(sorted.publish.is_empty());
        assert!(sorted.needs_read);
    }

    #[test]
    fn events_that_follow_on_go_at_once_in_seq_order_whatever_order_they_were_handed_in() {
        let mut published = PublishedSeqs::default();
        published.published(restaurant(1), 4);
        published.published(restaurant(2), 9);
        let sorted = published.sort(vec![handed(1, 6), handed(2, 10), handed(1, 5)]);
        assert_eq!(seqs(&sorted), [(1, 5), (1, 6), (2, 10)]);
        assert!(!sorted.needs_read);
    }

    #[test]
    fn a_hole_holds_back_that_restaurant_only_and_asks_for_the_read() {
        let mut published = PublishedSeqs::default();
        published.published(restaurant(1), 4);
        published.published(restaurant(2), 9);
        // Seq 5 of restaurant 1 was another instance's change: 6 and 7 must wait for it.
        let sorted = published.sort(vec![handed(1, 6), handed(1, 7), handed(2, 10)]);
        assert_eq!(seqs(&sorted), [(2, 10)]);
        assert!(sorted.needs_read);
    }

    #[test]
    fn events_a_read_already_published_are_dropped() {
        let mut published = PublishedSeqs::default();
        published.published(restaurant(1), 3);
        published.published(restaurant(1), 6);
        // A read went first and published through 6 (confirms never go backwards).
        published.published(restaurant(1), 2);
        let sorted = published.sort(vec![handed(1, 5), handed(1, 6), handed(1, 7)]);
        assert_eq!(seqs(&sorted), [(1, 7)]);
        assert!(!sorted.needs_read);
    }
}
