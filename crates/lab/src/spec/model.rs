//! The pure model of what a lab runs: functions (code, handler, runtime command, memory,
//! timeout, environment, layers, reserved concurrency, versions published at start, aliases),
//! layers, API Gateway routes to `function[:qualifier]`, the alias RNG's seed, Region and
//! account. [`LabSpec::validate`] refuses everything Lambda would refuse; every error names the
//! key (`functions.hello.memory`) and the fix. Nothing here touches a file or a socket.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use protocol::lambda_api::limits::{
    ENVIRONMENT_MAX_BYTES, HANDLER_MAX, LAYERS_PER_FUNCTION_MAX, MEMORY_MAX_MB, MEMORY_MIN_MB,
    TIMEOUT_MAX_S, TIMEOUT_MIN_S,
};
use protocol::lambda_api::names::{
    AliasName, ArnScope, FunctionName, LayerName, Qualifier, VersionNumber,
};

use crate::api::gateway::Route;
use crate::control::alias::Routing;

/// The runtime a function names when the spec gives none (an OS-only runtime: the package or a
/// layer brings `bootstrap`).
pub const DEFAULT_RUNTIME: &str = "provided.al2023";
/// Concurrent executions Lambda keeps unreserved in an account ("Lambda requires at least
/// 100 unreserved concurrent executions", PutFunctionConcurrency).
pub const UNRESERVED_MIN: u64 = 100;
/// The Region of a lab whose spec names none.
pub const DEFAULT_REGION: &str = "us-east-1";
/// The account of a lab whose spec names none.
pub const DEFAULT_ACCOUNT: &str = "123456789012";

/// Everything a lab runs.
#[derive(Debug, Clone, PartialEq)]
pub struct LabSpec {
    /// The functions, by name.
    pub functions: BTreeMap<FunctionName, FunctionSpec>,
    /// The layers, by name; each is published as layer version 1.
    pub layers: BTreeMap<LayerName, LayerSpec>,
    /// The API Gateway front door's routes, in the order written.
    pub routes: Vec<RouteSpec>,
    /// Seed of the aliases' routing RNG (random when absent).
    pub seed: Option<u64>,
    /// Partition, Region and account of every ARN.
    pub scope: ArnScope,
}

/// A function package or layer content: an unpacked directory or a `.zip` archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    /// A directory used as it is (`/var/task` or `/opt`).
    Dir(PathBuf),
    /// A `.zip` archive, unpacked by the lab.
    Zip(PathBuf),
}

impl Code {
    /// A path ending in `.zip` (any case) is an archive; anything else a directory.
    pub fn from_path(path: PathBuf) -> Self {
        let is_zip = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
        if is_zip {
            Self::Zip(path)
        } else {
            Self::Dir(path)
        }
    }

    /// The path, whichever kind.
    pub fn path(&self) -> &Path {
        match self {
            Self::Dir(p) | Self::Zip(p) => p,
        }
    }
}

/// One function and what is published of it at start.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSpec {
    /// `$LATEST`'s code.
    pub code: Code,
    /// `_HANDLER`.
    pub handler: String,
    /// The runtime identifier (informational: `Runtime` in the Lambda API).
    pub runtime: String,
    /// The argv run instead of `bootstrap` (the role of a managed runtime's
    /// `/var/runtime/bootstrap`), e.g. `["python3", "runtime.py"]`; run in the code dir.
    pub command: Option<Vec<String>>,
    /// Memory in MB.
    pub memory_mb: u32,
    /// Function timeout.
    pub timeout: Duration,
    /// `$LATEST`'s environment variables.
    pub environment: BTreeMap<String, String>,
    /// Names of the spec's layers, in order (later layers win in `/opt`).
    pub layers: Vec<LayerName>,
    /// Reserved concurrency; `None` shares the account's unreserved concurrency.
    pub reserved_concurrency: Option<u32>,
    /// The number of the first entry of `versions`: 1, unless earlier versions count as deleted
    /// (the one-function flags' `--version 3=DIR` alone).
    pub first_version: u64,
    /// Versions published at start: the first is version `first_version`, the next one more,
    /// and so on.
    pub versions: Vec<VersionSpec>,
    /// Aliases and where they route.
    pub aliases: BTreeMap<AliasName, Routing>,
    /// `$LATEST` runs in the last published version's environments, which report that
    /// version's number: how the one-function flags always ran it. Otherwise (a spec file, as
    /// Lambda does) `$LATEST` has environments of its own that report `$LATEST`.
    pub latest_is_last_version: bool,
    /// Its function URL (`AuthType: NONE`), if it has one.
    pub url: Option<UrlSpec>,
    /// Whether its streamed responses keep to Lambda's bandwidth cap (2 MB/s after 6 MB).
    pub stream_bandwidth_cap: bool,
}

/// A function URL: what it invokes and how (`functions.<name>.url` in a spec file).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UrlSpec {
    /// `BUFFERED` or `RESPONSE_STREAM`.
    pub invoke_mode: crate::api::url::InvokeMode,
    /// The alias or version it invokes (`None`: `$LATEST`).
    pub qualifier: Option<Qualifier>,
}

impl FunctionSpec {
    /// A function with Lambda's defaults (128 MB, 3 s, [`DEFAULT_RUNTIME`]) and nothing
    /// published.
    pub fn new(code: Code, handler: impl Into<String>) -> Self {
        Self {
            code,
            handler: handler.into(),
            runtime: DEFAULT_RUNTIME.into(),
            command: None,
            memory_mb: protocol::lambda_api::limits::MEMORY_DEFAULT_MB,
            timeout: Duration::from_secs(u64::from(
                protocol::lambda_api::limits::TIMEOUT_DEFAULT_S,
            )),
            environment: BTreeMap::new(),
            layers: Vec::new(),
            reserved_concurrency: None,
            first_version: 1,
            versions: Vec::new(),
            aliases: BTreeMap::new(),
            latest_is_last_version: false,
            url: None,
            stream_bandwidth_cap: true,
        }
    }

    /// The published version `n` (numbered from `first_version`), if published.
    pub fn version(&self, n: VersionNumber) -> Option<&VersionSpec> {
        n.0.checked_sub(self.first_version)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.versions.get(i))
    }

    /// The published versions with their numbers, in order.
    pub fn numbered_versions(&self) -> impl Iterator<Item = (VersionNumber, &VersionSpec)> {
        (self.first_version..)
            .zip(&self.versions)
            .map(|(n, v)| (VersionNumber(n), v))
    }

    /// `1..=2` (the published version numbers), or `none` when nothing is published.
    pub fn published_range(&self) -> String {
        match self.versions.len() as u64 {
            0 => "none".into(),
            len => format!("{}..={}", self.first_version, self.first_version + len - 1),
        }
    }

    /// Whether `qualifier` names `$LATEST`, a published version or an alias of this function.
    pub fn has(&self, qualifier: &Qualifier) -> bool {
        match qualifier {
            Qualifier::Latest => true,
            Qualifier::Version(n) => self.version(*n).is_some(),
            Qualifier::Alias(a) => self.aliases.contains_key(a),
        }
    }
}

/// A version published at start: a snapshot of `$LATEST` with, possibly, its own code and
/// environment.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionSpec {
    /// The version's code.
    pub code: Code,
    /// The version's whole environment (the function's, with the version's own keys over it).
    pub environment: BTreeMap<String, String>,
}

/// A layer: its content plays `/opt`; it is published as version 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerSpec {
    /// A directory or a `.zip`.
    pub content: Code,
}

/// One route of the front door and the function it invokes.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteSpec {
    /// Method, path and payload format.
    pub route: Route,
    /// The function invoked.
    pub function: FunctionName,
    /// Its qualifier; `None` invokes the unqualified function (`$LATEST`).
    pub qualifier: Option<Qualifier>,
}

/// A spec Lambda (or API Gateway) would refuse: where, what, and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SpecError {
    /// The spec file, when the spec came from one.
    pub file: Option<PathBuf>,
    /// 1-based line and column, where the YAML parser gives them.
    pub location: Option<(usize, usize)>,
    /// The key path, e.g. `functions.hello.memory` (empty for the whole document).
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl SpecError {
    /// An error at `key`.
    pub fn at(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: None,
            location: None,
            key: key.into(),
            message: message.into(),
        }
    }

    /// The same error, in `file`.
    pub fn in_file(mut self, file: &Path) -> Self {
        self.file = Some(file.to_owned());
        self
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some((line, col)) = self.location {
                write!(f, ":{line}:{col}")?;
            }
            f.write_str(": ")?;
        } else if let Some((line, col)) = self.location {
            write!(f, "line {line} column {col}: ")?;
        }
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// `functions.<name>.<rest>`.
fn fkey(name: &FunctionName, rest: &str) -> String {
    if rest.is_empty() {
        format!("functions.{name}")
    } else {
        format!("functions.{name}.{rest}")
    }
}

impl LabSpec {
    /// An empty lab in Lambda's default scope (`aws`, [`DEFAULT_REGION`], [`DEFAULT_ACCOUNT`]).
    pub fn new() -> Self {
        Self {
            functions: BTreeMap::new(),
            layers: BTreeMap::new(),
            routes: Vec::new(),
            seed: None,
            scope: ArnScope::new("aws", DEFAULT_REGION, DEFAULT_ACCOUNT)
                .expect("the default scope is valid"),
        }
    }

    /// Checks everything Lambda and API Gateway would refuse.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.functions.is_empty() {
            return Err(SpecError::at(
                "functions",
                "the lab runs no function; add one under `functions:` (name: {code: DIR, handler: ...})",
            ));
        }
        for (name, function) in &self.functions {
            self.validate_function(name, function)?;
        }
        self.validate_reserved()?;
        self.validate_routes()
    }

    /// Lambda keeps at least [`UNRESERVED_MIN`] of the account's
    /// [`crate::pool::ACCOUNT_CONCURRENCY`] for functions without reserved concurrency.
    fn validate_reserved(&self) -> Result<(), SpecError> {
        let allowed = crate::pool::ACCOUNT_CONCURRENCY as u64 - UNRESERVED_MIN;
        let mut total = 0u64;
        for (name, f) in &self.functions {
            total += u64::from(f.reserved_concurrency.unwrap_or(0));
            if total > allowed {
                return Err(SpecError::at(
                    fkey(name, "reserved_concurrency"),
                    format!(
                        "the functions reserve {total} concurrent executions together; Lambda keeps {UNRESERVED_MIN} of the account's {} unreserved, so at most {allowed} can be reserved: lower it",
                        crate::pool::ACCOUNT_CONCURRENCY
                    ),
                ));
            }
        }
        Ok(())
    }

    fn validate_function(&self, name: &FunctionName, f: &FunctionSpec) -> Result<(), SpecError> {
        if let Some(q) = f.url.as_ref().and_then(|u| u.qualifier.as_ref())
            && !f.has(q)
        {
            return Err(unknown_qualifier(fkey(name, "url.qualifier"), name, f, q));
        }
        if !(MEMORY_MIN_MB..=MEMORY_MAX_MB).contains(&f.memory_mb) {
            return Err(SpecError::at(
                fkey(name, "memory"),
                format!(
                    "{} MB is out of range; use {MEMORY_MIN_MB}..={MEMORY_MAX_MB} MB",
                    f.memory_mb
                ),
            ));
        }
        let (lo, hi) = (u64::from(TIMEOUT_MIN_S), u64::from(TIMEOUT_MAX_S));
        if f.timeout < Duration::from_secs(lo) || f.timeout > Duration::from_secs(hi) {
            return Err(SpecError::at(
                fkey(name, "timeout"),
                format!(
                    "{:?} is out of range; use {lo} s..={hi} s, as seconds (3) or a duration (3s, 1m)",
                    f.timeout
                ),
            ));
        }
        if f.handler.is_empty()
            || f.handler.len() > HANDLER_MAX
            || f.handler.contains(char::is_whitespace)
        {
            return Err(SpecError::at(
                fkey(name, "handler"),
                format!(
                    "{:?} is invalid; use 1 to {HANDLER_MAX} characters without spaces, e.g. bootstrap or handler.fn",
                    f.handler
                ),
            ));
        }
        if f.runtime.trim().is_empty() {
            return Err(SpecError::at(
                fkey(name, "runtime"),
                format!("is empty; name a runtime such as {DEFAULT_RUNTIME}, or leave the key out"),
            ));
        }
        if let Some(command) = &f.command
            && command.first().is_none_or(|p| p.trim().is_empty())
        {
            return Err(SpecError::at(
                fkey(name, "command"),
                "is empty; give the program and its arguments, e.g. [python3, runtime.py], or leave the key out to run bootstrap",
            ));
        }
        check_environment(&fkey(name, "environment"), &f.environment)?;
        if f.layers.len() > LAYERS_PER_FUNCTION_MAX {
            return Err(SpecError::at(
                fkey(name, "layers"),
                format!(
                    "{} layers; Lambda allows at most {LAYERS_PER_FUNCTION_MAX}: merge some of them",
                    f.layers.len()
                ),
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, layer) in f.layers.iter().enumerate() {
            if !self.layers.contains_key(layer) {
                return Err(SpecError::at(
                    fkey(name, &format!("layers[{i}]")),
                    format!(
                        "layer {layer} is not defined; define it under `layers:` ({}) or remove it",
                        self.layer_names()
                    ),
                ));
            }
            if !seen.insert(layer) {
                return Err(SpecError::at(
                    fkey(name, &format!("layers[{i}]")),
                    format!("layer {layer} is named twice; name each layer once"),
                ));
            }
        }
        if f.reserved_concurrency == Some(0) {
            return Err(SpecError::at(
                fkey(name, "reserved_concurrency"),
                "0 would throttle every invocation; use at least 1, or leave the key out for the account's unreserved concurrency",
            ));
        }
        for (i, version) in f.versions.iter().enumerate() {
            check_environment(
                &fkey(name, &format!("versions[{i}].environment")),
                &version.environment,
            )?;
        }
        for (alias, routing) in &f.aliases {
            let key = fkey(name, &format!("aliases.{alias}"));
            routing
                .validate()
                .map_err(|e| SpecError::at(&key, format!("{e}; {}", alias_fix(&e))))?;
            for v in routing.versions() {
                let q = Qualifier::parse(v).map_err(|e| SpecError::at(&key, e.to_string()))?;
                if !f.has(&q) {
                    return Err(SpecError::at(
                        &key,
                        format!(
                            "version {v} is not published; the function publishes versions {} (one per entry of `versions`): add a version or route to one of them",
                            f.published_range()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn validate_routes(&self) -> Result<(), SpecError> {
        let mut keys = BTreeSet::new();
        for (i, r) in self.routes.iter().enumerate() {
            let key = format!("routes[{i}]");
            let Some(function) = self.functions.get(&r.function) else {
                return Err(SpecError::at(
                    format!("{key}.target"),
                    format!(
                        "function {} is not defined; use one of {}",
                        r.function,
                        self.function_names()
                    ),
                ));
            };
            if let Some(q) = &r.qualifier
                && !function.has(q)
            {
                return Err(unknown_qualifier(
                    format!("{key}.target"),
                    &r.function,
                    function,
                    q,
                ));
            }
            if !keys.insert(r.route.route_key()) {
                return Err(SpecError::at(
                    format!("{key}.route"),
                    format!(
                        "route {} is defined twice; API Gateway keeps one integration per route key: remove one",
                        r.route.route_key()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn function_names(&self) -> String {
        let names: Vec<&str> = self.functions.keys().map(FunctionName::as_str).collect();
        names.join(", ")
    }

    fn layer_names(&self) -> String {
        if self.layers.is_empty() {
            return "none is".into();
        }
        let names: Vec<&str> = self.layers.keys().map(LayerName::as_str).collect();
        format!("{} are", names.join(", "))
    }
}

impl Default for LabSpec {
    fn default() -> Self {
        Self::new()
    }
}

fn alias_fix(e: &crate::control::alias::AliasError) -> &'static str {
    use crate::control::alias::AliasError as E;
    match e {
        E::TooManyAdditionalVersions => "give at most one additional version in `weights`",
        E::LatestWithRouting => "publish a version and route to its number instead of $LATEST",
        E::WeightOutOfRange { .. } => "give the additional version a weight between 0.0 and 1.0",
        E::AdditionalIsPrimary(_) => "give the additional version another number than `version`",
        _ => "use $LATEST or a published version number",
    }
}

/// Variables the Lambda runtime sets, which "are reserved and cannot be set in your function
/// configuration" (Lambda developer guide, *Defined runtime environment variables*; `_HANDLER`
/// and `_X_AMZN_TRACE_ID` already break the key pattern). `TZ`, listed there too, is left out:
/// functions set it in practice.
pub const RESERVED_VARIABLES: &[&str] = &[
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// Lambda's rules for environment variables: keys `[a-zA-Z]([a-zA-Z0-9_])+` and not reserved,
/// and all keys and values together at most 4 KB.
/// A route's or a function URL's qualifier that names nothing of its function.
fn unknown_qualifier(
    key: String,
    name: &FunctionName,
    function: &FunctionSpec,
    q: &Qualifier,
) -> SpecError {
    SpecError::at(
        key,
        format!(
            "function {name} has no version or alias {q}; use $LATEST, a version {} or one of its aliases ({})",
            function.published_range(),
            function
                .aliases
                .keys()
                .map(AliasName::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}

fn check_environment(key: &str, env: &BTreeMap<String, String>) -> Result<(), SpecError> {
    for name in env.keys() {
        let mut chars = name.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && name.len() >= 2
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(SpecError::at(
                format!("{key}.{name}"),
                "is not a valid variable name; start with a letter and use letters, digits and _ (at least 2 characters)",
            ));
        }
        if RESERVED_VARIABLES.contains(&name.as_str()) {
            return Err(SpecError::at(
                format!("{key}.{name}"),
                "is reserved: Lambda sets it in every environment and refuses it in a function's configuration; remove it",
            ));
        }
    }
    let size: usize = env.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > ENVIRONMENT_MAX_BYTES {
        return Err(SpecError::at(
            key,
            format!(
                "the variables take {size} bytes; Lambda allows {ENVIRONMENT_MAX_BYTES} bytes of keys and values together: shorten or remove some"
            ),
        ));
    }
    Ok(())
}
