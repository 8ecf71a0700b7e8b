//! Migrations that carry data over, run on a database that already has it: the kitchen floor's
//! (each order gets sensible values: no station, not done, status times from what the event
//! log knows), the relay watermark's (what was published stays published) and the kitchen
//! list's own column's (each order stays on the list or off it).

use sqlx::{Connection, PgConnection, migrate::Migrator};
use test_support::database::TestDatabase;

static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// status, rush, then status_changed_at, ready_at, completed_at, first_ready_at as HH:MI.
type OrderTimes = (
    String,
    bool,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// A new database with the migrations before `version` applied; keep the `TestDatabase`, which
/// drops it.
async fn database_before(version: i64) -> (TestDatabase, PgConnection) {
    let database = TestDatabase::new();
    let mut admin = PgConnection::connect(&format!("{}/postgres", test_support::database::SERVER))
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE \"{}\"",
        database.name
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    let mut db = PgConnection::connect(&database.url()).await.unwrap();
    let before = Migrator {
        migrations: MIGRATOR
            .migrations
            .iter()
            .filter(|m| m.version < version)
            .cloned()
            .collect::<Vec<_>>()
            .into(),
        ..Migrator::DEFAULT
    };
    before.run(&mut db).await.unwrap();
    (database, db)
}

/// A user, and its restaurant `luigis` (id `…a1`).
async fn add_owner_and_luigis(db: &mut PgConnection) {
    sqlx::raw_sql(
        "INSERT INTO users (id, email, password_hash, first_name, last_name)
             VALUES ('00000000-0000-0000-0000-000000000001', 'o@example.com', 'x', 'O', 'W');
         INSERT INTO restaurants (id, name, slug, owner_id)
             VALUES ('00000000-0000-0000-0000-0000000000a1', 'Luigi', 'luigis', '00000000-0000-0000-0000-000000000001');",
    )
    .execute(db)
    .await
    .unwrap();
}

#[tokio::test]
async fn orders_from_before_the_kitchen_floor_get_sensible_values() {
    let (_database, mut db) = database_before(20261202000001).await;
    add_owner_and_luigis(&mut db).await;
    sqlx::raw_sql(
        "INSERT INTO menu_categories (restaurant_id, name) VALUES ('00000000-0000-0000-0000-0000000000a1', 'Mains');
         INSERT INTO menu_items (restaurant_id, category_id, name)
             SELECT restaurant_id, id, 'Pizza' FROM menu_categories;
         INSERT INTO menu_variants (item_id, label, price) SELECT id, 'Large', 9.50 FROM menu_items;
         -- confirmed (no later event), ready, and completed whose events were pruned.
         INSERT INTO orders (id, restaurant_id, status, version, raw_input, language, total_price, created_at, updated_at) VALUES
             ('00000000-0000-0000-0000-00000000000c', '00000000-0000-0000-0000-0000000000a1', 'confirmed', 1, '', 'en', 9.50, '2026-11-30 12:00Z', '2026-11-30 12:00Z'),
             ('00000000-0000-0000-0000-00000000000d', '00000000-0000-0000-0000-0000000000a1', 'ready', 3, '', 'en', 9.50, '2026-11-30 12:00Z', '2026-11-30 12:09Z'),
             ('00000000-0000-0000-0000-00000000000e', '00000000-0000-0000-0000-0000000000a1', 'completed', 4, '', 'en', 9.50, '2026-11-30 11:00Z', '2026-11-30 11:30Z');
         INSERT INTO order_items (order_id, position, menu_item_id, name, variant_id, variant_label, variant_price, quantity)
             SELECT o.id, 0, i.id, 'Pizza', v.id, 'Large', 9.50, 1 FROM orders o, menu_items i, menu_variants v;
         INSERT INTO order_events (event_id, restaurant_id, seq, order_id, routing_key, payload, occurred_at, published_at) VALUES
             (gen_random_uuid(), '00000000-0000-0000-0000-0000000000a1', 1, '00000000-0000-0000-0000-00000000000d', 'orders.luigis.confirmed',
              '{\"order\": {\"status\": \"confirmed\"}}', '2026-11-30 12:00Z', now()),
             (gen_random_uuid(), '00000000-0000-0000-0000-0000000000a1', 2, '00000000-0000-0000-0000-00000000000d', 'orders.luigis.preparing',
              '{\"order\": {\"status\": \"preparing\"}}', '2026-11-30 12:03Z', now()),
             (gen_random_uuid(), '00000000-0000-0000-0000-0000000000a1', 3, '00000000-0000-0000-0000-00000000000d', 'orders.luigis.ready',
              '{\"order\": {\"status\": \"ready\"}}', '2026-11-30 12:09Z', now());",
    )
    .execute(&mut db)
    .await
    .unwrap();
    MIGRATOR.run(&mut db).await.unwrap();
    let rows: Vec<OrderTimes> = sqlx::query_as(
        "SELECT status, rush, to_char(status_changed_at AT TIME ZONE 'UTC', 'HH24:MI'),
                to_char(ready_at AT TIME ZONE 'UTC', 'HH24:MI'), to_char(completed_at AT TIME ZONE 'UTC', 'HH24:MI'),
                to_char(first_ready_at AT TIME ZONE 'UTC', 'HH24:MI')
         FROM orders ORDER BY id",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    let some = |t: &str| Some(t.to_owned());
    assert_eq!(
        rows,
        vec![
            ("confirmed".into(), false, "12:00".into(), None, None, None),
            (
                "ready".into(),
                false,
                "12:09".into(),
                some("12:09"),
                None,
                some("12:09")
            ),
            // Its events are gone: its last change is its completion; when it was ready is unknown.
            (
                "completed".into(),
                false,
                "11:30".into(),
                None,
                some("11:30"),
                None
            ),
        ]
    );
    let lines: Vec<(Option<i64>, bool)> =
        sqlx::query_as("SELECT station_id, done_at IS NOT NULL FROM order_items")
            .fetch_all(&mut db)
            .await
            .unwrap();
    assert!(lines.iter().all(|line| *line == (None, false)), "{lines:?}");
    db.close().await.unwrap();
}

#[tokio::test]
async fn what_was_published_before_the_watermark_stays_published_and_nothing_after_a_waiting_event_does()
 {
    let (_database, mut db) = database_before(20261208000004).await;
    // Restaurant a1: 1 and 2 published, 3 waiting, 4 marked by hand. a2: all published.
    // a3: no events yet.
    add_owner_and_luigis(&mut db).await;
    sqlx::raw_sql(
        "INSERT INTO restaurants (id, name, slug, owner_id) VALUES
             ('00000000-0000-0000-0000-0000000000a2', 'Mario', 'marios', '00000000-0000-0000-0000-000000000001'),
             ('00000000-0000-0000-0000-0000000000a3', 'Nino', 'ninos', '00000000-0000-0000-0000-000000000001');
         INSERT INTO restaurant_sequences (restaurant_id, event_seq) VALUES
             ('00000000-0000-0000-0000-0000000000a1', 4),
             ('00000000-0000-0000-0000-0000000000a2', 2),
             ('00000000-0000-0000-0000-0000000000a3', 0)
         ON CONFLICT (restaurant_id) DO UPDATE SET event_seq = EXCLUDED.event_seq;
         INSERT INTO order_events (event_id, restaurant_id, seq, order_id, routing_key, payload, occurred_at, published_at)
         SELECT gen_random_uuid(), r::uuid, seq, gen_random_uuid(), 'orders.x.confirmed', '{}', now(),
                CASE WHEN published THEN now() END
         FROM (VALUES ('00000000-0000-0000-0000-0000000000a1', 1, true),
                      ('00000000-0000-0000-0000-0000000000a1', 2, true),
                      ('00000000-0000-0000-0000-0000000000a1', 3, false),
                      ('00000000-0000-0000-0000-0000000000a1', 4, true),
                      ('00000000-0000-0000-0000-0000000000a2', 1, true),
                      ('00000000-0000-0000-0000-0000000000a2', 2, true)) AS e (r, seq, published);",
    )
    .execute(&mut db)
    .await
    .unwrap();
    MIGRATOR.run(&mut db).await.unwrap();

    let watermarks: Vec<(String, i64)> = sqlx::query_as(
        "SELECT r.slug, p.published_seq FROM outbox_progress p JOIN restaurants r ON r.id = p.restaurant_id
         ORDER BY r.slug",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert_eq!(watermarks, [("luigis".into(), 2), ("marios".into(), 2)]);
    let waiting: Vec<i64> =
        sqlx::query_scalar("SELECT seq FROM order_events_unpublished ORDER BY seq")
            .fetch_all(&mut db)
            .await
            .unwrap();
    assert_eq!(waiting, [3, 4], "what follows a waiting event goes again");
    db.close().await.unwrap();
}

#[tokio::test]
async fn orders_stay_on_the_kitchen_list_or_off_it_when_it_gets_its_own_column() {
    let (_database, mut db) = database_before(20261208000005).await;
    add_owner_and_luigis(&mut db).await;
    sqlx::raw_sql(
        "INSERT INTO orders (id, restaurant_id, status, version, raw_input, language, total_price,
                             created_at, updated_at, status_changed_at)
         SELECT gen_random_uuid(), '00000000-0000-0000-0000-0000000000a1', status, 1, '', 'en', 9.50,
                now(), now(), now()
         FROM unnest(ARRAY['confirmed', 'preparing', 'ready', 'completed', 'cancelled']) AS status;",
    )
    .execute(&mut db)
    .await
    .unwrap();
    MIGRATOR.run(&mut db).await.unwrap();
    let listed: Vec<(String, bool)> =
        sqlx::query_as("SELECT status, active FROM orders ORDER BY status")
            .fetch_all(&mut db)
            .await
            .unwrap();
    assert_eq!(
        listed,
        [
            ("cancelled".into(), false),
            ("completed".into(), false),
            ("confirmed".into(), true),
            ("preparing".into(), true),
            ("ready".into(), true),
        ]
    );
    // An instance still on the previous version confirms without naming the column: its
    // order is on the list.
    sqlx::raw_sql(
        "INSERT INTO orders (id, restaurant_id, raw_input, language, total_price, created_at,
                             updated_at, status_changed_at)
         VALUES ('00000000-0000-0000-0000-0000000000b1', '00000000-0000-0000-0000-0000000000a1',
                 '', 'en', 1, now(), now(), now())",
    )
    .execute(&mut db)
    .await
    .unwrap();
    let active: bool = sqlx::query_scalar(
        "SELECT active FROM orders WHERE id = '00000000-0000-0000-0000-0000000000b1'",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert!(active);
    db.close().await.unwrap();
}
