//! Serving one kitchen WebSocket after the upgrade.
//!
//! fastwebsockets' `read_frame` is not cancel-safe, so it never sits in a `select!`: a reader
//! task owns the read half and passes the frames it must answer (pong, close reply, 1009) to the
//! writer through a channel. The writer owns the write half and `select!`s over cancel-safe
//! sources only: shutdown, those obligations, the ping timer and the restaurant's feed.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use fastwebsockets::{
    Frame, OpCode, Payload, WebSocket, WebSocketError, WebSocketRead, WebSocketWrite,
};
use hyper_util::rt::TokioIo;
use tokio::{
    io::{ReadHalf, WriteHalf},
    sync::{broadcast::error::RecvError, mpsc},
};
use tokio_util::sync::CancellationToken;

use crate::{
    config::Tuning,
    hub::{Outbound, RESYNC_FRAME, Replay, Subscription},
};

type Io = TokioIo<hyper::upgrade::Upgraded>;

/// Close codes this server sends.
pub mod close {
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL_ERROR: u16 = 1002;
    pub const INVALID_DATA: u16 = 1007;
    pub const TOO_BIG: u16 = 1009;
    pub const TRY_AGAIN_LATER: u16 = 1013;
}

/// When the client was last heard from, in milliseconds since `epoch`.
struct LastHeard {
    epoch: Instant,
    millis: AtomicU64,
}

impl LastHeard {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            millis: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        self.millis
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn silence(&self) -> Duration {
        self.epoch
            .elapsed()
            .saturating_sub(Duration::from_millis(self.millis.load(Ordering::Relaxed)))
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
        }
    }
}

pub async fn serve(
    ws: WebSocket<Io>,
    subscription: Subscription,
    tuning: Tuning,
    shutdown: CancellationToken,
) -> Ended {
    let (mut read_half, write_half) = ws.split(tokio::io::split);
    // Over the limit is refused before the payload is buffered (the check is `>=`).
    read_half.set_max_message_size(tuning.max_client_frame + 1);
    let (obligations, obligated) = mpsc::channel::<Frame<'static>>(16);
    let heard = Arc::new(LastHeard::new());
    let reader = tokio::spawn(read_loop(read_half, obligations, heard.clone()));
    let ended = write_loop(
        write_half,
        subscription,
        obligated,
        heard,
        &tuning,
        shutdown,
    )
    .await;
    reader.abort();
    ended
}

async fn read_loop(
    mut read_half: WebSocketRead<ReadHalf<Io>>,
    obligations: mpsc::Sender<Frame<'static>>,
    heard: Arc<LastHeard>,
) {
    loop {
        let result = read_half
            .read_frame(&mut |frame| {
                let obligations = obligations.clone();
                async move {
                    obligations
                        .send(frame)
                        .await
                        .map_err(|_| std::io::Error::other("writer gone"))
                }
            })
            .await;
        match result {
            Ok(frame) => {
                heard.touch();
                // Text, binary and pongs from the client are ignored; a close was answered
                // through the obligation above.
                if frame.opcode == OpCode::Close {
                    return;
                }
            }
            Err(WebSocketError::FrameTooLarge) => {
                let _ = obligations
                    .send(Frame::close(close::TOO_BIG, b"frame too large"))
                    .await;
                return;
            }
            Err(WebSocketError::InvalidUTF8) => {
                let _ = obligations
                    .send(Frame::close(close::INVALID_DATA, b"invalid utf-8"))
                    .await;
                return;
            }
            Err(
                WebSocketError::UnexpectedEOF
                | WebSocketError::ConnectionClosed
                | WebSocketError::IoError(_)
                | WebSocketError::SendError(_),
            ) => return,
            Err(_) => {
                let _ = obligations
                    .send(Frame::close(close::PROTOCOL_ERROR, b"protocol error"))
                    .await;
                return;
            }
        }
    }
}

async fn write_loop(
    mut out: WebSocketWrite<WriteHalf<Io>>,
    mut subscription: Subscription,
    mut obligated: mpsc::Receiver<Frame<'static>>,
    heard: Arc<LastHeard>,
    tuning: &Tuning,
    shutdown: CancellationToken,
) -> Ended {
    let timeout = tuning.write_timeout;
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
                if !send(&mut out, text(frame), timeout).await {
                    return Ended::WriteFailed;
                }
            }
            metrics::counter!("ws_frames_sent_total").increment(frames.len() as u64);
        }
    }
    // Looked up once per connection: the per-frame path only bumps an atomic.
    let frames_sent = metrics::counter!("ws_frames_sent_total");
    let mut ping = tokio::time::interval_at(
        tokio::time::Instant::now() + tuning.ping_interval,
        tuning.ping_interval,
    );
    // Silence is checked more often than pings go out, so a silent client is closed close to
    // the idle timeout rather than up to a ping interval later.
    let idle_check_every = (tuning.idle_timeout / 12).max(Duration::from_millis(10));
    let mut idle_check = tokio::time::interval_at(
        tokio::time::Instant::now() + idle_check_every,
        idle_check_every,
    );
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => {
                send(&mut out, Frame::close(close::GOING_AWAY, b"server shutting down"), timeout).await;
                return Ended::Shutdown;
            }
            obligation = obligated.recv() => {
                let Some(frame) = obligation else {
                    return Ended::ClientClosed;
                };
                let closing = frame.opcode == OpCode::Close;
                let too_big =
                    closing && frame.payload.get(..2) == Some(&close::TOO_BIG.to_be_bytes()[..]);
                if !send(&mut out, frame, timeout).await {
                    return Ended::WriteFailed;
                }
                if closing {
                    return if too_big { Ended::TooBig } else { Ended::ClientClosed };
                }
            }
            _ = idle_check.tick() => {
                if heard.silence() > tuning.idle_timeout {
                    send(&mut out, Frame::close(close::NORMAL, b"no answer to pings"), timeout).await;
                    return Ended::Idle;
                }
            }
            _ = ping.tick() => {
                let ping = Frame::new(true, OpCode::Ping, None, Payload::Borrowed(&[]));
                if !send(&mut out, ping, timeout).await {
                    return Ended::WriteFailed;
                }
            }
            message = subscription.receiver.recv() => match message {
                Ok(Outbound::Event(frame)) => {
                    if !send(&mut out, text(&frame), timeout).await {
                        return Ended::WriteFailed;
                    }
                    frames_sent.increment(1);
                }
                Ok(Outbound::Resync) => {
                    if !send(&mut out, text(RESYNC_FRAME), timeout).await {
                        return Ended::WriteFailed;
                    }
                    metrics::counter!("ws_resyncs_sent_total").increment(1);
                }
                Err(RecvError::Lagged(_)) => {
                    // More than the backlog is waiting for this client: rather than slow anyone
                    // else down, tell it to resync and let it reconnect.
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
        }
    }
}

fn text(bytes: &[u8]) -> Frame<'_> {
    Frame::text(Payload::Borrowed(bytes))
}

/// Writes one frame; false when the client is gone or does not take it in time.
async fn send(
    out: &mut WebSocketWrite<WriteHalf<Io>>,
    frame: Frame<'_>,
    timeout: Duration,
) -> bool {
    matches!(
        tokio::time::timeout(timeout, out.write_frame(frame)).await,
        Ok(Ok(()))
    )
}
