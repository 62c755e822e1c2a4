//! The control plane's block of the summary (`--alias`, `--deployment`, `--stack`).

use std::fmt::Write as _;

use rollout::Report;
use rollout::control_plane::{AliasReport, DeploymentReport, StepConformance};

use super::{seconds, wrap};
use crate::printable::printable;

/// Weight changes listed one by one; the rest are counted.
const MAX_CHANGES: usize = 12;

/// The control plane's block: the stack, the alias polled with its weight changes and their
/// brackets, CodeDeploy's account of the deployment, whether the alias followed the schedule,
/// whether CodeDeploy and the probes agree (`!!` when they do not), the calls that failed and
/// the gaps without a successful poll.
pub(super) fn control_plane(out: &mut String, report: &Report) {
    let Some(plane) = report.control_plane.as_ref() else {
        return;
    };
    out.push_str("control plane:\n");
    if let Some(stack) = &plane.stack {
        wrap(
            out,
            "  stack ",
            "    ",
            &format!(
                "{} ({})",
                printable(&stack.stack_name),
                printable(&stack.status)
            ),
        );
    }
    if let Some(alias) = &plane.alias {
        alias_lines(out, alias);
    }
    if let Some(deployment) = &plane.deployment {
        deployment_lines(out, deployment);
    }
    if let Some(c) = &plane.schedule_conformance {
        let (lead, word) = if c.followed {
            ("  ", "followed")
        } else {
            ("  !! ", "did not follow")
        };
        wrap(
            out,
            lead,
            "     ",
            &format!(
                "the alias {word} the schedule {}: {}",
                printable(&c.schedule),
                printable(&c.reason)
            ),
        );
        for step in c
            .steps
            .iter()
            .filter(|s| !matches!(s.verdict.as_str(), "on_time" | "not_observed"))
        {
            wrap(out, "     ", "       ", &conformance_step(step));
        }
    }
    if let Some(a) = &plane.agreement {
        let lead = if a.agree { "  agreement: " } else { "  !! " };
        wrap(out, lead, "     ", &printable(&a.reason));
    }
    if let Some(last) = plane.failures.last() {
        wrap(
            out,
            "  !! ",
            "     ",
            &format!(
                "{} control-plane call{} failed (the probe went on); last at {}: {} {}",
                plane.failures.len(),
                if plane.failures.len() == 1 { "" } else { "s" },
                seconds(last.at),
                printable(&last.call),
                printable(&last.error)
            ),
        );
    }
    if let Some(alias) = &plane.alias {
        for [from, to] in &alias.gaps {
            let _ = writeln!(
                out,
                "  no successful poll from {} to {}: the alias's weight is unknown then",
                seconds(*from),
                seconds(*to)
            );
        }
    }
}

/// The alias polled and its weight changes.
fn alias_lines(out: &mut String, alias: &AliasReport) {
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
}

/// CodeDeploy's account: the deployment, its statuses over the run, its lifecycle events, and
/// why it failed or rolled back.
fn deployment_lines(out: &mut String, d: &DeploymentReport) {
    let versions = match (&d.current_version, &d.target_version) {
        (Some(from), Some(to)) => format!(", {} -> {}", printable(from), printable(to)),
        _ => String::new(),
    };
    wrap(
        out,
        "  deployment ",
        "    ",
        &format!(
            "{} ({}/{}, {}{versions}): {}",
            printable(&d.deployment_id),
            printable(&d.application),
            printable(&d.deployment_group),
            printable(&d.deployment_config),
            printable(&d.status)
        ),
    );
    if d.status_history.len() > 1 {
        let history: Vec<String> = d
            .status_history
            .iter()
            .map(|s| format!("{} {}", printable(&s.status), seconds(s.at)))
            .collect();
        wrap(out, "  statuses ", "    ", &history.join(" · "));
    }
    if !d.lifecycle_events.is_empty() {
        let events: Vec<String> = d
            .lifecycle_events
            .iter()
            .map(|e| format!("{} {}", printable(&e.name), printable(&e.status)))
            .collect();
        wrap(out, "  lifecycle ", "    ", &events.join(" · "));
        for e in d.lifecycle_events.iter() {
            if let Some(diagnostics) = &e.diagnostics {
                wrap(
                    out,
                    "    ",
                    "      ",
                    &format!("{}: {}", printable(&e.name), printable(diagnostics)),
                );
            }
        }
    }
    if let Some(error) = &d.error {
        wrap(out, "  error ", "    ", &printable(error));
    }
    if let Some(rollback) = &d.rollback {
        wrap(out, "  rollback ", "    ", &printable(rollback));
    }
}

/// One schedule step the alias did not apply on time.
fn conformance_step(step: &StepConformance) -> String {
    let applied = match (step.applied_share, step.applied_at) {
        (Some(share), Some(at)) => format!("set to {:.1}% at {}", share * 100.0, seconds(at)),
        _ => "never set".to_owned(),
    };
    format!(
        "step {}: {:.1}% due at {}, {applied} ({})",
        step.index + 1,
        step.expected_share * 100.0,
        seconds(step.expected_at),
        step.verdict.replace('_', " ")
    )
}
