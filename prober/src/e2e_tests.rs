//! End-to-end self-checks: the prober run in-process against real hyper servers on
//! 127.0.0.1 port 0.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use clap::Parser;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use crate::{Cli, run_with_shutdown};

/// What the test server saw.
#[derive(Debug, Default)]
struct Seen {
    requests: AtomicU64,
    http2: AtomicU64,
    authorization: std::sync::Mutex<Option<String>>,
}

type Handler = fn(u64) -> Response<Full<Bytes>>;

/// Serves HTTP/1.1 and HTTP/2 (prior knowledge) on 127.0.0.1:0; `handler` gets the request's
/// sequence number.
async fn serve(handler: Handler) -> (SocketAddr, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let state = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let state = state.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let n = state.requests.fetch_add(1, Ordering::SeqCst);
                        if req.version() == http::Version::HTTP_2 {
                            state.http2.fetch_add(1, Ordering::SeqCst);
                        }
                        if let Some(a) = req.headers().get("authorization") {
                            *state.authorization.lock().unwrap() =
                                a.to_str().ok().map(str::to_owned);
                        }
                        async move { Ok::<_, Infallible>(handler(n)) }
                    });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, seen)
}

fn tagged(n: u64) -> Response<Full<Bytes>> {
    let version = if n % 4 == 3 { "2" } else { "1" };
    let mut r = Response::new(Full::new(Bytes::from_static(b"ok")));
    r.headers_mut()
        .insert("x-rollcall-version", version.parse().unwrap());
    if n < 2 {
        r.headers_mut()
            .insert("x-rollcall-cold", "1".parse().unwrap());
    }
    r
}

fn cli(args: &[&str]) -> Cli {
    let mut all = vec!["prober", "--quiet"];
    all.extend_from_slice(args);
    Cli::try_parse_from(all).unwrap()
}

fn never() -> std::future::Pending<()> {
    std::future::pending()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_a_local_server_and_writes_every_artifact() {
    let (addr, seen) = serve(tagged).await;
    let out = tempfile::tempdir().unwrap();
    let url = format!("http://{addr}/hello");
    let args = [
        "--url",
        &url,
        "--rps",
        "200",
        "--duration",
        "2s",
        "--out",
        out.path().to_str().unwrap(),
    ];
    let outcome = run_with_shutdown(cli(&args), never()).await.unwrap();
    let r = &outcome.report;
    assert_eq!(r.totals.planned, 400);
    assert_eq!(r.totals.sent, 400, "{:?}", r.totals);
    assert_eq!(r.totals.responses, 400);
    assert_eq!(seen.requests.load(Ordering::SeqCst), 400);
    assert_eq!(r.versions["1"].requests, 300);
    assert_eq!(r.versions["2"].requests, 100);
    assert_eq!(r.versions["1"].cold_starts + r.versions["2"].cold_starts, 2);
    assert_eq!(r.versions["1"].status_codes["200"], 300);
    assert_eq!(r.untagged, 0);
    assert_eq!(r.timeline.totals().iter().sum::<u64>(), 400);
    assert!(
        r.totals.achieved_rps > 190.0 && r.totals.achieved_rps < 210.0,
        "{}",
        r.totals.achieved_rps
    );
    assert_eq!(r.totals.errors_by_kind.values().sum::<u64>(), 0);
    assert!(!r.interrupted);
    assert_eq!(outcome.exit_code, r.verdict.exit_code());
    for name in [
        "report.json",
        "timeline.csv",
        "latency-1.hgrm",
        "latency-2.hgrm",
        "latency.hlog",
        "ttfb.hlog",
        "split.svg",
        "latency.svg",
        "junit.xml",
    ] {
        assert!(out.path().join(name).is_file(), "{name} written");
    }
    let on_disk: rollout::Report =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    // Floats may differ in the last digit through JSON; compare what must be exact.
    assert_eq!(
        (on_disk.verdict, on_disk.exit_code),
        (r.verdict, r.exit_code)
    );
    assert_eq!(on_disk.totals.sent, r.totals.sent);
    assert_eq!(on_disk.timeline, r.timeline);
    assert_eq!(on_disk.histograms, r.histograms);
    assert_eq!(
        on_disk.timeline.versions,
        ["1", "2"],
        "versions in order of first appearance"
    );
    let csv = std::fs::read_to_string(out.path().join("timeline.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        3,
        "header + one row per second:\n{csv}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shutdown_future_interrupts_and_artifacts_are_still_written() {
    let (addr, seen) = serve(tagged).await;
    let out = tempfile::tempdir().unwrap();
    let url = format!("http://{addr}/");
    let args = [
        "--url",
        &url,
        "--rps",
        "100",
        "--duration",
        "10m",
        "--out",
        out.path().to_str().unwrap(),
    ];
    let watcher = seen.clone();
    let shutdown = async move {
        // Poll until the server has answered 30 requests, then interrupt.
        while watcher.requests.load(Ordering::SeqCst) < 30 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    };
    let outcome = run_with_shutdown(cli(&args), shutdown).await.unwrap();
    assert!(outcome.report.interrupted);
    let t = &outcome.report.totals;
    assert!(t.sent >= 30);
    assert_eq!(
        t.sent,
        t.responses + t.errors_by_kind.values().sum::<u64>(),
        "{t:?}"
    );
    assert_eq!(
        t.sent,
        seen.requests.load(Ordering::SeqCst),
        "every request the server saw"
    );
    assert!(outcome.report.duration_secs < 60.0);
    let text = std::fs::read_to_string(out.path().join("report.json")).unwrap();
    assert!(text.contains("\"interrupted\": true"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_target_is_inconclusive_with_connect_errors() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/");
    let outcome = run_with_shutdown(
        cli(&["--url", &url, "--rps", "50", "--duration", "1s"]),
        never(),
    )
    .await
    .unwrap();
    let r = &outcome.report;
    assert_eq!(r.totals.sent, 50);
    assert_eq!(r.totals.responses, 0);
    assert_eq!(r.totals.errors_by_kind["connect"], 50);
    assert_eq!(r.verdict, rollout::Verdict::Inconclusive);
    assert_eq!(outcome.exit_code, 3);
    assert!((r.totals.error_rate - 1.0).abs() < 1e-12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_prior_knowledge_shares_one_connection() {
    let (addr, seen) = serve(tagged).await;
    let url = format!("http://{addr}/");
    let outcome = run_with_shutdown(
        cli(&["--url", &url, "--rps", "100", "--duration", "1s", "--http2"]),
        never(),
    )
    .await
    .unwrap();
    assert_eq!(outcome.report.totals.responses, 100);
    assert_eq!(seen.http2.load(Ordering::SeqCst), 100);
}

fn json_version(_: u64) -> Response<Full<Bytes>> {
    Response::new(Full::new(Bytes::from_static(
        br#"{"meta":{"version":"5"}}"#,
    )))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_from_a_json_pointer_and_secrets_stay_out_of_the_report() {
    let (addr, seen) = serve(json_version).await;
    let out = tempfile::tempdir().unwrap();
    let url = format!("http://alice:s3cret@{addr}/");
    let args = [
        "--url",
        &url,
        "--rps",
        "50",
        "--duration",
        "1s",
        "--version-json",
        "/meta/version",
        "--header",
        "x-api-key: k3y-value",
        "--out",
        out.path().to_str().unwrap(),
    ];
    let outcome = run_with_shutdown(cli(&args), never()).await.unwrap();
    assert_eq!(outcome.report.versions["5"].requests, 50);
    assert_eq!(
        seen.authorization.lock().unwrap().as_deref(),
        Some("Basic YWxpY2U6czNjcmV0")
    );
    for entry in std::fs::read_dir(out.path()).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
        assert!(!text.contains("s3cret") && !text.contains("k3y-value") && !text.contains("alice"));
    }
}

fn failing(n: u64) -> Response<Full<Bytes>> {
    let mut r = tagged(n);
    if n % 10 == 0 {
        *r.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
    }
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_budget_counts_5xx() {
    let (addr, _) = serve(failing).await;
    let url = format!("http://{addr}/");
    let args = [
        "--url",
        &url,
        "--rps",
        "100",
        "--duration",
        "1s",
        "--max-error-rate",
        "0.05",
    ];
    let outcome = run_with_shutdown(cli(&args), never()).await.unwrap();
    let r = &outcome.report;
    assert_eq!(r.totals.errors_by_kind["5xx"], 10);
    assert!((r.totals.error_rate - 0.1).abs() < 1e-12);
    assert_eq!(
        r.verdict,
        rollout::Verdict::ErrorBudget,
        "{}",
        r.verdict_reason
    );
    assert_eq!(outcome.exit_code, 4);
}

#[tokio::test]
async fn usage_errors_come_back_as_64() {
    let err = run_with_shutdown(
        cli(&["--url", "http://127.0.0.1:9/", "--rps", "0"]),
        never(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.exit_code(), 64);
    let err = run_with_shutdown(
        Cli::try_parse_from(["prober", "merge", "/nonexistent", "--out", "/tmp/x"]).unwrap(),
        never(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.exit_code(), 64);
}

fn switch_at_100(n: u64) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(b"ok")));
    let version = if n < 100 { "1" } else { "2" };
    r.headers_mut()
        .insert("x-rollcall-version", version.parse().unwrap());
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_duration_the_run_stops_once_the_deployment_completed() {
    let (addr, _) = serve(switch_at_100).await;
    let url = format!("http://{addr}/");
    let args = [
        "--url",
        &url,
        "--rps",
        "100",
        "--max-duration",
        "40s",
        "--timeout",
        "2s",
    ];
    let outcome = run_with_shutdown(cli(&args), never()).await.unwrap();
    let r = &outcome.report;
    assert!(!r.interrupted);
    let completed = r.completed_at.expect("completion seen");
    assert!((completed - 1.0).abs() < 0.5, "completed_at {completed}");
    assert!(r.duration_secs < 20.0, "stopped early: {}", r.duration_secs);
    assert_eq!(r.totals.planned, r.totals.sent, "{:?}", r.totals);
    assert_eq!(
        r.verdict,
        rollout::Verdict::Completed,
        "{}",
        r.verdict_reason
    );
    assert_eq!(outcome.exit_code, 0);
}
