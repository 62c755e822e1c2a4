//! The files a rehearsal writes before it starts the lab, so that the run can be repeated by
//! hand: the lab's spec (`lab.yaml`) and the error-rate alarm (PutMetricAlarm's JSON).

use std::collections::BTreeMap;

use protocol::rollcall::{DEFAULT_NAMESPACE, dimension, env, metric};
use serde_json::{Value, json};

use super::plan::Plan;

/// The function the rehearsal releases.
pub const FUNCTION: &str = "hello";
/// Its alias, behind the front door's route.
pub const ALIAS: &str = "live";
/// The front door's route to the alias.
pub const ROUTE: &str = "GET /hello";
/// The layer's name in the spec.
pub const LAYER: &str = "rollcall";
/// The version serving before the release.
pub const CURRENT_VERSION: &str = "1";
/// The version the release publishes (the spec publishes version 1 only) and its alarm watches.
pub const TARGET_VERSION: &str = "2";
/// How often the extension flushes its EMF documents: well under a time-scaled alarm period.
pub const FLUSH_INTERVAL: &str = "100ms";
/// The error-rate alarm's threshold, percent of version 2's invocations in one period.
pub const ERROR_RATE_THRESHOLD: f64 = 5.0;

/// The post-traffic hook function's name.
pub const HOOK_FUNCTION: &str = "hello-post-traffic";

/// The event the hook's check sends version 2: a `GET /hello` request as API Gateway's HTTP
/// API (payload 2.0) sends it, or, to fail, something `hello` cannot handle.
pub fn hook_check_event(check: super::HookCheck) -> Value {
    match check {
        super::HookCheck::Pass => json!({
            "version": "2.0", "routeKey": ROUTE, "rawPath": "/hello", "rawQueryString": "",
            "headers": {"user-agent": "rollcall-hook"}, "isBase64Encoded": false,
            "requestContext": {"accountId": "123456789012", "apiId": "rehearsal",
                "domainName": "localhost", "domainPrefix": "localhost", "requestId": "hook-check",
                "routeKey": ROUTE, "stage": "$default", "time": "04/Dec/2026:00:00:00 +0000",
                "timeEpoch": 0, "http": {"method": "GET", "path": "/hello",
                    "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "rollcall-hook"}}
        }),
        super::HookCheck::Fail => json!({"rollcall": "not an HTTP request: version 2 rejects it"}),
    }
}

/// The lab's spec: `hello` version 1 behind `live` with the rollcall layer, one route, and
/// the post-traffic hook's function (its code dir `hook_code`) when there is one.
pub fn lab_spec_yaml(plan: &Plan, hook_code: Option<&std::path::Path>) -> String {
    // JSON strings are YAML strings: any path is quoted safely.
    let quoted = |p: &std::path::Path| Value::String(p.display().to_string()).to_string();
    format!(
        "# Written by `rollcall-lab rehearse`: run it again with `rollcall-lab serve --spec lab.yaml`.\n\
         seed: {seed}\n\
         payload_format: \"2.0\"\n\
         layers:\n  {LAYER}:\n    content: {layer}\n\
         functions:\n  {FUNCTION}:\n    code: {code}\n    handler: {FUNCTION}\n\
         \x20   timeout: 10s  # as template.yaml\n\
         \x20   environment:\n      {flush}: {FLUSH_INTERVAL}\n\
         \x20   layers: [{LAYER}]\n\
         \x20   versions:\n      - {{}}\n\
         \x20   aliases:\n      {ALIAS}:\n        version: {CURRENT_VERSION}\n\
         {hook}\
         routes:\n  - route: {ROUTE}\n    target: {FUNCTION}:{ALIAS}\n",
        hook = match (hook_code, &plan.post_traffic_hook) {
            (Some(code), Some((_, check))) => format!(
                "  {HOOK_FUNCTION}:\n    code: {}\n    timeout: 30s\n    environment:\n      ROLLCALL_HOOK_EVENT: {}\n",
                quoted(code),
                Value::String(hook_check_event(*check).to_string())
            ),
            _ => String::new(),
        },
        seed = plan.seed,
        layer = quoted(&plan.layer),
        code = quoted(&plan.code),
        flush = env::FLUSH_INTERVAL,
    )
}

/// `$LATEST`'s environment for the release: version 1's, plus the new behaviour.
pub fn release_environment(plan: &Plan) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::from([
        (env::FLUSH_INTERVAL.to_owned(), FLUSH_INTERVAL.to_owned()),
        ("HELLO_SEED".to_owned(), plan.seed.to_string()),
    ]);
    if let Some(latency) = &plan.added_latency_ms {
        vars.insert("HELLO_LATENCY_MS".into(), latency.clone());
    }
    if let Some(rate) = plan.fail_rate {
        vars.insert("HELLO_FAIL_RATE".into(), rate.to_string());
        vars.insert("HELLO_ERROR_MODE".into(), "status500".into());
    }
    vars
}

/// The alarm's name.
pub fn alarm_name(version: &str) -> String {
    format!("{FUNCTION}-{ALIAS}-v{version}-error-rate")
}

/// The error-rate alarm on the extension's metrics for `version`: more than
/// [`ERROR_RATE_THRESHOLD`] % of its invocations failed in one 60 s period (time-scaled by
/// the lab); no data is not breaching.
pub fn error_rate_alarm(version: &str) -> Value {
    let stat = |id: &str, name: &str| {
        json!({"Id": id, "ReturnData": false, "MetricStat": {
            "Metric": {"Namespace": DEFAULT_NAMESPACE, "MetricName": name, "Dimensions": [
                {"Name": dimension::FUNCTION_NAME, "Value": FUNCTION},
                {"Name": dimension::VERSION, "Value": version}]},
            "Period": 60, "Stat": "Sum"}})
    };
    json!({
        "AlarmName": alarm_name(version),
        "AlarmDescription": format!(
            "More than {ERROR_RATE_THRESHOLD} % of {FUNCTION} version {version}'s invocations failed in a minute (the rollcall extension's EMF)"),
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "Threshold": ERROR_RATE_THRESHOLD,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "Metrics": [stat("errors", metric::ERRORS), stat("invocations", metric::INVOCATIONS),
            {"Id": "rate", "Expression": "100 * errors / invocations", "ReturnData": true}]
    })
}
