//! Layers: `PublishLayerVersion`'s request and response, `GetLayerVersion`'s response (the same
//! shape) and `ListLayerVersions`' response.
//!
//! Field documentation quotes the *Lambda API reference*
//! (<https://docs.aws.amazon.com/lambda/latest/api/API_PublishLayerVersion.html>).

use serde::{Deserialize, Serialize};

use super::function::Architecture;
use super::{Blob, Extra};

/// `PublishLayerVersion` (`POST /2018-10-31/layers/{LayerName}/versions`, 201): "Creates an
/// Lambda layer from a ZIP archive. Each time you call PublishLayerVersion with the same layer
/// name, a new version is created."
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishLayerVersionRequest {
    /// "The description of the version."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// "The function layer archive." Required.
    pub content: LayerVersionContentInput,
    /// "A list of compatible instruction set architectures."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compatible_architectures: Option<Vec<Architecture>>,
    /// "A list of compatible function runtimes. Used for filtering with ListLayers and
    /// ListLayerVersions."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compatible_runtimes: Option<Vec<String>>,
    /// "The layer's software license."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license_info: Option<String>,
}

/// "A ZIP archive that contains the contents of an Lambda layer. You can specify either an
/// Amazon S3 location, or upload a layer archive directly."
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LayerVersionContentInput {
    /// "The base64-encoded contents of the layer archive."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zip_file: Option<Blob>,
    /// "The Amazon S3 bucket of the layer archive."
    #[serde(rename = "S3Bucket", skip_serializing_if = "Option::is_none")]
    pub s3_bucket: Option<String>,
    /// "The Amazon S3 key of the layer archive."
    #[serde(rename = "S3Key", skip_serializing_if = "Option::is_none")]
    pub s3_key: Option<String>,
    /// "For versioned objects, the version of the layer archive object to use."
    #[serde(rename = "S3ObjectVersion", skip_serializing_if = "Option::is_none")]
    pub s3_object_version: Option<String>,
}

/// A layer version as `PublishLayerVersion` and `GetLayerVersion` return it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LayerVersion {
    /// "Details about the layer version."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<LayerVersionContentOutput>,
    /// "The ARN of the layer."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_arn: Option<String>,
    /// "The ARN of the layer version."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_version_arn: Option<String>,
    /// "The description of the version."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// "The date that the layer version was created, in ISO-8601 format
    /// (YYYY-MM-DDThh:mm:ss.sTZD)."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_date: Option<String>,
    /// "The version number."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// "A list of compatible instruction set architectures."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compatible_architectures: Option<Vec<Architecture>>,
    /// "The layer's compatible runtimes."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compatible_runtimes: Option<Vec<String>>,
    /// "The layer's software license."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license_info: Option<String>,
}

/// `PublishLayerVersion`'s response.
pub type PublishLayerVersionResponse = LayerVersion;
/// `GetLayerVersion`'s response (`GET /2018-10-31/layers/{LayerName}/versions/{VersionNumber}`).
pub type GetLayerVersionResponse = LayerVersion;

/// "Details about a version of an Lambda layer." (`LayerVersionContentOutput`)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LayerVersionContentOutput {
    /// "A link to the layer archive in Amazon S3 that is valid for 10 minutes."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// "The SHA-256 hash of the layer archive." (base64)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_sha256: Option<String>,
    /// "The size of the layer archive in bytes."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_size: Option<u64>,
    /// Signing members the lab does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ListLayerVersions` (`GET /2018-10-31/layers/{LayerName}/versions`): "Lists the versions of
/// an Lambda layer."
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListLayerVersionsResponse {
    /// "A pagination token returned when the response doesn't contain all versions."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// "A list of versions."
    #[serde(default)]
    pub layer_versions: Vec<LayerVersionsListItem>,
}

/// "Details about a version of an Lambda layer." (`LayerVersionsListItem`)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LayerVersionsListItem {
    /// "The ARN of the layer version."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_version_arn: Option<String>,
    /// "The version number."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// "The description of the version."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// "The date that the version was created, in ISO 8601 format. For example,
    /// 2018-11-27T15:10:45.123+0000."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_date: Option<String>,
    /// "A list of compatible instruction set architectures."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compatible_architectures: Option<Vec<Architecture>>,
    /// "The layer's compatible runtimes."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compatible_runtimes: Option<Vec<String>>,
    /// "The layer's open-source license."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license_info: Option<String>,
}

/// `ListLayers` (`GET /2018-10-31/layers`): "Lists Lambda layers and shows information about
/// the latest version of each."
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListLayersResponse {
    /// "A pagination token returned when the response doesn't contain all layers."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// "A list of function layers."
    #[serde(default)]
    pub layers: Vec<LayersListItem>,
}

/// "Details about an Lambda layer." (`LayersListItem`)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LayersListItem {
    /// "The name of the layer."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_name: Option<String>,
    /// "The Amazon Resource Name (ARN) of the function layer."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_arn: Option<String>,
    /// "The newest version of the layer."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_matching_version: Option<LayerVersionsListItem>,
}
