//! A precise async timer for the send path.
//!
//! Tokio's timers round to whole milliseconds, too coarse for slots 100 µs apart, and a timer
//! thread that hands each slot to the runtime costs a cross-thread wake-up per request. On Linux
//! a [`SlotTimer`] is a `timerfd` (`CLOCK_MONOTONIC`, the clock of [`Instant`], armed with an
//! absolute expiry, no timer slack) registered with the runtime's reactor: the thread that sends
//! the request is the one the timer wakes, in the same `epoll_wait` that delivers responses.
//! Elsewhere it falls back to Tokio's timer (millisecond resolution).

use std::time::Instant;

/// Wakes the current task at an instant, with microsecond precision on Linux.
#[derive(Debug)]
pub struct SlotTimer {
    inner: imp::Timer,
}

impl SlotTimer {
    /// A new timer. It registers with the runtime of the task that first sleeps on it.
    pub fn new() -> std::io::Result<Self> {
        Ok(SlotTimer {
            inner: imp::Timer::new()?,
        })
    }

    /// Returns at `at` or shortly after (never before).
    pub async fn sleep_until(&mut self, at: Instant) {
        if Instant::now() >= at {
            return;
        }
        self.inner.sleep_until(at).await;
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod imp {
    use std::os::fd::{AsFd, AsRawFd, RawFd};
    use std::time::{Duration, Instant};

    use nix::sys::time::TimeSpec;
    use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
    use tokio::io::Interest;
    use tokio::io::unix::AsyncFd;

    /// `AsyncFd` wants `AsRawFd`; nix's `TimerFd` offers `AsFd`.
    #[derive(Debug)]
    struct Fd(TimerFd);

    impl AsRawFd for Fd {
        fn as_raw_fd(&self) -> RawFd {
            self.0.as_fd().as_raw_fd()
        }
    }

    /// Registers the timer with the current runtime's reactor.
    #[allow(unsafe_code)]
    fn register(fd: Fd) -> std::io::Result<AsyncFd<Fd>> {
        // SAFETY: `Fd` owns its `TimerFd`, which owns the descriptor (an `OwnedFd`): it stays
        // open, and `as_raw_fd` returns that same descriptor, until the `AsyncFd` is dropped.
        let registered = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) };
        Ok(registered?)
    }

    #[derive(Debug)]
    enum State {
        /// Created, not yet registered with a runtime.
        Idle(Fd),
        /// Registered with the runtime of the task that sleeps on it.
        Registered(AsyncFd<Fd>),
        /// Registration failed (logged once): Tokio's timer instead.
        Coarse,
    }

    #[derive(Debug)]
    pub struct Timer {
        state: State,
        /// An instant and the `CLOCK_MONOTONIC` reading taken with it, to turn instants into
        /// absolute expiries.
        origin: (Instant, Duration),
    }

    impl Timer {
        pub fn new() -> std::io::Result<Self> {
            let fd = TimerFd::new(
                ClockId::CLOCK_MONOTONIC,
                TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
            )?;
            let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)?;
            Ok(Timer {
                state: State::Idle(Fd(fd)),
                origin: (Instant::now(), Duration::from(now)),
            })
        }

        pub async fn sleep_until(&mut self, at: Instant) {
            self.state = match std::mem::replace(&mut self.state, State::Coarse) {
                State::Idle(fd) => match register(fd) {
                    Ok(registered) => State::Registered(registered),
                    Err(e) => {
                        tracing::warn!(error = %e, "precise timer unavailable: slots are paced to the millisecond");
                        State::Coarse
                    }
                },
                registered_or_coarse => registered_or_coarse,
            };
            let State::Registered(fd) = &self.state else {
                tokio::time::sleep_until(at.into()).await;
                return;
            };
            // Instant is CLOCK_MONOTONIC on Linux: the expiry is the origin's reading plus the
            // distance from the origin.
            let expiry = self.origin.1 + at.saturating_duration_since(self.origin.0);
            let armed = fd.get_ref().0.set(
                Expiration::OneShot(TimeSpec::from_duration(expiry)),
                TimerSetTimeFlags::TFD_TIMER_ABSTIME,
            );
            if let Err(e) = armed {
                tracing::debug!(error = %e, "timerfd_settime failed");
                tokio::time::sleep_until(at.into()).await;
                return;
            }
            // Re-arming resets the expiration count, so the fd is only readable once this expiry
            // has passed; the check against the clock keeps a stale readiness from waking early.
            while Instant::now() < at {
                match fd.readable().await {
                    Ok(mut guard) => guard.clear_ready(),
                    Err(e) => {
                        tracing::debug!(error = %e, "timerfd readiness failed");
                        tokio::time::sleep_until(at.into()).await;
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod imp {
    use std::time::Instant;

    #[derive(Debug)]
    pub struct Timer;

    impl Timer {
        pub fn new() -> std::io::Result<Self> {
            Ok(Timer)
        }

        pub async fn sleep_until(&mut self, at: Instant) {
            tokio::time::sleep_until(at.into()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "current_thread")]
    async fn wakes_at_the_instant_not_before_and_not_a_millisecond_late() {
        let mut timer = SlotTimer::new().unwrap();
        let mut lags = Vec::new();
        let start = Instant::now();
        for i in 1..=200u32 {
            // 250 µs apart: finer than Tokio's millisecond wheel can express.
            let at = start + Duration::from_micros(250) * i;
            timer.sleep_until(at).await;
            let now = Instant::now();
            assert!(now >= at, "woke {:?} early", at - now);
            lags.push(now - at);
        }
        lags.sort();
        // On Linux the timerfd keeps the median lag well under Tokio's 1 ms granularity (a
        // loaded host delays some wake-ups, so only the median is held to it).
        if cfg!(target_os = "linux") {
            assert!(
                lags[lags.len() / 2] < Duration::from_micros(500),
                "median lag {:?}",
                lags[lags.len() / 2]
            );
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_instant_already_past_returns_at_once() {
        let mut timer = SlotTimer::new().unwrap();
        let past = Instant::now();
        timer.sleep_until(past).await;
        timer
            .sleep_until(Instant::now() + Duration::from_micros(100))
            .await;
        timer.sleep_until(past).await;
    }
}
