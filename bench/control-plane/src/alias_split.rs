//! Issue 10's split figure: the lab serves `hello` versions 1 and 2 behind alias `live`; for
//! each weight of version 2, UpdateAlias through the AWS SDK, then `invocations` Invokes of the
//! alias (counting `ExecutedVersion`, checked against the version in `hello`'s answer) and,
//! optionally, as many GETs of the API front door's route (counting the body's version).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, bail, ensure};
use aws_sdk_lambda::Client;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::AliasRoutingConfiguration;

use crate::front_door::FrontDoor;
use crate::lab::{ALIAS, FUNCTION, LabProcess};
use crate::release;
use crate::split_verdict::{Path, SplitJudgement, StepCount};

/// The version the alias points at.
pub const OLD_VERSION: &str = "1";
/// The version the weights send traffic to.
pub const NEW_VERSION: &str = "2";

/// The weights of issue 10's figure.
pub const DEFAULT_WEIGHTS: [f64; 8] = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99];

/// What to run.
#[derive(Debug, Clone)]
pub struct SplitOptions {
    /// The `rollcall-lab` executable.
    pub lab: PathBuf,
    /// The `hello` executable (both versions).
    pub hello: PathBuf,
    /// Weights of version 2, one step each, in order.
    pub weights: Vec<f64>,
    /// Answers counted per step and path.
    pub invocations: u64,
    /// Requests in flight.
    pub concurrency: usize,
    /// The seed of the lab's routing RNG (`rollcall-lab serve --seed`).
    pub seed: u64,
    /// Also count through the API front door.
    pub front_door: bool,
    /// Family-wise level of Holm's procedure.
    pub alpha: f64,
    /// Two-sided confidence of the Clopper-Pearson intervals.
    pub confidence: f64,
}

/// Why the options cannot run.
pub fn check(options: &SplitOptions) -> anyhow::Result<()> {
    ensure!(
        !options.weights.is_empty(),
        "--weights is empty: give at least one weight of version 2, e.g. --weights 0.1,0.5"
    );
    for &w in &options.weights {
        ensure!(
            (0.0..=1.0).contains(&w),
            "--weights: {w} is not a weight of version 2 (between 0 and 1, e.g. 0.25)"
        );
    }
    ensure!(
        options.invocations > 0,
        "--invocations (N) is 0: give the answers to count per weight, e.g. 10000"
    );
    ensure!(
        options.concurrency > 0,
        "--concurrency is 0: give the requests in flight, e.g. 16"
    );
    ensure!(
        options.alpha > 0.0 && options.alpha < 1.0,
        "--alpha {} must lie strictly between 0 and 1 (e.g. 0.01)",
        options.alpha
    );
    ensure!(
        options.confidence > 0.0 && options.confidence < 1.0,
        "--confidence {} must lie strictly between 0 and 1 (e.g. 0.99)",
        options.confidence
    );
    Ok(())
}

/// What the run saw besides the counts.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitRun {
    /// Every step and path judged.
    pub judgement: SplitJudgement,
    /// Invokes whose `ExecutedVersion` differed from the version in `hello`'s answer.
    pub mismatched: u64,
}

/// Starts the lab, runs every step, stops the lab, judges the counts.
pub async fn run(options: &SplitOptions) -> anyhow::Result<SplitRun> {
    check(options)?;
    let lab = LabProcess::start_with(
        &options.lab,
        &options.hello,
        &[OLD_VERSION, NEW_VERSION],
        &[
            "--weights".to_owned(),
            format!("{OLD_VERSION}=1"),
            "--seed".to_owned(),
            options.seed.to_string(),
        ],
    )
    .await?;
    let result = measure(options, &lab).await;
    lab.stop().await;
    let (counts, mismatched) = result?;
    Ok(SplitRun {
        judgement: SplitJudgement::of(&counts, options.alpha, options.confidence),
        mismatched,
    })
}

async fn measure(
    options: &SplitOptions,
    lab: &LabProcess,
) -> anyhow::Result<(Vec<StepCount>, u64)> {
    let lambda = release::client(&lab.lambda_api);
    let front_door = FrontDoor::new(&lab.front_door)?;
    let mismatched = Arc::new(AtomicU64::new(0));
    let mut counts = Vec::new();
    for &weight in &options.weights {
        set_weight(&lambda, weight).await?;
        let (n, new_version) = {
            let (lambda, mismatched) = (lambda.clone(), mismatched.clone());
            count(options, move || {
                let (lambda, mismatched) = (lambda.clone(), mismatched.clone());
                async move { invoke_alias(&lambda, &mismatched).await }
            })
            .await
            .with_context(|| format!("Invoke of {FUNCTION}:{ALIAS} at weight {weight}"))?
        };
        counts.push(StepCount {
            weight,
            path: Path::Sdk,
            n,
            new_version,
        });
        if options.front_door {
            let front_door = front_door.clone();
            let (n, new_version) = count(options, move || {
                let front_door = front_door.clone();
                async move { front_door.version().await }
            })
            .await
            .with_context(|| format!("GET {} at weight {weight}", lab.front_door))?;
            counts.push(StepCount {
                weight,
                path: Path::FrontDoor,
                n,
                new_version,
            });
        }
    }
    Ok((counts, mismatched.load(Ordering::Relaxed)))
}

/// UpdateAlias: the alias on version 1 with `weight` to version 2; checks the answer echoes it.
async fn set_weight(lambda: &Client, weight: f64) -> anyhow::Result<()> {
    let routing = AliasRoutingConfiguration::builder()
        .additional_version_weights(NEW_VERSION, weight)
        .build();
    let out = lambda
        .update_alias()
        .function_name(FUNCTION)
        .name(ALIAS)
        .function_version(OLD_VERSION)
        .routing_config(routing)
        .send()
        .await
        .with_context(|| format!("UpdateAlias to {{\"{NEW_VERSION}\": {weight}}}"))?;
    let echoed = out
        .routing_config()
        .and_then(|r| r.additional_version_weights())
        .and_then(|w| w.get(NEW_VERSION).copied())
        .unwrap_or(0.0);
    ensure!(
        (echoed - weight).abs() < 1e-12,
        "UpdateAlias answered weight {echoed} for version {NEW_VERSION}, not {weight}"
    );
    Ok(())
}

/// An API Gateway HTTP API (2.0) event, so that `hello` answers as through a route.
fn event() -> Blob {
    let event = serde_json::json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/split", "rawQueryString": "",
        "headers": {"host": "lab"}, "isBase64Encoded": false,
        "requestContext": {"http": {"method": "GET", "path": "/split", "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1", "userAgent": "alias-split"}, "requestId": "split",
            "routeKey": "$default", "stage": "$default", "timeEpoch": 0}
    });
    Blob::new(event.to_string())
}

/// One Invoke of the alias: the `ExecutedVersion` (counting a disagreement with the version in
/// `hello`'s answer in `mismatched`).
async fn invoke_alias(lambda: &Client, mismatched: &AtomicU64) -> anyhow::Result<String> {
    let out = lambda
        .invoke()
        .function_name(FUNCTION)
        .qualifier(ALIAS)
        .payload(event())
        .send()
        .await?;
    let executed = out
        .executed_version()
        .context("Invoke answered without ExecutedVersion")?
        .to_owned();
    if let Some(error) = out.function_error() {
        bail!("version {executed} answered with a function error ({error})");
    }
    let payload: serde_json::Value = serde_json::from_slice(
        out.payload()
            .context("Invoke answered without a payload")?
            .as_ref(),
    )
    .context("hello's answer is not JSON")?;
    let body: serde_json::Value = serde_json::from_str(payload["body"].as_str().unwrap_or(""))
        .with_context(|| format!("hello's answer has no JSON body: {payload}"))?;
    if body["version"].as_str() != Some(executed.as_str()) {
        mismatched.fetch_add(1, Ordering::Relaxed);
    }
    Ok(executed)
}

/// `options.invocations` calls of `call` with `options.concurrency` in flight: how many
/// answered, and how many of them [`NEW_VERSION`]. Any failure, or a version that is neither,
/// fails the step.
async fn count<F, Fut>(options: &SplitOptions, call: F) -> anyhow::Result<(u64, u64)>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<String>> + Send,
{
    let next = Arc::new(AtomicU64::new(0));
    let total = options.invocations;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..options.concurrency {
        let (next, call) = (next.clone(), call.clone());
        workers.spawn(async move {
            let (mut answered, mut new_version) = (0, 0);
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let version = call().await?;
                answered += 1;
                match version.as_str() {
                    NEW_VERSION => new_version += 1,
                    OLD_VERSION => {}
                    other => bail!("version {other} answered; the alias routes only 1 and 2"),
                }
            }
            Ok::<_, anyhow::Error>((answered, new_version))
        });
    }
    let (mut answered, mut new_version) = (0, 0);
    while let Some(worker) = workers.join_next().await {
        let (a, v) = worker.context("a worker panicked")??;
        answered += a;
        new_version += v;
    }
    Ok((answered, new_version))
}
