//! The lab's Lambda API (`rollcall-lab serve`'s Invoke API port) driven by the real AWS CLI, as
//! the lab tells users to (`aws lambda invoke --endpoint-url ...`): Invoke (sync, async, log
//! tail, errors), GetAlias and UpdateAlias with RoutingConfig and RevisionId,
//! ListVersionsByFunction (paged), GetFunction and GetFunctionConfiguration.

use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine;
use lab::lab::Lab;
use rollcall_e2e::tool::AWS_CLI;
use serde_json::Value;

/// The lab with `echo` (`lab-testfn`, which answers its payload) at versions 1 and 2 behind
/// the alias `live` (1 at 50 %, 2 at 50 %).
async fn echo_lab(dir: &Path) -> Lab {
    let testfn = test_support::executable(&["lab-testfn"], "lab-testfn");
    let mut versions = Vec::new();
    for v in ["1", "2"] {
        let code = dir.join(v);
        std::fs::create_dir_all(&code).unwrap();
        std::fs::copy(&testfn, code.join("bootstrap")).unwrap();
        versions.push(format!("{v}={}", code.display()));
    }
    let args = [
        "--function",
        "echo",
        "--version",
        &versions[0],
        "--version",
        &versions[1],
        "--alias",
        "live",
        "--weights",
        "1=0.5,2=0.5",
        "--seed",
        "7",
    ];
    let config = lab::cli::serve_config(&args).unwrap_or_else(|e| panic!("{e}"));
    Lab::start(&config).await.expect("the lab starts")
}

/// The AWS CLI pointed at one lab, with throwaway credentials and no user configuration.
struct AwsLambda<'a> {
    program: PathBuf,
    lab: &'a Lab,
}

impl<'a> AwsLambda<'a> {
    fn new(lab: &'a Lab) -> Self {
        let program = AWS_CLI.locate().unwrap_or_else(|e| panic!("{e}"));
        Self { program, lab }
    }

    /// `aws lambda <args> --endpoint-url <lab>`.
    async fn run(&self, args: &[&str]) -> Output {
        tokio::process::Command::from(rollcall_e2e::tool::aws_command(
            &self.program,
            "lambda",
            &self.lab.lambda_url(),
        ))
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.program.display()))
    }

    /// The JSON output of a call that must succeed.
    async fn ok(&self, args: &[&str]) -> Value {
        let out = self.run(args).await;
        assert!(
            out.status.success(),
            "aws lambda {args:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
    }

    /// The error code of a call that must fail (`An error occurred (<Code>) ...`).
    async fn error_code(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(!out.status.success(), "aws lambda {args:?} should fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        stderr
            .split_once("An error occurred (")
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(code, _)| code.to_owned())
            .unwrap_or_else(|| panic!("no error code in: {stderr}"))
    }
}

/// The unqualified ARN of the lab's `echo`.
const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:echo";

fn path_arg(p: &Path) -> String {
    p.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_invokes_versions_and_aliases() {
    let dir = tempfile::tempdir().unwrap();
    let lab = echo_lab(dir.path()).await;
    let aws = AwsLambda::new(&lab);
    let out_file: PathBuf = dir.path().join("out.json");
    let out = path_arg(&out_file);

    // A version, with the log tail, twice: the second runs on the warm environment, and its tail
    // is still its own (one START), not the version's latest lines.
    let payload = r#"{"n":1}"#;
    let invoke_with_tail = [
        "invoke",
        "--function-name",
        "echo",
        "--qualifier",
        "2",
        "--log-type",
        "Tail",
        "--payload",
        payload,
        &out,
    ];
    for _ in 0..2 {
        let reply = aws.ok(&invoke_with_tail).await;
        assert_eq!(reply["StatusCode"], 200);
        assert_eq!(reply["ExecutedVersion"], "2");
        assert!(reply.get("FunctionError").is_none(), "{reply}");
        assert_eq!(std::fs::read_to_string(&out_file).unwrap(), payload);
        let tail = base64::engine::general_purpose::STANDARD
            .decode(reply["LogResult"].as_str().expect("LogResult"))
            .expect("LogResult is base64");
        let tail = String::from_utf8_lossy(&tail);
        assert!(tail.starts_with("START RequestId: "), "{tail}");
        assert_eq!(tail.matches("START RequestId: ").count(), 1, "{tail}");
    }

    // The alias, by qualified name: one of its versions runs.
    let reply = aws
        .ok(&[
            "invoke",
            "--function-name",
            "echo:live",
            "--payload",
            "{}",
            &out,
        ])
        .await;
    let executed = reply["ExecutedVersion"].as_str().unwrap_or_default();
    assert!(executed == "1" || executed == "2", "{reply}");

    // A function error comes back as FunctionError with the error document.
    let reply = aws
        .ok(&[
            "invoke",
            "--function-name",
            "echo",
            "--qualifier",
            "1",
            "--payload",
            r#"{"error":"boom"}"#,
            &out,
        ])
        .await;
    assert_eq!(reply["FunctionError"], "Unhandled");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert!(
        doc["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("boom"),
        "{doc}"
    );

    // Asynchronous: 202 and no payload.
    let reply = aws
        .ok(&[
            "invoke",
            "--function-name",
            "echo",
            "--invocation-type",
            "Event",
            "--payload",
            "{}",
            &out,
        ])
        .await;
    assert_eq!(reply["StatusCode"], 202);

    // Unknown function and version.
    assert_eq!(
        aws.error_code(&["invoke", "--function-name", "nope", "--payload", "{}", &out])
            .await,
        "ResourceNotFoundException"
    );
    assert_eq!(
        aws.error_code(&[
            "invoke",
            "--function-name",
            "echo",
            "--qualifier",
            "9",
            "--payload",
            "{}",
            &out,
        ])
        .await,
        "ResourceNotFoundException"
    );
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_reads_functions_and_versions() {
    let dir = tempfile::tempdir().unwrap();
    let lab = echo_lab(dir.path()).await;
    let aws = AwsLambda::new(&lab);
    // One version per page: the CLI follows NextMarker and joins the pages.
    let listed = aws
        .ok(&[
            "list-versions-by-function",
            "--function-name",
            "echo",
            "--page-size",
            "1",
        ])
        .await;
    let versions = listed["Versions"].as_array().expect("Versions");
    let names: Vec<&str> = versions
        .iter()
        .filter_map(|v| v["Version"].as_str())
        .collect();
    assert_eq!(names, ["$LATEST", "1", "2"], "{listed}");
    assert_eq!(versions[2]["FunctionArn"], format!("{ARN}:2"));
    assert_eq!(versions[2]["State"], "Active");
    assert_eq!(
        aws.error_code(&["list-versions-by-function", "--function-name", "nope"])
            .await,
        "ResourceNotFoundException"
    );

    let configuration = aws
        .ok(&[
            "get-function-configuration",
            "--function-name",
            "echo",
            "--qualifier",
            "2",
        ])
        .await;
    assert_eq!(configuration["Version"], "2");
    assert_eq!(configuration["Handler"], "bootstrap");
    assert_eq!(configuration["FunctionArn"], format!("{ARN}:2"));
    // The function name may carry the qualifier or be an ARN; the answer names what was asked.
    let arn_2 = format!("{ARN}:2");
    let by_arn = aws
        .ok(&["get-function-configuration", "--function-name", &arn_2])
        .await;
    assert_eq!(by_arn, configuration);
    let unqualified = aws
        .ok(&["get-function-configuration", "--function-name", "echo"])
        .await;
    assert_eq!(unqualified["Version"], "$LATEST");
    assert_eq!(unqualified["FunctionArn"], ARN);
    // An alias names its primary version (1 here), under the alias's ARN.
    let function = aws
        .ok(&["get-function", "--function-name", "echo:live"])
        .await;
    assert_eq!(function["Configuration"]["Version"], "1");
    assert_eq!(
        function["Configuration"]["FunctionArn"],
        format!("{ARN}:live")
    );
    assert!(
        function["Code"]["Location"]
            .as_str()
            .is_some_and(|l| l.ends_with("/1")),
        "{function}"
    );
    assert_eq!(
        aws.error_code(&[
            "get-function",
            "--function-name",
            "echo",
            "--qualifier",
            "9"
        ])
        .await,
        "ResourceNotFoundException"
    );
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_shifts_an_alias_with_revision_ids() {
    let dir = tempfile::tempdir().unwrap();
    let lab = echo_lab(dir.path()).await;
    let aws = AwsLambda::new(&lab);
    let out = path_arg(&dir.path().join("out.json"));

    let alias = aws
        .ok(&["get-alias", "--function-name", "echo", "--name", "live"])
        .await;
    assert_eq!(alias["Name"], "live");
    assert_eq!(alias["FunctionVersion"], "1");
    assert_eq!(alias["RoutingConfig"]["AdditionalVersionWeights"]["2"], 0.5);
    assert_eq!(
        alias["AliasArn"],
        "arn:aws:lambda:us-east-1:123456789012:function:echo:live"
    );
    let revision = alias["RevisionId"].as_str().expect("RevisionId").to_owned();

    // Shift everything to version 2, as CodeDeploy's last step does.
    let shifted = aws
        .ok(&[
            "update-alias",
            "--function-name",
            "echo",
            "--name",
            "live",
            "--function-version",
            "2",
            "--routing-config",
            r#"{"AdditionalVersionWeights":{}}"#,
            "--revision-id",
            &revision,
        ])
        .await;
    assert_eq!(shifted["FunctionVersion"], "2");
    assert_ne!(shifted["RevisionId"], revision.as_str(), "a new revision");
    for _ in 0..5 {
        let reply = aws
            .ok(&[
                "invoke",
                "--function-name",
                "echo:live",
                "--payload",
                "{}",
                &out,
            ])
            .await;
        assert_eq!(reply["ExecutedVersion"], "2", "the alias points at 2 only");
    }

    // A stale revision and an out-of-range weight are refused as Lambda refuses them.
    assert_eq!(
        aws.error_code(&[
            "update-alias",
            "--function-name",
            "echo",
            "--name",
            "live",
            "--function-version",
            "1",
            "--revision-id",
            &revision,
        ])
        .await,
        "PreconditionFailedException"
    );
    assert_eq!(
        aws.error_code(&[
            "update-alias",
            "--function-name",
            "echo",
            "--name",
            "live",
            "--routing-config",
            r#"{"AdditionalVersionWeights":{"1":1.5}}"#,
        ])
        .await,
        "InvalidParameterValueException"
    );
    assert_eq!(
        aws.error_code(&["get-alias", "--function-name", "echo", "--name", "prod"])
            .await,
        "ResourceNotFoundException"
    );
    lab.shutdown().await;
}

/// The stderr of a call that must fail.
async fn failure(aws: &AwsLambda<'_>, args: &[&str]) -> String {
    let out = aws.run(args).await;
    assert!(!out.status.success(), "aws lambda {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_gets_lambdas_refusals_of_non_json_payloads_and_foreign_arns() {
    let dir = tempfile::tempdir().unwrap();
    let lab = echo_lab(dir.path()).await;
    let aws = AwsLambda::new(&lab);
    let out = path_arg(&dir.path().join("out.json"));

    // A payload that is not JSON: 400 InvalidRequestContentException, the function never runs.
    for payload in ["hello", "{\"a\":", "{} trailing"] {
        let stderr = failure(
            &aws,
            &[
                "invoke",
                "--function-name",
                "echo",
                "--payload",
                payload,
                &out,
            ],
        )
        .await;
        assert!(
            stderr.contains("An error occurred (InvalidRequestContentException)")
                && stderr.contains("Could not parse request body into json"),
            "{payload:?}: {stderr}"
        );
    }
    // Any JSON value is a payload, a bare string included.
    let reply = aws
        .ok(&[
            "invoke",
            "--function-name",
            "echo",
            "--payload",
            "\"hello\"",
            &out,
        ])
        .await;
    assert_eq!(reply["StatusCode"], 200);

    // The lab's function under another region's ARN: not reachable from this region.
    let other_region = "arn:aws:lambda:eu-west-1:123456789012:function:echo";
    let stderr = failure(
        &aws,
        &[
            "invoke",
            "--function-name",
            other_region,
            "--payload",
            "{}",
            &out,
        ],
    )
    .await;
    assert!(
        stderr.contains("(ResourceNotFoundException)")
            && stderr.contains(
                "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')"
            ),
        "{stderr}"
    );
    // ... and another account's: the caller has no permission there.
    for function in [
        "arn:aws:lambda:us-east-1:999999999999:function:echo:live",
        "999999999999:function:echo",
    ] {
        let stderr = failure(
            &aws,
            &[
                "invoke",
                "--function-name",
                function,
                "--payload",
                "{}",
                &out,
            ],
        )
        .await;
        assert!(
            stderr.contains("(AccessDeniedException)")
                && stderr.contains("is not authorized to perform: lambda:InvokeFunction")
                && stderr.contains("999999999999:function:echo"),
            "{function}: {stderr}"
        );
    }
    assert_eq!(
        aws.error_code(&["get-function", "--function-name", other_region])
            .await,
        "ResourceNotFoundException"
    );
    assert_eq!(
        aws.error_code(&[
            "list-versions-by-function",
            "--function-name",
            "arn:aws:lambda:us-east-1:999999999999:function:echo"
        ])
        .await,
        "AccessDeniedException"
    );
    // The lab's own ARN still works.
    let reply = aws
        .ok(&[
            "invoke",
            "--function-name",
            &format!("{ARN}:live"),
            "--payload",
            "{}",
            &out,
        ])
        .await;
    assert_eq!(reply["StatusCode"], 200);
    lab.shutdown().await;
}

/// The flags run `$LATEST` in the last version's environments (they report `2`); once
/// UpdateFunctionConfiguration changes `$LATEST`, it runs in environments of its own that report
/// `$LATEST`, as Lambda's do, and version 2 is unchanged. Found in use: the changed `$LATEST` kept
/// the label of the version it was copied from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_latest_reports_latest_not_the_version_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let lab = echo_lab(dir.path()).await;
    let aws = AwsLambda::new(&lab);
    let out = path_arg(&dir.path().join("out.json"));
    let invoke = |qualifier: &'static str| {
        [
            "invoke",
            "--function-name",
            "echo",
            "--qualifier",
            qualifier,
            "--payload",
            "{}",
            out.as_str(),
        ]
        .map(str::to_owned)
    };
    let latest = aws
        .ok(&[
            "update-function-configuration",
            "--function-name",
            "echo",
            "--environment",
            "Variables={CHANGED=1}",
        ])
        .await;
    assert_eq!(latest["Version"], "$LATEST", "{latest}");
    let args = invoke("$LATEST");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let reply = aws.ok(&args).await;
    assert_eq!(reply["ExecutedVersion"], "$LATEST", "{reply}");
    let args = invoke("2");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let reply = aws.ok(&args).await;
    assert_eq!(reply["ExecutedVersion"], "2", "{reply}");
    lab.shutdown().await;
}
