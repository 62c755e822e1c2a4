//! The fixture spec (`tests/fixtures/spec/lab.yaml`, the README's example) made runnable: its
//! paths filled in a temporary directory with real code: `hello` (built once) as `bootstrap`
//! of `code/hello` and inside `code/hello-v1.zip`, a layer dir, and the Python runtime-command
//! fixture as `echo` (the fixture's `/srv/echo` is moved there).

#![allow(dead_code)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The fixture's text.
pub fn fixture_text() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spec/lab.yaml"),
    )
    .unwrap()
}

/// Writes `root/spec/lab.yaml` (the fixture, `/srv/echo` moved to `root/echo`) and every path
/// it names; returns the spec file's path.
pub fn runnable_fixture(root: &Path) -> PathBuf {
    let hello = test_support::executable(&["hello"], "hello");
    let spec_dir = root.join("spec");
    let code = spec_dir.join("code/hello");
    std::fs::create_dir_all(&code).unwrap();
    std::fs::copy(&hello, code.join("bootstrap")).unwrap();
    write_zip(&spec_dir.join("code/hello-v1.zip"), &hello);
    let layer = root.join("layer");
    std::fs::create_dir_all(&layer).unwrap();
    std::fs::write(layer.join("from-the-layer.txt"), "rollcall layer\n").unwrap();
    let echo = root.join("echo");
    std::fs::create_dir_all(&echo).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runtime_command/runtime.py"),
        echo.join("runtime.py"),
    )
    .unwrap();
    let text = fixture_text();
    assert!(text.contains("/srv/echo"), "the fixture names /srv/echo");
    let text = text.replace("/srv/echo", &echo.display().to_string());
    let spec = spec_dir.join("lab.yaml");
    std::fs::write(&spec, text).unwrap();
    spec
}

/// A zip holding `binary` as an executable `bootstrap`.
fn write_zip(path: &Path, binary: &Path) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .unix_permissions(0o755);
    zip.start_file("bootstrap", options).unwrap();
    zip.write_all(&std::fs::read(binary).unwrap()).unwrap();
    zip.finish().unwrap();
    assert_eq!(
        std::fs::metadata(binary).unwrap().permissions().mode() & 0o111,
        0o111
    );
}

/// An HTTP API (payload 2.0) event for a direct Invoke of `hello`.
pub fn event(path: &str) -> String {
    serde_json::json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": {"host": "lab"}, "isBase64Encoded": false,
        "requestContext": {"http": {"method": "GET", "path": path, "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1", "userAgent": "test"}, "requestId": "r1", "routeKey": "$default",
            "stage": "$default", "timeEpoch": 0}
    })
    .to_string()
}
