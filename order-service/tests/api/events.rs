use std::collections::HashSet;

use futures_util::future::join_all;
use serde_json::Value;

use crate::helpers::{ApiClient, kitchen, spawn_app, spawn_app_with};

#[tokio::test]
async fn every_change_writes_an_event_with_the_next_seq() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let order = app.place_order(&k.slug, &k.menu).await;
    let order_id = order["id"].as_str().unwrap();
    app.move_order(&k.cook.access, order_id, "preparing")
        .await
        .expect(200);
    app.move_order(&k.cook.access, order_id, "ready")
        .await
        .expect(200);

    let page = app
        .get(
            &format!("/api/kitchen/{}/events/", k.slug),
            Some(&k.cook.access),
        )
        .await
        .expect(200);
    assert_eq!(page["last_seq"], 3);
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    let first = &events[0];
    assert_eq!(first["event"], "order.confirmed");
    assert_eq!(first["seq"], 1);
    assert_eq!(first["restaurant"], "luigis");
    assert_eq!(first["order"], order);
    assert!(
        first["event_id"]
            .as_str()
            .unwrap()
            .parse::<uuid::Uuid>()
            .is_ok()
    );
    assert!(chrono::DateTime::parse_from_rfc3339(first["occurred_at"].as_str().unwrap()).is_ok());
    assert_eq!(events[1]["event"], "order.status_changed");
    assert_eq!(events[1]["order"]["status"], "preparing");
    assert_eq!(events[1]["order"]["version"], 2);
    assert_eq!(events[2]["seq"], 3);
    assert_eq!(events[2]["order"]["status"], "ready");

    // The outbox rows carry the routing key.
    let keys: Vec<String> = sqlx::query_scalar("SELECT routing_key FROM order_events ORDER BY seq")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(
        keys,
        [
            "orders.luigis.confirmed",
            "orders.luigis.preparing",
            "orders.luigis.ready"
        ]
    );
}

#[tokio::test]
async fn events_page_with_after_and_limit() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    for _ in 0..5 {
        app.place_order(&k.slug, &k.menu).await;
    }
    let path = |query: &str| format!("/api/kitchen/{}/events/{query}", k.slug);
    let token = Some(k.cook.access.as_str());
    let page = app.get(&path("?after=2&limit=2"), token).await.expect(200);
    let seqs: Vec<i64> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [3, 4]);
    assert_eq!(
        page["last_seq"], 5,
        "a page ending below last_seq has more after it"
    );
    let rest = app.get(&path("?after=4"), token).await.expect(200);
    assert_eq!(rest["events"].as_array().unwrap().len(), 1);
    let none = app.get(&path("?after=5"), token).await.expect(200);
    assert_eq!(none["events"], serde_json::json!([]));

    for bad in [
        "?limit=0",
        "?limit=1001",
        "?after=-1",
        "?after=abc",
        "?limit=x",
    ] {
        app.get(&path(bad), token).await.expect_error(400);
    }
    app.get(&path("?limit=1000"), token).await.expect(200);
    // Access rules of the kitchen routes.
    let outsider = app.register("outsider").await;
    app.get(&path(""), None).await.expect_error(401);
    app.get(&path(""), Some(&outsider.access))
        .await
        .expect_error(403);
    app.get("/api/kitchen/nowhere/events/", Some(&outsider.access))
        .await
        .expect_error(404);
}

#[tokio::test]
async fn events_older_than_what_is_kept_are_410() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    for _ in 0..3 {
        app.place_order(&k.slug, &k.menu).await;
    }
    // Age the first two events past the retention period, and have them published (the relay
    // may have gone further already).
    age_events(&app.db, &k.slug, &[1, 2]).await;
    sqlx::query(
        "INSERT INTO outbox_progress (restaurant_id, published_seq)
         SELECT id, 2 FROM restaurants WHERE slug = $1
         ON CONFLICT (restaurant_id) DO UPDATE
         SET published_seq = GREATEST(outbox_progress.published_seq, 2)",
    )
    .bind(&k.slug)
    .execute(&app.db)
    .await
    .unwrap();
    let pruned = order_service::storage::events::prune(&app.db, app.config.event_retention)
        .await
        .unwrap();
    assert_eq!(pruned, 2);
    let path = |after: i64| format!("/api/kitchen/{}/events/?after={after}", k.slug);
    let token = Some(k.cook.access.as_str());
    app.get(&path(0), token).await.expect_error(410);
    app.get(&path(1), token).await.expect_error(410);
    let page = app.get(&path(2), token).await.expect(200);
    assert_eq!(page["events"][0]["seq"], 3);
}

/// Ages the events of `slug` with these `seqs` past any retention.
async fn age_events(db: &sqlx::PgPool, slug: &str, seqs: &[i64]) {
    sqlx::query(
        "UPDATE order_events SET occurred_at = now() - interval '30 days'
         WHERE seq = ANY($2) AND restaurant_id = (SELECT id FROM restaurants WHERE slug = $1)",
    )
    .bind(slug)
    .bind(seqs)
    .execute(db)
    .await
    .unwrap();
}

/// Records the events of `slug` up to `seq` as published, and none after (as the relay would).
async fn published_through(db: &sqlx::PgPool, slug: &str, seq: i64) {
    sqlx::query(
        "INSERT INTO outbox_progress (restaurant_id, published_seq)
         SELECT id, $2 FROM restaurants WHERE slug = $1
         ON CONFLICT (restaurant_id) DO UPDATE SET published_seq = EXCLUDED.published_seq",
    )
    .bind(slug)
    .bind(seq)
    .execute(db)
    .await
    .unwrap();
}

async fn kept_seqs(db: &sqlx::PgPool, slug: &str) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT seq FROM order_events
         WHERE restaurant_id = (SELECT id FROM restaurants WHERE slug = $1) ORDER BY seq",
    )
    .bind(slug)
    .fetch_all(db)
    .await
    .unwrap()
}

#[tokio::test]
async fn pruning_stops_at_each_restaurants_watermark() {
    // No broker: the relay publishes nothing, so the test alone decides what is published.
    let app =
        spawn_app_with(|config| config.amqp_url = "amqp://guest:guest@127.0.0.1:1/%2f".into())
            .await;
    let retention = app.config.event_retention;
    let prune = || order_service::storage::events::prune(&app.db, retention);
    let k = kitchen(&app, "luigis").await;
    let other = app.register("other").await;
    let marios = app.create_restaurant(&other, "marios").await;
    let marios_menu = app.seed_menu(&other, &marios).await;
    for _ in 0..3 {
        app.place_order(&k.slug, &k.menu).await;
        app.place_order(&marios, &marios_menu).await;
    }
    // All long past retention. At luigis nothing went out yet: seq 1 waits for the broker.
    age_events(&app.db, &k.slug, &[1, 2, 3]).await;
    published_through(&app.db, &k.slug, 0).await;
    // At marios everything is published: luigis' waiting event must not hold it up.
    age_events(&app.db, &marios, &[1, 2, 3]).await;
    published_through(&app.db, &marios, 3).await;

    assert_eq!(prune().await.unwrap(), 3);
    assert_eq!(
        kept_seqs(&app.db, &k.slug).await,
        [1, 2, 3],
        "nothing from a waiting event on goes"
    );
    assert_eq!(kept_seqs(&app.db, &marios).await, Vec::<i64>::new());
    // Reading past the waiting event is still a full page, not a 410.
    let page = app
        .get(
            &format!("/api/kitchen/{}/events/?after=1", k.slug),
            Some(&k.cook.access),
        )
        .await
        .expect(200);
    assert_eq!(page["events"].as_array().unwrap().len(), 2);

    // Once the first two are out, they go, and the third, still waiting, stays.
    published_through(&app.db, &k.slug, 2).await;
    assert_eq!(prune().await.unwrap(), 2);
    assert_eq!(kept_seqs(&app.db, &k.slug).await, [3]);
    published_through(&app.db, &k.slug, 3).await;
    assert_eq!(prune().await.unwrap(), 1);
    assert_eq!(kept_seqs(&app.db, &k.slug).await, Vec::<i64>::new());
}

#[tokio::test]
async fn unpublished_events_are_never_pruned() {
    // No broker: nothing gets published.
    let app =
        spawn_app_with(|config| config.amqp_url = "amqp://guest:guest@127.0.0.1:1/%2f".into())
            .await;
    let k = kitchen(&app, "luigis").await;
    app.place_order(&k.slug, &k.menu).await;
    sqlx::query("UPDATE order_events SET occurred_at = now() - interval '30 days'")
        .execute(&app.db)
        .await
        .unwrap();
    let pruned = order_service::storage::events::prune(&app.db, app.config.event_retention)
        .await
        .unwrap();
    assert_eq!(pruned, 0);
}

#[tokio::test]
async fn seq_under_concurrent_changes_is_exactly_one_to_n() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let other = app.register("other").await;
    let other_slug = app.create_restaurant(&other, "marios").await;
    let other_menu = app.seed_menu(&other, &other_slug).await;
    // 40 confirms at each of two restaurants, all at once.
    let replies = join_all((0..80).map(|i| {
        if i % 2 == 0 {
            app.confirm(&k.slug, ApiClient::pizza_order(&k.menu))
        } else {
            app.confirm(&other_slug, ApiClient::pizza_order(&other_menu))
        }
    }))
    .await;
    for reply in replies {
        reply.expect(201);
    }
    for (slug, token) in [(&k.slug, &k.cook.access), (&other_slug, &other.access)] {
        let page = app
            .get(
                &format!("/api/kitchen/{slug}/events/?limit=1000"),
                Some(token),
            )
            .await
            .expect(200);
        let events = page["events"].as_array().unwrap();
        let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, (1..=40).collect::<Vec<i64>>());
        assert_eq!(page["last_seq"], 40);
        let orders: HashSet<&str> = events
            .iter()
            .map(|e| e["order"]["id"].as_str().unwrap())
            .collect();
        assert_eq!(orders.len(), 40);
        let ids: HashSet<&Value> = events.iter().map(|e| &e["event_id"]).collect();
        assert_eq!(ids.len(), 40);
    }
}
