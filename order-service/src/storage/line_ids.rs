//! Ids for order lines, taken from their sequence a block at a time, so that a confirm whose
//! menu is in memory makes one round trip: the whole order (its event holds the lines' ids) is
//! built before the one statement that writes it. Ids left unused when the process stops are
//! gaps, as a failed insert leaves; nothing orders lines by id (they have a `position`).

use std::collections::VecDeque;
use std::sync::Mutex;

use sqlx::PgPool;

/// Ids taken per round trip: a few hundred orders' lines.
pub const DEFAULT_BLOCK: i32 = 512;

#[derive(Debug)]
pub struct LineIds {
    free: Mutex<VecDeque<i64>>,
    block: i32,
}

impl LineIds {
    pub fn new(block: i32) -> Self {
        Self {
            free: Mutex::new(VecDeque::new()),
            block: block.max(1),
        }
    }

    /// `count` unused ids, in increasing order when they come from one block.
    pub async fn take(&self, db: &PgPool, count: usize) -> Result<Vec<i64>, sqlx::Error> {
        if let Some(ids) = self.take_kept(count) {
            return Ok(ids);
        }
        let wanted = i32::try_from(count).unwrap_or(i32::MAX).max(self.block);
        let mut fresh = fetch(db, wanted).await?;
        let rest = fresh.split_off(count.min(fresh.len()));
        self.lock().extend(rest);
        if fresh.len() < count {
            // A broken invariant, not an unreachable database (which `Protocol` would mean).
            return Err(sqlx::Error::Decode(
                "the line id sequence returned fewer ids than asked".into(),
            ));
        }
        Ok(fresh)
    }

    fn take_kept(&self, count: usize) -> Option<Vec<i64>> {
        let mut free = self.lock();
        (free.len() >= count).then(|| free.drain(..count).collect())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<i64>> {
        // A plain queue of numbers: whole after every operation.
        self.free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[tracing::instrument(name = "db.orders.line_ids", skip_all)]
async fn fetch(db: &PgPool, count: i32) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT ARRAY(SELECT nextval(pg_get_serial_sequence('order_items', 'id'))
                        FROM generate_series(1, $1)) AS "ids!""#,
        count
    )
    .fetch_one(db)
    .await
}
