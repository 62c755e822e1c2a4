//! The control plane in a merge: runs that polled different aliases or followed different
//! deployments are refused together; the merged report keeps the control plane of the run that
//! polled the alias most (shifted onto the merged origin), judges the merged split against its
//! configured routing, and compares it with the schedule and with CodeDeploy's account again.

use std::path::Path;

use rollout::configured::ConfiguredRouting;
use rollout::control_plane::ControlPlaneReport;

use super::{RunInput, bad};
use crate::error::ProberError;

/// The deployment a run followed: the id CodeDeploy gave, else the id given on the command
/// line (`latest` says nothing about which).
fn deployment_of(input: &RunInput) -> Option<&str> {
    let r = &input.report;
    r.control_plane
        .as_ref()
        .and_then(|c| c.deployment.as_ref())
        .map(|d| d.deployment_id.as_str())
        .or_else(|| r.config.deployment.as_deref().filter(|d| *d != "latest"))
}

/// The alias a run polled (its ARN as polled, else as given).
fn alias_of(input: &RunInput) -> Option<&str> {
    let r = &input.report;
    r.control_plane
        .as_ref()
        .and_then(|c| c.alias.as_ref())
        .map(|a| a.alias_arn.as_str())
        .or(r.config.alias.as_deref())
}

/// Refuses runs whose control planes disagree on what was watched: another alias or another
/// deployment than the first run that names one.
pub(super) fn check_same(inputs: &[RunInput]) -> Result<(), ProberError> {
    for (what, of) in [
        ("alias", alias_of as fn(&RunInput) -> Option<&str>),
        ("deployment", deployment_of),
    ] {
        let mut first: Option<(&str, &Path)> = None;
        for input in inputs {
            let Some(this) = of(input) else { continue };
            match first {
                None => first = Some((this, &input.path)),
                Some((seen, path)) if seen != this => {
                    return Err(bad(
                        &input.path,
                        format!(
                            "it watched the {what} {this:?}, {} watched {seen:?}; merge runs of \
                             the same deployment",
                            path.display()
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// The control plane the merged report keeps: that of the run with the most alias polls (else
/// the first with one), every time in it moved by `offsets[i]` seconds (the run's start on the
/// merged origin). `None` when no run had one.
pub(super) fn pick(inputs: &[RunInput], offsets: &[f64]) -> Option<ControlPlaneReport> {
    let (i, plane) = inputs
        .iter()
        .enumerate()
        .filter_map(|(i, input)| Some((i, input.report.control_plane.as_ref()?)))
        .max_by_key(|(i, c)| {
            (
                c.alias.as_ref().map_or(0, |a| a.polls),
                std::cmp::Reverse(*i),
            )
        })?;
    Some(shifted(plane, offsets.get(i).copied().unwrap_or(0.0)))
}

/// The alias's routing in `plane`, as the analysis reads it.
pub(super) fn configured(plane: Option<&ControlPlaneReport>) -> Option<ConfiguredRouting> {
    let alias = plane?.alias.as_ref()?;
    Some(ConfiguredRouting {
        changes: alias.changes.clone(),
        gaps: alias.gaps.clone(),
    })
}

/// `plane` with every time (seconds since its run's origin) moved by `by` seconds; the
/// schedule conformance and the agreement are dropped (the merge judges them again).
pub(super) fn shifted(plane: &ControlPlaneReport, by: f64) -> ControlPlaneReport {
    let mut p = plane.clone();
    if let Some(a) = p.alias.as_mut() {
        for c in &mut a.changes {
            c.at += by;
            c.not_before += by;
            c.not_after += by;
        }
        for gap in &mut a.gaps {
            gap[0] += by;
            gap[1] += by;
        }
    }
    if let Some(d) = p.deployment.as_mut() {
        for s in &mut d.status_history {
            s.at += by;
        }
        for t in [&mut d.created_at, &mut d.completed_at]
            .into_iter()
            .flatten()
        {
            *t += by;
        }
        for e in &mut d.lifecycle_events {
            for t in [&mut e.start, &mut e.end].into_iter().flatten() {
                *t += by;
            }
        }
    }
    for f in &mut p.failures {
        f.at += by;
    }
    p.schedule_conformance = None;
    p.agreement = None;
    p
}
