//! `prober merge`: combines the reports of several runs (regions, CI runners) exactly.
//!
//! Runs are aligned by `started_at_unix_ms`, rounded to whole timeline bins; timelines and
//! HdrHistograms add losslessly; counters add; the analysis is re-run with the first input's
//! configuration. Two things cannot be rebuilt exactly from `report.json` and are approximated,
//! as documented on the fields: the send-lag summary (the element-wise maximum of the inputs')
//! and the latency comparison (over the whole run, since per-window histograms are not stored).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;
use rollout::analysis::{AnalysisConfig, analyze};
use rollout::report::{EncodedHistograms, LatencySummary, Totals, VersionReport};
use rollout::schedule::Schedule;
use rollout::stats::{compare_latency, decode_histogram, encode_histogram, summarize};
use rollout::{FORMAT_VERSION, Report, Timeline};
use time::OffsetDateTime;

use crate::aggregate::SecondRow;
use crate::artifacts::{self, Inputs};
use crate::cli::MergeArgs;
use crate::error::ProberError;
use crate::reporting::{ReportParts, RunFacts};
use crate::{RunOutcome, record};

/// One input run.
#[derive(Debug)]
pub struct RunInput {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its report.
    pub report: Report,
    /// Untagged responses and errors per second, from the `timeline.csv` beside the report
    /// (empty when absent).
    pub seconds: Vec<SecondRow>,
}

fn bad(path: &Path, reason: impl Into<String>) -> ProberError {
    ProberError::BadMergeInput {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Reads a run directory (holding `report.json`) or a `report.json` file.
pub fn read_input(path: &Path) -> Result<RunInput, ProberError> {
    let file = if path.is_dir() {
        path.join("report.json")
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file).map_err(|e| {
        bad(
            path,
            format!(
                "cannot read {} ({e}); give a prober --out directory or its report.json",
                file.display()
            ),
        )
    })?;
    let report: Report = serde_json::from_str(&text).map_err(|e| {
        bad(
            path,
            format!("not a prober report.json ({e}); give a file written by prober --out"),
        )
    })?;
    if report.format_version != FORMAT_VERSION {
        return Err(bad(
            path,
            format!(
                "report format_version {} is not {FORMAT_VERSION}; merge reports written by the same prober version",
                report.format_version
            ),
        ));
    }
    let csv = file.with_file_name("timeline.csv");
    let seconds = match std::fs::read_to_string(&csv) {
        Ok(text) => parse_seconds(&text).map_err(|reason| bad(&csv, reason))?,
        Err(_) => {
            tracing::warn!(path = %csv.display(), "no timeline.csv beside the report: untagged/errors per second unknown");
            Vec::new()
        }
    };
    Ok(RunInput {
        path: path.to_path_buf(),
        report,
        seconds,
    })
}

/// The `untagged` and `errors` columns of a `timeline.csv`.
pub fn parse_seconds(csv: &str) -> Result<Vec<SecondRow>, String> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or("empty timeline.csv")?
        .split(',')
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or(format!("timeline.csv has no {name} column"))
    };
    let (u, e) = (col("untagged")?, col("errors")?);
    let mut rows = Vec::new();
    for (n, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        let num = |i: usize| {
            cells
                .get(i)
                .and_then(|c| c.parse::<u64>().ok())
                .ok_or(format!("timeline.csv line {}: bad number", n + 2))
        };
        rows.push(SecondRow {
            untagged: num(u)?,
            errors: num(e)?,
        });
    }
    Ok(rows)
}

fn decode(path: &Path, version: &str, text: &str) -> Result<Histogram<u64>, ProberError> {
    decode_histogram(text).map_err(|e| bad(path, format!("histogram of version {version}: {e}")))
}

fn add_map(into: &mut BTreeMap<String, u64>, from: &BTreeMap<String, u64>) {
    for (k, v) in from {
        *into.entry(k.clone()).or_insert(0) += v;
    }
}

fn max_summary(a: &LatencySummary, b: &LatencySummary) -> LatencySummary {
    LatencySummary {
        count: a.count + b.count,
        mean: a.mean.max(b.mean),
        p50: a.p50.max(b.p50),
        p90: a.p90.max(b.p90),
        p99: a.p99.max(b.p99),
        p999: a.p999.max(b.p999),
        max: a.max.max(b.max),
    }
}

/// Merges `args.inputs` into `args.out`.
pub fn merge(args: &MergeArgs) -> Result<RunOutcome, ProberError> {
    let inputs = args
        .inputs
        .iter()
        .map(|p| read_input(p))
        .collect::<Result<Vec<_>, _>>()?;
    let report = merge_inputs(&inputs, |report, hists, seconds| {
        let schedule = schedule_of(report).ok().flatten();
        let view = Inputs {
            report,
            schedule: schedule.as_ref(),
            histograms: hists.iter().map(|(k, (c, _))| (k.clone(), c)).collect(),
            seconds,
            intervals: &[],
        };
        artifacts::write_all(&args.out, &view)
    })?;
    Ok(RunOutcome {
        exit_code: report.exit_code,
        out_dir: Some(args.out.clone()),
        report,
    })
}

fn schedule_of(report: &Report) -> Result<Option<Schedule>, String> {
    match &report.config.schedule {
        None => Ok(None),
        Some(s) => {
            let parsed = Schedule::parse(s).map_err(|e| e.to_string())?;
            parsed
                .time_scaled(report.config.time_scale)
                .map(Some)
                .map_err(|e| e.to_string())
        }
    }
}

type Hists = BTreeMap<String, (Histogram<u64>, Histogram<u64>)>;

/// Merges runs into one report; `write` receives the merged report, the merged histograms
/// (corrected, uncorrected) and the per-second rows.
pub fn merge_inputs(
    inputs: &[RunInput],
    write: impl FnOnce(&Report, &Hists, &[SecondRow]) -> Result<(), ProberError>,
) -> Result<Report, ProberError> {
    let first = inputs
        .first()
        .ok_or_else(|| bad(Path::new("."), "no input; give at least one run directory"))?;
    let bin = first.report.timeline.bin_secs;
    let base_ms = inputs
        .iter()
        .map(|i| i.report.started_at_unix_ms)
        .min()
        .unwrap_or(0);
    let mut timeline = Timeline::new(bin);
    let mut seconds: Vec<SecondRow> = Vec::new();
    let mut hists: Hists = BTreeMap::new();
    let mut versions: BTreeMap<String, VersionReport> = BTreeMap::new();
    let mut totals = Totals {
        late_threshold_ms: first.report.totals.late_threshold_ms,
        ..Totals::default()
    };
    let (mut untagged, mut duration, mut interrupted) = (0u64, 0f64, false);
    let mut first_offset = 0.0;
    for (k, input) in inputs.iter().enumerate() {
        let r = &input.report;
        if (r.timeline.bin_secs - bin).abs() > 1e-12 {
            return Err(bad(
                &input.path,
                format!(
                    "timeline bins of {} s differ from the first input's {bin} s",
                    r.timeline.bin_secs
                ),
            ));
        }
        let offset_bins = ((r.started_at_unix_ms - base_ms) as f64 / 1000.0 / bin).round();
        let offset = offset_bins * bin;
        if k == 0 {
            first_offset = offset;
        }
        timeline.merge(&r.timeline, offset);
        let shift = offset.round() as usize;
        for (s, row) in input.seconds.iter().enumerate() {
            if seconds.len() <= s + shift {
                seconds.resize(s + shift + 1, SecondRow::default());
            }
            seconds[s + shift].untagged += row.untagged;
            seconds[s + shift].errors += row.errors;
        }
        for (label, v) in &r.versions {
            let m = versions.entry(label.clone()).or_default();
            m.requests += v.requests;
            m.errors += v.errors;
            m.cold_starts += v.cold_starts;
            add_map(&mut m.status_codes, &v.status_codes);
        }
        for (
            label,
            EncodedHistograms {
                corrected,
                uncorrected,
            },
        ) in &r.histograms
        {
            let c = decode(&input.path, label, corrected)?;
            let u = decode(&input.path, label, uncorrected)?;
            let entry = hists.entry(label.clone()).or_insert_with(|| {
                (
                    record::new_histogram(1_000_000),
                    record::new_histogram(1_000_000),
                )
            });
            entry
                .0
                .add(&c)
                .map_err(|e| bad(&input.path, format!("histogram of version {label}: {e:?}")))?;
            entry
                .1
                .add(&u)
                .map_err(|e| bad(&input.path, format!("histogram of version {label}: {e:?}")))?;
        }
        let t = &r.totals;
        totals.planned += t.planned;
        totals.sent += t.sent;
        totals.responses += t.responses;
        totals.late_sends += t.late_sends;
        totals.send_lag_ms = max_summary(&totals.send_lag_ms, &t.send_lag_ms);
        add_map(&mut totals.errors_by_kind, &t.errors_by_kind);
        add_map(&mut totals.status_codes, &t.status_codes);
        untagged += r.untagged;
        duration = duration.max(offset + r.duration_secs);
        interrupted |= r.interrupted;
    }
    for (label, v) in &mut versions {
        if let Some((c, u)) = hists.get(label) {
            v.latency_ms = summarize(c);
            v.latency_uncorrected_ms = summarize(u);
        }
    }
    let errors: u64 = totals
        .errors_by_kind
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "4xx" | "interrupted"))
        .map(|(_, v)| v)
        .sum();
    totals.error_rate = if totals.sent == 0 {
        0.0
    } else {
        errors as f64 / totals.sent as f64
    };
    totals.achieved_rps = if duration > 0.0 {
        totals.sent as f64 / duration
    } else {
        0.0
    };

    let config = first.report.config.clone();
    let schedule =
        schedule_of(&first.report).map_err(|e| bad(&first.path, format!("its schedule: {e}")))?;
    // A start given on the command line is reported without an interval: keep it, shifted.
    let given_start = match (
        first.report.deployment_start,
        first.report.deployment_start_ci,
    ) {
        (Some(s), None) => Some(s + first_offset),
        _ => None,
    };
    let analysis = AnalysisConfig {
        schedule,
        old_version: config.from_version.clone(),
        new_version: config.to_version.clone(),
        deployment_start: given_start,
        ..AnalysisConfig::default()
    };
    let split = analyze(&timeline, &analysis);
    let latency_comparison = match (&split.old_version, &split.new_version) {
        (Some(o), Some(n)) => match (hists.get(o), hists.get(n)) {
            (Some(a), Some(b)) => compare_latency(&a.0, &b.0),
            _ => None,
        },
        _ => None,
    };
    let started_at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(base_ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let encoded = hists
        .iter()
        .map(|(k, (c, u))| {
            (
                k.clone(),
                EncodedHistograms {
                    corrected: encode_histogram(c),
                    uncorrected: encode_histogram(u),
                },
            )
        })
        .collect();
    let max_error_rate = config.max_error_rate;
    let parts = ReportParts {
        config,
        facts: RunFacts {
            started_at,
            duration_secs: duration,
            interrupted,
            planned: totals.planned,
        },
        merged_runs: inputs.iter().map(|i| i.report.merged_runs.max(1)).sum(),
        split,
        versions,
        untagged,
        totals,
        latency_comparison,
        timeline,
        histograms: encoded,
    };
    let report = parts.into_report(max_error_rate);
    write(&report, &hists, &seconds)?;
    Ok(report)
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;
