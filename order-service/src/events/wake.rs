//! Waking the outbox relay once a change has committed.
//!
//! The relay used to be woken by a NOTIFY from a trigger on `order_events`. PostgreSQL commits
//! a transaction that notified while holding one database-wide lock, through its WAL flush,
//! so every write request's commit queued behind the others' (measured: dropping the trigger
//! took `http` from 1,435 to 1,821 requests/s). Now the request that made a change wakes its
//! own instance's relay in memory; only when that relay is a standby does the instance pass
//! the wake on to the active relay, as a NOTIFY of its own outside the request's transaction,
//! coalesced (at most one in flight) and without waiting for a flush. The relay's slow poll
//! remains the safety net for a wake lost on the way.
//!
//! A wake of this instance's own relay carries the committed event itself (`handoff`), so
//! the relay can publish it without reading it back.

use std::sync::{
    Arc, Mutex, PoisonError,
    atomic::{AtomicBool, Ordering},
};
use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection, postgres::PgConnectOptions};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::handoff::HandedEvent;
use super::relay::NOTIFY_CHANNEL;

/// Hand-offs waiting for the relay, at most: a relay held up (by the broker, say) must not
/// make them pile up in memory. Past this, events are left to the relay's read of the outbox.
const HANDOFF_CAPACITY: usize = 4096;

/// Shared by the request handlers, which call [`OutboxWake::committed`], and the relay.
#[derive(Debug, Default)]
pub struct OutboxWake {
    /// This instance's relay, when it is the active one.
    local: Notify,
    /// The task that passes a wake on to another instance's active relay.
    forward: Notify,
    leading: AtomicBool,
    /// Committed events for this instance's relay while it is the active one.
    handed: Mutex<Vec<HandedEvent>>,
    /// Some hand-off did not fit: the relay must read the outbox.
    overflowed: AtomicBool,
}

impl OutboxWake {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// An event row has committed: the active relay should publish it now. `handed` makes the
    /// event for the relay, called only when this instance's relay is the active one (another
    /// instance's relay reads it from the outbox anyway).
    pub fn committed(&self, handed: impl FnOnce() -> Option<HandedEvent>) {
        if self.leading.load(Ordering::Acquire) {
            if let Some(event) = handed() {
                let mut queue = self.handed.lock().unwrap_or_else(PoisonError::into_inner);
                if queue.len() < HANDOFF_CAPACITY {
                    queue.push(event);
                } else {
                    self.overflowed.store(true, Ordering::Release);
                }
            } else {
                self.overflowed.store(true, Ordering::Release);
            }
            self.local.notify_one();
        } else {
            self.forward.notify_one();
        }
    }

    /// The events handed over since the last call, and whether any could not be.
    pub(super) fn take_handed(&self) -> (Vec<HandedEvent>, bool) {
        let handed =
            std::mem::take(&mut *self.handed.lock().unwrap_or_else(PoisonError::into_inner));
        (handed, self.overflowed.swap(false, Ordering::AcqRel))
    }

    /// Whether this instance's relay is the active one (set by the relay).
    pub(super) fn set_leading(&self, leading: bool) {
        self.leading.store(leading, Ordering::Release);
        if leading {
            // Anything left from an earlier term is in the outbox, which a new term reads first.
            self.take_handed();
            // A change may have committed just before: look at once.
            self.local.notify_one();
        }
    }

    /// Resolves at the next [`committed`](Self::committed) while leading (or at once if one
    /// came since the last call).
    pub(super) async fn woken(&self) {
        self.local.notified().await;
    }
}

/// Passes wakes on to the active relay of another instance while this one's is a standby,
/// until `stop`. One NOTIFY stands for every change committed while the previous was sent.
pub async fn run_forwarder(
    options: PgConnectOptions,
    wake: Arc<OutboxWake>,
    stop: CancellationToken,
) {
    let mut conn: Option<PgConnection> = None;
    loop {
        tokio::select! {
            _ = stop.cancelled() => {
                if let Some(link) = conn.take() {
                    let _ = tokio::time::timeout(Duration::from_secs(1), link.close()).await;
                }
                return;
            }
            _ = wake.forward.notified() => {}
        }
        // A link that died while idle (a restarted server, an idle timeout on the way) fails
        // the first send: then once more on a new connection, before leaving it to the poll.
        for _ in 0..2 {
            if conn.is_none() {
                conn = connect(&options).await;
            }
            let Some(link) = conn.as_mut() else {
                continue;
            };
            let sent = tokio::time::timeout(
                Duration::from_secs(5),
                sqlx::query("SELECT pg_notify($1, '')")
                    .bind(NOTIFY_CHANNEL)
                    .execute(&mut *link),
            )
            .await;
            if matches!(sent, Ok(Ok(_))) {
                break;
            }
            conn = None;
        }
        if conn.is_none() {
            tracing::warn!(
                "could not pass an outbox wake on to the active relay; its poll will find the change"
            );
        }
    }
}

/// A connection whose commits do not wait for their WAL flush: a NOTIFY lost in a crash is
/// covered by the poll, and the wake should hold the notify lock as briefly as possible.
async fn connect(options: &PgConnectOptions) -> Option<PgConnection> {
    let connect = async {
        let mut conn = PgConnection::connect_with(options).await?;
        conn.execute("SET synchronous_commit = off").await?;
        Ok::<_, sqlx::Error>(conn)
    };
    match tokio::time::timeout(Duration::from_secs(5), connect).await {
        Ok(Ok(conn)) => Some(conn),
        _ => None,
    }
}
