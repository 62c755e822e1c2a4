//! Live progress: an indicatif spinner line on a terminal, plain lines every 5 s on stderr
//! otherwise, nothing with `--quiet`.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use rollout::analysis::SplitAnalysis;
use rollout::schedule::Schedule;
use rollout::stats::wilson_interval;

use crate::aggregate::Aggregate;

/// Period of plain progress lines.
const PLAIN_PERIOD: Duration = Duration::from_secs(5);
/// Span of the "observed share" shown live, seconds.
const RECENT_SECS: f64 = 10.0;

/// The state shown to the user, computed once a second.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Seconds since the origin.
    pub elapsed: f64,
    /// Requests completed.
    pub sent: u64,
    /// Responses per second over the last second.
    pub rate: f64,
    /// Transport errors plus 5xx.
    pub errors: u64,
    /// Error rate.
    pub error_rate: f64,
    /// `(version, responses, p99 ms over the last second)`.
    pub versions: Vec<(String, u64, Option<f64>)>,
    /// Untagged responses.
    pub untagged: u64,
    /// Current step `(index, count)` when a schedule is aligned.
    pub step: Option<(usize, usize)>,
    /// Expected share of the new version now.
    pub expected: Option<f64>,
    /// Observed share of the new version over the last 10 s with its 95% Wilson interval.
    pub observed: Option<(f64, f64, f64)>,
}

impl Snapshot {
    /// Computes the snapshot at `elapsed` seconds.
    pub fn new(
        agg: &Aggregate,
        split: &SplitAnalysis,
        schedule: Option<&Schedule>,
        elapsed: f64,
        rate: f64,
    ) -> Self {
        let last_second = agg.intervals.last().map(|i| i.second);
        let versions = agg
            .versions
            .iter()
            .map(|(label, v)| {
                let p99 = agg
                    .intervals
                    .iter()
                    .rev()
                    .take_while(|i| Some(i.second) == last_second)
                    .find(|i| &i.version == label)
                    .map(|i| i.p99_ms);
                (label.clone(), v.requests, p99)
            })
            .collect();
        let (mut step, mut expected) = (None, None);
        if let (Some(s), Some(start)) = (schedule, split.deployment_start) {
            let since = elapsed - start;
            expected = Some(s.expected_share(since));
            let steps = s.steps();
            if since >= 0.0 {
                let i = steps
                    .iter()
                    .position(|st| since < st.end)
                    .unwrap_or(steps.len().saturating_sub(1));
                step = Some((i, steps.len()));
            }
        }
        let observed = split
            .new_version
            .as_deref()
            .and_then(|new| recent_share(agg, new, elapsed));
        Snapshot {
            elapsed,
            sent: agg.sent,
            rate,
            errors: agg.error_count(),
            error_rate: agg.error_rate(),
            versions,
            untagged: agg.untagged.requests,
            step,
            expected,
            observed,
        }
    }

    /// One line of text.
    pub fn line(&self) -> String {
        let mut out = format!("[{:>7.1}s]", self.elapsed);
        if let Some((i, n)) = self.step {
            out.push_str(&format!(" step {}/{n}", i + 1));
        }
        if let Some(e) = self.expected {
            out.push_str(&format!(" expected {:.1}%", e * 100.0));
        }
        if let Some((p, lo, hi)) = self.observed {
            out.push_str(&format!(
                " observed {:.1}% [{:.1}-{:.1}]",
                p * 100.0,
                lo * 100.0,
                hi * 100.0
            ));
        }
        out.push_str(&format!(
            " | {:.1} rps | errors {} ({:.2}%)",
            self.rate,
            self.errors,
            self.error_rate * 100.0
        ));
        for (v, n, p99) in &self.versions {
            match p99 {
                Some(p) => out.push_str(&format!(" | v{v} {n} p99 {p:.1}ms")),
                None => out.push_str(&format!(" | v{v} {n}")),
            }
        }
        if self.untagged > 0 {
            out.push_str(&format!(" | untagged {}", self.untagged));
        }
        out
    }
}

/// Share of `new` among tagged responses sent in the last [`RECENT_SECS`], with a 95% interval.
fn recent_share(agg: &Aggregate, new: &str, elapsed: f64) -> Option<(f64, f64, f64)> {
    let tl = &agg.timeline;
    let vi = tl.versions.iter().position(|v| v == new)?;
    let first = ((elapsed - RECENT_SECS).max(0.0) / tl.bin_secs) as usize;
    let (mut n, mut k) = (0u64, 0u64);
    for row in tl.counts.iter().skip(first) {
        n += row.iter().map(|&c| u64::from(c)).sum::<u64>();
        k += u64::from(row[vi]);
    }
    if n == 0 {
        return None;
    }
    let (lo, hi) = wilson_interval(k, n, 0.95);
    Some((k as f64 / n as f64, lo, hi))
}

/// Where progress goes.
#[derive(Debug)]
pub enum Progress {
    /// Nothing (`--quiet`).
    Quiet,
    /// A spinner line on a terminal.
    Tty(ProgressBar),
    /// Plain lines on stderr.
    Plain {
        /// When the last line was written.
        last: Option<Instant>,
    },
}

impl Progress {
    /// Chooses the mode: quiet, a terminal, or plain lines.
    pub fn new(quiet: bool) -> Self {
        if quiet {
            Progress::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner();
            bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
            bar.enable_steady_tick(Duration::from_millis(200));
            Progress::Tty(bar)
        } else {
            Progress::Plain { last: None }
        }
    }

    /// Shows a snapshot.
    pub fn update(&mut self, snapshot: &Snapshot) {
        match self {
            Progress::Quiet => {}
            Progress::Tty(bar) => bar.set_message(snapshot.line()),
            Progress::Plain { last } => {
                if last.is_none_or(|t| t.elapsed() >= PLAIN_PERIOD) {
                    *last = Some(Instant::now());
                    let _ = writeln!(std::io::stderr().lock(), "{}", snapshot.line());
                }
            }
        }
    }

    /// Ends the display.
    pub fn finish(&mut self) {
        if let Progress::Tty(bar) = self {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shows_step_shares_rate_and_versions() {
        let s = Snapshot {
            elapsed: 12.04,
            sent: 600,
            rate: 50.0,
            errors: 3,
            error_rate: 0.005,
            versions: vec![("1".into(), 480, Some(12.34)), ("2".into(), 120, None)],
            untagged: 2,
            step: Some((1, 10)),
            expected: Some(0.2),
            observed: Some((0.185, 0.151, 0.223)),
        };
        assert_eq!(
            s.line(),
            "[   12.0s] step 2/10 expected 20.0% observed 18.5% [15.1-22.3] | 50.0 rps | errors 3 (0.50%) \
             | v1 480 p99 12.3ms | v2 120 | untagged 2"
        );
    }
}
