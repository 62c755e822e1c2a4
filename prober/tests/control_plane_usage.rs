//! `--alias` before and during a run, with the prober binary: what stops it before the first
//! probe (no credentials, expired credentials, no region, access denied: exit 64, a message
//! naming the call, the resource and the fix, and nothing sent to the target) and what does not
//! (GetAlias throttled mid-run: retried with backoff, recorded with its gap, the probe goes on).
//! AWS itself cannot run here: the credential and region chains are the SDK's own, fed through
//! a throwaway environment; GetAlias is the lab's (tests/tests/prober_control_plane.rs) or,
//! for the answers only IAM and AWS's throttling give, the stub in `control_plane/stub.rs`.

mod common;
#[path = "control_plane/stub.rs"]
mod stub;

use std::path::Path;
use std::time::Duration;

use common::{ServerConfig, TestServer};
use stub::{Behaviour, LambdaStub};

/// A throwaway AWS environment: no user configuration, no instance metadata, the given
/// variables only.
struct AwsEnv {
    dir: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

/// Variables of the SDK's chains that must not leak in from the machine running the tests.
const CLEARED: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_LAMBDA",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];

impl AwsEnv {
    /// Empty config and credentials files, IMDS disabled.
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config"), "").unwrap();
        std::fs::write(dir.path().join("credentials"), "").unwrap();
        Self {
            dir,
            vars: Vec::new(),
        }
    }

    fn var(mut self, name: &str, value: &str) -> Self {
        self.vars.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Dummy static keys.
    fn keys(self) -> Self {
        self.var("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE").var(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        )
    }

    /// `text` as the AWS config file.
    fn config(self, text: &str) -> Self {
        std::fs::write(self.dir.path().join("config"), text).unwrap();
        self
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn apply(&self, cmd: &mut tokio::process::Command) {
        for name in CLEARED {
            cmd.env_remove(name);
        }
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("PROBER_") {
                cmd.env_remove(name);
            }
        }
        cmd.env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", self.path().join("config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.path().join("credentials"),
            )
            .env("HOME", self.path());
        for (name, value) in &self.vars {
            cmd.env(name, value);
        }
    }
}

struct Exit {
    code: i32,
    stdout: String,
    stderr: String,
}

/// The prober binary with `args` in `env`, with a deadline.
async fn prober(env: &AwsEnv, args: &[&str]) -> Exit {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_prober"));
    cmd.args(args)
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null());
    env.apply(&mut cmd);
    let output = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("prober {args:?} did not exit within 60 s"))
        .expect("spawn prober");
    Exit {
        code: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A target that counts what it receives.
async fn target() -> TestServer {
    TestServer::start(ServerConfig::default()).await
}

fn received(server: &TestServer) -> u64 {
    *server.received_watch().borrow()
}

/// Asserts a refusal before the first probe: exit 64, every needle in the message, nothing
/// received by the target.
fn assert_refused(exit: &Exit, server: &TestServer, needles: &[&str]) {
    assert_eq!(exit.code, 64, "{}", exit.stderr);
    for needle in needles {
        assert!(
            exit.stderr.contains(needle),
            "the message lacks {needle:?}: {}",
            exit.stderr
        );
    }
    assert_eq!(received(server), 0, "a probe was sent: {}", exit.stderr);
}

/// `--url URL --rps 20 --alias ALIAS --poll 100ms`, then `more` (`--duration 2s` unless
/// given).
fn run_args<'a>(url: &'a str, alias: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--url", url, "--rps", "20", "--alias", alias, "--poll", "100ms",
    ];
    if !more.contains(&"--duration") {
        args.extend(["--duration", "2s"]);
    }
    args.extend_from_slice(more);
    args
}

#[tokio::test]
async fn no_credentials_names_the_ways_to_give_them() {
    let server = target().await;
    let lambda = LambdaStub::start(Behaviour::Alias { weight: 0.0 }).await;
    let env = AwsEnv::new()
        .var("AWS_REGION", "us-east-1")
        .var("AWS_ENDPOINT_URL_LAMBDA", &lambda.url);
    let url = server.url("/");
    let exit = prober(&env, &run_args(&url, "hello:live", &[])).await;
    assert_refused(
        &exit,
        &server,
        &[
            "lambda:GetAlias on hello:live in us-east-1",
            "AWS_PROFILE",
            "aws configure",
            "aws sso login",
            "AWS_ACCESS_KEY_ID",
        ],
    );
    assert!(lambda.seen().is_empty(), "GetAlias was called unsigned");
}

#[tokio::test]
async fn no_region_names_aws_region_or_an_arn_and_an_arn_supplies_it() {
    let server = target().await;
    let lambda = LambdaStub::start(Behaviour::Alias { weight: 0.0 }).await;
    let env = AwsEnv::new()
        .keys()
        .var("AWS_ENDPOINT_URL_LAMBDA", &lambda.url);
    let url = server.url("/");
    let exit = prober(&env, &run_args(&url, "hello:live", &[])).await;
    assert_refused(
        &exit,
        &server,
        &[
            "lambda:GetAlias on hello:live",
            "no region",
            "AWS_REGION",
            "arn:aws:lambda:us-east-1:123456789012:function:hello:live",
        ],
    );
    assert!(lambda.seen().is_empty());

    // The ARN's region, even over AWS_REGION: the calls are signed for it.
    let arn = "arn:aws:lambda:eu-west-1:123456789012:function:hello:live";
    for env in [
        env,
        AwsEnv::new()
            .keys()
            .var("AWS_ENDPOINT_URL_LAMBDA", &lambda.url)
            .var("AWS_REGION", "us-east-1"),
    ] {
        let exit = prober(&env, &run_args(&url, arn, &["--duration", "1s"])).await;
        assert_ne!(exit.code, 64, "{}", exit.stderr);
        let seen = lambda.seen();
        assert!(!seen.is_empty());
        assert!(
            seen.iter()
                .all(|s| s.signed_region.as_deref() == Some("eu-west-1")),
            "{seen:?}"
        );
    }
    assert!(received(&server) > 0);
}

#[tokio::test]
async fn expired_credentials_from_a_credential_process_are_refused() {
    let server = target().await;
    let lambda = LambdaStub::start(Behaviour::Alias { weight: 0.0 }).await;
    let env = AwsEnv::new();
    // A real credential_process: prints credentials that expired an hour ago.
    let script = env.path().join("expired-credentials.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nexpired=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)\n\
         printf '{\"Version\":1,\"AccessKeyId\":\"AKIDEXAMPLE\",\"SecretAccessKey\":\"secret\",\
         \"SessionToken\":\"token\",\"Expiration\":\"%s\"}\\n' \"$expired\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let env = env
        .config(&format!(
            "[default]\nregion = us-east-1\ncredential_process = {}\n",
            script.display()
        ))
        .var("AWS_ENDPOINT_URL_LAMBDA", &lambda.url);
    let url = server.url("/");
    let exit = prober(&env, &run_args(&url, "hello:live", &[])).await;
    assert_refused(
        &exit,
        &server,
        &[
            "lambda:GetAlias on hello:live in us-east-1",
            "expired",
            "aws sso login",
        ],
    );
    assert!(lambda.seen().is_empty(), "expired credentials were used");
}

#[tokio::test]
async fn access_denied_names_the_permission_and_the_alias_arn() {
    let server = target().await;
    let lambda = LambdaStub::start(Behaviour::Denied).await;
    let env = AwsEnv::new()
        .keys()
        .var("AWS_REGION", "us-east-1")
        .var("AWS_ENDPOINT_URL_LAMBDA", &lambda.url);
    let url = server.url("/");
    let exit = prober(&env, &run_args(&url, "hello:live", &[])).await;
    assert_refused(
        &exit,
        &server,
        &[
            "lambda:GetAlias on arn:aws:lambda:us-east-1:123456789012:function:hello:live",
            "AccessDeniedException",
            "is not authorized",
            "IAM policy",
        ],
    );
    // One GetAlias, not retried: access denied is not transient.
    let seen = lambda.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].path, "/2015-03-31/functions/hello/aliases/live");
}

#[tokio::test]
async fn get_alias_throttled_mid_run_is_retried_recorded_and_the_probe_goes_on() {
    let server = target().await;
    let throttled_after = Duration::from_millis(600);
    let lambda = LambdaStub::start(Behaviour::ThrottledFor {
        after: throttled_after,
        // Longer than the SDK's three attempts of one call (about 3 s of backoff at most).
        during: Duration::from_secs(4),
    })
    .await;
    let env = AwsEnv::new()
        .keys()
        .var("AWS_REGION", "us-east-1")
        .var("AWS_ENDPOINT_URL_LAMBDA", &lambda.url);
    let out = env.path().join("out");
    let url = server.url("/");
    let out_arg = out.display().to_string();
    let exit = prober(
        &env,
        &run_args(&url, "hello:live", &["--duration", "9s", "--out", &out_arg]),
    )
    .await;
    assert_ne!(exit.code, 64, "{}", exit.stderr);
    let report: rollout::Report =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    // The probe went on for its whole duration.
    assert!(!report.interrupted);
    assert!(report.duration_secs >= 9.0, "{}", report.duration_secs);
    assert!(received(&server) >= 100, "{}", received(&server));

    let control = report.control_plane.as_ref().expect("control_plane");
    let alias = control.alias.as_ref().expect("control_plane.alias");
    let seen = lambda.seen();
    let throttled: Vec<f64> = seen
        .iter()
        .filter(|s| s.failed)
        .map(|s| s.at_unix_ms)
        .collect();
    assert!(!throttled.is_empty(), "the stub never throttled: {seen:?}");
    assert!(!control.failures.is_empty(), "{control:?}");
    for f in &control.failures {
        assert_eq!(f.call, "lambda:GetAlias");
        assert!(f.error.contains("ThrottlingException"), "{f:?}");
    }
    // One gap, from the last answer before the first throttled request to the first answer
    // after the last one (the arrival times are the stub's; 5 ms for the two clocks' rounding).
    assert_eq!(alias.gaps.len(), 1, "{:?}", alias.gaps);
    let origin = report.started_at_unix_ms as f64;
    let [from, to] = alias.gaps[0];
    let (first, last) = (throttled[0], *throttled.last().unwrap());
    assert!(
        origin + from * 1000.0 <= first + 5.0,
        "gap {from} s, first throttled at {} s",
        (first - origin) / 1000.0
    );
    assert!(
        origin + to * 1000.0 >= last - 5.0,
        "gap to {to} s, last throttled at {} s",
        (last - origin) / 1000.0
    );
    for f in &control.failures {
        assert!(
            from - 0.005 <= f.at && f.at <= to + 0.005,
            "{f:?} outside {from}..{to}"
        );
    }
    // Polling resumed after the gap, and more than once.
    let after_gap = seen
        .iter()
        .filter(|s| !s.failed && s.at_unix_ms > origin + to * 1000.0)
        .count();
    assert!(after_gap >= 2, "{after_gap} polls after the gap");
    assert!(alias.polls >= 10, "{}", alias.polls);
    // The summary says so.
    assert!(
        exit.stdout.contains("failed (the probe went on)")
            && exit.stdout.contains("no successful poll from"),
        "{}",
        exit.stdout
    );
}
