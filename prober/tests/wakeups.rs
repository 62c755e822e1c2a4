//! The send path's wake-ups: at a fixed rate, a request should cost the prober about two
//! wake-ups of one thread (its slot, its response), not a hand-over between threads. Counted as
//! the voluntary context switches of the spawned `prober` process (a thread that blocks), which
//! depend on how the work is split across threads, not on how fast the host is: a busy host
//! makes a thread find more work per wake-up, so fewer of them.
#![cfg(target_os = "linux")]

mod common;

use std::time::Duration;

use common::{ServerConfig, TestServer};
use nix::sys::resource::{UsageWho, getrusage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_at_a_fixed_rate_wakes_the_prober_about_twice() {
    let server = TestServer::start(ServerConfig::default()).await;
    // 2,000 rps: slots 0.5 ms apart, more than the pacer's batching window (0.4 ms), so every
    // slot is its own wake-up: the most wake-ups per request the send path has.
    let status = tokio::process::Command::new(env!("CARGO_BIN_EXE_prober"))
        .args([
            "--url",
            &server.url("/"),
            "--rps",
            "2000",
            "--duration",
            "2s",
            "--quiet",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .status();
    let status = tokio::time::timeout(Duration::from_secs(60), status)
        .await
        .expect("a 2 s run ends")
        .expect("run prober");
    assert!(status.code().is_some(), "exited by itself: {status:?}");
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN).expect("getrusage");
    let requests = server.truth().requests;
    assert!(requests >= 3_000, "the run sent {requests} requests");
    let per_request = usage.voluntary_context_switches() as f64 / requests as f64;
    // Two per request (slot, response) plus the aggregator's few per second. A pacer handing
    // each request to another thread adds at least one more (measured before the send lanes:
    // 4 to 5 per request).
    assert!(
        per_request < 3.0,
        "{per_request:.2} voluntary context switches per request ({} for {requests})",
        usage.voluntary_context_switches()
    );
}
