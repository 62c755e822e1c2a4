//! Registry operations on aliases.

use std::collections::BTreeMap;
use std::sync::Arc;

use protocol::lambda_api::LATEST;

use protocol::lambda_api::{LambdaError, LambdaErrorType};

use super::alias::{Alias, AliasError, Routing, RoutingChange};
use super::events::Event;
use super::registry::Registry;
use crate::invoke::Invoker;

/// Why an alias operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum AliasOperationError {
    /// The function or alias does not exist.
    #[error(transparent)]
    NotFound(#[from] LambdaError),
    /// The change itself was refused.
    #[error(transparent)]
    Refused(#[from] AliasError),
}

impl Registry {
    /// The alias `alias` of `function`.
    pub fn alias(&self, function: &str, alias: &str) -> Result<Arc<Alias>, LambdaError> {
        let snapshot = self.snapshot();
        snapshot
            .function(function)?
            .aliases
            .get(alias)
            .cloned()
            .ok_or_else(|| {
                LambdaError::new(
                    LambdaErrorType::ResourceNotFound,
                    format!("Alias not found: {function}:{alias}"),
                )
            })
    }

    /// `UpdateAlias`: routes `alias` of `function` as `primary` plus `additional`, if
    /// `revision_id` (when given) is the alias's current one. Serialised with every other
    /// mutation; invocations keep running on the routing they picked.
    pub fn update_alias(
        &self,
        function: &str,
        alias: &str,
        revision_id: Option<&str>,
        primary: String,
        additional: Option<(String, f64)>,
    ) -> Result<RoutingChange, AliasOperationError> {
        self.mutate(|snapshot| {
            let f = snapshot.function(function)?;
            let alias = f.aliases.get(alias).cloned().ok_or_else(|| {
                LambdaError::new(
                    LambdaErrorType::ResourceNotFound,
                    format!("Alias not found: {function}:{alias}"),
                )
            })?;
            let exists = |v: &str| f.version(v).is_some();
            let change = alias.set_routing_known_if(revision_id, primary, additional, exists)?;
            if let Some(log) = self.event_log() {
                log.record(Event::routing_changed(function, &change));
            }
            Ok(change)
        })
    }

    /// `CreateAlias`: a new alias `name` of `function` routing as `routing`, whose invocations
    /// are reported as invoked through `arn`; its RNG draws from the next alias seed.
    pub fn create_alias(
        &self,
        function: &str,
        name: &str,
        routing: Routing,
        arn: String,
    ) -> Result<Arc<Alias>, AliasOperationError> {
        self.mutate(|snapshot| {
            let f = snapshot.function(function)?;
            if f.aliases.contains_key(name) {
                return Err(LambdaError::new(
                    LambdaErrorType::ResourceConflict,
                    format!("Alias already exists: {arn}"),
                )
                .into());
            }
            if f.version(&routing.primary).is_none() {
                return Err(LambdaError::new(
                    LambdaErrorType::ResourceNotFound,
                    format!("Function not found: {}:{}", function, routing.primary),
                )
                .into());
            }
            let invokers: BTreeMap<String, Arc<dyn Invoker>> = f
                .versions
                .values()
                .map(|v| (v.version.clone(), Arc::clone(&v.pool)))
                .chain([(LATEST.to_owned(), Arc::clone(&f.latest.pool))])
                .collect();
            let alias = Alias::new(name, invokers, routing, self.take_alias_seed())?;
            let alias = Arc::new(alias.with_invoked_arn(arn));
            let f = snapshot
                .functions
                .get_mut(function)
                .expect("the function was just found");
            f.aliases.insert(name.to_owned(), Arc::clone(&alias));
            Ok(alias)
        })
    }

    /// `DeleteAlias`: invocations already routed keep running; new ones find no alias.
    pub fn delete_alias(&self, function: &str, name: &str) -> Result<(), LambdaError> {
        self.mutate(|snapshot| {
            snapshot.function(function)?;
            let f = snapshot
                .functions
                .get_mut(function)
                .expect("the function was just found");
            f.aliases.remove(name).map(|_| ()).ok_or_else(|| {
                LambdaError::new(
                    LambdaErrorType::ResourceNotFound,
                    format!("Alias not found: {function}:{name}"),
                )
            })
        })
    }

    /// The aliases of `function`, by name.
    pub fn aliases(&self, function: &str) -> Result<Vec<Arc<Alias>>, LambdaError> {
        let snapshot = self.snapshot();
        Ok(snapshot
            .function(function)?
            .aliases
            .values()
            .cloned()
            .collect())
    }
}
