//! Lambda's patterns and limits, defined once.
//!
//! Sources: the Lambda service model `lambda-2015-03-31` (botocore's `service-2.json`, the
//! model the *Lambda API reference* is generated from), the reference pages named per item, and
//! *Lambda quotas* <https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>.

/// The unpublished version of a function: "`$LATEST`" (`Version` pattern `(\$LATEST|[0-9]+)`).
pub const LATEST: &str = "$LATEST";

/// A function name alone: "If you specify only the function name, it is limited to 64
/// characters in length" (`FunctionName`, every operation). Characters: `[a-zA-Z0-9-_]`.
pub const FUNCTION_NAME_MAX: usize = 64;
/// A `FunctionName` parameter in any form (name, partial or full ARN, with a qualifier): "The
/// length constraint applies only to the full ARN", maximum 140 (`CreateFunction`,
/// `UpdateFunctionCode`, alias operations).
pub const FUNCTION_REF_MAX: usize = 140;
/// A qualifier (version or alias): length 1 to 128 (`Qualifier`, `GetFunction`).
pub const QUALIFIER_MAX: usize = 128;
/// An alias name: length 1 to 128, pattern `(?!^[0-9]+$)([a-zA-Z0-9-_]+)` (`Alias`).
pub const ALIAS_NAME_MAX: usize = 128;
/// A layer name or layer ARN: length 1 to 140, name pattern `[a-zA-Z0-9-_]+` (`LayerName`).
pub const LAYER_NAME_MAX: usize = 140;
/// A `Description`: length 0 to 256.
pub const DESCRIPTION_MAX: usize = 256;
/// A `Handler`: at most 128 characters, pattern `[^\s]+`.
pub const HANDLER_MAX: usize = 128;

/// `MemorySize` lower bound in MB ("Valid Range: Minimum value of 128").
pub const MEMORY_MIN_MB: u32 = 128;
/// `MemorySize` upper bound in MB for a function in the Lambda service (quotas: "128 MB to
/// 10,240 MB, in 1-MB increments"). The 2025+ service model allows 32768 for Lambda Managed
/// Instances, which the lab does not emulate.
pub const MEMORY_MAX_MB: u32 = 10_240;
/// `MemorySize` upper bound of the service model (requests above it are refused with
/// `ValidationException` before Lambda's own 10,240 MB check).
pub const MEMORY_MODEL_MAX_MB: u32 = 32_768;
/// `MemorySize` when a request gives none: "The default value is 128 MB".
pub const MEMORY_DEFAULT_MB: u32 = 128;
/// `Timeout` lower bound in seconds.
pub const TIMEOUT_MIN_S: u32 = 1;
/// `Timeout` upper bound in seconds: "The maximum allowed value is 900 seconds" (the model's
/// 5400 is for durable functions).
pub const TIMEOUT_MAX_S: u32 = 900;
/// `Timeout` upper bound of the service model (durable functions); above it requests are
/// refused with `ValidationException` before Lambda's own 900 s check.
pub const TIMEOUT_MODEL_MAX_S: u32 = 5_400;
/// `Timeout` when a request gives none: "The default is 3 seconds".
pub const TIMEOUT_DEFAULT_S: u32 = 3;
/// `EphemeralStorage.Size` bounds and default in MB: "The default value is 512, but can be any
/// whole number between 512 and 10,240 MB".
pub const EPHEMERAL_STORAGE_MB: (u32, u32, u32) = (512, 10_240, 512);

/// Synchronous invocation request and response payload: 6 MB each (quotas; `Invoke`).
pub const SYNC_PAYLOAD_MAX: usize = 6 * 1024 * 1024;
/// Asynchronous invocation payload (`InvocationType: Event`). It was 256 KB until 2025; the
/// current quotas page and `Invoke` reference say 1 MB.
pub const ASYNC_PAYLOAD_MAX: usize = 1024 * 1024;
/// The former asynchronous payload limit (256 KB), for a lab that must behave like an older
/// account.
pub const ASYNC_PAYLOAD_MAX_LEGACY: usize = 256 * 1024;

/// Deployment package (.zip) uploaded directly in the request: 50 MB zipped (quotas;
/// `GetAccountSettings` `AccountLimit.CodeSizeZipped` = 52428800).
pub const ZIP_DIRECT_UPLOAD_MAX: u64 = 50 * 1024 * 1024;
/// Deployment package unzipped, including layers: 250 MB (`CodeSizeUnzipped` = 262144000).
pub const UNZIPPED_CODE_MAX: u64 = 250 * 1024 * 1024;
/// Layers per function: 5 (quotas: "Function layers: five layers").
pub const LAYERS_PER_FUNCTION_MAX: usize = 5;
/// Environment variables, all keys and values together: 4 KB (quotas).
pub const ENVIRONMENT_MAX_BYTES: usize = 4 * 1024;
/// Account default for concurrent executions per Region (`ConcurrentExecutions` = 1000).
pub const ACCOUNT_CONCURRENCY_DEFAULT: u32 = 1000;
/// Items in one page of `ListFunctions` / `ListVersionsByFunction`: "returns a maximum of 50
/// items in each response, even if you set the number higher".
pub const LIST_PAGE_MAX: usize = 50;
/// `MaxItems` accepted by the list operations (`MaxListItems`: 1 to 10000;
/// `ListLayerVersions` takes 1 to 50).
pub const MAX_ITEMS_RANGE: (u32, u32) = (1, 10_000);
/// Versions an alias may add to its `FunctionVersion` (`AdditionalVersionWeights`): "Number of
/// items in AdditionalVersionWeights cannot be greater than 1".
pub const ALIAS_ADDITIONAL_VERSIONS_MAX: usize = 1;

/// Path prefix of the function, version and alias operations (API version 2015-03-31).
pub const FUNCTIONS_PATH: &str = "/2015-03-31/functions";
/// Path prefix of the layer operations (API version 2018-10-31).
pub const LAYERS_PATH: &str = "/2018-10-31/layers";
/// Response header naming the error type of a failed call (`x-amzn-ErrorType`).
pub const HEADER_ERROR_TYPE: &str = "x-amzn-ErrorType";
/// Response header carrying the request id (`x-amzn-RequestId`).
pub const HEADER_REQUEST_ID: &str = "x-amzn-RequestId";
