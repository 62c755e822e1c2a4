use super::*;

fn sample(ms: u64, outcome: Outcome<'_>) -> Sample<'_> {
    Sample {
        sent_at: Duration::from_millis(ms),
        lag: Duration::from_micros(100),
        corrected: Duration::from_millis(5),
        uncorrected: Duration::from_millis(4),
        late: false,
        outcome,
    }
}

#[test]
fn shard_counts_versions_errors_and_bins() {
    let mut s = Shard::new(10_000_000);
    let ok = |v| Outcome::Response {
        status: 200,
        version: v,
        cold: false,
        function_error: false,
        ttfb: Duration::from_millis(3),
        truncated: false,
        version_cut: false,
    };
    s.record(&sample(10, ok(Some("1"))));
    s.record(&sample(
        20,
        Outcome::Response {
            status: 503,
            version: Some("2"),
            cold: true,
            function_error: false,
            ttfb: Duration::from_millis(3),
            truncated: false,
            version_cut: false,
        },
    ));
    s.record(&sample(150, ok(None)));
    s.record(&sample(160, Outcome::Failed(FailKind::Connect)));
    s.record(&sample(
        170,
        Outcome::Response {
            status: 404,
            version: Some("1"),
            cold: false,
            function_error: false,
            ttfb: Duration::from_millis(3),
            truncated: false,
            version_cut: false,
        },
    ));
    assert_eq!((s.sent, s.responses), (5, 4));
    assert_eq!(s.errors, [0, 1, 0, 0, 1, 1, 0, 0, 0]);
    let labels: Vec<_> = s.versions.iter().map(|v| v.label.as_str()).collect();
    assert_eq!(labels, ["1", "2", UNTAGGED]);
    assert_eq!(s.versions[1].cold_starts, 1);
    assert_eq!(s.versions[1].errors, 1);
    assert_eq!(s.versions[0].statuses, vec![(200, 1), (404, 1)]);
    assert_eq!(s.versions[0].corrected.len(), 2);
    assert_eq!(s.bin_count(0, 0), 1);
    assert_eq!(s.bin_count(0, 1), 1);
    assert_eq!(s.bin_count(0, SLOT_ERROR), 1);
    assert_eq!(s.bin_count(1, SLOT_UNTAGGED), 1);
    assert_eq!(s.bin_count(1, SLOT_ERROR), 1);
    assert_eq!(s.bin_count(1, 0), 1);
    s.reset();
    assert_eq!(s.sent, 0);
    assert!(s.bins.is_empty() && s.versions[0].corrected.is_empty());
}

#[test]
fn function_errors_count_like_5xx() {
    let mut s = Shard::new(10_000_000);
    let invoke = |function_error, status| Outcome::Response {
        status,
        version: Some("2"),
        cold: false,
        function_error,
        ttfb: Duration::from_millis(3),
        truncated: false,
        version_cut: false,
    };
    s.record(&sample(10, invoke(true, 200)));
    s.record(&sample(20, invoke(false, 200)));
    s.record(&sample(30, invoke(true, 502)));
    assert_eq!(s.errors[KIND_FUNCTION_ERROR], 1);
    assert_eq!(
        s.errors[KIND_5XX], 1,
        "a 5xx is a 5xx, function error or not"
    );
    assert_eq!(s.versions[0].errors, 2);
    assert_eq!(s.bin_count(0, SLOT_ERROR), 2);
    assert_eq!(s.bin_count(0, 0), 3, "the version served all three");
    assert!(ERROR_RATE_KINDS.contains(&KIND_FUNCTION_ERROR));
    assert_eq!(ERROR_KINDS[KIND_FUNCTION_ERROR], "function_error");
}

#[test]
fn recorder_drains_each_shard_once() {
    let r = Recorder::new(3, 1_000_000);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| r.record(&sample(2, Outcome::Failed(FailKind::Connect))));
        }
    });
    for _ in 0..9 {
        r.record(&sample(1, Outcome::Failed(FailKind::Timeout)));
    }
    let mut total = 0;
    r.drain(|s| total += s.sent);
    assert_eq!(total, 13, "samples of every thread");
    let mut again = 0;
    r.drain(|s| again += s.sent);
    assert_eq!(again, 0);
}

#[test]
fn versions_beyond_the_cap_are_counted_together() {
    let r = Recorder::with_max_versions(3, 1_000_000, 4);
    let labels: Vec<String> = (0..1000).map(|i| format!("v{i}")).collect();
    std::thread::scope(|scope| {
        for chunk in labels.chunks(250) {
            let r = &r;
            scope.spawn(move || {
                for label in chunk {
                    r.record(&sample(
                        5,
                        Outcome::Response {
                            status: 200,
                            version: Some(label),
                            cold: false,
                            function_error: false,
                            ttfb: Duration::from_millis(3),
                            truncated: false,
                            version_cut: false,
                        },
                    ));
                }
            });
        }
    });
    let (mut tracked, mut other, mut kept) = (0, 0, std::collections::BTreeSet::new());
    r.drain(|s| {
        for v in &s.versions {
            tracked += v.requests;
            kept.insert(v.label.clone());
        }
        other += s.other.requests;
    });
    assert_eq!(kept.len(), 4, "{kept:?}");
    assert_eq!((tracked, other), (4, 996));
}

#[test]
fn long_labels_are_bounded_and_stay_distinct() {
    let a = format!("{}a", "x".repeat(1000));
    let b = format!("{}b", "x".repeat(1000));
    let (la, lb) = (version_label(&a), version_label(&b));
    assert!(la.len() <= MAX_LABEL_BYTES && lb.len() <= MAX_LABEL_BYTES);
    assert_ne!(la, lb);
    assert_eq!(version_label("7"), "7");
    let multibyte = "é".repeat(1000);
    assert!(version_label(&multibyte).len() <= MAX_LABEL_BYTES);
}

#[test]
fn histograms_grow_past_their_initial_bound() {
    let mut h = new_histogram(1000);
    record_us(&mut h, Duration::from_secs(30));
    assert_eq!(h.len(), 1);
    assert!(h.max() >= 29_000_000);
}

#[test]
fn ttfb_and_cut_bodies_are_counted_per_version() {
    let mut s = Shard::new(10_000_000);
    let streamed = |version, truncated, version_cut| Outcome::Response {
        status: 200,
        version,
        cold: false,
        function_error: false,
        ttfb: Duration::from_millis(2),
        truncated,
        version_cut,
    };
    s.record(&sample(10, streamed(Some("1"), true, false)));
    s.record(&sample(20, streamed(Some("1"), false, false)));
    s.record(&sample(30, streamed(None, true, true)));
    assert_eq!((s.body_truncated, s.version_cut), (2, 1));
    assert_eq!(
        s.errors,
        [0; ERROR_KINDS.len()],
        "a cut body is not an error"
    );
    let v = &s.versions[0];
    assert_eq!((v.requests, v.body_truncated), (2, 1));
    assert_eq!(v.ttfb.len(), 2);
    assert!((1990..=2010).contains(&v.ttfb.value_at_quantile(0.5)));
    assert!(
        v.corrected.value_at_quantile(0.5) >= 4900,
        "total latency apart"
    );
    s.reset();
    assert_eq!((s.body_truncated, s.version_cut), (0, 0));
    assert!(s.versions[0].ttfb.is_empty());
}
