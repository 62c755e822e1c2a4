//! Child processes that must not outlive their test: SIGTERM first (so that they stop their
//! own children and write what they write on a signal), SIGKILL after a grace period.

use std::process::Child;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How long a child gets between SIGTERM and SIGKILL.
pub const GRACE: Duration = Duration::from_secs(20);

/// Sends SIGTERM to `child` (nothing when it has already been reaped).
pub fn sigterm(child: &Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
}

/// Stops `child`: SIGTERM, then SIGKILL if it has not ended within [`GRACE`]; reaps it.
pub fn terminate(child: &mut Child) {
    sigterm(child);
    let deadline = Instant::now() + GRACE;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}
