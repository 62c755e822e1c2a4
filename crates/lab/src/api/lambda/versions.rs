//! The read side of functions and versions in the Lambda API (`2015-03-31`), so that
//! `aws lambda ... --endpoint-url` can look at the lab:
//! - `ListVersionsByFunction`: `GET /2015-03-31/functions/{FunctionName}/versions[?Marker=&MaxItems=]`
//!   (`$LATEST` first, then the published versions in ascending order);
//! - `GetFunction`: `GET /2015-03-31/functions/{FunctionName}[?Qualifier=]`;
//! - `GetFunctionConfiguration`: `GET /2015-03-31/functions/{FunctionName}/configuration[?Qualifier=]`.
//!
//! Each version is a `FunctionConfiguration` document.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use protocol::lambda_api::{FunctionArn, LATEST};

use super::error::ApiError;
use super::error::Kind;
use crate::api::http::percent_decode;

/// Lambda's default and largest page (`MaxItems`: 1..=10,000; 50 when absent).
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 10_000;

/// What the lab reports of one version (`FunctionConfiguration`).
#[derive(Debug, Clone, PartialEq)]
pub struct VersionInfo {
    /// `"$LATEST"`, `"1"`, ...
    pub version: String,
    /// The handler.
    pub handler: String,
    /// Memory in MB.
    pub memory_mb: u32,
    /// The function timeout.
    pub timeout: Duration,
    /// When the lab published it (its start).
    pub last_modified: SystemTime,
    /// Its code dir.
    pub code_dir: std::path::PathBuf,
}

/// Which read operation was asked for, with the function's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionRead {
    /// `GetFunction`.
    Function(String),
    /// `GetFunctionConfiguration`.
    Configuration(String),
}

/// The version `qualifier` names (`$LATEST` when absent; an alias names its primary version,
/// resolved by `alias_primary`).
pub fn find_version<'a>(
    versions: &'a [VersionInfo],
    qualifier: Option<&str>,
    alias_primary: impl Fn(&str) -> Option<String>,
) -> Option<&'a VersionInfo> {
    let wanted = match qualifier {
        None => LATEST.to_owned(),
        Some(q) if versions.iter().any(|v| v.version == q) => q.to_owned(),
        Some(alias) => alias_primary(alias)?,
    };
    versions.iter().find(|v| v.version == wanted)
}

/// The `GetFunctionConfiguration` document of `version`, asked for as `asked_arn` (Lambda
/// answers with the ARN as asked: unqualified, alias- or version-qualified).
pub fn function_configuration(asked_arn: &str, version: &VersionInfo) -> Value {
    configuration(asked_arn, version)
}

/// The `GetFunction` document of `version`, asked for as `asked_arn`: its configuration and
/// where its code is (the lab's code dir, not an S3 URL).
pub fn get_function(asked_arn: &str, version: &VersionInfo) -> Value {
    json!({
        "Configuration": configuration(asked_arn, version),
        "Code": { "RepositoryType": "S3", "Location": format!("file://{}", version.code_dir.display()) },
    })
}

/// The `ListVersionsByFunction` page of `versions` (already in Lambda's order) for the query
/// string `query`, with ARNs built from `function_arn` (unqualified).
pub fn list_versions(
    function_arn: &str,
    versions: &[VersionInfo],
    query: Option<&str>,
) -> Result<Value, ApiError> {
    let param = |key: &str| {
        query.unwrap_or("").split('&').find_map(|p| {
            p.split_once('=')
                .filter(|(k, _)| *k == key)
                .map(|(_, v)| percent_decode(v))
        })
    };
    let invalid = |message: String| ApiError::new(Kind::InvalidParameterValue, message);
    let page = match param("MaxItems") {
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
    // The marker is the index of the next version: opaque to the caller, like Lambda's.
    let from = match param("Marker") {
        None => 0,
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|i| *i < versions.len())
            .ok_or_else(|| invalid(format!("Marker {m:?} is not one this API returned")))?,
    };
    let to = (from + page).min(versions.len());
    let documents: Vec<Value> = versions[from..to]
        .iter()
        .map(|v| configuration(&format!("{function_arn}:{}", v.version), v))
        .collect();
    let mut page = json!({ "Versions": documents });
    if to < versions.len() {
        page["NextMarker"] = json!(to.to_string());
    }
    Ok(page)
}

/// A `FunctionConfiguration` document whose `FunctionArn` is `arn`
/// (`arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`).
fn configuration(arn: &str, v: &VersionInfo) -> Value {
    let parsed = FunctionArn::parse(arn).ok();
    let name = parsed.as_ref().map_or("", |a| a.name.as_str());
    let account = parsed.as_ref().map_or("", |a| a.scope.account.as_str());
    let modified = time::OffsetDateTime::from(v.last_modified);
    json!({
        "FunctionName": name,
        "FunctionArn": arn,
        "Role": format!("arn:aws:iam::{account}:role/rollcall-lab"),
        "Handler": v.handler,
        "Description": "",
        "Timeout": v.timeout.as_secs(),
        "MemorySize": v.memory_mb,
        // Lambda's own format: 2026-11-26T07:00:00.000+0000.
        "LastModified": format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
            modified.year(),
            u8::from(modified.month()),
            modified.day(),
            modified.hour(),
            modified.minute(),
            modified.second(),
            modified.millisecond()
        ),
        "Version": v.version,
        "TracingConfig": { "Mode": "PassThrough" },
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": { "Size": 512 },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions() -> Vec<VersionInfo> {
        ["$LATEST", "1", "2"]
            .into_iter()
            .map(|v| VersionInfo {
                version: v.to_owned(),
                handler: "hello".into(),
                memory_mb: 256,
                timeout: Duration::from_secs(3),
                last_modified: SystemTime::UNIX_EPOCH + Duration::from_millis(1_665_532_815_064),
                code_dir: format!("/code/{v}").into(),
            })
            .collect()
    }

    const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:hello";

    #[test]
    fn qualifiers_name_versions() {
        let all = versions();
        let primary = |alias: &str| (alias == "live").then(|| "1".to_owned());
        let version = |q| find_version(&all, q, primary).map(|v| v.version.as_str());
        assert_eq!(version(None), Some("$LATEST"));
        assert_eq!(version(Some("2")), Some("2"));
        assert_eq!(
            version(Some("live")),
            Some("1"),
            "an alias names its primary version"
        );
        assert_eq!(version(Some("9")), None);
        let doc = get_function(&format!("{ARN}:2"), &all[2]);
        assert_eq!(doc["Configuration"]["Version"], "2");
        assert_eq!(doc["Configuration"]["FunctionName"], "hello");
        assert_eq!(doc["Configuration"]["FunctionArn"], format!("{ARN}:2"));
        assert_eq!(doc["Code"]["Location"], "file:///code/2");
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
