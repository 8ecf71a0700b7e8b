use futures_util::future::join_all;
use serde_json::json;

use crate::helpers::{kitchen, spawn_app};

fn id(order: &serde_json::Value) -> String {
    order["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn kitchen_staff_moves_an_order_to_preparing() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let order = app.place_order(&k.slug, &k.menu).await;
    let moved = app
        .move_order(&k.cook.access, &id(&order), "preparing")
        .await
        .expect(200);
    assert_eq!(moved["status"], "preparing");
    assert_eq!(moved["version"], 2);
    assert_eq!(moved["items"], order["items"]);
    assert_eq!(moved["created_at"], order["created_at"]);
    assert_ne!(moved["updated_at"], order["updated_at"]);
}

#[tokio::test]
async fn the_full_walk_counts_versions_one_to_four() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let order = app.place_order(&k.slug, &k.menu).await;
    assert_eq!(order["version"], 1);
    for (status, version) in [("preparing", 2), ("ready", 3), ("completed", 4)] {
        let moved = app
            .move_order(&k.owner.access, &id(&order), status)
            .await
            .expect(200);
        assert_eq!(moved["status"], status);
        assert_eq!(moved["version"], version);
    }
    // Final: every further move is refused and names no allowed move.
    for status in ["confirmed", "preparing", "ready", "cancelled", "completed"] {
        let body = app
            .move_order(&k.owner.access, &id(&order), status)
            .await
            .expect_error(400);
        assert!(body["detail"].as_str().unwrap().contains("final"), "{body}");
    }
    let stored = app
        .get(
            &format!("/api/order/{}/status/{}/", k.slug, id(&order)),
            None,
        )
        .await
        .expect(200);
    assert_eq!(stored["version"], 4);
}

#[tokio::test]
async fn invalid_moves_are_400_and_name_the_allowed_ones() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let order = app.place_order(&k.slug, &k.menu).await;
    let body = app
        .move_order(&k.cook.access, &id(&order), "completed")
        .await
        .expect_error(400);
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("preparing") && detail.contains("cancelled"),
        "{detail}"
    );
    app.move_order(&k.cook.access, &id(&order), "ready")
        .await
        .expect_error(400);
    app.move_order(&k.cook.access, &id(&order), "confirmed")
        .await
        .expect_error(400);
    app.move_order(&k.cook.access, &id(&order), "eaten")
        .await
        .expect_error(400);
    app.patch(
        &format!("/api/kitchen/orders/{}/", id(&order)),
        Some(&k.cook.access),
        json!({"status": 3}),
    )
    .await
    .expect_error(400);
    app.patch(
        &format!("/api/kitchen/orders/{}/", id(&order)),
        Some(&k.cook.access),
        json!({}),
    )
    .await
    .expect_error(400);
    // Nothing changed, no event was written.
    let stored = app
        .get(
            &format!("/api/order/{}/status/{}/", k.slug, id(&order)),
            None,
        )
        .await
        .expect(200);
    assert_eq!(stored["status"], "confirmed");
    assert_eq!(stored["version"], 1);
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM order_events")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(events, 1);
}

#[tokio::test]
async fn cancel_from_each_cancellable_state() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let path = ["preparing", "ready"];
    for steps in 0..=path.len() {
        let order = app.place_order(&k.slug, &k.menu).await;
        for status in &path[..steps] {
            app.move_order(&k.cook.access, &id(&order), status)
                .await
                .expect(200);
        }
        let cancelled = app
            .move_order(&k.cook.access, &id(&order), "cancelled")
            .await
            .expect(200);
        assert_eq!(cancelled["status"], "cancelled");
        assert_eq!(cancelled["version"], steps as i64 + 2);
        app.move_order(&k.cook.access, &id(&order), "preparing")
            .await
            .expect_error(400);
    }
}

#[tokio::test]
async fn outsiders_and_anonymous_callers_cannot_move_orders() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let order = app.place_order(&k.slug, &k.menu).await;
    let outsider = app.register("outsider").await;
    let other_owner = app.register("other").await;
    app.create_restaurant(&other_owner, "marios").await;

    app.patch(
        &format!("/api/kitchen/orders/{}/", id(&order)),
        None,
        json!({"status": "preparing"}),
    )
    .await
    .expect_error(401);
    // Not staff: the order does not exist for them, whatever the body says.
    let not_staff = app
        .move_order(&outsider.access, &id(&order), "preparing")
        .await
        .expect_error(404);
    let unknown = app
        .move_order(
            &outsider.access,
            &uuid::Uuid::new_v4().to_string(),
            "preparing",
        )
        .await
        .expect_error(404);
    assert_eq!(
        not_staff, unknown,
        "an outsider cannot tell an existing order from a missing one"
    );
    app.move_order(&other_owner.access, &id(&order), "preparing")
        .await
        .expect_error(404);
    app.move_order(&outsider.access, "not-a-uuid", "preparing")
        .await
        .expect_error(404);

    let stored = app
        .get(
            &format!("/api/order/{}/status/{}/", k.slug, id(&order)),
            None,
        )
        .await
        .expect(200);
    assert_eq!(stored["status"], "confirmed");
}

#[tokio::test]
async fn if_match_refuses_stale_versions() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let order = app.place_order(&k.slug, &k.menu).await;
    let path = app.url(&format!("/api/kitchen/orders/{}/", id(&order)));
    let patch = |if_match: &str, status: &str| {
        app.send(
            app.client
                .patch(&path)
                .bearer_auth(&k.cook.access)
                .header("If-Match", if_match)
                .json(&json!({"status": status})),
        )
    };
    patch("2", "preparing").await.expect_error(409);
    patch("1", "preparing").await.expect(200);
    // Stale version is checked before the move: 409 even though the move is also invalid.
    patch("1", "completed").await.expect_error(409);
    patch("\"2\"", "ready").await.expect(200);
    patch("abc", "completed").await.expect_error(400);
    let stored = app
        .get(
            &format!("/api/order/{}/status/{}/", k.slug, id(&order)),
            None,
        )
        .await
        .expect(200);
    assert_eq!(stored["status"], "ready");
    assert_eq!(stored["version"], 3);
}

#[tokio::test]
async fn fifty_concurrent_patches_from_one_state_have_exactly_one_winner() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let order = app.place_order(&k.slug, &k.menu).await;
    let order_id = id(&order);
    let replies =
        join_all((0..50).map(|_| app.move_order(&k.cook.access, &order_id, "preparing"))).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 400, 409].contains(s)),
        "{statuses:?}"
    );

    // Different moves from one version (If-Match pins the state each request starts from).
    let url = app.url(&format!("/api/kitchen/orders/{order_id}/"));
    let replies = join_all((0..50).map(|i| {
        let status = if i % 2 == 0 { "ready" } else { "cancelled" };
        app.send(
            app.client
                .patch(&url)
                .bearer_auth(&k.cook.access)
                .header("If-Match", "2")
                .json(&json!({"status": status})),
        )
    }))
    .await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 409].contains(s)),
        "{statuses:?}"
    );

    let stored = app
        .get(&format!("/api/order/{}/status/{order_id}/", k.slug), None)
        .await
        .expect(200);
    assert_eq!(stored["version"], 3);
    let events: Vec<i64> = sqlx::query_scalar("SELECT seq FROM order_events ORDER BY seq")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(events, vec![1, 2, 3]);
}

#[tokio::test]
async fn kitchen_list_shows_active_orders_oldest_first_with_seq() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let first = app.place_order(&k.slug, &k.menu).await;
    let second = app.place_order(&k.slug, &k.menu).await;
    let third = app.place_order(&k.slug, &k.menu).await;
    let fourth = app.place_order(&k.slug, &k.menu).await;
    app.move_order(&k.cook.access, &id(&second), "preparing")
        .await
        .expect(200);
    app.move_order(&k.cook.access, &id(&third), "cancelled")
        .await
        .expect(200);
    for status in ["preparing", "ready", "completed"] {
        app.move_order(&k.cook.access, &id(&fourth), status)
            .await
            .expect(200);
    }
    // Another restaurant's orders never show.
    let other = app.register("other").await;
    let other_slug = app.create_restaurant(&other, "marios").await;
    let other_menu = app.seed_menu(&other, &other_slug).await;
    app.place_order(&other_slug, &other_menu).await;

    let list = app.kitchen_list(&k.slug, &k.cook.access).await;
    assert_eq!(list["seq"], 9);
    let ids: Vec<String> = list["orders"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(ids, vec![id(&first), id(&second)]);
    assert_eq!(list["orders"][1]["status"], "preparing");
    assert_eq!(list["orders"][0]["items"][0]["name"], "Pizza");

    // The owner and managers see it too; the other restaurant is at its own seq.
    app.get(
        &format!("/api/kitchen/{}/orders/", k.slug),
        Some(&k.owner.access),
    )
    .await
    .expect(200);
    let other_list = app
        .get(
            &format!("/api/kitchen/{other_slug}/orders/"),
            Some(&other.access),
        )
        .await
        .expect(200);
    assert_eq!(other_list["seq"], 1);
}

#[tokio::test]
async fn a_completed_order_left_active_by_an_older_instance_is_not_listed() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let order = app.place_order(&k.slug, &k.menu).await;
    for status in ["preparing", "ready", "completed"] {
        app.move_order(&k.cook.access, &id(&order), status)
            .await
            .expect(200);
    }
    // What an instance from before migration 20261208000005 leaves behind: it never clears
    // the column.
    sqlx::query("UPDATE orders SET active = true WHERE id = $1::uuid")
        .bind(id(&order))
        .execute(&app.db)
        .await
        .unwrap();
    let list = app.kitchen_list(&k.slug, &k.cook.access).await;
    assert_eq!(list["orders"], json!([]));
}

#[tokio::test]
async fn kitchen_list_access_is_401_then_404_then_403() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let outsider = app.register("outsider").await;
    app.get(&format!("/api/kitchen/{}/orders/", k.slug), None)
        .await
        .expect_error(401);
    app.get("/api/kitchen/nowhere/orders/", None)
        .await
        .expect_error(401);
    app.get("/api/kitchen/nowhere/orders/", Some(&outsider.access))
        .await
        .expect_error(404);
    app.get(
        &format!("/api/kitchen/{}/orders/", k.slug),
        Some(&outsider.access),
    )
    .await
    .expect_error(403);
    let empty = app.register("new-owner").await;
    let slug = app.create_restaurant(&empty, "empty").await;
    let list = app
        .get(&format!("/api/kitchen/{slug}/orders/"), Some(&empty.access))
        .await
        .expect(200);
    assert_eq!(list, json!({"seq": 0, "orders": [], "all_day": []}));
}
