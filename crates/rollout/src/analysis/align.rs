//! Maximum-likelihood alignment of a schedule to the observed split.
//!
//! For a candidate start (a whole number of bins), each bin's new-version count is binomial
//! with the share the schedule expects there (0 before the start, 1 after the full shift),
//! clipped to `[EPS, 1 - EPS]` so that a few stray responses do not rule a candidate out. The
//! schedule is piecewise constant, so with prefix sums each candidate costs O(steps).

use super::series::Series;
use crate::schedule::Schedule;

/// Floor and ceiling (`1 - EPS`) of the expected share in the likelihood.
const EPS: f64 = 1e-3;

/// Half the 95% quantile of chi-square with one degree of freedom: the drop in log-likelihood
/// that bounds the likelihood-ratio interval.
const LR_DROP: f64 = 1.92;

/// An estimated deployment start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Alignment {
    /// Maximum-likelihood start, seconds since the origin.
    pub start: f64,
    /// Likelihood-ratio interval, widened by one bin each side.
    pub ci: [f64; 2],
}

impl Alignment {
    /// Half the width of the interval, seconds.
    pub fn half_width(&self) -> f64 {
        (self.ci[1] - self.ci[0]) / 2.0
    }
}

/// One constant-share segment, relative to the candidate start bin.
#[derive(Debug, Clone, Copy)]
struct Segment {
    /// First bin, relative to the start bin.
    from: i64,
    /// One past the last bin, relative (`i64::MAX / 4`: to the end).
    to: i64,
    ln_p: f64,
    ln_q: f64,
}

/// Estimates the start of `schedule` in `series`; `None` when nothing was observed.
pub(crate) fn align(series: &Series, schedule: &Schedule) -> Option<Alignment> {
    if series.is_empty() {
        return None;
    }
    let w = series.bin_secs;
    let to_bins = |secs: f64| (secs / w).round() as i64;
    let far = i64::MAX / 4;
    let segment = |from: i64, to: i64, share: f64| {
        let p = share.clamp(EPS, 1.0 - EPS);
        Segment {
            from,
            to,
            ln_p: p.ln(),
            ln_q: (1.0 - p).ln(),
        }
    };
    let full = to_bins(schedule.full_shift_at());
    let mut segments = vec![segment(-far, 0, 0.0)];
    for step in schedule.steps() {
        let from = to_bins(step.start);
        let to = if step.share >= 1.0 {
            far
        } else {
            to_bins(step.end)
        };
        if to > from {
            segments.push(segment(from, to, step.share));
        }
        if step.share >= 1.0 {
            break;
        }
    }
    let first = series.first as i64;
    let last = series.end as i64;
    let log_likelihood = |j: i64| {
        segments
            .iter()
            .map(|s| {
                let lo = j.saturating_add(s.from);
                let hi = j.saturating_add(s.to);
                let (old, new) = series.counts(lo, hi);
                new as f64 * s.ln_p + old as f64 * s.ln_q
            })
            .sum::<f64>()
    };
    let candidates: Vec<(i64, f64)> = (first - full - 1..=last)
        .map(|j| (j, log_likelihood(j)))
        .collect();
    let max = candidates
        .iter()
        .map(|c| c.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let best: Vec<i64> = candidates
        .iter()
        .filter(|c| c.1 >= max - 1e-9)
        .map(|c| c.0)
        .collect();
    let start_bin = best[best.len() / 2];
    let inside = candidates.iter().filter(|c| c.1 >= max - LR_DROP);
    let lo = inside.clone().map(|c| c.0).min().unwrap_or(start_bin);
    let hi = inside.map(|c| c.0).max().unwrap_or(start_bin);
    Some(Alignment {
        start: start_bin as f64 * w,
        ci: [(lo - 1) as f64 * w, (hi + 1) as f64 * w],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::Timeline;

    #[test]
    fn finds_an_all_at_once_switch_exactly() {
        let mut tl = Timeline::new(1.0);
        for b in 0..100 {
            let v = if b < 37 { "1" } else { "2" };
            for _ in 0..5 {
                tl.record(b as f64 + 0.5, v);
            }
        }
        let series = Series::new(&tl, Some(0), Some(1));
        let a = align(&series, &Schedule::all_at_once()).unwrap();
        assert_eq!(a.start, 37.0);
        assert_eq!(a.ci, [36.0, 38.0]);
    }
}
