//! Lambda aliases with weighted routing: a primary version plus at most one additional version
//! with a weight in `[0, 1]`; each invocation picks a version with a seedable RNG
//! (LAMBDA-FACTS §7: "a simple probabilistic model" per invocation).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use protocol::lambda_api::LATEST;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::invoke::{InvokeError, InvokeFuture, InvokeRequest, Invoker};

/// Where an alias sends traffic: `FunctionVersion` and `RoutingConfig.AdditionalVersionWeights`.
#[derive(Debug, Clone, PartialEq)]
pub struct Routing {
    /// The primary version (`FunctionVersion`); it receives `1 - weight`.
    pub primary: String,
    /// The additional version and its weight, when traffic is split.
    pub additional: Option<(String, f64)>,
}

impl Routing {
    /// All traffic to `primary`.
    pub fn single(primary: impl Into<String>) -> Self {
        Self {
            primary: primary.into(),
            additional: None,
        }
    }

    /// Builds a routing from AWS's shape: `FunctionVersion` and the `AdditionalVersionWeights`
    /// map, validated as Lambda validates `UpdateAlias`.
    pub fn from_weights(
        primary: impl Into<String>,
        additional_version_weights: &BTreeMap<String, f64>,
    ) -> Result<Self, AliasError> {
        if additional_version_weights.len() > 1 {
            return Err(AliasError::TooManyAdditionalVersions);
        }
        let routing = Self {
            primary: primary.into(),
            additional: additional_version_weights
                .iter()
                .next()
                .map(|(v, w)| (v.clone(), *w)),
        };
        routing.validate()?;
        Ok(routing)
    }

    /// Checks the rules Lambda applies to an alias's routing (LAMBDA-FACTS §7).
    pub fn validate(&self) -> Result<(), AliasError> {
        if !is_version(&self.primary) {
            return Err(AliasError::InvalidVersion(self.primary.clone()));
        }
        let Some((version, weight)) = &self.additional else {
            return Ok(());
        };
        if self.primary == LATEST || version == LATEST {
            return Err(AliasError::LatestWithRouting);
        }
        if !version.bytes().all(|b| b.is_ascii_digit()) || version.is_empty() {
            return Err(AliasError::InvalidVersion(version.clone()));
        }
        if !(0.0..=1.0).contains(weight) {
            return Err(AliasError::WeightOutOfRange {
                version: version.clone(),
                weight: *weight,
            });
        }
        if *version == self.primary {
            return Err(AliasError::AdditionalIsPrimary(version.clone()));
        }
        Ok(())
    }

    /// The versions this routing can send traffic to.
    pub fn versions(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.primary.as_str())
            .chain(self.additional.as_ref().map(|(v, _)| v.as_str()))
    }

    /// The share of traffic `version` receives.
    pub fn share(&self, version: &str) -> f64 {
        match &self.additional {
            None => f64::from(u8::from(version == self.primary)),
            Some((v, w)) if v == version => *w,
            Some((_, w)) if version == self.primary => 1.0 - w,
            Some(_) => 0.0,
        }
    }
}

impl fmt::Display for Routing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.additional {
            None => write!(f, "{}=1", self.primary),
            Some((v, w)) => write!(f, "{}={},{v}={w}", self.primary, 1.0 - w),
        }
    }
}

/// A UUID-shaped revision id, stable for a given alias name and revision number.
fn revision_id_of(alias: &str, revision: u64) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in alias.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let v = (u128::from(h) << 64) | u128::from(revision);
    let x = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &x[..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..]
    )
}

fn is_version(v: &str) -> bool {
    v == LATEST || (!v.is_empty() && v.len() <= 1024 && v.bytes().all(|b| b.is_ascii_digit()))
}

/// A routing Lambda would refuse, with Lambda's message where it documents one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AliasError {
    /// More than one entry in `AdditionalVersionWeights`.
    #[error("Number of items in AdditionalVersionWeights cannot be greater than 1")]
    TooManyAdditionalVersions,
    /// Weighted routing with `$LATEST` on either side.
    #[error("$LATEST is not supported for an alias pointing to more than 1 version")]
    LatestWithRouting,
    /// A weight outside `[0, 1]`.
    #[error(
        "weight {weight} of version {version} is out of range: AdditionalVersionWeights values must be between 0.0 and 1.0"
    )]
    WeightOutOfRange {
        /// The additional version.
        version: String,
        /// Its weight.
        weight: f64,
    },
    /// The additional version is the primary one.
    #[error(
        "Invalid function version {0}. Function version {0} is already included in routing configuration."
    )]
    AdditionalIsPrimary(String),
    /// Not `$LATEST` nor a published version number.
    #[error("invalid version {0:?}: use a published version number (e.g. 3) or $LATEST")]
    InvalidVersion(String),
    /// The routing names a version the alias has no invoker for.
    #[error("version {0} is not published: publish it (give it a code dir) before routing to it")]
    UnknownVersion(String),
    /// `UpdateAlias` with a `RevisionId` that is not the current one.
    #[error(
        "The Revision Id provided does not match the latest Revision Id. Call the GetAlias API to retrieve the latest Revision Id"
    )]
    RevisionMismatch,
}

/// One change of an alias's routing, for the ground-truth event log of deployments.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingChange {
    /// The alias's name.
    pub alias: String,
    /// The routing before the change.
    pub before: Routing,
    /// The routing after it.
    pub after: Routing,
}

#[derive(Debug)]
struct State {
    routing: Routing,
    rng: ChaCha8Rng,
    /// Bumped on every change; `RevisionId` is derived from it.
    revision: u64,
}

/// An alias: routes each invocation to one of its versions' invokers by weight.
pub struct Alias {
    name: String,
    invoked_arn: Option<String>,
    versions: BTreeMap<String, Arc<dyn Invoker>>,
    state: Mutex<State>,
}

impl fmt::Debug for Alias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Alias")
            .field("name", &self.name)
            .field("versions", &self.versions.keys().collect::<Vec<_>>())
            .field("routing", &self.routing())
            .finish()
    }
}

impl Alias {
    /// An alias `name` over the published `versions`, routing as `routing`, drawing with a
    /// ChaCha RNG seeded by `seed`.
    pub fn new(
        name: impl Into<String>,
        versions: BTreeMap<String, Arc<dyn Invoker>>,
        routing: Routing,
        seed: u64,
    ) -> Result<Self, AliasError> {
        let alias = Self {
            name: name.into(),
            invoked_arn: None,
            versions,
            state: Mutex::new(State {
                routing: Routing::single(LATEST),
                rng: ChaCha8Rng::seed_from_u64(seed),
                revision: 0,
            }),
        };
        alias.check(&routing)?;
        alias.lock().routing = routing;
        Ok(alias)
    }

    /// Sets the ARN passed to the runtime as invoked (e.g. `arn:...:function:f:live`) when the
    /// caller gave none.
    pub fn with_invoked_arn(mut self, arn: impl Into<String>) -> Self {
        self.invoked_arn = Some(arn.into());
        self
    }

    /// The ARN passed to the runtime as invoked when the caller gave none.
    pub fn invoked_arn(&self) -> Option<&str> {
        self.invoked_arn.as_deref()
    }

    /// The alias's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The current routing.
    pub fn routing(&self) -> Routing {
        self.lock().routing.clone()
    }

    /// Changes the routing (an `UpdateAlias`); returns the change for a ground-truth log.
    /// The new routing applies to every invocation that picks its version after this returns.
    pub fn set_routing(
        &self,
        primary: impl Into<String>,
        additional: Option<(String, f64)>,
    ) -> Result<RoutingChange, AliasError> {
        self.set_routing_if(None, primary, additional)
    }

    /// The current `RevisionId` (changes on every routing change).
    pub fn revision_id(&self) -> String {
        revision_id_of(&self.name, self.lock().revision)
    }

    /// [`Alias::set_routing`] only if `revision_id` (when given) is the current one, as
    /// `UpdateAlias` does with its `RevisionId` (optimistic locking).
    pub fn set_routing_if(
        &self,
        revision_id: Option<&str>,
        primary: impl Into<String>,
        additional: Option<(String, f64)>,
    ) -> Result<RoutingChange, AliasError> {
        self.set_routing_known_if(revision_id, primary, additional, |v| {
            self.versions.contains_key(v)
        })
    }

    /// [`Alias::set_routing_if`] with the versions that exist told by `exists` (the registry's,
    /// which include versions published after the alias was made).
    pub fn set_routing_known_if(
        &self,
        revision_id: Option<&str>,
        primary: impl Into<String>,
        additional: Option<(String, f64)>,
        exists: impl Fn(&str) -> bool,
    ) -> Result<RoutingChange, AliasError> {
        let after = Routing {
            primary: primary.into(),
            additional,
        };
        after.validate()?;
        if let Some(missing) = after.versions().find(|v| !exists(v)) {
            return Err(AliasError::UnknownVersion(missing.to_owned()));
        }
        let before = {
            let mut state = self.lock();
            if revision_id.is_some_and(|r| r != revision_id_of(&self.name, state.revision)) {
                return Err(AliasError::RevisionMismatch);
            }
            state.revision += 1;
            std::mem::replace(&mut state.routing, after.clone())
        };
        tracing::info!(alias = %self.name, %before, %after, "alias routing changed");
        Ok(RoutingChange {
            alias: self.name.clone(),
            before,
            after,
        })
    }

    /// Picks the version for the next invocation.
    pub fn pick(&self) -> String {
        let mut state = self.lock();
        let State { routing, rng, .. } = &mut *state;
        match &routing.additional {
            Some((version, weight)) if rng.random::<f64>() < *weight => version.clone(),
            _ => routing.primary.clone(),
        }
    }

    fn check(&self, routing: &Routing) -> Result<(), AliasError> {
        routing.validate()?;
        match routing.versions().find(|v| !self.versions.contains_key(*v)) {
            Some(missing) => Err(AliasError::UnknownVersion(missing.to_owned())),
            None => Ok(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Invoker for Alias {
    fn invoke(&self, mut request: InvokeRequest) -> InvokeFuture<'_> {
        let version = self.pick();
        if request.invoked_function_arn.is_none() {
            request.invoked_function_arn.clone_from(&self.invoked_arn);
        }
        Box::pin(async move {
            let invoker = self.versions.get(&version).ok_or_else(|| {
                InvokeError::NotFound(format!("version {version} of alias {}", self.name))
            })?;
            invoker.invoke(request).await
        })
    }
}

#[cfg(test)]
#[path = "alias_tests.rs"]
mod tests;
