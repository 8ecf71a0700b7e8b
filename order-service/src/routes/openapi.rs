//! What the annotations of single routes do not say: the answers every route of a kind can
//! give (a JSON body's 400/413/415, a bearer route's 401, the 503 of a database or a request
//! that is down or too slow), the rules of path and header parameters shared by many routes,
//! and the links from a created resource to the operations on it. Added by rule to the whole
//! document, so a new route cannot forget them.

use serde_json::{Map, Value, json};

/// A restaurant's slug (`shared_types::Slug`).
pub const SLUG_PATTERN: &str = "^[a-z0-9]+(-[a-z0-9]+)*$";
/// `Idempotency-Key`: 1..=255 printable ASCII characters (HTTP drops a value's outer spaces,
/// so none there).
const IDEMPOTENCY_KEY_PATTERN: &str = "^[!-~]([ -~]{0,253}[!-~])?$";
/// `If-Match`: `*`, or an order version bare or quoted (up to 999,999,999: far above any
/// order's, and safely below the service's bound of 2^31 - 1).
const IF_MATCH_PATTERN: &str = "^(\\*|0*[1-9][0-9]{0,8}|\"0*[1-9][0-9]{0,8}\")$";

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Completes `document` (an OpenAPI 3.1 document as JSON) by the rules above.
pub fn complete(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        for method in METHODS {
            if let Some(operation) = item.get_mut(method).and_then(Value::as_object_mut) {
                complete_operation(operation);
            }
        }
    }
    add_links(document);
    // What utoipa's attributes cannot say.
    if let Some(modifier_ids) =
        document.pointer_mut("/components/schemas/ConfirmLine/properties/modifier_ids")
    {
        modifier_ids["uniqueItems"] = json!(true);
    }
}

fn complete_operation(operation: &mut Map<String, Value>) {
    let has_body = operation.contains_key("requestBody");
    let needs_token = operation
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|requirements| !requirements.is_empty());
    let mut has_query = false;
    if let Some(parameters) = operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
    {
        for parameter in parameters {
            has_query |= parameter["in"] == "query";
            constrain_parameter(parameter);
        }
    }
    let responses = operation
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    let Some(responses) = responses else {
        return;
    };
    if has_body {
        add(
            responses,
            "400",
            "The body is not a JSON object, a field has the wrong type or is missing, or a value is out of bounds (`errors` names the fields)",
        );
        add(responses, "413", "The body is larger than 64 KiB");
        add(
            responses,
            "415",
            "The body is not `Content-Type: application/json`",
        );
    }
    if has_query {
        add(
            responses,
            "400",
            "A query parameter is malformed or out of bounds",
        );
    }
    if needs_token {
        add(
            responses,
            "401",
            "No `Authorization: Bearer <access>`, or the token is invalid or expired",
        );
        with_header(
            responses,
            "401",
            "WWW-Authenticate",
            json!({"type": "string"}),
            "`Bearer`",
        );
    }
    add(
        responses,
        "503",
        "The database is unreachable, or the request took longer than 10 s; retry after `Retry-After` seconds",
    );
    for status in ["429", "503"] {
        if responses.contains_key(status) {
            with_header(
                responses,
                status,
                "Retry-After",
                json!({"type": "integer", "minimum": 0}),
                "Seconds to wait before trying again",
            );
        }
    }
}

/// An error answer with `{"detail": …}`, unless the route describes that status itself.
fn add(responses: &mut Map<String, Value>, status: &str, description: &str) {
    responses.entry(status).or_insert_with(|| {
        json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        })
    });
}

fn with_header(
    responses: &mut Map<String, Value>,
    status: &str,
    name: &str,
    schema: Value,
    description: &str,
) {
    if let Some(response) = responses.get_mut(status).and_then(Value::as_object_mut) {
        let headers = response.entry("headers").or_insert_with(|| json!({}));
        if let Some(headers) = headers.as_object_mut() {
            headers
                .entry(name)
                .or_insert_with(|| json!({"schema": schema, "description": description}));
        }
    }
}

/// The rules of parameters that many routes share, by name.
fn constrain_parameter(parameter: &mut Value) {
    let rule = match (parameter["in"].as_str(), parameter["name"].as_str()) {
        (Some("path"), Some("slug")) => {
            json!({"type": "string", "pattern": SLUG_PATTERN, "minLength": 1, "maxLength": 100})
        }
        (Some("header"), Some("Idempotency-Key")) => {
            json!({"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN})
        }
        (Some("header"), Some("If-Match")) => {
            json!({"type": "string", "pattern": IF_MATCH_PATTERN})
        }
        _ => return,
    };
    parameter["schema"] = rule;
}

/// Where a created resource's id is used next: OpenAPI links, so a client (and a stateful
/// fuzzer) can follow them. (operation, status, [(link name, target operation, parameters)]).
type Link<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);
const LINKS: &[(&str, &str, &[Link])] = &[
    (
        "create",
        "201",
        &[
            ("Menu", "menu", &[("slug", "$response.body#/slug")]),
            (
                "CreateCategory",
                "create_category",
                &[("slug", "$response.body#/slug")],
            ),
            (
                "CreateStation",
                "create_station",
                &[("slug", "$response.body#/slug")],
            ),
            (
                "KitchenList",
                "active_orders",
                &[("slug", "$response.body#/slug")],
            ),
        ],
    ),
    (
        "add_staff",
        "201",
        &[(
            "RemoveStaff",
            "remove_staff",
            &[("user_id", "$response.body#/user_id")],
        )],
    ),
    (
        "create_category",
        "201",
        &[(
            "UpdateCategory",
            "update_category",
            &[("category_id", "$response.body#/id")],
        )],
    ),
    (
        "create_item",
        "201",
        &[
            (
                "UpdateItem",
                "update_item",
                &[("item_id", "$response.body#/id")],
            ),
            (
                "UpdateVariant",
                "update_variant",
                &[("variant_id", "$response.body#/variants/0/id")],
            ),
        ],
    ),
    (
        "create_station",
        "201",
        &[
            (
                "RenameStation",
                "rename_station",
                &[("station_id", "$response.body#/id")],
            ),
            (
                "DeleteStation",
                "delete_station",
                &[("station_id", "$response.body#/id")],
            ),
        ],
    ),
    (
        "confirm",
        "201",
        &[
            (
                "Status",
                "status",
                &[
                    ("slug", "$response.body#/restaurant"),
                    ("order_id", "$response.body#/id"),
                ],
            ),
            (
                "UpdateOrder",
                "update_order",
                &[("order_id", "$response.body#/id")],
            ),
            (
                "UpdateLines",
                "update_lines",
                &[("order_id", "$response.body#/id")],
            ),
            ("Recall", "recall", &[("order_id", "$response.body#/id")]),
        ],
    ),
];

fn add_links(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        for method in METHODS {
            let Some(operation) = item.get_mut(method) else {
                continue;
            };
            let Some(id) = operation["operationId"].as_str().map(str::to_owned) else {
                continue;
            };
            for (source, status, links) in LINKS {
                if *source != id {
                    continue;
                }
                let Some(response) = operation["responses"][*status].as_object_mut() else {
                    continue;
                };
                let entries: Map<String, Value> = links
                    .iter()
                    .map(|(name, target, parameters)| {
                        let parameters: Map<String, Value> = parameters
                            .iter()
                            .map(|(name, value)| ((*name).to_owned(), json!(value)))
                            .collect();
                        (
                            (*name).to_owned(),
                            json!({"operationId": target, "parameters": parameters}),
                        )
                    })
                    .collect();
                response.insert("links".to_owned(), Value::Object(entries));
            }
        }
    }
}
