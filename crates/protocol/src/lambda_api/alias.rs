//! Aliases: `AliasConfiguration` (the response of `CreateAlias`, `GetAlias`, `UpdateAlias`),
//! its routing configuration, the request bodies and `ListAliases`' response.
//!
//! Field documentation quotes the *Lambda API reference*
//! (<https://docs.aws.amazon.com/lambda/latest/api/API_AliasConfiguration.html>).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// "Provides configuration information about a Lambda function alias."
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasConfiguration {
    /// "The Amazon Resource Name (ARN) of the alias."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias_arn: Option<String>,
    /// "The name of the alias."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// "The function version that the alias invokes."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_version: Option<String>,
    /// "A description of the alias."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// "The routing configuration of the alias."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing_config: Option<AliasRoutingConfiguration>,
    /// "A unique identifier that changes when you update the alias."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_id: Option<String>,
}

/// "The traffic-shifting configuration of a Lambda function alias."
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasRoutingConfiguration {
    /// "The second version, and the percentage of traffic that's routed to it." Key: a version
    /// number (`[0-9]+`); value: its weight, 0.0 to 1.0; at most one entry
    /// ([`ALIAS_ADDITIONAL_VERSIONS_MAX`](super::limits::ALIAS_ADDITIONAL_VERSIONS_MAX)).
    /// `{}` clears the routing.
    #[serde(default)]
    pub additional_version_weights: BTreeMap<String, f64>,
}

/// `CreateAlias` (`POST /2015-03-31/functions/{FunctionName}/aliases`, 201): "Creates an alias
/// for a Lambda function version."
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateAliasRequest {
    /// "The name of the alias." Required.
    pub name: String,
    /// "The function version that the alias invokes." Required.
    pub function_version: String,
    /// "A description of the alias."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// "The routing configuration of the alias."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing_config: Option<AliasRoutingConfiguration>,
}

/// `UpdateAlias` (`PUT /2015-03-31/functions/{FunctionName}/aliases/{Name}`): "Updates the
/// configuration of a Lambda function alias." Absent members stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateAliasRequest {
    /// "The function version that the alias invokes."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_version: Option<String>,
    /// "A description of the alias."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// "The routing configuration of the alias."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing_config: Option<AliasRoutingConfiguration>,
    /// "Only update the alias if the revision ID matches the ID that's specified. Use this
    /// option to avoid modifying an alias that has changed since you last read it."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_id: Option<String>,
}

/// `ListAliases` (`GET /2015-03-31/functions/{FunctionName}/aliases`): "Returns a list of
/// aliases for a Lambda function."
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAliasesResponse {
    /// "The pagination token that's included if more results are available."
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// "A list of aliases."
    #[serde(default)]
    pub aliases: Vec<AliasConfiguration>,
}
