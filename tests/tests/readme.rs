//! The README's examples, run as a newcomer would run them: the lab example block (build, serve,
//! call the front door, shift the alias with the AWS CLI) and the documents' relative links.
//!
//! The lab example is read from README.md itself, so a command that stops working as written
//! fails here. The only changes made to it: `out/` is a temporary directory (`make ... OUT=`),
//! the lab binds free ports (`--api-port 0 --lambda-port 0`) and the URLs it prints replace the
//! README's `127.0.0.1:3000` / `:3001`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rollcall_e2e::tool::AWS_CLI;
use rollcall_e2e::workspace_root;

/// The commands of the ```sh block under `## The lab`: continuation lines joined, comments and
/// blank lines dropped.
fn lab_example_commands(readme: &str) -> Vec<String> {
    let section = readme
        .split_once("\n## The lab\n")
        .map(|(_, rest)| rest)
        .expect("README.md has a `## The lab` section");
    let block = section
        .split_once("```sh\n")
        .and_then(|(_, rest)| rest.split_once("\n```"))
        .map(|(block, _)| block)
        .expect("the lab section has a ```sh block");
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in block.lines() {
        let line = strip_comment(line);
        if let Some(continued) = line.strip_suffix('\\') {
            current.push_str(continued);
            current.push(' ');
            continue;
        }
        current.push_str(line);
        let command = current.trim().to_owned();
        current.clear();
        if !command.is_empty() {
            commands.push(command);
        }
    }
    commands
}

/// `line` without a `# comment` outside single quotes.
fn strip_comment(line: &str) -> &str {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '#' if !quoted && (i == 0 || line[..i].ends_with(char::is_whitespace)) => {
                return line[..i].trim_end();
            }
            _ => {}
        }
    }
    line
}

/// A command's leading `NAME=value` assignments, its program and its arguments.
fn split_command(command: &str) -> (Vec<(String, String)>, String, Vec<String>) {
    let words = shlex::split(command).unwrap_or_else(|| panic!("not shell words: {command}"));
    let mut env = Vec::new();
    let mut rest = words.into_iter().peekable();
    while let Some(word) = rest.next_if(|w| is_assignment(w)) {
        let (name, value) = word.split_once('=').expect("an assignment");
        env.push((name.to_owned(), value.to_owned()));
    }
    let program = rest
        .next()
        .unwrap_or_else(|| panic!("no program in: {command}"));
    (env, program, rest.collect())
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
    })
}

/// The lab started from the README's command, killed on drop.
struct ServingLab {
    child: Child,
    api_url: String,
    lambda_url: String,
}

impl Drop for ServingLab {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `program args --api-port 0 --lambda-port 0` and reads the URLs from its banner.
fn serve(root: &Path, program: &str, args: &[String]) -> ServingLab {
    let mut child = Command::new(root.join(program))
        .args(args)
        .args(["--api-port", "0", "--lambda-port", "0"])
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    let stdout = child.stdout.take().expect("piped stdout");
    let (mut api_url, mut lambda_url) = (None, None);
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.expect("the lab's banner");
        let url = || {
            line.split_whitespace()
                .find(|w| w.starts_with("http://"))
                .map(str::to_owned)
        };
        if line.starts_with("API front door:") {
            api_url = url();
        } else if line.starts_with("Lambda Invoke API:") {
            lambda_url = url();
        }
        if api_url.is_some() && lambda_url.is_some() {
            break;
        }
    }
    // The rest of its output is drained, as a terminal would take it.
    std::thread::spawn(move || lines.for_each(drop));
    let (Some(api_url), Some(lambda_url)) = (api_url, lambda_url) else {
        let status = child.wait().expect("the lab's status");
        panic!("the README's lab command printed no URLs and ended with {status}");
    };
    ServingLab {
        child,
        api_url,
        lambda_url,
    }
}

/// `http://127.0.0.1:3000/hello` as written, moved to `base` (the lab's URL of that port).
fn moved(url: &str, base: &str) -> String {
    let path = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split_once('/'))
        .map_or("", |(_, path)| path);
    format!("{}/{path}", base.trim_end_matches('/'))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_lab_example_works_as_written() {
    let root = workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let commands = lab_example_commands(&readme);
    let out = tempfile::tempdir().expect("a temporary out/");
    let out_dir = out.path().display().to_string();
    let relocate = |arg: &str| arg.replace("out/", &format!("{out_dir}/"));
    let mut lab: Option<ServingLab> = None;
    let mut ran = Vec::new();

    for command in &commands {
        let (env, program, args) = split_command(command);
        let args: Vec<String> = args.iter().map(|a| relocate(a)).collect();
        match program.as_str() {
            "make" | "cargo" => {
                let mut cmd = Command::new(&program);
                cmd.args(&args).current_dir(&root);
                if program == "make" {
                    cmd.arg(format!("OUT={out_dir}"));
                }
                let status = cmd
                    .status()
                    .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
                assert!(status.success(), "`{command}` failed: {status}");
            }
            p if p.ends_with("rollcall-lab") => lab = Some(serve(&root, p, &args)),
            "curl" => {
                let lab = lab.as_ref().expect("the lab is served before curl");
                let url = args
                    .iter()
                    .find(|a| a.starts_with("http://"))
                    .expect("a URL");
                let url = moved(url, &lab.api_url);
                let reply = get(&url).await;
                assert_eq!(reply.status, 200, "GET {url}: {reply:?}");
                let version = reply.header("x-rollcall-version");
                assert!(
                    matches!(version, Some("1" | "2")),
                    "the README promises a version tag: {reply:?}"
                );
            }
            "aws" => {
                let lab = lab.as_ref().expect("the lab is served before aws");
                let aws = AWS_CLI.locate().unwrap_or_else(|e| panic!("{e}"));
                let args: Vec<String> = args
                    .iter()
                    .map(|a| {
                        if a.starts_with("http://") {
                            moved(a, &lab.lambda_url)
                        } else {
                            a.clone()
                        }
                    })
                    .collect();
                // A newcomer's shell: no AWS configuration but what the command sets.
                let home = tempfile::tempdir().expect("an empty HOME");
                let mut cmd = Command::new(aws);
                cmd.args(&args)
                    .env("HOME", home.path())
                    .env("AWS_MAX_ATTEMPTS", "1");
                for (name, _) in std::env::vars() {
                    if name.starts_with("AWS_") {
                        cmd.env_remove(name);
                    }
                }
                cmd.envs(env.iter().map(|(k, v)| (k, v)));
                let output = cmd.output().expect("the AWS CLI runs");
                assert!(
                    output.status.success(),
                    "`{command}` failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                let alias: serde_json::Value =
                    serde_json::from_slice(&output.stdout).expect("the CLI prints JSON");
                assert_eq!(
                    alias["RoutingConfig"]["AdditionalVersionWeights"]["2"], 0.5,
                    "{alias}"
                );
            }
            other => {
                panic!("the README's lab example runs `{other}`, which this test does not know")
            }
        }
        ran.push(program);
    }
    for expected in ["make", "curl", "aws"] {
        assert!(
            ran.iter().any(|p| p == expected),
            "no `{expected}` in {commands:?}"
        );
    }
    assert!(lab.is_some(), "the example serves the lab: {commands:?}");
}

/// GET `url` on a fresh connection.
async fn get(url: &str) -> test_support::http::Reply {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let addr = authority.parse().expect("the lab listens on an IP address");
    tokio::time::timeout(
        Duration::from_secs(30),
        test_support::http::send(addr, "GET", &format!("/{path}"), &[], ""),
    )
    .await
    .expect("the front door answers within 30 s")
}

/// Markdown link targets and code-span paths (`../x`, `./x`) of `text`.
fn relative_references(text: &str) -> Vec<String> {
    let mut refs = Vec::new();
    for (i, _) in text.match_indices("](") {
        let target = &text[i + 2..];
        let end = target.find(')').unwrap_or(target.len());
        refs.push(target[..end].to_owned());
    }
    for span in text.split('`').skip(1).step_by(2) {
        if span.starts_with("../") || span.starts_with("./") {
            refs.push(span.split_whitespace().next().unwrap_or(span).to_owned());
        }
    }
    refs.retain(|r| !r.contains("://") && !r.starts_with('#') && !r.starts_with("mailto:"));
    refs
}

#[test]
fn the_documents_link_only_to_files_of_the_repository() {
    let root = workspace_root();
    let root_canonical = root.canonicalize().expect("the workspace root");
    let mut documents: Vec<PathBuf> = vec![root.join("README.md")];
    for dir in [
        "extension",
        "bench",
        "prober",
        "tests",
        "crates/hello",
        "crates/lab",
    ] {
        let doc = root.join(dir).join("README.md");
        if doc.exists() {
            documents.push(doc);
        }
    }
    let mut problems = Vec::new();
    for doc in &documents {
        let text = std::fs::read_to_string(doc).expect("a document");
        for reference in relative_references(&text) {
            let path = reference.split('#').next().unwrap_or(&reference);
            if path.is_empty() {
                continue;
            }
            let target = doc.parent().expect("a directory").join(path);
            match target.canonicalize() {
                Ok(t) if t.starts_with(&root_canonical) => {}
                Ok(t) => problems.push(format!(
                    "{}: `{reference}` is outside the repository ({})",
                    doc.display(),
                    t.display()
                )),
                Err(_) => problems.push(format!("{}: `{reference}` does not exist", doc.display())),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn comments_and_continuations_are_read_as_a_shell_would() {
    let readme =
        "x\n## The lab\ntext\n```sh\nmake a   # build\nX=1 Y=2 \\\n  prog --j '{\"#\":1}'\n\n```\n";
    let commands = lab_example_commands(readme);
    assert_eq!(commands, ["make a", "X=1 Y=2    prog --j '{\"#\":1}'"]);
    let (env, program, args) = split_command(&commands[1]);
    assert_eq!(env, [("X".into(), "1".into()), ("Y".into(), "2".into())]);
    assert_eq!(program, "prog");
    assert_eq!(args, ["--j", "{\"#\":1}"]);
}

#[test]
fn the_readme_spec_example_is_the_fixture_the_lab_tests_run() {
    let root = workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let fixture = "crates/lab/tests/fixtures/spec/lab.yaml";
    let example = readme
        .split_once(&format!("A complete example (`{fixture}`):\n\n```yaml\n"))
        .and_then(|(_, rest)| rest.split_once("```\n"))
        .map(|(block, _)| block)
        .expect("the spec section shows the fixture in a ```yaml block");
    let expected = std::fs::read_to_string(root.join(fixture)).unwrap();
    assert_eq!(
        example, expected,
        "README.md's spec example and {fixture} differ: change both"
    );
}

/// The text of the README section `## title`, up to the next `## ` heading.
fn section<'a>(readme: &'a str, title: &str) -> &'a str {
    let heading = format!("\n## {title}\n");
    let start = readme
        .find(&heading)
        .unwrap_or_else(|| panic!("README.md has no `## {title}` section"))
        + heading.len();
    let rest = &readme[start..];
    &rest[..rest.find("\n## ").unwrap_or(rest.len())]
}

/// The command starting on the line that contains `marker`, continuation lines joined.
fn command_at(text: &str, marker: &str) -> String {
    let mut lines = text.lines().skip_while(|l| !l.contains(marker));
    let mut command = String::new();
    for line in lines.by_ref() {
        let line = strip_comment(line.trim());
        match line.strip_suffix('\\') {
            Some(part) => command.push_str(part),
            None => {
                command.push_str(line);
                break;
            }
        }
    }
    assert!(!command.is_empty(), "no command with {marker:?}");
    command
}

/// "From a laptop to AWS" names what exists: the package `cargo install` takes has the `prober`
/// binary, every output of the template is named, and the AWS CLI example against the lab gives
/// the CLI credentials and a region it reads (AWS CLI v1 ignores `AWS_REGION`).
#[test]
fn the_laptop_guide_names_the_prober_package_the_outputs_and_a_region_the_cli_reads() {
    let root = workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let guide = section(&readme, "From a laptop to AWS");

    let (_, program, args) = split_command(&command_at(guide, "cargo install"));
    assert_eq!(program, "cargo");
    let path = args
        .iter()
        .position(|a| a == "--path")
        .and_then(|i| args.get(i + 1))
        .expect("cargo install --path DIR");
    let manifest = std::fs::read_to_string(root.join(path).join("Cargo.toml"))
        .unwrap_or_else(|e| panic!("{path}/Cargo.toml: {e}"));
    let manifest: toml::Table = toml::from_str(&manifest).expect("Cargo.toml");
    let bins = manifest["bin"].as_array().expect("[[bin]]");
    assert!(
        bins.iter().any(|b| b["name"].as_str() == Some("prober")),
        "{path} has no `prober` binary"
    );

    let template = rollcall_e2e::cfn::load(&root.join("template.yaml")).expect("template.yaml");
    let outputs = template["Outputs"].as_mapping().expect("Outputs");
    for key in outputs.keys() {
        let key = key.as_str().expect("output names are strings");
        assert!(
            readme.contains(&format!("`{key}`")),
            "the README does not name the output `{key}`"
        );
    }

    let (env, program, args) = split_command(&command_at(guide, "aws lambda update-alias"));
    assert_eq!(program, "aws");
    let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    for needed in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
        assert!(names.contains(&needed), "the example sets no {needed}");
    }
    assert!(
        names.contains(&"AWS_DEFAULT_REGION") || args.iter().any(|a| a == "--region"),
        "the AWS CLI v1 reads the region from AWS_DEFAULT_REGION or --region: {env:?} {args:?}"
    );
    assert!(args.iter().any(|a| a == "--endpoint-url"));
}
