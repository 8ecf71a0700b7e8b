//! A removed staff member's sockets close with 4403, and every socket closes with 1001 after
//! its maximum lifetime.

use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::helpers::{event, spawn_notifier, spawn_notifier_with, staff_removed};

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

#[tokio::test]
async fn a_socket_is_closed_with_1001_at_its_maximum_lifetime_and_reconnects_with_after() {
    let lifetime = Duration::from_secs(1);
    let notifier = spawn_notifier_with(|config| {
        config.tuning.max_socket_lifetime = lifetime;
        // The reconnect below finds the feed still there, whatever the machine's load.
        config.tuning.unbind_grace = Duration::from_secs(30);
    })
    .await;
    let publisher = notifier.publisher().await;
    let opened = Instant::now();
    let mut client = notifier.connect("luigis").await;
    publisher.publish(&event("luigis", 1, "confirmed")).await;
    assert_eq!(client.next_json().await["seq"], 1);
    assert_eq!(
        client.close_code_within(Duration::from_secs(10)).await,
        Some(1001)
    );
    assert!(opened.elapsed() >= lifetime, "closed early");

    // With a new ticket and `after`, nothing is missed.
    publisher.publish(&event("luigis", 2, "preparing")).await;
    let ticket = notifier.keys.ticket("luigis");
    let mut again = notifier
        .connect_query("luigis", &format!("?ticket={ticket}&after=1"))
        .await;
    assert_eq!(again.next_json().await["seq"], 2);
}
