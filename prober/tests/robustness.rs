//! What a hostile or broken target, or a hostile environment, must not do to a run: endless
//! distinct versions, versions that make bad file names, a target that never answers, most
//! requests failing, secrets in the query string, an `--out` that cannot be written, a lost
//! artifact. Each case runs the real prober against a real server on loopback.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{
    RUN_DEADLINE, ServerConfig, TestServer, WeightPlan, base_args, closed_port, files_under,
    read_json, run_prober, run_prober_into,
};
use rollout::Verdict;

/// `report.json` as a JSON value (fields newer than the model a test was written against are
/// read by name).
fn report_value(dir: &Path) -> serde_json::Value {
    read_json(&dir.join("report.json"))
}

/// The `latency-*.hgrm` files (each beside its `ttfb-*.hgrm`).
fn hgrm_files(dir: &Path) -> Vec<String> {
    files_under(dir)
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
        .filter(|n| n.starts_with("latency-") && n.ends_with(".hgrm"))
        .collect()
}

/// The `Total count` an `.hgrm` file's footer states.
fn hgrm_total(path: &Path) -> u64 {
    let text = std::fs::read_to_string(path).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("Total count"))
        .unwrap_or_else(|| panic!("{} has no total count", path.display()));
    line.rsplit('=')
        .next()
        .and_then(|v| v.trim().trim_end_matches(']').trim().parse().ok())
        .unwrap_or_else(|| panic!("{line}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_distinct_versions_stay_bounded() {
    let server = TestServer::start(ServerConfig {
        distinct_versions: true,
        ..Default::default()
    })
    .await;
    let mut args = base_args(&server.url("/"), 200, "3s");
    args.extend(["--max-versions".to_owned(), "8".to_owned()]);
    let run = run_prober(&args).await;
    let truth = server.truth();
    let report = report_value(run.out());

    let versions = report["versions"].as_object().unwrap();
    assert_eq!(versions.len(), 8, "the first 8 versions are tracked");
    assert_eq!(
        hgrm_files(run.out()).len(),
        8,
        "one .hgrm per tracked version"
    );
    assert_eq!(report["timeline"]["versions"].as_array().unwrap().len(), 8);
    let tracked: u64 = versions
        .values()
        .map(|v| v["requests"].as_u64().unwrap())
        .sum();
    let other = &report["other_versions"];
    assert_eq!(other["max_versions"], 8);
    assert_eq!(tracked, 8, "one response per distinct version");
    assert_eq!(
        tracked + other["requests"].as_u64().unwrap(),
        truth.responses,
        "every response is counted, tracked or not"
    );
    assert_eq!(other["latency_ms"]["count"], other["requests"]);
    // 600 distinct versions used to take ~630 KB each in memory and a share of report.json.
    assert!(truth.responses >= 500, "{}", truth.responses);
    let size = std::fs::metadata(run.out().join("report.json"))
        .unwrap()
        .len();
    assert!(size < 200_000, "report.json is {size} bytes");
    run.assert_verdict(Verdict::Completed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn colliding_and_long_versions_get_their_own_files_and_keep_the_verdict() {
    let long = "v".repeat(300);
    for (old, new) in [("a/b", "a_b"), ("7", long.as_str())] {
        let server = TestServer::start(ServerConfig {
            old_version: old.to_owned(),
            new_version: new.to_owned(),
            plan: WeightPlan::from_steps(vec![(0.0, 0.5)]),
            seed: 21,
            ..Default::default()
        })
        .await;
        let run = run_prober(&base_args(&server.url("/"), 100, "2s")).await;
        let truth = server.truth();
        let report = report_value(run.out());
        let files = report["latency_files"].as_object().unwrap();
        assert_eq!(files.len(), 2, "{files:?}");
        let (f_old, f_new) = (files[old].as_str().unwrap(), files[new].as_str().unwrap());
        assert_ne!(f_old, f_new);
        for (version, file) in [(old, f_old), (new, f_new)] {
            assert_eq!(
                hgrm_total(&run.out().join(file)),
                truth.tagged(version),
                "{file} holds {version}'s responses"
            );
        }
        assert_eq!(hgrm_files(run.out()).len(), 2);
        assert_eq!(run.outcome.exit_code, run.report().exit_code);
        assert!(run.outcome.artifact_errors.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_artifact_does_not_cost_the_verdict() {
    let server = TestServer::start(ServerConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    // A non-empty directory where split.svg goes: the rename onto it fails.
    std::fs::create_dir_all(dir.path().join("split.svg/blocker")).unwrap();
    let run = run_prober_into(&base_args(&server.url("/"), 50, "1s"), dir).await;

    run.assert_verdict(Verdict::Completed, 0);
    assert_eq!(
        run.outcome.artifact_errors.len(),
        1,
        "{:?}",
        run.outcome.artifact_errors
    );
    assert!(run.outcome.artifact_errors[0].contains("split.svg"));
    run.assert_written_report_is_returned();
    for artifact in ["junit.xml", "latency.svg", "timeline.csv"] {
        assert!(
            run.out().join(artifact).is_file(),
            "{artifact} still written"
        );
    }
}

/// A run without `--duration` against a target that never answers ends well within 20 s,
/// inconclusive, naming the cause with counts.
async fn diagnosed(url: &str, extra: &[&str], cause: &str, hint: &str) {
    let mut args: Vec<String> = ["--url", url, "--rps", "20"]
        .iter()
        .chain(extra)
        .map(|s| (*s).to_owned())
        .collect();
    args.extend(["--timeout".to_owned(), "2s".to_owned()]);
    let run = run_prober(&args).await;
    let report = run.report();
    run.assert_verdict(Verdict::Inconclusive, 3);
    // Requests still in flight when the run stops are abandoned, not failures of the target.
    let causes = &report.totals.failure_causes;
    let failed = report.totals.sent - causes.get("interrupted").copied().unwrap_or(0);
    assert!(failed >= 5, "{:?}", report.totals);
    let reason = &report.verdict_reason;
    assert!(
        reason.contains(&format!("{cause}: {failed}/{failed}")),
        "{cause}: {reason}"
    );
    assert!(reason.contains(hint), "{hint}: {reason}");
    assert!(!reason.contains("check the version header"), "{reason}");
    assert_eq!(causes[cause], failed, "{causes:?}");
    assert!(run.wall < Duration::from_secs(20), "{url}: {:?}", run.wall);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_port_is_diagnosed_and_the_run_stops_early() {
    let url = format!("http://127.0.0.1:{}/", closed_port());
    diagnosed(&url, &[], "connection refused", "nothing listens").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unresolvable_host_is_diagnosed() {
    diagnosed(
        "http://rollcall-prober-test.invalid/",
        &[],
        "host not found",
        "does not resolve",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_a_plain_port_is_diagnosed() {
    let server = TestServer::start(ServerConfig::default()).await;
    let url = format!("https://{}/", server.addr);
    diagnosed(&url, &[], "not TLS", "use http://").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_against_an_http1_server_is_diagnosed() {
    let server = TestServer::start(ServerConfig {
        http1_only: true,
        ..Default::default()
    })
    .await;
    let mut args = base_args(&server.url("/"), 20, "20s");
    args.extend([
        "--http2".to_owned(),
        "--timeout".to_owned(),
        "2s".to_owned(),
    ]);
    let run = run_prober(&args).await;
    let report = run.report();
    run.assert_verdict(Verdict::Inconclusive, 3);
    assert_eq!(report.totals.responses, 0, "{:?}", report.totals);
    assert!(
        report.verdict_reason.contains("drop --http2"),
        "{}",
        report.verdict_reason
    );
    assert!(
        run.wall < Duration::from_secs(15),
        "stopped early: {:?}",
        run.wall
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn most_requests_failing_never_exits_zero() {
    let server = TestServer::start(ServerConfig {
        plan: WeightPlan::from_steps(vec![(0.0, 1.0)]),
        new_error_share: 0.8,
        seed: 31,
        ..Default::default()
    })
    .await;
    let run = run_prober(&base_args(&server.url("/"), 100, "2s")).await;
    let report = run.report();
    let truth = server.truth();
    assert!(
        truth.by_version["8"].errors * 2 > truth.requests,
        "most requests failed: {truth:?}"
    );
    run.assert_verdict(Verdict::ErrorBudget, 4);
    assert_eq!(
        report.config.max_error_rate,
        Some(0.5),
        "the default is recorded"
    );
    assert!(
        report.verdict_reason.contains("default"),
        "{}",
        report.verdict_reason
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_out_is_refused_before_the_first_request() {
    let server = TestServer::start(ServerConfig::default()).await;
    // An existing directory in which no one, not even root, can create a file.
    let out = "/proc/self";
    let mut args = base_args(&server.url("/"), 50, "3s");
    args.extend(["--out".to_owned(), out.to_owned(), "--quiet".to_owned()]);
    let err = tokio::time::timeout(RUN_DEADLINE, prober::run(common::cli(args)))
        .await
        .expect("ends")
        .expect_err("an unwritable --out is an error");
    assert_eq!(err.exit_code(), 73, "{err}");
    let message = err.to_string();
    assert!(
        message.contains(out) && message.contains("--out"),
        "{message}"
    );
    assert_eq!(server.truth().requests, 0, "no request sent");
}

const SECRETS: [&str; 5] = ["T0KEN", "S1GNATURE", "CRED3NTIAL", "AP1KEY", "C0DE"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_string_secrets_stay_out_of_artifacts_and_logs() {
    let server = TestServer::start(ServerConfig::default()).await;
    let query = format!(
        "token={}&X-Amz-Signature={}&X-Amz-Credential={}&api_key={}&code={}&page=2",
        SECRETS[0], SECRETS[1], SECRETS[2], SECRETS[3], SECRETS[4]
    );
    let url = server.url(&format!("/hello?{query}"));
    let out = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_prober"))
        .args(["--url", &url, "--rps", "20", "--duration", "1s"])
        .arg("--out")
        .arg(out.path())
        .env("PROBER_LOG", "debug")
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null())
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), output)
        .await
        .expect("exits")
        .expect("spawn prober");
    assert_eq!(output.status.code(), Some(0));
    assert!(
        server.truth().paths.contains(&format!("/hello?{query}")),
        "the request carries the query as given"
    );
    let logs = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    assert!(logs.contains("page=2"), "the URL is logged: {logs}");
    let files = files_under(out.path());
    assert!(files.len() >= 6, "{files:?}");
    let report = std::fs::read_to_string(out.path().join("report.json")).unwrap();
    assert!(report.contains("token=REDACTED"), "{report}");
    for secret in SECRETS {
        assert!(!logs.contains(secret), "{secret} in the log");
        for file in &files {
            let bytes = std::fs::read(file).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(secret),
                "{secret} in {}",
                file.display()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_secret_header_is_not_echoed() {
    let url = format!("http://127.0.0.1:{}/?token=T0KEN", closed_port());
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_prober"))
        .args(["--url", &url, "-H", "AuthorizationS3CRET"])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), output)
        .await
        .expect("exits")
        .expect("spawn prober");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains("--header"), "{stderr}");
    assert!(!stderr.contains("S3CRET"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_is_not_completed() {
    let server = TestServer::start(ServerConfig::default()).await;
    let mut served = server.served_watch();
    let interrupt = async move {
        let _ = served.wait_for(|&n| n >= 50).await;
    };
    let run = common::run_prober_until(&base_args(&server.url("/"), 100, "60s"), interrupt).await;
    run.assert_verdict(Verdict::Interrupted, 130);
    let report = run.report();
    assert!(report.interrupted);
    assert!(
        report.verdict_reason.contains("interrupted by SIGINT"),
        "{}",
        report.verdict_reason
    );
    assert_eq!(run.written_report().verdict, Verdict::Interrupted);
}
