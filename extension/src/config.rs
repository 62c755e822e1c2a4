//! Configuration from `ROLLCALL_*` environment variables, parsed by one pure function.
//!
//! A bad value never stops the function: it is reported as a [`ConfigWarning`] (logged by the
//! binary) and turns the feature it configures off. The README has the table of every variable.

use std::fmt;
use std::time::Duration;

use protocol::emf::MAX_NAMESPACE_LEN;
use protocol::rollcall::env;
use protocol::tag::{COLD_HEADER, DEFAULT_VERSION_HEADER};

/// `ROLLCALL_PROXY_PORT`: loopback port of the Runtime API proxy.
pub const PROXY_PORT_ENV: &str = env::PROXY_PORT;
/// `ROLLCALL_TELEMETRY_PORT`: port of the telemetry listener.
pub const TELEMETRY_PORT_ENV: &str = env::TELEMETRY_PORT;
/// `ROLLCALL_HEADER`: name of the version header (shared with the prober's `--version-header`).
pub const HEADER_ENV: &str = env::HEADER;
/// `ROLLCALL_NAMESPACE`: CloudWatch namespace of the EMF metrics.
pub const NAMESPACE_ENV: &str = env::NAMESPACE;
/// `ROLLCALL_FLUSH_INTERVAL`: how often metrics are written (`10s`, `500ms`, or seconds).
pub const FLUSH_INTERVAL_ENV: &str = env::FLUSH_INTERVAL;
/// `ROLLCALL_TAGGING`: `on`/`off`; tag HTTP responses with the version headers.
pub const TAGGING_ENV: &str = env::TAGGING;
/// `ROLLCALL_METRICS`: `on`/`off`; write EMF metrics to stdout.
pub const METRICS_ENV: &str = env::METRICS;
/// `ROLLCALL_LOG`: a `tracing` filter for the extension's own log lines (stderr).
pub const LOG_ENV: &str = env::LOG;
/// `AWS_LAMBDA_LOG_FORMAT`: Lambda's log format; `JSON` makes the extension log JSON lines.
pub const LOG_FORMAT_ENV: &str = "AWS_LAMBDA_LOG_FORMAT";

/// Default proxy port (DESIGN.md: `127.0.0.1:$ROLLCALL_PROXY_PORT`, default 9009).
pub const DEFAULT_PROXY_PORT: u16 = 9009;
/// Default telemetry listener port (not `lambda-extension`'s 9003, which other Rust
/// extensions in the same environment use by default).
pub const DEFAULT_TELEMETRY_PORT: u16 = 9010;
/// Default CloudWatch namespace (DESIGN.md).
pub const DEFAULT_NAMESPACE: &str = protocol::rollcall::DEFAULT_NAMESPACE;
/// Default metrics flush interval.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(10);
/// Shortest accepted flush interval.
pub const MIN_FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// Longest accepted flush interval (EMF timestamps may be at most 2 h in the future / 14 days
/// old; an hour keeps every document well inside).
pub const MAX_FLUSH_INTERVAL: Duration = Duration::from_secs(3600);
/// Default log filter.
pub const DEFAULT_LOG_FILTER: &str = "info";

/// The extension's configuration. `None` means the feature is off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Port of the Runtime API proxy on 127.0.0.1; `None`: no proxy (so no tagging, no latency).
    pub proxy_port: Option<u16>,
    /// Port of the telemetry listener; `None`: no telemetry subscription.
    pub telemetry_port: Option<u16>,
    /// Response tagging; `None`: responses pass through untouched.
    pub tagging: Option<TagConfig>,
    /// EMF metrics; `None`: nothing is written to stdout.
    pub metrics: Option<MetricsConfig>,
    /// Log lines as JSON (`AWS_LAMBDA_LOG_FORMAT=JSON`).
    pub log_json: bool,
    /// `tracing` filter directive for the extension's logs.
    pub log_filter: String,
}

/// How responses are tagged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagConfig {
    /// Name of the version header, lower case (`x-rollcall-version`).
    pub version_header: String,
}

/// How metrics are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    /// CloudWatch namespace.
    pub namespace: String,
    /// Time between two flushes.
    pub flush_interval: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            proxy_port: Some(DEFAULT_PROXY_PORT),
            telemetry_port: Some(DEFAULT_TELEMETRY_PORT),
            tagging: Some(TagConfig {
                version_header: DEFAULT_VERSION_HEADER.to_owned(),
            }),
            metrics: Some(MetricsConfig {
                namespace: DEFAULT_NAMESPACE.to_owned(),
                flush_interval: DEFAULT_FLUSH_INTERVAL,
            }),
            log_json: false,
            log_filter: DEFAULT_LOG_FILTER.to_owned(),
        }
    }
}

/// A variable with a bad value: what it was, why it is wrong, what was turned off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The variable, e.g. `ROLLCALL_PROXY_PORT`.
    pub variable: &'static str,
    /// Its value as found.
    pub value: String,
    /// What is wrong and what a good value looks like.
    pub problem: String,
    /// What the extension does instead.
    pub consequence: &'static str,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={:?}: {}; {}",
            self.variable, self.value, self.problem, self.consequence
        )
    }
}

impl Config {
    /// Reads the configuration through `get` (the process environment in the binary, a map in
    /// tests). Never fails: every bad value becomes a warning and turns its feature off.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> (Config, Vec<ConfigWarning>) {
        let mut warnings = Vec::new();
        let mut config = Config::default();
        let mut warn = |variable, value: &str, problem: String, consequence| {
            warnings.push(ConfigWarning {
                variable,
                value: value.to_owned(),
                problem,
                consequence,
            })
        };

        if let Some(v) = get(PROXY_PORT_ENV) {
            config.proxy_port = parse_port(&v).map_err(|p| {
                warn(PROXY_PORT_ENV, &v, p, "the Runtime API proxy is off: responses are not tagged and latency is not measured")
            }).ok();
        }
        if let Some(v) = get(TELEMETRY_PORT_ENV) {
            config.telemetry_port = parse_port(&v)
                .map_err(|p| {
                    warn(
                        TELEMETRY_PORT_ENV,
                        &v,
                        p,
                        "telemetry is off: no timeouts, init duration or memory metrics",
                    )
                })
                .ok();
        }
        if config.proxy_port.is_some() && config.proxy_port == config.telemetry_port {
            let v = get(TELEMETRY_PORT_ENV).unwrap_or_default();
            warn(
                TELEMETRY_PORT_ENV,
                &v,
                format!("is the same port as {PROXY_PORT_ENV}; use two different ports"),
                "telemetry is off: no timeouts, init duration or memory metrics",
            );
            config.telemetry_port = None;
        }

        let tagging_on = match get(TAGGING_ENV) {
            None => true,
            Some(v) => parse_switch(&v).unwrap_or_else(|p| {
                warn(TAGGING_ENV, &v, p, "tagging is off");
                false
            }),
        };
        if !tagging_on {
            config.tagging = None;
        } else if let Some(v) = get(HEADER_ENV) {
            match parse_header_name(&v) {
                Ok(name) => {
                    config.tagging = Some(TagConfig {
                        version_header: name,
                    })
                }
                Err(p) => {
                    warn(HEADER_ENV, &v, p, "tagging is off");
                    config.tagging = None;
                }
            }
        }

        let metrics_on = match get(METRICS_ENV) {
            None => true,
            Some(v) => parse_switch(&v).unwrap_or_else(|p| {
                warn(METRICS_ENV, &v, p, "metrics are off");
                false
            }),
        };
        let namespace = match get(NAMESPACE_ENV) {
            None => Ok(DEFAULT_NAMESPACE.to_owned()),
            Some(v) => {
                parse_namespace(&v).map_err(|p| warn(NAMESPACE_ENV, &v, p, "metrics are off"))
            }
        };
        let flush_interval = match get(FLUSH_INTERVAL_ENV) {
            None => Ok(DEFAULT_FLUSH_INTERVAL),
            Some(v) => {
                parse_interval(&v).map_err(|p| warn(FLUSH_INTERVAL_ENV, &v, p, "metrics are off"))
            }
        };
        config.metrics = match (metrics_on, namespace, flush_interval) {
            (true, Ok(namespace), Ok(flush_interval)) => Some(MetricsConfig {
                namespace,
                flush_interval,
            }),
            _ => None,
        };

        config.log_json = get(LOG_FORMAT_ENV).is_some_and(|v| v.eq_ignore_ascii_case("json"));
        if let Some(v) = get(LOG_ENV) {
            if v.trim().is_empty() {
                warn(
                    LOG_ENV,
                    &v,
                    "is empty; use a level such as `info` or `debug`".into(),
                    "logging at `info`",
                );
            } else {
                config.log_filter = v.trim().to_owned();
            }
        }
        (config, warnings)
    }
}

fn parse_port(v: &str) -> Result<u16, String> {
    match v.trim().parse::<u16>() {
        Ok(0) => Err("port 0 is not allowed; use a fixed port in 1-65535".into()),
        Ok(p) => Ok(p),
        Err(_) => Err("is not a port number; use an integer in 1-65535".into()),
    }
}

fn parse_switch(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "1" | "yes" => Ok(true),
        "off" | "false" | "0" | "no" => Ok(false),
        _ => Err("is not a switch; use `on` or `off`".into()),
    }
}

/// A header name the tag can carry: an HTTP token, not one Rollcall uses for something else.
fn parse_header_name(v: &str) -> Result<String, String> {
    let name = v.trim().to_ascii_lowercase();
    if name.is_empty() {
        return Err(format!(
            "is empty; use a header name such as `{DEFAULT_VERSION_HEADER}`"
        ));
    }
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(format!(
            "is not a valid HTTP header name (letters, digits and `-`); use e.g. `{DEFAULT_VERSION_HEADER}`"
        ));
    }
    if name == COLD_HEADER {
        return Err(format!(
            "is the cold-start header `{COLD_HEADER}`; choose another name"
        ));
    }
    if let Some(why) = unsafe_to_add(&name) {
        return Err(format!(
            "{why}: tagging would overwrite or break the function's own header; use a name of your own such as `{DEFAULT_VERSION_HEADER}`"
        ));
    }
    Ok(name)
}

/// Response headers the tag must never set: HTTP's own (framing, hop-by-hop, caching,
/// redirects, cookies, CORS, authentication) and those AWS reserves or rewrites.
const RESERVED_HEADERS: &[&str] = &[
    "accept-ranges",
    "age",
    "allow",
    "alt-svc",
    "authorization",
    "cache-control",
    "connection",
    "cookie",
    "date",
    "etag",
    "expires",
    "forwarded",
    "host",
    "keep-alive",
    "last-modified",
    "link",
    "location",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "refresh",
    "retry-after",
    "server",
    "set-cookie",
    "strict-transport-security",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "vary",
    "via",
    "warning",
    "www-authenticate",
];

/// Prefixes of header families the tag must never set.
const RESERVED_PREFIXES: &[(&str, &str)] = &[
    ("content-", "describes the body"),
    ("access-control-", "is a CORS header"),
    ("x-amz-", "is reserved by AWS"),
    ("x-amzn-", "is reserved by AWS (API Gateway remaps it)"),
    ("apigw-", "is reserved by API Gateway"),
    ("x-forwarded-", "is set by proxies and load balancers"),
    ("sec-", "is reserved by browsers"),
];

/// Why `name` (lower case) is not safe to add to a function's response, if it is not.
fn unsafe_to_add(name: &str) -> Option<String> {
    if RESERVED_HEADERS.contains(&name) {
        return Some("is a standard HTTP header".to_owned());
    }
    RESERVED_PREFIXES
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|(prefix, why)| format!("starts with `{prefix}` and {why}"))
}

fn parse_namespace(v: &str) -> Result<String, String> {
    let ns = v.trim();
    if ns.is_empty() {
        return Err(format!(
            "is empty; use a namespace such as `{DEFAULT_NAMESPACE}`"
        ));
    }
    if ns.chars().count() > MAX_NAMESPACE_LEN {
        return Err(format!("is longer than {MAX_NAMESPACE_LEN} characters"));
    }
    if ns.starts_with("AWS/") {
        return Err("`AWS/` namespaces are reserved for AWS services; choose another".into());
    }
    Ok(ns.to_owned())
}

fn parse_interval(v: &str) -> Result<Duration, String> {
    let t = v.trim();
    let parsed = match t.parse::<u64>() {
        Ok(secs) => Ok(Duration::from_secs(secs)),
        Err(_) => humantime::parse_duration(t).map_err(|e| e.to_string()),
    };
    match parsed {
        Err(e) => Err(format!(
            "is not a duration ({e}); use seconds (`10`) or a unit (`10s`, `500ms`, `1m`)"
        )),
        Ok(d) if d < MIN_FLUSH_INTERVAL || d > MAX_FLUSH_INTERVAL => Err(format!(
            "is outside {} .. {}",
            humantime::format_duration(MIN_FLUSH_INTERVAL),
            humantime::format_duration(MAX_FLUSH_INTERVAL)
        )),
        Ok(d) => Ok(d),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parse(vars: &[(&str, &str)]) -> (Config, Vec<ConfigWarning>) {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_env(|k| map.get(k).cloned())
    }

    #[test]
    fn no_variables_gives_the_defaults() {
        let (config, warnings) = parse(&[]);
        assert_eq!(config, Config::default());
        assert!(warnings.is_empty());
        assert_eq!(config.proxy_port, Some(9009));
        assert_eq!(config.tagging.unwrap().version_header, "x-rollcall-version");
        assert_eq!(config.metrics.unwrap().namespace, "Rollcall");
    }

    #[test]
    fn good_values_are_taken() {
        let (config, warnings) = parse(&[
            (PROXY_PORT_ENV, "19009"),
            (TELEMETRY_PORT_ENV, " 19010 "),
            (HEADER_ENV, "X-Served-Version"),
            (NAMESPACE_ENV, "MyApp/Rollout"),
            (FLUSH_INTERVAL_ENV, "500ms"),
            (TAGGING_ENV, "ON"),
            (METRICS_ENV, "true"),
            (LOG_FORMAT_ENV, "JSON"),
            (LOG_ENV, "debug"),
        ]);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(config.proxy_port, Some(19009));
        assert_eq!(config.telemetry_port, Some(19010));
        assert_eq!(config.tagging.unwrap().version_header, "x-served-version");
        let metrics = config.metrics.unwrap();
        assert_eq!(metrics.namespace, "MyApp/Rollout");
        assert_eq!(metrics.flush_interval, Duration::from_millis(500));
        assert!(config.log_json);
        assert_eq!(config.log_filter, "debug");
    }

    #[test]
    fn plain_seconds_are_a_flush_interval() {
        let (config, _) = parse(&[(FLUSH_INTERVAL_ENV, "30")]);
        assert_eq!(
            config.metrics.unwrap().flush_interval,
            Duration::from_secs(30)
        );
    }

    #[test]
    fn switches_turn_features_off() {
        let (config, warnings) = parse(&[(TAGGING_ENV, "off"), (METRICS_ENV, "0")]);
        assert!(warnings.is_empty());
        assert_eq!(config.tagging, None);
        assert_eq!(config.metrics, None);
        assert_eq!(config.proxy_port, Some(DEFAULT_PROXY_PORT));
    }

    /// Each bad value: the warning names the variable and the value, and only its feature is off.
    #[test]
    fn bad_values_warn_and_turn_their_feature_off() {
        type Check = fn(&Config) -> bool;
        let cases: &[(&str, &str, Check)] = &[
            (PROXY_PORT_ENV, "abc", |c| {
                c.proxy_port.is_none() && c.metrics.is_some()
            }),
            (PROXY_PORT_ENV, "0", |c| c.proxy_port.is_none()),
            (PROXY_PORT_ENV, "70000", |c| c.proxy_port.is_none()),
            (TELEMETRY_PORT_ENV, "-1", |c| {
                c.telemetry_port.is_none() && c.proxy_port.is_some()
            }),
            (TELEMETRY_PORT_ENV, "9009", |c| {
                c.telemetry_port.is_none() && c.proxy_port.is_some()
            }),
            (HEADER_ENV, "bad header", |c| {
                c.tagging.is_none() && c.proxy_port.is_some()
            }),
            (HEADER_ENV, "", |c| c.tagging.is_none()),
            (HEADER_ENV, "X-Rollcall-Cold", |c| c.tagging.is_none()),
            (HEADER_ENV, "content-type", |c| {
                c.tagging.is_none() && c.proxy_port.is_some() && c.metrics.is_some()
            }),
            (HEADER_ENV, "Location", |c| c.tagging.is_none()),
            (HEADER_ENV, "set-cookie", |c| c.tagging.is_none()),
            (HEADER_ENV, "Content-Length", |c| c.tagging.is_none()),
            (HEADER_ENV, "transfer-encoding", |c| c.tagging.is_none()),
            (HEADER_ENV, "connection", |c| c.tagging.is_none()),
            (HEADER_ENV, "cache-control", |c| c.tagging.is_none()),
            (HEADER_ENV, "access-control-allow-origin", |c| {
                c.tagging.is_none()
            }),
            (HEADER_ENV, "x-amz-executed-version", |c| {
                c.tagging.is_none()
            }),
            (HEADER_ENV, "x-amzn-requestid", |c| c.tagging.is_none()),
            (TAGGING_ENV, "maybe", |c| {
                c.tagging.is_none() && c.metrics.is_some()
            }),
            (METRICS_ENV, "2", |c| {
                c.metrics.is_none() && c.tagging.is_some()
            }),
            (NAMESPACE_ENV, "", |c| c.metrics.is_none()),
            (NAMESPACE_ENV, "AWS/Lambda", |c| c.metrics.is_none()),
            (FLUSH_INTERVAL_ENV, "soon", |c| {
                c.metrics.is_none() && c.tagging.is_some()
            }),
            (FLUSH_INTERVAL_ENV, "1ms", |c| c.metrics.is_none()),
            (FLUSH_INTERVAL_ENV, "2h", |c| c.metrics.is_none()),
        ];
        for (variable, value, check) in cases {
            let (config, warnings) = parse(&[(variable, value)]);
            assert_eq!(warnings.len(), 1, "{variable}={value:?}: {warnings:?}");
            let w = &warnings[0];
            assert_eq!(w.variable, *variable);
            assert_eq!(w.value, *value);
            let line = w.to_string();
            assert!(
                line.starts_with(&format!("{variable}={value:?}: ")),
                "{line}"
            );
            assert!(check(&config), "{variable}={value:?}: {config:?}");
        }
    }

    #[test]
    fn a_refused_header_name_says_why_and_what_to_use() {
        let (_, warnings) = parse(&[(HEADER_ENV, "Content-Type")]);
        let line = warnings[0].to_string();
        assert!(line.contains("describes the body"), "{line}");
        assert!(line.contains("x-rollcall-version"), "{line}");
        assert_eq!(warnings[0].consequence, "tagging is off");
    }

    #[test]
    fn custom_header_names_of_ones_own_are_taken() {
        for name in [
            "x-served-version",
            "x-version",
            "version",
            "x-content-version",
        ] {
            let (config, warnings) = parse(&[(HEADER_ENV, name)]);
            assert!(warnings.is_empty(), "{name}: {warnings:?}");
            assert_eq!(config.tagging.unwrap().version_header, name);
        }
    }

    #[test]
    fn a_long_namespace_is_refused() {
        let long = "N".repeat(MAX_NAMESPACE_LEN + 1);
        let (config, warnings) = parse(&[(NAMESPACE_ENV, &long)]);
        assert_eq!(config.metrics, None);
        assert_eq!(warnings[0].variable, NAMESPACE_ENV);
    }

    #[test]
    fn tagging_off_ignores_the_header_name() {
        let (config, warnings) = parse(&[(TAGGING_ENV, "off"), (HEADER_ENV, "bad header")]);
        assert!(warnings.is_empty());
        assert_eq!(config.tagging, None);
    }
}
