//! Which version is old, which is new, and which are ignored.

use crate::timeline::Timeline;

/// Minimum change of the second version's share between the first and last quarter of the run
/// for the rising version to be taken as the new one.
const TREND_MIN: f64 = 0.1;

/// One side of the shift: the label and its index in the timeline (absent when never seen).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Side {
    /// Version label.
    pub label: String,
    /// Index in `Timeline::versions`, when the version was seen.
    pub index: Option<usize>,
}

/// The versions the analysis looks at.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Versions {
    /// The version traffic shifts away from.
    pub old: Option<Side>,
    /// The version traffic shifts to.
    pub new: Option<Side>,
    /// Other versions seen, with their response counts: counted as neither.
    pub ignored: Vec<(String, u64)>,
}

impl Versions {
    /// Index of the old version in the timeline.
    pub fn old_index(&self) -> Option<usize> {
        self.old.as_ref().and_then(|s| s.index)
    }

    /// Index of the new version in the timeline.
    pub fn new_index(&self) -> Option<usize> {
        self.new.as_ref().and_then(|s| s.index)
    }

    /// A sentence about ignored versions, or an empty string.
    pub fn ignored_note(&self) -> String {
        if self.ignored.is_empty() {
            return String::new();
        }
        let list: Vec<String> = self
            .ignored
            .iter()
            .map(|(label, n)| format!("{n} of version {label}"))
            .collect();
        format!(
            " Ignored responses of other versions (counted as neither old nor new): {}.",
            list.join(", ")
        )
    }
}

/// Picks old and new: given labels win; otherwise the two versions with the most responses,
/// the one whose share rises from the first to the last quarter of the observed period being
/// the new one (or, with no clear trend, the one dominant in the first quarter being the old).
pub(crate) fn pick(timeline: &Timeline, old: Option<&str>, new: Option<&str>) -> Versions {
    let totals = timeline.totals();
    let side = |label: &str| Side {
        label: label.to_owned(),
        index: timeline
            .versions
            .iter()
            .position(|v| v == label)
            .filter(|&i| totals[i] > 0),
    };
    // Seen versions by count, most first (ties: first seen first).
    let mut seen: Vec<usize> = (0..totals.len()).filter(|&i| totals[i] > 0).collect();
    seen.sort_by_key(|&i| std::cmp::Reverse(totals[i]));
    let other_than = |label: Option<&str>| {
        seen.iter()
            .copied()
            .find(|&i| Some(timeline.versions[i].as_str()) != label)
    };
    let (old_side, new_side) = match (old, new) {
        (Some(o), Some(n)) => (Some(side(o)), Some(side(n))),
        (Some(o), None) => (
            Some(side(o)),
            other_than(Some(o)).map(|i| side(&timeline.versions[i])),
        ),
        (None, Some(n)) => (
            other_than(Some(n)).map(|i| side(&timeline.versions[i])),
            Some(side(n)),
        ),
        (None, None) => match seen.as_slice() {
            [] => (None, None),
            [only] => (Some(side(&timeline.versions[*only])), None),
            [a, b, ..] => {
                let (o, n) = order_by_trend(timeline, *a, *b);
                (
                    Some(side(&timeline.versions[o])),
                    Some(side(&timeline.versions[n])),
                )
            }
        },
    };
    let chosen = [old_side.as_ref(), new_side.as_ref()];
    let ignored = seen
        .iter()
        .filter(|&&i| {
            !chosen
                .iter()
                .flatten()
                .any(|s| s.label == timeline.versions[i])
        })
        .map(|&i| (timeline.versions[i].clone(), totals[i]))
        .collect();
    Versions {
        old: old_side,
        new: new_side,
        ignored,
    }
}

/// `(old, new)` among versions `a` and `b`.
fn order_by_trend(timeline: &Timeline, a: usize, b: usize) -> (usize, usize) {
    let active: Vec<usize> = timeline
        .counts
        .iter()
        .enumerate()
        .filter(|(_, row)| row[a] + row[b] > 0)
        .map(|(i, _)| i)
        .collect();
    let (Some(&first), Some(&last)) = (active.first(), active.last()) else {
        return (a, b);
    };
    let quarter = ((last - first + 1) / 4).max(1);
    let sums = |range: std::ops::Range<usize>| {
        timeline.counts[range]
            .iter()
            .fold((0u64, 0u64), |(x, y), row| {
                (x + u64::from(row[a]), y + u64::from(row[b]))
            })
    };
    let early = sums(first..first + quarter);
    let late = sums(last + 1 - quarter..last + 1);
    let share_b = |(x, y): (u64, u64)| {
        if x + y == 0 {
            0.0
        } else {
            y as f64 / (x + y) as f64
        }
    };
    let trend = share_b(late) - share_b(early);
    // `b` is old when its share falls, or, without a clear trend, when it dominated early.
    let b_is_old = trend < -TREND_MIN || (trend <= TREND_MIN && early.1 > early.0);
    if b_is_old { (b, a) } else { (a, b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeline(rows: &[(u32, u32, u32)]) -> Timeline {
        let mut tl = Timeline::new(1.0);
        for v in ["a", "b", "c"] {
            tl.version_index(v);
        }
        for (bin, (a, b, c)) in rows.iter().enumerate() {
            let t = bin as f64 + 0.5;
            tl.add(t, 0, *a);
            tl.add(t, 1, *b);
            tl.add(t, 2, *c);
        }
        tl
    }

    #[test]
    fn rising_version_is_new_even_when_it_dominates_the_counts() {
        let tl = timeline(&[(10, 0, 0), (8, 2, 1), (2, 8, 0), (0, 10, 0), (0, 10, 0)]);
        let v = pick(&tl, None, None);
        assert_eq!(v.old.unwrap().label, "a");
        assert_eq!(v.new.unwrap().label, "b");
        assert_eq!(v.ignored, vec![("c".to_owned(), 1)]);
    }

    #[test]
    fn without_trend_the_early_dominant_version_is_old() {
        // Rose and fell back (a rollback): no trend between first and last quarter.
        let tl = timeline(&[(10, 0, 0), (5, 5, 0), (5, 5, 0), (10, 0, 0)]);
        let v = pick(&tl, None, None);
        assert_eq!(v.old.unwrap().label, "a");
        assert_eq!(v.new.unwrap().label, "b");
    }

    #[test]
    fn given_labels_win_and_unseen_labels_have_no_index() {
        let tl = timeline(&[(10, 0, 0), (0, 10, 0)]);
        let v = pick(&tl, Some("b"), Some("z"));
        assert_eq!(v.old.as_ref().unwrap().index, Some(1));
        assert_eq!(v.new.as_ref().unwrap().index, None);
        assert_eq!(v.ignored, vec![("a".to_owned(), 10)]);
        let v = pick(&tl, None, Some("a"));
        assert_eq!(v.old.unwrap().label, "b");
    }
}
