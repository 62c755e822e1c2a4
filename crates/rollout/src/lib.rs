//! The rollout model: CodeDeploy-style traffic-shifting schedules, the analysis of an observed
//! version split against a schedule, latency comparison between versions, and the `report.json`
//! model shared by the prober and the tests. Pure logic, no I/O.

pub mod report;
pub mod timeline;

pub use report::{Report, Verdict, FORMAT_VERSION};
pub use timeline::Timeline;
