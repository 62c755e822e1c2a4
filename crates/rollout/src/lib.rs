//! The rollout model: CodeDeploy-style traffic-shifting schedules, the deployment that follows
//! one (a pure state machine, [`deployment`]), the analysis of an observed version split
//! against a schedule, latency comparison between versions, and the `report.json` model shared
//! by the prober and the tests. Pure logic, no I/O.
//!
//! ```
//! use rollout::{AnalysisConfig, Schedule, Verdict, analyze, sim};
//!
//! // A Linear10PercentEvery1Minute deployment compressed 60x (10 s), probed at 200 rps from 2 s
//! // before it started until 3 s after it ended.
//! let schedule: Schedule = "Linear10PercentEvery1Minute".parse::<Schedule>()?.time_scaled(60.0)?;
//! assert_eq!(schedule.full_shift_at(), 9.0);
//! let timeline = sim::simulate(&schedule, 2.0, 200.0, 15.0, 42, 0.01);
//!
//! let cfg = AnalysisConfig { schedule: Some(schedule), ..AnalysisConfig::default() };
//! let split = analyze(&timeline, &cfg);
//! assert_eq!(split.old_version.as_deref(), Some(sim::OLD_VERSION));
//! assert_eq!(split.new_version.as_deref(), Some(sim::NEW_VERSION));
//! let start = split.deployment_start.expect("start aligned");
//! assert!((start - 2.0).abs() < 0.5, "start {start}");
//! assert_eq!(split.verdict, Verdict::Followed, "{}", split.reason);
//! # Ok::<(), rollout::ScheduleError>(())
//! ```

pub mod analysis;
pub mod configured;
pub mod control_plane;
pub mod deployment;
pub mod power;
pub mod report;
pub mod schedule;
pub mod sim;
pub mod stats;
pub mod timeline;

pub use analysis::{
    AnalysisConfig, AnalysisConfigError, SplitAnalysis, analyze, overall, overall_with_conformance,
};
pub use report::{
    FORMAT_VERSION, LatencyComparison, LatencySummary, Report, Sensitivity, StepReport,
    StepVerdict, Verdict,
};
pub use schedule::{Schedule, ScheduleError, Step};
pub use stats::{
    HistogramCodecError, compare_latency, decode_histogram, encode_histogram, summarize,
    wilson_interval,
};
pub use timeline::Timeline;
