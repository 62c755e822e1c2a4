//! How a version of a spec's function becomes the configuration of its execution environments
//! ([`FunctionConfig`]). The caller gives the code and layer directories: a `.zip` must be
//! unpacked first, which is not this pure module's business.

use std::path::PathBuf;

use protocol::lambda_api::limits::LATEST;
use protocol::lambda_api::names::{FunctionName, VersionNumber};

use super::model::{FunctionSpec, LabSpec};
use crate::env::FunctionConfig;

impl LabSpec {
    /// The environments' configuration of `version` of `function` (`None`: `$LATEST`), with
    /// its code in `code_dir` and its layers (in the function's order) in `layer_dirs`; `None`
    /// when the function or the version is not in the spec.
    pub fn function_config(
        &self,
        function: &FunctionName,
        version: Option<VersionNumber>,
        code_dir: PathBuf,
        layer_dirs: Vec<PathBuf>,
    ) -> Option<FunctionConfig> {
        let f: &FunctionSpec = self.functions.get(function)?;
        let (label, environment) = match version {
            None => (LATEST.to_owned(), &f.environment),
            Some(n) => (n.to_string(), &f.version(n)?.environment),
        };
        let mut config = FunctionConfig::new(function.as_str(), label, code_dir, &f.handler);
        config.memory_mb = f.memory_mb;
        config.timeout = f.timeout;
        config.env_vars = environment.clone();
        config.layer_dirs = layer_dirs;
        config.command = f.command.clone();
        config.stream_bandwidth = f
            .stream_bandwidth_cap
            .then_some(crate::env::stream::StreamBandwidth::LAMBDA);
        config.region = self.scope.region.clone();
        config.account_id = self.scope.account.clone();
        Some(config)
    }
}
