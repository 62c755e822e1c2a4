//! Untagged responses, errors from the new version only, broken and silent servers, an
//! unreachable target, HTTP/2, and an interrupted run.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::checks::{
    assert_accounted, assert_all_steps_followed, assert_step_shares, assert_valid_report,
};
use common::{
    Fault, ServerConfig, TestServer, WeightPlan, base_args, closed_port, run_prober,
    run_prober_until, wilson, z_for,
};
use rollout::Verdict;
use rollout::schedule::Schedule;

fn kind(report: &rollout::Report, kind: &str) -> u64 {
    report.totals.errors_by_kind.get(kind).copied().unwrap_or(0)
}

/// A 50/50 split from the first request on.
fn half_and_half() -> WeightPlan {
    WeightPlan::from_steps(vec![(0.0, 0.5)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untagged_responses_are_counted_and_shares_stay_right() {
    // A predefined schedule compressed 100 times: 10% for 3 s, then 100%.
    let (spec, scale) = ("CodeDeployDefault.LambdaCanary10Percent5Minutes", 100.0);
    let server = TestServer::start(ServerConfig {
        plan: WeightPlan::from_scaled_schedule(spec, scale),
        deployment_delay: Duration::from_secs(1),
        untagged_share: 0.05,
        seed: 5,
        ..Default::default()
    })
    .await;
    let mut args = base_args(&server.url("/"), 200, "6s");
    args.extend(["--schedule", spec, "--time-scale", "100"].map(String::from));
    let run = run_prober(&args).await;
    let report = run.report();
    let truth = server.truth();

    assert_accounted(&truth, report);
    assert!(report.untagged > 0, "5% of ~1000 responses are untagged");
    let (lo, hi) = wilson(report.untagged, report.totals.responses, z_for(1));
    assert!(
        lo <= 0.05 && 0.05 <= hi,
        "untagged share [{lo:.3}, {hi:.3}] excludes 5%"
    );
    run.assert_verdict(Verdict::Followed, 0);
    let schedule = Schedule::parse(spec).unwrap().time_scaled(scale).unwrap();
    assert_step_shares(report, &schedule);
    assert_all_steps_followed(report);
}

/// A server where the new version fails 30% of its requests and is 20 ms slower.
fn failing_new_version(seed: u64) -> ServerConfig {
    ServerConfig {
        plan: half_and_half(),
        new_error_share: 0.3,
        latency: BTreeMap::from([("8".to_owned(), Duration::from_millis(20))]),
        seed,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_of_the_new_version_are_attributed_and_budgeted() {
    let (over, under) = tokio::join!(
        TestServer::start(failing_new_version(6)),
        TestServer::start(failing_new_version(7))
    );
    // Both runs at once: ~15% of requests fail; one budget is below that, one above. A constant
    // split says nothing about which version is new: name them.
    let args = |server: &TestServer, budget: &str| {
        let mut args = base_args(&server.url("/"), 100, "4s");
        args.extend(
            [
                "--max-error-rate",
                budget,
                "--from-version",
                "7",
                "--to-version",
                "8",
            ]
            .map(String::from),
        );
        args
    };
    let (over_args, under_args) = (args(&over, "0.05"), args(&under, "0.5"));
    let (over_run, under_run) = tokio::join!(run_prober(&over_args), run_prober(&under_args));

    for (run, server) in [(&over_run, &over), (&under_run, &under)] {
        let report = run.report();
        assert_valid_report(&run.out().join("report.json"));
        let truth = server.truth();
        assert_accounted(&truth, report);
        assert_eq!(
            report.versions["7"].errors, 0,
            "the old version never fails"
        );
        let new = &report.versions["8"];
        assert!(new.errors > 0);
        assert_eq!(new.status_codes.get("503").copied(), Some(new.errors));
        assert_eq!(
            kind(report, "5xx"),
            new.errors,
            "{:?}",
            report.totals.errors_by_kind
        );
        let expected_rate = new.errors as f64 / report.totals.sent as f64;
        assert!(
            (report.totals.error_rate - expected_rate).abs() < 1e-9,
            "error_rate = 5xx / sent"
        );
        let (lo, hi) = wilson(new.errors, new.requests, z_for(2));
        assert!(
            lo <= 0.3 && 0.3 <= hi,
            "new version error share [{lo:.3}, {hi:.3}] excludes 30%"
        );

        assert_eq!(report.old_version.as_deref(), Some("7"));
        assert_eq!(report.new_version.as_deref(), Some("8"));
        let cmp = report
            .latency_comparison
            .as_ref()
            .expect("two versions: a latency comparison");
        assert!(cmp.new_slower, "the new version is 20 ms slower: {cmp:?}");
        assert!(cmp.new_p50_ms - cmp.old_p50_ms >= 15.0, "{cmp:?}");
        assert!(new.latency_ms.p50 - report.versions["7"].latency_ms.p50 >= 15.0);
    }
    assert!(over_run.report().totals.error_rate > 0.05);
    over_run.assert_verdict(Verdict::ErrorBudget, 4);
    assert!(under_run.report().totals.error_rate < 0.5);
    under_run.assert_verdict(Verdict::Completed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_resets_are_counted_not_fatal() {
    let server = TestServer::start(ServerConfig {
        fault: Fault::Reset,
        ..Default::default()
    })
    .await;
    let run = run_prober(&base_args(&server.url("/"), 50, "2s")).await;
    let report = run.report();
    let truth = server.truth();

    assert!(truth.connections_reset > 0, "the server reset connections");
    assert!(report.totals.sent >= 50, "{:?}", report.totals);
    assert_eq!(report.totals.responses, 0);
    let transport = kind(report, "reset") + kind(report, "connect");
    assert_eq!(
        transport, report.totals.sent,
        "every request failed as reset/connect: {:?}",
        report.totals.errors_by_kind
    );
    assert!(
        kind(report, "reset") > 0,
        "{:?}",
        report.totals.errors_by_kind
    );
    run.assert_written_report_is_returned();
    assert_valid_report(&run.out().join("report.json"));
    assert_eq!(
        report.verdict,
        Verdict::Inconclusive,
        "no response, no data: {}",
        report.verdict_reason
    );
    assert_eq!(run.outcome.exit_code, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_server_times_out_and_the_run_ends_on_time() {
    let server = TestServer::start(ServerConfig {
        fault: Fault::Hang,
        ..Default::default()
    })
    .await;
    let mut args = base_args(&server.url("/"), 50, "2s");
    args.extend(["--timeout".to_owned(), "200ms".to_owned()]);
    let run = run_prober(&args).await;
    let report = run.report();

    assert!(server.truth().connections_hung > 0);
    assert!(report.totals.sent >= 50, "{:?}", report.totals);
    assert_eq!(report.totals.responses, 0);
    assert_eq!(
        kind(report, "timeout"),
        report.totals.sent,
        "{:?}",
        report.totals.errors_by_kind
    );
    // 2 s of sending plus one 200 ms timeout for the last requests; the slack covers a loaded
    // host, and is far below the 10 s default timeout a run that waited on hung requests takes.
    assert!(
        run.wall < Duration::from_millis(2_200 + 3_000),
        "run took {:?}",
        run.wall
    );
    assert_eq!(run.outcome.exit_code, 3, "{}", report.verdict_reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_target_is_inconclusive_with_connect_errors() {
    let url = format!("http://127.0.0.1:{}/", closed_port());
    let run = run_prober(&base_args(&url, 50, "2s")).await;
    let report = run.report();

    assert!(report.totals.sent >= 50, "{:?}", report.totals);
    assert_eq!(report.totals.responses, 0);
    assert_eq!(
        kind(report, "connect"),
        report.totals.sent,
        "{:?}",
        report.totals.errors_by_kind
    );
    run.assert_verdict(Verdict::Inconclusive, 3);
    assert_valid_report(&run.out().join("report.json"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_prior_knowledge_is_counted_exactly() {
    let server = TestServer::start(ServerConfig {
        plan: half_and_half(),
        seed: 8,
        ..Default::default()
    })
    .await;
    let mut args = base_args(&server.url("/"), 100, "2s");
    args.push("--http2".to_owned());
    let run = run_prober(&args).await;
    let truth = server.truth();

    assert_eq!(
        truth.http_versions.iter().collect::<Vec<_>>(),
        ["HTTP/2.0"],
        "only h2 requests"
    );
    assert_accounted(&truth, run.report());
    assert_eq!(run.outcome.exit_code, 0, "{}", run.report().verdict_reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_still_writes_its_report() {
    let server = TestServer::start(ServerConfig {
        plan: half_and_half(),
        seed: 9,
        ..Default::default()
    })
    .await;
    let mut served = server.served_watch();
    let interrupt = async move {
        // Interrupt once the run is demonstrably under way.
        let _ = served.wait_for(|&n| n >= 100).await;
    };
    let run = run_prober_until(&base_args(&server.url("/"), 100, "60s"), interrupt).await;
    let report = run.report();

    assert!(report.interrupted, "report.interrupted");
    let written = run.written_report();
    assert!(written.interrupted, "report.json says interrupted");
    assert_valid_report(&run.out().join("report.json"));
    assert!(report.totals.responses >= 100, "{:?}", report.totals);
    assert!(
        run.wall < Duration::from_secs(15),
        "the interrupt ends a 60 s run early: {:?}",
        run.wall
    );
    assert!(report.duration_secs < 15.0, "{}", report.duration_secs);
    let truth = server.truth();
    let tagged: u64 = report.versions.values().map(|v| v.requests).sum();
    assert!(tagged <= truth.responses, "never more than served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_executed_version_header_is_read_too() {
    // What Lambda's Invoke API returns, read without any flag.
    let server = TestServer::start(ServerConfig {
        plan: half_and_half(),
        version_header: "x-amz-executed-version",
        seed: 10,
        ..Default::default()
    })
    .await;
    let run = run_prober(&base_args(&server.url("/"), 100, "1s")).await;
    let truth = server.truth();
    assert_accounted(&truth, run.report());
    assert_eq!(run.report().untagged, 0, "every response named its version");
    assert!(truth.tagged("7") > 0 && truth.tagged("8") > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_version_header_is_read_with_the_flag() {
    let server = TestServer::start(ServerConfig {
        plan: half_and_half(),
        version_header: "x-my-version",
        seed: 14,
        ..Default::default()
    })
    .await;
    let mut args = base_args(&server.url("/"), 100, "1s");
    args.extend(["--version-header".to_owned(), "X-My-Version".to_owned()]);
    let run = run_prober(&args).await;
    assert_accounted(&server.truth(), run.report());
    assert_eq!(run.report().untagged, 0);
}
