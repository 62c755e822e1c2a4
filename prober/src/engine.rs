//! One probing run: send lanes (pacer and workers), aggregator loop (drain every 200 ms; analysis,
//! progress and the stop decision every second), then the report and the artifacts.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rollout::analysis::{AnalysisConfig, analyze};
use rollout::configured::ConfiguredRouting;
use rollout::schedule::Schedule;
use time::OffsetDateTime;

use crate::aggregate::Aggregate;
use crate::aws::sigv4::Signer;
use crate::aws::{ControlSnapshot, Preflight};
use crate::client::Connector;
use crate::config::Config;
use crate::error::ProberError;
use crate::pacer::Plan;
use crate::progress::{Progress, Snapshot};
use crate::record::Recorder;
use crate::reporting::{
    RunFacts, analysis_config, build_report, deployment_start_source, judge_conformance,
    schedule_conformance, with_configured,
};
use crate::sender::Sender;
use crate::{Interrupt, RunOutcome, artifacts};

/// How often the aggregator drains the workers' shards.
const DRAIN_PERIOD: Duration = Duration::from_millis(200);
/// Delay between setting up and slot 0, so that the send lanes are running at `t0`.
const START_DELAY: Duration = Duration::from_millis(20);
/// How long in-flight requests may finish after an interruption before they are abandoned.
const INTERRUPT_GRACE: Duration = Duration::from_secs(1);
/// A run stops early, as unreachable, when no request got an HTTP response by this second and
/// at least [`UNREACHABLE_MIN_FAILURES`] failed at the transport level (with the default 10 s
/// `--timeout`, a target that never answers is diagnosed after about 11 s).
pub const UNREACHABLE_AFTER_SECS: u32 = 5;
/// Transport failures needed (with no response at all) before the run stops as unreachable.
pub const UNREACHABLE_MIN_FAILURES: u64 = 5;
/// How long the final state of a followed deployment (`--deployment`) is observed after its
/// end: the analysis' shortest rollback or completion stretch (rollout's
/// `analysis::events::MIN_STRETCH_SECS`).
pub const DEPLOYMENT_TAIL_SECS: f64 = 5.0;
/// The live analysis runs at most once a second and takes at most 1/this of the time between
/// runs (long runs have long timelines).
const ANALYSIS_DUTY: f64 = 20.0;

/// The aggregator's state during the run.
struct Live {
    agg: Aggregate,
    progress: Progress,
    /// The analysis settings without the control plane's part.
    base_analysis: AnalysisConfig,
    /// The settings of this tick: `base_analysis` with the alias's routing so far.
    analysis: Arc<AnalysisConfig>,
    /// The alias's routing the settings were built with (`--alias`).
    configured: Option<ConfiguredRouting>,
    /// The alias's last poll's send time (the routing is known up to it).
    polled_until: Option<f64>,
    schedule: Option<Schedule>,
    /// `schedule` as given or named by the deployment's configuration (before scaling).
    schedule_text: Option<String>,
    seconds_done: u32,
    last_responses: u64,
    next_analysis: f64,
    finished: bool,
    /// Seconds after which every request sent at a given time has answered or timed out: the
    /// stop decision only looks at bins that old, so a slow version's late answers cannot look
    /// like a rollback (its newest bins are still filling in).
    settle_secs: f64,
    /// Every request completed so far failed at the transport level, past the early window.
    unreachable: bool,
}

impl Live {
    /// Takes the control plane's state: the analysis settings are rebuilt when the alias's
    /// routing changed (cheap: a clone of its few changes).
    fn control(&mut self, snapshot: Option<ControlSnapshot>) {
        let Some(snapshot) = snapshot else { return };
        let (configured, polled_until) = (snapshot.configured, snapshot.polled_until);
        // `--deployment latest`: the deployment's schedule, once it is found.
        let found = match (&self.schedule, snapshot.schedule) {
            (None, Some(schedule)) => {
                self.base_analysis.schedule = Some(schedule.clone());
                self.schedule = Some(schedule);
                self.schedule_text = snapshot.schedule_text;
                true
            }
            _ => false,
        };
        if found || configured != self.configured || polled_until != self.polled_until {
            self.analysis = Arc::new(with_configured(
                &self.base_analysis,
                configured.as_ref(),
                polled_until,
            ));
            self.configured = configured;
            self.polled_until = polled_until;
        }
    }

    /// Drains the shards; once per second closes the interval, and when due re-runs the
    /// analysis (to decide when to stop) and updates the progress display.
    fn tick(&mut self, recorder: &Recorder, elapsed: f64) {
        recorder.drain(|s| self.agg.absorb(s));
        let second = elapsed as u32;
        if second <= self.seconds_done {
            return;
        }
        self.agg.close_intervals(second);
        self.unreachable = second >= UNREACHABLE_AFTER_SECS
            && self.agg.responses == 0
            && self.agg.sent >= UNREACHABLE_MIN_FAILURES;
        let rate = (self.agg.responses - self.last_responses) as f64
            / f64::from(second - self.seconds_done);
        self.seconds_done = second;
        self.last_responses = self.agg.responses;
        if elapsed >= self.next_analysis {
            let started = Instant::now();
            let split = analyze(&self.agg.timeline, &self.analysis);
            let cost = started.elapsed().as_secs_f64();
            self.next_analysis = elapsed + (cost * ANALYSIS_DUTY).max(0.9);
            // The display shows everything so far; stopping needs settled bins only, and an
            // alias that is not in the middle of a shift.
            let alias_at_rest = self
                .configured
                .as_ref()
                .is_none_or(crate::aws::alias::at_rest);
            self.finished = split.is_finished()
                && alias_at_rest
                && analyze(
                    &self.agg.timeline.prefix(elapsed - self.settle_secs),
                    &self.analysis,
                )
                .is_finished();
            self.progress.update(
                &Snapshot::new(&self.agg, &split, self.schedule.as_ref(), elapsed, rate)
                    .with_alias(self.configured.as_ref()),
            );
        }
    }
}

/// Runs the probe described by `config` until its end, the deployment's end (no `--duration`),
/// an unreachable target (every request of the first seconds failed), or `shutdown`.
pub async fn probe(
    mut config: Config,
    shutdown: impl Future<Output = Interrupt> + Send,
) -> Result<RunOutcome, ProberError> {
    if let Some(out) = &config.out {
        // Found now, not after the whole run.
        artifacts::check_writable(out)?;
    }
    // Every first control-plane call is answered before anything is sent.
    let preflight = Preflight::check(&config).await?;
    if let Some(p) = &preflight {
        p.apply_deployment(&mut config);
    }
    // The first signature too (--sigv4): no credentials, no probe.
    let signer = Signer::start(&config).await?;
    let connector = Connector::new(&config)?;
    let high_us = u64::try_from(config.timeout.as_micros())
        .unwrap_or(u64::MAX / 4)
        .saturating_mul(2);
    let shards = std::thread::available_parallelism().map_or(4, |n| n.get() * 2);
    let recorder = Arc::new(Recorder::with_max_versions(
        shards,
        high_us,
        config.max_versions,
    ));

    let t0 = Instant::now() + START_DELAY;
    let origin = OffsetDateTime::now_utc() + START_DELAY;
    let stop = Arc::new(AtomicBool::new(false));
    let control = preflight.map(|p| p.start(t0, origin));
    let plan = Plan::new(t0, config.rps, config.run_limit());
    let mut sender = Sender::start(
        &config,
        connector,
        recorder.clone(),
        plan,
        stop.clone(),
        signer.as_ref().map(Signer::receiver),
    )?;
    let mut pacer_done = tokio::spawn(sender.paced());

    let deployment_start = config.deployment_start.map(|d| d.seconds_since(origin));
    let base_analysis = analysis_config(&config, deployment_start);
    let mut live = Some(Live {
        agg: Aggregate::new(high_us),
        progress: Progress::new(config.quiet),
        analysis: Arc::new(base_analysis.clone()),
        base_analysis: base_analysis.clone(),
        configured: None,
        polled_until: None,
        schedule: config.schedule.clone(),
        schedule_text: config.schedule_text.clone(),
        seconds_done: 0,
        last_responses: 0,
        next_analysis: 0.0,
        finished: false,
        settle_secs: config.timeout.as_secs_f64(),
        unreachable: false,
    });
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::from_std(t0) + DRAIN_PERIOD,
        DRAIN_PERIOD,
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut interrupted: Option<Interrupt> = None;
    let mut stopped_early = false;
    let mut stopped_at: Option<Instant> = None;

    let issued = loop {
        tokio::select! {
            issued = &mut pacer_done => break issued.unwrap_or(0),
            signal = &mut shutdown => {
                interrupted = Some(signal);
                stop.store(true, Ordering::Relaxed);
                stopped_at = Some(Instant::now());
                let unsent = sender.take_back();
                let issued = pacer_done.await.unwrap_or(0);
                tracing::info!(unsent, signal = signal.name(), "interrupted");
                break issued;
            }
            _ = tick.tick() => {
                // Aggregation and analysis run on the blocking pool, never on the threads that
                // send requests.
                let mut state = live.take().expect("live state is always put back");
                state.control(control.as_ref().map(|c| c.snapshot()));
                let (recorder, elapsed) = (recorder.clone(), t0.elapsed().as_secs_f64());
                let state = tokio::task::spawn_blocking(move || {
                    state.tick(&recorder, elapsed);
                    state
                })
                .await
                .map_err(|e| ProberError::Internal(format!("aggregator: {e}")))?;
                // --deployment: the run ends with the deployment (below), not with the split.
                let following = config.control.deployment.is_some();
                if config.duration.is_none() && state.finished && !following && stopped_at.is_none() {
                    tracing::info!(elapsed, "deployment finished; stopping");
                    stopped_at = Some(Instant::now());
                    stop.store(true, Ordering::Relaxed);
                }
                // --deployment: stop once CodeDeploy's status is final, the settle time
                // (--timeout + 1 s) has passed and the final state was observed long enough
                // for the analysis to call it (a rollback or a completion).
                let deployment_ended = control.as_ref().and_then(|c| c.snapshot().deployment_ended_at);
                if let Some(ended) = deployment_ended {
                    let settle = config.timeout.as_secs_f64() + 1.0 + DEPLOYMENT_TAIL_SECS;
                    if config.duration.is_none() && elapsed >= ended + settle && stopped_at.is_none() {
                        tracing::info!(elapsed, ended, "the deployment ended; stopping");
                        stopped_at = Some(Instant::now());
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                if state.unreachable && stopped_at.is_none() {
                    tracing::warn!(
                        elapsed,
                        failed = state.agg.sent,
                        "no request got a response: stopping early"
                    );
                    stopped_early = true;
                    stopped_at = Some(Instant::now());
                    stop.store(true, Ordering::Relaxed);
                }
                live = Some(state);
            }
        }
    };
    let grace = if interrupted.is_some() || stopped_early {
        INTERRUPT_GRACE
    } else {
        config.timeout + Duration::from_secs(1)
    };
    if interrupted.is_some() {
        sender.join(grace, std::future::pending()).await;
    } else {
        // A signal while the last requests finish (up to --timeout) cuts the wait short and
        // marks the run interrupted, instead of being caught and ignored.
        tracing::info!(?grace, "schedule sent; waiting for the requests in flight");
        let mut late_signal = None;
        let cut = async {
            late_signal = Some((&mut shutdown).await);
        };
        sender.join(grace, cut).await;
        if let Some(signal) = late_signal {
            tracing::info!(
                signal = signal.name(),
                "interrupted while requests finished"
            );
            stopped_at.get_or_insert_with(Instant::now);
            interrupted = Some(signal);
        }
    }
    let Live {
        mut agg,
        mut progress,
        schedule: found_schedule,
        schedule_text: found_text,
        ..
    } = live.expect("live state is always put back");
    if config.schedule.is_none()
        && let Some(schedule) = found_schedule
    {
        // Found mid-run (`--deployment latest`): the report judges against it as if given.
        config.schedule_text = found_text;
        config.schedule = Some(schedule);
    }
    let base_analysis = analysis_config(&config, deployment_start);
    recorder.drain(|s| agg.absorb(s));
    progress.finish();
    drop(signer);

    let (duration_secs, planned) = match stopped_at {
        Some(at) => (
            at.saturating_duration_since(t0).as_secs_f64(),
            plan.due_by(at).max(issued),
        ),
        None => (config.run_limit().as_secs_f64(), plan.slots),
    };
    agg.finish(duration_secs.ceil() as u32);
    let control_plane = match control {
        Some(control) => Some(control.finish().await),
        None => None,
    };
    // The final analysis and the live one use the alias's routing alike.
    let configured = control_plane
        .as_ref()
        .and_then(|c| c.alias.as_ref())
        .map(|a| ConfiguredRouting {
            changes: a.changes.clone(),
            gaps: a.gaps.clone(),
        });
    // Without the alias's polls, CodeDeploy's AllowTraffic start is the deployment's start.
    let allow_traffic = match (&configured, base_analysis.deployment_start) {
        (None, None) => control_plane
            .as_ref()
            .and_then(crate::aws::deployment::allow_traffic_start),
        _ => None,
    };
    let base_analysis = AnalysisConfig {
        deployment_start: base_analysis.deployment_start.or(allow_traffic),
        ..base_analysis
    };
    // The polls ran to the end of the run: the routing is known throughout.
    let analysis = with_configured(&base_analysis, configured.as_ref(), None);
    let split = analyze(&agg.timeline, &analysis);
    let start_source = match allow_traffic {
        Some(_) => Some("codedeploy".to_owned()),
        None => deployment_start_source(&config, configured.as_ref(), &split),
    };
    let conformance = schedule_conformance(&config, configured.as_ref(), &split, duration_secs);
    let judged = split.clone();
    let facts = RunFacts {
        started_at: origin,
        duration_secs,
        interrupted: interrupted.is_some(),
        signal: interrupted,
        stopped_early,
        planned,
    };
    let mut report = build_report(&config, &agg, split, facts);
    report.control_plane = control_plane;
    report.deployment_start_source = start_source;
    if let Some(conformance) = conformance {
        judge_conformance(&mut report, &judged, &conformance);
        if let Some(cp) = report.control_plane.as_mut() {
            cp.schedule_conformance = Some(conformance);
        }
    }
    crate::aws::agreement::conclude(&mut report);
    let (exit_code, artifact_errors) = match &config.out {
        Some(out) => artifacts::outcome_of(
            &report,
            artifacts::write_run(out, &report, &agg, config.schedule.as_ref()),
        ),
        None => (report.exit_code, Vec::new()),
    };
    Ok(RunOutcome {
        exit_code,
        out_dir: config.out.clone(),
        report,
        artifact_errors,
    })
}
