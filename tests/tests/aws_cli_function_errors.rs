//! Bad input to the lab's function and version operations, through the real AWS CLI (and a
//! raw request where the CLI refuses to send it): each answered with Lambda's status and error
//! type, nothing kept of it, and the lab serving on after it.

mod functions_support;

use std::io::{Cursor, Write};

use base64::Engine;
use functions_support::{LambdaApi, ROLE, ZIP_LIMIT, names, package};
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

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
    ] {
        assert_eq!(
            api.refused(args).await,
            "ResourceNotFoundException",
            "{args:?}"
        );
    }
    // A layer version that does not exist is a bad parameter value to Lambda, not a missing
    // resource ("Layer version ... does not exist.").
    let unknown_layer = [
        "update-function-configuration",
        "--function-name",
        "f",
        "--layers",
        "arn:aws:lambda:us-east-1:123456789012:layer:nope:1",
    ];
    assert_eq!(
        api.refused(&unknown_layer).await,
        "InvalidParameterValueException"
    );
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
