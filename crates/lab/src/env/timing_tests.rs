//! The Init breakdown of a real environment: the test plays the extension and the runtime over
//! HTTP (the launched processes only sleep), so it knows when each call was made.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::env::{Environment, FunctionConfig, LogSink};

fn sleeper(path: &std::path::Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, "#!/bin/sh\nexec sleep 600\n").unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

async fn call(method: &str, url: String, headers: &[(&str, &str)], body: &'static str) -> String {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = hyper::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = client
        .request(req.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{method}: {}", resp.status());
    resp.headers()
        .get("lambda-extension-identifier")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn init_breakdown_splits_a_real_init_between_lab_and_processes() {
    let dir = tempfile::tempdir().unwrap();
    let code = dir.path().join("code");
    let layer = dir.path().join("layer");
    sleeper(&code.join("bootstrap"));
    sleeper(&layer.join("extensions").join("ext1"));
    let mut cfg = FunctionConfig::new("f", "1", &code, "h");
    cfg.layer_dirs = vec![layer];
    let resolved = Arc::new(cfg.validate().unwrap());
    let t0 = Instant::now();
    let mut env = Environment::launch(
        Arc::new(cfg),
        resolved,
        Arc::new(LogSink::new("g", 10, None)),
    )
    .await
    .unwrap();
    let launched = Instant::now();
    let base = format!("http://{}", env.runtime_api());
    let player = async {
        let registered_at = Instant::now();
        let id = call(
            "POST",
            format!("{base}/2020-01-01/extension/register"),
            &[("Lambda-Extension-Name", "ext1")],
            r#"{"events":["INVOKE"]}"#,
        )
        .await;
        // the long polls stay open; Init ends when both are waiting
        let ext_next = format!("{base}/2020-01-01/extension/event/next");
        let rt_next = format!("{base}/2018-06-01/runtime/invocation/next");
        tokio::spawn(async move {
            call("GET", ext_next, &[("Lambda-Extension-Identifier", &id)], "").await
        });
        tokio::spawn(async move { call("GET", rt_next, &[], "").await });
        registered_at
    };
    let (init, registered_at) = tokio::join!(env.init(), player);
    init.unwrap();
    let wall = t0.elapsed();
    let b = env
        .init_breakdown()
        .expect("a Ready environment has a breakdown");
    let parts = b.setup + b.extensions + b.runtime_spawn + b.processes_to_next + b.ready;
    assert_eq!(parts, b.total, "{b:?}");
    assert!(b.total <= wall, "{b:?} within {wall:?}");
    assert!(b.total >= env.init_duration().unwrap(), "{b:?}");
    assert!(b.setup <= launched - t0, "setup ends inside launch: {b:?}");
    // the extension phase lasts at least from the end of launch to our register call
    assert!(b.extensions >= registered_at - launched, "{b:?}");
    assert_eq!(b.lab(), b.setup + b.runtime_spawn + b.ready);
    assert!(
        b.spawn > std::time::Duration::ZERO && b.spawn <= b.lab(),
        "{b:?}"
    );
}
