//! Serving one kitchen WebSocket after the upgrade.
//!
//! Reading a frame is not cancel-safe, so it never sits in a `select!`: a reader task owns the
//! read half (`client_frames`, which holds no buffer while idle) and leaves the frames it must
//! answer (pong, close reply, 1009) in a small shared slot for the writer. The writer owns the write half and `select!`s over
//! cancel-safe sources only: shutdown, the hub's request to close (a removed staff member),
//! those answers, one timer and the restaurant's feed.
//!
//! Per-socket state is kept small because a notifier holds many idle sockets: no channel (its
//! first block alone is 32 frames), one timer for pings, heartbeats, the idle check and the
//! socket's maximum lifetime.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use fastwebsockets::{Frame, OpCode, Payload, Role, WebSocket, WebSocketWrite};
use hyper_util::rt::TokioIo;
use tokio::{
    io::{ReadHalf, WriteHalf},
    sync::{
        Notify,
        broadcast::error::{RecvError, TryRecvError},
    },
};
use tokio_util::sync::CancellationToken;

use crate::{
    batching::Batching,
    client_frames::{self, Incoming, Stop},
    config::Tuning,
    feed::{Outbound, RESYNC_FRAME, Replay},
    hub::{CloseRequest, Subscription},
};

type Io = TokioIo<hyper::upgrade::Upgraded>;
type Out = WebSocketWrite<Batching<WriteHalf<Io>>>;

/// At most this many queued frames go out in one write.
const MAX_BATCH: usize = 64;

/// Close codes this server sends.
pub mod close {
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL_ERROR: u16 = 1002;
    pub const INVALID_DATA: u16 = 1007;
    pub const TOO_BIG: u16 = 1009;
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// The user was removed from the restaurant's staff (private range; see the hub).
    pub const STAFF_ACCESS_REMOVED: u16 = crate::hub::STAFF_ACCESS_REMOVED;
}

/// What the reader shares with the writer: when the client was last heard from, and the
/// frames the client is owed.
struct Shared {
    epoch: Instant,
    /// Milliseconds since `epoch`.
    heard_at: AtomicU64,
    owed: Mutex<Owed>,
    /// Wakes the writer when something is owed; a wake-up sent while it is busy is kept.
    wake: Notify,
}

/// At most one pong (RFC 6455 5.5.3 allows answering only the latest ping, which also bounds
/// what a client flooding pings can make us hold) and the closing frame.
#[derive(Default)]
struct Owed {
    pong: Option<Frame<'static>>,
    close: Option<Frame<'static>>,
    /// The reader has stopped: nothing more will be read.
    reader_done: bool,
}

impl Shared {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            heard_at: AtomicU64::new(0),
            owed: Mutex::new(Owed::default()),
            wake: Notify::new(),
        }
    }

    fn touch(&self) {
        self.heard_at
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn silence(&self) -> Duration {
        self.epoch
            .elapsed()
            .saturating_sub(Duration::from_millis(self.heard_at.load(Ordering::Relaxed)))
    }

    fn owed(&self) -> std::sync::MutexGuard<'_, Owed> {
        // Nothing panics while holding it; a poisoned slot is still a valid slot.
        self.owed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn owe(&self, frame: Frame<'static>) {
        {
            let mut owed = self.owed();
            if frame.opcode == OpCode::Close {
                owed.close.get_or_insert(frame);
            } else {
                owed.pong = Some(frame);
            }
        }
        self.wake.notify_one();
    }

    fn reader_done(&self) {
        self.owed().reader_done = true;
        self.wake.notify_one();
    }
}

/// Why a connection ended, for metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    ClientClosed,
    Shutdown,
    SlowConsumer,
    Idle,
    TooBig,
    WriteFailed,
    /// Closed with 4403: the user is no longer staff of the restaurant.
    AccessRemoved,
    /// Closed with 1001 after `max_socket_lifetime`.
    MaxLifetime,
}

impl Ended {
    pub fn as_str(self) -> &'static str {
        match self {
            Ended::ClientClosed => "client_closed",
            Ended::Shutdown => "shutdown",
            Ended::SlowConsumer => "slow_consumer",
            Ended::Idle => "idle",
            Ended::TooBig => "too_big",
            Ended::WriteFailed => "write_failed",
            Ended::AccessRemoved => "access_removed",
            Ended::MaxLifetime => "max_lifetime",
        }
    }
}

pub async fn serve(
    ws: WebSocket<Io>,
    subscription: Subscription,
    tuning: Tuning,
    shutdown: CancellationToken,
) -> Ended {
    let progress = Arc::new(AtomicU64::new(0));
    // fastwebsockets writes; `client_frames` reads, without fastwebsockets' 8 KiB read buffer
    // (the read side it makes here reads nothing and is dropped at once).
    let (read, write) = tokio::io::split(ws.into_inner());
    let (_, write_half) = fastwebsockets::after_handshake_split(
        tokio::io::empty(),
        Batching::new(write, progress.clone()),
        Role::Server,
    );
    let shared = Arc::new(Shared::new());
    let reader = tokio::spawn(read_loop(read, shared.clone(), tuning.max_client_frame));
    let limit = WriteLimit {
        progress: &progress,
        stall: tuning.write_timeout,
    };
    let ended = write_loop(write_half, subscription, &shared, &tuning, limit, shutdown).await;
    reader.abort();
    ended
}

/// Reads until the client closes, breaks the protocol or goes; what it is owed (a pong, the
/// close reply) is left for the writer.
async fn read_loop(mut read: ReadHalf<Io>, shared: Arc<Shared>, max_frame: usize) {
    let mut message = client_frames::Message::default();
    loop {
        match client_frames::read_frame(&mut read, &mut message, max_frame).await {
            Ok(incoming) => {
                shared.touch();
                match incoming {
                    Incoming::Heard => {}
                    Incoming::Ping(payload) => shared.owe(Frame::pong(Payload::Owned(payload))),
                    Incoming::Close(code) => {
                        shared.owe(match code {
                            Some(code) => Frame::close(code, b""),
                            None => Frame::close_raw(Payload::Owned(Vec::new())),
                        });
                        break;
                    }
                }
            }
            Err(Stop::Violation(code)) => {
                let reason: &[u8] = match code {
                    close::TOO_BIG => b"frame too large",
                    close::INVALID_DATA => b"invalid utf-8",
                    _ => b"protocol error",
                };
                shared.owe(Frame::close(code, reason));
                break;
            }
            Err(Stop::Gone) => break,
        }
    }
    shared.reader_done();
}

async fn write_loop(
    mut out: Out,
    mut subscription: Subscription,
    shared: &Shared,
    tuning: &Tuning,
    timeout: WriteLimit<'_>,
    shutdown: CancellationToken,
) -> Ended {
    match std::mem::replace(&mut subscription.replay, Replay::Nothing) {
        Replay::Nothing => {}
        Replay::Resync => {
            if !send(&mut out, text(RESYNC_FRAME), timeout).await {
                return Ended::WriteFailed;
            }
            metrics::counter!("ws_resyncs_sent_total").increment(1);
        }
        Replay::Frames(frames) => {
            for frame in &frames {
                if !queue(&mut out, text(frame)).await {
                    return Ended::WriteFailed;
                }
            }
            if !flush(&mut out, timeout).await {
                return Ended::WriteFailed;
            }
            metrics::counter!("ws_frames_sent_total").increment(frames.len() as u64);
        }
    }
    // Looked up once per connection, and bumped once per write, not per frame: the counter is
    // shared by every socket's writer, and per-frame bumps showed in the profile.
    let frames_sent = metrics::counter!("ws_frames_sent_total");
    // Registered once: a fresh `cancelled()` in every turn of the loop registered with the
    // token each time (3 % of the notifier's CPU at 100,000 frames/s).
    let shutdown = shutdown.cancelled();
    tokio::pin!(shutdown);
    let heartbeats_sent = metrics::counter!("ws_heartbeats_sent_total");
    // Awaited once per connection, like the shutdown.
    let close_requested = subscription.close_requested();
    tokio::pin!(close_requested);
    // One timer for every duty (ping, idle check, heartbeat, lifetime), set to the earliest one
    // due. It is not reset per frame sent: when it fires early for a heartbeat that frames made
    // unnecessary, it is simply set again, so a busy socket costs no timer work per frame.
    let start = Instant::now();
    let mut last_frame = start;
    let mut next_ping = start + tuning.ping_interval;
    // `None` only for a lifetime too long to represent, which is as good as none.
    let lifetime_ends = start.checked_add(tuning.max_socket_lifetime);
    let duties = Duties {
        shared,
        tuning,
        lifetime_ends,
    };
    let wake = tokio::time::sleep_until(duties.next_wake(start, last_frame, next_ping));
    tokio::pin!(wake);
    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => {
                send(&mut out, Frame::close(close::GOING_AWAY, b"server shutting down"), timeout).await;
                return Ended::Shutdown;
            }
            request = &mut close_requested => {
                // Whatever else waits for this client is not its to see any more.
                send(&mut out, Frame::close(request.code(), request.reason().as_bytes()), timeout).await;
                return match request {
                    CloseRequest::StaffAccessRemoved => Ended::AccessRemoved,
                };
            }
            _ = shared.wake.notified() => {
                let (pong, closing, reader_done) = {
                    let mut owed = shared.owed();
                    (owed.pong.take(), owed.close.take(), owed.reader_done)
                };
                if let Some(pong) = pong
                    && !send(&mut out, pong, timeout).await
                {
                    return Ended::WriteFailed;
                }
                if let Some(frame) = closing {
                    let too_big = frame.payload.get(..2) == Some(&close::TOO_BIG.to_be_bytes()[..]);
                    if !send(&mut out, frame, timeout).await {
                        return Ended::WriteFailed;
                    }
                    return if too_big { Ended::TooBig } else { Ended::ClientClosed };
                }
                if reader_done {
                    return Ended::ClientClosed;
                }
            }
            _ = &mut wake => {
                let now = Instant::now();
                if lifetime_ends.is_some_and(|end| now >= end) {
                    // The client gets a new ticket (staff membership is checked again) and
                    // reconnects with `after`.
                    send(&mut out, Frame::close(close::GOING_AWAY, b"maximum socket lifetime reached"), timeout).await;
                    return Ended::MaxLifetime;
                }
                if shared.silence() > tuning.idle_timeout {
                    send(&mut out, Frame::close(close::NORMAL, b"no answer to pings"), timeout).await;
                    return Ended::Idle;
                }
                if now >= next_ping {
                    next_ping = now + tuning.ping_interval;
                    let ping = Frame::new(true, OpCode::Ping, None, Payload::Borrowed(&[]));
                    if !send(&mut out, ping, timeout).await {
                        return Ended::WriteFailed;
                    }
                }
                if now >= last_frame + tuning.heartbeat_interval {
                    let beat = heartbeat_frame(subscription.last_seq());
                    if !send(&mut out, text(&beat), timeout).await {
                        return Ended::WriteFailed;
                    }
                    heartbeats_sent.increment(1);
                    last_frame = now;
                }
                wake.as_mut().reset(duties.next_wake(now, last_frame, next_ping));
            }
            message = subscription.receiver.recv() => {
                // Whatever else is already queued for this client goes out in the same write.
                // Letting the other sockets' writers run first costs nothing when the notifier
                // is idle and, when it is busy, lets more of this client's frames arrive.
                if subscription.receiver.is_empty() {
                    tokio::task::yield_now().await;
                }
                let mut message = message;
                let mut batched = 0;
                let mut events = 0;
                loop {
                    match message {
                        Ok(Outbound::Event(frame)) => {
                            if !queue(&mut out, text(&frame)).await {
                                return Ended::WriteFailed;
                            }
                            events += 1;
                        }
                        Ok(Outbound::Resync) => {
                            if !queue(&mut out, text(RESYNC_FRAME)).await {
                                return Ended::WriteFailed;
                            }
                            metrics::counter!("ws_resyncs_sent_total").increment(1);
                        }
                        Err(RecvError::Lagged(_)) => {
                            // More than the backlog is waiting for this client: rather than
                            // slow anyone else down, tell it to resync and let it reconnect.
                            // After a write that timed out half-way nothing more can be framed.
                            if send(&mut out, text(RESYNC_FRAME), timeout).await {
                                send(&mut out, Frame::close(close::TRY_AGAIN_LATER, b"too slow"), timeout).await;
                            }
                            metrics::counter!("ws_resyncs_sent_total").increment(1);
                            metrics::counter!("ws_slow_consumer_closes_total").increment(1);
                            return Ended::SlowConsumer;
                        }
                        Err(RecvError::Closed) => {
                            send(&mut out, Frame::close(close::GOING_AWAY, b"feed closed"), timeout).await;
                            return Ended::Shutdown;
                        }
                    }
                    batched += 1;
                    if batched == MAX_BATCH {
                        break;
                    }
                    message = match subscription.receiver.try_recv() {
                        Ok(next) => Ok(next),
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Lagged(missed)) => Err(RecvError::Lagged(missed)),
                        Err(TryRecvError::Closed) => Err(RecvError::Closed),
                    };
                }
                frames_sent.increment(events);
                if !flush(&mut out, timeout).await {
                    return Ended::WriteFailed;
                }
                last_frame = Instant::now();
            }
        }
    }
}

/// What the writer's one timer is for, besides pings and heartbeats.
struct Duties<'a> {
    shared: &'a Shared,
    tuning: &'a Tuning,
    lifetime_ends: Option<Instant>,
}

impl Duties<'_> {
    /// When the writer must next wake: a ping, a heartbeat, the client's idle deadline or the
    /// end of the socket's lifetime, whichever comes first.
    fn next_wake(
        &self,
        now: Instant,
        last_frame: Instant,
        next_ping: Instant,
    ) -> tokio::time::Instant {
        let tuning = self.tuning;
        // Just past the deadline, so the check then sees the client as silent for too long.
        let idle_at = now
            + tuning.idle_timeout.saturating_sub(self.shared.silence())
            + Duration::from_millis(1);
        let mut at = next_ping
            .min(last_frame + tuning.heartbeat_interval)
            .min(idle_at);
        if let Some(end) = self.lifetime_ends {
            at = at.min(end);
        }
        tokio::time::Instant::from_std(at)
    }
}

/// `{"event":"heartbeat","seq":S,"at":"…"}`: tells a browser, which cannot see pings, that the
/// link is alive and how far the restaurant's sequence has got.
pub fn heartbeat_frame(seq: Option<i64>) -> Vec<u8> {
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let seq = seq.map_or_else(|| "null".to_owned(), |seq| seq.to_string());
    format!(r#"{{"event":"heartbeat","seq":{seq},"at":"{at}"}}"#).into_bytes()
}

fn text(bytes: &[u8]) -> Frame<'_> {
    Frame::text(Payload::Borrowed(bytes))
}

/// Adds a frame to the batch (no I/O yet); false if the connection can take no more frames.
async fn queue(out: &mut Out, frame: Frame<'_>) -> bool {
    out.write_frame(frame).await.is_ok()
}

/// How long a write may go without the socket taking a byte. A client that falls behind but
/// still reads is not cut off by it: it is found too slow by what waits for it (the feed's
/// backlog), and is then sent `resync` and 1013 once it takes them.
#[derive(Clone, Copy)]
struct WriteLimit<'a> {
    progress: &'a AtomicU64,
    stall: Duration,
}

/// Sends the batch; false when the client is gone or took nothing for the stall limit.
async fn flush(out: &mut Out, limit: WriteLimit<'_>) -> bool {
    loop {
        let before = limit.progress.load(Ordering::Relaxed);
        // Batching keeps what is left to write, so a flush cut off here resumes where it was.
        match tokio::time::timeout(limit.stall, out.flush()).await {
            Ok(result) => return result.is_ok(),
            Err(_) if limit.progress.load(Ordering::Relaxed) != before => continue,
            Err(_) => return false,
        }
    }
}

/// Writes one frame now; false when the client is gone or took nothing for the stall limit.
async fn send(out: &mut Out, frame: Frame<'_>, limit: WriteLimit<'_>) -> bool {
    queue(out, frame).await && flush(out, limit).await
}
