//! Validation of an alarm's `Metrics` (MetricDataQuery list): ids, one `ReturnData`, one
//! period, expressions that name known ids without a cycle.

use std::collections::{BTreeMap, BTreeSet};

use crate::alarm::{MetricDataQuery, Queries, Query, check_period, metric_id};
use crate::error::AlarmError;
use crate::math::Expr;
use crate::stat::Statistic;

/// Most queries in one alarm (API Reference, PutMetricAlarm `Metrics`: up to 10 metrics plus
/// expressions; the lab allows the documented list size).
const MAX_QUERIES: usize = 20;

pub(crate) fn from_metrics(metrics: &[MetricDataQuery]) -> Result<Queries, AlarmError> {
    if metrics.is_empty() || metrics.len() > MAX_QUERIES {
        return Err(AlarmError::invalid(
            "Metrics",
            format!("give 1 to {MAX_QUERIES} queries (found {})", metrics.len()),
        ));
    }
    let mut queries = BTreeMap::new();
    let mut period: Option<u32> = None;
    let mut returned = Vec::new();
    for (i, q) in metrics.iter().enumerate() {
        let field = |name: &str| format!("Metrics[{i}].{name}");
        check_id(&field("Id"), &q.id)?;
        if queries.contains_key(&q.id) {
            return Err(AlarmError::invalid(
                field("Id"),
                format!("{:?} is used twice; give every query its own id", q.id),
            ));
        }
        if q.return_data.unwrap_or(true) {
            returned.push(q.id.clone());
        }
        let query = match (&q.metric_stat, &q.expression) {
            (Some(ms), None) => {
                check_period(&field("MetricStat.Period"), ms.period)?;
                match period {
                    Some(p) if p != ms.period => {
                        return Err(AlarmError::invalid(
                            field("MetricStat.Period"),
                            format!(
                                "{} s differs from another query's {p} s; every metric of an \
                                 alarm uses the same period",
                                ms.period
                            ),
                        ));
                    }
                    _ => period = Some(ms.period),
                }
                if ms.metric.namespace.is_empty() || ms.metric.metric_name.is_empty() {
                    return Err(AlarmError::invalid(
                        field("MetricStat.Metric"),
                        "give the metric's Namespace and MetricName",
                    ));
                }
                Query::Stat {
                    metric: metric_id(
                        &field("MetricStat.Metric.Dimensions"),
                        ms.metric.namespace.clone(),
                        ms.metric.metric_name.clone(),
                        &ms.metric.dimensions,
                    )?,
                    stat: Statistic::parse(&field("MetricStat.Stat"), &ms.stat)?,
                    unit: ms.unit.clone(),
                }
            }
            (None, Some(text)) => Query::Math(
                Expr::parse(text).map_err(|p| AlarmError::invalid(field("Expression"), p))?,
            ),
            _ => {
                return Err(AlarmError::invalid(
                    format!("Metrics[{i}]"),
                    "give exactly one of MetricStat or Expression",
                ));
            }
        };
        queries.insert(q.id.clone(), query);
    }
    let result = match returned.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(AlarmError::invalid(
                "Metrics",
                "no query has ReturnData true; set it on the one whose value the alarm compares",
            ));
        }
        many => {
            return Err(AlarmError::invalid(
                "Metrics",
                format!(
                    "{} queries have ReturnData true ({}; it defaults to true); set ReturnData \
                     false on all but the one the alarm compares",
                    many.len(),
                    many.join(", ")
                ),
            ));
        }
    };
    let period = period.ok_or_else(|| {
        AlarmError::invalid(
            "Metrics",
            "no query has a MetricStat; an expression needs at least one metric",
        )
    })?;
    for (i, q) in metrics.iter().enumerate() {
        if let Some(Query::Math(e)) = queries.get(&q.id) {
            if e.ids().is_empty() {
                return Err(AlarmError::invalid(
                    format!("Metrics[{i}].Expression"),
                    "names no query id; an alarm's expression must produce a time series",
                ));
            }
            if let Some(unknown) = e.ids().into_iter().find(|id| !queries.contains_key(*id)) {
                return Err(AlarmError::invalid(
                    format!("Metrics[{i}].Expression"),
                    format!(
                        "names {unknown:?}, which is no query's Id; ids are: {}",
                        queries.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
    }
    let order = evaluation_order(&queries)?;
    Ok(Queries {
        period_s: period,
        queries,
        order,
        result,
    })
}

/// Ids start with a lowercase letter and hold letters, digits and underscores (API
/// Reference, `MetricDataQuery.Id`; at most 255 characters).
fn check_id(field: &str, id: &str) -> Result<(), AlarmError> {
    let ok = id.len() <= 255
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(AlarmError::invalid(
            field,
            format!(
                "{id:?} is not a query id; start with a lowercase letter and use letters, digits \
                 and underscores (e.g. errors, m1)"
            ),
        ))
    }
}

/// Every id after the ids its expression uses; a cycle is refused.
fn evaluation_order(queries: &BTreeMap<String, Query>) -> Result<Vec<String>, AlarmError> {
    fn visit(
        id: &str,
        queries: &BTreeMap<String, Query>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
        order: &mut Vec<String>,
    ) -> Result<(), AlarmError> {
        if done.contains(id) {
            return Ok(());
        }
        if path.iter().any(|p| p == id) {
            path.push(id.to_owned());
            return Err(AlarmError::invalid(
                "Metrics",
                format!(
                    "expressions refer to each other in a cycle ({}); break it",
                    path.join(" -> ")
                ),
            ));
        }
        path.push(id.to_owned());
        if let Some(Query::Math(e)) = queries.get(id) {
            for dep in e.ids() {
                visit(dep, queries, done, path, order)?;
            }
        }
        path.pop();
        done.insert(id.to_owned());
        order.push(id.to_owned());
        Ok(())
    }
    let (mut done, mut order) = (BTreeSet::new(), Vec::new());
    for id in queries.keys() {
        visit(id, queries, &mut done, &mut Vec::new(), &mut order)?;
    }
    Ok(order)
}
