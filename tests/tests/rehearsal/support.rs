//! Running `rollcall-lab rehearse` as a process (with the real prober, `hello` and the rollcall
//! layer) and reading both sides of its outcome: the prober's `report.json` and the lab's
//! event log (the ground truth), the extension's EMF documents in the environments' logs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const PACKAGES: &[&str] = &[
    "lab",
    "prober",
    "hello",
    "rollcall-extension",
    "rollcall-hook",
];

/// A rehearsal's output directory and inputs.
pub struct Rehearsal {
    pub dir: tempfile::TempDir,
}

impl Rehearsal {
    /// Builds the inputs `scripts/demo.sh` builds: `hello`'s code dir and the layer tree.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let code = dir.path().join("inputs/code");
        let layer = dir.path().join("inputs/layer");
        std::fs::create_dir_all(code.clone()).unwrap();
        std::fs::create_dir_all(layer.join("extensions")).unwrap();
        copy_exe(&exe("hello"), &code.join("hello"));
        copy_exe(&exe("rollcall"), &layer.join("extensions/rollcall"));
        let scripts = rollcall_e2e::workspace_root().join("extension/layer");
        for script in ["bootstrap", "rollcall-wrapper"] {
            copy_exe(&scripts.join(script), &layer.join(script));
        }
        Self { dir }
    }

    /// The output directory.
    pub fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    /// `rollcall-lab rehearse` with the inputs and `args`, started; stopped (SIGTERM, then
    /// SIGKILL) if the test ends first.
    pub fn spawn(&self, args: &[&str]) -> Running {
        let inputs = self.dir.path().join("inputs");
        Command::new(exe("rollcall-lab"))
            .arg("rehearse")
            .arg("--code")
            .arg(inputs.join("code"))
            .arg("--layer")
            .arg(inputs.join("layer"))
            .arg("--prober")
            .arg(exe("prober"))
            .arg("--out")
            .arg(self.out())
            .args(args)
            .env("PROBER_QUIET", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map(|child| Running(Some(child)))
            .unwrap()
    }

    /// Runs it to its end.
    pub fn run(&self, args: &[&str]) -> Output {
        self.spawn(args).wait()
    }

    /// The prober's report.
    pub fn report(&self) -> Value {
        read_json(&self.out().join("prober/report.json"))
    }

    /// `rehearsal.json`.
    pub fn result(&self) -> Value {
        read_json(&self.out().join("rehearsal.json"))
    }

    /// The event log's lines.
    pub fn events(&self) -> Vec<Value> {
        std::fs::read_to_string(self.out().join("events.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Waits (bounded) until an event satisfies `found`.
    pub fn wait_for_event(&self, what: &str, found: impl Fn(&Value) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while !self.events().iter().any(&found) {
            assert!(
                Instant::now() < deadline,
                "no {what} in the event log: {:?}",
                self.events()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sums one metric of the extension's EMF documents per version, over every environment's
    /// log.
    pub fn emf_sum(&self, metric: &str) -> std::collections::BTreeMap<String, u64> {
        let mut sums = std::collections::BTreeMap::new();
        // `hello` from a spec; the template's physical name (`<stack>-HelloFunction-...`).
        let logs = std::fs::read_dir(self.out().join("logs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                name == "hello" || name.contains("-HelloFunction-")
            })
            .expect("hello's logs");
        for version in std::fs::read_dir(&logs).unwrap() {
            let version = version.unwrap().path();
            for log in std::fs::read_dir(&version).unwrap() {
                let text = std::fs::read_to_string(log.unwrap().path()).unwrap();
                for line in text.lines() {
                    let Some(start) = line.find('{') else {
                        continue;
                    };
                    let Ok(doc) = serde_json::from_str::<Value>(&line[start..]) else {
                        continue;
                    };
                    if doc.get("_aws").is_none() {
                        continue;
                    }
                    let v = doc["Version"].as_str().unwrap().to_owned();
                    *sums.entry(v).or_default() += doc[metric].as_u64().unwrap_or(0);
                }
            }
        }
        sums
    }
}

impl Drop for Rehearsal {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Kept for the post-mortem: the event log, the prober's report, the logs.
            let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
            eprintln!("the rehearsal's files are kept in {}", dir.keep().display());
        }
    }
}

/// A rehearsal process that does not outlive its test.
pub struct Running(Option<Child>);

impl Running {
    /// Waits for its end.
    pub fn wait(mut self) -> Output {
        self.0.take().unwrap().wait_with_output().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // SIGTERM lets it stop its environments and the prober; SIGKILL if it hangs.
        if let Some(mut child) = self.0.take() {
            test_support::process::terminate(&mut child);
        }
    }
}

/// One built executable of the workspace.
pub fn exe(name: &str) -> PathBuf {
    test_support::executable(PACKAGES, name)
}

fn copy_exe(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::copy(from, to)
        .unwrap_or_else(|e| panic!("{} -> {}: {e}", from.display(), to.display()));
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The lab's alias changes: (seconds since the prober's origin, version 2's weight after).
pub fn weight_changes(events: &[Value], origin_ms: f64) -> Vec<(f64, f64)> {
    events
        .iter()
        .filter(|e| e["type"] == "routingChanged")
        .map(|e| {
            let at = e["timeUs"].as_f64().unwrap() / 1e3;
            let after = &e["after"];
            let weight = if after["primary"] == "2" {
                1.0 - after["additional"]["1"].as_f64().unwrap_or(0.0)
            } else {
                after["additional"]["2"].as_f64().unwrap_or(0.0)
            };
            ((at - origin_ms) / 1e3, weight)
        })
        .collect()
}

/// When version 2's weight went back to 0 after it had been positive.
pub fn rollback_at(changes: &[(f64, f64)]) -> Option<f64> {
    let first_positive = changes.iter().position(|(_, w)| *w > 0.0)?;
    changes[first_positive..]
        .iter()
        .find(|(_, w)| *w == 0.0)
        .map(|c| c.0)
}

/// Version 2's weight in the lab at `t` (seconds since the origin).
pub fn weight_at(changes: &[(f64, f64)], t: f64) -> f64 {
    changes
        .iter()
        .take_while(|(at, _)| *at <= t)
        .last()
        .map_or(0.0, |(_, w)| *w)
}

/// Checks every step the prober judged against the weight the lab had applied throughout it:
/// the observed count of version 2 is within 4.5 binomial standard deviations of the lab's
/// weight (a false alarm in about 1 in 150,000 steps), plus two requests at the edges. Steps
/// that straddle a change of the lab's weight (possible only when the prober's alignment is
/// off) fail the test. The step in which the lab rolled back is not checked (the prober
/// counts it up to its own `rollback_at`, resolved to its bins). Returns how many steps were
/// checked.
pub fn steps_agree_with_the_lab(report: &Value, changes: &[(f64, f64)]) -> usize {
    let rollback = rollback_at(changes);
    let mut checked = 0;
    for step in report["steps"].as_array().unwrap() {
        let n = step["requests"].as_u64().unwrap();
        if n == 0 || step["observed_share"].is_null() {
            continue;
        }
        let (start, end) = (
            step["start"].as_f64().unwrap(),
            step["end"].as_f64().unwrap(),
        );
        if rollback.is_some_and(|r| end > r) {
            continue;
        }
        // The prober leaves guard bands out of the count; the lab's weight must hold in
        // between.
        let probe: Vec<f64> = (1..10)
            .map(|i| start + (end - start) * f64::from(i) / 10.0)
            .map(|t| weight_at(changes, t))
            .collect();
        let w = probe[4];
        assert!(
            probe.iter().all(|p| (p - w).abs() < 1e-9),
            "step {step} straddles a weight change of the lab: {changes:?}"
        );
        let new = step["new_requests"].as_u64().unwrap() as f64;
        let n = n as f64;
        let sigma = (n * w * (1.0 - w)).sqrt();
        assert!(
            (new - n * w).abs() <= 4.5 * sigma + 2.0,
            "step {step}: {new} of {n} on version 2, the lab's weight was {w} (bound {:.1})",
            4.5 * sigma + 2.0
        );
        checked += 1;
    }
    checked
}

/// The extension counted what the prober saw, per version, within what was in flight when the
/// prober stopped (`rps` × 0.1 s + 2).
pub fn emf_counts_agree(rehearsal: &Rehearsal, report: &Value, rps: f64) {
    let invocations = rehearsal.emf_sum("Invocations");
    let errors = rehearsal.emf_sum("Errors");
    let slack = rps * 0.1 + 2.0;
    for (version, seen) in report["versions"].as_object().unwrap() {
        let requests = seen["requests"].as_f64().unwrap();
        let counted = invocations.get(version).copied().unwrap_or(0) as f64;
        assert!(
            (counted - requests).abs() <= slack && counted >= requests,
            "version {version}: the extension counted {counted} invocations, the prober saw {requests} responses (slack {slack})"
        );
        let failed = seen["errors"].as_f64().unwrap();
        let counted_errors = errors.get(version).copied().unwrap_or(0) as f64;
        assert!(
            (counted_errors - failed).abs() <= slack,
            "version {version}: the extension counted {counted_errors} errors, the prober saw {failed}"
        );
    }
}
