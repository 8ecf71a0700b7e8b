//! A kitchen screen that does what API.md asks of a client that must never miss an event:
//! apply each restaurant `seq` once, drop repeats, and on a gap, a `resync` or a heartbeat
//! ahead of it, read the missed events from the event log. It records how each event reached
//! it, so a test can tell what the push path lost from what the log filled in.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use serde_json::Value;
use test_support::{
    api::{ApiClient, User},
    ws::Client,
};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

/// How one event reached the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Socket,
    EventLog,
}

/// What a screen saw, for the report.
#[derive(Debug, Default)]
pub struct Seen {
    /// `seq` → (event id, how it came, when).
    pub applied: BTreeMap<i64, (String, Via, Instant)>,
    /// Frames of an event that had already come over the socket, dropped.
    pub duplicates: usize,
    /// Frames of an event already read from the log (after a gap or `resync`), dropped.
    pub overlap: usize,
    pub resyncs: usize,
    /// Times the socket closed and the screen opened a new one.
    pub reopened: usize,
}

impl Seen {
    pub fn last(&self) -> i64 {
        self.applied.keys().next_back().copied().unwrap_or(0)
    }

    pub fn via(&self, via: Via) -> usize {
        self.applied.values().filter(|(_, v, _)| *v == via).count()
    }

    /// When the first event with `seq > after` came over the socket.
    pub fn first_live_after(&self, after: i64) -> Option<Instant> {
        self.applied
            .range(after + 1..)
            .filter(|(_, (_, via, _))| *via == Via::Socket)
            .map(|(_, (_, _, at))| *at)
            .min()
    }
}

pub struct Screen {
    pub api: ApiClient,
    pub cook: User,
    pub slug: String,
    pub notifier_port: u16,
    socket: Option<Client>,
    pub seen: Seen,
}

impl Screen {
    /// Opens the screen's socket (subscribed once this returns).
    pub async fn open(api: ApiClient, cook: User, slug: String, notifier_port: u16) -> Screen {
        let mut screen = Screen {
            api,
            cook,
            slug,
            notifier_port,
            socket: None,
            seen: Seen::default(),
        };
        screen.socket = Some(screen.connect(None).await);
        screen
    }

    /// A socket; `after` asks for what the notifier holds past that `seq` (a fresh screen asks
    /// for nothing: it has not missed anything yet).
    async fn connect(&self, after: Option<i64>) -> Client {
        let ticket = self.api.ws_ticket(&self.cook, &self.slug).await;
        let after = after.map(|seq| format!("&after={seq}")).unwrap_or_default();
        Client::connect(&format!(
            "ws://127.0.0.1:{}/ws/kitchen/{}/?ticket={ticket}{after}",
            self.notifier_port, self.slug
        ))
        .await
    }

    /// Watches until `until` holds a `seq` and this screen has applied every event up to it,
    /// then returns what it saw.
    pub async fn watch(mut self, mut until: watch::Receiver<Option<i64>>) -> Seen {
        let mut socket = match self.socket.take() {
            Some(socket) => socket,
            None => self.connect(None).await,
        };
        loop {
            if let Some(last) = *until.borrow()
                && self.seen.last() >= last
            {
                return self.seen;
            }
            // Behind a known target and the socket quiet: what is missing is in the log.
            let behind = until.borrow().is_some_and(|last| self.seen.last() < last);
            let quiet = if behind {
                Duration::from_secs(2)
            } else {
                Duration::from_secs(15)
            };
            let message = tokio::select! {
                message = socket.stream.next() => message,
                _ = until.changed() => continue,
                _ = tokio::time::sleep(quiet) => {
                    self.catch_up().await;
                    continue;
                }
            };
            match message {
                Some(Ok(Message::Text(text))) => {
                    let frame: Value = serde_json::from_str(&text).expect("a JSON frame");
                    self.on_frame(frame).await;
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                    self.seen.reopened += 1;
                    socket = self.connect(Some(self.seen.last())).await;
                }
                Some(Ok(_)) => {}
            }
        }
    }

    async fn on_frame(&mut self, frame: Value) {
        match frame["event"].as_str() {
            Some("resync") => {
                self.seen.resyncs += 1;
                self.catch_up().await;
            }
            Some("heartbeat") => {
                if frame["seq"]
                    .as_i64()
                    .is_some_and(|seq| seq > self.seen.last())
                {
                    self.catch_up().await;
                }
            }
            Some(_) => {
                let seq = frame["seq"].as_i64().expect("an event frame has a seq");
                let event_id = frame["event_id"].as_str().expect("and an event_id");
                if let Some((_, via, _)) = self.seen.applied.get(&seq) {
                    match via {
                        Via::Socket => self.seen.duplicates += 1,
                        Via::EventLog => self.seen.overlap += 1,
                    }
                    return;
                }
                if seq > self.seen.last() + 1 {
                    self.catch_up_to(seq - 1).await;
                }
                self.apply(seq, event_id, Via::Socket);
            }
            None => panic!("a frame without an event: {frame}"),
        }
    }

    fn apply(&mut self, seq: i64, event_id: &str, via: Via) {
        let expected = self.seen.last() + 1;
        assert_eq!(seq, expected, "events apply in seq order");
        self.seen
            .applied
            .insert(seq, (event_id.to_owned(), via, Instant::now()));
    }

    /// Reads the event log after the last applied `seq` until its end.
    async fn catch_up(&mut self) {
        self.catch_up_to(i64::MAX).await;
    }

    /// Reads the event log after the last applied `seq` up to `target` (or its end).
    async fn catch_up_to(&mut self, target: i64) {
        loop {
            let after = self.seen.last();
            if after >= target {
                return;
            }
            let page = self
                .api
                .get(
                    &format!(
                        "/api/kitchen/{}/events/?after={after}&limit=1000",
                        self.slug
                    ),
                    Some(&self.cook.access),
                )
                .await
                .expect(200);
            let events = page["events"].as_array().expect("events");
            for event in events {
                let seq = event["seq"].as_i64().expect("seq");
                if seq > target {
                    return;
                }
                let event_id = event["event_id"].as_str().expect("event_id");
                self.apply(seq, event_id, Via::EventLog);
            }
            let last_seq = page["last_seq"].as_i64().unwrap_or(0);
            if events.is_empty() || self.seen.last() >= last_seq {
                return;
            }
        }
    }
}
