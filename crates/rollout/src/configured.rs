//! What the alias was *configured* to send, as the control plane reported it over the run
//! (Lambda's GetAlias polled by the prober): the expected share when it is known rather than
//! assumed from a schedule.
//!
//! Times are seconds since the timeline's origin. A poll is sent at some instant and answered a
//! little later; a change seen by poll *k* happened after poll *k − 1* was answered (it still
//! showed the old routing) and before poll *k* was answered, so each change carries that bracket.
//!
//! How the prober uses it: [`crate::analyze`] with [`crate::AnalysisConfig::configured`] judges
//! the clients against the alias; [`conformance`] compares the alias with the schedule;
//! [`crate::overall_with_conformance`] gives the run's verdict from both.
//!
//! ```
//! use rollout::configured::{ConfiguredRouting, Routing, RoutingChange, conformance};
//! use rollout::{AnalysisConfig, Schedule, Verdict, analyze, overall_with_conformance, sim};
//!
//! // `canary:10%:20s` from 5 s on; the alias polled at 0, 5.5 (10%) and 25.5 s (all new).
//! let schedule: Schedule = "canary:10%:20s".parse()?;
//! let routing = |share: f64| Routing {
//!     primary: if share < 1.0 { "1" } else { "2" }.into(),
//!     additional: (share > 0.0 && share < 1.0)
//!         .then(|| ("2".to_owned(), share))
//!         .into_iter()
//!         .collect(),
//! };
//! let change = |not_before: f64, not_after: f64, share: f64| RoutingChange {
//!     at: (not_before + not_after) / 2.0,
//!     not_before,
//!     not_after,
//!     routing: routing(share),
//!     revision_id: None,
//! };
//! let configured = ConfiguredRouting {
//!     changes: vec![change(0.0, 0.0, 0.0), change(4.5, 5.5, 0.1), change(24.5, 25.5, 1.0)],
//!     gaps: vec![],
//! };
//! let timeline = sim::simulate(&schedule, 5.0, 100.0, 40.0, 7, 0.1);
//! let cfg = AnalysisConfig {
//!     configured: Some(configured.clone()),
//!     polled_until: Some(40.0),
//!     ..AnalysisConfig::default()
//! };
//! let split = analyze(&timeline, &cfg);
//! assert_eq!(split.deployment_start, Some(5.0)); // the bracket's middle
//! assert_eq!(split.steps.len(), 3); // windows at 0%, 10% and 100%
//! let alias = conformance(&schedule, "canary:10%:20s", &configured, "2", 40.0);
//! assert!(alias.followed, "{}", alias.reason);
//! let (verdict, reason) = overall_with_conformance(&split, Some(&alias), false, true);
//! assert_eq!(verdict, Verdict::Followed, "{reason}");
//! # Ok::<(), rollout::ScheduleError>(())
//! ```

mod conformance;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use self::conformance::{MIN_TOLERANCE_SECS, TOLERANCE_FRACTION, conformance};

/// An alias's routing: the primary version and the additional versions with their weights
/// (`RoutingConfig.AdditionalVersionWeights`, fractions in `[0, 1]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Routing {
    /// The alias's `FunctionVersion`.
    pub primary: String,
    /// Additional versions and their weights.
    #[serde(default)]
    pub additional: BTreeMap<String, f64>,
}

impl Routing {
    /// The share of invocations the alias sends to `version`: the primary gets what the
    /// additional versions do not.
    pub fn share_of(&self, version: &str) -> f64 {
        let additional: f64 = self.additional.values().sum();
        if self.primary == version {
            (1.0 - additional).max(0.0)
        } else {
            self.additional.get(version).copied().unwrap_or(0.0)
        }
    }
}

/// One routing the poller saw, from the first poll on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoutingChange {
    /// Best estimate of when the routing took effect (the middle of the bracket), seconds since
    /// the origin.
    pub at: f64,
    /// The latest instant known to precede the change: the send of the previous successful
    /// poll (which still saw the previous routing); for the first poll, its answer time.
    pub not_before: f64,
    /// The answer time of the poll that first saw this routing.
    pub not_after: f64,
    /// The routing.
    pub routing: Routing,
    /// The alias's `RevisionId` at that poll, when the API gave one.
    #[serde(default)]
    pub revision_id: Option<String>,
}

/// The configured routing over a run: every change the poller saw, and the periods in which no
/// poll succeeded (nothing is known about the routing then).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConfiguredRouting {
    /// Routings in time order; the first is what the first successful poll saw.
    pub changes: Vec<RoutingChange>,
    /// `[from, to]` periods without a successful poll, seconds since the origin.
    #[serde(default)]
    pub gaps: Vec<[f64; 2]>,
}

impl RoutingChange {
    /// Half the width of the bracket `[not_before, not_after]`: the uncertainty of `at`.
    pub fn half_width(&self) -> f64 {
        ((self.not_after - self.not_before) / 2.0).max(0.0)
    }
}

impl ConfiguredRouting {
    /// The routing in effect at `t` by the best estimates (`None` before the first poll).
    pub fn routing_at(&self, t: f64) -> Option<&Routing> {
        self.changes
            .iter()
            .take_while(|c| c.at <= t)
            .last()
            .map(|c| &c.routing)
    }

    /// The old and new versions as the alias shows them, given ones first: old is the primary
    /// at the first poll; new is the first version other than old that gets weight (an
    /// additional version at the first poll when the run started mid-deployment, else the first
    /// version that gains weight later). `None` when the alias shows nothing to decide by.
    pub fn old_and_new(
        &self,
        old: Option<&str>,
        new: Option<&str>,
    ) -> (Option<String>, Option<String>) {
        let old = old
            .map(str::to_owned)
            .or_else(|| self.changes.first().map(|c| c.routing.primary.clone()));
        let new = new.map(str::to_owned).or_else(|| {
            self.changes.iter().find_map(|c| {
                let gaining = |v: &String| Some(v) != old.as_ref() && c.routing.share_of(v) > 0.0;
                c.routing
                    .additional
                    .keys()
                    .chain(std::iter::once(&c.routing.primary))
                    .find(|v| gaining(v))
                    .cloned()
            })
        });
        (old, new)
    }

    /// The change that started the shift to `new`: the first change after the first poll that
    /// gives `new` weight when the change before it gave none. `None` when the alias already
    /// sent `new` traffic at the first poll (the deployment started before the run) or never.
    pub fn shift_start(&self, new: &str) -> Option<&RoutingChange> {
        if self.changes.first()?.routing.share_of(new) > 0.0 {
            return None;
        }
        self.changes
            .windows(2)
            .find(|p| p[0].routing.share_of(new) <= 0.0 && p[1].routing.share_of(new) > 0.0)
            .map(|p| &p[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routing(primary: &str, additional: &[(&str, f64)]) -> Routing {
        Routing {
            primary: primary.into(),
            additional: additional
                .iter()
                .map(|(v, w)| ((*v).to_owned(), *w))
                .collect(),
        }
    }

    #[test]
    fn shares_follow_the_weights() {
        let r = routing("1", &[("2", 0.3)]);
        assert!((r.share_of("1") - 0.7).abs() < 1e-12);
        assert!((r.share_of("2") - 0.3).abs() < 1e-12);
        assert_eq!(r.share_of("3"), 0.0);
        assert_eq!(routing("2", &[]).share_of("2"), 1.0);
    }

    #[test]
    fn versions_and_the_shift_start_come_from_the_changes() {
        let change = |at: f64, r: Routing| RoutingChange {
            at,
            not_before: at - 0.5,
            not_after: at + 0.5,
            routing: r,
            revision_id: None,
        };
        let from_start = ConfiguredRouting {
            changes: vec![
                change(0.0, routing("1", &[])),
                change(5.0, routing("1", &[("7", 0.1)])),
                change(9.0, routing("7", &[])),
            ],
            gaps: vec![],
        };
        assert_eq!(
            from_start.old_and_new(None, None),
            (Some("1".into()), Some("7".into()))
        );
        assert_eq!(
            from_start.old_and_new(Some("0"), Some("9")),
            (Some("0".into()), Some("9".into()))
        );
        assert_eq!(from_start.shift_start("7").map(|c| c.at), Some(5.0));
        // Started mid-deployment: the additional version is new, the start is not known.
        let mid = ConfiguredRouting {
            changes: from_start.changes[1..].to_vec(),
            gaps: vec![],
        };
        assert_eq!(
            mid.old_and_new(None, None),
            (Some("1".into()), Some("7".into()))
        );
        assert_eq!(mid.shift_start("7"), None);
        let never = ConfiguredRouting {
            changes: from_start.changes[..1].to_vec(),
            gaps: vec![],
        };
        assert_eq!(never.old_and_new(None, None), (Some("1".into()), None));
    }

    #[test]
    fn routing_at_takes_the_latest_change() {
        let change = |at: f64, r: Routing| RoutingChange {
            at,
            not_before: at - 0.5,
            not_after: at + 0.5,
            routing: r,
            revision_id: None,
        };
        let configured = ConfiguredRouting {
            changes: vec![
                change(0.0, routing("1", &[])),
                change(5.0, routing("1", &[("2", 0.1)])),
            ],
            gaps: vec![],
        };
        assert_eq!(configured.routing_at(-1.0), None);
        assert_eq!(configured.routing_at(4.9).unwrap().share_of("2"), 0.0);
        assert!((configured.routing_at(5.0).unwrap().share_of("2") - 0.1).abs() < 1e-12);
    }
}
