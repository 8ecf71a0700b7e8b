//! The kitchen's timings (`GET /api/kitchen/{slug}/stats/`): counts and percentiles on known
//! data, the window's bounds and limits, who may read them. Orders are made through the API;
//! their times are then set in the test's own database, as if they had happened then.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use test_support::api::Reply;

use crate::helpers::{Kitchen, TestApp, kitchen, spawn_app};

/// A fixed past instant the tests' windows are placed around.
fn base() -> DateTime<Utc> {
    "2026-06-01T12:00:00Z".parse().unwrap()
}

/// Now, at the microsecond precision the service answers with.
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap()
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn stats_path(slug: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    format!(
        "/api/kitchen/{slug}/stats/?from={}&to={}",
        rfc3339(from),
        rfc3339(to)
    )
}

async fn stats(app: &TestApp, k: &Kitchen, from: DateTime<Utc>, to: DateTime<Utc>) -> Value {
    app.get(&stats_path(&k.slug, from, to), Some(&k.cook.access))
        .await
        .expect(200)
}

fn id(order: &Value) -> Uuid {
    order["id"].as_str().unwrap().parse().unwrap()
}

/// A station made directly in the test's database, with `item` routed to it.
async fn station(app: &TestApp, k: &Kitchen, name: &str, item: Option<i64>) -> i64 {
    let station: i64 = sqlx::query_scalar(
        "INSERT INTO stations (restaurant_id, name)
         SELECT id, $2 FROM restaurants WHERE slug = $1 RETURNING id",
    )
    .bind(&k.slug)
    .bind(name)
    .fetch_one(&app.db)
    .await
    .unwrap();
    if let Some(item) = item {
        sqlx::query("UPDATE menu_items SET station_id = $1 WHERE id = $2")
            .bind(station)
            .bind(item)
            .execute(&app.db)
            .await
            .unwrap();
    }
    station
}

/// A pizza (line 0) and a salad (line 1).
async fn pizza_and_salad(app: &TestApp, k: &Kitchen) -> Value {
    app.confirm(
        &k.slug,
        json!({"items": [
                {"menu_item_id": k.menu.pizza, "variant_id": k.menu.large, "quantity": 1},
                {"menu_item_id": k.menu.salad, "variant_id": k.menu.salad_regular, "quantity": 1}],
               "raw_input": "pizza and salad"}),
    )
    .await
    .expect(201)
}

async fn walk(app: &TestApp, k: &Kitchen, order: &Value, statuses: &[&str]) {
    for status in statuses {
        app.move_order(&k.cook.access, order["id"].as_str().unwrap(), status)
            .await
            .expect(200);
    }
}

/// Dates the order's confirmation at `confirmed`, and its first `ready` (and `ready_at`, if it
/// is set) `ticket` seconds later.
async fn date_order(app: &TestApp, order: Uuid, confirmed: DateTime<Utc>, ticket: Option<f64>) {
    sqlx::query(
        "UPDATE orders SET created_at = $2,
                first_ready_at = CASE WHEN first_ready_at IS NOT NULL
                                      THEN $2 + make_interval(secs => $3) END,
                ready_at = CASE WHEN ready_at IS NOT NULL THEN $2 + make_interval(secs => $3) END,
                ticket_seconds = CASE WHEN first_ready_at IS NOT NULL THEN $3 END
         WHERE id = $1",
    )
    .bind(order)
    .bind(confirmed)
    .bind(ticket.unwrap_or(0.0))
    .execute(&app.db)
    .await
    .unwrap();
    // Each line carries its order's confirm time (what line timings count from).
    // (The seconds are written with the times, not generated: migration 20261208000003.)
    sqlx::query(
        "UPDATE order_items SET confirmed_at = $2, done_seconds = date_part('epoch', done_at - $2)
         WHERE order_id = $1",
    )
    .bind(order)
    .bind(confirmed)
    .execute(&app.db)
    .await
    .unwrap();
}

/// Marks line `position` (0-based) of the order done at `done`.
async fn date_line(app: &TestApp, order: Uuid, position: i64, done: Option<DateTime<Utc>>) {
    let updated = sqlx::query(
        "UPDATE order_items SET done_at = $3, done_seconds = date_part('epoch', $3 - confirmed_at)
         WHERE id = (SELECT id FROM order_items WHERE order_id = $1 ORDER BY position OFFSET $2 LIMIT 1)",
    )
    .bind(order)
    .bind(position)
    .bind(done)
    .execute(&app.db)
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(updated, 1);
}

fn secs(seconds: f64) -> Duration {
    Duration::microseconds((seconds * 1e6) as i64)
}

/// Every number in the timings has at most one decimal place.
fn assert_tenths(value: &Value) {
    match value {
        Value::Number(n) => {
            let text = n.to_string();
            let decimals = text.split_once('.').map_or(0, |(_, d)| d.len());
            assert!(decimals <= 1, "{text} has more than one decimal place");
        }
        Value::Array(items) => items.iter().for_each(assert_tenths),
        Value::Object(fields) => fields.values().for_each(assert_tenths),
        _ => {}
    }
}

#[tokio::test]
async fn counts_and_percentiles_on_known_data() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let grill = station(&app, &k, "grill", Some(k.menu.pizza)).await;
    let cold = station(&app, &k, "Cold", Some(k.menu.salad)).await;
    let bar = station(&app, &k, "bar", None).await;

    // Seven orders confirmed in the window: five reached ready (one of them then cancelled),
    // one is still confirmed, one was cancelled without getting there.
    let t0 = base();
    let plan: [(&[&str], Option<f64>); 7] = [
        (&["preparing", "ready", "completed"], Some(60.0)),
        (&["preparing", "ready", "completed"], Some(120.0)),
        (&["preparing", "ready"], Some(180.0)),
        (&["preparing", "ready", "completed"], Some(240.0)),
        (&["preparing", "ready", "cancelled"], Some(600.5)),
        (&[], None),
        (&["cancelled"], None),
    ];
    let mut orders = Vec::new();
    for (n, (statuses, ticket)) in plan.iter().enumerate() {
        let order = pizza_and_salad(&app, &k).await;
        walk(&app, &k, &order, statuses).await;
        let confirmed = t0 + Duration::minutes(n as i64);
        date_order(&app, id(&order), confirmed, *ticket).await;
        orders.push((id(&order), confirmed));
    }
    // Four pizzas done 30, 60, 90 and 120 s after their confirm; one salad after 45.25 s.
    for (n, seconds) in [30.0, 60.0, 90.0, 120.0].into_iter().enumerate() {
        let (order, confirmed) = orders[n];
        date_line(&app, order, 0, Some(confirmed + secs(seconds))).await;
    }
    let (order, confirmed) = orders[5];
    date_line(&app, order, 1, Some(confirmed + secs(45.25))).await;

    let body = stats(&app, &k, t0, t0 + Duration::hours(1)).await;
    assert_tenths(&body);
    assert_eq!(body["from"], rfc3339(t0));
    assert_eq!(body["to"], rfc3339(t0 + Duration::hours(1)));
    assert_eq!(
        body["orders"],
        json!({"confirmed": 7, "completed": 3, "cancelled": 2})
    );
    // p90 of 60, 120, 180, 240, 600.5: 240 + 0.6 * (600.5 - 240) = 456.3.
    assert_eq!(
        body["ticket_seconds"],
        json!({"count": 5, "p50": 180.0, "p90": 456.3, "max": 600.5})
    );
    // By name, case-insensitively; p90 of 30, 60, 90, 120: 90 + 0.7 * 30 = 111; 45.25 shows
    // as 45.3.
    assert_eq!(
        body["stations"],
        json!([
            {"id": bar, "name": "bar", "lines": 0, "p50": null, "p90": null},
            {"id": cold, "name": "Cold", "lines": 1, "p50": 45.3, "p90": 45.3},
            {"id": grill, "name": "grill", "lines": 4, "p50": 75.0, "p90": 111.0},
        ])
    );
}

#[tokio::test]
async fn only_what_happened_in_the_window_counts() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let grill = station(&app, &k, "grill", Some(k.menu.pizza)).await;
    let from = base();
    let to = from + Duration::hours(2);
    let micro = Duration::microseconds(1);

    // Confirmed at the very first and the very last microsecond of the window: counted.
    // One microsecond before it, or at its end: not.
    let mut inside = Vec::new();
    for confirmed in [from - micro, from, to - micro, to] {
        let order = app.place_order(&k.slug, &k.menu).await;
        walk(&app, &k, &order, &["preparing", "ready"]).await;
        date_order(&app, id(&order), confirmed, Some(100.0)).await;
        inside.push((id(&order), confirmed));
    }
    // Lines: the one of the order confirmed just before the window is done in it, so it
    // counts at its station though its order does not; a line done exactly at `to` does not.
    let (early, early_confirmed) = inside[0];
    date_line(&app, early, 0, Some(from + Duration::seconds(5))).await;
    let (first, first_confirmed) = inside[1];
    date_line(
        &app,
        first,
        0,
        Some(first_confirmed + Duration::seconds(50)),
    )
    .await;
    let (last, _) = inside[2];
    date_line(&app, last, 0, Some(to)).await;

    let body = stats(&app, &k, from, to).await;
    assert_eq!(body["orders"]["confirmed"], 2);
    assert_eq!(body["ticket_seconds"]["count"], 2);
    assert_eq!(body["ticket_seconds"]["p50"], 100.0);
    // 5.000001 s (confirmed a microsecond before the window) and 50 s.
    assert_eq!(early_confirmed, from - micro);
    assert_eq!(
        body["stations"],
        json!([{"id": grill, "name": "grill", "lines": 2, "p50": 27.5, "p90": 45.5}])
    );
}

#[tokio::test]
async fn lines_count_at_their_snapshot_station_under_its_current_name() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let grill = station(&app, &k, "grill", Some(k.menu.pizza)).await;
    let order = app.place_order(&k.slug, &k.menu).await;
    // After the confirm, pizzas move to a new station and the old one is renamed: the line
    // still counts at its snapshot station, listed under the name it has now.
    let oven = station(&app, &k, "oven", Some(k.menu.pizza)).await;
    sqlx::query("UPDATE stations SET name = 'charcoal' WHERE id = $1")
        .bind(grill)
        .execute(&app.db)
        .await
        .unwrap();
    date_line(&app, id(&order), 0, Some(base() + Duration::seconds(10))).await;
    date_order(&app, id(&order), base(), None).await;
    let window = (base(), base() + Duration::hours(1));
    let body = stats(&app, &k, window.0, window.1).await;
    assert_eq!(
        body["stations"],
        json!([
            {"id": grill, "name": "charcoal", "lines": 1, "p50": 10.0, "p90": 10.0},
            {"id": oven, "name": "oven", "lines": 0, "p50": null, "p90": null},
        ])
    );
    // A deleted station is no longer listed.
    sqlx::query("DELETE FROM stations WHERE id = $1")
        .bind(grill)
        .execute(&app.db)
        .await
        .unwrap();
    let body = stats(&app, &k, window.0, window.1).await;
    assert_eq!(
        body["stations"],
        json!([{"id": oven, "name": "oven", "lines": 0, "p50": null, "p90": null}])
    );
}

#[tokio::test]
async fn the_default_window_is_the_last_24_hours() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let recent = app.place_order(&k.slug, &k.menu).await;
    let yesterday = app.place_order(&k.slug, &k.menu).await;
    date_order(&app, id(&yesterday), now() - Duration::hours(25), None).await;

    let before = now();
    let body = app
        .get(
            &format!("/api/kitchen/{}/stats/", k.slug),
            Some(&k.owner.access),
        )
        .await
        .expect(200);
    let from: DateTime<Utc> = body["from"].as_str().unwrap().parse().unwrap();
    let to: DateTime<Utc> = body["to"].as_str().unwrap().parse().unwrap();
    assert_eq!(to - from, Duration::hours(24));
    assert!(
        to >= before - Duration::seconds(1) && to <= Utc::now(),
        "{to}"
    );
    assert_eq!(body["orders"]["confirmed"], 1, "{body} {recent}");

    // Only `to`: the 24 hours before it. Only `from`: up to now.
    let to = now() - Duration::hours(20);
    let body = app
        .get(
            &format!("/api/kitchen/{}/stats/?to={}", k.slug, rfc3339(to)),
            Some(&k.owner.access),
        )
        .await
        .expect(200);
    assert_eq!(body["from"], rfc3339(to - Duration::hours(24)));
    assert_eq!(body["orders"]["confirmed"], 1);
    let from = now() - Duration::hours(30);
    let body = app
        .get(
            &format!("/api/kitchen/{}/stats/?from={}", k.slug, rfc3339(from)),
            Some(&k.owner.access),
        )
        .await
        .expect(200);
    assert_eq!(body["orders"]["confirmed"], 2);
}

#[tokio::test]
async fn a_recall_does_not_take_back_the_first_ready() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let order = app.place_order(&k.slug, &k.menu).await;
    walk(&app, &k, &order, &["preparing", "ready"]).await;
    let recalled = app
        .post(
            &format!("/api/kitchen/orders/{}/recall/", id(&order)),
            Some(&k.cook.access),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(recalled["status"], "preparing");
    assert_eq!(recalled["ready_at"], Value::Null);

    // Measured as it happened (a fraction of a second), then on known times.
    let until = now();
    let body = stats(&app, &k, until - Duration::hours(1), until).await;
    assert_eq!(body["ticket_seconds"]["count"], 1);
    assert!(body["ticket_seconds"]["p50"].as_f64().unwrap() >= 0.0);
    date_order(&app, id(&order), base(), Some(321.0)).await;
    let ready_at: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT ready_at FROM orders WHERE id = $1")
            .bind(id(&order))
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(ready_at, None);
    let body = stats(&app, &k, base(), base() + Duration::hours(1)).await;
    assert_eq!(
        body["ticket_seconds"],
        json!({"count": 1, "p50": 321.0, "p90": 321.0, "max": 321.0})
    );
    assert_eq!(body["orders"]["confirmed"], 1);
}

#[tokio::test]
async fn an_empty_window_has_null_percentiles() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let grill = station(&app, &k, "grill", Some(k.menu.pizza)).await;
    // An order and a done line outside the window change nothing in it.
    let order = app.place_order(&k.slug, &k.menu).await;
    date_line(&app, id(&order), 0, Some(now())).await;

    let body = stats(&app, &k, base(), base() + Duration::days(31)).await;
    assert_eq!(
        body["orders"],
        json!({"confirmed": 0, "completed": 0, "cancelled": 0})
    );
    assert_eq!(
        body["ticket_seconds"],
        json!({"count": 0, "p50": null, "p90": null, "max": null})
    );
    assert_eq!(
        body["stations"],
        json!([{"id": grill, "name": "grill", "lines": 0, "p50": null, "p90": null}])
    );
    // A window of no length at all is empty too, and a restaurant without stations lists none.
    let other = app.kitchen("marios").await;
    let body = app
        .get(
            &stats_path(&other.slug, base(), base()),
            Some(&other.cook.access),
        )
        .await
        .expect(200);
    assert_eq!(body["orders"]["confirmed"], 0);
    assert_eq!(body["stations"], json!([]));
}

async fn ask(app: &TestApp, k: &Kitchen, query: String) -> Reply {
    app.get(
        &format!("/api/kitchen/{}/stats/?{query}", k.slug),
        Some(&k.cook.access),
    )
    .await
}

#[tokio::test]
async fn bad_windows_are_400_with_the_field_named() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let get = |query: String| ask(&app, &k, query);
    let from = base();

    let day31 = from + Duration::days(31);
    get(format!("from={}&to={}", rfc3339(from), rfc3339(day31)))
        .await
        .expect(200);
    let over = get(format!(
        "from={}&to={}",
        rfc3339(from),
        rfc3339(day31 + Duration::microseconds(1))
    ))
    .await
    .expect_error(400);
    assert!(
        over["errors"]["from"][0]
            .as_str()
            .unwrap()
            .contains("31 days"),
        "{over}"
    );

    let reversed = get(format!(
        "from={}&to={}",
        rfc3339(from + Duration::seconds(1)),
        rfc3339(from)
    ))
    .await
    .expect_error(400);
    assert!(
        reversed["errors"]["from"][0]
            .as_str()
            .unwrap()
            .contains("after"),
        "{reversed}"
    );

    let malformed = get("from=yesterday&to=2026-06-01".to_owned())
        .await
        .expect_error(400);
    let fields: Vec<&String> = malformed["errors"].as_object().unwrap().keys().collect();
    assert_eq!(fields, ["from", "to"], "{malformed}");
    let malformed = get("to=2026-06-01T12:00:00".to_owned())
        .await
        .expect_error(400);
    assert!(malformed["errors"]["to"].is_array(), "{malformed}");

    // An offset's `+` sent unencoded arrives as a space, and still means `+`; encoded, too.
    for plus in ["+", "%2B"] {
        let body = get(format!(
            "from=2026-06-01T14:00:00{plus}02:00&to=2026-06-01T15:00:00{plus}02:00"
        ))
        .await
        .expect(200);
        assert_eq!(body["from"], "2026-06-01T12:00:00Z");
        assert_eq!(body["to"], "2026-06-01T13:00:00Z");
    }
}

#[tokio::test]
async fn only_staff_of_the_restaurant_see_its_timings() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let manager = app.register("manager").await;
    app.add_staff(&k.owner, &k.slug, &manager, "manager").await;
    let stranger = app.register("stranger").await;
    let path = format!("/api/kitchen/{}/stats/", k.slug);

    app.get(&path, None).await.expect_error(401);
    app.get(&path, Some("not-a-token")).await.expect_error(401);
    app.get("/api/kitchen/nowhere/stats/", Some(&stranger.access))
        .await
        .expect_error(404);
    app.get(&path, Some(&stranger.access))
        .await
        .expect_error(403);
    for user in [&k.owner, &manager, &k.cook] {
        app.get(&path, Some(&user.access)).await.expect(200);
    }
    // Who may ask is settled before what is asked: 401, 404, 403 come before a bad window.
    let bad = "?from=never";
    app.get(&format!("{path}{bad}"), None)
        .await
        .expect_error(401);
    app.get(
        &format!("/api/kitchen/nowhere/stats/{bad}"),
        Some(&stranger.access),
    )
    .await
    .expect_error(404);
    app.get(&format!("{path}{bad}"), Some(&stranger.access))
        .await
        .expect_error(403);
    app.get(&format!("{path}{bad}"), Some(&k.cook.access))
        .await
        .expect_error(400);
}

#[tokio::test]
async fn the_openapi_document_describes_the_timings() {
    let app = spawn_app().await;
    let document = app.get("/api/openapi.json", None).await.expect(200);
    let operation = &document["paths"]["/api/kitchen/{slug}/stats/"]["get"];
    let statuses: Vec<&String> = operation["responses"].as_object().unwrap().keys().collect();
    assert_eq!(statuses, ["200", "400", "401", "403", "404", "503"]);
    let params: Vec<&str> = operation["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["slug", "from", "to"]);
    let schemas = &document["components"]["schemas"];
    for schema in [
        "KitchenStats",
        "StatsOrders",
        "TicketSeconds",
        "StationSeconds",
    ] {
        assert!(schemas[schema].is_object(), "{schema} missing");
    }
}

/// The timings' seconds are written by the writes that set their times (migration
/// 20261208000003), not generated: a line crossed off and an order made ready through the API
/// are measured.
#[tokio::test]
async fn a_line_crossed_off_and_a_ticket_made_ready_through_the_api_are_timed() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    app.station_for_category(&k.owner, &k.slug, k.menu.category, "grill")
        .await;
    let order = app.place_order(&k.slug, &k.menu).await;
    // Its only line crossed off makes it ready.
    app.patch(
        &format!("/api/kitchen/orders/{}/items/", id(&order)),
        Some(&k.cook.access),
        json!({"line_ids": [order["items"][0]["id"]], "done": true}),
    )
    .await
    .expect(200);
    let until = now();
    let body = stats(&app, &k, until - Duration::hours(1), until).await;
    assert_eq!(body["stations"][0]["lines"], 1, "{body}");
    assert!(
        body["stations"][0]["p50"].as_f64().unwrap() >= 0.0,
        "{body}"
    );
    assert_eq!(body["ticket_seconds"]["count"], 1, "{body}");
}
