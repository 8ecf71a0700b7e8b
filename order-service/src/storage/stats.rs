//! The kitchen's timings: counts and percentiles over a window, computed in the database.

use serde::Deserialize;
use sqlx::{PgPool, types::Json};
use uuid::Uuid;

use crate::domain::stats::StatsWindow;

/// The timings of one restaurant over a window, seconds unrounded.
#[derive(Debug, Clone, PartialEq)]
pub struct Timings {
    /// Orders confirmed in the window, and of those the ones now completed and cancelled.
    pub confirmed: i64,
    pub completed: i64,
    pub cancelled: i64,
    /// Of the orders confirmed in the window, those that reached `ready`, and their seconds
    /// from confirm to first `ready` (`None` when there are none).
    pub ticket_count: i64,
    pub ticket_p50: Option<f64>,
    pub ticket_p90: Option<f64>,
    pub ticket_max: Option<f64>,
    /// Every current station of the restaurant, by name (case-insensitively, as the stations
    /// list is).
    pub stations: Vec<StationTimings>,
}

/// A station's lines crossed off in the window, and their seconds from confirm to `done_at`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StationTimings {
    pub id: i64,
    pub name: String,
    pub lines: i64,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
}

/// One statement, so one snapshot. The orders are those of the restaurant confirmed in
/// `[from, to)` (`orders_restaurant_created_idx`); a station's lines are those whose station
/// snapshot is that station and whose `done_at` is in `[from, to)` (`order_items_done_idx`,
/// one range per station), each timed from its order's confirmation. Both figures are stored
/// seconds that the two indexes include, so both halves are index-only range scans; the
/// ordered-set aggregates over one input share one sort, so p50 and p90 cost one.
#[tracing::instrument(name = "db.stats.timings", skip_all)]
pub async fn timings(
    db: &PgPool,
    restaurant: Uuid,
    window: &StatsWindow,
) -> Result<Timings, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT count(*) AS "confirmed!",
                count(*) FILTER (WHERE o.status = 'completed') AS "completed!",
                count(*) FILTER (WHERE o.status = 'cancelled') AS "cancelled!",
                count(o.ticket_seconds) AS "ticket_count!",
                percentile_cont(0.5) WITHIN GROUP (ORDER BY o.ticket_seconds) AS ticket_p50,
                percentile_cont(0.9) WITHIN GROUP (ORDER BY o.ticket_seconds) AS ticket_p90,
                max(o.ticket_seconds) AS ticket_max,
                (SELECT COALESCE(jsonb_agg(jsonb_build_object('id', s.id, 'name', s.name, 'lines', d.lines,
                                                              'p50', d.p50, 'p90', d.p90)
                                           ORDER BY lower(s.name), s.id), '[]')
                 FROM stations s
                 CROSS JOIN LATERAL (
                     SELECT count(*) AS lines,
                            percentile_cont(0.5) WITHIN GROUP (ORDER BY l.seconds) AS p50,
                            percentile_cont(0.9) WITHIN GROUP (ORDER BY l.seconds) AS p90
                     FROM (SELECT i.done_seconds AS seconds
                           FROM order_items i
                           WHERE i.station_id = s.id AND i.done_at >= $2 AND i.done_at < $3) l) d
                 WHERE s.restaurant_id = $1) AS "stations!: Json<Vec<StationTimings>>"
         FROM orders o
         WHERE o.restaurant_id = $1 AND o.created_at >= $2 AND o.created_at < $3"#,
        restaurant,
        window.from(),
        window.to()
    )
    .fetch_one(db)
    .await?;
    Ok(Timings {
        confirmed: row.confirmed,
        completed: row.completed,
        cancelled: row.cancelled,
        ticket_count: row.ticket_count,
        ticket_p50: row.ticket_p50,
        ticket_p90: row.ticket_p90,
        ticket_max: row.ticket_max,
        stations: row.stations.0,
    })
}
