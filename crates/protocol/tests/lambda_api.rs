//! Lambda API fixtures: every operation's example from the API reference, plus fixtures written
//! from the reference's syntax where it gives no example. Sources and date:
//! `tests/fixtures/lambda_api/README.md`.

mod common;

use common::{fixture, round_trip};
use protocol::lambda_api::{
    AliasConfiguration, Architecture, CreateAliasRequest, CreateFunctionRequest,
    FunctionConfiguration, GetFunctionResponse, GetLayerVersionResponse, LambdaError,
    LambdaErrorType, LastUpdateStatus, ListAliasesResponse, ListFunctionsResponse,
    ListLayerVersionsResponse, ListLayersResponse, ListVersionsByFunctionResponse, PackageType,
    PublishLayerVersionRequest, PublishLayerVersionResponse, PublishVersionRequest, State,
    ThrottleReason, UpdateAliasRequest, UpdateFunctionCodeRequest,
    UpdateFunctionConfigurationRequest, format_last_modified,
};
use time::macros::datetime;

const FUNCTION_CONFIGURATIONS: &[&str] = &[
    "lambda_api/get_function_configuration.json",
    "lambda_api/get_function_configuration_full.json",
    "lambda_api/create_function_response.json",
    "lambda_api/update_function_code_response.json",
    "lambda_api/update_function_configuration_response.json",
    "lambda_api/publish_version_response.json",
];

#[test]
fn function_configurations_round_trip() {
    for rel in FUNCTION_CONFIGURATIONS {
        let c: FunctionConfiguration = round_trip(rel);
        assert_eq!(c.function_name.as_deref(), Some("my-function"), "{rel}");
        assert!(c.code_sha256.is_some() && c.code_size.is_some(), "{rel}");
    }
}

#[test]
fn get_function_configuration_example_fields() {
    let c: FunctionConfiguration = round_trip("lambda_api/get_function_configuration.json");
    assert_eq!(c.runtime.as_deref(), Some("nodejs12.x"));
    assert_eq!((c.memory_size, c.timeout), (Some(256), Some(15)));
    assert_eq!(c.code_size, Some(5_797_206));
    assert_eq!(c.version.as_deref(), Some("$LATEST"));
    assert_eq!(c.state, Some(State::Active));
    assert_eq!(c.last_update_status, Some(LastUpdateStatus::Successful));
    let vars = c.environment.and_then(|e| e.variables).expect("variables");
    assert_eq!(vars["PREFIX"], "inbound");
    // Members not modelled are kept, not dropped.
    assert_eq!(c.extra["TracingConfig"]["Mode"], "Active");
    assert!(c.extra.contains_key("KMSKeyArn"));
}

#[test]
fn full_configuration_has_layers_and_architecture() {
    let c: FunctionConfiguration = round_trip("lambda_api/get_function_configuration_full.json");
    let layers = c.layers.expect("layers");
    assert_eq!(
        layers[0].arn,
        "arn:aws:lambda:us-east-1:123456789012:layer:rollcall:1"
    );
    assert_eq!(layers[0].code_size, Some(169));
    assert_eq!(c.architectures, Some(vec![Architecture::Arm64]));
    assert_eq!(c.package_type, Some(PackageType::Zip));
    assert_eq!(c.ephemeral_storage.map(|e| e.size), Some(512));
    assert_eq!(c.extra["SnapStart"]["ApplyOn"], "None");
}

#[test]
fn get_function_round_trips() {
    let g: GetFunctionResponse = round_trip("lambda_api/get_function.json");
    let code = g.code.expect("code");
    assert_eq!(code.repository_type.as_deref(), Some("S3"));
    assert!(code.location.expect("location").starts_with("https://"));
    assert_eq!(g.tags.expect("tags")["DEPARTMENT"], "Assets");

    let g: GetFunctionResponse = round_trip("lambda_api/get_function_with_concurrency.json");
    assert_eq!(
        g.concurrency.and_then(|c| c.reserved_concurrent_executions),
        Some(100)
    );
}

#[test]
fn create_function_requests_round_trip() {
    let r: CreateFunctionRequest = round_trip("lambda_api/create_function_request.json");
    assert_eq!(r.code.s3_key.as_deref(), Some("function.zip"));
    assert!(r.code.zip_file.is_none());
    assert_eq!(r.publish, Some(true));
    assert_eq!(r.extra["TracingConfig"]["Mode"], "Active");

    let r: CreateFunctionRequest = round_trip("lambda_api/create_function_request_zip.json");
    let zip = r.code.zip_file.expect("ZipFile");
    assert!(zip.0.starts_with(b"PK\x03\x04"), "ZipFile decodes to a zip");
    assert_eq!(r.layers.map(|l| l.len()), Some(1));
    assert_eq!(r.architectures, Some(vec![Architecture::Arm64]));
}

#[test]
fn update_function_code_requests_round_trip() {
    let r: UpdateFunctionCodeRequest = round_trip("lambda_api/update_function_code_request.json");
    assert_eq!(r.s3_bucket.as_deref(), Some("my-bucket-1xpuxmplzrlbh"));
    let r: UpdateFunctionCodeRequest =
        round_trip("lambda_api/update_function_code_request_zip.json");
    assert!(r.zip_file.expect("ZipFile").0.starts_with(b"PK\x03\x04"));
    assert_eq!((r.publish, r.dry_run), (Some(true), Some(false)));
}

#[test]
fn update_function_configuration_requests_round_trip() {
    let r: UpdateFunctionConfigurationRequest =
        round_trip("lambda_api/update_function_configuration_request.json");
    assert_eq!(r.memory_size, Some(256));
    assert!(
        r.layers.is_none() && r.environment.is_none(),
        "absent stays absent"
    );
    let r: UpdateFunctionConfigurationRequest =
        round_trip("lambda_api/update_function_configuration_request_full.json");
    assert_eq!(r.layers.map(|l| l.len()), Some(2));
    assert_eq!((r.timeout, r.memory_size), (Some(30), Some(1024)));
}

#[test]
fn publish_version_request_round_trips() {
    let r: PublishVersionRequest = round_trip("lambda_api/publish_version_request.json");
    assert_eq!(r.code_sha256.as_deref(), Some(""));
}

#[test]
fn function_lists_round_trip() {
    let l: ListFunctionsResponse = round_trip("lambda_api/list_functions.json");
    let names: Vec<_> = l
        .functions
        .iter()
        .filter_map(|f| f.function_name.as_deref())
        .collect();
    assert_eq!(names, ["helloworld", "my-function"]);
    assert_eq!(l.next_marker.as_deref(), Some(""));

    let l: ListVersionsByFunctionResponse = round_trip("lambda_api/list_versions_by_function.json");
    let versions: Vec<_> = l
        .versions
        .iter()
        .filter_map(|f| f.version.as_deref())
        .collect();
    assert_eq!(versions, ["$LATEST", "1"]);
}

#[test]
fn aliases_round_trip() {
    let r: CreateAliasRequest = round_trip("lambda_api/create_alias_request.json");
    assert_eq!(
        (r.name.as_str(), r.function_version.as_str()),
        ("LIVE", "1")
    );
    for rel in [
        "lambda_api/create_alias_response.json",
        "lambda_api/get_alias.json",
        "lambda_api/update_alias_response.json",
    ] {
        let a: AliasConfiguration = round_trip(rel);
        assert!(
            a.alias_arn.expect("arn").ends_with(&a.name.expect("name")),
            "{rel}"
        );
    }
    let r: UpdateAliasRequest = round_trip("lambda_api/update_alias_request.json");
    let weights = r
        .routing_config
        .expect("routing")
        .additional_version_weights;
    assert_eq!(weights.get("1"), Some(&0.7));

    let l: ListAliasesResponse = round_trip("lambda_api/list_aliases.json");
    assert_eq!(l.aliases.len(), 2);
    assert!(l.aliases[1].routing_config.is_none());
}

#[test]
fn layers_round_trip() {
    let r: PublishLayerVersionRequest = round_trip("lambda_api/publish_layer_version_request.json");
    assert_eq!(r.content.s3_key.as_deref(), Some("layer.zip"));
    let r: PublishLayerVersionRequest =
        round_trip("lambda_api/publish_layer_version_request_zip.json");
    assert!(
        r.content
            .zip_file
            .expect("ZipFile")
            .0
            .starts_with(b"PK\x03\x04")
    );
    assert_eq!(r.compatible_architectures.map(|a| a.len()), Some(2));

    for rel in [
        "lambda_api/publish_layer_version_response.json",
        "lambda_api/get_layer_version.json",
    ] {
        let v: PublishLayerVersionResponse = round_trip(rel);
        let v: GetLayerVersionResponse = v;
        assert_eq!(v.version, Some(1), "{rel}");
        assert_eq!(
            format!("{}:1", v.layer_arn.expect("LayerArn")),
            v.layer_version_arn.expect("LayerVersionArn"),
            "{rel}"
        );
        assert_eq!(v.content.and_then(|c| c.code_size), Some(169), "{rel}");
    }
    let l: ListLayerVersionsResponse = round_trip("lambda_api/list_layer_versions.json");
    let versions: Vec<_> = l.layer_versions.iter().filter_map(|v| v.version).collect();
    assert_eq!(versions, [7, 6]);
    let l: ListLayersResponse = round_trip("lambda_api/list_layers.json");
    let latest = l.layers[0]
        .latest_matching_version
        .as_ref()
        .expect("latest");
    assert_eq!(l.layers[0].layer_name.as_deref(), Some("my-layer"));
    assert_eq!(
        format!("{}:2", l.layers[0].layer_arn.as_deref().expect("LayerArn")),
        latest
            .layer_version_arn
            .as_deref()
            .expect("LayerVersionArn")
    );
}

#[test]
fn a_zip_file_that_is_not_base64_is_refused_with_the_fix() {
    let err = serde_json::from_str::<UpdateFunctionCodeRequest>(r#"{"ZipFile":"not base64!"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("ZipFile is not base64"), "{err}");
    assert!(err.contains("fileb://"), "{err}");
}

#[test]
fn last_modified_is_written_like_lambda() {
    let t = datetime!(2020-04-10 21:06:32.563 +02:00);
    assert_eq!(format_last_modified(t), "2020-04-10T19:06:32.563+0000");
}

/// (fixture, type, status, message member)
const ERRORS: &[(&str, LambdaErrorType, u16, &str)] = &[
    (
        "errors/resource_not_found.json",
        LambdaErrorType::ResourceNotFound,
        404,
        "Message",
    ),
    (
        "errors/resource_conflict.json",
        LambdaErrorType::ResourceConflict,
        409,
        "message",
    ),
    (
        "errors/precondition_failed.json",
        LambdaErrorType::PreconditionFailed,
        412,
        "message",
    ),
    (
        "errors/too_many_requests.json",
        LambdaErrorType::TooManyRequests,
        429,
        "message",
    ),
    (
        "errors/invalid_parameter_value.json",
        LambdaErrorType::InvalidParameterValue,
        400,
        "message",
    ),
    (
        "errors/service.json",
        LambdaErrorType::Service,
        500,
        "Message",
    ),
];

#[test]
fn errors_render_and_parse_like_lambda() {
    for (rel, kind, status, member) in ERRORS {
        let rel = format!("lambda_api/{rel}");
        let raw = fixture(&rel);
        let parsed = LambdaError::parse(Some(kind.name()), raw.as_bytes()).expect(&rel);
        assert_eq!(parsed.kind, *kind, "{rel}");
        assert_eq!(parsed.status(), *status, "{rel}");
        assert_eq!(kind.message_member(), *member, "{rel}");
        assert!(!parsed.message.is_empty(), "{rel}: message read");
        let expected: serde_json::Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(parsed.body(), expected, "{rel}: rendered body");
    }
}

#[test]
fn a_package_that_is_not_a_zip_is_refused_in_lambdas_words() {
    let raw = fixture("lambda_api/errors/invalid_parameter_value.json");
    let e = LambdaError::parse(Some("InvalidParameterValueException"), raw.as_bytes()).unwrap();
    assert_eq!(e.message, protocol::lambda_api::error::NOT_A_ZIP);
}

#[test]
fn throttling_carries_its_reason() {
    let e = LambdaError::throttled(
        ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded,
        "Rate Exceeded.",
    );
    assert_eq!(e.status(), 429);
    assert_eq!(
        e.body()["Reason"],
        "ReservedFunctionConcurrentInvocationLimitExceeded"
    );
}

#[test]
fn error_type_is_read_as_botocore_reads_it() {
    // Header first, decorated forms stripped.
    let e = LambdaError::parse(
        Some("ResourceConflictException:http://internal.amazon.com/"),
        br#"{"message":"exists"}"#,
    )
    .expect("parsed");
    assert_eq!(e.kind, LambdaErrorType::ResourceConflict);
    // No header: the body's code.
    let e = LambdaError::parse(None, br#"{"Code":"ServiceException","Message":"x"}"#).unwrap();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (LambdaErrorType::Service, "x")
    );
    // Neither: not a Lambda error.
    assert!(LambdaError::parse(None, br#"{"message":"x"}"#).is_none());
}

#[test]
fn every_error_type_has_a_distinct_name_and_a_client_or_server_status() {
    let mut names: Vec<_> = LambdaErrorType::ALL.iter().map(|t| t.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), LambdaErrorType::ALL.len());
    for t in LambdaErrorType::ALL {
        assert_eq!(LambdaErrorType::from_name(t.name()), Some(t));
        assert!((400..600).contains(&t.status()), "{t}");
        assert_eq!(t.fault() == "User", t.status() < 500, "{t}");
    }
}
