//! The artifacts of a run, each written atomically (a temporary file in the target directory,
//! then a rename): `report.json`, `timeline.csv`, `latency-<version>.hgrm`, `latency.hlog`,
//! `split.svg`, `latency.svg` and `junit.xml`.

pub mod csv;
pub mod hdr;
pub mod junit;
pub mod svg;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;
use rollout::Report;
use rollout::schedule::Schedule;

use crate::aggregate::{Aggregate, IntervalRecord, SecondRow};
use crate::error::ProberError;

/// What the artifact writers read.
#[derive(Debug)]
pub struct Inputs<'a> {
    /// The report.
    pub report: &'a Report,
    /// The (time-scaled) schedule, when one was given.
    pub schedule: Option<&'a Schedule>,
    /// Corrected latency per version, µs.
    pub histograms: BTreeMap<String, &'a Histogram<u64>>,
    /// Untagged responses and errors per second.
    pub seconds: &'a [SecondRow],
    /// One-second interval histograms (empty for a merged report).
    pub intervals: &'a [IntervalRecord],
}

/// Writes `bytes` to `dir/name` atomically: a temporary file in `dir`, flushed, then renamed.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, ProberError> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let io = |source| ProberError::Write {
        path: path.clone(),
        source,
    };
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(path)
}

/// A file-name-safe form of a version label (`$LATEST` -> `LATEST`).
pub fn file_label(version: &str) -> String {
    let s: String = version
        .chars()
        .filter_map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' => Some(c),
            '$' => None,
            _ => Some('_'),
        })
        .collect();
    if s.is_empty() {
        "version".to_owned()
    } else {
        s
    }
}

/// Writes every artifact of `inputs` into `dir`.
pub fn write_all(dir: &Path, inputs: &Inputs<'_>) -> Result<(), ProberError> {
    std::fs::create_dir_all(dir).map_err(|source| ProberError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut json = serde_json::to_vec_pretty(inputs.report)
        .map_err(|e| ProberError::Internal(format!("report serialization: {e}")))?;
    json.push(b'\n');
    write_atomic(dir, "report.json", &json)?;
    write_atomic(dir, "timeline.csv", csv::timeline_csv(inputs).as_bytes())?;
    for (version, h) in &inputs.histograms {
        let name = format!("latency-{}.hgrm", file_label(version));
        write_atomic(
            dir,
            &name,
            hdr::percentile_distribution(h, 1000.0).as_bytes(),
        )?;
    }
    write_atomic(dir, "latency.hlog", &hdr::interval_log(inputs))?;
    write_atomic(dir, "split.svg", svg::split_svg(inputs).as_bytes())?;
    write_atomic(dir, "latency.svg", svg::latency_svg(inputs).as_bytes())?;
    write_atomic(dir, "junit.xml", junit::junit_xml(inputs.report).as_bytes())?;
    Ok(())
}

/// Writes the artifacts of a single run.
pub fn write_run(
    dir: &Path,
    report: &Report,
    agg: &Aggregate,
    schedule: Option<&Schedule>,
) -> Result<(), ProberError> {
    let inputs = Inputs {
        report,
        schedule,
        histograms: agg
            .versions
            .iter()
            .map(|(k, v)| (k.clone(), &v.corrected))
            .collect(),
        seconds: &agg.seconds,
        intervals: &agg.intervals,
    };
    write_all(dir, &inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(dir.path(), "a.txt", b"one").unwrap();
        write_atomic(dir.path(), "a.txt", b"two").unwrap();
        assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.txt"]);
    }

    #[test]
    fn atomic_write_reports_the_path_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = write_atomic(&missing, "a.txt", b"x").unwrap_err();
        assert!(err.to_string().contains("a.txt"), "{err}");
        assert_eq!(err.exit_code(), crate::error::EXIT_IO);
    }

    #[test]
    fn labels_become_file_names() {
        assert_eq!(file_label("$LATEST"), "LATEST");
        assert_eq!(file_label("7"), "7");
        assert_eq!(file_label("a/b c"), "a_b_c");
        assert_eq!(file_label("$"), "version");
    }
}

/// Helpers for the artifact tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use rollout::report::{RunConfig, Totals};
    use rollout::{FORMAT_VERSION, Report, Timeline, Verdict};

    /// A minimal report around `timeline`.
    pub fn report_with(
        timeline: Timeline,
        old: Option<&str>,
        new: Option<&str>,
        deployment_start: Option<f64>,
        duration_secs: f64,
    ) -> Report {
        Report {
            format_version: FORMAT_VERSION,
            tool: "prober test".into(),
            started_at: "2026-11-26T04:30:00Z".into(),
            started_at_unix_ms: 1_795_667_400_000,
            duration_secs,
            interrupted: false,
            config: RunConfig::default(),
            merged_runs: 1,
            verdict: Verdict::Followed,
            verdict_reason: "ok".into(),
            exit_code: 0,
            old_version: old.map(str::to_owned),
            new_version: new.map(str::to_owned),
            deployment_start,
            deployment_start_ci: None,
            rollback_at: None,
            completed_at: None,
            steps: Vec::new(),
            sensitivity: None,
            versions: Default::default(),
            untagged: 0,
            totals: Totals::default(),
            latency_comparison: None,
            timeline,
            histograms: Default::default(),
        }
    }
}
