//! The realised split judged against the configured weights: per step an exact two-sided
//! binomial test and a Clopper-Pearson interval, Holm's procedure over the steps, one verdict.
//! The statistics are the prober's own (`rollout::stats`), so the lab is judged by the same
//! definitions as a rollout.

use std::fmt::Write as _;

use rollout::stats::{exact_interval, holm, share_p_value};

/// How one step was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// The Lambda API's Invoke of the alias through the AWS SDK, counting `ExecutedVersion`.
    Sdk,
    /// The API front door's route, counting the version in `hello`'s body.
    FrontDoor,
}

impl Path {
    /// The name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Path::Sdk => "sdk-invoke",
            Path::FrontDoor => "front-door",
        }
    }
}

/// What one step saw: `n` answers with the alias at `weight` on the new version.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepCount {
    /// The new version's configured weight (`AdditionalVersionWeights`).
    pub weight: f64,
    /// How the answers were counted.
    pub path: Path,
    /// Answers counted.
    pub n: u64,
    /// Answers from the new version.
    pub new_version: u64,
}

/// One step judged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepJudgement {
    /// What was counted.
    pub count: StepCount,
    /// `new_version / n`.
    pub observed: f64,
    /// Two-sided exact binomial p-value against `weight`: twice the binomial tail beyond the
    /// observation, at most 1 (`rollout::stats::share_p_value` with a point null).
    pub p_value: f64,
    /// Clopper-Pearson interval of the new version's share at [`SplitJudgement::confidence`].
    pub interval: (f64, f64),
    /// Whether Holm's procedure rejects "the share is the weight" for this step.
    pub rejected: bool,
    /// The level Holm's procedure judged this step at.
    pub holm_level: f64,
}

/// Every step judged, and the family's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitJudgement {
    /// The steps, in the order run.
    pub steps: Vec<StepJudgement>,
    /// Family-wise level of Holm's procedure.
    pub alpha: f64,
    /// Two-sided confidence of the intervals.
    pub confidence: f64,
}

impl SplitJudgement {
    /// Judges `counts` at family-wise level `alpha`, with intervals at `confidence`.
    pub fn of(counts: &[StepCount], alpha: f64, confidence: f64) -> Self {
        let p_values: Vec<f64> = counts
            .iter()
            .map(|c| share_p_value(c.new_version, c.n, c.weight, c.weight))
            .collect();
        let decisions = holm(&p_values, alpha);
        let steps = counts
            .iter()
            .zip(p_values)
            .zip(decisions)
            .map(
                |((&count, p_value), (rejected, holm_level))| StepJudgement {
                    count,
                    observed: count.new_version as f64 / count.n.max(1) as f64,
                    p_value,
                    interval: exact_interval(count.new_version, count.n, confidence),
                    rejected,
                    holm_level,
                },
            )
            .collect();
        Self {
            steps,
            alpha,
            confidence,
        }
    }

    /// Whether no step is rejected.
    pub fn consistent(&self) -> bool {
        self.steps.iter().all(|s| !s.rejected)
    }

    /// The verdict line: consistent, or which weights (and paths) are not.
    pub fn verdict(&self) -> String {
        let family = format!(
            "Holm over {} tests at family-wise alpha {}",
            self.steps.len(),
            self.alpha
        );
        if self.consistent() {
            return format!("verdict: consistent with the configured weights ({family})");
        }
        let rejected: Vec<String> = self
            .steps
            .iter()
            .filter(|s| s.rejected)
            .map(|s| {
                format!(
                    "weight {} ({}): observed {:.4}, p {:.3e}",
                    s.count.weight,
                    s.count.path.name(),
                    s.observed,
                    s.p_value
                )
            })
            .collect();
        format!(
            "verdict: NOT consistent with the configured weights ({family}): {}",
            rejected.join("; ")
        )
    }

    /// The table, tab-separated (for `column -t -s $'\t'`), then the verdict line.
    pub fn table(&self) -> String {
        let pct = self.confidence * 100.0;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "weight_v2\tpath\tn\tv2\tobserved\texpected\tp_two_sided\tcp{pct}_low\tcp{pct}_high\tholm_level\tresult"
        );
        for s in &self.steps {
            let c = &s.count;
            let _ = writeln!(
                out,
                "{}\t{}\t{}\t{}\t{:.4}\t{:.4}\t{:.4}\t{:.4}\t{:.4}\t{:.5}\t{}",
                c.weight,
                c.path.name(),
                c.n,
                c.new_version,
                s.observed,
                c.weight,
                s.p_value,
                s.interval.0,
                s.interval.1,
                s.holm_level,
                if s.rejected { "REJECTED" } else { "ok" }
            );
        }
        let _ = writeln!(out, "{}", self.verdict());
        out
    }
}
