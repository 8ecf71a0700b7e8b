//! One restaurant's feed: puts its events in `seq` order, drops duplicates, holds back events
//! that arrive after a hole until the hole fills or `gap_wait` passes (then subscribers get
//! `resync`, followed by what was held back), and keeps a ring of recent frames to answer
//! `?after=`.
//!
//! Plain state: no I/O, no tasks, no clock of its own. The caller passes the time in and runs
//! the timer for the deadline the feed asks for, so every rule is unit-tested without a broker.
//! Frames go to subscribers through a `broadcast` channel: one serialized frame, shared by all,
//! whose lag detection doubles as slow-consumer detection.

use std::{
    collections::{BTreeMap, VecDeque},
    time::Duration,
};

use bytes::Bytes;
use tokio::{sync::broadcast, time::Instant};

use crate::link::Ingested;

/// What the feed sends to a restaurant's subscribers.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// One event, already serialized as the client's text frame.
    Event(Bytes),
    /// Events may have been missed: the client should reload the kitchen list.
    Resync,
}

pub const RESYNC_FRAME: &[u8] = br#"{"event":"resync"}"#;

/// What a new subscriber gets before the live stream.
#[derive(Debug)]
pub enum Replay {
    Nothing,
    Frames(Vec<Bytes>),
    Resync,
}

/// Limits of one feed.
#[derive(Debug, Clone, Copy)]
pub struct FeedLimits {
    /// Frames that may wait for one subscriber before it counts as too slow.
    pub backlog: usize,
    /// Recent frames kept for `?after=`.
    pub ring: usize,
    /// ... and at most this many bytes of them (the newest frame is always kept): 256 frames
    /// of the largest Orders would otherwise be tens of megabytes per watched restaurant.
    pub ring_bytes: usize,
    /// How long a hole may stay open before subscribers resync.
    pub gap_wait: Duration,
}

/// A held-back event this far past the last one delivered cannot be real: the relay publishes
/// each restaurant's events in order, so holes are a few events (a failover's duplicates and
/// reorderings), never thousands. Such an event (a publisher's bug) still waits and ends in a
/// resync, but the sequence does not jump to it, or every real event after it would be taken
/// for a duplicate.
pub const MAX_PLAUSIBLE_JUMP: i64 = 10_000;

/// A hole being waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Gap {
    awaited: i64,
    deadline: Instant,
}

/// What passing a gap deadline did.
#[derive(Debug, PartialEq, Eq)]
pub struct GapOutcome {
    /// The awaited event never came: subscribers were told to resync.
    pub resynced: Option<i64>,
    /// A further hole is now waited for, until then.
    pub next_deadline: Option<Instant>,
}

pub struct Feed {
    sender: broadcast::Sender<Outbound>,
    limits: FeedLimits,
    last_seq: Option<i64>,
    ring: VecDeque<(i64, Bytes)>,
    /// The bytes of the frames in `ring`.
    ring_bytes: usize,
    /// Events that arrived after a hole, waiting for it to fill.
    pending: BTreeMap<i64, Bytes>,
    gap: Option<Gap>,
}

impl Feed {
    pub fn new(limits: FeedLimits) -> Self {
        let (sender, _) = broadcast::channel(limits.backlog.max(1));
        Self {
            sender,
            limits,
            last_seq: None,
            ring: VecDeque::new(),
            ring_bytes: 0,
            pending: BTreeMap::new(),
            gap: None,
        }
    }

    /// The highest `seq` delivered to subscribers, if any since the feed (re)started.
    pub fn last_seq(&self) -> Option<i64> {
        self.last_seq
    }

    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }

    /// When the feed wants [`Feed::gap_deadline_passed`] called, if a hole is open.
    pub fn gap_deadline(&self) -> Option<Instant> {
        self.gap.map(|gap| gap.deadline)
    }

    /// A new subscriber: its receiver and what it is owed first. Taken together, so the replay
    /// and the live stream meet without a gap or an overlap.
    pub fn subscribe(&self, after: Option<i64>) -> (broadcast::Receiver<Outbound>, Replay) {
        (self.sender.subscribe(), self.replay_after(after))
    }

    /// Takes one event. When this opens a hole, the returned deadline is when to call
    /// [`Feed::gap_deadline_passed`].
    pub fn ingest(&mut self, seq: i64, frame: Bytes, now: Instant) -> (Ingested, Option<Instant>) {
        match self.last_seq {
            Some(last) if seq <= last => (Ingested::Duplicate, None),
            Some(last) if seq > last + 1 => {
                self.pending.entry(seq).or_insert(frame);
                (Ingested::HeldBack, self.watch_for_hole(now))
            }
            _ => {
                self.emit(seq, frame);
                self.drain_pending();
                (Ingested::Sent, self.watch_for_hole(now))
            }
        }
    }

    /// Called at (or after) the gap deadline: if the awaited event still has not come,
    /// subscribers resync and the sequence starts afresh from what was held back.
    pub fn gap_deadline_passed(&mut self, now: Instant) -> GapOutcome {
        let Some(gap) = self.gap.filter(|gap| gap.deadline <= now) else {
            // Early or stale: the current deadline (if any) has its own timer.
            return GapOutcome {
                resynced: None,
                next_deadline: None,
            };
        };
        self.gap = None;
        let resynced = self.last_seq.is_none_or(|last| last < gap.awaited);
        if resynced {
            self.restart_from_pending();
        }
        GapOutcome {
            resynced: resynced.then_some(gap.awaited),
            next_deadline: self.watch_for_hole(now),
        }
    }

    /// The link to the broker was lost and is back: anything may have passed. Subscribers
    /// resync and the feed forgets its sequence, ring and held-back events.
    pub fn link_restored(&mut self) {
        self.pending.clear();
        self.gap = None;
        self.clear_ring();
        self.last_seq = None;
        let _ = self.sender.send(Outbound::Resync);
    }

    /// The feed was not bound for a while: it knows nothing reliable about what passed, but
    /// it has no subscriber to tell.
    pub fn forget(&mut self) {
        self.pending.clear();
        self.gap = None;
        self.clear_ring();
        self.last_seq = None;
    }

    fn clear_ring(&mut self) {
        self.ring.clear();
        self.ring_bytes = 0;
    }

    fn emit(&mut self, seq: i64, frame: Bytes) {
        self.last_seq = Some(seq);
        self.ring_bytes += frame.len();
        self.ring.push_back((seq, frame.clone()));
        while self.ring.len() > self.limits.ring
            || (self.ring_bytes > self.limits.ring_bytes && self.ring.len() > 1)
        {
            if let Some((_, dropped)) = self.ring.pop_front() {
                self.ring_bytes -= dropped.len();
            }
        }
        // No receivers is fine: the frame is still kept in the ring.
        let _ = self.sender.send(Outbound::Event(frame));
    }

    /// Emits held-back events that now follow on, and drops the ones already seen.
    fn drain_pending(&mut self) {
        while let Some(entry) = self.pending.first_entry() {
            let seq = *entry.key();
            match self.last_seq {
                Some(last) if seq <= last => {
                    entry.remove();
                }
                Some(last) if seq == last + 1 => {
                    let frame = entry.remove();
                    self.emit(seq, frame);
                }
                _ => break,
            }
        }
    }

    /// Tells subscribers to resync and continues from the oldest event held back. Events
    /// beyond a further hole stay held; implausibly far ones are dropped, and the sequence
    /// then starts afresh with whatever comes next.
    fn restart_from_pending(&mut self) {
        let _ = self.sender.send(Outbound::Resync);
        let before = self.last_seq.take();
        self.clear_ring();
        if let Some(last) = before {
            let implausible = self
                .pending
                .split_off(&last.saturating_add(MAX_PLAUSIBLE_JUMP + 1));
            if !implausible.is_empty() {
                tracing::warn!(
                    after = last,
                    first = implausible.keys().next().copied(),
                    dropped = implausible.len(),
                    "dropped events implausibly far ahead of the sequence"
                );
            }
        }
        if let Some((seq, frame)) = self.pending.pop_first() {
            self.emit(seq, frame);
            self.drain_pending();
        }
    }

    /// Keeps `gap` true to what is held back: none without pending events; the running wait
    /// while its hole is open; a full wait of its own for a further hole. Returns a deadline
    /// that is new.
    fn watch_for_hole(&mut self, now: Instant) -> Option<Instant> {
        if self.pending.is_empty() {
            self.gap = None;
            return None;
        }
        let awaited = self.last_seq.map_or(i64::MIN, |last| last + 1);
        match self.gap {
            Some(gap) if gap.awaited == awaited => None,
            _ => {
                let deadline = now + self.limits.gap_wait;
                self.gap = Some(Gap { awaited, deadline });
                Some(deadline)
            }
        }
    }

    fn replay_after(&self, after: Option<i64>) -> Replay {
        let Some(after) = after else {
            return Replay::Nothing;
        };
        let Some(last) = self.last_seq else {
            // Nothing seen for this restaurant yet: whether events were missed is unknown.
            return Replay::Resync;
        };
        if after >= last {
            return Replay::Nothing;
        }
        let mut frames = Vec::new();
        let mut expected = after + 1;
        for (seq, frame) in self.ring.iter().filter(|(seq, _)| *seq > after) {
            if *seq != expected {
                return Replay::Resync;
            }
            frames.push(frame.clone());
            expected += 1;
        }
        if expected == last + 1 {
            Replay::Frames(frames)
        } else {
            Replay::Resync
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::broadcast::error::TryRecvError;

    use super::*;

    const WAIT: Duration = Duration::from_secs(1);

    fn feed(ring: usize) -> Feed {
        Feed::new(FeedLimits {
            backlog: 1024,
            ring,
            ring_bytes: usize::MAX,
            gap_wait: WAIT,
        })
    }

    fn frame(seq: i64) -> Bytes {
        Bytes::from(format!("frame {seq}"))
    }

    /// What a subscriber received so far: `seq` of each event frame, 0 for a resync.
    fn received(receiver: &mut broadcast::Receiver<Outbound>) -> Vec<i64> {
        let mut seen = Vec::new();
        loop {
            match receiver.try_recv() {
                Ok(Outbound::Event(bytes)) => {
                    let text = std::str::from_utf8(&bytes).unwrap();
                    seen.push(text["frame ".len()..].parse().unwrap());
                }
                Ok(Outbound::Resync) => seen.push(0),
                Err(TryRecvError::Empty) => return seen,
                Err(other) => panic!("receiver failed: {other}"),
            }
        }
    }

    fn replayed(replay: Replay) -> Option<Vec<i64>> {
        match replay {
            Replay::Nothing => Some(Vec::new()),
            Replay::Frames(frames) => Some(
                frames
                    .iter()
                    .map(|f| {
                        std::str::from_utf8(f).unwrap()["frame ".len()..]
                            .parse()
                            .unwrap()
                    })
                    .collect(),
            ),
            Replay::Resync => None,
        }
    }

    #[test]
    fn events_in_order_go_straight_out() {
        let mut feed = feed(256);
        let (mut rx, _) = feed.subscribe(None);
        let now = Instant::now();
        for seq in 1..=3 {
            assert_eq!(feed.ingest(seq, frame(seq), now), (Ingested::Sent, None));
        }
        assert_eq!(received(&mut rx), vec![1, 2, 3]);
        assert_eq!(feed.last_seq(), Some(3));
    }

    #[test]
    fn the_first_event_seen_starts_the_sequence_wherever_it_is() {
        let mut feed = feed(256);
        let (mut rx, _) = feed.subscribe(None);
        assert_eq!(feed.ingest(41, frame(41), Instant::now()).0, Ingested::Sent);
        assert_eq!(received(&mut rx), vec![41]);
    }

    #[test]
    fn duplicates_and_old_events_are_dropped() {
        let mut feed = feed(256);
        let (mut rx, _) = feed.subscribe(None);
        let now = Instant::now();
        feed.ingest(1, frame(1), now);
        feed.ingest(2, frame(2), now);
        assert_eq!(feed.ingest(2, frame(2), now).0, Ingested::Duplicate);
        assert_eq!(feed.ingest(1, frame(1), now).0, Ingested::Duplicate);
        assert_eq!(received(&mut rx), vec![1, 2]);
    }

    #[test]
    fn a_hole_holds_later_events_back_until_it_fills() {
        let mut feed = feed(256);
        let (mut rx, _) = feed.subscribe(None);
        let now = Instant::now();
        feed.ingest(1, frame(1), now);
        assert_eq!(
            feed.ingest(3, frame(3), now),
            (Ingested::HeldBack, Some(now + WAIT))
        );
        // A second event past the same hole does not restart the wait.
        assert_eq!(feed.ingest(4, frame(4), now), (Ingested::HeldBack, None));
        assert_eq!(received(&mut rx), vec![1]);
        assert_eq!(feed.ingest(2, frame(2), now).0, Ingested::Sent);
        assert_eq!(received(&mut rx), vec![2, 3, 4]);
        assert_eq!(feed.gap_deadline(), None);
        // The deadline passing later changes nothing.
        let outcome = feed.gap_deadline_passed(now + WAIT);
        assert_eq!(outcome.resynced, None);
        assert_eq!(received(&mut rx), Vec::<i64>::new());
    }

    #[test]
    fn a_hole_that_does_not_fill_is_a_resync_followed_by_what_was_held_back() {
        let mut feed = feed(256);
        let (mut rx, _) = feed.subscribe(None);
        let start = Instant::now();
        feed.ingest(1, frame(1), start);
        feed.ingest(3, frame(3), start);
        feed.ingest(4, frame(4), start);
        // Not yet: nothing happens before the deadline.
        let early = feed.gap_deadline_passed(start + WAIT / 2);
        assert_eq!(early.resynced, None);
        assert_eq!(received(&mut rx), vec![1]);
        let outcome = feed.gap_deadline_passed(start + WAIT);
        assert_eq!(
            outcome,
            GapOutcome {
                resynced: Some(2),
                next_deadline: None
            }
        );
        assert_eq!(received(&mut rx), vec![0, 3, 4]);
        // The sequence goes on from there; the missing event is late now.
        assert_eq!(feed.ingest(2, frame(2), start).0, Ingested::Duplicate);
        assert_eq!(feed.ingest(5, frame(5), start).0, Ingested::Sent);
        assert_eq!(received(&mut rx), vec![5]);
    }

    #[test]
    fn an_event_implausibly_far_ahead_ends_in_a_resync_without_swallowing_real_ones() {
        let mut feed = feed(256);
        let (mut rx, _) = feed.subscribe(None);
        let start = Instant::now();
        feed.ingest(5, frame(5), start);
        let bogus = 5 + MAX_PLAUSIBLE_JUMP + 1;
        assert_eq!(
            feed.ingest(bogus, frame(bogus), start).0,
            Ingested::HeldBack
        );
        let outcome = feed.gap_deadline_passed(start + WAIT);
        assert_eq!(outcome.resynced, Some(6));
        assert_eq!(outcome.next_deadline, None);
        assert_eq!(received(&mut rx), vec![5, 0]);
        // The real events that follow are delivered, not dropped as duplicates.
        for seq in 6..=8 {
            assert_eq!(feed.ingest(seq, frame(seq), start).0, Ingested::Sent);
        }
        assert_eq!(received(&mut rx), vec![6, 7, 8]);
        // A jump within the bound is still a real hole: the sequence continues from it.
        let far = 8 + MAX_PLAUSIBLE_JUMP;
        feed.ingest(far, frame(far), start);
        feed.gap_deadline_passed(start + WAIT);
        assert_eq!(received(&mut rx), vec![0, far]);
    }

    #[test]
    fn a_further_hole_gets_a_full_wait_of_its_own() {
        let mut feed = feed(256);
        let (mut rx, _) = feed.subscribe(None);
        let start = Instant::now();
        feed.ingest(1, frame(1), start);
        feed.ingest(3, frame(3), start);
        feed.ingest(6, frame(6), start);
        let later = start + WAIT;
        let outcome = feed.gap_deadline_passed(later);
        assert_eq!(outcome.resynced, Some(2));
        assert_eq!(outcome.next_deadline, Some(later + WAIT));
        assert_eq!(received(&mut rx), vec![1, 0, 3]);
        // The second hole fills within its wait.
        feed.ingest(4, frame(4), later);
        feed.ingest(5, frame(5), later);
        assert_eq!(received(&mut rx), vec![4, 5, 6]);
        assert_eq!(feed.gap_deadline(), None);

        // A hole found when an earlier one fills starts its wait then.
        feed.ingest(8, frame(8), later);
        feed.ingest(10, frame(10), later);
        let filled_at = later + WAIT / 2;
        assert_eq!(
            feed.ingest(7, frame(7), filled_at),
            (Ingested::Sent, Some(filled_at + WAIT))
        );
        assert_eq!(received(&mut rx), vec![7, 8]);
    }

    #[test]
    fn after_is_answered_from_the_ring() {
        let mut feed = feed(256);
        let now = Instant::now();
        for seq in 1..=5 {
            feed.ingest(seq, frame(seq), now);
        }
        assert_eq!(replayed(feed.subscribe(Some(2)).1), Some(vec![3, 4, 5]));
        assert_eq!(
            replayed(feed.subscribe(Some(0)).1),
            Some(vec![1, 2, 3, 4, 5])
        );
        assert_eq!(replayed(feed.subscribe(Some(5)).1), Some(vec![]));
        // A client ahead of the feed (it heard of events this instance has not) gets nothing.
        assert_eq!(replayed(feed.subscribe(Some(9)).1), Some(vec![]));
        assert_eq!(replayed(feed.subscribe(None).1), Some(vec![]));
    }

    #[test]
    fn after_older_than_the_ring_is_a_resync() {
        let mut feed = feed(3);
        let now = Instant::now();
        for seq in 1..=5 {
            feed.ingest(seq, frame(seq), now);
        }
        assert_eq!(replayed(feed.subscribe(Some(2)).1), Some(vec![3, 4, 5]));
        assert_eq!(replayed(feed.subscribe(Some(1)).1), None);
    }

    #[test]
    fn after_on_a_feed_that_has_seen_nothing_is_a_resync() {
        let feed = feed(256);
        assert_eq!(replayed(feed.subscribe(Some(3)).1), None);
    }

    #[test]
    fn after_across_a_resync_is_a_resync() {
        let mut feed = feed(256);
        let start = Instant::now();
        feed.ingest(1, frame(1), start);
        feed.ingest(3, frame(3), start);
        feed.gap_deadline_passed(start + WAIT);
        // seq 2 was never held: a client at 1 cannot be brought up to date from memory.
        assert_eq!(replayed(feed.subscribe(Some(1)).1), None);
        assert_eq!(replayed(feed.subscribe(Some(3)).1), Some(vec![]));
    }

    #[test]
    fn the_ring_keeps_only_the_newest_frames() {
        let mut feed = feed(4);
        let now = Instant::now();
        for seq in 1..=100 {
            feed.ingest(seq, frame(seq), now);
        }
        assert_eq!(feed.ring.len(), 4);
        assert_eq!(
            replayed(feed.subscribe(Some(96)).1),
            Some(vec![97, 98, 99, 100])
        );
    }

    #[test]
    fn the_ring_keeps_at_most_its_bytes_and_always_the_newest_frame() {
        let mut feed = Feed::new(FeedLimits {
            backlog: 1024,
            ring: 256,
            ring_bytes: 10_000,
            gap_wait: WAIT,
        });
        let now = Instant::now();
        let big = |seq: i64| Bytes::from(format!("{seq:>4000}"));
        for seq in 1..=5 {
            feed.ingest(seq, big(seq), now);
        }
        // 4,000 bytes each: two fit in 10,000.
        assert_eq!(feed.ring.len(), 2);
        assert_eq!(feed.ring_bytes, 8_000);
        assert_eq!(replayed_len(feed.subscribe(Some(3)).1), Some(2));
        assert_eq!(
            replayed(feed.subscribe(Some(2)).1),
            None,
            "older than the ring holds: resync"
        );
        // One frame over the whole budget is still kept, alone.
        feed.ingest(6, Bytes::from(vec![b' '; 20_000]), now);
        assert_eq!(feed.ring.len(), 1);
        assert_eq!(replayed_len(feed.subscribe(Some(5)).1), Some(1));
        // Small frames fill it again, the big one leaving once they pass the budget.
        feed.ingest(7, frame(7), now);
        assert_eq!(feed.ring.len(), 1);
        assert_eq!(replayed(feed.subscribe(Some(6)).1), Some(vec![7]));
        feed.link_restored();
        assert_eq!(feed.ring_bytes, 0);
    }

    fn replayed_len(replay: Replay) -> Option<usize> {
        match replay {
            Replay::Frames(frames) => Some(frames.len()),
            Replay::Nothing => Some(0),
            Replay::Resync => None,
        }
    }

    #[test]
    fn a_restored_link_resyncs_and_forgets_the_sequence() {
        let mut feed = feed(256);
        let (mut rx, _) = feed.subscribe(None);
        let now = Instant::now();
        feed.ingest(1, frame(1), now);
        feed.ingest(3, frame(3), now);
        feed.link_restored();
        assert_eq!(received(&mut rx), vec![1, 0]);
        assert_eq!(feed.gap_deadline(), None);
        assert_eq!(replayed(feed.subscribe(Some(1)).1), None);
        // Whatever comes next starts the sequence.
        assert_eq!(feed.ingest(9, frame(9), now).0, Ingested::Sent);
        assert_eq!(received(&mut rx), vec![9]);
    }

    #[test]
    fn a_subscriber_that_falls_behind_the_backlog_lags() {
        let mut feed = Feed::new(FeedLimits {
            backlog: 4,
            ring: 256,
            ring_bytes: usize::MAX,
            gap_wait: WAIT,
        });
        let (mut rx, _) = feed.subscribe(None);
        let now = Instant::now();
        for seq in 1..=5 {
            feed.ingest(seq, frame(seq), now);
        }
        assert!(matches!(rx.try_recv(), Err(TryRecvError::Lagged(1))));
    }
}
