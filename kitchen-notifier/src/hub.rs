//! The hub: the restaurants this instance watches, each with one [`Feed`] that all its local
//! subscribers share, and the one owner of the invariant "a feed exists exactly while its
//! restaurant is bound to this instance's queue":
//!
//! - the first subscriber binds before `subscribe` returns (so before the 101 goes out: a client
//!   that opens its socket and then reads the kitchen list misses nothing);
//! - the last one leaving unbinds after a grace period (a tablet reconnecting keeps the feed);
//! - a bind that fails rolls back at once;
//! - a bind and an unbind of one restaurant are never in flight together (each watch has one
//!   async lock for them), so an unbind cannot undo a newer bind.
//!
//! The hub talks to the broker only through [`BrokerLink`] and hears from it only through
//! [`LinkEvents`], so it is unit-tested with a fake link. Its timers (gap deadlines, unbind
//! grace periods) run on its own task tracker and stop with [`Hub::stop`].

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, MutexGuard, PoisonError, Weak},
};

use bytes::Bytes;
use shared_types::{KitchenFrame, OrderEvent, Slug};
use tokio::{
    sync::{broadcast, mpsc},
    time::Instant,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    config::Tuning,
    feed::{Feed, FeedLimits, Outbound, Replay},
    link::{BindError, BrokerLink, Ingested, LinkEvents},
};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data stays consistent even if a holder panicked: every update is complete
    // before anything that could panic.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One watched restaurant.
struct Watch {
    slug: Slug,
    feed: Mutex<Feed>,
    /// Whether the restaurant is bound; held across a bind or an unbind.
    bound: tokio::sync::Mutex<bool>,
}

/// A watch and its membership, counted under the hub's map lock.
struct Entry {
    watch: Arc<Watch>,
    subscribers: usize,
    /// Bumped whenever the last subscriber leaves, so only the latest departure's grace
    /// period may retire the watch.
    emptied: u64,
}

/// A client's place in a feed: its receiver, what to send first, and (when dropped) its
/// release of the feed.
pub struct Subscription {
    pub receiver: broadcast::Receiver<Outbound>,
    pub replay: Replay,
    membership: Membership,
}

impl Subscription {
    /// The highest `seq` the restaurant's feed has delivered (`None` if none since it
    /// started), which heartbeats carry.
    pub fn last_seq(&self) -> Option<i64> {
        lock(&self.membership.watch.feed).last_seq()
    }
}

/// Counts one subscriber of a watch for as long as it lives.
struct Membership {
    hub: Arc<Hub>,
    watch: Arc<Watch>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.hub.leave(&self.watch);
    }
}

pub struct Hub {
    watches: Mutex<HashMap<Slug, Entry>>,
    link: Arc<dyn BrokerLink>,
    tuning: Tuning,
    /// Gap deadlines, for the hub's timer task.
    deadlines: mpsc::UnboundedSender<(Instant, Slug)>,
    tasks: TaskTracker,
    stop: CancellationToken,
}

impl Hub {
    /// A hub and its timer task (on the current runtime).
    pub fn new(link: Arc<dyn BrokerLink>, tuning: Tuning) -> Arc<Self> {
        let (deadlines, due) = mpsc::unbounded_channel();
        let hub = Arc::new(Self {
            watches: Mutex::new(HashMap::new()),
            link,
            tuning,
            deadlines,
            tasks: TaskTracker::new(),
            stop: CancellationToken::new(),
        });
        hub.tasks
            .spawn(gap_timers(Arc::downgrade(&hub), due, hub.stop.clone()));
        hub
    }

    /// Ends the hub's timers (pending unbinds are moot: the queue goes with the connection).
    pub async fn stop(&self) {
        self.stop.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }

    fn limits(&self) -> FeedLimits {
        FeedLimits {
            backlog: self.tuning.client_backlog,
            ring: self.tuning.replay_ring,
            gap_wait: self.tuning.gap_wait,
        }
    }

    /// Subscribes to a restaurant's feed, binding it first if it is not bound yet, so that no
    /// event published after this returns can be missed.
    pub async fn subscribe(
        self: &Arc<Self>,
        slug: Slug,
        after: Option<i64>,
    ) -> Result<Subscription, BindError> {
        let watch = {
            let mut watches = lock(&self.watches);
            let entry = watches.entry(slug.clone()).or_insert_with(|| Entry {
                watch: Arc::new(Watch {
                    slug,
                    feed: Mutex::new(Feed::new(self.limits())),
                    bound: tokio::sync::Mutex::new(false),
                }),
                subscribers: 0,
                emptied: 0,
            });
            entry.subscribers += 1;
            let watch = entry.watch.clone();
            metrics::gauge!("notifier_watched_restaurants").set(watches.len() as f64);
            watch
        };
        {
            let mut bound = watch.bound.lock().await;
            if !*bound {
                if let Err(error) = self.link.bind(&watch.slug).await {
                    self.roll_back(&watch);
                    return Err(error);
                }
                *bound = true;
                tracing::debug!(slug = %watch.slug, "bound");
            }
        }
        let (receiver, replay) = lock(&watch.feed).subscribe(after);
        Ok(Subscription {
            receiver,
            replay,
            membership: Membership {
                hub: self.clone(),
                watch,
            },
        })
    }

    /// A subscriber whose bind failed leaves; an unbound watch nobody waits for goes at once.
    /// Runs under the watch's bind lock, so no other bind of it is in flight.
    fn roll_back(&self, watch: &Arc<Watch>) {
        let mut watches = lock(&self.watches);
        if let Some(entry) = watches.get_mut(&watch.slug)
            && Arc::ptr_eq(&entry.watch, watch)
        {
            entry.subscribers = entry.subscribers.saturating_sub(1);
            if entry.subscribers == 0 {
                watches.remove(&watch.slug);
                metrics::gauge!("notifier_watched_restaurants").set(watches.len() as f64);
            }
        }
    }

    /// A subscriber left; the last one leaving starts the grace period.
    fn leave(self: &Arc<Self>, watch: &Arc<Watch>) {
        let emptied = {
            let mut watches = lock(&self.watches);
            let Some(entry) = watches
                .get_mut(&watch.slug)
                .filter(|entry| Arc::ptr_eq(&entry.watch, watch))
            else {
                return;
            };
            entry.subscribers = entry.subscribers.saturating_sub(1);
            if entry.subscribers > 0 {
                return;
            }
            entry.emptied += 1;
            entry.emptied
        };
        // Outside a runtime (process teardown) there is nothing left to unbind for.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let hub = self.clone();
        let watch = watch.clone();
        let grace = self.tuning.unbind_grace;
        let stop = self.stop.clone();
        self.tasks.spawn_on(
            async move {
                tokio::select! {
                    _ = stop.cancelled() => {}
                    _ = tokio::time::sleep(grace) => hub.retire(&watch, emptied).await,
                }
            },
            &runtime,
        );
    }

    /// Unbinds and drops a watch that stayed without subscribers since departure `emptied`.
    /// A subscriber that arrives meanwhile waits for the unbind, then binds again.
    async fn retire(&self, watch: &Arc<Watch>, emptied: u64) {
        let unused = |watches: &HashMap<Slug, Entry>| {
            watches.get(&watch.slug).is_some_and(|entry| {
                Arc::ptr_eq(&entry.watch, watch)
                    && entry.subscribers == 0
                    && entry.emptied == emptied
            })
        };
        let mut bound = watch.bound.lock().await;
        if !unused(&lock(&self.watches)) {
            return;
        }
        if *bound {
            match self.link.unbind(&watch.slug).await {
                Ok(()) => tracing::debug!(slug = %watch.slug, "unbound"),
                Err(error) => tracing::warn!(slug = %watch.slug, %error, "unbind failed"),
            }
            *bound = false;
        }
        let mut watches = lock(&self.watches);
        if unused(&watches) {
            watches.remove(&watch.slug);
            metrics::gauge!("notifier_watched_restaurants").set(watches.len() as f64);
        } else {
            // Someone came back while it was unbound: what passed meanwhile is unknown.
            lock(&watch.feed).forget();
        }
    }

    /// The restaurants with a feed.
    pub fn watched(&self) -> Vec<Slug> {
        lock(&self.watches).keys().cloned().collect()
    }

    pub fn watched_count(&self) -> usize {
        lock(&self.watches).len()
    }

    /// Delivers one serialized event to the restaurant's feed.
    pub fn deliver_frame(&self, slug: &Slug, seq: i64, frame: Bytes) -> Ingested {
        let Some(watch) = lock(&self.watches)
            .get(slug)
            .map(|entry| entry.watch.clone())
        else {
            return Ingested::NotWatched;
        };
        let mut feed = lock(&watch.feed);
        // One frame, shared by every subscriber of the restaurant.
        let _fan_out = tracing::info_span!(
            "websocket fan-out",
            restaurant = %slug,
            seq,
            subscribers = feed.subscribers(),
            frame_bytes = frame.len(),
        )
        .entered();
        let (ingested, deadline) = feed.ingest(seq, frame, Instant::now());
        drop(feed);
        if let Some(deadline) = deadline {
            let _ = self.deadlines.send((deadline, slug.clone()));
        }
        ingested
    }

    /// A gap deadline of `slug` passed; returns the next one if a further hole is open.
    fn gap_deadline_passed(&self, slug: &Slug, now: Instant) -> Option<Instant> {
        let watch = lock(&self.watches).get(slug)?.watch.clone();
        let outcome = lock(&watch.feed).gap_deadline_passed(now);
        if let Some(missing) = outcome.resynced {
            tracing::warn!(%slug, missing, "an event is missing; clients resync");
        }
        outcome.next_deadline
    }
}

impl LinkEvents for Hub {
    fn deliver(&self, body: &[u8]) -> Ingested {
        let Ok(event) = serde_json::from_slice::<OrderEvent>(body) else {
            return Ingested::Malformed;
        };
        let Ok(frame) = serde_json::to_vec(&KitchenFrame::from(&event)) else {
            return Ingested::Malformed;
        };
        self.deliver_frame(&event.restaurant, event.seq, Bytes::from(frame))
    }

    fn restored(&self) {
        let watches: Vec<Arc<Watch>> = lock(&self.watches)
            .values()
            .map(|entry| entry.watch.clone())
            .collect();
        for watch in watches {
            lock(&watch.feed).link_restored();
        }
    }
}

/// The hub's one timer task for gap deadlines: a feed that opens a hole sends its deadline
/// here; when it passes, the feed decides (it may have filled meanwhile).
async fn gap_timers(
    hub: Weak<Hub>,
    mut incoming: mpsc::UnboundedReceiver<(Instant, Slug)>,
    stop: CancellationToken,
) {
    let mut due: BTreeMap<Instant, Vec<Slug>> = BTreeMap::new();
    loop {
        let next = due.first_key_value().map(|(at, _)| *at);
        tokio::select! {
            _ = stop.cancelled() => return,
            received = incoming.recv() => match received {
                Some((at, slug)) => due.entry(at).or_default().push(slug),
                None => return,
            },
            _ = sleep_until(next) => {
                let Some((_, slugs)) = due.pop_first() else { continue };
                let Some(hub) = hub.upgrade() else { return };
                let now = Instant::now();
                for slug in slugs {
                    if let Some(at) = hub.gap_deadline_passed(&slug, now) {
                        due.entry(at).or_default().push(slug);
                    }
                }
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::future::BoxFuture;
    use tokio::sync::{Notify, broadcast::error::TryRecvError};

    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Call {
        Bind(String),
        Unbind(String),
    }

    /// A link that records what the hub asks of it; the next `failures` binds fail, and
    /// binds (unbinds) wait for `release` while `holding` (`holding_unbind`).
    #[derive(Default)]
    struct FakeLink {
        calls: Mutex<Vec<Call>>,
        failures: std::sync::atomic::AtomicUsize,
        holding: std::sync::atomic::AtomicBool,
        holding_unbind: std::sync::atomic::AtomicBool,
        release: Notify,
        entered: Notify,
    }

    impl FakeLink {
        fn calls(&self) -> Vec<Call> {
            lock(&self.calls).clone()
        }
    }

    impl BrokerLink for FakeLink {
        fn bind<'a>(&'a self, slug: &'a Slug) -> BoxFuture<'a, Result<(), BindError>> {
            Box::pin(async move {
                use std::sync::atomic::Ordering::SeqCst;
                if self.holding.load(SeqCst) {
                    self.entered.notify_one();
                    self.release.notified().await;
                }
                let fail = self
                    .failures
                    .fetch_update(SeqCst, SeqCst, |left| left.checked_sub(1))
                    .is_ok();
                if fail {
                    return Err(BindError::Disconnected);
                }
                lock(&self.calls).push(Call::Bind(slug.to_string()));
                Ok(())
            })
        }

        fn unbind<'a>(&'a self, slug: &'a Slug) -> BoxFuture<'a, Result<(), BindError>> {
            Box::pin(async move {
                if self
                    .holding_unbind
                    .load(std::sync::atomic::Ordering::SeqCst)
                {
                    self.entered.notify_one();
                    self.release.notified().await;
                }
                lock(&self.calls).push(Call::Unbind(slug.to_string()));
                Ok(())
            })
        }
    }

    const GRACE: Duration = Duration::from_secs(30);
    const GAP: Duration = Duration::from_secs(1);

    fn hub() -> (Arc<Hub>, Arc<FakeLink>) {
        let link = Arc::new(FakeLink::default());
        let tuning = Tuning {
            unbind_grace: GRACE,
            gap_wait: GAP,
            ..Tuning::default()
        };
        (Hub::new(link.clone(), tuning), link)
    }

    fn slug(name: &str) -> Slug {
        Slug::parse(name).unwrap()
    }

    fn bind(name: &str) -> Call {
        Call::Bind(name.to_owned())
    }

    fn unbind(name: &str) -> Call {
        Call::Unbind(name.to_owned())
    }

    /// Lets spawned tasks run until they wait on something (the clock is paused).
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    fn frames(receiver: &mut broadcast::Receiver<Outbound>) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            match receiver.try_recv() {
                Ok(Outbound::Event(bytes)) => seen.push(String::from_utf8(bytes.to_vec()).unwrap()),
                Ok(Outbound::Resync) => seen.push("resync".into()),
                Err(TryRecvError::Empty) => return seen,
                Err(other) => panic!("{other}"),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_subscriber_binds_and_later_ones_share_the_binding() {
        let (hub, link) = hub();
        let first = hub.subscribe(slug("luigis"), None).await.unwrap();
        assert_eq!(link.calls(), vec![bind("luigis")]);
        let second = hub.subscribe(slug("luigis"), None).await.unwrap();
        let other = hub.subscribe(slug("marios"), None).await.unwrap();
        assert_eq!(link.calls(), vec![bind("luigis"), bind("marios")]);
        assert_eq!(hub.watched_count(), 2);
        drop((first, second, other));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_first_subscribers_bind_once() {
        let (hub, link) = hub();
        link.holding
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let a = tokio::spawn({
            let hub = hub.clone();
            async move { hub.subscribe(slug("luigis"), None).await.map(|_| ()) }
        });
        link.entered.notified().await;
        let b = tokio::spawn({
            let hub = hub.clone();
            async move { hub.subscribe(slug("luigis"), None).await.map(|_| ()) }
        });
        settle().await;
        link.holding
            .store(false, std::sync::atomic::Ordering::SeqCst);
        link.release.notify_one();
        a.await.unwrap().unwrap();
        b.await.unwrap().unwrap();
        assert_eq!(link.calls(), vec![bind("luigis")]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_last_subscriber_leaving_unbinds_after_the_grace_period() {
        let (hub, link) = hub();
        let a = hub.subscribe(slug("luigis"), None).await.unwrap();
        let b = hub.subscribe(slug("luigis"), None).await.unwrap();
        drop(a);
        tokio::time::sleep(GRACE * 2).await;
        assert_eq!(link.calls(), vec![bind("luigis")], "one subscriber is left");
        drop(b);
        tokio::time::sleep(GRACE - Duration::from_millis(1)).await;
        settle().await;
        assert_eq!(link.calls(), vec![bind("luigis")], "still within the grace");
        assert_eq!(hub.watched_count(), 1);
        tokio::time::sleep(Duration::from_millis(2)).await;
        settle().await;
        assert_eq!(link.calls(), vec![bind("luigis"), unbind("luigis")]);
        assert_eq!(hub.watched_count(), 0);
        assert_eq!(
            hub.deliver_frame(&slug("luigis"), 1, Bytes::new()),
            Ingested::NotWatched
        );
    }

    #[tokio::test(start_paused = true)]
    async fn coming_back_within_the_grace_keeps_the_binding_and_the_ring() {
        let (hub, link) = hub();
        let first = hub.subscribe(slug("luigis"), None).await.unwrap();
        for seq in 1..=3 {
            hub.deliver_frame(&slug("luigis"), seq, Bytes::from(format!("{seq}")));
        }
        drop(first);
        tokio::time::sleep(GRACE / 2).await;
        let back = hub.subscribe(slug("luigis"), Some(1)).await.unwrap();
        assert!(matches!(&back.replay, Replay::Frames(frames) if frames.len() == 2));
        tokio::time::sleep(GRACE * 2).await;
        settle().await;
        assert_eq!(link.calls(), vec![bind("luigis")]);
        // Only the latest departure's grace counts.
        drop(back);
        let again = hub.subscribe(slug("luigis"), None).await.unwrap();
        drop(again);
        tokio::time::sleep(GRACE / 2).await;
        settle().await;
        assert_eq!(link.calls(), vec![bind("luigis")]);
        tokio::time::sleep(GRACE).await;
        settle().await;
        assert_eq!(link.calls(), vec![bind("luigis"), unbind("luigis")]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_bind_rolls_back_at_once() {
        let (hub, link) = hub();
        link.failures.store(1, std::sync::atomic::Ordering::SeqCst);
        assert!(hub.subscribe(slug("luigis"), None).await.is_err());
        assert_eq!(hub.watched_count(), 0, "no feed without its binding");
        assert_eq!(
            hub.deliver_frame(&slug("luigis"), 1, Bytes::new()),
            Ingested::NotWatched
        );
        let _client = hub.subscribe(slug("luigis"), None).await.unwrap();
        assert_eq!(link.calls(), vec![bind("luigis")]);
        // Nothing is unbound later for the failed attempt.
        tokio::time::sleep(GRACE * 2).await;
        settle().await;
        assert_eq!(link.calls(), vec![bind("luigis")]);
        assert_eq!(hub.watched_count(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_bind_leaves_a_waiting_subscriber_to_try_again() {
        let (hub, link) = hub();
        link.holding
            .store(true, std::sync::atomic::Ordering::SeqCst);
        link.failures.store(1, std::sync::atomic::Ordering::SeqCst);
        let first = tokio::spawn({
            let hub = hub.clone();
            async move { hub.subscribe(slug("luigis"), None).await.map(|_| ()) }
        });
        link.entered.notified().await;
        let second = tokio::spawn({
            let hub = hub.clone();
            async move { hub.subscribe(slug("luigis"), None).await.is_ok() }
        });
        settle().await;
        link.holding
            .store(false, std::sync::atomic::Ordering::SeqCst);
        link.release.notify_one();
        assert!(first.await.unwrap().is_err());
        // The second subscriber was counted all along, so the watch stayed; it binds itself.
        assert!(second.await.unwrap());
        assert_eq!(link.calls(), vec![bind("luigis")]);
        assert_eq!(hub.watched_count(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_subscriber_arriving_as_the_grace_ends_keeps_the_watch() {
        let (hub, link) = hub();
        drop(hub.subscribe(slug("luigis"), None).await.unwrap());
        hub.deliver_frame(&slug("luigis"), 1, Bytes::from_static(b"1"));
        // Hold the watch's bind lock so the retire waits for it, as a bind in flight would.
        let watch = lock(&hub.watches)[&slug("luigis")].watch.clone();
        let held = watch.bound.lock().await;
        tokio::time::sleep(GRACE * 2).await;
        settle().await;
        let back = tokio::spawn({
            let hub = hub.clone();
            async move {
                let subscription = hub.subscribe(slug("luigis"), Some(1)).await.unwrap();
                matches!(subscription.replay, Replay::Nothing)
            }
        });
        settle().await;
        drop(held);
        // The retire saw the newcomer: no unbind, and the feed kept its sequence.
        assert!(back.await.unwrap());
        settle().await;
        assert_eq!(link.calls(), vec![bind("luigis")]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_subscriber_arriving_during_the_unbind_binds_again_after_it() {
        let (hub, link) = hub();
        drop(hub.subscribe(slug("luigis"), None).await.unwrap());
        hub.deliver_frame(&slug("luigis"), 1, Bytes::from_static(b"1"));
        link.holding_unbind
            .store(true, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(GRACE).await;
        link.entered.notified().await;
        let back = tokio::spawn({
            let hub = hub.clone();
            async move {
                let subscription = hub.subscribe(slug("luigis"), Some(1)).await.unwrap();
                matches!(subscription.replay, Replay::Resync)
            }
        });
        settle().await;
        assert_eq!(link.calls(), vec![bind("luigis")], "the newcomer waits");
        link.holding_unbind
            .store(false, std::sync::atomic::Ordering::SeqCst);
        link.release.notify_one();
        // Unbound for a moment, the feed cannot vouch for what passed: `after` gets resync.
        assert!(back.await.unwrap());
        assert_eq!(
            link.calls(),
            vec![bind("luigis"), unbind("luigis"), bind("luigis")]
        );
        assert_eq!(hub.watched_count(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hole_is_waited_for_on_the_hubs_timer_then_resynced() {
        let (hub, _link) = hub();
        let mut client = hub.subscribe(slug("luigis"), None).await.unwrap();
        let luigis = slug("luigis");
        hub.deliver_frame(&luigis, 1, Bytes::from_static(b"1"));
        assert_eq!(
            hub.deliver_frame(&luigis, 3, Bytes::from_static(b"3")),
            Ingested::HeldBack
        );
        tokio::time::sleep(GAP / 2).await;
        settle().await;
        assert_eq!(frames(&mut client.receiver), vec!["1"]);
        tokio::time::sleep(GAP / 2).await;
        settle().await;
        assert_eq!(frames(&mut client.receiver), vec!["resync", "3"]);
        // A hole that fills in time: no resync.
        hub.deliver_frame(&luigis, 5, Bytes::from_static(b"5"));
        tokio::time::sleep(GAP / 2).await;
        hub.deliver_frame(&luigis, 4, Bytes::from_static(b"4"));
        tokio::time::sleep(GAP * 2).await;
        settle().await;
        assert_eq!(frames(&mut client.receiver), vec!["4", "5"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_restored_link_resyncs_every_feed() {
        let (hub, _link) = hub();
        let mut a = hub.subscribe(slug("luigis"), None).await.unwrap();
        let mut b = hub.subscribe(slug("marios"), None).await.unwrap();
        hub.deliver_frame(&slug("luigis"), 1, Bytes::from_static(b"1"));
        hub.restored();
        assert_eq!(frames(&mut a.receiver), vec!["1", "resync"]);
        assert_eq!(frames(&mut b.receiver), vec!["resync"]);
    }

    #[tokio::test(start_paused = true)]
    async fn deliveries_are_parsed_into_frames() {
        let (hub, _link) = hub();
        assert_eq!(hub.deliver(b"not json"), Ingested::Malformed);
        assert_eq!(
            hub.deliver(br#"{"event":"order.confirmed"}"#),
            Ingested::Malformed
        );
    }

    #[test]
    fn a_subscription_dropped_after_its_runtime_is_gone_does_not_panic() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let subscription = runtime.block_on(async {
            let (hub, _link) = hub();
            hub.subscribe(slug("luigis"), None).await.unwrap()
        });
        drop(runtime);
        drop(subscription);
    }

    #[tokio::test(start_paused = true)]
    async fn stop_ends_the_timers() {
        let (hub, _link) = hub();
        drop(hub.subscribe(slug("luigis"), None).await.unwrap());
        tokio::time::timeout(Duration::from_secs(1), hub.stop())
            .await
            .expect("the hub's tasks end on stop");
    }
}
