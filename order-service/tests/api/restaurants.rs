use serde_json::{Value, json};

use crate::helpers::{kitchen, spawn_app, spawn_app_with};

#[tokio::test]
async fn create_restaurant_and_list_it_with_roles() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let cook = app.register("cook").await;
    let manager = app.register("manager").await;
    let created = app
        .post(
            "/api/restaurants/",
            Some(&owner.access),
            json!({"name": "Luigi's", "slug": "luigis"}),
        )
        .await
        .expect(201);
    assert_eq!(created["name"], "Luigi's");
    assert_eq!(created["slug"], "luigis");
    assert!(
        created["id"]
            .as_str()
            .unwrap()
            .parse::<uuid::Uuid>()
            .is_ok()
    );
    assert!(chrono::DateTime::parse_from_rfc3339(created["created_at"].as_str().unwrap()).is_ok());

    app.add_staff(&owner, "luigis", &cook, "kitchen").await;
    app.add_staff(&owner, "luigis", &manager, "manager").await;

    let mine = app
        .get("/api/restaurants/", Some(&owner.access))
        .await
        .expect(200);
    assert_eq!(
        mine,
        json!([{"id": created["id"], "name": "Luigi's", "slug": "luigis", "role": "owner"}])
    );
    let cooks = app
        .get("/api/restaurants/", Some(&cook.access))
        .await
        .expect(200);
    assert_eq!(cooks[0]["role"], "kitchen");
    let managers = app
        .get("/api/restaurants/", Some(&manager.access))
        .await
        .expect(200);
    assert_eq!(managers[0]["role"], "manager");
    let stranger = app.register("stranger").await;
    assert_eq!(
        app.get("/api/restaurants/", Some(&stranger.access))
            .await
            .expect(200),
        json!([])
    );
}

#[tokio::test]
async fn slugs_are_validated_and_unique() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    for bad in ["Luigis", "luigi's", "-a", "a--b", "a.b", "", "orders"] {
        let body = app
            .post(
                "/api/restaurants/",
                Some(&owner.access),
                json!({"name": "X", "slug": bad}),
            )
            .await
            .expect_error(400);
        assert!(body["errors"]["slug"].is_array(), "{bad}: {body}");
    }
    app.post(
        "/api/restaurants/",
        Some(&owner.access),
        json!({"name": "X", "slug": "a".repeat(101)}),
    )
    .await
    .expect_error(400);
    app.create_restaurant(&owner, "luigis").await;
    let other = app.register("other").await;
    app.post(
        "/api/restaurants/",
        Some(&other.access),
        json!({"name": "Y", "slug": "luigis"}),
    )
    .await
    .expect_error(409);
    app.post(
        "/api/restaurants/",
        None,
        json!({"name": "Y", "slug": "free"}),
    )
    .await
    .expect_error(401);
}

#[tokio::test]
async fn staff_management_rules() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let manager = app.register("manager").await;
    let cook = app.register("cook").await;
    let cook2 = app.register("cook2").await;
    let slug = app.create_restaurant(&owner, "luigis").await;
    let path = format!("/api/restaurants/{slug}/staff/");

    let added = app
        .post(
            &path,
            Some(&owner.access),
            json!({"email": manager.email.to_uppercase(), "role": "manager"}),
        )
        .await
        .expect(201);
    assert_eq!(
        added,
        json!({"user_id": manager.id, "email": manager.email, "role": "manager"})
    );

    // A manager may add staff too.
    app.post(
        &path,
        Some(&manager.access),
        json!({"email": cook.email, "role": "kitchen"}),
    )
    .await
    .expect(201);
    // Already staff (and the owner counts as staff).
    app.post(
        &path,
        Some(&owner.access),
        json!({"email": cook.email, "role": "kitchen"}),
    )
    .await
    .expect_error(409);
    app.post(
        &path,
        Some(&owner.access),
        json!({"email": owner.email, "role": "manager"}),
    )
    .await
    .expect_error(409);
    // Unregistered email, bad role.
    app.post(
        &path,
        Some(&owner.access),
        json!({"email": "ghost@example.com", "role": "kitchen"}),
    )
    .await
    .expect_error(404);
    app.post(
        &path,
        Some(&owner.access),
        json!({"email": cook2.email, "role": "chef"}),
    )
    .await
    .expect_error(400);
    // Kitchen staff may not manage staff; outsiders neither.
    app.post(
        &path,
        Some(&cook.access),
        json!({"email": cook2.email, "role": "kitchen"}),
    )
    .await
    .expect_error(403);
    app.post(
        &path,
        Some(&cook2.access),
        json!({"email": cook2.email, "role": "kitchen"}),
    )
    .await
    .expect_error(403);
    // Unknown slug before role: 404; no token first: 401.
    app.post(
        "/api/restaurants/nowhere/staff/",
        Some(&cook2.access),
        json!({"email": cook2.email, "role": "kitchen"}),
    )
    .await
    .expect_error(404);
    app.post(
        "/api/restaurants/nowhere/staff/",
        None,
        json!({"email": cook2.email, "role": "kitchen"}),
    )
    .await
    .expect_error(401);

    // Removal.
    app.delete(&format!("{path}{}/", cook.id), Some(&cook.access))
        .await
        .expect_error(403);
    let reply = app
        .delete(&format!("{path}{}/", cook.id), Some(&manager.access))
        .await;
    assert_eq!(reply.status.as_u16(), 204);
    app.delete(&format!("{path}{}/", cook.id), Some(&owner.access))
        .await
        .expect_error(404);
    let cooks = app
        .get("/api/restaurants/", Some(&cook.access))
        .await
        .expect(200);
    assert_eq!(cooks, json!([]));
    // The removed cook lost access to the kitchen.
    app.get(&format!("/api/kitchen/{slug}/orders/"), Some(&cook.access))
        .await
        .expect_error(403);
}

/// The staff outbox rows: (routing key, payload, published).
async fn staff_messages(db: &sqlx::PgPool) -> Vec<(String, Value, bool)> {
    sqlx::query_as(
        "SELECT routing_key, payload, published_at IS NOT NULL FROM staff_outbox ORDER BY position",
    )
    .fetch_all(db)
    .await
    .unwrap()
}

#[tokio::test]
async fn removing_staff_writes_a_staff_removed_message_and_no_event() {
    // No broker: what the removal committed stays in the outbox to be looked at.
    let app =
        spawn_app_with(|config| config.amqp_url = "amqp://guest:guest@127.0.0.1:1/%2f".into())
            .await;
    let k = kitchen(&app, "luigis").await;
    app.place_order(&k.slug, &k.menu).await;
    let path = format!("/api/restaurants/{}/staff/{}/", k.slug, k.cook.id);
    let before = app
        .get(
            &format!("/api/kitchen/{}/events/", k.slug),
            Some(&k.owner.access),
        )
        .await
        .expect(200);

    let reply = app.delete(&path, Some(&k.owner.access)).await;
    assert_eq!(reply.status.as_u16(), 204);
    let messages = staff_messages(&app.db).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let (routing_key, payload, published) = &messages[0];
    assert_eq!(routing_key, "staff.luigis.removed");
    assert!(!published, "the broker is unreachable");
    assert_eq!(payload["event"], "staff.removed");
    assert_eq!(payload["restaurant"], "luigis");
    assert_eq!(payload["user_id"], k.cook.id.to_string());
    assert!(
        payload["event_id"]
            .as_str()
            .unwrap()
            .parse::<uuid::Uuid>()
            .is_ok()
    );
    assert!(chrono::DateTime::parse_from_rfc3339(payload["occurred_at"].as_str().unwrap()).is_ok());
    assert!(payload.get("seq").is_none(), "{payload}");

    // The restaurant's sequence and event log did not move.
    let after = app
        .get(
            &format!("/api/kitchen/{}/events/", k.slug),
            Some(&k.owner.access),
        )
        .await
        .expect(200);
    assert_eq!(after, before);
    assert_eq!(after["last_seq"], 1);

    // A removal that removes nothing (404) writes nothing.
    app.delete(&path, Some(&k.owner.access))
        .await
        .expect_error(404);
    assert_eq!(staff_messages(&app.db).await.len(), 1);
}
