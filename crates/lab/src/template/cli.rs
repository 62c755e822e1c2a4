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
    /// `sam deploy --parameter-overrides` takes them (default: `samconfig.toml`'s
    /// `parameter_overrides`).
    #[arg(long = "parameter-overrides", value_name = "KEY=VALUE", num_args = 1.., requires = "template")]
    pub parameter_overrides: Vec<String>,
    /// The stack's name (default: `stack_name` in the `samconfig.toml` next to the template,
    /// else `rollcall-lab`).
    #[arg(long, value_name = "NAME", requires = "template")]
    pub stack_name: Option<String>,
    /// The Python that runs the SAM translator.
    #[command(flatten)]
    pub sam: SamPython,
}

/// `--sam-python`, shared by `serve --template` and `rehearse --template`.
#[derive(Debug, Clone, Default, Args)]
pub struct SamPython {
    /// The Python that runs the SAM translator (`aws-sam-translator` installed).
    #[arg(
        long = "sam-python",
        value_name = "PATH",
        env = "ROLLCALL_SAM_PYTHON",
        default_value = "python3"
    )]
    pub python: PathBuf,
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
    /// Template parameters, `Key=Value` (as `sam deploy --parameter-overrides`; default:
    /// `samconfig.toml`'s `parameter_overrides`).
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

/// What `samconfig.toml`'s default environment gives `sam deploy`: each key from
/// `[default.deploy.parameters]`, else `[default.global.parameters]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Samconfig {
    /// The file.
    pub path: PathBuf,
    /// `stack_name`.
    pub stack_name: Option<String>,
    /// `parameter_overrides`, one `Key=Value` an item (SAM takes a string, `A=1 B="two
    /// words"`, or a list of `Key=Value` strings).
    pub parameter_overrides: Vec<String>,
}

/// The `samconfig.toml` next to the template and, for a build, next to the project's
/// template; `None` when there is none. A file that is not TOML, or whose keys have the wrong
/// type, is an error naming the file, the line and the key, as `sam deploy` refuses it.
pub fn samconfig(template: &Path) -> Result<Option<Samconfig>, TemplateArgsError> {
    let mut dir = template.parent().map(Path::to_path_buf);
    while let Some(d) = dir {
        let file = d.join("samconfig.toml");
        if let Ok(text) = std::fs::read_to_string(&file) {
            return read_samconfig(&file, &text).map(Some);
        }
        if d.file_name()
            .is_some_and(|n| n == ".aws-sam" || n == "build")
        {
            dir = d.parent().map(Path::to_path_buf);
        } else {
            dir = None;
        }
    }
    Ok(None)
}

fn read_samconfig(file: &Path, text: &str) -> Result<Samconfig, TemplateArgsError> {
    let error = |line: Option<usize>, message: String| TemplateArgsError {
        flag: "samconfig.toml",
        message: format!(
            "{}{}: {message}; fix the file (sam deploy reads it too)",
            file.display(),
            line.map(|l| format!(" line {l}")).unwrap_or_default()
        ),
    };
    let config: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
        error(line, e.message().trim().to_owned())
    })?;
    let section = |name: &str| {
        config
            .get("default")
            .and_then(|d| d.get(name))
            .and_then(|s| s.get("parameters"))
    };
    let value = |key: &str| {
        ["deploy", "global"]
            .into_iter()
            .find_map(|name| section(name).and_then(|p| p.get(key)).map(|v| (name, v)))
    };
    let line_of = |key: &str| {
        text.lines()
            .position(|l| l.trim_start().starts_with(key))
            .map(|i| i + 1)
    };
    let wrong = |section: &str, key: &str, want: &str| {
        error(
            line_of(key),
            format!("[default.{section}.parameters] {key} is not {want}"),
        )
    };
    let stack_name = match value("stack_name") {
        None => None,
        Some((_, toml::Value::String(s))) => Some(s.clone()),
        Some((section, _)) => return Err(wrong(section, "stack_name", "a string")),
    };
    let parameter_overrides = match value("parameter_overrides") {
        None => Vec::new(),
        Some((section, toml::Value::String(s))) => split_overrides(s).map_err(|m| {
            error(
                line_of("parameter_overrides"),
                format!("[default.{section}.parameters] parameter_overrides: {m}"),
            )
        })?,
        // A list: one `Key=Value` an item.
        Some((section, toml::Value::Array(items))) => items
            .iter()
            .map(|item| match item {
                toml::Value::String(s) => Ok(s.clone()),
                _ => Err(wrong(section, "parameter_overrides", "a list of strings")),
            })
            .collect::<Result<_, _>>()?,
        Some((section, _)) => {
            return Err(wrong(
                section,
                "parameter_overrides",
                "a string or a list of strings",
            ));
        }
    };
    Ok(Samconfig {
        path: file.to_path_buf(),
        stack_name,
        parameter_overrides,
    })
}

/// `A=1 B="two words" C='x'` -> `["A=1", "B=two words", "C=x"]`, as SAM splits a
/// `parameter_overrides` string (quotes group, and are dropped).
fn split_overrides(text: &str) -> Result<Vec<String>, String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quote = None;
    let mut started = false;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                started = true;
            }
            (None, c) if c.is_whitespace() => {
                if started {
                    items.push(std::mem::take(&mut current));
                    started = false;
                }
            }
            (None, c) => {
                current.push(c);
                started = true;
            }
        }
    }
    if let Some(q) = quote {
        return Err(format!("{text:?} has an unclosed {q}"));
    }
    if started {
        items.push(current);
    }
    Ok(items)
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

/// The stack source `template`, `stack_name` and `overrides` give; what the flags leave out
/// from `samconfig.toml` (its `stack_name`, and its `parameter_overrides` when no override is
/// given: a flag replaces the file's, as `sam deploy` takes it).
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
    let config = samconfig(&template_path)?.unwrap_or_default();
    let stack_name = stack_name
        .map(str::to_owned)
        .or(config.stack_name)
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
        overrides: if overrides.is_empty() {
            parse_overrides(
                "samconfig.toml parameter_overrides",
                &config.parameter_overrides,
            )
            .map_err(|e| TemplateArgsError {
                message: format!("{}: {}", config.path.display(), e.message),
                ..e
            })?
        } else {
            parse_overrides(overrides_flag, overrides)?
        },
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
        let config = samconfig(&template).unwrap().unwrap();
        assert_eq!(config.stack_name.as_deref(), Some("from-global"));
        let build = dir.path().join(".aws-sam/build");
        std::fs::create_dir_all(&build).unwrap();
        std::fs::write(build.join("template.yaml"), "Resources: {}\n").unwrap();
        let read = template_to_read(&template);
        assert_eq!(read, build.join("template.yaml"));
        // The build's stack name comes from the project's samconfig.toml.
        let config = samconfig(&read).unwrap().unwrap();
        assert_eq!(config.stack_name.as_deref(), Some("from-global"));
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

    #[test]
    fn samconfig_parameter_overrides_are_read_unless_a_flag_gives_some() {
        let dir = tempfile::tempdir().unwrap();
        let template = dir.path().join("template.yaml");
        std::fs::write(&template, "Resources: {}\n").unwrap();
        let config = dir.path().join("samconfig.toml");
        std::fs::write(
            &config,
            "version = 0.1\n[default.global.parameters]\nparameter_overrides = \"Ignored=1\"\n\
             [default.deploy.parameters]\nstack_name = \"demo\"\n\
             parameter_overrides = \"Mark=\\\"two words\\\" Level=3 Quoted='x y'\"\n",
        )
        .unwrap();
        let source = stack_source(&template, None, &[], "--parameter-overrides").unwrap();
        assert_eq!(source.stack_name, "demo");
        let expected: BTreeMap<String, String> =
            [("Mark", "two words"), ("Level", "3"), ("Quoted", "x y")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        assert_eq!(source.overrides, expected);
        // A flag replaces the file's overrides (as sam deploy takes it).
        let flagged = stack_source(
            &template,
            None,
            &["Level=4".into()],
            "--parameter-overrides",
        )
        .unwrap();
        assert_eq!(flagged.overrides.len(), 1);
        assert_eq!(flagged.overrides["Level"], "4");
        // SAM's list form.
        std::fs::write(
            &config,
            "version = 0.1\n[default.deploy.parameters]\nparameter_overrides = [\"A=1\", \"B=two words\"]\n",
        )
        .unwrap();
        let listed = stack_source(&template, None, &[], "--parameter-overrides").unwrap();
        assert_eq!(listed.overrides["B"], "two words");
    }

    #[test]
    fn a_samconfig_that_is_not_toml_is_an_error_naming_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let template = dir.path().join("template.yaml");
        std::fs::write(&template, "Resources: {}\n").unwrap();
        let config = dir.path().join("samconfig.toml");
        std::fs::write(
            &config,
            "version = 0.1\n[default.deploy.parameters]\nstack_name = \"demo\n",
        )
        .unwrap();
        let e = stack_source(&template, None, &[], "--parameter-overrides").unwrap_err();
        assert_eq!(e.flag, "samconfig.toml");
        assert!(
            e.message
                .starts_with(&format!("{} line 3: ", config.display())),
            "{e}"
        );
        std::fs::write(
            &config,
            "version = 0.1\n[default.deploy.parameters]\nparameter_overrides = 3\n",
        )
        .unwrap();
        let e = stack_source(&template, None, &[], "--parameter-overrides").unwrap_err();
        assert!(
            e.message.contains("line 3") && e.message.contains("parameter_overrides"),
            "{e}"
        );
    }
}
