//! A per-key rate limit of so many requests per minute, in memory: the generic cell rate
//! algorithm (a token bucket kept as one instant per key). A key may spend a whole minute's
//! allowance at once, then one more every `60 s / per_minute`; a refused request is told
//! exactly how long until it would pass.
//!
//! Plain state with the time passed in, so every rule is unit-tested without a clock. Memory
//! stays bounded under a caller that sprays keys: a key whose bucket has refilled is the same
//! as no entry and is swept away once a minute, and at most `max_keys` are tracked at all
//! (beyond that a new key passes untracked, so a flood of addresses cannot lock everyone out;
//! the per-restaurant limit still holds it).

use std::{
    collections::HashMap,
    hash::Hash,
    net::IpAddr,
    num::NonZeroU32,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use tokio::time::Instant;
use uuid::Uuid;

/// The limit's window: rates are per minute.
pub const WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct RateLimiter<K> {
    /// Time one request "costs": the window divided by the rate.
    interval: Duration,
    /// How far ahead of now a key's debt may run: a full window less one request.
    tolerance: Duration,
    max_keys: usize,
    /// Per key, when its bucket is full again (its "theoretical arrival time").
    full_at: HashMap<K, Instant>,
    next_sweep: Option<Instant>,
}

impl<K: Hash + Eq> RateLimiter<K> {
    pub fn new(per_minute: NonZeroU32, max_keys: usize) -> Self {
        let interval = WINDOW / per_minute.get();
        Self {
            interval,
            tolerance: WINDOW.saturating_sub(interval),
            max_keys,
            full_at: HashMap::new(),
            next_sweep: None,
        }
    }

    /// Counts one request of `key` at `now`; `Err(wait)` when it is over the limit, `wait`
    /// being how long until the next one passes. A refused request costs nothing.
    pub fn check(&mut self, key: K, now: Instant) -> Result<(), Duration> {
        self.sweep(now);
        let owed_until = match self.full_at.get(&key) {
            Some(full_at) if *full_at > now => *full_at,
            Some(_) => now,
            None if self.full_at.len() >= self.max_keys => return Ok(()),
            None => now,
        };
        let ahead = owed_until - now;
        if ahead > self.tolerance {
            return Err(ahead - self.tolerance);
        }
        self.full_at.insert(key, owed_until + self.interval);
        Ok(())
    }

    /// How many keys are tracked.
    pub fn tracked(&self) -> usize {
        self.full_at.len()
    }

    /// Once per window, forgets the keys whose bucket is full again.
    fn sweep(&mut self, now: Instant) {
        if self.next_sweep.is_some_and(|at| now < at) {
            return;
        }
        self.full_at.retain(|_, full_at| *full_at > now);
        self.next_sweep = Some(now + WINDOW);
    }
}

/// Keys one limiter tracks at most: ~50 bytes each, so a few MiB.
pub const MAX_TRACKED_KEYS: usize = 100_000;

/// The confirm route's two limits (either may be off), shared by its requests. Per instance:
/// with N instances behind a balancer, a client may get N times the rate.
#[derive(Debug)]
pub struct ConfirmLimits {
    by_address: Option<Mutex<RateLimiter<IpAddr>>>,
    by_restaurant: Option<Mutex<RateLimiter<Uuid>>>,
}

impl ConfirmLimits {
    pub fn new(per_address: Option<NonZeroU32>, per_restaurant: Option<NonZeroU32>) -> Self {
        Self {
            by_address: per_address
                .map(|rate| Mutex::new(RateLimiter::new(rate, MAX_TRACKED_KEYS))),
            by_restaurant: per_restaurant
                .map(|rate| Mutex::new(RateLimiter::new(rate, MAX_TRACKED_KEYS))),
        }
    }

    /// One confirm from `network` (an address as `ClientAddress::network` counts it).
    pub fn check_address(&self, network: IpAddr, now: Instant) -> Result<(), Duration> {
        check(&self.by_address, network, now)
    }

    /// One new order at `restaurant`.
    pub fn check_restaurant(&self, restaurant: Uuid, now: Instant) -> Result<(), Duration> {
        check(&self.by_restaurant, restaurant, now)
    }
}

fn check<K: Hash + Eq>(
    limiter: &Option<Mutex<RateLimiter<K>>>,
    key: K,
    now: Instant,
) -> Result<(), Duration> {
    match limiter {
        // A panic elsewhere cannot leave the map half-written (`check` has no partial state),
        // so a poisoned lock is still good to use.
        Some(limiter) => limiter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .check(key, now),
        None => Ok(()),
    }
}

/// Whole seconds to wait, rounded up and at least 1, as `Retry-After` says it: a client that
/// waits as told is not refused again for the same reason.
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_minute: u32) -> RateLimiter<&'static str> {
        RateLimiter::new(NonZeroU32::new(per_minute).unwrap(), 1000)
    }

    #[test]
    fn a_minute_s_allowance_passes_at_once_and_the_next_waits_for_one_interval() {
        let mut limits = limiter(6); // one per 10 s
        let start = Instant::now();
        for _ in 0..6 {
            assert_eq!(limits.check("a", start), Ok(()));
        }
        assert_eq!(limits.check("a", start), Err(Duration::from_secs(10)));
        assert_eq!(
            limits.check("a", start + Duration::from_secs(4)),
            Err(Duration::from_secs(6)),
            "the wait shrinks as time passes"
        );
        assert_eq!(limits.check("a", start + Duration::from_secs(10)), Ok(()));
        assert!(limits.check("a", start + Duration::from_secs(10)).is_err());
    }

    #[test]
    fn keys_are_limited_apart() {
        let mut limits = limiter(1);
        let now = Instant::now();
        assert_eq!(limits.check("a", now), Ok(()));
        assert!(limits.check("a", now).is_err());
        assert_eq!(limits.check("b", now), Ok(()));
    }

    #[test]
    fn the_rate_holds_over_time() {
        let mut limits = limiter(60); // one per second
        let start = Instant::now();
        let mut passed = 0;
        // Ten attempts a second for five minutes.
        for tenth in 0..3000 {
            if limits
                .check("a", start + Duration::from_millis(100 * tenth))
                .is_ok()
            {
                passed += 1;
            }
        }
        // The first minute's allowance plus one a second after it.
        assert!((60 + 299..=60 + 301).contains(&passed), "{passed}");
    }

    #[test]
    fn refused_requests_cost_nothing() {
        let mut limits = limiter(2);
        let start = Instant::now();
        limits.check("a", start).unwrap();
        limits.check("a", start).unwrap();
        for second in 1..30 {
            assert!(
                limits
                    .check("a", start + Duration::from_secs(second))
                    .is_err()
            );
        }
        assert_eq!(limits.check("a", start + Duration::from_secs(30)), Ok(()));
    }

    #[test]
    fn idle_keys_are_forgotten_once_their_bucket_is_full() {
        let mut limits = limiter(60);
        let start = Instant::now();
        for key in ["a", "b", "c"] {
            limits.check(key, start).unwrap();
        }
        assert_eq!(limits.tracked(), 3);
        // "a" stays busy; "b" and "c" are full again a second later.
        let later = start + WINDOW;
        limits.check("a", later).unwrap();
        assert_eq!(limits.tracked(), 1);
    }

    #[test]
    fn beyond_max_keys_new_keys_pass_untracked_and_known_ones_stay_limited() {
        let mut limits = RateLimiter::new(NonZeroU32::MIN, 2);
        let now = Instant::now();
        limits.check("a", now).unwrap();
        limits.check("b", now).unwrap();
        assert_eq!(limits.check("c", now), Ok(()));
        assert_eq!(limits.check("c", now), Ok(()), "untracked");
        assert_eq!(limits.tracked(), 2);
        assert!(limits.check("a", now).is_err());
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
