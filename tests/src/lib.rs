//! Helpers of Rollcall's end-to-end tests (`tests/tests/*.rs` in this package).
//!
//! - [`tool`]: finds the external tools the tests run (cfn-lint, the SAM CLI) at their pinned
//!   versions, and says how to install them when they are missing.
//! - [`cfn`]: reads CloudFormation/SAM YAML, short-form tags (`!Ref`, `!GetAtt`) included.
//! - [`makefile`]: reads the targets and recipes of the root Makefile.
//! - [`sam`]: expands a template with the real SAM translator, offline.
//! - [`elf`]: whether a built binary is static, and for which machine.

use std::path::PathBuf;

pub mod cfn;
pub mod elf;
pub mod makefile;
pub mod sam;
pub mod tool;

/// The workspace root (the directory holding `template.yaml` and the root `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}
