//! A kitchen write decided on the instance's copy of the order (`storage::order_cache`) must
//! answer exactly as one decided on a fresh read: for a caller who lost access, and for a copy
//! another instance made stale.

use crate::helpers::{kitchen, spawn_app};

#[tokio::test]
async fn a_cook_removed_from_the_staff_cannot_write_an_order_this_instance_holds() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    // The confirm left the order in this instance's memory.
    let order = app.place_order(&k.slug, &k.menu).await;
    let order_id = order["id"].as_str().unwrap();
    let removed = app
        .delete(
            &format!("/api/restaurants/{}/staff/{}/", k.slug, k.cook.id),
            Some(&k.owner.access),
        )
        .await;
    assert_eq!(removed.status.as_u16(), 204);

    app.move_order(&k.cook.access, order_id, "preparing")
        .await
        .expect_error(404);
    let kept = app
        .get(&format!("/api/order/{}/status/{order_id}/", k.slug), None)
        .await
        .expect(200);
    assert_eq!(kept["status"], "confirmed");
    assert_eq!(kept["version"], 1);
}

#[tokio::test]
async fn a_copy_made_stale_by_another_instance_is_read_again() {
    let first = spawn_app().await;
    let second = first.another_instance().await;
    let k = kitchen(&first, "luigis").await;
    let order = first.place_order(&k.slug, &k.menu).await;
    let order_id = order["id"].as_str().unwrap();
    // The second instance moves it on and crosses off its only line, which makes it ready;
    // the first's copy is at version 1, confirmed, nothing done.
    second
        .move_order(&k.cook.access, order_id, "preparing")
        .await
        .expect(200);
    let line = order["items"][0]["id"].as_i64().unwrap();
    second
        .patch(
            &format!("/api/kitchen/orders/{order_id}/items/"),
            Some(&k.cook.access),
            serde_json::json!({"line_ids": [line], "done": true}),
        )
        .await
        .expect(200);
    // A move the copy would refuse (confirmed → completed) is allowed from what the order is
    // now, and the answer carries everything the other instance did.
    let completed = first
        .move_order(&k.cook.access, order_id, "completed")
        .await
        .expect(200);
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["version"], 4);
    assert!(completed["items"][0]["done_at"].is_string(), "{completed}");

    // A move the copy would make (confirmed → preparing) when the order is there already:
    // refused as a fresh read refuses it, and nothing more is written.
    let order = first.place_order(&k.slug, &k.menu).await;
    let order_id = order["id"].as_str().unwrap();
    second
        .move_order(&k.cook.access, order_id, "preparing")
        .await
        .expect(200);
    let again = first
        .move_order(&k.cook.access, order_id, "preparing")
        .await
        .expect_error(400);
    assert!(
        again["detail"]
            .as_str()
            .unwrap()
            .contains("from 'preparing'"),
        "{again}"
    );
    let page = first
        .get(
            &format!("/api/kitchen/{}/events/", k.slug),
            Some(&k.cook.access),
        )
        .await
        .expect(200);
    assert_eq!(
        page["last_seq"], 6,
        "confirm, preparing, line (ready), completed; confirm, preparing"
    );
}
