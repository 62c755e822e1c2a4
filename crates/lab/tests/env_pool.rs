//! `VersionPool`: warm reuse, cold starts, throttling, idle spin-down, clean shutdown, 50
//! concurrent invocations, validation.

mod env_support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use env_support::{Fixture, eventually, json};
use lab::env::process::group_members;
use lab::invoke::{InvokeError, InvokeOutcome, InvokeRequest, Invoker};
use lab::pool::{ConcurrencyLimit, PoolConfig, PoolError, VersionPool};

fn req(payload: &str) -> InvokeRequest {
    InvokeRequest {
        payload: Bytes::from(payload.to_string()),
        ..Default::default()
    }
}

fn pid_of(o: &InvokeOutcome) -> i64 {
    match o {
        InvokeOutcome::Success { body } => json(body)["pid"].as_i64().unwrap(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn warm_environments_are_reused_and_cold_starts_flagged() {
    let f = Fixture::testfn();
    let pool = VersionPool::new(PoolConfig::new(f.config("4"))).unwrap();
    let a = pool.invoke(req(r#"{"pid":true}"#)).await.unwrap();
    assert!(a.cold_start);
    assert_eq!(a.executed_version, "4");
    // the first environment goes back to the pool once its invoke has ended
    assert!(
        eventually(Duration::from_secs(5), || (pool.idle_count() == 1)
            .then_some(()))
        .await
        .is_some()
    );
    let b = pool.invoke(req(r#"{"pid":true}"#)).await.unwrap();
    assert!(!b.cold_start);
    assert_eq!(
        pid_of(&a.outcome),
        pid_of(&b.outcome),
        "same warm environment"
    );
    pool.shutdown().await;
}

#[tokio::test]
async fn fifty_concurrent_invocations_all_succeed() {
    let f = Fixture::testfn();
    let mut cfg = PoolConfig::new(f.config("1"));
    cfg.concurrency_limit = 50;
    let pool = Arc::new(VersionPool::new(cfg).unwrap());
    let mut set = tokio::task::JoinSet::new();
    for i in 0..50 {
        let pool = pool.clone();
        set.spawn(async move { (i, pool.invoke(req(&format!(r#"{{"n":{i}}}"#))).await) });
    }
    let mut cold = 0;
    let mut seen = Vec::new();
    while let Some(r) = set.join_next().await {
        let (i, r) = r.unwrap();
        let r = r.unwrap_or_else(|e| panic!("invocation {i}: {e}"));
        cold += usize::from(r.cold_start);
        match r.outcome {
            InvokeOutcome::Success { body } => assert_eq!(json(&body)["n"], i),
            other => panic!("{other:?}"),
        }
        seen.push(i);
    }
    assert_eq!(seen.len(), 50);
    assert!((1..=50).contains(&cold), "{cold} cold starts");
    let groups = pool.process_groups();
    assert_eq!(groups.len(), cold, "one process group per environment");
    pool.shutdown().await;
    assert!(
        group_members(&groups).is_empty(),
        "processes left after shutdown"
    );
}

#[tokio::test]
async fn invocations_beyond_the_limit_are_throttled_not_queued() {
    let f = Fixture::testfn();
    let limit = ConcurrencyLimit::new(2);
    let mut cfg = PoolConfig::new(f.config("1"));
    cfg.shared_limit = Some(limit.clone());
    let pool = Arc::new(VersionPool::new(cfg).unwrap());
    let slow: Vec<_> = (0..2)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.invoke(req(r#"{"sleep_ms":1500}"#)).await })
        })
        .collect();
    assert!(
        eventually(Duration::from_secs(10), || (limit.in_use() == 2)
            .then_some(()))
        .await
        .is_some()
    );
    match pool.invoke(req("{}")).await {
        Err(InvokeError::Throttled(msg)) => {
            assert!(msg.contains("ReservedFunctionConcurrentInvocationLimitExceeded"))
        }
        other => panic!("expected a throttle, got {other:?}"),
    }
    for s in slow {
        assert!(matches!(
            s.await.unwrap().unwrap().outcome,
            InvokeOutcome::Success { .. }
        ));
    }
    assert!(
        eventually(Duration::from_secs(5), || (limit.in_use() == 0)
            .then_some(()))
        .await
        .is_some()
    );
    assert!(pool.invoke(req("{}")).await.is_ok(), "capacity is back");
    let stats = pool.stats();
    assert_eq!(
        (stats.invocations, stats.cold_starts, stats.throttles),
        (3, 2, 1),
        "{stats}"
    );
    pool.shutdown().await;
}

#[tokio::test]
async fn idle_environments_are_spun_down_after_the_idle_timeout() {
    let f = Fixture::testfn();
    let mut cfg = PoolConfig::new(f.config("1"));
    cfg.idle_timeout = Duration::from_millis(200);
    let pool = VersionPool::new(cfg).unwrap();
    let r = pool.invoke(req(r#"{"pid":true}"#)).await.unwrap();
    let pid = pid_of(&r.outcome) as i32;
    let gone = eventually(Duration::from_secs(10), || {
        (pool.idle_count() == 0
            && pool.process_groups().is_empty()
            && group_members(&[pid]).is_empty())
        .then_some(())
    })
    .await;
    assert!(gone.is_some(), "idle environment still alive");
    let again = pool.invoke(req("{}")).await.unwrap();
    assert!(
        again.cold_start,
        "after spin-down the next invocation is cold"
    );
    pool.shutdown().await;
}

#[tokio::test]
async fn shutdown_of_an_idle_pool_leaves_no_process_behind() {
    let f = Fixture::testfn();
    let _out = f.with_extension("tracker");
    let mut cfg = PoolConfig::new(f.config("1"));
    cfg.function.env_vars.insert(
        "LAB_TESTEXT_OUT".into(),
        f.dir.path().join("t.jsonl").display().to_string(),
    );
    let pool = Arc::new(VersionPool::new(cfg).unwrap());
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.invoke(req(r#"{"sleep_ms":200}"#)).await })
        })
        .collect();
    for c in calls {
        c.await.unwrap().unwrap();
    }
    assert!(
        eventually(Duration::from_secs(5), || (pool.idle_count() >= 1)
            .then_some(()))
        .await
        .is_some()
    );
    let groups = pool.process_groups();
    assert!(!groups.is_empty());
    assert!(
        !group_members(&groups).is_empty(),
        "environments are alive before shutdown"
    );
    pool.shutdown().await;
    assert!(
        group_members(&groups).is_empty(),
        "processes left: {:?}",
        group_members(&groups)
    );
    assert!(pool.process_groups().is_empty());
    assert!(matches!(
        pool.invoke(req("{}")).await,
        Err(InvokeError::Service { status: 503, .. })
    ));
}

#[tokio::test]
async fn init_failure_reaches_the_caller_as_a_function_error() {
    let f = Fixture::testfn();
    let mut cfg = PoolConfig::new(f.config("2"));
    cfg.function
        .env_vars
        .insert("LAB_TESTFN_INIT".into(), "exit".into());
    let pool = VersionPool::new(cfg).unwrap();
    let r = pool.invoke(req("{}")).await.unwrap();
    assert!(r.cold_start);
    match r.outcome {
        InvokeOutcome::FunctionError { error_type, .. } => {
            assert_eq!(error_type, "Runtime.ExitError")
        }
        other => panic!("{other:?}"),
    }
    assert!(pool.process_groups().is_empty());
    assert_eq!(pool.stats().init_failures, 1);
    pool.shutdown().await;
}

#[tokio::test]
async fn a_crashed_environment_is_counted_as_replaced() {
    let f = Fixture::testfn();
    let pool = VersionPool::new(PoolConfig::new(f.config("5"))).unwrap();
    let r = pool.invoke(req(r#"{"exit":3}"#)).await.unwrap();
    assert!(
        matches!(&r.outcome, InvokeOutcome::FunctionError { error_type, .. } if error_type == "Runtime.ExitError"),
        "{:?}",
        r.outcome
    );
    let replaced = eventually(Duration::from_secs(10), || {
        (pool.stats().replacements == 1).then_some(())
    })
    .await;
    assert!(replaced.is_some(), "{}", pool.stats());
    let again = pool.invoke(req("{}")).await.unwrap();
    assert!(again.cold_start, "the crashed environment was not reused");
    let stats = pool.stats();
    assert_eq!(
        (stats.invocations, stats.cold_starts, stats.replacements),
        (2, 2, 1),
        "{stats}"
    );
    pool.shutdown().await;
}

#[tokio::test]
async fn oversized_requests_and_bad_configuration_are_rejected() {
    let f = Fixture::testfn();
    let pool = VersionPool::new(PoolConfig::new(f.config("1"))).unwrap();
    let big = InvokeRequest {
        payload: Bytes::from(vec![b'x'; 6 * 1024 * 1024 + 1]),
        ..Default::default()
    };
    assert!(matches!(
        pool.invoke(big).await,
        Err(InvokeError::RequestTooLarge(_))
    ));
    pool.shutdown().await;

    let mut c = PoolConfig::new(f.config("1"));
    c.concurrency_limit = 0;
    assert_eq!(VersionPool::new(c).unwrap_err(), PoolError::ZeroConcurrency);
    let mut c = PoolConfig::new(f.config("1"));
    c.function.memory_mb = 100;
    let err = VersionPool::new(c).unwrap_err().to_string();
    assert!(
        err.contains("100 MB") && err.contains("128..=10240"),
        "{err}"
    );
    let mut c = PoolConfig::new(f.config("1"));
    c.function
        .layer_dirs
        .push(f.dir.path().join("missing-layer"));
    assert!(
        VersionPool::new(c)
            .unwrap_err()
            .to_string()
            .contains("missing-layer")
    );
}
