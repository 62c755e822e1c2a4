//! `rollcall-lab serve` at its file-descriptor limit (`ulimit -n` lowered in the shell that
//! starts it) with more connections pending than it can accept: the accept loop backs off and
//! warns about it at most once a second, instead of spinning and logging every failed `accept`.
//! (CPU and log volume over 25 s are measured by `bench/lab-fd-limit.sh`.)

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Kills the lab when the test ends, however it ends.
struct Lab(Child);

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn at_the_fd_limit_accept_failures_are_warned_about_at_most_once_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let code = dir.path().join("v1");
    std::fs::create_dir_all(&code).unwrap();
    let bootstrap = code.join("bootstrap");
    std::fs::write(&bootstrap, "#!/bin/sh\nexec sleep 600\n").unwrap();
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 40 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_rollcall-lab"))
        .args([
            "serve",
            "--function",
            "f",
            "--api-port",
            "0",
            "--lambda-port",
            "0",
        ])
        .arg("--version")
        .arg(format!("1={}", code.display()))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let _lab = Lab(child);

    let url = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("API front door:")
                .map(|u| u.trim().to_string())
        })
        .expect("the lab prints its front door");
    let addr = url.trim_start_matches("http://").trim_end_matches('/');

    let warnings = Arc::new(AtomicU64::new(0));
    let counted = warnings.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("accept failed") {
                counted.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    // Far more connections than 40 descriptors allow: the rest wait in the listen backlog,
    // so every `accept` fails with EMFILE until a descriptor frees up.
    let connections: Vec<TcpStream> = (0..120)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    // The observation window: the old loop logged thousands of warnings in it.
    let window = Duration::from_secs(3);
    std::thread::sleep(window);
    let seen = warnings.load(Ordering::Relaxed);
    assert!(seen >= 1, "the lab never hit its descriptor limit");
    assert!(
        // one a second, plus the first and slack for the time the connections took to open
        seen <= window.as_secs() + 2,
        "{seen} 'accept failed' warnings in {window:?}: at most one a second"
    );
    drop(connections);
}
