//! The layer's scripts, run as real processes with `/bin/sh`, and the layer zip's layout.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn layer_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("layer")
}

fn write_exe(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Runs `script args...` with only the given variables (plus PATH).
fn run(script: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(script);
    cmd.args(args).env_clear().env("PATH", "/usr/bin:/bin");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

const PRINT_API: &str = r#"echo "$AWS_LAMBDA_RUNTIME_API|$ROLLCALL_UPSTREAM_RUNTIME_API""#;

fn wrapper_sees(tmp: &Path, port: &str) -> String {
    let out = run(
        &layer_src().join("rollcall-wrapper"),
        &["/bin/sh", "-c", PRINT_API],
        &[
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
            ("ROLLCALL_PROXY_PORT", port),
            ("TMPDIR", tmp.to_str().unwrap()),
        ],
    );
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn dead_pid() -> u32 {
    let mut child = Command::new("/bin/true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn the_wrapper_redirects_only_to_a_live_proxy() {
    let tmp = tempfile::tempdir().unwrap();
    let ready = tmp.path().join("rollcall-proxy-45678.ready");
    let direct = "127.0.0.1:9001|";

    assert_eq!(
        wrapper_sees(tmp.path(), "45678"),
        direct,
        "no ready file: fail open"
    );

    std::fs::write(&ready, format!("{}\n", std::process::id())).unwrap();
    assert_eq!(
        wrapper_sees(tmp.path(), "45678"),
        "127.0.0.1:45678|127.0.0.1:9001",
        "live proxy: redirected, original kept"
    );
    assert_eq!(
        wrapper_sees(tmp.path(), "45679"),
        direct,
        "another port's file does not count"
    );
    assert_eq!(
        wrapper_sees(tmp.path(), "abc"),
        direct,
        "a bad port: fail open"
    );

    std::fs::write(&ready, format!("{}\n", dead_pid())).unwrap();
    assert_eq!(
        wrapper_sees(tmp.path(), "45678"),
        direct,
        "stale file of a dead extension"
    );

    std::fs::write(&ready, "garbage; rm -rf /\n").unwrap();
    assert_eq!(
        wrapper_sees(tmp.path(), "45678"),
        direct,
        "garbage in the file"
    );
}

#[test]
fn the_wrapper_defaults_to_port_9009_and_passes_arguments_through() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("rollcall-proxy-9009.ready"),
        format!("{}\n", std::process::id()),
    )
    .unwrap();
    let out = run(
        &layer_src().join("rollcall-wrapper"),
        &[
            "/bin/sh",
            "-c",
            r#"echo "$AWS_LAMBDA_RUNTIME_API $0 $1""#,
            "a b",
            "c",
        ],
        &[
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
            ("TMPDIR", tmp.path().to_str().unwrap()),
        ],
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "127.0.0.1:9009 a b c\n"
    );
}

#[test]
fn the_wrapper_without_a_command_says_how_to_use_it() {
    let out = run(&layer_src().join("rollcall-wrapper"), &[], &[]);
    assert_eq!(out.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AWS_LAMBDA_EXEC_WRAPPER"));
}

#[test]
fn bootstrap_runs_the_handler_binary_through_the_wrapper() {
    let tmp = tempfile::tempdir().unwrap();
    // The layer as Lambda extracts it.
    let opt = tmp.path().join("opt");
    for name in ["bootstrap", "rollcall-wrapper"] {
        let dest = opt.join(name);
        std::fs::create_dir_all(&opt).unwrap();
        std::fs::copy(layer_src().join(name), &dest).unwrap();
    }
    let task = tmp.path().join("task");
    write_exe(
        &task.join("my-fn"),
        &format!("#!/bin/sh\n{PRINT_API}\necho \"args:$#\"\n"),
    );
    std::fs::write(
        tmp.path().join("rollcall-proxy-9123.ready"),
        format!("{}\n", std::process::id()),
    )
    .unwrap();
    let vars = [
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ("ROLLCALL_PROXY_PORT", "9123"),
        ("TMPDIR", tmp.path().to_str().unwrap()),
        ("LAMBDA_TASK_ROOT", task.to_str().unwrap()),
        ("_HANDLER", "my-fn"),
    ];
    let out = run(&opt.join("bootstrap"), &[], &vars);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "127.0.0.1:9123|127.0.0.1:9001\nargs:0\n"
    );

    let mut missing = vars;
    missing[4] = ("_HANDLER", "nope");
    let out = run(&opt.join("bootstrap"), &[], &missing);
    assert_eq!(out.status.code(), Some(127));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/task/nope") && err.contains("Handler"),
        "{err}"
    );
}

#[test]
fn the_scripts_are_executable_posix_shell() {
    for name in ["bootstrap", "rollcall-wrapper"] {
        let path = layer_src().join(name);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755, "{name}");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("#!/bin/sh\n"), "{name}");
        // dash is stricter than bash: a syntax check catches bashisms that break there.
        let check = Command::new("sh").arg("-n").arg(&path).status().unwrap();
        assert!(check.success(), "{name}");
    }
}

/// ELF `e_machine` of x86-64 and of AArch64.
const EM_X86_64: u16 = 0x3e;
const EM_AARCH64: u16 = 0xb7;

/// The layer zip built by `make layer-zip` (release build with cargo-lambda, minutes):
/// `extensions/rollcall` (static ELF for the layer's architecture), `rollcall-wrapper`,
/// `bootstrap`, all 0755, under 3 MB.
#[test]
#[ignore = "needs `make layer-zip` first (a release build with cargo-lambda); CI runs it with --ignored"]
fn the_layer_zip_has_the_layout_lambda_expects() {
    let zip = std::env::var("ROLLCALL_LAYER_ZIP")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../out/rollcall-layer.zip")
        });
    check_layer_zip(&zip, EM_X86_64, "make layer-zip");
}

/// The same for Graviton functions: `make layer-zip LAYER_ARCH=arm64`.
#[test]
#[ignore = "needs `make layer-zip LAYER_ARCH=arm64` first; CI runs it with --ignored"]
fn the_arm64_layer_zip_has_the_same_layout_and_an_aarch64_binary() {
    let zip = Path::new(env!("CARGO_MANIFEST_DIR")).join("../out/rollcall-layer-arm64.zip");
    check_layer_zip(&zip, EM_AARCH64, "make layer-zip LAYER_ARCH=arm64");
}

fn check_layer_zip(zip: &Path, machine: u16, build: &str) {
    assert!(zip.is_file(), "{} missing: run `{build}`", zip.display());
    let size = std::fs::metadata(zip).unwrap().len();
    assert!(
        size < 3 * 1024 * 1024,
        "layer zip is {size} bytes; the budget is 3 MB"
    );

    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("unzip")
        .arg("-q")
        .arg(zip)
        .arg("-d")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let mut files: Vec<String> = Vec::new();
    collect(dir.path(), dir.path(), &mut files);
    files.sort();
    assert_eq!(
        files,
        ["bootstrap", "extensions/rollcall", "rollcall-wrapper"]
    );
    for f in &files {
        let mode = std::fs::metadata(dir.path().join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755, "{f}");
    }
    let bin = std::fs::read(dir.path().join("extensions/rollcall")).unwrap();
    assert_eq!(&bin[..4], b"\x7fELF");
    assert_eq!(
        u16::from_le_bytes([bin[18], bin[19]]),
        machine,
        "the extension is built for the layer's architecture"
    );
    assert!(
        !bin.windows(b"ld-linux".len()).any(|w| w == b"ld-linux"),
        "the extension must be static (no dynamic loader)"
    );
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(root, &path, out);
        } else {
            out.push(
                path.strip_prefix(root)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned(),
            );
        }
    }
}
