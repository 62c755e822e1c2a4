//! The CloudWatch User Guide's own tables of alarm evaluation with missing data ("How alarm
//! state is evaluated when data is missing", in "Configuring how CloudWatch alarms treat
//! missing data"; archived as `awsdocs/amazon-cloudwatch-user-guide`
//! `doc_source/AlarmThatSendsEmail.md`). Each row: 5 datapoints oldest first (`0` not
//! breaching, `X` breaching, `-` missing) and the state for MISSING, IGNORE, BREACHING and
//! NOT BREACHING. Checked on `decide` and end to end through EMF documents.

mod common;

use cloudwatch::{AlarmState, CloudWatch, MissingData, decide};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    State(AlarmState),
    Retain,
}
use AlarmState::{Alarm, InsufficientData as Insufficient, Ok as Good};
use Expect::{Retain, State};

const TREATMENTS: [MissingData; 4] = [
    MissingData::Missing,
    MissingData::Ignore,
    MissingData::Breaching,
    MissingData::NotBreaching,
];

/// First table: DatapointsToAlarm 3, EvaluationPeriods 3.
const THREE_OF_THREE: [(&str, [Expect; 4]); 6] = [
    (
        "0 - X - X",
        [State(Good), State(Good), State(Good), State(Good)],
    ),
    (
        "0 - - - -",
        [State(Good), State(Good), State(Good), State(Good)],
    ),
    (
        "- - - - -",
        [State(Insufficient), Retain, State(Alarm), State(Good)],
    ),
    (
        "0 X X - X",
        [State(Alarm), State(Alarm), State(Alarm), State(Alarm)],
    ),
    (
        "- - - - X",
        [State(Insufficient), Retain, State(Alarm), State(Good)],
    ),
    (
        "X - - - -",
        [State(Alarm), Retain, State(Alarm), State(Good)],
    ),
];

/// Second table: DatapointsToAlarm 2, EvaluationPeriods 3.
const TWO_OF_THREE: [(&str, [Expect; 4]); 5] = [
    (
        "0 - X - X",
        [State(Alarm), State(Alarm), State(Alarm), State(Alarm)],
    ),
    (
        "0 0 X 0 X",
        [State(Alarm), State(Alarm), State(Alarm), State(Alarm)],
    ),
    (
        "0 - X - -",
        [State(Good), State(Good), State(Alarm), State(Good)],
    ),
    (
        "- - - - 0",
        [State(Good), State(Good), State(Alarm), State(Good)],
    ),
    (
        "- - - - X",
        [State(Insufficient), Retain, State(Alarm), State(Good)],
    ),
];

fn points(row: &str) -> Vec<Option<bool>> {
    row.split(' ')
        .map(|c| match c {
            "0" => Some(false),
            "X" => Some(true),
            "-" => None,
            other => panic!("bad cell {other}"),
        })
        .collect()
}

fn check_decide(m: u32, table: &[(&str, [Expect; 4])]) {
    for (row, expected) in table {
        for (treatment, want) in TREATMENTS.iter().zip(expected) {
            for current in [Good, Alarm, Insufficient] {
                let got = decide(&points(row), m, 3, *treatment, current).state;
                let want = match want {
                    State(s) => *s,
                    Retain => current,
                };
                assert_eq!(
                    got, want,
                    "{m} of 3, row {row:?}, {treatment:?}, from {current:?}"
                );
            }
        }
    }
}

#[test]
fn three_of_three_table() {
    check_decide(3, &THREE_OF_THREE);
}

#[test]
fn two_of_three_table() {
    check_decide(2, &TWO_OF_THREE);
}

const P: i64 = 60_000;
const BASE: i64 = 28_333_334 * P;

/// The same rows end to end: one EMF value per present period (`X` = 10, `0` = 1, alarm
/// `Maximum > 5`), a new alarm evaluated once at the boundary after the 5th period.
fn check_end_to_end(m: u32, table: &[(&str, [Expect; 4])]) {
    let names = ["missing", "ignore", "breaching", "notBreaching"];
    for (row, expected) in table {
        for (name, want) in names.iter().zip(expected) {
            let mut cw = CloudWatch::new(1.0).unwrap();
            for (i, p) in points(row).iter().enumerate() {
                if let Some(breach) = p {
                    let v = if *breach { 10 } else { 1 };
                    let ts = BASE + i as i64 * P + 17;
                    let report = cw.ingest(&common::plain_doc(ts, "M", json!(v)));
                    assert_eq!(report.metrics, 1, "{report:?}");
                }
            }
            let a = common::alarm(json!({
                "EvaluationPeriods": 3, "DatapointsToAlarm": m, "TreatMissingData": name
            }));
            cw.put_metric_alarm(&a, BASE + 5 * P - 1).unwrap();
            let transitions = cw.evaluate(BASE + 5 * P);
            let want = match want {
                State(s) => *s,
                Retain => Insufficient,
            };
            assert_eq!(
                cw.state("a"),
                Some(want),
                "{m} of 3, row {row:?}, {name}: {transitions:?}"
            );
            match transitions.as_slice() {
                [] => assert_eq!(want, Insufficient),
                [t] => {
                    assert_eq!((t.from, t.to, t.at_ms), (Insufficient, want, BASE + 5 * P));
                    let seen: Vec<_> = t.datapoints.iter().map(|d| d.breaching).collect();
                    assert_eq!(seen, points(row), "the transition carries its datapoints");
                }
                more => panic!("one evaluation, several transitions: {more:?}"),
            }
        }
    }
}

#[test]
fn three_of_three_table_end_to_end() {
    check_end_to_end(3, &THREE_OF_THREE);
}

#[test]
fn two_of_three_table_end_to_end() {
    check_end_to_end(2, &TWO_OF_THREE);
}

/// The docs' remark on the second row of the first table: the next evaluation, with the data
/// still missing, goes to ALARM under `breaching`, the non-breaching point having left the
/// range.
#[test]
fn the_non_breaching_point_leaves_the_range_next_time() {
    let mut cw = CloudWatch::new(1.0).unwrap();
    cw.ingest(&common::plain_doc(BASE + 3, "M", json!(1)));
    let a = common::alarm(json!({"EvaluationPeriods": 3, "TreatMissingData": "breaching"}));
    cw.put_metric_alarm(&a, BASE + 5 * P - 1).unwrap();
    let first = cw.evaluate(BASE + 5 * P);
    assert_eq!(cw.state("a"), Some(Good), "{first:?}");
    let second = cw.evaluate(BASE + 6 * P);
    assert_eq!(cw.state("a"), Some(Alarm), "{second:?}");
    assert_eq!(second[0].from, Good);
}
