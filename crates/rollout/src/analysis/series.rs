//! Per-bin counts of the old and new versions, with prefix sums for O(1) range counts.

use crate::timeline::Timeline;

/// Old and new counts per bin of a timeline, and the observed period.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    /// Bin width, seconds.
    pub bin_secs: f64,
    /// `cum_old[b]`: old responses in bins `[0, b)`.
    cum_old: Vec<u64>,
    /// `cum_new[b]`: new responses in bins `[0, b)`.
    cum_new: Vec<u64>,
    /// First bin with an old or new response.
    pub first: usize,
    /// One past the last bin with an old or new response (`first == end`: nothing observed).
    pub end: usize,
}

impl Series {
    /// The counts of the versions at `old` and `new` (either may be absent) in `timeline`.
    pub fn new(timeline: &Timeline, old: Option<usize>, new: Option<usize>) -> Self {
        let count = |row: &Vec<u32>, i: Option<usize>| {
            i.and_then(|i| row.get(i)).map_or(0, |c| u64::from(*c))
        };
        let bins = timeline.counts.len();
        let mut cum_old = Vec::with_capacity(bins + 1);
        let mut cum_new = Vec::with_capacity(bins + 1);
        let (mut o, mut n) = (0, 0);
        cum_old.push(0);
        cum_new.push(0);
        let (mut first, mut end) = (None, 0);
        for (b, row) in timeline.counts.iter().enumerate() {
            let (bo, bn) = (count(row, old), count(row, new));
            if bo + bn > 0 {
                first.get_or_insert(b);
                end = b + 1;
            }
            o += bo;
            n += bn;
            cum_old.push(o);
            cum_new.push(n);
        }
        let first = first.unwrap_or(0);
        Self {
            bin_secs: timeline.bin_secs,
            cum_old,
            cum_new,
            first,
            end: end.max(first),
        }
    }

    /// True when no old or new response was seen.
    pub fn is_empty(&self) -> bool {
        self.first == self.end
    }

    /// `(old, new)` responses in bins `[lo, hi)`, clamped to the observed period.
    pub fn counts(&self, lo: i64, hi: i64) -> (u64, u64) {
        let clamp = |b: i64| b.clamp(self.first as i64, self.end as i64) as usize;
        let (lo, hi) = (clamp(lo), clamp(hi));
        if hi <= lo {
            return (0, 0);
        }
        (
            self.cum_old[hi] - self.cum_old[lo],
            self.cum_new[hi] - self.cum_new[lo],
        )
    }

    /// `(old, new)` responses in bin `b`.
    pub fn bin(&self, b: usize) -> (u64, u64) {
        self.counts(b as i64, b as i64 + 1)
    }

    /// First bin in which the new version answered.
    pub fn first_new_bin(&self) -> Option<usize> {
        (self.first..self.end).find(|&b| self.bin(b).1 > 0)
    }

    /// Start of the observed period, seconds.
    pub fn observed_start(&self) -> f64 {
        self.first as f64 * self.bin_secs
    }

    /// End of the observed period, seconds.
    pub fn observed_end(&self) -> f64 {
        self.end as f64 * self.bin_secs
    }

    /// The same series cut to bins before `end` (for analysing what happened before a rollback).
    pub fn truncated(&self, end: usize) -> Self {
        let mut cut = self.clone();
        cut.end = end.clamp(cut.first, cut.end);
        cut
    }
}
