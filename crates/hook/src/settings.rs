//! The hook's configuration, read from the environment by one pure function.
//!
//! | Variable | Meaning |
//! |---|---|
//! | `AWS_REGION` (or `AWS_DEFAULT_REGION`) | the region of both clients (Lambda sets it) |
//! | `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` | the execution role's credentials (Lambda sets them) |
//! | `AWS_ENDPOINT_URL_CODEDEPLOY`, `AWS_ENDPOINT_URL_LAMBDA`, `AWS_ENDPOINT_URL` | the SDKs' standard endpoint overrides (service-specific first); the AWS endpoints when unset or when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` |
//! | `ROLLCALL_HOOK_TARGET` | `function:version` to check instead of the deployment's own target (optional) |
//! | `ROLLCALL_HOOK_EVENT` | the JSON event sent to the version under check (default `{}`) |

use thiserror::Error;

/// Everything the hook reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The region of both clients.
    pub region: String,
    /// The credentials both clients sign with.
    pub credentials: StaticCredentials,
    /// CodeDeploy's endpoint override, if any.
    pub codedeploy_endpoint: Option<String>,
    /// Lambda's endpoint override, if any.
    pub lambda_endpoint: Option<String>,
    /// The version to check instead of the deployment's target.
    pub target: Option<Target>,
    /// The event the version under check is invoked with (valid JSON).
    pub check_event: String,
}

/// Credentials from the environment, as Lambda provides its execution role's.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticCredentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: String,
    /// `AWS_SESSION_TOKEN`.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// A function version the hook invokes: `function` (name or ARN) at `version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The function's name or ARN.
    pub function: String,
    /// The version (or alias) invoked.
    pub version: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.function, self.version)
    }
}

/// A configuration the hook cannot run with; each names the variable and the fix.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SettingsError {
    /// A variable the hook needs is unset or empty.
    #[error("{name} is not set: {fix}")]
    Missing {
        /// The variable.
        name: &'static str,
        /// What sets it.
        fix: &'static str,
    },
    /// `ROLLCALL_HOOK_TARGET` is not `function:version`.
    #[error(
        "ROLLCALL_HOOK_TARGET={value:?} is not function:version (e.g. my-function:7); unset it to check the deployment's target version"
    )]
    BadTarget {
        /// The value given.
        value: String,
    },
    /// `ROLLCALL_HOOK_EVENT` is not JSON.
    #[error(
        "ROLLCALL_HOOK_EVENT is not JSON ({reason}): {value:?}; give a JSON event such as {{}}"
    )]
    BadEvent {
        /// The value given.
        value: String,
        /// The parser's complaint.
        reason: String,
    },
}

impl Settings {
    /// Reads the settings through `get` (the process environment in the binary).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |name: &str| get(name).filter(|v| !v.is_empty());
        const ROLE: &str = "Lambda sets it from the execution role; set it when running elsewhere";
        let region = get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .ok_or(SettingsError::Missing {
                name: "AWS_REGION",
                fix: "Lambda sets it; set it (or AWS_DEFAULT_REGION) when running elsewhere",
            })?;
        let required =
            |name: &'static str| get(name).ok_or(SettingsError::Missing { name, fix: ROLE });
        let credentials = StaticCredentials {
            access_key_id: required("AWS_ACCESS_KEY_ID")?,
            secret_access_key: required("AWS_SECRET_ACCESS_KEY")?,
            session_token: get("AWS_SESSION_TOKEN"),
        };
        let ignore_endpoints = get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let endpoint = |service: &str| {
            if ignore_endpoints {
                return None;
            }
            get(&format!("AWS_ENDPOINT_URL_{service}")).or_else(|| get("AWS_ENDPOINT_URL"))
        };
        let target = get("ROLLCALL_HOOK_TARGET")
            .map(|value| match value.rsplit_once(':') {
                Some((function, version)) if !function.is_empty() && !version.is_empty() => {
                    Ok(Target {
                        function: function.to_owned(),
                        version: version.to_owned(),
                    })
                }
                _ => Err(SettingsError::BadTarget { value }),
            })
            .transpose()?;
        let check_event = get("ROLLCALL_HOOK_EVENT").unwrap_or_else(|| "{}".to_owned());
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&check_event) {
            return Err(SettingsError::BadEvent {
                value: check_event,
                reason: e.to_string(),
            });
        }
        Ok(Self {
            region,
            credentials,
            codedeploy_endpoint: endpoint("CODEDEPLOY"),
            lambda_endpoint: endpoint("LAMBDA"),
            target,
            check_event,
        })
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
