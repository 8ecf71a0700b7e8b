//! The kitchen's timings (API.md, "Kitchen floor", **Timings**): the window they cover, parsed
//! from the query string, and how their seconds are shown.

use chrono::{DateTime, Duration, Utc};

use super::fields::{FieldErrors, Invalid};

/// The window when neither bound is given: the 24 hours up to now.
pub const DEFAULT_WINDOW_HOURS: i64 = 24;
/// The longest window that may be asked for.
pub const MAX_WINDOW_DAYS: i64 = 31;

/// A half-open window of time, `[from, to)`: `from <= to`, at most 31 days long, both at the
/// microsecond precision PostgreSQL stores (so the bounds answered are the bounds counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsWindow {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

impl StatsWindow {
    /// The window of `?from=&to=`. A missing `to` is `now`; a missing `from` is 24 hours before
    /// `to`. Each malformed bound is reported under its own name; `from` after `to`, or more
    /// than 31 days before it, is reported under `from`.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let to = match to {
            Some(text) => errors.take("to", parse_time(text)),
            None => Some(micros(now)),
        };
        let from = match from {
            Some(text) => errors.take("from", parse_time(text)),
            None => to.map(|to| to - Duration::hours(DEFAULT_WINDOW_HOURS)),
        };
        let (Some(from), Some(to)) = (from, to) else {
            return Err(errors);
        };
        if from > to {
            errors.add("from", "must not be after to");
        } else if to - from > Duration::days(MAX_WINDOW_DAYS) {
            errors.add(
                "from",
                format!("must be at most {MAX_WINDOW_DAYS} days before to"),
            );
        }
        errors.or(Some(StatsWindow { from, to }))
    }

    pub fn from(&self) -> DateTime<Utc> {
        self.from
    }

    pub fn to(&self) -> DateTime<Utc> {
        self.to
    }
}

/// An RFC 3339 time, e.g. `2026-12-01T12:00:00Z` or `2026-12-01T13:00:00+01:00`, as UTC.
/// A `+` sent unencoded in a query string arrives as a space, so an offset ` 01:00` is read
/// as `+01:00` (no RFC 3339 time has a space there).
fn parse_time(text: &str) -> Result<DateTime<Utc>, Invalid> {
    let parsed = DateTime::parse_from_rfc3339(text).or_else(|error| {
        match text
            .len()
            .checked_sub(6)
            .and_then(|at| text.split_at_checked(at))
        {
            Some((time, offset)) if offset.starts_with(' ') => {
                DateTime::parse_from_rfc3339(&format!("{time}+{}", &offset[1..]))
            }
            _ => Err(error),
        }
    });
    parsed
        .map(|time| micros(time.with_timezone(&Utc)))
        .map_err(|_| Invalid::new("must be an RFC 3339 time, such as 2026-12-01T12:00:00Z"))
}

/// `time` truncated to whole microseconds.
fn micros(time: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(time.timestamp_micros()).unwrap_or(time)
}

/// Seconds as the timings show them: rounded to one decimal place (half away from zero).
pub fn tenths(seconds: f64) -> f64 {
    (seconds * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn errors(result: Result<StatsWindow, FieldErrors>) -> Vec<(String, Vec<String>)> {
        result.unwrap_err().into_fields().into_iter().collect()
    }

    const NOW: &str = "2026-12-02T18:00:00.123456789Z";

    #[test]
    fn defaults_to_the_24_hours_up_to_now() {
        let window = StatsWindow::parse(None, None, at(NOW)).unwrap();
        assert_eq!(window.to(), at("2026-12-02T18:00:00.123456Z"));
        assert_eq!(window.from(), at("2026-12-01T18:00:00.123456Z"));
    }

    #[test]
    fn a_missing_bound_is_24_hours_before_to_or_now() {
        let window = StatsWindow::parse(None, Some("2026-11-10T00:00:00Z"), at(NOW)).unwrap();
        assert_eq!(window.from(), at("2026-11-09T00:00:00Z"));
        assert_eq!(window.to(), at("2026-11-10T00:00:00Z"));
        let window = StatsWindow::parse(Some("2026-12-01T00:00:00Z"), None, at(NOW)).unwrap();
        assert_eq!(window.from(), at("2026-12-01T00:00:00Z"));
        assert_eq!(window.to(), at("2026-12-02T18:00:00.123456Z"));
    }

    #[test]
    fn offsets_become_utc_and_precision_stops_at_microseconds() {
        let window = StatsWindow::parse(
            Some("2026-12-01T13:00:00.1234567+01:00"),
            Some("2026-12-01T12:30:00-00:30"),
            at(NOW),
        )
        .unwrap();
        assert_eq!(window.from(), at("2026-12-01T12:00:00.123456Z"));
        assert_eq!(window.to(), at("2026-12-01T13:00:00Z"));
    }

    #[test]
    fn an_unencoded_plus_in_the_offset_is_read_as_plus() {
        let window = StatsWindow::parse(Some("2026-12-01T13:00:00 01:00"), None, at(NOW)).unwrap();
        assert_eq!(window.from(), at("2026-12-01T12:00:00Z"));
    }

    #[test]
    fn at_most_31_days() {
        let exactly = StatsWindow::parse(
            Some("2026-11-01T00:00:00Z"),
            Some("2026-12-02T00:00:00Z"),
            at(NOW),
        );
        assert!(exactly.is_ok());
        let over = StatsWindow::parse(
            Some("2026-11-01T00:00:00Z"),
            Some("2026-12-02T00:00:00.000001Z"),
            at(NOW),
        );
        assert_eq!(
            errors(over),
            [(
                "from".to_owned(),
                vec!["must be at most 31 days before to".to_owned()]
            )]
        );
        // With `to` left to now.
        let over = StatsWindow::parse(Some("2026-10-01T00:00:00Z"), None, at(NOW));
        assert_eq!(errors(over)[0].0, "from");
    }

    #[test]
    fn from_after_to_is_refused_and_an_empty_window_is_not() {
        let after = StatsWindow::parse(
            Some("2026-12-01T00:00:01Z"),
            Some("2026-12-01T00:00:00Z"),
            at(NOW),
        );
        assert_eq!(
            errors(after),
            [("from".to_owned(), vec!["must not be after to".to_owned()])]
        );
        // `to` given before the default `from` would be: still 24 hours before it, no error.
        assert!(StatsWindow::parse(None, Some("2020-01-01T00:00:00Z"), at(NOW)).is_ok());
        let empty = StatsWindow::parse(
            Some("2026-12-01T00:00:00Z"),
            Some("2026-12-01T00:00:00Z"),
            at(NOW),
        )
        .unwrap();
        assert_eq!(empty.from(), empty.to());
    }

    #[test]
    fn each_malformed_bound_is_named() {
        for bad in [
            "",
            "yesterday",
            "2026-12-01",
            "2026-12-01T12:00:00",
            "2026-13-01T00:00:00Z",
        ] {
            let result = StatsWindow::parse(Some(bad), Some("2026-12-01T00:00:00Z"), at(NOW));
            assert_eq!(
                errors(result),
                [(
                    "from".to_owned(),
                    vec!["must be an RFC 3339 time, such as 2026-12-01T12:00:00Z".to_owned()]
                )],
                "{bad:?}"
            );
        }
        let both = StatsWindow::parse(Some("x"), Some("y"), at(NOW));
        let fields: Vec<_> = errors(both).into_iter().map(|(field, _)| field).collect();
        assert_eq!(fields, ["from", "to"]);
    }

    #[test]
    fn seconds_are_shown_to_one_decimal_place() {
        assert_eq!(tenths(900.912671), 900.9);
        assert_eq!(tenths(1379.36), 1379.4);
        assert_eq!(tenths(0.04), 0.0);
        assert_eq!(tenths(60.0), 60.0);
        assert_eq!(
            serde_json::to_string(&tenths(1024.199074)).unwrap(),
            "1024.2"
        );
    }
}
