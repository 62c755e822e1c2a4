//! The AWS control plane, read by the prober off the send lanes: the SDK's configuration
//! (credential and region chains), and the followers of an alias (GetAlias), a CodeDeploy
//! deployment (GetDeployment) and a CloudFormation stack.
//!
//! Every call here is a control-plane call: it runs on the main runtime, never on a send lane,
//! and a failure during the run is retried with backoff and reported, never fatal to the probe.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

/// Attempts per control-plane call (the SDK's standard retry mode, with its backoff).
pub const CALL_ATTEMPTS: u32 = 3;
/// Timeout of a whole control-plane call, retries included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Timeout of one attempt.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// Connect timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Loads the SDK's configuration as every AWS tool does (environment, profiles, SSO, web
/// identity, container and instance roles; `AWS_ENDPOINT_URL*` honoured), with the prober's
/// timeouts and retries. `region` (e.g. from an ARN) overrides the region chain.
pub async fn sdk_config(region: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(CALL_ATTEMPTS))
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(CALL_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .connect_timeout(CONNECT_TIMEOUT)
                .build(),
        );
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_owned()));
    }
    loader.load().await
}

pub mod agreement;
pub mod alias;
pub mod deployment;
pub mod deployment_poll;
pub mod errors;
pub mod follow;
pub mod invoke;
pub mod sigv4;
pub mod stack;

pub use follow::{ControlPlane, ControlSnapshot, Preflight};
