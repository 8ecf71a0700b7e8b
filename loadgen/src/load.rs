//! The load: HTTP workers that place orders and move each one through the kitchen, and the
//! kitchen sockets that watch them, with what both measured.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};
use serde::Serialize;
use tokio::sync::watch;

use crate::api::{Api, FloorWrite, Outcome};
use crate::bookkeeping::{Attribution, SocketLog, Status, lock};
use crate::setup::Restaurant;
use crate::sockets::{self, Endpoint};
use crate::stats::{Histogram, Summary};

/// What the HTTP side saw.
#[derive(Default)]
pub struct HttpStats {
    pub confirm: Histogram,
    pub patch: Histogram,
    /// The kitchen floor's writes by kind (`--kitchen-floor`).
    pub floor: BTreeMap<&'static str, Histogram>,
    /// Since the last `take_window` (soak).
    pub window: Histogram,
    pub ok: u64,
    /// Failed requests by status (or transport failure).
    pub errors: BTreeMap<String, u64>,
    pub orders_started: u64,
    pub orders_completed: u64,
    /// With a fixed rate: how late each order started against its schedule.
    pub lag: Histogram,
}

impl HttpStats {
    pub fn take_window(&mut self) -> Histogram {
        std::mem::take(&mut self.window)
    }

    pub fn summary(&self, seconds: f64) -> HttpSummary {
        let mut all = self.confirm.clone();
        all.merge(&self.patch);
        for writes in self.floor.values() {
            all.merge(writes);
        }
        let seconds = seconds.max(1e-9);
        HttpSummary {
            requests: all.count(),
            ok: self.ok,
            requests_per_sec: all.count() as f64 / seconds,
            orders_started: self.orders_started,
            orders_completed: self.orders_completed,
            orders_per_sec: self.orders_completed as f64 / seconds,
            latency: all.summary(),
            confirm: self.confirm.summary(),
            patch: self.patch.summary(),
            floor: self
                .floor
                .iter()
                .map(|(kind, writes)| (kind.to_string(), writes.summary()))
                .collect(),
            errors: self.errors.clone(),
            schedule_lag: (self.lag.count() > 0).then(|| self.lag.summary()),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct HttpSummary {
    pub requests: u64,
    /// 2xx answers: each is one committed event.
    pub ok: u64,
    pub requests_per_sec: f64,
    pub orders_started: u64,
    /// Orders taken through all of confirm, preparing, ready, completed.
    pub orders_completed: u64,
    pub orders_per_sec: f64,
    pub latency: Summary,
    pub confirm: Summary,
    pub patch: Summary,
    /// The kitchen floor's writes by kind (rush, items, recall), when the run made them.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub floor: BTreeMap<String, Summary>,
    pub errors: BTreeMap<String, u64>,
    /// With --rate: how late orders started against their schedule (the workers could not
    /// keep up when this grows).
    pub schedule_lag: Option<Summary>,
}

/// How much load, and for how long.
#[derive(Clone, Debug)]
pub struct Plan {
    pub workers: usize,
    /// Orders per second over all workers; `None`: as fast as they go.
    pub rate: Option<f64>,
    pub duration: Option<Duration>,
    pub orders: Option<u64>,
}

struct Pace {
    next: AtomicU64,
    start: Instant,
    deadline: Option<Instant>,
    orders: Option<u64>,
    rate: Option<f64>,
}

impl Pace {
    /// The tag of the next order to place, once it is due, and how late it is against its
    /// schedule (with a rate); `None` when the run is over.
    async fn next(&self) -> Option<(u64, Option<Duration>)> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        if self.orders.is_some_and(|limit| n >= limit) {
            return None;
        }
        let due = match self.rate {
            // Order n is due n/rate after the start, whoever places it.
            Some(rate) => self.start + Duration::from_secs_f64(n as f64 / rate),
            None => Instant::now(),
        };
        if self.deadline.is_some_and(|deadline| due >= deadline) {
            return None;
        }
        tokio::time::sleep_until(due.into()).await;
        let now = Instant::now();
        // The duration holds even when the workers fall behind the rate.
        if self.deadline.is_some_and(|deadline| now >= deadline) {
            return None;
        }
        Some((n, self.rate.map(|_| now.saturating_duration_since(due))))
    }
}

/// Everything the workers share.
#[derive(Clone)]
pub struct Load {
    pub api: Api,
    pub restaurants: Arc<Vec<Restaurant>>,
    /// Open kitchen sockets per restaurant: the frames each of its events should produce.
    pub sockets: Arc<Vec<u32>>,
    pub http: Arc<Mutex<HttpStats>>,
    pub attribution: Arc<Mutex<Attribution>>,
    /// Each order also gets the kitchen floor's writes: rush, its line crossed off, a recall.
    pub kitchen_floor: bool,
}

impl Load {
    pub fn new(
        api: Api,
        restaurants: Vec<Restaurant>,
        sockets: Vec<u32>,
        attribution: Arc<Mutex<Attribution>>,
    ) -> Self {
        Self {
            api,
            restaurants: Arc::new(restaurants),
            sockets: Arc::new(sockets),
            http: Arc::default(),
            attribution,
            kitchen_floor: false,
        }
    }

    /// Runs the workers to the end of the plan; the time it took. An order in progress at the
    /// deadline is finished, so no order is left half-way.
    pub async fn run(&self, plan: &Plan) -> Duration {
        let start = Instant::now();
        let pace = Arc::new(Pace {
            next: AtomicU64::new(0),
            start,
            deadline: plan.duration.map(|d| start + d),
            orders: plan.orders,
            rate: plan.rate.filter(|r| *r > 0.0),
        });
        let workers: Vec<_> = (0..plan.workers.max(1))
            .map(|_| {
                let load = self.clone();
                let pace = pace.clone();
                tokio::spawn(async move {
                    while let Some((tag, lag)) = pace.next().await {
                        if let Some(lag) = lag {
                            lock(&load.http).lag.record(lag.as_micros() as u64);
                        }
                        load.one_order(tag).await;
                    }
                })
            })
            .collect();
        for worker in workers {
            let _ = worker.await;
        }
        start.elapsed()
    }

    /// Confirm, then preparing, ready, completed, each after the previous answer.
    async fn one_order(&self, tag: u64) {
        let index = (tag % self.restaurants.len() as u64) as usize;
        let restaurant = &self.restaurants[index];
        let sockets = self.sockets.get(index).copied().unwrap_or(0);
        lock(&self.http).orders_started += 1;

        let sent = lock(&self.attribution).sending(tag, Status::Confirmed, sockets);
        let (outcome, id) = self
            .api
            .confirm(&restaurant.slug, restaurant.menu, tag)
            .await;
        if !self.record(true, sent, &outcome, tag, Status::Confirmed) {
            return;
        }
        let Some((id, line)) = id else {
            *lock(&self.http)
                .errors
                .entry("confirm answer without ids".into())
                .or_default() += 1;
            return;
        };
        if self.kitchen_floor {
            self.with_floor_writes(restaurant, &id, line).await;
            return;
        }
        for status in Status::MOVES {
            let sent = lock(&self.attribution).sending(tag, status, sockets);
            let outcome = self.api.move_order(&restaurant.cook, &id, status).await;
            if !self.record(false, sent, &outcome, tag, status) {
                return;
            }
        }
        lock(&self.http).orders_completed += 1;
    }

    /// After the confirm: rush, preparing, the line crossed off (the order's only line, so it
    /// is ready), recall (back to preparing), ready, completed; each after the previous answer.
    async fn with_floor_writes(&self, restaurant: &Restaurant, id: &str, line: i64) {
        enum Step {
            Floor(FloorWrite),
            Move(Status),
        }
        let steps = [
            Step::Floor(FloorWrite::Rush),
            Step::Move(Status::Preparing),
            Step::Floor(FloorWrite::LineDone(line)),
            Step::Floor(FloorWrite::Recall),
            Step::Move(Status::Ready),
            Step::Move(Status::Completed),
        ];
        for step in steps {
            let sent = Instant::now();
            let (outcome, kind) = match step {
                Step::Floor(write) => (
                    self.api.floor_write(&restaurant.cook, id, write).await,
                    Some(write.label()),
                ),
                Step::Move(status) => (
                    self.api.move_order(&restaurant.cook, id, status).await,
                    None,
                ),
            };
            let micros = sent.elapsed().as_micros() as u64;
            let mut http = lock(&self.http);
            match kind {
                Some(kind) => http.floor.entry(kind).or_default().record(micros),
                None => http.patch.record(micros),
            }
            http.window.record(micros);
            if outcome.is_success() {
                http.ok += 1;
            } else {
                *http.errors.entry(outcome.label()).or_default() += 1;
                return;
            }
        }
        lock(&self.http).orders_completed += 1;
    }

    /// Counts a request; whether it succeeded.
    fn record(
        &self,
        confirm: bool,
        sent: Instant,
        outcome: &Outcome,
        tag: u64,
        status: Status,
    ) -> bool {
        let micros = sent.elapsed().as_micros() as u64;
        let success = outcome.is_success();
        {
            let mut http = lock(&self.http);
            if confirm {
                http.confirm.record(micros);
            } else {
                http.patch.record(micros);
            }
            http.window.record(micros);
            if success {
                http.ok += 1;
            } else {
                *http.errors.entry(outcome.label()).or_default() += 1;
            }
        }
        // An HTTP answer other than 2xx means nothing was committed; a transport failure may
        // still have committed, so its frame stays expected.
        if matches!(outcome, Outcome::Status(_)) && !success {
            lock(&self.attribution).refused(tag, status);
        }
        success
    }
}

/// The kitchen sockets of a run, each followed by a task of its own.
pub struct Kitchen {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<SocketLog>>,
    /// Sockets open per restaurant.
    pub opened: Vec<u32>,
    /// Each restaurant's `seq` when its sockets were open.
    pub baselines: Vec<i64>,
    requested: u64,
    handshake: Histogram,
    handshake_errors: BTreeMap<String, u64>,
    received: Arc<AtomicU64>,
}

impl Kitchen {
    /// Opens `per_restaurant` sockets on each restaurant, then reads its `seq` (the order the
    /// contract asks for: socket first, then the list, so nothing falls in between).
    pub async fn open(
        endpoint: &Endpoint,
        api: &Api,
        restaurants: &[Restaurant],
        per_restaurant: usize,
        attribution: &Arc<Mutex<Attribution>>,
    ) -> anyhow::Result<Self> {
        let (stop, stopped) = watch::channel(false);
        let received = Arc::new(AtomicU64::new(0));
        let mut kitchen = Kitchen {
            stop,
            tasks: Vec::new(),
            opened: Vec::new(),
            baselines: Vec::new(),
            requested: (restaurants.len() * per_restaurant) as u64,
            handshake: Histogram::new(),
            handshake_errors: BTreeMap::new(),
            received: received.clone(),
        };
        for (index, restaurant) in restaurants.iter().enumerate() {
            let results: Vec<_> = stream::iter(0..per_restaurant)
                .map(|_| async {
                    let ticket = match restaurant.tickets.get().await {
                        Ok(ticket) => ticket,
                        Err(error) => return (Err(format!("ticket: {error}")), Duration::ZERO),
                    };
                    let start = Instant::now();
                    let result = endpoint
                        .connect(&restaurant.slug, &ticket, sockets::small_buffers())
                        .await;
                    (result, start.elapsed())
                })
                .buffer_unordered(64)
                .collect()
                .await;
            let baseline = api.kitchen_seq(&restaurant.cook, &restaurant.slug).await?;
            let mut opened = 0;
            for (result, took) in results {
                match result {
                    Ok(ws) => {
                        opened += 1;
                        kitchen.handshake.record(took.as_micros() as u64);
                        kitchen.tasks.push(tokio::spawn(sockets::follow(
                            ws,
                            SocketLog::new(index, baseline),
                            attribution.clone(),
                            received.clone(),
                            stopped.clone(),
                        )));
                    }
                    Err(label) => *kitchen.handshake_errors.entry(label).or_default() += 1,
                }
            }
            kitchen.opened.push(opened);
            kitchen.baselines.push(baseline);
        }
        Ok(kitchen)
    }

    /// After the load: learns each restaurant's final `seq`, waits up to `drain` for frames
    /// still on their way (less if all have come), then closes the sockets and counts.
    pub async fn drain(
        self,
        api: &Api,
        restaurants: &[Restaurant],
        drain: Duration,
        attribution: &Mutex<Attribution>,
    ) -> FrameReport {
        let mut finals = Vec::new();
        for (restaurant, &baseline) in restaurants.iter().zip(&self.baselines) {
            let last = api
                .last_seq(&restaurant.cook, &restaurant.slug, baseline)
                .await;
            if let Err(error) = &last {
                eprintln!(
                    "loadgen: {}: {error:#}; counting to the highest seq seen",
                    restaurant.slug
                );
            }
            finals.push(last.ok());
        }
        let expected_total: u64 = finals
            .iter()
            .zip(&self.baselines)
            .zip(&self.opened)
            .map(|((last, baseline), &opened)| {
                u64::from(opened) * last.map_or(0, |l| (l - baseline).max(0) as u64)
            })
            .sum();
        let start = Instant::now();
        while self.received.load(Ordering::Relaxed) < expected_total && start.elapsed() < drain {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let drained = start.elapsed();
        let _ = self.stop.send(true);
        let mut logs = Vec::new();
        for task in self.tasks {
            if let Ok(log) = task.await {
                logs.push(log);
            }
        }

        // Where the events API did not answer, the highest seq any socket saw stands in.
        let finals: Vec<i64> = finals
            .iter()
            .enumerate()
            .map(|(index, last)| {
                last.unwrap_or_else(|| {
                    logs.iter()
                        .filter(|log| log.restaurant == index)
                        .map(|log| log.seq.highest())
                        .max()
                        .unwrap_or(self.baselines[index])
                })
            })
            .collect();

        let attribution = lock(attribution);
        let mut report = FrameReport {
            sockets_requested: self.requested,
            sockets_opened: self.opened.iter().map(|&n| u64::from(n)).sum(),
            handshake: self.handshake.summary(),
            handshake_errors: self.handshake_errors,
            events_committed: finals
                .iter()
                .zip(&self.baselines)
                .map(|(last, baseline)| (last - baseline).max(0) as u64)
                .sum(),
            unattributed: attribution.unattributed,
            delay: attribution.delay.summary(),
            delay_by_status: Status::ALL
                .iter()
                .map(|&s| (s.as_str(), attribution.by_status[s as usize].summary()))
                .collect(),
            sent_to_decided: attribution.sent_to_decided.summary(),
            decided_to_frame: attribution.decided_to_frame.summary(),
            drain_seconds: drained.as_secs_f64(),
            ..FrameReport::default()
        };
        for log in &logs {
            let last = finals[log.restaurant];
            report.expected += log.seq.expected(last);
            report.received += log.seq.received;
            report.lost += log.seq.lost(last);
            report.duplicated += log.seq.duplicates;
            report.out_of_order += log.seq.out_of_order;
            report.unexpected += log.seq.unexpected;
            report.resyncs += log.resyncs;
            report.heartbeats += log.heartbeats;
            report.malformed += log.malformed;
            if let Some(reason) = &log.ended {
                *report
                    .sockets_ended_early
                    .entry(reason.clone())
                    .or_default() += 1;
            }
        }
        report
    }
}

/// What the kitchen sockets saw. One "frame" is one event on one socket.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FrameReport {
    pub sockets_requested: u64,
    pub sockets_opened: u64,
    pub handshake: Summary,
    pub handshake_errors: BTreeMap<String, u64>,
    /// Events the server committed for the run's restaurants (their `seq` advance).
    pub events_committed: u64,
    /// Frames that should have arrived: each committed event on each open socket.
    pub expected: u64,
    /// Distinct frames received.
    pub received: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub out_of_order: u64,
    /// Frames at or below a socket's starting `seq`.
    pub unexpected: u64,
    /// Frames without a send time to measure from (e.g. the request timed out client-side).
    pub unattributed: u64,
    pub resyncs: u64,
    pub heartbeats: u64,
    pub malformed: u64,
    /// Sockets the server closed (or that failed) before the end, by reason.
    pub sockets_ended_early: BTreeMap<String, u64>,
    /// From just before the HTTP request to the frame's arrival, per event and socket.
    pub delay: Summary,
    pub delay_by_status: BTreeMap<&'static str, Summary>,
    /// Per event: from just before the request to order-service's decision (the order's
    /// `updated_at`, on the same machine's clock): the request's way in.
    pub sent_to_decided: Summary,
    /// Per frame: from that decision to the frame's arrival: the write, its commit, the relay,
    /// the broker, the notifier and the socket.
    pub decided_to_frame: Summary,
    pub drain_seconds: f64,
}
