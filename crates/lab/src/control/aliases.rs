//! Registry operations on aliases.

use std::sync::Arc;

use protocol::lambda_api::{LambdaError, LambdaErrorType};

use super::alias::{Alias, AliasError, RoutingChange};
use super::registry::Registry;

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
            Ok(alias.set_routing_known_if(revision_id, primary, additional, exists)?)
        })
    }
}
