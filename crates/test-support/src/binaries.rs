//! Executables of other workspace packages.
//!
//! Cargo gives a test only its own package's binaries (`CARGO_BIN_EXE_*`). Tests that run real
//! processes of other packages (the lab's fixture functions, the demo function `hello`) call
//! [`executable`]: the first call for a set of packages runs `cargo build -p …` (dev profile,
//! the workspace's target directory) and reads the executables' paths from Cargo's JSON
//! messages; later calls in the same process reuse the answer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// Runs `cargo build -p <each package>` and returns (binary target name, executable) pairs.
///
/// # Errors
/// A message naming the packages when Cargo cannot be run or the build fails (Cargo's own
/// diagnostics go to stderr).
pub fn build(packages: &[&str]) -> Result<Vec<(String, PathBuf)>, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build");
    for p in packages {
        cmd.args(["-p", p]);
    }
    let output = cmd
        .arg("--message-format=json-render-diagnostics")
        .current_dir(workspace_root())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo build for {packages:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!("cargo build of {packages:?} failed (see stderr)"));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter_map(|m| {
            let exe = m["executable"].as_str()?;
            Some((m["target"]["name"].as_str()?.to_owned(), PathBuf::from(exe)))
        })
        .collect())
}

/// The executable of binary `name`, built (once per process) with `packages`.
///
/// # Panics
/// When the build fails or does not produce `name`: this is a test helper, and the message
/// says which.
pub fn executable(packages: &[&str], name: &str) -> PathBuf {
    type Built = HashMap<Vec<String>, Vec<(String, PathBuf)>>;
    static BUILT: OnceLock<Mutex<Built>> = OnceLock::new();
    let key: Vec<String> = packages.iter().map(|p| (*p).to_owned()).collect();
    let mut built = BUILT
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let executables = built
        .entry(key)
        .or_insert_with(|| build(packages).unwrap_or_else(|e| panic!("{e}")));
    executables
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, p)| p.clone())
        .unwrap_or_else(|| {
            panic!("cargo build of {packages:?} did not report a `{name}` executable")
        })
}
