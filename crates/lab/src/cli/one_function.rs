//! The one-function flags (`--function`, `--version`, `--alias`, `--weights`, `--route`, ...)
//! validated into the closed [`ServeConfig`] by the pure [`ServeArgs::into_config`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::{CliError, ServeArgs, ServeOptions, absolute, invalid};
use crate::api::gateway::{PayloadFormat, Route, RouteTable};
use crate::control::alias::Routing;

/// One published version.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionSpec {
    /// The version number.
    pub version: String,
    /// Its code dir.
    pub code_dir: PathBuf,
    /// Its own environment variables (over the function's).
    pub env: BTreeMap<String, String>,
}

/// The alias the front door invokes.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasSpec {
    /// Its name.
    pub name: String,
    /// Its routing.
    pub routing: Routing,
}

/// The validated configuration of `serve`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeConfig {
    /// Function name.
    pub function: String,
    /// Published versions in ascending order; the last also plays `$LATEST`.
    pub versions: Vec<VersionSpec>,
    /// Handler.
    pub handler: String,
    /// Memory in MB.
    pub memory_mb: u32,
    /// Function timeout.
    pub timeout: Duration,
    /// Environment variables of every version.
    pub env: BTreeMap<String, String>,
    /// Layer dirs.
    pub layers: Vec<PathBuf>,
    /// The alias, if any; without one the front door invokes `$LATEST`.
    pub alias: Option<AliasSpec>,
    /// Seed of the alias's RNG.
    pub seed: u64,
    /// Reserved concurrency.
    pub concurrency: Option<u32>,
    /// Routes of the API front door.
    pub routes: RouteTable,
    /// Default payload format.
    pub default_format: PayloadFormat,
    /// API front door address.
    pub api_addr: SocketAddr,
    /// Invoke API address.
    pub lambda_addr: SocketAddr,
    /// Log directory.
    pub log_dir: Option<PathBuf>,
    /// The readiness document's path (`--ready-file`).
    pub ready_file: Option<PathBuf>,
    /// PutMetricAlarm JSON files.
    pub alarms: Vec<PathBuf>,
    /// The event log file, if any.
    pub event_log: Option<PathBuf>,
    /// The lab-wide time scale (>= 1).
    pub time_scale: f64,
}

impl ServeConfig {
    /// Where the lab serves.
    pub fn options(&self) -> ServeOptions {
        ServeOptions {
            api_addr: self.api_addr,
            lambda_addr: self.lambda_addr,
            log_dir: self.log_dir.clone(),
            default_format: self.default_format,
            ready_file: self.ready_file.clone(),
            spec_file: None,
            alarms: self.alarms.clone(),
            event_log: self.event_log.clone(),
            time_scale: self.time_scale,
        }
    }

    /// The version that plays `$LATEST` (the last published).
    pub fn latest(&self) -> &VersionSpec {
        // `into_config` refuses an empty version list.
        &self.versions[self.versions.len() - 1]
    }
}

fn key_value<'a>(
    flag: &'static str,
    s: &'a str,
    fix: &str,
) -> Result<(&'a str, &'a str), CliError> {
    s.split_once('=')
        .filter(|(k, _)| !k.trim().is_empty())
        .map(|(k, v)| (k.trim(), v))
        .ok_or_else(|| invalid(flag, s, fix))
}

fn version_number(flag: &'static str, whole: &str, v: &str) -> Result<String, CliError> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            flag,
            whole,
            "versions are published numbers, e.g. 1",
        ));
    }
    Ok(v.to_owned())
}

/// Parses `3`, `3s`, `1m`, `500ms` into a duration.
fn parse_timeout(s: &str) -> Result<Duration, CliError> {
    let fix = "use seconds (3) or a duration (3s, 1m) between 1 s and 900 s";
    let d = match s.trim().parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(s.trim()).map_err(|_| invalid("--timeout", s, fix))?,
    };
    if d < Duration::from_secs(1) || d > Duration::from_secs(900) {
        return Err(invalid("--timeout", s, fix));
    }
    Ok(d)
}

/// Parses `--weights 1=0.9,2=0.1` into a routing: the first entry is the primary version.
pub fn parse_weights(s: &str) -> Result<Routing, CliError> {
    let fix = "use N=W,... with the primary first and weights summing to 1, e.g. 1=0.9,2=0.1";
    let mut entries = Vec::new();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        let (v, w) = key_value("--weights", part, fix)?;
        let version = version_number("--weights", s, v)?;
        let weight: f64 = w.trim().parse().map_err(|_| invalid("--weights", s, fix))?;
        if entries.iter().any(|(e, _)| *e == version) {
            return Err(invalid("--weights", s, "name each version once"));
        }
        entries.push((version, weight));
    }
    let Some((primary, _)) = entries.first().cloned() else {
        return Err(invalid("--weights", s, fix));
    };
    let additional: BTreeMap<String, f64> = entries[1..].iter().cloned().collect();
    let routing = Routing::from_weights(primary, &additional)?;
    let sum: f64 = entries.iter().map(|(_, w)| w).sum();
    if (sum - 1.0).abs() > 1e-9 {
        return Err(invalid(
            "--weights",
            s,
            format!("the weights sum to {sum}; {fix}"),
        ));
    }
    Ok(routing)
}

impl ServeArgs {
    /// Validates every flag into the closed [`ServeConfig`] (pure: touches no file or socket).
    pub fn into_config(self) -> Result<ServeConfig, CliError> {
        if self.function.is_empty()
            || !self
                .function
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(
                "--function",
                &self.function,
                "use letters, digits, - and _",
            ));
        }
        let mut versions: BTreeMap<u64, VersionSpec> = BTreeMap::new();
        for spec in &self.versions {
            let (v, dir) = key_value("--version", spec, "use N=DIR, e.g. 1=./code/v1")?;
            let version = version_number("--version", spec, v)?;
            if dir.trim().is_empty() {
                return Err(invalid("--version", spec, "use N=DIR, e.g. 1=./code/v1"));
            }
            let n: u64 = version.parse().map_err(|_| {
                invalid(
                    "--version",
                    spec,
                    "use a version number that fits in 64 bits",
                )
            })?;
            let vs = VersionSpec {
                version,
                code_dir: absolute("--version", spec, dir)?,
                env: BTreeMap::new(),
            };
            if versions.insert(n, vs).is_some() {
                return Err(invalid("--version", spec, "give each version once"));
            }
        }
        for spec in &self.version_env {
            let fix = "use N:KEY=VALUE with N a --version, e.g. 2:HELLO_FAIL_RATE=0.5";
            let (v, kv) = spec
                .split_once(':')
                .ok_or_else(|| invalid("--version-env", spec, fix))?;
            let (key, value) = key_value("--version-env", kv, fix)
                .map_err(|_| invalid("--version-env", spec, fix))?;
            let vs = v
                .parse::<u64>()
                .ok()
                .and_then(|n| versions.get_mut(&n))
                .ok_or_else(|| invalid("--version-env", spec, fix))?;
            vs.env.insert(key.to_owned(), value.to_owned());
        }
        let mut env = BTreeMap::new();
        for spec in &self.env {
            let (key, value) = key_value("--env", spec, "use KEY=VALUE")?;
            env.insert(key.to_owned(), value.to_owned());
        }
        if !(128..=10240).contains(&self.memory) {
            return Err(invalid(
                "--memory",
                &self.memory.to_string(),
                "use 128..=10240 MB",
            ));
        }
        let timeout = parse_timeout(&self.timeout)?;
        let alias = match (&self.alias, &self.weights) {
            (None, None) => None,
            (None, Some(w)) => return Err(invalid("--weights", w, "give --alias NAME too")),
            (Some(name), weights) => {
                if name.is_empty()
                    || name.bytes().all(|b| b.is_ascii_digit())
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    return Err(invalid(
                        "--alias",
                        name,
                        "use letters, digits, - and _ (not only digits), e.g. live",
                    ));
                }
                let routing = match weights {
                    Some(w) => parse_weights(w)?,
                    None => Routing::single(
                        versions
                            .values()
                            .last()
                            .map(|v| v.version.clone())
                            .unwrap_or_default(),
                    ),
                };
                if let Some(missing) = routing
                    .versions()
                    .find(|v| !versions.values().any(|vs| vs.version == *v))
                {
                    return Err(invalid(
                        "--weights",
                        weights.as_deref().unwrap_or(missing),
                        format!("version {missing} has no --version {missing}=DIR"),
                    ));
                }
                Some(AliasSpec {
                    name: name.clone(),
                    routing,
                })
            }
        };
        if self.concurrency == Some(0) {
            return Err(invalid("--concurrency", "0", "use at least 1"));
        }
        let default_format: PayloadFormat = self.payload_format.parse()?;
        let route_specs: Vec<String> = if self.routes.is_empty() {
            vec!["ANY /".into(), "ANY /{proxy+}".into()]
        } else {
            self.routes.clone()
        };
        let routes = route_specs
            .iter()
            .map(|r| Route::parse(r, default_format))
            .collect::<Result<Vec<_>, _>>()?;
        let (api_addr, lambda_addr, log_dir, ready_file) = self.ports_and_files()?;
        let (alarms, event_log, time_scale) = self.alarms_and_events(log_dir.as_deref())?;
        Ok(ServeConfig {
            function: self.function,
            versions: versions.into_values().collect(),
            handler: self.handler,
            memory_mb: self.memory,
            timeout,
            env,
            layers: self
                .layers
                .iter()
                .map(|l| absolute("--layer", &l.display().to_string(), l))
                .collect::<Result<_, _>>()?,
            alias,
            seed: self.seed.unwrap_or_else(rand::random),
            concurrency: self.concurrency,
            routes: RouteTable::new(routes),
            default_format,
            api_addr,
            lambda_addr,
            log_dir,
            ready_file,
            alarms,
            event_log,
            time_scale,
        })
    }
}
