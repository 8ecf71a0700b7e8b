//! Logs and traces (see `service_common::telemetry`), and the trace context stored with each
//! outbox row so the trace continues across the broker.

use std::collections::HashMap;

use service_common::env::LogFormat;
pub use service_common::telemetry::Telemetry;

pub fn init(format: LogFormat) -> Telemetry {
    service_common::telemetry::init(format, "order-service")
}

/// A W3C trace context (`traceparent`, `tracestate`), as stored with an event row.
pub type TraceContext = HashMap<String, String>;

/// The W3C trace context to store with an event row: the current request's, or, where none is
/// being traced, a fresh one so every published message still carries a `traceparent`.
pub fn current_trace_context() -> TraceContext {
    let map = service_common::telemetry::current_context_map();
    if map.contains_key("traceparent") {
        return map;
    }
    let mut trace_id = [0u8; 16];
    let mut span_id = [0u8; 8];
    let filled = getrandom::fill(&mut trace_id).and_then(|_| getrandom::fill(&mut span_id));
    if filled.is_err() || trace_id == [0; 16] || span_id == [0; 8] {
        return TraceContext::new();
    }
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    TraceContext::from([(
        "traceparent".to_owned(),
        format!("00-{}-{}-01", hex(&trace_id), hex(&span_id)),
    )])
}
