//! A kitchen screen as the real pages behave: it applies frames by `seq`, drops what it already
//! has by `event_id`, fills a gap (or a `resync`, or a heartbeat ahead of it) from the event
//! log, and on a lost socket reconnects with `after` = its last `seq`, moving to the next
//! notifier address when one refuses. It keeps a record of everything, for the measurements.

use std::{
    collections::{BTreeMap, HashSet},
    time::Duration,
};

use futures_util::StreamExt;
use serde_json::Value;
use test_support::api::ApiClient;
use tokio::{sync::watch, task::JoinHandle, time::Instant};
use tokio_tungstenite::tungstenite::Message;

/// Where an applied event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Live,
    Log,
}

/// What one screen saw, for the checks and the table.
#[derive(Debug, Default)]
pub struct ScreenRecord {
    /// seq → event id of every event applied.
    pub applied: BTreeMap<i64, String>,
    pub live: usize,
    pub from_log: usize,
    /// Live frames of an event already received live: duplicates the system delivered.
    pub duplicates: usize,
    /// Live frames of an event the screen had already read from the log (it read ahead).
    pub overlap_with_log: usize,
    /// Frames whose seq was already applied with another event id: must never happen.
    pub conflicts: Vec<String>,
    pub resyncs: usize,
    pub disconnects: Vec<Instant>,
    pub reconnects: usize,
    pub failed_connects: usize,
    /// When each event applied from a live frame arrived, with its seq.
    pub live_at: Vec<(Instant, i64)>,
    /// When each event frame arrived, applied or not (the screen may have read it from the log
    /// first): the link works again.
    pub frames_at: Vec<Instant>,
}

impl ScreenRecord {
    /// Time from `since` to the first event frame delivered at or after it.
    pub fn first_live_after(&self, since: Instant) -> Option<Duration> {
        self.frames_at
            .iter()
            .find(|at| **at >= since)
            .map(|at| *at - since)
    }
}

pub struct Screen {
    stop: watch::Sender<bool>,
    progress: watch::Receiver<i64>,
    task: JoinHandle<ScreenRecord>,
}

struct State {
    api: ApiClient,
    token: String,
    slug: String,
    ticket: String,
    /// `ws://127.0.0.1:port` of each notifier it may use, in the order it tries them.
    targets: Vec<String>,
    last: i64,
    seen: HashSet<String>,
    record: ScreenRecord,
    progress: watch::Sender<i64>,
}

impl Screen {
    /// Connects to `targets[0]` (a fresh restaurant: the screen starts at seq 0) and keeps
    /// watching until `finish`.
    pub async fn open(
        api: &ApiClient,
        token: &str,
        slug: &str,
        ticket: &str,
        targets: Vec<String>,
    ) -> Self {
        let (progress_tx, progress) = watch::channel(0);
        let mut state = State {
            api: api.clone(),
            token: token.to_owned(),
            slug: slug.to_owned(),
            ticket: ticket.to_owned(),
            targets,
            last: 0,
            seen: HashSet::new(),
            record: ScreenRecord::default(),
            progress: progress_tx,
        };
        let first = state
            .connect(None)
            .await
            .expect("the screen connects at first");
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(state.run(first, stopped));
        Self {
            stop,
            progress,
            task,
        }
    }

    /// Waits until the screen has applied every seq up to `seq`.
    pub async fn wait_for_seq(&mut self, seq: i64, limit: Duration) {
        let reached = tokio::time::timeout(limit, self.progress.wait_for(|last| *last >= seq))
            .await
            .is_ok_and(|waited| waited.is_ok());
        assert!(
            reached,
            "the screen did not reach seq {seq} within {limit:?} (at {})",
            *self.progress.borrow()
        );
    }

    pub fn last_seq(&self) -> i64 {
        *self.progress.borrow()
    }

    pub async fn finish(self) -> ScreenRecord {
        let _ = self.stop.send(true);
        self.task.await.expect("the screen task ends")
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl State {
    async fn connect(&mut self, after: Option<i64>) -> Option<Socket> {
        let after = after.map(|seq| format!("&after={seq}")).unwrap_or_default();
        let url = format!(
            "{}/ws/kitchen/{}/?ticket={}{after}",
            self.targets[0], self.slug, self.ticket
        );
        let attempt = tokio::time::timeout(
            Duration::from_secs(5),
            tokio_tungstenite::connect_async(url),
        );
        match attempt.await {
            Ok(Ok((socket, _))) => Some(socket),
            _ => None,
        }
    }

    async fn run(mut self, first: Socket, mut stopped: watch::Receiver<bool>) -> ScreenRecord {
        let mut socket = Some(first);
        loop {
            let Some(mut current) = socket.take() else {
                if *stopped.borrow() {
                    break;
                }
                match self.connect(Some(self.last)).await {
                    Some(connected) => {
                        self.record.reconnects += 1;
                        socket = Some(connected);
                    }
                    None => {
                        // Refused or unreachable: try the next notifier, paced like a page.
                        self.record.failed_connects += 1;
                        self.targets.rotate_left(1);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                continue;
            };
            let message = tokio::select! {
                _ = stopped.changed() => break,
                message = current.next() => message,
            };
            match message {
                Some(Ok(Message::Text(text))) => {
                    self.on_frame(&text).await;
                    socket = Some(current);
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => {
                    self.record.disconnects.push(Instant::now());
                }
                Some(Ok(_)) => socket = Some(current),
            }
        }
        self.record
    }

    async fn on_frame(&mut self, text: &str) {
        let Ok(frame) = serde_json::from_str::<Value>(text) else {
            self.record.conflicts.push(format!("not JSON: {text}"));
            return;
        };
        match frame["event"].as_str() {
            Some("resync") => {
                self.record.resyncs += 1;
                self.catch_up(None).await;
            }
            Some("heartbeat") => {
                if frame["seq"].as_i64().is_some_and(|seq| seq > self.last) {
                    self.catch_up(None).await;
                }
            }
            _ => {
                if let (Some(seq), Some(event_id)) =
                    (frame["seq"].as_i64(), frame["event_id"].as_str())
                {
                    self.record.frames_at.push(Instant::now());
                    self.on_event(seq, event_id, Source::Live).await;
                }
            }
        }
    }

    async fn on_event(&mut self, seq: i64, event_id: &str, source: Source) {
        if self.seen.contains(event_id) {
            if source == Source::Live {
                let first_was_live = self.record.live_at.iter().any(|(_, s)| *s == seq);
                if first_was_live {
                    self.record.duplicates += 1;
                } else {
                    self.record.overlap_with_log += 1;
                }
            }
            return;
        }
        if let Some(other) = self.record.applied.get(&seq) {
            self.record
                .conflicts
                .push(format!("seq {seq}: {other} and {event_id}"));
            return;
        }
        if seq > self.last + 1 {
            self.catch_up(Some(seq - 1)).await;
        }
        self.apply(seq, event_id, source);
    }

    fn apply(&mut self, seq: i64, event_id: &str, source: Source) {
        self.seen.insert(event_id.to_owned());
        self.record.applied.insert(seq, event_id.to_owned());
        self.last = self.last.max(seq);
        match source {
            Source::Live => {
                self.record.live += 1;
                self.record.live_at.push((Instant::now(), seq));
            }
            Source::Log => self.record.from_log += 1,
        }
        // Progress counts only an unbroken prefix.
        let contiguous = self.record.applied.len() as i64 == self.last;
        if contiguous {
            self.progress.send_replace(self.last);
        }
    }

    /// Reads the event log after the last seq applied, up to `upto` (else to its end). A failed
    /// read (order-service or its database away) is retried for up to 20 s.
    async fn catch_up(&mut self, upto: Option<i64>) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let path = format!(
                "/api/kitchen/{}/events/?after={}&limit=500",
                self.slug, self.last
            );
            let page = self
                .api
                .client
                .get(self.api.url(&path))
                .bearer_auth(&self.token)
                .send()
                .await;
            let page: Option<Value> = match page {
                Ok(response) if response.status().is_success() => response.json().await.ok(),
                _ => None,
            };
            let Some(page) = page else {
                if Instant::now() >= deadline {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            };
            let events = page["events"].as_array().cloned().unwrap_or_default();
            let mut reached_end = events.is_empty();
            for event in &events {
                let (Some(seq), Some(event_id)) =
                    (event["seq"].as_i64(), event["event_id"].as_str())
                else {
                    continue;
                };
                if upto.is_some_and(|upto| seq > upto) {
                    reached_end = true;
                    break;
                }
                if !self.seen.contains(event_id) {
                    self.apply(seq, event_id, Source::Log);
                }
            }
            let last_seq = page["last_seq"].as_i64().unwrap_or(0);
            if reached_end || self.last >= upto.unwrap_or(last_seq) {
                return;
            }
        }
    }
}
