//! External tools run by the tests, pinned, with the command that installs each.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// An external command-line tool at a pinned version.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    /// Executable name looked up on `PATH` (`cfn-lint`).
    pub program: &'static str,
    /// Environment variable that may hold the executable's path instead (`ROLLCALL_CFN_LINT`).
    pub path_env: &'static str,
    /// The version the tests are written against.
    pub version: &'static str,
    /// The command that installs that version.
    pub install: &'static str,
    /// Where `--version` prints the version.
    pub version_form: VersionForm,
}

/// Where a tool's `--version` output names its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionForm {
    /// The last word (`cfn-lint 1.51.0`, `SAM CLI, version 1.170.0`).
    LastWord,
    /// The word after this prefix (`aws-cli/1.46.3 Python/3.11.7 ...`).
    After(&'static str),
}

impl VersionForm {
    /// Whether `--version` printed exactly `version` in this form.
    pub fn matches(self, output: &str, version: &str) -> bool {
        match self {
            Self::LastWord => version_matches(output, version),
            Self::After(prefix) => output
                .split_whitespace()
                .any(|w| w.strip_prefix(prefix) == Some(version)),
        }
    }
}

/// cfn-lint, the CloudFormation linter. 1.51.x still runs the SAM transform (aws-sam-translator)
/// before linting, so it checks the generated resources (e.g. a `!Ref` to a missing resource
/// inside `DeploymentPreference`); 1.58.0, which validates SAM templates without the transform,
/// misses that.
pub const CFN_LINT: Tool = Tool {
    program: "cfn-lint",
    path_env: "ROLLCALL_CFN_LINT",
    version: "1.51.0",
    install: "pip install cfn-lint==1.51.0 aws-sam-translator==1.110.0",
    version_form: VersionForm::LastWord,
};

/// The AWS SAM CLI. It pins its own cfn-lint (>= 1.52), so it lives in a virtualenv of its own.
pub const SAM_CLI: Tool = Tool {
    program: "sam",
    path_env: "ROLLCALL_SAM",
    version: "1.170.0",
    install: "python3 -m venv ~/.venvs/sam && ~/.venvs/sam/bin/pip install aws-sam-cli==1.170.0 \
              && export ROLLCALL_SAM=~/.venvs/sam/bin/sam",
    version_form: VersionForm::LastWord,
};

/// The AWS CLI (v1, from PyPI), to drive the lab's Lambda API as a user would. It pins its own
/// botocore, so it lives in a virtualenv of its own.
pub const AWS_CLI: Tool = Tool {
    program: "aws",
    path_env: "ROLLCALL_AWS",
    version: "1.46.3",
    install: "python3 -m venv ~/.venvs/aws && ~/.venvs/aws/bin/pip install awscli==1.46.3 \
              && export ROLLCALL_AWS=~/.venvs/aws/bin/aws",
    version_form: VersionForm::After("aws-cli/"),
};

/// Why a tool cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// Not on `PATH` and not named by its variable.
    #[error("`{program}` was not found (looked at ${path_env} and PATH); install it: {install}")]
    NotFound {
        /// The executable name.
        program: &'static str,
        /// The variable that may name it.
        path_env: &'static str,
        /// The install command.
        install: &'static str,
    },
    /// Found, but `--version` failed or printed another version.
    #[error(
        "`{path}` is not {program} {expected} (`--version` said: {found:?}); install the pinned version: {install}"
    )]
    WrongVersion {
        /// Where the executable is.
        path: PathBuf,
        /// The executable name.
        program: &'static str,
        /// The pinned version.
        expected: &'static str,
        /// What `--version` printed (or why it failed).
        found: String,
        /// The install command.
        install: &'static str,
    },
}

impl Tool {
    /// Finds the tool (its variable first, then `PATH`) and checks its version.
    pub fn locate(&self) -> Result<PathBuf, ToolError> {
        let path = std::env::var_os(self.path_env)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .or_else(|| find_on_path(self.program, std::env::var_os("PATH")))
            .ok_or(ToolError::NotFound {
                program: self.program,
                path_env: self.path_env,
                install: self.install,
            })?;
        let found = match Command::new(&path).arg("--version").output() {
            Ok(out) if out.status.success() => {
                String::from_utf8_lossy(&out.stdout).trim().to_owned()
            }
            Ok(out) => format!(
                "exit {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => format!("could not run it: {e}"),
        };
        if self.version_form.matches(&found, self.version) {
            Ok(path)
        } else {
            Err(ToolError::WrongVersion {
                path,
                program: self.program,
                expected: self.version,
                found,
                install: self.install,
            })
        }
    }
}

/// Whether the `--version` output names exactly `version` (`cfn-lint 1.51.0`,
/// `SAM CLI, version 1.170.0`): its last word.
pub fn version_matches(output: &str, version: &str) -> bool {
    output.split_whitespace().last() == Some(version)
}

/// The first executable file called `program` in the directories of `path`.
pub fn find_on_path(program: &str, path: Option<OsString>) -> Option<PathBuf> {
    std::env::split_paths(&path?)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `aws <service> ... --endpoint-url <endpoint>` (the caller adds the operation's arguments) with
/// throwaway credentials, region `us-east-1`, no user configuration or profile, and no retries:
/// the AWS CLI as every test points it at a lab or a recording server.
pub fn aws_command(program: &Path, service: &str, endpoint: &str) -> Command {
    let mut command = Command::new(program);
    command
        .arg(service)
        .args(["--endpoint-url", endpoint])
        .env("AWS_ACCESS_KEY_ID", "AKIDROLLCALLTEST")
        .env("AWS_SECRET_ACCESS_KEY", "rollcall-test-secret")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env_remove("AWS_PROFILE");
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_last_word_exactly() {
        assert!(version_matches("cfn-lint 1.51.0\n", "1.51.0"));
        assert!(version_matches("SAM CLI, version 1.170.0", "1.170.0"));
        assert!(!version_matches("cfn-lint 1.51.01", "1.51.0"));
        assert!(!version_matches("cfn-lint 1.58.0", "1.51.0"));
        assert!(!version_matches("", "1.51.0"));
    }

    #[test]
    fn path_lookup_finds_only_executables() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::create_dir(&plain).unwrap();
        std::fs::write(plain.join("tool"), "not executable").unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let exe = bin.join("tool");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = std::env::join_paths([&plain, &bin]).unwrap();
        assert_eq!(find_on_path("tool", Some(path.clone())), Some(exe));
        assert_eq!(find_on_path("other", Some(path)), None);
        assert_eq!(find_on_path("tool", None), None);
    }

    #[test]
    fn a_prefixed_version_is_the_word_after_its_prefix() {
        let form = VersionForm::After("aws-cli/");
        let out = "aws-cli/1.46.3 Python/3.11.7 Linux/6.18.44 botocore/1.43.62";
        assert!(form.matches(out, "1.46.3"));
        assert!(!form.matches(out, "1.46"));
        assert!(!form.matches("aws-cli/2.27.0 Python/3.13", "1.46.3"));
        assert!(!form.matches("", "1.46.3"));
    }

    #[test]
    fn a_missing_tool_names_the_install_command() {
        let tool = Tool {
            program: "rollcall-no-such-tool",
            path_env: "ROLLCALL_NO_SUCH_TOOL_VARIABLE",
            version: "1.0.0",
            install: "pip install no-such-tool==1.0.0",
            version_form: VersionForm::LastWord,
        };
        let message = tool.locate().unwrap_err().to_string();
        assert!(
            message.contains("pip install no-such-tool==1.0.0"),
            "{message}"
        );
        assert!(message.contains("rollcall-no-such-tool"), "{message}");
    }
}
