//! The open-loop pacer: slot `i` is due at `t0 + i/rps`.
//!
//! The schedule is shared out among the send lanes (see [`crate::sender`]): lane `k` of `n`
//! issues slots `k, k + n, k + 2n, ...`. Each lane's pacer is a task on the lane's own
//! single-threaded runtime, next to the workers that send: it sleeps on a [`SlotTimer`]
//! (microsecond precision, where Tokio's timers round to the millisecond) until its next slot's
//! instant, then hands a ticket to an idle worker through the lane's queue. Timer, pacer and
//! workers share one thread, so a slot costs one wake-up of that thread and no wake-up of
//! another: handing a ticket over is a push onto the runtime's local run queue.
//!
//! When the pacer wakes late it issues every slot that is due at once, each with its own
//! intended instant, so the schedule never drifts. When the queue is full (every worker busy,
//! the queue full) the pacer waits, and the tickets it issues afterwards still carry their
//! original intended instants: they are sent late and counted late, never dropped. Slots still
//! unissued when the run's time is up are reported as planned but not sent.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::timer::SlotTimer;

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
/// Shortest time between two wake-ups of a pacer: slots closer together than this (above 2,500
/// per second in a lane) are issued together, the earlier ones at most this much late, and their
/// responses tend to arrive together too: at 10,000 rps a wake-up for every 4 slots instead of
/// every slot, for a send lag that stays under 0.5 ms.
pub const MIN_WAKE_GAP: Duration = Duration::from_micros(400);
/// Longest wait for room in a full queue before the stop flag and the deadline are looked at
/// again (the wait ends as soon as a worker takes a ticket).
const FULL_WAIT: Duration = Duration::from_millis(5);
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

/// One lane's share of a plan: the slots `lane, lane + lanes, lane + 2 lanes, ...`.
#[derive(Debug, Clone, Copy)]
pub struct Share {
    /// The whole plan.
    pub plan: Plan,
    /// This lane's number, from 0.
    pub lane: u64,
    /// Number of lanes.
    pub lanes: u64,
}

impl Share {
    /// The whole plan, for one lane.
    pub fn whole(plan: Plan) -> Self {
        Share {
            plan,
            lane: 0,
            lanes: 1,
        }
    }
}

/// Paces one lane: issues its slots on `tx` until every one is issued, `stop` is set, or the
/// queue is closed; then, unless stopped, waits for the end of the plan's time (and up to
/// [`END_GRACE`] more while tickets are queued). It then closes the queue and takes back the
/// tickets still in it (`queue` is a receiver of the same channel: every worker was busy), so
/// that nothing is sent after the run's end: those slots count as planned but not sent.
/// `before_send(queued)` is called before each ticket is handed over and while the queue is
/// full, with the number of tickets waiting (the worker pool uses it to grow).
///
/// Returns the number of tickets issued.
pub async fn pace(
    share: Share,
    timer: &mut SlotTimer,
    tx: async_channel::Sender<Ticket>,
    queue: async_channel::Receiver<Ticket>,
    stop: &AtomicBool,
    mut before_send: impl FnMut(usize),
) -> u64 {
    let plan = share.plan;
    let deadline = plan.t0 + plan.limit;
    let end = deadline + END_GRACE;
    let mut index = share.lane;
    let mut issued = 0u64;
    // The instant the pacer last woke for (not when it woke: a late wake-up does not push the
    // next one back).
    let mut woke_for = plan.t0.checked_sub(MIN_WAKE_GAP).unwrap_or(plan.t0);
    while index < plan.slots && !stop.load(Ordering::Relaxed) {
        let intended = plan.intended(index);
        let now = Instant::now();
        if intended > now {
            let wake = intended.max(woke_for + MIN_WAKE_GAP);
            if wake <= now + MAX_SLEEP {
                woke_for = wake;
            }
            timer.sleep_until(wake.min(now + MAX_SLEEP)).await;
            continue;
        }
        if now >= end {
            break;
        }
        let ticket = Ticket { index, intended };
        before_send(tx.len());
        let sent = if tx.is_full() {
            // Every worker busy and the queue full: wait for room (the pool was just asked to
            // grow), but look at the stop flag and the deadline now and then.
            let until = (now + FULL_WAIT).min(end);
            match tokio::time::timeout_at(until.into(), tx.send(ticket)).await {
                Ok(sent) => sent.map_err(|_| ()),
                Err(_) => continue,
            }
        } else {
            match tx.try_send(ticket) {
                Ok(()) => Ok(()),
                Err(async_channel::TrySendError::Full(_)) => continue,
                Err(async_channel::TrySendError::Closed(_)) => Err(()),
            }
        };
        if sent.is_err() {
            return issued;
        }
        issued += 1;
        index += share.lanes;
    }
    loop {
        let now = Instant::now();
        let drained = now >= deadline && tx.is_empty();
        if now >= end || drained || stop.load(Ordering::Relaxed) {
            break;
        }
        let pause = if now >= deadline {
            Duration::from_millis(1)
        } else {
            MAX_SLEEP
        };
        timer.sleep_until(now + (end - now).min(pause)).await;
    }
    // Workers of this lane run when the pacer yields: let the idle ones take the tickets just
    // handed over (a stop can come right after an issue), so that only those no worker was free
    // for are taken back.
    tokio::task::yield_now().await;
    tx.close();
    let mut unsent = 0u64;
    while queue.try_recv().is_ok() {
        unsent += 1;
    }
    if unsent > 0 {
        tracing::info!(
            unsent,
            lane = share.lane,
            "run over: queued tickets not sent (every worker was busy)"
        );
    }
    issued
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Runs the pacer of `share` as a task; the ticket receiver is given back.
    fn start(
        share: Share,
        capacity: usize,
        stop: Arc<AtomicBool>,
        before_send: impl FnMut(usize) + Send + 'static,
    ) -> (
        tokio::task::JoinHandle<u64>,
        async_channel::Receiver<Ticket>,
    ) {
        let (tx, rx) = async_channel::bounded(capacity);
        let queue = rx.clone();
        let handle = tokio::spawn(async move {
            let mut timer = SlotTimer::new().unwrap();
            pace(share, &mut timer, tx, queue, &stop, before_send).await
        });
        (handle, rx)
    }

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

    #[tokio::test(flavor = "current_thread")]
    async fn issues_every_slot_in_order_and_never_drops_when_the_channel_is_full() {
        // A channel of one: the pacer must wait for room, not skip.
        let t0 = Instant::now();
        let mut plan = Plan::new(t0, 10_000.0, Duration::from_millis(20)); // 200 slots
        plan.limit = Duration::from_secs(3600); // time enough for a slow consumer
        let stop = Arc::new(AtomicBool::new(false));
        let (handle, rx) = start(Share::whole(plan), 1, stop.clone(), |_| {});
        let mut seen = Vec::new();
        while seen.len() < 200 {
            let t = rx.recv().await.unwrap();
            assert!(t.intended >= t0);
            seen.push(t.index);
        }
        stop.store(true, Ordering::Relaxed);
        assert_eq!(handle.await.unwrap(), 200);
        assert_eq!(seen, (0..200).collect::<Vec<_>>());
        assert!(rx.is_closed());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_ticket_is_never_issued_before_its_instant() {
        let t0 = Instant::now();
        let plan = Plan::new(t0, 2_000.0, Duration::from_millis(25));
        let (handle, rx) = start(Share::whole(plan), 1024, Arc::default(), |_| {});
        while let Ok(t) = rx.recv().await {
            assert!(Instant::now() >= t.intended, "slot {} early", t.index);
        }
        assert_eq!(handle.await.unwrap(), plan.slots);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn lanes_share_the_slots_each_issued_once() {
        let plan = Plan::new(Instant::now(), 2_000.0, Duration::from_millis(40)); // 80 slots
        let lanes = 3;
        let pacers: Vec<_> = (0..lanes)
            .map(|lane| start(Share { plan, lane, lanes }, 1024, Arc::default(), |_| {}))
            .collect();
        // Every lane's queue is drained at once (a queue left full is taken back at the end).
        let consumers: Vec<_> = (0..lanes)
            .zip(pacers)
            .map(|(lane, (handle, rx))| {
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    while let Ok(t) = rx.recv().await {
                        assert_eq!(t.index % lanes, lane, "slot {} in lane {lane}", t.index);
                        assert!(Instant::now() >= t.intended, "slot {} early", t.index);
                        mine.push(t.index);
                    }
                    assert_eq!(handle.await.unwrap(), mine.len() as u64);
                    mine
                })
            })
            .collect();
        let mut all = Vec::new();
        for consumer in consumers {
            all.extend(consumer.await.unwrap());
        }
        all.sort_unstable();
        assert_eq!(all, (0..plan.slots).collect::<Vec<_>>());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn stops_issuing_when_the_time_is_up() {
        // Nobody drains: the channel fills and the pacer must give up at the deadline.
        let plan = Plan::new(Instant::now(), 100_000.0, Duration::from_millis(30));
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = calls.clone();
        let grow = move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        };
        let (handle, rx) = start(Share::whole(plan), 8, Arc::default(), grow);
        assert_eq!(handle.await.unwrap(), 8);
        assert!(
            calls.load(Ordering::Relaxed) > 8,
            "the pool is asked to grow while the queue is full"
        );
        assert!(
            rx.is_empty() && rx.is_closed(),
            "tickets not sent by the end are taken back"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_ticket_issued_as_the_run_stops_still_goes_to_a_free_worker() {
        let plan = Plan::new(Instant::now(), 1000.0, Duration::from_secs(10));
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        // The stop comes while the first ticket is being handed over.
        let stop_now = move |_| flag.store(true, Ordering::Relaxed);
        let (handle, rx) = start(Share::whole(plan), 16, stop, stop_now);
        let worker = tokio::spawn(async move {
            let mut taken = 0;
            while rx.recv().await.is_ok() {
                taken += 1;
            }
            taken
        });
        assert_eq!(handle.await.unwrap(), 1);
        assert_eq!(
            worker.await.unwrap(),
            1,
            "the ticket issued went to the free worker, not back"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn stops_when_asked() {
        let plan = Plan::new(Instant::now(), 1.0, Duration::from_secs(3600));
        let stop = Arc::new(AtomicBool::new(false));
        let (handle, rx) = start(Share::whole(plan), 16, stop.clone(), |_| {});
        let first = rx.recv().await.unwrap();
        assert_eq!(first.index, 0);
        stop.store(true, Ordering::Relaxed);
        assert_eq!(handle.await.unwrap(), 1);
        assert!(
            rx.recv().await.is_err(),
            "channel closes when the pacer ends"
        );
    }
}
