//! `sam build` with the real SAM CLI, offline, as a user runs it in the repository: the layer and
//! the functions build through the Makefile targets (and SAM's Python builder) into the layout
//! Lambda expects, with static binaries of the template's architecture.
//!
//! Ignored in the normal run (a release build with cargo-lambda and Zig: minutes from a clean
//! target/); scripts/test.sh runs it with `--run-ignored only` after `make layer-zip`, whose
//! cargo build the layer step then reuses (build_in_source = true in samconfig.toml).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use rollcall_e2e::cfn::{self, Value, at, str_at};
use rollcall_e2e::elf::{self, EM_AARCH64, EM_X86_64};
use rollcall_e2e::tool::SAM_CLI;
use rollcall_e2e::workspace_root;

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).expect("under the root");
                out.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// `e_machine` of a Lambda architecture name.
fn machine(architecture: &str) -> u16 {
    match architecture {
        "x86_64" => EM_X86_64,
        "arm64" => EM_AARCH64,
        other => panic!("{other} is not a Lambda architecture"),
    }
}

fn assert_static_binary(path: &Path, architecture: &str) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let info = elf::inspect(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        info.is_static(),
        "{} must be static (no dynamic loader, no shared library): {info:?}",
        path.display()
    );
    assert_eq!(
        info.machine,
        machine(architecture),
        "{} is not built for {architecture}",
        path.display()
    );
    assert_eq!(mode(path), 0o755, "{} is executable", path.display());
}

fn resource<'a>(template: &'a Value, id: &str) -> &'a Value {
    at(template, &["Resources", id]).unwrap_or_else(|| panic!("no resource {id}"))
}

fn architecture(template: &Value, id: &str) -> String {
    let arch = cfn::strings(at(resource(template, id), &["Properties", "Architectures"]));
    assert_eq!(arch.len(), 1, "{id} names one architecture");
    arch[0].to_owned()
}

#[test]
#[ignore = "a release build with cargo-lambda and Zig (minutes); scripts/test.sh runs it after `make layer-zip`"]
fn sam_build_lays_out_the_layer_and_the_functions_as_lambda_runs_them() {
    let sam = SAM_CLI.locate().unwrap_or_else(|e| panic!("{e}"));
    let root = workspace_root();
    let scratch = tempfile::tempdir().expect("temp dir");
    let build: PathBuf = scratch.path().join("build");
    // In the repository itself (build_in_source: the Makefile targets use the workspace's
    // target/), into a scratch build directory so the tree is not touched.
    let out = Command::new(&sam)
        .arg("build")
        .arg("--build-dir")
        .arg(&build)
        .arg("--cache-dir")
        .arg(scratch.path().join("cache"))
        .current_dir(&root)
        .env("SAM_CLI_TELEMETRY", "0")
        .env("CARGO_NET_OFFLINE", "true")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", sam.display()));
    assert!(
        out.status.success(),
        "sam build failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let source = cfn::load(&root.join("template.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let built = cfn::load(&build.join("template.yaml")).unwrap_or_else(|e| panic!("{e}"));

    // The layer: what Lambda mounts on /opt.
    let layer = build.join("RollcallLayer");
    assert_eq!(
        files(&layer),
        ["bootstrap", "extensions/rollcall", "rollcall-wrapper"]
    );
    let layer_arch = cfn::strings(at(
        resource(&source, "RollcallLayer"),
        &["Properties", "CompatibleArchitectures"],
    ));
    assert_eq!(layer_arch.len(), 1);
    assert_static_binary(&layer.join("extensions/rollcall"), layer_arch[0]);
    for script in ["bootstrap", "rollcall-wrapper"] {
        let path = layer.join(script);
        assert_eq!(mode(&path), 0o755, "{script} is executable");
        let text = std::fs::read(&path).expect("layer script");
        assert!(
            text.starts_with(b"#!/bin/sh\n"),
            "{script} is a shell script"
        );
    }

    // The Rust function: its binary under the Handler's name and no `bootstrap`, so Lambda runs
    // the layer's /opt/bootstrap.
    let hello = resource(&source, "HelloFunction");
    let handler = str_at(hello, &["Properties", "Handler"]).expect("Handler");
    assert_eq!(files(&build.join("HelloFunction")), [handler]);
    assert_static_binary(
        &build.join("HelloFunction").join(handler),
        &architecture(&source, "HelloFunction"),
    );

    // The Python function: its module, nothing else.
    let python = resource(&source, "HelloPythonFunction");
    let handler = str_at(python, &["Properties", "Handler"]).expect("Handler");
    let module = format!("{}.py", handler.split_once('.').expect("module.function").0);
    assert_eq!(files(&build.join("HelloPythonFunction")), [module.as_str()]);

    // A second build reuses cargo's: each Makefile target, run again, compiles nothing (the
    // layer's and the function's builds must not invalidate each other's dependencies in the
    // shared target/).
    for target in ["build-RollcallLayer", "build-HelloFunction"] {
        let artifacts = scratch.path().join(target);
        std::fs::create_dir_all(&artifacts).expect("artifacts dir");
        let out = Command::new("make")
            .arg(target)
            .arg(format!("ARTIFACTS_DIR={}", artifacts.display()))
            .current_dir(&root)
            .env("CARGO_NET_OFFLINE", "true")
            .output()
            .unwrap_or_else(|e| panic!("cannot run make: {e}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "make {target} failed:\n{stderr}");
        let compiled: Vec<&str> = stderr
            .lines()
            .filter(|l| l.trim_start().starts_with("Compiling "))
            .collect();
        assert!(
            compiled.is_empty(),
            "make {target} after sam build recompiled {} crates (the builds thrash target/): {:?}",
            compiled.len(),
            &compiled[..compiled.len().min(5)]
        );
    }

    // The built template points each resource at its built directory.
    for (id, key) in [
        ("RollcallLayer", "ContentUri"),
        ("HelloFunction", "CodeUri"),
        ("HelloPythonFunction", "CodeUri"),
    ] {
        assert_eq!(
            str_at(resource(&built, id), &["Properties", key]),
            Some(id),
            "{id}.{key} in the built template"
        );
    }
}
