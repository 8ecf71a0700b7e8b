//! compose.yaml and the README must name exactly the variables the services read.

use std::{cell::RefCell, collections::BTreeSet};

/// Variables read by the process outside its `Config` (logging, tracing).
const AMBIENT: &[&str] = &[
    "RUST_LOG",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_SERVICE_NAME",
];

fn read_by_order_service() -> BTreeSet<String> {
    let asked = RefCell::new(BTreeSet::new());
    let _ = order_service::config::Config::from_lookup(|name| {
        asked.borrow_mut().insert(name.to_owned());
        None
    });
    asked.into_inner()
}

fn read_by_notifier() -> BTreeSet<String> {
    let asked = RefCell::new(BTreeSet::new());
    let _ = kitchen_notifier::config::Config::from_lookup(|name| {
        asked.borrow_mut().insert(name.to_owned());
        None
    });
    asked.into_inner()
}

/// The `environment:` keys of one service in compose.yaml (a plain, two-space-indented file).
fn compose_environment(service: &str) -> BTreeSet<String> {
    let compose =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../compose.yaml")).unwrap();
    let mut in_service = false;
    let mut in_environment = false;
    let mut keys = BTreeSet::new();
    for line in compose.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if indent == 2 {
            in_service = trimmed == format!("{service}:");
            in_environment = false;
        } else if in_service && indent == 4 {
            in_environment = trimmed == "environment:";
        } else if in_service
            && in_environment
            && indent == 6
            && let Some((key, _)) = trimmed.split_once(':')
        {
            keys.insert(key.to_owned());
        }
    }
    keys
}

#[test]
fn compose_sets_only_variables_the_services_read() {
    for (service, read) in [
        ("order-service", read_by_order_service()),
        ("kitchen-notifier", read_by_notifier()),
    ] {
        let set = compose_environment(service);
        assert!(
            !set.is_empty(),
            "no environment for {service} in compose.yaml"
        );
        for key in &set {
            assert!(
                read.contains(key) || AMBIENT.contains(&key.as_str()),
                "compose.yaml sets {key} for {service}, which does not read it"
            );
        }
        for required in ["AMQP_URL", "LISTEN_ADDR", "KITCHEN_EXCHANGE"] {
            assert!(
                set.contains(required),
                "compose.yaml must set {required} for {service}"
            );
        }
    }
    assert!(compose_environment("order-service").contains("DATABASE_URL"));
    assert!(compose_environment("kitchen-notifier").contains("ORDER_SERVICE_URL"));
}

#[test]
fn the_readme_documents_every_variable() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    for variable in read_by_order_service()
        .iter()
        .chain(read_by_notifier().iter())
    {
        assert!(
            readme.contains(&format!("| `{variable}` |")),
            "README's configuration table lacks {variable}"
        );
    }
}
