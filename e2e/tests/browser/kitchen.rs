//! The kitchen display: tickets, cross-offs, bumps, undo, recall, cancel cards, views, keys.

use std::time::Duration;

use serde_json::json;

use crate::harness::{Browser, Stage, ticket};

const TV: (u32, u32) = (1920, 1080);
const TABLET: (u32, u32) = (1366, 768);
const SOON: Duration = Duration::from_secs(10);

async fn order_status(stage: &Stage, order_id: &str) -> (String, i64) {
    let order = stage
        .api()
        .get(
            &format!("/api/order/{}/status/{order_id}/", stage.kitchen.slug),
            None,
        )
        .await
        .expect(200);
    (
        order["status"].as_str().unwrap_or_default().to_owned(),
        order["version"].as_i64().unwrap_or_default(),
    )
}

/// An order of a pizza and a salad at table 12.
async fn two_line_order(stage: &Stage) -> String {
    let menu = &stage.kitchen.menu;
    let order = stage
        .api()
        .confirm(
            &stage.kitchen.slug,
            json!({"items": [
                {"menu_item_id": menu.pizza, "variant_id": menu.large, "quantity": 2,
                 "modifier_ids": [menu.cheese], "special_requests": "no basil, allergy"},
                {"menu_item_id": menu.salad, "variant_id": menu.salad_regular, "quantity": 1}],
              "raw_input": "pizza and salad", "table_identifier": "12"}),
        )
        .await
        .expect(201);
    order["id"].as_str().expect("an id").to_owned()
}

async fn wait_status(stage: &Stage, order_id: &str, status: &str) {
    test_support::wait_until(&format!("the order to be {status}"), SOON, || async {
        order_status(stage, order_id).await.0 == status
    })
    .await;
}

#[tokio::test]
async fn a_cook_crosses_off_lines_bumps_to_completed_undoes_and_recalls() {
    let Some(mut browser) = Browser::start("cook flow").await else {
        return;
    };
    let stage = Stage::new("browser-cook").await;
    let page = browser.open(TABLET.0, TABLET.1).await;
    stage.kitchen_page(&page, "all").await;
    let id = two_line_order(&stage).await;
    let card = ticket(&id);
    page.until("the ticket", SOON, &format!("{card} !== null"))
        .await;
    let shown = page.eval(&format!("{card}.innerText")).await;
    let shown = shown.as_str().unwrap_or_default();
    assert!(shown.contains("Table 12"), "{shown}");
    assert!(
        shown.contains("2×") && shown.contains("Pizza") && shown.contains("Extra Cheese"),
        "{shown}"
    );
    assert!(
        shown.contains("no basil, allergy"),
        "special requests are shown: {shown}"
    );

    // Cross off the pizza: the server moves the order to preparing.
    page.click(&format!(
        "[data-order-id=\"{id}\"] [data-test=line]:nth-child(1) button"
    ))
    .await;
    page.until("the line crossed off", SOON, &format!(
        "{card}.querySelector('[data-test=line]').dataset.done === 'true' && {card}.dataset.pending === '0'"
    )).await;
    wait_status(&stage, &id, "preparing").await;
    // ... and again to restore it.
    page.click(&format!(
        "[data-order-id=\"{id}\"] [data-test=line]:nth-child(1) button"
    ))
    .await;
    page.until("the line restored", SOON, &format!(
        "{card}.querySelector('[data-test=line]').dataset.done === 'false' && {card}.dataset.pending === '0'"
    )).await;
    let (_, version) = order_status(&stage, &id).await;
    assert_eq!(version, 3, "confirm, cross-off, restore");

    // Bump to ready, undo (a recall back to preparing), bump again, then complete.
    page.click(&format!("[data-order-id=\"{id}\"] [data-test=bump]"))
        .await;
    wait_status(&stage, &id, "ready").await;
    page.until(
        "the undo",
        SOON,
        "!document.querySelector('[data-test=undo]').hidden",
    )
    .await;
    page.click("[data-test=undo]").await;
    wait_status(&stage, &id, "preparing").await;
    page.until(
        "the ticket back in preparing",
        SOON,
        &format!("{card}.dataset.status === 'preparing'"),
    )
    .await;
    page.click(&format!("[data-order-id=\"{id}\"] [data-test=bump]"))
        .await;
    wait_status(&stage, &id, "ready").await;
    page.until(
        "the ticket ready",
        SOON,
        &format!("{card}?.dataset.status === 'ready' && {card}.dataset.pending === '0'"),
    )
    .await;
    page.click(&format!("[data-order-id=\"{id}\"] [data-test=bump]"))
        .await;
    wait_status(&stage, &id, "completed").await;
    page.until("the ticket gone", SOON, &format!("{card} === null"))
        .await;

    // Recall it from the drawer of recently completed tickets.
    page.click("[data-test=open-recent]").await;
    page.click(&format!(
        "[data-test=recent-order][data-order-id=\"{id}\"] [data-test=recall]"
    ))
    .await;
    wait_status(&stage, &id, "ready").await;
    page.until(
        "the recalled ticket",
        SOON,
        &format!("{card}?.dataset.status === 'ready'"),
    )
    .await;
    let recalled = page.eval(&format!("{card}.innerText")).await;
    assert!(recalled.as_str().unwrap_or_default().contains("recalled"));

    // The session and the screen's choice survive a reload; logging out forgets both.
    page.client.refresh().await.expect("reload");
    page.until(
        "the board after a reload",
        SOON,
        &format!("{card}?.dataset.status === 'ready'"),
    )
    .await;
    page.click("[data-test=open-setup]").await;
    page.click("[data-test=logout]").await;
    page.until(
        "the login form",
        SOON,
        "!document.getElementById('login').hidden",
    )
    .await;
    let kept = page
        .eval("[localStorage.getItem('kds.tokens'), localStorage.getItem('kds.screen')]")
        .await;
    assert_eq!(kept, json!([null, null]));
    page.client.refresh().await.expect("reload");
    page.until(
        "still logged out after a reload",
        SOON,
        "!document.getElementById('login').hidden",
    )
    .await;
    page.close().await;
}

#[tokio::test]
async fn keys_select_bump_and_undo_like_a_bump_bar() {
    let Some(mut browser) = Browser::start("bump bar").await else {
        return;
    };
    let stage = Stage::new("browser-keys").await;
    let page = browser.open(TABLET.0, TABLET.1).await;
    stage.kitchen_page(&page, "all").await;
    let first = two_line_order(&stage).await;
    let second = two_line_order(&stage).await;
    page.until(
        "both tickets",
        SOON,
        &format!(
            "{} !== null && {} !== null",
            ticket(&first),
            ticket(&second)
        ),
    )
    .await;
    page.keys("2").await;
    page.until(
        "the second selected",
        SOON,
        &format!("{}.classList.contains('selected')", ticket(&second)),
    )
    .await;
    page.keys("\u{E007}").await; // Enter
    wait_status(&stage, &second, "preparing").await;
    assert_eq!(
        order_status(&stage, &first).await.0,
        "confirmed",
        "only the selected ticket moved"
    );
    page.until(
        "the ticket settled",
        SOON,
        &format!("{}.dataset.pending === '0'", ticket(&second)),
    )
    .await;
    page.keys("u").await;
    wait_status(&stage, &second, "confirmed").await;
    page.close().await;
}

#[tokio::test]
async fn two_kitchen_pages_stay_in_step() {
    let Some(mut browser) = Browser::start("two pages").await else {
        return;
    };
    let stage = Stage::new("browser-two").await;
    let pass = browser.open(TABLET.0, TABLET.1).await;
    let line = browser.open(TABLET.0, TABLET.1).await;
    stage.kitchen_page(&pass, "expo").await;
    stage.kitchen_page(&line, "all").await;
    let id = two_line_order(&stage).await;
    let card = ticket(&id);
    for page in [&pass, &line] {
        page.until("the ticket on both", SOON, &format!("{card} !== null"))
            .await;
    }
    line.click(&format!(
        "[data-order-id=\"{id}\"] [data-test=line]:nth-child(2) button"
    ))
    .await;
    pass.until(
        "the cross-off on the other page",
        SOON,
        &format!("{card}.querySelectorAll('[data-test=line]')[1].dataset.done === 'true'"),
    )
    .await;
    pass.click(&format!("[data-order-id=\"{id}\"] [data-test=rush]"))
        .await;
    line.until(
        "the rush on the other page",
        SOON,
        &format!("{card}.classList.contains('rush')"),
    )
    .await;
    let seq = line
        .eval("document.querySelector('[data-test=freshness]').dataset.seq")
        .await;
    pass.until(
        "the pass at the same seq",
        SOON,
        &format!("document.querySelector('[data-test=freshness]').dataset.seq === {seq}"),
    )
    .await;
    pass.close().await;
    line.close().await;
}

#[tokio::test]
async fn a_cancelled_order_is_a_red_card_until_acknowledged() {
    let Some(mut browser) = Browser::start("cancel card").await else {
        return;
    };
    let stage = Stage::new("browser-cancel").await;
    let page = browser.open(TABLET.0, TABLET.1).await;
    stage.kitchen_page(&page, "all").await;
    let id = two_line_order(&stage).await;
    page.until("the ticket", SOON, &format!("{} !== null", ticket(&id)))
        .await;
    stage
        .api()
        .move_order(&stage.kitchen.owner.access, &id, "cancelled")
        .await
        .expect(200);
    let card = format!("document.querySelector('[data-test=cancelled][data-order-id=\"{id}\"]')");
    page.until(
        "the red card",
        SOON,
        &format!("{card} !== null && {} === null", ticket(&id)),
    )
    .await;
    assert!(
        page.eval(&format!("{card}.innerText"))
            .await
            .as_str()
            .unwrap_or_default()
            .contains("CANCELLED")
    );
    // It stays through a reload: the screen keeps it until someone says they saw it.
    page.client.refresh().await.expect("reload");
    page.until(
        "the red card after a reload",
        SOON,
        &format!("{card} !== null"),
    )
    .await;
    page.click(&format!("{} [data-test=ack]", "[data-test=cancelled]"))
        .await;
    page.until("the card acknowledged", SOON, &format!("{card} === null"))
        .await;
    page.close().await;
}

#[tokio::test]
async fn a_station_screen_shows_its_own_lines_and_greys_the_others() {
    let Some(mut browser) = Browser::start("station view").await else {
        return;
    };
    let stage = Stage::new("browser-station").await;
    let owner = &stage.kitchen.owner.access;
    let slug = &stage.kitchen.slug;
    let grill = stage
        .api()
        .post(
            &format!("/api/restaurants/{slug}/stations/"),
            Some(owner),
            json!({"name": "grill"}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .expect("station id");
    stage
        .api()
        .patch(
            &format!(
                "/api/restaurants/{slug}/menu/items/{}/",
                stage.kitchen.menu.pizza
            ),
            Some(owner),
            json!({"station_id": grill}),
        )
        .await
        .expect(200);
    let tv = browser.open(TV.0, TV.1).await;
    stage.kitchen_page(&tv, "all").await;
    let station = browser.open(TABLET.0, TABLET.1).await;
    stage.kitchen_page(&station, &grill.to_string()).await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(two_line_order(&stage).await);
    }
    let card = ticket(&ids[0]);
    station
        .until(
            "the tickets",
            SOON,
            &format!("{} !== null", ticket(&ids[3])),
        )
        .await;
    let greyed = station
        .eval(&format!("[...{card}.querySelectorAll('[data-test=line]')].map(l => l.classList.contains('elsewhere'))"))
        .await;
    assert_eq!(greyed, json!([false, true]), "the salad is not the grill's");
    let all_day = station.text("[data-test=allday]").await;
    assert!(
        all_day.contains("Pizza") && all_day.contains('8') && !all_day.contains("Salad"),
        "{all_day}"
    );
    // The panel follows the same rule as the server's `all_day` for this station.
    let listed = stage
        .api()
        .get(
            &format!("/api/kitchen/{slug}/orders/?station={grill}"),
            Some(&stage.kitchen.cook.access),
        )
        .await
        .expect(200);
    let from_server: Vec<(String, i64)> = listed["all_day"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            (
                e["menu_item_id"].to_string(),
                e["quantity"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    let on_screen = station
        .eval("[...document.querySelectorAll('[data-test=allday-entry]')].map(e => [e.dataset.menuItemId, Number(e.querySelector('.count').textContent)])")
        .await;
    let on_screen: Vec<(String, i64)> = on_screen
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            (
                e[0].as_str().unwrap_or_default().to_owned(),
                e[1].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        on_screen, from_server,
        "the all-day panel is the kitchen list's all_day"
    );
    // Rush one and age nothing: the TV shows it first.
    tv.click(&format!("[data-order-id=\"{}\"] [data-test=rush]", ids[2]))
        .await;
    tv.until(
        "the rush ticket first",
        SOON,
        &format!(
            "document.querySelector('[data-test=ticket]').dataset.orderId === '{}'",
            ids[2]
        ),
    )
    .await;
    tv.until("every ticket settled", SOON, "[...document.querySelectorAll('[data-test=ticket]')].every(t => t.dataset.pending === '0')").await;
    tv.screenshot("kitchen-all-stations").await;
    // Targets for wet fingers: every button on the board is at least 44 px each way.
    let small = tv
        .eval("[...document.querySelectorAll('#screen button')].filter(b => b.offsetParent).map(b => b.getBoundingClientRect()).filter(r => r.width < 44 || r.height < 44).length")
        .await;
    assert_eq!(small, json!(0), "buttons under 44 px");
    station
        .until(
            "the rush on the station",
            SOON,
            &format!("{}.classList.contains('rush')", ticket(&ids[2])),
        )
        .await;
    station.screenshot("kitchen-station").await;

    // The station's bump crosses off its own lines; the ticket leaves the station's screen.
    station
        .click(&format!("[data-order-id=\"{}\"] [data-test=bump]", ids[0]))
        .await;
    station
        .until("the ticket done here", SOON, &format!("{card} === null"))
        .await;
    let status_path = format!("/api/order/{slug}/status/{}/", ids[0]);
    test_support::wait_until("the pizza done on the server", SOON, || async {
        stage.api().get(&status_path, None).await.expect(200)["items"][0]["done_at"].is_string()
    })
    .await;
    let order = stage.api().get(&status_path, None).await.expect(200);
    assert!(
        order["items"][1]["done_at"].is_null(),
        "the salad is not the grill's to finish"
    );
    assert_eq!(order["status"], "preparing");
    tv.until(
        "the TV sees the grill's work",
        SOON,
        &format!("{card}.querySelector('[data-test=line]').dataset.done === 'true'"),
    )
    .await;
    tv.close().await;
    station.close().await;
}

/// Not a test: the figure for BENCHMARKS.md ("Kitchen display in the browser"). Run with
/// `cargo test -p e2e --test browser -- --ignored --nocapture page_benchmark`.
#[tokio::test]
#[ignore]
async fn page_benchmark_200_open_tickets_and_1000_frames() {
    let Some(mut browser) = Browser::start("page benchmark").await else {
        return;
    };
    let stage = Stage::new("browser-bench").await;
    let page = browser.open(TV.0, TV.1).await;
    stage.kitchen_page(&page, "all").await;
    let mut ids = Vec::new();
    for _ in 0..200 {
        ids.push(two_line_order(&stage).await);
    }
    page.until(
        "200 tickets",
        Duration::from_secs(60),
        "document.querySelectorAll('[data-test=ticket]').length === 200",
    )
    .await;
    page.eval("(performance.clearMeasures('kds-render'), true)")
        .await;
    let owner = stage.kitchen.owner.access.clone();
    let started = std::time::Instant::now();
    // 16 writers at once, as a busy kitchen's screens and tablets would.
    use futures_util::StreamExt;
    futures_util::stream::iter(0..1000)
        .map(|round| {
            let id = ids[round % ids.len()].clone();
            let owner = owner.clone();
            let api = stage.api().clone();
            async move {
                api.patch(
                    &format!("/api/kitchen/orders/{id}/"),
                    Some(&owner),
                    json!({"rush": round % 400 < 200}),
                )
                .await
                .expect(200);
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    let events = stage
        .api()
        .get(
            &format!(
                "/api/kitchen/{}/events/?after=0&limit=1",
                stage.kitchen.slug
            ),
            Some(&owner),
        )
        .await
        .expect(200);
    let newest = events["last_seq"].as_i64().unwrap_or(0);
    page.until(
        "every frame applied",
        Duration::from_secs(120),
        &format!("document.querySelector('[data-test=freshness]').dataset.seq === '{newest}'"),
    )
    .await;
    let all_applied = started.elapsed();
    let renders = page
        .eval("(() => { const m = performance.getEntriesByName('kds-render'); const d = m.map(x => x.duration).sort((a, b) => a - b); const at = (q) => Math.round(d[Math.floor((d.length - 1) * q)] * 10) / 10; return {count: d.length, total: Math.round(d.reduce((a, b) => a + b, 0)), p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1)}; })()")
        .await;
    // One tap with 200 tickets on screen: from the click to the crossed-off line painted.
    let tap = page
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const line = document.querySelector('[data-test=ticket] [data-test=line] button');
             const start = performance.now();
             line.click();
             requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - start)));",
            vec![],
        )
        .await
        .unwrap_or_default();
    let heap = page
        .eval("performance.memory ? performance.memory.usedJSHeapSize : null")
        .await;
    let assets = page
        .eval("performance.getEntriesByType('resource').filter(r => r.name.includes('/static/')).reduce((a, r) => a + r.decodedBodySize, 0) + performance.getEntriesByType('navigation')[0].decodedBodySize")
        .await;
    eprintln!(
        "BENCH page: 200 tickets, 1000 frames sent and applied in {all_applied:?}; renders {renders}; \
         tap to paint {tap} ms; JS heap {heap} bytes; page + assets {assets} bytes uncompressed"
    );
    page.close().await;
}
