//! The observed split over time: counts of tagged responses per version in fixed-width bins.

use serde::{Deserialize, Serialize};

/// Counts of tagged responses per version, binned by the time the request was sent.
///
/// Times are seconds since the timeline's origin (the prober's first scheduled request). The
/// memory used grows with the run's duration and the number of versions, never with the number
/// of requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Timeline {
    /// Width of one bin, in seconds (the prober uses 0.1 s).
    pub bin_secs: f64,
    /// Version labels, in order of first appearance; `counts` rows are indexed like this.
    pub versions: Vec<String>,
    /// `counts[bin][version]`: responses of `versions[version]` sent during
    /// `[bin * bin_secs, (bin + 1) * bin_secs)`.
    pub counts: Vec<Vec<u32>>,
}

impl Timeline {
    /// An empty timeline with the given bin width in seconds.
    pub fn new(bin_secs: f64) -> Self {
        Self {
            bin_secs,
            versions: Vec::new(),
            counts: Vec::new(),
        }
    }

    /// The index of `version`, adding it when first seen.
    pub fn version_index(&mut self, version: &str) -> usize {
        if let Some(i) = self.versions.iter().position(|v| v == version) {
            return i;
        }
        self.versions.push(version.to_owned());
        for row in &mut self.counts {
            row.push(0);
        }
        self.versions.len() - 1
    }

    /// Adds `n` responses of the version at `version_index` sent at `t` seconds.
    /// Negative times are clamped to the first bin.
    pub fn add(&mut self, t: f64, version_index: usize, n: u32) {
        let bin = if t <= 0.0 {
            0
        } else {
            (t / self.bin_secs) as usize
        };
        let width = self.versions.len();
        if self.counts.len() <= bin {
            self.counts.resize_with(bin + 1, || vec![0; width]);
        }
        self.counts[bin][version_index] += n;
    }

    /// Adds one response of `version` sent at `t` seconds.
    pub fn record(&mut self, t: f64, version: &str) {
        let i = self.version_index(version);
        self.add(t, i, 1);
    }

    /// Total count per version, indexed like `versions`.
    pub fn totals(&self) -> Vec<u64> {
        let mut totals = vec![0u64; self.versions.len()];
        for row in &self.counts {
            for (t, c) in totals.iter_mut().zip(row) {
                *t += u64::from(*c);
            }
        }
        totals
    }

    /// Duration covered by the bins, in seconds.
    pub fn span_secs(&self) -> f64 {
        self.counts.len() as f64 * self.bin_secs
    }

    /// The bins that start before `end_secs` (all versions kept). A live analysis should cut
    /// off the most recent bins whose requests may still be in flight (e.g. the request
    /// timeout): a version whose responses are slower would otherwise look absent there.
    pub fn prefix(&self, end_secs: f64) -> Timeline {
        let bins = if end_secs <= 0.0 {
            0
        } else {
            ((end_secs / self.bin_secs).ceil() as usize).min(self.counts.len())
        };
        Timeline {
            bin_secs: self.bin_secs,
            versions: self.versions.clone(),
            counts: self.counts[..bins].to_vec(),
        }
    }

    /// Merges `other` into `self`, shifting `other`'s times by `offset_secs` (its origin relative
    /// to ours, which must be >= 0 and a whole number of bins for an exact merge).
    pub fn merge(&mut self, other: &Timeline, offset_secs: f64) {
        for (bin, row) in other.counts.iter().enumerate() {
            for (vi, &c) in row.iter().enumerate() {
                if c == 0 {
                    continue;
                }
                let mine = self.version_index(&other.versions[vi]);
                let t = offset_secs + (bin as f64 + 0.5) * other.bin_secs;
                self.add(t, mine, c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_into_bins_and_totals() {
        let mut tl = Timeline::new(0.1);
        tl.record(0.05, "1");
        tl.record(0.15, "2");
        tl.record(0.19, "1");
        assert_eq!(tl.versions, vec!["1", "2"]);
        assert_eq!(tl.counts, vec![vec![1, 0], vec![1, 1]]);
        assert_eq!(tl.totals(), vec![2, 1]);
    }

    #[test]
    fn prefix_keeps_the_bins_starting_before_the_cut() {
        let mut tl = Timeline::new(1.0);
        tl.record(0.5, "1");
        tl.record(1.5, "2");
        tl.record(2.5, "1");
        assert_eq!(tl.prefix(1.2).counts, vec![vec![1, 0], vec![0, 1]]);
        assert_eq!(tl.prefix(2.0).counts.len(), 2);
        assert_eq!(tl.prefix(99.0), tl);
        assert!(tl.prefix(-1.0).counts.is_empty());
    }

    #[test]
    fn merge_shifts_by_offset() {
        let mut a = Timeline::new(1.0);
        a.record(0.5, "1");
        let mut b = Timeline::new(1.0);
        b.record(0.5, "2");
        a.merge(&b, 2.0);
        assert_eq!(a.counts, vec![vec![1, 0], vec![0, 0], vec![0, 1]]);
    }
}
