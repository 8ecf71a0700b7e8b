//! The kitchen floor's writes and reads (API.md, "Kitchen floor"): lines crossed off with the
//! automatic moves, rush, recall and its window, idempotent retries, the races, the kitchen
//! list by station with its all-day count.

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use test_support::api::{Kitchen, Reply};

use crate::helpers::{TestApp, kitchen, spawn_app};

fn id(order: &Value) -> String {
    order["id"].as_str().unwrap().to_owned()
}

fn line_ids(order: &Value) -> Vec<i64> {
    order["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["id"].as_i64().unwrap())
        .collect()
}

/// A restaurant with one order placed: where most of these tests start.
async fn one_order() -> (TestApp, Kitchen, Value) {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let order = app.place_order(&k.slug, &k.menu).await;
    (app, k, order)
}

/// A pizza and a salad: two lines.
async fn two_line_order(app: &TestApp, k: &Kitchen) -> Value {
    app.confirm(
        &k.slug,
        json!({"items": [
                {"menu_item_id": k.menu.pizza, "variant_id": k.menu.large, "quantity": 2},
                {"menu_item_id": k.menu.salad, "variant_id": k.menu.salad_regular, "quantity": 1}],
               "raw_input": "pizza and salad"}),
    )
    .await
    .expect(201)
}

async fn cross(app: &TestApp, k: &Kitchen, order: &str, lines: &[i64], done: bool) -> Reply {
    app.patch(
        &format!("/api/kitchen/orders/{order}/items/"),
        Some(&k.cook.access),
        json!({"line_ids": lines, "done": done}),
    )
    .await
}

async fn with_headers(
    app: &TestApp,
    k: &Kitchen,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Reply {
    let mut request = app
        .client
        .request(method, app.url(path))
        .bearer_auth(&k.cook.access);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    app.send(request).await
}

/// Every event of the restaurant so far: (seq, event name, order status, version).
async fn events(app: &TestApp, k: &Kitchen) -> Vec<(i64, String, String, i64)> {
    let page = app
        .get(
            &format!("/api/kitchen/{}/events/?after=0", k.slug),
            Some(&k.owner.access),
        )
        .await
        .expect(200);
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["seq"].as_i64().unwrap(),
                e["event"].as_str().unwrap().to_owned(),
                e["order"]["status"].as_str().unwrap().to_owned(),
                e["order"]["version"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_new_order_carries_the_kitchen_fields() {
    let (_app, _, order) = one_order().await;
    assert_eq!(order["rush"], false);
    assert_eq!(order["recalled_at"], Value::Null);
    assert_eq!(order["status_changed_at"], order["created_at"]);
    assert_eq!(order["ready_at"], Value::Null);
    assert_eq!(order["completed_at"], Value::Null);
    assert_eq!(order["items"][0]["station"], Value::Null);
    assert_eq!(order["items"][0]["done_at"], Value::Null);
}

#[tokio::test]
async fn crossing_off_moves_the_order_by_itself() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let order = two_line_order(&app, &k).await;
    let [pizza, salad] = line_ids(&order)[..] else {
        panic!("two lines")
    };
    let first = cross(&app, &k, &id(&order), &[pizza], true)
        .await
        .expect(200);
    assert_eq!(first["status"], "preparing");
    assert_eq!(first["version"], 2);
    assert!(first["items"][0]["done_at"].is_string());
    assert_eq!(first["items"][1]["done_at"], Value::Null);
    let last = cross(&app, &k, &id(&order), &[salad], true)
        .await
        .expect(200);
    assert_eq!(last["status"], "ready");
    assert_eq!(last["version"], 3);
    assert!(last["ready_at"].is_string());
    // Restoring a line of a ready order moves it back to preparing.
    let restored = cross(&app, &k, &id(&order), &[salad], false)
        .await
        .expect(200);
    assert_eq!(restored["status"], "preparing");
    assert_eq!(restored["ready_at"], Value::Null);
    assert_eq!(restored["items"][1]["done_at"], Value::Null);
    assert_eq!(
        restored["items"][0]["done_at"],
        first["items"][0]["done_at"]
    );
    assert_eq!(
        events(&app, &k).await,
        vec![
            (1, "order.confirmed".into(), "confirmed".into(), 1),
            (2, "order.status_changed".into(), "preparing".into(), 2),
            (3, "order.status_changed".into(), "ready".into(), 3),
            (4, "order.status_changed".into(), "preparing".into(), 4),
        ]
    );
}

#[tokio::test]
async fn the_only_line_done_makes_a_confirmed_order_ready_in_one_change() {
    let (app, k, order) = one_order().await;
    let done = cross(&app, &k, &id(&order), &line_ids(&order), true)
        .await
        .expect(200);
    assert_eq!(
        (done["status"].as_str(), done["version"].as_i64()),
        (Some("ready"), Some(2))
    );
    assert_eq!(events(&app, &k).await.len(), 2);
}

#[tokio::test]
async fn lines_already_as_asked_change_nothing() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let order = two_line_order(&app, &k).await;
    let lines = line_ids(&order);
    let once = cross(&app, &k, &id(&order), &lines[..1], true)
        .await
        .expect(200);
    let again = cross(&app, &k, &id(&order), &lines[..1], true)
        .await
        .expect(200);
    assert_eq!(again, once, "200 with the order as it is");
    let restored = cross(&app, &k, &id(&order), &lines[1..], false)
        .await
        .expect(200);
    assert_eq!(restored["version"], 2);
    assert_eq!(events(&app, &k).await.len(), 2, "no event for no change");
    // A line done while preparing is an update, not a status move.
    let order = two_line_order(&app, &k).await;
    let lines = line_ids(&order);
    app.move_order(&k.cook.access, &id(&order), "preparing")
        .await
        .expect(200);
    cross(&app, &k, &id(&order), &lines[..1], true)
        .await
        .expect(200);
    assert_eq!(events(&app, &k).await.last().unwrap().1, "order.updated");
}

#[tokio::test]
async fn bad_line_requests_are_400_and_change_nothing() {
    let (app, k, order) = one_order().await;
    let other = app.place_order(&k.slug, &k.menu).await;
    let path = format!("/api/kitchen/orders/{}/items/", id(&order));
    for body in [
        json!({"line_ids": [], "done": true}),
        json!({"line_ids": line_ids(&other), "done": true}),
        json!({"line_ids": [1], "done": "yes"}),
        json!({"done": true}),
        json!({"line_ids": "all", "done": true}),
    ] {
        let error = app
            .patch(&path, Some(&k.cook.access), body.clone())
            .await
            .expect_error(400);
        assert!(error["errors"].is_object(), "{body}: {error}");
    }
    app.move_order(&k.cook.access, &id(&order), "cancelled")
        .await
        .expect(200);
    let error = cross(&app, &k, &id(&order), &line_ids(&order), true)
        .await
        .expect_error(400);
    assert!(
        error["detail"].as_str().unwrap().contains("cancelled"),
        "{error}"
    );
    let stored = app
        .get(
            &format!("/api/order/{}/status/{}/", k.slug, id(&order)),
            None,
        )
        .await
        .expect(200);
    assert_eq!(stored["items"][0]["done_at"], Value::Null);
    assert_eq!(stored["version"], 2);
    // Not staff: the order does not exist.
    let stranger = app.register("stranger").await;
    app.patch(
        &path,
        Some(&stranger.access),
        json!({"line_ids": [1], "done": true}),
    )
    .await
    .expect_error(404);
}

#[tokio::test]
async fn rush_is_an_update_and_refused_on_final_orders() {
    let (app, k, order) = one_order().await;
    let path = format!("/api/kitchen/orders/{}/", id(&order));
    let rushed = app
        .patch(&path, Some(&k.cook.access), json!({"rush": true}))
        .await
        .expect(200);
    assert_eq!(
        (rushed["rush"].as_bool(), rushed["version"].as_i64()),
        (Some(true), Some(2))
    );
    assert_eq!(rushed["status_changed_at"], order["status_changed_at"]);
    assert_eq!(events(&app, &k).await[1].1, "order.updated");
    // Status and rush in one body: one change.
    let both = app
        .patch(
            &path,
            Some(&k.cook.access),
            json!({"status": "preparing", "rush": false}),
        )
        .await
        .expect(200);
    assert_eq!(
        (both["rush"].as_bool(), both["version"].as_i64()),
        (Some(false), Some(3))
    );
    for body in [json!({}), json!({"rush": "yes"}), json!({"rush": null})] {
        let error = app
            .patch(&path, Some(&k.cook.access), body.clone())
            .await
            .expect_error(400);
        assert!(error["errors"].is_object(), "{body}: {error}");
    }
    for status in ["ready", "completed"] {
        app.move_order(&k.cook.access, &id(&order), status)
            .await
            .expect(200);
    }
    app.patch(&path, Some(&k.cook.access), json!({"rush": true}))
        .await
        .expect_error(400);
    assert_eq!(events(&app, &k).await.len(), 5);
}

async fn recall(app: &TestApp, k: &Kitchen, order: &str) -> Reply {
    app.post(
        &format!("/api/kitchen/orders/{order}/recall/"),
        Some(&k.cook.access),
        json!(null),
    )
    .await
}

/// Whether the order is on the kitchen's list (`GET /api/kitchen/{slug}/orders/`).
async fn on_kitchen_list(app: &TestApp, k: &Kitchen, order: &str) -> bool {
    let list = app.kitchen_list(&k.slug, &k.cook.access).await;
    list["orders"]
        .as_array()
        .unwrap()
        .iter()
        .any(|listed| listed["id"] == order)
}

#[tokio::test]
async fn recall_steps_back_one_move_at_a_time() {
    let (app, k, order) = one_order().await;
    let order_id = id(&order);
    recall(&app, &k, &order_id).await.expect_error(400);
    cross(&app, &k, &order_id, &line_ids(&order), true)
        .await
        .expect(200);
    let completed = app
        .move_order(&k.cook.access, &order_id, "completed")
        .await
        .expect(200);
    assert!(completed["completed_at"].is_string());
    assert!(!on_kitchen_list(&app, &k, &order_id).await);
    let ready = recall(&app, &k, &order_id).await.expect(200);
    assert_eq!(ready["status"], "ready");
    assert!(
        on_kitchen_list(&app, &k, &order_id).await,
        "a recalled order is back on the kitchen list"
    );
    assert_eq!(ready["completed_at"], Value::Null);
    assert_eq!(ready["ready_at"], completed["ready_at"]);
    assert!(ready["recalled_at"].is_string());
    assert_eq!(ready["status_changed_at"], ready["recalled_at"]);
    assert_eq!(
        ready["items"][0]["done_at"],
        completed["items"][0]["done_at"]
    );
    let preparing = recall(&app, &k, &order_id).await.expect(200);
    assert_eq!(preparing["status"], "preparing");
    assert_eq!(preparing["ready_at"], Value::Null);
    let confirmed = recall(&app, &k, &order_id).await.expect(200);
    assert_eq!(confirmed["status"], "confirmed");
    assert_eq!(confirmed["version"], 6);
    recall(&app, &k, &order_id).await.expect_error(400);
    let cancelled = app.place_order(&k.slug, &k.menu).await;
    app.move_order(&k.cook.access, &id(&cancelled), "cancelled")
        .await
        .expect(200);
    recall(&app, &k, &id(&cancelled)).await.expect_error(400);
    let names: Vec<String> = events(&app, &k).await.into_iter().map(|e| e.1).collect();
    assert_eq!(
        names
            .iter()
            .filter(|n| *n == "order.status_changed")
            .count(),
        6
    );
}

#[tokio::test]
async fn recall_is_refused_30_minutes_after_the_move() {
    let (app, k, order) = one_order().await;
    let order_id = id(&order);
    app.move_order(&k.cook.access, &order_id, "preparing")
        .await
        .expect(200);
    let set_moved_ago = |minutes: i64| {
        let db = app.db.clone();
        let order_id = order_id.clone();
        async move {
            // As every write of an order does, this one bumps its version (which is what
            // tells the service's copy of the order that it is stale).
            sqlx::query(
                "UPDATE orders SET status_changed_at = now() - make_interval(mins => $2::int),
                                   version = version + 1
                 WHERE id = $1::uuid",
            )
            .bind(order_id)
            .bind(minutes as i32)
            .execute(&db)
            .await
            .unwrap();
        }
    };
    set_moved_ago(31).await;
    let error = recall(&app, &k, &order_id).await.expect_error(400);
    assert!(
        error["detail"].as_str().unwrap().contains("30 minutes"),
        "{error}"
    );
    set_moved_ago(29).await;
    assert_eq!(
        recall(&app, &k, &order_id).await.expect(200)["status"],
        "confirmed"
    );
}

#[tokio::test]
async fn a_malformed_if_match_is_refused_even_with_a_key_already_answered() {
    let (app, k, order) = one_order().await;
    let path = format!("/api/kitchen/orders/{}/", id(&order));
    let key = ("Idempotency-Key", "rush-once");
    let body = Some(json!({"rush": true}));
    with_headers(&app, &k, Method::PATCH, &path, &[key], body.clone())
        .await
        .expect(200);
    let error = with_headers(
        &app,
        &k,
        Method::PATCH,
        &path,
        &[key, ("If-Match", "")],
        body,
    )
    .await
    .expect_error(400);
    assert!(
        error["detail"].as_str().unwrap().contains("If-Match"),
        "{error}"
    );
}

#[tokio::test]
async fn if_match_guards_every_kitchen_write() {
    let (app, k, order) = one_order().await;
    let order_id = id(&order);
    let lines = json!({"line_ids": line_ids(&order), "done": true});
    let items = format!("/api/kitchen/orders/{order_id}/items/");
    with_headers(
        &app,
        &k,
        Method::PATCH,
        &items,
        &[("If-Match", "2")],
        Some(lines.clone()),
    )
    .await
    .expect_error(409);
    with_headers(
        &app,
        &k,
        Method::PATCH,
        &items,
        &[("If-Match", "\"1\"")],
        Some(lines),
    )
    .await
    .expect(200);
    let recall_path = format!("/api/kitchen/orders/{order_id}/recall/");
    with_headers(
        &app,
        &k,
        Method::POST,
        &recall_path,
        &[("If-Match", "1")],
        None,
    )
    .await
    .expect_error(409);
    with_headers(
        &app,
        &k,
        Method::POST,
        &recall_path,
        &[("If-Match", "2")],
        None,
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn a_retry_with_the_same_key_gets_the_first_answer_even_after_the_order_moved_on() {
    let (app, k, order) = one_order().await;
    let path = format!("/api/kitchen/orders/{}/", id(&order));
    let key = [("Idempotency-Key", "bump-1")];
    let body = json!({"status": "preparing"});
    let first = with_headers(&app, &k, Method::PATCH, &path, &key, Some(body.clone()))
        .await
        .expect(200);
    app.move_order(&k.cook.access, &id(&order), "ready")
        .await
        .expect(200);
    let replay = with_headers(&app, &k, Method::PATCH, &path, &key, Some(body))
        .await
        .expect(200);
    assert_eq!(replay, first);
    assert_eq!(
        events(&app, &k).await.len(),
        3,
        "the replay changed nothing"
    );
    // The same key with another body, or for another write of the order: 409.
    with_headers(
        &app,
        &k,
        Method::PATCH,
        &path,
        &key,
        Some(json!({"status": "completed"})),
    )
    .await
    .expect_error(409);
    let recall_path = format!("/api/kitchen/orders/{}/recall/", id(&order));
    with_headers(&app, &k, Method::POST, &recall_path, &key, None)
        .await
        .expect_error(409);
    // A refusal is an answer too: replayed as it was, even once the move became possible.
    let refused_key = [("Idempotency-Key", "too-early")];
    let other = app.place_order(&k.slug, &k.menu).await;
    let other_path = format!("/api/kitchen/orders/{}/", id(&other));
    let ready = json!({"status": "ready"});
    let refused = with_headers(
        &app,
        &k,
        Method::PATCH,
        &other_path,
        &refused_key,
        Some(ready.clone()),
    )
    .await
    .expect_error(400);
    app.move_order(&k.cook.access, &id(&other), "preparing")
        .await
        .expect(200);
    let again = with_headers(
        &app,
        &k,
        Method::PATCH,
        &other_path,
        &refused_key,
        Some(ready),
    )
    .await
    .expect_error(400);
    assert_eq!(again, refused);
    // A malformed key is 400.
    with_headers(
        &app,
        &k,
        Method::PATCH,
        &path,
        &[("Idempotency-Key", "tab\there")],
        Some(json!({"rush": true})),
    )
    .await
    .expect_error(400);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_make_one_change() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let order = two_line_order(&app, &k).await;
    let path = format!("/api/kitchen/orders/{}/items/", id(&order));
    let body = json!({"line_ids": line_ids(&order)[..1], "done": true});
    let answers = join_all((0..6).map(|_| {
        with_headers(
            &app,
            &k,
            Method::PATCH,
            &path,
            &[("Idempotency-Key", "offline-7")],
            Some(body.clone()),
        )
    }))
    .await;
    let first = answers[0].body.clone();
    for answer in answers {
        assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
        assert_eq!(answer.body, first);
    }
    assert_eq!(first["version"], 2);
    assert_eq!(events(&app, &k).await.len(), 2, "one change");
}

#[tokio::test]
async fn two_cooks_crossing_off_the_last_two_lines_at_once_make_it_ready_once() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    for _ in 0..8 {
        let order = two_line_order(&app, &k).await;
        let [pizza, salad] = line_ids(&order)[..] else {
            panic!("two lines")
        };
        let order_id = id(&order);
        let (first, second) = ([pizza], [salad]);
        let (a, b) = tokio::join!(
            cross(&app, &k, &order_id, &first, true),
            cross(&app, &k, &order_id, &second, true)
        );
        assert_eq!(
            (a.status.as_u16(), b.status.as_u16()),
            (200, 200),
            "{} {}",
            a.body,
            b.body
        );
        let stored = app
            .get(
                &format!("/api/order/{}/status/{}/", k.slug, id(&order)),
                None,
            )
            .await
            .expect(200);
        assert_eq!(stored["status"], "ready");
        assert_eq!(stored["version"], 3);
        assert!(
            stored["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|l| l["done_at"].is_string())
        );
    }
    let all = events(&app, &k).await;
    let seqs: Vec<i64> = all.iter().map(|e| e.0).collect();
    assert_eq!(seqs, (1..=24).collect::<Vec<_>>(), "seq gap-free");
    assert_eq!(
        all.iter().filter(|e| e.2 == "ready").count(),
        8,
        "ready once per order"
    );
}

#[tokio::test]
async fn recall_racing_a_patch_from_the_same_state_lets_exactly_one_win() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    for _ in 0..6 {
        let order = app.place_order(&k.slug, &k.menu).await;
        cross(&app, &k, &id(&order), &line_ids(&order), true)
            .await
            .expect(200);
        let order_id = id(&order);
        let (recalled, completed) = tokio::join!(
            recall(&app, &k, &order_id),
            app.move_order(&k.cook.access, &order_id, "completed")
        );
        let wins = [&recalled, &completed]
            .iter()
            .filter(|r| r.status.as_u16() == 200)
            .count();
        for loser in [&recalled, &completed]
            .into_iter()
            .filter(|r| r.status.as_u16() != 200)
        {
            assert!(
                [400, 409].contains(&loser.status.as_u16()),
                "{}",
                loser.body
            );
        }
        let stored = app
            .get(
                &format!("/api/order/{}/status/{}/", k.slug, id(&order)),
                None,
            )
            .await
            .expect(200);
        if wins == 2 {
            // Not concurrent after all: the PATCH was through before the recall began, and
            // the recall undid it. Anything else would be two moves from one state.
            assert_eq!(
                (stored["status"].as_str(), stored["version"].as_i64()),
                (Some("ready"), Some(4))
            );
        } else {
            assert_eq!(wins, 1, "{} / {}", recalled.body, completed.body);
            assert_eq!(stored["version"], 3);
        }
    }
}

/// Stations made directly in the test's database, so this test needs only the kitchen API.
async fn route_to_station(app: &TestApp, k: &Kitchen, item: i64, name: &str) -> i64 {
    let station: i64 = sqlx::query_scalar(
        "INSERT INTO stations (restaurant_id, name)
         SELECT id, $2 FROM restaurants WHERE slug = $1 RETURNING id",
    )
    .bind(&k.slug)
    .bind(name)
    .fetch_one(&app.db)
    .await
    .unwrap();
    sqlx::query("UPDATE menu_items SET station_id = $1 WHERE id = $2")
        .bind(station)
        .bind(item)
        .execute(&app.db)
        .await
        .unwrap();
    station
}

#[tokio::test]
async fn the_kitchen_list_by_station_with_its_all_day_count() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let grill = route_to_station(&app, &k, k.menu.pizza, "grill").await;
    let cold = route_to_station(&app, &k, k.menu.salad, "cold").await;
    let both = two_line_order(&app, &k).await; // 2 pizza + 1 salad
    let pizzas = app.place_order(&k.slug, &k.menu).await; // 2 pizza
    let salad_only = app
        .confirm(
            &k.slug,
            json!({"items": [{"menu_item_id": k.menu.salad, "variant_id": k.menu.salad_regular, "quantity": 4}],
                   "raw_input": "salads"}),
        )
        .await
        .expect(201);
    assert_eq!(
        both["items"][0]["station"],
        json!({"id": grill, "name": "grill"})
    );
    // One salad already made.
    cross(&app, &k, &id(&both), &line_ids(&both)[1..], true)
        .await
        .expect(200);
    let list = |query: String| {
        let app = &app;
        let k = &k;
        async move {
            app.get(
                &format!("/api/kitchen/{}/orders/{query}", k.slug),
                Some(&k.cook.access),
            )
            .await
        }
    };
    let all = list(String::new()).await.expect(200);
    assert_eq!(all["orders"].as_array().unwrap().len(), 3);
    assert_eq!(
        all["all_day"],
        // Equal counts go by name.
        json!([
            {"menu_item_id": k.menu.pizza, "name": "Pizza", "variant_label": "Large", "quantity": 4},
            {"menu_item_id": k.menu.salad, "name": "Salad", "variant_label": "Regular", "quantity": 4},
        ])
    );
    let at_grill = list(format!("?station={grill}")).await.expect(200);
    let ids: Vec<String> = at_grill["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(ids, vec![id(&both), id(&pizzas)]);
    assert_eq!(
        at_grill["orders"][0]["items"].as_array().unwrap().len(),
        2,
        "all lines shown"
    );
    assert_eq!(
        at_grill["all_day"],
        json!([{"menu_item_id": k.menu.pizza, "name": "Pizza", "variant_label": "Large", "quantity": 4}])
    );
    let at_cold = list(format!("?station={cold}")).await.expect(200);
    assert_eq!(at_cold["orders"].as_array().unwrap().len(), 2);
    assert_eq!(at_cold["all_day"][0]["quantity"], 4);
    assert_eq!(at_cold["seq"], all["seq"]);
    let _ = salad_only;
    // Unknown, another restaurant's, or not a number: 400 on `station`.
    let elsewhere = kitchen(&app, "marios").await;
    let foreign = route_to_station(&app, &elsewhere, elsewhere.menu.pizza, "grill").await;
    for query in [
        format!("?station={}", foreign),
        "?station=999999".into(),
        "?station=grill".into(),
    ] {
        let error = list(query.clone()).await.expect_error(400);
        assert!(error["errors"]["station"].is_array(), "{query}: {error}");
    }
}

#[tokio::test]
async fn kitchen_keys_are_pruned_after_a_day_and_not_before() {
    let (app, k, order) = one_order().await;
    let path = format!("/api/kitchen/orders/{}/", id(&order));
    for key in ["old", "fresh"] {
        with_headers(
            &app,
            &k,
            Method::PATCH,
            &path,
            &[("Idempotency-Key", key)],
            Some(json!({"rush": key == "old"})),
        )
        .await
        .expect(200);
    }
    sqlx::query("UPDATE kitchen_idempotency_keys SET created_at = now() - interval '25 hours' WHERE idempotency_key = 'old'")
        .execute(&app.db)
        .await
        .unwrap();
    let retention = order_service::storage::events::KITCHEN_KEY_RETENTION;
    assert_eq!(retention.as_secs(), 24 * 3600);
    let pruned = order_service::storage::events::prune_kitchen_keys(&app.db, retention)
        .await
        .unwrap();
    assert_eq!(pruned, 1);
    let left: Vec<String> =
        sqlx::query_scalar("SELECT idempotency_key FROM kitchen_idempotency_keys")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(left, vec!["fresh".to_owned()]);
}
