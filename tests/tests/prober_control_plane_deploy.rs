//! The prober following a CodeDeploy deployment of the lab (`--deployment`, `prober watch`):
//! the schedule from the deployment's configuration, the run ending with the deployment,
//! CodeDeploy's account next to the probes' (and the contradiction reported loudly when the
//! clients were not on the alias CodeDeploy shifted).

#[path = "prober_control_plane_deploy/support.rs"]
mod support;

use support::{DeployLab, TIME_SCALE, finish, show};

/// The probes' end (Unix ms) from the report.
fn ended_ms(report: &serde_json::Value) -> f64 {
    report["started_at_unix_ms"].as_f64().unwrap()
        + report["duration_secs"].as_f64().unwrap() * 1000.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_followed_to_its_end() {
    let lab = DeployLab::start().await;
    let id = lab.create_deployment(true, false);
    let mut child = lab
        .prober(
            &lab.probe_args("/", &id)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
        .spawn()
        .unwrap();
    // The traffic shift waits for the prober: the hook is answered once it sends.
    lab.wait_invocations(100, &mut child).await;
    lab.report_hook(&id, "BeforeAllowTraffic", "Succeeded")
        .await;
    let out = finish(child).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let report = lab.report();
    let d = &report["control_plane"]["deployment"];
    assert_eq!(d["deployment_id"], id.as_str(), "{d}");
    assert_eq!(
        d["status"],
        "Succeeded",
        "{}\n{}",
        report["control_plane"],
        show(&out)
    );
    assert_eq!(d["deployment_config"], support::CONFIG, "{d}");
    // No --schedule: the configuration's (GetDeploymentConfig), time-scaled like the lab.
    let schedule = rollout::schedule::Schedule::linear(25.0, 60.0).unwrap();
    assert_eq!(d["schedule"], schedule.name(), "{d}");
    assert_eq!(
        report["config"]["schedule"],
        schedule.name(),
        "{}",
        report["config"]
    );
    assert_eq!(report["config"]["time_scale"], TIME_SCALE);
    assert_eq!(d["current_version"], "1");
    assert_eq!(d["target_version"], "2");
    assert_eq!(d["alias"], "hello:live");
    let events: Vec<(String, String)> = d["lifecycle_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        events.contains(&("BeforeAllowTraffic".into(), "Succeeded".into()))
            && events.contains(&("AllowTraffic".into(), "Succeeded".into())),
        "{events:?}"
    );
    let history: Vec<&str> = d["status_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(history.last(), Some(&"Succeeded"), "{history:?}");
    assert_eq!(
        report["verdict"], "followed",
        "{}",
        report["verdict_reason"]
    );
    let agreement = &report["control_plane"]["agreement"];
    assert_eq!(agreement["agree"], true, "{agreement}");
    // The deployment's alias was polled although --alias was not given: the clients were
    // judged against its real weights, from its first move.
    let alias = &report["control_plane"]["alias"];
    assert!(
        alias["alias_arn"]
            .as_str()
            .is_some_and(|a| a.ends_with(":function:hello:live")),
        "{alias}"
    );
    assert!(
        alias["changes"].as_array().is_some_and(|c| c.len() >= 2),
        "the shift's weight changes: {alias}"
    );
    assert_eq!(report["deployment_start_source"], "alias");
    // The run ended with the deployment: after the lab's final status, within the settle time
    // (--timeout 2 s + 1 s), the observed tail (5 s), a poll (0.2 s) and a second of slack.
    let (status, final_ms) = lab.final_status_ms(&id);
    assert_eq!(status, "Succeeded");
    let end = ended_ms(&report);
    assert!(
        end >= final_ms + 8000.0 && end <= final_ms + 8000.0 + 200.0 + 1000.0,
        "the run ended {:.0} ms after the deployment",
        end - final_ms
    );
    lab.lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_seen_by_both_planes() {
    let lab = DeployLab::start().await;
    let id = lab.create_deployment(true, true);
    let mut child = lab
        .prober(
            &lab.probe_args("/", &id)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
        .spawn()
        .unwrap();
    lab.wait_invocations(100, &mut child).await;
    lab.report_hook(&id, "BeforeAllowTraffic", "Succeeded")
        .await;
    // All traffic on version 2 for a while (two seconds of probes), then the post-traffic hook
    // fails: CodeDeploy rolls back.
    lab.wait_event("the post-traffic hook", |e| {
        e["type"] == "hookInvoked" && e["lifecycleEvent"] == "AfterAllowTraffic"
    })
    .await;
    lab.wait_more_invocations("2", 200).await;
    lab.report_hook(&id, "AfterAllowTraffic", "Failed").await;
    let out = finish(child).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let report = lab.report();
    let d = &report["control_plane"]["deployment"];
    assert!(d["status"] == "Failed" || d["status"] == "Stopped", "{d}");
    assert!(d["rollback"].is_string(), "{d}");
    assert!(d["error"].is_string(), "{d}");
    assert_eq!(
        report["verdict"], "rollback",
        "{}",
        report["verdict_reason"]
    );
    assert_eq!(
        report["control_plane"]["agreement"]["agree"], true,
        "{}",
        report["control_plane"]
    );
    lab.lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codedeploy_success_with_a_deviating_split_is_loud() {
    let lab = DeployLab::start().await;
    let id = lab.create_deployment(true, false);
    // The front door's route targets `hello:pinned`, left on version 1, while CodeDeploy
    // shifts `hello:live`.
    let mut child = lab
        .prober(
            &lab.probe_args("/pinned", &id)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
        .spawn()
        .unwrap();
    lab.wait_invocations(100, &mut child).await;
    lab.report_hook(&id, "BeforeAllowTraffic", "Succeeded")
        .await;
    let out = finish(child).await;
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let report = lab.report();
    assert_eq!(report["control_plane"]["deployment"]["status"], "Succeeded");
    assert_eq!(report["verdict"], "deviated");
    let reason = report["verdict_reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("CodeDeploy marks {id} Succeeded")),
        "{reason}"
    );
    assert!(reason.contains("never got version 2"), "{reason}");
    assert_eq!(report["control_plane"]["agreement"]["agree"], false);
    lab.lab.shutdown().await;
}

/// `prober watch` on one deployment: its lines, exit code and `watch.json`.
async fn watch(lab: &DeployLab, after_hook: &str) -> (Option<i32>, Vec<String>, String, String) {
    let id = lab.create_deployment(true, true);
    let out = lab.out();
    let out_arg = out.display().to_string();
    let watching = support::Lines::spawn(lab.prober(&[
        "watch",
        "--deployment",
        &id,
        "--poll",
        "200ms",
        "--max-duration",
        "100s",
        "--out",
        &out_arg,
    ]));
    // The shift starts once the watch has seen the deployment.
    watching.wait_line(&format!("deployment {id}")).await;
    lab.report_hook(&id, "BeforeAllowTraffic", "Succeeded")
        .await;
    lab.report_hook(&id, "AfterAllowTraffic", after_hook).await;
    let (code, lines, stderr) = watching.finish().await;
    let json = std::fs::read_to_string(out.join("watch.json")).unwrap_or_default();
    (code, lines, stderr, json)
}

fn count(lines: &[String], text: &str) -> usize {
    lines
        .iter()
        .filter(|l| l.ends_with(text) || l.contains(&format!("{text} ")))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_prints_each_step_once() {
    let lab = DeployLab::start().await;
    let (code, lines, stderr, json) = watch(&lab, "Succeeded").await;
    let all = lines.join("\n");
    assert_eq!(code, Some(0), "{all}\n{stderr}");
    for step in ["25%", "50%", "75%", "100%"] {
        let text = format!("alias hello:live: version 2 at {step}");
        let n = lines.iter().filter(|l| l.contains(&text)).count();
        assert_eq!(n, 1, "{text:?} printed {n} times:\n{all}");
    }
    for event in [
        "BeforeAllowTraffic Succeeded",
        "AllowTraffic Succeeded",
        "AfterAllowTraffic Succeeded",
    ] {
        let n = lines
            .iter()
            .filter(|l| {
                l.contains(event)
                    && !l.contains(&format!("Before{event}"))
                    && !l.contains(&format!("After{event}"))
            })
            .count();
        assert_eq!(n, 1, "{event:?} printed {n} times:\n{all}");
    }
    assert_eq!(count(&lines, "status Succeeded"), 1, "{all}");
    assert!(
        lines.last().unwrap().contains("Succeeded (exit 0)"),
        "{all}"
    );
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["deployment"]["status"], "Succeeded", "{report}");
    // Every step once, in order (the first poll may already see the first step).
    let shares: Vec<f64> = report["alias"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let r = &c["routing"];
            if r["primary"] == "2" {
                1.0
            } else {
                r["additional"]["2"].as_f64().unwrap_or(0.0)
            }
        })
        .collect();
    assert!(shares.ends_with(&[0.25, 0.5, 0.75, 1.0]), "{shares:?}");
    assert!(shares.len() <= 5, "{shares:?}");

    let lab = DeployLab::start().await;
    let (code, lines, stderr, json) = watch(&lab, "Failed").await;
    let all = lines.join("\n");
    assert_eq!(code, Some(2), "{all}\n{stderr}");
    assert_eq!(
        lines.iter().filter(|l| l.contains("rollback: ")).count(),
        1,
        "{all}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("AfterAllowTraffic Failed"))
            .count(),
        1,
        "{all}"
    );
    let full = lines
        .iter()
        .position(|l| l.contains("version 2 at 100%"))
        .expect(&all);
    let back = lines
        .iter()
        .rposition(|l| l.contains("version 2 at 0%"))
        .expect(&all);
    assert!(full < back, "{all}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(report["deployment"]["rollback"].is_string(), "{report}");
}

/// A stack record in the lab's CloudFormation (what `serve --template` leaves): the alias
/// with its CodeDeploy update policy, the application and group, the outputs of
/// `template.yaml` (a URL, the prober command, the alias ARN).
fn demo_stack(lab: &DeployLab) {
    use lab::control::stacks::{NewStack, ResourceStatus, StackOutput, StackStatus};
    let stacks = &lab.lab.stacks;
    let alias = "arn:aws:lambda:us-east-1:123456789012:function:hello:live";
    let processed = serde_json::json!({"Resources": {
        "HelloFunctionAliaslive": {
            "Type": "AWS::Lambda::Alias",
            "UpdatePolicy": {"CodeDeployLambdaAliasUpdate": {
                "ApplicationName": {"Ref": "ServerlessDeploymentApplication"},
                "DeploymentGroupName": {"Ref": "HelloFunctionDeploymentGroup"}}}},
        "ServerlessDeploymentApplication": {"Type": "AWS::CodeDeploy::Application"},
        "HelloFunctionDeploymentGroup": {"Type": "AWS::CodeDeploy::DeploymentGroup"}
    }});
    stacks
        .create(NewStack {
            name: "rollcall-demo".into(),
            description: None,
            parameters: Vec::new(),
            capabilities: Vec::new(),
            template_original: "Transform: AWS::Serverless-2016-10-31\n".into(),
            template_processed: processed.to_string(),
        })
        .unwrap();
    for (logical, kind, physical) in [
        ("HelloFunctionAliaslive", "AWS::Lambda::Alias", alias),
        (
            "ServerlessDeploymentApplication",
            "AWS::CodeDeploy::Application",
            support::APP,
        ),
        (
            "HelloFunctionDeploymentGroup",
            "AWS::CodeDeploy::DeploymentGroup",
            support::GROUP,
        ),
        (
            "ServerlessRestApi",
            "AWS::ApiGateway::RestApi",
            "abc123defg",
        ),
    ] {
        stacks
            .set_resource_status(
                "rollcall-demo",
                logical,
                Some(physical),
                kind,
                ResourceStatus::CreateComplete,
                None,
            )
            .unwrap();
    }
    let api = lab.lab.api_url();
    let output = |key: &str, value: String| StackOutput {
        key: key.into(),
        value,
        description: None,
        export_name: None,
    };
    stacks
        .set_outputs(
            "rollcall-demo",
            vec![
                output("HelloApiUrl", format!("{api}/other")),
                output("ProberCommand", format!("prober --url {api}/ --rps 20")),
                output("LiveAliasArn", alias.into()),
            ],
        )
        .unwrap();
    stacks
        .set_stack_status("rollcall-demo", StackStatus::CreateComplete, None)
        .unwrap();
}

/// `--stack`: DescribeStacks, DescribeStackResources and GetTemplate through the Rust SDK's
/// XML parsing against the lab's CloudFormation; the URL from the prober command output, the
/// alias's deployment group from its update policy, `latest` waiting for the next deployment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_names_the_target_and_the_next_deployment() {
    let lab = DeployLab::start().await;
    demo_stack(&lab);
    // The lab's side: each API of the stack by its AWS host -> the front door, and the line
    // `serve --template` prints for the prober.
    let host = "abc123defg.execute-api.us-east-1.amazonaws.com";
    let connect = lab::ready::connect_to(&lab.lab);
    assert_eq!(
        connect.into_iter().collect::<Vec<_>>(),
        [(host.to_owned(), lab.lab.api_url())]
    );
    let export = lab::ready::export_line(&lab.lab);
    assert!(
        export.starts_with(&format!(
            "export PROBER_CONNECT_TO={host}={} AWS_ENDPOINT_URL={} AWS_REGION=us-east-1",
            lab.lab.api_url(),
            lab.lab.lambda_url()
        )),
        "{export}"
    );
    let out = lab.out().display().to_string();
    let mut child = lab
        .prober(&[
            "--stack",
            "rollcall-demo",
            "--rps",
            "100",
            "--version-json",
            "/version",
            "--poll",
            "200ms",
            "--time-scale",
            "60",
            "--timeout",
            "2s",
            "--max-duration",
            "120s",
            "--quiet",
            "--out",
            &out,
        ])
        .spawn()
        .unwrap();
    // The deployment starts while the prober already probes (a `sam deploy` in another
    // terminal).
    lab.wait_invocations(100, &mut child).await;
    // `prober watch --stack` in a third terminal: the stack's alias's group, its next deployment.
    let watcher = lab
        .prober(&[
            "watch",
            "--stack",
            "rollcall-demo",
            "--poll",
            "200ms",
            "--max-duration",
            "120s",
        ])
        .spawn()
        .unwrap();
    let id = lab.create_deployment(true, false);
    lab.report_hook(&id, "BeforeAllowTraffic", "Succeeded")
        .await;
    let out = finish(child).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let watched = finish(watcher).await;
    assert_eq!(watched.status.code(), Some(0), "{}", show(&watched));
    let lines = String::from_utf8_lossy(&watched.stdout);
    assert!(lines.contains(&id), "{lines}");
    assert!(lines.contains("Succeeded (exit 0)"), "{lines}");
    let report = lab.report();
    let stack = &report["control_plane"]["stack"];
    assert_eq!(stack["stack_name"], "rollcall-demo", "{stack}");
    assert_eq!(stack["status"], "CREATE_COMPLETE", "{stack}");
    assert_eq!(stack["url_output"], "ProberCommand", "{stack}");
    assert_eq!(report["config"]["url"], format!("{}/", lab.lab.api_url()));
    let d = &report["control_plane"]["deployment"];
    assert_eq!(d["deployment_id"], id.as_str(), "{d}");
    assert_eq!(d["status"], "Succeeded", "{d}");
    assert_eq!(report["control_plane"]["agreement"]["agree"], true);
    // The schedule came with the deployment, found mid-run: the report judges against it and
    // names it as the configuration does (the time scale stands beside it).
    let schedule = rollout::schedule::Schedule::linear(25.0, 60.0).unwrap();
    assert_eq!(
        report["config"]["schedule"],
        schedule.name(),
        "{}",
        report["config"]
    );
    let conformance = &report["control_plane"]["schedule_conformance"];
    assert_eq!(conformance["schedule"], schedule.name(), "{conformance}");
}

/// A deployment CodeDeploy does not know is a usage error before any probe is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_deployment_is_refused_before_the_first_probe() {
    let lab = DeployLab::start().await;
    let args = lab.probe_args("/", "d-NOPE12345");
    let child = lab
        .prober(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .spawn()
        .unwrap();
    let out = finish(child).await;
    assert_eq!(out.status.code(), Some(64), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("codedeploy:GetDeployment on d-NOPE12345 failed")
            && stderr.contains("DeploymentDoesNotExistException"),
        "{stderr}"
    );
    let sent: u64 = lab.lab.functions["hello"]
        .values()
        .map(|p| p.stats().invocations)
        .sum();
    assert_eq!(sent, 0);
}
