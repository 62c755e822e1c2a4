//! Turning a run's aggregate and split analysis into the `report.json` model.

use std::collections::BTreeMap;

use rollout::analysis::{AnalysisConfig, SplitAnalysis, overall};
use rollout::report::{EncodedHistograms, RunConfig, Totals, VersionReport};
use rollout::stats::{encode_histogram, summarize};
use rollout::{FORMAT_VERSION, Report, Timeline};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::aggregate::{Aggregate, VersionAgg};
use crate::config::Config;
use crate::record::ERROR_KINDS;
use crate::worker::LATE_THRESHOLD;

/// Name and version of this tool, as written in reports.
pub fn tool() -> String {
    format!("prober {}", env!("CARGO_PKG_VERSION"))
}

/// The analysis settings of a run; `deployment_start` already resolved to seconds.
pub fn analysis_config(config: &Config, deployment_start: Option<f64>) -> AnalysisConfig {
    AnalysisConfig {
        schedule: config.schedule.clone(),
        old_version: config.from_version.clone(),
        new_version: config.to_version.clone(),
        deployment_start,
        ..AnalysisConfig::default()
    }
}

/// Facts about the run that the aggregate does not hold.
#[derive(Debug, Clone)]
pub struct RunFacts {
    /// Wall-clock time of slot 0.
    pub started_at: OffsetDateTime,
    /// Observed period, seconds.
    pub duration_secs: f64,
    /// Interrupted by Ctrl-C / the shutdown future.
    pub interrupted: bool,
    /// Tickets the pacer issued.
    pub planned: u64,
}

/// RFC 3339 and Unix milliseconds of an instant.
pub fn wall_clock(at: OffsetDateTime) -> (String, u64) {
    let text = at.format(&Rfc3339).unwrap_or_else(|_| at.to_string());
    let ms = (at.unix_timestamp_nanos() / 1_000_000).max(0) as u64;
    (text, ms)
}

/// Per-version report entry.
fn version_report(v: &VersionAgg) -> VersionReport {
    VersionReport {
        requests: v.requests,
        errors: v.errors,
        cold_starts: v.cold_starts,
        status_codes: v
            .statuses
            .iter()
            .map(|(c, n)| (c.to_string(), *n))
            .collect(),
        latency_ms: summarize(&v.corrected),
        latency_uncorrected_ms: summarize(&v.uncorrected),
    }
}

/// The verdict fields: the split's verdict combined with the error budget.
pub fn verdict(
    split: &SplitAnalysis,
    error_rate: f64,
    max_error_rate: Option<f64>,
    any_tagged: bool,
) -> (rollout::Verdict, String) {
    let exceeded = max_error_rate.is_some_and(|max| error_rate > max);
    let (verdict, reason) = overall(split, exceeded, any_tagged);
    match (verdict, max_error_rate) {
        (rollout::Verdict::ErrorBudget, Some(max)) => (
            verdict,
            format!(
                "error rate {:.2}% exceeded --max-error-rate {:.2}%; {reason}",
                error_rate * 100.0,
                max * 100.0
            ),
        ),
        _ => (verdict, reason),
    }
}

/// Assembles `report.json` from the pieces every report has.
#[derive(Debug)]
pub struct ReportParts {
    /// The run configuration.
    pub config: RunConfig,
    /// Facts of the run.
    pub facts: RunFacts,
    /// Number of runs merged.
    pub merged_runs: u32,
    /// Split analysis.
    pub split: SplitAnalysis,
    /// Per-version entries.
    pub versions: BTreeMap<String, VersionReport>,
    /// Untagged responses.
    pub untagged: u64,
    /// Totals.
    pub totals: Totals,
    /// Latency comparison.
    pub latency_comparison: Option<rollout::report::LatencyComparison>,
    /// Timeline.
    pub timeline: Timeline,
    /// Encoded histograms.
    pub histograms: BTreeMap<String, EncodedHistograms>,
}

impl ReportParts {
    /// The report, with the verdict combined from the split and the error budget.
    pub fn into_report(self, max_error_rate: Option<f64>) -> Report {
        let any_tagged = self.versions.values().any(|v| v.requests > 0);
        let (verdict, verdict_reason) = verdict(
            &self.split,
            self.totals.error_rate,
            max_error_rate,
            any_tagged,
        );
        let (started_at, started_at_unix_ms) = wall_clock(self.facts.started_at);
        Report {
            format_version: FORMAT_VERSION,
            tool: tool(),
            started_at,
            started_at_unix_ms,
            duration_secs: self.facts.duration_secs,
            interrupted: self.facts.interrupted,
            config: self.config,
            merged_runs: self.merged_runs,
            verdict,
            verdict_reason,
            exit_code: verdict.exit_code(),
            old_version: self.split.old_version,
            new_version: self.split.new_version,
            deployment_start: self.split.deployment_start,
            deployment_start_ci: self.split.deployment_start_ci,
            rollback_at: self.split.rollback_at,
            completed_at: self.split.completed_at,
            steps: self.split.steps,
            sensitivity: self.split.sensitivity,
            versions: self.versions,
            untagged: self.untagged,
            totals: self.totals,
            latency_comparison: self.latency_comparison,
            timeline: self.timeline,
            histograms: self.histograms,
        }
    }
}

/// `report.json` of a single run.
pub fn build_report(
    config: &Config,
    agg: &Aggregate,
    split: SplitAnalysis,
    facts: RunFacts,
) -> Report {
    let errors_by_kind: BTreeMap<String, u64> = ERROR_KINDS
        .iter()
        .zip(agg.errors)
        .map(|(k, n)| ((*k).to_owned(), n))
        .collect();
    let totals = Totals {
        planned: facts.planned,
        sent: agg.sent,
        responses: agg.responses,
        late_sends: agg.late,
        late_threshold_ms: LATE_THRESHOLD.as_secs_f64() * 1000.0,
        achieved_rps: if facts.duration_secs > 0.0 {
            agg.sent as f64 / facts.duration_secs
        } else {
            0.0
        },
        send_lag_ms: summarize(&agg.lag),
        errors_by_kind,
        status_codes: agg
            .statuses
            .iter()
            .map(|(c, n)| (c.to_string(), *n))
            .collect(),
        error_rate: agg.error_rate(),
    };
    let latency_comparison = match (&split.old_version, &split.new_version) {
        (Some(old), Some(new)) => agg.windowed_comparison(old, new),
        _ => None,
    };
    let parts = ReportParts {
        config: config.run_config(),
        facts,
        merged_runs: 1,
        split,
        versions: agg
            .versions
            .iter()
            .map(|(k, v)| (k.clone(), version_report(v)))
            .collect(),
        untagged: agg.untagged.requests,
        totals,
        latency_comparison,
        timeline: agg.timeline.clone(),
        histograms: agg
            .versions
            .iter()
            .map(|(k, v)| {
                let e = EncodedHistograms {
                    corrected: encode_histogram(&v.corrected),
                    uncorrected: encode_histogram(&v.uncorrected),
                };
                (k.clone(), e)
            })
            .collect(),
    };
    parts.into_report(config.max_error_rate)
}
