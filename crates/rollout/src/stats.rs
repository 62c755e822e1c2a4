//! Statistics: Wilson and exact intervals and tests for shares, Holm's procedure, minimum
//! detectable deviations, latency summaries, lossless histogram encoding, and
//! a Mann-Whitney U comparison of two latency histograms.
//!
//! Latency histograms hold **microseconds**; summaries and comparisons report **milliseconds**.

use std::io::Cursor;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use statrs::distribution::{Beta, Binomial, ContinuousCDF, DiscreteCDF, Normal};

use crate::report::{LatencyComparison, LatencySummary};

/// p-value below which [`compare_latency`] may call the new version slower.
pub const NEW_SLOWER_P_VALUE: f64 = 0.01;

/// Effect size above which [`compare_latency`] may call the new version slower: the probability
/// that a random new-version latency exceeds a random old-version one (the Vargha-Delaney A, or
/// common-language effect size). 0.56 is the conventional threshold of a "small" effect
/// (Vargha & Delaney 2000); it keeps large samples from flagging differences nobody would notice.
pub const NEW_SLOWER_MIN_EFFECT: f64 = 0.56;

/// Why a histogram could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum HistogramCodecError {
    /// The text is not standard base64.
    #[error("histogram is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The bytes are not an HdrHistogram V2 (deflate) encoding.
    #[error("histogram is not a valid HdrHistogram V2 encoding: {0:?}")]
    Hdr(hdrhistogram::serialization::DeserializeError),
}

/// The standard normal quantile for a two-sided interval at `confidence`.
fn two_sided_z(confidence: f64) -> f64 {
    let alpha = (1.0 - confidence).clamp(1e-300, 1.0);
    standard_normal().inverse_cdf(1.0 - alpha / 2.0)
}

fn standard_normal() -> Normal {
    Normal::standard()
}

/// Wilson score interval `(low, high)` for `successes` out of `n` at two-sided `confidence`
/// (e.g. 0.999). With `n == 0` the interval is `(0, 1)`.
pub fn wilson_interval(successes: u64, n: u64, confidence: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n_f = n as f64;
    let p = successes.min(n) as f64 / n_f;
    let z = two_sided_z(confidence);
    let z2 = z * z;
    let denom = 1.0 + z2 / n_f;
    let centre = (p + z2 / (2.0 * n_f)) / denom;
    let half = z / denom * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    // At 0 or n successes the bound on that side is exactly 0 or 1; the formula leaves rounding
    // noise there, which would put a share of exactly 0 or 1 outside its own interval.
    let low = if successes == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let high = if successes >= n {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    (low, high)
}

/// Exact (Clopper-Pearson) interval `(low, high)` for `successes` out of `n` at two-sided
/// `confidence`: the shares the exact binomial test of [`share_p_value`] does not reject at
/// `1 - confidence`. With `n == 0` the interval is `(0, 1)`.
pub fn exact_interval(successes: u64, n: u64, confidence: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let k = successes.min(n) as f64;
    let n_f = n as f64;
    let tail = (1.0 - confidence).clamp(1e-300, 1.0) / 2.0;
    let low = if successes == 0 {
        0.0
    } else {
        Beta::new(k, n_f - k + 1.0).map_or(0.0, |b| b.inverse_cdf(tail))
    };
    let high = if successes >= n {
        1.0
    } else {
        Beta::new(k + 1.0, n_f - k).map_or(1.0, |b| b.inverse_cdf(1.0 - tail))
    };
    (low, high)
}

/// Two-sided exact binomial p-value of `successes` out of `n` against the null "the share
/// lies in `[low, high]`" (clamped to `[0, 1]`): 1 when the observed share lies in the range,
/// else twice the binomial tail beyond the observation at the nearest end (at most 1). An end
/// at exactly 0 or 1 cannot produce the other outcome, so a share beyond it has p-value 0.
pub fn share_p_value(successes: u64, n: u64, low: f64, high: f64) -> f64 {
    if n == 0 {
        return 1.0;
    }
    let (low, high) = (low.clamp(0.0, 1.0), high.clamp(0.0, 1.0));
    let k = successes.min(n);
    let observed = k as f64 / n as f64;
    let (nearest, below) = if observed < low {
        (low, true)
    } else if observed > high {
        (high, false)
    } else {
        return 1.0;
    };
    if nearest <= 0.0 || nearest >= 1.0 {
        return 0.0;
    }
    let Ok(binomial) = Binomial::new(nearest, n) else {
        return 1.0;
    };
    let tail = if below {
        binomial.cdf(k)
    } else {
        // P(X >= k) with k >= 1 here (the observed share exceeds an end above 0).
        binomial.sf(k - 1)
    };
    (2.0 * tail).clamp(0.0, 1.0)
}

/// Holm's step-down procedure at family-wise level `alpha`: for each p-value, whether it is
/// rejected and the level it was judged at (`alpha / (m - rank)` for a rejected one, the level
/// at which the procedure stopped for the others).
pub fn holm(p_values: &[f64], alpha: f64) -> Vec<(bool, f64)> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut out = vec![(false, 0.0); m];
    let mut rejected = 0;
    for &i in &order {
        let level = alpha / (m - rejected) as f64;
        if p_values[i] >= level {
            break;
        }
        out[i] = (true, level);
        rejected += 1;
    }
    let stop = if rejected < m {
        alpha / (m - rejected) as f64
    } else {
        alpha
    };
    for o in out.iter_mut().filter(|o| !o.0) {
        o.1 = stop;
    }
    out
}

/// The smallest deviation from `expected` that a two-sided test of the share at level `alpha`
/// with slack `tolerance` on `n` requests detects with probability `power`, in whichever
/// direction is harder (normal approximation; a direction in which even the largest possible
/// deviation is not detected counts as that largest deviation). With `expected` at 0 or 1 and no
/// tolerance, one response of the other version is detected: `1 - (1 - power)^(1/n)`.
/// With `n == 0`, 1.
pub fn min_detectable_deviation(
    expected: f64,
    tolerance: f64,
    n: u64,
    alpha: f64,
    power: f64,
) -> f64 {
    if n == 0 {
        return 1.0;
    }
    let expected = expected.clamp(0.0, 1.0);
    let (low, high) = (
        (expected - tolerance).max(0.0),
        (expected + tolerance).min(1.0),
    );
    if low == high && (low == 0.0 || low == 1.0) {
        return 1.0 - (1.0 - power).powf(1.0 / n as f64);
    }
    let n_f = n as f64;
    let se = |p: f64| (p * (1.0 - p) / n_f).sqrt();
    let z_alpha = two_sided_z(1.0 - alpha);
    let z_power = standard_normal().inverse_cdf(power.clamp(1e-9, 1.0 - 1e-9));
    // Probability of rejecting when the true share is `end` ± `delta` beyond the null's end.
    let detects = |end: f64, beyond: f64| {
        let critical = z_alpha * se(end);
        let spread = se(beyond);
        let margin = (beyond - end).abs() - critical;
        if spread == 0.0 {
            return margin > 0.0;
        }
        margin / spread >= z_power
    };
    let mut hardest: f64 = 0.0;
    for (end, room, sign) in [(high, 1.0 - expected, 1.0), (low, expected, -1.0)] {
        if end <= 0.0 || end >= 1.0 || room <= tolerance {
            continue;
        }
        let at = |delta: f64| expected + sign * delta;
        if !detects(end, at(room)) {
            hardest = hardest.max(room);
            continue;
        }
        let (mut lo, mut hi) = (tolerance, room);
        for _ in 0..60 {
            let mid = (lo + hi) / 2.0;
            if detects(end, at(mid)) {
                hi = mid
            } else {
                lo = mid
            }
        }
        hardest = hardest.max(hi);
    }
    hardest
}

/// Requests a step at `expected` needs for [`min_detectable_deviation`] to be at most
/// `deviation` (at most 10^9).
pub fn requests_to_detect(
    expected: f64,
    deviation: f64,
    tolerance: f64,
    alpha: f64,
    power: f64,
) -> u64 {
    let fits = |n: u64| min_detectable_deviation(expected, tolerance, n, alpha, power) <= deviation;
    let (mut lo, mut hi) = (1_u64, 1_000_000_000_u64);
    if !fits(hi) {
        return hi;
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) { hi = mid } else { lo = mid + 1 }
    }
    lo
}

/// Percentiles of a latency histogram (values in microseconds), in milliseconds.
/// An empty histogram gives all zeros.
pub fn summarize(histogram: &Histogram<u64>) -> LatencySummary {
    if histogram.is_empty() {
        return LatencySummary::default();
    }
    let ms = |us: u64| us as f64 / 1000.0;
    LatencySummary {
        count: histogram.len(),
        mean: histogram.mean() / 1000.0,
        p50: ms(histogram.value_at_quantile(0.5)),
        p90: ms(histogram.value_at_quantile(0.9)),
        p99: ms(histogram.value_at_quantile(0.99)),
        p999: ms(histogram.value_at_quantile(0.999)),
        max: ms(histogram.max()),
    }
}

/// Encodes a histogram losslessly: HdrHistogram V2 deflate serialization, standard base64.
///
/// # Panics
/// Only if a count exceeds `i64::MAX`, which the V2 format cannot represent.
pub fn encode_histogram(histogram: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(histogram, &mut bytes)
        .expect("histogram counts fit the V2 format");
    STANDARD.encode(bytes)
}

/// Decodes a histogram written by [`encode_histogram`] (or any HdrHistogram V2 / V2-deflate
/// encoding in standard base64).
pub fn decode_histogram(text: &str) -> Result<Histogram<u64>, HistogramCodecError> {
    let bytes = STANDARD.decode(text.trim())?;
    Deserializer::new()
        .deserialize(&mut Cursor::new(bytes))
        .map_err(HistogramCodecError::Hdr)
}

/// Mann-Whitney U comparison of the new version's latency with the old one's, computed exactly
/// from the two histograms (values equal after HdrHistogram's bucketing count as ties and get
/// mid-ranks; normal approximation with tie and continuity correction).
///
/// `None` when either histogram is empty. The new version is called slower when the two-sided
/// p-value is below [`NEW_SLOWER_P_VALUE`] and the probability that a new latency exceeds an
/// old one is above [`NEW_SLOWER_MIN_EFFECT`].
pub fn compare_latency(old: &Histogram<u64>, new: &Histogram<u64>) -> Option<LatencyComparison> {
    if old.is_empty() || new.is_empty() {
        return None;
    }
    let ranks = RankSums::from_sorted(merge_counts(old, new));
    let n_old = old.len() as f64;
    let n_new = new.len() as f64;
    let u = ranks.new_rank_sum - n_new * (n_new + 1.0) / 2.0;
    let prob_new_slower = u / (n_old * n_new);
    let p_value = ranks.p_value(u, n_old, n_new);
    Some(LatencyComparison {
        old_count: old.len(),
        new_count: new.len(),
        u,
        prob_new_slower,
        p_value,
        old_p50_ms: old.value_at_quantile(0.5) as f64 / 1000.0,
        new_p50_ms: new.value_at_quantile(0.5) as f64 / 1000.0,
        new_slower: p_value < NEW_SLOWER_P_VALUE && prob_new_slower > NEW_SLOWER_MIN_EFFECT,
    })
}

/// `(value, old count, new count)` for every recorded value of either histogram, ascending.
fn merge_counts(old: &Histogram<u64>, new: &Histogram<u64>) -> Vec<(u64, u64, u64)> {
    let mut merged: Vec<(u64, u64, u64)> = Vec::new();
    let mut a = old
        .iter_recorded()
        .map(|v| (v.value_iterated_to(), v.count_at_value()))
        .peekable();
    let mut b = new
        .iter_recorded()
        .map(|v| (v.value_iterated_to(), v.count_at_value()))
        .peekable();
    loop {
        let next = match (a.peek().copied(), b.peek().copied()) {
            (None, None) => break,
            (Some((va, ca)), Some((vb, cb))) if va == vb => {
                a.next();
                b.next();
                (va, ca, cb)
            }
            (Some((va, ca)), Some((vb, _))) if va < vb => {
                a.next();
                (va, ca, 0)
            }
            (Some((va, ca)), None) => {
                a.next();
                (va, ca, 0)
            }
            (_, Some((vb, cb))) => {
                b.next();
                (vb, 0, cb)
            }
        };
        match merged.last_mut() {
            // Histograms with different precision may report the same value twice.
            Some(last) if last.0 == next.0 => {
                last.1 += next.1;
                last.2 += next.2;
            }
            _ => merged.push(next),
        }
    }
    merged
}

/// Rank sum of the new sample and the tie term, from grouped counts in ascending value order.
#[derive(Debug)]
struct RankSums {
    new_rank_sum: f64,
    /// Sum over tie groups of `t^3 - t`.
    tie_term: f64,
}

impl RankSums {
    fn from_sorted(groups: Vec<(u64, u64, u64)>) -> Self {
        let mut below = 0.0_f64;
        let mut new_rank_sum = 0.0;
        let mut tie_term = 0.0;
        for (_, old, new) in groups {
            let t = (old + new) as f64;
            let mid_rank = below + (t + 1.0) / 2.0;
            new_rank_sum += new as f64 * mid_rank;
            tie_term += t * t * t - t;
            below += t;
        }
        Self {
            new_rank_sum,
            tie_term,
        }
    }

    fn p_value(&self, u: f64, n_old: f64, n_new: f64) -> f64 {
        let n = n_old + n_new;
        let mean = n_old * n_new / 2.0;
        let variance = n_old * n_new / 12.0 * ((n + 1.0) - self.tie_term / (n * (n - 1.0)));
        if variance <= 0.0 || !variance.is_finite() {
            return 1.0;
        }
        let distance = ((u - mean).abs() - 0.5).max(0.0);
        let z = distance / variance.sqrt();
        (2.0 * (1.0 - standard_normal().cdf(z))).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
