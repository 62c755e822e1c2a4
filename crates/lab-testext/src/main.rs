//! Test fixture extension for the Rollcall lab, built on `lambda-extension`.
//!
//! It registers for INVOKE and SHUTDOWN, subscribes to the Telemetry API (platform, function and
//! extension records) on `ROLLCALL_TELEMETRY_PORT` (the per-environment port the lab hands out),
//! and writes one JSON line per thing it sees to the file named by `LAB_TESTEXT_OUT` (stdout when
//! unset):
//! - `{"kind":"registered","functionVersion":..,"functionName":..}`
//! - `{"kind":"invoke","requestId":..,"deadlineMs":..,"invokedFunctionArn":..,"traceValue":..,"nowMs":..}`
//! - `{"kind":"shutdown","reason":..,"deadlineMs":..,"nowMs":..}`
//! - `{"kind":"telemetry","records":[<every record of the batch, re-serialised>]}`
//!
//! `LAB_TESTEXT_INVOKE_DELAY_MS` makes it hold each INVOKE that long before calling next again
//! (a slow extension); `LAB_TESTEXT_FAIL_INIT=1` makes it exit before registering.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_extension::{
    Error, Extension, LambdaEvent, LambdaTelemetry, NextEvent, SharedService, service_fn,
};
use serde_json::{Value, json};

/// Where the JSON lines go.
type Sink = Arc<Mutex<Box<dyn Write + Send>>>;

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

fn record(sink: &Sink, line: Value) {
    let mut out = sink.lock().unwrap_or_else(|e| e.into_inner());
    // A fixture: if the file cannot be written the test reading it fails, which is the signal.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    if std::env::var("LAB_TESTEXT_FAIL_INIT").as_deref() == Ok("1") {
        eprintln!("lab-testext: failing init on purpose");
        std::process::exit(7);
    }
    let sink: Sink = match std::env::var("LAB_TESTEXT_OUT") {
        Ok(path) => Arc::new(Mutex::new(Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?,
        ))),
        Err(_) => Arc::new(Mutex::new(Box::new(std::io::stdout()))),
    };
    let delay = std::env::var("LAB_TESTEXT_INVOKE_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_millis);
    let port: u16 = std::env::var("ROLLCALL_TELEMETRY_PORT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(9003);

    let events_sink = sink.clone();
    let events = service_fn(move |event: LambdaEvent| {
        let sink = events_sink.clone();
        async move {
            match event.next {
                NextEvent::Invoke(e) => {
                    record(
                        &sink,
                        json!({"kind": "invoke", "requestId": e.request_id,
                            "deadlineMs": e.deadline_ms, "invokedFunctionArn": e.invoked_function_arn,
                            "traceValue": e.tracing.value, "nowMs": now_ms() as u64}),
                    );
                    if let Some(d) = delay {
                        tokio::time::sleep(d).await;
                    }
                }
                NextEvent::Shutdown(e) => record(
                    &sink,
                    json!({"kind": "shutdown", "reason": e.shutdown_reason,
                        "deadlineMs": e.deadline_ms, "nowMs": now_ms() as u64}),
                ),
            }
            Ok::<(), Error>(())
        }
    });

    let telemetry_sink = sink.clone();
    let telemetry = SharedService::new(service_fn(move |batch: Vec<LambdaTelemetry>| {
        let sink = telemetry_sink.clone();
        async move {
            record(&sink, json!({"kind": "telemetry", "records": batch}));
            Ok::<(), Error>(())
        }
    }));

    let registered = Extension::new()
        .with_events_processor(events)
        .with_telemetry_types(&["platform", "function", "extension"])
        .with_telemetry_port_number(port)
        .with_telemetry_processor(telemetry)
        .register()
        .await?;
    record(
        &sink,
        json!({"kind": "registered", "functionVersion": registered.function_version,
            "functionName": registered.function_name}),
    );
    // A log line of the extension: the lab turns it into an `extension` telemetry record.
    eprintln!(
        "lab-testext: registered for version {}",
        registered.function_version
    );
    registered.run().await
}
