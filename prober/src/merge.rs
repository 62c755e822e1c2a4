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
use rollout::report::{EncodedHistograms, LatencySummary, OtherVersions, Totals, VersionReport};
use rollout::schedule::Schedule;
use rollout::stats::{compare_latency, decode_histogram, encode_histogram, summarize};
use rollout::{FORMAT_VERSION, Report, Timeline};
use time::OffsetDateTime;

use crate::aggregate::SecondRow;
use crate::artifacts::{self, Inputs};
use crate::cli::MergeArgs;
use crate::error::ProberError;
use crate::reporting::{self, ReportParts, RunFacts};
use crate::{RunOutcome, record};

mod control;

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

/// Longest run, and longest span of merged runs, that `prober merge` accepts: a week. Memory
/// and artifacts grow with the span (per-second rows, 0.1 s timeline bins).
pub const MAX_MERGE_SECS: f64 = 7.0 * 24.0 * 3600.0;

/// Runs whose observed periods are this far apart (seconds) did not watch the same deployment
/// together: refused.
pub const MAX_MERGE_GAP_SECS: f64 = 1.0;

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
    check_report(path, &report)?;
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

/// Refuses a report whose numbers cannot come from a prober run, before anything is sized by
/// them.
pub fn check_report(path: &Path, r: &Report) -> Result<(), ProberError> {
    if !(r.duration_secs.is_finite() && (0.0..=MAX_MERGE_SECS).contains(&r.duration_secs)) {
        return Err(bad(
            path,
            format!(
                "duration_secs {} is not a run length between 0 and {MAX_MERGE_SECS} s (a week); \
                 the file is damaged or not a prober report",
                r.duration_secs
            ),
        ));
    }
    let bin = r.timeline.bin_secs;
    // Every prober writes the same bin width; a narrower one would let two reports days apart
    // allocate billions of bins (found in review).
    if (bin - crate::record::BIN_SECS).abs() > 1e-9 {
        return Err(bad(
            path,
            format!(
                "timeline.bin_secs {bin} is not the prober's bin width ({} s): the file is \
                 damaged or not a prober report",
                crate::record::BIN_SECS
            ),
        ));
    }
    if let Some(i) = r
        .timeline
        .counts
        .iter()
        .position(|row| row.len() > r.timeline.versions.len())
    {
        return Err(bad(
            path,
            format!(
                "timeline bin {i} has more counts than the {} versions listed",
                r.timeline.versions.len()
            ),
        ));
    }
    let timeline_secs = r.timeline.counts.len() as f64 * bin;
    if timeline_secs > MAX_MERGE_SECS {
        return Err(bad(
            path,
            format!("the timeline spans {timeline_secs} s, more than a week"),
        ));
    }
    Ok(())
}

/// Refuses inputs that did not observe the same deployment together (different schedules or
/// versions given, disjoint periods, a span over [`MAX_MERGE_SECS`]); warns when their URLs
/// differ (regional endpoints may) or they share no version.
pub fn check_related(inputs: &[RunInput]) -> Result<(), ProberError> {
    let Some(first) = inputs.first() else {
        return Ok(());
    };
    let f = &first.report;
    let mut periods: Vec<(f64, f64, &Path)> = Vec::new();
    for input in inputs {
        let r = &input.report;
        let differs = |what: &str, a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| {
            bad(
                &input.path,
                format!(
                    "its {what} {b:?} differs from {}'s {a:?}; merge runs of the same deployment",
                    first.path.display()
                ),
            )
        };
        if r.config.schedule != f.config.schedule {
            return Err(differs("schedule", &f.config.schedule, &r.config.schedule));
        }
        if (r.config.time_scale - f.config.time_scale).abs() > 1e-9 {
            return Err(differs(
                "time scale",
                &f.config.time_scale,
                &r.config.time_scale,
            ));
        }
        for (what, a, b) in [
            (
                "--from-version",
                &f.config.from_version,
                &r.config.from_version,
            ),
            ("--to-version", &f.config.to_version, &r.config.to_version),
        ] {
            if a.is_some() && b.is_some() && a != b {
                return Err(differs(what, a, b));
            }
        }
        if r.config.url != f.config.url {
            tracing::warn!(
                first = %f.config.url,
                this = %r.config.url,
                path = %input.path.display(),
                "merging runs against different URLs (fine for regional endpoints of one function)"
            );
        }
        let shared = r.versions.keys().any(|v| f.versions.contains_key(v));
        if !shared && !r.versions.is_empty() && !f.versions.is_empty() {
            tracing::warn!(
                path = %input.path.display(),
                "this run saw none of the versions {} saw", first.path.display()
            );
        }
        let start = r.started_at_unix_ms as f64 / 1000.0;
        periods.push((start, start + r.duration_secs, &input.path));
    }
    control::check_same(inputs)?;
    periods.sort_by(|a, b| a.0.total_cmp(&b.0));
    let origin = periods[0].0;
    let mut end = periods[0].1;
    for &(start, stop, path) in &periods[1..] {
        if start > end + MAX_MERGE_GAP_SECS {
            return Err(bad(
                path,
                format!(
                    "it started {:.1} s after every earlier run had ended: runs merged must \
                     observe the same deployment at the same time",
                    start - end
                ),
            ));
        }
        end = end.max(stop);
        if end - origin > MAX_MERGE_SECS {
            return Err(bad(
                path,
                format!(
                    "the merged runs would span {:.0} s, more than a week",
                    end - origin
                ),
            ));
        }
    }
    Ok(())
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
    artifacts::check_writable(&args.out)?;
    let mut written = None;
    let report = merge_inputs(&inputs, |report, hists, seconds| {
        let schedule = schedule_of(report).ok().flatten();
        let view = Inputs {
            report,
            schedule: schedule.as_ref(),
            histograms: hists.iter().map(|(k, (c, _))| (k.clone(), c)).collect(),
            seconds,
            intervals: &[],
        };
        written = Some(artifacts::write_all(&args.out, &view));
        Ok(())
    })?;
    let (exit_code, artifact_errors) = match written {
        Some(result) => artifacts::outcome_of(&report, result),
        None => (report.exit_code, Vec::new()),
    };
    Ok(RunOutcome {
        exit_code,
        out_dir: Some(args.out.clone()),
        report,
        artifact_errors,
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
    for input in inputs {
        check_report(&input.path, &input.report)?;
    }
    check_related(inputs)?;
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
    let mut other = OtherVersions {
        max_versions: first.report.other_versions.max_versions,
        ..OtherVersions::default()
    };
    let mut first_offset = 0.0;
    let mut offsets = Vec::with_capacity(inputs.len());
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
        offsets.push(offset);
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
                ..
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
        other.requests += r.other_versions.requests;
        other.errors += r.other_versions.errors;
        other.latency_ms = max_summary(&other.latency_ms, &r.other_versions.latency_ms);
        add_map(&mut totals.failure_causes, &t.failure_causes);
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
    let base = AnalysisConfig {
        schedule,
        old_version: config.from_version.clone(),
        new_version: config.to_version.clone(),
        deployment_start: given_start,
        ..AnalysisConfig::default()
    };
    // The control plane of the run that polled most, judged again over the merged split.
    let plane = control::pick(inputs, &offsets);
    let configured = control::configured(plane.as_ref());
    let analysis = reporting::with_configured(&base, configured.as_ref(), None);
    let split = analyze(&timeline, &analysis);
    let start_source = if given_start.is_some() {
        Some("given")
    } else if configured
        .as_ref()
        .and_then(crate::aws::alias::alias_start)
        .is_some()
    {
        Some("alias")
    } else {
        split.deployment_start.map(|_| "estimated")
    };
    let conformance = match (&configured, &analysis.schedule, &split.new_version) {
        (Some(c), Some(schedule), Some(new)) if !c.changes.is_empty() => {
            let text = config.schedule.as_deref().unwrap_or(schedule.name());
            Some(rollout::configured::conformance(
                schedule, text, c, new, duration,
            ))
        }
        _ => None,
    };
    let judged = split.clone();
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
                    ttfb: None,
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
            signal: None,
            stopped_early: false,
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
        other_versions: other,
        http2: false,
    };
    let mut report = parts.into_report(max_error_rate);
    crate::merge_ttfb::merge_into(&mut report, inputs)?;
    report.control_plane = plane;
    report.deployment_start_source = start_source.map(str::to_owned);
    if let Some(conformance) = conformance {
        reporting::judge_conformance(&mut report, &judged, &conformance);
        if let Some(cp) = report.control_plane.as_mut() {
            cp.schedule_conformance = Some(conformance);
        }
    }
    crate::aws::agreement::conclude(&mut report);
    write(&report, &hists, &seconds)?;
    Ok(report)
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;
