//! Lambda's defaults in the lab as `rollcall-lab serve` runs it (in process, real pools running
//! `lab-testfn`): without `--concurrency` a function gets Lambda's unreserved account
//! concurrency (1,000), so a burst of concurrent requests cold-starts environments instead of
//! being throttled.

use bytes::Bytes;
use lab::invoke::{InvokeRequest, Invoker};
use lab::lab::Lab;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_concurrency_a_burst_is_not_throttled() {
    let dir = tempfile::tempdir().unwrap();
    let code = dir.path().join("v1");
    std::fs::create_dir_all(&code).unwrap();
    std::fs::copy(
        test_support::executable(&["lab-testfn"], "lab-testfn"),
        code.join("bootstrap"),
    )
    .unwrap();
    let version = format!("1={}", code.display());
    let config = lab::cli::serve_config(&["--version", &version]).unwrap();
    let lab = Lab::start(&config).await.unwrap();
    // 12 invocations at once, each holding its environment for 2 s: more than the old default
    // of 10 concurrent executions.
    let burst = 12;
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..burst {
        let pool = lab.pools["1"].clone();
        calls.spawn(async move {
            pool.invoke(InvokeRequest {
                payload: Bytes::from_static(br#"{"sleep_ms":2000}"#),
                ..Default::default()
            })
            .await
        });
    }
    let mut failed = Vec::new();
    while let Some(result) = calls.join_next().await {
        if let Err(e) = result.unwrap() {
            failed.push(e);
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {burst} failed: {failed:?}",
        failed.len()
    );
    lab.shutdown().await;
}
