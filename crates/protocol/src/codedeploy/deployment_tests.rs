use super::*;

#[test]
fn an_inline_revision_yields_its_appspec_and_others_are_invalid_revisions() {
    let r = RevisionLocation::app_spec("version: 0.0");
    assert_eq!(r.app_spec_text(), Ok("version: 0.0"));
    let json = r#"{"revisionType":"String","string":{"content":"{}","sha256":"ab"}}"#;
    let r: RevisionLocation = serde_json::from_str(json).unwrap();
    assert_eq!(r.app_spec_text(), Ok("{}"));
    for (json, needle) in [
        (
            r#"{"revisionType":"S3","s3Location":{"bucket":"b","key":"k"}}"#,
            "S3 is not available",
        ),
        (r#"{"revisionType":"AppSpecContent"}"#, "no AppSpec content"),
        (
            r#"{"revisionType":"AppSpecContent","appSpecContent":{"content":"  "}}"#,
            "no AppSpec content",
        ),
        (r#"{}"#, "no revisionType"),
    ] {
        let r: RevisionLocation = serde_json::from_str(json).unwrap();
        let err = r.app_spec_text().unwrap_err();
        assert_eq!(
            err.error_type,
            CodeDeployErrorType::InvalidRevision,
            "{json}"
        );
        assert!(err.message.contains(needle), "{json}: {err}");
    }
}

#[test]
fn list_filters_are_checked_as_codedeploy_checks_them() {
    let input: ListDeploymentsInput = serde_json::from_str(
        r#"{"applicationName":"a","deploymentGroupName":"g","includeOnlyStatuses":["Failed","Ready","Stopped"]}"#,
    )
    .unwrap();
    assert_eq!(
        input.statuses().unwrap(),
        Some(vec![DeploymentStatus::Failed, DeploymentStatus::Stopped])
    );
    assert_eq!(input.validate(), Ok(()));
    let bad = ListDeploymentsInput {
        include_only_statuses: Some(vec!["Done".into()]),
        ..input.clone()
    };
    let err = bad.validate().unwrap_err();
    assert_eq!(err.error_type, CodeDeployErrorType::InvalidDeploymentStatus);
    assert!(err.message.contains("\"Done\""), "{err}");
    let orphan = ListDeploymentsInput {
        application_name: None,
        ..input.clone()
    };
    assert_eq!(
        orphan.validate().unwrap_err().error_type,
        CodeDeployErrorType::ApplicationNameRequired
    );
    let backwards = ListDeploymentsInput {
        create_time_range: Some(TimeRange {
            start: Some(Timestamp::from_unix_millis(2_000)),
            end: Some(Timestamp::from_unix_millis(1_000)),
        }),
        ..input
    };
    assert_eq!(
        backwards.validate().unwrap_err().error_type,
        CodeDeployErrorType::InvalidTimeRange
    );
}

#[test]
fn a_hook_report_needs_ids_and_succeeded_or_failed() {
    let report = |json: &str| {
        serde_json::from_str::<PutLifecycleEventHookExecutionStatusInput>(json)
            .unwrap()
            .report()
            .map(|(d, e, s)| (d.to_owned(), e.to_owned(), s))
            .map_err(|e| e.error_type)
    };
    assert_eq!(
        report(r#"{"deploymentId":"d-1","lifecycleEventHookExecutionId":"e-1","status":"Failed"}"#),
        Ok(("d-1".into(), "e-1".into(), HookStatus::Failed))
    );
    assert_eq!(
        report(r#"{"lifecycleEventHookExecutionId":"e-1","status":"Succeeded"}"#),
        Err(CodeDeployErrorType::DeploymentIdRequired)
    );
    assert_eq!(
        report(r#"{"deploymentId":"d-1","status":"Succeeded"}"#),
        Err(CodeDeployErrorType::InvalidLifecycleEventHookExecutionId)
    );
    for status in [r#","status":"Pending""#, r#","status":"succeeded""#, ""] {
        let json =
            format!(r#"{{"deploymentId":"d-1","lifecycleEventHookExecutionId":"e-1"{status}}}"#);
        assert_eq!(
            report(&json),
            Err(CodeDeployErrorType::InvalidLifecycleEventHookExecutionStatus),
            "{json}"
        );
    }
}
