//! A CodeDeploy `BeforeAllowTraffic` hook for Lambda, written with the AWS SDK for Rust as one
//! would deploy it on AWS.
//!
//! CodeDeploy invokes the hook asynchronously with a [`HookEvent`]. The hook asks CodeDeploy
//! which version the deployment shifts traffic to (ListDeploymentTargets, GetDeploymentTarget),
//! invokes that version once (it gets no alias traffic yet), and reports `Succeeded` when every
//! version answered without a function error, `Failed` otherwise, through
//! PutLifecycleEventHookExecutionStatus. A check it cannot make (CodeDeploy or Lambda
//! unreachable) is reported as `Failed` with why, so the deployment fails at once instead of
//! waiting out CodeDeploy's one-hour limit. Configuration: [`settings`].

pub mod settings;

use aws_sdk_codedeploy::error::DisplayErrorContext;
use aws_sdk_codedeploy::types::LifecycleEventStatus;
use aws_sdk_lambda::primitives::Blob;
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use settings::{Settings, SettingsError, StaticCredentials, Target};

/// What CodeDeploy sends a lifecycle hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HookEvent {
    /// The deployment running the hook.
    pub deployment_id: String,
    /// This execution of the hook, echoed in the report.
    pub lifecycle_event_hook_execution_id: String,
}

/// One version's check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// `function:version`.
    pub target: String,
    /// Whether it answered without a function error.
    pub passed: bool,
    /// The answer, or why it failed.
    pub detail: String,
}

/// What the hook reported, also its own answer (and log line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookReport {
    /// The deployment.
    pub deployment_id: String,
    /// `Succeeded` or `Failed`, as reported to CodeDeploy.
    pub status: String,
    /// Each version checked; empty when the targets could not be found.
    pub checks: Vec<Check>,
    /// Why the hook failed without checking, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A hook whose report did not reach CodeDeploy (the deployment fails at its hook limit).
#[derive(Debug, Error)]
#[error("cannot report {status} for deployment {deployment_id} to CodeDeploy: {reason}")]
pub struct ReportError {
    /// The deployment.
    pub deployment_id: String,
    /// The status the hook meant to report.
    pub status: String,
    /// The SDK's error.
    pub reason: String,
}

/// The hook with its two clients, made once per execution environment.
#[derive(Debug, Clone)]
pub struct Hook {
    codedeploy: aws_sdk_codedeploy::Client,
    lambda: aws_sdk_lambda::Client,
    target: Option<Target>,
    check_event: String,
}

impl Hook {
    /// The clients for `settings`.
    pub fn new(settings: Settings) -> Self {
        Self {
            codedeploy: codedeploy_client(&settings),
            lambda: lambda_client(&settings),
            target: settings.target,
            check_event: settings.check_event,
        }
    }

    /// Checks the deployment's target versions and reports the verdict to CodeDeploy.
    pub async fn handle(&self, event: HookEvent) -> Result<HookReport, ReportError> {
        let (checks, error) = match self.targets(&event.deployment_id).await {
            Ok(targets) => {
                let mut checks = Vec::with_capacity(targets.len());
                for target in targets {
                    checks.push(self.check(target).await);
                }
                (checks, None)
            }
            Err(reason) => (Vec::new(), Some(reason)),
        };
        let passed = error.is_none() && checks.iter().all(|c| c.passed);
        let status = if passed {
            LifecycleEventStatus::Succeeded
        } else {
            LifecycleEventStatus::Failed
        };
        let report = HookReport {
            deployment_id: event.deployment_id.clone(),
            status: status.as_str().to_owned(),
            checks,
            error,
        };
        tracing::info!(report = %serde_json::to_string(&report).unwrap_or_default(), "reporting");
        self.codedeploy
            .put_lifecycle_event_hook_execution_status()
            .deployment_id(&event.deployment_id)
            .lifecycle_event_hook_execution_id(&event.lifecycle_event_hook_execution_id)
            .status(status)
            .send()
            .await
            .map_err(|e| ReportError {
                deployment_id: event.deployment_id.clone(),
                status: report.status.clone(),
                reason: DisplayErrorContext(e).to_string(),
            })?;
        Ok(report)
    }

    /// The configured target, or the versions the deployment shifts traffic to.
    async fn targets(&self, deployment_id: &str) -> Result<Vec<Target>, String> {
        if let Some(target) = &self.target {
            return Ok(vec![target.clone()]);
        }
        let listed = self
            .codedeploy
            .list_deployment_targets()
            .deployment_id(deployment_id)
            .send()
            .await
            .map_err(|e| format!("ListDeploymentTargets failed: {}", DisplayErrorContext(e)))?;
        let mut targets = Vec::new();
        for target_id in listed.target_ids() {
            let got = self
                .codedeploy
                .get_deployment_target()
                .deployment_id(deployment_id)
                .target_id(target_id)
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "GetDeploymentTarget {target_id} failed: {}",
                        DisplayErrorContext(e)
                    )
                })?;
            let info = got
                .deployment_target()
                .and_then(|t| t.lambda_target())
                .and_then(|t| t.lambda_function_info());
            match info.and_then(|i| Some((i.function_name()?, i.target_version()?))) {
                Some((function, version)) => targets.push(Target {
                    function: function.to_owned(),
                    version: version.to_owned(),
                }),
                None => {
                    return Err(format!(
                        "deployment target {target_id} names no Lambda function and target version"
                    ));
                }
            }
        }
        if targets.is_empty() {
            return Err(format!("deployment {deployment_id} has no targets"));
        }
        Ok(targets)
    }

    /// Invokes `target` once with the check event.
    async fn check(&self, target: Target) -> Check {
        let answer = self
            .lambda
            .invoke()
            .function_name(&target.function)
            .qualifier(&target.version)
            .payload(Blob::new(self.check_event.as_bytes()))
            .send()
            .await;
        let target_name = target.to_string();
        let payload = |p: Option<&Blob>| {
            p.map(|b| String::from_utf8_lossy(b.as_ref()).into_owned())
                .unwrap_or_default()
        };
        match answer {
            Ok(out) => match out.function_error() {
                None => Check {
                    target: target_name,
                    passed: true,
                    detail: payload(out.payload()),
                },
                Some(kind) => Check {
                    target: target_name,
                    passed: false,
                    detail: format!("function error {kind}: {}", payload(out.payload())),
                },
            },
            Err(e) => Check {
                target: target_name,
                passed: false,
                detail: format!("Invoke failed: {}", DisplayErrorContext(e)),
            },
        }
    }
}

fn codedeploy_client(s: &Settings) -> aws_sdk_codedeploy::Client {
    use aws_sdk_codedeploy::config::{BehaviorVersion, Credentials, Region};
    let mut config = aws_sdk_codedeploy::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(s.region.clone()))
        .credentials_provider(Credentials::new(
            &s.credentials.access_key_id,
            &s.credentials.secret_access_key,
            s.credentials.session_token.clone(),
            None,
            "environment",
        ));
    if let Some(url) = &s.codedeploy_endpoint {
        config = config.endpoint_url(url);
    }
    aws_sdk_codedeploy::Client::from_conf(config.build())
}

fn lambda_client(s: &Settings) -> aws_sdk_lambda::Client {
    use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
    let mut config = aws_sdk_lambda::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(s.region.clone()))
        .credentials_provider(Credentials::new(
            &s.credentials.access_key_id,
            &s.credentials.secret_access_key,
            s.credentials.session_token.clone(),
            None,
            "environment",
        ));
    if let Some(url) = &s.lambda_endpoint {
        config = config.endpoint_url(url);
    }
    aws_sdk_lambda::Client::from_conf(config.build())
}
