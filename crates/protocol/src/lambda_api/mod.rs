//! The Lambda API's JSON shapes (API versions 2015-03-31 and 2018-10-31): functions, versions,
//! aliases and layers, their requests, responses and errors, and the names, qualifiers, ARNs and
//! limits they carry.
//!
//! Sources: the *Lambda API reference* <https://docs.aws.amazon.com/lambda/latest/api/> (one page
//! per operation and data type) and the service model it is generated from, `lambda-2015-03-31`
//! (botocore's `service-2.json`, as shipped in the AWS CLI the tests drive). Member names are
//! AWS's PascalCase; every optional member is skipped when absent, unknown members of the larger
//! shapes are kept in `extra` (nothing is lost on a round trip), and the fixtures under
//! `tests/fixtures/lambda_api/` are the reference's examples.
//!
//! Module map:
//! - [`limits`]: `$LATEST`, name lengths, memory, timeout, payload and code-size limits, paths;
//! - [`names`]: [`FunctionName`], [`AliasName`], [`Qualifier`], [`FunctionArn`], [`FunctionRef`],
//!   [`LayerVersionArn`];
//! - [`function`]: [`FunctionConfiguration`], [`GetFunctionResponse`];
//! - [`function_requests`]: `CreateFunction`, `UpdateFunctionCode`,
//!   `UpdateFunctionConfiguration`, `PublishVersion`, the function and version lists;
//! - [`alias`]: [`AliasConfiguration`] and the alias requests;
//! - [`layer`]: layer versions;
//! - [`error`]: [`LambdaError`], rendered as Lambda renders it;
//! - [`ListQuery`]: the list operations' query string.

pub mod alias;
pub mod error;
pub mod function;
pub mod function_requests;
pub mod layer;
pub mod limits;
pub mod names;
mod query;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};
use time::{OffsetDateTime, UtcOffset};

pub use alias::{
    AliasConfiguration, AliasRoutingConfiguration, CreateAliasRequest, ListAliasesResponse,
    UpdateAliasRequest,
};
pub use error::{LambdaError, LambdaErrorType, ThrottleReason};
pub use function::{
    Architecture, Concurrency, EnvironmentResponse, EphemeralStorage, FunctionCodeLocation,
    FunctionConfiguration, GetFunctionResponse, LastUpdateStatus, LayerReference, PackageType,
    State,
};
pub use function_requests::{
    CreateFunctionRequest, Environment, FunctionCode, ListFunctionsResponse,
    ListVersionsByFunctionResponse, PublishVersionRequest, UpdateFunctionCodeRequest,
    UpdateFunctionConfigurationRequest,
};
pub use layer::{
    GetLayerVersionResponse, LayerVersion, LayerVersionContentInput, LayerVersionContentOutput,
    LayerVersionsListItem, LayersListItem, ListLayerVersionsResponse, ListLayersResponse,
    PublishLayerVersionRequest, PublishLayerVersionResponse,
};
pub use limits::LATEST;
pub use names::{
    AliasName, ArnScope, FunctionArn, FunctionName, FunctionRef, LayerName, LayerVersionArn,
    NameError, Qualifier, VersionNumber,
};
pub use query::{ListQuery, QueryError};

/// Members of a shape that the types do not model, kept verbatim.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// A `Blob` member (`ZipFile`): bytes on our side, standard base64 in the JSON ("The
/// base64-encoded contents of the deployment package"). `Debug` shows the length only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Blob(pub Vec<u8>);

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blob({} bytes)", self.0.len())
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD.decode(raw.as_bytes()).map(Blob).map_err(|e| {
            D::Error::custom(format!(
                "ZipFile is not base64 ({e}): send the archive base64-encoded, as the AWS CLI does for fileb://"
            ))
        })
    }
}

/// Formats `t` the way Lambda writes `LastModified` and `CreatedDate`:
/// `2020-04-10T19:06:32.563+0000` (UTC, milliseconds, `+0000`).
pub fn format_last_modified(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}
