//! The send path: one or more lanes, each a thread running its own single-threaded Tokio runtime
//! with a pacer (its share of the schedule, see [`crate::pacer`]), a ticket queue and a worker
//! pool (its share of `--max-in-flight`). A request never crosses threads between its slot and
//! its response: the lane's timer wakes the lane's thread, which sends, and the response wakes
//! it again. One lane carries up to [`LANE_RPS`] requests per second; faster plans get more
//! lanes, up to the number of CPUs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::client::Connector;
use crate::config::Config;
use crate::error::ProberError;
use crate::pacer::{self, Plan, Share, Ticket};
use crate::record::Recorder;
use crate::timer::SlotTimer;
use crate::worker::{Pool, Signature};

/// Requests per second one lane is given; a single thread sends and reads that many with room
/// to spare (the bench target answers 100,000+ per second on one core).
pub const LANE_RPS: f64 = 25_000.0;
/// Tickets that may wait for a worker in a lane. Beyond it the pacer waits (the tickets keep
/// their intended instants). Small is better: at saturation a long queue only adds cache misses.
const TICKET_QUEUE: usize = 64;

/// The number of lanes for `rps` with at most `max_in_flight` requests in flight on `cpus`
/// CPUs: one per [`LANE_RPS`], at least one, at most one per CPU and one per request in flight.
pub fn lanes_for(rps: f64, max_in_flight: usize, cpus: usize) -> usize {
    let wanted = (rps / LANE_RPS).ceil().max(1.0) as usize;
    wanted.min(cpus.max(1)).min(max_in_flight.max(1))
}

/// A running lane, as the engine sees it.
#[derive(Debug)]
struct Lane {
    /// The lane's ticket queue (to close it and take the tickets back on an interrupt).
    queue: async_channel::Receiver<Ticket>,
    /// The number of tickets the lane's pacer issued, once it is done.
    paced: Option<oneshot::Receiver<u64>>,
    /// Completes when every worker of the lane has finished.
    finished: Option<oneshot::Receiver<()>>,
    /// Dropped or fired: the lane abandons the requests still in flight.
    abandon: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// The lanes of a run. Dropped before [`Sender::join`] (the run failed), it stops them.
#[derive(Debug)]
pub struct Sender {
    lanes: Vec<Lane>,
    stop: Arc<AtomicBool>,
}

impl Sender {
    /// Starts the lanes for `plan`; they stop issuing when `stop` is set. With `signed`
    /// (`--sigv4`), every request carries the current signature.
    pub fn start(
        config: &Config,
        connector: Connector,
        recorder: Arc<Recorder>,
        plan: Plan,
        stop: Arc<AtomicBool>,
        signed: Option<Signature>,
    ) -> Result<Self, ProberError> {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let lanes = lanes_for(config.rps, config.max_in_flight, cpus);
        let internal = |what: &str, e: std::io::Error| {
            ProberError::Internal(format!("cannot start a send lane ({what}): {e}"))
        };
        let mut started = Vec::with_capacity(lanes);
        for lane in 0..lanes {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| internal("runtime", e))?;
            let mut timer = SlotTimer::new().map_err(|e| internal("timer", e))?;
            // The lane's share of the cap: `max_in_flight` spread as evenly as it goes.
            let max =
                config.max_in_flight / lanes + usize::from(lane < config.max_in_flight % lanes);
            let (tx, rx) = async_channel::bounded(TICKET_QUEUE);
            let pool = Pool::new(
                config,
                connector.clone(),
                recorder.clone(),
                rx.clone(),
                plan.t0,
                max,
                runtime.handle().clone(),
                signed.clone(),
            );
            let share = Share {
                plan,
                lane: lane as u64,
                lanes: lanes as u64,
            };
            let (paced_tx, paced) = oneshot::channel();
            let (finished_tx, finished) = oneshot::channel();
            let (abandon, abandoned) = oneshot::channel::<()>();
            let (queue, lane_stop) = (rx.clone(), stop.clone());
            let thread = std::thread::Builder::new()
                .name(format!("prober-lane-{lane}"))
                .spawn(move || {
                    // Everything runs in a spawned task: its wake-ups are pushes onto the
                    // runtime's run queue, where those of `block_on`'s own future would each
                    // write to the runtime's eventfd.
                    let lane = async move {
                        let grow = |queued| pool.grow_if_needed(queued);
                        let issued =
                            pacer::pace(share, &mut timer, tx, queue, &lane_stop, grow).await;
                        let _ = paced_tx.send(issued);
                        tokio::select! {
                            () = pool.finish() => {
                                let _ = finished_tx.send(());
                            }
                            _ = abandoned => {}
                        }
                    };
                    let _ = runtime.block_on(async { tokio::spawn(lane).await });
                    // Shutting the runtime down drops the requests still in flight: each records
                    // itself as interrupted. Blocking work still running (a name lookup of an
                    // unresolvable host can take seconds) must not hold the verdict back:
                    // dropping the runtime would wait for it.
                    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
                })
                .map_err(|e| internal("thread", e))?;
            started.push(Lane {
                queue: rx,
                paced: Some(paced),
                finished: Some(finished),
                abandon: Some(abandon),
                thread: Some(thread),
            });
        }
        Ok(Sender {
            lanes: started,
            stop,
        })
    }

    /// Completes when every lane has finished pacing (the run's time is up, the run was
    /// stopped, or the queues were closed), with the number of tickets issued.
    pub fn paced(&mut self) -> impl Future<Output = u64> + Send + 'static {
        let receivers: Vec<_> = self
            .lanes
            .iter_mut()
            .filter_map(|l| l.paced.take())
            .collect();
        async move {
            let mut issued = 0;
            for paced in receivers {
                issued += paced.await.unwrap_or(0);
            }
            issued
        }
    }

    /// Closes every lane's queue and takes back the tickets still in it (an interrupt: nothing
    /// more is sent). Returns how many were taken back.
    pub fn take_back(&self) -> u64 {
        let mut unsent = 0;
        for lane in &self.lanes {
            lane.queue.close();
            while lane.queue.try_recv().is_ok() {
                unsent += 1;
            }
        }
        unsent
    }

    /// Waits for the workers to finish the requests in flight; after `grace`, or as soon as
    /// `cut` completes (a signal), abandons those still waiting on a response (each is recorded
    /// as interrupted). Then joins the threads.
    pub async fn join(mut self, grace: Duration, cut: impl Future<Output = ()>) {
        let deadline = tokio::time::Instant::now() + grace;
        let mut cut = std::pin::pin!(cut);
        let mut was_cut = false;
        for lane in &mut self.lanes {
            let Some(finished) = lane.finished.take() else {
                continue;
            };
            if was_cut {
                continue;
            }
            tokio::select! {
                waited = tokio::time::timeout_at(deadline, finished) => {
                    if waited.is_err() {
                        tracing::debug!("abandoning requests in flight after the grace period");
                    }
                }
                () = &mut cut => {
                    tracing::debug!("abandoning requests in flight: interrupted");
                    was_cut = true;
                }
            }
        }
        for lane in &mut self.lanes {
            lane.abandon.take();
        }
        let threads: Vec<_> = self
            .lanes
            .iter_mut()
            .filter_map(|l| l.thread.take())
            .collect();
        let joined = tokio::task::spawn_blocking(move || {
            threads
                .into_iter()
                .map(JoinHandle::join)
                .filter(Result::is_err)
                .count()
        })
        .await;
        if !matches!(joined, Ok(0)) {
            tracing::error!("a send lane panicked");
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        if self.lanes.iter().any(|l| l.thread.is_some()) {
            self.stop.store(true, Ordering::Relaxed);
            self.take_back();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_lane_per_25k_rps_within_the_cpus_and_the_cap() {
        assert_eq!(lanes_for(50.0, 256, 8), 1);
        assert_eq!(lanes_for(10_000.0, 256, 8), 1);
        assert_eq!(lanes_for(25_000.0, 256, 8), 1);
        assert_eq!(lanes_for(25_001.0, 256, 8), 2);
        assert_eq!(lanes_for(1_000_000.0, 256, 8), 8);
        assert_eq!(lanes_for(1_000_000.0, 256, 2), 2);
        assert_eq!(lanes_for(1_000_000.0, 3, 8), 3);
        assert_eq!(lanes_for(1_000_000.0, 0, 0), 1);
    }
}
