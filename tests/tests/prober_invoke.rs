//! `prober --invoke` against the lab's Lambda API: the probes are Invoke calls (signed for
//! `lambda`, to the endpoint the SDK resolves from `AWS_ENDPOINT_URL_LAMBDA`), the version of
//! each is read from `X-Amz-Executed-Version`, and a failing function counts `function_error`.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use lab::lab::Lab;

/// Weight of version 2 on `hello:live`.
const WEIGHT: f64 = 0.3;
const RUN_DEADLINE: Duration = Duration::from_secs(120);

/// `hello` (`lab-testfn`) at versions 1 and 2, `live` sending [`WEIGHT`] to version 2.
async fn hello_lab(dir: &Path) -> Lab {
    let testfn = test_support::executable(&["lab-testfn"], "lab-testfn");
    let mut versions = Vec::new();
    for v in ["1", "2"] {
        let code = dir.join(v);
        std::fs::create_dir_all(&code).unwrap();
        std::fs::copy(&testfn, code.join("bootstrap")).unwrap();
        versions.push(format!("{v}={}", code.display()));
    }
    let weights = format!("1={},2={WEIGHT}", 1.0 - WEIGHT);
    let args = [
        "--function",
        "hello",
        "--version",
        &versions[0],
        "--version",
        &versions[1],
        "--alias",
        "live",
        "--weights",
        &weights,
        "--seed",
        "12",
    ];
    let config = lab::cli::serve_config(&args).unwrap_or_else(|e| panic!("{e}"));
    Lab::start(&config).await.expect("the lab starts")
}

/// Runs the prober with `args`, its AWS environment pointing at `lab` (dummy credentials, no
/// profile, no instance metadata; `AWS_REGION` only when `region`), and returns its exit code
/// and report.
async fn prober(lab: &Lab, args: &[&str], region: bool) -> (Option<i32>, rollout::Report) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut cmd = tokio::process::Command::new(test_support::executable(&["prober"], "prober"));
    for var in [
        "AWS_PROFILE",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_LAMBDA", lab.lambda_url())
        .env("AWS_ACCESS_KEY_ID", "AKIDROLLCALLTEST")
        .env("AWS_SECRET_ACCESS_KEY", "rollcall-test-secret")
        .env("AWS_CONFIG_FILE", dir.path().join("config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.path().join("credentials"),
        )
        .args(args)
        .args(["--quiet", "--out"])
        .arg(&out)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if region {
        cmd.env("AWS_REGION", lab.scope.region.as_str());
    }
    let output = tokio::time::timeout(RUN_DEADLINE, cmd.output())
        .await
        .expect("the prober exits")
        .expect("the prober runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = std::fs::read(out.join("report.json"))
        .unwrap_or_else(|e| panic!("no report.json ({e}): {stderr}"));
    (
        output.status.code(),
        serde_json::from_slice(&report).expect("report.json parses"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_reads_the_executed_version_at_the_alias_weight() {
    let dir = tempfile::tempdir().unwrap();
    let lab = hello_lab(dir.path()).await;
    let (code, report) = prober(
        &lab,
        &["--invoke", "hello:live", "--rps", "100", "--duration", "4s"],
        true,
    )
    .await;
    let t = &report.totals;
    assert_eq!(code, Some(0), "{}", report.verdict_reason);
    assert!(
        report
            .config
            .url
            .ends_with("/2015-03-31/functions/hello/invocations?Qualifier=live"),
        "{}",
        report.config.url
    );
    assert_eq!(report.config.sigv4.as_deref(), Some("lambda"));
    assert_eq!(t.status_codes.keys().collect::<Vec<_>>(), ["200"], "{t:?}");
    assert_eq!(report.untagged, 0, "every answer names its version");
    let served = |v: &str| report.versions.get(v).map_or(0, |s| s.requests);
    let (n, k) = (served("1") + served("2"), served("2"));
    assert_eq!(
        n,
        t.responses,
        "only versions 1 and 2: {:?}",
        report.versions.keys()
    );
    assert!(n >= 300, "a 4 s run at 100 rps: {n}");
    // Binomial: the share of version 2 is within z standard deviations of the weight, z for a
    // false failure once in a million runs.
    let z = 4.89;
    let bound = z * (WEIGHT * (1.0 - WEIGHT) / n as f64).sqrt();
    let share = k as f64 / n as f64;
    assert!(
        (share - WEIGHT).abs() <= bound,
        "version 2 served {k} of {n} ({share:.3}), weight {WEIGHT} ± {bound:.3}"
    );
    assert_eq!(t.errors_by_kind["function_error"], 0);
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_function_counts_function_errors() {
    let dir = tempfile::tempdir().unwrap();
    let lab = hello_lab(dir.path()).await;
    // The function's ARN names the region: no AWS_REGION needed.
    let arn = format!(
        "arn:aws:lambda:{}:{}:function:hello:live",
        lab.scope.region, lab.scope.account
    );
    let (code, report) = prober(
        &lab,
        &[
            "--invoke",
            &arn,
            "--body",
            r#"{"error": "boom"}"#,
            "--rps",
            "20",
            "--duration",
            "2s",
        ],
        false,
    )
    .await;
    let t = &report.totals;
    assert!(t.responses >= 20, "{t:?}");
    // Invoke answers 200 for a failed function; the error is in X-Amz-Function-Error.
    assert_eq!(t.status_codes.keys().collect::<Vec<_>>(), ["200"], "{t:?}");
    assert_eq!(t.errors_by_kind["function_error"], t.responses, "{t:?}");
    assert_eq!(t.errors_by_kind["5xx"], 0);
    assert_eq!(t.error_rate, t.responses as f64 / t.sent as f64);
    let version_errors: u64 = report.versions.values().map(|v| v.errors).sum();
    assert_eq!(
        version_errors, t.responses,
        "each version's errors count them"
    );
    assert_eq!(
        code,
        Some(4),
        "over the error budget: {}",
        report.verdict_reason
    );
    lab.shutdown().await;
}
