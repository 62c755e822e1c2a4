//! CloudWatch Embedded Metric Format documents and limits. Source: "Specification: Embedded
//! metric format" (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>);
//! library limits cross-checked with `aws-embedded-metrics-node`/`-java` (LAMBDA-FACTS §9).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Maximum metric definitions per document (EMF spec: `Metrics` <= 100).
pub const MAX_METRICS: usize = 100;
/// Maximum values in one metric's value array (EMF spec).
pub const MAX_VALUES_PER_METRIC: usize = 100;
/// Maximum dimension keys per dimension set (EMF spec).
pub const MAX_DIMENSIONS: usize = 30;
/// Maximum document size in bytes: a CloudWatch Logs event; the 2023 spec said 256 KB, the
/// current page says 1 MB — we keep the conservative 256 KiB.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// Maximum namespace length (EMF JSON schema: 1..=1024; the Java library uses 256).
pub const MAX_NAMESPACE_LEN: usize = 1024;
/// Maximum dimension value length (EMF spec: strings <= 1024 characters).
pub const MAX_DIMENSION_VALUE_LEN: usize = 1024;
/// Maximum dimension name length (EMF libraries: 250).
pub const MAX_DIMENSION_NAME_LEN: usize = 250;

/// CloudWatch units used in EMF `Unit` (CloudWatch API reference, `MetricDatum.Unit`).
pub mod unit {
    /// `Count`.
    pub const COUNT: &str = "Count";
    /// `Milliseconds`.
    pub const MILLISECONDS: &str = "Milliseconds";
    /// `Megabytes`.
    pub const MEGABYTES: &str = "Megabytes";
    /// `Percent`.
    pub const PERCENT: &str = "Percent";
    /// `None` (EMF's default when `Unit` is absent).
    pub const NONE: &str = "None";
}

/// An EMF document: the `_aws` metadata plus the target members on the root (EMF spec, "Root
/// node"). Target members (dimension values and metric values) are flattened into `members`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// The `_aws` metadata.
    #[serde(rename = "_aws")]
    pub aws: Metadata,
    /// Dimension values (strings) and metric values (number or array of <= 100 numbers).
    #[serde(flatten)]
    pub members: Map<String, Value>,
}

/// `_aws`: timestamp and metric directives (EMF spec, "Metadata").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Metadata {
    /// Epoch milliseconds.
    pub timestamp: i64,
    /// Metric directives.
    pub cloud_watch_metrics: Vec<MetricDirective>,
}

/// One `CloudWatchMetrics` entry (EMF spec, "MetricDirective").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricDirective {
    /// CloudWatch namespace.
    pub namespace: String,
    /// Dimension sets; each set lists <= 30 root member names.
    pub dimensions: Vec<Vec<String>>,
    /// Metric definitions (<= 100).
    pub metrics: Vec<MetricDefinition>,
}

/// One metric definition (EMF spec, "MetricDefinition").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricDefinition {
    /// Root member holding the value(s).
    pub name: String,
    /// CloudWatch unit, e.g. `Milliseconds`, `Count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// 1 (high resolution) or 60 (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_resolution: Option<u32>,
}

/// A document that breaks an EMF limit (CloudWatch would drop or truncate it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmfLimitError {
    /// More than [`MAX_METRICS`] metric definitions in one directive.
    #[error("{count} metrics in namespace {namespace:?}; EMF allows at most {MAX_METRICS}")]
    TooManyMetrics {
        /// The directive's namespace.
        namespace: String,
        /// Number of definitions.
        count: usize,
    },
    /// A dimension set with more than [`MAX_DIMENSIONS`] keys.
    #[error("a dimension set has {count} keys; EMF allows at most {MAX_DIMENSIONS}")]
    TooManyDimensions {
        /// Number of keys.
        count: usize,
    },
    /// A metric value array longer than [`MAX_VALUES_PER_METRIC`].
    #[error("metric {name:?} has {count} values; EMF allows at most {MAX_VALUES_PER_METRIC}")]
    TooManyValues {
        /// Metric name.
        name: String,
        /// Number of values.
        count: usize,
    },
    /// The serialised document is larger than [`MAX_DOCUMENT_BYTES`].
    #[error("the document is {bytes} bytes; keep it under {MAX_DOCUMENT_BYTES}")]
    TooLarge {
        /// Serialised size.
        bytes: usize,
    },
}

impl Document {
    /// Checks the documented limits: metrics per directive, keys per dimension set, values per
    /// metric array, and the serialised size.
    pub fn check_limits(&self) -> Result<(), EmfLimitError> {
        for directive in &self.aws.cloud_watch_metrics {
            if directive.metrics.len() > MAX_METRICS {
                return Err(EmfLimitError::TooManyMetrics {
                    namespace: directive.namespace.clone(),
                    count: directive.metrics.len(),
                });
            }
            if let Some(set) = directive
                .dimensions
                .iter()
                .find(|s| s.len() > MAX_DIMENSIONS)
            {
                return Err(EmfLimitError::TooManyDimensions { count: set.len() });
            }
            for metric in &directive.metrics {
                if let Some(Value::Array(values)) = self.members.get(&metric.name)
                    && values.len() > MAX_VALUES_PER_METRIC
                {
                    return Err(EmfLimitError::TooManyValues {
                        name: metric.name.clone(),
                        count: values.len(),
                    });
                }
            }
        }
        let bytes = serde_json::to_vec(self)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        if bytes > MAX_DOCUMENT_BYTES {
            return Err(EmfLimitError::TooLarge { bytes });
        }
        Ok(())
    }
}
