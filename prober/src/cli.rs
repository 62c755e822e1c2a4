//! The whole command-line contract in one clap-derive struct. Every flag can also be given as a
//! `PROBER_<FLAG>` environment variable (e.g. `PROBER_RPS=200`; boolean flags take `1`/`0`,
//! `true`/`false`, `yes`/`no`, `on`/`off`). Values are checked by
//! [`crate::config::Config::from_cli`], not here, so that a bad value yields a
//! [`crate::ProberError`] that names the flag and the fix.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::redact::{redact_header_arg, redact_url};

/// Observe which Lambda version serves each request during a rollout, and judge the split
/// against the deployment's schedule.
#[derive(Clone, Parser)]
#[command(
    name = "prober",
    version,
    about,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    /// `prober merge`: combine the reports of several runs.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Target URL (http:// or https://).
    #[arg(long, env = "PROBER_URL")]
    pub url: Option<String>,

    /// Requests per second (open loop: slot i is sent at t0 + i/rps).
    #[arg(
        long,
        env = "PROBER_RPS",
        default_value_t = 50.0,
        allow_negative_numbers = true
    )]
    pub rps: f64,

    /// How long to run (e.g. 90s, 15m). Absent: until the deployment completes or rolls back.
    #[arg(long, env = "PROBER_DURATION")]
    pub duration: Option<String>,

    /// Safety cap on the run when --duration is absent.
    #[arg(long, env = "PROBER_MAX_DURATION", default_value = "2h")]
    pub max_duration: String,

    /// HTTP method.
    #[arg(long, env = "PROBER_METHOD", default_value = "GET")]
    pub method: String,

    /// Request header `Name: value` (repeatable).
    #[arg(long = "header", short = 'H', env = "PROBER_HEADER")]
    pub headers: Vec<String>,

    /// Request body.
    #[arg(long, env = "PROBER_BODY", conflicts_with = "body_file")]
    pub body: Option<String>,

    /// Read the request body from this file.
    #[arg(long, env = "PROBER_BODY_FILE")]
    pub body_file: Option<PathBuf>,

    /// Per-request timeout (connect + response + body).
    #[arg(long, env = "PROBER_TIMEOUT", default_value = "10s")]
    pub timeout: String,

    /// Read each response's body to its end, at most this much (e.g. 10MiB, 512KiB, 1048576);
    /// a longer body is cut there and counted as `body_truncated`, not as an error.
    #[arg(long, env = "PROBER_MAX_BODY", default_value = "10MiB")]
    pub max_body: String,

    /// Cap on requests in flight; tickets wait (and are counted late) beyond it.
    #[arg(long, env = "PROBER_MAX_IN_FLIGHT", default_value_t = 256)]
    pub max_in_flight: usize,

    /// Response header carrying the version (the ROLLCALL_HEADER contract).
    #[arg(
        long,
        env = "PROBER_VERSION_HEADER",
        default_value = "x-rollcall-version"
    )]
    pub version_header: String,

    /// JSON pointer to the version in the response body, e.g. /version.
    #[arg(long, env = "PROBER_VERSION_JSON")]
    pub version_json: Option<String>,

    /// Deployment schedule, e.g. Linear10PercentEvery1Minute, canary:25%:45m, linear:20%:30s.
    #[arg(long, env = "PROBER_SCHEDULE")]
    pub schedule: Option<String>,

    /// Divide the schedule's intervals by this factor (for compressed rehearsals).
    #[arg(
        long,
        env = "PROBER_TIME_SCALE",
        default_value_t = 1.0,
        allow_negative_numbers = true
    )]
    pub time_scale: f64,

    /// The version traffic shifts away from (default: inferred).
    #[arg(long, env = "PROBER_FROM_VERSION")]
    pub from_version: Option<String>,

    /// The version traffic shifts to (default: inferred).
    #[arg(long, env = "PROBER_TO_VERSION")]
    pub to_version: Option<String>,

    /// When the deployment started, when known: seconds since the first request, or an RFC 3339
    /// instant.
    #[arg(long, env = "PROBER_DEPLOYMENT_START", allow_hyphen_values = true)]
    pub deployment_start: Option<String>,

    /// Write report.json, timeline.csv, .hgrm, .hlog, SVG plots and junit.xml to this directory.
    #[arg(long, env = "PROBER_OUT")]
    pub out: Option<PathBuf>,

    /// Error budget: the largest acceptable (transport errors + 5xx) / sent, a fraction
    /// (default 0.5, the most allowed: a run in which most requests failed never passes).
    #[arg(long, env = "PROBER_MAX_ERROR_RATE", allow_negative_numbers = true)]
    pub max_error_rate: Option<f64>,

    /// Distinct versions tracked one by one; responses of further versions are counted
    /// together as `other_versions` (bounds memory and artifacts whatever a server sends).
    #[arg(long, env = "PROBER_MAX_VERSIONS", default_value_t = crate::config::DEFAULT_MAX_VERSIONS)]
    pub max_versions: usize,

    /// No live progress.
    #[arg(long, env = "PROBER_QUIET", value_parser = BoolishValueParser::new())]
    pub quiet: bool,

    /// Accept any TLS certificate.
    #[arg(long, env = "PROBER_INSECURE", value_parser = BoolishValueParser::new())]
    pub insecure: bool,

    /// HTTP/2: prior knowledge on http://, preferred through ALPN on https://.
    #[arg(long, env = "PROBER_HTTP2", value_parser = BoolishValueParser::new())]
    pub http2: bool,

    /// Poll this alias's configured weights during the run (Lambda GetAlias), e.g.
    /// `hello:live` or an alias ARN: the expected share is then what the alias was set to.
    #[arg(long, env = "PROBER_ALIAS")]
    pub alias: Option<String>,

    /// How often the control plane is polled (GetAlias, GetDeployment).
    #[arg(long, env = "PROBER_POLL", default_value = "1s")]
    pub poll: String,

    /// Follow this CodeDeploy deployment (`d-XXXXXXXXX`), or `latest` for the newest of
    /// --deployment-group (or the stack's group): schedule from its configuration, the run
    /// ends when it ends.
    #[arg(long, env = "PROBER_DEPLOYMENT")]
    pub deployment: Option<String>,

    /// The deployment group for `--deployment latest`, as APPLICATION/GROUP.
    #[arg(long, env = "PROBER_DEPLOYMENT_GROUP")]
    pub deployment_group: Option<String>,

    /// Probe through Lambda's Invoke API instead of HTTP: a function name, `name:qualifier` or
    /// ARN (the body is the event; the version is read from X-Amz-Executed-Version).
    #[arg(long, env = "PROBER_INVOKE")]
    pub invoke: Option<String>,

    /// Sign every probe with AWS SigV4 for this service: `lambda` (function URLs with
    /// AuthType AWS_IAM) or `execute-api` (IAM-authorised API Gateway routes).
    #[arg(long, env = "PROBER_SIGV4")]
    pub sigv4: Option<String>,

    /// The region to sign for (default: from the URL's host, else the SDK's region chain).
    #[arg(long, env = "PROBER_SIGV4_REGION")]
    pub sigv4_region: Option<String>,

    /// Take the URL, the alias and its deployment group from this CloudFormation stack (what
    /// `sam deploy` created).
    #[arg(long, env = "PROBER_STACK")]
    pub stack: Option<String>,

    /// The stack output holding the URL to probe (default: the ProberCommand output's --url,
    /// else the only URL output).
    #[arg(long, env = "PROBER_STACK_OUTPUT")]
    pub stack_output: Option<String>,

    /// Send requests for HOST to URL's address instead, keeping the Host header and the
    /// signature (repeatable; comma-separated in PROBER_CONNECT_TO), e.g.
    /// `abc.execute-api.us-east-1.amazonaws.com=http://127.0.0.1:3000`.
    #[arg(long, env = "PROBER_CONNECT_TO", value_delimiter = ',')]
    pub connect_to: Vec<String>,

    /// `(flag, variable)` of every value taken from a `PROBER_*` variable, so that an error
    /// names what the user wrote; filled by [`Cli::from_command_line`].
    #[arg(skip)]
    pub from_env: Vec<(String, String)>,
}

impl Cli {
    /// Parses a command line (the program name first) like `try_parse_from`, and records which
    /// values came from `PROBER_*` variables; a value clap refuses is reported under its
    /// variable's name when it came from one.
    pub fn from_command_line<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let mut command = Cli::command();
        let matches = command
            .try_get_matches_from_mut(&args)
            .map_err(|e| name_variable(e, &command, &args))?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        cli.from_env = command
            .get_arguments()
            .filter(|a| matches.value_source(a.get_id().as_str()) == Some(ValueSource::EnvVariable))
            .filter_map(|a| {
                let long = a.get_long()?;
                let var = a.get_env()?.to_str()?;
                Some((format!("--{long}"), var.to_owned()))
            })
            .collect();
        Ok(cli)
    }
}

/// `error` with the flag it names replaced by the variable its value came from (the flag is
/// not on the command line and its variable is set).
fn name_variable(error: clap::Error, command: &clap::Command, args: &[OsString]) -> clap::Error {
    if !matches!(
        error.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return error;
    }
    let Some(ContextValue::String(shown)) = error.get(ContextKind::InvalidArg) else {
        return error;
    };
    let Some(long) = shown
        .strip_prefix("--")
        .map(|s| s.split([' ', '=']).next().unwrap_or(s))
    else {
        return error;
    };
    let flag = format!("--{long}");
    let on_command_line = args.iter().skip(1).any(|a| {
        let a = a.to_string_lossy();
        a == flag.as_str() || a.starts_with(&format!("{flag}="))
    });
    let arg = command.get_arguments().find(|a| a.get_long() == Some(long));
    let variable = arg
        .and_then(|a| a.get_env())
        .and_then(|v| v.to_str())
        .filter(|v| std::env::var_os(v).is_some());
    match variable {
        Some(var) if !on_command_line => {
            let text = error.render().to_string();
            let text = text.strip_prefix("error: ").unwrap_or(&text);
            let mut renamed =
                text.replacen(&format!("'{shown}'"), &format!("{var} (for {flag})"), 1);
            if arg.is_some_and(|a| !a.get_action().takes_values()) {
                let hint = "; a boolean variable takes 1/0, true/false, yes/no or on/off";
                match renamed.find('\n') {
                    Some(end) => renamed.insert_str(end, hint),
                    None => renamed.push_str(hint),
                }
            }
            clap::Error::raw(error.kind(), renamed).with_cmd(command)
        }
        _ => error,
    }
}

/// Debug output never shows secrets: URL user info and sensitive header values are redacted,
/// the body is shown by length only.
impl std::fmt::Debug for Cli {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<String> = self.headers.iter().map(|h| redact_header_arg(h)).collect();
        f.debug_struct("Cli")
            .field("command", &self.command)
            .field("url", &self.url.as_deref().map(redact_url))
            .field("rps", &self.rps)
            .field("duration", &self.duration)
            .field("max_duration", &self.max_duration)
            .field("method", &self.method)
            .field("headers", &headers)
            .field(
                "body",
                &self.body.as_ref().map(|b| format!("<{} bytes>", b.len())),
            )
            .field("body_file", &self.body_file)
            .field("timeout", &self.timeout)
            .field("max_body", &self.max_body)
            .field("max_in_flight", &self.max_in_flight)
            .field("version_header", &self.version_header)
            .field("version_json", &self.version_json)
            .field("schedule", &self.schedule)
            .field("time_scale", &self.time_scale)
            .field("from_version", &self.from_version)
            .field("to_version", &self.to_version)
            .field("deployment_start", &self.deployment_start)
            .field("out", &self.out)
            .field("max_error_rate", &self.max_error_rate)
            .field("max_versions", &self.max_versions)
            .field("quiet", &self.quiet)
            .field("insecure", &self.insecure)
            .field("http2", &self.http2)
            .field("alias", &self.alias)
            .field("poll", &self.poll)
            .field("deployment", &self.deployment)
            .field("deployment_group", &self.deployment_group)
            .field("invoke", &self.invoke)
            .field("sigv4", &self.sigv4)
            .field("sigv4_region", &self.sigv4_region)
            .field("stack", &self.stack)
            .field("stack_output", &self.stack_output)
            .field("connect_to", &self.connect_to)
            .field("from_env", &self.from_env)
            .finish()
    }
}

/// Subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Combine the reports of several runs (histograms and timelines add exactly).
    Merge(MergeArgs),
    /// Send no probes: print a CodeDeploy deployment's progress step by step until it ends.
    Watch(WatchArgs),
}

/// Arguments of `prober watch`.
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// Follow the deployments of this CloudFormation stack's alias.
    #[arg(long, env = "PROBER_STACK")]
    pub stack: Option<String>,

    /// Follow this deployment (`d-XXXXXXXXX`), or `latest` of --deployment-group.
    #[arg(long, env = "PROBER_DEPLOYMENT")]
    pub deployment: Option<String>,

    /// The deployment group for `--deployment latest`, as APPLICATION/GROUP.
    #[arg(long, env = "PROBER_DEPLOYMENT_GROUP")]
    pub deployment_group: Option<String>,

    /// How often CodeDeploy and the alias are polled.
    #[arg(long, env = "PROBER_POLL", default_value = "1s")]
    pub poll: String,

    /// Give up after this long.
    #[arg(long, env = "PROBER_MAX_DURATION", default_value = "2h")]
    pub max_duration: String,

    /// Write watch.json (the control plane's account) to this directory.
    #[arg(long, env = "PROBER_OUT")]
    pub out: Option<PathBuf>,
}

/// Arguments of `prober merge`.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// Run directories (holding report.json) or report.json files.
    #[arg(required = true, num_args = 1..)]
    pub inputs: Vec<PathBuf>,

    /// Directory to write the merged artifacts to.
    #[arg(long, env = "PROBER_OUT")]
    pub out: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_run_flags() {
        let cli = Cli::try_parse_from([
            "prober",
            "--url",
            "http://x/",
            "--rps",
            "10",
            "-H",
            "a: b",
            "--header",
            "c: d",
            "--http2",
        ])
        .unwrap();
        assert_eq!(cli.url.as_deref(), Some("http://x/"));
        assert_eq!(cli.rps, 10.0);
        assert_eq!(cli.headers, vec!["a: b", "c: d"]);
        assert!(cli.http2);
        assert_eq!(cli.version_header, "x-rollcall-version");
    }

    #[test]
    fn parses_merge() {
        let cli =
            Cli::try_parse_from(["prober", "merge", "a", "b/report.json", "--out", "c"]).unwrap();
        let Some(Command::Merge(m)) = cli.command else {
            panic!("not merge")
        };
        assert_eq!(m.inputs.len(), 2);
        assert_eq!(m.out, PathBuf::from("c"));
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let cli = Cli::try_parse_from([
            "prober",
            "--url",
            "https://u:hunter2@h/",
            "-H",
            "Authorization: Bearer tok3n",
            "--body",
            "s3cret-body",
        ])
        .unwrap();
        let text = format!("{cli:?}");
        for secret in ["hunter2", "tok3n", "s3cret-body"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("Authorization: <redacted>"), "{text}");
    }

    #[test]
    fn negative_deployment_start_is_a_value() {
        let cli =
            Cli::try_parse_from(["prober", "--url", "http://x/", "--deployment-start", "-3.5"])
                .unwrap();
        assert_eq!(cli.deployment_start.as_deref(), Some("-3.5"));
    }
}
