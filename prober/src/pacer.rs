//! The open-loop pacer: a dedicated thread that issues slot `i` at `t0 + i/rps`.
//!
//! Tokio's timers have a 1 ms granularity, too coarse for 1 k–10 k requests per second, so the
//! pacer is a plain thread sleeping with `std::thread::sleep` (nanosecond resolution, ~50 µs of
//! timer slack on Linux) until each slot's instant. When it wakes late it issues every slot that
//! is due at once, each with its own intended instant, so the schedule never drifts. Tickets go to
//! the workers through a bounded MPMC channel; when the channel is full (every worker busy, the
//! queue full) the pacer waits, and the tickets it issues afterwards still carry their original
//! intended instants: they are sent late and counted late, never dropped. Slots still unissued
//! when the run's time is up are reported as planned but not sent.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One request slot.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    /// Slot number, from 0.
    pub index: u64,
    /// When the request should be sent: `t0 + index / rps`.
    pub intended: Instant,
}

/// Longest single sleep, so that a stop request is noticed promptly even at very low rates.
const MAX_SLEEP: Duration = Duration::from_millis(50);
/// Pause while the channel is full. Polling (rather than blocking on the channel) spares a
/// futex wake-up per request when the target is saturated: the pacer refills the channel in
/// bursts instead of one ticket per freed slot.
const FULL_PAUSE: Duration = Duration::from_micros(100);
/// Slack after the run's end: a slot due before the end may still be issued, and a queued ticket
/// picked up by a worker, this long after it (so that scheduling noise on a loaded host does not
/// cost the last slots). Tickets still queued after that are taken back.
pub const END_GRACE: Duration = Duration::from_millis(50);

/// The pacing plan.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Instant of slot 0.
    pub t0: Instant,
    /// Slots per second.
    pub rps: f64,
    /// Number of slots to issue (the run limit times the rate, rounded up).
    pub slots: u64,
    /// No slot is issued after `t0 + limit`, even if the plan is behind (the target is
    /// saturated): the slots left are reported as planned but not sent.
    pub limit: Duration,
}

impl Plan {
    /// The plan for `limit` of running at `rps` from `t0`: the slots `i` with `i / rps < limit`.
    pub fn new(t0: Instant, rps: f64, limit: Duration) -> Self {
        let slots = (limit.as_secs_f64() * rps - 1e-9).ceil().max(1.0) as u64;
        Plan {
            t0,
            rps,
            slots,
            limit,
        }
    }

    /// Slots due by `at` (those whose instant is not after it), at most [`Plan::slots`].
    pub fn due_by(&self, at: Instant) -> u64 {
        let secs = at.saturating_duration_since(self.t0).as_secs_f64();
        ((secs * self.rps).floor() as u64 + 1).min(self.slots)
    }

    /// The intended instant of slot `index`.
    pub fn intended(&self, index: u64) -> Instant {
        self.t0 + Duration::from_secs_f64(index as f64 / self.rps)
    }
}

/// Starts the pacer thread, sending on `tx` (`queue` is a receiver of the same channel).
/// `before_send(queued)` is called before each ticket is handed over and while the channel is
/// full, with the number of tickets waiting in the channel (the worker pool uses it to grow).
///
/// The thread issues slots until every one is issued, `stop` is set, or the channel is closed;
/// then, unless stopped, it waits for the end of the plan's time (and up to [`END_GRACE`] more
/// while tickets are queued). It then closes the channel and takes back the tickets still
/// queued (every worker was busy), so that nothing is sent after the run's end: those slots
/// count as planned but not sent. It returns the number of
/// tickets issued.
pub fn spawn(
    plan: Plan,
    tx: async_channel::Sender<Ticket>,
    queue: async_channel::Receiver<Ticket>,
    stop: Arc<AtomicBool>,
    mut before_send: impl FnMut(usize) + Send + 'static,
) -> std::io::Result<JoinHandle<u64>> {
    std::thread::Builder::new()
        .name("prober-pacer".into())
        .spawn(move || {
            let deadline = plan.t0 + plan.limit;
            let end = deadline + END_GRACE;
            let mut index = 0u64;
            while index < plan.slots && !stop.load(Ordering::Relaxed) {
                let intended = plan.intended(index);
                let now = Instant::now();
                if intended > now {
                    std::thread::sleep((intended - now).min(MAX_SLEEP));
                    continue;
                }
                if now >= end {
                    break;
                }
                if tx.is_full() {
                    // Every worker busy and the queue full: let the pool grow, then wait.
                    before_send(tx.len());
                    std::thread::sleep(FULL_PAUSE);
                    continue;
                }
                before_send(tx.len());
                match tx.try_send(Ticket { index, intended }) {
                    Ok(()) => index += 1,
                    Err(async_channel::TrySendError::Full(_)) => {}
                    Err(async_channel::TrySendError::Closed(_)) => return index,
                }
            }
            loop {
                let now = Instant::now();
                let drained = now >= deadline && tx.is_empty();
                if now >= end || drained || stop.load(Ordering::Relaxed) {
                    break;
                }
                let pause = if now >= deadline {
                    FULL_PAUSE
                } else {
                    MAX_SLEEP
                };
                std::thread::sleep((end - now).min(pause));
            }
            tx.close();
            let mut unsent = 0u64;
            while queue.try_recv().is_ok() {
                unsent += 1;
            }
            if unsent > 0 {
                tracing::info!(
                    unsent,
                    "run over: queued tickets not sent (every worker was busy)"
                );
            }
            index
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_counts_slots_before_the_limit() {
        let t0 = Instant::now();
        assert_eq!(Plan::new(t0, 50.0, Duration::from_secs(2)).slots, 100);
        assert_eq!(Plan::new(t0, 3.0, Duration::from_millis(1500)).slots, 5); // 0, .33, .67, 1, 1.33
        assert_eq!(Plan::new(t0, 0.5, Duration::from_secs(1)).slots, 1);
        let p = Plan::new(t0, 1000.0, Duration::from_secs(1));
        assert_eq!(p.intended(250) - t0, Duration::from_millis(250));
        assert_eq!(p.due_by(t0), 1);
        assert_eq!(p.due_by(t0 + Duration::from_micros(2500)), 3);
        assert_eq!(p.due_by(t0 + Duration::from_secs(5)), 1000);
    }

    #[test]
    fn issues_every_slot_in_order_and_never_drops_when_the_channel_is_full() {
        // A channel of one: the pacer must wait for room, not skip.
        let t0 = Instant::now();
        let mut plan = Plan::new(t0, 10_000.0, Duration::from_millis(20)); // 200 slots
        plan.limit = Duration::from_secs(3600); // time enough for a slow consumer
        let (tx, rx) = async_channel::bounded(1);
        let stop = Arc::new(AtomicBool::new(false));
        let handle = spawn(plan, tx, rx.clone(), stop.clone(), |_| {}).unwrap();
        let mut seen = Vec::new();
        while seen.len() < 200 {
            let t = rx.recv_blocking().unwrap();
            assert!(t.intended >= t0);
            seen.push(t.index);
        }
        stop.store(true, Ordering::Relaxed);
        assert_eq!(handle.join().unwrap(), 200);
        assert_eq!(seen, (0..200).collect::<Vec<_>>());
        assert!(rx.is_closed());
    }

    #[test]
    fn a_ticket_is_never_issued_before_its_instant() {
        let t0 = Instant::now();
        let plan = Plan::new(t0, 2_000.0, Duration::from_millis(25));
        let (tx, rx) = async_channel::bounded(1024);
        let handle = spawn(
            plan,
            tx,
            rx.clone(),
            Arc::new(AtomicBool::new(false)),
            |_| {},
        )
        .unwrap();
        while let Ok(t) = rx.recv_blocking() {
            assert!(Instant::now() >= t.intended, "slot {} early", t.index);
        }
        assert_eq!(handle.join().unwrap(), plan.slots);
    }

    #[test]
    fn stops_issuing_when_the_time_is_up() {
        // Nobody drains: the channel fills and the pacer must give up at the deadline.
        let plan = Plan::new(Instant::now(), 100_000.0, Duration::from_millis(30));
        let (tx, rx) = async_channel::bounded(8);
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = calls.clone();
        let grow = move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        };
        let handle = spawn(plan, tx, rx.clone(), Arc::new(AtomicBool::new(false)), grow).unwrap();
        assert_eq!(handle.join().unwrap(), 8);
        assert!(
            calls.load(Ordering::Relaxed) > 8,
            "the pool is asked to grow while the queue is full"
        );
        assert!(
            rx.is_empty() && rx.is_closed(),
            "tickets not sent by the end are taken back"
        );
    }

    #[test]
    fn stops_when_asked() {
        let plan = Plan::new(Instant::now(), 1.0, Duration::from_secs(3600));
        let (tx, rx) = async_channel::bounded(16);
        let stop = Arc::new(AtomicBool::new(false));
        let handle = spawn(plan, tx, rx.clone(), stop.clone(), |_| {}).unwrap();
        let first = rx.recv_blocking().unwrap();
        assert_eq!(first.index, 0);
        stop.store(true, Ordering::Relaxed);
        assert_eq!(handle.join().unwrap(), 1);
        assert!(
            rx.recv_blocking().is_err(),
            "channel closes when the pacer ends"
        );
    }
}
