//! `loadgen chart`: draws the cost curves of several runs' JSON reports as one SVG, so
//! `docs/BENCHMARKS.md` can show how latency and memory grow with sockets and restaurants.
//!
//! Hand-written SVG (a few lines, log-scaled axes), so the chart needs no plotting library.

use std::{fmt::Write as _, path::PathBuf};

use anyhow::Context;
use clap::Args;
use serde_json::Value;

#[derive(Args, Clone, Debug)]
pub struct ChartArgs {
    /// Fanout reports that make the "by sockets" curves (x: sockets per restaurant).
    #[arg(long, num_args = 1.., required = true)]
    pub sockets: Vec<PathBuf>,
    /// Fanout reports that make the "by restaurants" curves (x: restaurants).
    #[arg(long, num_args = 1..)]
    pub restaurants: Vec<PathBuf>,
    /// Idle reports: notifier memory per open socket.
    #[arg(long, num_args = 1..)]
    pub idle: Vec<PathBuf>,
    /// Where to write the SVG.
    #[arg(long, default_value = "loadgen-curves.svg")]
    pub out: PathBuf,
}

/// The parsed reports, by the curve they belong to.
#[derive(Debug, Default)]
pub struct Reports {
    pub sockets: Vec<Value>,
    pub restaurants: Vec<Value>,
    pub idle: Vec<Value>,
}

/// One curve: a name, a colour and its points (x, y), both positive (axes are logarithmic).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub colour: &'static str,
    pub points: Vec<(f64, f64)>,
}

/// One panel of the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
}

/// A fanout report's frame delay p50 and p99 in ms, notifier CPU (% of a core) and RSS (MiB).
fn fanout_point(report: &Value) -> Option<(f64, f64, f64, Option<f64>)> {
    let ms = |v: &Value| v.as_f64().map(|us| us / 1000.0);
    let delay = &report["frames"]["delay"];
    let notifier_cpu = report["cpu"]
        .as_array()
        .and_then(|lines| {
            lines
                .iter()
                .find(|l| l["process"] == "kitchen-notifier")
                .and_then(|l| l["cpu_percent"].as_f64())
        })
        .unwrap_or(0.0);
    let rss = report["notifier_rss_kib"].as_f64().map(|kib| kib / 1024.0);
    Some((
        ms(&delay["p50_us"])?,
        ms(&delay["p99_us"])?,
        notifier_cpu,
        rss,
    ))
}

/// The panels drawn from these reports.
pub fn panels(reports: &Reports) -> Vec<Panel> {
    let mut by_sockets = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut by_restaurants = (Vec::new(), Vec::new(), Vec::new());
    let mut idle_rss = Vec::new();
    for report in &reports.sockets {
        let x = report["params"]["sockets_per_restaurant"]
            .as_f64()
            .unwrap_or(0.0);
        if let Some((p50, p99, cpu, rss)) = fanout_point(report) {
            by_sockets.0.push((x, p50));
            by_sockets.1.push((x, p99));
            by_sockets.2.push((x, cpu));
            if let Some(rss) = rss {
                by_sockets.3.push((x, rss));
            }
        }
    }
    for report in &reports.restaurants {
        let x = report["params"]["restaurants"].as_f64().unwrap_or(0.0);
        if let Some((p50, p99, cpu, _)) = fanout_point(report) {
            by_restaurants.0.push((x, p50));
            by_restaurants.1.push((x, p99));
            by_restaurants.2.push((x, cpu));
        }
    }
    for report in &reports.idle {
        for step in report["steps"].as_array().into_iter().flatten() {
            if let (Some(open), Some(rss)) =
                (step["open"].as_f64(), step["notifier_rss_kb"].as_f64())
            {
                idle_rss.push((open, rss / 1024.0));
            }
        }
    }
    let series = |name: &str, colour, mut points: Vec<(f64, f64)>| {
        points.retain(|(x, y)| *x > 0.0 && *y > 0.0);
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        Series {
            name: name.into(),
            colour,
            points,
        }
    };
    vec![
        Panel {
            title: "Frame delay vs sockets on one restaurant".into(),
            x_label: "sockets".into(),
            y_label: "ms".into(),
            series: vec![
                series("p50", "#1f77b4", by_sockets.0),
                series("p99", "#d62728", by_sockets.1),
            ],
        },
        Panel {
            title: "Frame delay vs restaurants".into(),
            x_label: "restaurants".into(),
            y_label: "ms".into(),
            series: vec![
                series("p50", "#1f77b4", by_restaurants.0),
                series("p99", "#d62728", by_restaurants.1),
            ],
        },
        Panel {
            title: "Notifier memory vs open sockets".into(),
            x_label: "sockets".into(),
            y_label: "MiB RSS".into(),
            series: vec![
                series("idle sockets", "#2ca02c", idle_rss),
                series("under fanout load", "#9467bd", by_sockets.3),
            ],
        },
        Panel {
            title: "Notifier CPU vs sockets / restaurants".into(),
            x_label: "sockets (one restaurant) or restaurants".into(),
            y_label: "% of a core".into(),
            series: vec![
                series("by sockets", "#ff7f0e", by_sockets.2),
                series("by restaurants", "#8c564b", by_restaurants.2),
            ],
        },
    ]
}

const PANEL_W: f64 = 460.0;
const PANEL_H: f64 = 300.0;
const MARGIN: (f64, f64, f64, f64) = (60.0, 20.0, 40.0, 45.0); // left, right, top, bottom

/// Powers of ten covering `lo..=hi`, at least one decade.
fn decades(lo: f64, hi: f64) -> (f64, f64) {
    let lo = 10f64.powf(lo.log10().floor());
    let hi = 10f64.powf(hi.log10().ceil()).max(lo * 10.0);
    (lo, hi)
}

/// Where `v` lands on an axis from `lo` to `hi` (log scale) drawn over `length` pixels.
pub fn log_position(v: f64, lo: f64, hi: f64, length: f64) -> f64 {
    (v.log10() - lo.log10()) / (hi.log10() - lo.log10()) * length
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn tick_label(v: f64) -> String {
    if v >= 1000.0 {
        format!("{}k", v / 1000.0)
    } else {
        format!("{v}")
    }
}

fn render_panel(svg: &mut String, panel: &Panel, origin: (f64, f64)) {
    let (left, right, top, bottom) = MARGIN;
    let (w, h) = (PANEL_W - left - right, PANEL_H - top - bottom);
    let (x0, y0) = (origin.0 + left, origin.1 + top);
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" font-size="14" font-weight="bold">{}</text>"#,
        x0,
        origin.1 + 22.0,
        escape(&panel.title)
    );
    let points: Vec<(f64, f64)> = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .collect();
    if points.is_empty() {
        let _ = writeln!(
            svg,
            r##"<text x="{}" y="{}" font-size="12" fill="#888">no runs given</text>"##,
            x0 + 10.0,
            y0 + h / 2.0
        );
        return;
    }
    let fold = |f: fn(f64, f64) -> f64, pick: fn(&(f64, f64)) -> f64, start| {
        points.iter().map(pick).fold(start, f)
    };
    let (x_lo, x_hi) = decades(
        fold(f64::min, |p| p.0, f64::MAX),
        fold(f64::max, |p| p.0, 0.0),
    );
    let (y_lo, y_hi) = decades(
        fold(f64::min, |p| p.1, f64::MAX),
        fold(f64::max, |p| p.1, 0.0),
    );
    let _ = writeln!(
        svg,
        r##"<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#444"/>"##
    );
    let mut tick = x_lo;
    while tick <= x_hi * 1.0001 {
        let x = x0 + log_position(tick, x_lo, x_hi, w);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{y0}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"##,
            y0 + h,
            y0 + h + 15.0,
            tick_label(tick)
        );
        tick *= 10.0;
    }
    let mut tick = y_lo;
    while tick <= y_hi * 1.0001 {
        let y = y0 + h - log_position(tick, y_lo, y_hi, h);
        let _ = writeln!(
            svg,
            r##"<line x1="{x0}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
            x0 + w,
            x0 - 5.0,
            y + 4.0,
            tick_label(tick)
        );
        tick *= 10.0;
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">{}</text>"#,
        x0 + w / 2.0,
        y0 + h + 32.0,
        escape(&panel.x_label)
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle" transform="rotate(-90 {:.1} {:.1})">{}</text>"#,
        origin.0 + 15.0,
        y0 + h / 2.0,
        origin.0 + 15.0,
        y0 + h / 2.0,
        escape(&panel.y_label)
    );
    for (index, series) in panel.series.iter().enumerate() {
        if series.points.is_empty() {
            continue;
        }
        let coordinates: Vec<String> = series
            .points
            .iter()
            .map(|(x, y)| {
                format!(
                    "{:.1},{:.1}",
                    x0 + log_position(*x, x_lo, x_hi, w),
                    y0 + h - log_position(*y, y_lo, y_hi, h)
                )
            })
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>"#,
            series.colour,
            coordinates.join(" ")
        );
        for point in &coordinates {
            let (cx, cy) = point.split_once(',').unwrap_or(("0", "0"));
            let _ = writeln!(
                svg,
                r#"<circle cx="{cx}" cy="{cy}" r="3" fill="{}"/>"#,
                series.colour
            );
        }
        let legend_y = y0 + 14.0 + index as f64 * 15.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{}" stroke-width="2"/><text x="{:.1}" y="{:.1}" font-size="11">{}</text>"#,
            x0 + 8.0,
            legend_y - 4.0,
            x0 + 26.0,
            legend_y - 4.0,
            series.colour,
            x0 + 30.0,
            legend_y,
            escape(&series.name)
        );
    }
}

/// The whole chart: panels two to a row.
pub fn render(panels: &[Panel]) -> String {
    let rows = panels.len().div_ceil(2).max(1);
    let (width, height) = (PANEL_W * 2.0, PANEL_H * rows as f64);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
"#
    );
    for (index, panel) in panels.iter().enumerate() {
        let origin = ((index % 2) as f64 * PANEL_W, (index / 2) as f64 * PANEL_H);
        render_panel(&mut svg, panel, origin);
    }
    svg.push_str("</svg>\n");
    svg
}

pub fn run(args: &ChartArgs) -> anyhow::Result<PathBuf> {
    let read = |paths: &[PathBuf]| {
        paths
            .iter()
            .map(|path| {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                serde_json::from_str(&text)
                    .with_context(|| format!("{} is not JSON", path.display()))
            })
            .collect::<anyhow::Result<Vec<Value>>>()
    };
    let reports = Reports {
        sockets: read(&args.sockets)?,
        restaurants: read(&args.restaurants)?,
        idle: read(&args.idle)?,
    };
    std::fs::write(&args.out, render(&panels(&reports)))
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    Ok(args.out.clone())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fanout(restaurants: u64, sockets: u64, p50_us: u64, p99_us: u64) -> Value {
        json!({
            "scenario": "fanout",
            "params": {"restaurants": restaurants, "sockets_per_restaurant": sockets},
            "frames": {"delay": {"p50_us": p50_us, "p99_us": p99_us}},
            "cpu": [{"process": "kitchen-notifier", "cpu_percent": 12.5}],
            "notifier_rss_kib": 20480
        })
    }

    #[test]
    fn runs_land_on_their_curves_sorted_by_x() {
        let reports = Reports {
            sockets: vec![fanout(1, 500, 12_000, 55_000), fanout(1, 50, 5_000, 38_000)],
            restaurants: vec![fanout(100, 5, 5_100, 47_000), fanout(1, 5, 3_000, 6_000)],
            idle: vec![json!({"scenario": "idle", "steps": [
                {"open": 1000, "notifier_rss_kb": 27_648},
                {"open": 5000, "notifier_rss_kb": 64_512}]})],
        };
        let panels = panels(&reports);
        assert_eq!(panels.len(), 4);
        assert_eq!(panels[0].series[0].points, vec![(50.0, 5.0), (500.0, 12.0)]);
        assert_eq!(
            panels[0].series[1].points,
            vec![(50.0, 38.0), (500.0, 55.0)]
        );
        assert_eq!(panels[1].series[1].points, vec![(1.0, 6.0), (100.0, 47.0)]);
        assert_eq!(
            panels[2].series[0].points,
            vec![(1000.0, 27.0), (5000.0, 63.0)]
        );
        assert_eq!(
            panels[2].series[1].points,
            vec![(50.0, 20.0), (500.0, 20.0)]
        );
        assert_eq!(
            panels[3].series[0].points,
            vec![(50.0, 12.5), (500.0, 12.5)]
        );
        assert_eq!(panels[3].series[1].points, vec![(1.0, 12.5), (100.0, 12.5)]);
    }

    #[test]
    fn log_axes_put_decades_at_equal_steps() {
        assert_eq!(decades(3.2, 480.0), (1.0, 1000.0));
        assert_eq!(decades(50.0, 50.0), (10.0, 100.0));
        assert!((log_position(10.0, 1.0, 1000.0, 300.0) - 100.0).abs() < 1e-9);
        assert!((log_position(100.0, 1.0, 1000.0, 300.0) - 200.0).abs() < 1e-9);
    }

    #[test]
    fn the_svg_has_a_line_per_curve_with_data_and_a_note_for_empty_panels() {
        let svg = render(&panels(&Reports {
            sockets: vec![fanout(1, 50, 5_000, 38_000), fanout(1, 500, 12_000, 55_000)],
            ..Reports::default()
        }));
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        // p50, p99 on panel 1; memory under load and CPU by sockets: 4 curves with points.
        assert_eq!(svg.matches("<polyline").count(), 4);
        assert_eq!(svg.matches("no runs given").count(), 1, "restaurants panel");
    }
}
