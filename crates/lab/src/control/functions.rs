//! Registry operations on functions: invoking a function by qualifier.

use std::sync::Arc;

use super::registry::{Registry, Target};
use crate::invoke::{InvokeError, InvokeFuture, InvokeRequest, Invoker};

/// Invokes `(function, qualifier)` through the registry: the qualifier is resolved per
/// invocation from the current snapshot, so versions and aliases changed later are followed.
#[derive(Debug)]
pub struct RegistryInvoker {
    registry: Arc<Registry>,
    function: String,
    qualifier: Option<String>,
}

impl Registry {
    /// An invoker of `function` at `qualifier` (`None`: `$LATEST`).
    pub fn invoker(self: &Arc<Self>, function: &str, qualifier: Option<&str>) -> RegistryInvoker {
        RegistryInvoker {
            registry: Arc::clone(self),
            function: function.to_owned(),
            qualifier: qualifier.map(str::to_owned),
        }
    }
}

impl Invoker for RegistryInvoker {
    fn invoke(&self, mut request: InvokeRequest) -> InvokeFuture<'_> {
        Box::pin(async move {
            let snapshot = self.registry.snapshot();
            let target = snapshot
                .resolve(&self.function, self.qualifier.as_deref())
                .map_err(|e| InvokeError::NotFound(e.message))?;
            let pool = match target {
                Target::Version(v) => Arc::clone(&v.pool),
                Target::Alias(alias) => {
                    let version = alias.pick();
                    if request.invoked_function_arn.is_none() {
                        request.invoked_function_arn = alias.invoked_arn().map(str::to_owned);
                    }
                    self.registry
                        .version_pool(&snapshot, &self.function, &version)
                        .map_err(|e| InvokeError::NotFound(e.message))?
                }
            };
            pool.invoke(request).await
        })
    }
}
