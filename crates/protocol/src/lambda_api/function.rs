//! A function's configuration as Lambda returns it (`FunctionConfiguration`, the response of
//! `GetFunctionConfiguration`, `CreateFunction`, `UpdateFunctionCode`,
//! `UpdateFunctionConfiguration`, `PublishVersion`) and `GetFunction`'s response.
//!
//! Field documentation quotes the *Lambda API reference*
//! (<https://docs.aws.amazon.com/lambda/latest/api/API_FunctionConfiguration.html>). Members the
//! lab does not fill (VPC, KMS, tracing, SnapStart, logging, ...) are kept verbatim in `extra`, so
//! that a document read and written again loses nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Extra;

/// "Details about a function's configuration."
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionConfiguration {
    /// "The name of the function."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_name: Option<String>,
    /// "The function's Amazon Resource Name (ARN)." Qualified for a published version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_arn: Option<String>,
    /// "The identifier of the function's runtime." (`nodejs22.x`, `provided.al2023`, ...)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// "The function's execution role."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// "The function that Lambda calls to begin running your function."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler: Option<String>,
    /// "The size of the function's deployment package, in bytes."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_size: Option<u64>,
    /// "The function's description."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// "The amount of time in seconds that Lambda allows a function to run before stopping it."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// "The amount of memory available to the function at runtime." (MB)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_size: Option<u32>,
    /// "The date and time that the function was last updated, in ISO-8601 format
    /// (YYYY-MM-DDThh:mm:ss.sTZD)", as written by [`format_last_modified`](super::format_last_modified).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// "The SHA256 hash of the function's deployment package." (base64)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_sha256: Option<String>,
    /// "The version of the Lambda function." (`$LATEST` or a number)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// "The function's environment variables."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<EnvironmentResponse>,
    /// "The latest updated revision of the function or alias."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_id: Option<String>,
    /// "The function's layers."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<LayerReference>>,
    /// "The current state of the function."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    /// "The reason for the function's current state."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    /// "The reason code for the function's current state."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason_code: Option<String>,
    /// "The status of the last update that was performed on the function. This is first set to
    /// `Successful` after function creation completes."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_status: Option<LastUpdateStatus>,
    /// "The reason for the last update that was performed on the function."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_status_reason: Option<String>,
    /// "The reason code for the last update that was performed on the function."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_status_reason_code: Option<String>,
    /// "The type of deployment package. Set to `Image` for container image and set `Zip` for
    /// .zip file archive."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_type: Option<PackageType>,
    /// "The instruction set architecture that the function supports." Exactly one item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architectures: Option<Vec<Architecture>>,
    /// "The size of the function's /tmp directory in MB."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage: Option<EphemeralStorage>,
    /// Members the lab does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// "The results of an operation to update or read environment variables."
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnvironmentResponse {
    /// "Environment variable key-value pairs."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variables: Option<BTreeMap<String, String>>,
    /// "Error messages for environment variables that couldn't be applied."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

/// An `{ErrorCode, Message}` pair inside a response (`EnvironmentError`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorDetail {
    /// "The error code."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// "The error message."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// "An Lambda layer" as a function references it (`Layer`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LayerReference {
    /// "The Amazon Resource Name (ARN) of the function layer." (a layer version ARN)
    pub arn: String,
    /// "The size of the layer archive in bytes."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_size: Option<u64>,
    /// Signing members the lab does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// "The size of the function's /tmp directory in MB. The default value is 512, but can be any
/// whole number between 512 and 10,240 MB."
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EphemeralStorage {
    /// "The size of the function's /tmp directory."
    pub size: u32,
}

/// "The current state of the function." (`State`)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum State {
    Pending,
    Active,
    Inactive,
    Failed,
    Deactivating,
    Deactivated,
    ActiveNonInvocable,
    Deleting,
}

/// "The status of the last update that was performed on the function." (`LastUpdateStatus`)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum LastUpdateStatus {
    Successful,
    Failed,
    InProgress,
}

/// "The type of deployment package." (`PackageType`)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PackageType {
    /// A .zip file archive.
    Zip,
    /// A container image.
    Image,
}

/// "The instruction set architecture that the function supports." (`Architecture`)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Architecture {
    /// `x86_64`, the default.
    #[serde(rename = "x86_64")]
    X86_64,
    /// `arm64`.
    #[serde(rename = "arm64")]
    Arm64,
}

/// `GetFunction`'s response: "Returns information about the function or function version, with
/// a link to download the deployment package that's valid for 10 minutes."
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetFunctionResponse {
    /// "The configuration of the function or version."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration: Option<FunctionConfiguration>,
    /// "The deployment package of the function or version."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<FunctionCodeLocation>,
    /// "The function's tags."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// "The function's reserved concurrency."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Concurrency>,
    /// Members the lab does not model (`TagsError`), kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// "Details about a function's deployment package." (`FunctionCodeLocation`)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionCodeLocation {
    /// "The service that's hosting the file." (`S3` for a .zip archive)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository_type: Option<String>,
    /// "A presigned URL that you can use to download the deployment package."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Image and error members the lab does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `Concurrency` in `GetFunction`'s response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Concurrency {
    /// "The number of concurrent executions that are reserved for this function."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_concurrent_executions: Option<u32>,
}
