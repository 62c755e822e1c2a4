//! The processes of an execution environment: each started in its own process group, its
//! stdout/stderr read line by line, its exit watched; killing signals the whole group so that
//! nothing it forked survives. Memory figures come from `/proc`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::watch;

/// Called with every line a process writes (stdout and stderr alike).
pub type LineHandler = Arc<dyn Fn(String) + Send + Sync>;

/// A started process (the leader of its own process group).
#[derive(Debug)]
pub struct ManagedProcess {
    name: String,
    pid: i32,
    exit: watch::Receiver<Option<Exit>>,
}

/// How and when a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    /// Its exit status.
    pub status: ExitStatus,
    /// When the lab reaped it (orders failures: the first process to die is the cause).
    pub at: Instant,
}

impl ManagedProcess {
    /// Starts `command[0]` with `command[1..]` as arguments, a clean environment `env`, working
    /// directory `cwd`, in a new process group; `on_line` gets its output, `on_exit` runs once
    /// when it exits.
    pub fn spawn(
        name: &str,
        command: &[PathBuf],
        env: &BTreeMap<String, String>,
        cwd: &Path,
        on_line: LineHandler,
        on_exit: Arc<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<Self> {
        let (program, args) = command
            .split_first()
            .ok_or_else(|| std::io::Error::other("empty command"))?;
        let mut child = Command::new(program)
            .args(args)
            .env_clear()
            .envs(env)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()?;
        let pid = child
            .id()
            .map(|p| p as i32)
            .ok_or_else(|| std::io::Error::other("no pid"))?;
        // The pumps end at EOF, the waiter when the child is reaped: no handles needed.
        if let Some(out) = child.stdout.take() {
            tokio::spawn(pump(out, on_line.clone()));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(pump(err, on_line));
        }
        let (tx, exit) = watch::channel(None);
        tokio::spawn(async move {
            let status = child.wait().await;
            let at = Instant::now();
            let _ = tx.send(status.ok().map(|status| Exit { status, at }));
            on_exit();
        });
        Ok(Self {
            name: name.to_string(),
            pid,
            exit,
        })
    }

    /// The executable's name (the extension name, or `runtime`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Process id, also the process group id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The exit status once the process has exited.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.exit().map(|e| e.status)
    }

    /// How and when the process ended, once it has.
    pub fn exit(&self) -> Option<Exit> {
        *self.exit.borrow()
    }

    /// Waits until the process has exited.
    pub async fn exited(&self) {
        let mut rx = self.exit.clone();
        let _ = rx.wait_for(Option::is_some).await;
    }

    /// Sends `signal` to the whole process group (errors ignored: the group may be gone).
    pub fn signal_group(&self, signal: Signal) {
        let _ = killpg(Pid::from_raw(self.pid), signal);
    }

    /// SIGTERM to the group, then SIGKILL after `grace` if the leader is still running; waits
    /// for the leader to be reaped.
    pub async fn stop(&self, grace: Duration) {
        if self.exit_status().is_none() && !grace.is_zero() {
            self.signal_group(Signal::SIGTERM);
            let _ = tokio::time::timeout(grace, self.exited()).await;
        }
        self.signal_group(Signal::SIGKILL);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.exited()).await;
        // Signals are asynchronous: wait (bounded) until nothing of the group is left running,
        // so that "shut down" means gone, forked grandchildren included.
        let end = tokio::time::Instant::now() + Duration::from_secs(2);
        while !group_members(&[self.pid]).is_empty() && tokio::time::Instant::now() < end {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        self.signal_group(Signal::SIGKILL);
        // The wait task keeps running until the child is reaped; the pumps end at EOF.
    }
}

async fn pump(stream: impl AsyncRead + Unpin, on_line: LineHandler) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                while matches!(buf.last(), Some(b'\n' | b'\r')) {
                    buf.pop();
                }
                on_line(String::from_utf8_lossy(&buf).into_owned());
            }
        }
    }
}

/// Every live process whose process group is one of `groups` (read from `/proc/<pid>/stat`);
/// zombies (exited, waiting to be reaped by their parent) do not count. Scans all of `/proc`.
pub fn group_members(groups: &[i32]) -> Vec<i32> {
    process_groups()
        .into_iter()
        .filter(|(_, g)| groups.contains(g))
        .map(|(pid, _)| pid)
        .collect()
}

/// `(pid, process group)` of every live (not zombie) process, from one scan of `/proc`.
pub fn process_groups() -> Vec<(i32, i32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut buf = Vec::with_capacity(1024);
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            read_proc(&format!("/proc/{pid}/stat"), &mut buf).ok()?;
            let stat = std::str::from_utf8(&buf).ok()?;
            let (state, g) = parse_state_pgrp(stat)?;
            (state != 'Z').then_some((pid, g))
        })
        .collect()
}

/// Reads a `/proc` file into `buf` (cleared first) with plain `read`s: no `statx` size probe
/// and no tiny first read, which `std::fs::read` spends on files that report size 0.
pub fn read_proc(path: &str, buf: &mut Vec<u8>) -> std::io::Result<()> {
    use std::io::Read;
    buf.clear();
    let mut f = std::fs::File::open(path)?;
    let mut chunk = [0u8; 4096];
    loop {
        match f.read(&mut chunk)? {
            0 => return Ok(()),
            n => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The state (field 3) and process group (field 5) of a `/proc/<pid>/stat` line; the command
/// name may contain spaces and parentheses, so parsing starts after the last `)`.
pub fn parse_state_pgrp(stat: &str) -> Option<(char, i32)> {
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = fields.next()?.chars().next()?;
    let pgrp = fields.nth(1)?.parse().ok()?;
    Some((state, pgrp))
}

/// Peak resident set size (`VmHWM`) of one process in kB.
pub fn peak_rss_kb(pid: i32) -> Option<u64> {
    let mut buf = Vec::with_capacity(4096);
    read_proc(&format!("/proc/{pid}/status"), &mut buf).ok()?;
    parse_status_kb(std::str::from_utf8(&buf).ok()?, "VmHWM:")
}

/// A `kB` field of `/proc/<pid>/status`.
pub fn parse_status_kb(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Peak memory of the process tree in MB (sum of every member's `VmHWM`, rounded up; at least 1).
/// Scans all of `/proc`: use [`super::memory::ProcTable`] on hot paths.
pub fn max_memory_used_mb(groups: &[i32]) -> u64 {
    let kb: u64 = group_members(groups)
        .into_iter()
        .filter_map(peak_rss_kb)
        .sum();
    kb.div_ceil(1024).max(1)
}

/// Picks a free loopback port by binding port 0 and releasing it (see the race note in `config`).
pub fn free_loopback_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgrp_is_read_after_the_command_name() {
        let stat = "1234 (my (odd) name) S 1 4321 4321 0 -1";
        assert_eq!(parse_state_pgrp(stat), Some(('S', 4321)));
        assert_eq!(parse_state_pgrp("9 (z) Z 1 77 77"), Some(('Z', 77)));
        assert_eq!(parse_state_pgrp("garbage"), None);
    }

    #[test]
    fn status_fields_are_parsed_in_kb() {
        let status = "Name:\tx\nVmHWM:\t   2048 kB\nVmRSS:\t 1024 kB\n";
        assert_eq!(parse_status_kb(status, "VmHWM:"), Some(2048));
        assert_eq!(parse_status_kb(status, "VmSwap:"), None);
    }

    #[test]
    fn own_process_is_found_in_its_group_and_has_memory() {
        let me = std::process::id() as i32;
        let stat = std::fs::read_to_string(format!("/proc/{me}/stat")).unwrap();
        let (_, group) = parse_state_pgrp(&stat).unwrap();
        assert!(group_members(&[group]).contains(&me));
        assert!(peak_rss_kb(me).unwrap() > 0);
        assert!(max_memory_used_mb(&[group]) >= 1);
    }
}
