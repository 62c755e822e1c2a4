use super::*;
use crate::control::alias::AliasError;
use crate::control::alias::Routing;
use crate::invoke::{InvokeFuture, InvokeOutcome, InvokeRequest, InvokeResponse};

/// Answers with its own version and the ARN it was invoked as, as a version's pool would.
struct Echo(String);

impl Invoker for Echo {
    fn invoke(&self, request: InvokeRequest) -> InvokeFuture<'_> {
        Box::pin(async move {
            Ok(InvokeResponse {
                executed_version: self.0.clone(),
                cold_start: false,
                outcome: InvokeOutcome::Success {
                    body: request.invoked_function_arn.unwrap_or_default().into(),
                },
            })
        })
    }
}

fn version(v: &str) -> Version {
    Version {
        version: v.to_owned(),
        config: FunctionConfig::new("hello", v, "/code", "index.handler"),
        last_modified: SystemTime::UNIX_EPOCH,
        pool: Arc::new(Echo(v.to_owned())),
        logs: None,
        meta: VersionMeta::default(),
        owned_pool: None,
    }
}

fn publish(function: &mut Function, number: u64) {
    function
        .versions
        .insert(number, Arc::new(version(&number.to_string())));
}

/// `hello` with `$LATEST`, version 1 and alias `live` → 1 (the alias may route to 1 and 2).
fn registry() -> Arc<Registry> {
    let mut hello = Function::new(version(LATEST), ConcurrencyLimit::new(10));
    publish(&mut hello, 1);
    let known = ["1", "2"]
        .iter()
        .map(|v| {
            (
                (*v).to_owned(),
                Arc::new(Echo((*v).to_owned())) as Arc<dyn Invoker>,
            )
        })
        .collect();
    let live = Alias::new("live", known, Routing::single("1"), 7)
        .unwrap()
        .with_invoked_arn("arn:aws:lambda:us-east-1:123456789012:function:hello:live");
    hello.aliases.insert("live".into(), Arc::new(live));
    let mut snapshot = Snapshot::default();
    snapshot.functions.insert("hello".into(), hello);
    Registry::new(snapshot)
}

#[test]
fn qualifiers_resolve_to_versions_and_aliases() {
    let snapshot = registry().snapshot();
    let name = |t: Target| match t {
        Target::Version(v) => format!("version {}", v.version),
        Target::Alias(a) => format!("alias {}", a.name()),
    };
    let resolve = |q| snapshot.resolve("hello", q).map(name);
    assert_eq!(resolve(None).unwrap(), "version $LATEST");
    assert_eq!(resolve(Some(LATEST)).unwrap(), "version $LATEST");
    assert_eq!(resolve(Some("1")).unwrap(), "version 1");
    assert_eq!(resolve(Some("live")).unwrap(), "alias live");
    for (function, qualifier) in [("hello", Some("2")), ("hello", Some("dev")), ("bye", None)] {
        let e = snapshot.resolve(function, qualifier).map(name).unwrap_err();
        assert_eq!(
            e.kind,
            LambdaErrorType::ResourceNotFound,
            "{function} {qualifier:?}"
        );
        assert!(e.message.contains(function), "{}", e.message);
    }
}

#[tokio::test]
async fn an_alias_routes_to_a_version_published_after_the_snapshot() {
    let registry = registry();
    let held = registry.snapshot();
    registry
        .mutate(|s| {
            publish(s.functions.get_mut("hello").unwrap(), 2);
            Ok::<_, LambdaError>(())
        })
        .unwrap();
    assert!(
        held.function("hello").unwrap().version("2").is_none(),
        "a published snapshot never changes"
    );
    let pool = registry.version_pool(&held, "hello", "2").unwrap();
    let response = pool.invoke(InvokeRequest::default()).await.unwrap();
    assert_eq!(response.executed_version, "2");
    // Through the alias: the update and the invocation both go through the registry.
    registry
        .update_alias("hello", "live", None, "2".into(), None)
        .unwrap();
    let response = registry
        .invoker("hello", Some("live"))
        .invoke(InvokeRequest::default())
        .await
        .unwrap();
    assert_eq!(response.executed_version, "2");
    assert_eq!(
        response.outcome,
        InvokeOutcome::Success {
            body: "arn:aws:lambda:us-east-1:123456789012:function:hello:live".into()
        }
    );
    let missing = registry
        .version_pool(&held, "hello", "3")
        .map(|_| ())
        .unwrap_err();
    assert_eq!(missing.kind, LambdaErrorType::ResourceNotFound);
}

#[test]
fn readers_do_not_wait_for_a_mutation() {
    let registry = registry();
    let before = registry.snapshot();
    registry
        .mutate(|s| {
            s.functions.remove("hello");
            // A reader during the mutation still gets the published snapshot, at once.
            assert!(registry.snapshot().functions.contains_key("hello"));
            Ok::<_, LambdaError>(())
        })
        .unwrap();
    assert!(registry.snapshot().functions.is_empty());
    assert!(before.functions.contains_key("hello"));
    let failed: Result<(), LambdaError> = registry.mutate(|s| {
        s.functions.clear();
        Err(LambdaError::new(LambdaErrorType::ResourceConflict, "no"))
    });
    assert!(failed.is_err());
}

#[test]
fn stale_revision_is_refused() {
    let registry = registry();
    let e = registry
        .update_alias("hello", "live", Some("stale"), "1".into(), None)
        .unwrap_err();
    assert!(
        matches!(
            e,
            super::super::aliases::AliasOperationError::Refused(AliasError::RevisionMismatch)
        ),
        "{e}"
    );
    assert!(matches!(
        registry.update_alias("hello", "dev", None, "1".into(), None),
        Err(super::super::aliases::AliasOperationError::NotFound(_))
    ));
    assert_eq!(
        registry.alias("hello", "live").unwrap().routing(),
        Routing::single("1")
    );
}
