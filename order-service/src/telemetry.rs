//! Logging and trace context.

use service_common::env::LogFormat;

pub fn init(format: LogFormat) {
    service_common::logging::init(format);
}

/// The W3C trace context to store with an event row, so the trace continues across the broker.
/// Until spans are exported (OpenTelemetry), each change starts a trace of its own.
pub fn current_trace_context() -> serde_json::Value {
    let mut trace_id = [0u8; 16];
    let mut span_id = [0u8; 8];
    let filled = getrandom::fill(&mut trace_id).and_then(|_| getrandom::fill(&mut span_id));
    if filled.is_err() || trace_id == [0; 16] || span_id == [0; 8] {
        return serde_json::json!({});
    }
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    serde_json::json!({"traceparent": format!("00-{}-{}-01", hex(&trace_id), hex(&span_id))})
}
