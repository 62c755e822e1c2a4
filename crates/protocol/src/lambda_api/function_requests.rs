//! Request bodies of the function and version operations, and the list responses.
//!
//! Each type is the JSON body only: members the operation takes in the path or query string
//! (`FunctionName` except for `CreateFunction`, `Qualifier`, `Marker`, `MaxItems`) are not in it;
//! see [`ListQuery`](super::ListQuery) for the query string. Field documentation quotes the
//! *Lambda API reference* page of each operation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::function::{Architecture, EphemeralStorage, FunctionConfiguration, PackageType};
use super::{Blob, Extra};

/// `CreateFunction` (`POST /2015-03-31/functions`, 201): "Creates a Lambda function."
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateFunctionRequest {
    /// "The name or ARN of the Lambda function." Required.
    pub function_name: String,
    /// "The identifier of the function's runtime. Runtime is required if the deployment package
    /// is a .zip file archive."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// "The Amazon Resource Name (ARN) of the function's execution role." Required.
    pub role: String,
    /// "The name of the method within your code that Lambda calls to run your function.
    /// Handler is required if the deployment package is a .zip file archive."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler: Option<String>,
    /// "The code for the function." Required.
    pub code: FunctionCode,
    /// "A description of the function."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// "The amount of time (in seconds) that Lambda allows a function to run before stopping
    /// it. The default is 3 seconds. The maximum allowed value is 900 seconds."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// "The amount of memory available to the function at runtime. ... The default value is
    /// 128 MB. The value can be any multiple of 1 MB."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_size: Option<u32>,
    /// "Set to true to publish the first version of the function during creation."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish: Option<bool>,
    /// "The type of deployment package. Set to `Image` for container image and set to `Zip`
    /// for .zip file archive."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_type: Option<PackageType>,
    /// "Environment variables that are accessible from function code during execution."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    /// "A list of tags to apply to the function."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// "A list of function layers to add to the function's execution environment. Specify each
    /// layer by its ARN, including the version."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<String>>,
    /// "The instruction set architecture that the function supports. ... The default value is
    /// `x86_64`."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architectures: Option<Vec<Architecture>>,
    /// "The size of the function's /tmp directory in MB."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage: Option<EphemeralStorage>,
    /// Members the lab does not model (VPC, KMS, tracing, ...), kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// "The code for the Lambda function. You can either specify an object in Amazon S3, upload a
/// .zip file archive deployment package directly, or specify the URI of a container image."
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionCode {
    /// "The base64-encoded contents of the deployment package. Amazon Web Services SDK and CLI
    /// clients handle the encoding for you."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zip_file: Option<Blob>,
    /// "An Amazon S3 bucket in the same Amazon Web Services Region as your function."
    #[serde(rename = "S3Bucket", skip_serializing_if = "Option::is_none")]
    pub s3_bucket: Option<String>,
    /// "The Amazon S3 key of the deployment package."
    #[serde(rename = "S3Key", skip_serializing_if = "Option::is_none")]
    pub s3_key: Option<String>,
    /// "For versioned objects, the version of the deployment package object to use."
    #[serde(rename = "S3ObjectVersion", skip_serializing_if = "Option::is_none")]
    pub s3_object_version: Option<String>,
    /// "URI of a container image in the Amazon ECR registry."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_uri: Option<String>,
    /// Members the lab does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// "A function's environment variable settings." (request side: `Environment`)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Environment {
    /// "Environment variable key-value pairs." Keys match `[a-zA-Z]([a-zA-Z0-9_])+`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variables: Option<BTreeMap<String, String>>,
}

/// `UpdateFunctionCode` (`PUT /2015-03-31/functions/{FunctionName}/code`): "Updates a Lambda
/// function's code."
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateFunctionCodeRequest {
    /// "The base64-encoded contents of the deployment package."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zip_file: Option<Blob>,
    /// "An Amazon S3 bucket in the same Amazon Web Services Region as your function."
    #[serde(rename = "S3Bucket", skip_serializing_if = "Option::is_none")]
    pub s3_bucket: Option<String>,
    /// "The Amazon S3 key of the deployment package."
    #[serde(rename = "S3Key", skip_serializing_if = "Option::is_none")]
    pub s3_key: Option<String>,
    /// "For versioned objects, the version of the deployment package object to use."
    #[serde(rename = "S3ObjectVersion", skip_serializing_if = "Option::is_none")]
    pub s3_object_version: Option<String>,
    /// "URI of a container image in the Amazon ECR registry."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_uri: Option<String>,
    /// "Set to true to publish a new version of the function after updating the code. This has
    /// the same effect as calling PublishVersion separately."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish: Option<bool>,
    /// "Set to true to validate the request parameters and access permissions without
    /// modifying the function code."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// "Update the function only if the revision ID matches the ID that's specified."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_id: Option<String>,
    /// "The instruction set architecture that the function supports."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architectures: Option<Vec<Architecture>>,
    /// Members the lab does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `UpdateFunctionConfiguration` (`PUT /2015-03-31/functions/{FunctionName}/configuration`):
/// "Modify the version-specific settings of a Lambda function." Absent members stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateFunctionConfigurationRequest {
    /// "The Amazon Resource Name (ARN) of the function's execution role."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// "The name of the method within your code that Lambda calls to run your function."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler: Option<String>,
    /// "A description of the function."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// "The amount of time (in seconds) that Lambda allows a function to run before stopping it."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// "The amount of memory available to the function at runtime."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_size: Option<u32>,
    /// "Environment variables that are accessible from function code during execution." Replaces
    /// the whole set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    /// "The identifier of the function's runtime."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// "Update the function only if the revision ID matches the ID that's specified."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_id: Option<String>,
    /// "A list of function layers to add to the function's execution environment. Specify each
    /// layer by its ARN, including the version." Replaces the whole list; `[]` removes all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<String>>,
    /// "The size of the function's /tmp directory in MB."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage: Option<EphemeralStorage>,
    /// Members the lab does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `PublishVersion` (`POST /2015-03-31/functions/{FunctionName}/versions`, 201): "Creates a
/// version from the current code and configuration of a function."
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishVersionRequest {
    /// "Only publish a version if the hash value matches the value that's specified."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_sha256: Option<String>,
    /// "A description for the version to override the description in the function
    /// configuration."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// "Only update the function if the revision ID matches the ID that's specified."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_id: Option<String>,
    /// Members the lab does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ListFunctions` (`GET /2015-03-31/functions`): "Returns a list of Lambda functions, with the
/// version-specific configuration of each. Lambda returns up to 50 functions per call."
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListFunctionsResponse {
    /// "The pagination token that's included if more results are available."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// "A list of Lambda functions."
    #[serde(default)]
    pub functions: Vec<FunctionConfiguration>,
}

/// `ListVersionsByFunction` (`GET /2015-03-31/functions/{FunctionName}/versions`): "Returns a
/// list of versions, with the version-specific configuration of each."
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListVersionsByFunctionResponse {
    /// "The pagination token that's included if more results are available."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// "A list of Lambda function versions."
    #[serde(default)]
    pub versions: Vec<FunctionConfiguration>,
}
