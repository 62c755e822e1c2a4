//! Registry operations on versions.

use std::sync::Arc;

use protocol::lambda_api::LambdaError;

use super::registry::{Registry, Version};

impl Registry {
    /// The versions of `function`, `$LATEST` first, then by number (`ListVersionsByFunction`).
    pub fn versions(&self, function: &str) -> Result<Vec<Arc<Version>>, LambdaError> {
        let snapshot = self.snapshot();
        let f = snapshot.function(function)?;
        Ok(std::iter::once(Arc::clone(&f.latest))
            .chain(f.versions.values().cloned())
            .collect())
    }
}
