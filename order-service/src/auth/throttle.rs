//! Guessing limits of `login` (API.md, Auth): after `per_email` failed logins for one email, or
//! `per_address` from one client address, within `window`, `login` answers 429 until enough of
//! them are older than the window, whatever the password. Kept in PostgreSQL, so every instance
//! counts the same failures.
//!
//! An attempt is recorded as a failure *before* its password is checked, in one upsert whose row
//! lock makes concurrent attempts count each other: so a burst of parallel guesses gets no more
//! Argon2 verifications than the limit, not as many as were in flight. A success then clears the
//! email's failures and gives the address its attempt back. Limited attempts are refused on a
//! plain read, before any of that, so they cost no Argon2 work, take no lock, and are not
//! counted themselves (hammering a locked email does not lock out its address).

use std::{
    net::{IpAddr, Ipv6Addr, SocketAddr},
    time::Duration,
};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::{
    error::ApiError,
    storage::login_failures::{self, Failures, Scope},
};

/// How many failed logins are allowed within how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    pub per_email: u32,
    pub per_address: u32,
    pub window: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_email: 10,
            per_address: 100,
            window: Duration::from_secs(15 * 60),
        }
    }
}

impl LoginLimits {
    fn limit(&self, scope: Scope) -> u32 {
        match scope {
            Scope::Email => self.per_email,
            Scope::Address => self.per_address,
        }
    }

    /// How many failure times a key keeps: enough to tell "one more than the limit".
    fn keep(&self) -> u32 {
        self.per_email.max(self.per_address).saturating_add(1)
    }

    /// How long until every limited key of `found` is below `limit + extra` failures within the
    /// window; `None` when none of them is at it. `extra` is 1 when `found` includes the attempt
    /// being judged (it may be the limit-th, not the one after).
    fn wait(&self, found: &[Failures], extra: u32) -> Option<Duration> {
        found
            .iter()
            .filter_map(|key| {
                let limit = self.limit(key.scope);
                over_limit(
                    &key.failed_at,
                    limit.saturating_add(extra),
                    self.window,
                    key.now,
                )?;
                over_limit(&key.failed_at, limit, self.window, key.now)
            })
            .max()
    }
}

/// How long until fewer than `limit` of `failures` lie within `window` before `now`; `None`
/// when that is so already. (With `limit` 0 nothing is ever allowed; the window is the wait.)
pub fn over_limit(
    failures: &[DateTime<Utc>],
    limit: u32,
    window: Duration,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let window = chrono::Duration::from_std(window).ok()?;
    let mut recent: Vec<_> = failures
        .iter()
        .filter(|at| **at > now - window)
        .copied()
        .collect();
    let limit = usize::try_from(limit).ok()?;
    if recent.len() < limit {
        return None;
    }
    if limit == 0 {
        return window.to_std().ok();
    }
    recent.sort_unstable_by(|a, b| b.cmp(a));
    // Below the limit again once the limit-th newest one leaves the window.
    (recent[limit - 1] + window - now).to_std().ok()
}

/// An attempt that may go on to check its password; tell it how that went.
#[must_use = "a successful login must clear its failures"]
pub struct Attempt {
    email: String,
    address: String,
    recorded_at: Option<DateTime<Utc>>,
}

impl Attempt {
    /// The password was right: the email's failures are cleared and this attempt is no failure
    /// of the address. (A wrong one needs nothing: it is on record already.)
    pub async fn succeeded(self, db: &PgPool) -> Result<(), sqlx::Error> {
        match self.recorded_at {
            Some(at) => login_failures::succeeded(db, &self.email, &self.address, at).await,
            None => Ok(()),
        }
    }
}

/// Checks the limits of `email` from `address` and records the attempt; 429 when limited.
pub async fn begin(
    db: &PgPool,
    limits: &LoginLimits,
    email: &str,
    address: &ClientAddress,
) -> Result<Attempt, ApiError> {
    let address = address.key();
    let email = email_key(email);
    let found = login_failures::read(db, email, &address).await?;
    if let Some(wait) = limits.wait(&found, 0) {
        return Err(too_many(wait));
    }
    let recorded =
        login_failures::record(db, email, &address, limits.window, limits.keep()).await?;
    // Only a race with concurrent attempts gets here past the limit.
    if let Some(wait) = limits.wait(&recorded, 1) {
        return Err(too_many(wait));
    }
    Ok(Attempt {
        email: email.to_owned(),
        address,
        recorded_at: recorded.first().map(|key| key.now),
    })
}

/// The email as the limit keys it: no account's email is longer than 254 bytes (the users
/// table's bound), so a longer one counts by its first 254 characters, and the key stays within
/// what a PostgreSQL index row may hold (a 10 kB email would be a 500).
fn email_key(email: &str) -> &str {
    match email.char_indices().nth(254) {
        Some((end, _)) => &email[..end],
        None => email,
    }
}

fn too_many(wait: Duration) -> ApiError {
    metrics::counter!("auth_logins_throttled_total").increment(1);
    // Whole seconds, rounded up: a client that waits as told is never refused again for it.
    let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    ApiError::TooManyRequests {
        detail: format!("Too many failed logins; try again in {seconds} seconds."),
        retry_after_secs: seconds,
    }
}

/// The client's address: the TCP peer's, never a header the client could set. An IPv6 client
/// counts by its /64, the block one subscriber gets, since it can pick any address within it;
/// an IPv4 address mapped into IPv6 counts as that IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

impl ClientAddress {
    pub fn key(&self) -> String {
        match self.network() {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("{v6}/64"),
        }
    }

    /// The address as it counts: an IPv4 address, or an IPv6 one's /64 (the rest zero).
    pub fn network(&self) -> IpAddr {
        match self.0.to_canonical() {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| ClientAddress(peer.ip()))
            // Only a server started without `service_common::net::serve` lacks it.
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no peer address on the request")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(now: DateTime<Utc>, seconds_ago: i64) -> DateTime<Utc> {
        now - chrono::Duration::seconds(seconds_ago)
    }

    #[test]
    fn below_the_limit_nothing_waits_and_at_it_the_limit_th_newest_must_age_out() {
        let now = Utc::now();
        let window = Duration::from_secs(900);
        let failures: Vec<_> = (0..3).map(|i| at(now, 100 * i)).collect(); // 0, 100, 200 s ago
        assert_eq!(over_limit(&failures, 4, window, now), None);
        // 3 within the window, limit 3: the oldest (200 s ago) leaves it in 700 s.
        assert_eq!(
            over_limit(&failures, 3, window, now),
            Some(Duration::from_secs(700))
        );
        // Limit 2: two failures must age out; the second newest (100 s ago) in 800 s.
        assert_eq!(
            over_limit(&failures, 2, window, now),
            Some(Duration::from_secs(800))
        );
    }

    #[test]
    fn failures_older_than_the_window_do_not_count() {
        let now = Utc::now();
        let window = Duration::from_secs(900);
        let failures = [at(now, 10), at(now, 901), at(now, 2000)];
        assert_eq!(over_limit(&failures, 2, window, now), None);
        assert_eq!(
            over_limit(&failures, 1, window, now),
            Some(Duration::from_secs(890))
        );
    }

    #[test]
    fn an_attempt_on_record_may_be_the_limit_th_but_not_the_one_after() {
        let limits = LoginLimits {
            per_email: 2,
            per_address: 100,
            window: Duration::from_secs(900),
        };
        let now = Utc::now();
        let key = |n: i64| Failures {
            scope: Scope::Email,
            failed_at: (0..n).map(|i| at(now, i)).collect(),
            now,
        };
        // Read before recording: 2 failures are the limit.
        assert_eq!(limits.wait(&[key(1)], 0), None);
        assert!(limits.wait(&[key(2)], 0).is_some());
        // Read back after recording this attempt: 2 are fine (this one is the 2nd), 3 are not.
        assert_eq!(limits.wait(&[key(2)], 1), None);
        assert_eq!(
            limits.wait(&[key(3)], 1),
            Some(Duration::from_secs(899)),
            "until the 2nd newest (1 s ago) has aged out"
        );
    }

    #[test]
    fn addresses_count_by_ipv4_address_or_ipv6_slash_64() {
        let key = |ip: &str| ClientAddress(ip.parse().unwrap()).key();
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:bbbb::9"), key("2001:db8:1:2::1"));
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
    }

    #[test]
    fn emails_are_keyed_by_at_most_254_characters() {
        assert_eq!(email_key("chef@luigis.example"), "chef@luigis.example");
        let long = "é".repeat(300);
        assert_eq!(email_key(&long), "é".repeat(254));
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        let ApiError::TooManyRequests {
            retry_after_secs, ..
        } = too_many(Duration::from_millis(1500))
        else {
            panic!("not a 429");
        };
        assert_eq!(retry_after_secs, 2);
        let ApiError::TooManyRequests {
            retry_after_secs, ..
        } = too_many(Duration::ZERO)
        else {
            panic!("not a 429");
        };
        assert_eq!(retry_after_secs, 1);
    }
}
