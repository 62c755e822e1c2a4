//! The lab for the CodeDeploy tests (`hello` at versions 1 and 2 behind `live`, on version 1),
//! hook functions in Python under `awslambdaric` that report through the lab's CodeDeploy API
//! themselves, and the AWS CLI pointed at the lab.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use std::time::SystemTime;

use bytes::Bytes;
use lab::control::deployments::RunningDeployment;
use lab::control::registry;
use lab::env::FunctionConfig;
use lab::invoke::{InvokeOutcome, InvokeRequest, Invoker};
use lab::lab::Lab;
use lab::pool::{ConcurrencyLimit, PoolConfig, VersionPool};
use rollcall_e2e::tool::AWS_CLI;
use serde_json::Value;

/// `hello` (`lab-testfn`) at versions 1 and 2, `live` serving version 1 only; the event log
/// in `dir/events.jsonl` ([`events`]).
pub(crate) async fn hello_lab(dir: &Path) -> Lab {
    hello_lab_with(dir, &[]).await
}

/// [`hello_lab`] with more `serve` flags.
pub(crate) async fn hello_lab_with(dir: &Path, more: &[&str]) -> Lab {
    let testfn = test_support::executable(&["lab-testfn"], "lab-testfn");
    let mut versions = Vec::new();
    for v in ["1", "2"] {
        let code = dir.join(v);
        std::fs::create_dir_all(&code).unwrap();
        std::fs::copy(&testfn, code.join("bootstrap")).unwrap();
        versions.push(format!("{v}={}", code.display()));
    }
    let events = dir.join("events.jsonl").display().to_string();
    let args = [
        "--function",
        "hello",
        "--version",
        &versions[0],
        "--version",
        &versions[1],
        "--alias",
        "live",
        "--weights",
        "1=1",
        "--seed",
        "11",
        "--event-log",
        &events,
    ];
    let args: Vec<&str> = args.iter().chain(more).copied().collect();
    let config = lab::cli::serve_config(&args).unwrap_or_else(|e| panic!("{e}"));
    Lab::start(&config).await.expect("the lab starts")
}

/// A hook that posts `PutLifecycleEventHookExecutionStatus` with `HOOK_STATUS` to
/// `AWS_ENDPOINT_URL_CODEDEPLOY`, as a JSON 1.1 request of its own (no SDK needed); with
/// `HOOK_STATUS=raise` it crashes instead.
const HOOK_PY: &str = r#"
import json, os, urllib.request

def handler(event, context):
    if os.environ["HOOK_STATUS"] == "raise":
        raise RuntimeError("the hook crashed before reporting")
    body = json.dumps({
        "deploymentId": event["DeploymentId"],
        "lifecycleEventHookExecutionId": event["LifecycleEventHookExecutionId"],
        "status": os.environ["HOOK_STATUS"],
    }).encode()
    request = urllib.request.Request(
        os.environ["AWS_ENDPOINT_URL_CODEDEPLOY"],
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus",
        },
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())
"#;

/// Adds the Python hook function `name` (its `$LATEST`) that reports `status`.
pub(crate) fn add_python_hook(lab: &Lab, dir: &Path, name: &str, status: &str) {
    let code = dir.join(name);
    std::fs::create_dir_all(&code).unwrap();
    std::fs::write(code.join("hook.py"), HOOK_PY).unwrap();
    let mut config = FunctionConfig::new(
        name.to_owned(),
        "$LATEST".to_owned(),
        code,
        "hook.handler".to_owned(),
    );
    config.command = Some(
        ["python3", "-m", "awslambdaric", "hook.handler"]
            .map(str::to_owned)
            .to_vec(),
    );
    config.env_vars.insert("HOOK_STATUS".into(), status.into());
    config
        .env_vars
        .insert("AWS_ENDPOINT_URL_CODEDEPLOY".into(), lab.lambda_url());
    let pool =
        Arc::new(VersionPool::new(PoolConfig::new(config.clone())).expect("the hook's pool"));
    let version = registry::Version {
        version: "$LATEST".into(),
        config,
        last_modified: SystemTime::now(),
        pool: Arc::clone(&pool) as _,
        logs: None,
        meta: registry::VersionMeta::default(),
        owned_pool: Some(pool),
    };
    let function = registry::Function::new(version, ConcurrencyLimit::new(10));
    lab.registry
        .mutate(|snapshot| {
            snapshot.functions.insert(name.to_owned(), function);
            Ok::<_, std::convert::Infallible>(())
        })
        .unwrap();
}

/// A Lambda AppSpec for `hello:live` from `current` to `target`, with optional hooks.
pub(crate) fn appspec(
    current: &str,
    target: &str,
    before: Option<&str>,
    after: Option<&str>,
) -> String {
    let mut hooks = Vec::new();
    if let Some(f) = before {
        hooks.push(serde_json::json!({ "BeforeAllowTraffic": f }));
    }
    if let Some(f) = after {
        hooks.push(serde_json::json!({ "AfterAllowTraffic": f }));
    }
    serde_json::json!({
        "version": 0.0,
        "Resources": [{ "hello": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Name": "hello", "Alias": "live",
                "CurrentVersion": current, "TargetVersion": target
            }
        }}],
        "Hooks": hooks,
    })
    .to_string()
}

/// The `--revision` argument carrying `appspec`.
pub(crate) fn revision(appspec: &str) -> String {
    serde_json::json!({
        "revisionType": "AppSpecContent",
        "appSpecContent": { "content": appspec }
    })
    .to_string()
}

/// The AWS CLI pointed at one lab, with throwaway credentials and no user configuration.
pub(crate) struct Aws {
    program: PathBuf,
    endpoint: String,
}

impl Aws {
    pub(crate) fn new(lab: &Lab) -> Self {
        let program = AWS_CLI.locate().unwrap_or_else(|e| panic!("{e}"));
        Self {
            program,
            endpoint: lab.lambda_url(),
        }
    }

    /// `aws <service> <args> --endpoint-url <lab>`.
    pub(crate) async fn run(&self, service: &str, args: &[&str]) -> Output {
        tokio::process::Command::from(rollcall_e2e::tool::aws_command(
            &self.program,
            service,
            &self.endpoint,
        ))
        .args(args)
        .args(["--output", "json"])
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.program.display()))
    }

    /// The JSON output of an `aws deploy` call that must succeed (`null` when it prints none).
    pub(crate) async fn deploy(&self, args: &[&str]) -> Value {
        self.ok("deploy", args).await
    }

    pub(crate) async fn ok(&self, service: &str, args: &[&str]) -> Value {
        let out = self.run(service, args).await;
        assert!(
            out.status.success(),
            "aws {service} {args:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        if out.stdout.iter().all(u8::is_ascii_whitespace) {
            return Value::Null;
        }
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
    }

    /// The error code and message of an `aws deploy` call that must fail
    /// (`An error occurred (<Code>) when calling ...: <message>`).
    pub(crate) async fn deploy_error(&self, args: &[&str]) -> (String, String) {
        let out = self.run("deploy", args).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "aws deploy {args:?} should fail");
        let (code, rest) = stderr
            .split_once("An error occurred (")
            .and_then(|(_, rest)| rest.split_once(')'))
            .unwrap_or_else(|| panic!("no error code in: {stderr}"));
        let message = rest.split_once(": ").map_or("", |(_, m)| m).trim();
        (code.to_owned(), message.to_owned())
    }

    /// `hello:live` as `aws lambda get-alias` shows it.
    pub(crate) async fn alias(&self) -> Value {
        self.ok(
            "lambda",
            &["get-alias", "--function-name", "hello", "--name", "live"],
        )
        .await
    }

    /// Creates application `app` and group `group` with `config`, auto-rollback on every event,
    /// and `alarms` (monitored when not empty).
    pub(crate) async fn group(&self, app: &str, group: &str, config: &str, alarms: &[&str]) {
        let out = self
            .run(
                "deploy",
                &[
                    "create-application",
                    "--application-name",
                    app,
                    "--compute-platform",
                    "Lambda",
                ],
            )
            .await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() || stderr.contains("ApplicationAlreadyExistsException"),
            "{stderr}"
        );
        let alarm_config = serde_json::json!({
            "enabled": !alarms.is_empty(),
            "alarms": alarms.iter().map(|a| serde_json::json!({"name": a})).collect::<Vec<_>>(),
        })
        .to_string();
        self.deploy(&[
            "create-deployment-group",
            "--application-name",
            app,
            "--deployment-group-name",
            group,
            "--deployment-config-name",
            config,
            "--service-role-arn",
            "arn:aws:iam::123456789012:role/CodeDeployServiceRole",
            "--deployment-style",
            "deploymentType=BLUE_GREEN,deploymentOption=WITH_TRAFFIC_CONTROL",
            "--auto-rollback-configuration",
            "enabled=true,events=DEPLOYMENT_FAILURE,DEPLOYMENT_STOP_ON_ALARM,DEPLOYMENT_STOP_ON_REQUEST",
            "--alarm-configuration",
            &alarm_config,
        ])
        .await;
    }

    /// CreateDeployment in `app`/`group` with `appspec`; the deployment id.
    pub(crate) async fn create_deployment(&self, app: &str, group: &str, appspec: &str) -> String {
        let out = self
            .deploy(&[
                "create-deployment",
                "--application-name",
                app,
                "--deployment-group-name",
                group,
                "--revision",
                &revision(appspec),
            ])
            .await;
        out["deploymentId"]
            .as_str()
            .expect("deploymentId")
            .to_owned()
    }

    /// GetDeployment's `deploymentInfo`.
    pub(crate) async fn get_deployment(&self, id: &str) -> Value {
        self.deploy(&["get-deployment", "--deployment-id", id])
            .await["deploymentInfo"]
            .clone()
    }
}

/// The lab's event log (`dir/events.jsonl`), one JSON object per line.
pub(crate) fn events(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Waits (bounded) until the deployment is complete.
pub(crate) async fn finished(lab: &Lab, id: &str) -> Arc<RunningDeployment> {
    let running = lab
        .deployments
        .deployment(id)
        .expect("the deployment exists");
    tokio::time::timeout(Duration::from_secs(120), running.finished())
        .await
        .unwrap_or_else(|_| panic!("{id} did not finish: {:?}", running.deployment().phase()));
    running
}

/// Invokes `hello:live` until `stop` is set; invocations per executed version, and failures.
pub(crate) async fn traffic(
    lab: &Lab,
    stop: Arc<AtomicBool>,
) -> (BTreeMap<String, u64>, Vec<String>) {
    let invoker = lab.registry.invoker("hello", Some("live"));
    let (mut counts, mut failures) = (BTreeMap::new(), Vec::new());
    while !stop.load(Ordering::SeqCst) {
        let request = InvokeRequest {
            payload: Bytes::from_static(br#"{"ping":1}"#),
            ..InvokeRequest::default()
        };
        match invoker.invoke(request).await {
            Ok(r) if matches!(r.outcome, InvokeOutcome::Success { .. }) => {
                *counts.entry(r.executed_version).or_insert(0) += 1;
            }
            Ok(r) => failures.push(format!("{:?}", r.outcome)),
            Err(e) => failures.push(e.to_string()),
        }
    }
    (counts, failures)
}

/// The alias serves `version` only: no routing config, or an empty one.
pub(crate) fn serves_only(alias: &Value, version: &str) {
    assert_eq!(alias["FunctionVersion"], version, "{alias}");
    let weights = &alias["RoutingConfig"]["AdditionalVersionWeights"];
    assert!(
        weights.is_null() || weights.as_object().is_some_and(|w| w.is_empty()),
        "{alias}"
    );
}
