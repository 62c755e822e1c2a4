//! Telemetry API fixtures.
//!
//! Sources (read 2026-11-26 from the project's stored copies):
//! - records: "Lambda Telemetry API `Event` schema reference",
//!   <https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html> (live page,
//!   2025 revision with the restore and JSON-log examples). The page's examples have defects
//!   that we corrected in the fixtures, each one checked by a test below: a missing comma in
//!   `platform.initRuntimeDone`, span starts written `12:01:23:521Z`, and a `platform.report`
//!   example without `status` and with a trailing comma.
//! - subscription: "Subscribe to telemetry" request of
//!   <https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api.html> (`maxBytes` written
//!   `256*1024` on the page; 262144 here).

mod common;

use common::{fixture, fixture_value, round_trip};
use protocol::telemetry::{
    InitPhase, InitType, LogRecord, Status, TelemetryEvent, TelemetryRecord, TelemetryType,
    parse_batch_lenient, parse_subscription,
};
use time::macros::datetime;

/// (fixture, envelope `type`, known to lambda-extension 1.1.1)
const RECORDS: &[(&str, &str, bool)] = &[
    (
        "telemetry/platform_init_start.json",
        "platform.initStart",
        true,
    ),
    (
        "telemetry/platform_init_runtime_done.json",
        "platform.initRuntimeDone",
        true,
    ),
    (
        "telemetry/platform_init_report.json",
        "platform.initReport",
        true,
    ),
    ("telemetry/platform_start.json", "platform.start", true),
    (
        "telemetry/platform_runtime_done.json",
        "platform.runtimeDone",
        true,
    ),
    ("telemetry/platform_report.json", "platform.report", true),
    (
        "telemetry/platform_extension.json",
        "platform.extension",
        true,
    ),
    (
        "telemetry/platform_telemetry_subscription.json",
        "platform.telemetrySubscription",
        true,
    ),
    (
        "telemetry/platform_logs_dropped.json",
        "platform.logsDropped",
        true,
    ),
    ("telemetry/function_text.json", "function", true),
    ("telemetry/function_json.json", "function", true),
    ("telemetry/extension_text.json", "extension", true),
    ("telemetry/extension_json.json", "extension", true),
    (
        "telemetry/platform_restore_start.json",
        "platform.restoreStart",
        false,
    ),
    (
        "telemetry/platform_restore_runtime_done.json",
        "platform.restoreRuntimeDone",
        false,
    ),
    (
        "telemetry/platform_restore_report.json",
        "platform.restoreReport",
        false,
    ),
];

#[test]
fn every_record_fixture_parses_into_its_type_and_round_trips() {
    for &(file, kind, known) in RECORDS {
        let event: TelemetryEvent = round_trip(file);
        assert_eq!(event.record.type_name(), kind, "{file}");
        assert!(
            !matches!(event.record, TelemetryRecord::Unknown { .. }),
            "{file} parsed as Unknown"
        );
        assert_eq!(event.record.is_known_to_lambda_extension(), known, "{file}");
    }
}

#[test]
fn typed_fields_carry_the_documented_values() {
    let report: TelemetryEvent = round_trip("telemetry/platform_report.json");
    assert_eq!(report.time, datetime!(2022-10-12 00:01:15.000 UTC));
    let TelemetryRecord::Report(r) = report.record else {
        panic!("not a report")
    };
    assert_eq!(r.request_id, "6d68ca91-49c9-448d-89b8-7ca3e6dc66aa");
    assert_eq!(r.status, Status::Success);
    assert_eq!(r.metrics.billed_duration_ms, 694);
    assert_eq!(r.metrics.memory_size_mb, 128);
    assert_eq!(r.metrics.max_memory_used_mb, 84);
    assert_eq!(r.metrics.duration_ms, 693.92);
    assert_eq!(r.metrics.init_duration_ms, Some(397.68));

    let start: TelemetryEvent = round_trip("telemetry/platform_start.json");
    let TelemetryRecord::Start(s) = start.record else {
        panic!("not a start")
    };
    assert_eq!(s.version.as_deref(), Some("$LATEST"));
    assert_eq!(s.tracing.expect("tracing").kind, "X-Amzn-Trace-Id");

    let done: TelemetryEvent = round_trip("telemetry/platform_runtime_done.json");
    let TelemetryRecord::RuntimeDone(d) = done.record else {
        panic!("not runtimeDone")
    };
    assert_eq!(d.metrics.expect("metrics").produced_bytes, Some(16));
    assert_eq!(d.spans[0].start, datetime!(2022-08-02 12:01:23.521 UTC));

    let init: TelemetryEvent = round_trip("telemetry/platform_init_start.json");
    let TelemetryRecord::InitStart(i) = init.record else {
        panic!("not initStart")
    };
    assert_eq!(i.initialization_type, InitType::OnDemand);
    assert_eq!(i.phase, InitPhase::Init);
    assert_eq!(i.instance_max_memory, Some(256));

    let text: TelemetryEvent = round_trip("telemetry/function_text.json");
    assert!(matches!(
        text.record,
        TelemetryRecord::FunctionLog(LogRecord::Text(_))
    ));
    let json: TelemetryEvent = round_trip("telemetry/extension_json.json");
    assert!(matches!(
        json.record,
        TelemetryRecord::ExtensionLog(LogRecord::Json(_))
    ));
}

#[test]
fn a_batch_of_every_fixture_parses_as_one_array() {
    let batch: Vec<serde_json::Value> = RECORDS.iter().map(|(f, ..)| fixture_value(f)).collect();
    let body = serde_json::to_vec(&batch).unwrap();
    let events: Vec<TelemetryEvent> = serde_json::from_slice(&body).unwrap();
    assert_eq!(events.len(), RECORDS.len());
    assert_eq!(
        events
            .iter()
            .filter(|e| e.record.is_known_to_lambda_extension())
            .count(),
        13
    );
}

#[test]
fn the_schema_references_uncorrected_examples_are_rejected() {
    // (what the docs print, why it must fail) — the same strictness as lambda-extension 1.1.1.
    let cases = [
        (
            r#"{"time":"2022-10-12T00:01:15.000Z","type":"platform.report","record":{"metrics":{"billedDurationMs":694,"durationMs":693.92,"maxMemoryUsedMB":84,"memorySizeMB":128},"requestId":"6d68ca91"}}"#,
            "platform.report without status",
        ),
        (
            r#"{"time":"2022-10-12T00:01:15.000Z","type":"platform.runtimeDone","record":{"requestId":"r","status":"success","spans":[{"name":"someTimeSpan","start":"2022-08-02T12:01:23:521Z","durationMs":80.0}]}}"#,
            "span start with a colon before the milliseconds",
        ),
        (
            r#"{"time":"2022-10-12T00:01:15.000Z","type":"platform.report","record":{"requestId":"r","status":"success","metrics":{"durationMs":1.0,"billedDurationMs":1.5,"memorySizeMB":128,"maxMemoryUsedMB":84}}}"#,
            "non-integer billedDurationMs",
        ),
        (
            r#"{"time":"yesterday","type":"function","record":"x"}"#,
            "time that is not RFC 3339",
        ),
    ];
    for (json, why) in cases {
        assert!(
            serde_json::from_str::<TelemetryEvent>(json).is_err(),
            "accepted: {why}"
        );
    }
}

#[test]
fn unknown_types_are_kept_verbatim_and_flagged() {
    let json = r#"{"time":"2025-01-01T00:00:00.000Z","type":"platform.somethingNew","record":{"a":[1,2]}}"#;
    let event: TelemetryEvent = serde_json::from_str(json).unwrap();
    assert_eq!(event.record.type_name(), "platform.somethingNew");
    assert!(!event.record.is_known_to_lambda_extension());
    let back = serde_json::to_value(&event).unwrap();
    assert_eq!(
        back,
        serde_json::from_str::<serde_json::Value>(json).unwrap()
    );
}

#[test]
fn lenient_batch_parsing_keeps_the_good_events() {
    let good = fixture("telemetry/platform_start.json");
    let body = format!(r#"[{good}, {{"time":"bad","type":"function","record":"x"}}, {good}]"#);
    let parsed = parse_batch_lenient(body.as_bytes()).unwrap();
    assert_eq!(parsed.len(), 3);
    assert!(parsed[0].is_ok() && parsed[1].is_err() && parsed[2].is_ok());
    assert!(
        parse_batch_lenient(b"{}").is_err(),
        "a non-array body is an error"
    );
}

#[test]
fn time_is_written_in_utc_with_milliseconds() {
    let event = TelemetryEvent::new(
        datetime!(2024-02-29 23:59:59.123_456_789 -02:00),
        TelemetryRecord::FunctionLog(LogRecord::Text("x".into())),
    );
    let v = serde_json::to_value(&event).unwrap();
    assert_eq!(v["time"], "2024-03-01T01:59:59.123Z");
    assert_eq!(v["type"], "function");
}

#[test]
fn the_documented_subscription_validates_with_its_values() {
    let sub = parse_subscription(fixture("telemetry/subscribe_request.json").as_bytes()).unwrap();
    assert_eq!(sub.schema_version, "2025-01-29");
    assert_eq!(
        sub.types,
        vec![
            TelemetryType::Platform,
            TelemetryType::Function,
            TelemetryType::Extension
        ]
    );
    assert_eq!(
        (sub.max_items, sub.max_bytes, sub.timeout_ms),
        (1000, 262_144, 100)
    );
    assert_eq!(
        sub.target,
        protocol::telemetry::Target::Http {
            port: 8080,
            path: "/".into()
        }
    );
}
