//! EMF metrics from the extension in the lab, for a scripted sequence of invocations with
//! failures and a timeout (`lab-testfn` behind the proxy through `/opt/bootstrap`).

mod support;

use protocol::emf::Document;
use support::*;

/// What a scripted run left behind.
struct Run {
    docs: Vec<serde_json::Value>,
    logs: std::sync::Arc<lab::env::LogSink>,
}

/// A lab with version 4 of `emf-fn` (`lab-testfn` shipped as `shipped_as`, the layer attached,
/// a 1 s timeout, metrics flushed only on SHUTDOWN so that the counts are all in the final
/// documents). Shipped as `bootstrap`, the function bypasses the layer's `/opt/bootstrap`.
async fn emf_lab(dir: &std::path::Path, shipped_as: &str) -> lab::lab::Lab {
    let layer = rollcall_layer(dir);
    let code = code_dir(dir, "code", &function_binary("lab-testfn"), shipped_as);
    let version = format!("4={}", code.display());
    let layer_arg = layer.display().to_string();
    let mut args = vec![
        "--function",
        "emf-fn",
        "--version",
        &version,
        "--layer",
        &layer_arg,
        "--timeout",
        "1",
        "--env",
        "ROLLCALL_FLUSH_INTERVAL=1h",
    ];
    if shipped_as != "bootstrap" {
        args.extend(["--handler", shipped_as]);
    }
    start_lab(&args).await
}

/// Runs the script (ok, errors, a timeout, a plain string) against version 4 of `emf-fn` behind
/// the proxy, then shuts the lab down (SHUTDOWN flushes the metrics).
async fn run_script() -> Run {
    let dir = tempfile::tempdir().unwrap();
    let lab = emf_lab(dir.path(), "lab-testfn").await;
    let script: [(&[u8], &str); 8] = [
        (br#"{"a":1}"#, "ok"),
        (br#"{"error":"boom"}"#, "error"),
        (br#"{"a":2}"#, "ok"),
        (br#"{"error":"bang"}"#, "error"),
        (br#"{"a":3}"#, "ok"),
        (br#"{"sleep_ms":5000}"#, "timeout"),
        (br#"{"a":4}"#, "ok"),
        (br#""just a string""#, "ok"),
    ];
    for (payload, expect) in script {
        let reply = invoke(&lab, "emf-fn", "4", payload).await;
        assert_eq!(reply.status, 200);
        let function_error = reply.header("x-amz-function-error");
        match expect {
            "ok" => {
                assert_eq!(function_error, None, "{}", String::from_utf8_lossy(payload));
                assert_eq!(
                    reply.body, payload,
                    "a non-HTTP event's response is unchanged"
                );
            }
            _ => assert!(function_error.is_some(), "{expect}: {:?}", reply.body),
        }
    }
    let logs = lab.pools["4"].logs();
    lab.shutdown().await;

    let docs = emf_documents(&logs);
    assert!(!docs.is_empty(), "the extension printed EMF documents");
    for doc in &docs {
        let parsed: Document = serde_json::from_value(doc.clone()).expect("an EMF document");
        parsed.check_limits().expect("within EMF limits");
        let directive = &parsed.aws.cloud_watch_metrics[0];
        assert_eq!(directive.namespace, "Rollcall");
        assert_eq!(directive.dimensions, vec![vec!["FunctionName", "Version"]]);
        assert_eq!(doc["FunctionName"], "emf-fn");
        assert_eq!(doc["Version"], "4");
    }
    Run { docs, logs }
}

fn latency_values(docs: &[serde_json::Value]) -> usize {
    docs.iter()
        .filter_map(|d| d["Latency"].as_array())
        .map(Vec::len)
        .sum()
}

#[tokio::test]
async fn emf_counts_invocations_errors_timeouts_and_cold_starts() {
    let Run { docs, logs } = run_script().await;
    assert_eq!(total(&docs, "Invocations"), 8);
    assert_eq!(total(&docs, "Errors"), 2);
    assert_eq!(total(&docs, "Timeouts"), 1);
    // The timeout resets its environment; a request arriving while an environment finishes its
    // previous invocation also gets a new one. One cold start per environment.
    let envs = environments(&logs);
    assert!(envs >= 2, "the timeout replaced the environment");
    assert_eq!(total(&docs, "ColdStarts"), envs as u64);
    assert_eq!(
        latency_values(&docs),
        7,
        "every invocation but the timed-out one has a latency"
    );
    assert!(
        docs.iter().any(|d| d["MaxMemoryUsed"].as_u64().is_some()),
        "memory from platform.report"
    );
    // With the proxy serving, invocations are counted by the proxy: no INVOKE events.
    let events = registered_events(&logs);
    assert_eq!(events.len(), envs, "one EXTENSION line per environment");
    assert!(events.iter().all(|e| e == "[SHUTDOWN]"), "{events:?}");
}

#[tokio::test]
async fn a_runtime_that_bypasses_the_proxy_is_counted_from_telemetry_and_reported() {
    // The function ships its own `bootstrap`, so Lambda runs it instead of the layer's
    // /opt/bootstrap: the runtime talks to the Runtime API directly, the proxy sees nothing.
    let dir = tempfile::tempdir().unwrap();
    let lab = emf_lab(dir.path(), "bootstrap").await;
    const N: u64 = 5;
    for i in 0..N {
        let payload = format!(r#"{{"n":{i}}}"#);
        let reply = invoke(&lab, "emf-fn", "4", payload.as_bytes()).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, payload.as_bytes());
    }
    // A timeout: telemetry reports it and SHUTDOWN (reason timeout) names it; it counts once.
    let reply = invoke(&lab, "emf-fn", "4", br#"{"sleep_ms":5000}"#).await;
    assert!(reply.header("x-amz-function-error").is_some());
    let logs = lab.pools["4"].logs();
    lab.shutdown().await;

    let docs = emf_documents(&logs);
    let envs = environments(&logs);
    assert_eq!(
        total(&docs, "Invocations"),
        N + 1,
        "counted from platform.report"
    );
    assert_eq!(total(&docs, "Timeouts"), 1);
    assert_eq!(total(&docs, "ColdStarts"), envs as u64);
    assert_eq!(latency_values(&docs), 0, "no latency without the proxy");
    let warnings = logs
        .snapshot()
        .iter()
        .filter(|l| l.text.contains("does not use the Runtime API proxy"))
        .count();
    assert_eq!(warnings, envs, "said once per environment");
}
