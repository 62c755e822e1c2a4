//! The control plane's block of the summary (`--alias`, `--deployment`, `--stack`).

use std::fmt::Write as _;

use rollout::Report;

use super::{seconds, wrap};
use crate::printable::printable;

/// Weight changes listed one by one; the rest are counted.
const MAX_CHANGES: usize = 12;

/// The control plane's block: the alias polled, its weight changes with their brackets, the
/// calls that failed and the gaps without a successful poll.
pub(super) fn control_plane(out: &mut String, report: &Report) {
    let Some(alias) = report.control_plane.as_ref().and_then(|c| c.alias.as_ref()) else {
        return;
    };
    out.push_str("control plane:\n");
    wrap(
        out,
        "  alias ",
        "    ",
        &format!(
            "{} ({} polls, every {})",
            printable(&alias.alias_arn),
            alias.polls,
            seconds(alias.poll_secs)
        ),
    );
    for (i, c) in alias.changes.iter().take(MAX_CHANGES).enumerate() {
        let when = if i == 0 {
            format!("at {}", seconds(c.at))
        } else {
            format!(
                "{} [{}, {}]",
                seconds(c.at),
                seconds(c.not_before),
                seconds(c.not_after)
            )
        };
        let routing = printable(&crate::aws::alias::describe_routing(&c.routing)).into_owned();
        let first = if i == 0 { "  weights " } else { "  changed " };
        wrap(out, first, "    ", &format!("{when}: {routing}"));
    }
    if alias.changes.len() > MAX_CHANGES {
        let _ = writeln!(
            out,
            "  {} more changes (report.json)",
            alias.changes.len() - MAX_CHANGES
        );
    }
    let failures = report
        .control_plane
        .as_ref()
        .map_or(&[][..], |c| c.failures.as_slice());
    if let Some(last) = failures.last() {
        wrap(
            out,
            "  !! ",
            "     ",
            &format!(
                "{} control-plane call{} failed (the probe went on); last at {}: {} {}",
                failures.len(),
                if failures.len() == 1 { "" } else { "s" },
                seconds(last.at),
                printable(&last.call),
                printable(&last.error)
            ),
        );
    }
    for [from, to] in &alias.gaps {
        let _ = writeln!(
            out,
            "  no successful poll from {} to {}: the alias's weight is unknown then",
            seconds(*from),
            seconds(*to)
        );
    }
}
