//! The open loop: a slow server does not slow the schedule, and when the in-flight cap holds
//! requests back, the delay is counted (late sends) and kept in the corrected latency.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::checks::assert_accounted;
use common::{ServerConfig, TestServer, base_args, run_prober, run_prober_until};

/// A server whose only version answers after `latency`.
fn slow_server(latency: Duration) -> ServerConfig {
    ServerConfig {
        latency: BTreeMap::from([("7".to_owned(), latency)]),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_server_does_not_slow_the_schedule() {
    // 200 ms per response: ~20 requests in flight at 100 rps, far below the default cap of 256.
    // A closed loop with a few connections would fall behind; the open loop must not.
    let server = TestServer::start(slow_server(Duration::from_millis(200))).await;
    let run = run_prober(&base_args(&server.url("/"), 100, "2s")).await;
    let report = run.report();
    let totals = &report.totals;

    assert_eq!(totals.planned, 200, "slots t0 + i/100 for i in 0..200");
    assert_eq!(
        totals.sent, totals.planned,
        "every planned request was sent: {totals:?}"
    );
    assert_accounted(&server.truth(), report);
    let latency = &report.versions["7"].latency_ms;
    assert!(
        latency.p50 >= 200.0,
        "latency includes the service time: {latency:?}"
    );
    assert!(
        latency.p50 < 400.0,
        "no queueing behind the slow responses: {latency:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_flight_cap_counts_late_sends_and_corrects_latency() {
    // 100 ms per response with 2 in flight: ~20 rps get through of the 100 planned.
    let server = TestServer::start(slow_server(Duration::from_millis(100))).await;
    let mut args = base_args(&server.url("/"), 100, "2s");
    args.extend(["--max-in-flight".to_owned(), "2".to_owned()]);
    let run = run_prober(&args).await;
    let report = run.report();
    let totals = &report.totals;

    assert!(
        totals.late_sends > 0,
        "held-back requests are counted late: {totals:?}"
    );
    let version = &report.versions["7"];
    let (corrected, uncorrected) = (&version.latency_ms, &version.latency_uncorrected_ms);
    assert!(
        uncorrected.p50 >= 100.0 && uncorrected.p50 < 300.0,
        "{uncorrected:?}"
    );
    assert!(
        corrected.p50 >= uncorrected.p50 + 100.0,
        "the wait for a slot is in the corrected latency: {corrected:?} vs {uncorrected:?}"
    );
    assert!(
        totals.send_lag_ms.p50 >= 100.0,
        "the send lag shows the backlog: {totals:?}"
    );
    let truth = server.truth();
    assert_eq!(totals.responses, truth.responses, "every response counted");
    assert_eq!(
        totals.sent, truth.requests,
        "every request that reached the server is sent"
    );
    // Sends stop with the run: 2 s, plus at most one 100 ms response per slot, plus slack for a
    // loaded host. Draining the queue of tickets planned before the end (up to 64) through 2
    // slots would take 3.2 s more.
    assert!(
        run.wall < Duration::from_millis(2_000 + 100 + 1_500),
        "a 2 s run ended after {:?}: sent {} of {} planned, {} late",
        run.wall,
        totals.sent,
        totals.planned,
        totals.late_sends
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_at_the_end_are_accounted_for() {
    // 1 s per response, 2 in flight, 3 s timeout: at the end of the 2 s run two requests are
    // on the wire. Whether the prober waits for them or gives up, each request that reached
    // the server must appear in the report: as sent, and as a response or an error.
    let server = TestServer::start(slow_server(Duration::from_secs(1))).await;
    let mut args = base_args(&server.url("/"), 50, "2s");
    args.extend(["--max-in-flight", "2", "--timeout", "3s"].map(String::from));
    let run = run_prober(&args).await;
    let totals = &run.report().totals;
    let truth = server.truth();

    let errors: u64 = totals.errors_by_kind.values().sum();
    assert_eq!(
        totals.sent, truth.requests,
        "the server received {} requests, the report says {} were sent ({} responses, errors {:?}, run took {:?})",
        truth.requests, totals.sent, totals.responses, totals.errors_by_kind, run.wall
    );
    assert_eq!(
        totals.sent,
        totals.responses + errors,
        "each sent request has an outcome"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_at_an_interrupt_are_accounted_for() {
    // 3 s per response: when the run is interrupted, requests are on the wire. The report may
    // give up on them quickly, but each request that reached the server must be in it.
    let server = TestServer::start(slow_server(Duration::from_secs(3))).await;
    let mut received = server.received_watch();
    let interrupt = async move {
        let _ = received.wait_for(|&n| n >= 10).await;
    };
    let run = run_prober_until(&base_args(&server.url("/"), 20, "60s"), interrupt).await;
    let totals = &run.report().totals;
    let truth = server.truth();

    assert!(run.report().interrupted);
    assert!(
        run.wall < Duration::from_secs(10),
        "an interrupt ends the run: {:?}",
        run.wall
    );
    let errors: u64 = totals.errors_by_kind.values().sum();
    assert_eq!(
        totals.sent, truth.requests,
        "the server received {} requests, the report says {} were sent ({} responses, errors {:?})",
        truth.requests, totals.sent, totals.responses, totals.errors_by_kind
    );
    assert_eq!(
        totals.sent,
        totals.responses + errors,
        "each sent request has an outcome"
    );
}
