//! A real `rollcall-lab serve` process on free loopback ports, with `hello` as version 1
//! behind the alias the front door invokes.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The function the benchmark releases.
pub const FUNCTION: &str = "hello";
/// The alias the front door invokes.
pub const ALIAS: &str = "live";
/// The front door's route.
pub const ROUTE: &str = "/hello";

/// A running lab, killed on drop.
#[derive(Debug)]
pub struct LabProcess {
    child: Child,
    /// The API front door's URL of [`ROUTE`].
    pub front_door: String,
    /// The Lambda API's base URL.
    pub lambda_api: String,
    /// Holds the code dir and the lab's stderr log.
    pub work: tempfile::TempDir,
}

impl LabProcess {
    /// Starts `lab` with `hello` (copied as `bootstrap`) as version 1 behind alias [`ALIAS`];
    /// returns once the banner names both URLs.
    pub async fn start(lab: &Path, hello: &Path) -> anyhow::Result<Self> {
        Self::start_with(lab, hello, &["1"], &[]).await
    }

    /// Starts `lab` with `hello` (copied as `bootstrap`) as each of `versions` (the alias
    /// [`ALIAS`] on the first one unless `extra_args`, more `serve` flags, say otherwise);
    /// returns once the banner names both URLs.
    pub async fn start_with(
        lab: &Path,
        hello: &Path,
        versions: &[&str],
        extra_args: &[String],
    ) -> anyhow::Result<Self> {
        let work = tempfile::tempdir().context("cannot create a temporary directory")?;
        let code = work.path().join("v1");
        std::fs::create_dir(&code)?;
        std::fs::copy(hello, code.join("bootstrap"))
            .with_context(|| format!("cannot copy the function {}", hello.display()))?;
        let log: PathBuf = work.path().join("lab.err");
        let mut child = Command::new(lab)
            .arg("serve")
            .args(["--function", FUNCTION, "--alias", ALIAS])
            .args(
                versions
                    .iter()
                    .flat_map(|v| ["--version".to_owned(), format!("{v}={}", code.display())]),
            )
            .args(extra_args)
            .args(["--route", &format!("GET {ROUTE}")])
            .args(["--api-port", "0", "--lambda-port", "0"])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log)?)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", lab.display()))?;
        let stdout = child.stdout.take().context("the lab's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let (mut front_door, mut lambda_api) = (None, None);
        let banner = async {
            while let Some(line) = lines.next_line().await? {
                let url = line.split_whitespace().nth(3).map(str::to_owned);
                if line.starts_with("API front door:") {
                    front_door = url;
                } else if line.starts_with("Lambda Invoke API:") {
                    lambda_api = url;
                }
                if front_door.is_some() && lambda_api.is_some() {
                    return Ok::<_, std::io::Error>(true);
                }
            }
            Ok(false)
        };
        let complete = tokio::time::timeout(Duration::from_secs(30), banner)
            .await
            .context("rollcall-lab printed no banner within 30 s")??;
        if !complete {
            let err = std::fs::read_to_string(&log).unwrap_or_default();
            bail!("rollcall-lab exited before its banner: {err}");
        }
        Ok(Self {
            child,
            front_door: format!("{}{ROUTE}", front_door.unwrap_or_default()),
            lambda_api: lambda_api.unwrap_or_default(),
            work,
        })
    }

    /// Stops the lab.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
