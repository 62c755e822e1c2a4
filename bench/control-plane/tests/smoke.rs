//! The control-plane benchmark still runs end to end (3 releases, a 1 s load run per phase,
//! 3 calls per operation) against the real `rollcall-lab` and `hello`; no timing assertions.

use std::time::Duration;

use control_plane_bench::{Options, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_runs_against_a_real_lab() {
    let options = Options {
        lab: test_support::binaries::executable(&["lab", "hello"], "rollcall-lab"),
        hello: test_support::binaries::executable(&["lab", "hello"], "hello"),
        releases: 3,
        rps: 20,
        duration: Duration::from_secs(1),
        load_releases: 3,
        warm: 2,
        calls: 3,
    };
    let started = std::time::Instant::now();
    let report = run(&options).await.expect("the benchmark runs");
    println!(
        "{}\n(ran in {:?})",
        report.tables(&options),
        started.elapsed()
    );
    assert_eq!(report.publish_to_serve.count, 3, "{report:?}");
    for run in [
        &report.quiet,
        &report.releasing,
        &report.flipping,
        &report.quiet_after,
    ] {
        assert_eq!(
            run.latency.count, 20,
            "every scheduled request answered: {run:?}"
        );
        assert_eq!(run.errors, 0, "{run:?}");
    }
    assert_eq!(report.quiet.releases, 0);
    assert_eq!(report.releasing.releases, 3);
    assert_eq!(report.flipping.releases, 3, "every flip done");
    let names: Vec<_> = report.operations.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        [
            "GetAlias",
            "UpdateAlias",
            "PublishVersion",
            "GetFunctionConfiguration",
            "UpdateFunctionConfiguration"
        ]
    );
    assert!(
        report.operations.iter().all(|(_, l)| l.count == 3),
        "{report:?}"
    );
    let tables = report.tables(&options);
    assert!(tables.contains("p99 ratio releasing/quiet"), "{tables}");
}
