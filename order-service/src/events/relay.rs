//! The outbox relay: publishes committed event rows to RabbitMQ, in order, at least once.
//! It serves two outbox tables the same way: `order_events` (each restaurant's event log) and
//! `staff_outbox` (messages such as `staff.removed`, which take no `seq`).
//!
//! Every instance runs one; a PostgreSQL advisory lock makes exactly one of them active, so a
//! restaurant's events leave in `seq` order. The active relay does all its outbox queries on
//! the very connection that holds the lock: if that connection dies, the lock is released by
//! the server and the relay notices at its next query (about `marks::MARK_WITHIN` after it
//! published anything from memory: the window in which both may publish, duplicates that
//! consumers drop), while a standby takes over within `standby_interval`.
//!
//! What went out is recorded only after the broker confirmed it: for order events, per
//! restaurant, as the `seq` up to which all were confirmed (`outbox_progress`, written about
//! `marks::MARK_WITHIN` later and before any read of the outbox); staff messages per row. So a
//! crash or a broker outage at any point leaves it to be published again (consumers drop
//! duplicates by `event_id` or the order's `version`).
//!
//! The changes of its own instance are handed to it in memory with their wake (`handoff`): it
//! publishes those without reading them back when they follow on from what it published of
//! their restaurant, and reads the outbox whenever something may be there that it was not
//! handed (at start, on another instance's NOTIFY, at each poll, after a hole).

use std::{sync::Arc, time::Duration};

use sqlx::{Connection, Executor, PgConnection, PgPool, postgres::PgListener, types::Json};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use lapin::types::{AMQPValue, FieldTable};
use service_common::{amqp::BrokerNodes, backoff::backoff, telemetry};

use super::handoff::{HandedEvent, PublishedSeqs};
use super::marks::OwedMarks;
use super::publisher::{Outgoing, PublishError, Publisher};
use super::wake::OutboxWake;
use crate::telemetry::TraceContext;

/// `pg_try_advisory_lock` key of the active relay ("kitchen1" in ASCII).
pub const RELAY_LOCK_KEY: i64 = 0x6b69_7463_6865_6e31;
/// The channel a standby instance's wake forwarder (`wake`) and the `staff_outbox` insert
/// trigger notify.
pub const NOTIFY_CHANNEL: &str = "outbox_new";
/// A relay query that takes longer than this means a stalled database link: step down.
const QUERY_TIMEOUT: Duration = Duration::from_secs(15);
/// How often the backlog gauges are refreshed.
const BACKLOG_EVERY: Duration = Duration::from_secs(5);

/// Bounds a relay query, turning a stall into an error so the relay steps down.
async fn bounded<T>(
    query: impl std::future::Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, sqlx::Error> {
    match tokio::time::timeout(QUERY_TIMEOUT, query).await {
        Ok(result) => result,
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "outbox query timed out",
        ))),
    }
}

#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// The broker's nodes; connects and reconnects go round them.
    pub nodes: Arc<BrokerNodes>,
    pub exchange: String,
    /// Shown as the connection name in the RabbitMQ management UI.
    pub connection_name: String,
    pub batch_size: i64,
    /// Safety net: NOTIFYs sent while the listener was reconnecting are lost, so poll anyway.
    pub poll_interval: Duration,
    /// How often a standby tries to take over.
    pub standby_interval: Duration,
    pub confirm_timeout: Duration,
}

impl RelaySettings {
    /// `amqp_url`: `AMQP_URL`, one URI or several comma-separated.
    pub fn new(amqp_url: &str, exchange: &str) -> Result<Self, String> {
        Ok(Self {
            nodes: Arc::new(BrokerNodes::parse(amqp_url)?),
            exchange: exchange.to_owned(),
            connection_name: format!("order-service relay {}", std::process::id()),
            batch_size: 500,
            poll_interval: Duration::from_secs(5),
            standby_interval: Duration::from_secs(2),
            confirm_timeout: Duration::from_secs(10),
        })
    }
}

enum Ended {
    Standby,
    Stopped,
}

/// Runs until `stop`: as standby, or as the active relay.
pub async fn run(
    db: PgPool,
    settings: RelaySettings,
    wake: Arc<OutboxWake>,
    stop: CancellationToken,
) {
    let mut failures = 0u32;
    loop {
        let wait = match lead(&db, &settings, &wake, &stop).await {
            Ok(Ended::Stopped) => return,
            Ok(Ended::Standby) => {
                failures = 0;
                settings.standby_interval
            }
            Err(error) => {
                tracing::warn!(%error, "outbox relay lost its database connection");
                failures += 1;
                backoff(
                    failures,
                    Duration::from_millis(200),
                    settings.standby_interval,
                )
            }
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Takes the relay lock if free and publishes until the lock's connection fails or `stop`.
async fn lead(
    db: &PgPool,
    settings: &RelaySettings,
    wake: &OutboxWake,
    stop: &CancellationToken,
) -> Result<Ended, sqlx::Error> {
    let mut conn = bounded(PgConnection::connect_with(&db.connect_options())).await?;
    let leader = bounded(
        sqlx::query_scalar!(
            r#"SELECT pg_try_advisory_lock($1) AS "locked!""#,
            RELAY_LOCK_KEY
        )
        .fetch_one(&mut conn),
    )
    .await?;
    if !leader {
        let _ = conn.close().await;
        return Ok(Ended::Standby);
    }
    // Its only writes are the marks, one commit per batch: they need not wait for their WAL
    // flush, since a mark lost in a crash only means its rows are published again (duplicates
    // that consumers drop), and waiting made every batch, and so every event behind it, later.
    bounded(conn.execute("SET synchronous_commit = off")).await?;
    tracing::info!("outbox relay is active");
    metrics::gauge!("outbox_relay_active").set(1.0);
    let result = publish_while_leader(db, settings, wake, stop, &mut conn).await;
    wake.set_leading(false);
    metrics::gauge!("outbox_relay_active").set(0.0);
    let _ = tokio::time::timeout(Duration::from_secs(1), conn.close()).await;
    result
}

async fn publish_while_leader(
    db: &PgPool,
    settings: &RelaySettings,
    wake: &OutboxWake,
    stop: &CancellationToken,
    conn: &mut PgConnection,
) -> Result<Ended, sqlx::Error> {
    let mut listener = bounded(PgListener::connect_with(db)).await?;
    bounded(listener.listen(NOTIFY_CHANNEL)).await?;
    // From here on this instance's changes wake this relay in memory; other instances'
    // reach it through the listener.
    wake.set_leading(true);
    let mut backlog_checked: Option<Instant> = None;

    let mut publisher: Option<Publisher> = None;
    // The staff outbox is read when something may have arrived there (at start, on a
    // NOTIFY, at each poll), not on every wake by an order change: one query less per batch.
    let mut staff_due = true;
    // Likewise the order events: read when a change may be there that was not handed over
    // (at start, on a NOTIFY, at each poll, after a hole or a lost hand-off).
    let mut events_due = true;
    let mut progress = Progress::default();
    let mut broker_failures = 0u32;
    let mut next_connect = Instant::now();
    loop {
        if stop.is_cancelled() {
            if let Some(publisher) = publisher.take() {
                publisher.close().await;
            }
            // Best effort: a mark not written only means its events go out again.
            let _ = write_marks(conn, &mut progress.owed).await;
            // Releasing the advisory lock at once lets a standby take over without waiting.
            let _ = sqlx::query!("SELECT pg_advisory_unlock($1) AS unlocked", RELAY_LOCK_KEY)
                .fetch_one(&mut *conn)
                .await;
            return Ok(Ended::Stopped);
        }
        if publisher.as_ref().is_some_and(|p| !p.is_connected()) {
            publisher = None;
        }
        if publisher.is_none() && Instant::now() >= next_connect {
            match Publisher::connect(
                &settings.nodes,
                &settings.exchange,
                &settings.connection_name,
            )
            .await
            {
                Ok(connected) => {
                    if broker_failures > 0 {
                        tracing::info!("outbox relay reconnected to the broker");
                        metrics::counter!("broker_reconnects_total", "service" => "order-service")
                            .increment(1);
                    }
                    broker_failures = 0;
                    publisher = Some(connected);
                }
                Err(error) => {
                    broker_failures += 1;
                    next_connect = broker_retry_at(broker_failures);
                    tracing::warn!(%error, attempt = broker_failures, "outbox relay cannot reach the broker");
                }
            }
        }
        let (handed, lost) = wake.take_handed();
        events_due |= lost;
        let mut more = false;
        let mut failed: Option<PublishError> = None;
        if let Some(active) = &publisher {
            // What this instance committed, straight from memory where its restaurant's order
            // allows; the rest is left to the read below.
            let sorted = progress.published.sort(handed);
            events_due |= sorted.needs_read;
            if !sorted.publish.is_empty() {
                let sent = publish_handed(active, settings, sorted.publish, &mut progress);
                failed = sent.await.err();
            }
            // One batch of each outbox per turn, so neither waits for the other's backlog.
            // Each is published in its own `position` order, which keeps a restaurant's
            // events in `seq` order; staff messages are in no sequence.
            for outbox in [Outbox::OrderEvents, Outbox::Staff] {
                let due = match outbox {
                    Outbox::OrderEvents => events_due,
                    Outbox::Staff => staff_due,
                };
                if failed.is_some() || !due {
                    continue;
                }
                if let Outbox::OrderEvents = outbox {
                    // The read goes by the marks: what is confirmed must be marked first, or
                    // it would be published again.
                    write_marks(conn, &mut progress.owed).await?;
                }
                match publish_pending(conn, active, settings, outbox, &mut progress).await? {
                    Ok(count) => {
                        let full = count == settings.batch_size as usize;
                        more |= full;
                        match outbox {
                            Outbox::OrderEvents => events_due = full,
                            Outbox::Staff => staff_due = full,
                        }
                    }
                    Err(error) => failed = Some(error),
                }
            }
        } else if !handed.is_empty() {
            // No broker: the outbox keeps them, and the read after the reconnect finds them.
            events_due = true;
        }
        if let Some(error) = failed {
            tracing::warn!(%error, "publishing failed; will reconnect to the broker");
            publisher = None;
            broker_failures += 1;
            next_connect = broker_retry_at(broker_failures);
            // Whatever it left unconfirmed is read again.
            events_due = true;
        }
        if progress
            .owed
            .due_at()
            .is_some_and(|due| due <= Instant::now())
        {
            write_marks(conn, &mut progress.owed).await?;
        }
        if more {
            continue;
        }
        if backlog_checked.is_none_or(|at| at.elapsed() >= BACKLOG_EVERY) {
            // The backlog is counted from the marks.
            write_marks(conn, &mut progress.owed).await?;
            record_backlog(conn).await?;
            backlog_checked = Some(Instant::now());
        }
        // Owed marks are written once they are due, unless a wake comes first.
        let marks_due = progress.owed.due_at();
        let wait = if publisher.is_some() {
            settings.poll_interval
        } else {
            next_connect
                .saturating_duration_since(Instant::now())
                .min(settings.poll_interval)
        };
        tokio::select! {
            _ = stop.cancelled() => {}
            // This instance's own order changes, handed over: they never write staff messages.
            _ = wake.woken() => {}
            notified = listener.recv() => {
                // Another instance's wake, or the staff outbox's trigger.
                staff_due = true;
                events_due = true;
                if let Err(error) = notified {
                    // The listener reconnects on its next recv; don't spin meanwhile.
                    tracing::warn!(%error, "outbox listener lost its connection");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
            _ = tokio::time::sleep(wait) => {
                staff_due = true;
                events_due = true;
            }
            _ = service_common::timer::sleep_until(marks_due) => {}
        }
    }
}

/// What the active relay knows of its term's confirms: per restaurant the latest `seq`
/// confirmed (for the hand-off's order), and the marks not yet written.
#[derive(Default)]
struct Progress {
    published: PublishedSeqs,
    owed: OwedMarks,
}

impl Progress {
    /// The broker confirmed `seq` of `restaurant`, and all before it.
    fn confirmed(&mut self, restaurant: Uuid, seq: i64, now: Instant) {
        self.published.published(restaurant, seq);
        self.owed.owe(restaurant, seq, now);
    }
}

/// The two outbox tables the relay publishes.
#[derive(Debug, Clone, Copy)]
enum Outbox {
    /// Order events: the restaurants' event logs, each row with its `seq`.
    OrderEvents,
    /// Messages about staff (`staff.removed`), in no sequence and in no event log.
    Staff,
}

impl Outbox {
    /// The oldest unpublished rows, in `position` order, at most `limit`.
    async fn pending(
        self,
        conn: &mut PgConnection,
        limit: i64,
    ) -> Result<Vec<Pending>, sqlx::Error> {
        match self {
            Outbox::OrderEvents => {
                bounded(
                    sqlx::query_as!(
                        Pending,
                        // Per restaurant with something after its watermark, the positions
                        // of its first `limit` events in `seq` order (an index range), then
                        // the first `limit` of those in `position` order, and only then their
                        // rows: a long backlog at many restaurants sorts narrow tuples, and
                        // only the batch's payloads are built. The stored payload's `seq` and
                        // `occurred_at` are placeholders (migration 20261208000002): set from
                        // the row's columns, in the format the serializer writes.
                        r#"WITH batch AS (
                               SELECT w.position
                               FROM restaurant_sequences s
                               LEFT JOIN outbox_progress p ON p.restaurant_id = s.restaurant_id
                               CROSS JOIN LATERAL (
                                   SELECT e.position FROM order_events e
                                   WHERE e.restaurant_id = s.restaurant_id
                                     AND e.seq > COALESCE(p.published_seq, 0)
                                   ORDER BY e.seq LIMIT $1) w
                               WHERE s.event_seq > COALESCE(p.published_seq, 0)
                               ORDER BY w.position LIMIT $1)
                           SELECT e.position, e.event_id, e.routing_key,
                                  jsonb_set(jsonb_set(e.payload, '{seq}', to_jsonb(e.seq)), '{occurred_at}',
                                            to_jsonb(to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')))::text
                                    AS "body!",
                                  e.trace_context AS "trace_context: Json<TraceContext>", e.occurred_at,
                                  e.restaurant_id AS "restaurant_id?", e.seq AS "seq?"
                           FROM batch JOIN order_events e ON e.position = batch.position
                           ORDER BY e.position"#,
                        limit
                    )
                    .fetch_all(&mut *conn),
                )
                .await
            }
            Outbox::Staff => {
                bounded(
                    sqlx::query_as!(
                        Pending,
                        r#"SELECT position, event_id, routing_key, payload::text AS "body!",
                                  trace_context AS "trace_context: Json<TraceContext>", occurred_at,
                                  NULL::uuid AS "restaurant_id?", NULL::bigint AS "seq?"
                           FROM staff_outbox WHERE published_at IS NULL ORDER BY position LIMIT $1"#,
                        limit
                    )
                    .fetch_all(&mut *conn),
                )
                .await
            }
        }
    }

    /// Records `rows` as published, once the broker confirmed them (all of them, and every
    /// row before them in `position` order): order events as marks owed, written soon
    /// ([`write_marks`]); staff messages at once, each row (they are rare).
    async fn mark_published(
        self,
        conn: &mut PgConnection,
        rows: &[Pending],
        progress: &mut Progress,
    ) -> Result<(), sqlx::Error> {
        match self {
            Outbox::OrderEvents => {
                let now = Instant::now();
                for row in rows {
                    if let (Some(restaurant), Some(seq)) = (row.restaurant_id, row.seq) {
                        progress.confirmed(restaurant, seq, now);
                    }
                }
                metrics::counter!("outbox_events_published_total").increment(rows.len() as u64);
            }
            Outbox::Staff => {
                let positions: Vec<i64> = rows.iter().map(|row| row.position).collect();
                // Planned on every run, with its values and the table's current size: a
                // cached generic plan made while the table was nearly empty would seq-scan it
                // forever (measured on the event outbox: 17 ms per batch after 25k rows).
                bounded(
                    sqlx::query!(
                        "UPDATE staff_outbox SET published_at = now() WHERE position = ANY($1)",
                        &positions
                    )
                    .persistent(false)
                    .execute(&mut *conn),
                )
                .await?;
                metrics::counter!("outbox_staff_messages_published_total")
                    .increment(positions.len() as u64);
            }
        }
        Ok(())
    }
}

/// Writes the owed marks: per restaurant the highest `seq` the broker confirmed, as its
/// watermark (migration 20261208000004), never lowered. One statement whatever the number of
/// events behind it.
async fn write_marks(conn: &mut PgConnection, owed: &mut OwedMarks) -> Result<(), sqlx::Error> {
    if owed.is_empty() {
        return Ok(());
    }
    // Taken before the write: if it fails, the relay steps down, and whoever leads next reads
    // from the watermark as it was (republishing these events).
    let (restaurants, seqs) = owed.take();
    bounded(
        sqlx::query!(
            "INSERT INTO outbox_progress (restaurant_id, published_seq)
             SELECT * FROM unnest($1::uuid[], $2::bigint[])
             ON CONFLICT (restaurant_id) DO UPDATE
             SET published_seq = GREATEST(outbox_progress.published_seq, EXCLUDED.published_seq),
                 updated_at = now()",
            &restaurants,
            &seqs
        )
        .execute(&mut *conn),
    )
    .await?;
    Ok(())
}

/// An outbox row waiting to be published.
struct Pending {
    position: i64,
    event_id: Uuid,
    routing_key: String,
    /// The payload as stored: the message body, byte for byte.
    body: String,
    trace_context: Json<TraceContext>,
    /// When the change was stamped (in its write, before its commit): what the lags below
    /// count from.
    occurred_at: chrono::DateTime<chrono::Utc>,
    /// An order event's restaurant and `seq` (a staff message has neither).
    restaurant_id: Option<Uuid>,
    seq: Option<i64>,
}

/// Seconds from `stamped` to now, for the lag histograms (0 if the clocks disagree).
fn seconds_since(stamped: chrono::DateTime<chrono::Utc>) -> f64 {
    (chrono::Utc::now() - stamped)
        .to_std()
        .map_or(0.0, |lag| lag.as_secs_f64())
}

/// One message as the relay sends it, from an outbox row or a hand-off, with its span: a child
/// of the request that made the change, whose context goes into the message headers so the
/// consumer's span continues the same trace.
fn outgoing<'a>(
    settings: &RelaySettings,
    event_id: &Uuid,
    routing_key: &'a str,
    body: &'a [u8],
    stored: &TraceContext,
) -> (tracing::Span, Outgoing<'a>) {
    let span = tracing::info_span!(
        "outbox publish",
        otel.name = %format!("{routing_key} publish"),
        otel.kind = "producer",
        messaging.system = "rabbitmq",
        messaging.destination.name = %settings.exchange,
        messaging.rabbitmq.destination.routing_key = %routing_key,
        messaging.message.id = %event_id,
    );
    telemetry::set_parent(&span, telemetry::context_from_map(stored));
    let mut headers = FieldTable::default();
    telemetry::inject_into_amqp(&span, &mut headers);
    if !headers.inner().contains_key("traceparent") {
        // Tracing is not installed: pass the stored context on as it is.
        for (key, value) in stored {
            headers.insert(
                key.as_str().into(),
                AMQPValue::LongString(value.as_str().into()),
            );
        }
    }
    let message = Outgoing {
        event_id: event_id.to_string(),
        routing_key,
        body,
        headers,
    };
    (span, message)
}

/// What publishing needs of one event, read from the outbox or handed over.
struct Sendable<'a> {
    event_id: &'a Uuid,
    routing_key: &'a str,
    body: &'a [u8],
    trace_context: &'a TraceContext,
    occurred_at: chrono::DateTime<chrono::Utc>,
}

/// Publishes `events` in order and awaits the broker's confirms, recording each event's way
/// out in two hops from its stamp: until the relay had it (the commit, the wake and any read),
/// and until the broker confirmed it (docs/BENCHMARKS.md has the breakdown per hop). Returns
/// how many, from the first, were confirmed, and why the rest were not.
async fn send(
    publisher: &Publisher,
    settings: &RelaySettings,
    events: &[Sendable<'_>],
) -> (usize, Option<PublishError>) {
    let fetched = metrics::histogram!("outbox_fetch_lag_seconds");
    for event in events {
        fetched.record(seconds_since(event.occurred_at));
    }
    let (spans, messages): (Vec<_>, Vec<_>) = events
        .iter()
        .map(|event| {
            outgoing(
                settings,
                event.event_id,
                event.routing_key,
                event.body,
                event.trace_context,
            )
        })
        .unzip();
    let (confirmed, failure) = publisher
        .publish_batch(&messages, settings.confirm_timeout)
        .await;
    drop(spans);
    let lag = metrics::histogram!("outbox_confirm_lag_seconds");
    for event in &events[..confirmed] {
        lag.record(seconds_since(event.occurred_at));
    }
    (confirmed, failure)
}

/// Publishes one batch of unpublished rows of `outbox` in `position` order and marks the
/// confirmed ones: only the prefix the broker confirmed, so a row is never marked while one
/// before it may still be unpublished.
/// (Debug level: it runs on every poll, and the publish spans it makes are the interesting ones.)
#[tracing::instrument(name = "db.outbox.publish_pending", level = "debug", skip_all, fields(outbox = ?outbox))]
/// The outer error is the database's (the relay must step down); the inner one the broker's.
async fn publish_pending(
    conn: &mut PgConnection,
    publisher: &Publisher,
    settings: &RelaySettings,
    outbox: Outbox,
    progress: &mut Progress,
) -> Result<Result<usize, PublishError>, sqlx::Error> {
    let rows = outbox.pending(conn, settings.batch_size).await?;
    if rows.is_empty() {
        return Ok(Ok(0));
    }
    let events: Vec<Sendable<'_>> = rows
        .iter()
        .map(|row| Sendable {
            event_id: &row.event_id,
            routing_key: &row.routing_key,
            body: row.body.as_bytes(),
            trace_context: &row.trace_context.0,
            occurred_at: row.occurred_at,
        })
        .collect();
    let (confirmed, failure) = send(publisher, settings, &events).await;
    if confirmed > 0 {
        outbox
            .mark_published(conn, &rows[..confirmed], progress)
            .await?;
        tracing::debug!(published = confirmed, ?outbox, "published outbox rows");
    }
    Ok(match failure {
        None => Ok(confirmed),
        Some(error) => Err(error),
    })
}

/// Publishes events handed over in memory (each following on from what was published of its
/// restaurant) and records the confirmed ones, as [`publish_pending`] does with rows it read.
/// Touches no database: the marks are owed.
#[tracing::instrument(name = "outbox.publish_handed", level = "debug", skip_all)]
async fn publish_handed(
    publisher: &Publisher,
    settings: &RelaySettings,
    handed: Vec<HandedEvent>,
    progress: &mut Progress,
) -> Result<(), PublishError> {
    let events: Vec<Sendable<'_>> = handed
        .iter()
        .map(|event| Sendable {
            event_id: &event.event_id,
            routing_key: &event.routing_key,
            body: &event.body,
            trace_context: &event.trace_context,
            occurred_at: event.occurred_at,
        })
        .collect();
    let (confirmed, failure) = send(publisher, settings, &events).await;
    let now = Instant::now();
    for event in &handed[..confirmed] {
        progress.confirmed(event.restaurant_id, event.seq, now);
    }
    if confirmed > 0 {
        metrics::counter!("outbox_events_published_total").increment(confirmed as u64);
        metrics::counter!("outbox_events_handed_off_total").increment(confirmed as u64);
    }
    match failure {
        None => Ok(()),
        Some(error) => Err(error),
    }
}

/// Outbox backlog (both tables) and the age of its oldest row, for `/metrics`.
#[tracing::instrument(name = "db.outbox.backlog", level = "debug", skip_all)]
async fn record_backlog(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    let backlog = bounded(
        sqlx::query!(
            // Per restaurant, what follows its watermark and the first event waiting (the
            // oldest); then the staff messages waiting.
            r#"SELECT COALESCE(sum(waiting), 0)::bigint AS "backlog!",
                      extract(epoch FROM now() - min(oldest))::float8 AS oldest_age
               FROM (SELECT s.event_seq - COALESCE(p.published_seq, 0) AS waiting,
                            (SELECT e.occurred_at FROM order_events e
                             WHERE e.restaurant_id = s.restaurant_id
                               AND e.seq = COALESCE(p.published_seq, 0) + 1) AS oldest
                     FROM restaurant_sequences s
                     LEFT JOIN outbox_progress p ON p.restaurant_id = s.restaurant_id
                     WHERE s.event_seq > COALESCE(p.published_seq, 0)
                     UNION ALL
                     SELECT count(*), min(occurred_at) FROM staff_outbox WHERE published_at IS NULL
                    ) AS unpublished"#
        )
        .fetch_one(&mut *conn),
    )
    .await?;
    metrics::gauge!("outbox_backlog").set(backlog.backlog as f64);
    // No unpublished event: nothing is waiting, so the oldest wait is zero.
    metrics::gauge!("outbox_oldest_unpublished_age_seconds").set(backlog.oldest_age.unwrap_or(0.0));
    Ok(())
}

/// When to try the broker again after `failures` failed attempts in a row.
fn broker_retry_at(failures: u32) -> Instant {
    Instant::now()
        + backoff(
            failures,
            Duration::from_millis(250),
            Duration::from_secs(10),
        )
}
