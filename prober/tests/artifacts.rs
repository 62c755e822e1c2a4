//! The artifacts of a run: they exist, parse, agree with report.json, validate against the
//! schema, keep secrets out, and merge exactly.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use common::checks::{assert_accounted, assert_valid_report};
use common::{
    Run, ServerConfig, TestServer, WeightPlan, base_args, files_under, read_json, run_prober,
};
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

const SECRET_TOKEN: &str = "sekrit-token-5b1f0e";
const SECRET_KEY: &str = "apikey-s3cr3t-77d2";

fn canary_server(seed: u64) -> ServerConfig {
    ServerConfig {
        plan: WeightPlan::from_schedule("canary:50%:1s"),
        deployment_delay: Duration::from_millis(500),
        cold_marks: true,
        seed,
        ..Default::default()
    }
}

/// The files of `dir` whose name ends with `suffix`.
fn with_suffix(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with(suffix))
        })
        .collect()
}

/// Decodes a base64 HdrHistogram V2 (deflate or not) encoding.
fn decode_histogram(encoded: &str) -> Histogram<u64> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .expect("base64");
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .expect("HdrHistogram V2 encoding")
}

fn parse_xml(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text)
        .unwrap_or_else(|e| panic!("{} is not well-formed XML: {e}", path.display()));
    doc.root_element().tag_name().name().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artifacts_exist_parse_agree_and_keep_secrets_out() {
    let server = TestServer::start(canary_server(11)).await;
    let body_dir = tempfile::tempdir().unwrap();
    let body_file = body_dir.path().join("body.json");
    std::fs::write(&body_file, br#"{"probe":true}"#).unwrap();
    let mut args = base_args(&server.url("/probe?x=1"), 100, "3s");
    args.extend([
        "--schedule".to_owned(),
        "canary:50%:1s".to_owned(),
        "--method".to_owned(),
        "POST".to_owned(),
        "--body-file".to_owned(),
        body_file.display().to_string(),
        "--header".to_owned(),
        format!("Authorization: Bearer {SECRET_TOKEN}"),
        "--header".to_owned(),
        format!("x-api-key: {SECRET_KEY}"),
    ]);
    let run = run_prober(&args).await;
    let report = run.report();
    let truth = server.truth();

    // The flags reached the server.
    assert_eq!(truth.methods.iter().collect::<Vec<_>>(), ["POST"]);
    assert!(
        truth.bodies.contains(br#"{"probe":true}"#.as_slice()),
        "{:?}",
        truth.bodies
    );
    assert!(truth.headers["authorization"].contains(&format!("Bearer {SECRET_TOKEN}")));
    assert!(truth.headers["x-api-key"].contains(SECRET_KEY));
    assert_accounted(&truth, report);

    // No artifact holds a secret, in its name or its bytes.
    assert_no_secret_in(run.out(), &[SECRET_TOKEN, SECRET_KEY]);

    assert_valid_report(&run.out().join("report.json"));
    check_timeline_csv(&run);
    check_hgrm(&run);
    check_hlog(&run);
    for svg in ["split.svg", "latency.svg"] {
        assert_eq!(
            parse_xml(&run.out().join(svg)),
            "svg",
            "{svg} is an SVG document"
        );
    }
    check_junit(&run);
}

/// Fails when any file under `dir` holds one of `secrets`, in its name or its bytes.
fn assert_no_secret_in(dir: &Path, secrets: &[&str]) {
    let files = files_under(dir);
    assert!(!files.is_empty(), "{} holds artifacts", dir.display());
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        for secret in secrets {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{} contains the secret {secret}", file.display());
            assert!(!file.display().to_string().contains(secret));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_credentials_are_sent_but_never_written() {
    let server = TestServer::start(canary_server(13)).await;
    let password = "urlpass-9c1e44";
    let url = format!("http://probeuser:{password}@{}/", server.addr);
    let run = run_prober(&base_args(&url, 50, "1s")).await;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("probeuser:{password}"));

    let truth = server.truth();
    assert!(
        truth
            .headers
            .get("authorization")
            .is_some_and(|v| v.contains(&format!("Basic {basic}"))),
        "user info becomes basic auth: {:?}",
        truth.headers.get("authorization")
    );
    assert_accounted(&truth, run.report());
    assert_no_secret_in(run.out(), &[password, &basic]);
    assert!(
        !run.report().config.url.contains("probeuser"),
        "{}",
        run.report().config.url
    );
}

/// `timeline.csv`: a header naming each version, and rows whose version columns add up to the
/// report's per-version counts.
fn check_timeline_csv(run: &Run) {
    let report = run.report();
    let text = std::fs::read_to_string(run.out().join("timeline.csv")).expect("timeline.csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .expect("a header")
        .split(',')
        .map(str::trim)
        .collect();
    let rows: Vec<Vec<&str>> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(str::trim).collect())
        .collect();
    assert!(!rows.is_empty(), "timeline.csv has rows");
    for row in &rows {
        assert_eq!(row.len(), header.len(), "row {row:?} vs header {header:?}");
    }
    for (version, v) in &report.versions {
        let column = header
            .iter()
            .position(|h| {
                h.trim_matches('"') == version
                    || h.trim_matches('"').ends_with(&format!("_{version}"))
            })
            .unwrap_or_else(|| panic!("no column for version {version} in {header:?}"));
        let sum: u64 = rows
            .iter()
            .map(|r| r[column].trim_matches('"').parse::<u64>().expect("a count"))
            .sum();
        assert_eq!(sum, v.requests, "timeline.csv column {:?}", header[column]);
    }
}

/// One `.hgrm` per version, in the HdrHistogram percentile format, holding every response.
fn check_hgrm(run: &Run) {
    let report = run.report();
    let hgrms = with_suffix(run.out(), ".hgrm");
    for (version, v) in &report.versions {
        let file = hgrms
            .iter()
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("latency-")
            })
            .find(|p| {
                p.file_stem()
                    .unwrap()
                    .to_string_lossy()
                    .split(['-', '_', '.'])
                    .any(|part| part == version)
            })
            .unwrap_or_else(|| panic!("no .hgrm for version {version} in {hgrms:?}"));
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            text.contains("Percentile") && text.contains("TotalCount"),
            "{}: percentile header",
            file.display()
        );
        let total: u64 = text
            .lines()
            .find_map(|l| l.split("Total count").nth(1))
            .and_then(|rest| {
                rest.trim_start_matches([' ', '='])
                    .split(|c: char| !c.is_ascii_digit())
                    .next()?
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("{}: no '#[... Total count = N]' footer", file.display()));
        assert_eq!(total, v.requests, "{}", file.display());
    }
}

/// The tagged interval logs (`latency.hlog`, `ttfb.hlog`) decode with the HdrHistogram tools,
/// one tag per version, and each one's intervals add up to every response of that version.
fn check_hlog(run: &Run) {
    let report = run.report();
    let hlogs = with_suffix(run.out(), ".hlog");
    assert_eq!(hlogs.len(), 2, "two interval logs: {hlogs:?}");
    for name in ["latency.hlog", "ttfb.hlog"] {
        let bytes = std::fs::read(run.out().join(name)).unwrap();
        let mut per_tag: BTreeMap<String, u64> = BTreeMap::new();
        for entry in IntervalLogIterator::new(&bytes) {
            if let LogEntry::Interval(interval) = entry.expect("a valid interval log entry") {
                let tag = interval
                    .tag()
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default();
                *per_tag.entry(tag).or_default() +=
                    decode_histogram(interval.encoded_histogram()).len();
            }
        }
        for (version, v) in &report.versions {
            let counted = per_tag
                .iter()
                .filter(|(tag, _)| tag.split(['-', '_', '=', ':']).any(|p| p == version))
                .map(|(_, n)| n)
                .sum::<u64>();
            assert_eq!(
                counted, v.requests,
                "{name} tags {per_tag:?}, version {version}"
            );
        }
    }
}

/// `junit.xml` is JUnit XML with test cases, failing exactly when the verdict is not a pass.
fn check_junit(run: &Run) {
    let path = run.out().join("junit.xml");
    let text = std::fs::read_to_string(&path).expect("junit.xml");
    let doc = roxmltree::Document::parse(&text).expect("junit.xml is XML");
    let root = doc.root_element().tag_name().name();
    assert!(
        root == "testsuites" || root == "testsuite",
        "junit root {root}"
    );
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert!(!cases.is_empty(), "junit.xml has test cases");
    let failed = cases.iter().any(|c| {
        c.children()
            .any(|n| n.has_tag_name("failure") || n.has_tag_name("error"))
    });
    assert_eq!(
        failed,
        run.outcome.exit_code != 0,
        "junit failures vs exit {}",
        run.outcome.exit_code
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_of_two_runs_is_their_sum() {
    let server = TestServer::start(ServerConfig {
        plan: WeightPlan::from_steps(vec![(0.0, 0.5)]),
        seed: 12,
        ..Default::default()
    })
    .await;
    let args = base_args(&server.url("/"), 100, "3s");
    let (a, b) = tokio::join!(run_prober(&args), run_prober(&args));
    let merged_dir = tempfile::tempdir().unwrap();
    let merge = common::cli([
        "merge".to_owned(),
        a.out().display().to_string(),
        b.out().join("report.json").display().to_string(),
        "--out".to_owned(),
        merged_dir.path().display().to_string(),
    ]);
    let outcome = tokio::time::timeout(common::RUN_DEADLINE, prober::run(merge))
        .await
        .expect("merge ends")
        .expect("merge succeeds");
    let merged = &outcome.report;
    let (ra, rb) = (a.report(), b.report());

    // The server saw both runs: together they account for every response.
    let truth = server.truth();
    for (version, served) in &truth.by_version {
        assert_eq!(
            merged.versions[version].requests, served.tagged,
            "version {version}"
        );
    }
    assert_eq!(merged.merged_runs, 2);
    assert_eq!(merged.totals.sent, ra.totals.sent + rb.totals.sent);
    assert_eq!(
        merged.totals.responses,
        ra.totals.responses + rb.totals.responses
    );
    assert_eq!(merged.untagged, ra.untagged + rb.untagged);
    let merged_timeline: u64 = merged.timeline.totals().iter().sum();
    let parts: u64 = ra
        .timeline
        .totals()
        .iter()
        .chain(rb.timeline.totals().iter())
        .sum();
    assert_eq!(merged_timeline, parts, "timeline counts add");
    for (version, v) in &merged.versions {
        let part = |r: &rollout::Report| r.versions.get(version).cloned().unwrap_or_default();
        let (pa, pb) = (part(ra), part(rb));
        assert_eq!(v.requests, pa.requests + pb.requests, "version {version}");
        assert_eq!(
            v.latency_ms.count,
            pa.latency_ms.count + pb.latency_ms.count
        );
        for (code, n) in &v.status_codes {
            let sum =
                pa.status_codes.get(code).unwrap_or(&0) + pb.status_codes.get(code).unwrap_or(&0);
            assert_eq!(*n, sum, "version {version} status {code}");
        }
        let hist = |r: &rollout::Report| {
            r.histograms
                .get(version)
                .map(|h| decode_histogram(&h.corrected))
        };
        let merged_hist = decode_histogram(&merged.histograms[version].corrected);
        let mut expected = hist(ra).expect("run a saw every version");
        expected
            .add(hist(rb).expect("run b saw every version"))
            .unwrap();
        assert_eq!(
            merged_hist.len(),
            expected.len(),
            "version {version}: histogram totals add"
        );
        assert_eq!(
            merged_hist.max(),
            expected.max(),
            "version {version}: merged max"
        );
        assert_eq!(
            merged_hist.value_at_quantile(0.99),
            expected.value_at_quantile(0.99)
        );
    }
    assert_valid_report(&merged_dir.path().join("report.json"));
    assert_eq!(
        read_json(&merged_dir.path().join("report.json"))["merged_runs"],
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_aligns_runs_started_at_different_times() {
    let server = TestServer::start(ServerConfig {
        plan: WeightPlan::from_steps(vec![(0.0, 0.5)]),
        seed: 17,
        ..Default::default()
    })
    .await;
    let args = base_args(&server.url("/"), 100, "3s");
    let first = tokio::spawn({
        let args = args.clone();
        async move { run_prober(&args).await }
    });
    // Start the second run once the first has been sending for about a second.
    tokio::time::timeout(common::RUN_DEADLINE, server.served_at_least(100))
        .await
        .expect("the first run sends requests");
    let b = run_prober(&args).await;
    let a = first.await.expect("first run");
    let (ra, rb) = (a.report(), b.report());
    assert!(rb.started_at_unix_ms > ra.started_at_unix_ms);

    let merged_dir = tempfile::tempdir().unwrap();
    let merge = common::cli([
        "merge".to_owned(),
        b.out().display().to_string(),
        a.out().display().to_string(),
        "--out".to_owned(),
        merged_dir.path().display().to_string(),
    ]);
    let merged = prober::run(merge).await.expect("merge succeeds").report;

    // The earlier run is the origin, whatever the order of the inputs.
    assert_eq!(merged.started_at_unix_ms, ra.started_at_unix_ms);
    let offset = (rb.started_at_unix_ms - ra.started_at_unix_ms) as f64 / 1000.0;
    assert!(
        (merged.duration_secs - (offset + rb.duration_secs)).abs() <= 0.15,
        "merged duration {} vs offset {offset} + {}",
        merged.duration_secs,
        rb.duration_secs
    );
    // Before the second run began, the merged timeline is the first run's, bin for bin.
    let bin = merged.timeline.bin_secs;
    let untouched = ((offset / bin).floor() as usize).saturating_sub(1);
    assert!(
        untouched >= 5,
        "the runs overlap only partly: offset {offset} s"
    );
    let column = |tl: &rollout::Timeline, v: &str| tl.versions.iter().position(|x| x == v);
    for version in ["7", "8"] {
        let (m, x) = (
            column(&merged.timeline, version).unwrap(),
            column(&ra.timeline, version).unwrap(),
        );
        for i in 0..untouched {
            assert_eq!(
                merged.timeline.counts[i][m], ra.timeline.counts[i][x],
                "bin {i}, version {version}"
            );
        }
    }
    let total = |r: &rollout::Report| r.timeline.totals().iter().sum::<u64>();
    assert_eq!(total(&merged), total(ra) + total(rb));
    assert_eq!(merged.totals.sent, ra.totals.sent + rb.totals.sent);
}
