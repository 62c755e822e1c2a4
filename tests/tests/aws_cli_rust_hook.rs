//! The Rust CodeDeploy hook (`crates/hook`, binary `rollcall-hook`) deployed as one would on AWS:
//! a `provided.al2023` function created with `aws lambda create-function` from a zip holding it
//! as `bootstrap`, named as the BeforeAllowTraffic (or AfterAllowTraffic) hook of deployments of
//! `hello:live` driven by `aws deploy`. It reads the lab's endpoints, credentials and region from
//! the standard variables the lab gives every environment, asks the lab's CodeDeploy API for the
//! deployment's target version, invokes it through the lab's Lambda API and reports the verdict.

#[allow(dead_code)]
#[path = "aws_cli_codedeploy/harness.rs"]
mod harness;

use std::io::Write;
use std::path::{Path, PathBuf};

use harness::{Aws, appspec, events, finished, hello_lab, serves_only};
use lab::lab::Lab;
use rollout::deployment::RoutingCause;
use serde_json::Value;
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

/// The hook's name (SAM's CodeDeploy role may only invoke `CodeDeployHook_*` functions).
const HOOK: &str = "CodeDeployHook_hello";

/// `rollcall-hook` zipped as `bootstrap`, in `dir/hook.zip`.
fn hook_zip(dir: &Path) -> PathBuf {
    let hook = test_support::executable(&["rollcall-hook"], "rollcall-hook");
    let mut writer = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().unix_permissions(0o755);
    writer.start_file("bootstrap", options).unwrap();
    writer.write_all(&std::fs::read(hook).unwrap()).unwrap();
    let path = dir.join("hook.zip");
    std::fs::write(&path, writer.finish().unwrap().into_inner()).unwrap();
    path
}

/// Creates the hook function through the lab's Lambda API, as on AWS.
async fn create_hook(aws: &Aws, dir: &Path) {
    let zip = format!("fileb://{}", hook_zip(dir).display());
    let created = aws
        .ok(
            "lambda",
            &[
                "create-function",
                "--function-name",
                HOOK,
                "--runtime",
                "provided.al2023",
                "--handler",
                "bootstrap",
                "--role",
                "arn:aws:iam::123456789012:role/hook",
                "--zip-file",
                &zip,
            ],
        )
        .await;
    assert_eq!(created["FunctionName"], HOOK, "{created}");
}

/// The lab (time scale 120) with the hook function and the group `hello-app`/`hello-live`
/// deploying with `config`.
async fn lab_with_hook(dir: &Path, config: &str) -> (Lab, Aws) {
    let lab = hello_lab(dir).await;
    lab.deployments.set_time_scale(120.0).unwrap();
    let aws = Aws::new(&lab);
    create_hook(&aws, dir).await;
    aws.group("hello-app", "hello-live", config, &[]).await;
    (lab, aws)
}

/// The deployment's `hookInvoked` and `hookResult` events, in order.
fn hook_events(dir: &Path, id: &str) -> Vec<Value> {
    events(dir)
        .into_iter()
        .filter(|e| {
            e["deploymentId"] == id && e["type"].as_str().is_some_and(|t| t.starts_with("hook"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_hook_passes_a_healthy_target_and_the_deployment_ends_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let (lab, aws) = lab_with_hook(
        dir.path(),
        "CodeDeployDefault.LambdaCanary10Percent5Minutes",
    )
    .await;

    let id = aws
        .create_deployment(
            "hello-app",
            "hello-live",
            &appspec("1", "2", Some(HOOK), None),
        )
        .await;
    let running = finished(&lab, &id).await;
    let info = aws.get_deployment(&id).await;
    assert_eq!(info["status"], "Succeeded", "{info}");
    serves_only(&aws.alias().await, "2");
    let shares: Vec<f64> = running
        .weight_changes()
        .iter()
        .map(|c| match c.cause {
            RoutingCause::Step { share, .. } => share,
            RoutingCause::Rollback => -1.0,
        })
        .collect();
    assert_eq!(shares, [0.1, 1.0]);
    lab.shutdown().await;

    let hooks = hook_events(dir.path(), &id);
    let kinds: Vec<&Value> = hooks.iter().map(|e| &e["type"]).collect();
    assert_eq!(kinds, ["hookInvoked", "hookResult"], "{hooks:?}");
    assert_eq!(hooks[0]["function"], HOOK, "{hooks:?}");
    assert_eq!(
        hooks[0]["lifecycleEvent"], "BeforeAllowTraffic",
        "{hooks:?}"
    );
    assert_eq!(hooks[1]["status"], "Succeeded", "{hooks:?}");
    assert_eq!(
        hooks[0]["executionId"], hooks[1]["executionId"],
        "{hooks:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_hook_fails_a_broken_target_and_the_deployment_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let (lab, aws) = lab_with_hook(dir.path(), "CodeDeployDefault.LambdaAllAtOnce").await;
    // A bad release: version 3 is `hello` with a configuration that kills it during init.
    aws.ok(
        "lambda",
        &[
            "update-function-configuration",
            "--function-name",
            "hello",
            "--environment",
            "Variables={LAB_TESTFN_INIT=exit}",
        ],
    )
    .await;
    let published = aws
        .ok("lambda", &["publish-version", "--function-name", "hello"])
        .await;
    assert_eq!(published["Version"], "3", "{published}");

    // As BeforeAllowTraffic: no traffic reaches version 3.
    let before = aws
        .create_deployment(
            "hello-app",
            "hello-live",
            &appspec("1", "3", Some(HOOK), None),
        )
        .await;
    let running = finished(&lab, &before).await;
    let info = aws.get_deployment(&before).await;
    assert_eq!(info["status"], "Failed", "{info}");
    assert_eq!(
        info["errorInformation"]["code"], "HOOK_EXECUTION_FAILURE",
        "{info}"
    );
    let message = info["errorInformation"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains(HOOK), "{info}");
    assert!(
        running.weight_changes().is_empty(),
        "{:?}",
        running.weight_changes()
    );
    serves_only(&aws.alias().await, "1");

    // As AfterAllowTraffic: all traffic went to version 3, and the failure takes it back.
    let after = aws
        .create_deployment(
            "hello-app",
            "hello-live",
            &appspec("1", "3", None, Some(HOOK)),
        )
        .await;
    let running = finished(&lab, &after).await;
    let info = aws.get_deployment(&after).await;
    assert_eq!(info["status"], "Failed", "{info}");
    let causes: Vec<RoutingCause> = running.weight_changes().iter().map(|c| c.cause).collect();
    assert_eq!(
        causes,
        [
            RoutingCause::Step {
                index: 0,
                share: 1.0
            },
            RoutingCause::Rollback
        ]
    );
    serves_only(&aws.alias().await, "1");
    lab.shutdown().await;

    for (id, lifecycle_event) in [
        (&before, "BeforeAllowTraffic"),
        (&after, "AfterAllowTraffic"),
    ] {
        let hooks = hook_events(dir.path(), id);
        let kinds: Vec<&Value> = hooks.iter().map(|e| &e["type"]).collect();
        assert_eq!(kinds, ["hookInvoked", "hookResult"], "{hooks:?}");
        assert_eq!(hooks[0]["lifecycleEvent"], lifecycle_event, "{hooks:?}");
        assert_eq!(hooks[1]["status"], "Failed", "{hooks:?}");
        // The hook reported Failed itself: the lab saw no crash or time-out to give as reason.
        assert!(hooks[1]["reason"].is_null(), "{hooks:?}");
    }
}
