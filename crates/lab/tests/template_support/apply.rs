//! The in-process template tests' lab: a lab started for a test, its parts as the template
//! engine uses them, staged code, and a recorder of the statuses the engine reports.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use cloudformation::Pseudo;
use lab::cli::ServeOptions;
use lab::control::stacks::{ResourceStatus, StackStatus};
use lab::lab::Lab;
use lab::template::apply::{Applied, Prepared, Recorder, apply};
use lab::template::live::LiveStack;
use lab::template::resources::LabParts;
use serde_json::Value;

/// A lab's options for a test: ports 0, time 600 times faster.
pub fn options() -> ServeOptions {
    ServeOptions {
        time_scale: 600.0,
        ..ServeOptions::loopback()
    }
}

/// Every status the engine reported: (logical id, status, reason).
#[derive(Default)]
pub struct Statuses(pub Mutex<Vec<(String, String, String)>>);

impl Recorder for Statuses {
    fn resource(
        &self,
        logical_id: &str,
        _: &str,
        _: &str,
        status: ResourceStatus,
        reason: Option<&str>,
    ) {
        self.0.lock().unwrap().push((
            logical_id.into(),
            status.as_str().into(),
            reason.unwrap_or_default().into(),
        ));
    }
    fn stack(&self, status: StackStatus, reason: Option<&str>) {
        self.0.lock().unwrap().push((
            "stack".into(),
            status.as_str().into(),
            reason.unwrap_or_default().into(),
        ));
    }
}

impl Statuses {
    pub fn of(&self, id: &str) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(i, _, _)| i == id)
            .map(|(_, s, _)| s.clone())
            .collect()
    }
}

/// The parts of `lab` a stack's resources live in.
pub fn parts(lab: &Lab) -> LabParts {
    LabParts {
        registry: Arc::clone(&lab.registry),
        control: lab.control.clone(),
        deployments: Arc::clone(&lab.deployments),
        cloudwatch: Arc::clone(&lab.cloudwatch),
        live_routes: Arc::clone(&lab.live_routes),
        scope: lab.scope.clone(),
        url_listeners: Arc::default(),
    }
}

/// A code dir running `hello` as `bootstrap`.
pub fn code(dir: &Path, name: &str) -> PathBuf {
    let code = dir.join(name);
    std::fs::create_dir_all(&code).unwrap();
    std::fs::copy(
        test_support::executable(&["hello"], "hello"),
        code.join("bootstrap"),
    )
    .unwrap();
    code
}

/// `template` ready to apply, its code (S3 key `code`) at `code`.
pub fn prepared(template: Value, code: &Path) -> Prepared {
    Prepared {
        template_path: PathBuf::from("template.json"),
        template,
        artifacts: BTreeMap::from([("code".to_owned(), code.to_path_buf())]),
        parameters: BTreeMap::new(),
        shift_gate: None,
    }
}

/// Stack `demo` created from `template`; panics when the create fails.
pub async fn create(parts: &LabParts, template: Value, code: &Path) -> LiveStack {
    let pseudo = Pseudo::for_stack("us-east-1", "123456789012", "demo", "1");
    let empty = LiveStack::new(pseudo, PathBuf::from("template.json"));
    let statuses = Statuses::default();
    match apply(parts, empty, prepared(template, code), &statuses).await {
        Applied::Complete(stack) => stack,
        Applied::RolledBack(_, reason) => panic!("the create failed: {reason}"),
    }
}
