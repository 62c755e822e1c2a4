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
