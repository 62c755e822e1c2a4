//! Plots: `split.svg` (observed share of the new version per second, in %, with its 95% Wilson
//! band, against the aligned schedule when one was given, with the deployment's start,
//! completion and rollback marked) and `latency.svg` (p50 and p99 per version per second).
//! Version labels are shown escaped ([`crate::printable`]): any bytes keep the SVG well-formed.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use rollout::stats::wilson_interval;

use super::Inputs;
use super::csv::per_second;
use crate::printable::{printable, printable_cut};
use crate::summary::seconds;

const SIZE: (u32, u32) = (960, 480);
/// Characters of a version label shown in a plot.
const LABEL_WIDTH: usize = 40;
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];

type DrawResult = Result<(), String>;

fn fallback(title: &str, error: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\"><text x=\"10\" y=\"20\">{}: {}</text></svg>\n",
        SIZE.0,
        SIZE.1,
        super::junit::escape(title),
        super::junit::escape(error)
    )
}

/// The split plot.
pub fn split_svg(inputs: &Inputs<'_>) -> String {
    let mut svg = String::new();
    let result = draw_split(&mut svg, inputs);
    match result {
        Ok(()) => svg,
        Err(e) => fallback("split", &e),
    }
}

/// A version label as a plot shows it: escaped ([`crate::printable`]) and cut.
fn label(version: &str) -> String {
    printable_cut(version, LABEL_WIDTH)
}

/// A vertical line at `x` seconds across the share axis, with its legend entry.
fn marker<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    x: f64,
    color: RGBColor,
    text: String,
) -> DrawResult {
    chart
        .draw_series(LineSeries::new(
            [(x, 0.0), (x, 100.0)],
            color.stroke_width(2),
        ))
        .map_err(|e| e.to_string())?
        .label(text)
        .legend(move |(x, y)| {
            PathElement::new([(x + 8, y - 6), (x + 8, y + 6)], color.stroke_width(2))
        });
    Ok(())
}

fn draw_split(svg: &mut String, inputs: &Inputs<'_>) -> DrawResult {
    let report = inputs.report;
    let tl = &report.timeline;
    let rows = per_second(tl);
    let x_max = (rows.len() as f64).max(report.duration_secs).max(1.0);
    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let configured = configured_steps(report, x_max);
    let against = match (configured.is_some(), inputs.schedule) {
        (true, Some(s)) => format!(
            " vs the alias's weight and schedule {}",
            printable(s.name())
        ),
        (true, None) => " vs the alias's weight".to_owned(),
        (false, Some(s)) => format!(" vs schedule {}", printable(s.name())),
        (false, None) => String::new(),
    };
    let title = match &report.new_version {
        Some(v) => format!(
            "Share of version {} (observed, 95% band){against}",
            label(v)
        ),
        None => "Share of the new version: no second version seen".to_owned(),
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(0f64..x_max, 0f64..102f64)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("seconds since the first request")
        .y_desc("share of the new version")
        .y_label_formatter(&|v| format!("{v:.0}%"))
        .draw()
        .map_err(|e| e.to_string())?;
    let new_index = report
        .new_version
        .as_ref()
        .and_then(|n| tl.versions.iter().position(|v| v == n));
    if let Some(i) = new_index {
        let points: Vec<(f64, f64, f64, f64)> = rows
            .iter()
            .enumerate()
            .filter_map(|(sec, row)| {
                let n: u64 = row.iter().sum();
                (n > 0).then(|| {
                    let (lo, hi) = wilson_interval(row[i], n, 0.95);
                    (
                        sec as f64,
                        row[i] as f64 * 100.0 / n as f64,
                        lo * 100.0,
                        hi * 100.0,
                    )
                })
            })
            .collect();
        let band = PALETTE[0].mix(0.2).filled();
        chart
            .draw_series(
                points
                    .iter()
                    .map(|&(s, _, lo, hi)| Rectangle::new([(s, lo), (s + 1.0, hi)], band)),
            )
            .map_err(|e| e.to_string())?
            .label("95% interval")
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], band));
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|&(s, p, _, _)| (s + 0.5, p)),
                PALETTE[0].stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label("observed")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], PALETTE[0].stroke_width(2)));
    }
    if let (Some(schedule), Some(start)) = (inputs.schedule, report.deployment_start) {
        let steps = 600;
        let expected = (0..=steps).map(|k| {
            let t = x_max * f64::from(k) / f64::from(steps);
            (t, schedule.expected_share(t - start) * 100.0)
        });
        chart
            .draw_series(LineSeries::new(expected, PALETTE[1].stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(format!("schedule {}", printable(schedule.name())))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], PALETTE[1].stroke_width(2)));
    }
    if let Some(points) = configured {
        chart
            .draw_series(LineSeries::new(points, PALETTE[5].stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label("alias's weight (GetAlias)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], PALETTE[5].stroke_width(2)));
    }
    let events = [
        (report.deployment_start, PALETTE[2], "deployment start"),
        (report.completed_at, PALETTE[3], "completed"),
        (report.rollback_at, PALETTE[4], "rollback"),
    ];
    for (at, color, name) in events {
        if let Some(at) = at {
            marker(&mut chart, at, color, format!("{name} {}", seconds(at)))?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// The new version's configured share over the run as a step line (`--alias`: each change the
/// poller saw, at its best estimate, held until the next), in %; `None` without polls or without
/// a new version.
fn configured_steps(report: &rollout::Report, x_max: f64) -> Option<Vec<(f64, f64)>> {
    let new = report.new_version.as_deref()?;
    let changes = &report.control_plane.as_ref()?.alias.as_ref()?.changes;
    let first = changes.first()?;
    let mut points = vec![(first.at.max(0.0), first.routing.share_of(new) * 100.0)];
    for c in &changes[1..] {
        let before = points.last().map_or(0.0, |p| p.1);
        points.push((c.at, before));
        points.push((c.at, c.routing.share_of(new) * 100.0));
    }
    let last = points.last().map_or(0.0, |p| p.1);
    points.push((x_max.max(first.at), last));
    Some(points)
}

/// The latency plot.
pub fn latency_svg(inputs: &Inputs<'_>) -> String {
    let mut svg = String::new();
    let result = draw_latency(&mut svg, inputs);
    match result {
        Ok(()) => svg,
        Err(e) => fallback("latency", &e),
    }
}

/// `(second, p50 ms, p99 ms)`.
type LatencyPoint = (f64, f64, f64);

/// `(version, [(second, p50 ms, p99 ms)])`: per-second records, or whole-run lines for a merged
/// report.
fn latency_series(inputs: &Inputs<'_>) -> Vec<(String, Vec<LatencyPoint>)> {
    let report = inputs.report;
    report
        .versions
        .iter()
        .map(|(version, v)| {
            let mut points: Vec<(f64, f64, f64)> = inputs
                .intervals
                .iter()
                .filter(|i| &i.version == version)
                .map(|i| (f64::from(i.second) + 0.5, i.p50_ms, i.p99_ms))
                .collect();
            if points.is_empty() && v.requests > 0 {
                let (p50, p99) = (v.latency_ms.p50, v.latency_ms.p99);
                points = vec![(0.0, p50, p99), (report.duration_secs.max(1.0), p50, p99)];
            }
            (version.clone(), points)
        })
        .collect()
}

fn draw_latency(svg: &mut String, inputs: &Inputs<'_>) -> DrawResult {
    let report = inputs.report;
    let series = latency_series(inputs);
    let x_max = report.duration_secs.max(1.0);
    let y_max = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|&(_, _, p99)| p99))
        .fold(1.0f64, f64::max)
        * 1.1;
    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Latency per version (corrected): p50 thin, p99 thick",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..x_max, 0f64..y_max)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("seconds since the first request")
        .y_desc("milliseconds")
        .draw()
        .map_err(|e| e.to_string())?;
    for (k, (version, points)) in series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|&(t, p50, _)| (t, p50)),
                color.stroke_width(1),
            ))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|&(t, _, p99)| (t, p99)),
                color.stroke_width(3),
            ))
            .map_err(|e| e.to_string())?
            .label(format!("version {}", label(version)))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color.stroke_width(3)));
    }
    if !series.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::tests_support::report_with;

    fn hostile_inputs() -> rollout::Report {
        let hostile = "2\u{1b}[31m\u{0}\u{7}\r\n<&\u{ffff}\u{9b}";
        let mut tl = rollout::Timeline::new(0.1);
        for s in 0..10 {
            for k in 0..10 {
                tl.record(f64::from(s) + 0.05, if k < 3 { hostile } else { "1" });
            }
        }
        let mut report = report_with(tl, Some("1"), Some(hostile), Some(2.0), 10.0);
        for v in ["1", hostile] {
            report.versions.insert(v.to_owned(), Default::default());
        }
        report.versions.values_mut().for_each(|v| {
            v.requests = 10;
            v.latency_ms.p50 = 1.0;
            v.latency_ms.p99 = 2.0;
        });
        report
    }

    #[test]
    fn plots_stay_well_formed_for_any_version_bytes() {
        let report = hostile_inputs();
        let inputs = Inputs {
            report: &report,
            schedule: None,
            histograms: Default::default(),
            seconds: &[],
            intervals: &[],
        };
        for svg in [split_svg(&inputs), latency_svg(&inputs)] {
            let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{e}: {svg}"));
            let text: String = doc.descendants().filter_map(|n| n.text()).collect();
            assert!(
                text.contains("2\\u{1b}[31m"),
                "the label is shown escaped: {text}"
            );
        }
    }

    #[test]
    fn split_plot_says_what_it_shows() {
        let report = hostile_inputs();
        let mut inputs = Inputs {
            report: &report,
            schedule: None,
            histograms: Default::default(),
            seconds: &[],
            intervals: &[],
        };
        let text = |svg: &str| -> String {
            let doc = roxmltree::Document::parse(svg).unwrap();
            doc.descendants()
                .filter_map(|n| n.text())
                .collect::<Vec<_>>()
                .join("|")
        };
        let svg = split_svg(&inputs);
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let band_rects = doc
            .descendants()
            .filter(|n| n.has_tag_name("rect") && n.attribute("fill") == Some("#1F77B4"))
            .count();
        assert_eq!(
            band_rects,
            10 + 1,
            "one per second with data, one legend swatch"
        );
        let without = text(&svg);
        assert!(
            !without.contains("schedule"),
            "no schedule was given: {without}"
        );
        assert!(without.contains("deployment start"), "{without}");
        assert!(
            without.contains("100%") && without.contains("50%"),
            "% axis: {without}"
        );
        let schedule = rollout::schedule::Schedule::parse("canary:30%:5s").unwrap();
        inputs.schedule = Some(&schedule);
        let mut completed = hostile_inputs();
        completed.completed_at = Some(7.0);
        completed.rollback_at = Some(9.0);
        inputs.report = &completed;
        let with = text(&split_svg(&inputs));
        for label in [
            "vs schedule canary",
            "deployment start",
            "completed",
            "rollback",
        ] {
            assert!(with.contains(label), "{label} in {with}");
        }
    }

    #[test]
    fn split_plot_draws_observed_band_and_schedule() {
        let mut tl = rollout::Timeline::new(0.1);
        for s in 0..20 {
            for k in 0..10 {
                let new = if s >= 5 && k < 3 { "2" } else { "1" };
                tl.record(f64::from(s) + 0.05, new);
            }
        }
        let report = report_with(tl, Some("1"), Some("2"), Some(5.0), 20.0);
        let schedule = rollout::schedule::Schedule::parse("canary:30%:10s").unwrap();
        let inputs = Inputs {
            report: &report,
            schedule: Some(&schedule),
            histograms: Default::default(),
            seconds: &[],
            intervals: &[],
        };
        let svg = split_svg(&inputs);
        assert!(svg.starts_with("<svg"), "{}", &svg[..200.min(svg.len())]);
        assert!(
            svg.contains("observed") && svg.contains("schedule canary"),
            "legend present"
        );
        assert!(
            svg.matches("<rect").count() >= 20,
            "one band rectangle per second"
        );
        let latency = latency_svg(&inputs);
        assert!(latency.starts_with("<svg"));
    }

    #[test]
    fn split_plot_draws_the_alias_s_weight_as_steps() {
        use rollout::configured::{Routing, RoutingChange};
        use rollout::control_plane::{AliasReport, ControlPlaneReport};
        let mut tl = rollout::Timeline::new(0.1);
        for s in 0..20 {
            for k in 0..10 {
                tl.record(f64::from(s) + 0.05, if s >= 5 && k < 3 { "2" } else { "1" });
            }
        }
        let mut report = report_with(tl, Some("1"), Some("2"), Some(5.0), 20.0);
        let change = |at: f64, weight: f64| RoutingChange {
            at,
            not_before: at - 0.1,
            not_after: at + 0.1,
            routing: Routing {
                primary: "1".into(),
                additional: [("2".to_owned(), weight)].into(),
            },
            revision_id: None,
        };
        report.control_plane = Some(ControlPlaneReport {
            alias: Some(AliasReport {
                alias_arn: "arn:aws:lambda:us-east-1:123456789012:function:hello:live".into(),
                poll_secs: 1.0,
                polls: 20,
                changes: vec![change(0.5, 0.0), change(5.0, 0.3)],
                seen_at_unix_ms: vec![],
                gaps: vec![],
                max_answer_secs: 0.0,
                max_send_delay_secs: 0.0,
            }),
            ..ControlPlaneReport::default()
        });
        let points = configured_steps(&report, 20.0).expect("the alias was polled");
        assert_eq!(
            points,
            vec![(0.5, 0.0), (5.0, 0.0), (5.0, 30.0), (20.0, 30.0)],
            "held until the next change, then to the end"
        );
        let inputs = Inputs {
            report: &report,
            schedule: None,
            histograms: Default::default(),
            seconds: &[],
            intervals: &[],
        };
        let svg = split_svg(&inputs);
        let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{e}: {svg}"));
        let text: String = doc.descendants().filter_map(|n| n.text()).collect();
        assert!(text.contains("vs the alias's weight"), "{text}");
        assert!(text.contains("alias's weight (GetAlias)"), "{text}");
        report.control_plane = None;
        assert_eq!(configured_steps(&report, 20.0), None);
    }
}
