//! A function run through a runtime command instead of `bootstrap` (the role of a managed
//! runtime's `/var/runtime/bootstrap`): a plain-Python custom runtime started as
//! `python3 runtime.py ARG`, with no `bootstrap` anywhere.

mod env_support;

use std::time::Duration;

use bytes::Bytes;
use env_support::{Fixture, json, start};
use lab::invoke::{InvokeOutcome, InvokeRequest};
use tokio::sync::oneshot;

fn fixture() -> Fixture {
    let f = Fixture::empty();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/runtime_command/runtime.py");
    std::fs::copy(src, f.code.join("runtime.py")).unwrap();
    f
}

#[tokio::test]
async fn runtime_command_runs_a_python_script_without_bootstrap() {
    let f = fixture();
    assert!(!f.code.join("bootstrap").exists());
    let mut cfg = f.config("3");
    cfg.handler = "handler.fn".into();
    cfg.timeout = Duration::from_secs(10);
    cfg.command = Some(vec![
        "python3".into(),
        "runtime.py".into(),
        "lab-arg".into(),
    ]);
    let (mut env, _logs) = start(cfg).await;

    let (tx, rx) = oneshot::channel();
    env.invoke(
        InvokeRequest {
            payload: Bytes::from_static(br#"{"n":7}"#),
            ..Default::default()
        },
        tx,
    )
    .await;
    let v = match rx.await.unwrap() {
        InvokeOutcome::Success { body } => json(&body),
        other => panic!("{other:?}"),
    };
    assert_eq!(v["echo"], serde_json::json!({"n": 7}));
    assert_eq!(v["argv"], serde_json::json!(["runtime.py", "lab-arg"]));
    assert_eq!(v["handler"], "handler.fn");
    assert_eq!(
        std::path::Path::new(v["cwd"].as_str().unwrap()),
        f.code.canonicalize().unwrap()
    );
}

#[test]
fn without_a_command_a_package_without_bootstrap_is_refused() {
    let f = fixture();
    let err = f.config("1").validate().unwrap_err().to_string();
    assert!(err.contains("no bootstrap"), "{err}");
}

#[test]
fn a_command_path_that_does_not_exist_is_refused_naming_it() {
    let f = fixture();
    let mut cfg = f.config("1");
    cfg.command = Some(vec!["./bin/missing".into()]);
    let err = cfg.validate().unwrap_err().to_string();
    assert!(
        err.contains("bin/missing") && err.contains("fix the path"),
        "{err}"
    );
    cfg.command = Some(vec![]);
    let err = cfg.validate().unwrap_err().to_string();
    assert!(err.contains("runtime command is empty"), "{err}");
}
