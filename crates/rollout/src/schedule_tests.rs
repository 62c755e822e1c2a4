use super::*;

/// Each predefined schedule's timeline: full-shift time, end, number of steps, and the expected
/// share at probe times (seconds since the deployment started).
#[allow(clippy::type_complexity)]
const PREDEFINED_TIMELINES: [(&str, f64, f64, usize, &[(f64, f64)]); 9] = [
    (
        "Canary10Percent5Minutes",
        300.0,
        300.0,
        2,
        &[(-1.0, 0.0), (0.0, 0.1), (299.9, 0.1), (300.0, 1.0)],
    ),
    (
        "Canary10Percent10Minutes",
        600.0,
        600.0,
        2,
        &[(0.0, 0.1), (599.0, 0.1), (600.0, 1.0)],
    ),
    (
        "Canary10Percent15Minutes",
        900.0,
        900.0,
        2,
        &[(0.0, 0.1), (899.0, 0.1), (900.0, 1.0)],
    ),
    (
        "Canary10Percent30Minutes",
        1800.0,
        1800.0,
        2,
        &[(0.0, 0.1), (1799.0, 0.1), (1800.0, 1.0)],
    ),
    (
        "Linear10PercentEvery1Minute",
        540.0,
        600.0,
        10,
        &[
            (-0.1, 0.0),
            (0.0, 0.1),
            (59.9, 0.1),
            (60.0, 0.2),
            (150.0, 0.3),
            (479.0, 0.8),
            (480.0, 0.9),
            (540.0, 1.0),
            (700.0, 1.0),
        ],
    ),
    (
        "Linear10PercentEvery2Minutes",
        1080.0,
        1200.0,
        10,
        &[(0.0, 0.1), (120.0, 0.2), (1079.0, 0.9), (1080.0, 1.0)],
    ),
    (
        "Linear10PercentEvery3Minutes",
        1620.0,
        1800.0,
        10,
        &[(0.0, 0.1), (180.0, 0.2), (1619.0, 0.9), (1620.0, 1.0)],
    ),
    (
        "Linear10PercentEvery10Minutes",
        5400.0,
        6000.0,
        10,
        &[(0.0, 0.1), (600.0, 0.2), (5399.0, 0.9), (5400.0, 1.0)],
    ),
    (
        "AllAtOnce",
        0.0,
        0.0,
        1,
        &[(-0.001, 0.0), (0.0, 1.0), (10.0, 1.0)],
    ),
];

#[test]
fn predefined_schedules_follow_their_timelines() {
    for (name, full, total, n_steps, probes) in PREDEFINED_TIMELINES {
        for input in [
            name.to_owned(),
            format!("{FULL_NAME_PREFIX}{name}"),
            name.to_ascii_uppercase(),
        ] {
            let s = Schedule::parse(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(s.name(), name);
            assert_eq!(s.full_shift_at(), full, "{name} full shift");
            assert_eq!(s.total_duration(), total, "{name} total");
            assert_eq!(s.steps().len(), n_steps, "{name} steps");
            for &(t, share) in probes {
                let got = s.expected_share(t);
                assert!(
                    (got - share).abs() < 1e-12,
                    "{name} at {t}: {got} != {share}"
                );
            }
            let last = s.steps().last().unwrap();
            assert_eq!(
                (last.start, last.end, last.share),
                (full, total, 1.0),
                "{name}"
            );
        }
    }
}

#[test]
fn steps_are_contiguous_and_indexed() {
    for name in PREDEFINED {
        let s: Schedule = name.parse().unwrap();
        for (i, pair) in s.steps().windows(2).enumerate() {
            assert_eq!(pair[0].index, i);
            assert_eq!(pair[0].end, pair[1].start, "{name}");
            assert!(pair[0].share < pair[1].share, "{name}");
        }
        assert_eq!(s.steps()[0].start, 0.0);
    }
}

#[test]
fn custom_schedules_parse() {
    // (input, kind, full shift, total, shares)
    let table: [(&str, ScheduleKind, f64, f64, &[f64]); 6] = [
        (
            "linear:20%:30s",
            ScheduleKind::Linear {
                percent: 20.0,
                interval_secs: 30.0,
            },
            120.0,
            150.0,
            &[0.2, 0.4, 0.6, 0.8, 1.0],
        ),
        (
            "canary:25%:45m",
            ScheduleKind::Canary {
                percent: 25.0,
                interval_secs: 2700.0,
            },
            2700.0,
            2700.0,
            &[0.25, 1.0],
        ),
        (
            "Linear:30%:1m",
            ScheduleKind::Linear {
                percent: 30.0,
                interval_secs: 60.0,
            },
            180.0,
            240.0,
            &[0.3, 0.6, 0.9, 1.0],
        ),
        (
            "canary:5:1.5s",
            ScheduleKind::Canary {
                percent: 5.0,
                interval_secs: 1.5,
            },
            1.5,
            1.5,
            &[0.05, 1.0],
        ),
        (
            " linear: 50% : 2h ",
            ScheduleKind::Linear {
                percent: 50.0,
                interval_secs: 7200.0,
            },
            7200.0,
            14400.0,
            &[0.5, 1.0],
        ),
        (
            "linear:33.5%:10s",
            ScheduleKind::Linear {
                percent: 33.5,
                interval_secs: 10.0,
            },
            20.0,
            30.0,
            &[0.335, 0.67, 1.0],
        ),
    ];
    for (input, kind, full, total, shares) in table {
        let s = Schedule::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(s.kind(), kind, "{input}");
        assert_eq!(s.full_shift_at(), full, "{input}");
        assert_eq!(s.total_duration(), total, "{input}");
        let got: Vec<f64> = s.steps().iter().map(|st| st.share).collect();
        assert_eq!(got.len(), shares.len(), "{input}: {got:?}");
        for (g, e) in got.iter().zip(shares) {
            assert!((g - e).abs() < 1e-12, "{input}: {got:?}");
        }
    }
}

#[test]
fn bad_schedules_say_what_is_wrong() {
    // (input, a fragment the message must contain)
    let table = [
        (
            "Linear10PercentEvery5Minutes",
            "Linear10PercentEvery1Minute",
        ),
        (
            "Linear10PercentEvery5Minutes",
            "canary:<percent>%:<interval>",
        ),
        ("", "unknown schedule"),
        (
            "canary:0%:5m",
            "percent \"0%\" must be a number in (0, 100)",
        ),
        ("canary:100%:5m", "(0, 100)"),
        ("linear:-5%:5m", "(0, 100)"),
        ("linear:ten%:5m", "\"ten%\""),
        ("linear:10%:0s", "greater than zero"),
        ("linear:10%:5", "needs a unit"),
        ("linear:10%:5d", "unknown unit"),
        ("linear:10%:abcs", "not a number"),
        ("linear:10%", "exactly three parts"),
        ("linear:10%:5m:extra", "exactly three parts"),
    ];
    for (input, fragment) in table {
        let err = Schedule::parse(input).expect_err(input).to_string();
        assert!(err.contains(fragment), "{input:?}: {err}");
        assert!(
            err.contains(&format!("{input:?}")) || input.is_empty(),
            "names the input: {err}"
        );
    }
}

#[test]
fn time_scaling_divides_durations_and_notes_the_factor() {
    let s = Schedule::parse("Linear10PercentEvery1Minute").unwrap();
    let fast = s.time_scaled(60.0).unwrap();
    assert_eq!(fast.name(), "Linear10PercentEvery1Minute x60");
    assert_eq!(fast.full_shift_at(), 9.0);
    assert_eq!(fast.total_duration(), 10.0);
    assert_eq!(fast.expected_share(1.5), 0.2);
    assert_eq!(fast.steps().len(), s.steps().len());
    let canary = Schedule::parse("Canary10Percent5Minutes")
        .unwrap()
        .time_scaled(30.0)
        .unwrap();
    assert_eq!(canary.full_shift_at(), 10.0);
    for factor in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let err = s.time_scaled(factor).expect_err("bad factor").to_string();
        assert!(err.contains("greater than 0"), "{err}");
    }
}

#[test]
fn constructors_validate_like_the_parser() {
    assert!(Schedule::linear(10.0, 60.0).is_ok());
    assert!(Schedule::canary(0.0, 60.0).is_err());
    assert!(Schedule::linear(10.0, 0.0).is_err());
    assert_eq!(Schedule::all_at_once().steps().len(), 1);
    assert_eq!(
        Schedule::canary(10.0, 300.0).unwrap(),
        Schedule::canary(10.0, 300.0).unwrap()
    );
}

proptest::proptest! {
    #[test]
    fn custom_linear_shares_rise_to_one_at_the_full_shift(percent in 0.5f64..99.5, interval in 0.1f64..7200.0) {
        let s = Schedule::linear(percent, interval).unwrap();
        let mut previous = 0.0;
        for step in s.steps() {
            proptest::prop_assert!(step.share > previous && step.share <= 1.0);
            proptest::prop_assert!((step.share - (percent * (step.index + 1) as f64 / 100.0).min(1.0)).abs() < 1e-9);
            proptest::prop_assert_eq!(s.expected_share(step.start), step.share);
            previous = step.share;
        }
        proptest::prop_assert_eq!(previous, 1.0);
        proptest::prop_assert_eq!(s.expected_share(s.full_shift_at()), 1.0);
        proptest::prop_assert!(s.expected_share(s.full_shift_at() - interval / 2.0) < 1.0);
        proptest::prop_assert!((s.total_duration() - s.full_shift_at() - interval).abs() < 1e-9);
    }
}
