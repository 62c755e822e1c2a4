//! A real Ctrl-C (SIGINT) or SIGTERM (how CI cancels a job) to the `prober` binary: it stops
//! early, still writes its artifacts, and exits 130 / 143 with the verdict `interrupted`. The
//! binary's signal handling is under test, so it is spawned, with a deadline.

mod common;

use std::time::Duration;

use common::checks::assert_valid_report;
use common::{ServerConfig, TestServer, WeightPlan, read_json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_writes_an_interrupted_report() {
    interrupted_by("INT", 130).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_writes_an_interrupted_report() {
    interrupted_by("TERM", 143).await;
}

async fn interrupted_by(signal: &str, exit_code: i32) {
    let server = TestServer::start(ServerConfig {
        plan: WeightPlan::from_steps(vec![(0.0, 0.5)]),
        seed: 16,
        ..Default::default()
    })
    .await;
    let out = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_prober"))
        .args([
            "--url",
            &server.url("/"),
            "--rps",
            "100",
            "--duration",
            "60s",
            "--quiet",
        ])
        .arg("--out")
        .arg(out.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn prober");
    let pid = child.id().expect("running");

    // Interrupt once the run is demonstrably under way.
    tokio::time::timeout(Duration::from_secs(20), server.served_at_least(100))
        .await
        .expect("the prober sends requests");
    let kill = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(kill.success());
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("the prober exits within 15 s of the signal")
        .expect("wait");
    assert_eq!(
        status.code(),
        Some(exit_code),
        "exited by itself, not killed: {status:?}"
    );

    let report_path = out.path().join("report.json");
    let report = read_json(&report_path);
    assert_eq!(report["interrupted"], true, "report.json says interrupted");
    assert_eq!(report["verdict"], "interrupted");
    assert_eq!(report["exit_code"], exit_code);
    assert!(report["totals"]["responses"].as_u64().unwrap() >= 100);
    assert!(report["duration_secs"].as_f64().unwrap() < 30.0);
    assert_valid_report(&report_path);
    for artifact in ["timeline.csv", "split.svg", "latency.svg", "junit.xml"] {
        assert!(
            out.path().join(artifact).is_file(),
            "{artifact} written on interrupt"
        );
    }
}

/// Found in review: once the plan was sent, a SIGTERM while the last requests were still in
/// flight (the wait lasts up to --timeout) was caught and ignored: the run then waited the whole
/// timeout and reported itself completed. It is cut short and reported interrupted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_the_last_requests_finish_interrupts_the_run() {
    use tokio::io::AsyncBufReadExt;
    // Every response of the (only) version takes longer than the test.
    let server = TestServer::start(ServerConfig {
        latency: [("7".to_owned(), Duration::from_secs(120))].into(),
        ..Default::default()
    })
    .await;
    let out = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_prober"))
        .args(["--url", &server.url("/"), "--rps", "50", "--duration", "1s"])
        .args(["--timeout", "60s", "--quiet"])
        .arg("--out")
        .arg(out.path())
        .env("PROBER_LOG", "info")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn prober");
    let pid = child.id().expect("running");
    // The prober says when its schedule is sent; the server has not answered any request yet.
    let mut stderr = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let waiting = async {
        while let Some(line) = stderr.next_line().await.expect("stderr") {
            if line.contains("waiting for the requests in flight") {
                return;
            }
        }
        panic!("the prober ended without saying it waits for its requests");
    };
    tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("the prober sends its schedule");
    assert_eq!(server.truth().responses, 0, "no request was answered yet");
    tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(kill.success());
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("the prober exits within 15 s of the signal, not after its 60 s timeout")
        .expect("wait");
    assert_eq!(status.code(), Some(143), "{status:?}");
    let report = read_json(&out.path().join("report.json"));
    assert_eq!(report["interrupted"], true);
    assert_eq!(report["verdict"], "interrupted");
}
