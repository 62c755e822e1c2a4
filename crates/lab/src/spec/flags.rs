//! Today's one-function flags as one case of the model: `rollcall-lab serve --version N=DIR ...`
//! is a lab of one function whose versions are the `--version`s (published 1..N), whose
//! `$LATEST` is the last version's code and environment (as the flags always ran it), with the
//! `--alias`, and routes to the alias (or to `$LATEST` without one).

use std::collections::BTreeMap;

use protocol::lambda_api::names::{AliasName, FunctionName, LayerName, Qualifier};

use super::model::{Code, FunctionSpec, LabSpec, LayerSpec, RouteSpec, SpecError, VersionSpec};
use crate::cli::ServeConfig;

impl LabSpec {
    /// The lab `serve` runs for one-function flags (already validated by clap and
    /// [`crate::cli::ServeArgs::into_config`]); the error names the flag and the fix.
    pub fn from_serve_config(config: &ServeConfig) -> Result<Self, SpecError> {
        let name = FunctionName::parse(&config.function)
            .map_err(|e| SpecError::at("--function", e.to_string()))?;
        // Lambda numbers published versions 1, 2, 3, ...; a lab may start after some were
        // deleted (`--version 3=DIR` alone), but never with a hole in the middle.
        let first: u64 = config
            .versions
            .first()
            .and_then(|v| v.version.parse().ok())
            .unwrap_or(0);
        if first == 0 {
            return Err(SpecError::at(
                "--version",
                "version 0 does not exist; Lambda numbers published versions from 1: number the --version flags 1, 2, 3, ...",
            ));
        }
        for (n, v) in (first..).zip(&config.versions) {
            if v.version != n.to_string() {
                return Err(SpecError::at(
                    "--version",
                    format!(
                        "version {} follows version {}; Lambda numbers published versions 1, 2, 3, ...: number the --version flags without gaps",
                        v.version,
                        n - 1
                    ),
                ));
            }
        }
        let mut spec = LabSpec::new();
        let mut layer_names = Vec::with_capacity(config.layers.len());
        for (i, dir) in config.layers.iter().enumerate() {
            let layer = LayerName::parse(&format!("layer-{}", i + 1))
                .expect("layer-N is a valid layer name");
            spec.layers.insert(
                layer.clone(),
                LayerSpec {
                    content: Code::Dir(dir.clone()),
                },
            );
            layer_names.push(layer);
        }
        let latest = config.latest();
        let mut function = FunctionSpec::new(Code::Dir(latest.code_dir.clone()), &config.handler);
        function.memory_mb = config.memory_mb;
        function.timeout = config.timeout;
        function.environment = with_version_env(&config.env, &latest.env);
        function.layers = layer_names;
        function.reserved_concurrency = config.concurrency;
        function.first_version = first;
        function.latest_is_last_version = true;
        function.versions = config
            .versions
            .iter()
            .map(|v| VersionSpec {
                code: Code::Dir(v.code_dir.clone()),
                environment: with_version_env(&config.env, &v.env),
            })
            .collect();
        let qualifier = match &config.alias {
            Some(alias) => {
                let alias_name = AliasName::parse(&alias.name)
                    .map_err(|e| SpecError::at("--alias", e.to_string()))?;
                function
                    .aliases
                    .insert(alias_name.clone(), alias.routing.clone());
                Some(Qualifier::Alias(alias_name))
            }
            None => None,
        };
        spec.routes = config
            .routes
            .routes()
            .iter()
            .map(|route| RouteSpec {
                route: route.clone(),
                function: name.clone(),
                qualifier: qualifier.clone(),
            })
            .collect();
        spec.functions.insert(name, function);
        spec.seed = Some(config.seed);
        spec.validate()?;
        Ok(spec)
    }
}

fn with_version_env(
    common: &BTreeMap<String, String>,
    own: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut env = common.clone();
    env.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
    env
}
