//! Lifecycle conformance of one execution environment with a real `lambda_runtime` function
//! (`lab-testfn`): echo, errors, crash, timeout, oversize response, init failures.

mod env_support;

use std::time::Duration;

use bytes::Bytes;
use env_support::{Fixture, json, start};
use lab::env::{Environment, LogSource, StartError, State};
use lab::invoke::{InvokeOutcome, InvokeRequest};
use serde_json::Value;
use tokio::sync::oneshot;

async fn call(env: &mut Environment, payload: &str) -> (InvokeOutcome, lab::env::InvokeEnd) {
    let (tx, rx) = oneshot::channel();
    let req = InvokeRequest {
        payload: Bytes::from(payload.to_string()),
        ..Default::default()
    };
    let end = env.invoke(req, tx).await;
    (rx.await.expect("an outcome"), end)
}

fn success(o: &InvokeOutcome) -> Value {
    match o {
        InvokeOutcome::Success { body } => json(body),
        other => panic!("expected success, got {other:?}"),
    }
}

fn alive(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test]
async fn echo_runs_and_the_environment_is_reused() {
    let f = Fixture::testfn();
    let (mut env, logs) = start(f.config("3")).await;
    assert_eq!(env.state(), State::Ready);
    let (o, end) = call(&mut env, r#"{"hello":"world"}"#).await;
    assert_eq!(success(&o), serde_json::json!({"hello": "world"}));
    assert!(end.reusable);
    assert_eq!(env.state(), State::Ready);
    let (o, _) = call(&mut env, r#"{"pid":true}"#).await;
    let pid = success(&o)["pid"].as_i64().unwrap() as i32;
    assert_eq!(
        env.pids(),
        vec![pid],
        "the runtime is the process the lab started"
    );
    let lines = logs.snapshot();
    let platform: Vec<_> = lines
        .iter()
        .filter(|l| l.source == LogSource::Platform)
        .map(|l| l.text.clone())
        .collect();
    assert!(
        platform[0].starts_with("START RequestId: ") && platform[0].ends_with("Version: 3"),
        "{platform:?}"
    );
    assert!(
        platform
            .iter()
            .any(|l| l.starts_with("REPORT RequestId: ") && l.contains("Init Duration"))
    );
    assert_eq!(
        platform
            .iter()
            .filter(|l| l.contains("Init Duration"))
            .count(),
        1,
        "init duration on the cold start only"
    );
    env.shutdown().await;
    assert_eq!(env.state(), State::Dead);
    assert!(!alive(pid));
}

#[tokio::test]
async fn the_runtime_sees_every_lambda_variable() {
    let f = Fixture::testfn();
    let mut cfg = f.config("12");
    cfg.memory_mb = 256;
    cfg.env_vars.insert("USER_VAR".into(), "u".into());
    let (mut env, _) = start(cfg).await;
    let names = [
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "_HANDLER",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "TZ",
        "PATH",
        "LANG",
        "LD_LIBRARY_PATH",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "ROLLCALL_PROXY_PORT",
        "ROLLCALL_TELEMETRY_PORT",
        "ROLLCALL_LAB_OPT",
        "USER_VAR",
    ];
    let (o, _) = call(&mut env, &serde_json::json!({ "env": names }).to_string()).await;
    let v = success(&o);
    for n in names {
        assert!(v[n].is_string(), "{n} not set: {v}");
    }
    assert_eq!(v["AWS_LAMBDA_FUNCTION_VERSION"], "12");
    assert_eq!(v["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
    assert_eq!(v["AWS_LAMBDA_RUNTIME_API"], env.runtime_api().to_string());
    assert_eq!(v["AWS_LAMBDA_INITIALIZATION_TYPE"], "on-demand");
    assert_eq!(v["AWS_LAMBDA_LOG_STREAM_NAME"], env.log_stream());
    let (proxy, telemetry) = env.extension_ports();
    assert_eq!(v["ROLLCALL_PROXY_PORT"], proxy.to_string());
    assert_eq!(v["ROLLCALL_TELEMETRY_PORT"], telemetry.to_string());
    env.shutdown().await;
}

#[tokio::test]
async fn a_function_error_is_returned_with_the_normalised_type_and_the_environment_stays() {
    let f = Fixture::testfn();
    let (mut env, _) = start(f.config("1")).await;
    let (o, end) = call(&mut env, r#"{"error":"boom"}"#).await;
    match o {
        InvokeOutcome::FunctionError { error_type, body } => {
            // lambda_runtime posts `Lambda-Runtime-Function-Error-Type: unhandled`; RAPID normalises it.
            assert_eq!(error_type, "Runtime.Unknown");
            assert_eq!(json(&body)["errorMessage"], "boom");
        }
        other => panic!("{other:?}"),
    }
    assert!(end.reusable);
    let (o, _) = call(&mut env, r#"{"again":1}"#).await;
    assert_eq!(success(&o)["again"], 1);
    env.shutdown().await;
}

#[tokio::test]
async fn a_runtime_crash_is_an_exit_error_and_kills_the_environment() {
    let f = Fixture::testfn();
    let (mut env, _) = start(f.config("1")).await;
    let pids = env.pids();
    let (o, end) = call(&mut env, r#"{"exit":3}"#).await;
    match o {
        InvokeOutcome::FunctionError { error_type, body } => {
            assert_eq!(error_type, "Runtime.ExitError");
            let msg = json(&body)["errorMessage"].as_str().unwrap().to_string();
            assert!(
                msg.contains("Runtime exited with error: exit status 3"),
                "{msg}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!end.reusable);
    assert_eq!(env.state(), State::Dead);
    assert!(pids.iter().all(|p| !alive(*p)));
}

#[tokio::test]
async fn a_timeout_kills_the_environment_with_sandbox_timedout() {
    let f = Fixture::testfn();
    let mut cfg = f.config("1");
    cfg.timeout = Duration::from_secs(1);
    let (mut env, logs) = start(cfg).await;
    let pids = env.pids();
    let (o, end) = call(&mut env, r#"{"sleep_ms":30000}"#).await;
    match o {
        InvokeOutcome::FunctionError { error_type, body } => {
            assert_eq!(error_type, "Sandbox.Timedout");
            let msg = json(&body)["errorMessage"].as_str().unwrap().to_string();
            assert!(msg.contains("Task timed out after 1.00 seconds"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!end.reusable);
    assert_eq!(env.state(), State::Dead);
    assert!(
        pids.iter().all(|p| !alive(*p)),
        "the timed-out runtime is killed"
    );
    assert!(
        logs.snapshot()
            .iter()
            .any(|l| l.text.contains("Task timed out after 1.00 seconds"))
    );
}

#[tokio::test]
async fn a_response_over_6_mb_fails_but_the_environment_keeps_serving() {
    let f = Fixture::testfn();
    let (mut env, _) = start(f.config("1")).await;
    let (o, end) = call(&mut env, r#"{"huge_bytes":7000000}"#).await;
    match o {
        InvokeOutcome::FunctionError { error_type, body } => {
            assert_eq!(error_type, "Function.ResponseSizeTooLarge");
            assert_eq!(json(&body)["errorType"], "Function.ResponseSizeTooLarge");
        }
        other => panic!("{other:?}"),
    }
    assert!(end.reusable, "the runtime got 413 and called next again");
    let (o, _) = call(&mut env, r#"{"huge_bytes":1000}"#).await;
    assert_eq!(success(&o).as_str().unwrap().len(), 1000);
    env.shutdown().await;
}

async fn start_err(cfg: lab::env::FunctionConfig) -> lab::env::shared::PostedError {
    let logs = std::sync::Arc::new(lab::env::LogSink::new("g", 100, None));
    let resolved = std::sync::Arc::new(cfg.validate().unwrap());
    match Environment::start(std::sync::Arc::new(cfg), resolved, logs).await {
        Err(StartError::Init(e)) => e,
        Err(e) => panic!("unexpected {e}"),
        Ok(_) => panic!("init should fail"),
    }
}

#[tokio::test]
async fn a_runtime_exiting_during_init_is_an_init_exit_error() {
    let f = Fixture::testfn();
    let mut cfg = f.config("1");
    cfg.env_vars.insert("LAB_TESTFN_INIT".into(), "exit".into());
    let e = start_err(cfg).await;
    assert_eq!(e.error_type, "Runtime.ExitError");
    assert!(
        json(&e.body)["errorMessage"]
            .as_str()
            .unwrap()
            .contains("exit status 3")
    );
}

#[tokio::test]
async fn init_over_the_limit_times_out() {
    let f = Fixture::testfn();
    let mut cfg = f.config("1");
    cfg.init_timeout = Duration::from_millis(500);
    cfg.env_vars.insert("LAB_TESTFN_INIT".into(), "hang".into());
    let e = start_err(cfg).await;
    assert_eq!(e.error_type, "Sandbox.Timedout");
}

#[tokio::test]
async fn function_output_is_captured_line_by_line() {
    let f = Fixture::testfn();
    let (mut env, logs) = start(f.config("1")).await;
    let (o, _) = call(
        &mut env,
        r#"{"print":["first line","second line","{not json"]}"#,
    )
    .await;
    assert_eq!(success(&o)["printed"], 3);
    let fn_lines = env_support::eventually(Duration::from_secs(5), || {
        let l: Vec<_> = logs
            .snapshot()
            .into_iter()
            .filter(|l| l.source == LogSource::Function)
            .map(|l| l.text)
            .collect();
        (l.iter()
            .filter(|t| ["first line", "second line", "{not json"].contains(&t.as_str()))
            .count()
            == 3)
            .then_some(l)
    })
    .await;
    assert!(fn_lines.is_some(), "{:?}", logs.snapshot());
    assert!(logs.snapshot().iter().all(|l| l.stream == env.log_stream()));
    env.shutdown().await;
}

#[tokio::test]
async fn processes_forked_by_the_runtime_die_with_the_environment() {
    let f = Fixture::empty();
    let bin = env_support::fixture_bin("lab-testfn");
    // the bootstrap leaves a background child behind, in the runtime's process group
    env_support::write_exe(
        &f.code.join("bootstrap"),
        &format!("#!/bin/sh\nsleep 600 &\nexec {}\n", bin.display()),
    );
    let (mut env, _) = start(f.config("1")).await;
    let groups = env.pids();
    let members = lab::env::process::group_members(&groups);
    assert_eq!(
        members.len(),
        2,
        "runtime and its forked sleep: {members:?}"
    );
    let (o, _) = call(&mut env, r#"{"ok":1}"#).await;
    assert_eq!(success(&o)["ok"], 1);
    env.shutdown().await;
    assert!(
        lab::env::process::group_members(&groups).is_empty(),
        "orphans left: {:?}",
        lab::env::process::group_members(&groups)
    );
}
