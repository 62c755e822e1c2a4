//! The split judged against the alias's configured routing (`--alias`), on seeded simulations:
//! the alias is polled as the prober polls it, and the clients' split follows the alias's
//! updates (or not) as Lambda's data plane would. Run with `--nocapture` to see the rates.

mod alias {
    pub mod support;
}

use alias::support::{lagged, polled, schedule_updates};
use rollout::analysis::{AnalysisConfig, SplitAnalysis, analyze};
use rollout::configured::ConfiguredRouting;
use rollout::sim::{NEW_VERSION, OLD_VERSION, Simulation, piecewise_share};
use rollout::{Schedule, StepVerdict, Verdict, wilson_interval};

/// Two-sided confidence whose interval ends are one-sided 95% bounds.
const ONE_SIDED_95: f64 = 0.90;

fn schedule(text: &str) -> Schedule {
    text.parse().expect("valid schedule")
}

fn with_alias(configured: ConfiguredRouting) -> AnalysisConfig {
    AnalysisConfig {
        configured: Some(configured),
        ..AnalysisConfig::default()
    }
}

fn verdicts(split: &SplitAnalysis) -> Vec<StepVerdict> {
    split.steps.iter().map(|s| s.verdict).collect()
}

/// `linear:10%:60s` at 10 rps (600 requests per step), starting 5.3 s into the run; the alias
/// polled every second.
struct Run {
    schedule: Schedule,
    rps: f64,
    start: f64,
    poll: f64,
}

impl Run {
    fn linear_60s() -> Self {
        Self {
            schedule: schedule("linear:10%:60s"),
            rps: 10.0,
            start: 5.3,
            poll: 1.0,
        }
    }

    fn end(&self) -> f64 {
        self.start + self.schedule.total_duration() + 5.0
    }

    /// The configured routing as polled (phase from the seed) and the clients' timeline, whose
    /// split follows `clients` (true update instants and shares).
    fn observe(
        &self,
        alias: &[(f64, f64)],
        clients: &[(f64, f64)],
        seed: u64,
    ) -> (ConfiguredRouting, rollout::Timeline) {
        let phase = (seed % 97) as f64 / 97.0 * self.poll;
        let configured = polled(alias, self.poll, 0.05, phase, self.end());
        let timeline = Simulation::new(self.rps, self.end(), seed).run(piecewise_share(clients));
        (configured, timeline)
    }
}

#[test]
fn configured_routing_equal_to_the_schedule_gives_the_schedule_paths_step_verdicts() {
    let run = Run::linear_60s();
    let updates = schedule_updates(&run.schedule, run.start);
    // Step 2 (30%) served at 10% by the clients: flagged by both paths (20 points, far beyond
    // either's detectable deviation at about 550 requests), and nothing else.
    let mut clients = updates.clone();
    clients[2].1 = 0.1;
    let seeds = 40;
    let mut mismatches = Vec::new();
    for seed in 0..seeds {
        for (name, clients) in [("correct", &updates), ("step 2 at 10%", &clients)] {
            let (configured, timeline) = run.observe(&updates, clients, seed);
            let against_alias = analyze(&timeline, &with_alias(configured));
            let against_schedule = analyze(
                &timeline,
                &AnalysisConfig {
                    schedule: Some(run.schedule.clone()),
                    deployment_start: Some(run.start),
                    ..AnalysisConfig::default()
                },
            );
            // Window 0 is the alias at 0% before the shift; windows 1.. are the steps.
            let windows = &against_alias.steps;
            assert_eq!(windows.len(), run.schedule.steps().len() + 1);
            assert_eq!(windows[0].expected_share, 0.0);
            for (w, s) in windows[1..].iter().zip(&against_schedule.steps) {
                assert!((w.expected_share - s.expected_share).abs() < 1e-9);
                // The poll bracket: one poll interval plus the answer's delay.
                assert!((w.start - s.start).abs() <= run.poll, "{w:?} vs {s:?}");
            }
            let start = against_alias
                .deployment_start
                .expect("start from the alias");
            let [low, high] = against_alias.deployment_start_ci.expect("the bracket");
            assert!(low <= run.start && run.start <= high, "{low}..{high}");
            assert!((start - run.start).abs() <= run.poll);
            if verdicts(&against_alias)[1..] != verdicts(&against_schedule)[..]
                || against_alias.verdict != against_schedule.verdict
            {
                mismatches.push(format!(
                    "seed {seed} {name}: alias {:?} {:?} / schedule {:?} {:?}",
                    against_alias.verdict,
                    verdicts(&against_alias),
                    against_schedule.verdict,
                    verdicts(&against_schedule)
                ));
            }
        }
    }
    println!(
        "{} of {} runs differ: {mismatches:#?}",
        mismatches.len(),
        2 * seeds
    );
    // A run differs only by a false alarm of one path (at most 0.4% family-wise each, so at
    // most about 1% of 80 runs, mean 0.8): 4 or more has probability below 1%.
    assert!(mismatches.len() <= 3, "{mismatches:#?}");
}

#[test]
fn a_10_point_deviation_from_the_alias_at_600_requests_per_window_is_flagged_in_95_percent_of_seeds()
 {
    let run = Run::linear_60s();
    let alias = schedule_updates(&run.schedule, run.start);
    // The clients get 20% where the alias sends 30% (window 3: step 2), as in the schedule
    // path's power study.
    let mut clients = alias.clone();
    clients[2].1 = 0.2;
    let seeds = 600;
    let (mut flagged, mut window_flagged, mut counted) = (0, 0, 0);
    for seed in 10_000..10_000 + seeds {
        let (configured, timeline) = run.observe(&alias, &clients, seed);
        let split = analyze(&timeline, &with_alias(configured));
        flagged += u64::from(split.verdict == Verdict::Deviated);
        window_flagged += u64::from(split.steps[3].verdict == StepVerdict::Deviated);
        counted += split.steps[3].requests;
        if seed == 10_000 {
            println!("{}", split.reason);
            assert!(
                split.reason.starts_with("clients got ")
                    && split.reason.contains(&format!(
                        "of version {NEW_VERSION} while the alias sent 30%"
                    )),
                "{}",
                split.reason
            );
        }
    }
    let (low, _) = wilson_interval(window_flagged, seeds, ONE_SIDED_95);
    println!(
        "clients at 20% while the alias sent 30%, 600 requests per window ({} counted outside \
         the guard bands on average): window flagged in {window_flagged} of {seeds} (at least \
         {:.1}% at 95% confidence), run deviated in {flagged}",
        counted / seeds,
        low * 100.0
    );
    assert!(low >= 0.95, "lower bound {low}");
    assert!(flagged >= window_flagged);
}

#[test]
fn the_brackets_and_the_data_planes_lag_never_flag_a_followed_run() {
    // Short lab-like windows (3 s, propagation allowance 0.3 s) and long ones (60 s, 1 s); the
    // clients follow every update at a random instant after it, up to the allowance.
    let cases = [
        (schedule("linear:10%:3s"), 200.0, 0.2),
        (schedule("canary:10%:60s"), 20.0, 1.0),
    ];
    let seeds = 300;
    for (schedule, rps, poll) in cases {
        let run = Run {
            schedule,
            rps,
            start: 2.0,
            poll,
        };
        let allowance = (0.1 * run.schedule.steps()[0].duration()).min(1.0);
        let (mut deviated, mut certain_flagged) = (0, 0);
        for seed in 0..seeds {
            let start = run.start + (seed % 13) as f64 / 13.0;
            let alias = schedule_updates(&run.schedule, start);
            let clients = lagged(&alias, allowance * 0.999, seed);
            let (configured, timeline) = run.observe(&alias, &clients, seed);
            let split = analyze(&timeline, &with_alias(configured));
            deviated += u64::from(split.verdict == Verdict::Deviated);
            // Shares 0 and 1 cannot be contradicted by chance: only a timing error flags them.
            certain_flagged += split
                .steps
                .iter()
                .filter(|s| {
                    s.verdict == StepVerdict::Deviated
                        && (s.expected_share == 0.0 || s.expected_share == 1.0)
                })
                .count();
            assert!(
                matches!(split.verdict, Verdict::Followed | Verdict::Deviated),
                "seed {seed}: {}",
                split.reason
            );
        }
        println!(
            "{}: {deviated} of {seeds} followed runs flagged, {certain_flagged} windows of share 0 or 1",
            run.schedule
        );
        assert_eq!(certain_flagged, 0);
        // By chance alone at most 0.4% of runs (mean 1.2 of 300): 6 or more has probability
        // below 0.2%.
        assert!(deviated <= 5, "{deviated} of {seeds}");
    }
}

#[test]
fn a_window_overlapping_a_gap_in_the_polls_is_not_judged() {
    let run = Run::linear_60s();
    let alias = schedule_updates(&run.schedule, run.start);
    // The clients stall at 20% through step 2 (30%) while the poller saw nothing.
    let mut clients = alias.clone();
    clients[2].1 = 0.2;
    let (mut configured, timeline) = run.observe(&alias, &clients, 3);
    let flagged = analyze(&timeline, &with_alias(configured.clone()));
    assert_eq!(flagged.steps[3].verdict, StepVerdict::Deviated);
    let gap = [run.start + 140.0, run.start + 150.0];
    configured.gaps.push(gap);
    let split = analyze(&timeline, &with_alias(configured.clone()));
    assert_eq!(split.steps[3].verdict, StepVerdict::NotObserved);
    assert_eq!(split.verdict, Verdict::Followed, "{}", split.reason);
    assert!(
        split
            .reason
            .contains("when no poll of the alias succeeded: not judged"),
        "{}",
        split.reason
    );
    // Every other window is judged as before (one test fewer in the family).
    for (i, (a, b)) in split.steps.iter().zip(&flagged.steps).enumerate() {
        if i != 3 {
            let key = |s: &rollout::StepReport| (s.verdict, s.requests, s.new_requests);
            assert_eq!(key(a), key(b), "window {i}");
        }
    }
    // A gap that ends with a change lies in that change's bracket, hence in the guard bands.
    let mut bracketed = configured.clone();
    bracketed.gaps = vec![[run.start + 118.0, run.start + 120.6]];
    let c = bracketed
        .changes
        .iter_mut()
        .find(|c| c.at > run.start + 119.0)
        .expect("the change to step 2");
    c.not_before = run.start + 118.0;
    c.at = (c.not_before + c.not_after) / 2.0;
    let split = analyze(&timeline, &with_alias(bracketed));
    assert_eq!(split.steps[3].verdict, StepVerdict::Deviated);
}

#[test]
fn clients_that_never_see_the_version_the_alias_sends_traffic_to_deviate() {
    // A route on another alias: the clients get only the old version.
    let run = Run::linear_60s();
    let alias = schedule_updates(&run.schedule, run.start);
    let (configured, timeline) = run.observe(&alias, &[], 5);
    let split = analyze(&timeline, &with_alias(configured));
    assert_eq!(split.verdict, Verdict::Deviated, "{}", split.reason);
    assert_eq!(split.new_version.as_deref(), Some(NEW_VERSION));
    assert!(
        split
            .reason
            .starts_with("clients got 0.0% of version 2 while the alias sent 10%"),
        "{}",
        split.reason
    );
}

#[test]
fn a_run_that_starts_mid_deployment_takes_the_versions_from_the_alias() {
    let run = Run::linear_60s();
    // The alias already sends 30% when the run starts; the new version is its additional one.
    let alias: Vec<(f64, f64)> = schedule_updates(&run.schedule, -150.0);
    let (configured, timeline) = run.observe(&alias, &alias, 8);
    let split = analyze(&timeline, &with_alias(configured));
    assert_eq!(split.old_version.as_deref(), Some(OLD_VERSION));
    assert_eq!(split.new_version.as_deref(), Some(NEW_VERSION));
    assert_eq!(split.deployment_start, None);
    assert!(
        split.reason.contains("already sent 30% to version 2"),
        "{}",
        split.reason
    );
    assert_eq!(split.verdict, Verdict::Followed, "{}", split.reason);
    assert!((split.steps[0].expected_share - 0.3).abs() < 1e-12);
}

#[test]
fn completion_needs_the_alias_at_the_new_version_and_a_rollback_is_seen_from_responses() {
    let run = Run {
        schedule: schedule("canary:10%:20s"),
        rps: 20.0,
        start: 3.0,
        poll: 1.0,
    };
    let alias = schedule_updates(&run.schedule, run.start);
    let (configured, timeline) = run.observe(&alias, &alias, 9);
    let split = analyze(&timeline, &with_alias(configured.clone()));
    assert_eq!(split.verdict, Verdict::Followed, "{}", split.reason);
    assert!(split.completed_at.is_some() && split.is_finished());
    // The clients all on the new version while the alias still sends 10%: not complete.
    let stuck = [(run.start, 0.1)];
    let (configured, _) = run.observe(&stuck, &stuck, 9);
    let split = analyze(&timeline, &with_alias(configured));
    assert_eq!(split.completed_at, None);
    assert_eq!(split.verdict, Verdict::Deviated);
    // Rolled back: the alias back to 0 and the clients with it.
    let rollback = [(run.start, 0.1), (run.start + 10.0, 0.0)];
    let (configured, timeline) = run.observe(&rollback, &rollback, 9);
    let split = analyze(&timeline, &with_alias(configured));
    assert_eq!(split.verdict, Verdict::Rollback, "{}", split.reason);
}

#[test]
fn a_live_analysis_does_not_count_responses_after_the_last_poll_against_it() {
    // The alias moves to 10% at 30 s; the clients see it at once, the poller (every second)
    // has not yet: its last poll was sent at 29.9 s, and the data runs to 31.5 s.
    let alias = [(30.0, 0.1)];
    let configured = polled(&alias, 1.0, 0.05, 0.9, 29.95);
    assert_eq!(configured.changes.len(), 1);
    let timeline = Simulation::new(200.0, 31.5, 4).run(piecewise_share(&alias));
    let live = |polled_until| {
        analyze(
            &timeline,
            &AnalysisConfig {
                polled_until,
                ..with_alias(configured.clone())
            },
        )
    };
    let split = live(Some(29.9));
    assert_eq!(split.verdict, Verdict::Followed, "{}", split.reason);
    // Had a poll seen 0% beyond the data (and its propagation allowance), the new version's
    // responses would contradict it.
    let split = live(Some(32.5));
    assert_eq!(split.verdict, Verdict::Deviated, "{}", split.reason);
}
