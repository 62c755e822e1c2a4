//! Releases through the Lambda API, with the AWS SDK for Rust as the client.

use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_lambda::Client;
use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_lambda::types::Environment;

use crate::lab::{ALIAS, FUNCTION};

/// The SDK's client of the lab's Lambda API (fixed endpoint, dummy credentials; no retries,
/// so a failed call fails the benchmark instead of hiding in its latency).
pub fn client(endpoint: &str) -> Client {
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .retry_config(RetryConfig::disabled())
        .credentials_provider(Credentials::new(
            "AKIDLAB",
            "lab",
            None,
            None,
            "rollcall-lab",
        ))
        .build();
    Client::from_conf(config)
}

/// How long each step of one release took.
#[derive(Debug, Clone, Copy)]
pub struct ReleaseTimes {
    /// UpdateFunctionConfiguration.
    pub update_configuration: Duration,
    /// PublishVersion.
    pub publish: Duration,
    /// UpdateAlias.
    pub update_alias: Duration,
}

/// Changes `$LATEST`'s environment (`BENCH_RELEASE=n`) so that PublishVersion makes a version.
pub async fn change_configuration(lambda: &Client, n: u64) -> anyhow::Result<()> {
    let env = Environment::builder()
        .variables("BENCH_RELEASE", n.to_string())
        .build();
    lambda
        .update_function_configuration()
        .function_name(FUNCTION)
        .environment(env)
        .send()
        .await
        .context("UpdateFunctionConfiguration")?;
    Ok(())
}

/// PublishVersion: the new version's number.
pub async fn publish(lambda: &Client) -> anyhow::Result<String> {
    let out = lambda
        .publish_version()
        .function_name(FUNCTION)
        .send()
        .await
        .context("PublishVersion")?;
    out.version
        .context("PublishVersion answered without a Version")
}

/// UpdateAlias: all of the alias's traffic to `version`.
pub async fn point_alias(lambda: &Client, version: &str) -> anyhow::Result<()> {
    lambda
        .update_alias()
        .function_name(FUNCTION)
        .name(ALIAS)
        .function_version(version)
        .send()
        .await
        .context("UpdateAlias")?;
    Ok(())
}

/// Invokes `version` once through the Lambda API with an empty event: that starts an
/// environment of it. `hello` answers a non-API-Gateway event with a function error, which is
/// fine here: the environment ran; only the call itself must succeed.
pub async fn warm(lambda: &Client, version: &str) -> anyhow::Result<()> {
    lambda
        .invoke()
        .function_name(FUNCTION)
        .qualifier(version)
        .send()
        .await
        .with_context(|| format!("Invoke of version {version}"))?;
    Ok(())
}

/// One release: change the configuration, publish, warm the new version with `warm_invokes`
/// concurrent Invokes (0: none), alias it at 100 %. Returns the new version and the steps'
/// times.
pub async fn release(
    lambda: &Client,
    n: u64,
    warm_invokes: u32,
) -> anyhow::Result<(String, ReleaseTimes)> {
    let t0 = Instant::now();
    change_configuration(lambda, n).await?;
    let t1 = Instant::now();
    let version = publish(lambda).await?;
    let t2 = Instant::now();
    let mut warming = tokio::task::JoinSet::new();
    for _ in 0..warm_invokes {
        let (lambda, version) = (lambda.clone(), version.clone());
        warming.spawn(async move { warm(&lambda, &version).await });
    }
    while let Some(warmed) = warming.join_next().await {
        warmed.context("a warming Invoke")??;
    }
    let t3 = Instant::now();
    point_alias(lambda, &version).await?;
    let t4 = Instant::now();
    Ok((
        version,
        ReleaseTimes {
            update_configuration: t1 - t0,
            publish: t2 - t1,
            update_alias: t4 - t3,
        },
    ))
}
