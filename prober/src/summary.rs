//! The end-of-run summary, printed on stdout after every run and merge (also with `--quiet`,
//! which only silences the live progress; like k6's end-of-test summary): what was sent, per
//! version requests, share, errors, cold starts and latency percentiles, untagged responses,
//! errors by kind, the time to first byte and cut bodies, the comparisons of latency and of
//! time to first byte, the rollout's steps, the verdict with its reason and
//! where the artifacts are. Every line fits [`WIDTH`] columns (a long artifact path excepted);
//! text from the server is shown through [`crate::printable`].

use std::fmt::Write as _;
use std::path::Path;

use rollout::Report;
use rollout::report::{LatencyComparison, LatencySummary, StepReport, StepVerdict};

use crate::printable::{printable, printable_cut};

mod control_plane;
use control_plane::control_plane;

/// Columns the summary fits in.
pub const WIDTH: usize = 80;
/// Width of the version column of the table.
const VERSION_COLUMN: usize = 15;
/// Versions listed in the table (the busiest); the rest are counted on one line.
const MAX_VERSION_ROWS: usize = 12;
/// Steps listed one by one; beyond it only the steps that were not followed are.
const MAX_STEP_ROWS: usize = 10;
/// p-values below this are printed as a bound: an f64 cannot say more.
const SMALLEST_P: f64 = 1e-16;

/// `12s`, `1.5s`: seconds with one decimal unless whole.
pub fn seconds(secs: f64) -> String {
    if (secs - secs.round()).abs() < 0.05 {
        format!("{:.0}s", secs.round())
    } else {
        format!("{secs:.1}s")
    }
}

/// `10%`, `12.5%`: a share as a percentage with one decimal unless whole.
pub fn percent(share: f64) -> String {
    let p = share * 100.0;
    if (p - p.round()).abs() < 0.05 {
        format!("{:.0}%", p.round())
    } else {
        format!("{p:.1}%")
    }
}

/// A step's name as the live line and `junit.xml` show it: `step 2/4: 20% from 60s to 120s`
/// (one-based; times since the first request).
pub fn step_label(step: &StepReport, count: usize) -> String {
    format!(
        "step {}/{count}: {} from {} to {}",
        step.index + 1,
        percent(step.expected_share),
        seconds(step.start),
        seconds(step.end)
    )
}

/// `p = 0.153`, `p = 2.4e-7`, or `p < 1e-16` when the value is below what an f64 resolves.
pub fn p_value_text(p: f64) -> String {
    if p < SMALLEST_P {
        "p < 1e-16".to_owned()
    } else if p < 0.001 {
        format!("p = {p:.1e}")
    } else {
        format!("p = {p:.3}")
    }
}

/// A latency in at most 7 characters: `0.42ms`, `12.3ms`, `812ms`, `12.4s`.
fn millis(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2}ms")
    } else if ms < 100.0 {
        format!("{ms:.1}ms")
    } else if ms < 10_000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.1}s", ms / 1000.0)
    }
}

/// Joins words that [`wrap`] keeps on one line (shown as a space).
const KEEP: char = '\u{a0}';

/// `text` broken into lines of at most `WIDTH` columns at spaces (not at [`KEEP`]); the first
/// starts with `first`, the others with `rest` (words longer than a line are cut).
fn wrap(out: &mut String, first: &str, rest: &str, text: &str) {
    let mut line = first.to_owned();
    let (mut empty, mut first_line) = (true, true);
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut word: Vec<char> = word.chars().collect();
        while !word.is_empty() {
            let used = line.chars().count();
            let gap = usize::from(!(line.is_empty() || line.ends_with(' ')));
            if used + gap + word.len() <= WIDTH {
                if gap == 1 {
                    line.push(' ');
                }
                line.extend(word.drain(..));
                empty = false;
                break;
            }
            if empty {
                // A word longer than a line: cut it.
                let room = WIDTH.saturating_sub(used + gap).max(1);
                if gap == 1 {
                    line.push(' ');
                }
                line.extend(word.drain(..room.min(word.len())));
            }
            out.push_str(&line.replace(KEEP, " "));
            out.push('\n');
            line = rest.to_owned();
            (empty, first_line) = (true, false);
        }
    }
    if !empty || first_line {
        out.push_str(&line.replace(KEEP, " "));
        out.push('\n');
    }
}

/// The whole summary of `report`; `out_dir` is where the artifacts were written, if anywhere.
pub fn render(report: &Report, out_dir: Option<&Path>) -> String {
    let mut out = String::new();
    header(&mut out, report);
    versions_table(&mut out, report);
    errors(&mut out, report);
    streams(&mut out, report);
    if let Some(c) = &report.latency_comparison {
        comparison(&mut out, "latency:", report, c);
    }
    if let Some(c) = report.ttfb_comparison.as_ref().filter(|_| streamed(report)) {
        comparison(&mut out, "first byte:", report, c);
    }
    rollout(&mut out, report);
    control_plane(&mut out, report);
    let verdict = serde_json::to_value(report.verdict)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{:?}", report.verdict));
    wrap(
        &mut out,
        &format!("verdict: {verdict} (exit {}):", report.exit_code),
        "  ",
        &printable(&report.verdict_reason),
    );
    if let Some(dir) = out_dir {
        let _ = writeln!(out, "artifacts: {}", printable(&dir.display().to_string()));
        let mut names =
            "report.json timeline.csv junit.xml split.svg latency.svg latency.hlog ttfb.hlog"
                .to_owned();
        if !report.versions.is_empty() {
            names.push_str(" latency-<version>.hgrm ttfb-<version>.hgrm");
        }
        wrap(&mut out, "  ", "  ", &names);
    }
    out
}

fn header(out: &mut String, report: &Report) {
    let t = &report.totals;
    let mut facts = format!(
        "{} requests in {:.1} s, {:.1} rps",
        t.sent, report.duration_secs, t.achieved_rps
    );
    if t.planned > t.sent {
        let _ = write!(facts, " ({} planned)", t.planned);
    }
    if report.merged_runs > 1 {
        let _ = write!(facts, ", {} runs merged", report.merged_runs);
    }
    if report.interrupted {
        facts.push_str(", interrupted");
    }
    let method = &report.config.method;
    let room = WIDTH.saturating_sub(method.len() + facts.len() + 4).max(20);
    let url = printable_cut(&report.config.url, room);
    wrap(out, "", "  ", &format!("{method} {url}: {facts}"));
    if t.late_sends > 0 {
        let _ = writeln!(
            out,
            "  {} sends later than {} ms after their slot (send lag p99 {})",
            t.late_sends,
            t.late_threshold_ms,
            millis(t.send_lag_ms.p99)
        );
    }
}

fn latency_cells(l: &LatencySummary) -> String {
    if l.count == 0 {
        return format!("{:>8}{:>8}{:>8}{:>8}", "-", "-", "-", "-");
    }
    format!(
        "{:>8}{:>8}{:>8}{:>8}",
        millis(l.p50),
        millis(l.p90),
        millis(l.p99),
        millis(l.max)
    )
}

fn versions_table(out: &mut String, report: &Report) {
    let tagged: u64 = report.versions.values().map(|v| v.requests).sum();
    let _ = writeln!(
        out,
        "  {:<VERSION_COLUMN$}{:>9}{:>8}{:>7}{:>6}{:>8}{:>8}{:>8}{:>8}",
        "version", "requests", "share", "errors", "cold", "p50", "p90", "p99", "max"
    );
    // The old version, the new one, then the others, busiest first.
    let rank = |v: &String| {
        if Some(v) == report.old_version.as_ref() {
            0
        } else if Some(v) == report.new_version.as_ref() {
            1
        } else {
            2
        }
    };
    let mut rows: Vec<_> = report.versions.iter().collect();
    rows.sort_by(|a, b| (rank(a.0), b.1.requests, a.0).cmp(&(rank(b.0), a.1.requests, b.0)));
    for (version, v) in rows.iter().take(MAX_VERSION_ROWS) {
        let share = if tagged > 0 {
            format!("{:.1}%", v.requests as f64 * 100.0 / tagged as f64)
        } else {
            "-".to_owned()
        };
        let _ = writeln!(
            out,
            "  {:<VERSION_COLUMN$}{:>9}{share:>8}{:>7}{:>6}{}",
            printable_cut(version, VERSION_COLUMN - 1),
            v.requests,
            v.errors,
            v.cold_starts,
            latency_cells(&v.latency_ms)
        );
    }
    if rows.len() > MAX_VERSION_ROWS {
        let rest = &rows[MAX_VERSION_ROWS..];
        let requests: u64 = rest.iter().map(|(_, v)| v.requests).sum();
        let _ = writeln!(
            out,
            "  {} more versions with {requests} requests (see report.json)",
            rest.len()
        );
    }
    let other = &report.other_versions;
    if other.requests > 0 {
        let _ = writeln!(
            out,
            "  {:<VERSION_COLUMN$}{:>9}{:>8}{:>7}{:>6}{}",
            "(others)",
            other.requests,
            "-",
            other.errors,
            "-",
            latency_cells(&other.latency_ms)
        );
        let _ = writeln!(
            out,
            "  versions beyond the first {} seen are counted together (--max-versions)",
            other.max_versions
        );
    }
    let _ = writeln!(
        out,
        "  {:<VERSION_COLUMN$}{:>9}   (responses that named no version)",
        "untagged", report.untagged
    );
}

fn errors(out: &mut String, report: &Report) {
    let t = &report.totals;
    let kinds: Vec<String> = t
        .errors_by_kind
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    if kinds.is_empty() {
        out.push_str("errors: none\n");
        return;
    }
    let causes: Vec<String> = t
        .failure_causes
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(cause, n)| format!("{} {n}", printable(cause)))
        .collect();
    let counted = if t
        .errors_by_kind
        .get("function_error")
        .is_some_and(|n| *n > 0)
    {
        "transport errors, 5xx and function errors"
    } else {
        "transport errors and 5xx"
    };
    let mut text = format!(
        "error rate {:.2}% ({counted}); by kind: {}",
        t.error_rate * 100.0,
        kinds.join(", ")
    );
    if !causes.is_empty() {
        let _ = write!(text, "; no response: {}", causes.join(", "));
    }
    wrap(out, "errors:", "  ", &text);
}

/// The time to first byte per version (when the body's first byte came before its end: a
/// streamed response), the bodies cut at `--max-body` and the versions they left unread.
fn streams(out: &mut String, report: &Report) {
    let t = &report.totals;
    if streamed(report) || t.body_truncated > 0 {
        let mut rows: Vec<_> = report.versions.iter().collect();
        rows.sort_by_key(|(_, v)| std::cmp::Reverse(v.requests));
        let cells: Vec<String> = rows
            .iter()
            .take(MAX_VERSION_ROWS)
            .filter(|(_, v)| v.ttfb_ms.count > 0)
            .map(|(version, v)| {
                format!(
                    "{}{KEEP}p50{KEEP}{}{KEEP}p99{KEEP}{}",
                    printable_cut(version, VERSION_COLUMN - 1).replace(' ', &KEEP.to_string()),
                    millis(v.ttfb_ms.p50),
                    millis(v.ttfb_ms.p99)
                )
            })
            .collect();
        if !cells.is_empty() {
            wrap(out, "first byte:", "  ", &cells.join(", "));
        }
    }
    if t.body_truncated > 0 {
        let cap = report
            .config
            .max_body
            .map_or_else(String::new, |b| format!(" {}", byte_size(b)));
        let mut text = format!(
            "{} bodies longer than --max-body{cap} were cut there (read no further; counted, not \
             errors)",
            t.body_truncated
        );
        if t.version_unread_truncated > 0 {
            let _ = write!(
                text,
                "; {} of them named no version in a header and their version could not be read: \
                 --version-json needs the whole body (raise --max-body, or tag responses with a \
                 header)",
                t.version_unread_truncated
            );
        }
        wrap(out, "bodies:", "  ", &text);
    } else if t.version_unread_truncated > 0 {
        let text = format!(
            "{} responses named no version in a header and their body was larger than the 1 MiB \
             --version-json reads: version not read (tag responses with a header)",
            t.version_unread_truncated
        );
        wrap(out, "bodies:", "  ", &text);
    }
}

/// True when some version's median first byte came well before its median end (by 10% and
/// 0.1 ms): its responses were streamed, and the time to first byte says something the
/// latency does not. Otherwise the summary leaves it out (it is in the report).
fn streamed(report: &Report) -> bool {
    report
        .versions
        .values()
        .any(|v| v.ttfb_ms.count > 0 && v.ttfb_ms.p50 * 1.1 + 0.1 < v.latency_ms.p50)
}

/// `10 MiB`, `512 KiB`, `1500 B`.
fn byte_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{}{KEEP}MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{}{KEEP}KiB", b >> 10),
        b => format!("{b}{KEEP}B"),
    }
}

fn comparison(out: &mut String, label: &str, report: &Report, c: &LatencyComparison) {
    let name = |v: &Option<String>| printable_cut(v.as_deref().unwrap_or("?"), 12);
    let (old, new) = (name(&report.old_version), name(&report.new_version));
    let keep = |s: String| s.replace(' ', &KEEP.to_string());
    let text = format!(
        "where both served, p50 {} ({new}) vs {} ({old}), {}, {}{}",
        millis(c.new_p50_ms),
        millis(c.old_p50_ms),
        keep(format!("P({new} slower) = {:.3}", c.prob_new_slower)),
        keep(p_value_text(c.p_value)),
        if c.new_slower { ": slower" } else { "" }
    );
    wrap(out, label, "  ", &text);
}

fn rollout(out: &mut String, report: &Report) {
    let mut facts = Vec::new();
    if let Some(s) = &report.config.schedule {
        let scale = report.config.time_scale;
        if (scale - 1.0).abs() > f64::EPSILON {
            facts.push(format!("schedule {} (time scale x{scale})", printable(s)));
        } else {
            facts.push(format!("schedule {}", printable(s)));
        }
    }
    if let Some(start) = report.deployment_start {
        match report.deployment_start_ci {
            Some([lo, hi]) => facts.push(format!(
                "deployment start {} [{}, {}]",
                seconds(start),
                seconds(lo),
                seconds(hi)
            )),
            None => facts.push(format!("deployment start {}", seconds(start))),
        }
        if let Some(source) = &report.deployment_start_source {
            if let Some(last) = facts.last_mut() {
                last.push_str(&format!(" ({})", printable(source)));
            }
        }
    }
    if let Some(at) = report.completed_at {
        facts.push(format!("completed at {}", seconds(at)));
    }
    if let Some(at) = report.rollback_at {
        facts.push(format!("rolled back at {}", seconds(at)));
    }
    if !facts.is_empty() {
        let one_line = format!("rollout: {}", facts.join(", "));
        if one_line.chars().count() <= WIDTH {
            let _ = writeln!(out, "{one_line}");
        } else {
            out.push_str("rollout:\n");
            for fact in &facts {
                wrap(out, "  ", "    ", fact);
            }
        }
    }
    let count = report.steps.len();
    let shown: Vec<&StepReport> = if count <= MAX_STEP_ROWS {
        report.steps.iter().collect()
    } else {
        report
            .steps
            .iter()
            .filter(|s| s.verdict != StepVerdict::Followed)
            .collect()
    };
    for s in &shown {
        let observed = match (s.observed_share, s.ci_low, s.ci_high) {
            (Some(p), Some(lo), Some(hi)) => {
                format!("{:.1}% [{:.1}-{:.1}]", p * 100.0, lo * 100.0, hi * 100.0)
            }
            (Some(p), _, _) => format!("{:.1}%", p * 100.0),
            _ => "-".to_owned(),
        };
        let verdict = match s.verdict {
            StepVerdict::Followed => "followed",
            StepVerdict::Deviated => "DEVIATED",
            StepVerdict::Insufficient => "too few",
            StepVerdict::NotObserved => "not seen",
        };
        let mut text = format!(
            "{}, observed {observed} n={} {verdict}",
            step_label(s, count),
            s.requests
        );
        if let Some(d) = s.min_detectable_deviation {
            let _ = write!(text, " (sees ≥{:.1} pts)", d * 100.0);
        }
        wrap(out, "  ", "    ", &text);
    }
    if shown.len() < count {
        let _ = writeln!(out, "  {} other steps followed", count - shown.len());
    }
}

#[cfg(test)]
#[path = "summary_tests.rs"]
mod tests;
