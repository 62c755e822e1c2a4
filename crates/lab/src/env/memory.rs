//! `Max Memory Used` of an environment's process tree, cheap enough for every invocation.
//!
//! Finding the members of a process group means reading `/proc/<pid>/stat` of every process on
//! the host: hundreds of µs on a busy machine, far too much per invocation (it was the lab's
//! largest cost under load). A [`ProcTable`] keeps the `(pid, group)` list of one scan and
//! rescans at most every `max_age`, shared by all environments (the lab's own table is
//! [`ProcTable::shared`]); per invocation only the members' own `/proc/<pid>/status` is read.
//! The group leaders are always read, so what a stale table can miss is a process forked less
//! than `max_age` ago.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::process::{peak_rss_kb, process_groups};

/// How old the shared table may get before the next lookup rescans `/proc`.
pub const MEMBER_RESCAN: Duration = Duration::from_secs(1);

/// A rate-limited snapshot of `(pid, process group)` of the host's live processes.
#[derive(Debug)]
pub struct ProcTable {
    max_age: Duration,
    state: Mutex<Snapshot>,
}

#[derive(Debug, Default)]
struct Snapshot {
    at: Option<Instant>,
    entries: Vec<(i32, i32)>,
    scans: u64,
}

impl ProcTable {
    /// A table rescanning when its snapshot is older than `max_age` (zero: every lookup).
    pub fn new(max_age: Duration) -> Self {
        Self {
            max_age,
            state: Mutex::new(Snapshot::default()),
        }
    }

    /// The lab's table ([`MEMBER_RESCAN`]).
    pub fn shared() -> &'static ProcTable {
        static SHARED: OnceLock<ProcTable> = OnceLock::new();
        SHARED.get_or_init(|| ProcTable::new(MEMBER_RESCAN))
    }

    /// Live processes in `groups` per the snapshot (rescanned first when stale), plus each
    /// group leader in `groups` (its pid is its group id) whether or not the snapshot has it.
    pub fn members(&self, groups: &[i32]) -> Vec<i32> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.at.is_none_or(|t| t.elapsed() >= self.max_age) {
            st.entries = process_groups();
            st.at = Some(Instant::now());
            st.scans += 1;
        }
        let mut members: Vec<i32> = st
            .entries
            .iter()
            .filter(|(_, g)| groups.contains(g))
            .map(|(pid, _)| *pid)
            .collect();
        drop(st);
        for g in groups {
            if !members.contains(g) {
                members.push(*g);
            }
        }
        members
    }

    /// Peak memory of the process tree of `groups` in MB: the sum of every member's `VmHWM`,
    /// rounded up, at least 1 (exited members count 0).
    pub fn max_memory_used_mb(&self, groups: &[i32]) -> u64 {
        let kb: u64 = self
            .members(groups)
            .into_iter()
            .filter_map(peak_rss_kb)
            .sum();
        kb.div_ceil(1024).max(1)
    }

    /// Scans of `/proc` done so far.
    pub fn scans(&self) -> u64 {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).scans
    }
}

/// How long an environment reuses its last `Max Memory Used` reading.
pub const MEMORY_REFRESH: Duration = Duration::from_millis(100);

/// One environment's `Max Memory Used`, read from `/proc` at most every `refresh` (reading a
/// process's `status` costs ~10 µs, a tenth of the lab's work per invocation under load).
/// `VmHWM` is a high-water mark, so a reused reading can only lag a peak reached less than
/// `refresh` ago.
#[derive(Debug)]
pub struct MemoryGauge {
    refresh: Duration,
    last: Option<(Instant, u64)>,
}

impl MemoryGauge {
    /// A gauge reusing a reading for `refresh`.
    pub fn new(refresh: Duration) -> Self {
        Self {
            refresh,
            last: None,
        }
    }

    /// `Max Memory Used` in MB of the process tree of `groups`, per `table`.
    pub fn max_memory_used_mb(&mut self, table: &ProcTable, groups: &[i32]) -> u64 {
        match self.last {
            Some((at, mb)) if at.elapsed() < self.refresh => mb,
            _ => {
                let mb = table.max_memory_used_mb(groups);
                self.last = Some((Instant::now(), mb));
                mb
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::process::{group_members, parse_state_pgrp};
    use std::os::unix::process::CommandExt;

    fn own_group() -> i32 {
        let me = std::process::id() as i32;
        let stat = std::fs::read_to_string(format!("/proc/{me}/stat")).unwrap();
        parse_state_pgrp(&stat).unwrap().1
    }

    #[test]
    fn a_fresh_table_is_reused_and_matches_a_full_scan() {
        let group = own_group();
        let table = ProcTable::new(Duration::from_secs(3600));
        let mut first = table.members(&[group]);
        assert_eq!(table.scans(), 1);
        let mut again = table.members(&[group]);
        assert_eq!(table.scans(), 1, "no rescan while fresh");
        first.sort_unstable();
        again.sort_unstable();
        assert_eq!(first, again);
        assert!(first.contains(&(std::process::id() as i32)));
        // the snapshot holds what a direct scan sees (the test's own process at least)
        let direct = group_members(&[group]);
        assert!(direct.iter().all(|p| first.contains(p) || !pid_alive(*p)));
        assert!(table.max_memory_used_mb(&[group]) >= 1);
    }

    #[test]
    fn a_stale_table_rescans() {
        let table = ProcTable::new(Duration::ZERO);
        table.members(&[own_group()]);
        table.members(&[own_group()]);
        assert_eq!(table.scans(), 2);
    }

    #[test]
    fn leaders_count_even_when_missing_from_the_snapshot() {
        // a process started after the scan: its group (= its pid) is not in the snapshot
        let table = ProcTable::new(Duration::from_secs(3600));
        table.members(&[own_group()]);
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let members = table.members(&[pid]);
        assert_eq!(table.scans(), 1);
        assert_eq!(members, [pid]);
        assert!(table.max_memory_used_mb(&[pid]) >= 1);
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn a_gauge_reuses_its_reading_only_while_fresh() {
        let group = own_group();
        let table = ProcTable::new(Duration::ZERO);
        let mut gauge = MemoryGauge::new(Duration::from_secs(3600));
        let first = gauge.max_memory_used_mb(&table, &[group]);
        assert!(first >= 1);
        assert_eq!(gauge.max_memory_used_mb(&table, &[group]), first);
        assert_eq!(table.scans(), 1, "a fresh reading touches no /proc file");
        let mut eager = MemoryGauge::new(Duration::ZERO);
        eager.max_memory_used_mb(&table, &[group]);
        eager.max_memory_used_mb(&table, &[group]);
        assert_eq!(table.scans(), 3, "a zero refresh reads every time");
    }

    fn pid_alive(pid: i32) -> bool {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    }
}
