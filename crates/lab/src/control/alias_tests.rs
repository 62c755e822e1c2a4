use super::*;
use crate::invoke::{InvokeOutcome, InvokeResponse};

/// Answers with its own version, as a version's pool would.
struct Echo(&'static str);

impl Invoker for Echo {
    fn invoke(&self, request: InvokeRequest) -> InvokeFuture<'_> {
        Box::pin(async move {
            Ok(InvokeResponse {
                executed_version: self.0.to_owned(),
                cold_start: false,
                outcome: InvokeOutcome::Success {
                    body: request.invoked_function_arn.unwrap_or_default().into(),
                },
            })
        })
    }
}

fn versions(names: &[&'static str]) -> BTreeMap<String, Arc<dyn Invoker>> {
    names
        .iter()
        .map(|v| ((*v).to_owned(), Arc::new(Echo(v)) as Arc<dyn Invoker>))
        .collect()
}

#[test]
fn routing_rules_follow_lambda() {
    let w = |pairs: &[(&str, f64)]| -> BTreeMap<String, f64> {
        pairs.iter().map(|(v, w)| ((*v).to_owned(), *w)).collect()
    };
    type Case<'a> = (&'a str, BTreeMap<String, f64>, Result<(), AliasError>);
    let cases: Vec<Case<'_>> = vec![
        ("1", w(&[]), Ok(())),
        ("$LATEST", w(&[]), Ok(())),
        ("1", w(&[("2", 0.1)]), Ok(())),
        ("1", w(&[("2", 0.0)]), Ok(())),
        ("1", w(&[("2", 1.0)]), Ok(())),
        (
            "1",
            w(&[("2", 0.1), ("3", 0.1)]),
            Err(AliasError::TooManyAdditionalVersions),
        ),
        (
            "$LATEST",
            w(&[("2", 0.1)]),
            Err(AliasError::LatestWithRouting),
        ),
        (
            "1",
            w(&[("$LATEST", 0.1)]),
            Err(AliasError::LatestWithRouting),
        ),
        (
            "1",
            w(&[("2", 1.5)]),
            Err(AliasError::WeightOutOfRange {
                version: "2".into(),
                weight: 1.5,
            }),
        ),
        (
            "1",
            w(&[("2", -0.1)]),
            Err(AliasError::WeightOutOfRange {
                version: "2".into(),
                weight: -0.1,
            }),
        ),
        (
            "1",
            w(&[("1", 0.5)]),
            Err(AliasError::AdditionalIsPrimary("1".into())),
        ),
        ("one", w(&[]), Err(AliasError::InvalidVersion("one".into()))),
        (
            "1",
            w(&[("x", 0.5)]),
            Err(AliasError::InvalidVersion("x".into())),
        ),
    ];
    for (primary, weights, want) in cases {
        let got = Routing::from_weights(primary, &weights).map(|_| ());
        assert_eq!(got, want, "{primary} {weights:?}");
    }
    assert!(
        AliasError::TooManyAdditionalVersions
            .to_string()
            .contains("cannot be greater than 1")
    );
}

#[test]
fn alias_refuses_unpublished_versions() {
    let err = Alias::new(
        "live",
        versions(&["1"]),
        Routing {
            primary: "1".into(),
            additional: Some(("2".into(), 0.1)),
        },
        0,
    )
    .unwrap_err();
    assert_eq!(err, AliasError::UnknownVersion("2".into()));
}

#[test]
fn seeded_split_matches_the_weight_within_five_sigma() {
    let routing = Routing {
        primary: "1".into(),
        additional: Some(("2".into(), 0.1)),
    };
    let alias = Alias::new("live", versions(&["1", "2"]), routing, 42).unwrap();
    let n = 20_000_usize;
    let hits = (0..n).filter(|_| alias.pick() == "2").count();
    let (share, p) = (hits as f64 / n as f64, 0.1);
    let bound = 5.0 * (p * (1.0 - p) / n as f64).sqrt();
    assert!((share - p).abs() < bound, "share {share}, bound {bound}");
}

#[test]
fn same_seed_same_sequence() {
    let make = |seed| {
        let routing = Routing {
            primary: "1".into(),
            additional: Some(("2".into(), 0.5)),
        };
        let alias = Alias::new("live", versions(&["1", "2"]), routing, seed).unwrap();
        (0..64).map(|_| alias.pick()).collect::<Vec<_>>()
    };
    assert_eq!(make(7), make(7));
    assert_ne!(make(7), make(8));
}

#[test]
fn set_routing_applies_and_reports_the_change() {
    let alias = Alias::new("live", versions(&["1", "2"]), Routing::single("1"), 1).unwrap();
    assert!((0..100).all(|_| alias.pick() == "1"));
    let change = alias.set_routing("2", None).unwrap();
    assert_eq!(change.before, Routing::single("1"));
    assert_eq!(change.after, Routing::single("2"));
    assert_eq!(change.alias, "live");
    assert!((0..100).all(|_| alias.pick() == "2"));
    let refused = alias.set_routing("2", Some(("2".into(), 0.5)));
    assert_eq!(refused, Err(AliasError::AdditionalIsPrimary("2".into())));
    assert_eq!(
        alias.routing(),
        Routing::single("2"),
        "refused change kept the old routing"
    );
}

#[test]
fn shares_of_a_routing() {
    let routing = Routing {
        primary: "1".into(),
        additional: Some(("2".into(), 0.25)),
    };
    assert_eq!(routing.share("1"), 0.75);
    assert_eq!(routing.share("2"), 0.25);
    assert_eq!(routing.share("3"), 0.0);
    assert_eq!(routing.to_string(), "1=0.75,2=0.25");
}

#[tokio::test]
async fn invoke_goes_to_the_picked_version_with_the_alias_arn() {
    let alias = Alias::new("live", versions(&["1", "2"]), Routing::single("2"), 3)
        .unwrap()
        .with_invoked_arn("arn:aws:lambda:us-east-1:123456789012:function:f:live");
    let response = alias.invoke(InvokeRequest::default()).await.unwrap();
    assert_eq!(response.executed_version, "2");
    assert_eq!(
        response.outcome,
        InvokeOutcome::Success {
            body: "arn:aws:lambda:us-east-1:123456789012:function:f:live".into()
        }
    );
}

#[test]
fn revision_ids_guard_updates() {
    let alias = Alias::new("live", versions(&["1", "2"]), Routing::single("1"), 1).unwrap();
    let first = alias.revision_id();
    assert_eq!(first.len(), 36);
    alias
        .set_routing_if(Some(&first), "1", Some(("2".into(), 0.5)))
        .unwrap();
    let second = alias.revision_id();
    assert_ne!(first, second, "every change gets a new revision id");
    assert_eq!(
        alias.set_routing_if(Some(&first), "2", None),
        Err(AliasError::RevisionMismatch)
    );
    assert_eq!(
        alias.routing().share("2"),
        0.5,
        "a refused update changes nothing"
    );
    alias.set_routing_if(Some(&second), "2", None).unwrap();
    assert_eq!(alias.routing(), Routing::single("2"));
}
