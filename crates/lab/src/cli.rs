//! The `rollcall-lab` command line: `rollcall-lab serve` runs a function's versions, an alias
//! routing between them, the API-Gateway-like front door and the Lambda Invoke API, or every
//! function of a `--spec` file.
//!
//! The flags are parsed by clap into [`Cli`], then by the pure [`ServeArgs::into_config`] into
//! the closed [`ServeConfig`]; every bad value is refused there, naming it and the fix.
//! [`ServeArgs::into_serve`] gives what `serve` runs either way: a [`LabSpec`] and where.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::api::gateway::{PayloadFormat, RouteError};
use crate::control::alias::AliasError;
use crate::spec::{LabSpec, SpecError};

mod one_function;

pub use one_function::{AliasSpec, ServeConfig, VersionSpec, parse_weights};

pub use crate::exit::{EXIT_SOFTWARE, EXIT_UNAVAILABLE, EXIT_USAGE};

/// `rollcall-lab`: a local, faithful emulator of Lambda versions, aliases and API Gateway.
#[derive(Debug, Parser)]
#[command(name = "rollcall-lab", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a function's versions (from the flags) or every function of a `--spec` file behind an
    /// API Gateway front door and the Lambda API.
    Serve(Box<ServeArgs>),
    /// Rehearse a release from both ends: `hello` version 2 is published and deployed with
    /// CodeDeploy traffic shifting (time-scaled) while the prober watches; prints the prober's
    /// verdict, the lab's deployment status, and whether they agree.
    Rehearse(Box<crate::rehearse::RehearseArgs>),
    /// A local `sam deploy`: updates a stack of a running lab (`serve --template`) from the
    /// template, as CloudFormation and CodeDeploy do, and prints its events until it ends.
    Deploy(Box<crate::template::cli::DeployArgs>),
}

/// Flags of `rollcall-lab serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// A spec file (YAML) naming every function, layer, version, alias and route the lab runs;
    /// instead of the one-function flags (`--function` ... `--payload-format`).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["function", "versions", "version_env", "handler", "memory", "timeout", "env", "layers", "alias", "weights", "seed", "concurrency", "routes", "payload_format", "template"])]
    pub spec: Option<PathBuf>,
    /// `--template` and its parameters: the lab runs a SAM or CloudFormation template as a
    /// stack instead of the one-function flags.
    #[command(flatten)]
    pub stack: crate::template::cli::TemplateArgs,
    /// Function name (`AWS_LAMBDA_FUNCTION_NAME`).
    #[arg(long = "function", default_value = "hello")]
    pub function: String,
    /// A published version and its code dir: `N=DIR` (repeatable). The dir holds `bootstrap`,
    /// or the binary named by `--handler` when a layer provides `bootstrap`.
    #[arg(
        long = "version",
        value_name = "N=DIR",
        required_unless_present_any = ["spec", "template"],
        conflicts_with = "template"
    )]
    pub versions: Vec<String>,
    /// An environment variable of one version only: `N:KEY=VALUE` (repeatable).
    #[arg(long = "version-env", value_name = "N:KEY=VALUE")]
    pub version_env: Vec<String>,
    /// Handler (`_HANDLER`).
    #[arg(long, default_value = "bootstrap")]
    pub handler: String,
    /// Memory in MB (128..=10240).
    #[arg(long, default_value_t = 128)]
    pub memory: u32,
    /// Function timeout: seconds (`3`) or a duration (`3s`, `1m`), 1 s..=900 s.
    #[arg(long, default_value = "3")]
    pub timeout: String,
    /// An environment variable of every version: `KEY=VALUE` (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// A layer directory, playing `/opt` (repeatable; later layers win).
    #[arg(long = "layer", value_name = "DIR")]
    pub layers: Vec<PathBuf>,
    /// Alias the front door invokes (e.g. `live`).
    #[arg(long)]
    pub alias: Option<String>,
    /// Alias weights: `1=0.9,2=0.1` (primary first; at most one additional version; sum 1).
    #[arg(long, value_name = "N=W,...")]
    pub weights: Option<String>,
    /// Seed of the alias's routing RNG (random when absent; printed at start).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Reserved concurrency of the function (environments across versions); without it, Lambda's
    /// unreserved account concurrency (1000).
    #[arg(long)]
    pub concurrency: Option<u32>,
    /// A route: `'GET /hello'`, `'ANY /{proxy+}'`, `'$default'`, optionally `@1.0`/`@2.0`
    /// (repeatable; default `ANY /` and `ANY /{proxy+}`).
    #[arg(long = "route", value_name = "'METHOD /path'")]
    pub routes: Vec<String>,
    /// Payload format of routes without their own: `1.0` (REST API) or `2.0` (HTTP API).
    #[arg(long, default_value = "1.0")]
    pub payload_format: String,
    /// Port of the API front door on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 3000)]
    pub api_port: u16,
    /// Port of the Lambda Invoke API on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 3001)]
    pub lambda_port: u16,
    /// Directory for the environments' logs (one file per log stream).
    #[arg(long)]
    pub log_dir: Option<PathBuf>,
    /// Once both listeners serve, write a JSON document here (URLs, pid, functions and their
    /// qualifiers, routes; see `lab::ready::ReadyFile`), atomically; removed on exit.
    #[arg(long, value_name = "PATH")]
    pub ready_file: Option<PathBuf>,
    /// A metric alarm in PutMetricAlarm's JSON (what `aws cloudwatch put-metric-alarm
    /// --cli-input-json` takes), evaluated on the EMF metrics environments print (repeatable).
    #[arg(long = "alarm", value_name = "FILE")]
    pub alarms: Vec<PathBuf>,
    /// The ground-truth event log (JSON lines): routing changes, hooks, alarm transitions,
    /// deployments. Default: `events.jsonl` in `--log-dir`, none without it.
    #[arg(long, value_name = "PATH")]
    pub event_log: Option<PathBuf>,
    /// Compresses time: alarm periods (and deployment intervals) last `1/N` of their value
    /// (60: a minute takes a second). At least 1.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
}

/// A bad `serve` flag, naming the value and the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CliError {
    /// A flag value with the wrong shape.
    #[error("{flag} {value:?} is invalid: {fix}")]
    Invalid {
        /// The flag.
        flag: &'static str,
        /// Its value.
        value: String,
        /// What a valid value looks like.
        fix: String,
    },
    /// A route Lambda's front door would refuse.
    #[error("--route: {0}")]
    Route(#[from] RouteError),
    /// An alias routing Lambda would refuse.
    #[error("--weights: {0}")]
    Alias(#[from] AliasError),
    /// The flags do not parse (clap's own message, with the usage).
    #[error("{0}")]
    Usage(String),
    /// The spec file (or the flags as a spec) is refused: the file, the key and the fix.
    #[error("{0}")]
    Spec(#[from] SpecError),
}

/// Where and how a lab serves, whatever it runs (flags or a spec file).
#[derive(Debug, Clone, PartialEq)]
pub struct ServeOptions {
    /// API front door address.
    pub api_addr: SocketAddr,
    /// Invoke API address.
    pub lambda_addr: SocketAddr,
    /// Log directory.
    pub log_dir: Option<PathBuf>,
    /// Payload format of the front door's own answers when no route matches.
    pub default_format: PayloadFormat,
    /// The readiness document's path (`--ready-file`).
    pub ready_file: Option<PathBuf>,
    /// The spec file the lab runs (`--spec`), which errors name; `None`: the flags.
    pub spec_file: Option<PathBuf>,
    /// PutMetricAlarm JSON files (`--alarm`).
    pub alarms: Vec<PathBuf>,
    /// The event log file, if any (`--event-log`, else `events.jsonl` in the log dir).
    pub event_log: Option<PathBuf>,
    /// The lab-wide time scale (>= 1).
    pub time_scale: f64,
}

impl ServeOptions {
    /// Both APIs on free loopback ports (port 0), payload 2.0 for the front door's own answers,
    /// no files written, time as it is: what tests and embedders start from.
    pub fn loopback() -> Self {
        let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        ServeOptions {
            api_addr: any,
            lambda_addr: any,
            log_dir: None,
            default_format: PayloadFormat::V2,
            ready_file: None,
            spec_file: None,
            alarms: Vec::new(),
            event_log: None,
            time_scale: 1.0,
        }
    }
}

/// What `rollcall-lab serve` runs, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Serve {
    /// The lab's functions, layers and routes.
    pub spec: LabSpec,
    /// Ports, logs, readiness.
    pub options: ServeOptions,
    /// The template the lab creates a stack from once it serves (`--template`), and the
    /// Python its SAM translator runs with.
    pub template: Option<(crate::template::cli::StackSource, PathBuf)>,
}

/// The configuration `rollcall-lab serve <args>` would run, with both front doors on free
/// ports (`--api-port 0 --lambda-port 0`, which `args` may still override): how tests and
/// embedders start a lab in process with [`crate::lab::Lab::start`].
pub fn serve_config(args: &[&str]) -> Result<ServeConfig, CliError> {
    let names = |flag: &str| {
        args.iter()
            .any(|a| *a == flag || a.starts_with(&format!("{flag}=")))
    };
    let mut argv = vec!["rollcall-lab", "serve"];
    for flag in ["--api-port", "--lambda-port"] {
        if !names(flag) {
            argv.extend([flag, "0"]);
        }
    }
    argv.extend_from_slice(args);
    match Cli::try_parse_from(argv)
        .map_err(|e| CliError::Usage(e.render().to_string()))?
        .command
    {
        Command::Serve(serve) => serve.into_config(),
        Command::Rehearse(_) | Command::Deploy(_) => {
            unreachable!("the argv starts with `serve`")
        }
    }
}

fn invalid(flag: &'static str, value: &str, fix: impl Into<String>) -> CliError {
    CliError::Invalid {
        flag,
        value: value.to_owned(),
        fix: fix.into(),
    }
}

/// `path` made absolute against the current directory (the environments run with their own
/// working directory, so a relative code or layer dir would point elsewhere there).
fn absolute(
    flag: &'static str,
    value: &str,
    path: impl AsRef<std::path::Path>,
) -> Result<PathBuf, CliError> {
    std::path::absolute(path.as_ref()).map_err(|e| {
        invalid(
            flag,
            value,
            format!("cannot resolve the path ({e}); give an absolute path"),
        )
    })
}

impl ServeArgs {
    /// What `serve` runs: the `--spec` file (read here) with the ports and files of the flags,
    /// or the one-function flags as a spec.
    pub fn into_serve(self) -> Result<Serve, CliError> {
        if let Some(template) = self.stack.template.clone() {
            return self.template_serve(&template);
        }
        let Some(path) = self.spec.clone() else {
            let config = self.into_config()?;
            return Ok(Serve {
                spec: LabSpec::from_serve_config(&config)?,
                options: config.options(),
                template: None,
            });
        };
        let (api_addr, lambda_addr, log_dir, ready_file) = self.ports_and_files()?;
        let (alarms, event_log, time_scale) = self.alarms_and_events(log_dir.as_deref())?;
        let spec = LabSpec::load(&path)?;
        // The front door's own answers (no route matched) speak the first route's format.
        let default_format = spec
            .routes
            .first()
            .map_or(PayloadFormat::V1, |r| r.route.format);
        Ok(Serve {
            spec,
            options: ServeOptions {
                api_addr,
                lambda_addr,
                log_dir,
                default_format,
                ready_file,
                spec_file: Some(path),
                alarms,
                event_log,
                time_scale,
            },
            template: None,
        })
    }

    /// What `serve --template` runs: a lab with no function of its own, whose stack the
    /// template makes once it serves.
    fn template_serve(&self, template: &std::path::Path) -> Result<Serve, CliError> {
        let source = crate::template::cli::stack_source(
            template,
            self.stack.stack_name.as_deref(),
            &self.stack.parameter_overrides,
            "--parameter-overrides",
        )
        .map_err(|e| CliError::Usage(e.to_string()))?;
        let (api_addr, lambda_addr, log_dir, ready_file) = self.ports_and_files()?;
        let (alarms, event_log, time_scale) = self.alarms_and_events(log_dir.as_deref())?;
        Ok(Serve {
            spec: LabSpec::new(),
            options: ServeOptions {
                api_addr,
                lambda_addr,
                log_dir,
                default_format: PayloadFormat::V2,
                ready_file,
                spec_file: None,
                alarms,
                event_log,
                time_scale,
            },
            template: Some((source, self.stack.sam.python.clone())),
        })
    }

    /// `--api-port`, `--lambda-port`, `--log-dir` and `--ready-file`, checked.
    #[allow(clippy::type_complexity)]
    fn ports_and_files(
        &self,
    ) -> Result<(SocketAddr, SocketAddr, Option<PathBuf>, Option<PathBuf>), CliError> {
        if self.api_port != 0 && self.api_port == self.lambda_port {
            return Err(invalid(
                "--lambda-port",
                &self.lambda_port.to_string(),
                "use a port other than --api-port",
            ));
        }
        let localhost = |port| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let path = |flag, p: &Option<PathBuf>| {
            p.as_deref()
                .map(|d| absolute(flag, &d.display().to_string(), d))
                .transpose()
        };
        Ok((
            localhost(self.api_port),
            localhost(self.lambda_port),
            path("--log-dir", &self.log_dir)?,
            path("--ready-file", &self.ready_file)?,
        ))
    }

    /// `--alarm`, `--event-log` (default `events.jsonl` in `log_dir`) and `--time-scale`, checked.
    fn alarms_and_events(
        &self,
        log_dir: Option<&std::path::Path>,
    ) -> Result<(Vec<PathBuf>, Option<PathBuf>, f64), CliError> {
        if !(self.time_scale.is_finite() && self.time_scale >= 1.0) {
            return Err(invalid(
                "--time-scale",
                &self.time_scale.to_string(),
                "use a factor of at least 1 (1: real time, 60: a minute takes a second)",
            ));
        }
        let event_log = match &self.event_log {
            Some(p) => Some(absolute("--event-log", &p.display().to_string(), p)?),
            None => log_dir.map(|d| d.join("events.jsonl")),
        };
        let alarms = self
            .alarms
            .iter()
            .map(|a| absolute("--alarm", &a.display().to_string(), a))
            .collect::<Result<_, _>>()?;
        Ok((alarms, event_log, self.time_scale))
    }
}

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
