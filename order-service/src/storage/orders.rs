use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;
use shared_types::{EventKind, Order, OrderEvent, OrderItem, OrderItemModifier, OrderStatus, Slug};
use sqlx::{PgConnection, PgPool, types::Json};
use uuid::Uuid;

use super::{events, is_unique_violation, now_micros};
use crate::{
    domain::{
        kitchen::Change,
        orders::{IdempotencyKey, PricedLine, PricedOrder, ValidatedConfirm},
    },
    telemetry::TraceContext,
};

/// Expands to a `query_as!(OrderRow, …)` selecting whole Orders, with their lines and the
/// lines' modifiers aggregated as JSON, from `orders o JOIN restaurants r` written in `$from`
/// (with its WHERE and ORDER BY). A macro, not a constant: the query macros take only
/// literal SQL.
macro_rules! select_orders {
    ($from:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            OrderRow,
            r#"SELECT o.id, o.restaurant_id, r.slug AS restaurant, o.status, o.version,
                 o.table_identifier, o.total_price, o.language, o.created_at, o.updated_at,
                 o.rush, o.recalled_at, o.status_changed_at, o.ready_at, o.completed_at,
                 COALESCE((SELECT jsonb_agg(jsonb_build_object(
                        'id', i.id, 'menu_item_id', i.menu_item_id, 'name', i.name,
                        'station', CASE WHEN i.station_id IS NOT NULL
                            THEN jsonb_build_object('id', i.station_id, 'name', i.station_name) END,
                        'done_at', i.done_at,
                        'variant_label', i.variant_label, 'variant_price', i.variant_price::text,
                        'quantity', i.quantity, 'special_requests', i.special_requests,
                        'modifiers', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                                'id', m.modifier_id, 'name', m.name, 'price_adjustment', m.price_adjustment::text)
                            ORDER BY m.position) FROM order_item_modifiers m WHERE m.order_item_id = i.id), '[]'::jsonb))
                    ORDER BY i.position) FROM order_items i WHERE i.order_id = o.id), '[]'::jsonb)
                 AS "items!: Json<Vec<OrderItem>>" "#
                + $from
            $(, $arg)*
        )
    };
}

/// An order as stored, with its restaurant's id.
struct OrderRow {
    id: Uuid,
    restaurant_id: Uuid,
    restaurant: String,
    status: String,
    version: i32,
    table_identifier: Option<String>,
    total_price: Decimal,
    language: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    rush: bool,
    recalled_at: Option<DateTime<Utc>>,
    status_changed_at: DateTime<Utc>,
    ready_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    items: Json<Vec<OrderItem>>,
}

impl TryFrom<OrderRow> for Order {
    type Error = sqlx::Error;

    fn try_from(row: OrderRow) -> Result<Self, Self::Error> {
        let decode =
            |what: &str| sqlx::Error::Decode(format!("stored order has an invalid {what}").into());
        Ok(Order {
            id: row.id,
            restaurant: Slug::parse(&row.restaurant).map_err(|_| decode("restaurant slug"))?,
            status: OrderStatus::from_str(&row.status).map_err(|_| decode("status"))?,
            version: row.version,
            table_identifier: row.table_identifier,
            total_price: row.total_price,
            language: row.language,
            created_at: row.created_at,
            updated_at: row.updated_at,
            items: row.items.0,
            rush: row.rush,
            recalled_at: row.recalled_at,
            status_changed_at: row.status_changed_at,
            ready_at: row.ready_at,
            completed_at: row.completed_at,
        })
    }
}

fn into_orders(rows: Vec<OrderRow>) -> Result<Vec<Order>, sqlx::Error> {
    rows.into_iter().map(Order::try_from).collect()
}

#[tracing::instrument(name = "db.orders.find", skip_all)]
pub async fn find(db: &PgPool, order_id: Uuid) -> Result<Option<Order>, sqlx::Error> {
    let row = select_orders!(
        " FROM orders o JOIN restaurants r ON r.id = o.restaurant_id WHERE o.id = $1",
        order_id
    )
    .fetch_optional(db)
    .await?;
    row.map(Order::try_from).transpose()
}

/// The order, if it is one of the restaurant with this slug.
#[tracing::instrument(name = "db.orders.find_at_restaurant", skip_all)]
pub async fn find_at_restaurant(
    db: &PgPool,
    slug: &Slug,
    order_id: Uuid,
) -> Result<Option<Order>, sqlx::Error> {
    let row = select_orders!(
        " FROM orders o JOIN restaurants r ON r.id = o.restaurant_id WHERE o.id = $1 AND r.slug = $2",
        order_id,
        slug.as_str()
    )
    .fetch_optional(db)
    .await?;
    row.map(Order::try_from).transpose()
}

pub struct NewOrder<'a> {
    pub restaurant_id: Uuid,
    pub slug: &'a Slug,
    pub request: &'a ValidatedConfirm,
    pub priced: &'a PricedOrder,
    /// One id per line, from `line_ids::LineIds`.
    pub line_ids: &'a [i64],
    /// The `menu_version` of the menu entries `priced` comes from: the order is written only
    /// while the restaurant's menu is still at it.
    pub menu_version: i64,
    /// The `Idempotency-Key` and the request it came with.
    pub idempotency: Option<(&'a IdempotencyKey, &'a Value)>,
    pub trace_context: &'a TraceContext,
}

/// An order already taken with an idempotency key.
#[derive(Debug)]
pub struct KeyedOrder {
    pub order_id: Uuid,
    /// Whether it came from an identical request.
    pub same_request: bool,
}

pub enum Confirmed {
    /// The new order's event as stored (with its `seq`); its `order` is the order.
    Created(Box<OrderEvent>),
    /// An order with this idempotency key exists.
    Existing(KeyedOrder),
    /// Nothing was written: the menu is no longer at `NewOrder::menu_version`, so the order
    /// must be priced again.
    MenuChanged,
}

/// The new order and its `order.confirmed` event as they will be written (its `seq` and
/// `occurred_at` are set by the write): built before anything is stored, so its size can be
/// judged first.
pub fn confirmed_event(new: &NewOrder<'_>) -> OrderEvent {
    let now = now_micros();
    let order = Order {
        id: Uuid::now_v7(),
        restaurant: new.slug.clone(),
        status: OrderStatus::Confirmed,
        version: 1,
        table_identifier: new
            .request
            .table_identifier
            .as_ref()
            .map(|table| table.as_str().to_owned()),
        total_price: new.priced.total,
        language: new.request.language.as_str().to_owned(),
        created_at: now,
        updated_at: now,
        items: order_items(new.line_ids, &new.priced.lines),
        rush: false,
        recalled_at: None,
        status_changed_at: now,
        ready_at: None,
        completed_at: None,
    };
    OrderEvent {
        event_id: Uuid::now_v7(),
        event: EventKind::OrderConfirmed,
        seq: 0,
        occurred_at: now,
        restaurant: new.slug.clone(),
        order,
    }
}

/// Writes a confirmed order (`event`, from [`confirmed_event`]), its lines and its event in one
/// statement (so one implicit transaction), if the restaurant's menu is still at the version it
/// was priced at (else [`Confirmed::MenuChanged`], nothing written): the lines' ids were taken
/// beforehand (`line_ids`), so the order, its event and every row are built before anything is
/// written, and nothing is held open between round trips.
#[tracing::instrument(name = "db.orders.confirm", skip_all)]
pub async fn confirm(
    db: &PgPool,
    new: NewOrder<'_>,
    event: OrderEvent,
) -> Result<Confirmed, sqlx::Error> {
    let line_ids = new.line_ids;
    let priced_lines = &new.priced.lines;
    if line_ids.len() != priced_lines.len() || event.order.items.len() != line_ids.len() {
        // A broken invariant, not an unreachable database (which `Protocol` would mean).
        return Err(sqlx::Error::Decode(
            "fewer order line ids than lines".into(),
        ));
    }
    let now = event.occurred_at;
    let order = &event.order;
    let lines = LineColumns::new(line_ids, priced_lines);
    // The sequence row (the restaurant's lock) is taken once the order's row is in (and the
    // first line: the EXISTS reads one); the remaining lines, the modifiers and the foreign-key
    // checks follow under it, to the commit. A concurrent request with the same idempotency
    // key waits on the unique index instead, and finds this order once it commits.
    let written = events::record_event_query!(
        "WITH new_order AS (
            INSERT INTO orders (id, restaurant_id, table_identifier, raw_input, language,
                                total_price, idempotency_key, idempotency_request,
                                created_at, updated_at, status_changed_at, active)
            SELECT $3::uuid, $2::uuid, $7::text, $8::text, $9::text, $10::numeric, $11::text,
                   $12::jsonb, $13::timestamptz, $13, $13, true
            WHERE EXISTS (SELECT 1 FROM restaurants r WHERE r.id = $2 AND r.menu_version = $30)
            RETURNING id),
         new_lines AS (
            INSERT INTO order_items (id, order_id, position, menu_item_id, name, variant_id,
                                     variant_label, variant_price, quantity, special_requests,
                                     station_id, station_name, confirmed_at)
            OVERRIDING SYSTEM VALUE
            SELECT line.id, $3, line.position, line.menu_item_id, line.name, line.variant_id,
                   line.label, line.price, line.quantity, line.request, line.station_id,
                   line.station_name, $13
            FROM new_order,
                 UNNEST($14::bigint[], $15::int[], $16::bigint[], $17::text[], $18::bigint[],
                        $19::text[], $20::numeric[], $21::int[], $22::text[], $28::bigint[],
                        $29::text[])
                 AS line(id, position, menu_item_id, name, variant_id, label, price, quantity,
                         request, station_id, station_name)
            RETURNING id),
         new_modifiers AS (
            INSERT INTO order_item_modifiers (order_item_id, position, modifier_id, name, price_adjustment)
            SELECT * FROM UNNEST($23::bigint[], $24::int[], $25::bigint[], $26::text[], $27::numeric[])
            WHERE EXISTS (SELECT 1 FROM new_lines)), ",
        "new_lines",
        // $1..$6: the event.
        event.event_id,
        new.restaurant_id,
        order.id,
        event.routing_key(),
        payload_json(&event)?,
        Json(new.trace_context) as _,
        // $7..$13: the order.
        order.table_identifier.as_deref(),
        new.request.raw_input.as_str(),
        &order.language,
        order.total_price,
        new.idempotency.map(|(key, _)| key.as_str()),
        new.idempotency.map(|(_, request)| Json(request)) as _,
        now,
        // $14..$22: its lines, column by column.
        lines.ids,
        &lines.positions,
        &lines.menu_item_ids,
        &lines.names as &[&str],
        &lines.variant_ids,
        &lines.labels as &[&str],
        &lines.prices,
        &lines.quantities,
        &lines.requests as &[Option<&str>],
        // $23..$27: their modifiers.
        &lines.modifier_line_ids,
        &lines.modifier_positions,
        &lines.modifier_ids,
        &lines.modifier_names as &[&str],
        &lines.modifier_prices,
        // $28..$29: the lines' stations, as they are now.
        &lines.station_ids as &[Option<i64>],
        &lines.station_names as &[Option<&str>],
        // $30: the menu's version the order was priced at.
        new.menu_version,
    )
    .fetch_optional(db)
    .await;
    match written {
        Ok(Some(stored)) => Ok(Confirmed::Created(Box::new(OrderEvent {
            seq: stored.seq,
            occurred_at: stored.occurred_at,
            ..event
        }))),
        // Nothing was written: the order always has a line, so only the version check stops it.
        Ok(None) => Ok(Confirmed::MenuChanged),
        Err(error) if is_unique_violation(&error, "orders_idempotency_key") => {
            if let Some((key, request)) = new.idempotency {
                let mut conn = db.acquire().await?;
                if let Some(existing) =
                    find_idempotent(&mut conn, new.restaurant_id, key, request).await?
                {
                    return Ok(Confirmed::Existing(existing));
                }
            }
            Err(error)
        }
        Err(error) => Err(error),
    }
}

/// The order an idempotency key was used for at this restaurant, if any.
#[tracing::instrument(name = "db.orders.find_by_idempotency_key", skip_all)]
pub async fn find_by_idempotency_key(
    db: &PgPool,
    restaurant: Uuid,
    key: &IdempotencyKey,
    request: &Value,
) -> Result<Option<KeyedOrder>, sqlx::Error> {
    let mut conn = db.acquire().await?;
    find_idempotent(&mut conn, restaurant, key, request).await
}

async fn find_idempotent(
    conn: &mut PgConnection,
    restaurant: Uuid,
    key: &IdempotencyKey,
    request: &Value,
) -> Result<Option<KeyedOrder>, sqlx::Error> {
    let found = sqlx::query!(
        r#"SELECT id, idempotency_request IS NOT DISTINCT FROM $3 AS "same_request!" FROM orders
           WHERE restaurant_id = $1 AND idempotency_key = $2"#,
        restaurant,
        key.as_str(),
        Json(request) as _
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.map(|row| KeyedOrder {
        order_id: row.id,
        same_request: row.same_request,
    }))
}

/// The order's lines, column by column, for one `UNNEST` each.
struct LineColumns<'a> {
    ids: &'a [i64],
    positions: Vec<i32>,
    menu_item_ids: Vec<i64>,
    names: Vec<&'a str>,
    variant_ids: Vec<i64>,
    labels: Vec<&'a str>,
    prices: Vec<Decimal>,
    quantities: Vec<i32>,
    requests: Vec<Option<&'a str>>,
    station_ids: Vec<Option<i64>>,
    station_names: Vec<Option<&'a str>>,
    modifier_line_ids: Vec<i64>,
    modifier_positions: Vec<i32>,
    modifier_ids: Vec<i64>,
    modifier_names: Vec<&'a str>,
    modifier_prices: Vec<Decimal>,
}

impl<'a> LineColumns<'a> {
    fn new(ids: &'a [i64], lines: &'a [PricedLine]) -> Self {
        let mut columns = LineColumns {
            ids,
            positions: (0..lines.len() as i32).collect(),
            menu_item_ids: lines.iter().map(|l| l.menu_item_id).collect(),
            names: lines.iter().map(|l| l.name.as_str()).collect(),
            variant_ids: lines.iter().map(|l| l.variant_id).collect(),
            labels: lines.iter().map(|l| l.variant_label.as_str()).collect(),
            prices: lines.iter().map(|l| l.variant_price).collect(),
            quantities: lines.iter().map(|l| l.quantity.get()).collect(),
            requests: lines
                .iter()
                .map(|l| l.special_requests.as_ref().map(|text| text.as_str()))
                .collect(),
            station_ids: lines
                .iter()
                .map(|l| l.station.as_ref().map(|s| s.id))
                .collect(),
            station_names: lines
                .iter()
                .map(|l| l.station.as_ref().map(|s| s.name.as_str()))
                .collect(),
            modifier_line_ids: Vec::new(),
            modifier_positions: Vec::new(),
            modifier_ids: Vec::new(),
            modifier_names: Vec::new(),
            modifier_prices: Vec::new(),
        };
        for (line_id, line) in ids.iter().zip(lines) {
            for (position, modifier) in line.modifiers.iter().enumerate() {
                columns.modifier_line_ids.push(*line_id);
                columns.modifier_positions.push(position as i32);
                columns.modifier_ids.push(modifier.id);
                columns.modifier_names.push(modifier.name.as_str());
                columns.modifier_prices.push(modifier.price_adjustment);
            }
        }
        columns
    }
}

/// The order's lines as the Order shows them, with the ids they are stored under.
fn order_items(ids: &[i64], lines: &[PricedLine]) -> Vec<OrderItem> {
    ids.iter()
        .zip(lines)
        .map(|(id, line)| OrderItem {
            id: *id,
            menu_item_id: line.menu_item_id,
            name: line.name.clone(),
            variant_label: line.variant_label.clone(),
            variant_price: line.variant_price,
            quantity: line.quantity.get(),
            special_requests: line
                .special_requests
                .as_ref()
                .map(|text| text.as_str().to_owned()),
            modifiers: line
                .modifiers
                .iter()
                .map(|m| OrderItemModifier {
                    id: m.id,
                    name: m.name.clone(),
                    price_adjustment: m.price_adjustment,
                })
                .collect(),
            station: line.station.clone(),
            done_at: None,
        })
        .collect()
}

/// An order as seen by a member of its restaurant's staff.
#[derive(Debug, Clone)]
pub struct StaffOrder {
    pub restaurant_id: Uuid,
    pub order: Order,
}

/// The order, only if `user` is owner or staff of its restaurant: to anyone else the order
/// does not exist.
#[tracing::instrument(name = "db.orders.find_for_staff", skip_all)]
pub async fn find_for_staff(
    db: &PgPool,
    order_id: Uuid,
    user: Uuid,
) -> Result<Option<StaffOrder>, sqlx::Error> {
    let row = select_orders!(
        " FROM orders o JOIN restaurants r ON r.id = o.restaurant_id
         WHERE o.id = $1 AND (r.owner_id = $2
               OR EXISTS (SELECT 1 FROM staff s WHERE s.restaurant_id = r.id AND s.user_id = $2))",
        order_id,
        user
    )
    .fetch_optional(db)
    .await?;
    row.map(|row| {
        Ok(StaffOrder {
            restaurant_id: row.restaurant_id,
            order: Order::try_from(row)?,
        })
    })
    .transpose()
}

/// A kitchen write's `Idempotency-Key`, the request it came with, and the answer to store.
pub struct KeyedAnswer<'a> {
    pub key: &'a IdempotencyKey,
    pub request: &'a Value,
    pub status: u16,
    pub body: &'a Value,
}

/// An answer stored under a kitchen write's idempotency key.
pub struct StoredAnswer {
    pub same_request: bool,
    pub status: u16,
    pub body: Value,
}

/// Writes `change` (decided on `from`) and records its event, in one statement (so one implicit
/// transaction and one round trip): the order's row, only if it is still at the version read
/// (and, with `staff_check`, only if that user is still owner or staff of its restaurant: for
/// a `from` that was not read with that check, see `order_cache`); then its lines crossed off
/// or restored, the answer under the idempotency key, the restaurant's `seq` and the event.
/// Returns the change's event as stored (its `order` is the order as written); `None` when the
/// order had moved on (or the user is not staff): nothing was written.
/// (`from.restaurant_id` is the order's own, never a client's: the order's row is not matched
/// on it too, since that made the cached generic plan look the order up through a restaurant
/// index; measured, 2,399 → 1,866 requests/s.)
#[tracing::instrument(name = "db.orders.apply", skip_all)]
pub async fn apply(
    db: &PgPool,
    from: &StaffOrder,
    change: &Change,
    keyed: Option<KeyedAnswer<'_>>,
    staff_check: Option<Uuid>,
    trace_context: &TraceContext,
) -> Result<Option<OrderEvent>, sqlx::Error> {
    let order = &change.order;
    let event = OrderEvent {
        event_id: Uuid::now_v7(),
        event: change.event,
        seq: 0,
        occurred_at: order.updated_at,
        restaurant: order.restaurant.clone(),
        order: order.clone(),
    };
    // The order's row is locked first (the EXISTS is evaluated before the sequence row is
    // touched), as in `confirm`: one lock order everywhere.
    let stored = events::record_event_query!(
        "WITH moved AS (
            UPDATE orders SET status = $7, version = $8, updated_at = $9, rush = $10,
                recalled_at = $11, status_changed_at = $12, ready_at = $13, completed_at = $14,
                first_ready_at = COALESCE(first_ready_at, $13),
                ticket_seconds = date_part('epoch', COALESCE(first_ready_at, $13) - created_at),
                active = $23
            WHERE id = $3 AND version = $15
              AND ($22::uuid IS NULL
                   OR EXISTS (SELECT 1 FROM restaurants r WHERE r.id = $2 AND r.owner_id = $22)
                   OR EXISTS (SELECT 1 FROM staff s WHERE s.restaurant_id = $2 AND s.user_id = $22))
            RETURNING id),
         crossed AS (
            UPDATE order_items SET done_at = $16, done_seconds = date_part('epoch', $16 - confirmed_at)
            WHERE order_id = $3 AND id = ANY($17) AND EXISTS (SELECT 1 FROM moved)),
         keyed AS (
            INSERT INTO kitchen_idempotency_keys
                (order_id, idempotency_key, request, response_status, response_body)
            SELECT $3, $18, $19, $20, $21 FROM moved WHERE $18::text IS NOT NULL), ",
        "moved",
        // $1..$6: the event.
        event.event_id,
        from.restaurant_id,
        order.id,
        event.routing_key(),
        payload_json(&event)?,
        Json(trace_context) as _,
        // $7..$15: the order, where it was read.
        order.status.as_str(),
        order.version,
        order.updated_at,
        order.rush,
        order.recalled_at,
        order.status_changed_at,
        order.ready_at,
        order.completed_at,
        from.order.version,
        // $16..$17: its lines.
        change.lines_done_at,
        &change.lines,
        // $18..$21: the answer kept for a retry.
        keyed.as_ref().map(|k| k.key.as_str()),
        keyed.as_ref().map(|k| Json(k.request)) as _,
        keyed.as_ref().map(|k| k.status as i16),
        keyed.as_ref().map(|k| Json(k.body)) as _,
        // $22: whose access is checked here.
        staff_check,
        // $23: whether it stays on the kitchen list (migration 20261208000005).
        !order.status.is_final(),
    )
    .fetch_optional(db)
    .await?;
    Ok(stored.map(|stored| OrderEvent {
        seq: stored.seq,
        occurred_at: stored.occurred_at,
        ..event
    }))
}

/// The answer stored under `key` for this order, if any.
#[tracing::instrument(name = "db.orders.kitchen_answer", skip_all)]
pub async fn kitchen_answer(
    db: &PgPool,
    order_id: Uuid,
    key: &IdempotencyKey,
    request: &Value,
) -> Result<Option<StoredAnswer>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT request = $3 AS "same_request!", response_status, response_body
           FROM kitchen_idempotency_keys WHERE order_id = $1 AND idempotency_key = $2"#,
        order_id,
        key.as_str(),
        Json(request) as _
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|row| StoredAnswer {
        same_request: row.same_request,
        status: u16::try_from(row.response_status).unwrap_or(500),
        body: row.response_body,
    }))
}

/// Keeps an answer that changed nothing (no change needed, or a refusal) under `key`, unless
/// a concurrent request with the key stored one first: then that one, to answer with instead.
#[tracing::instrument(name = "db.orders.keep_kitchen_answer", skip_all)]
pub async fn keep_kitchen_answer(
    db: &PgPool,
    order_id: Uuid,
    answer: KeyedAnswer<'_>,
) -> Result<Option<StoredAnswer>, sqlx::Error> {
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO kitchen_idempotency_keys
               (order_id, idempotency_key, request, response_status, response_body)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING true AS "inserted!""#,
        order_id,
        answer.key.as_str(),
        Json(answer.request) as _,
        answer.status as i16,
        Json(answer.body) as _
    )
    .fetch_optional(db)
    .await?;
    if inserted.is_some() {
        return Ok(None);
    }
    kitchen_answer(db, order_id, answer.key, answer.request).await
}

/// The kitchen list: the restaurant's orders not yet completed or cancelled (with at least one
/// line at `station`, when given), oldest first, and the restaurant's event `seq` they are
/// current as of, read in one snapshot. `None` when `station` is not one of the restaurant's.
#[tracing::instrument(name = "db.orders.active", skip_all)]
pub async fn active(
    db: &PgPool,
    restaurant: Uuid,
    station: Option<i64>,
) -> Result<Option<(i64, Vec<Order>)>, sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let head = sqlx::query!(
        r#"SELECT COALESCE((SELECT event_seq FROM restaurant_sequences WHERE restaurant_id = $1), 0) AS "seq!",
                  $2::bigint IS NULL OR EXISTS (SELECT 1 FROM stations WHERE id = $2 AND restaurant_id = $1)
                  AS "station_known!""#,
        restaurant,
        station
    )
    .fetch_one(&mut *tx)
    .await?;
    if !head.station_known {
        return Ok(None);
    }
    // The partial index on active orders finds them (the status is checked too: an instance
    // on the previous version leaves `active` set when it completes an order, migration
    // 20261208000005); a line's station is checked within the order's own lines (the
    // (order_id, position) index), at most 100 of them.
    let rows = select_orders!(
        " FROM orders o JOIN restaurants r ON r.id = o.restaurant_id
         WHERE o.restaurant_id = $1 AND o.active AND o.status IN ('confirmed', 'preparing', 'ready')
           AND ($2::bigint IS NULL
                OR EXISTS (SELECT 1 FROM order_items si WHERE si.order_id = o.id AND si.station_id = $2))
         ORDER BY o.created_at, o.id",
        restaurant,
        station
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some((head.seq, into_orders(rows)?)))
}

/// The event as JSON text, for `record_event_query!`'s `$5`.
fn payload_json(event: &OrderEvent) -> Result<String, sqlx::Error> {
    serde_json::to_string(event).map_err(|error| sqlx::Error::Encode(Box::new(error)))
}
