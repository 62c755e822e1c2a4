//! The split benchmark runs end to end against the real `rollcall-lab` and `hello` (3 weights,
//! 200 answers each through the SDK and the front door); no timing assertions. With the lab's
//! routing seeded, the counts are one fixed draw: the family-wise 1 % test passes for it.

use std::path::PathBuf;

use control_plane_bench::alias_split::{SplitOptions, run};
use control_plane_bench::split_verdict::Path;

fn options(lab: PathBuf, hello: PathBuf) -> SplitOptions {
    SplitOptions {
        lab,
        hello,
        weights: vec![0.1, 0.5, 0.9],
        invocations: 200,
        concurrency: 4,
        seed: 7,
        front_door: true,
        alpha: 0.01,
        confidence: 0.99,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_split_benchmark_counts_every_answer_through_both_paths() {
    let options = options(
        test_support::binaries::executable(&["lab", "hello"], "rollcall-lab"),
        test_support::binaries::executable(&["lab", "hello"], "hello"),
    );
    let report = run(&options).await.expect("the benchmark runs");
    let table = report.judgement.table();
    println!("{table}");
    let steps = &report.judgement.steps;
    assert_eq!(steps.len(), 6, "{table}");
    for (i, s) in steps.iter().enumerate() {
        assert_eq!(s.count.weight, options.weights[i / 2], "{table}");
        let path = if i % 2 == 0 {
            Path::Sdk
        } else {
            Path::FrontDoor
        };
        assert_eq!(s.count.path, path, "{table}");
        assert_eq!(s.count.n, 200, "{table}");
        assert!(s.count.new_version <= 200, "{table}");
    }
    assert_eq!(
        report.mismatched, 0,
        "ExecutedVersion always names the version that answered"
    );
    assert!(report.judgement.consistent(), "{table}");
}

#[tokio::test]
async fn a_weight_outside_zero_to_one_is_refused_before_the_lab_starts() {
    let options = SplitOptions {
        weights: vec![0.1, 1.5],
        ..options(
            "/nonexistent/rollcall-lab".into(),
            "/nonexistent/hello".into(),
        )
    };
    let err = run(&options).await.expect_err("1.5 is not a weight");
    let message = format!("{err:#}");
    assert!(message.contains("--weights: 1.5"), "{message}");
}
