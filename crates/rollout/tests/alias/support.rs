//! Simulated alias polls and the clients' split behind them.

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use rollout::configured::{ConfiguredRouting, Routing, RoutingChange};
use rollout::sim::{NEW_VERSION, OLD_VERSION};

/// The alias's routing for a share of the new version, as CodeDeploy sets it: the old version
/// primary with the new one additional, then the new one primary alone.
pub fn routing(share: f64) -> Routing {
    if share >= 1.0 {
        return Routing {
            primary: NEW_VERSION.into(),
            additional: Default::default(),
        };
    }
    let mut r = Routing {
        primary: OLD_VERSION.into(),
        additional: Default::default(),
    };
    if share > 0.0 {
        r.additional.insert(NEW_VERSION.into(), share);
    }
    r
}

/// A poller sending GetAlias every `poll` seconds from `phase` on, each answered `rtt` later,
/// reading the routing at its send time, until `end`; `updates` are the true `(instant,
/// share)` updates in order (the routing before the first is share 0). Brackets as the prober
/// records them: from the previous poll's send to this poll's answer.
pub fn polled(
    updates: &[(f64, f64)],
    poll: f64,
    rtt: f64,
    phase: f64,
    end: f64,
) -> ConfiguredRouting {
    let share_at = |t: f64| {
        updates
            .iter()
            .take_while(|(at, _)| *at <= t)
            .last()
            .map_or(0.0, |u| u.1)
    };
    let mut changes: Vec<RoutingChange> = Vec::new();
    let mut previous_sent: Option<f64> = None;
    let mut k = 0;
    loop {
        let sent = phase + k as f64 * poll;
        if sent > end {
            break;
        }
        let share = share_at(sent);
        let changed = changes.last().is_none_or(|c| c.routing != routing(share));
        if changed {
            let answered = sent + rtt;
            let not_before = previous_sent.unwrap_or(answered);
            changes.push(RoutingChange {
                at: (not_before + answered) / 2.0,
                not_before,
                not_after: answered,
                routing: routing(share),
                revision_id: Some(format!("rev-{k}")),
            });
        }
        previous_sent = Some(sent);
        k += 1;
    }
    ConfiguredRouting {
        changes,
        gaps: Vec::new(),
    }
}

/// The instants at which the clients' split follows each update: each lags its update by a
/// draw in `[0, lag)` (the data plane applying it late), seeded.
pub fn lagged(updates: &[(f64, f64)], lag: f64, seed: u64) -> Vec<(f64, f64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x1a9);
    updates
        .iter()
        .map(|&(t, s)| (t + rng.random::<f64>() * lag, s))
        .collect()
}

/// `(start + step.start, step.share)` for each step of a schedule.
pub fn schedule_updates(schedule: &rollout::Schedule, start: f64) -> Vec<(f64, f64)> {
    schedule
        .steps()
        .iter()
        .map(|s| (start + s.start, s.share))
        .collect()
}
