//! Statistics over the samples of one period: SampleCount, Sum, Average, Minimum, Maximum and
//! percentiles `pNN(.N)` (CloudWatch User Guide, "CloudWatch statistics definitions").
//!
//! Percentiles are exact nearest-rank over every kept sample: the smallest value whose
//! cumulative count reaches `ceil(p / 100 * SampleCount)` (`p0` is the minimum). A histogram
//! (`Values`/`Counts`) contributes each value `count` times. CloudWatch's own percentiles are
//! approximate (it keeps values at reduced precision); on raw values they agree with
//! nearest-rank up to that rounding, which is what the lab matches.

use std::fmt;

use crate::error::AlarmError;

/// One statistic an alarm or a `MetricStat` asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Statistic {
    /// Number of samples (sum of a histogram's `Counts`).
    SampleCount,
    /// Sum of the values.
    Sum,
    /// Sum / SampleCount.
    Average,
    /// Smallest value.
    Minimum,
    /// Largest value.
    Maximum,
    /// Percentile in `[0, 100]`.
    Percentile(f64),
}

impl Statistic {
    /// Parses a standard statistic name or a percentile `pNN(.N)`; `field` names the input field
    /// in the error.
    pub fn parse(field: &str, s: &str) -> Result<Self, AlarmError> {
        Ok(match s {
            "SampleCount" => Self::SampleCount,
            "Sum" => Self::Sum,
            "Average" => Self::Average,
            "Minimum" => Self::Minimum,
            "Maximum" => Self::Maximum,
            _ => Self::Percentile(parse_percentile(s).ok_or_else(|| AlarmError::Invalid {
                field: field.to_owned(),
                problem: format!(
                    "{s:?} is not a statistic this lab computes; use SampleCount, Sum, Average, \
                     Minimum, Maximum or a percentile such as p99 or p99.9"
                ),
            })?),
        })
    }

    /// True for a percentile (the low-sample-count rule applies).
    pub fn is_percentile(self) -> bool {
        matches!(self, Self::Percentile(_))
    }

    /// Fewest samples for a statistically significant percentile (CloudWatch User Guide,
    /// "Percentile-based alarms and low data samples"): `10 / (1 - p)` for p >= 0.5, else
    /// `10 / p`. `None` for other statistics.
    pub fn min_significant_samples(self) -> Option<f64> {
        let Self::Percentile(p) = self else {
            return None;
        };
        let q = p / 100.0;
        Some(if q >= 0.5 { 10.0 / (1.0 - q) } else { 10.0 / q })
    }
}

impl fmt::Display for Statistic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SampleCount => f.write_str("SampleCount"),
            Self::Sum => f.write_str("Sum"),
            Self::Average => f.write_str("Average"),
            Self::Minimum => f.write_str("Minimum"),
            Self::Maximum => f.write_str("Maximum"),
            Self::Percentile(p) => write!(f, "p{p}"),
        }
    }
}

/// `p` followed by 0..=100 with at most 10 decimals (PutMetricAlarm, `ExtendedStatistic`).
fn parse_percentile(s: &str) -> Option<f64> {
    let digits = s.strip_prefix('p')?;
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = !int.is_empty()
        && int.len() <= 3
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.len() <= 10
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(digits.contains('.') && frac.is_empty());
    let p: f64 = digits.parse().ok().filter(|_| ok)?;
    (0.0..=100.0).contains(&p).then_some(p)
}

/// Samples with exact aggregates: the values with their counts, plus count, sum, min and max
/// (taken from an EMF histogram's own `Count`/`Sum`/`Min`/`Max` when it gives them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples {
    /// `(value, count)` pairs.
    pub values: Vec<(f64, f64)>,
    /// Number of samples.
    pub count: f64,
    /// Sum of the samples.
    pub sum: f64,
    /// Smallest sample (`+inf` when empty).
    pub min: f64,
    /// Largest sample (`-inf` when empty).
    pub max: f64,
}

impl Samples {
    /// No samples.
    pub fn new() -> Self {
        Self {
            values: Vec::new(),
            count: 0.0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    /// Adds `value` seen `count` times.
    pub fn push(&mut self, value: f64, count: f64) {
        self.values.push((value, count));
        self.count += count;
        self.sum += value * count;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Samples) {
        self.values.extend_from_slice(&other.values);
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// The statistic over these samples; `None` when there are none (a missing datapoint).
    pub fn statistic(&self, stat: Statistic) -> Option<f64> {
        if self.count <= 0.0 {
            return None;
        }
        Some(match stat {
            Statistic::SampleCount => self.count,
            Statistic::Sum => self.sum,
            Statistic::Average => self.sum / self.count,
            Statistic::Minimum => self.min,
            Statistic::Maximum => self.max,
            Statistic::Percentile(p) => self.percentile(p),
        })
    }

    fn percentile(&self, p: f64) -> f64 {
        let mut sorted: Vec<(f64, f64)> = self
            .values
            .iter()
            .copied()
            .filter(|(_, c)| *c > 0.0)
            .collect();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let total: f64 = sorted.iter().map(|(_, c)| c).sum();
        let rank = (p / 100.0 * total).ceil().max(1.0);
        let mut seen = 0.0;
        for (v, c) in &sorted {
            seen += c;
            if seen >= rank {
                return *v;
            }
        }
        sorted.last().map_or(self.max, |(v, _)| *v)
    }
}
