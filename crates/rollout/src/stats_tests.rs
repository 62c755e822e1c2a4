use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

use super::*;

fn histogram(values: &[u64]) -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, 60_000_000, 3).unwrap();
    for &v in values {
        h.record(v).unwrap();
    }
    h
}

#[test]
fn wilson_matches_published_values() {
    // (successes, n, confidence, low, high): standard textbook values.
    let table = [
        (5, 10, 0.95, 0.2366, 0.7634),
        (0, 10, 0.95, 0.0, 0.2775),
        (10, 10, 0.95, 0.7225, 1.0),
        (1, 100, 0.95, 0.0018, 0.0545),
    ];
    for (k, n, c, low, high) in table {
        let (l, h) = wilson_interval(k, n, c);
        assert!(
            (l - low).abs() < 5e-4 && (h - high).abs() < 5e-4,
            "{k}/{n}: ({l}, {h})"
        );
    }
    assert_eq!(wilson_interval(0, 0, 0.95), (0.0, 1.0));
    let (narrow, _) = wilson_interval(50, 100, 0.9);
    let (wide, _) = wilson_interval(50, 100, 0.999);
    assert!(wide < narrow, "higher confidence gives a wider interval");
}

#[test]
fn summarize_reports_milliseconds() {
    let h = histogram(&[1_000, 2_000, 3_000, 4_000, 100_000]);
    let s = summarize(&h);
    assert_eq!(s.count, 5);
    assert!((s.p50 - 3.0).abs() < 0.01, "{s:?}");
    assert!((s.max - 100.0).abs() < 0.1, "{s:?}");
    assert!((s.mean - 22.0).abs() < 0.1, "{s:?}");
    assert_eq!(summarize(&histogram(&[])), LatencySummary::default());
}

#[test]
fn histograms_round_trip_and_merge_losslessly() {
    let a = histogram(&[100, 250, 250, 9_000_000]);
    let b = histogram(&[7, 250]);
    let decoded_a = decode_histogram(&encode_histogram(&a)).unwrap();
    assert_eq!(decoded_a, a);
    let mut merged = decoded_a;
    merged
        .add(decode_histogram(&encode_histogram(&b)).unwrap())
        .unwrap();
    assert_eq!(merged.len(), 6);
    assert_eq!(merged.count_at(250), 3);
    let err = decode_histogram("not base64!").unwrap_err().to_string();
    assert!(err.contains("base64"), "{err}");
    let err = decode_histogram("AAAA").unwrap_err().to_string();
    assert!(err.contains("HdrHistogram"), "{err}");
}

#[test]
fn mann_whitney_matches_a_hand_computed_example() {
    // old 1,2,3,4 and new 3,5,6: ranks 1,2,3.5 | 3.5,5 | 6,7 -> R_new = 16.5, U = 10.5,
    // one tie of 2; var = 4*3/12 * (8 - 6/42); z = (4.5 - 0.5) / sqrt(var) = 1.42701.
    let c = compare_latency(&histogram(&[1, 2, 3, 4]), &histogram(&[3, 5, 6])).unwrap();
    assert_eq!((c.old_count, c.new_count), (4, 3));
    assert_eq!(c.u, 10.5);
    assert_eq!(c.prob_new_slower, 0.875);
    assert!((c.p_value - 0.153_576_4).abs() < 1e-6, "{}", c.p_value);
    assert!(!c.new_slower, "not significant");
    assert!(compare_latency(&histogram(&[]), &histogram(&[1])).is_none());
    assert!(compare_latency(&histogram(&[1]), &histogram(&[])).is_none());
}

/// U and p-value by sorting every value, the textbook way.
fn brute_force(old: &[u64], new: &[u64]) -> (f64, f64) {
    let mut all: Vec<(u64, bool)> = old
        .iter()
        .map(|&v| (v, false))
        .chain(new.iter().map(|&v| (v, true)))
        .collect();
    all.sort();
    let (mut r_new, mut ties, mut i) = (0.0, 0.0, 0);
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let mid = (i + 1 + j) as f64 / 2.0;
        r_new += all[i..j].iter().filter(|x| x.1).count() as f64 * mid;
        let t = (j - i) as f64;
        ties += t * t * t - t;
        i = j;
    }
    let (n1, n2) = (old.len() as f64, new.len() as f64);
    let u = r_new - n2 * (n2 + 1.0) / 2.0;
    let n = n1 + n2;
    let sd = (n1 * n2 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)))).sqrt();
    let z = ((u - n1 * n2 / 2.0).abs() - 0.5).max(0.0) / sd;
    (u, 2.0 * (1.0 - Normal::standard().cdf(z)))
}

#[test]
fn mann_whitney_matches_brute_force_ranks_on_random_samples() {
    for seed in 0..20 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let shift = rng.random_range(0..50);
        // Values below 2048 are exact at 3 significant digits, so the histogram loses nothing.
        let old: Vec<u64> = (0..rng.random_range(5..400))
            .map(|_| rng.random_range(1..1000))
            .collect();
        let new: Vec<u64> = (0..rng.random_range(5..400))
            .map(|_| rng.random_range(1..1000) + shift)
            .collect();
        let c = compare_latency(&histogram(&old), &histogram(&new)).unwrap();
        let (u, p) = brute_force(&old, &new);
        assert!((c.u - u).abs() < 1e-6, "seed {seed}: {} vs {u}", c.u);
        assert!(
            (c.p_value - p).abs() < 1e-9,
            "seed {seed}: {} vs {p}",
            c.p_value
        );
    }
}

#[test]
fn a_clearly_slower_new_version_is_flagged_and_a_tiny_shift_is_not() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let old: Vec<u64> = (0..5000)
        .map(|_| rng.random_range(10_000..20_000))
        .collect();
    let slower: Vec<u64> = (0..5000)
        .map(|_| rng.random_range(12_000..22_000))
        .collect();
    let c = compare_latency(&histogram(&old), &histogram(&slower)).unwrap();
    assert!(c.new_slower && c.prob_new_slower > 0.6, "{c:?}");
    // Shifted by 1% of the spread: significant with huge samples, but below the effect size.
    let old: Vec<u64> = (0..200_000)
        .map(|_| rng.random_range(10_000..20_000))
        .collect();
    let nudged: Vec<u64> = (0..200_000)
        .map(|_| rng.random_range(10_100..20_100))
        .collect();
    let c = compare_latency(&histogram(&old), &histogram(&nudged)).unwrap();
    assert!(c.p_value < NEW_SLOWER_P_VALUE && !c.new_slower, "{c:?}");
}

proptest::proptest! {
    #[test]
    fn wilson_interval_holds_the_observed_share(n in 1u64..100_000, k_frac in 0.0f64..=1.0, confidence in 0.5f64..0.99999) {
        let k = ((n as f64) * k_frac).round() as u64;
        let (low, high) = wilson_interval(k, n, confidence);
        let p = k as f64 / n as f64;
        proptest::prop_assert!(0.0 <= low && low <= p + 1e-12 && p <= high + 1e-12 && high <= 1.0);
    }
}

#[test]
fn wilson_bounds_are_exactly_0_and_1_at_the_extremes() {
    // Rounding used to leave the lower bound of 0 successes a hair above 0 (and the upper bound
    // of n successes a hair below 1), so a share of exactly 0 or 1 fell outside its own interval.
    for n in [1_u64, 7, 180, 1_147, 100_003] {
        for c in [0.9, 0.995, 0.999_999] {
            assert_eq!(wilson_interval(0, n, c).0, 0.0, "0 of {n} at {c}");
            assert_eq!(wilson_interval(n, n, c).1, 1.0, "{n} of {n} at {c}");
        }
    }
}

#[test]
fn share_p_value_inverts_the_exact_interval() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..2_000 {
        let n = rng.random_range(1..5_000_u64);
        let k = rng.random_range(0..=n);
        let p0 = rng.random_range(0.01..0.99);
        let confidence = rng.random_range(0.5..0.9999);
        let (low, high) = exact_interval(k, n, confidence);
        let inside = low <= p0 && p0 <= high;
        let p = share_p_value(k, n, p0, p0);
        // Away from the boundary (where rounding decides) the two must agree.
        let margin = ((p - (1.0 - confidence)) / (1.0 - confidence)).abs();
        if margin > 1e-6 {
            assert_eq!(
                inside,
                p >= 1.0 - confidence,
                "{k}/{n} vs {p0} at {confidence}: p {p}, ({low}, {high})"
            );
        }
    }
    // Inside the range: 1; beyond a certain end: 0.
    assert_eq!(share_p_value(30, 100, 0.25, 0.35), 1.0);
    assert_eq!(share_p_value(1, 500, 0.0, 0.0), 0.0);
    assert_eq!(share_p_value(499, 500, 1.0, 1.0), 0.0);
    assert_eq!(share_p_value(0, 500, 0.0, 0.0), 1.0);
}

#[test]
fn holm_steps_down_and_reports_the_level_of_each_decision() {
    // m = 4 at alpha 0.05: 0.001 < 0.0125, 0.015 < 0.0167, 0.03 >= 0.025 stops.
    let d = holm(&[0.03, 0.001, 0.5, 0.015], 0.05);
    assert_eq!(
        d,
        vec![
            (false, 0.025),
            (true, 0.0125),
            (false, 0.025),
            (true, 0.05 / 3.0)
        ]
    );
    // Holm rejects what Bonferroni rejects, and more.
    let d = holm(&[0.012, 0.012], 0.05);
    assert!(d.iter().all(|x| x.0), "{d:?}");
    assert!(holm(&[], 0.05).is_empty());
}

/// The fraction of 4,000 binomial draws of `n` at `share` that the share test rejects at
/// `alpha` against `expected` (draws by inverting the exact binomial CDF).
fn rejection_rate(rng: &mut ChaCha8Rng, share: f64, expected: f64, n: u64, alpha: f64) -> f64 {
    use statrs::distribution::{Binomial, DiscreteCDF};
    let binomial = Binomial::new(share, n).unwrap();
    let cdf: Vec<f64> = (0..=n).map(|k| binomial.cdf(k)).collect();
    let runs = 4_000;
    let rejected = (0..runs)
        .filter(|_| {
            let u = rng.random::<f64>();
            let k = cdf.partition_point(|&c| c < u).min(n as usize) as u64;
            share_p_value(k, n, expected, expected) < alpha
        })
        .count();
    rejected as f64 / runs as f64
}

#[test]
fn the_min_detectable_deviation_is_detected_with_the_stated_power() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let alpha = 0.005 / 9.0;
    for (expected, n) in [(0.3, 560_u64), (0.5, 300), (0.1, 2_800)] {
        let d = min_detectable_deviation(expected, 0.0, n, alpha, 0.95);
        // 4,000 runs: the rejection rate's standard error at 0.95 is 0.0034; allow 4 of them
        // and the normal approximation's own error (a point).
        for share in [expected - d, expected + d]
            .into_iter()
            .filter(|s| (0.0..=1.0).contains(s))
        {
            let rate = rejection_rate(&mut rng, share, expected, n, alpha);
            assert!(
                rate >= 0.95 - 0.014 - 0.01,
                "{expected} at n {n}, share {share}: {rate}"
            );
        }
        // Half of it is detected far less often.
        let half = rejection_rate(&mut rng, expected - d / 2.0, expected, n, alpha);
        assert!(half < 0.5, "{expected}: half the deviation detected {half}");
    }
    // More requests, smaller deviations; none at all, nothing detectable.
    let small = min_detectable_deviation(0.5, 0.0, 3_000, alpha, 0.95);
    let large = min_detectable_deviation(0.5, 0.0, 300, alpha, 0.95);
    assert!(
        small < large / 3.0 && small > large / 3.3,
        "{small} vs {large}"
    );
    assert_eq!(min_detectable_deviation(0.5, 0.0, 0, alpha, 0.95), 1.0);
    // A certain share: one response of the other version is enough.
    let certain = min_detectable_deviation(1.0, 0.0, 1_000, alpha, 0.95);
    assert!(
        (1.0 - (1.0 - certain).powi(1_000) - 0.95).abs() < 1e-9,
        "{certain}"
    );
    // The tolerance adds to what must be seen.
    assert!(min_detectable_deviation(0.5, 0.02, 3_000, alpha, 0.95) > small + 0.019);
}

#[test]
fn requests_to_detect_is_the_smallest_sufficient_size() {
    let alpha = 0.005 / 9.0;
    let n = requests_to_detect(0.5, 0.05, 0.0, alpha, 0.95);
    assert!(min_detectable_deviation(0.5, 0.0, n, alpha, 0.95) <= 0.05);
    assert!(min_detectable_deviation(0.5, 0.0, n - 1, alpha, 0.95) > 0.05);
    // (z_alpha + z_power)^2 p(1-p) / d^2 with z = 3.45 and 1.645: about 2,600.
    assert!((2_400..2_800).contains(&n), "{n}");
}
