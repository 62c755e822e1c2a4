//! Live progress: two lines, each within 80 columns, on an indicatif spinner on a terminal,
//! printed every 5 s on stderr otherwise, nothing with `--quiet`. The first line is the
//! rollout: the current step, its expected share, and the new version's observed share since
//! that step began (or over a labelled recent window before a schedule is aligned); the second
//! is the traffic: responses per second and p99 per version over the last second (`p99(1s)`),
//! errors and responses so far. Version labels are escaped.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use rollout::analysis::SplitAnalysis;
use rollout::configured::ConfiguredRouting;
use rollout::schedule::Schedule;
use rollout::stats::wilson_interval;

use crate::aggregate::Aggregate;
use crate::aws::alias::{configured_share, shifted_to};
use crate::printable::printable_cut;
use crate::summary::percent;

/// Period of plain progress lines.
const PLAIN_PERIOD: Duration = Duration::from_secs(5);
/// Longest window of the observed share shown when no step is aligned, seconds; shortened to
/// one step of the (time-scaled) schedule when that is shorter, so that a compressed rehearsal
/// does not show a share that lags by several steps.
const RECENT_SECS: f64 = 10.0;
/// Shortest such window, seconds.
const MIN_RECENT_SECS: f64 = 1.0;
/// Columns of each progress line: 80 less the spinner's two.
pub const LINE_WIDTH: usize = 78;
/// Characters of a version label in the live line.
const LABEL_WIDTH: usize = 12;

/// Which responses an observed share counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Window {
    /// Since the current step of the aligned schedule began.
    Step,
    /// The last this many seconds.
    Last(f64),
}

/// The new version's observed share over a [`Window`], with its 95% Wilson interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observed {
    /// Share of the tagged responses.
    pub share: f64,
    /// Lower bound of the interval.
    pub low: f64,
    /// Upper bound of the interval.
    pub high: f64,
    /// What it counts.
    pub window: Window,
}

/// The state shown to the user, computed once a second.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Seconds since the origin.
    pub elapsed: f64,
    /// Requests completed.
    pub sent: u64,
    /// Responses per second over the last second.
    pub rate: f64,
    /// Transport errors plus 5xx and function errors.
    pub errors: u64,
    /// Error rate.
    pub error_rate: f64,
    /// `(version, responses, p99 ms over the last second)`.
    pub versions: Vec<(String, u64, Option<f64>)>,
    /// Untagged responses.
    pub untagged: u64,
    /// The new version, once one is seen.
    pub new_version: Option<String>,
    /// Current step `(index, count)` when a schedule is aligned.
    pub step: Option<(usize, usize)>,
    /// Expected share of the new version now.
    pub expected: Option<f64>,
    /// Observed share of the new version: since the current step began when a schedule is
    /// aligned, else over a recent window.
    pub observed: Option<Observed>,
    /// The alias's configured share of the new version now (`--alias`).
    pub alias: Option<f64>,
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
        let (mut step, mut expected, mut step_start) = (None, None, None);
        if let (Some(s), Some(start)) = (schedule, split.deployment_start) {
            let since = elapsed - start;
            expected = Some(s.expected_share(since));
            let steps = s.steps();
            if since >= 0.0 && !steps.is_empty() {
                let i = steps
                    .iter()
                    .position(|st| since < st.end)
                    .unwrap_or(steps.len() - 1);
                step = Some((i, steps.len()));
                step_start = Some(start + steps[i].start);
            }
        }
        let window = recent_window(schedule);
        let observed = split.new_version.as_deref().and_then(|new| {
            step_start
                .and_then(|from| share_since(agg, new, from, Window::Step))
                .or_else(|| share_since(agg, new, elapsed - window, Window::Last(window)))
        });
        Snapshot {
            elapsed,
            sent: agg.sent,
            rate,
            errors: agg.error_count(),
            error_rate: agg.error_rate(),
            versions,
            untagged: agg.untagged.requests,
            new_version: split.new_version.clone(),
            step,
            expected,
            observed,
            alias: None,
        }
    }

    /// This snapshot with the alias's configured share of the new version now (`--alias`);
    /// the new version is the one the alias shifts to until the responses show one.
    pub fn with_alias(mut self, configured: Option<&ConfiguredRouting>) -> Self {
        if let Some(c) = configured {
            let new = self.new_version.clone().or_else(|| shifted_to(c));
            self.alias = new.and_then(|v| configured_share(c, &v, self.elapsed));
        }
        self
    }

    /// The rollout line: the step, its expected share, and the observed share with the window
    /// it covers.
    fn rollout_line(&self) -> String {
        let line = self.rollout_line_showing(true);
        // The alias's weight is what is expected: the schedule's share gives way first.
        let line = if line.chars().count() > LINE_WIDTH && self.alias.is_some() {
            self.rollout_line_showing(false)
        } else {
            line
        };
        if line.chars().count() <= LINE_WIDTH {
            return line;
        }
        let mut cut: String = line.chars().take(LINE_WIDTH - 1).collect();
        cut.push('…');
        cut
    }

    /// The rollout line, with the schedule's expected share or without it.
    fn rollout_line_showing(&self, expected: bool) -> String {
        let mut out = format!("[{:>6.1}s]", self.elapsed);
        if let Some((i, n)) = self.step {
            out.push_str(&format!(" step {}/{n}", i + 1));
        }
        let shown_expected = self.expected.filter(|_| expected);
        if let Some(e) = shown_expected {
            out.push_str(&format!(" expected {:.1}%", e * 100.0));
        }
        if let Some(a) = self.alias {
            out.push_str(&format!(" alias {}", percent(a)));
        }
        let sep = if shown_expected.is_some() || self.alias.is_some() {
            " |"
        } else {
            ""
        };
        match (self.observed, &self.new_version) {
            (Some(o), Some(new)) => {
                let interval = format!(
                    "{:.1}% [{:.1}-{:.1}]",
                    o.share * 100.0,
                    o.low * 100.0,
                    o.high * 100.0
                );
                let window = match o.window {
                    Window::Step => "this step".to_owned(),
                    Window::Last(secs) => format!("last {}", crate::summary::seconds(secs)),
                };
                if self.step.is_some() {
                    out.push_str(&format!(" | observed {interval} {window}"));
                } else {
                    let new = printable_cut(new, LABEL_WIDTH);
                    out.push_str(&format!("{sep} v{new} share {interval} {window}"));
                }
            }
            (None, Some(new)) => out.push_str(&format!(
                "{sep} new version v{}",
                printable_cut(new, LABEL_WIDTH)
            )),
            (_, None) => out.push_str(&format!("{sep} one version so far")),
        }
        out
    }

    /// The traffic line: rate, errors, and per version responses and p99, as many as fit.
    fn traffic_line(&self) -> String {
        let mut out = format!(
            "  {:.1} rps | errors {} ({:.2}%)",
            self.rate,
            self.errors,
            self.error_rate * 100.0
        );
        let mut tail = Vec::new();
        if self.untagged > 0 {
            tail.push(format!(" | untagged {}", self.untagged));
        }
        let tail_len: usize = tail.iter().map(|t| t.chars().count()).sum();
        let mut versions: Vec<&(String, u64, Option<f64>)> = self.versions.iter().collect();
        versions.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for (k, (v, n, p99)) in versions.iter().enumerate() {
            let v = printable_cut(v, LABEL_WIDTH);
            let item = match p99 {
                Some(p) => format!(" | v{v} {n} p99(1s) {p:.1}ms"),
                None => format!(" | v{v} {n}"),
            };
            let left = versions.len() - k - 1;
            let more = if left > 0 { 12 } else { 0 };
            if out.chars().count() + item.chars().count() + tail_len + more > LINE_WIDTH {
                out.push_str(&format!(" | +{} more", versions.len() - k));
                break;
            }
            out.push_str(&item);
        }
        for t in tail {
            out.push_str(&t);
        }
        out
    }

    /// The two lines shown: the rollout, then the traffic; each at most [`LINE_WIDTH`]
    /// columns.
    pub fn lines(&self) -> String {
        format!("{}\n{}", self.rollout_line(), self.traffic_line())
    }
}

/// The window of the observed share when no step is aligned: [`RECENT_SECS`], or one step of
/// the schedule when shorter, at least [`MIN_RECENT_SECS`].
fn recent_window(schedule: Option<&Schedule>) -> f64 {
    let shortest_step = schedule
        .into_iter()
        .flat_map(|s| s.steps().iter().map(|st| st.end - st.start))
        .filter(|&len| len > 0.0)
        .fold(RECENT_SECS, f64::min);
    shortest_step.clamp(MIN_RECENT_SECS, RECENT_SECS)
}

/// Share of `new` among tagged responses sent from `from` seconds on, with a 95% interval.
fn share_since(agg: &Aggregate, new: &str, from: f64, window: Window) -> Option<Observed> {
    let tl = &agg.timeline;
    let vi = tl.versions.iter().position(|v| v == new)?;
    // Bins that start at or after `from` (a bin straddling it belongs to what came before).
    let first = ((from.max(0.0) / tl.bin_secs) - 1e-9).ceil().max(0.0) as usize;
    let (mut n, mut k) = (0u64, 0u64);
    for row in tl.counts.iter().skip(first) {
        n += row.iter().map(|&c| u64::from(c)).sum::<u64>();
        k += u64::from(row[vi]);
    }
    if n == 0 {
        return None;
    }
    let (low, high) = wilson_interval(k, n, 0.95);
    Some(Observed {
        share: k as f64 / n as f64,
        low,
        high,
        window,
    })
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
            Progress::Tty(bar) => bar.set_message(snapshot.lines()),
            Progress::Plain { last } => {
                if last.is_none_or(|t| t.elapsed() >= PLAIN_PERIOD) {
                    *last = Some(Instant::now());
                    let _ = writeln!(std::io::stderr().lock(), "{}", snapshot.lines());
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
#[path = "progress_tests.rs"]
mod tests;
