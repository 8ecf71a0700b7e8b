use crate::helpers::{event, spawn_notifier, spawn_notifier_with};

#[tokio::test]
async fn valid_ticket_connects_and_events_arrive_with_order_fields_at_top_level() {
    let notifier = spawn_notifier().await;
    let mut client = notifier.connect("luigis").await;
    let publisher = notifier.publisher().await;
    // Published right after the handshake: the binding was in place before it completed.
    let published = event("luigis", 1, "confirmed");
    publisher.publish(&published).await;
    let frame = client.next_json().await;
    assert_eq!(frame["id"], published["order"]["id"]);
    assert_eq!(frame["status"], "confirmed");
    assert_eq!(frame["event"], "order.confirmed");
    assert_eq!(frame["event_id"], published["event_id"]);
    assert_eq!(frame["seq"], 1);
    assert_eq!(frame["version"], 1);
    assert_eq!(frame["total_price"], "33.98");
    assert_eq!(frame["items"], published["order"]["items"]);
    assert!(frame.get("order").is_none());
}

#[tokio::test]
async fn refusals_happen_before_the_upgrade() {
    let notifier = spawn_notifier().await;
    let keys = &notifier.keys;
    let (status, body) = notifier.refused("luigis", "").await;
    assert_eq!(status, 401);
    assert!(body["detail"].is_string(), "{body}");
    assert_eq!(notifier.refused("luigis", "?ticket=").await.0, 401);
    assert_eq!(
        notifier.refused("luigis", "?ticket=not.a.ticket").await.0,
        401
    );
    let expired = keys.ticket_with_ttl("luigis", -120);
    assert_eq!(
        notifier
            .refused("luigis", &format!("?ticket={expired}"))
            .await
            .0,
        401
    );
    // Signed by another key: forged.
    let forger = crate::helpers::TicketKeys::generate();
    assert_eq!(
        notifier
            .refused("luigis", &format!("?ticket={}", forger.ticket("luigis")))
            .await
            .0,
        401
    );
    // A valid ticket for another restaurant.
    let (status, body) = notifier
        .refused("luigis", &format!("?ticket={}", keys.ticket("marios")))
        .await;
    assert_eq!(status, 403);
    assert!(body["detail"].is_string());
    // Malformed `after`.
    let ticket = keys.ticket("luigis");
    for after in ["abc", "-1", "1.5"] {
        assert_eq!(
            notifier
                .refused("luigis", &format!("?ticket={ticket}&after={after}"))
                .await
                .0,
            400,
            "{after}"
        );
    }
    // Without the trailing slash the path is unknown.
    let plain = reqwest::get(format!(
        "{}/ws/kitchen/luigis?ticket={ticket}",
        notifier.base()
    ))
    .await
    .unwrap();
    assert_eq!(plain.status().as_u16(), 404);
    // A plain GET with a valid ticket is not a WebSocket request.
    let plain = reqwest::get(format!(
        "{}/ws/kitchen/luigis/?ticket={ticket}",
        notifier.base()
    ))
    .await
    .unwrap();
    assert_eq!(plain.status().as_u16(), 400);
    let body: serde_json::Value = plain.json().await.unwrap();
    assert!(body["detail"].is_string());
}

#[tokio::test]
async fn a_ticket_may_open_several_sockets() {
    let notifier = spawn_notifier().await;
    let query = format!("?ticket={}", notifier.keys.ticket("luigis"));
    let mut first = notifier.connect_query("luigis", &query).await;
    let mut second = notifier.connect_query("luigis", &query).await;
    notifier
        .publisher()
        .await
        .publish(&event("luigis", 1, "confirmed"))
        .await;
    assert_eq!(first.next_json().await["seq"], 1);
    assert_eq!(second.next_json().await["seq"], 1);
}

#[tokio::test]
async fn health_and_readiness() {
    let notifier = spawn_notifier().await;
    let health = reqwest::get(format!("{}/healthz", notifier.base()))
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(notifier.readyz().await, 200);
    let missing = reqwest::get(format!("{}/nope", notifier.base()))
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert!(body["detail"].is_string());
}

#[tokio::test]
async fn with_metrics_addr_metrics_are_served_there_only() {
    let notifier =
        spawn_notifier_with(|config| config.metrics_addr = Some("127.0.0.1:0".parse().unwrap()))
            .await;
    let status = |url: String| async move { reqwest::get(url).await.unwrap().status().as_u16() };
    assert_eq!(status(format!("{}/metrics", notifier.base())).await, 404);
    let port = notifier.metrics_port.expect("a metrics listener");
    let response = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    // Nothing else is served there.
    assert_eq!(status(format!("http://127.0.0.1:{port}/readyz")).await, 404);
    // Without it, /metrics stays on the main listener.
    let plain = spawn_notifier().await;
    assert!(plain.metrics_port.is_none());
    assert_eq!(status(format!("{}/metrics", plain.base())).await, 200);
}
