//! The outbox, which is also each restaurant's event log.

use std::time::Duration;

use shared_types::OrderEvent;
use sqlx::{PgPool, types::Json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Expands to a `query_scalar!` of the statement that makes a change and records its event:
/// `$changes` is its first CTEs, ending with `$changed` (an INSERT or UPDATE … RETURNING) and
/// a comma; this appends the tail that, only if `$changed` has a row, takes the restaurant's
/// next `seq` (locking its sequence row until commit, which is what makes `seq` gap-free and
/// in commit order, and the lock is taken after the order's row), stamps the time under that
/// lock and inserts the event. Should the sequence row be missing, the event's `seq` is NULL
/// and the NOT NULL constraint fails the whole statement: a change is never stored without
/// its event. The statement returns the event's `seq` and `occurred_at`, as stored.
///
/// Its first parameters are the event's: $1 event id, $2 restaurant, $3 order, $4 routing key,
/// $5 payload as JSON text (its `seq` and `occurred_at` are placeholders, stored so: the row's
/// columns hold them, and the relay's read and [`page`] set them), $6 trace context; the
/// change's own follow from $7. (A macro, not a function: the query macros check the whole
/// statement, and they take only literal SQL.)
macro_rules! record_event_query {
    ($changes:tt, $changed:tt, $($arg:expr),+ $(,)?) => {
        sqlx::query!(
            $changes
                + "next AS (
                UPDATE restaurant_sequences SET event_seq = event_seq + 1
                WHERE restaurant_id = $2 AND EXISTS (SELECT 1 FROM "
                + $changed
                + ")
                RETURNING event_seq, clock_timestamp() AS at)
             INSERT INTO order_events (event_id, restaurant_id, seq, order_id, routing_key, payload,
                                       trace_context, occurred_at, payload_bytes)
             SELECT $1, $2, next.event_seq, $3, $4, $5::text::jsonb, $6, next.at,
                    octet_length($5::text) + 19
             FROM (SELECT FROM "
                + $changed
                + " LIMIT 1) AS changed LEFT JOIN next ON true
             RETURNING seq, occurred_at",
            $($arg),+
        )
    };
}
pub(crate) use record_event_query;

pub enum Page {
    Events {
        events: Vec<OrderEvent>,
        last_seq: i64,
    },
    /// Some events after the requested `seq` were pruned.
    Gone { oldest_kept: Option<i64> },
}

/// The events with `seq > after`, oldest first, at most `limit` and at most `max_bytes` of
/// payload (but at least one), and the restaurant's newest `seq`, read in one snapshot. A page
/// cut short shows as its last event's `seq` being below `last_seq`, as for `limit`.
#[tracing::instrument(name = "db.events.page", skip_all)]
pub async fn page(
    db: &PgPool,
    restaurant: Uuid,
    after: i64,
    limit: i64,
    max_bytes: i64,
) -> Result<Page, sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let bounds = sqlx::query!(
        r#"SELECT COALESCE((SELECT s.event_seq FROM restaurant_sequences s WHERE s.restaurant_id = $1), 0) AS "last_seq!",
                (SELECT min(e.seq) FROM order_events e WHERE e.restaurant_id = $1) AS oldest_kept"#,
        restaurant
    )
    .fetch_one(&mut *tx)
    .await?;
    let (last_seq, oldest_kept) = (bounds.last_seq, bounds.oldest_kept);
    if after < last_seq && oldest_kept.is_none_or(|oldest| after + 1 < oldest) {
        tx.commit().await?;
        return Ok(Page::Gone { oldest_kept });
    }
    // The first `limit` events, cut where their payloads' running total passes `max_bytes`;
    // the first one always goes, so a reader makes progress whatever its size.
    let events = sqlx::query!(
        r#"SELECT payload AS "payload!: Json<OrderEvent>", seq AS "seq!", occurred_at AS "occurred_at!" FROM (
             SELECT payload, seq, occurred_at,
                    sum(COALESCE(payload_bytes, octet_length(payload::text)))
                        OVER (ORDER BY seq ROWS UNBOUNDED PRECEDING) AS through,
                    row_number() OVER (ORDER BY seq) AS n
             FROM (SELECT payload, payload_bytes, seq, occurred_at FROM order_events
                   WHERE restaurant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3) first
           ) counted
           WHERE n = 1 OR through <= $4
           ORDER BY seq"#,
        restaurant,
        after,
        limit,
        max_bytes
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Page::Events {
        // The payload's `seq` and `occurred_at` are placeholders: the row's columns hold them.
        events: events
            .into_iter()
            .map(|row| OrderEvent {
                seq: row.seq,
                occurred_at: row.occurred_at,
                ..row.payload.0
            })
            .collect(),
        last_seq,
    })
}

/// Deletes published events older than `retention`, in batches so no statement holds locks
/// for long. Returns how many went. Per restaurant only a prefix of the log goes (nothing past
/// the relay's watermark in `outbox_progress`), so "the oldest kept seq" tells a reader
/// exactly what is missing.
#[tracing::instrument(name = "db.events.prune", skip_all)]
pub async fn prune(db: &PgPool, retention: Duration) -> Result<u64, sqlx::Error> {
    let mut total = 0;
    loop {
        let deleted = sqlx::query!(
            "DELETE FROM order_events WHERE position IN (
                SELECT e.position FROM order_events e
                JOIN outbox_progress p ON p.restaurant_id = e.restaurant_id
                WHERE e.seq <= p.published_seq AND e.occurred_at < now() - make_interval(secs => $1)
                LIMIT 5000)",
            retention.as_secs_f64()
        )
        .execute(db)
        .await?
        .rows_affected();
        total += deleted;
        if deleted < 5000 {
            return Ok(total);
        }
    }
}

/// Deletes staff messages published more than `retention` ago. Nothing reads them once they
/// are out (they are kept a while only to be looked at), and unpublished ones stay.
#[tracing::instrument(name = "db.events.prune_staff_outbox", skip_all)]
pub async fn prune_staff_outbox(db: &PgPool, retention: Duration) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "DELETE FROM staff_outbox
         WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => $1)",
        retention.as_secs_f64()
    )
    .execute(db)
    .await?
    .rows_affected())
}

/// Kitchen writes' idempotency keys are kept this long (API.md: at least 24 hours; the hourly
/// pruning keeps each one up to an hour more).
pub const KITCHEN_KEY_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// Deletes kitchen idempotency keys older than `retention`, in batches. Returns how many went.
#[tracing::instrument(name = "db.events.prune_kitchen_keys", skip_all)]
pub async fn prune_kitchen_keys(db: &PgPool, retention: Duration) -> Result<u64, sqlx::Error> {
    let mut total = 0;
    loop {
        let deleted = sqlx::query!(
            "DELETE FROM kitchen_idempotency_keys WHERE (order_id, idempotency_key) IN (
                SELECT order_id, idempotency_key FROM kitchen_idempotency_keys
                WHERE created_at < now() - make_interval(secs => $1) LIMIT 5000)",
            retention.as_secs_f64()
        )
        .execute(db)
        .await?
        .rows_affected();
        total += deleted;
        if deleted < 5000 {
            return Ok(total);
        }
    }
}

/// Prunes once an hour until `stop`.
pub async fn run_pruner(db: PgPool, retention: Duration, stop: CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = every.tick() => {}
        }
        match prune(&db, retention).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "pruned old events"),
            Err(error) => tracing::warn!(%error, "pruning events failed"),
        }
        match prune_staff_outbox(&db, retention).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "pruned old staff messages"),
            Err(error) => tracing::warn!(%error, "pruning staff messages failed"),
        }
        match prune_kitchen_keys(&db, KITCHEN_KEY_RETENTION).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "pruned old kitchen idempotency keys"),
            Err(error) => tracing::warn!(%error, "pruning kitchen idempotency keys failed"),
        }
    }
}
