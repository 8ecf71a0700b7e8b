//! What a kitchen socket saw versus what the workers sent: per-socket `seq` accounting (lost,
//! duplicated, out of order) and the attribution of each frame to the request that caused it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;

use crate::stats::Histogram;

/// The statuses an order passes through under load, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Confirmed,
    Preparing,
    Ready,
    Completed,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Confirmed,
        Status::Preparing,
        Status::Ready,
        Status::Completed,
    ];
    /// The moves a worker makes after the confirm.
    pub const MOVES: [Status; 3] = [Status::Preparing, Status::Ready, Status::Completed];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Confirmed => "confirmed",
            Status::Preparing => "preparing",
            Status::Ready => "ready",
            Status::Completed => "completed",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Every order a worker places carries `table_identifier = "lg-<tag>"`, a number known before
/// the confirm is sent. The confirm's frame can arrive before the response that tells us the
/// order id, so frames are attributed by (tag, status) rather than (order id, status).
pub fn table_identifier(tag: u64) -> String {
    format!("lg-{tag}")
}

pub fn parse_tag(table_identifier: &str) -> Option<u64> {
    table_identifier.strip_prefix("lg-")?.parse().ok()
}

/// The fields of a kitchen frame that the bookkeeping needs; the rest is skipped.
#[derive(Debug, Default, Deserialize)]
pub struct Frame {
    pub event: Option<String>,
    pub seq: Option<i64>,
    pub status: Option<String>,
    pub table_identifier: Option<String>,
    /// When order-service decided the change (its clock, the machine's).
    pub updated_at: Option<String>,
}

/// An RFC 3339 time as a wall-clock instant.
pub fn wall_time(text: &str) -> Option<SystemTime> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(SystemTime::from)
}

/// `later - earlier` in microseconds, 0 if it is not later.
pub fn micros_between(earlier: SystemTime, later: SystemTime) -> u64 {
    later
        .duration_since(earlier)
        .map_or(0, |d| d.as_micros() as u64)
}

/// How a frame's `seq` relates to what the socket has seen.
#[derive(Debug, PartialEq, Eq)]
pub enum Arrival {
    /// The next one, or later ones after a gap.
    InOrder,
    /// Fills an earlier gap: received, but out of `seq` order.
    Late,
    /// Seen before.
    Duplicate,
    /// At or below the socket's starting point: not part of the run.
    Unexpected,
}

/// `seq` accounting for one socket that started after `baseline`. Gaps are kept as ranges, so
/// memory grows with the number of gaps, not with the number of frames.
#[derive(Debug)]
pub struct SeqTracker {
    baseline: i64,
    highest: i64,
    /// Missing seqs below `highest`: start -> end, both inclusive.
    missing: BTreeMap<i64, i64>,
    pub received: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub unexpected: u64,
}

impl SeqTracker {
    pub fn new(baseline: i64) -> Self {
        Self {
            baseline,
            highest: baseline,
            missing: BTreeMap::new(),
            received: 0,
            duplicates: 0,
            out_of_order: 0,
            unexpected: 0,
        }
    }

    pub fn observe(&mut self, seq: i64) -> Arrival {
        if seq <= self.baseline {
            self.unexpected += 1;
            return Arrival::Unexpected;
        }
        if seq > self.highest {
            if seq > self.highest + 1 {
                self.missing.insert(self.highest + 1, seq - 1);
            }
            self.highest = seq;
            self.received += 1;
            return Arrival::InOrder;
        }
        let gap = self
            .missing
            .range(..=seq)
            .next_back()
            .map(|(&s, &e)| (s, e));
        match gap {
            Some((start, end)) if seq <= end => {
                self.missing.remove(&start);
                if start < seq {
                    self.missing.insert(start, seq - 1);
                }
                if seq < end {
                    self.missing.insert(seq + 1, end);
                }
                self.received += 1;
                self.out_of_order += 1;
                Arrival::Late
            }
            _ => {
                self.duplicates += 1;
                Arrival::Duplicate
            }
        }
    }

    /// The events up to `last_seq` (the restaurant's newest) this socket never received.
    pub fn lost(&self, last_seq: i64) -> u64 {
        let gaps: i64 = self.missing.iter().map(|(s, e)| e - s + 1).sum();
        let tail = (last_seq - self.highest).max(0);
        (gaps + tail) as u64
    }

    /// The highest `seq` received (the baseline if none).
    pub fn highest(&self) -> i64 {
        self.highest
    }

    pub fn expected(&self, last_seq: i64) -> u64 {
        (last_seq - self.baseline).max(0) as u64
    }
}

struct Pending {
    sent: Instant,
    /// The same moment on the wall clock, to compare with the server's times.
    sent_wall: SystemTime,
    /// Whether a frame of this event has arrived yet.
    seen: bool,
    /// Sockets that have not received this event yet; the entry goes at 0.
    remaining: u32,
}

/// Send times of events in flight and the delays of the frames that answered them.
pub struct Attribution {
    pending: HashMap<(u64, Status), Pending>,
    pub delay: Histogram,
    pub by_status: [Histogram; 4],
    /// Since the last `take_window` (soak).
    pub window: Histogram,
    pub unattributed: u64,
    /// Per event: from just before the request to the server's decision (`updated_at`).
    pub sent_to_decided: Histogram,
    /// Per frame: from the server's decision to the frame's arrival.
    pub decided_to_frame: Histogram,
}

impl Default for Attribution {
    fn default() -> Self {
        Self::new()
    }
}

impl Attribution {
    pub fn new() -> Self {
        Self {
            pending: HashMap::new(),
            delay: Histogram::new(),
            by_status: Default::default(),
            window: Histogram::new(),
            unattributed: 0,
            sent_to_decided: Histogram::new(),
            decided_to_frame: Histogram::new(),
        }
    }

    /// Called just before the request is sent; returns the send time it recorded.
    pub fn sending(&mut self, tag: u64, status: Status, sockets: u32) -> Instant {
        let sent = Instant::now();
        if sockets > 0 {
            self.pending.insert(
                (tag, status),
                Pending {
                    sent,
                    sent_wall: SystemTime::now(),
                    seen: false,
                    remaining: sockets,
                },
            );
        }
        sent
    }

    /// The request was refused, so no frame will come.
    pub fn refused(&mut self, tag: u64, status: Status) {
        self.pending.remove(&(tag, status));
    }

    /// A socket received the (non-duplicate) frame of this event at `at`; `decided` is the
    /// order's `updated_at` in it.
    pub fn arrived(
        &mut self,
        tag: u64,
        status: Status,
        at: Instant,
        decided: Option<SystemTime>,
    ) -> Option<Duration> {
        let Some(pending) = self.pending.get_mut(&(tag, status)) else {
            self.unattributed += 1;
            return None;
        };
        let delay = at.saturating_duration_since(pending.sent);
        if let Some(decided) = decided {
            if !pending.seen {
                self.sent_to_decided
                    .record(micros_between(pending.sent_wall, decided));
            }
            self.decided_to_frame
                .record(micros_between(decided, pending.sent_wall + delay));
        }
        pending.seen = true;
        pending.remaining = pending.remaining.saturating_sub(1);
        if pending.remaining == 0 {
            self.pending.remove(&(tag, status));
        }
        let micros = delay.as_micros() as u64;
        self.delay.record(micros);
        self.window.record(micros);
        self.by_status[status as usize].record(micros);
        Some(delay)
    }

    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    pub fn take_window(&mut self) -> Histogram {
        std::mem::take(&mut self.window)
    }
}

/// What one kitchen socket saw.
#[derive(Debug)]
pub struct SocketLog {
    pub restaurant: usize,
    pub seq: SeqTracker,
    pub resyncs: u64,
    /// Heartbeats (the notifier's "still here" after 10 s without a frame); not events.
    pub heartbeats: u64,
    pub malformed: u64,
    /// Why it stopped before the end of the run (close code or error); `None` if it lasted.
    pub ended: Option<String>,
}

impl SocketLog {
    pub fn new(restaurant: usize, baseline: i64) -> Self {
        Self {
            restaurant,
            seq: SeqTracker::new(baseline),
            resyncs: 0,
            heartbeats: 0,
            malformed: 0,
            ended: None,
        }
    }

    /// Accounts for one text frame received at `at`; `None` if it carried no `seq`.
    pub fn on_text(
        &mut self,
        text: &str,
        at: Instant,
        attribution: &Mutex<Attribution>,
    ) -> Option<Arrival> {
        let Ok(frame) = serde_json::from_str::<Frame>(text) else {
            self.malformed += 1;
            return None;
        };
        match frame.event.as_deref() {
            Some("resync") => {
                self.resyncs += 1;
                return None;
            }
            Some("heartbeat") => {
                self.heartbeats += 1;
                return None;
            }
            _ => {}
        }
        let Some(seq) = frame.seq else {
            self.malformed += 1;
            return None;
        };
        let arrival = self.seq.observe(seq);
        if matches!(arrival, Arrival::InOrder | Arrival::Late) {
            let key = frame
                .table_identifier
                .as_deref()
                .and_then(parse_tag)
                .zip(frame.status.as_deref().and_then(Status::parse));
            let mut attribution = lock(attribution);
            let decided = frame.updated_at.as_deref().and_then(wall_time);
            match key {
                Some((tag, status)) => {
                    attribution.arrived(tag, status, at, decided);
                }
                None => attribution.unattributed += 1,
            }
        }
        Some(arrival)
    }
}

/// A poisoned lock only means another task panicked mid-update of counters; keep counting.
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(seqs: &[i64]) -> (SeqTracker, Vec<Arrival>) {
        let mut tracker = SeqTracker::new(0);
        let arrivals = seqs.iter().map(|&s| tracker.observe(s)).collect();
        (tracker, arrivals)
    }

    #[test]
    fn in_order_stream_is_clean() {
        let (t, _) = feed(&[1, 2, 3, 4, 5]);
        assert_eq!((t.received, t.expected(5), t.lost(5)), (5, 5, 0));
        assert_eq!((t.duplicates, t.out_of_order, t.unexpected), (0, 0, 0));
    }

    #[test]
    fn repeats_are_duplicates() {
        let (t, arrivals) = feed(&[1, 2, 2, 3, 1]);
        assert_eq!(arrivals[2], Arrival::Duplicate);
        assert_eq!(
            (t.received, t.duplicates, t.out_of_order, t.lost(3)),
            (3, 2, 0, 0)
        );
    }

    #[test]
    fn a_filled_gap_is_out_of_order_not_lost() {
        let (t, arrivals) = feed(&[1, 3, 2, 4]);
        assert_eq!(
            arrivals,
            [
                Arrival::InOrder,
                Arrival::InOrder,
                Arrival::Late,
                Arrival::InOrder
            ]
        );
        assert_eq!(
            (t.received, t.out_of_order, t.lost(4), t.duplicates),
            (4, 1, 0, 0)
        );
    }

    #[test]
    fn gaps_and_a_missing_tail_are_lost() {
        // 3 and 4 skipped, 6 never came.
        let (t, _) = feed(&[1, 2, 5]);
        assert_eq!((t.received, t.lost(6), t.expected(6)), (3, 3, 6));
    }

    #[test]
    fn a_late_frame_inside_a_wide_gap_splits_it() {
        let (t, _) = feed(&[1, 10, 5, 5, 2, 9]);
        // missing 3,4,6,7,8; 5 repeated once.
        assert_eq!(t.lost(10), 5);
        assert_eq!((t.out_of_order, t.duplicates, t.received), (3, 1, 5));
    }

    #[test]
    fn frames_before_the_baseline_are_unexpected() {
        let mut t = SeqTracker::new(10);
        assert_eq!(t.observe(10), Arrival::Unexpected);
        assert_eq!(t.observe(11), Arrival::InOrder);
        assert_eq!(
            (t.unexpected, t.received, t.expected(12), t.lost(12)),
            (1, 1, 2, 1)
        );
    }

    #[test]
    fn nothing_received_loses_everything() {
        let t = SeqTracker::new(3);
        assert_eq!((t.expected(8), t.lost(8)), (5, 5));
    }

    #[test]
    fn the_servers_decision_splits_each_delay_in_two() {
        let mut a = Attribution::new();
        let sent = a.sending(7, Status::Ready, 2);
        let sent_wall = a.pending[&(7, Status::Ready)].sent_wall;
        let decided = sent_wall + Duration::from_millis(1);
        for after in [3, 5] {
            a.arrived(
                7,
                Status::Ready,
                sent + Duration::from_millis(after),
                Some(decided),
            );
        }
        // Once per event: the request's way in; per frame: the rest of its way.
        assert_eq!(a.sent_to_decided.count(), 1);
        assert_eq!(a.sent_to_decided.max(), Some(1_000));
        assert_eq!(a.decided_to_frame.count(), 2);
        assert_eq!(a.decided_to_frame.max(), Some(4_000));
        assert!(wall_time("2026-12-03T11:20:18.635349Z").is_some());
        assert_eq!(wall_time("yesterday"), None);
    }

    #[test]
    fn each_socket_is_attributed_once_then_forgotten() {
        let mut a = Attribution::new();
        let sent = a.sending(7, Status::Ready, 2);
        let later = sent + Duration::from_millis(3);
        assert_eq!(
            a.arrived(7, Status::Ready, later, None),
            Some(Duration::from_millis(3))
        );
        assert_eq!(a.in_flight(), 1);
        assert!(a.arrived(7, Status::Ready, later, None).is_some());
        assert_eq!(a.in_flight(), 0);
        // A third socket's frame, or one for an event never sent, has no send time.
        assert_eq!(a.arrived(7, Status::Ready, later, None), None);
        assert_eq!(a.arrived(8, Status::Confirmed, later, None), None);
        assert_eq!(a.unattributed, 2);
        assert_eq!(a.delay.count(), 2);
        assert_eq!(a.by_status[Status::Ready as usize].count(), 2);
        assert_eq!(a.take_window().count(), 2);
        assert_eq!(a.window.count(), 0);
    }

    #[test]
    fn refused_requests_expect_no_frame() {
        let mut a = Attribution::new();
        a.sending(1, Status::Confirmed, 3);
        a.refused(1, Status::Confirmed);
        assert_eq!(a.in_flight(), 0);
    }

    #[test]
    fn tags_round_trip_and_reject_strangers() {
        assert_eq!(parse_tag(&table_identifier(42)), Some(42));
        assert_eq!(parse_tag("5"), None);
        assert_eq!(parse_tag("lg-x"), None);
        assert_eq!(Status::parse("ready"), Some(Status::Ready));
        assert_eq!(Status::parse("cancelled"), None);
    }

    #[test]
    fn a_synthetic_frame_stream_is_accounted() {
        let attribution = Mutex::new(Attribution::new());
        let start = lock(&attribution).sending(1, Status::Confirmed, 1);
        lock(&attribution).sending(1, Status::Preparing, 1);
        let mut log = SocketLog::new(0, 0);
        let frame = |seq: i64, status: &str| {
            format!(
                r#"{{"id":"5b2f","status":"{status}","version":1,"seq":{seq},"event":"order.status_changed","event_id":"e","table_identifier":"lg-1","items":[]}}"#
            )
        };
        let at = start + Duration::from_millis(5);
        assert_eq!(
            log.on_text(&frame(1, "confirmed"), at, &attribution),
            Some(Arrival::InOrder)
        );
        assert_eq!(
            log.on_text(&frame(1, "confirmed"), at, &attribution),
            Some(Arrival::Duplicate)
        );
        assert_eq!(log.on_text(r#"{"event":"resync"}"#, at, &attribution), None);
        let beat = r#"{"event":"heartbeat","seq":1,"at":"2026-12-02T12:00:00.000Z"}"#;
        assert_eq!(log.on_text(beat, at, &attribution), None);
        assert_eq!(log.heartbeats, 1);
        assert_eq!(log.on_text("not json", at, &attribution), None);
        assert_eq!(
            log.on_text(&frame(3, "preparing"), at, &attribution),
            Some(Arrival::InOrder)
        );
        assert_eq!(
            log.on_text(&frame(2, "ready"), at, &attribution),
            Some(Arrival::Late)
        );

        assert_eq!((log.resyncs, log.malformed), (1, 1));
        assert_eq!(
            (log.seq.received, log.seq.duplicates, log.seq.out_of_order),
            (3, 1, 1)
        );
        assert_eq!(log.seq.lost(4), 1);
        let attribution = lock(&attribution);
        // The duplicate is not timed; "ready" was never sent, so it has no send time.
        assert_eq!(attribution.delay.count(), 2);
        assert_eq!(attribution.delay.max(), Some(5_000));
        assert_eq!(attribution.unattributed, 1);
        assert_eq!(attribution.in_flight(), 0);
    }
}
