//! The Rollcall demo function: answers `{"message": "hello from version N", "version": "N",
//! "path": "/..."}` and, for rehearsing bad releases, can fail a share of requests or add latency.
//!
//! Configuration is environment variables only, parsed by [`HelloConfig::from_env`]:
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `HELLO_FAIL_RATE` | share of requests that fail, in `[0, 1]` | `0` |
//! | `HELLO_LATENCY_MS` | added latency in ms: `20`, or a uniform range `10..50` | none |
//! | `HELLO_ERROR_MODE` | how a request fails: `status500` (a 500 response) or `unhandled` (the handler returns an error: Lambda reports `X-Amz-Function-Error: Unhandled`) | `status500` |
//! | `HELLO_SEED` | seed of the failure/latency draws (u64); random when absent | random |
//! | `AWS_LAMBDA_FUNCTION_VERSION` | set by Lambda (or the lab): the version reported | `$LATEST` |

use std::sync::Mutex;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A bad configuration value, naming the variable, the value and the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{var}={value:?} is invalid: {fix}")]
pub struct ConfigError {
    /// The environment variable.
    pub var: &'static str,
    /// The value it had.
    pub value: String,
    /// What a valid value looks like.
    pub fix: &'static str,
}

/// How an injected failure shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorMode {
    /// The function answers HTTP 500 (a "handled" failure: the invocation succeeds).
    Status500,
    /// The handler returns an error: the runtime posts `/error` (an unhandled function error).
    Unhandled,
}

/// Added latency per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latency {
    /// No added latency.
    None,
    /// The same delay on every request.
    Fixed(Duration),
    /// A delay drawn uniformly from `[min, max]` per request.
    Uniform {
        /// Smallest delay.
        min: Duration,
        /// Largest delay.
        max: Duration,
    },
}

/// The function's configuration, parsed once at start.
#[derive(Debug, Clone, PartialEq)]
pub struct HelloConfig {
    /// The version this environment runs (`AWS_LAMBDA_FUNCTION_VERSION`).
    pub version: String,
    /// Share of requests that fail, in `[0, 1]`.
    pub fail_rate: f64,
    /// Added latency.
    pub latency: Latency,
    /// How failures show.
    pub error_mode: ErrorMode,
    /// Seed of the draws, when fixed.
    pub seed: Option<u64>,
}

impl HelloConfig {
    /// Parses the configuration from environment variables read through `get`.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let version = get("AWS_LAMBDA_FUNCTION_VERSION").unwrap_or_else(|| "$LATEST".to_owned());
        let fail_rate = match get("HELLO_FAIL_RATE") {
            None => 0.0,
            Some(v) => parse_rate(&v).ok_or(ConfigError {
                var: "HELLO_FAIL_RATE",
                value: v,
                fix: "use a share between 0 and 1, e.g. 0.05",
            })?,
        };
        let latency = match get("HELLO_LATENCY_MS") {
            None => Latency::None,
            Some(v) => parse_latency(&v).ok_or(ConfigError {
                var: "HELLO_LATENCY_MS",
                value: v,
                fix: "use milliseconds, e.g. 20, or a range MIN..MAX, e.g. 10..50",
            })?,
        };
        let error_mode = match get("HELLO_ERROR_MODE").as_deref() {
            None | Some("status500") => ErrorMode::Status500,
            Some("unhandled") => ErrorMode::Unhandled,
            Some(v) => {
                return Err(ConfigError {
                    var: "HELLO_ERROR_MODE",
                    value: v.to_owned(),
                    fix: "use status500 or unhandled",
                });
            }
        };
        let seed = match get("HELLO_SEED") {
            None => None,
            Some(v) => Some(v.trim().parse::<u64>().map_err(|_| ConfigError {
                var: "HELLO_SEED",
                value: v,
                fix: "use an unsigned integer",
            })?),
        };
        Ok(Self {
            version,
            fail_rate,
            latency,
            error_mode,
            seed,
        })
    }
}

fn parse_rate(v: &str) -> Option<f64> {
    let rate = v.trim().parse::<f64>().ok()?;
    (0.0..=1.0).contains(&rate).then_some(rate)
}

fn parse_latency(v: &str) -> Option<Latency> {
    let ms = |s: &str| s.trim().parse::<u64>().ok().map(Duration::from_millis);
    match v.split_once("..") {
        None => Some(Latency::Fixed(ms(v)?)),
        Some((lo, hi)) => {
            let (min, max) = (ms(lo)?, ms(hi)?);
            (min <= max).then_some(Latency::Uniform { min, max })
        }
    }
}

/// What to do with one request, drawn from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Delay before answering.
    pub delay: Duration,
    /// Whether this request fails (as [`HelloConfig::error_mode`] says).
    pub fail: bool,
}

/// The function's state: its configuration and the RNG of its draws.
#[derive(Debug)]
pub struct Hello {
    config: HelloConfig,
    rng: Mutex<ChaCha8Rng>,
}

impl Hello {
    /// Builds the function from its configuration.
    pub fn new(config: HelloConfig) -> Self {
        let rng = match config.seed {
            Some(seed) => ChaCha8Rng::seed_from_u64(seed),
            None => ChaCha8Rng::from_os_rng(),
        };
        Self {
            config,
            rng: Mutex::new(rng),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &HelloConfig {
        &self.config
    }

    /// Draws the plan of the next request.
    pub fn plan(&self) -> Plan {
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        let fail = self.config.fail_rate > 0.0 && rng.random_bool(self.config.fail_rate);
        let delay = match self.config.latency {
            Latency::None => Duration::ZERO,
            Latency::Fixed(d) => d,
            Latency::Uniform { min, max } => {
                Duration::from_millis(rng.random_range(min.as_millis()..=max.as_millis()) as u64)
            }
        };
        Plan { delay, fail }
    }

    /// The JSON body of a successful answer for `path`.
    pub fn body(&self, path: &str) -> serde_json::Value {
        serde_json::json!({
            "message": format!("hello from version {}", self.config.version),
            "version": self.config.version,
            "path": path,
        })
    }
}

#[cfg(test)]
mod tests;
