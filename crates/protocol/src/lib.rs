//! Wire types shared by the Rollcall extension, lab and prober. No I/O: only `serde` shapes,
//! path/header constants and pure helper functions.
//!
//! Every type names the AWS document it follows. The research notes behind them, with exact
//! sources, are in `LAMBDA-FACTS.md` (shared project brief); the abbreviations used in the
//! doc comments are:
//! - *Runtime API*: <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>
//! - *Extensions API*: <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html>
//! - *Telemetry API*: <https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api.html>, its
//!   reference and the *Telemetry schema reference*
//!   <https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html>
//! - *RAPID*: AWS's open-source in-sandbox API server in
//!   `aws/aws-lambda-runtime-interface-emulator` (`internal/lambda/...`).
//! - *API Gateway payloads*:
//!   <https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html>,
//!   <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html>
//! - *ALB*: <https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html>
//! - *EMF*: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>
//!
//! Module map:
//! - [`runtime`]: Runtime API 2018-06-01 (paths, headers, error bodies, payload limit).
//! - [`extension`]: Extensions API 2020-01-01 (register, next event, errors).
//! - [`telemetry`]: Telemetry API 2022-07-01 (subscription + validation, records).
//! - [`apigw`], [`alb`], [`event_kind`](mod@event_kind): HTTP event payloads and their detection;
//!   [`gateway`]: what the client receives for a function's output (API Gateway, ALB).
//! - [`tag`]: the Rollcall version-tag contract (extension -> prober).
//! - [`emf`]: CloudWatch Embedded Metric Format documents and limits.
//! - [`rollcall`]: the extension's metric, dimension and `ROLLCALL_*` variable names.
//! - [`lambda_api`]: the Lambda API's JSON shapes (functions, versions, aliases, layers), its
//!   errors as Lambda renders them, names, qualifiers, ARNs and limits.
//! - `codedeploy` (feature `codedeploy`): the CodeDeploy API's JSON 1.1 shapes, errors and
//!   operations, the predefined Lambda configurations and the Lambda AppSpec.

#![warn(missing_docs)]

pub mod alb;
pub mod apigw;
#[cfg(feature = "codedeploy")]
pub mod codedeploy;
pub mod emf;
pub mod event_kind;
pub mod extension;
pub mod gateway;
pub mod lambda_api;
pub mod rollcall;
pub mod runtime;
pub mod tag;
pub mod telemetry;
pub mod time_format;

pub use event_kind::{EventKind, event_kind};
pub use runtime::{ErrorRequest, ErrorResponse, StatusResponse};
