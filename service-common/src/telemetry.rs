//! Logs and traces. Spans go to the log filter as usual and, through OpenTelemetry, to an OTLP
//! collector when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (otherwise nothing is exported, but trace
//! ids still exist and propagate). W3C trace context travels in HTTP headers, in the outbox
//! row and in AMQP message headers, so one trace runs from a request to the frames it causes.

use std::collections::HashMap;

use axum::http::HeaderMap;
use lapin::types::{AMQPValue, FieldTable, ShortString};
use opentelemetry::{
    Context, global,
    propagation::{Extractor, Injector},
    trace::{TraceContextExt, TracerProvider as _},
};
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, fmt, prelude::*};

use crate::env::LogFormat;

/// Flushes and stops the tracer provider when the service ends.
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    pub fn shutdown(self) {
        let _ = self.provider.shutdown();
    }
}

/// Installs logging and tracing for `service`. A second call in one process (tests) keeps the
/// first subscriber.
pub fn init(format: LogFormat, service: &str) -> Telemetry {
    let mut builder = SdkTracerProvider::builder().with_resource(
        Resource::builder()
            .with_service_name(service.to_owned())
            .build(),
    );
    if std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").is_ok_and(|v| !v.is_empty()) {
        match opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
        {
            Ok(exporter) => builder = builder.with_batch_exporter(exporter),
            Err(error) => eprintln!("{service}: OTLP exporter disabled: {error}"),
        }
    }
    install(builder.build(), format, service)
}

/// Installs tracing with a given provider (tests pass one with an in-memory exporter).
pub fn install(provider: SdkTracerProvider, format: LogFormat, service: &str) -> Telemetry {
    global::set_text_map_propagator(TraceContextPropagator::new());
    global::set_tracer_provider(provider.clone());
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,lapin=warn"));
    let logs: Box<dyn Layer<Registry> + Send + Sync> = match format {
        LogFormat::Json => fmt::layer().json().flatten_event(true).boxed(),
        LogFormat::Text => fmt::layer().boxed(),
    };
    let traces = tracing_opentelemetry::layer().with_tracer(provider.tracer(service.to_owned()));
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .with(filter)
        .try_init();
    Telemetry { provider }
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The caller's trace context from `traceparent`/`tracestate` request headers.
pub fn context_from_http(headers: &HeaderMap) -> Context {
    global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)))
}

struct MapInjector<'a>(&'a mut HashMap<String, String>);

impl Injector for MapInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

struct MapExtractor<'a>(&'a HashMap<String, String>);

impl Extractor for MapExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// The current span's trace context as `{"traceparent": …}`, to store with an outbox row. Empty
/// when there is no valid context (tracing not installed).
pub fn current_context_map() -> HashMap<String, String> {
    let context = tracing::Span::current().context();
    let mut map = HashMap::new();
    if context.span().span_context().is_valid() {
        global::get_text_map_propagator(|p| p.inject_context(&context, &mut MapInjector(&mut map)));
    }
    map
}

pub fn context_from_map(map: &HashMap<String, String>) -> Context {
    global::get_text_map_propagator(|p| p.extract(&MapExtractor(map)))
}

struct TableInjector<'a>(&'a mut FieldTable);

impl Injector for TableInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0
            .insert(ShortString::from(key), AMQPValue::LongString(value.into()));
    }
}

struct TableExtractor<'a>(&'a FieldTable);

impl Extractor for TableExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match self.0.inner().get(key)? {
            AMQPValue::LongString(value) => std::str::from_utf8(value.as_bytes()).ok(),
            AMQPValue::ShortString(value) => Some(value.as_str()),
            _ => None,
        }
    }
    fn keys(&self) -> Vec<&str> {
        self.0.inner().keys().map(|k| k.as_str()).collect()
    }
}

/// Writes `span`'s trace context into AMQP message headers.
pub fn inject_into_amqp(span: &tracing::Span, headers: &mut FieldTable) {
    let context = span.context();
    global::get_text_map_propagator(|p| p.inject_context(&context, &mut TableInjector(headers)));
}

/// The publisher's trace context from AMQP message headers.
pub fn context_from_amqp(headers: Option<&FieldTable>) -> Context {
    match headers {
        Some(table) => global::get_text_map_propagator(|p| p.extract(&TableExtractor(table))),
        None => Context::new(),
    }
}

/// Makes `span` a child of `parent` (a no-op when tracing is not installed).
pub fn set_parent(span: &tracing::Span, parent: Context) {
    let _ = span.set_parent(parent);
}

/// A server span per HTTP request that continues the caller's trace (W3C `traceparent`), if
/// any. It records the path only: query strings may hold credentials (kitchen tickets).
pub fn http_request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let span = tracing::info_span!(
        "HTTP request",
        otel.name = %format!("{} {}", request.method(), request.uri().path()),
        otel.kind = "server",
        http.request.method = %request.method(),
        url.path = %request.uri().path(),
    );
    set_parent(&span, context_from_http(request.headers()));
    span
}
