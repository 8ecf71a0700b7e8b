//! Output: a table for people on stdout, the full results as JSON for machines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use crate::bookkeeping::Status;
use crate::load::{FrameReport, HttpSummary};
use crate::procfs::CpuLine;
use crate::stats::Summary;
use crate::tap::TapReport;

/// A scenario's results.
pub trait Report: Serialize {
    const SCENARIO: &'static str;
    fn table(&self) -> String;
}

/// Prints the table and writes the JSON to `out` (default `loadgen-<scenario>.json`).
pub fn emit<R: Report>(report: &R, out: Option<&Path>) -> anyhow::Result<PathBuf> {
    println!("{}", report.table());
    let path = out.map_or_else(
        || PathBuf::from(format!("loadgen-{}.json", R::SCENARIO)),
        Path::to_path_buf,
    );
    let json = serde_json::to_vec_pretty(report)?;
    std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
    println!("JSON report: {}", path.display());
    Ok(path)
}

/// Columns padded to their widest cell; the first column left-aligned, the others right.
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self {
            rows: vec![header.iter().map(|h| h.to_string()).collect()],
        }
    }

    pub fn row(&mut self, cells: Vec<String>) -> &mut Self {
        self.rows.push(cells);
        self
    }

    pub fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|cell| cell.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for (index, row) in self.rows.iter().enumerate() {
            let line: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(c, cell)| {
                    if c == 0 {
                        format!("{cell:<w$}", w = widths[c])
                    } else {
                        format!("{cell:>w$}", w = widths[c])
                    }
                })
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
            if index == 0 {
                out.push_str(
                    &"-".repeat(widths.iter().sum::<usize>() + 2 * columns.saturating_sub(1)),
                );
                out.push('\n');
            }
        }
        out
    }
}

/// Microseconds as milliseconds with two decimals; "-" for none.
pub fn ms(us: Option<u64>) -> String {
    us.map_or_else(|| "-".into(), |us| format!("{:.2}", us as f64 / 1000.0))
}

pub fn latency_header() -> Table {
    Table::new(&["latency (ms)", "count", "p50", "p95", "p99", "max"])
}

pub fn latency_row(table: &mut Table, name: &str, s: &Summary) {
    table.row(vec![
        name.into(),
        s.count.to_string(),
        ms(s.p50_us),
        ms(s.p95_us),
        ms(s.p99_us),
        ms(s.max_us),
    ]);
}

fn counts(map: &BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return "none".into();
    }
    map.iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn http_section(http: &HttpSummary, seconds: f64) -> String {
    let mut table = latency_header();
    latency_row(&mut table, "http (all)", &http.latency);
    latency_row(&mut table, "http confirm", &http.confirm);
    latency_row(&mut table, "http patch", &http.patch);
    for (kind, writes) in &http.floor {
        latency_row(&mut table, &format!("http {kind}"), writes);
    }
    if let Some(lag) = &http.schedule_lag {
        latency_row(&mut table, "start lag vs rate", lag);
    }
    format!(
        "HTTP: {} requests in {seconds:.1} s = {:.0} req/s; {} orders completed ({:.1}/s); errors: {}\n{}",
        http.requests,
        http.requests_per_sec,
        http.orders_completed,
        http.orders_per_sec,
        counts(&http.errors),
        table.render()
    )
}

pub fn frames_section(frames: &FrameReport) -> String {
    let mut table = Table::new(&["frames", "value"]);
    for (name, value) in [
        (
            "sockets open / requested",
            format!("{} / {}", frames.sockets_opened, frames.sockets_requested),
        ),
        ("events committed", frames.events_committed.to_string()),
        ("frames expected", frames.expected.to_string()),
        ("frames received", frames.received.to_string()),
        ("lost", frames.lost.to_string()),
        ("duplicated", frames.duplicated.to_string()),
        ("out of seq order", frames.out_of_order.to_string()),
        ("unexpected", frames.unexpected.to_string()),
        ("unattributed", frames.unattributed.to_string()),
        ("resyncs", frames.resyncs.to_string()),
        ("heartbeats", frames.heartbeats.to_string()),
        ("handshake errors", counts(&frames.handshake_errors)),
        ("sockets ended early", counts(&frames.sockets_ended_early)),
    ] {
        table.row(vec![name.into(), value]);
    }
    let mut delays = latency_header();
    latency_row(&mut delays, "frame delay (all)", &frames.delay);
    // In lifecycle order, not the map's alphabetical one.
    for status in Status::ALL.map(Status::as_str) {
        if let Some(summary) = frames.delay_by_status.get(status) {
            latency_row(&mut delays, &format!("  {status}"), summary);
        }
    }
    if frames.sent_to_decided.count > 0 {
        latency_row(&mut delays, "sent -> decided", &frames.sent_to_decided);
        latency_row(&mut delays, "decided -> frame", &frames.decided_to_frame);
    }
    latency_row(&mut delays, "ws handshake", &frames.handshake);
    format!("{}\n{}", table.render(), delays.render())
}

pub fn tap_section(tap: &TapReport) -> String {
    let mut hops = latency_header();
    latency_row(&mut hops, "decided -> stamped", &tap.decided_to_stamped);
    latency_row(&mut hops, "stamped -> broker", &tap.stamped_to_broker);
    latency_row(&mut hops, "decided -> broker", &tap.decided_to_broker);
    format!(
        "at loadgen's broker queue (unreadable messages: {})\n{}\n",
        tap.unreadable,
        hops.render()
    )
}

pub fn cpu_section(cpu: &[CpuLine]) -> String {
    let mut table = Table::new(&["process", "pids", "cpu s", "% of a core"]);
    for line in cpu {
        let pids = match line.pids.as_slice() {
            [one] => one.to_string(),
            many => format!("{} processes", many.len()),
        };
        table.row(vec![
            line.process.clone(),
            pids,
            format!("{:.2}", line.cpu_seconds),
            format!("{:.0}", line.cpu_percent),
        ]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let mut table = Table::new(&["name", "n"]);
        table.row(vec!["a".into(), "100".into()]);
        table.row(vec!["longer".into(), "2".into()]);
        assert_eq!(
            table.render(),
            "name      n\n-----------\na       100\nlonger    2\n"
        );
        assert_eq!(ms(Some(1234)), "1.23");
        assert_eq!(ms(None), "-");
    }
}
