//! The three figures of issue 9: publish-to-serve, front-door latency under releases, Lambda
//! API operation latency.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_lambda::Client;
use hdrhistogram::Histogram;
use tokio::sync::Mutex;

use crate::front_door::FrontDoor;
use crate::lab::{ALIAS, FUNCTION};
use crate::release;

/// Percentiles of one sample, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    /// Sample size.
    pub count: u64,
    /// Median.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Largest.
    pub max_us: u64,
}

/// A latency histogram in microseconds (1 µs .. 1 h, 3 significant digits).
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// Records `d` (saturating at the histogram's bound).
pub fn record(h: &mut Histogram<u64>, d: Duration) {
    h.saturating_record(u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1));
}

impl Percentiles {
    /// The percentiles of `h`.
    pub fn of(h: &Histogram<u64>) -> Self {
        Self {
            count: h.len(),
            p50_us: h.value_at_quantile(0.5),
            p99_us: h.value_at_quantile(0.99),
            max_us: h.max(),
        }
    }
}

/// Figure 1: per release (UpdateFunctionConfiguration, PublishVersion, UpdateAlias), the time
/// from UpdateAlias returning to the first front-door answer from the new version, requests
/// sent back to back. `next_release` numbers the releases (the env var's value).
pub async fn publish_to_serve(
    lambda: &Client,
    front_door: &FrontDoor,
    releases: u64,
    next_release: &mut u64,
) -> anyhow::Result<(Percentiles, u64)> {
    let mut h = histogram();
    let mut stale_answers = 0;
    for _ in 0..releases {
        *next_release += 1;
        let (version, _) = release::release(lambda, *next_release, 0).await?;
        let start = Instant::now();
        loop {
            let answered = front_door.version().await?;
            if answered == version {
                break;
            }
            stale_answers += 1;
            anyhow::ensure!(
                start.elapsed() < Duration::from_secs(30),
                "version {version} did not answer through the front door within 30 s (last: {answered})"
            );
        }
        record(&mut h, start.elapsed());
    }
    Ok((Percentiles::of(&h), stale_answers))
}

/// Front-door latency of one open-loop run.
#[derive(Debug, Clone, Copy)]
pub struct LoadRun {
    /// Latency from each request's scheduled send time to its answer.
    pub latency: Percentiles,
    /// Requests that failed (status or transport).
    pub errors: u64,
    /// Releases completed during the run.
    pub releases: u64,
}

/// What changes the alias during a load run.
#[derive(Debug, Clone)]
pub enum AliasChanges {
    /// `count` releases, each warmed with `warm` concurrent Invokes before the alias moves.
    Releases {
        /// How many.
        count: u64,
        /// Warming Invokes per release.
        warm: u32,
    },
    /// `count` UpdateAlias calls alternating between two warm versions: registry mutations
    /// without a process start.
    Flips {
        /// How many.
        count: u64,
        /// The two versions.
        between: (String, String),
    },
}

impl AliasChanges {
    fn count(&self) -> u64 {
        match self {
            Self::Releases { count, .. } | Self::Flips { count, .. } => *count,
        }
    }
}

/// Figure 2: GETs of the front door at `rps` for `duration`, open loop (each request at its
/// scheduled time whatever the others do; latency counted from that time, so a stall is not
/// hidden). With `releases > 0`, that many releases (each warms its new version with `warm`
/// concurrent Invokes before the alias moves, as a canary would) run spread over the run.
pub async fn load(
    lambda: &Client,
    front_door: &FrontDoor,
    rps: u32,
    duration: Duration,
    changes: AliasChanges,
    next_release: &mut u64,
) -> anyhow::Result<LoadRun> {
    let releases = changes.count();
    let hist = Arc::new(Mutex::new(histogram()));
    let errors = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let total = (f64::from(rps) * duration.as_secs_f64()).round() as u64;
    let gap = Duration::from_secs_f64(1.0 / f64::from(rps));
    let start = tokio::time::Instant::now();
    let first_release = *next_release + 1;
    if matches!(changes, AliasChanges::Releases { .. }) {
        *next_release += releases;
    }
    let releaser = {
        let lambda = lambda.clone();
        tokio::spawn(async move {
            let spacing = duration.div_f64(releases.max(1) as f64 + 1.0);
            let mut done = 0;
            for n in first_release..first_release + releases {
                tokio::time::sleep_until(start + spacing.mul_f64((done + 1) as f64)).await;
                match &changes {
                    AliasChanges::Releases { warm, .. } => {
                        release::release(&lambda, n, *warm).await?;
                    }
                    AliasChanges::Flips { between, .. } => {
                        let to = if done % 2 == 0 {
                            &between.0
                        } else {
                            &between.1
                        };
                        release::point_alias(&lambda, to).await?;
                    }
                }
                done += 1;
            }
            Ok::<u64, anyhow::Error>(done)
        })
    };
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..total {
        let due = start + gap.mul_f64(i as f64);
        tokio::time::sleep_until(due).await;
        let (front_door, hist, errors) = (front_door.clone(), hist.clone(), errors.clone());
        requests.spawn(async move {
            let ok = front_door.version().await.is_ok();
            let took = due.elapsed();
            if !ok {
                errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            record(&mut *hist.lock().await, took);
        });
    }
    while requests.join_next().await.is_some() {}
    let done = releaser.await.context("the release task")??;
    let latency = Percentiles::of(&*hist.lock().await);
    Ok(LoadRun {
        latency,
        errors: errors.load(std::sync::atomic::Ordering::Relaxed),
        releases: done,
    })
}

/// Figure 3's rows: the operation and its latency.
pub type OperationLatency = Vec<(&'static str, Percentiles)>;

/// Figure 3: `calls` timed calls each of GetAlias, UpdateAlias (between the two newest
/// versions), PublishVersion (each after a configuration change, so each makes a version;
/// the change is timed as UpdateFunctionConfiguration) and GetFunctionConfiguration.
pub async fn api_operations(
    lambda: &Client,
    calls: u64,
    next_release: &mut u64,
) -> anyhow::Result<OperationLatency> {
    let mut get_alias = histogram();
    let mut get_configuration = histogram();
    for _ in 0..calls {
        let t = Instant::now();
        lambda
            .get_alias()
            .function_name(FUNCTION)
            .name(ALIAS)
            .send()
            .await
            .context("GetAlias")?;
        record(&mut get_alias, t.elapsed());
        let t = Instant::now();
        lambda
            .get_function_configuration()
            .function_name(FUNCTION)
            .send()
            .await
            .context("GetFunctionConfiguration")?;
        record(&mut get_configuration, t.elapsed());
    }
    let mut update_configuration = histogram();
    let mut publish = histogram();
    let mut versions = Vec::new();
    for _ in 0..calls {
        *next_release += 1;
        let t = Instant::now();
        release::change_configuration(lambda, *next_release).await?;
        record(&mut update_configuration, t.elapsed());
        let t = Instant::now();
        versions.push(release::publish(lambda).await?);
        record(&mut publish, t.elapsed());
    }
    let mut update_alias = histogram();
    let pair = &versions[versions.len().saturating_sub(2)..];
    for i in 0..calls {
        let target = &pair[i as usize % pair.len()];
        let t = Instant::now();
        release::point_alias(lambda, target).await?;
        record(&mut update_alias, t.elapsed());
    }
    Ok(vec![
        ("GetAlias", Percentiles::of(&get_alias)),
        ("UpdateAlias", Percentiles::of(&update_alias)),
        ("PublishVersion", Percentiles::of(&publish)),
        (
            "GetFunctionConfiguration",
            Percentiles::of(&get_configuration),
        ),
        (
            "UpdateFunctionConfiguration",
            Percentiles::of(&update_configuration),
        ),
    ])
}
