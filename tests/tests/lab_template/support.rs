//! A project as `sam build` leaves it (the repository's `template.yaml` and `samconfig.toml`,
//! `.aws-sam/build/template.yaml` with each function's and layer's built directory), and
//! `rollcall-lab serve --template` run on it as a process.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const PACKAGES: &[&str] = &["lab", "hello", "rollcall-extension"];

/// One built executable of the workspace.
pub fn exe(name: &str) -> PathBuf {
    test_support::executable(PACKAGES, name)
}

fn copy_exe(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to)
        .unwrap_or_else(|e| panic!("{} -> {}: {e}", from.display(), to.display()));
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A project directory laid out as after `sam build`.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    /// The repository's template, built: `hello` under its `Handler` name, the rollcall layer
    /// (`extensions/rollcall`, `bootstrap`, `rollcall-wrapper`), Python functions' sources.
    pub fn built() -> Self {
        let root = rollcall_e2e::workspace_root();
        let dir = tempfile::tempdir().unwrap();
        let text = std::fs::read_to_string(root.join("template.yaml")).unwrap();
        std::fs::write(dir.path().join("template.yaml"), &text).unwrap();
        std::fs::copy(
            root.join("samconfig.toml"),
            dir.path().join("samconfig.toml"),
        )
        .unwrap();
        let mut template = cloudformation::parse_template(&text).unwrap();
        let build = dir.path().join(".aws-sam/build");
        let resources = template["Resources"].as_object_mut().unwrap();
        for (id, r) in resources.iter_mut() {
            let out = build.join(id);
            match r["Type"].as_str().unwrap() {
                "AWS::Serverless::Function" => {
                    let runtime = r["Properties"]["Runtime"].as_str().unwrap_or_default();
                    if runtime.starts_with("provided") {
                        let handler = r["Properties"]["Handler"].as_str().unwrap();
                        copy_exe(&exe("hello"), &out.join(handler));
                    } else {
                        let source = r["Properties"]["CodeUri"].as_str().unwrap();
                        copy_tree(&root.join(source), &out);
                    }
                    r["Properties"]["CodeUri"] = Value::String(id.clone());
                }
                "AWS::Serverless::LayerVersion" => {
                    copy_exe(&exe("rollcall"), &out.join("extensions/rollcall"));
                    for script in ["bootstrap", "rollcall-wrapper"] {
                        copy_exe(
                            &root.join("extension/layer").join(script),
                            &out.join(script),
                        );
                    }
                    r["Properties"]["ContentUri"] = Value::String(id.clone());
                }
                _ => {}
            }
        }
        // `sam build` writes it beside build/: the lab takes the template as built.
        std::fs::write(
            dir.path().join(".aws-sam/build.toml"),
            "# written by the test as sam build would\n",
        )
        .unwrap();
        let project = Self { dir };
        project.write_build(&template);
        project
    }

    /// The source template (`serve --template` reads the build next to it).
    pub fn template(&self) -> PathBuf {
        self.dir.path().join("template.yaml")
    }

    /// The built template.
    pub fn build(&self) -> Value {
        let text =
            std::fs::read_to_string(self.dir.path().join(".aws-sam/build/template.yaml")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// Rewrites the built template (JSON, which YAML readers read too).
    pub fn write_build(&self, template: &Value) {
        let path = self.dir.path().join(".aws-sam/build/template.yaml");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, serde_json::to_string_pretty(template).unwrap()).unwrap();
    }

    /// Sets an environment variable of function `id` in the built template.
    pub fn set_variable(&self, id: &str, key: &str, value: &str) {
        let mut t = self.build();
        t["Resources"][id]["Properties"]["Environment"]["Variables"][key] =
            Value::String(value.to_owned());
        self.write_build(&t);
    }

    /// `rollcall-lab serve --template` on this project, ready; stopped when dropped.
    pub fn serve(&self, args: &[&str]) -> Lab {
        let ready = self.dir.path().join("ready.json");
        let _ = std::fs::remove_file(&ready);
        let mut child = Command::new(exe("rollcall-lab"))
            .arg("serve")
            .arg("--template")
            .arg(self.template())
            .args(["--api-port", "0", "--lambda-port", "0", "--ready-file"])
            .arg(&ready)
            .arg("--log-dir")
            .arg(self.dir.path().join("logs"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        while !ready.exists() {
            if let Ok(Some(status)) = child.try_wait() {
                let out = child.wait_with_output().unwrap();
                panic!(
                    "rollcall-lab serve --template ended ({status}) before it was ready:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            assert!(Instant::now() < deadline, "the lab was not ready in 120 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        let ready: Value = serde_json::from_str(&std::fs::read_to_string(&ready).unwrap()).unwrap();
        Lab {
            child: Some(child),
            ready,
        }
    }

    /// `rollcall-lab serve --template` expected to refuse: its output.
    pub fn serve_refused(&self, args: &[&str]) -> Output {
        Command::new(exe("rollcall-lab"))
            .arg("serve")
            .arg("--template")
            .arg(self.template())
            .args(["--api-port", "0", "--lambda-port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// `rollcall-lab deploy --template <source> --endpoint-url <lab>` to its end.
    pub fn deploy(&self, lab: &Lab, args: &[&str]) -> Output {
        Command::new(exe("rollcall-lab"))
            .arg("deploy")
            .arg("--template")
            .arg(self.template())
            .arg("--endpoint-url")
            .arg(lab.lambda_url())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
            eprintln!("the project is kept in {}", dir.keep().display());
        }
    }
}

/// A running lab; SIGTERM (then SIGKILL) when dropped.
pub struct Lab {
    child: Option<Child>,
    pub ready: Value,
}

impl Lab {
    pub fn api_url(&self) -> String {
        self.ready["api_url"].as_str().unwrap().to_owned()
    }

    pub fn lambda_url(&self) -> String {
        self.ready["lambda_url"].as_str().unwrap().to_owned()
    }

    /// Stops it; its output.
    pub fn stop(mut self) -> Output {
        let child = self.child.take().unwrap();
        test_support::process::sigterm(&child);
        child.wait_with_output().unwrap()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            test_support::process::terminate(&mut child);
        }
    }
}

/// `GET path` on the lab's front door.
pub async fn get(lab: &Lab, path: &str) -> test_support::http::Reply {
    let addr = lab
        .api_url()
        .trim_start_matches("http://")
        .parse()
        .expect("the front door's address");
    test_support::http::send(addr, "GET", path, &[], bytes::Bytes::new()).await
}
