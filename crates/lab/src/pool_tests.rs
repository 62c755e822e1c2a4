//! Pool behaviour that needs a real environment: the test plays the runtime over HTTP (the
//! bootstrap only records `AWS_LAMBDA_RUNTIME_API` and sleeps), so it controls when the runtime
//! answers and calls `next`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::{ConcurrencyLimit, PoolConfig, VersionPool};
use crate::env::FunctionConfig;
use crate::invoke::{InvokeOutcome, InvokeRequest, Invoker};

async fn call(method: &str, url: String, body: &'static str) -> (u16, String) {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let req = hyper::Request::builder()
        .method(method)
        .uri(url)
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    let status = resp.status().as_u16();
    let id = resp
        .headers()
        .get("lambda-runtime-aws-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let _ = resp.into_body().collect().await;
    (status, id)
}

/// Waits (bounded) until `f` holds.
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn runtime_api(file: &Path) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    text.ends_with('\n').then(|| text.trim().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_back_in_the_idle_list_has_already_freed_its_unit() {
    let dir = tempfile::tempdir().unwrap();
    let code = dir.path().join("code");
    std::fs::create_dir_all(&code).unwrap();
    let api_file = dir.path().join("api");
    let bootstrap = code.join("bootstrap");
    std::fs::write(
        &bootstrap,
        format!(
            "#!/bin/sh\necho \"$AWS_LAMBDA_RUNTIME_API\" > {}.tmp\nmv {0}.tmp {0}\nexec sleep 600\n",
            api_file.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).unwrap();
    let limit = ConcurrencyLimit::new(1);
    let mut config = PoolConfig::new(FunctionConfig::new("f", "1", &code, "h"));
    config.shared_limit = Some(limit.clone());
    let pool = Arc::new(VersionPool::new(config).unwrap());

    let invoke = |pool: &Arc<VersionPool>| {
        let pool = pool.clone();
        tokio::spawn(async move { pool.invoke(InvokeRequest::default()).await })
    };
    let mut first = Some(invoke(&pool));
    until("the runtime API address", || {
        runtime_api(&api_file).is_some()
    })
    .await;
    let base = format!(
        "http://{}/2018-06-01/runtime/invocation",
        runtime_api(&api_file).unwrap()
    );
    let next = |base: &str| tokio::spawn(call("GET", format!("{base}/next"), ""));
    let mut pending = next(&base);
    for round in 0..30 {
        let running = first.take().unwrap_or_else(|| invoke(&pool));
        let (status, id) = pending.await.unwrap();
        assert_eq!(status, 200, "round {round}");
        let (status, _) = call("POST", format!("{base}/{id}/response"), "\"ok\"").await;
        assert_eq!(status, 202, "round {round}");
        let response = running.await.unwrap().unwrap();
        assert_eq!(response.cold_start, round == 0, "round {round}");
        assert!(matches!(response.outcome, InvokeOutcome::Success { .. }));
        // the invocation ends when the runtime calls next again
        pending = next(&base);
        until("the environment back in the idle list", || {
            pool.idle_count() == 1
        })
        .await;
        assert_eq!(
            limit.in_use(),
            0,
            "round {round}: an idle environment still holds its concurrency unit"
        );
    }
    pool.shutdown().await;
    assert!(pool.process_groups().is_empty());
}
