//! The lifecycle of one execution environment as an explicit state machine.
//!
//! ```text
//! Init ──InitDone──▶ Ready ──InvokeStart──▶ Invoking ──InvokeEnd──▶ Ready ...
//!  │                   │                       │
//!  └─InitFailed──┐     └─Shutdown─┐            └─Reset (timeout, crash)─┐
//!                ▼                ▼                                     ▼
//!             ShuttingDown ◀──────┴─────────────────────────────────────┘
//!                │
//!                └─Exited──▶ Dead
//! ```
//! Only these transitions exist; anything else is a bug in the driver and is reported as
//! [`InvalidTransition`].

/// Where an environment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Extensions register, the runtime starts, everyone calls `next` (10 s limit).
    Init,
    /// Warm and idle: the runtime and every extension wait in `next`.
    Ready,
    /// One invocation is running (until the runtime and every INVOKE extension call `next`).
    Invoking,
    /// SHUTDOWN sent / processes being stopped.
    ShuttingDown,
    /// Every process is gone.
    Dead,
}

/// What happens to an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The runtime and every extension called `next` during Init.
    InitDone,
    /// Init failed (init error, crash, or Init timeout).
    InitFailed,
    /// An invocation was handed to the runtime.
    InvokeStart,
    /// The runtime and every INVOKE extension called `next` again.
    InvokeEnd,
    /// The invocation timed out or the runtime crashed: the environment is reset.
    Reset,
    /// Spin-down (idle timeout, pool shutdown).
    Shutdown,
    /// Every process of the environment has exited.
    Exited,
}

/// A transition that the lifecycle does not allow from the current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid lifecycle transition {transition:?} from state {from:?}")]
pub struct InvalidTransition {
    /// The state the environment was in.
    pub from: State,
    /// The transition that was attempted.
    pub transition: Transition,
}

impl State {
    /// The state after `transition`, or an error when the lifecycle does not allow it.
    pub fn next(self, transition: Transition) -> Result<State, InvalidTransition> {
        use State::*;
        use Transition::*;
        match (self, transition) {
            (Init, InitDone) => Ok(Ready),
            (Init, InitFailed) => Ok(ShuttingDown),
            (Ready, InvokeStart) => Ok(Invoking),
            (Invoking, InvokeEnd) => Ok(Ready),
            (Invoking, Reset) => Ok(ShuttingDown),
            (Init | Ready, Shutdown) => Ok(ShuttingDown),
            (ShuttingDown, Exited) => Ok(Dead),
            (from, transition) => Err(InvalidTransition { from, transition }),
        }
    }

    /// True when the environment can take an invocation.
    pub fn is_ready(self) -> bool {
        self == State::Ready
    }
}

#[cfg(test)]
mod tests {
    use super::State::*;
    use super::Transition::*;
    use super::*;

    #[test]
    fn init_done_makes_the_environment_ready() {
        assert_eq!(Init.next(InitDone), Ok(Ready));
    }

    #[test]
    fn init_failure_shuts_the_environment_down() {
        assert_eq!(Init.next(InitFailed), Ok(ShuttingDown));
    }

    #[test]
    fn invoke_start_moves_ready_to_invoking() {
        assert_eq!(Ready.next(InvokeStart), Ok(Invoking));
    }

    #[test]
    fn invoke_end_returns_to_ready() {
        assert_eq!(Invoking.next(InvokeEnd), Ok(Ready));
    }

    #[test]
    fn reset_during_an_invoke_shuts_down() {
        assert_eq!(Invoking.next(Reset), Ok(ShuttingDown));
    }

    #[test]
    fn spindown_from_ready_or_init_shuts_down() {
        assert_eq!(Ready.next(Shutdown), Ok(ShuttingDown));
        assert_eq!(Init.next(Shutdown), Ok(ShuttingDown));
    }

    #[test]
    fn exited_processes_make_the_environment_dead() {
        assert_eq!(ShuttingDown.next(Exited), Ok(Dead));
    }

    #[test]
    fn every_other_transition_is_rejected() {
        let states = [Init, Ready, Invoking, ShuttingDown, Dead];
        let transitions = [
            InitDone,
            InitFailed,
            InvokeStart,
            InvokeEnd,
            Reset,
            Shutdown,
            Exited,
        ];
        let allowed = 8;
        let mut ok = 0;
        for s in states {
            for t in transitions {
                match s.next(t) {
                    Ok(_) => ok += 1,
                    Err(e) => assert_eq!((e.from, e.transition), (s, t)),
                }
            }
        }
        assert_eq!(ok, allowed, "only the documented transitions are allowed");
        assert_eq!(
            Ready.next(InvokeEnd),
            Err(InvalidTransition {
                from: Ready,
                transition: InvokeEnd
            })
        );
        assert!(
            Dead.next(Shutdown).is_err(),
            "a dead environment cannot be shut down again"
        );
        assert!(
            Invoking.next(InvokeStart).is_err(),
            "one invocation at a time"
        );
    }

    #[test]
    fn only_ready_takes_invocations() {
        assert!(Ready.is_ready());
        assert!(
            !Init.is_ready()
                && !Invoking.is_ready()
                && !ShuttingDown.is_ready()
                && !Dead.is_ready()
        );
    }
}
