//! What the alias was *configured* to send, as the control plane reported it over the run
//! (Lambda's GetAlias polled by the prober): the expected share when it is known rather than
//! assumed from a schedule.
//!
//! Times are seconds since the timeline's origin. A poll is sent at some instant and answered a
//! little later; a change seen by poll *k* happened after poll *k − 1* was answered (it still
//! showed the old routing) and before poll *k* was answered, so each change carries that bracket.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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

impl ConfiguredRouting {
    /// The routing in effect at `t` by the best estimates (`None` before the first poll).
    pub fn routing_at(&self, t: f64) -> Option<&Routing> {
        self.changes
            .iter()
            .take_while(|c| c.at <= t)
            .last()
            .map(|c| &c.routing)
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
