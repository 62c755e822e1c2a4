//! The validated, closed run configuration, built from [`Cli`] by a pure function.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use rollout::schedule::Schedule;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::Cli;
use crate::control::{ControlConfig, DeploymentSelector, InvokeEndpoint};
use crate::error::ProberError;

mod target;

use crate::redact::is_sensitive_header;
pub use target::{Scheme, Target};
use target::{parse_target, sign_query_as_sent};

/// Header that also carries the version: what Lambda's Invoke API returns.
pub const EXECUTED_VERSION_HEADER: &str = "x-amz-executed-version";
/// Header marking an environment's first invocation.
pub const COLD_HEADER: &str = "x-rollcall-cold";
/// Header of an Invoke response whose function failed (`Handled` or `Unhandled`).
pub const FUNCTION_ERROR_HEADER: &str = "x-amz-function-error";
/// Header choosing how Invoke runs the function.
pub const INVOCATION_TYPE_HEADER: &str = "x-amz-invocation-type";
/// The event `--invoke` sends when neither `--body` nor `--body-file` is given.
pub const DEFAULT_INVOKE_EVENT: &str = "{}";

/// The error budget when `--max-error-rate` is not given: a run in which most requests failed
/// (transport errors + 5xx above half of those sent) never passes.
pub const DEFAULT_MAX_ERROR_RATE: f64 = 0.5;
/// Distinct versions tracked one by one when `--max-versions` is not given; responses of
/// further versions are counted together as `other_versions`.
pub const DEFAULT_MAX_VERSIONS: usize = 16;
/// Largest `--max-versions`: each tracked version costs about 0.6 MB of histograms.
pub const MAX_MAX_VERSIONS: usize = 1024;

/// When the deployment started, if the user knows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeploymentStart {
    /// Seconds since the first scheduled request.
    Offset(f64),
    /// A wall-clock instant.
    At(OffsetDateTime),
}

impl DeploymentStart {
    /// Seconds since the run's origin, given the origin's wall-clock time.
    pub fn seconds_since(&self, origin: OffsetDateTime) -> f64 {
        match *self {
            DeploymentStart::Offset(s) => s,
            DeploymentStart::At(at) => (at - origin).as_seconds_f64(),
        }
    }
}

/// A run's configuration: every value checked, nothing left to parse.
#[derive(Debug, Clone)]
pub struct Config {
    /// The target.
    pub target: Target,
    /// Requests per second.
    pub rps: f64,
    /// Fixed run length; `None`: until the deployment ends (capped by `max_duration`).
    pub duration: Option<Duration>,
    /// Safety cap when `duration` is `None`.
    pub max_duration: Duration,
    /// HTTP method.
    pub method: Method,
    /// Request headers (sensitive ones marked as such).
    pub headers: HeaderMap,
    /// Request body (may be empty).
    pub body: Bytes,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Largest body read (`--max-body`), bytes; a longer one is cut.
    pub max_body: u64,
    /// Cap on requests in flight.
    pub max_in_flight: usize,
    /// Response header carrying the version.
    pub version_header: HeaderName,
    /// JSON pointer to the version in the body.
    pub version_json: Option<String>,
    /// The schedule as given on the command line.
    pub schedule_text: Option<String>,
    /// The schedule, already time-scaled.
    pub schedule: Option<Schedule>,
    /// The time-scale factor.
    pub time_scale: f64,
    /// `--from-version`.
    pub from_version: Option<String>,
    /// `--to-version`.
    pub to_version: Option<String>,
    /// `--deployment-start`.
    pub deployment_start: Option<DeploymentStart>,
    /// Artifacts directory.
    pub out: Option<PathBuf>,
    /// Error budget (`--max-error-rate`); `None`: [`DEFAULT_MAX_ERROR_RATE`].
    pub max_error_rate: Option<f64>,
    /// Distinct versions tracked one by one (`--max-versions`).
    pub max_versions: usize,
    /// No live progress.
    pub quiet: bool,
    /// Accept any TLS certificate.
    pub insecure: bool,
    /// Use HTTP/2.
    pub http2: bool,
    /// The control-plane flags (`--alias`, `--deployment`, `--invoke`, `--sigv4`, `--stack`,
    /// `--connect-to`).
    pub control: ControlConfig,
}

impl Config {
    /// Checks every flag of a run. `read_file` reads `--body-file` (a parameter so that this
    /// stays a pure function in tests). A run with `--invoke` needs [`Config::from_cli_with`].
    pub fn from_cli(
        cli: &Cli,
        read_file: impl Fn(&std::path::Path) -> std::io::Result<Vec<u8>>,
    ) -> Result<Config, ProberError> {
        Self::from_cli_with(cli, read_file, None)
    }

    /// [`Config::from_cli`] with `--invoke`'s endpoint, resolved beforehand as the SDK does
    /// ([`crate::aws::invoke::resolve_endpoint`]).
    pub fn from_cli_with(
        cli: &Cli,
        read_file: impl Fn(&std::path::Path) -> std::io::Result<Vec<u8>>,
        invoke_endpoint: Option<&InvokeEndpoint>,
    ) -> Result<Config, ProberError> {
        Self::check(cli, read_file, invoke_endpoint).map_err(|e| e.naming_variable(&cli.from_env))
    }

    fn check(
        cli: &Cli,
        read_file: impl Fn(&std::path::Path) -> std::io::Result<Vec<u8>>,
        invoke_endpoint: Option<&InvokeEndpoint>,
    ) -> Result<Config, ProberError> {
        let mut control = ControlConfig::from_cli(cli)?;
        let invoke_url = match (&control.invoke, invoke_endpoint) {
            (None, _) => None,
            (Some(function), Some(endpoint)) => {
                if let Some(sigv4) = &mut control.sigv4 {
                    sigv4.region.get_or_insert_with(|| endpoint.region.clone());
                }
                Some(crate::control::invoke_url(
                    &endpoint.url,
                    &function.reference,
                ))
            }
            (Some(_), None) => {
                return Err(ProberError::Internal(
                    "--invoke's endpoint was not resolved before the configuration".into(),
                ));
            }
        };
        let url = match &invoke_url {
            Some(u) => u.as_str(),
            None => cli.url.as_deref().ok_or_else(|| ProberError::MissingFlag {
                flag: "--url",
                reason: "give the target, e.g. --url https://abc.lambda-url.eu-west-1.on.aws/ \
                         (or PROBER_URL), or --invoke FUNCTION:ALIAS, or --stack NAME"
                    .into(),
            })?,
        };
        let (mut target, basic_auth) = parse_target(url)?;
        if control.sigv4.is_some() {
            if basic_auth.is_some() {
                return Err(ProberError::invalid(
                    "--url",
                    &target.redacted,
                    "user info becomes an Authorization header, which --sigv4 replaces with the \
                     signature; remove the user info from the URL",
                ));
            }
            sign_query_as_sent(&mut target)?;
        }
        if !(cli.rps.is_finite() && cli.rps > 0.0 && cli.rps <= 1_000_000.0) {
            return Err(ProberError::invalid(
                "--rps",
                cli.rps.to_string(),
                "the rate must be a number > 0 and <= 1000000 requests per second, e.g. --rps 50",
            ));
        }
        let duration = cli
            .duration
            .as_deref()
            .map(|d| parse_duration("--duration", d))
            .transpose()?;
        let max_duration = parse_duration("--max-duration", &cli.max_duration)?;
        let mut method = Method::from_bytes(cli.method.as_bytes()).map_err(|_| {
            ProberError::invalid(
                "--method",
                &cli.method,
                "not an HTTP method; use e.g. GET or POST",
            )
        })?;
        if control.invoke.is_some() {
            // GET is the flag's default; Invoke is a POST.
            if method != Method::GET && method != Method::POST {
                return Err(ProberError::invalid(
                    "--method",
                    &cli.method,
                    "--invoke calls Lambda's Invoke API, a POST; leave --method out",
                ));
            }
            method = Method::POST;
        }
        let mut headers = HeaderMap::new();
        if let Some(auth) = basic_auth {
            headers.insert(http::header::AUTHORIZATION, auth);
        }
        for h in &cli.headers {
            let (name, value) = parse_header(h)?;
            if control.sigv4.is_some() && name == http::header::AUTHORIZATION {
                return Err(ProberError::invalid(
                    "--header",
                    crate::redact::redact_header_arg(h),
                    "--sigv4 puts the signature in the Authorization header; leave this header out",
                ));
            }
            headers.append(name, value);
        }
        if control.invoke.is_some() && !headers.contains_key(INVOCATION_TYPE_HEADER) {
            headers.insert(
                INVOCATION_TYPE_HEADER,
                HeaderValue::from_static("RequestResponse"),
            );
        }
        let body = match (&cli.body, &cli.body_file) {
            (Some(b), _) => Bytes::from(b.clone()),
            (None, Some(path)) => Bytes::from(read_file(path).map_err(|e| {
                ProberError::invalid(
                    "--body-file",
                    path.display().to_string(),
                    format!("cannot read it ({e}); give a readable file or use --body"),
                )
            })?),
            (None, None) if control.invoke.is_some() => {
                Bytes::from_static(DEFAULT_INVOKE_EVENT.as_bytes())
            }
            (None, None) => Bytes::new(),
        };
        let timeout = parse_duration("--timeout", &cli.timeout)?;
        let max_body = crate::body::parse_max_body(&cli.max_body)?;
        if cli.max_in_flight == 0 {
            return Err(ProberError::invalid(
                "--max-in-flight",
                "0",
                "at least one request must be allowed in flight, e.g. --max-in-flight 256",
            ));
        }
        let version_header =
            HeaderName::from_bytes(cli.version_header.trim().as_bytes()).map_err(|_| {
                ProberError::invalid(
                    "--version-header",
                    &cli.version_header,
                    "not a valid header name; use e.g. x-rollcall-version",
                )
            })?;
        if let Some(p) = &cli.version_json {
            if !p.starts_with('/') {
                return Err(ProberError::invalid(
                    "--version-json",
                    p,
                    "a JSON pointer (RFC 6901) starts with '/', e.g. --version-json /version",
                ));
            }
        }
        if !(cli.time_scale.is_finite() && cli.time_scale > 0.0) {
            return Err(ProberError::invalid(
                "--time-scale",
                cli.time_scale.to_string(),
                "the factor must be a number > 0, e.g. --time-scale 60 to run 60x faster",
            ));
        }
        let schedule = match &cli.schedule {
            None => None,
            Some(s) => {
                let parsed = Schedule::parse(s)
                    .map_err(|e| ProberError::invalid("--schedule", s, e.to_string()))?;
                // A factor of 1 changes nothing and would only add "x1" to the label.
                if cli.time_scale == 1.0 {
                    Some(parsed)
                } else {
                    let scaled = parsed.time_scaled(cli.time_scale).map_err(|e| {
                        ProberError::invalid(
                            "--time-scale",
                            cli.time_scale.to_string(),
                            e.to_string(),
                        )
                    })?;
                    Some(scaled)
                }
            }
        };
        let deployment_start = cli
            .deployment_start
            .as_deref()
            .map(parse_deployment_start)
            .transpose()?;
        if let Some(r) = cli.max_error_rate {
            if !(0.0..=1.0).contains(&r) {
                return Err(ProberError::invalid(
                    "--max-error-rate",
                    r.to_string(),
                    "the error budget is a fraction in [0, 1], e.g. --max-error-rate 0.01 for 1%",
                ));
            }
            if r > DEFAULT_MAX_ERROR_RATE {
                return Err(ProberError::invalid(
                    "--max-error-rate",
                    r.to_string(),
                    "a run in which most requests failed never passes: give a budget <= 0.5 \
                     (the default), e.g. --max-error-rate 0.01 for 1%",
                ));
            }
        }
        if !(1..=MAX_MAX_VERSIONS).contains(&cli.max_versions) {
            return Err(ProberError::invalid(
                "--max-versions",
                cli.max_versions.to_string(),
                format!(
                    "track between 1 and {MAX_MAX_VERSIONS} distinct versions, e.g. \
                     --max-versions {DEFAULT_MAX_VERSIONS}"
                ),
            ));
        }
        if let (Some(a), Some(b)) = (&cli.from_version, &cli.to_version) {
            if a == b {
                return Err(ProberError::invalid(
                    "--to-version",
                    b,
                    "it equals --from-version; give the version traffic shifts to",
                ));
            }
        }
        Ok(Config {
            target,
            rps: cli.rps,
            duration,
            max_duration,
            method,
            headers,
            body,
            timeout,
            max_body,
            max_in_flight: cli.max_in_flight,
            version_header,
            version_json: cli.version_json.clone(),
            schedule_text: cli.schedule.clone(),
            schedule,
            time_scale: cli.time_scale,
            from_version: cli.from_version.clone(),
            to_version: cli.to_version.clone(),
            deployment_start,
            out: cli.out.clone(),
            max_error_rate: cli.max_error_rate,
            max_versions: cli.max_versions,
            quiet: cli.quiet,
            insecure: cli.insecure,
            http2: cli.http2,
            control,
        })
    }

    /// The run limit: `duration`, or the safety cap.
    pub fn run_limit(&self) -> Duration {
        self.duration.unwrap_or(self.max_duration)
    }

    /// Where the version is read from, in order.
    pub fn version_sources(&self) -> Vec<String> {
        let mut v = vec![
            format!("header:{}", self.version_header.as_str()),
            format!("header:{EXECUTED_VERSION_HEADER}"),
        ];
        if let Some(p) = &self.version_json {
            v.push(format!("json:{p}"));
        }
        v
    }

    /// The report's view of this configuration (no secrets: no headers, no body, no user info).
    pub fn run_config(&self) -> rollout::report::RunConfig {
        rollout::report::RunConfig {
            url: self.target.redacted.clone(),
            method: self.method.to_string(),
            rps: self.rps,
            duration_secs: self.duration.map(|d| d.as_secs_f64()),
            schedule: self.schedule_text.clone(),
            time_scale: self.time_scale,
            max_in_flight: self.max_in_flight,
            timeout_secs: self.timeout.as_secs_f64(),
            version_source: self.version_sources(),
            from_version: self.from_version.clone(),
            to_version: self.to_version.clone(),
            max_error_rate: Some(self.max_error_rate.unwrap_or(DEFAULT_MAX_ERROR_RATE)),
            alias: self.control.alias.as_ref().map(|a| a.text.clone()),
            deployment: self.control.deployment.as_ref().map(|d| match d {
                DeploymentSelector::Id(id) => id.clone(),
                DeploymentSelector::Latest => "latest".to_owned(),
            }),
            invoke: self.control.invoke.as_ref().map(|f| f.text.clone()),
            sigv4: self.control.sigv4.as_ref().map(|s| s.service.clone()),
            stack: self.control.stack.clone(),
            poll_secs: (self.control.alias.is_some() || self.control.deployment.is_some())
                .then_some(self.control.poll.as_secs_f64()),
            max_body: Some(self.max_body),
        }
    }
}

/// Parses one `Name: value` header; sensitive values are marked and never echoed in errors.
pub fn parse_header(raw: &str) -> Result<(HeaderName, HeaderValue), ProberError> {
    let Some((name, value)) = raw.split_once(':') else {
        return Err(ProberError::invalid(
            "--header",
            crate::redact::redact_header_arg(raw),
            "expected 'Name: value', e.g. --header 'Accept: application/json'",
        ));
    };
    let name = name.trim();
    let hname = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        ProberError::invalid(
            "--header",
            crate::redact::redact_header_arg(raw),
            format!("{name:?} is not a valid header name; use letters, digits and '-'"),
        )
    })?;
    let mut hvalue = HeaderValue::from_str(value.trim()).map_err(|_| {
        ProberError::invalid(
            "--header",
            crate::redact::redact_header_arg(raw),
            "the value has characters a header cannot carry (control characters or newlines)",
        )
    })?;
    if is_sensitive_header(hname.as_str()) {
        hvalue.set_sensitive(true);
    }
    Ok((hname, hvalue))
}

/// Parses a humantime duration (`90s`, `15m`, `1h 30m`); zero is refused.
pub fn parse_duration(flag: &'static str, raw: &str) -> Result<Duration, ProberError> {
    let d = humantime::parse_duration(raw.trim()).map_err(|e| {
        ProberError::invalid(
            flag,
            raw,
            format!("{e}; give a duration such as 90s, 15m or 1h"),
        )
    })?;
    if d.is_zero() {
        return Err(ProberError::invalid(
            flag,
            raw,
            "must be longer than zero, e.g. 90s",
        ));
    }
    Ok(d)
}

fn parse_deployment_start(raw: &str) -> Result<DeploymentStart, ProberError> {
    let t = raw.trim();
    if let Ok(s) = t.parse::<f64>() {
        if s.is_finite() {
            return Ok(DeploymentStart::Offset(s));
        }
    }
    OffsetDateTime::parse(t, &Rfc3339)
        .map(DeploymentStart::At)
        .map_err(|_| {
            ProberError::invalid(
                "--deployment-start",
                raw,
                "give seconds since the first request (e.g. 30) or an RFC 3339 instant \
             (e.g. 2026-11-26T04:30:00Z)",
            )
        })
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
