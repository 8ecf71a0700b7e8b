//! One trace runs from a client's request through the database, the outbox relay, the broker
//! and the notifier to the WebSocket fan-out. Its own test binary (own process), because the
//! tracing subscriber and the tracer provider are process-global.

#[path = "e2e/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::time::Duration;

use opentelemetry::trace::{SpanId, SpanKind, TraceId};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::json;
use service_common::env::LogFormat;
use test_support::wait_until;

use helpers::System;

fn find<'a>(spans: &'a [SpanData], trace: TraceId, name: &str) -> Option<&'a SpanData> {
    spans
        .iter()
        .find(|s| s.span_context.trace_id() == trace && s.name.starts_with(name))
}

fn of_kind(spans: &[SpanData], trace: TraceId, kind: SpanKind) -> Option<&SpanData> {
    spans
        .iter()
        .find(|s| s.span_context.trace_id() == trace && s.span_kind == kind)
}

#[tokio::test]
async fn one_trace_runs_from_the_request_to_the_kitchen_screen() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let _telemetry = service_common::telemetry::install(provider.clone(), LogFormat::Text, "e2e");

    let mut system = System::new();
    let service = system.order_service().await;
    let api = &service.api;
    let k = api.kitchen("luigis").await;
    let notifier = system.notifier(api).await;
    let ticket = api.ws_ticket(&k.cook, &k.slug).await;
    let mut screen = notifier.connect(&k.slug, &ticket, None).await;
    let order = api.place_order(&k.slug, &k.menu).await;
    assert_eq!(screen.next_json().await["status"], "confirmed");

    // The caller's own trace: everything the PATCH causes must join it.
    let trace = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
    let caller = SpanId::from_hex("00f067aa0ba902b7").unwrap();
    let reply = api
        .send(
            api.client
                .patch(api.url(&format!(
                    "/api/kitchen/orders/{}/",
                    order["id"].as_str().unwrap()
                )))
                .bearer_auth(&k.cook.access)
                .header("traceparent", format!("00-{trace}-{caller}-01"))
                .json(&json!({"status": "preparing"})),
        )
        .await;
    reply.expect(200);
    assert_eq!(screen.next_json().await["status"], "preparing");

    // Spans are exported as they end: the request's when its response body is dropped, the
    // publish span when the broker's confirm is back (perhaps after the frame went out).
    wait_until("the trace's spans", Duration::from_secs(10), || async {
        let _ = provider.force_flush();
        let spans = exporter.get_finished_spans().unwrap_or_default();
        find(&spans, trace, "websocket fan-out").is_some()
            && [SpanKind::Server, SpanKind::Producer, SpanKind::Consumer]
                .into_iter()
                .all(|kind| of_kind(&spans, trace, kind).is_some())
    })
    .await;
    let spans = exporter.get_finished_spans().unwrap();
    let request = of_kind(&spans, trace, SpanKind::Server).expect("request span");
    assert_eq!(
        request.name,
        "PATCH /api/kitchen/orders/{order_id}/"
            .replace("{order_id}", order["id"].as_str().unwrap())
    );
    assert_eq!(
        request.parent_span_id, caller,
        "continues the caller's trace"
    );
    let database = find(&spans, trace, "db.orders.apply").expect("database span");
    assert_eq!(database.parent_span_id, request.span_context.span_id());
    let publish = of_kind(&spans, trace, SpanKind::Producer).expect("publish span");
    assert_eq!(publish.name, "orders.luigis.preparing publish");
    assert_eq!(
        publish.parent_span_id,
        request.span_context.span_id(),
        "the relay continues the request's trace"
    );
    let consume = of_kind(&spans, trace, SpanKind::Consumer).expect("consume span");
    assert_eq!(
        consume.parent_span_id,
        publish.span_context.span_id(),
        "across the broker"
    );
    let fan_out = find(&spans, trace, "websocket fan-out").expect("fan-out span");
    assert_eq!(fan_out.parent_span_id, consume.span_context.span_id());
    let subscribers = fan_out
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "subscribers")
        .map(|kv| kv.value.to_string());
    assert_eq!(subscribers.as_deref(), Some("1"));
}
