//! The artifacts of a run, each written atomically (a temporary file in the target directory,
//! then a rename): `report.json`, `timeline.csv`, `latency-<version>.hgrm`,
//! `ttfb-<version>.hgrm` (time to first byte, from the report's histograms), `latency.hlog`,
//! `ttfb.hlog`, `split.svg`, `latency.svg` and `junit.xml`.

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
use crate::record::fnv1a;

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

/// Writes `bytes` to `dir/name` atomically: a temporary file created exclusively in `dir`
/// (random name, `O_EXCL`: a planted file or symlink is never followed), flushed, then renamed
/// over `name`.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, ProberError> {
    let path = dir.join(name);
    let io = |source| ProberError::Write {
        path: path.clone(),
        source,
    };
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // Readable as a plainly created file would be (0666 less the umask), not owner-only.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder.tempfile_in(dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    // On failure the temporary file is removed when dropped.
    tmp.persist(&path).map_err(|e| io(e.error))?;
    Ok(path)
}

/// Longest file-name-safe prefix kept of a version label.
const MAX_LABEL_CHARS: usize = 64;

/// A file-name-safe form of a version label: letters, digits, `-`, `_` and `.` kept, `$`
/// dropped (`$LATEST` -> `LATEST`), anything else `_`, at most 64 characters; and whether the
/// mapping lost information (then the name needs a hash to stay unique).
fn safe_label(version: &str) -> (String, bool) {
    let mut lossy = false;
    let mut s = String::new();
    for c in version.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' => s.push(c),
            // A leading dot would hide the file; ".." must never be a name.
            '.' if !s.is_empty() => s.push(c),
            '$' => {}
            _ => {
                lossy = true;
                s.push('_');
            }
        }
        if s.len() > MAX_LABEL_CHARS {
            lossy = true;
            s.truncate(MAX_LABEL_CHARS);
            break;
        }
    }
    if s.is_empty() {
        return ("version".to_owned(), true);
    }
    (s, lossy)
}

/// A file-name-safe form of a version label (`$LATEST` -> `LATEST`); see
/// [`latency_file_names`] for the unique names the artifacts use.
pub fn file_label(version: &str) -> String {
    safe_label(version).0
}

/// The `latency-<label>.hgrm` file name of each version: safe on any file system and unique
/// among `versions`, also where names differ only in case. A label that had to be changed
/// (unsafe characters, too long) or that would collide with another gets `-<16 hex digits>`,
/// a hash of the original label, appended.
pub fn latency_file_names<'a>(
    versions: impl IntoIterator<Item = &'a String>,
) -> BTreeMap<String, String> {
    let labels: Vec<(&String, String, bool)> = versions
        .into_iter()
        .map(|v| {
            let (safe, lossy) = safe_label(v);
            (v, safe, lossy)
        })
        .collect();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (_, safe, _) in &labels {
        *seen.entry(safe.to_ascii_lowercase()).or_insert(0) += 1;
    }
    let mut names = BTreeMap::new();
    let mut taken = std::collections::BTreeSet::new();
    for (version, safe, lossy) in labels {
        let collides = seen[&safe.to_ascii_lowercase()] > 1;
        let mut name = if lossy || collides {
            format!("latency-{safe}-{:016x}.hgrm", fnv1a(version.as_bytes()))
        } else {
            format!("latency-{safe}.hgrm")
        };
        // A label crafted to equal another's hashed name: number it.
        let mut n = 1;
        while !taken.insert(name.to_ascii_lowercase()) {
            n += 1;
            name = format!("latency-{safe}-{:016x}-{n}.hgrm", fnv1a(version.as_bytes()));
        }
        names.insert(version.clone(), name);
    }
    names
}

/// The `ttfb-<label>.hgrm` name beside a version's `latency-<label>.hgrm`.
pub fn ttfb_file_name(latency_file: &str) -> String {
    format!(
        "ttfb-{}",
        latency_file
            .strip_prefix("latency-")
            .unwrap_or(latency_file)
    )
}

/// What [`write_all`] could not write besides `report.json`.
#[derive(Debug, Default)]
pub struct Written {
    /// Artifacts that failed (each error names its file); the report itself was written.
    pub failures: Vec<ProberError>,
}

/// Writes every artifact of `inputs` into `dir`. `report.json` comes first; a failure to write
/// it is the error. Any other artifact that cannot be written is skipped and listed in the
/// result (one lost plot must not cost the verdict).
pub fn write_all(dir: &Path, inputs: &Inputs<'_>) -> Result<Written, ProberError> {
    std::fs::create_dir_all(dir).map_err(|source| ProberError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut json = serde_json::to_vec_pretty(inputs.report)
        .map_err(|e| ProberError::Internal(format!("report serialization: {e}")))?;
    json.push(b'\n');
    write_atomic(dir, "report.json", &json)?;
    let mut written = Written::default();
    let mut keep = |r: Result<PathBuf, ProberError>| {
        if let Err(e) = r {
            tracing::warn!(error = %e, "artifact not written");
            written.failures.push(e);
        }
    };
    keep(write_atomic(
        dir,
        "timeline.csv",
        csv::timeline_csv(inputs).as_bytes(),
    ));
    let computed;
    let names = if inputs.report.latency_files.len() == inputs.histograms.len() {
        &inputs.report.latency_files
    } else {
        computed = latency_file_names(inputs.histograms.keys());
        &computed
    };
    for (version, h) in &inputs.histograms {
        let name = names
            .get(version)
            .cloned()
            .unwrap_or_else(|| latency_file_names([version])[version].clone());
        keep(write_atomic(
            dir,
            &name,
            hdr::percentile_distribution(h, 1000.0).as_bytes(),
        ));
    }
    for (version, encoded) in &inputs.report.histograms {
        let (Some(text), Some(name)) = (&encoded.ttfb, names.get(version)) else {
            continue;
        };
        match rollout::stats::decode_histogram(text) {
            Ok(h) => keep(write_atomic(
                dir,
                &ttfb_file_name(name),
                hdr::percentile_distribution(&h, 1000.0).as_bytes(),
            )),
            Err(e) => {
                tracing::warn!(version, error = %e, "time-to-first-byte histogram unreadable")
            }
        }
    }
    keep(write_atomic(
        dir,
        "latency.hlog",
        &hdr::interval_log(inputs, hdr::Measure::Latency),
    ));
    keep(write_atomic(
        dir,
        "ttfb.hlog",
        &hdr::interval_log(inputs, hdr::Measure::TimeToFirstByte),
    ));
    keep(write_atomic(
        dir,
        "split.svg",
        svg::split_svg(inputs).as_bytes(),
    ));
    keep(write_atomic(
        dir,
        "latency.svg",
        svg::latency_svg(inputs).as_bytes(),
    ));
    keep(write_atomic(
        dir,
        "junit.xml",
        junit::junit_xml(inputs.report).as_bytes(),
    ));
    Ok(written)
}

/// The exit code and the artifact errors of a run whose artifacts were written with
/// `result`: the verdict's code when `report.json` was written (a lost plot is only reported),
/// 74 when it was not (CI would otherwise read a stale or missing report).
pub fn outcome_of(report: &Report, result: Result<Written, ProberError>) -> (i32, Vec<String>) {
    match result {
        Ok(w) => (
            report.exit_code,
            w.failures.iter().map(ToString::to_string).collect(),
        ),
        Err(e) => {
            tracing::error!(error = %e, "report.json not written");
            (e.exit_code(), vec![e.to_string()])
        }
    }
}

/// Writes the artifacts of a single run.
pub fn write_run(
    dir: &Path,
    report: &Report,
    agg: &Aggregate,
    schedule: Option<&Schedule>,
) -> Result<Written, ProberError> {
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

/// Checks, before a run, that artifacts can be written to `dir`: creates it and a temporary
/// file in it (removed at once).
pub fn check_writable(dir: &Path) -> Result<(), ProberError> {
    let unusable = |source| ProberError::OutDir {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(unusable)?;
    let probe = tempfile::Builder::new()
        .prefix(".prober-write-check.")
        .tempfile_in(dir)
        .map_err(unusable)?;
    probe.close().map_err(unusable)
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
    fn atomic_write_never_follows_a_planted_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, b"precious").unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        // The temporary name the writer used to pick, and any other plausible one.
        for name in ["junit.xml", "report.json"] {
            let planted = out.join(format!(".{name}.{}.tmp", std::process::id()));
            std::os::unix::fs::symlink(&victim, &planted).unwrap();
            write_atomic(&out, name, b"artifact").unwrap();
            assert_eq!(std::fs::read(out.join(name)).unwrap(), b"artifact");
            assert!(
                std::fs::symlink_metadata(&planted)
                    .unwrap()
                    .file_type()
                    .is_symlink(),
                "the planted link is left alone"
            );
        }
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    }

    #[test]
    fn artifacts_get_the_permissions_of_a_plainly_created_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        let path = write_atomic(dir.path(), "a.txt", b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), mode(&plain));
    }

    #[test]
    fn latency_file_names_are_safe_and_unique_for_any_label() {
        let long = "v".repeat(300);
        let labels: Vec<String> = [
            "7",
            "$LATEST",
            "a/b",
            "a_b",
            "A_B",
            "../../etc",
            ".hidden",
            "",
            "\u{1b}[31m",
            long.as_str(),
            "é",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let names = latency_file_names(&labels);
        assert_eq!(names.len(), labels.len());
        let mut lower: Vec<String> = names.values().map(|n| n.to_ascii_lowercase()).collect();
        lower.sort();
        lower.dedup();
        assert_eq!(lower.len(), labels.len(), "unique ignoring case: {names:?}");
        let dir = tempfile::tempdir().unwrap();
        for (label, name) in &names {
            assert!(name.len() <= 120, "{label:?} -> {name}");
            assert!(
                name.starts_with("latency-")
                    && name.ends_with(".hgrm")
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
                "{label:?} -> {name}"
            );
            write_atomic(dir.path(), name, label.as_bytes()).unwrap();
        }
        for (label, name) in &names {
            assert_eq!(
                std::fs::read(dir.path().join(name)).unwrap(),
                label.as_bytes()
            );
        }
        assert_eq!(names["7"], "latency-7.hgrm");
        assert_eq!(names["$LATEST"], "latency-LATEST.hgrm");
        // Stable across calls (the report records them, merge recomputes them).
        assert_eq!(latency_file_names(&labels), names);
    }

    #[test]
    fn check_writable_names_the_directory() {
        let err = check_writable(Path::new("/proc/self/rollcall-not-here")).unwrap_err();
        assert!(
            err.to_string().contains("/proc/self/rollcall-not-here"),
            "{err}"
        );
        assert_eq!(err.exit_code(), crate::error::EXIT_CANTCREAT);
        let dir = tempfile::tempdir().unwrap();
        check_writable(dir.path()).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
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
            ttfb_comparison: None,
            timeline,
            histograms: Default::default(),
            other_versions: Default::default(),
            latency_files: Default::default(),
            deployment_start_source: None,
            control_plane: None,
        }
    }
}
