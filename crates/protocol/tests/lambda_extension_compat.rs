//! What we produce must be accepted by `lambda-extension` 1.1.1, the crate the Rollcall
//! extension uses: its telemetry listener deserialises each POSTed batch as
//! `Vec<LambdaTelemetry>` and answers 400 for the whole batch if one event fails
//! (LAMBDA-FACTS §4). The lab builds its events with these types, so this is the contract.

mod common;

use common::fixture_value;
use lambda_extension::{LambdaTelemetry, LambdaTelemetryRecord, NextEvent as CrateNextEvent};
use protocol::extension::{InvokeEvent, NextEvent, ShutdownEvent, ShutdownReason, Tracing};
use protocol::telemetry::{
    DurationMetrics, ExtensionInfo, InitPhase, InitReport, InitRuntimeDone, InitStart, InitType,
    LogRecord, LogsDropped, Report, ReportMetrics, RestoreStart, RuntimeDone, RuntimeDoneMetrics,
    Span, Start, Status, TelemetryEvent, TelemetryRecord, TelemetrySubscription, TraceContext,
};
use time::macros::datetime;

/// Minimal records, as a producer that fills only the required members would emit them.
fn minimal_records() -> Vec<TelemetryRecord> {
    let t = datetime!(2025-06-01 12:00:00.250 UTC);
    vec![
        TelemetryRecord::InitStart(InitStart {
            initialization_type: InitType::OnDemand,
            phase: InitPhase::Init,
            runtime_version: None,
            runtime_version_arn: None,
            function_name: None,
            function_version: None,
            instance_id: None,
            instance_max_memory: None,
        }),
        TelemetryRecord::InitRuntimeDone(InitRuntimeDone {
            initialization_type: InitType::ProvisionedConcurrency,
            phase: None,
            status: Status::Failure,
            error_type: Some("Runtime.ExitError".into()),
            spans: vec![],
        }),
        TelemetryRecord::InitReport(InitReport {
            initialization_type: InitType::OnDemand,
            phase: InitPhase::Invoke,
            status: Some(Status::Error),
            error_type: Some("Runtime.Unknown".into()),
            metrics: DurationMetrics { duration_ms: 12.5 },
            spans: vec![],
        }),
        TelemetryRecord::Start(Start {
            request_id: "r1".into(),
            version: Some("7".into()),
            tracing: Some(TraceContext {
                span_id: None,
                kind: "X-Amzn-Trace-Id".into(),
                value: "Root=1-5f35ae12-0c0fec141ab77a00bc047aa2".into(),
            }),
        }),
        TelemetryRecord::RuntimeDone(RuntimeDone {
            request_id: "r1".into(),
            status: Status::Timeout,
            error_type: Some("Sandbox.Timedout".into()),
            metrics: None,
            spans: vec![],
            tracing: None,
        }),
        TelemetryRecord::RuntimeDone(RuntimeDone {
            request_id: "r2".into(),
            status: Status::Success,
            error_type: None,
            metrics: Some(RuntimeDoneMetrics {
                duration_ms: 3.0,
                produced_bytes: None,
            }),
            spans: vec![Span {
                name: "responseLatency".into(),
                start: t,
                duration_ms: 1.25,
            }],
            tracing: None,
        }),
        TelemetryRecord::Report(Report {
            request_id: "r2".into(),
            status: Status::Success,
            error_type: None,
            metrics: ReportMetrics {
                duration_ms: 4.75,
                billed_duration_ms: 5,
                memory_size_mb: 128,
                max_memory_used_mb: 20,
                init_duration_ms: None,
                restore_duration_ms: None,
            },
            spans: vec![],
            tracing: None,
        }),
        TelemetryRecord::Extension(ExtensionInfo {
            name: "rollcall".into(),
            state: "Ready".into(),
            events: vec![],
            error_type: None,
        }),
        TelemetryRecord::TelemetrySubscription(TelemetrySubscription {
            name: "rollcall".into(),
            state: "Subscribed".into(),
            types: vec!["platform".into()],
        }),
        TelemetryRecord::LogsDropped(LogsDropped {
            reason: "r".into(),
            dropped_records: 1,
            dropped_bytes: 2,
        }),
        TelemetryRecord::FunctionLog(LogRecord::Text("line".into())),
        TelemetryRecord::ExtensionLog(LogRecord::Text("line".into())),
    ]
}

#[test]
fn every_record_we_produce_is_accepted_in_one_batch() {
    let t = datetime!(2025-06-01 12:00:00.5 +01:00);
    let events: Vec<TelemetryEvent> = minimal_records()
        .into_iter()
        .map(|r| TelemetryEvent::new(t, r))
        .collect();
    assert!(
        events
            .iter()
            .all(|e| e.record.is_known_to_lambda_extension())
    );
    let body = serde_json::to_vec(&events).unwrap();
    let parsed: Vec<LambdaTelemetry> = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("lambda-extension rejects the batch: {e}"));
    assert_eq!(parsed.len(), events.len());
    // Spot-check that values survive, not only that parsing succeeds.
    match &parsed[6].record {
        LambdaTelemetryRecord::PlatformReport {
            metrics,
            request_id,
            ..
        } => {
            assert_eq!(request_id, "r2");
            assert_eq!(
                (metrics.billed_duration_ms, metrics.memory_size_mb),
                (5, 128)
            );
        }
        other => panic!("expected platform.report, got {other:?}"),
    }
    match &parsed[3].record {
        LambdaTelemetryRecord::PlatformStart { version, .. } => {
            assert_eq!(version.as_deref(), Some("7"))
        }
        other => panic!("expected platform.start, got {other:?}"),
    }
    assert_eq!(
        parsed[0].time.timestamp_millis(),
        t.unix_timestamp() * 1000 + 500
    );
}

#[test]
fn every_known_fixture_is_accepted_and_snapstart_ones_are_not() {
    // (fixture, accepted by lambda-extension 1.1.1 with L = serde_json::Value)
    let cases = [
        ("telemetry/platform_init_start.json", true),
        ("telemetry/platform_init_runtime_done.json", true),
        ("telemetry/platform_init_report.json", true),
        ("telemetry/platform_start.json", true),
        ("telemetry/platform_runtime_done.json", true),
        ("telemetry/platform_report.json", true),
        ("telemetry/platform_extension.json", true),
        ("telemetry/platform_telemetry_subscription.json", true),
        ("telemetry/platform_logs_dropped.json", true),
        ("telemetry/function_text.json", true),
        ("telemetry/function_json.json", true),
        ("telemetry/extension_json.json", true),
        ("telemetry/platform_restore_start.json", false),
        ("telemetry/platform_restore_runtime_done.json", false),
        ("telemetry/platform_restore_report.json", false),
    ];
    for (file, accepted) in cases {
        // Re-serialise through our types, as the lab would, then hand to the crate.
        let ours: TelemetryEvent = serde_json::from_value(fixture_value(file)).unwrap();
        assert_eq!(
            ours.record.is_known_to_lambda_extension(),
            accepted,
            "{file}"
        );
        let json = serde_json::to_string(&ours).unwrap();
        let theirs = serde_json::from_str::<LambdaTelemetry<serde_json::Value>>(&json);
        assert_eq!(theirs.is_ok(), accepted, "{file}: {theirs:?}");
    }
    // With the default `L = String`, a JSON-format log record is rejected: a producer must
    // only emit object records to subscribers that asked for JSON logs.
    let json_log = serde_json::to_string(&fixture_value("telemetry/function_json.json")).unwrap();
    assert!(serde_json::from_str::<LambdaTelemetry>(&json_log).is_err());
    // An unknown variant (e.g. a SnapStart record) would make the crate reject a whole batch.
    let restore: TelemetryEvent =
        serde_json::from_value(fixture_value("telemetry/platform_restore_start.json")).unwrap();
    assert!(matches!(
        restore.record,
        TelemetryRecord::RestoreStart(RestoreStart { .. })
    ));
}

#[test]
fn next_events_we_produce_are_accepted() {
    let events = [
        NextEvent::Invoke(InvokeEvent {
            deadline_ms: 1_700_000_000_000,
            request_id: "r1".into(),
            invoked_function_arn: "arn:aws:lambda:us-east-1:123456789012:function:f:live".into(),
            tracing: Some(Tracing {
                kind: "X-Amzn-Trace-Id".into(),
                value: "Root=1-abc".into(),
            }),
        }),
        NextEvent::Invoke(InvokeEvent {
            deadline_ms: 1,
            request_id: "r2".into(),
            invoked_function_arn: "arn".into(),
            tracing: None,
        }),
        NextEvent::Shutdown(ShutdownEvent {
            shutdown_reason: ShutdownReason::Spindown,
            deadline_ms: 2,
        }),
    ];
    for ours in events {
        let json = serde_json::to_string(&ours).unwrap();
        let theirs: CrateNextEvent = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("lambda-extension rejects {json}: {e}"));
        match (&ours, theirs) {
            (NextEvent::Invoke(a), CrateNextEvent::Invoke(b)) => {
                assert_eq!(
                    (a.deadline_ms, &a.request_id),
                    (b.deadline_ms, &b.request_id)
                );
            }
            (NextEvent::Shutdown(_), CrateNextEvent::Shutdown(b)) => {
                assert_eq!(b.shutdown_reason, "spindown");
            }
            (a, b) => panic!("variant mismatch: {a:?} vs {b:?}"),
        }
    }
}
