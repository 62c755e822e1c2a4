//! Alias CRUD (`create-alias`, `list-aliases`, `delete-alias`, `update-alias`) through the real
//! AWS CLI, and bad input to it: each refusal with Lambda's error type and message, nothing kept
//! of it, and the lab serving on after it.

mod functions_support;

use functions_support::{LambdaApi, names, package};

/// A lab with `f` and its versions 1 and 2.
async fn lab_with_versions() -> LambdaApi {
    let api = LambdaApi::start().await;
    api.create("f", &package(&[]), &[]).await;
    api.ok(&["publish-version", "--function-name", "f"]).await;
    let two = api.zip_arg("two.zip", &package(&[("two", b"2")]));
    api.ok(&[
        "update-function-code",
        "--function-name",
        "f",
        "--zip-file",
        &two,
    ])
    .await;
    api.ok(&["publish-version", "--function-name", "f"]).await;
    api
}

/// The error code and stderr of a refused call (the lab serves on after it).
async fn refusal(api: &LambdaApi, args: &[&str]) -> (String, String) {
    let stderr = String::from_utf8_lossy(&api.run(args).await.stderr).into_owned();
    (api.refused(args).await, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliases_are_created_listed_and_deleted() {
    let api = lab_with_versions().await;
    let created = api
        .ok(&[
            "create-alias",
            "--function-name",
            "f",
            "--name",
            "live",
            "--function-version",
            "1",
            "--routing-config",
            "AdditionalVersionWeights={2=0.25}",
        ])
        .await;
    assert_eq!(
        created["AliasArn"],
        "arn:aws:lambda:us-east-1:123456789012:function:f:live"
    );
    assert_eq!(
        created["RoutingConfig"]["AdditionalVersionWeights"]["2"],
        0.25
    );
    api.ok(&[
        "create-alias",
        "--function-name",
        "f",
        "--name",
        "b",
        "--function-version",
        "2",
    ])
    .await;
    api.ok(&[
        "create-alias",
        "--function-name",
        "f",
        "--name",
        "c",
        "--function-version",
        "$LATEST",
    ])
    .await;
    let all = api.ok(&["list-aliases", "--function-name", "f"]).await;
    assert_eq!(names(&all, "Aliases", "Name"), ["b", "c", "live"]);
    let on_2 = api
        .ok(&[
            "list-aliases",
            "--function-name",
            "f",
            "--function-version",
            "2",
        ])
        .await;
    assert_eq!(names(&on_2, "Aliases", "Name"), ["b", "live"]);
    // Paging by one: the CLI follows NextMarker itself when asked for a page size.
    let paged = api
        .ok(&["list-aliases", "--function-name", "f", "--page-size", "1"])
        .await;
    assert_eq!(names(&paged, "Aliases", "Name"), ["b", "c", "live"]);
    let one = api
        .ok(&["list-aliases", "--function-name", "f", "--max-items", "1"])
        .await;
    assert_eq!(names(&one, "Aliases", "Name"), ["b"]);

    // GetAlias and UpdateAlias take the function's ARN (or partial ARN) as well as its name.
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:f";
    for function in [arn, "123456789012:function:f"] {
        let got = api
            .ok(&["get-alias", "--function-name", function, "--name", "live"])
            .await;
        assert_eq!(
            got["AliasArn"],
            "arn:aws:lambda:us-east-1:123456789012:function:f:live"
        );
    }
    let updated = api
        .ok(&[
            "update-alias",
            "--function-name",
            arn,
            "--name",
            "live",
            "--routing-config",
            "AdditionalVersionWeights={2=0.5}",
        ])
        .await;
    assert_eq!(
        updated["RoutingConfig"]["AdditionalVersionWeights"]["2"],
        0.5
    );
    let (reply, _) = api.invoke("f", "live", "{}").await;
    assert_eq!(reply["StatusCode"], 200);
    api.ok(&["delete-alias", "--function-name", "f", "--name", "live"])
        .await;
    let invoke_gone = [
        "invoke",
        "--function-name",
        "f",
        "--qualifier",
        "live",
        "/dev/null",
    ];
    assert_eq!(api.refused(&invoke_gone).await, "ResourceNotFoundException");
    let left = api.ok(&["list-aliases", "--function-name", "f"]).await;
    assert_eq!(names(&left, "Aliases", "Name"), ["b", "c"]);
    api.registry.shutdown_pools().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_alias_input_is_refused_as_lambda_does() {
    let api = lab_with_versions().await;
    api.ok(&[
        "create-alias",
        "--function-name",
        "f",
        "--name",
        "live",
        "--function-version",
        "1",
    ])
    .await;
    let long = "a".repeat(129);
    let create = |name: &'static str, version: &'static str| {
        vec![
            "create-alias",
            "--function-name",
            "f",
            "--name",
            name,
            "--function-version",
            version,
        ]
    };
    let weighted = |version: &'static str, weights: &'static str| {
        vec![
            "create-alias",
            "--function-name",
            "f",
            "--name",
            "w",
            "--function-version",
            version,
            "--routing-config",
            weights,
        ]
    };
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            create("live", "1"),
            "ResourceConflictException",
            "Alias already exists",
        ),
        (
            vec![
                "create-alias",
                "--function-name",
                "nope",
                "--name",
                "x",
                "--function-version",
                "1",
            ],
            "ResourceNotFoundException",
            "Function not found",
        ),
        (
            create("x", "9"),
            "ResourceNotFoundException",
            "Function not found",
        ),
        (create("123", "1"), "ValidationException", "all digits"),
        (
            vec![
                "create-alias",
                "--function-name",
                "f",
                "--name",
                &long,
                "--function-version",
                "1",
            ],
            "ValidationException",
            "alias name",
        ),
        (
            weighted("$LATEST", "AdditionalVersionWeights={2=0.1}"),
            "InvalidParameterValueException",
            "$LATEST is not supported",
        ),
        (
            weighted("1", "AdditionalVersionWeights={2=0.1,3=0.1}"),
            "InvalidParameterValueException",
            "cannot be greater than 1",
        ),
        (
            weighted("1", "AdditionalVersionWeights={2=1.5}"),
            "InvalidParameterValueException",
            "out of range",
        ),
        (
            weighted("1", "AdditionalVersionWeights={7=0.1}"),
            "InvalidParameterValueException",
            "not published",
        ),
        (
            vec!["get-alias", "--function-name", "f", "--name", "gone"],
            "ResourceNotFoundException",
            "Alias not found",
        ),
        (
            vec!["delete-alias", "--function-name", "f", "--name", "gone"],
            "ResourceNotFoundException",
            "Alias not found",
        ),
        (
            vec![
                "update-alias",
                "--function-name",
                "f",
                "--name",
                "live",
                "--function-version",
                "2",
                "--revision-id",
                "stale",
            ],
            "PreconditionFailedException",
            "Revision Id provided does not match",
        ),
    ];
    for (args, code, message) in &cases {
        let (got, stderr) = refusal(&api, args).await;
        assert_eq!(&got, code, "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    // Nothing of the refusals was kept; the alias still routes to 1 and serves.
    let all = api.ok(&["list-aliases", "--function-name", "f"]).await;
    assert_eq!(names(&all, "Aliases", "Name"), ["live"]);
    assert_eq!(all["Aliases"][0]["FunctionVersion"], "1");
    let (reply, _) = api.invoke("f", "live", "{}").await;
    assert_eq!(reply["StatusCode"], 200);
    api.registry.shutdown_pools().await;
}
