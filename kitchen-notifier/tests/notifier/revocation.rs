//! A removed staff member's sockets close with 4403.

use std::time::Duration;

use uuid::Uuid;

use crate::helpers::{event, spawn_notifier, staff_removed};

const STAFF_ACCESS_REMOVED: u16 = 4403;

#[tokio::test]
async fn a_staff_removal_closes_that_users_sockets_there_and_no_other() {
    let notifier = spawn_notifier().await;
    let (cook, colleague) = (Uuid::new_v4(), Uuid::new_v4());
    let mut tablet = notifier.connect_as("luigis", cook).await;
    let mut phone = notifier.connect_as("luigis", cook).await;
    let mut cook_elsewhere = notifier.connect_as("marios", cook).await;
    let mut other = notifier.connect_as("luigis", colleague).await;
    let publisher = notifier.publisher().await;
    publisher.publish(&event("luigis", 1, "confirmed")).await;
    for client in [&mut tablet, &mut phone, &mut other] {
        assert_eq!(client.next_json().await["seq"], 1);
    }

    // Issued before the removal (tickets count whole seconds, as `iat` does).
    let old_ticket = notifier.keys.ticket_of("luigis", cook);
    // A malformed message on the staff key is dropped, and breaks nothing.
    publisher
        .publish_raw("staff.luigis.removed", b"{\"event\":\"staff.removed\"}")
        .await;
    let removal = staff_removed("luigis", cook);
    publisher
        .publish_raw("staff.luigis.removed", removal.to_string().as_bytes())
        .await;
    let limit = Duration::from_secs(10);
    assert_eq!(
        tablet.close_code_within(limit).await,
        Some(STAFF_ACCESS_REMOVED)
    );
    assert_eq!(
        phone.close_code_within(limit).await,
        Some(STAFF_ACCESS_REMOVED)
    );

    // The colleague's socket and the cook's socket at another restaurant stay, and are fed.
    publisher.publish(&event("luigis", 2, "preparing")).await;
    let frame = other.next_json().await;
    assert_eq!(frame["seq"], 2, "{frame}");
    publisher.publish(&event("marios", 1, "confirmed")).await;
    assert_eq!(cook_elsewhere.next_json().await["seq"], 1);

    // The cook's ticket from before the removal opens nothing more; another user's does.
    let (status, body) = notifier
        .refused("luigis", &format!("?ticket={old_ticket}"))
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(body["detail"].is_string());
    notifier.connect_as("luigis", Uuid::new_v4()).await;
}
