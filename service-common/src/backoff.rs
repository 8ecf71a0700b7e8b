use std::time::Duration;

/// Capped exponential backoff with jitter: attempt 0 waits about `base`, each further attempt
/// doubles that, never beyond `max`; the wait is drawn from the upper half of the cap, so
/// instances that lost a dependency together do not all return at the same instant.
pub fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    let cap = base.saturating_mul(1u32 << attempt.min(16)).min(max);
    let jitter = f64::from(getrandom::u32().unwrap_or(u32::MAX / 2)) / f64::from(u32::MAX);
    cap.mul_f64(0.5 + jitter / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_is_capped() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(5);
        assert!(backoff(0, base, max) <= base);
        let third = backoff(3, base, max);
        assert!(third >= Duration::from_millis(400) && third <= Duration::from_millis(800));
        for attempt in [10, 20, 1000] {
            let wait = backoff(attempt, base, max);
            assert!(wait <= max && wait >= max / 2, "{wait:?}");
        }
    }
}
