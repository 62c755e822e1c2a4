//! The arm64 layer's extension (`make layer-zip LAYER_ARCH=arm64`), run under qemu-user in the
//! lab next to an x86-64 `hello`: the Graviton build starts, registers, proxies, tags and counts
//! like the x86-64 one. (The lab starts `/opt/extensions/rollcall`; here that is a two-line
//! script that execs the real arm64 binary through `qemu-aarch64-static`.)

mod support;

use std::path::{Path, PathBuf};

use support::*;

const REQUESTS: usize = 10;

fn qemu() -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join("qemu-aarch64-static"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("qemu-aarch64-static not found: apt-get install qemu-user-static")
        })
}

#[tokio::test]
#[ignore = "needs `make layer-zip LAYER_ARCH=arm64` and qemu-user-static; CI runs it with --run-ignored"]
async fn the_arm64_extension_tags_and_counts_under_qemu() {
    let binary =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../out/layer-arm64/extensions/rollcall");
    assert!(
        binary.is_file(),
        "{} missing: run `make layer-zip LAYER_ARCH=arm64`",
        binary.display()
    );
    let binary = binary.canonicalize().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let layer = scripts_only_layer(dir.path());
    write_exe(
        &layer.join("extensions/rollcall"),
        &format!(
            "#!/bin/sh\nexec '{}' '{}'\n",
            qemu().display(),
            binary.display()
        ),
    );
    let code = code_dir(dir.path(), "code", &function_binary("hello"), "hello");
    let version = format!("1={}", code.display());
    let layer_arg = layer.display().to_string();
    let lab = start_lab(&[
        "--version",
        &version,
        "--handler",
        "hello",
        "--layer",
        &layer_arg,
        "--env",
        "ROLLCALL_FLUSH_INTERVAL=1h",
    ])
    .await;
    for i in 0..REQUESTS {
        let reply = send(lab.api.local_addr(), "GET", "/hello", b"").await;
        assert_eq!(reply.status, 200, "request {i}");
        assert_eq!(
            reply.header(VERSION_HEADER),
            Some("1"),
            "request {i} is tagged"
        );
    }
    let logs = lab.pools["1"].logs();
    lab.shutdown().await;
    let events = registered_events(&logs);
    assert!(
        !events.is_empty() && events.iter().all(|e| e == "[SHUTDOWN]"),
        "{events:?}"
    );
    assert_eq!(
        total(&emf_documents(&logs), "Invocations"),
        REQUESTS as u64,
        "the arm64 extension counted every invocation"
    );
}
