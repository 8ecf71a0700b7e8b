//! The screen through outages: the notifier's link cut (the banner ages, then recovers with
//! nothing missed) and order-service unreachable (a bump waits in IndexedDB, survives a reload
//! and is applied exactly once).

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Browser, Stage, ticket};

const SOON: Duration = Duration::from_secs(10);
const BANNER: &str = "document.querySelector('[data-test=freshness]')";

async fn events_of(stage: &Stage, order_id: &str) -> Vec<Value> {
    let page = stage
        .api()
        .get(
            &format!(
                "/api/kitchen/{}/events/?after=0&limit=1000",
                stage.kitchen.slug
            ),
            Some(&stage.kitchen.cook.access),
        )
        .await
        .expect(200);
    page["events"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|event| event["order"]["id"] == json!(order_id))
        .collect()
}

#[tokio::test]
async fn a_cut_notifier_link_ages_the_banner_to_red_and_back_to_live_with_nothing_missed() {
    let Some(mut browser) = Browser::start("notifier cut").await else {
        return;
    };
    let stage = Stage::new("browser-live-cut").await;
    let page = browser.open(1366, 768).await;
    stage.kitchen_page(&page, "all").await;
    let menu = &stage.kitchen.menu;
    let before = stage.api().place_order(&stage.kitchen.slug, menu).await;
    page.until(
        "the first ticket",
        SOON,
        &format!(
            "{} !== null",
            ticket(before["id"].as_str().unwrap_or_default())
        ),
    )
    .await;

    stage.live.cut();
    page.until(
        "amber at once: the socket is gone",
        SOON,
        &format!("{BANNER}.dataset.level === 'amber'"),
    )
    .await;
    let mut missed = Vec::new();
    for _ in 0..3 {
        missed.push(stage.api().place_order(&stage.kitchen.slug, menu).await);
    }
    page.until(
        "red after 30 s without news",
        Duration::from_secs(45),
        &format!("{BANNER}.dataset.level === 'red'"),
    )
    .await;
    let text = page.text("[data-test=freshness]").await;
    assert!(text.contains("offline"), "the banner says why: {text}");
    for order in &missed {
        let id = order["id"].as_str().unwrap_or_default();
        assert_eq!(
            page.eval(&format!("{} === null", ticket(id))).await,
            json!(true),
            "nothing shown that was not received"
        );
    }

    stage.live.restore();
    page.until(
        "live again",
        Duration::from_secs(30),
        &format!("{BANNER}.dataset.level === 'live'"),
    )
    .await;
    for order in &missed {
        let id = order["id"].as_str().unwrap_or_default();
        page.until(
            "every ticket made during the cut",
            SOON,
            &format!("{} !== null", ticket(id)),
        )
        .await;
    }
    let last = missed
        .last()
        .and_then(|o| o["id"].as_str())
        .unwrap_or_default();
    let seq = events_of(&stage, last).await[0]["seq"].clone();
    page.until(
        "the banner at the newest seq",
        SOON,
        &format!("{BANNER}.dataset.seq === '{seq}'"),
    )
    .await;
    page.close().await;
}

#[tokio::test]
async fn a_bump_made_while_order_service_is_unreachable_survives_a_reload_and_applies_once() {
    let Some(mut browser) = Browser::start("offline bump").await else {
        return;
    };
    let stage = Stage::new("browser-offline").await;
    let page = browser.open(1366, 768).await;
    stage.kitchen_page(&page, "all").await;
    let order = stage
        .api()
        .place_order(&stage.kitchen.slug, &stage.kitchen.menu)
        .await;
    let id = order["id"].as_str().unwrap_or_default().to_owned();
    let card = ticket(&id);
    page.until("the ticket", SOON, &format!("{card} !== null"))
        .await;

    stage.site.cut();
    page.click(&format!("[data-order-id=\"{id}\"] [data-test=bump]"))
        .await;
    page.until("the bump shown at once, pending", SOON, &format!(
        "{card}.dataset.status === 'preparing' && {card}.dataset.pending === '1' && {BANNER}.dataset.waiting === '1'"
    )).await;
    page.until(
        "the banner amber: actions cannot go out",
        SOON,
        &format!("{BANNER}.dataset.level === 'amber'"),
    )
    .await;
    let text = page.text("[data-test=freshness]").await;
    assert!(
        text.contains("order service unreachable") && text.contains("1 action waiting"),
        "{text}"
    );
    page.screenshot("kitchen-offline").await;
    assert_eq!(
        events_of(&stage, &id).await.len(),
        1,
        "nothing reached the server"
    );

    // A reload while the service is away (the browser's error page), then with it back.
    let _ = page.client.refresh().await;
    stage.site.restore();
    page.goto(&stage.url("/kitchen/")).await;
    page.until("the bump applied after the reload", Duration::from_secs(20), &format!(
        "{card}?.dataset.status === 'preparing' && {card}.dataset.pending === '0' && {BANNER}.dataset.waiting === '0'"
    )).await;
    let events = events_of(&stage, &id).await;
    assert_eq!(
        events.len(),
        2,
        "confirmed, then exactly one move: {events:?}"
    );
    assert_eq!(events[1]["order"]["status"], "preparing");
    assert_eq!(events[1]["order"]["version"], 2);
    page.close().await;
}

#[tokio::test]
async fn a_bump_on_an_order_moved_elsewhere_meanwhile_is_shown_as_a_conflict() {
    let Some(mut browser) = Browser::start("offline conflict").await else {
        return;
    };
    let stage = Stage::new("browser-conflict").await;
    let page = browser.open(1366, 768).await;
    stage.kitchen_page(&page, "all").await;
    let order = stage
        .api()
        .place_order(&stage.kitchen.slug, &stage.kitchen.menu)
        .await;
    let id = order["id"].as_str().unwrap_or_default().to_owned();
    let card = ticket(&id);
    page.until("the ticket", SOON, &format!("{card} !== null"))
        .await;

    stage.site.cut();
    page.click(&format!("[data-order-id=\"{id}\"] [data-test=bump]"))
        .await;
    page.until("pending", SOON, &format!("{card}.dataset.pending === '1'"))
        .await;
    // Meanwhile another screen moved it on.
    let token = &stage.kitchen.owner.access;
    stage
        .api()
        .move_order(token, &id, "preparing")
        .await
        .expect(200);
    stage
        .api()
        .move_order(token, &id, "ready")
        .await
        .expect(200);
    stage.site.restore();
    page.until(
        "the conflict on the ticket",
        Duration::from_secs(20),
        &format!("{card}?.querySelector('[data-test=problem]')?.dataset.state === 'conflict'"),
    )
    .await;
    let events = events_of(&stage, &id).await;
    assert_eq!(
        events.len(),
        3,
        "the queued bump was not applied on top: {events:?}"
    );
    page.click(&format!("[data-order-id=\"{id}\"] [data-test=dismiss]"))
        .await;
    page.until("dismissed", SOON, &format!("{card}.querySelector('[data-test=problem]') === null && {card}.dataset.status === 'ready'")).await;
    page.close().await;
}

#[tokio::test]
async fn a_screen_moved_to_a_notifier_that_never_saw_its_events_catches_up_from_the_log() {
    let Some(mut browser) = Browser::start("notifier replaced").await else {
        return;
    };
    let stage = Stage::new("browser-resync").await;
    let page = browser.open(1366, 768).await;
    stage.kitchen_page(&page, "all").await;
    let menu = &stage.kitchen.menu;
    let first = stage.api().place_order(&stage.kitchen.slug, menu).await;
    let first = first["id"].as_str().unwrap_or_default().to_owned();
    page.until(
        "the first ticket",
        SOON,
        &format!("{} !== null", ticket(&first)),
    )
    .await;

    // The notifier goes away; a fresh one (no replay ring: it answers `after` with resync)
    // takes its address.
    stage.live.cut();
    let mut missed = Vec::new();
    for _ in 0..2 {
        let order = stage.api().place_order(&stage.kitchen.slug, menu).await;
        missed.push(order["id"].as_str().unwrap_or_default().to_owned());
    }
    stage
        .api()
        .move_order(&stage.kitchen.owner.access, &first, "cancelled")
        .await
        .expect(200);
    let replacement = stage.system.notifier(stage.api()).await;
    stage.live.redirect(
        format!("127.0.0.1:{}", replacement.port)
            .parse()
            .expect("addr"),
    );
    stage.live.restore();
    page.until(
        "live again",
        Duration::from_secs(30),
        &format!("{BANNER}.dataset.level === 'live'"),
    )
    .await;
    for id in &missed {
        page.until(
            "the tickets made meanwhile",
            SOON,
            &format!("{} !== null", ticket(id)),
        )
        .await;
    }
    page.until(
        "the cancel made meanwhile, as a red card",
        SOON,
        &format!(
            "document.querySelector('[data-test=cancelled][data-order-id=\"{first}\"]') !== null"
        ),
    )
    .await;
    page.close().await;
}
