//! `--sigv4` and `--connect-to` against an independent verifier: `fixtures/sigv4_verify.py`
//! recomputes every request's signature with botocore's `SigV4Auth` and answers 200 (tagged
//! version 1) when it matches, 403 otherwise. The same runs with another secret than the
//! verifier's must all be refused: a wrong signature fails these tests.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

const ACCESS_KEY: &str = "AKIDROLLCALLTEST";
const SECRET: &str = "verifier/secret+KEY0123456789abcdefghij";
const OTHER_SECRET: &str = "another/secret+KEY0123456789abcdefghij";
const TOKEN: &str = "FwoGZXIvYXdzEXAMPLE//session+token==";
const RUN_DEADLINE: Duration = Duration::from_secs(60);

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sigv4_verify.py")
}

/// The verifier, killed when dropped.
struct Verifier {
    child: Child,
    port: u16,
}

impl Verifier {
    /// Starts the verifier for `ACCESS_KEY`/`SECRET` (and `token`, when one is expected).
    async fn start(token: Option<&str>) -> Verifier {
        let mut cmd = Command::new("python3");
        cmd.arg(fixture())
            .env("VERIFY_ACCESS_KEY_ID", ACCESS_KEY)
            .env("VERIFY_SECRET_ACCESS_KEY", SECRET)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(t) = token {
            cmd.env("VERIFY_SESSION_TOKEN", t);
        }
        let mut child = cmd
            .spawn()
            .expect("python3 runs the verifier (python3 must be on PATH)");
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let read = tokio::time::timeout(RUN_DEADLINE, stdout.read_line(&mut line))
            .await
            .expect("the verifier prints its port");
        if read.map_or(true, |n| n == 0) {
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err).await;
            panic!(
                "the SigV4 verifier did not start: {err}\n(it needs botocore: \
                 `python3 -m pip install boto3==1.43.11`, which scripts/setup.sh installs)"
            );
        }
        let port = line.trim().parse().expect("a port number");
        Verifier { child, port }
    }

    /// `(ok, denied, last_denial)` so far.
    async fn stats(&self) -> (u64, u64, String) {
        let v = self.stats_json().await;
        (
            v["ok"].as_u64().unwrap(),
            v["denied"].as_u64().unwrap(),
            v["last_denial"].to_string(),
        )
    }

    /// `/__stats`.
    async fn stats_json(&self) -> serde_json::Value {
        let port = self.port;
        let body = tokio::task::spawn_blocking(move || {
            use std::io::{Read, Write};
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.write_all(b"GET /__stats HTTP/1.0\r\nHost: stats\r\n\r\n")
                .unwrap();
            let mut text = String::new();
            s.read_to_string(&mut text).unwrap();
            text
        })
        .await
        .unwrap();
        let json = body.split("\r\n\r\n").nth(1).expect("a body");
        serde_json::from_str(json).unwrap()
    }
}

impl Drop for Verifier {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// The environment of a prober that signs: the given credentials only (no profile, no
/// instance metadata), region us-east-1 unless `region` is `None`.
fn prober(secret: &str, token: Option<&str>, region: Option<&str>, home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_prober"));
    for var in [
        "AWS_PROFILE",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_SESSION_TOKEN",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_LAMBDA",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", home.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .env("HOME", home)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if !secret.is_empty() {
        cmd.env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", secret);
    }
    if let Some(t) = token {
        cmd.env("AWS_SESSION_TOKEN", t);
    }
    if let Some(r) = region {
        cmd.env("AWS_REGION", r);
    }
    cmd
}

struct Probed {
    code: Option<i32>,
    stderr: String,
    report: Option<rollout::Report>,
}

async fn run(mut cmd: Command, args: &[&str], out: &Path) -> Probed {
    cmd.args(args)
        .args(["--rps", "20", "--duration", "2s", "--quiet", "--out"])
        .arg(out);
    let output = tokio::time::timeout(RUN_DEADLINE, cmd.output())
        .await
        .expect("the prober exits")
        .expect("the prober runs");
    let report = std::fs::read(out.join("report.json"))
        .ok()
        .map(|b| serde_json::from_slice(&b).expect("report.json parses"));
    Probed {
        code: output.status.code(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        report,
    }
}

/// Runs `args` signed with the verifier's secret (all 200, version 1) and with another secret
/// (all 403).
async fn signed_runs_verify(args: &[&str], token: Option<&str>, region: Option<&str>) {
    for (secret, status) in [(SECRET, "200"), (OTHER_SECRET, "403")] {
        let verifier = Verifier::start(token).await;
        let home = tempfile::tempdir().unwrap();
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("{port}", &verifier.port.to_string()))
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = home.path().join("out");
        let probed = run(prober(secret, token, region, home.path()), &args, &out).await;
        let report = probed
            .report
            .unwrap_or_else(|| panic!("no report ({:?}): {}", probed.code, probed.stderr));
        let t = &report.totals;
        let (ok, denied, last) = verifier.stats().await;
        assert!(t.sent >= 20, "a 2 s run at 20 rps: {t:?}");
        assert_eq!(
            t.status_codes.keys().collect::<Vec<_>>(),
            [status],
            "secret {secret}: every request answered {status} ({args:?}; verifier's last \
             denial: {last})"
        );
        assert_eq!(t.status_codes[status], t.sent, "{t:?}");
        if status == "200" {
            assert_eq!((ok, denied), (t.sent, 0), "{last}");
            assert_eq!(report.versions["1"].requests, t.sent);
        } else {
            assert_eq!((ok, denied), (0, t.sent));
            assert!(last.contains("does not match"), "{last}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_get_verifies() {
    signed_runs_verify(
        &[
            "--url",
            "http://127.0.0.1:{port}/prod/items",
            "--sigv4",
            "execute-api",
        ],
        None,
        Some("us-east-1"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_post_with_a_body_verifies() {
    signed_runs_verify(
        &[
            "--url",
            "http://127.0.0.1:{port}/prod/orders",
            "--method",
            "POST",
            "--body",
            r#"{"order": 42, "note": "x y"}"#,
            "-H",
            "Content-Type: application/json",
            "-H",
            "X-Custom:   spaced   value ",
            "--sigv4",
            "lambda",
            "--sigv4-region",
            "eu-west-1",
        ],
        None,
        None,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_token_is_signed() {
    signed_runs_verify(
        &[
            "--url",
            "http://127.0.0.1:{port}/",
            "--sigv4",
            "execute-api",
        ],
        Some(TOKEN),
        Some("ap-southeast-2"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_and_query_needing_encoding_verify() {
    signed_runs_verify(
        &[
            "--url",
            "http://127.0.0.1:{port}/a b/%2F/ünï?x=1&y=a+b&z=%7E&e",
            "--sigv4",
            "execute-api",
        ],
        None,
        Some("us-east-1"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_to_keeps_the_aws_host_in_the_signature() {
    // The region comes from the host (no AWS_REGION, no --sigv4-region); the verifier rebuilds
    // the URL from the Host header the request carries.
    signed_runs_verify(
        &[
            "--url",
            "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/prod/hello?name=rollcall",
            "--connect-to",
            "a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com=http://127.0.0.1:{port}",
            "--sigv4",
            "execute-api",
        ],
        None,
        None,
    )
    .await;
}

/// A run refused before any probe: exit 64, the message names `needle`, the verifier saw
/// nothing.
async fn refused_before_any_probe(cmd: Command, args: &[&str], needle: &str) {
    let verifier = Verifier::start(None).await;
    let url = format!("http://127.0.0.1:{}/", verifier.port);
    let mut all = vec!["--url", url.as_str()];
    all.extend_from_slice(args);
    let dir = tempfile::tempdir().unwrap();
    let probed = run(cmd, &all, &dir.path().join("out")).await;
    assert_eq!(probed.code, Some(64), "{}", probed.stderr);
    assert!(probed.stderr.contains(needle), "{}", probed.stderr);
    assert_eq!(verifier.stats().await.0 + verifier.stats().await.1, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credentials_exit_64_before_any_probe() {
    let home = tempfile::tempdir().unwrap();
    refused_before_any_probe(
        prober("", None, Some("us-east-1"), home.path()),
        &["--sigv4", "execute-api"],
        "AWS_ACCESS_KEY_ID",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_region_exits_64_naming_the_setting() {
    let home = tempfile::tempdir().unwrap();
    refused_before_any_probe(
        prober(SECRET, None, None, home.path()),
        &["--sigv4", "lambda"],
        "--sigv4-region",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_credentials_exit_64_before_any_probe() {
    // A real credential_process (feature `credentials-process`) whose credentials have expired.
    let home = tempfile::tempdir().unwrap();
    let script = home.path().join("creds.py");
    std::fs::write(
        &script,
        format!(
            "import json\nprint(json.dumps({{\"Version\": 1, \"AccessKeyId\": \"{ACCESS_KEY}\", \
             \"SecretAccessKey\": \"{SECRET}\", \"SessionToken\": \"{TOKEN}\", \
             \"Expiration\": \"2020-01-01T00:00:00Z\"}}))\n"
        ),
    )
    .unwrap();
    std::fs::write(
        home.path().join("config"),
        format!(
            "[default]\ncredential_process = python3 {}\n",
            script.display()
        ),
    )
    .unwrap();
    refused_before_any_probe(
        prober("", None, Some("us-east-1"), home.path()),
        &["--sigv4", "execute-api"],
        "expired",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_calls_are_signed_for_lambda_at_the_sdks_endpoint() {
    // AWS_ENDPOINT_URL_LAMBDA is where the SDK would send Invoke; the verifier checks the
    // signature of `POST /2015-03-31/functions/hello/invocations?Qualifier=live` for `lambda`
    // in the SDK's region.
    let verifier = Verifier::start(None).await;
    let home = tempfile::tempdir().unwrap();
    let mut cmd = prober(SECRET, None, Some("eu-north-1"), home.path());
    cmd.env(
        "AWS_ENDPOINT_URL_LAMBDA",
        format!("http://127.0.0.1:{}", verifier.port),
    );
    let probed = run(cmd, &["--invoke", "hello:live"], &home.path().join("out")).await;
    let report = probed.report.expect(&probed.stderr);
    let t = &report.totals;
    let stats = verifier.stats_json().await;
    assert_eq!(t.status_codes["200"], t.sent, "{t:?} {stats}");
    assert_eq!(stats["ok"].as_u64(), Some(t.sent), "{stats}");
    assert_eq!(
        stats["last_ok"],
        "POST /2015-03-31/functions/hello/invocations?Qualifier=live lambda eu-north-1 \
         RequestResponse"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_without_a_region_exits_64_naming_the_settings() {
    let home = tempfile::tempdir().unwrap();
    let probed = run(
        prober(SECRET, None, None, home.path()),
        &["--invoke", "hello:live"],
        &home.path().join("out"),
    )
    .await;
    assert_eq!(probed.code, Some(64), "{}", probed.stderr);
    assert!(
        probed
            .stderr
            .contains("lambda:InvokeFunction on hello:live")
            && probed.stderr.contains("AWS_REGION"),
        "{}",
        probed.stderr
    );
    assert!(probed.report.is_none(), "nothing was probed");
}
