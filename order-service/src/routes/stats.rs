//! The kitchen's timings (API.md, "Kitchen floor", **Timings**).

use axum::extract::State;
use serde::Deserialize;
use shared_types::ErrorBody;
use utoipa::IntoParams;

use super::Access;
use crate::{
    domain::{
        roles::Staff,
        stats::{StatsWindow, tenths},
    },
    dto::{KitchenStats, StationSeconds, StatsOrders, TicketSeconds},
    error::ApiResult,
    extract::Query,
    state::AppState,
    storage,
};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// Start of the window, inclusive (RFC 3339; default: 24 hours before `to`).
    #[param(format = DateTime)]
    from: Option<String>,
    /// End of the window, exclusive (RFC 3339; default: now). At most 31 days after `from`.
    #[param(format = DateTime)]
    to: Option<String>,
}

/// Counts and timings over a window of at most 31 days: the orders confirmed in it (and of
/// those the ones now completed or cancelled), their ticket times from confirm to first
/// `ready`, and per station the times from confirm to each line crossed off in the window.
#[utoipa::path(get, path = "/api/kitchen/{slug}/stats/", tag = "kitchen",
    params(("slug" = String, Path), StatsQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = KitchenStats),
        (status = 400, description = "A malformed time, `from` after `to`, or a window over 31 days; `errors` names the field", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not staff of this restaurant", body = ErrorBody),
        (status = 404, description = "No such restaurant", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn stats(
    State(state): State<AppState>,
    access: Access<Staff>,
    Query(query): Query<StatsQuery>,
) -> ApiResult<axum::Json<KitchenStats>> {
    let window = StatsWindow::parse(
        query.from.as_deref(),
        query.to.as_deref(),
        storage::now_micros(),
    )?;
    let timings = storage::stats::timings(&state.db, access.restaurant_id, &window).await?;
    Ok(axum::Json(KitchenStats {
        from: window.from(),
        to: window.to(),
        orders: StatsOrders {
            confirmed: timings.confirmed,
            completed: timings.completed,
            cancelled: timings.cancelled,
        },
        ticket_seconds: TicketSeconds {
            count: timings.ticket_count,
            p50: timings.ticket_p50.map(tenths),
            p90: timings.ticket_p90.map(tenths),
            max: timings.ticket_max.map(tenths),
        },
        stations: timings
            .stations
            .into_iter()
            .map(|station| StationSeconds {
                id: station.id,
                name: station.name,
                lines: station.lines,
                p50: station.p50.map(tenths),
                p90: station.p90.map(tenths),
            })
            .collect(),
    }))
}
