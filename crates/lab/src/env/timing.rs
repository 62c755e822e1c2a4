//! Where an environment's cold start went, split between the lab's own work and the time its
//! processes took, logged at `RUST_LOG=lab::timing=debug` when an environment becomes Ready
//! (`bench/lab-coldstart.sh` reads it).
//!
//! The critical path of Init is: the lab binds the API server, picks ports and spawns the
//! extensions (*setup*) → the extensions start and register (*extensions*) → the lab notices
//! and spawns the runtime (*runtime_spawn*) → the runtime starts and everyone calls `next`
//! (*processes_to_next*) → the lab notices and declares the environment Ready (*ready*). The
//! lab's share is setup + runtime_spawn + ready (fork/exec included: the lab makes that call).

use std::time::{Duration, Instant};

/// Instants of one Init, filled in as it goes.
#[derive(Debug, Clone, Copy)]
pub struct InitMarks {
    /// `Environment::launch` was called.
    pub called: Instant,
    /// Every extension process was spawned.
    pub extensions_spawned: Option<Instant>,
    /// The last extension registered (handler time).
    pub last_register: Option<Instant>,
    /// The runtime process was spawned.
    pub runtime_spawned: Option<Instant>,
    /// The last of the runtime and extensions called `next` (handler time).
    pub last_next: Option<Instant>,
    /// The driver saw everyone ready.
    pub ready: Option<Instant>,
    /// Time spent inside process spawns (fork/exec), counted in setup and runtime spawn.
    pub spawning: Duration,
}

/// The split of a completed Init (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitBreakdown {
    /// Lab: API server, ports, extension spawns.
    pub setup: Duration,
    /// Processes: extensions starting up until the last one registered (zero without any).
    pub extensions: Duration,
    /// Lab: noticing the registrations and spawning the runtime.
    pub runtime_spawn: Duration,
    /// Processes: runtime start until the last `next` call.
    pub processes_to_next: Duration,
    /// Lab: noticing the last `next`.
    pub ready: Duration,
    /// Everything, `launch` to Ready.
    pub total: Duration,
    /// Of the lab's share, the time inside process spawns (the kernel's fork/exec).
    pub spawn: Duration,
}

impl InitBreakdown {
    /// The lab's own share: setup + runtime spawn + ready.
    pub fn lab(&self) -> Duration {
        self.setup + self.runtime_spawn + self.ready
    }
}

impl InitMarks {
    /// Marks starting now.
    pub fn start() -> Self {
        Self {
            called: Instant::now(),
            extensions_spawned: None,
            last_register: None,
            runtime_spawned: None,
            last_next: None,
            ready: None,
            spawning: Duration::ZERO,
        }
    }

    /// The breakdown, once every mark is in (`last_register` only with extensions).
    pub fn breakdown(&self) -> Option<InitBreakdown> {
        let spawned = self.extensions_spawned?;
        let runtime = self.runtime_spawned?;
        let ready = self.ready?;
        // Without extensions nothing registers: the runtime spawn follows the setup directly.
        let registered = self
            .last_register
            .unwrap_or(spawned)
            .clamp(spawned, runtime);
        let last_next = self.last_next?.clamp(runtime, ready);
        Some(InitBreakdown {
            setup: spawned - self.called,
            extensions: registered - spawned,
            runtime_spawn: runtime - registered,
            processes_to_next: last_next - runtime,
            ready: ready - last_next,
            total: ready - self.called,
            spawn: self.spawning,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marks(offsets_ms: [u64; 5], register: bool) -> InitMarks {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        InitMarks {
            called: t0,
            extensions_spawned: Some(at(offsets_ms[0])),
            last_register: register.then(|| at(offsets_ms[1])),
            runtime_spawned: Some(at(offsets_ms[2])),
            last_next: Some(at(offsets_ms[3])),
            ready: Some(at(offsets_ms[4])),
            spawning: Duration::from_millis(1),
        }
    }

    #[test]
    fn the_phases_add_up_to_the_total() {
        let b = marks([2, 30, 31, 60, 61], true).breakdown().unwrap();
        let ms = Duration::from_millis;
        assert_eq!(
            (
                b.setup,
                b.extensions,
                b.runtime_spawn,
                b.processes_to_next,
                b.ready
            ),
            (ms(2), ms(28), ms(1), ms(29), ms(1))
        );
        assert_eq!(b.total, ms(61));
        assert_eq!(b.lab(), ms(4));
        let sum = b.setup + b.extensions + b.runtime_spawn + b.processes_to_next + b.ready;
        assert_eq!(sum, b.total);
    }

    #[test]
    fn without_extensions_the_runtime_follows_the_setup() {
        let b = marks([1, 0, 2, 20, 21], false).breakdown().unwrap();
        assert_eq!(b.extensions, Duration::ZERO);
        assert_eq!(b.runtime_spawn, Duration::from_millis(1));
        assert_eq!(b.lab(), Duration::from_millis(3));
    }

    #[test]
    fn an_unfinished_init_has_no_breakdown() {
        let mut m = marks([1, 2, 3, 4, 5], true);
        m.ready = None;
        assert!(m.breakdown().is_none());
    }
}

#[cfg(test)]
#[path = "timing_tests.rs"]
mod environment_tests;
