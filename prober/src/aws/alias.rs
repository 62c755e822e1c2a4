//! `--alias`: Lambda's GetAlias, called once before the first probe ([`preflight`]) and then
//! every `--poll` by a task on the main runtime ([`AliasFollower::start`]). Each routing the
//! polls see is recorded with the bracket in which it took effect; failures during the run are
//! retried with backoff, recorded, and never stop the probe.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_lambda::operation::get_alias::GetAliasOutput;
use rollout::configured::{ConfiguredRouting, Routing, RoutingChange};
use rollout::control_plane::{AliasReport, CallFailure};

use super::errors::{self, FailureKind};
use super::follow::Shared;
use crate::control::FunctionArg;
use crate::error::ProberError;

/// The call, as IAM names its permission.
pub const GET_ALIAS: &str = "lambda:GetAlias";
/// The longest wait between two attempts after failures.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// An alias whose first GetAlias succeeded.
#[derive(Debug)]
pub struct AliasFollower {
    client: aws_sdk_lambda::Client,
    /// `FunctionName` as GetAlias takes it (name, partial or full unqualified ARN).
    function_name: String,
    /// The alias's name.
    alias: String,
    /// The alias's ARN as GetAlias answered it.
    alias_arn: String,
    poll: Duration,
}

/// Checks region, credentials and the alias (GetAlias) before the first probe. The region of an
/// alias ARN wins over the region chain.
pub async fn preflight(arg: &FunctionArg, poll: Duration) -> Result<AliasFollower, ProberError> {
    let reference = &arg.reference;
    let alias = reference
        .qualifier
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let name = reference.name.to_string();
    let function_name = match (&reference.scope, &reference.account) {
        (Some(s), _) => format!(
            "arn:{}:lambda:{}:{}:function:{name}",
            s.partition, s.region, s.account
        ),
        (None, Some(account)) => format!("{account}:function:{name}"),
        (None, None) => name.clone(),
    };
    let arn_region = reference.scope.as_ref().map(|s| s.region.clone());
    let sdk = super::sdk_config(arn_region.as_deref()).await;
    let Some(region) = sdk.region().map(ToString::to_string) else {
        return Err(errors::no_region(GET_ALIAS, &arg.text));
    };
    let resource = match &reference.scope {
        Some(_) => arg.text.clone(),
        None => format!("{} in {region}", arg.text),
    };
    let Some(provider) = sdk.credentials_provider() else {
        return Err(errors::failure(
            GET_ALIAS,
            &resource,
            FailureKind::NoCredentials,
            "no credential provider configured".into(),
        ));
    };
    let credentials = provider
        .provide_credentials()
        .await
        .map_err(|e| errors::credentials_error(GET_ALIAS, &resource, &e))?;
    if let Some(expiry) = credentials.expiry() {
        if expiry <= SystemTime::now() {
            let at = time::OffsetDateTime::from(expiry);
            return Err(errors::failure(
                GET_ALIAS,
                &resource,
                FailureKind::ExpiredCredentials,
                format!("the credentials expired at {at}"),
            ));
        }
    }
    let client = aws_sdk_lambda::Client::new(&sdk);
    let answer = client
        .get_alias()
        .function_name(&function_name)
        .name(&alias)
        .send()
        .await
        .map_err(|e| errors::control_plane_error(GET_ALIAS, &resource, &e))?;
    let alias_arn = answer
        .alias_arn()
        .map_or_else(|| resource.clone(), ToOwned::to_owned);
    tracing::info!(alias = %alias_arn, routing = ?routing_of(&answer), "following the alias");
    Ok(AliasFollower {
        client,
        function_name,
        alias,
        alias_arn,
        poll,
    })
}

/// The routing a GetAlias answer describes.
pub fn routing_of(answer: &GetAliasOutput) -> Routing {
    let additional = answer
        .routing_config()
        .and_then(|r| r.additional_version_weights())
        .map(|w| {
            w.iter()
                .filter(|(_, weight)| **weight > 0.0)
                .map(|(v, weight)| (v.clone(), *weight))
                .collect()
        })
        .unwrap_or_default();
    Routing {
        primary: answer.function_version().unwrap_or_default().to_owned(),
        additional,
    }
}

impl AliasFollower {
    /// The log the poller fills, in `shared`, then the poller itself: a task polling every
    /// `--poll` from `t0` (wall clock `origin_unix_ms`) until aborted.
    pub fn start(
        self,
        t0: Instant,
        origin_unix_ms: u64,
        shared: Arc<Mutex<Shared>>,
    ) -> tokio::task::JoinHandle<()> {
        if let Ok(mut s) = shared.lock() {
            s.alias = Some(AliasLog::new(
                self.alias_arn.clone(),
                self.poll,
                t0,
                origin_unix_ms,
            ));
        }
        tokio::spawn(self.poll_until_aborted(t0, shared))
    }

    async fn poll_until_aborted(self, t0: Instant, shared: Arc<Mutex<Shared>>) {
        let mut due = t0;
        let mut failures_in_a_row = 0u32;
        loop {
            tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
            let sent = Instant::now();
            let result = self
                .client
                .get_alias()
                .function_name(&self.function_name)
                .name(&self.alias)
                .send()
                .await;
            let answered = Instant::now();
            let Ok(mut s) = shared.lock() else { return };
            let s = &mut *s;
            let Some(log) = s.alias.as_mut() else { return };
            match result {
                Ok(answer) => {
                    failures_in_a_row = 0;
                    let poll = Poll {
                        due,
                        sent,
                        answered,
                        routing: routing_of(&answer),
                        revision_id: answer.revision_id().map(ToOwned::to_owned),
                    };
                    s.snapshot.polled_until = Some(log.secs(sent));
                    if log.record(poll) {
                        s.snapshot.configured = Some(log.configured());
                    }
                    if log.polls() == 1 {
                        tracing::info!(alias = %self.alias_arn, "first poll of the alias answered");
                    }
                    due += self.poll;
                }
                Err(e) => {
                    failures_in_a_row += 1;
                    let error = errors::describe(&e);
                    tracing::warn!(alias = %self.alias_arn, %error, "GetAlias failed; retrying");
                    s.report.failures.push(CallFailure {
                        at: log.secs(answered),
                        call: GET_ALIAS.into(),
                        error,
                    });
                    log.failed();
                    due = sent + backoff(self.poll, failures_in_a_row);
                }
            }
            // A late answer does not cause a burst of polls.
            due = due.max(Instant::now());
        }
    }
}

/// The wait after `failures` failed attempts in a row: `poll·2^failures`, at most
/// [`MAX_BACKOFF`].
pub fn backoff(poll: Duration, failures: u32) -> Duration {
    let factor = 2u32.saturating_pow(failures.min(16));
    poll.saturating_mul(factor).min(MAX_BACKOFF).max(poll)
}

/// One successful poll.
#[derive(Debug, Clone)]
pub struct Poll {
    /// When it was due.
    pub due: Instant,
    /// When it was sent.
    pub sent: Instant,
    /// When it was answered.
    pub answered: Instant,
    /// The routing it saw.
    pub routing: Routing,
    /// The alias's `RevisionId`.
    pub revision_id: Option<String>,
}

/// Everything the polls of one alias saw.
#[derive(Debug, Clone)]
pub struct AliasLog {
    report: AliasReport,
    t0: Instant,
    origin_unix_ms: u64,
    /// The last successful poll.
    last: Option<Poll>,
    /// Since when no poll has succeeded (a failure happened after the last success).
    open_gap: Option<f64>,
}

impl AliasLog {
    /// An empty log; times are seconds since `t0`, at wall clock `origin_unix_ms`.
    pub fn new(alias_arn: String, poll: Duration, t0: Instant, origin_unix_ms: u64) -> Self {
        Self {
            report: AliasReport {
                alias_arn,
                poll_secs: poll.as_secs_f64(),
                polls: 0,
                changes: Vec::new(),
                seen_at_unix_ms: Vec::new(),
                gaps: Vec::new(),
                max_answer_secs: 0.0,
                max_send_delay_secs: 0.0,
            },
            t0,
            origin_unix_ms,
            last: None,
            open_gap: None,
        }
    }

    /// Seconds since the origin.
    pub fn secs(&self, at: Instant) -> f64 {
        if at >= self.t0 {
            at.duration_since(self.t0).as_secs_f64()
        } else {
            -self.t0.duration_since(at).as_secs_f64()
        }
    }

    /// Successful polls so far.
    pub fn polls(&self) -> u64 {
        self.report.polls
    }

    /// Records a successful poll; true when it saw a new routing or revision (a change).
    pub fn record(&mut self, poll: Poll) -> bool {
        let r = &mut self.report;
        r.polls += 1;
        r.max_answer_secs = r.max_answer_secs.max(
            poll.answered
                .saturating_duration_since(poll.sent)
                .as_secs_f64(),
        );
        r.max_send_delay_secs = r
            .max_send_delay_secs
            .max(poll.sent.saturating_duration_since(poll.due).as_secs_f64());
        let answered = self.secs(poll.answered);
        if let Some(from) = self.open_gap.take() {
            self.report.gaps.push([from, answered]);
        }
        let changed = self.last.as_ref().is_none_or(|last| {
            last.routing != poll.routing || last.revision_id != poll.revision_id
        });
        if changed {
            let not_before = match &self.last {
                Some(last) => self.secs(last.sent),
                None => answered,
            };
            let seen_ms = (answered * 1000.0).round().max(0.0) as u64;
            self.report.changes.push(RoutingChange {
                at: (not_before + answered) / 2.0,
                not_before,
                not_after: answered,
                routing: poll.routing.clone(),
                revision_id: poll.revision_id.clone(),
            });
            self.report
                .seen_at_unix_ms
                .push(self.origin_unix_ms + seen_ms);
        }
        self.last = Some(poll);
        changed
    }

    /// The routing the last successful poll saw.
    pub fn last_routing(&self) -> Option<&Routing> {
        self.last.as_ref().map(|p| &p.routing)
    }

    /// Records a failed poll: a gap opens at the last success's answer (or at the origin when
    /// none succeeded yet).
    pub fn failed(&mut self) {
        if self.open_gap.is_none() {
            let from = self.last.as_ref().map_or(0.0, |l| self.secs(l.answered));
            self.open_gap = Some(from);
        }
    }

    /// The configured routing so far (closed gaps only).
    pub fn configured(&self) -> ConfiguredRouting {
        ConfiguredRouting {
            changes: self.report.changes.clone(),
            gaps: self.report.gaps.clone(),
        }
    }

    /// The report, a gap still open closed at `end` (seconds).
    pub fn finish(&mut self, end: f64) -> AliasReport {
        if let Some(from) = self.open_gap.take() {
            self.report.gaps.push([from, end.max(from)]);
        }
        self.report.clone()
    }
}

/// The share of `version` in the routing the alias had at `t` (best estimates); `None` before
/// the first poll or inside a gap.
pub fn configured_share(configured: &ConfiguredRouting, version: &str, t: f64) -> Option<f64> {
    if configured.gaps.iter().any(|[a, b]| *a <= t && t < *b) {
        return None;
    }
    configured.routing_at(t).map(|r| r.share_of(version))
}

/// The version the alias shifts to: the first version given weight other than the first
/// routing's primary (the additional version, or a new primary).
pub fn shifted_to(configured: &ConfiguredRouting) -> Option<String> {
    let first = configured.changes.first()?;
    configured.changes.iter().find_map(|c| {
        c.routing
            .additional
            .keys()
            .find(|v| **v != first.routing.primary)
            .cloned()
            .or_else(|| {
                (c.routing.primary != first.routing.primary).then(|| c.routing.primary.clone())
            })
    })
}

/// When the alias started to move during the run: the start of the bracket of the first change
/// whose weights differ from the first poll's — the earliest instant it can have happened, so
/// that no response before it can come from the shift (`None` when it never moved, or when it
/// was already mid-shift at the first poll, so the deployment began before the run).
pub fn alias_start(configured: &ConfiguredRouting) -> Option<f64> {
    let first = configured.changes.first()?;
    if !first.routing.additional.is_empty() {
        return None;
    }
    configured
        .changes
        .iter()
        .find(|c| c.routing != first.routing)
        .map(|c| c.not_before)
}

/// True when the alias is not in the middle of a shift (all traffic on one version).
pub fn at_rest(configured: &ConfiguredRouting) -> bool {
    configured
        .changes
        .last()
        .is_none_or(|c| c.routing.additional.is_empty())
}

/// Weights in a compact form: `1 90% · 2 10%`.
pub fn describe_routing(routing: &Routing) -> String {
    let mut shares: BTreeMap<&str, f64> = BTreeMap::new();
    shares.insert(&routing.primary, routing.share_of(&routing.primary));
    for (v, w) in &routing.additional {
        shares.insert(v, *w);
    }
    shares
        .iter()
        .map(|(v, s)| format!("{v} {}", crate::summary::percent(*s)))
        .collect::<Vec<_>>()
        .join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routing(primary: &str, additional: &[(&str, f64)]) -> Routing {
        Routing {
            primary: primary.into(),
            additional: additional
                .iter()
                .map(|(v, w)| ((*v).to_owned(), *w))
                .collect(),
        }
    }

    fn poll(t0: Instant, sent_ms: u64, rtt_ms: u64, r: Routing, rev: &str) -> Poll {
        let sent = t0 + Duration::from_millis(sent_ms);
        Poll {
            due: sent,
            sent,
            answered: sent + Duration::from_millis(rtt_ms),
            routing: r,
            revision_id: Some(rev.into()),
        }
    }

    #[test]
    fn a_change_is_bracketed_by_the_previous_send_and_its_answer() {
        let t0 = Instant::now();
        let mut log = AliasLog::new("arn".into(), Duration::from_millis(200), t0, 1_000_000);
        assert!(log.record(poll(t0, 0, 5, routing("1", &[]), "a")));
        assert!(!log.record(poll(t0, 200, 5, routing("1", &[]), "a")));
        assert!(log.record(poll(t0, 400, 7, routing("1", &[("2", 0.1)]), "b")));
        // Same weights, new revision: an update in between.
        assert!(log.record(poll(t0, 600, 5, routing("1", &[("2", 0.1)]), "c")));
        let r = log.finish(1.0);
        assert_eq!(r.polls, 4);
        assert_eq!(r.changes.len(), 3);
        let c = &r.changes[1];
        assert!((c.not_before - 0.2).abs() < 1e-9 && (c.not_after - 0.407).abs() < 1e-9);
        assert!((c.at - 0.3035).abs() < 1e-9);
        assert_eq!(r.seen_at_unix_ms[1], 1_000_407);
        assert!((r.max_answer_secs - 0.007).abs() < 1e-9);
        let configured = log.configured();
        assert_eq!(alias_start(&configured), Some(c.not_before));
        assert_eq!(shifted_to(&configured).as_deref(), Some("2"));
        assert!(!at_rest(&configured));
    }

    #[test]
    fn failures_leave_a_gap_from_the_last_success_to_the_next() {
        let t0 = Instant::now();
        let mut log = AliasLog::new("arn".into(), Duration::from_millis(200), t0, 0);
        log.record(poll(t0, 0, 5, routing("1", &[]), "a"));
        log.record(poll(t0, 200, 5, routing("1", &[]), "a"));
        log.failed();
        log.failed();
        log.record(poll(t0, 1600, 10, routing("1", &[("2", 0.2)]), "b"));
        log.failed();
        let r = log.finish(3.0);
        assert_eq!(r.gaps.len(), 2, "{:?}", r.gaps);
        assert!((r.gaps[0][0] - 0.205).abs() < 1e-9 && (r.gaps[0][1] - 1.61).abs() < 1e-9);
        assert_eq!(r.gaps[1][1], 3.0);
        // The change seen after the gap is bracketed from the last success before it.
        assert!((r.changes[1].not_before - 0.2).abs() < 1e-9);
        // Without the gap still open at the end: known again after the answer at 1.61 s.
        let configured = ConfiguredRouting {
            changes: r.changes.clone(),
            gaps: r.gaps[..1].to_vec(),
        };
        assert_eq!(configured_share(&configured, "2", 1.0), None);
        assert_eq!(configured_share(&configured, "2", 0.1), Some(0.0));
        assert_eq!(configured_share(&configured, "2", 1.7), Some(0.2));
    }

    #[test]
    fn backoff_doubles_up_to_thirty_seconds() {
        let p = Duration::from_millis(200);
        assert_eq!(backoff(p, 1), Duration::from_millis(400));
        assert_eq!(backoff(p, 3), Duration::from_millis(1600));
        assert_eq!(backoff(p, 10), MAX_BACKOFF);
        assert_eq!(backoff(p, 100), MAX_BACKOFF);
        assert_eq!(backoff(Duration::from_secs(60), 1), Duration::from_secs(60));
    }

    #[test]
    fn an_alias_mid_shift_at_the_first_poll_gives_no_start() {
        let t0 = Instant::now();
        let mut log = AliasLog::new("arn".into(), Duration::from_secs(1), t0, 0);
        log.record(poll(t0, 0, 5, routing("1", &[("2", 0.3)]), "a"));
        log.record(poll(t0, 1000, 5, routing("1", &[("2", 0.4)]), "b"));
        assert_eq!(alias_start(&log.configured()), None);
        log.record(poll(t0, 2000, 5, routing("2", &[]), "c"));
        assert!(at_rest(&log.configured()));
        assert_eq!(
            describe_routing(&routing("1", &[("2", 0.1)])),
            "1 90% · 2 10%"
        );
    }
}
