//! Telemetry API (endpoint version 2022-07-01): subscription requests and the records Lambda
//! delivers to a subscriber. Sources: *Telemetry API*
//! (<https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api.html>), its reference
//! (<https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api-reference.html>), the *Telemetry
//! schema reference* (<https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html>),
//! RAPID, and the field types `lambda-extension` 1.1.1 accepts (LAMBDA-FACTS §3, §4).

mod record;
mod subscribe;

pub use record::*;
pub use subscribe::*;

/// `PUT` subscribe to the Telemetry API, with `Lambda-Extension-Identifier` (Telemetry API
/// reference). Lambda also accepts a trailing slash: see [`is_subscribe_path`].
pub const SUBSCRIBE_PATH: &str = "/2022-07-01/telemetry";

/// True for [`SUBSCRIBE_PATH`] with or without the trailing slash the docs show.
pub fn is_subscribe_path(path: &str) -> bool {
    path.strip_suffix('/').unwrap_or(path) == SUBSCRIBE_PATH
}

/// Header with the batch sequence number RAPID adds to each delivery POST (RIE
/// `internal/lambda-managed-instances/.../telemetry/internal/client.go`).
pub const HEADER_SEQUENCE_ID: &str = "Sequence-Id";
