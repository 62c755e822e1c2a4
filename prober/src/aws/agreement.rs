//! CodeDeploy's account of a deployment next to the probes' (pure): do they tell the same
//! story? A contradiction (CodeDeploy marks a deployment Succeeded while clients never got the
//! target version, or saw it withdrawn) is the finding the prober reports loudly: the verdict
//! becomes `deviated` (exit 1) with a reason starting "CodeDeploy marks".

use rollout::Report;
use rollout::Verdict;
use rollout::control_plane::{Agreement, DeploymentReport};

/// What the probes observed, as far as the comparison needs it.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    /// The probes' verdict.
    pub verdict: Verdict,
    /// Its reason.
    pub reason: &'a str,
    /// Responses tagged with the deployment's target version.
    pub target_responses: u64,
    /// The version most responses came from, and how many.
    pub top: Option<(&'a str, u64)>,
    /// The probes saw the target version's share fall back to zero.
    pub rollback_seen: bool,
}

/// The comparison, and the verdict and reason that replace the probes' when CodeDeploy's
/// account contradicts them. `None` while the deployment has no final status.
pub fn judge(d: &DeploymentReport, seen: &Observed<'_>) -> Option<(Agreement, Option<String>)> {
    let id = &d.deployment_id;
    let status = d.status.as_str();
    if !super::deployment::is_final(status) || seen.verdict == Verdict::Interrupted {
        return None;
    }
    let target = d.target_version.as_deref().unwrap_or("(unknown)");
    let agree = |reason: String| {
        Some((
            Agreement {
                agree: true,
                reason,
            },
            None,
        ))
    };
    let differ = |reason: String| {
        Some((
            Agreement {
                agree: false,
                reason,
            },
            None,
        ))
    };
    let contradict = |reason: String| {
        Some((
            Agreement {
                agree: false,
                reason: reason.clone(),
            },
            Some(reason),
        ))
    };
    let others = match seen.top {
        Some((v, n)) if v != target => format!("the most responses ({n}) came from version {v}"),
        _ => "no response named a version".to_owned(),
    };
    match (status, d.rollback.is_some()) {
        ("Succeeded", _) => {
            if seen.target_responses == 0 {
                contradict(format!(
                    "CodeDeploy marks {id} Succeeded, but clients never got version {target}: \
                     {others}"
                ))
            } else if seen.rollback_seen {
                contradict(format!(
                    "CodeDeploy marks {id} Succeeded, but clients saw version {target} \
                     withdrawn: {}",
                    seen.reason
                ))
            } else {
                match seen.verdict {
                    Verdict::Followed | Verdict::Completed => agree(format!(
                        "CodeDeploy's {id} Succeeded and clients got version {target} as it \
                         shifted: {}",
                        seen.reason
                    )),
                    Verdict::Deviated => contradict(format!(
                        "CodeDeploy marks {id} Succeeded, but the clients' split deviated: {}",
                        seen.reason
                    )),
                    _ => differ(format!(
                        "CodeDeploy's {id} Succeeded; the probes cannot confirm it: {}",
                        seen.reason
                    )),
                }
            }
        }
        (_, true) => {
            if seen.rollback_seen {
                agree(format!(
                    "CodeDeploy's {id} {status} and rolled back, and clients saw version \
                     {target} withdrawn"
                ))
            } else if seen.target_responses == 0 {
                agree(format!(
                    "CodeDeploy's {id} {status} and rolled back before clients got version \
                     {target}"
                ))
            } else if matches!(seen.verdict, Verdict::Followed | Verdict::Completed) {
                contradict(format!(
                    "CodeDeploy marks {id} {status} and rolled back, but clients still got \
                     version {target} at the end: {}",
                    seen.reason
                ))
            } else {
                differ(format!(
                    "CodeDeploy's {id} {status} and rolled back; the probes did not see the \
                     rollback: {}",
                    seen.reason
                ))
            }
        }
        (_, false) => agree(format!(
            "CodeDeploy's {id} {status} without a rollback (the alias stays as the deployment \
             left it); clients: {}",
            seen.reason
        )),
    }
}

/// Puts the agreement into `report.control_plane` and, on a contradiction, makes the verdict
/// `deviated` with CodeDeploy's words (an interrupted run keeps its exit code).
pub fn conclude(report: &mut Report) {
    let Some(d) = report
        .control_plane
        .as_ref()
        .and_then(|c| c.deployment.clone())
    else {
        return;
    };
    let target = d.target_version.as_deref().unwrap_or_default();
    let top = report
        .versions
        .iter()
        .max_by_key(|(_, v)| v.requests)
        .map(|(k, v)| (k.as_str(), v.requests));
    let observed = Observed {
        verdict: report.verdict,
        reason: &report.verdict_reason,
        target_responses: report.versions.get(target).map_or(0, |v| v.requests),
        top,
        rollback_seen: report.verdict == Verdict::Rollback || report.rollback_at.is_some(),
    };
    let Some((agreement, overriding)) = judge(&d, &observed) else {
        return;
    };
    if let Some(reason) = overriding {
        report.verdict = Verdict::Deviated;
        report.verdict_reason = reason;
        if report.interrupted {
            // The signal's exit code stands.
        } else {
            report.exit_code = Verdict::Deviated.exit_code();
        }
    }
    if let Some(c) = report.control_plane.as_mut() {
        c.agreement = Some(agreement);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(status: &str, rollback: bool) -> DeploymentReport {
        DeploymentReport {
            deployment_id: "d-A1B2C3D4E".into(),
            status: status.into(),
            target_version: Some("2".into()),
            rollback: rollback.then(|| "rolled back".into()),
            ..DeploymentReport::default()
        }
    }

    fn seen(verdict: Verdict, target: u64, rollback: bool) -> Observed<'static> {
        Observed {
            verdict,
            reason: "the split followed Linear10PercentEvery1Minute",
            target_responses: target,
            top: Some(("1", 900)),
            rollback_seen: rollback,
        }
    }

    #[test]
    fn success_without_the_target_version_is_a_loud_contradiction() {
        let (a, v) = judge(
            &deployment("Succeeded", false),
            &seen(Verdict::Inconclusive, 0, false),
        )
        .unwrap();
        assert!(!a.agree);
        assert!(
            a.reason
                .starts_with("CodeDeploy marks d-A1B2C3D4E Succeeded")
        );
        assert!(a.reason.contains("never got version 2"), "{}", a.reason);
        assert!(
            a.reason.contains("(900) came from version 1"),
            "{}",
            a.reason
        );
        assert_eq!(v.as_deref(), Some(a.reason.as_str()));
        let (a, v) = judge(
            &deployment("Succeeded", false),
            &seen(Verdict::Rollback, 50, true),
        )
        .unwrap();
        assert!(!a.agree && v.is_some() && a.reason.contains("withdrawn"));
        let (a, v) = judge(
            &deployment("Succeeded", false),
            &seen(Verdict::Deviated, 50, false),
        )
        .unwrap();
        assert!(!a.agree && v.unwrap().starts_with("CodeDeploy marks"));
    }

    #[test]
    fn both_planes_telling_the_same_story_agree_without_touching_the_verdict() {
        let (a, v) = judge(
            &deployment("Succeeded", false),
            &seen(Verdict::Followed, 500, false),
        )
        .unwrap();
        assert!(a.agree && v.is_none(), "{a:?}");
        for status in ["Stopped", "Failed"] {
            let (a, v) = judge(
                &deployment(status, true),
                &seen(Verdict::Rollback, 50, true),
            )
            .unwrap();
            assert!(a.agree && v.is_none(), "{a:?}");
            let (a, v) = judge(
                &deployment(status, true),
                &seen(Verdict::Inconclusive, 0, false),
            )
            .unwrap();
            assert!(
                a.agree && v.is_none() && a.reason.contains("before clients"),
                "{a:?}"
            );
        }
    }

    #[test]
    fn a_rollback_clients_did_not_get_contradicts() {
        let (a, v) = judge(
            &deployment("Stopped", true),
            &seen(Verdict::Completed, 500, false),
        )
        .unwrap();
        assert!(!a.agree);
        assert!(
            v.unwrap()
                .starts_with("CodeDeploy marks d-A1B2C3D4E Stopped and rolled back")
        );
    }

    #[test]
    fn nothing_is_judged_before_the_end_or_after_a_signal() {
        assert!(
            judge(
                &deployment("InProgress", false),
                &seen(Verdict::Followed, 5, false)
            )
            .is_none()
        );
        assert!(
            judge(
                &deployment("Succeeded", false),
                &seen(Verdict::Interrupted, 0, false)
            )
            .is_none()
        );
    }
}
