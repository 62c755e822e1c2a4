//! The template flags of `rollcall-lab serve` and the `rollcall-lab deploy` command, parsed by
//! pure functions: which template (the build `sam build` wrote, when there is one), which
//! stack name (`samconfig.toml`'s, as `sam deploy` takes it), which parameter overrides.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;

/// Where a stack's template comes from and with which parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSource {
    /// The stack's name.
    pub stack_name: String,
    /// The template file (`template.yaml`, or `.aws-sam/build/template.yaml`).
    pub template_path: PathBuf,
    /// `--parameter-overrides`.
    pub overrides: BTreeMap<String, String>,
}

/// The stack name when neither `--stack-name` nor `samconfig.toml` gives one.
pub const DEFAULT_STACK_NAME: &str = "rollcall-lab";

/// `rollcall-lab serve --template` flags.
#[derive(Debug, Clone, Default, Args)]
pub struct TemplateArgs {
    /// A SAM or CloudFormation template to run (`template.yaml`): its functions, layers,
    /// aliases, CodeDeploy deployment preferences, alarms and API routes, created as a stack
    /// (read from `.aws-sam/build/template.yaml` when `sam build` wrote one next to it).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["version_env", "handler", "memory", "timeout", "env", "layers", "alias", "weights", "concurrency", "routes", "payload_format"])]
    pub template: Option<PathBuf>,
    /// Template parameters, `Key=Value` (repeatable, or several after one flag), as
    /// `sam deploy --parameter-overrides` takes them.
    #[arg(long = "parameter-overrides", value_name = "KEY=VALUE", num_args = 1.., requires = "template")]
    pub parameter_overrides: Vec<String>,
    /// The stack's name (default: `stack_name` in the `samconfig.toml` next to the template,
    /// else `rollcall-lab`).
    #[arg(long, value_name = "NAME", requires = "template")]
    pub stack_name: Option<String>,
    /// The Python that runs the SAM translator (`aws-sam-translator` installed).
    #[arg(
        long,
        value_name = "PATH",
        env = "ROLLCALL_SAM_PYTHON",
        default_value = "python3"
    )]
    pub sam_python: PathBuf,
}

/// `rollcall-lab deploy`: a local `sam deploy`.
#[derive(Debug, Clone, Args)]
pub struct DeployArgs {
    /// The template (default: `.aws-sam/build/template.yaml` when `sam build` wrote it, else
    /// `template.yaml`).
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// The stack to update (default: `samconfig.toml`'s `stack_name`, else `rollcall-lab`).
    #[arg(long, value_name = "NAME")]
    pub stack_name: Option<String>,
    /// Template parameters, `Key=Value` (as `sam deploy --parameter-overrides`).
    #[arg(long = "parameter-overrides", value_name = "KEY=VALUE", num_args = 1..)]
    pub parameter_overrides: Vec<String>,
    /// The lab's Lambda API URL, where it answers CloudFormation (default: the SDKs'
    /// `AWS_ENDPOINT_URL_CLOUDFORMATION`, else the lab's default `http://127.0.0.1:3001`).
    #[arg(long, value_name = "URL", env = "AWS_ENDPOINT_URL_CLOUDFORMATION")]
    pub endpoint_url: Option<String>,
}

/// The lab's Lambda API URL when `rollcall-lab serve` runs with its default ports.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:3001";

/// A bad template flag, naming it and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flag}: {message}")]
pub struct TemplateArgsError {
    /// The flag.
    pub flag: &'static str,
    /// What is wrong and the fix.
    pub message: String,
}

/// What `--template FILE` reads: `FILE`, or the build `sam build` wrote next to it
/// (`.aws-sam/build/template.yaml`), as `sam deploy` does.
pub fn template_to_read(given: &Path) -> PathBuf {
    let dir = given.parent().unwrap_or(Path::new(""));
    let built = dir.join(".aws-sam").join("build").join("template.yaml");
    let is_build = given.components().any(|c| c.as_os_str() == ".aws-sam");
    if !is_build && built.is_file() {
        built
    } else {
        given.to_path_buf()
    }
}

/// The stack name `samconfig.toml` gives (`[default.deploy.parameters]`, else
/// `[default.global.parameters]`), looked for next to the template and, for a build, next to
/// the project's template.
pub fn samconfig_stack_name(template: &Path) -> Option<String> {
    let mut dir = template.parent().map(Path::to_path_buf);
    while let Some(d) = dir {
        let file = d.join("samconfig.toml");
        if let Ok(text) = std::fs::read_to_string(&file) {
            let config: toml::Table = text.parse().ok()?;
            let default = config.get("default")?;
            let from = |section: &str| {
                default
                    .get(section)?
                    .get("parameters")?
                    .get("stack_name")?
                    .as_str()
                    .map(str::to_owned)
            };
            return from("deploy").or_else(|| from("global"));
        }
        if d.file_name()
            .is_some_and(|n| n == ".aws-sam" || n == "build")
        {
            dir = d.parent().map(Path::to_path_buf);
        } else {
            dir = None;
        }
    }
    None
}

/// `Key=Value` overrides (also `ParameterKey=K,ParameterValue=V`), each key once.
pub fn parse_overrides(
    flag: &'static str,
    values: &[String],
) -> Result<BTreeMap<String, String>, TemplateArgsError> {
    cloudformation::parse_overrides(values).map_err(|e| TemplateArgsError {
        flag,
        message: e.to_string(),
    })
}

/// The stack source `template`, `stack_name` and `overrides` give.
pub fn stack_source(
    template: &Path,
    stack_name: Option<&str>,
    overrides: &[String],
    overrides_flag: &'static str,
) -> Result<StackSource, TemplateArgsError> {
    let given = std::path::absolute(template).map_err(|e| TemplateArgsError {
        flag: "--template",
        message: format!("{}: {e}; give an absolute path", template.display()),
    })?;
    if !given.is_file() {
        return Err(TemplateArgsError {
            flag: "--template",
            message: format!(
                "{} does not exist: give the path of a SAM or CloudFormation template (template.yaml)",
                given.display()
            ),
        });
    }
    let template_path = template_to_read(&given);
    let stack_name = stack_name
        .map(str::to_owned)
        .or_else(|| samconfig_stack_name(&template_path))
        .unwrap_or_else(|| DEFAULT_STACK_NAME.to_owned());
    let valid = stack_name.len() <= 128
        && stack_name.starts_with(|c: char| c.is_ascii_alphabetic())
        && stack_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid {
        return Err(TemplateArgsError {
            flag: "--stack-name",
            message: format!(
                "{stack_name:?} is not a stack name: use letters, digits and '-', starting with a letter, at most 128 characters"
            ),
        });
    }
    Ok(StackSource {
        stack_name,
        template_path,
        overrides: parse_overrides(overrides_flag, overrides)?,
    })
}

/// `rollcall-lab deploy`'s template when `--template` is not given: the build, else
/// `template.yaml` in the current directory.
pub fn default_deploy_template() -> PathBuf {
    let built = Path::new(".aws-sam/build/template.yaml");
    if built.is_file() {
        built.to_path_buf()
    } else {
        PathBuf::from("template.yaml")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_is_read_and_samconfig_names_the_stack() {
        let dir = tempfile::tempdir().unwrap();
        let template = dir.path().join("template.yaml");
        std::fs::write(&template, "Resources: {}\n").unwrap();
        assert_eq!(template_to_read(&template), template);
        std::fs::write(
            dir.path().join("samconfig.toml"),
            "version = 0.1\n[default.global.parameters]\nstack_name = \"from-global\"\n",
        )
        .unwrap();
        assert_eq!(
            samconfig_stack_name(&template).as_deref(),
            Some("from-global")
        );
        let build = dir.path().join(".aws-sam/build");
        std::fs::create_dir_all(&build).unwrap();
        std::fs::write(build.join("template.yaml"), "Resources: {}\n").unwrap();
        let read = template_to_read(&template);
        assert_eq!(read, build.join("template.yaml"));
        // The build's stack name comes from the project's samconfig.toml.
        assert_eq!(samconfig_stack_name(&read).as_deref(), Some("from-global"));
        let source =
            stack_source(&template, None, &["A=1".into()], "--parameter-overrides").unwrap();
        assert_eq!(source.stack_name, "from-global");
        assert_eq!(source.overrides["A"], "1");
        let bad =
            stack_source(&template, Some("1bad_name"), &[], "--parameter-overrides").unwrap_err();
        assert_eq!(bad.flag, "--stack-name");
        let missing = stack_source(&dir.path().join("nope.yaml"), None, &[], "--p").unwrap_err();
        assert!(missing.message.contains("does not exist"), "{missing}");
    }
}
