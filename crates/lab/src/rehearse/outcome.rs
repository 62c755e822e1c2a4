//! What each side saw, whether they agree, and the rehearsal's summary and exit code.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rollout::deployment::RoutingCause;
use serde_json::{Value, json};

use crate::control::deployments::RunningDeployment;

/// Exit code when the prober's verdict contradicts the lab's ground truth.
pub const EXIT_DISAGREE: i32 = 5;

/// The lab's ground truth about the deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct LabResult {
    /// `d-LAB000001`.
    pub deployment_id: String,
    /// `Succeeded`, `Failed` or `Stopped`.
    pub status: String,
    /// Why it failed or stopped (CodeDeploy's `errorInformation.message`).
    pub error: Option<String>,
    /// Whether the alias was put back on the current version.
    pub rolled_back: bool,
    /// The version the alias serves at the end.
    pub final_version: String,
    /// Schedule steps applied (weight changes other than the rollback).
    pub steps_applied: usize,
    /// Each step's lateness against the schedule's instant.
    pub lateness: Vec<Duration>,
    /// From the creation to the end of the deployment.
    pub duration: Option<Duration>,
    /// The shortest step of the time-scaled schedule (wall clock), `None` without steps.
    pub shortest_step: Option<Duration>,
}

impl LabResult {
    /// The result of `running`, which has finished.
    pub fn of(running: &Arc<RunningDeployment>) -> Self {
        let deployment = running.deployment();
        let changes = running.weight_changes();
        let routing = deployment.routing();
        Self {
            deployment_id: deployment.id().to_owned(),
            status: deployment.status().as_str().to_owned(),
            error: deployment.error_information().map(|e| e.message.clone()),
            rolled_back: changes
                .iter()
                .any(|c| matches!(c.cause, RoutingCause::Rollback)),
            final_version: match &routing.additional_version {
                None => routing.function_version.clone(),
                Some((v, w)) => format!(
                    "{} at {:.0} % and {v} at {:.0} %",
                    routing.function_version,
                    (1.0 - w) * 100.0,
                    w * 100.0
                ),
            },
            steps_applied: changes
                .iter()
                .filter(|c| matches!(c.cause, RoutingCause::Step { .. }))
                .count(),
            lateness: changes.iter().filter_map(|c| c.lateness()).collect(),
            duration: deployment.complete_time(),
            shortest_step: deployment
                .schedule()
                .steps()
                .iter()
                .map(|s| s.duration())
                .filter(|d| *d > 0.0)
                .min_by(f64::total_cmp)
                .map(Duration::from_secs_f64),
        }
    }

    /// Whether the lab itself strayed from the schedule: a weight change applied later than
    /// a twentieth of the shortest step (the prober judges against the schedule's instants,
    /// so it may see that as a deviation).
    pub fn applied_late(&self) -> Option<Duration> {
        let worst = self.lateness.iter().max().copied()?;
        let tolerated = self.shortest_step? / 20;
        (worst > tolerated).then_some(worst)
    }
}

/// What the prober reported.
#[derive(Debug, Clone, PartialEq)]
pub struct ProberResult {
    /// Its exit code (`None`: killed by a signal).
    pub exit_code: Option<i32>,
    /// `report.json`, when it was written.
    pub report: Option<Value>,
}

impl ProberResult {
    /// Reads `dir/report.json`.
    pub fn read(dir: &Path, exit_code: Option<i32>) -> Self {
        let report = std::fs::read(dir.join("report.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        Self { exit_code, report }
    }

    /// The verdict (`followed`, `rollback`, ...).
    pub fn verdict(&self) -> Option<&str> {
        self.report.as_ref()?["verdict"].as_str()
    }

    fn reason(&self) -> &str {
        self.report
            .as_ref()
            .and_then(|r| r["verdict_reason"].as_str())
            .unwrap_or("")
    }
}

/// Whether the prober's verdict and the lab's ground truth tell the same story.
#[derive(Debug, Clone, PartialEq)]
pub enum Agreement {
    /// They do.
    Agree(String),
    /// They do not: the prober missed or invented something.
    Disagree(String),
    /// The prober gave no verdict on the split (interrupted, error budget, no report).
    NotJudged(String),
}

/// A rehearsal's outcome.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The lab's side.
    pub lab: LabResult,
    /// The prober's side.
    pub prober: ProberResult,
    /// The signal that ended the rehearsal early, if any.
    pub interrupted: Option<i32>,
    /// The output directory.
    pub out: PathBuf,
}

impl Outcome {
    /// Compares the two sides.
    pub fn agreement(&self) -> Agreement {
        let lab = &self.lab;
        let Some(verdict) = self.prober.verdict() else {
            return Agreement::NotJudged("the prober wrote no report".into());
        };
        let shifted = lab.steps_applied > 0;
        let told = match (lab.status.as_str(), lab.rolled_back, shifted, verdict) {
            ("Succeeded", _, _, "followed") => Some(format!(
                "both saw version 2 take all traffic on schedule ({} steps)",
                lab.steps_applied
            )),
            (_, true, true, "rollback") => {
                Some("both saw the traffic shift, then return to version 1".to_owned())
            }
            (_, _, true, "deviated") if lab.applied_late().is_some() => Some(format!(
                "the lab applied a weight change {:.0} ms after the schedule's instant, and the prober saw the split deviate",
                lab.applied_late().unwrap_or_default().as_secs_f64() * 1000.0
            )),
            (_, _, false, "inconclusive") => {
                Some("no traffic shifted, and the prober saw version 1 only".to_owned())
            }
            (_, _, _, "interrupted" | "error_budget") => {
                return Agreement::NotJudged(format!(
                    "the prober's verdict is {verdict}: it did not judge the split"
                ));
            }
            _ => None,
        };
        match told {
            Some(story) => Agreement::Agree(story),
            None => Agreement::Disagree(format!(
                "the lab's deployment {}{} but the prober's verdict is {verdict}",
                lab.status,
                if lab.rolled_back {
                    " and rolled back"
                } else {
                    ""
                }
            )),
        }
    }

    /// The process exit code: the prober's when both sides agree (0 followed, 2 rollback,
    /// ...), [`EXIT_DISAGREE`] when they do not, 128 + the signal when interrupted.
    pub fn exit_code(&self) -> i32 {
        if let Some(signal) = self.interrupted {
            return 128 + signal;
        }
        match self.agreement() {
            Agreement::Disagree(_) => EXIT_DISAGREE,
            _ => self.prober.exit_code.unwrap_or(crate::exit::EXIT_SOFTWARE),
        }
    }

    /// The summary printed at the end.
    pub fn summary(&self) -> String {
        let lab = &self.lab;
        let mut s = String::from("\n== rehearsal\n");
        let took = lab
            .duration
            .map(|d| format!(" after {:.1} s", d.as_secs_f64()))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "lab (ground truth): deployment {} {}{took}; the alias serves version {}",
            lab.deployment_id, lab.status, lab.final_version
        );
        if let Some(error) = &lab.error {
            let _ = writeln!(s, "  why: {error}");
        }
        if let Some(max) = lab.lateness.iter().max() {
            let _ = writeln!(
                s,
                "  {} weight changes applied, at most {:.1} ms after the schedule's instant{}",
                lab.steps_applied,
                max.as_secs_f64() * 1000.0,
                if lab.rolled_back {
                    ", then the rollback"
                } else {
                    ""
                }
            );
        }
        let code = self
            .prober
            .exit_code
            .map_or("killed".to_owned(), |c| format!("exit {c}"));
        match self.prober.verdict() {
            Some(v) => {
                let _ = writeln!(
                    s,
                    "prober (clients): {v} ({code}): {}",
                    self.prober.reason()
                );
            }
            None => {
                let _ = writeln!(s, "prober (clients): no report ({code})");
            }
        }
        let _ = match self.agreement() {
            Agreement::Agree(why) => writeln!(s, "agreement: yes, {why}"),
            Agreement::Disagree(why) => writeln!(s, "agreement: NO, {why}"),
            Agreement::NotJudged(why) => writeln!(s, "agreement: not judged, {why}"),
        };
        let out = self.out.display();
        let _ = writeln!(
            s,
            "artifacts: {out}/prober (report.json, split.svg, junit.xml, ...)\n\
             event log: {out}/events.jsonl (the lab's ground truth, JSON lines)"
        );
        let _ = if self.out.join("build").is_dir() {
            writeln!(
                s,
                "lab: {out}/build/template-v1.json and template-v2.json (the template as built; `rollcall-lab serve --template {out}/build/template-v1.json`), logs in {out}/logs"
            )
        } else {
            writeln!(
                s,
                "lab: {out}/lab.yaml (rollcall-lab serve --spec {out}/lab.yaml), logs in {out}/logs"
            )
        };
        s
    }

    /// `rehearsal.json`: both sides and the agreement.
    pub fn to_json(&self) -> Value {
        let lab = &self.lab;
        let (agreement, why) = match self.agreement() {
            Agreement::Agree(w) => ("agree", w),
            Agreement::Disagree(w) => ("disagree", w),
            Agreement::NotJudged(w) => ("not_judged", w),
        };
        json!({
            "lab": {
                "deployment_id": lab.deployment_id,
                "status": lab.status,
                "error": lab.error,
                "rolled_back": lab.rolled_back,
                "final_version": lab.final_version,
                "steps_applied": lab.steps_applied,
                "lateness_ms": lab.lateness.iter().map(|d| d.as_secs_f64() * 1000.0).collect::<Vec<_>>(),
                "duration_secs": lab.duration.map(|d| d.as_secs_f64()),
            },
            "prober": {
                "exit_code": self.prober.exit_code,
                "verdict": self.prober.verdict(),
            },
            "agreement": agreement,
            "agreement_reason": why,
            "interrupted_by_signal": self.interrupted,
            "exit_code": self.exit_code(),
        })
    }
}
