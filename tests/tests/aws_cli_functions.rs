//! Functions and versions through the lab's Lambda API, driven by the real AWS CLI
//! (`aws lambda ... --endpoint-url`): CreateFunction (`--zip-file fileb://`), UpdateFunctionCode,
//! UpdateFunctionConfiguration, PublishVersion, GetFunction(Configuration), ListFunctions,
//! ListVersionsByFunction, DeleteFunction and Invoke of fresh versions. Bad input:
//! `aws_cli_function_errors.rs`.

mod functions_support;

use std::sync::Arc;

use functions_support::{ARN, LambdaApi, names, package, sha256};
use lab::control::alias::{Alias, Routing};

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
