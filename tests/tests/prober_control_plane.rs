//! The prober following the control plane of a deployment the lab runs: `--alias` polls
//! GetAlias on the lab's Lambda API while CodeDeploy shifts `hello:live`; every routing change
//! of the lab's event log (the ground truth) is in the report, seen within a poll of when it
//! happened; and an alias that does not exist is refused before the first probe.

#[path = "prober_control_plane/support.rs"]
mod support;

use serde_json::Value;
use support::{AliasLab, Prober, events, read_json};

/// The lab's routing changes of `hello:live`: (Unix µs, the routing after).
fn lab_changes(events: &[Value]) -> Vec<(f64, Value)> {
    events
        .iter()
        .filter(|e| e["type"] == "routingChanged" && e["alias"] == "live")
        .map(|e| (e["timeUs"].as_f64().unwrap(), e["after"].clone()))
        .collect()
}

/// A report's routing in the event log's form.
fn as_logged(routing: &Value) -> Value {
    serde_json::json!({ "primary": routing["primary"], "additional": routing["additional"] })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alias_follows_a_lab_deployment() {
    let lab = AliasLab::start(60.0).await;
    lab.group(
        "hello-app",
        "hello-live",
        "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
    );
    let out = lab.dir.path().join("out");
    let (url, out_arg) = (lab.url(), out.display().to_string());
    let mut prober = Prober::spawn(
        &lab,
        &[
            "--url",
            &url,
            "--version-json",
            "/version",
            "--alias",
            "hello:live",
            "--poll",
            "200ms",
            "--rps",
            "200",
            "--schedule",
            "Linear10PercentEvery1Minute",
            "--time-scale",
            "60",
            "--timeout",
            "2s",
            "--max-duration",
            "90s",
            "--quiet",
            "--out",
            &out_arg,
        ],
    );
    // The alias is polled before the deployment starts: its first move is seen, not assumed.
    prober.line_with("first poll of the alias answered").await;
    let id = lab.deploy("hello-app", "hello-live");
    let exit = prober.exit().await;
    let info = lab.lab.deployments.get_deployment(&id).unwrap();
    let report = read_json(&out.join("report.json"));
    let dir = lab.shutdown().await;
    assert_eq!(
        exit.code, 0,
        "{}\n{}\n{}",
        report["verdict_reason"], exit.stdout, exit.stderr
    );
    assert_eq!(
        serde_json::to_value(info.status).unwrap(),
        "Succeeded",
        "{info:?}"
    );

    let alias = &report["control_plane"]["alias"];
    let changes = alias["changes"].as_array().expect("changes");
    let seen_at = alias["seen_at_unix_ms"].as_array().unwrap();
    let truth = lab_changes(&events(dir.path()));
    assert_eq!(truth.len(), 10, "10 steps of 10%: {truth:?}");
    // The first entry is the routing before the deployment; then one per change of the lab.
    assert_eq!(
        as_logged(&changes[0]["routing"]),
        serde_json::json!({"primary": "1", "additional": {}})
    );
    let logged: Vec<Value> = changes[1..]
        .iter()
        .map(|c| as_logged(&c["routing"]))
        .collect();
    let expected: Vec<Value> = truth.iter().map(|(_, after)| after.clone()).collect();
    assert_eq!(logged, expected, "{alias}");

    // Each change is seen by the first poll after it: within a poll interval plus the
    // slowest answer and the largest send delay the polls themselves measured.
    let poll = 0.2;
    let bound = poll
        + alias["max_answer_secs"].as_f64().unwrap()
        + alias["max_send_delay_secs"].as_f64().unwrap();
    let origin_ms = report["started_at_unix_ms"].as_f64().unwrap();
    for (k, (time_us, after)) in truth.iter().enumerate() {
        let change = &changes[k + 1];
        let lab_ms = time_us / 1000.0;
        let seen_ms = seen_at[k + 1].as_f64().unwrap();
        let latency = (seen_ms - lab_ms) / 1000.0;
        // 1 ms: the report's wall-clock times are whole milliseconds.
        assert!(
            (-0.001..=bound + 0.001).contains(&latency),
            "change {k} ({after}) seen {latency:.3} s after the lab made it (bound {bound:.3} s)"
        );
        let (lo, hi) = (
            origin_ms + change["not_before"].as_f64().unwrap() * 1000.0,
            origin_ms + change["not_after"].as_f64().unwrap() * 1000.0,
        );
        assert!(
            lo - 1.0 <= lab_ms && lab_ms <= hi + 1.0,
            "change {k}: the lab's instant {lab_ms} is outside the bracket [{lo}, {hi}]"
        );
    }

    // The deployment's start is the alias's first move, inside its bracket.
    assert_eq!(report["deployment_start_source"], "alias", "{report:#}");
    // The alias's weights against the schedule: the lab's CodeDeploy applies each step on time.
    let conformance = &report["control_plane"]["schedule_conformance"];
    assert_eq!(conformance["followed"], true, "{conformance:#}");
    assert_eq!(
        conformance["steps"].as_array().map(Vec::len),
        Some(10),
        "{conformance:#}"
    );
    let start = report["deployment_start"].as_f64().unwrap();
    let first = &changes[1];
    assert!(
        first["not_before"].as_f64().unwrap() <= start
            && start <= first["not_after"].as_f64().unwrap(),
        "start {start} outside {first}"
    );
    assert!(
        report["control_plane"]["failures"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The summary's control-plane block and timeline.csv's configured share.
    assert!(exit.stdout.contains("control plane:"), "{}", exit.stdout);
    let csv = std::fs::read_to_string(out.join("timeline.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let column = header
        .iter()
        .position(|h| *h == "configured_share")
        .unwrap();
    // Each second's configured share is the lab's weight of version 2 at its middle, except
    // within a poll and a round trip of one of the lab's changes.
    let weight_of_2 = |after: &Value| match after["primary"].as_str() {
        Some("2") => 1.0 - after["additional"]["1"].as_f64().unwrap_or(0.0),
        _ => after["additional"]["2"].as_f64().unwrap_or(0.0),
    };
    let mut compared = 0;
    for line in csv.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let second: f64 = cells[0].parse().unwrap();
        let at_ms = origin_ms + (second + 0.5) * 1000.0;
        if truth
            .iter()
            .any(|(us, _)| (us / 1000.0 - at_ms).abs() <= bound * 1000.0)
        {
            continue;
        }
        let lab = truth
            .iter()
            .take_while(|(us, _)| us / 1000.0 <= at_ms)
            .last()
            .map_or(0.0, |(_, after)| weight_of_2(after));
        let configured: f64 = cells[column].parse().unwrap_or_else(|_| panic!("{line}"));
        assert!(
            (configured - lab).abs() < 1e-9,
            "second {second}: configured {configured}, the lab {lab}"
        );
        compared += 1;
    }
    assert!(compared >= 5, "{compared} seconds compared:\n{csv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alias_that_does_not_exist_is_refused_before_the_first_probe() {
    let lab = AliasLab::start(60.0).await;
    let out = lab.dir.path().join("out");
    // The target: a listener never accepting; a connection would wait in its backlog.
    let target = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    target.set_nonblocking(true).unwrap();
    let url = format!("http://{}/hello", target.local_addr().unwrap());
    let out_arg = out.display().to_string();
    let exit = Prober::spawn(
        &lab,
        &[
            "--url",
            &url,
            "--version-json",
            "/version",
            "--alias",
            "hello:nope",
            "--duration",
            "2s",
            "--out",
            &out_arg,
        ],
    )
    .exit()
    .await;
    let region = lab.lab.scope.region.clone();
    let _dir = lab.shutdown().await;
    assert_eq!(exit.code, 64, "{}", exit.stderr);
    for needle in [
        format!("lambda:GetAlias on hello:nope in {region}"),
        "ResourceNotFoundException".to_owned(),
        "aws lambda list-aliases --function-name hello".to_owned(),
    ] {
        assert!(
            exit.stderr.contains(&needle),
            "no {needle:?} in {}",
            exit.stderr
        );
    }
    let connection = target.accept();
    assert!(
        matches!(&connection, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the target was connected to: {connection:?}"
    );
    assert!(!out.join("report.json").exists());
}
