//! Configuration of one function version's execution environments, its validation, and the pure
//! functions that turn it into the processes' command lines and environment variables.
//!
//! ## How the lab maps `/opt`
//! Lambda extracts layers into `/opt`; the lab runs without root or mount namespaces, so each layer
//! stays a directory of its own (`layer_dirs`, merged in order, later layers win, as in Lambda):
//! - extensions: every file in `<layer>/extensions/` of every layer, sorted by file name;
//! - bootstrap: `<code_dir>/bootstrap`, else `<layer>/bootstrap` (last layer that has one);
//!   a `command` replaces it (the role of a managed runtime's `/var/runtime/bootstrap`): its
//!   program is looked up on `PATH` when it has no `/`, else taken relative to the code dir;
//! - `AWS_LAMBDA_EXEC_WRAPPER`: a value starting with `/opt/` is rewritten to the layer file that
//!   exists (last layer first); the wrapper runs with the real bootstrap path as its arguments;
//! - `ROLLCALL_LAB_OPT`: set for every process to the layer directory that plays `/opt` (for an
//!   extension, its own layer; for the runtime, the last layer), so scripts can use
//!   `${ROLLCALL_LAB_OPT:-/opt}`.
//!
//! ## Variables the lab adds (not set by Lambda)
//! | variable | meaning |
//! |---|---|
//! | `ROLLCALL_LAB_OPT` | the layer directory standing for `/opt` |
//! | `ROLLCALL_PROXY_PORT` | a free loopback port for this environment's Runtime API proxy |
//! | `ROLLCALL_TELEMETRY_PORT` | a free loopback port for this environment's telemetry listener |
//! | `AWS_ENDPOINT_URL_LAMBDA`, `AWS_ENDPOINT_URL_CODEDEPLOY` | the lab's Lambda API URL (it serves CodeDeploy too), when the lab gives one ([`FunctionConfig::sdk_endpoint`]) |
//!
//! The endpoint variables are the AWS SDKs' and CLI's standard service-specific endpoints, so
//! a function or hook written with an unchanged SDK calls the lab; with the dummy credentials
//! Lambda-style (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) and
//! `AWS_REGION`/`AWS_DEFAULT_REGION`, which Lambda always sets and the lab too, the SDK needs no
//! other configuration. Lambda sets no endpoint variable, so a function's own
//! `AWS_ENDPOINT_URL_*` or global `AWS_ENDPOINT_URL` wins: the lab then adds none for that
//! service (for the global one: none at all, as the service-specific ones would override it).
//!
//! Real Lambda gives each environment its own network namespace, so extensions may use fixed
//! ports; in the lab several environments share the host, so the lab picks a port per environment
//! by binding `127.0.0.1:0` and releasing it. Another process could take the port between the
//! release and the extension's bind (a small race); the extension then fails to bind and its
//! environment fails init, which the caller sees as an init error.
//!
//! Host variables passed through unchanged (so interpreters such as pyenv shims work): `HOME`,
//! `PYENV_ROOT`, `PYENV_VERSION`, `TMPDIR`; `PATH` is `<layers>/bin:` + the host `PATH`.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Everything an execution environment of one function version needs.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub function_name: String,
    /// `AWS_LAMBDA_FUNCTION_VERSION`: `"$LATEST"` or a published number.
    pub version: String,
    /// The function package (`/var/task`, `LAMBDA_TASK_ROOT`).
    pub code_dir: PathBuf,
    /// `_HANDLER`.
    pub handler: String,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` in MB (128..=10240).
    pub memory_mb: u32,
    /// Function timeout (1..=900 s); the whole invoke phase counts against it.
    pub timeout: Duration,
    /// Init phase limit (Lambda: 10 s for on-demand).
    pub init_timeout: Duration,
    /// Shutdown budget when extensions are registered (Lambda: 2 s).
    pub shutdown_budget: Duration,
    /// User environment variables (Lambda's reserved ones always win over these).
    pub env_vars: BTreeMap<String, String>,
    /// Layer directories, in order (each plays `/opt`; later layers win).
    pub layer_dirs: Vec<PathBuf>,
    /// Whether `AWS_LAMBDA_EXEC_WRAPPER` is honoured. Managed runtimes do; OS-only runtimes
    /// (`provided.al2023`) ignore it (LAMBDA-FACTS §5).
    pub honour_exec_wrapper: bool,
    /// The runtime's argv run instead of `bootstrap` (e.g. `["python3", "runtime.py"]`, run in
    /// the code dir): the role of a managed runtime's `/var/runtime/bootstrap`. `None` runs the
    /// package's or a layer's `bootstrap`.
    pub command: Option<Vec<String>>,
    /// `AWS_REGION` / `AWS_DEFAULT_REGION`.
    pub region: String,
    /// Account id used in ARNs and the register response's `accountId`.
    pub account_id: String,
    /// The lab's Lambda API URL (`http://127.0.0.1:3001`), set as the SDKs' Lambda and
    /// CodeDeploy endpoints in every environment; `None` sets no endpoint variable.
    pub sdk_endpoint: Option<String>,
    /// The bandwidth cap on streamed responses (Lambda's by default); `None` streams as fast as
    /// the caller reads.
    pub stream_bandwidth: Option<super::stream::StreamBandwidth>,
    /// Reads every line the environments print (the lab's CloudWatch reads their EMF). Part of
    /// the configuration so that a version published from `$LATEST` keeps it.
    pub log_tap: Option<std::sync::Arc<dyn super::logs::LineTap>>,
}

impl FunctionConfig {
    /// A configuration with Lambda's defaults: 128 MB, 3 s timeout, 10 s init, 2 s shutdown,
    /// `us-east-1`, account `123456789012`, no layers.
    pub fn new(
        function_name: impl Into<String>,
        version: impl Into<String>,
        code_dir: impl Into<PathBuf>,
        handler: impl Into<String>,
    ) -> Self {
        Self {
            function_name: function_name.into(),
            version: version.into(),
            code_dir: code_dir.into(),
            handler: handler.into(),
            memory_mb: 128,
            timeout: Duration::from_secs(3),
            init_timeout: Duration::from_secs(10),
            shutdown_budget: Duration::from_secs(2),
            env_vars: BTreeMap::new(),
            layer_dirs: Vec::new(),
            honour_exec_wrapper: true,
            command: None,
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            sdk_endpoint: None,
            stream_bandwidth: Some(super::stream::StreamBandwidth::LAMBDA),
            log_tap: None,
        }
    }

    /// The version-qualified ARN (`arn:aws:lambda:<region>:<account>:function:<name>:<version>`).
    pub fn qualified_arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{}:{}",
            self.region, self.account_id, self.function_name, self.version
        )
    }

    /// `AWS_LAMBDA_LOG_GROUP_NAME`: `/aws/lambda/<function>`.
    pub fn log_group(&self) -> String {
        format!("/aws/lambda/{}", self.function_name)
    }

    /// Checks every value and resolves the bootstrap; the error names the value and the fix.
    pub fn validate(&self) -> Result<Resolved, ConfigError> {
        if self.function_name.is_empty() {
            return Err(ConfigError::Invalid(
                "function name is empty; give the function a name".into(),
            ));
        }
        if self.version.is_empty() {
            return Err(ConfigError::Invalid(
                "version is empty; use \"$LATEST\" or a number".into(),
            ));
        }
        if !(128..=10240).contains(&self.memory_mb) {
            return Err(ConfigError::Invalid(format!(
                "memory size {} MB is out of range; Lambda accepts 128..=10240 MB",
                self.memory_mb
            )));
        }
        let secs = self.timeout.as_secs_f64();
        if !(1.0..=900.0).contains(&secs) {
            return Err(ConfigError::Invalid(format!(
                "timeout {secs} s is out of range; Lambda accepts 1..=900 seconds"
            )));
        }
        if self.handler.trim().is_empty() || self.handler.contains(char::is_whitespace) {
            return Err(ConfigError::Invalid(format!(
                "handler {:?} is invalid; give a non-empty name without spaces (e.g. \"bootstrap\" or \"handler.fn\")",
                self.handler
            )));
        }
        if !self.code_dir.is_dir() {
            return Err(ConfigError::Invalid(format!(
                "code dir {} does not exist or is not a directory; point it at the unzipped function package",
                self.code_dir.display()
            )));
        }
        for layer in &self.layer_dirs {
            if !layer.is_dir() {
                return Err(ConfigError::Invalid(format!(
                    "layer dir {} does not exist or is not a directory; point it at the unzipped layer (the /opt tree)",
                    layer.display()
                )));
            }
        }
        let (bootstrap, bootstrap_args) = match &self.command {
            Some(command) => self.resolve_command(command)?,
            None => (self.find_bootstrap()?, Vec::new()),
        };
        let wrapper = self.resolve_wrapper()?;
        let extensions = self.find_extensions()?;
        Ok(Resolved {
            bootstrap,
            bootstrap_args,
            wrapper,
            extensions,
        })
    }

    fn find_bootstrap(&self) -> Result<PathBuf, ConfigError> {
        let mut candidates = vec![self.code_dir.join("bootstrap")];
        candidates.extend(self.layer_dirs.iter().rev().map(|l| l.join("bootstrap")));
        let found = candidates.iter().find(|p| p.is_file()).ok_or_else(|| {
            ConfigError::Invalid(format!(
                "no bootstrap: looked for {}; add an executable `bootstrap` to the function package or a layer",
                candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            ))
        })?;
        check_executable(found, "bootstrap")?;
        Ok(found.clone())
    }

    /// The program of `command` (a bare name stays for the `PATH` lookup at spawn; a path is
    /// taken relative to the code dir and must be executable) and its arguments.
    fn resolve_command(&self, command: &[String]) -> Result<(PathBuf, Vec<String>), ConfigError> {
        let Some((program, args)) = command.split_first().filter(|(p, _)| !p.trim().is_empty())
        else {
            return Err(ConfigError::Invalid(
                "runtime command is empty; give the program and its arguments (e.g. [\"python3\", \"runtime.py\"]) or none to run bootstrap".into(),
            ));
        };
        if !program.contains('/') {
            return Ok((PathBuf::from(program), args.to_vec()));
        }
        let path = self.code_dir.join(program);
        if !path.is_file() {
            return Err(ConfigError::Invalid(format!(
                "runtime command {} does not exist; fix the path (relative to the code dir) or name a program on PATH",
                path.display()
            )));
        }
        check_executable(&path, "runtime command")?;
        Ok((path, args.to_vec()))
    }

    fn resolve_wrapper(&self) -> Result<Option<PathBuf>, ConfigError> {
        if !self.honour_exec_wrapper {
            return Ok(None);
        }
        let Some(value) = self.env_vars.get("AWS_LAMBDA_EXEC_WRAPPER") else {
            return Ok(None);
        };
        let path = map_opt_path(value, &self.layer_dirs);
        if !path.is_file() {
            return Err(ConfigError::Invalid(format!(
                "AWS_LAMBDA_EXEC_WRAPPER={value} maps to {}, which does not exist; ship the wrapper in a layer or fix the variable",
                path.display()
            )));
        }
        check_executable(&path, "AWS_LAMBDA_EXEC_WRAPPER")?;
        Ok(Some(path))
    }

    fn find_extensions(&self) -> Result<Vec<ExtensionExe>, ConfigError> {
        let mut found: BTreeMap<String, ExtensionExe> = BTreeMap::new();
        for layer in &self.layer_dirs {
            let dir = layer.join("extensions");
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if !path.is_file() {
                    continue;
                }
                check_executable(&path, "extension")?;
                let name = entry.file_name().to_string_lossy().into_owned();
                found.insert(
                    name.clone(),
                    ExtensionExe {
                        name,
                        path,
                        layer_dir: layer.clone(),
                    },
                );
            }
        }
        Ok(found.into_values().collect())
    }
}

/// What [`FunctionConfig::validate`] resolved on disk.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The runtime's bootstrap executable (or the runtime command's program).
    pub bootstrap: PathBuf,
    /// The runtime command's arguments (none for a `bootstrap`).
    pub bootstrap_args: Vec<String>,
    /// The exec wrapper, when set and honoured.
    pub wrapper: Option<PathBuf>,
    /// External extensions, sorted by name.
    pub extensions: Vec<ExtensionExe>,
}

/// One external extension executable.
#[derive(Debug, Clone)]
pub struct ExtensionExe {
    /// File name: the name it must register with.
    pub name: String,
    /// Full path.
    pub path: PathBuf,
    /// The layer it came from (its `/opt`).
    pub layer_dir: PathBuf,
}

/// Invalid configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A value is out of range or a path is missing; the message names the value and the fix.
    #[error("invalid function configuration: {0}")]
    Invalid(String),
}

fn check_executable(path: &Path, what: &str) -> Result<(), ConfigError> {
    let mode = std::fs::metadata(path)
        .map_err(|e| ConfigError::Invalid(format!("{what} {}: {e}", path.display())))?
        .permissions()
        .mode();
    if mode & 0o111 == 0 {
        return Err(ConfigError::Invalid(format!(
            "{what} {} is not executable; run `chmod +x {}`",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

/// Maps an `/opt/...` path to the layer that holds it (last layer first); other paths unchanged.
pub fn map_opt_path(value: &str, layers: &[PathBuf]) -> PathBuf {
    let Some(rest) = value.strip_prefix("/opt/") else {
        return PathBuf::from(value);
    };
    layers
        .iter()
        .rev()
        .map(|l| l.join(rest))
        .find(|p| p.exists())
        .or_else(|| layers.last().map(|l| l.join(rest)))
        .unwrap_or_else(|| PathBuf::from(value))
}

/// Per-environment values that go into the variables.
#[derive(Debug, Clone)]
pub struct EnvironmentSlots {
    /// `host:port` of this environment's API server.
    pub runtime_api: String,
    /// `AWS_LAMBDA_LOG_STREAM_NAME`.
    pub log_stream: String,
    /// `ROLLCALL_PROXY_PORT`.
    pub proxy_port: u16,
    /// `ROLLCALL_TELEMETRY_PORT`.
    pub telemetry_port: u16,
}

/// Host variables copied into every process when set.
pub const HOST_PASSTHROUGH: &[&str] = &["HOME", "PYENV_ROOT", "PYENV_VERSION", "TMPDIR"];

/// The SDKs' service-specific endpoint variables the lab points at its Lambda API.
pub const SDK_ENDPOINT_VARIABLES: &[&str] =
    &["AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL_CODEDEPLOY"];

/// The SDKs' global endpoint variable (a function that sets it chose its endpoints itself).
const GLOBAL_ENDPOINT_VARIABLE: &str = "AWS_ENDPOINT_URL";

/// Variables Lambda hides from extensions (LAMBDA-FACTS §2).
const HIDDEN_FROM_EXTENSIONS: &[&str] = &[
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "LAMBDA_RUNTIME_DIR",
    "LAMBDA_TASK_ROOT",
    "_HANDLER",
];

/// The runtime's environment: user variables, then every variable Lambda sets (these win), then
/// the lab's own. `host` reads the lab's environment (for `PATH` and the passthrough list).
pub fn runtime_env(
    cfg: &FunctionConfig,
    slots: &EnvironmentSlots,
    host: &dyn Fn(&str) -> Option<String>,
) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = cfg.env_vars.clone();
    for name in HOST_PASSTHROUGH {
        if let Some(v) = host(name) {
            env.insert((*name).to_string(), v);
        }
    }
    let code = cfg.code_dir.display().to_string();
    let layer_paths = |sub: &str| {
        cfg.layer_dirs
            .iter()
            .rev()
            .map(|l| l.join(sub).display().to_string())
            .collect::<Vec<_>>()
    };
    let mut path = layer_paths("bin");
    path.push(host("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into()));
    let mut ld = vec![code.clone(), format!("{code}/lib")];
    ld.extend(layer_paths("lib"));
    if let Some(host_ld) = host("LD_LIBRARY_PATH") {
        ld.push(host_ld);
    }
    let set = [
        ("AWS_LAMBDA_FUNCTION_NAME", cfg.function_name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", cfg.version.clone()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", cfg.memory_mb.to_string()),
        ("AWS_LAMBDA_RUNTIME_API", slots.runtime_api.clone()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", cfg.log_group()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", slots.log_stream.clone()),
        ("LAMBDA_TASK_ROOT", code.clone()),
        ("LAMBDA_RUNTIME_DIR", code.clone()),
        ("_HANDLER", cfg.handler.clone()),
        ("AWS_REGION", cfg.region.clone()),
        ("AWS_DEFAULT_REGION", cfg.region.clone()),
        ("TZ", "UTC".into()),
        ("LANG", "en_US.UTF-8".into()),
        ("PATH", path.join(":")),
        ("LD_LIBRARY_PATH", ld.join(":")),
        ("AWS_ACCESS_KEY_ID", "ASIAROLLCALLLABFAKEKEY".into()),
        (
            "AWS_SECRET_ACCESS_KEY",
            "rollcall-lab-fake-secret-access-key".into(),
        ),
        (
            "AWS_SESSION_TOKEN",
            "rollcall-lab-fake-session-token".into(),
        ),
        ("ROLLCALL_PROXY_PORT", slots.proxy_port.to_string()),
        ("ROLLCALL_TELEMETRY_PORT", slots.telemetry_port.to_string()),
    ];
    for (k, v) in set {
        env.insert(k.to_string(), v);
    }
    if let Some(last) = cfg.layer_dirs.last() {
        env.insert("ROLLCALL_LAB_OPT".into(), last.display().to_string());
    }
    if let Some(url) = cfg
        .sdk_endpoint
        .as_ref()
        .filter(|_| !cfg.env_vars.contains_key(GLOBAL_ENDPOINT_VARIABLE))
    {
        for name in SDK_ENDPOINT_VARIABLES {
            env.entry((*name).to_owned()).or_insert_with(|| url.clone());
        }
    }
    env
}

/// An extension's environment: the runtime's minus what Lambda hides from extensions, with
/// `ROLLCALL_LAB_OPT` set to the extension's own layer.
pub fn extension_env(
    runtime_env: &BTreeMap<String, String>,
    layer_dir: &Path,
) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = runtime_env
        .iter()
        .filter(|(k, _)| {
            !HIDDEN_FROM_EXTENSIONS.contains(&k.as_str())
                && !k.starts_with("AWS_XRAY_")
                && !k.starts_with("_AWS_XRAY_")
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    env.insert("ROLLCALL_LAB_OPT".into(), layer_dir.display().to_string());
    env
}

/// The runtime's command line: `[wrapper] bootstrap [args]` (the wrapper gets the runtime's
/// whole command line as its arguments).
pub fn runtime_command(resolved: &Resolved) -> Vec<PathBuf> {
    resolved
        .wrapper
        .iter()
        .cloned()
        .chain(std::iter::once(resolved.bootstrap.clone()))
        .chain(resolved.bootstrap_args.iter().map(PathBuf::from))
        .collect()
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
