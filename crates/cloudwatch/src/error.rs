//! Refusals: every one names the input field and says what to write instead.

/// An alarm definition this lab refuses, as PutMetricAlarm would (or because the lab does not
/// support a feature).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlarmError {
    /// A field with a bad value.
    #[error("{field}: {problem}")]
    Invalid {
        /// The PutMetricAlarm field, e.g. `Period` or `Metrics[1].Expression`.
        field: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// The JSON is not PutMetricAlarm's shape.
    #[error(
        "the alarm is not PutMetricAlarm's JSON ({0}); start from `aws cloudwatch put-metric-alarm --generate-cli-skeleton`"
    )]
    Json(String),
}

impl AlarmError {
    pub(crate) fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            problem: problem.into(),
        }
    }
}
