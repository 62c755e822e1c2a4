use super::*;

fn store_with(name: &str) -> (Stacks, String) {
    let stacks = Stacks::new("eu-west-1", "111122223333");
    let id = stacks
        .create(NewStack {
            name: name.into(),
            ..NewStack::default()
        })
        .expect("a new name is accepted");
    (stacks, id)
}

#[test]
fn a_stack_id_is_an_arn_in_the_store_s_home_with_a_uuid_tail() {
    let (_, id) = store_with("rollcall-demo");
    let tail = id
        .strip_prefix("arn:aws:cloudformation:eu-west-1:111122223333:stack/rollcall-demo/")
        .expect("the ARN's prefix");
    let groups: Vec<usize> = tail.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12]);
    assert!(tail.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
}

#[test]
fn a_name_already_used_is_refused_as_cloudformation_refuses_it() {
    let (stacks, _) = store_with("demo");
    let e = stacks
        .create(NewStack {
            name: "demo".into(),
            ..NewStack::default()
        })
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::AlreadyExists);
    assert_eq!(e.message, "Stack [demo] already exists");
    assert_eq!(e.code.as_str(), "AlreadyExistsException");
}

#[test]
fn an_invalid_name_is_refused() {
    let stacks = Stacks::new("us-east-1", "123456789012");
    for bad in ["", "1demo", "de_mo", &"a".repeat(129)] {
        let e = stacks
            .create(NewStack {
                name: bad.into(),
                ..NewStack::default()
            })
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::ValidationError, "{bad}");
        assert!(e.message.contains("stackName"), "{}", e.message);
    }
}

#[test]
fn an_update_is_refused_while_an_operation_runs_and_after_a_failed_creation() {
    let (stacks, id) = store_with("demo");
    // CREATE_IN_PROGRESS: refused.
    let e = stacks.begin_update("demo").unwrap_err();
    assert_eq!(e.code, ErrorCode::ValidationError);
    assert_eq!(
        e.message,
        format!("Stack:{id} is in CREATE_IN_PROGRESS state and can not be updated.")
    );
    stacks
        .set_stack_status("demo", StackStatus::CreateComplete, None)
        .unwrap();
    assert_eq!(stacks.begin_update(&id).unwrap(), id, "by id too");
    let e = stacks.begin_update("demo").unwrap_err();
    assert!(e.message.contains("is in UPDATE_IN_PROGRESS state"), "{e}");
    stacks
        .set_stack_status("demo", StackStatus::UpdateRollbackComplete, None)
        .unwrap();
    stacks
        .begin_update("demo")
        .expect("after a rolled back update");
    stacks
        .set_stack_status("demo", StackStatus::UpdateRollbackFailed, Some("hook"))
        .unwrap();
    assert!(stacks.begin_update("demo").is_err());

    let (stacks, _) = store_with("failed");
    stacks
        .set_stack_status("failed", StackStatus::RollbackComplete, None)
        .unwrap();
    let e = stacks.begin_update("failed").unwrap_err();
    assert!(e.message.contains("ROLLBACK_COMPLETE state"), "{e}");
    let e = stacks.begin_update("missing").unwrap_err();
    assert_eq!(e.message, "Stack [missing] does not exist");
}

#[test]
fn every_status_change_logs_an_event_and_updates_the_resource() {
    let (stacks, id) = store_with("demo");
    stacks
        .set_resource_status(
            "demo",
            "HelloFunction",
            None,
            "AWS::Lambda::Function",
            ResourceStatus::CreateInProgress,
            None,
        )
        .unwrap();
    stacks
        .set_resource_status(
            "demo",
            "HelloFunction",
            Some("demo-HelloFunction"),
            "AWS::Lambda::Function",
            ResourceStatus::CreateComplete,
            None,
        )
        .unwrap();
    // A later change without a physical id keeps the one the resource has.
    stacks
        .set_resource_status(
            "demo",
            "HelloFunction",
            None,
            "AWS::Lambda::Function",
            ResourceStatus::UpdateFailed,
            Some("the code does not exist"),
        )
        .unwrap();
    stacks
        .set_stack_status("demo", StackStatus::CreateFailed, Some("failed"))
        .unwrap();
    let stack = stacks.get("demo").unwrap();
    let r = &stack.resources["HelloFunction"];
    assert_eq!(r.physical_id.as_deref(), Some("demo-HelloFunction"));
    assert_eq!(r.status, ResourceStatus::UpdateFailed);
    assert_eq!(r.status_reason.as_deref(), Some("the code does not exist"));
    let newest_first: Vec<(&str, &str)> = stack
        .events_newest_first()
        .map(|e| (e.logical_id.as_str(), e.status.as_str()))
        .collect();
    assert_eq!(
        newest_first,
        [
            ("demo", "CREATE_FAILED"),
            ("HelloFunction", "UPDATE_FAILED"),
            ("HelloFunction", "CREATE_COMPLETE"),
            ("HelloFunction", "CREATE_IN_PROGRESS"),
            ("demo", "CREATE_IN_PROGRESS"),
        ]
    );
    let first = stack.events.first().unwrap();
    assert_eq!(first.physical_id.as_deref(), Some(id.as_str()));
    assert_eq!(first.resource_type, STACK_RESOURCE_TYPE);
    assert_eq!(first.status_reason.as_deref(), Some("User Initiated"));
    let ids: std::collections::BTreeSet<&str> =
        stack.events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids.len(), stack.events.len(), "event ids are unique");
    assert!(
        stack
            .events
            .windows(2)
            .all(|w| w[0].timestamp <= w[1].timestamp)
    );
}

#[test]
fn changes_to_a_missing_stack_are_refused() {
    let stacks = Stacks::new("us-east-1", "123456789012");
    let e = stacks
        .set_stack_status("ghost", StackStatus::CreateComplete, None)
        .unwrap_err();
    assert_eq!(e.message, "Stack with id ghost does not exist");
    assert!(stacks.set_outputs("ghost", Vec::new()).is_err());
    assert!(stacks.get("ghost").is_none());
}

#[test]
fn a_stack_is_found_by_name_or_id_and_keeps_what_it_is_given() {
    let (stacks, id) = store_with("demo");
    stacks
        .set_outputs(
            "demo",
            vec![StackOutput {
                key: "Endpoint".into(),
                value: "http://127.0.0.1:9000".into(),
                description: Some("the API".into()),
                export_name: None,
            }],
        )
        .unwrap();
    stacks
        .set_parameters(
            &id,
            vec![StackParameter {
                key: "Stage".into(),
                value: "dev".into(),
            }],
        )
        .unwrap();
    stacks
        .set_templates("demo", "orig".into(), "proc".into(), Some("d".into()))
        .unwrap();
    let by_id = stacks.get(&id).unwrap();
    assert_eq!(by_id, stacks.get("demo").unwrap());
    assert_eq!(by_id.outputs[0].value, "http://127.0.0.1:9000");
    assert_eq!(by_id.parameters[0].value, "dev");
    assert_eq!(
        (
            by_id.template_original.as_str(),
            by_id.template_processed.as_str()
        ),
        ("orig", "proc")
    );
    assert_eq!(stacks.list().len(), 1);
}

#[test]
fn statuses_parse_their_cloudformation_spelling_and_refuse_others() {
    for s in StackStatus::ALL {
        assert_eq!(s.as_str().parse::<StackStatus>(), Ok(*s));
    }
    for s in ResourceStatus::ALL {
        assert_eq!(s.as_str().parse::<ResourceStatus>(), Ok(*s));
    }
    let e = "DONE".parse::<StackStatus>().unwrap_err();
    assert!(e.contains("'DONE'") && e.contains("UPDATE_COMPLETE"), "{e}");
    assert!(StackStatus::UpdateCompleteCleanupInProgress.in_progress());
    assert!(!StackStatus::UpdateRollbackComplete.in_progress());
}

fn set(stacks: &Stacks, logical_id: &str, physical_id: Option<&str>, status: ResourceStatus) {
    stacks
        .set_resource_status(
            "demo",
            logical_id,
            physical_id,
            "AWS::Lambda::Version",
            status,
            None,
        )
        .unwrap();
}

#[test]
fn a_deleted_or_retained_resource_leaves_the_stack_and_keeps_its_events() {
    let (stacks, _) = store_with("demo");
    set(
        &stacks,
        "OldVersion",
        Some("arn:fn:1"),
        ResourceStatus::CreateComplete,
    );
    set(
        &stacks,
        "Kept",
        Some("arn:fn:2"),
        ResourceStatus::CreateComplete,
    );
    set(
        &stacks,
        "Retained",
        Some("arn:fn:3"),
        ResourceStatus::CreateComplete,
    );
    // The engine names the physical id it deleted, or none.
    set(&stacks, "OldVersion", None, ResourceStatus::DeleteComplete);
    set(
        &stacks,
        "Retained",
        Some("arn:fn:3"),
        ResourceStatus::DeleteSkipped,
    );
    let stack = stacks.get("demo").unwrap();
    assert_eq!(stack.resources.keys().collect::<Vec<_>>(), ["Kept"]);
    let deletions: Vec<(&str, Option<&str>, &str)> = stack
        .events_newest_first()
        .take(2)
        .map(|e| {
            (
                e.logical_id.as_str(),
                e.physical_id.as_deref(),
                e.status.as_str(),
            )
        })
        .collect();
    assert_eq!(
        deletions,
        [
            ("Retained", Some("arn:fn:3"), "DELETE_SKIPPED"),
            ("OldVersion", Some("arn:fn:1"), "DELETE_COMPLETE"),
        ]
    );
}

#[test]
fn the_cleanup_of_a_replaced_resource_keeps_its_replacement() {
    let (stacks, _) = store_with("demo");
    set(
        &stacks,
        "Fn",
        Some("demo-Fn-old"),
        ResourceStatus::CreateComplete,
    );
    // An update replaces it: the new physical resource, then the old one cleaned up.
    set(
        &stacks,
        "Fn",
        Some("demo-Fn-new"),
        ResourceStatus::UpdateComplete,
    );
    set(
        &stacks,
        "Fn",
        Some("demo-Fn-old"),
        ResourceStatus::DeleteComplete,
    );
    let stack = stacks.get("demo").unwrap();
    let r = &stack.resources["Fn"];
    assert_eq!(r.physical_id.as_deref(), Some("demo-Fn-new"));
    assert_eq!(r.status, ResourceStatus::UpdateComplete);
    let newest = stack.events_newest_first().next().unwrap();
    assert_eq!(
        (newest.physical_id.as_deref(), newest.status.as_str()),
        (Some("demo-Fn-old"), "DELETE_COMPLETE")
    );
}
