//! How an external extension's end is judged. The test plays the extension and the runtime over
//! HTTP (their processes only sleep, so the test decides when each one dies):
//! - `/extension/event/next` after SHUTDOWN is a protocol error (403
//!   `Extension.InvalidExtensionState`), not a wait for an event that never comes;
//! - an extension that dies first is the cause (`Extension.Crash`), even when the runtime dies
//!   after it, as a runtime behind an extension's Runtime API proxy does.

mod env_support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use env_support::{Fixture, eventually, http, json, write_exe};
use lab::env::{Environment, LogSink, State};
use lab::invoke::{InvokeOutcome, InvokeRequest};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

type Call = JoinHandle<(u16, std::collections::BTreeMap<String, String>, Bytes)>;

/// An environment whose runtime and external extension `ext` (registered for INVOKE and
/// SHUTDOWN) are sleeping processes played by the test; Init done. Returns the base URL, the
/// extension's id and its pending `next` call.
async fn ready_env() -> (Fixture, Environment, String, String, Call) {
    let f = Fixture::empty();
    write_exe(&f.code.join("bootstrap"), "#!/bin/sh\nexec sleep 600\n");
    write_exe(
        &f.layer.join("extensions").join("ext"),
        "#!/bin/sh\nexec sleep 600\n",
    );
    let mut cfg = f.config("3");
    cfg.shutdown_budget = Duration::from_millis(600);
    let resolved = Arc::new(cfg.validate().unwrap());
    let mut env = Environment::launch(
        Arc::new(cfg),
        resolved,
        Arc::new(LogSink::new("g", 100, None)),
    )
    .await
    .unwrap();
    let base = format!("http://{}", env.runtime_api());
    let (init, (id, ext_next)) = tokio::join!(env.init(), async {
        let (s, h, _) = http(
            "POST",
            &format!("{base}/2020-01-01/extension/register"),
            &[("Lambda-Extension-Name", "ext")],
            r#"{"events":["INVOKE","SHUTDOWN"]}"#,
        )
        .await;
        assert_eq!(s, 200);
        let id = h["lambda-extension-identifier"].clone();
        let ext_next = next(&base, &id);
        let url = format!("{base}/2018-06-01/runtime/invocation/next");
        tokio::spawn(async move { http("GET", &url, &[], "").await });
        (id, ext_next)
    });
    init.unwrap();
    assert_eq!(env.state(), State::Ready);
    (f, env, base, id, ext_next)
}

fn next(base: &str, id: &str) -> Call {
    let url = format!("{base}/2020-01-01/extension/event/next");
    let id = id.to_string();
    tokio::spawn(
        async move { http("GET", &url, &[("Lambda-Extension-Identifier", &id)], "").await },
    )
}

/// SIGKILLs a process and waits until the lab has reaped it.
async fn kill_and_reap(pid: i32) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL).unwrap();
    let proc = format!("/proc/{pid}");
    eventually(Duration::from_secs(10), || {
        (!std::path::Path::new(&proc).exists()).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("process {pid} was not reaped"));
}

#[tokio::test]
async fn next_after_shutdown_is_a_protocol_error() {
    let (_f, mut env, base, id, ext_next) = ready_env().await;
    let ((), second) = tokio::join!(env.shutdown(), async {
        let (s, _, b) = ext_next.await.unwrap();
        assert_eq!(s, 200);
        let ev = json(&b);
        assert_eq!(ev["eventType"], "SHUTDOWN");
        assert_eq!(ev["shutdownReason"], "spindown");
        // The extension should flush and exit; it asks for another event instead.
        next(&base, &id).await.unwrap()
    });
    let (s, _, b) = second;
    let b = json(&b);
    assert_eq!(
        (s, b["errorType"].as_str()),
        (403, Some("Extension.InvalidExtensionState")),
        "{b}"
    );
    assert!(
        b["errorMessage"].as_str().unwrap().contains("SHUTDOWN"),
        "{b}"
    );
    assert_eq!(env.state(), State::Dead);
}

#[tokio::test]
async fn an_extension_that_dies_before_the_runtime_is_an_extension_crash() {
    let (_f, mut env, _base, _id, _ext_next) = ready_env().await;
    let pids = env.pids();
    let (runtime, extension) = (pids[0], pids[1]);
    // The extension dies, then the runtime (whose Runtime API went through it).
    kill_and_reap(extension).await;
    kill_and_reap(runtime).await;
    let (tx, rx) = oneshot::channel();
    let end = env
        .invoke(
            InvokeRequest {
                payload: Bytes::from_static(b"{}"),
                ..Default::default()
            },
            tx,
        )
        .await;
    assert!(!end.reusable);
    match rx.await.unwrap() {
        InvokeOutcome::FunctionError { error_type, body } => {
            assert_eq!(error_type, "Extension.Crash", "{body:?}");
            let message = json(&body)["errorMessage"].as_str().unwrap().to_string();
            assert!(
                message.starts_with("RequestId: ") && message.contains("Extension ext exited"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}
