//! The kitchen's writes to an order (API.md, "Kitchen floor"): a status move or rush flag,
//! lines crossed off or restored, a recall. Each is decided here, as pure logic over the order
//! as read, into the order as it must be written: the storage layer then writes it in one
//! statement conditioned on the version read, so automatic moves happen in the same change.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use shared_types::{EventKind, Order, OrderStatus};

use super::fields::FieldErrors;

/// How long after a status move it can be recalled.
pub const RECALL_WINDOW_MINUTES: i64 = 30;

/// `PATCH /api/kitchen/orders/{id}/`: any of status and rush, at least one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPatch {
    pub status: Option<OrderStatus>,
    pub rush: Option<bool>,
}

/// `PATCH /api/kitchen/orders/{id}/items/`: lines to cross off (`done`) or restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinesChange {
    pub line_ids: BTreeSet<i64>,
    pub done: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KitchenWrite {
    Patch(OrderPatch),
    Lines(LinesChange),
    Recall,
}

impl KitchenWrite {
    /// Names the operation in a stored idempotency request, so one key used for two different
    /// operations on the order is told apart.
    pub fn operation(&self) -> &'static str {
        match self {
            KitchenWrite::Patch(_) => "patch",
            KitchenWrite::Lines(_) => "items",
            KitchenWrite::Recall => "recall",
        }
    }
}

fn object(body: &Value) -> Result<&serde_json::Map<String, Value>, FieldErrors> {
    body.as_object()
        .ok_or_else(|| FieldErrors::one("body", "must be a JSON object"))
}

impl OrderPatch {
    pub fn parse(body: &Value) -> Result<Self, FieldErrors> {
        let fields = object(body)?;
        let mut errors = FieldErrors::default();
        let status = match fields.get("status") {
            None => None,
            Some(Value::String(text)) => match text.parse::<OrderStatus>() {
                Ok(status) => Some(status),
                Err(_) => {
                    errors.add(
                        "status",
                        format!(
                            "'{text}' is not a status; expected one of {}",
                            OrderStatus::ALL.map(|s| s.as_str()).join(", ")
                        ),
                    );
                    None
                }
            },
            Some(_) => {
                errors.add("status", "must be a string");
                None
            }
        };
        let rush = match fields.get("rush") {
            None => None,
            Some(Value::Bool(rush)) => Some(*rush),
            Some(_) => {
                errors.add("rush", "must be true or false");
                None
            }
        };
        for unknown in fields.keys().filter(|k| *k != "status" && *k != "rush") {
            errors.add(unknown, "is not a field of this request (status, rush)");
        }
        if errors.is_empty() && status.is_none() && rush.is_none() {
            errors.add("body", "give at least one of status and rush");
        }
        if errors.is_empty() {
            Ok(OrderPatch { status, rush })
        } else {
            Err(errors)
        }
    }
}

/// At most this many line ids in one request (an order has at most 100 lines).
pub const MAX_LINE_IDS: usize = 100;

impl LinesChange {
    pub fn parse(body: &Value) -> Result<Self, FieldErrors> {
        let fields = object(body)?;
        let mut errors = FieldErrors::default();
        let mut line_ids = BTreeSet::new();
        match fields.get("line_ids") {
            None => errors.add("line_ids", "is required"),
            Some(Value::Array(ids)) if ids.is_empty() => {
                errors.add("line_ids", "must name at least one line")
            }
            Some(Value::Array(ids)) if ids.len() > MAX_LINE_IDS => {
                errors.add("line_ids", format!("at most {MAX_LINE_IDS} lines"))
            }
            Some(Value::Array(ids)) => {
                for id in ids {
                    match id.as_i64() {
                        Some(id) => {
                            line_ids.insert(id);
                        }
                        None => {
                            errors.add("line_ids", "must be line ids (whole numbers)");
                            break;
                        }
                    }
                }
            }
            Some(_) => errors.add("line_ids", "must be a list of line ids"),
        }
        let done = match fields.get("done") {
            Some(Value::Bool(done)) => *done,
            None => {
                errors.add("done", "is required");
                false
            }
            Some(_) => {
                errors.add("done", "must be true or false");
                false
            }
        };
        for unknown in fields.keys().filter(|k| *k != "line_ids" && *k != "done") {
            errors.add(unknown, "is not a field of this request (line_ids, done)");
        }
        if errors.is_empty() {
            Ok(LinesChange { line_ids, done })
        } else {
            Err(errors)
        }
    }
}

/// The order as it must be written, and what else the write touches.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The order after the change, `version` + 1 and `updated_at` = now.
    pub order: Order,
    /// Lines whose `done_at` becomes `lines_done_at`.
    pub lines: Vec<i64>,
    pub lines_done_at: Option<DateTime<Utc>>,
    pub event: EventKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Change(Box<Change>),
    /// Everything already is as asked: 200 with the order as it is, and no event.
    Unchanged,
}

/// Why a write is refused (all 400s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Field(FieldErrors),
    Rule(String),
}

impl From<FieldErrors> for Refusal {
    fn from(errors: FieldErrors) -> Self {
        Refusal::Field(errors)
    }
}

/// Decides `write` on `order` at `now`.
pub fn decide(
    order: &Order,
    write: &KitchenWrite,
    now: DateTime<Utc>,
) -> Result<Decision, Refusal> {
    let mut next = order.clone();
    let mut lines = Vec::new();
    let mut lines_done_at = None;
    match write {
        KitchenWrite::Patch(patch) => {
            if let Some(to) = patch.status {
                order
                    .status
                    .check_move(to)
                    .map_err(|error| Refusal::Rule(error.to_string()))?;
                move_to(&mut next, to, now);
            }
            if let Some(rush) = patch.rush {
                if rush && next.status.is_final() {
                    return Err(Refusal::Rule(format!(
                        "A {} order cannot be a rush.",
                        next.status
                    )));
                }
                next.rush = rush;
            }
        }
        KitchenWrite::Lines(change) => {
            if order.status.is_final() {
                return Err(Refusal::Rule(format!(
                    "The lines of a {} order cannot change.",
                    order.status
                )));
            }
            let foreign: Vec<String> = change
                .line_ids
                .iter()
                .filter(|id| !order.items.iter().any(|line| line.id == **id))
                .map(|id| id.to_string())
                .collect();
            if !foreign.is_empty() {
                return Err(FieldErrors::one(
                    "line_ids",
                    format!("not lines of this order: {}", foreign.join(", ")),
                )
                .into());
            }
            let stamp = change.done.then_some(now);
            for line in next.items.iter_mut() {
                if change.line_ids.contains(&line.id) && line.done_at.is_some() != change.done {
                    line.done_at = stamp;
                    lines.push(line.id);
                }
            }
            if lines.is_empty() {
                return Ok(Decision::Unchanged);
            }
            lines_done_at = stamp;
            let all_done = next.items.iter().all(|line| line.done_at.is_some());
            let automatic = match (next.status, change.done) {
                (OrderStatus::Confirmed | OrderStatus::Preparing, true) if all_done => {
                    Some(OrderStatus::Ready)
                }
                (OrderStatus::Confirmed, true) => Some(OrderStatus::Preparing),
                (OrderStatus::Ready, false) => Some(OrderStatus::Preparing),
                _ => None,
            };
            if let Some(to) = automatic {
                move_to(&mut next, to, now);
            }
        }
        KitchenWrite::Recall => {
            let back = match order.status {
                OrderStatus::Completed => OrderStatus::Ready,
                OrderStatus::Ready => OrderStatus::Preparing,
                OrderStatus::Preparing => OrderStatus::Confirmed,
                OrderStatus::Confirmed | OrderStatus::Cancelled => {
                    return Err(Refusal::Rule(format!(
                        "A {} order cannot be recalled: recall undoes a move to preparing, ready or completed.",
                        order.status
                    )));
                }
            };
            let deadline = order.status_changed_at + Duration::minutes(RECALL_WINDOW_MINUTES);
            if now > deadline {
                return Err(Refusal::Rule(format!(
                    "The order became {} more than {RECALL_WINDOW_MINUTES} minutes ago (at {}); it can no longer be recalled.",
                    order.status,
                    order
                        .status_changed_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )));
            }
            move_to(&mut next, back, now);
            next.recalled_at = Some(now);
        }
    }
    let moved = next.status != order.status;
    if !moved && next.rush == order.rush && lines.is_empty() {
        return Ok(Decision::Unchanged);
    }
    next.version += 1;
    next.updated_at = now;
    Ok(Decision::Change(Box::new(Change {
        order: next,
        lines,
        lines_done_at,
        event: if moved {
            EventKind::OrderStatusChanged
        } else {
            EventKind::OrderUpdated
        },
    })))
}

/// A status move and the times that go with it; moving back clears the time of the move undone.
fn move_to(order: &mut Order, to: OrderStatus, now: DateTime<Utc>) {
    order.status = to;
    order.status_changed_at = now;
    match to {
        OrderStatus::Ready => {
            // Back from completed, the order had been ready since then already.
            order.ready_at.get_or_insert(now);
            order.completed_at = None;
        }
        OrderStatus::Completed => order.completed_at = Some(now),
        OrderStatus::Confirmed | OrderStatus::Preparing => order.ready_at = None,
        OrderStatus::Cancelled => {}
    }
}

/// One entry of the all-day count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllDayEntry {
    pub menu_item_id: i64,
    pub name: String,
    pub variant_label: String,
    pub quantity: i64,
}

/// What is still to make over `orders`: the quantity of the lines not yet done (at `station`
/// only, when given) per menu item, name and variant as ordered, largest first (then by name,
/// so the list does not reshuffle between equal counts).
pub fn all_day(orders: &[Order], station: Option<i64>) -> Vec<AllDayEntry> {
    let mut counts: std::collections::BTreeMap<(i64, &str, &str), i64> = Default::default();
    let open_lines = orders.iter().flat_map(|order| &order.items).filter(|line| {
        line.done_at.is_none()
            && station.is_none_or(|station| line.station.as_ref().is_some_and(|s| s.id == station))
    });
    for line in open_lines {
        *counts
            .entry((line.menu_item_id, &line.name, &line.variant_label))
            .or_default() += i64::from(line.quantity);
    }
    let mut entries: Vec<AllDayEntry> = counts
        .into_iter()
        .map(
            |((menu_item_id, name, variant_label), quantity)| AllDayEntry {
                menu_item_id,
                name: name.to_owned(),
                variant_label: variant_label.to_owned(),
                quantity,
            },
        )
        .collect();
    entries.sort_by(|a, b| {
        b.quantity
            .cmp(&a.quantity)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.variant_label.cmp(&b.variant_label))
    });
    entries
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shared_types::{OrderItem, Slug};
    use uuid::Uuid;

    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(minute)
    }

    fn line(id: i64) -> OrderItem {
        OrderItem {
            id,
            menu_item_id: 1,
            name: "Pizza".into(),
            variant_label: "Large".into(),
            variant_price: "9.50".parse().unwrap(),
            quantity: 1,
            special_requests: None,
            modifiers: vec![],
            station: None,
            done_at: None,
        }
    }

    fn order(status: OrderStatus, lines: &[i64]) -> Order {
        Order {
            id: Uuid::nil(),
            restaurant: Slug::parse("luigis").unwrap(),
            status,
            version: 1,
            table_identifier: None,
            total_price: "9.50".parse().unwrap(),
            language: "en".into(),
            created_at: at(0),
            updated_at: at(0),
            items: lines.iter().map(|id| line(*id)).collect(),
            rush: false,
            recalled_at: None,
            status_changed_at: at(0),
            ready_at: None,
            completed_at: None,
        }
    }

    fn lines(ids: &[i64], done: bool) -> KitchenWrite {
        KitchenWrite::Lines(LinesChange {
            line_ids: ids.iter().copied().collect(),
            done,
        })
    }

    fn changed(decision: Result<Decision, Refusal>) -> Change {
        match decision {
            Ok(Decision::Change(change)) => *change,
            other => panic!("expected a change, got {other:?}"),
        }
    }

    #[test]
    fn patch_bodies_parse_with_a_field_error_each() {
        assert_eq!(
            OrderPatch::parse(&json!({"status": "ready", "rush": true})).unwrap(),
            OrderPatch {
                status: Some(OrderStatus::Ready),
                rush: Some(true)
            }
        );
        for (body, field) in [
            (json!({}), "body"),
            (json!({"rush": "yes"}), "rush"),
            (json!({"status": 3}), "status"),
            (json!({"status": "done"}), "status"),
            (json!({"colour": "red"}), "colour"),
            (json!([1]), "body"),
        ] {
            let errors = OrderPatch::parse(&body).unwrap_err().into_fields();
            assert!(errors.contains_key(field), "{body}: {errors:?}");
        }
    }

    #[test]
    fn line_bodies_parse_with_a_field_error_each() {
        let parsed = LinesChange::parse(&json!({"line_ids": [3, 1, 3], "done": true})).unwrap();
        assert_eq!(parsed.line_ids.into_iter().collect::<Vec<_>>(), vec![1, 3]);
        for (body, field) in [
            (json!({"line_ids": [], "done": true}), "line_ids"),
            (json!({"done": true}), "line_ids"),
            (json!({"line_ids": ["a"], "done": true}), "line_ids"),
            (json!({"line_ids": [1]}), "done"),
            (json!({"line_ids": [1], "done": 1}), "done"),
        ] {
            let errors = LinesChange::parse(&body).unwrap_err().into_fields();
            assert!(errors.contains_key(field), "{body}: {errors:?}");
        }
    }

    #[test]
    fn a_status_move_dates_itself() {
        let change = changed(decide(
            &order(OrderStatus::Preparing, &[1]),
            &KitchenWrite::Patch(OrderPatch {
                status: Some(OrderStatus::Ready),
                rush: None,
            }),
            at(5),
        ));
        assert_eq!(change.order.status, OrderStatus::Ready);
        assert_eq!(change.order.ready_at, Some(at(5)));
        assert_eq!(change.order.status_changed_at, at(5));
        assert_eq!(change.order.version, 2);
        assert_eq!(change.event, EventKind::OrderStatusChanged);
    }

    #[test]
    fn a_move_not_allowed_names_the_allowed_ones() {
        let refused = decide(
            &order(OrderStatus::Confirmed, &[1]),
            &KitchenWrite::Patch(OrderPatch {
                status: Some(OrderStatus::Completed),
                rush: None,
            }),
            at(1),
        );
        assert!(matches!(refused, Err(Refusal::Rule(text)) if text.contains("preparing")));
    }

    #[test]
    fn rush_is_an_update_and_refused_on_final_orders() {
        let rush = KitchenWrite::Patch(OrderPatch {
            status: None,
            rush: Some(true),
        });
        let change = changed(decide(&order(OrderStatus::Ready, &[1]), &rush, at(1)));
        assert!(change.order.rush);
        assert_eq!(change.event, EventKind::OrderUpdated);
        assert_eq!(change.order.status_changed_at, at(0));
        for status in [OrderStatus::Completed, OrderStatus::Cancelled] {
            assert!(matches!(
                decide(&order(status, &[1]), &rush, at(1)),
                Err(Refusal::Rule(_))
            ));
        }
        // Already a rush: nothing to change.
        let mut rushed = order(OrderStatus::Ready, &[1]);
        rushed.rush = true;
        assert_eq!(decide(&rushed, &rush, at(1)), Ok(Decision::Unchanged));
    }

    #[test]
    fn status_and_rush_in_one_body_are_one_change() {
        let change = changed(decide(
            &order(OrderStatus::Confirmed, &[1]),
            &KitchenWrite::Patch(OrderPatch {
                status: Some(OrderStatus::Preparing),
                rush: Some(true),
            }),
            at(1),
        ));
        assert_eq!(
            (change.order.status, change.order.rush, change.order.version),
            (OrderStatus::Preparing, true, 2)
        );
    }

    #[test]
    fn the_first_line_done_starts_preparing_and_the_last_makes_ready() {
        let confirmed = order(OrderStatus::Confirmed, &[1, 2]);
        let first = changed(decide(&confirmed, &lines(&[1], true), at(2)));
        assert_eq!(first.order.status, OrderStatus::Preparing);
        assert_eq!(first.lines, vec![1]);
        assert_eq!(first.lines_done_at, Some(at(2)));
        assert_eq!(first.event, EventKind::OrderStatusChanged);
        let last = changed(decide(&first.order, &lines(&[2], true), at(3)));
        assert_eq!(last.order.status, OrderStatus::Ready);
        assert_eq!(last.order.ready_at, Some(at(3)));
        assert_eq!(last.order.version, 3);
    }

    #[test]
    fn the_only_line_of_a_confirmed_order_makes_it_ready_in_one_change() {
        let change = changed(decide(
            &order(OrderStatus::Confirmed, &[1]),
            &lines(&[1], true),
            at(1),
        ));
        assert_eq!(change.order.status, OrderStatus::Ready);
        assert_eq!(change.order.version, 2);
    }

    #[test]
    fn a_line_done_on_a_preparing_order_is_an_update() {
        let mut preparing = order(OrderStatus::Preparing, &[1, 2, 3]);
        preparing.items[0].done_at = Some(at(1));
        let change = changed(decide(&preparing, &lines(&[2], true), at(2)));
        assert_eq!(change.order.status, OrderStatus::Preparing);
        assert_eq!(change.event, EventKind::OrderUpdated);
    }

    #[test]
    fn restoring_a_line_of_a_ready_order_moves_it_back_to_preparing() {
        let mut ready = order(OrderStatus::Ready, &[1, 2]);
        for line in &mut ready.items {
            line.done_at = Some(at(1));
        }
        ready.ready_at = Some(at(1));
        let change = changed(decide(&ready, &lines(&[2], false), at(4)));
        assert_eq!(change.order.status, OrderStatus::Preparing);
        assert_eq!(change.order.ready_at, None);
        assert_eq!(change.order.items[1].done_at, None);
        assert_eq!(change.lines_done_at, None);
    }

    #[test]
    fn lines_already_as_asked_are_no_change() {
        let mut preparing = order(OrderStatus::Preparing, &[1, 2]);
        preparing.items[0].done_at = Some(at(1));
        assert_eq!(
            decide(&preparing, &lines(&[1], true), at(2)),
            Ok(Decision::Unchanged)
        );
        assert_eq!(
            decide(&preparing, &lines(&[2], false), at(2)),
            Ok(Decision::Unchanged)
        );
        // Only the lines that change are written, and keep their first done_at.
        let change = changed(decide(&preparing, &lines(&[1, 2], true), at(3)));
        assert_eq!(change.lines, vec![2]);
        assert_eq!(change.order.items[0].done_at, Some(at(1)));
    }

    #[test]
    fn lines_of_another_order_or_of_a_final_one_are_refused() {
        let preparing = order(OrderStatus::Preparing, &[1, 2]);
        assert!(matches!(
            decide(&preparing, &lines(&[1, 9], true), at(1)),
            Err(Refusal::Field(_))
        ));
        for status in [OrderStatus::Completed, OrderStatus::Cancelled] {
            assert!(matches!(
                decide(&order(status, &[1]), &lines(&[1], true), at(1)),
                Err(Refusal::Rule(_))
            ));
        }
    }

    #[test]
    fn recall_undoes_the_last_move_within_thirty_minutes() {
        let mut completed = order(OrderStatus::Completed, &[1]);
        completed.items[0].done_at = Some(at(1));
        completed.ready_at = Some(at(2));
        completed.completed_at = Some(at(3));
        completed.status_changed_at = at(3);
        let back = changed(decide(&completed, &KitchenWrite::Recall, at(33)));
        assert_eq!(back.order.status, OrderStatus::Ready);
        assert_eq!(back.order.completed_at, None);
        assert_eq!(back.order.ready_at, Some(at(2)), "ready since it first was");
        assert_eq!(back.order.recalled_at, Some(at(33)));
        assert_eq!(back.order.status_changed_at, at(33));
        assert_eq!(
            back.order.items[0].done_at,
            Some(at(1)),
            "lines keep done_at"
        );
        assert_eq!(back.event, EventKind::OrderStatusChanged);
        let twice = changed(decide(&back.order, &KitchenWrite::Recall, at(40)));
        assert_eq!(twice.order.status, OrderStatus::Preparing);
        assert_eq!(twice.order.ready_at, None);
        let thrice = changed(decide(&twice.order, &KitchenWrite::Recall, at(41)));
        assert_eq!(thrice.order.status, OrderStatus::Confirmed);
        assert!(matches!(
            decide(&thrice.order, &KitchenWrite::Recall, at(42)),
            Err(Refusal::Rule(_))
        ));
        // Past the window.
        assert!(matches!(
            decide(&completed, &KitchenWrite::Recall, at(34)),
            Err(Refusal::Rule(text)) if text.contains("30 minutes")
        ));
    }

    #[test]
    fn all_day_counts_open_lines_largest_first() {
        let grill = shared_types::LineStation {
            id: 7,
            name: "grill".into(),
        };
        let mut first = order(OrderStatus::Preparing, &[1, 2, 3]);
        first.items[0].quantity = 2;
        first.items[0].station = Some(grill.clone());
        first.items[1].name = "Salad".into();
        first.items[1].menu_item_id = 2;
        first.items[2].done_at = Some(at(1));
        first.items[2].station = Some(grill.clone());
        let mut second = order(OrderStatus::Confirmed, &[4]);
        second.items[0].quantity = 3;
        second.items[0].station = Some(grill);
        let counts = all_day(&[first.clone(), second.clone()], None);
        let summary: Vec<(&str, i64)> = counts
            .iter()
            .map(|e| (e.name.as_str(), e.quantity))
            .collect();
        assert_eq!(summary, vec![("Pizza", 5), ("Salad", 1)]);
        let at_grill = all_day(&[first, second], Some(7));
        assert_eq!(at_grill.len(), 1);
        assert_eq!(at_grill[0].quantity, 5);
        assert!(all_day(&[], None).is_empty());
    }

    #[test]
    fn cancelled_orders_cannot_be_recalled() {
        assert!(matches!(
            decide(
                &order(OrderStatus::Cancelled, &[1]),
                &KitchenWrite::Recall,
                at(1)
            ),
            Err(Refusal::Rule(_))
        ));
    }
}
