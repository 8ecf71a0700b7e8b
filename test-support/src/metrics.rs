//! Reading values out of a Prometheus text exposition (`GET /metrics`).

/// The value of the sample `series` (a metric name, with its labels as rendered, e.g.
/// `ws_handshakes_total{result="101"}`), if the text has it.
pub fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok()).flatten()
        })
}

/// Like [`value`], but fails the test, showing the text, if the sample is missing.
#[track_caller]
pub fn expect_value(text: &str, series: &str) -> f64 {
    match value(text, series) {
        Some(value) => value,
        None => panic!("{series} missing from:\n{text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::value;

    #[test]
    fn finds_samples_by_name_and_labels() {
        let text = "# TYPE ws_connections gauge\nws_connections 3\n\
                    ws_connections_peak 9\n\
                    ws_handshakes_total{result=\"101\"} 2\nws_handshakes_total{result=\"401\"} 1\n";
        assert_eq!(value(text, "ws_connections"), Some(3.0));
        assert_eq!(
            value(text, "ws_handshakes_total{result=\"401\"}"),
            Some(1.0)
        );
        assert_eq!(value(text, "ws_handshakes_total"), None);
        assert_eq!(value(text, "ws_conn"), None);
    }
}
