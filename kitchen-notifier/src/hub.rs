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
//! It also knows whose sockets these are (the ticket's user), so a `staff.removed` closes every
//! socket of that user at that restaurant at once: each subscription carries a one-time "close
//! with this code" slot that the hub fills and the socket awaits (the socket loop imports the
//! hub, never the other way round). Removals heard within a ticket's lifetime are remembered,
//! so a ticket issued before one cannot open a new socket either.
//!
//! The hub talks to the broker only through [`BrokerLink`] and hears from it only through
//! [`LinkEvents`], so it is unit-tested with a fake link. Its timers (gap deadlines, unbind
//! grace periods) run on its own task tracker and stop with [`Hub::stop`].

use std::{
    collections::{BTreeMap, HashMap},
    future::Future,
    sync::{Arc, Mutex, MutexGuard, PoisonError, Weak},
    time::Duration,
};

use bytes::Bytes;
use shared_types::{KitchenFrame, OrderEvent, Slug, StaffRemoved, TICKET_TTL_SECS};
use tokio::{
    sync::{SetOnce, broadcast, mpsc},
    time::Instant,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use uuid::Uuid;

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

/// Close code of a socket whose user was removed from the restaurant's staff: in the private
/// range 4000–4999, and 4403 to echo HTTP 403 (the client should not reconnect with the ticket
/// it has, and a new one is refused).
pub const STAFF_ACCESS_REMOVED: u16 = 4403;

/// Why the hub asks a socket to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseRequest {
    /// The socket's user is no longer staff of its restaurant.
    StaffAccessRemoved,
}

impl CloseRequest {
    pub fn code(self) -> u16 {
        match self {
            CloseRequest::StaffAccessRemoved => STAFF_ACCESS_REMOVED,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            CloseRequest::StaffAccessRemoved => "staff access removed",
        }
    }
}

/// Who opens a socket, as their ticket says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub user_id: Uuid,
    /// The ticket's `iat` (Unix seconds, order-service's clock).
    pub ticket_issued_at: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    #[error(transparent)]
    Bind(#[from] BindError),
    /// The viewer was removed from the restaurant's staff at or after the ticket was issued.
    #[error("the user's staff access to this restaurant was removed after the ticket was issued")]
    AccessRemoved,
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

    /// Resolves when the hub asks this socket to close, with why (so with which code).
    pub fn close_requested(&self) -> impl Future<Output = CloseRequest> + Send + 'static {
        let close = self.membership.close.clone();
        async move { *close.wait().await }
    }
}

/// Counts one subscriber of a watch for as long as it lives, and keeps its socket known to the
/// hub under its user.
struct Membership {
    hub: Arc<Hub>,
    watch: Arc<Watch>,
    /// Its key among the hub's user sockets.
    socket: (Uuid, u64),
    close: Arc<SetOnce<CloseRequest>>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        lock(&self.hub.users).sockets.remove(&self.socket);
        self.hub.leave(&self.watch);
    }
}

/// How long a heard removal is remembered: as long as a ticket issued before it can be valid
/// (its lifetime, the verifier's 2 s leeway, and a margin for the message's way here).
const REMOVAL_MEMORY: Duration = Duration::from_secs(TICKET_TTL_SECS + 10);

/// One open socket of a user, to close when they lose their staff access.
struct UserSocket {
    watch: Arc<Watch>,
    close: Arc<SetOnce<CloseRequest>>,
}

/// A `staff.removed` heard here.
struct Removal {
    slug: Slug,
    /// When it happened (Unix seconds, order-service's clock, like a ticket's `iat`).
    removed_at: i64,
    heard_at: Instant,
}

/// The sockets of each user, and the removals heard lately; one lock, so a socket is either
/// registered before a removal closes the user's sockets or checked after it is remembered.
#[derive(Default)]
struct Users {
    /// By user, then a number of the socket's own: finding one user's sockets, adding and
    /// removing one all take logarithmic time, however many sockets a user has.
    sockets: BTreeMap<(Uuid, u64), UserSocket>,
    next_socket: u64,
    removals: HashMap<Uuid, Vec<Removal>>,
}

impl Users {
    fn removed_since_ticket(&self, slug: &Slug, viewer: Viewer) -> bool {
        self.removals.get(&viewer.user_id).is_some_and(|removals| {
            removals.iter().any(|removal| {
                removal.slug == *slug
                    && i64::try_from(viewer.ticket_issued_at)
                        .is_ok_and(|issued| issued <= removal.removed_at)
            })
        })
    }

    fn remember_removal(&mut self, slug: &Slug, user_id: Uuid, removed_at: i64, now: Instant) {
        self.removals.retain(|_, removals| {
            removals.retain(|removal| now.duration_since(removal.heard_at) < REMOVAL_MEMORY);
            !removals.is_empty()
        });
        let removals = self.removals.entry(user_id).or_default();
        match removals.iter_mut().find(|removal| removal.slug == *slug) {
            // A redelivery, or a second removal after being added again: the latest counts.
            Some(removal) => {
                removal.removed_at = removal.removed_at.max(removed_at);
                removal.heard_at = now;
            }
            None => removals.push(Removal {
                slug: slug.clone(),
                removed_at,
                heard_at: now,
            }),
        }
    }

    fn add_socket(&mut self, user_id: Uuid, socket: UserSocket) -> (Uuid, u64) {
        let key = (user_id, self.next_socket);
        self.next_socket += 1;
        self.sockets.insert(key, socket);
        key
    }

    /// Takes the user's sockets at `slug` out of the registry.
    fn take_sockets(&mut self, slug: &Slug, user_id: Uuid) -> Vec<UserSocket> {
        let keys: Vec<(Uuid, u64)> = self
            .sockets
            .range((user_id, 0)..=(user_id, u64::MAX))
            .filter(|(_, socket)| socket.watch.slug == *slug)
            .map(|(key, _)| *key)
            .collect();
        keys.iter()
            .filter_map(|key| self.sockets.remove(key))
            .collect()
    }
}

pub struct Hub {
    watches: Mutex<HashMap<Slug, Entry>>,
    users: Mutex<Users>,
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
            users: Mutex::new(Users::default()),
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
            ring_bytes: self.tuning.replay_ring_bytes,
            gap_wait: self.tuning.gap_wait,
        }
    }

    /// Subscribes `viewer` to a restaurant's feed, binding it first if it is not bound yet, so
    /// that no event published after this returns can be missed. Refused if a removal of the
    /// viewer from the restaurant's staff was heard since their ticket was issued.
    pub async fn subscribe(
        self: &Arc<Self>,
        slug: Slug,
        after: Option<i64>,
        viewer: Viewer,
    ) -> Result<Subscription, SubscribeError> {
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
                    return Err(error.into());
                }
                *bound = true;
                tracing::debug!(slug = %watch.slug, "bound");
            }
        }
        let close = Arc::new(SetOnce::new());
        let registered = {
            let mut users = lock(&self.users);
            (!users.removed_since_ticket(&watch.slug, viewer)).then(|| {
                let socket = UserSocket {
                    watch: watch.clone(),
                    close: close.clone(),
                };
                users.add_socket(viewer.user_id, socket)
            })
        };
        let Some(socket) = registered else {
            // Leaves as any subscriber does (the last one's grace period starts).
            self.leave(&watch);
            return Err(SubscribeError::AccessRemoved);
        };
        let membership = Membership {
            hub: self.clone(),
            watch,
            socket,
            close,
        };
        let (receiver, replay) = lock(&membership.watch.feed).subscribe(after);
        Ok(Subscription {
            receiver,
            replay,
            membership,
        })
    }

    /// `user_id` is no longer staff of `slug` (since `removed_at`, Unix seconds): closes each
    /// of their sockets there with [`STAFF_ACCESS_REMOVED`] and refuses, for as long as they
    /// can be valid, the tickets issued before. Returns how many sockets were told to close.
    pub fn staff_removed(&self, slug: &Slug, user_id: Uuid, removed_at: i64) -> usize {
        let closing = {
            let mut users = lock(&self.users);
            users.remember_removal(slug, user_id, removed_at, Instant::now());
            users.take_sockets(slug, user_id)
        };
        for socket in &closing {
            // Already set only if it was asked to close before; the first reason stands.
            let _ = socket.close.set(CloseRequest::StaffAccessRemoved);
        }
        closing.len()
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

    fn deliver_staff(&self, body: &[u8]) -> Ingested {
        let Ok(removed) = serde_json::from_slice::<StaffRemoved>(body) else {
            return Ingested::Malformed;
        };
        let closed = self.staff_removed(
            &removed.restaurant,
            removed.user_id,
            removed.occurred_at.timestamp(),
        );
        tracing::info!(
            restaurant = %removed.restaurant,
            user_id = %removed.user_id,
            sockets = closed,
            "staff access removed; the user's sockets there are closed"
        );
        Ingested::AccessRemoved
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
            _ = service_common::timer::sleep_until(next) => {
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

    /// A viewer whose ticket was issued now, by a user of their own.
    fn anyone() -> Viewer {
        Viewer {
            user_id: Uuid::new_v4(),
            ticket_issued_at: unix_now(),
        }
    }

    fn unix_now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
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
        let first = hub.subscribe(slug("luigis"), None, anyone()).await.unwrap();
        assert_eq!(link.calls(), vec![bind("luigis")]);
        let second = hub.subscribe(slug("luigis"), None, anyone()).await.unwrap();
        let other = hub.subscribe(slug("marios"), None, anyone()).await.unwrap();
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
            async move {
                hub.subscribe(slug("luigis"), None, anyone())
                    .await
                    .map(|_| ())
            }
        });
        link.entered.notified().await;
        let b = tokio::spawn({
            let hub = hub.clone();
            async move {
                hub.subscribe(slug("luigis"), None, anyone())
                    .await
                    .map(|_| ())
            }
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
        let a = hub.subscribe(slug("luigis"), None, anyone()).await.unwrap();
        let b = hub.subscribe(slug("luigis"), None, anyone()).await.unwrap();
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
        let first = hub.subscribe(slug("luigis"), None, anyone()).await.unwrap();
        for seq in 1..=3 {
            hub.deliver_frame(&slug("luigis"), seq, Bytes::from(format!("{seq}")));
        }
        drop(first);
        tokio::time::sleep(GRACE / 2).await;
        let back = hub
            .subscribe(slug("luigis"), Some(1), anyone())
            .await
            .unwrap();
        assert!(matches!(&back.replay, Replay::Frames(frames) if frames.len() == 2));
        tokio::time::sleep(GRACE * 2).await;
        settle().await;
        assert_eq!(link.calls(), vec![bind("luigis")]);
        // Only the latest departure's grace counts.
        drop(back);
        let again = hub.subscribe(slug("luigis"), None, anyone()).await.unwrap();
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
        assert!(hub.subscribe(slug("luigis"), None, anyone()).await.is_err());
        assert_eq!(hub.watched_count(), 0, "no feed without its binding");
        assert_eq!(
            hub.deliver_frame(&slug("luigis"), 1, Bytes::new()),
            Ingested::NotWatched
        );
        let _client = hub.subscribe(slug("luigis"), None, anyone()).await.unwrap();
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
            async move {
                hub.subscribe(slug("luigis"), None, anyone())
                    .await
                    .map(|_| ())
            }
        });
        link.entered.notified().await;
        let second = tokio::spawn({
            let hub = hub.clone();
            async move { hub.subscribe(slug("luigis"), None, anyone()).await.is_ok() }
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
        drop(hub.subscribe(slug("luigis"), None, anyone()).await.unwrap());
        hub.deliver_frame(&slug("luigis"), 1, Bytes::from_static(b"1"));
        // Hold the watch's bind lock so the retire waits for it, as a bind in flight would.
        let watch = lock(&hub.watches)[&slug("luigis")].watch.clone();
        let held = watch.bound.lock().await;
        tokio::time::sleep(GRACE * 2).await;
        settle().await;
        let back = tokio::spawn({
            let hub = hub.clone();
            async move {
                let subscription = hub
                    .subscribe(slug("luigis"), Some(1), anyone())
                    .await
                    .unwrap();
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
        drop(hub.subscribe(slug("luigis"), None, anyone()).await.unwrap());
        hub.deliver_frame(&slug("luigis"), 1, Bytes::from_static(b"1"));
        link.holding_unbind
            .store(true, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(GRACE).await;
        link.entered.notified().await;
        let back = tokio::spawn({
            let hub = hub.clone();
            async move {
                let subscription = hub
                    .subscribe(slug("luigis"), Some(1), anyone())
                    .await
                    .unwrap();
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
        let mut client = hub.subscribe(slug("luigis"), None, anyone()).await.unwrap();
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
        let mut a = hub.subscribe(slug("luigis"), None, anyone()).await.unwrap();
        let mut b = hub.subscribe(slug("marios"), None, anyone()).await.unwrap();
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

    fn viewer(user_id: Uuid, ticket_issued_at: u64) -> Viewer {
        Viewer {
            user_id,
            ticket_issued_at,
        }
    }

    fn close_request(subscription: &Subscription) -> Option<CloseRequest> {
        use futures_util::FutureExt;
        subscription.close_requested().now_or_never()
    }

    #[tokio::test(start_paused = true)]
    async fn a_removal_closes_every_socket_of_that_user_at_that_restaurant_and_no_other() {
        let (hub, _link) = hub();
        let (cook, colleague) = (Uuid::new_v4(), Uuid::new_v4());
        let now = unix_now();
        let tablet = hub
            .subscribe(slug("luigis"), None, viewer(cook, now))
            .await
            .unwrap();
        let phone = hub
            .subscribe(slug("luigis"), None, viewer(cook, now))
            .await
            .unwrap();
        let elsewhere = hub
            .subscribe(slug("marios"), None, viewer(cook, now))
            .await
            .unwrap();
        let mut other = hub
            .subscribe(slug("luigis"), None, viewer(colleague, now))
            .await
            .unwrap();
        assert_eq!(close_request(&tablet), None);

        assert_eq!(hub.staff_removed(&slug("luigis"), cook, now as i64), 2);
        assert_eq!(
            close_request(&tablet),
            Some(CloseRequest::StaffAccessRemoved)
        );
        assert_eq!(
            close_request(&phone),
            Some(CloseRequest::StaffAccessRemoved)
        );
        assert_eq!(CloseRequest::StaffAccessRemoved.code(), 4403);
        assert_eq!(
            close_request(&elsewhere),
            None,
            "another restaurant's socket"
        );
        assert_eq!(close_request(&other), None, "another user's socket");
        // The feed goes on for the others.
        hub.deliver_frame(&slug("luigis"), 1, Bytes::from_static(b"1"));
        assert_eq!(frames(&mut other.receiver), vec!["1"]);
        // Heard again (at-least-once delivery): nothing left to close, nothing breaks.
        assert_eq!(hub.staff_removed(&slug("luigis"), cook, now as i64), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_closed_socket_is_forgotten() {
        let (hub, _link) = hub();
        let cook = Uuid::new_v4();
        drop(
            hub.subscribe(slug("luigis"), None, viewer(cook, unix_now()))
                .await
                .unwrap(),
        );
        assert_eq!(
            hub.staff_removed(&slug("luigis"), cook, unix_now() as i64),
            0
        );
        assert!(lock(&hub.users).sockets.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn tickets_issued_before_a_removal_are_refused_while_they_can_be_valid() {
        let (hub, link) = hub();
        let cook = Uuid::new_v4();
        let removed_at: u64 = 1_800_000_000;
        hub.staff_removed(&slug("luigis"), cook, removed_at as i64);
        for issued in [removed_at - 30, removed_at] {
            let refused = hub
                .subscribe(slug("luigis"), None, viewer(cook, issued))
                .await;
            assert!(
                matches!(refused, Err(SubscribeError::AccessRemoved)),
                "{issued}"
            );
        }
        // Another restaurant, or a ticket issued after (the user was added again): accepted.
        let _marios = hub
            .subscribe(slug("marios"), None, viewer(cook, removed_at - 30))
            .await
            .unwrap();
        let again = hub
            .subscribe(slug("luigis"), None, viewer(cook, removed_at + 1))
            .await
            .unwrap();
        drop(again);
        // The refused ones left like any subscriber: the last one's grace ends in an unbind.
        tokio::time::sleep(GRACE * 2).await;
        settle().await;
        assert_eq!(
            link.calls(),
            vec![bind("luigis"), bind("marios"), unbind("luigis")]
        );
        // Once no ticket from before it can be valid, the removal is forgotten (at the next
        // one heard), so what is remembered stays small.
        tokio::time::sleep(REMOVAL_MEMORY).await;
        hub.staff_removed(&slug("luigis"), Uuid::new_v4(), removed_at as i64 + 100);
        assert!(!lock(&hub.users).removals.contains_key(&cook));
    }

    #[tokio::test(start_paused = true)]
    async fn staff_messages_are_parsed() {
        let (hub, _link) = hub();
        let cook = Uuid::new_v4();
        let tablet = hub
            .subscribe(slug("luigis"), None, viewer(cook, unix_now()))
            .await
            .unwrap();
        assert_eq!(hub.deliver_staff(b"not json"), Ingested::Malformed);
        assert_eq!(
            hub.deliver_staff(br#"{"event":"staff.added","restaurant":"luigis"}"#),
            Ingested::Malformed
        );
        assert_eq!(close_request(&tablet), None);
        let message = serde_json::json!({"event": "staff.removed", "event_id": Uuid::new_v4(),
            "restaurant": "luigis", "user_id": cook, "occurred_at": chrono::Utc::now()});
        assert_eq!(
            hub.deliver_staff(message.to_string().as_bytes()),
            Ingested::AccessRemoved
        );
        assert_eq!(
            close_request(&tablet),
            Some(CloseRequest::StaffAccessRemoved)
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
            hub.subscribe(slug("luigis"), None, anyone()).await.unwrap()
        });
        drop(runtime);
        drop(subscription);
    }

    #[tokio::test(start_paused = true)]
    async fn stop_ends_the_timers() {
        let (hub, _link) = hub();
        drop(hub.subscribe(slug("luigis"), None, anyone()).await.unwrap());
        tokio::time::timeout(Duration::from_secs(1), hub.stop())
            .await
            .expect("the hub's tasks end on stop");
    }
}
