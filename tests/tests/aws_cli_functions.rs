//! Functions and versions through the lab's Lambda API, driven by the real AWS CLI
//! (`aws lambda ... --endpoint-url`): CreateFunction (`--zip-file fileb://`), UpdateFunctionCode,
//! UpdateFunctionConfiguration, PublishVersion, GetFunction(Configuration), ListFunctions,
//! ListVersionsByFunction, DeleteFunction and Invoke of fresh versions; and each bad input
//! answered with Lambda's status and error type, the lab serving on after it.

use std::io::{Cursor, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Output;
use std::sync::Arc;

use base64::Engine;
use lab::api::InvokeApi;
use lab::api::gateway::Listener;
use lab::api::lambda::FunctionControl;
use lab::control::alias::{Alias, Routing};
use lab::control::code::{CodeStore, Limits};
use lab::control::{Provisioner, Registry, Snapshot};
use rollcall_e2e::tool::AWS_CLI;
use serde_json::Value;
use sha2::{Digest, Sha256};
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

const ROLE: &str = "arn:aws:iam::123456789012:role/lab";
const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function";
/// The store's zip limit in these tests (Lambda's is 50 MB): small, to test the refusal cheaply.
const ZIP_LIMIT: u64 = 8 * 1024 * 1024;

/// A Lambda API over an empty registry with a code store under a temporary state dir.
struct LambdaApi {
    listener: Listener,
    registry: Arc<Registry>,
    dir: tempfile::TempDir,
    aws: PathBuf,
}

impl LambdaApi {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::new(Snapshot::default());
        let limits = Limits {
            zipped: ZIP_LIMIT,
            unzipped: 64 * 1024 * 1024,
        };
        let control = FunctionControl {
            store: CodeStore::with_limits(dir.path().join("state/code"), limits).unwrap(),
            provisioner: Provisioner::default(),
        };
        let listener = InvokeApi::new(Arc::clone(&registry))
            .with_control(control)
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let aws = AWS_CLI.locate().unwrap_or_else(|e| panic!("{e}"));
        Self {
            listener,
            registry,
            dir,
            aws,
        }
    }

    /// `aws lambda <args> --endpoint-url <lab>`.
    async fn run(&self, args: &[&str]) -> Output {
        tokio::process::Command::new(&self.aws)
            .arg("lambda")
            .args(args)
            .args([
                "--endpoint-url",
                &format!("http://{}", self.listener.local_addr()),
            ])
            .env("AWS_ACCESS_KEY_ID", "AKIDROLLCALLTEST")
            .env("AWS_SECRET_ACCESS_KEY", "rollcall-test-secret")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env_remove("AWS_PROFILE")
            .output()
            .await
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.aws.display()))
    }

    /// The JSON output of a call that must succeed (`Null` when it prints nothing).
    async fn ok(&self, args: &[&str]) -> Value {
        let out = self.run(args).await;
        assert!(
            out.status.success(),
            "aws lambda {args:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        if out.stdout.iter().all(u8::is_ascii_whitespace) {
            return Value::Null;
        }
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
    }

    /// The error code of a call that must fail (`An error occurred (<Code>) ...`), then checks
    /// that the lab still serves.
    async fn refused(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(!out.status.success(), "aws lambda {args:?} should fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = stderr
            .split_once("An error occurred (")
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(code, _)| code.to_owned())
            .unwrap_or_else(|| panic!("no error code in: {stderr}"));
        self.ok(&["list-functions"]).await;
        code
    }

    /// Writes `zip` to a file named `name` and gives its `fileb://` argument.
    fn zip_arg(&self, name: &str, zip: &[u8]) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, zip).unwrap();
        format!("fileb://{}", path.display())
    }

    /// `create-function <name>` from `zip` (more flags in `extra`).
    async fn create(&self, name: &str, zip: &[u8], extra: &[&str]) -> Value {
        let file = self.zip_arg(&format!("{name}.zip"), zip);
        let mut args = vec![
            "create-function",
            "--function-name",
            name,
            "--runtime",
            "provided.al2023",
            "--role",
            ROLE,
            "--handler",
            "bootstrap",
            "--zip-file",
            &file,
        ];
        args.extend_from_slice(extra);
        self.ok(&args).await
    }

    /// Invokes `function` at `qualifier` with `payload`: (the CLI's answer, the output).
    async fn invoke(&self, function: &str, qualifier: &str, payload: &str) -> (Value, Value) {
        let out = self.dir.path().join("out.json");
        let reply = self
            .ok(&[
                "invoke",
                "--function-name",
                function,
                "--qualifier",
                qualifier,
                "--payload",
                payload,
                &out.display().to_string(),
            ])
            .await;
        let output = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        (reply, output)
    }
}

/// A package: `lab-testfn` as `bootstrap` (0755), plus `extra` files.
fn package(extra: &[(&str, &[u8])]) -> Vec<u8> {
    let testfn = test_support::executable(&["lab-testfn"], "lab-testfn");
    let mut files: Vec<(&str, Vec<u8>, u32)> =
        vec![("bootstrap", std::fs::read(testfn).unwrap(), 0o755)];
    files.extend(extra.iter().map(|(n, c)| (*n, c.to_vec(), 0o644)));
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, contents, mode) in files {
        let options = SimpleFileOptions::default().unix_permissions(mode);
        writer.start_file(name, options).unwrap();
        writer.write_all(&contents).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn sha256(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

fn names(list: &Value, key: &str, field: &str) -> Vec<String> {
    list[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {list}"))
        .iter()
        .map(|v| v[field].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_creates_changes_publishes_and_deletes_functions() {
    let api = LambdaApi::start().await;
    let first = package(&[("release", b"1")]);
    let created = api
        .create(
            "f",
            &first,
            &[
                "--publish",
                "--memory-size",
                "256",
                "--timeout",
                "10",
                "--description",
                "first",
                "--environment",
                "Variables={GREETING=hello}",
            ],
        )
        .await;
    assert_eq!(created["Version"], "1", "Publish: true publishes version 1");
    assert_eq!(created["FunctionArn"], format!("{ARN}:f:1"));

    // GetFunction reports every field, exactly.
    let got = api.ok(&["get-function", "--function-name", "f"]).await;
    let c = &got["Configuration"];
    assert_eq!(c["FunctionArn"], format!("{ARN}:f"));
    assert_eq!(c["Version"], "$LATEST");
    assert_eq!(c["Runtime"], "provided.al2023");
    assert_eq!(c["Handler"], "bootstrap");
    assert_eq!(c["CodeSize"], first.len() as u64);
    assert_eq!(c["CodeSha256"], sha256(&first));
    assert_eq!(c["Description"], "first");
    assert_eq!(c["MemorySize"], 256);
    assert_eq!(c["Timeout"], 10);
    assert_eq!(c["Environment"]["Variables"]["GREETING"], "hello");
    assert_eq!(c["State"], "Active");
    assert_eq!(c["LastUpdateStatus"], "Successful");
    assert_eq!(c["PackageType"], "Zip");
    assert_eq!(c["Architectures"], serde_json::json!(["x86_64"]));
    assert!(c["LastModified"].as_str().unwrap().ends_with("+0000"));
    let revision = c["RevisionId"].as_str().expect("RevisionId").to_owned();
    let one = api
        .ok(&[
            "get-function-configuration",
            "--function-name",
            "f",
            "--qualifier",
            "1",
        ])
        .await;
    assert_eq!(one["Version"], "1");
    assert_eq!(one["FunctionArn"], format!("{ARN}:f:1"));
    assert_eq!(one["CodeSha256"], sha256(&first));

    // A freshly published version answers, with its configuration.
    let (reply, output) = api.invoke("f", "1", r#"{"env":["GREETING"]}"#).await;
    assert_eq!(reply["ExecutedVersion"], "1");
    assert!(output.to_string().contains("hello"), "{output}");

    // UpdateFunctionConfiguration changes $LATEST and its RevisionId.
    let updated = api
        .ok(&[
            "update-function-configuration",
            "--function-name",
            "f",
            "--memory-size",
            "512",
            "--timeout",
            "20",
            "--description",
            "second",
            "--environment",
            "Variables={GREETING=bonjour}",
            "--revision-id",
            &revision,
        ])
        .await;
    assert_eq!(updated["Version"], "$LATEST");
    assert_eq!(updated["MemorySize"], 512);
    assert_eq!(updated["Timeout"], 20);
    assert_eq!(updated["Description"], "second");
    assert_eq!(updated["Environment"]["Variables"]["GREETING"], "bonjour");
    assert_ne!(updated["RevisionId"], revision.as_str());

    // PublishVersion, then again with nothing changed: the same version.
    let two = api.ok(&["publish-version", "--function-name", "f"]).await;
    assert_eq!(two["Version"], "2");
    assert_eq!(two["MemorySize"], 512);
    let again = api.ok(&["publish-version", "--function-name", "f"]).await;
    assert_eq!(again["Version"], "2", "nothing changed: no new version");

    // UpdateFunctionCode --publish: version 3 with the new code and the current configuration.
    let second = package(&[("release", b"2")]);
    let file = api.zip_arg("second.zip", &second);
    let latest = api
        .ok(&["get-function-configuration", "--function-name", "f"])
        .await;
    let three = api
        .ok(&[
            "update-function-code",
            "--function-name",
            "f",
            "--zip-file",
            &file,
            "--publish",
            "--revision-id",
            latest["RevisionId"].as_str().unwrap(),
        ])
        .await;
    assert_eq!(three["Version"], "3");
    assert_eq!(three["CodeSha256"], sha256(&second));
    let (reply, output) = api.invoke("f", "3", r#"{"env":["GREETING"]}"#).await;
    assert_eq!(reply["ExecutedVersion"], "3");
    assert!(output.to_string().contains("bonjour"), "{output}");
    let (reply, _) = api.invoke("f", "$LATEST", "{}").await;
    assert_eq!(reply["ExecutedVersion"], "$LATEST");
    let (reply, output) = api.invoke("f", "1", r#"{"env":["GREETING"]}"#).await;
    assert_eq!(reply["ExecutedVersion"], "1", "a version never changes");
    assert!(output.to_string().contains("hello"), "{output}");

    // ListVersionsByFunction, complete.
    let versions = api
        .ok(&["list-versions-by-function", "--function-name", "f"])
        .await;
    assert_eq!(
        names(&versions, "Versions", "Version"),
        ["$LATEST", "1", "2", "3"]
    );
    for v in versions["Versions"].as_array().unwrap() {
        for field in [
            "CodeSha256",
            "RevisionId",
            "Runtime",
            "Handler",
            "LastModified",
        ] {
            assert!(v[field].is_string(), "{field} in {v}");
        }
    }
    assert_eq!(versions["Versions"][1]["Description"], "first");
    assert_eq!(versions["Versions"][2]["CodeSha256"], sha256(&first));

    // ListFunctions, paged one by one (the CLI follows NextMarker), and FunctionVersion=ALL.
    api.create("g", &first, &[]).await;
    api.create("h", &first, &[]).await;
    let listed = api.ok(&["list-functions", "--page-size", "1"]).await;
    assert_eq!(names(&listed, "Functions", "FunctionName"), ["f", "g", "h"]);
    let all = api
        .ok(&["list-functions", "--function-version", "ALL"])
        .await;
    assert_eq!(
        names(&all, "Functions", "FunctionArn"),
        [
            format!("{ARN}:f:$LATEST"),
            format!("{ARN}:f:1"),
            format!("{ARN}:f:2"),
            format!("{ARN}:f:3"),
            format!("{ARN}:g:$LATEST"),
            format!("{ARN}:h:$LATEST"),
        ]
    );

    // DeleteFunction of one version, then of the whole function.
    api.ok(&[
        "delete-function",
        "--function-name",
        "f",
        "--qualifier",
        "1",
    ])
    .await;
    let gone = ["get-function", "--function-name", "f", "--qualifier", "1"];
    assert_eq!(api.refused(&gone).await, "ResourceNotFoundException");
    let (reply, _) = api.invoke("f", "2", "{}").await;
    assert_eq!(reply["ExecutedVersion"], "2");
    api.ok(&["delete-function", "--function-name", "f"]).await;
    assert_eq!(
        api.refused(&["get-function", "--function-name", "f"]).await,
        "ResourceNotFoundException"
    );
    let listed = api.ok(&["list-functions"]).await;
    assert_eq!(names(&listed, "Functions", "FunctionName"), ["g", "h"]);
    api.registry.shutdown_pools().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_versions_environments_stop_after_their_invocations() {
    let api = LambdaApi::start().await;
    api.create("f", &package(&[]), &["--publish"]).await;
    let pool = api.registry.snapshot().functions["f"].versions[&1]
        .owned_pool
        .clone()
        .expect("the version's own pool");
    // A warm environment, then a slow invocation in flight while the version is deleted.
    api.invoke("f", "1", "{}").await;
    let slow = tokio::spawn({
        let addr = api.listener.local_addr();
        async move {
            test_support::http::send(
                addr,
                "POST",
                "/2015-03-31/functions/f/invocations?Qualifier=1",
                &[],
                r#"{"sleep_ms": 1500}"#,
            )
            .await
        }
    });
    // Wait until the slow invocation holds the environment (it left the idle list).
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while pool.idle_count() > 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the slow invocation started");
    api.ok(&[
        "delete-function",
        "--function-name",
        "f",
        "--qualifier",
        "1",
    ])
    .await;
    let reply = slow.await.unwrap();
    assert_eq!(reply.status, 200, "the invocation in flight finished");
    assert_eq!(reply.json()["slept"], 1500);
    pool.shutdown().await; // returns once the retirement the deletion started is complete
    assert!(pool.process_groups().is_empty(), "no environment is left");
    assert_eq!(
        api.refused(&[
            "invoke",
            "--function-name",
            "f",
            "--qualifier",
            "1",
            "/dev/null"
        ])
        .await,
        "ResourceNotFoundException"
    );
    api.registry.shutdown_pools().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_latest_runs_on_new_environments_while_the_old_ones_drain() {
    let api = LambdaApi::start().await;
    api.create(
        "f",
        &package(&[]),
        &["--environment", "Variables={STAGE=old}"],
    )
    .await;
    let old = api.registry.snapshot().functions["f"]
        .latest
        .owned_pool
        .clone()
        .unwrap();
    api.invoke("f", "$LATEST", "{}").await;
    let slow = tokio::spawn({
        let addr = api.listener.local_addr();
        async move {
            test_support::http::send(
                addr,
                "POST",
                "/2015-03-31/functions/f/invocations",
                &[],
                r#"{"sleep_ms": 1500}"#,
            )
            .await
        }
    });
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while old.idle_count() > 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the slow invocation started");
    api.ok(&[
        "update-function-configuration",
        "--function-name",
        "f",
        "--environment",
        "Variables={STAGE=new}",
    ])
    .await;
    // The new configuration answers at once, on a new environment...
    let (reply, output) = api.invoke("f", "$LATEST", r#"{"env":["STAGE"]}"#).await;
    assert_eq!(reply["ExecutedVersion"], "$LATEST");
    assert!(output.to_string().contains("new"), "{output}");
    // ... while the old one finishes its invocation, then stops.
    let reply = slow.await.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["slept"], 1500);
    old.shutdown().await;
    assert!(old.process_groups().is_empty());
    api.registry.shutdown_pools().await;
}

/// `f` with version 1 and the alias `live` → 1 (made through the registry: CreateAlias is
/// another resource's).
async fn with_alias(api: &LambdaApi) {
    api.create("f", &package(&[]), &["--publish"]).await;
    api.registry
        .mutate(|s| {
            let f = s.functions.get_mut("f").unwrap();
            let known = [("1".to_owned(), Arc::clone(&f.versions[&1].pool))].into();
            let live = Alias::new("live", known, Routing::single("1"), 1).unwrap();
            f.aliases.insert("live".into(), Arc::new(live));
            Ok::<_, ()>(())
        })
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_an_alias_routes_to_is_not_deleted() {
    let api = LambdaApi::start().await;
    with_alias(&api).await;
    let delete = [
        "delete-function",
        "--function-name",
        "f",
        "--qualifier",
        "1",
    ];
    assert_eq!(api.refused(&delete).await, "ResourceConflictException");
    let (reply, _) = api.invoke("f", "live", "{}").await;
    assert_eq!(reply["ExecutedVersion"], "1");
    let latest = [
        "delete-function",
        "--function-name",
        "f",
        "--qualifier",
        "$LATEST",
    ];
    assert_eq!(api.refused(&latest).await, "InvalidParameterValueException");
    api.registry.shutdown_pools().await;
}

/// A lab with `f` ($LATEST only), for the bad-input cases.
async fn lab_with_f() -> LambdaApi {
    let api = LambdaApi::start().await;
    api.create("f", &package(&[]), &[]).await;
    api
}

/// `create-function g` from `zip` must be refused with `code`; nothing of it is kept.
async fn create_refused(api: &LambdaApi, zip: &[u8], code: &str) {
    let file = api.zip_arg("bad.zip", zip);
    let args = [
        "create-function",
        "--function-name",
        "g",
        "--runtime",
        "provided.al2023",
        "--role",
        ROLE,
        "--handler",
        "bootstrap",
        "--zip-file",
        &file,
    ];
    assert_eq!(api.refused(&args).await, code);
    let listed = api.ok(&["list-functions"]).await;
    assert_eq!(names(&listed, "Functions", "FunctionName"), ["f"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_a_function_that_exists_is_a_conflict() {
    let api = lab_with_f().await;
    let file = api.zip_arg("again.zip", &package(&[]));
    let args = [
        "create-function",
        "--function-name",
        "f",
        "--runtime",
        "provided.al2023",
        "--role",
        ROLE,
        "--handler",
        "bootstrap",
        "--zip-file",
        &file,
    ];
    assert_eq!(api.refused(&args).await, "ResourceConflictException");
    api.registry.shutdown_pools().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_that_does_not_exist_is_not_found() {
    let api = lab_with_f().await;
    for args in [
        &["get-function", "--function-name", "nope"][..],
        &["publish-version", "--function-name", "nope"],
        &["delete-function", "--function-name", "nope"],
        &[
            "update-function-configuration",
            "--function-name",
            "nope",
            "--timeout",
            "5",
        ],
        &["get-function", "--function-name", "f", "--qualifier", "9"],
        &[
            "update-function-configuration",
            "--function-name",
            "f",
            "--layers",
            "arn:aws:lambda:us-east-1:123456789012:layer:nope:1",
        ],
    ] {
        assert_eq!(
            api.refused(args).await,
            "ResourceNotFoundException",
            "{args:?}"
        );
    }
    api.registry.shutdown_pools().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_and_qualifiers_outside_lambdas_patterns_are_invalid() {
    let api = lab_with_f().await;
    let bad_name = ["get-function", "--function-name", "not a name!"];
    assert_eq!(api.refused(&bad_name).await, "ValidationException");
    let long = "x".repeat(65);
    let too_long = ["get-function", "--function-name", &long];
    assert_eq!(api.refused(&too_long).await, "ValidationException");
    let bad_qualifier = ["get-function", "--function-name", "f", "--qualifier", "a.b"];
    assert_eq!(api.refused(&bad_qualifier).await, "ValidationException");
    api.registry.shutdown_pools().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_and_timeout_out_of_range_are_refused() {
    let api = lab_with_f().await;
    let update = |flag: &'static str, value: &'static str| {
        [
            "update-function-configuration",
            "--function-name",
            "f",
            flag,
            value,
        ]
    };
    // Inside the service model's range, outside a function's: Lambda's own check.
    let cases = [
        (
            update("--memory-size", "10241"),
            "InvalidParameterValueException",
        ),
        (update("--timeout", "901"), "InvalidParameterValueException"),
        // Outside the model's range (32768 MB, 5400 s): the model's validation.
        (update("--memory-size", "40000"), "ValidationException"),
        (update("--timeout", "6000"), "ValidationException"),
    ];
    for (args, code) in cases {
        assert_eq!(api.refused(&args).await, code, "{args:?}");
    }
    let c = api
        .ok(&["get-function-configuration", "--function-name", "f"])
        .await;
    assert_eq!(
        (c["MemorySize"].clone(), c["Timeout"].clone()),
        (128.into(), 3.into())
    );
    api.registry.shutdown_pools().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zip_that_is_not_a_zip_is_invalid() {
    let api = lab_with_f().await;
    // The CLI itself refuses a file without a zip's end record, so the CLI gets a zip whose
    // entry is damaged...
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().unix_permissions(0o755);
    writer.start_file("bootstrap", options).unwrap();
    writer
        .write_all(&"#!/bin/sh\necho hello\n".repeat(200).into_bytes())
        .unwrap();
    let mut zip = writer.finish().unwrap().into_inner();
    for b in &mut zip[60..90] {
        *b ^= 0x5a;
    }
    create_refused(&api, &zip, "InvalidParameterValueException").await;
    // ... and a raw request sends what is no zip at all.
    let not_a_zip = base64::engine::general_purpose::STANDARD.encode("#!/bin/sh\necho no zip\n");
    let body = serde_json::json!({"FunctionName": "g", "Role": ROLE, "Handler": "bootstrap",
        "Code": {"ZipFile": not_a_zip}});
    let reply = test_support::http::send(
        api.listener.local_addr(),
        "POST",
        "/2015-03-31/functions",
        &[],
        body.to_string(),
    )
    .await;
    assert_eq!(
        (reply.status, reply.header("x-amzn-errortype")),
        (400, Some("InvalidParameterValueException"))
    );
    api.ok(&["get-function", "--function-name", "f"]).await;
    api.registry.shutdown_pools().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zip_escaping_its_directory_is_refused_and_writes_nothing_outside() {
    let api = lab_with_f().await;
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().unix_permissions(0o755);
    writer.start_file("bootstrap", options).unwrap();
    writer.write_all(b"#!/bin/sh\n").unwrap();
    writer.start_file("../../escaped", options).unwrap();
    writer.write_all(b"out").unwrap();
    let zip = writer.finish().unwrap().into_inner();
    create_refused(&api, &zip, "InvalidParameterValueException").await;
    let state = api.dir.path().join("state");
    for dir in [api.dir.path(), state.as_path(), &state.join("code")] {
        assert!(!dir.join("escaped").exists(), "{} holds it", dir.display());
    }
    api.registry.shutdown_pools().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zip_over_the_limit_is_refused_before_it_is_parsed() {
    let api = lab_with_f().await;
    // Incompressible content (a seeded xorshift), stored: the zip is larger than the limit.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..ZIP_LIMIT + 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let zip = package(&[("noise", &noise)]);
    assert!(zip.len() as u64 > ZIP_LIMIT);
    create_refused(&api, &zip, "RequestEntityTooLargeException").await;
    api.registry.shutdown_pools().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_revision_id_is_a_failed_precondition() {
    let api = lab_with_f().await;
    let stale = "00000000-0000-0000-0000-000000000000";
    let file = api.zip_arg("new.zip", &package(&[("new", b"1")]));
    let cases: [&[&str]; 4] = [
        &[
            "update-function-configuration",
            "--function-name",
            "f",
            "--timeout",
            "5",
            "--revision-id",
            stale,
        ],
        &[
            "update-function-code",
            "--function-name",
            "f",
            "--zip-file",
            &file,
            "--revision-id",
            stale,
        ],
        &[
            "publish-version",
            "--function-name",
            "f",
            "--revision-id",
            stale,
        ],
        &[
            "publish-version",
            "--function-name",
            "f",
            "--code-sha256",
            "bm90IHRoZSBjb2Rl",
        ],
    ];
    for args in cases {
        assert_eq!(
            api.refused(args).await,
            "PreconditionFailedException",
            "{args:?}"
        );
    }
    let versions = api
        .ok(&["list-versions-by-function", "--function-name", "f"])
        .await;
    assert_eq!(names(&versions, "Versions", "Version"), ["$LATEST"]);
    api.registry.shutdown_pools().await;
}
