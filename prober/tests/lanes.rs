//! Several send lanes (a rate above one lane's `LANE_RPS`): the lanes share the schedule and the
//! in-flight cap, and every request any of them sends is in the report.

mod common;

use common::checks::assert_accounted;
use common::{ServerConfig, TestServer, base_args, run_prober};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_several_lanes_every_request_sent_is_accounted_for() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let lanes = prober::sender::lanes_for(30_000.0, 8, cpus);
    if lanes < 2 {
        eprintln!("{cpus} CPU: a single lane, nothing to check here");
        return;
    }
    let server = TestServer::start(ServerConfig::default()).await;
    let mut args = base_args(&server.url("/"), 30_000, "500ms");
    args.extend(["--max-in-flight", "8"].map(String::from));
    let run = run_prober(&args).await;
    let report = run.report();
    let totals = &report.totals;
    let truth = server.truth();

    assert_eq!(totals.planned, 15_000, "slots t0 + i/30000 for 0.5 s");
    assert!(totals.sent > 0, "the lanes sent requests: {totals:?}");
    assert_eq!(
        totals.sent, truth.requests,
        "every request that reached the server is counted as sent ({lanes} lanes)"
    );
    let errors: u64 = totals.errors_by_kind.values().sum();
    assert_eq!(
        totals.sent,
        totals.responses + errors,
        "each sent request has an outcome"
    );
    assert_accounted(&truth, report);
}
