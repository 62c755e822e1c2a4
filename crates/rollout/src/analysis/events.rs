//! Rollback and completion: stretches in which one version served nothing, long enough that
//! chance cannot explain them.
//!
//! Before a stretch, the share `p` of the version that then vanished is bounded from below
//! (Wilson, [`BEFORE_CONFIDENCE`]) over the [`BEFORE_WINDOW_SECS`] preceding it. If that
//! version still had share `p`, `m` responses in a row of the other version would happen with
//! probability `(1 - p)^m`; the stretch counts once that is below [`SURPRISE`] and it lasted at
//! least [`MIN_STRETCH_SECS`].

use super::series::Series;
use crate::stats::wilson_interval;

/// Probability below which a stretch cannot be chance.
pub(crate) const SURPRISE: f64 = 1e-6;
/// Window before a stretch over which the vanished version's share is estimated, seconds.
pub(crate) const BEFORE_WINDOW_SECS: f64 = 30.0;
/// Confidence of the lower bound on that share.
pub(crate) const BEFORE_CONFIDENCE: f64 = 0.99;
/// Shortest stretch that counts, seconds.
pub(crate) const MIN_STRETCH_SECS: f64 = 5.0;

/// Which version vanishes in the stretch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Vanished {
    Old,
    New,
}

/// Start bin of the first stretch in which the new version served nothing after having served
/// (a rollback), if any.
pub(crate) fn rollback_bin(series: &Series) -> Option<usize> {
    stretches(series, Vanished::New)
        .find(|&(a, b)| significant(series, Vanished::New, a, b))
        .map(|(a, _)| a)
}

/// Start bin of the final stretch in which the old version served nothing after having served,
/// when that stretch runs to the end of the observed period and is significant.
pub(crate) fn completion_bin(series: &Series) -> Option<usize> {
    let (a, b) = stretches(series, Vanished::Old).last()?;
    (b == series.end && significant(series, Vanished::Old, a, b)).then_some(a)
}

/// Maximal runs of bins `[a, b)` inside the observed period in which `vanished` has no
/// response, each preceded by a bin in which it had one.
fn stretches(series: &Series, vanished: Vanished) -> impl Iterator<Item = (usize, usize)> + '_ {
    let count = move |b: usize| {
        let (old, new) = series.bin(b);
        match vanished {
            Vanished::Old => old,
            Vanished::New => new,
        }
    };
    let mut b = series.first;
    std::iter::from_fn(move || {
        while b < series.end {
            // Find a bin with a response of the version, then the zero run after it.
            if count(b) == 0 {
                b += 1;
                continue;
            }
            let a = b + 1;
            let mut end = a;
            while end < series.end && count(end) == 0 {
                end += 1;
            }
            b = end;
            if end > a {
                return Some((a, end));
            }
        }
        None
    })
}

fn significant(series: &Series, vanished: Vanished, a: usize, b: usize) -> bool {
    let w = series.bin_secs;
    if (b - a) as f64 * w < MIN_STRETCH_SECS {
        return false;
    }
    let window = (BEFORE_WINDOW_SECS / w).round() as i64;
    let (old, new) = series.counts(a as i64 - window, a as i64);
    let (gone, total) = match vanished {
        Vanished::Old => (old, old + new),
        Vanished::New => (new, old + new),
    };
    let (p_low, _) = wilson_interval(gone, total, BEFORE_CONFIDENCE);
    if p_low <= 0.0 {
        return false;
    }
    let (old_in, new_in) = series.counts(a as i64, b as i64);
    let m = match vanished {
        Vanished::Old => new_in,
        Vanished::New => old_in,
    };
    m as f64 * (1.0 - p_low).ln() < SURPRISE.ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::Timeline;

    /// 1 s bins; `rows` are `(old, new)` per bin.
    fn series(rows: &[(u32, u32)]) -> Series {
        let mut tl = Timeline::new(1.0);
        tl.version_index("1");
        tl.version_index("2");
        for (b, (o, n)) in rows.iter().enumerate() {
            tl.add(b as f64 + 0.5, 0, *o);
            tl.add(b as f64 + 0.5, 1, *n);
        }
        Series::new(&tl, Some(0), Some(1))
    }

    #[test]
    fn a_long_zero_stretch_after_a_real_share_is_a_rollback() {
        let mut rows = vec![(50, 0); 10];
        rows.extend(vec![(40, 10); 20]);
        rows.extend(vec![(50, 0); 10]);
        assert_eq!(rollback_bin(&series(&rows)), Some(30));
    }

    #[test]
    fn a_short_or_explainable_gap_is_not_a_rollback() {
        // Too short: 3 s, although 150 old in a row at 5% is unlikely (5e-4).
        let mut rows = vec![(95, 5); 10];
        rows.extend(vec![(50, 0); 3]);
        rows.extend(vec![(95, 5); 10]);
        assert_eq!(rollback_bin(&series(&rows)), None);
        // Long enough but explainable: 120 old in a row at a share of at least ~3.5% (the
        // lower bound of 50/1000): 0.965^120 ~ 0.014.
        let mut rows = vec![(95, 5); 10];
        rows.extend(vec![(20, 0); 6]);
        rows.extend(vec![(95, 5); 10]);
        assert_eq!(rollback_bin(&series(&rows)), None);
    }

    #[test]
    fn completion_needs_a_sustained_final_stretch() {
        let mut rows = vec![(50, 50); 10];
        rows.extend(vec![(0, 100); 4]);
        assert_eq!(completion_bin(&series(&rows)), None, "4 s is too short");
        rows.extend(vec![(0, 100); 4]);
        assert_eq!(completion_bin(&series(&rows)), Some(10));
        rows.push((1, 99));
        assert_eq!(completion_bin(&series(&rows)), None, "old came back");
    }
}
