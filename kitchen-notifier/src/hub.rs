//! The hub: for each watched restaurant, one feed that every local client of it shares.
//!
//! An event is serialized into a frame once and handed to all subscribers as a reference-counted
//! `Bytes` through a `broadcast` channel, whose lag detection doubles as slow-consumer detection.
//! The feed keeps the restaurant's last `seq` (dropping duplicates, holding back events that
//! arrive after a gap until the gap fills or `gap_wait` passes) and a ring of recent frames to
//! answer `?after=` on reconnect. Everything about one feed happens under its own lock, so a
//! new subscriber's replay and its live stream meet without a gap or an overlap.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use bytes::Bytes;
use shared_types::{KitchenFrame, OrderEvent, Slug};
use tokio::sync::{OnceCell, broadcast};

use crate::{
    broker::{BindError, Broker},
    config::Tuning,
};

/// What the hub sends to a restaurant's subscribers.
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

struct FeedState {
    last_seq: Option<i64>,
    ring: VecDeque<(i64, Bytes)>,
    /// Events that arrived after a gap, waiting for it to fill.
    pending: BTreeMap<i64, Bytes>,
    /// The seq a running gap timer waits for, if one runs.
    gap_awaited: Option<i64>,
    subscribers: usize,
    /// Bumped whenever the last subscriber leaves, so only the latest departure's grace
    /// period may retire the feed.
    emptied: u64,
}

pub struct Feed {
    slug: Slug,
    sender: broadcast::Sender<Outbound>,
    state: Mutex<FeedState>,
    bound: OnceCell<()>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data stays consistent even if a holder panicked: every update is complete
    // before anything that could panic.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Feed {
    fn new(slug: Slug, backlog: usize) -> Self {
        let (sender, _) = broadcast::channel(backlog.max(1));
        Self {
            slug,
            sender,
            state: Mutex::new(FeedState {
                last_seq: None,
                ring: VecDeque::new(),
                pending: BTreeMap::new(),
                gap_awaited: None,
                subscribers: 0,
                emptied: 0,
            }),
            bound: OnceCell::new(),
        }
    }
}

impl FeedState {
    fn emit(
        &mut self,
        seq: i64,
        frame: Bytes,
        sender: &broadcast::Sender<Outbound>,
        ring_size: usize,
    ) {
        self.last_seq = Some(seq);
        self.ring.push_back((seq, frame.clone()));
        while self.ring.len() > ring_size {
            self.ring.pop_front();
        }
        // No receivers is fine: the frame is still kept in the ring.
        let _ = sender.send(Outbound::Event(frame));
    }

    /// Emits held-back events that now follow on, and drops the ones already seen.
    fn drain_pending(&mut self, sender: &broadcast::Sender<Outbound>, ring_size: usize) {
        while let Some(entry) = self.pending.first_entry() {
            let seq = *entry.key();
            match self.last_seq {
                Some(last) if seq <= last => {
                    entry.remove();
                }
                Some(last) if seq == last + 1 => {
                    let frame = entry.remove();
                    self.emit(seq, frame, sender, ring_size);
                }
                _ => break,
            }
        }
    }

    /// Tells every subscriber to resync and starts the sequence afresh from the oldest event
    /// held back. Held-back events beyond a further hole stay held.
    fn resync(&mut self, sender: &broadcast::Sender<Outbound>, ring_size: usize) {
        let _ = sender.send(Outbound::Resync);
        self.ring.clear();
        self.last_seq = None;
        if let Some((seq, frame)) = self.pending.pop_first() {
            self.emit(seq, frame, sender, ring_size);
            self.drain_pending(sender, ring_size);
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

/// A client's place in a feed: its receiver, what to send first, and (when dropped) its
/// release of the feed.
pub struct Subscription {
    pub receiver: broadcast::Receiver<Outbound>,
    pub replay: Replay,
    _membership: Membership,
}

/// Counts one subscriber of a feed for as long as it lives.
struct Membership {
    hub: Arc<Hub>,
    feed: Arc<Feed>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.hub.release(&self.feed);
    }
}

pub struct Hub {
    feeds: Mutex<HashMap<Slug, Arc<Feed>>>,
    broker: Arc<Broker>,
    tuning: Tuning,
}

/// What happened to an incoming event.
#[derive(Debug, PartialEq, Eq)]
pub enum Ingested {
    Sent,
    Duplicate,
    HeldBack,
    NotWatched,
    Malformed,
}

impl Ingested {
    pub fn as_str(&self) -> &'static str {
        match self {
            Ingested::Sent => "sent",
            Ingested::Duplicate => "duplicate",
            Ingested::HeldBack => "held_back",
            Ingested::NotWatched => "not_watched",
            Ingested::Malformed => "malformed",
        }
    }
}

impl Hub {
    pub fn new(broker: Arc<Broker>, tuning: Tuning) -> Arc<Self> {
        Arc::new(Self {
            feeds: Mutex::new(HashMap::new()),
            broker,
            tuning,
        })
    }

    /// Subscribes to a restaurant's feed, binding its routing key first if this is the first
    /// local client, so that no event published after this returns can be missed.
    pub async fn subscribe(
        self: &Arc<Self>,
        slug: Slug,
        after: Option<i64>,
    ) -> Result<Subscription, BindError> {
        let feed = {
            let mut feeds = lock(&self.feeds);
            let feed = feeds
                .entry(slug.clone())
                .or_insert_with(|| Arc::new(Feed::new(slug, self.tuning.client_backlog)))
                .clone();
            lock(&feed.state).subscribers += 1;
            metrics::gauge!("notifier_watched_restaurants").set(feeds.len() as f64);
            feed
        };
        let membership = Membership {
            hub: self.clone(),
            feed: feed.clone(),
        };
        feed.bound
            .get_or_try_init(|| self.broker.bind(&feed.slug))
            .await?;
        let (receiver, replay) = {
            let state = lock(&feed.state);
            (feed.sender.subscribe(), state.replay_after(after))
        };
        Ok(Subscription {
            receiver,
            replay,
            _membership: membership,
        })
    }

    fn release(self: &Arc<Self>, feed: &Arc<Feed>) {
        let emptied = {
            let mut state = lock(&feed.state);
            state.subscribers = state.subscribers.saturating_sub(1);
            if state.subscribers > 0 {
                return;
            }
            state.emptied += 1;
            state.emptied
        };
        let hub = self.clone();
        let feed = feed.clone();
        // Outside a runtime (process teardown) there is nothing left to unbind for.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                tokio::time::sleep(hub.tuning.unbind_grace).await;
                hub.retire(feed, emptied).await;
            });
        }
    }

    /// Drops a feed that stayed without subscribers for the grace period since its last
    /// subscriber left (departure number `emptied`), and its binding.
    async fn retire(&self, feed: Arc<Feed>, emptied: u64) {
        self.broker
            .unbind_if(&feed.slug, || {
                let mut feeds = lock(&self.feeds);
                let unused = feeds.get(&feed.slug).is_some_and(|current| {
                    let state = lock(&feed.state);
                    Arc::ptr_eq(current, &feed)
                        && state.subscribers == 0
                        && state.emptied == emptied
                });
                if unused {
                    feeds.remove(&feed.slug);
                    metrics::gauge!("notifier_watched_restaurants").set(feeds.len() as f64);
                }
                unused
            })
            .await;
    }

    /// The restaurants with a feed, to re-bind after a reconnect.
    pub fn watched(&self) -> Vec<Slug> {
        lock(&self.feeds).keys().cloned().collect()
    }

    pub fn watched_count(&self) -> usize {
        lock(&self.feeds).len()
    }

    /// Parses a message from the broker and delivers it to the restaurant's feed.
    pub fn ingest(self: &Arc<Self>, body: &[u8]) -> Ingested {
        let Ok(event) = serde_json::from_slice::<OrderEvent>(body) else {
            return Ingested::Malformed;
        };
        let Ok(frame) = serde_json::to_vec(&KitchenFrame::from(&event)) else {
            return Ingested::Malformed;
        };
        self.deliver(&event.restaurant, event.seq, Bytes::from(frame))
    }

    pub fn deliver(self: &Arc<Self>, slug: &Slug, seq: i64, frame: Bytes) -> Ingested {
        let Some(feed) = lock(&self.feeds).get(slug).cloned() else {
            return Ingested::NotWatched;
        };
        // One frame, shared by every subscriber of the restaurant.
        let _fan_out = tracing::info_span!(
            "websocket fan-out",
            restaurant = %slug,
            seq,
            subscribers = feed.sender.receiver_count(),
            frame_bytes = frame.len(),
        )
        .entered();
        let ring_size = self.tuning.replay_ring;
        let mut state = lock(&feed.state);
        match state.last_seq {
            Some(last) if seq <= last => Ingested::Duplicate,
            Some(last) if seq > last + 1 => {
                state.pending.entry(seq).or_insert(frame);
                if state.gap_awaited.is_none() {
                    self.arm_gap_timer(&feed, &mut state, last + 1);
                }
                Ingested::HeldBack
            }
            _ => {
                state.emit(seq, frame, &feed.sender, ring_size);
                state.drain_pending(&feed.sender, ring_size);
                Ingested::Sent
            }
        }
    }

    /// Waits `gap_wait` for `awaited`; if it has not come by then, clients resync.
    fn arm_gap_timer(&self, feed: &Arc<Feed>, state: &mut FeedState, awaited: i64) {
        state.gap_awaited = Some(awaited);
        let feed = feed.clone();
        let wait = self.tuning.gap_wait;
        let ring_size = self.tuning.replay_ring;
        let gap_wait = self.tuning.gap_wait;
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            Self::gap_timer_fired(&feed, awaited, ring_size, gap_wait);
        });
    }

    fn gap_timer_fired(
        feed: &Arc<Feed>,
        awaited: i64,
        ring_size: usize,
        gap_wait: std::time::Duration,
    ) {
        let mut state = lock(&feed.state);
        if state.gap_awaited != Some(awaited) {
            return;
        }
        state.gap_awaited = None;
        let filled = state.last_seq.is_some_and(|last| last >= awaited);
        if !filled {
            tracing::warn!(slug = %feed.slug, missing = awaited, "an event is missing; clients resync");
            state.resync(&feed.sender, ring_size);
        }
        // Another hole further on gets a full wait of its own.
        if let (Some(last), false) = (state.last_seq, state.pending.is_empty()) {
            let next = last + 1;
            state.gap_awaited = Some(next);
            let feed = feed.clone();
            tokio::spawn(async move {
                tokio::time::sleep(gap_wait).await;
                Self::gap_timer_fired(&feed, next, ring_size, gap_wait);
            });
        }
    }

    /// After the broker link was lost, events may have passed by: every client resyncs.
    pub fn resync_all(&self) {
        let feeds: Vec<Arc<Feed>> = lock(&self.feeds).values().cloned().collect();
        for feed in feeds {
            let mut state = lock(&feed.state);
            state.resync(&feed.sender, self.tuning.replay_ring);
            // Whatever is still held back is stale now: start clean.
            state.pending.clear();
            state.gap_awaited = None;
        }
    }

    /// Marks a feed bound (after a re-bind on reconnect).
    pub fn mark_bound(&self, slug: &Slug) {
        if let Some(feed) = lock(&self.feeds).get(slug) {
            let _ = feed.bound.set(());
        }
    }
}
