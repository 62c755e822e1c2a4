//! External extensions in the lab, with the `lambda-extension` fixture (`lab-testext`): register,
//! INVOKE/SHUTDOWN events with correct deadlines, invoke completion waiting for extensions, and
//! Telemetry API batches that the crate parses (zero rejected batches).

mod env_support;

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use env_support::{Fixture, ext_lines, json, start};
use lab::env::{Environment, StartError, State};
use lab::invoke::{InvokeOutcome, InvokeRequest};
use serde_json::Value;
use tokio::sync::oneshot;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

async fn call(env: &mut Environment, payload: &str) -> Value {
    let (tx, rx) = oneshot::channel();
    let req = InvokeRequest {
        payload: Bytes::from(payload.to_string()),
        ..Default::default()
    };
    env.invoke(req, tx).await;
    match rx.await.unwrap() {
        InvokeOutcome::Success { body } => json(&body),
        other => panic!("{other:?}"),
    }
}

fn kinds<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["kind"] == kind).collect()
}

fn telemetry_records(lines: &[Value]) -> Vec<Value> {
    kinds(lines, "telemetry")
        .into_iter()
        .flat_map(|l| l["records"].as_array().cloned().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn extension_gets_invoke_and_shutdown_with_correct_deadlines_and_telemetry() {
    let f = Fixture::testfn();
    let out = f.with_extension("recorder");
    let mut cfg = f.config("5");
    cfg.timeout = Duration::from_secs(7);
    cfg.env_vars
        .insert("LAB_TESTEXT_OUT".into(), out.display().to_string());
    let (mut env, _) = start(cfg).await;
    let stats = env.delivery_stats();

    let before = now_ms();
    let ctx = call(&mut env, r#"{"context":true}"#).await;
    let after = now_ms();
    let deadline = ctx["deadlineMs"].as_u64().unwrap();
    assert!(
        deadline >= before + 7000 && deadline <= after + 7000,
        "runtime deadline {deadline}"
    );
    call(&mut env, r#"{"print":["from the function"]}"#).await;
    env.shutdown().await;
    assert_eq!(env.state(), State::Dead);

    let lines = ext_lines(&out);
    let reg = kinds(&lines, "registered");
    assert_eq!(reg.len(), 1, "{lines:?}");
    assert_eq!(reg[0]["functionVersion"], "5");
    assert_eq!(reg[0]["functionName"], "labfn");

    let invokes = kinds(&lines, "invoke");
    assert_eq!(invokes.len(), 2, "{lines:?}");
    assert_eq!(invokes[0]["requestId"], ctx["requestId"]);
    assert_eq!(
        invokes[0]["deadlineMs"].as_u64(),
        Some(deadline),
        "extension and runtime share the deadline"
    );
    assert_eq!(
        invokes[0]["invokedFunctionArn"],
        "arn:aws:lambda:us-east-1:123456789012:function:labfn:5"
    );
    assert_eq!(invokes[0]["invokedFunctionArn"], ctx["invokedFunctionArn"]);
    assert_eq!(invokes[0]["traceValue"], ctx["traceId"]);

    let shutdowns = kinds(&lines, "shutdown");
    assert_eq!(shutdowns.len(), 1, "{lines:?}");
    assert_eq!(shutdowns[0]["reason"], "spindown");
    let sd = shutdowns[0]["deadlineMs"].as_u64().unwrap();
    let seen = shutdowns[0]["nowMs"].as_u64().unwrap();
    assert!(
        sd > seen && sd <= seen + 2000,
        "shutdown deadline {sd} vs {seen}"
    );

    let records = telemetry_records(&lines);
    let types: Vec<&str> = records.iter().filter_map(|r| r["type"].as_str()).collect();
    for t in [
        "platform.initStart",
        "platform.initRuntimeDone",
        "platform.initReport",
        "platform.extension",
        "platform.telemetrySubscription",
        "platform.start",
        "platform.runtimeDone",
        "platform.report",
        "function",
    ] {
        assert!(types.contains(&t), "{t} missing from {types:?}");
    }
    let start = records
        .iter()
        .find(|r| r["type"] == "platform.start")
        .unwrap();
    assert_eq!(start["record"]["version"], "5");
    assert_eq!(start["record"]["requestId"], ctx["requestId"]);
    let reports: Vec<_> = records
        .iter()
        .filter(|r| r["type"] == "platform.report")
        .collect();
    assert_eq!(reports.len(), 2);
    let m = &reports[0]["record"]["metrics"];
    assert_eq!(m["memorySizeMB"], 128);
    assert!(m["maxMemoryUsedMB"].as_u64().unwrap() >= 1);
    assert!(m["billedDurationMs"].as_u64().unwrap() >= 1);
    assert!(
        m["initDurationMs"].as_f64().unwrap() > 0.0,
        "cold start carries initDurationMs"
    );
    assert!(
        reports[1]["record"]["metrics"]
            .get("initDurationMs")
            .is_none()
    );
    assert_eq!(reports[0]["record"]["status"], "success");
    let done = records
        .iter()
        .find(|r| r["type"] == "platform.runtimeDone")
        .unwrap();
    let spans: Vec<&str> = done["record"]["spans"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(spans, ["responseLatency", "responseDuration"]);
    assert!(
        records
            .iter()
            .any(|r| r["type"] == "function" && r["record"] == "from the function")
    );

    let (accepted, rejected, failed) = stats.snapshot();
    assert!(accepted >= 1);
    assert_eq!(rejected, 0, "lambda-extension rejected a batch");
    assert_eq!(failed, 0);
    assert_eq!(
        stats.records_accepted.load(Ordering::Relaxed) as usize,
        records.len()
    );
}

#[tokio::test]
async fn a_slow_extension_delays_the_end_of_the_invoke_but_not_the_response() {
    let f = Fixture::testfn();
    let out = f.with_extension("slow");
    let mut cfg = f.config("1");
    cfg.env_vars
        .insert("LAB_TESTEXT_OUT".into(), out.display().to_string());
    cfg.env_vars
        .insert("LAB_TESTEXT_INVOKE_DELAY_MS".into(), "1500".into());
    let (mut env, _) = start(cfg).await;
    let (tx, rx) = oneshot::channel();
    let req = InvokeRequest {
        payload: Bytes::from_static(b"{\"x\":1}"),
        ..Default::default()
    };
    let mut invoke = Box::pin(env.invoke(req, tx));
    let outcome = tokio::select! {
        _ = &mut invoke => panic!("the invoke ended before the caller got the response"),
        o = rx => o.unwrap(),
    };
    let responded = now_ms();
    assert_eq!(
        outcome,
        InvokeOutcome::Success {
            body: Bytes::from_static(b"{\"x\":1}")
        }
    );
    let end = invoke.await;
    let ended = now_ms();
    assert!(end.reusable);
    let inv = ext_lines(&out)
        .into_iter()
        .find(|l| l["kind"] == "invoke")
        .expect("extension saw INVOKE");
    let ext_got = inv["nowMs"].as_u64().unwrap();
    assert!(
        responded < ext_got + 1500,
        "the response did not wait for the extension"
    );
    assert!(
        ended >= ext_got + 1500,
        "the invoke ended only after the extension called next"
    );
    env.shutdown().await;
}

#[tokio::test]
async fn a_timeout_sends_shutdown_with_reason_timeout() {
    let f = Fixture::testfn();
    let out = f.with_extension("watcher");
    let mut cfg = f.config("1");
    cfg.timeout = Duration::from_secs(1);
    cfg.env_vars
        .insert("LAB_TESTEXT_OUT".into(), out.display().to_string());
    let (mut env, _) = start(cfg).await;
    let stats = env.delivery_stats();
    let (tx, rx) = oneshot::channel();
    let req = InvokeRequest {
        payload: Bytes::from_static(br#"{"sleep_ms":20000}"#),
        ..Default::default()
    };
    let end = env.invoke(req, tx).await;
    assert!(!end.reusable);
    assert!(
        matches!(rx.await.unwrap(), InvokeOutcome::FunctionError { ref error_type, .. } if error_type == "Sandbox.Timedout")
    );
    let lines = ext_lines(&out);
    let sd = kinds(&lines, "shutdown");
    assert_eq!(sd.len(), 1, "{lines:?}");
    assert_eq!(sd[0]["reason"], "timeout");
    let records = telemetry_records(&lines);
    let done = records
        .iter()
        .find(|r| r["type"] == "platform.runtimeDone")
        .expect("runtimeDone delivered before SHUTDOWN");
    assert_eq!(done["record"]["status"], "timeout");
    assert_eq!(done["record"]["errorType"], "Sandbox.Timedout");
    let report = records
        .iter()
        .find(|r| r["type"] == "platform.report")
        .expect("report delivered");
    assert_eq!(report["record"]["status"], "timeout");
    assert_eq!(stats.snapshot().1, 0);
}

#[tokio::test]
async fn an_extension_crashing_during_init_fails_init() {
    let f = Fixture::testfn();
    f.with_extension("broken");
    let mut cfg = f.config("1");
    cfg.env_vars
        .insert("LAB_TESTEXT_FAIL_INIT".into(), "1".into());
    let logs = std::sync::Arc::new(lab::env::LogSink::new("g", 100, None));
    let resolved = std::sync::Arc::new(cfg.validate().unwrap());
    match Environment::start(std::sync::Arc::new(cfg), resolved, logs.clone()).await {
        Err(StartError::Init(e)) => {
            assert_eq!(e.error_type, "Extension.Crash");
            assert!(
                json(&e.body)["errorMessage"]
                    .as_str()
                    .unwrap()
                    .contains("broken")
            );
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("init should fail"),
    }
    assert!(
        logs.snapshot()
            .iter()
            .any(|l| l.text.contains("failing init on purpose"))
    );
}
