//! Alarms in PutMetricAlarm's JSON shape — exactly what `aws cloudwatch put-metric-alarm
//! --cli-input-json file://alarm.json` takes (CloudWatch API Reference, `PutMetricAlarm`) —
//! and their validation into an [`AlarmSpec`] the evaluator runs.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::AlarmError;
use crate::math::Expr;
use crate::stat::Statistic;
use crate::store::MetricId;

/// The PutMetricAlarm request, field for field (AWS's PascalCase names).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[allow(missing_docs)]
pub struct PutMetricAlarm {
    pub alarm_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions_enabled: Option<bool>,
    #[serde(rename = "OKActions", default, skip_serializing_if = "Option::is_none")]
    pub ok_actions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_actions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insufficient_data_actions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_statistic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<Vec<Dimension>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    pub evaluation_periods: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datapoints_to_alarm: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    pub comparison_operator: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treat_missing_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluate_low_sample_count_percentile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Vec<MetricDataQuery>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_metric_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation_window: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation_criteria: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation_interval: Option<u32>,
}

/// A dimension `{"Name", "Value"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Dimension {
    pub name: String,
    pub value: String,
}

/// A tag `{"Key", "Value"}` (kept, unused).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// One `Metrics` entry (API Reference, `MetricDataQuery`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[allow(missing_docs)]
pub struct MetricDataQuery {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_stat: Option<MetricStat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Default true (API Reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_data: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

/// `MetricStat`: a metric, a period and a statistic.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[allow(missing_docs)]
pub struct MetricStat {
    pub metric: Metric,
    pub period: u32,
    pub stat: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// `Metric`: namespace, name, dimensions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Metric {
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub metric_name: String,
    #[serde(default)]
    pub dimensions: Vec<Dimension>,
}

/// `ComparisonOperator` (static thresholds only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    /// `GreaterThanOrEqualToThreshold`
    GreaterThanOrEqualToThreshold,
    /// `GreaterThanThreshold`
    GreaterThanThreshold,
    /// `LessThanThreshold`
    LessThanThreshold,
    /// `LessThanOrEqualToThreshold`
    LessThanOrEqualToThreshold,
}

impl Comparison {
    fn parse(s: &str) -> Result<Self, AlarmError> {
        Ok(match s {
            "GreaterThanOrEqualToThreshold" => Self::GreaterThanOrEqualToThreshold,
            "GreaterThanThreshold" => Self::GreaterThanThreshold,
            "LessThanThreshold" => Self::LessThanThreshold,
            "LessThanOrEqualToThreshold" => Self::LessThanOrEqualToThreshold,
            "LessThanLowerOrGreaterThanUpperThreshold"
            | "LessThanLowerThreshold"
            | "GreaterThanUpperThreshold" => {
                return Err(AlarmError::invalid(
                    "ComparisonOperator",
                    format!(
                        "{s} compares with an anomaly detection band, which this lab does not \
                         model; use a static threshold: GreaterThanThreshold, \
                         GreaterThanOrEqualToThreshold, LessThanThreshold or \
                         LessThanOrEqualToThreshold"
                    ),
                ));
            }
            other => {
                return Err(AlarmError::invalid(
                    "ComparisonOperator",
                    format!(
                        "{other:?} is not a comparison operator; use GreaterThanThreshold, \
                         GreaterThanOrEqualToThreshold, LessThanThreshold or \
                         LessThanOrEqualToThreshold"
                    ),
                ));
            }
        })
    }

    /// True when `value` breaches `threshold`.
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::GreaterThanOrEqualToThreshold => value >= threshold,
            Self::GreaterThanThreshold => value > threshold,
            Self::LessThanThreshold => value < threshold,
            Self::LessThanOrEqualToThreshold => value <= threshold,
        }
    }
}

/// `TreatMissingData` (default `missing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum MissingData {
    /// `missing`: missing datapoints are not considered.
    #[default]
    Missing,
    /// `notBreaching`: missing datapoints are within the threshold.
    NotBreaching,
    /// `breaching`: missing datapoints breach.
    Breaching,
    /// `ignore`: the current state is kept.
    Ignore,
}

/// A query the alarm evaluates per period.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// A metric's statistic (`Unit`: only samples written in that unit).
    Stat {
        /// The metric.
        metric: MetricId,
        /// The statistic.
        stat: Statistic,
        /// Unit filter.
        unit: Option<String>,
    },
    /// Metric math over other queries' ids.
    Math(Expr),
}

/// A validated alarm.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmSpec {
    /// `AlarmName`.
    pub name: String,
    /// Period in seconds (before any time scale).
    pub period_s: u32,
    /// `EvaluationPeriods` (N).
    pub evaluation_periods: u32,
    /// `DatapointsToAlarm` (M).
    pub datapoints_to_alarm: u32,
    /// `Threshold`.
    pub threshold: f64,
    /// `ComparisonOperator`.
    pub comparison: Comparison,
    /// `TreatMissingData`.
    pub missing: MissingData,
    /// `EvaluateLowSampleCountPercentile` is `ignore`.
    pub ignore_low_sample_percentiles: bool,
    /// Queries by id; the single-metric form is the one query `m1`.
    pub queries: BTreeMap<String, Query>,
    /// Ids in evaluation order (every id after the ids it uses).
    pub order: Vec<String>,
    /// The id whose value is compared with the threshold.
    pub result: String,
}

impl PutMetricAlarm {
    /// Parses PutMetricAlarm's JSON.
    pub fn from_json(json: &str) -> Result<Self, AlarmError> {
        serde_json::from_str(json).map_err(|e| AlarmError::Json(e.to_string()))
    }

    /// Validates the request into an [`AlarmSpec`]; refusals name the field and the fix.
    pub fn validate(&self) -> Result<AlarmSpec, AlarmError> {
        if self.alarm_name.is_empty() || self.alarm_name.chars().count() > 255 {
            return Err(AlarmError::invalid(
                "AlarmName",
                "give the alarm a name of 1 to 255 characters",
            ));
        }
        for (field, present) in [
            ("ThresholdMetricId", self.threshold_metric_id.is_some()),
            ("EvaluationWindow", self.evaluation_window.is_some()),
            ("EvaluationCriteria", self.evaluation_criteria.is_some()),
            ("EvaluationInterval", self.evaluation_interval.is_some()),
        ] {
            if present {
                return Err(AlarmError::invalid(
                    field,
                    "not supported by this lab (anomaly detection and PromQL alarms are not \
                     modelled); remove the field and use Threshold with a static comparison",
                ));
            }
        }
        let comparison = Comparison::parse(&self.comparison_operator)?;
        let threshold = self.threshold.ok_or_else(|| {
            AlarmError::invalid("Threshold", "required; give the value to compare with")
        })?;
        let n = self.evaluation_periods;
        if n == 0 {
            return Err(AlarmError::invalid(
                "EvaluationPeriods",
                "must be at least 1",
            ));
        }
        let m = self.datapoints_to_alarm.unwrap_or(n);
        if m == 0 || m > n {
            return Err(AlarmError::invalid(
                "DatapointsToAlarm",
                format!("{m} is not between 1 and EvaluationPeriods ({n})"),
            ));
        }
        let missing = match self.treat_missing_data.as_deref() {
            None | Some("missing") => MissingData::Missing,
            Some("notBreaching") => MissingData::NotBreaching,
            Some("breaching") => MissingData::Breaching,
            Some("ignore") => MissingData::Ignore,
            Some(other) => {
                return Err(AlarmError::invalid(
                    "TreatMissingData",
                    format!("{other:?} is not one of breaching, notBreaching, ignore, missing"),
                ));
            }
        };
        let ignore_low_sample_percentiles =
            match self.evaluate_low_sample_count_percentile.as_deref() {
                None | Some("evaluate") => false,
                Some("ignore") => true,
                Some(other) => {
                    return Err(AlarmError::invalid(
                        "EvaluateLowSampleCountPercentile",
                        format!("{other:?} is neither evaluate nor ignore"),
                    ));
                }
            };
        let Queries {
            period_s,
            queries,
            order,
            result,
        } = match &self.metrics {
            Some(metrics) => {
                if self.metric_name.is_some()
                    || self.namespace.is_some()
                    || self.statistic.is_some()
                    || self.extended_statistic.is_some()
                    || self.period.is_some()
                    || self.dimensions.is_some()
                {
                    return Err(AlarmError::invalid(
                        "Metrics",
                        "give either Metrics or MetricName/Namespace/Statistic/Period/Dimensions, \
                         not both",
                    ));
                }
                crate::queries::from_metrics(metrics)?
            }
            None => self.single_metric()?,
        };
        if u64::from(period_s) * u64::from(n) > 86_400 {
            return Err(AlarmError::invalid(
                "EvaluationPeriods",
                format!(
                    "Period ({period_s} s) x EvaluationPeriods ({n}) exceeds one day; use \
                     fewer or shorter periods"
                ),
            ));
        }
        Ok(AlarmSpec {
            name: self.alarm_name.clone(),
            period_s,
            evaluation_periods: n,
            datapoints_to_alarm: m,
            threshold,
            comparison,
            missing,
            ignore_low_sample_percentiles,
            queries,
            order,
            result,
        })
    }

    fn single_metric(&self) -> Result<Queries, AlarmError> {
        let required = |field: &str, v: &Option<String>| -> Result<String, AlarmError> {
            v.clone().filter(|s| !s.is_empty()).ok_or_else(|| {
                AlarmError::invalid(
                    field,
                    "required for a single-metric alarm (or define the alarm with Metrics)",
                )
            })
        };
        let namespace = required("Namespace", &self.namespace)?;
        let name = required("MetricName", &self.metric_name)?;
        let stat = match (&self.statistic, &self.extended_statistic) {
            (Some(s), None) => {
                let stat = Statistic::parse("Statistic", s)?;
                if stat.is_percentile() {
                    return Err(AlarmError::invalid(
                        "Statistic",
                        format!("{s:?} is a percentile; give it as ExtendedStatistic"),
                    ));
                }
                stat
            }
            (None, Some(s)) => {
                let stat = Statistic::parse("ExtendedStatistic", s)?;
                if !stat.is_percentile() {
                    return Err(AlarmError::invalid(
                        "ExtendedStatistic",
                        format!("{s:?} is a standard statistic; give it as Statistic"),
                    ));
                }
                stat
            }
            _ => {
                return Err(AlarmError::invalid(
                    "Statistic",
                    "give exactly one of Statistic or ExtendedStatistic",
                ));
            }
        };
        let period = self
            .period
            .ok_or_else(|| AlarmError::invalid("Period", "required; e.g. 60"))?;
        check_period("Period", period)?;
        let metric = metric_id(
            "Dimensions",
            namespace,
            name,
            self.dimensions.as_deref().unwrap_or(&[]),
        )?;
        let id = "m1".to_owned();
        let query = Query::Stat {
            metric,
            stat,
            unit: self.unit.clone(),
        };
        Ok(Queries {
            period_s: period,
            queries: BTreeMap::from([(id.clone(), query)]),
            order: vec![id.clone()],
            result: id,
        })
    }
}

/// Validated queries: the period, the queries by id, their evaluation order, the result id.
pub(crate) struct Queries {
    pub(crate) period_s: u32,
    pub(crate) queries: BTreeMap<String, Query>,
    pub(crate) order: Vec<String>,
    pub(crate) result: String,
}

/// A period CloudWatch accepts: 10, 20, 30 or a multiple of 60 seconds.
pub(crate) fn check_period(field: &str, period: u32) -> Result<(), AlarmError> {
    if matches!(period, 10 | 20 | 30) || (period > 0 && period % 60 == 0) {
        Ok(())
    } else {
        Err(AlarmError::invalid(
            field,
            format!(
                "{period} s is not a period CloudWatch accepts; use 10, 20, 30 or a multiple of 60"
            ),
        ))
    }
}

/// The metric identity from its parts; dimension names must be unique.
pub(crate) fn metric_id(
    field: &str,
    namespace: String,
    name: String,
    dimensions: &[Dimension],
) -> Result<MetricId, AlarmError> {
    let mut map = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for d in dimensions {
        if !seen.insert(d.name.as_str()) {
            return Err(AlarmError::invalid(
                field,
                format!("dimension {:?} appears twice; give each name once", d.name),
            ));
        }
        map.insert(d.name.clone(), d.value.clone());
    }
    Ok(MetricId {
        namespace,
        name,
        dimensions: map,
    })
}
