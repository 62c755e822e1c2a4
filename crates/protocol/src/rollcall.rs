//! The names the rollcall extension shares with its readers (the lab's alarms, templates,
//! tests): the CloudWatch namespace, metric names and units, and dimension names of the EMF
//! documents it writes (DESIGN.md, "Metrics"), and its `ROLLCALL_*` environment variables.
//! Nothing else should spell these as string literals.

use crate::emf::unit;

/// Default CloudWatch namespace of the extension's metrics (DESIGN.md).
pub const DEFAULT_NAMESPACE: &str = "Rollcall";

/// Dimension names; every document carries the one dimension set [`DIMENSION_SET`].
pub mod dimension {
    /// The function's name (from the Extensions API's register response).
    pub const FUNCTION_NAME: &str = "FunctionName";
    /// The version that ran (`AWS_LAMBDA_FUNCTION_VERSION`: `"7"`, `"$LATEST"`).
    pub const VERSION: &str = "Version";
}

/// The dimension set of every document the extension writes.
pub const DIMENSION_SET: [&str; 2] = [dimension::FUNCTION_NAME, dimension::VERSION];

/// Metric names (DESIGN.md, "Metrics"); [`unit_of`] gives each one's unit.
pub mod metric {
    /// Invocations (events the proxy handed to the runtime; else INVOKE events; else
    /// `platform.report` records when the runtime bypasses the proxy), count.
    pub const INVOCATIONS: &str = "Invocations";
    /// `/error` posts and 5xx responses, count.
    pub const ERRORS: &str = "Errors";
    /// Invocations that timed out, count.
    pub const TIMEOUTS: &str = "Timeouts";
    /// First invocations of an environment, count.
    pub const COLD_STARTS: &str = "ColdStarts";
    /// Handler latency (event handed to the runtime -> response posted; for a streamed
    /// response, -> its last byte), milliseconds.
    pub const LATENCY: &str = "Latency";
    /// Streamed responses: event handed to the runtime -> the response's first byte forwarded
    /// to the Runtime API (for an HTTP stream, its tagged prelude), milliseconds.
    pub const TIME_TO_FIRST_BYTE: &str = "TimeToFirstByte";
    /// Init phase duration, milliseconds.
    pub const INIT_DURATION: &str = "InitDuration";
    /// Peak memory of the environment, megabytes.
    pub const MAX_MEMORY_USED: &str = "MaxMemoryUsed";
}

/// Every metric the extension writes, with its CloudWatch unit.
pub const METRICS: [(&str, &str); 8] = [
    (metric::INVOCATIONS, unit::COUNT),
    (metric::ERRORS, unit::COUNT),
    (metric::TIMEOUTS, unit::COUNT),
    (metric::COLD_STARTS, unit::COUNT),
    (metric::LATENCY, unit::MILLISECONDS),
    (metric::TIME_TO_FIRST_BYTE, unit::MILLISECONDS),
    (metric::INIT_DURATION, unit::MILLISECONDS),
    (metric::MAX_MEMORY_USED, unit::MEGABYTES),
];

/// The CloudWatch unit of one of the extension's metrics; `None` for a name it does not write.
pub fn unit_of(metric_name: &str) -> Option<&'static str> {
    METRICS
        .iter()
        .find(|(name, _)| *name == metric_name)
        .map(|(_, unit)| *unit)
}

/// The extension's environment variables (README, "Configuration").
pub mod env {
    /// Loopback port of the Runtime API proxy.
    pub const PROXY_PORT: &str = "ROLLCALL_PROXY_PORT";
    /// Port of the telemetry listener.
    pub const TELEMETRY_PORT: &str = "ROLLCALL_TELEMETRY_PORT";
    /// Name of the version header (shared with the prober's `--version-header`).
    pub const HEADER: &str = crate::tag::VERSION_HEADER_ENV;
    /// CloudWatch namespace of the EMF metrics.
    pub const NAMESPACE: &str = "ROLLCALL_NAMESPACE";
    /// How often metrics are written (`10s`, `500ms`, or seconds).
    pub const FLUSH_INTERVAL: &str = "ROLLCALL_FLUSH_INTERVAL";
    /// `on`/`off`: tag HTTP responses with the version headers.
    pub const TAGGING: &str = "ROLLCALL_TAGGING";
    /// `on`/`off`: write EMF metrics to stdout.
    pub const METRICS: &str = "ROLLCALL_METRICS";
    /// A `tracing` filter for the extension's own log lines (stderr).
    pub const LOG: &str = "ROLLCALL_LOG";

    /// Every variable the extension reads.
    pub const ALL: [&str; 8] = [
        PROXY_PORT,
        TELEMETRY_PORT,
        HEADER,
        NAMESPACE,
        FLUSH_INTERVAL,
        TAGGING,
        METRICS,
        LOG,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_has_one_unit_and_every_variable_the_prefix() {
        for (name, unit) in METRICS {
            assert_eq!(unit_of(name), Some(unit));
        }
        assert_eq!(unit_of("Nope"), None);
        let mut names: Vec<_> = METRICS.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), METRICS.len(), "a metric name appears twice");
        assert!(env::ALL.iter().all(|v| v.starts_with("ROLLCALL_")));
    }
}
