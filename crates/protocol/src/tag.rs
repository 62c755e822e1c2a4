//! The Rollcall version-tag contract between the extension and the prober (DESIGN.md, "The wire
//! contract (extension -> prober)").

/// Default name of the response header carrying the executed function version.
///
/// DESIGN.md: "Header **`x-rollcall-version`**: the value of `AWS_LAMBDA_FUNCTION_VERSION` of the
/// environment that ran the request (`"7"`, `"$LATEST"`). Header name configurable on both sides
/// (`ROLLCALL_HEADER`, `prober --version-header`)."
pub const DEFAULT_VERSION_HEADER: &str = "x-rollcall-version";

/// Name of the cold-start marker header.
///
/// DESIGN.md: "Header **`x-rollcall-cold: 1`** on the first invocation an environment serves
/// (absent otherwise), so the prober can attribute latency spikes to cold starts of the new
/// version as weights rise."
pub const COLD_HEADER: &str = "x-rollcall-cold";

/// Value of [`COLD_HEADER`] on a cold invocation (DESIGN.md: "`x-rollcall-cold: 1`").
pub const COLD_VALUE: &str = "1";

/// Header Lambda's `Invoke` API returns with the version that ran; the prober also accepts it.
///
/// DESIGN.md: "it also accepts the `X-Amz-Executed-Version` header (what Lambda's Invoke API
/// returns)"; <https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html>.
pub const EXECUTED_VERSION_HEADER: &str = "x-amz-executed-version";

/// Environment variable naming the version header inside the extension (DESIGN.md).
pub const VERSION_HEADER_ENV: &str = "ROLLCALL_HEADER";
