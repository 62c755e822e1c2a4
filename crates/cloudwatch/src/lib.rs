//! CloudWatch as the lab plays it for a deployment's alarms (issue 10, item 5). Pure: no clock
//! reads, no I/O; the caller passes EMF documents and the time.
//!
//! - [`store`]: EMF documents (an environment's stdout lines) into metrics keyed by namespace,
//!   metric name, dimensions and timestamp; every sample kept, so statistics are exact.
//! - [`stat`]: SampleCount, Sum, Average, Minimum, Maximum, percentiles `pNN(.N)`.
//! - [`alarm`]: PutMetricAlarm's JSON shape (`aws cloudwatch put-metric-alarm
//!   --cli-input-json`) and its validation, incl. the `Metrics` queries with metric math
//!   ([`math`]).
//! - [`eval`]: the evaluation (M out of N, missing data, period alignment, time scale) and the
//!   transitions with the datapoints that caused them.
//!
//! Sources: CloudWatch User Guide "Using Amazon CloudWatch alarms" (archived as
//! `awsdocs/amazon-cloudwatch-user-guide` `doc_source/AlarmThatSendsEmail.md`), "Using metric
//! math" (`doc_source/using-metric-math.md`), the CloudWatch API Reference (`PutMetricAlarm`,
//! `MetricDataQuery`), and the EMF specification (LAMBDA-FACTS §9).

#![warn(missing_docs)]

pub mod alarm;
mod error;
pub mod eval;
pub mod math;
mod queries;
pub mod stat;
pub mod store;

pub use alarm::{AlarmSpec, Comparison, MissingData, PutMetricAlarm};
pub use error::AlarmError;
pub use eval::{AlarmState, AlarmTransition, CloudWatch, Datapoint, decide};
pub use stat::{Samples, Statistic};
pub use store::{IngestReport, MetricId, MetricStore, parse_emf_line};
