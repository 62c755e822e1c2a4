use super::*;
use rollout::analysis::{AnalysisConfig, analyze};

fn snapshot(step: Option<(usize, usize)>, observed: Option<Observed>) -> Snapshot {
    Snapshot {
        elapsed: 12.04,
        sent: 600,
        rate: 50.0,
        errors: 3,
        error_rate: 0.005,
        versions: vec![("1".into(), 480, Some(12.34)), ("2".into(), 120, None)],
        untagged: 2,
        new_version: Some("2".into()),
        step,
        expected: step.map(|_| 0.2),
        observed,
        alias: None,
    }
}

fn observed(window: Window) -> Option<Observed> {
    Some(Observed {
        share: 0.185,
        low: 0.151,
        high: 0.223,
        window,
    })
}

fn assert_fits(text: &str) {
    for line in text.lines() {
        assert!(
            line.chars().count() <= LINE_WIDTH,
            "{} columns: {line:?}",
            line.chars().count()
        );
    }
}

#[test]
fn lines_show_the_step_its_own_share_and_the_traffic() {
    let s = snapshot(Some((1, 10)), observed(Window::Step));
    assert_eq!(
        s.lines(),
        "[  12.0s] step 2/10 expected 20.0% | observed 18.5% [15.1-22.3] this step\n  \
         50.0 rps | errors 3 (0.50%) | v1 480 p99(1s) 12.3ms | v2 120 | untagged 2"
    );
}

#[test]
fn a_share_without_an_aligned_step_names_its_window() {
    let s = snapshot(None, observed(Window::Last(2.0)));
    let lines = s.lines();
    assert!(
        lines.starts_with("[  12.0s] v2 share 18.5% [15.1-22.3] last 2s\n"),
        "{lines}"
    );
}

#[test]
fn the_widest_lines_fit_80_columns() {
    let mut s = snapshot(
        Some((9, 10)),
        Some(Observed {
            share: 1.0,
            low: 1.0,
            high: 1.0,
            window: Window::Step,
        }),
    );
    s.elapsed = 9999.9;
    s.expected = Some(1.0);
    s.errors = 123_456_789;
    s.error_rate = 0.999;
    s.rate = 123_456.7;
    s.untagged = 987_654_321;
    s.versions = (0..30)
        .map(|k| {
            (
                format!("{k}\u{1b}[31m{}", "x".repeat(300)),
                1_000_000,
                Some(12_345.6),
            )
        })
        .collect();
    s.new_version = Some(s.versions[0].0.clone());
    let lines = s.lines();
    assert_fits(&lines);
    assert!(
        lines.contains("more"),
        "versions that do not fit are counted: {lines}"
    );
    assert!(
        !lines.chars().any(|c| c.is_control() && c != '\n'),
        "{lines:?}"
    );
    s.step = None;
    s.expected = None;
    s.observed = Some(Observed {
        window: Window::Last(10.0),
        ..s.observed.unwrap()
    });
    assert_fits(&s.lines());
}

/// A rollout at 50% for 2 s then 100%: 4 s in, the step began at 2 s and every response since
/// came from the new version; a 10 s window would still say 75%.
#[test]
fn the_observed_share_counts_from_the_current_steps_start() {
    let schedule = Schedule::parse("linear:50%:2s").unwrap();
    let mut agg = Aggregate::new(1_000_000);
    for tenth in 0..40u32 {
        let t = f64::from(tenth) / 10.0 + 0.05;
        for k in 0..10 {
            let new = t >= 2.0 || k % 2 == 0;
            agg.timeline.record(t, if new { "2" } else { "1" });
        }
    }
    let split = analyze(
        &agg.timeline,
        &AnalysisConfig {
            schedule: Some(schedule.clone()),
            old_version: Some("1".into()),
            new_version: Some("2".into()),
            deployment_start: Some(0.0),
            ..AnalysisConfig::default()
        },
    );
    let s = Snapshot::new(&agg, &split, Some(&schedule), 4.0, 100.0);
    assert_eq!(s.step, Some((1, 2)));
    assert_eq!(s.expected, Some(1.0));
    let o = s.observed.expect("an observed share");
    assert_eq!((o.share, o.window), (1.0, Window::Step));
}

#[test]
fn the_recent_window_shrinks_with_a_compressed_schedule() {
    let slow = Schedule::parse("Linear10PercentEvery1Minute").unwrap();
    assert_eq!(recent_window(None), RECENT_SECS);
    assert_eq!(recent_window(Some(&slow)), RECENT_SECS);
    let fast = slow.time_scaled(20.0).unwrap();
    assert_eq!(recent_window(Some(&fast)), 3.0);
    let fastest = slow.time_scaled(600.0).unwrap();
    assert_eq!(recent_window(Some(&fastest)), MIN_RECENT_SECS);
}

#[test]
fn the_alias_s_weight_is_shown_and_the_line_still_fits() {
    let mut s = snapshot(Some((1, 10)), observed(Window::Step));
    s.alias = Some(0.2);
    let line = s.lines().lines().next().unwrap().to_owned();
    assert_fits(&line);
    // Too long with both: the alias's weight (what was configured) stays.
    assert_eq!(
        line,
        "[  12.0s] step 2/10 alias 20% | observed 18.5% [15.1-22.3] this step"
    );
    let mut s = snapshot(None, observed(Window::Last(10.0)));
    s.alias = Some(0.1);
    let line = s.lines().lines().next().unwrap().to_owned();
    assert_fits(&line);
    assert!(line.contains("alias 10% | v2 share 18.5%"), "{line}");
}
