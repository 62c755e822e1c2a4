//! Plots: `split.svg` (observed share of the new version per second with its 95% Wilson band,
//! against the aligned schedule) and `latency.svg` (p50 and p99 per version per second).

use plotters::prelude::*;
use rollout::stats::wilson_interval;

use super::Inputs;
use super::csv::per_second;

const SIZE: (u32, u32) = (960, 480);
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

fn draw_split(svg: &mut String, inputs: &Inputs<'_>) -> DrawResult {
    let report = inputs.report;
    let tl = &report.timeline;
    let rows = per_second(tl);
    let x_max = (rows.len() as f64).max(report.duration_secs).max(1.0);
    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let title = match &report.new_version {
        Some(v) => format!("Share of version {v} (observed, 95% band) vs schedule"),
        None => "Share of the new version: no second version seen".to_owned(),
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(0f64..x_max, 0f64..1.02f64)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("seconds since the first request")
        .y_desc("share of the new version")
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
                    (sec as f64, row[i] as f64 / n as f64, lo, hi)
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
            .label("95% interval");
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
            (t, schedule.expected_share(t - start))
        });
        chart
            .draw_series(LineSeries::new(expected, PALETTE[1].stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(format!("schedule {}", schedule.name()))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], PALETTE[1].stroke_width(2)));
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
            .label(format!("version {version}"))
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
}
