//! The read side of functions and versions in the Lambda API (`2015-03-31`), so that
//! `aws lambda ... --endpoint-url` can look at the lab:
//! - `ListVersionsByFunction`: `GET /2015-03-31/functions/{FunctionName}/versions[?Marker=&MaxItems=]`
//!   (`$LATEST` first, then the published versions in ascending order);
//! - `GetFunction`: `GET /2015-03-31/functions/{FunctionName}[?Qualifier=]`;
//! - `GetFunctionConfiguration`: `GET /2015-03-31/functions/{FunctionName}/configuration[?Qualifier=]`.
//!
//! Each version is a `FunctionConfiguration` document.

use std::sync::Arc;

use serde_json::{Value, json};

use protocol::lambda_api::{
    EnvironmentResponse, EphemeralStorage, FunctionCodeLocation, FunctionConfiguration,
    GetFunctionResponse, LastUpdateStatus, LayerReference, PackageType, State,
    format_last_modified,
};

use super::error::ApiError;
use super::error::Kind;
use crate::api::http::percent_decode;
use crate::control::Version;

/// Lambda's default and largest page (`MaxItems`: 1..=10,000; 50 when absent).
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 10_000;

/// Which read operation was asked for, with the function's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionRead {
    /// `GetFunction`.
    Function(String),
    /// `GetFunctionConfiguration`.
    Configuration(String),
}

/// The `GetFunctionConfiguration` document of `version`, asked for as `asked_arn` (Lambda
/// answers with the ARN as asked: unqualified, alias- or version-qualified).
pub fn function_configuration(asked_arn: &str, version: &Version) -> Value {
    serde_json::to_value(configuration(asked_arn, version)).unwrap_or_default()
}

/// The `GetFunction` document of `version`, asked for as `asked_arn`: its configuration and
/// where its code is (the lab's code dir, not an S3 URL).
pub fn get_function(asked_arn: &str, version: &Version) -> Value {
    let document = GetFunctionResponse {
        configuration: Some(configuration(asked_arn, version)),
        code: Some(FunctionCodeLocation {
            repository_type: Some("S3".into()),
            location: Some(format!("file://{}", version.config.code_dir.display())),
            ..FunctionCodeLocation::default()
        }),
        ..GetFunctionResponse::default()
    };
    serde_json::to_value(document).unwrap_or_default()
}

/// One page of `items` (already in Lambda's order) for the query string `query` (`Marker`,
/// `MaxItems`), and the marker of the next page: the index of its first item, opaque to the
/// caller like Lambda's.
pub fn page<'a, T>(
    items: &'a [T],
    query: Option<&str>,
) -> Result<(&'a [T], Option<String>), ApiError> {
    let param = |key: &str| {
        query.unwrap_or("").split('&').find_map(|p| {
            p.split_once('=')
                .filter(|(k, _)| *k == key)
                .map(|(_, v)| percent_decode(v))
        })
    };
    let invalid = |message: String| ApiError::new(Kind::InvalidParameterValue, message);
    let size = match param("MaxItems") {
        None => DEFAULT_PAGE,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                invalid(format!(
                    "MaxItems {v:?} must be an integer from 1 to {MAX_PAGE}"
                ))
            })?,
    };
    let from = match param("Marker") {
        None => 0,
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|i| *i < items.len())
            .ok_or_else(|| invalid(format!("Marker {m:?} is not one this API returned")))?,
    };
    let to = (from + size).min(items.len());
    Ok((&items[from..to], (to < items.len()).then(|| to.to_string())))
}

/// The `ListVersionsByFunction` page of `versions` (already in Lambda's order) for the query
/// string `query`, with ARNs built from `function_arn` (unqualified).
pub fn list_versions(
    function_arn: &str,
    versions: &[Arc<Version>],
    query: Option<&str>,
) -> Result<Value, ApiError> {
    let (items, next) = page(versions, query)?;
    let documents: Vec<Value> = items
        .iter()
        .map(|v| function_configuration(&format!("{function_arn}:{}", v.version), v))
        .collect();
    let mut page = json!({ "Versions": documents });
    if let Some(next) = next {
        page["NextMarker"] = json!(next);
    }
    Ok(page)
}

/// A `FunctionConfiguration` document whose `FunctionArn` is `arn`
/// (`arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`).
pub fn configuration(arn: &str, v: &Version) -> FunctionConfiguration {
    let c = &v.config;
    let layers = v
        .meta
        .layers
        .iter()
        .map(|(arn, size)| LayerReference {
            arn: arn.clone(),
            code_size: Some(*size),
            ..LayerReference::default()
        })
        .collect::<Vec<_>>();
    FunctionConfiguration {
        function_name: Some(c.function_name.clone()),
        function_arn: Some(arn.to_owned()),
        runtime: Some(v.meta.runtime.clone()),
        role: Some(format!("arn:aws:iam::{}:role/rollcall-lab", c.account_id)),
        handler: Some(c.handler.clone()),
        code_size: Some(v.meta.code_size),
        description: Some(v.meta.description.clone()),
        timeout: Some(u32::try_from(c.timeout.as_secs()).unwrap_or(u32::MAX)),
        memory_size: Some(c.memory_mb),
        last_modified: Some(format_last_modified(time::OffsetDateTime::from(
            v.last_modified,
        ))),
        code_sha256: Some(v.meta.code_sha256.clone()),
        version: Some(v.version.clone()),
        environment: (!c.env_vars.is_empty()).then(|| EnvironmentResponse {
            variables: Some(c.env_vars.clone()),
            error: None,
        }),
        revision_id: Some(v.meta.revision_id.clone()),
        layers: (!layers.is_empty()).then_some(layers),
        state: Some(State::Active),
        last_update_status: Some(LastUpdateStatus::Successful),
        package_type: Some(PackageType::Zip),
        architectures: Some(vec![v.meta.architecture]),
        ephemeral_storage: Some(EphemeralStorage { size: 512 }),
        extra: [("TracingConfig".to_owned(), json!({ "Mode": "PassThrough" }))]
            .into_iter()
            .collect(),
        ..FunctionConfiguration::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::time::{Duration, SystemTime};

    use crate::env::FunctionConfig;
    use crate::invoke::{InvokeError, InvokeFuture, InvokeRequest, Invoker};

    struct Never;

    impl Invoker for Never {
        fn invoke(&self, _: InvokeRequest) -> InvokeFuture<'_> {
            Box::pin(async { Err(InvokeError::NotFound("never".into())) })
        }
    }

    fn versions() -> Vec<Arc<Version>> {
        ["$LATEST", "1", "2"]
            .into_iter()
            .map(|v| {
                let mut config = FunctionConfig::new("hello", v, format!("/code/{v}"), "hello");
                config.memory_mb = 256;
                config.timeout = Duration::from_secs(3);
                let mut version = Version::new(v, config, Arc::new(Never));
                version.last_modified =
                    SystemTime::UNIX_EPOCH + Duration::from_millis(1_665_532_815_064);
                version.meta.code_sha256 = format!("sha-{v}");
                version.meta.code_size = 42;
                Arc::new(version)
            })
            .collect()
    }

    const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:hello";

    #[test]
    fn get_function_names_the_version_and_its_code() {
        let all = versions();
        let doc = get_function(&format!("{ARN}:2"), &all[2]);
        assert_eq!(doc["Configuration"]["Version"], "2");
        assert_eq!(doc["Configuration"]["FunctionName"], "hello");
        assert_eq!(doc["Configuration"]["FunctionArn"], format!("{ARN}:2"));
        assert_eq!(doc["Code"]["Location"], "file:///code/2");
        assert_eq!(doc["Configuration"]["CodeSha256"], "sha-2");
        assert_eq!(doc["Configuration"]["CodeSize"], 42);
        assert_eq!(doc["Configuration"]["Runtime"], "provided.al2023");
        assert_eq!(doc["Configuration"]["State"], "Active");
        assert_eq!(doc["Configuration"]["Architectures"], json!(["x86_64"]));
        assert!(doc["Configuration"]["RevisionId"].is_string());
    }

    #[test]
    fn lists_latest_first_with_qualified_arns() {
        let page = list_versions(ARN, &versions(), None).unwrap();
        let listed: Vec<&str> = page["Versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["Version"].as_str().unwrap())
            .collect();
        assert_eq!(listed, ["$LATEST", "1", "2"]);
        let one = &page["Versions"][1];
        assert_eq!(one["FunctionArn"], format!("{ARN}:1"));
        assert_eq!(one["FunctionName"], "hello");
        assert_eq!(one["Timeout"], 3);
        assert_eq!(one["MemorySize"], 256);
        assert_eq!(one["LastModified"], "2022-10-12T00:00:15.064+0000");
        assert_eq!(one["Role"], "arn:aws:iam::123456789012:role/rollcall-lab");
        assert!(page.get("NextMarker").is_none(), "one page holds all");
    }

    #[test]
    fn pages_follow_the_marker() {
        let first = list_versions(ARN, &versions(), Some("MaxItems=2")).unwrap();
        assert_eq!(first["Versions"].as_array().unwrap().len(), 2);
        let marker = first["NextMarker"].as_str().unwrap().to_owned();
        let second = list_versions(
            ARN,
            &versions(),
            Some(&format!("Marker={marker}&MaxItems=2")),
        )
        .unwrap();
        assert_eq!(second["Versions"][0]["Version"], "2");
        assert!(second.get("NextMarker").is_none());
    }

    #[test]
    fn bad_paging_names_the_parameter() {
        for (query, needle) in [
            ("MaxItems=0", "MaxItems"),
            ("MaxItems=x", "MaxItems"),
            ("Marker=99", "Marker"),
        ] {
            let e = list_versions(ARN, &versions(), Some(query)).unwrap_err();
            assert_eq!(e.error_type(), "InvalidParameterValueException");
            assert!(e.message().contains(needle), "{query}: {}", e.message());
        }
    }
}
