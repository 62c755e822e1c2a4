//! Layers: the layer's `bootstrap` when the package has none, `AWS_LAMBDA_EXEC_WRAPPER` with
//! `/opt/` mapped to the layer, and `ROLLCALL_LAB_OPT`.

mod env_support;

use bytes::Bytes;
use env_support::{Fixture, fixture_bin, json, start, write_exe};
use lab::invoke::{InvokeOutcome, InvokeRequest};
use tokio::sync::oneshot;

fn layered(honour_wrapper: bool) -> (Fixture, lab::env::FunctionConfig) {
    let f = Fixture::empty();
    std::os::unix::fs::symlink(fixture_bin("lab-testfn"), f.code.join("app")).unwrap();
    // like the Rollcall layer: /opt/bootstrap execs $LAMBDA_TASK_ROOT/$_HANDLER
    write_exe(
        &f.layer.join("bootstrap"),
        "#!/bin/sh\nexec \"$LAMBDA_TASK_ROOT/$_HANDLER\"\n",
    );
    write_exe(
        &f.layer.join("wrapper"),
        "#!/bin/sh\nexport WRAPPED_BY=\"$ROLLCALL_LAB_OPT/wrapper\"\nexport WRAPPED_ARG=\"$1\"\nexec \"$@\"\n",
    );
    let mut cfg = f.config("1");
    cfg.handler = "app".into();
    cfg.honour_exec_wrapper = honour_wrapper;
    cfg.env_vars
        .insert("AWS_LAMBDA_EXEC_WRAPPER".into(), "/opt/wrapper".into());
    (f, cfg)
}

async fn env_of(cfg: lab::env::FunctionConfig) -> serde_json::Value {
    let (mut env, _) = start(cfg).await;
    let (tx, rx) = oneshot::channel();
    let payload = Bytes::from_static(br#"{"env":["WRAPPED_BY","WRAPPED_ARG","ROLLCALL_LAB_OPT"]}"#);
    env.invoke(
        InvokeRequest {
            payload,
            ..Default::default()
        },
        tx,
    )
    .await;
    env.shutdown().await;
    match rx.await.unwrap() {
        InvokeOutcome::Success { body } => json(&body),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_exec_wrapper_runs_from_the_layer_with_the_bootstrap_as_argument() {
    let (f, cfg) = layered(true);
    let v = env_of(cfg).await;
    assert_eq!(v["ROLLCALL_LAB_OPT"], f.layer.display().to_string());
    assert_eq!(
        v["WRAPPED_BY"],
        f.layer.join("wrapper").display().to_string()
    );
    assert_eq!(
        v["WRAPPED_ARG"],
        f.layer.join("bootstrap").display().to_string()
    );
}

#[tokio::test]
async fn os_only_runtimes_ignore_the_wrapper() {
    let (_f, cfg) = layered(false);
    let v = env_of(cfg).await;
    assert!(v["WRAPPED_BY"].is_null(), "{v}");
}
