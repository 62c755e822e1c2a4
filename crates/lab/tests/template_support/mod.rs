//! Shared by the template tests: whether the real SAM translator is there, and a YAML reader
//! for the repository's template (short-form tags to long form, as SAM CLI's yamlhelper does).

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use serde_json::{Map, Value};

/// The `aws-sam-translator` version `python3` imports, or `None` (with a printed reason) when it
/// cannot; in CI (`CI=true`) a missing translator fails the test instead, since CI installs it.
pub fn translator_version(test: &str) -> Option<String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import samtranslator; print(samtranslator.__version__)",
        ])
        .output();
    match out {
        Ok(out) if out.status.success() => {
            Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        }
        other => {
            let why = match other {
                Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_owned(),
                Err(e) => e.to_string(),
            };
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: python3 cannot import samtranslator in CI ({why}); scripts/setup.sh installs aws-sam-translator"
            );
            eprintln!(
                "SKIPPED {test}: python3 cannot import samtranslator ({why}); `python3 -m pip install aws-sam-translator==1.110.0` (scripts/setup.sh does)"
            );
            None
        }
    }
}

/// A CloudFormation YAML template as long-form JSON: `!Ref X` -> `{"Ref": "X"}`, `!GetAtt A.B.C`
/// -> `{"Fn::GetAtt": ["A", "B.C"]}` (split at the first dot), `!Sub`/`!If`/… -> `{"Fn::…": …}`.
pub fn read_yaml_template(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let yaml: serde_norway::Value =
        serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    long_form(yaml)
}

fn long_form(yaml: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().expect("a YAML number is i64, u64 or f64"))
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(long_form).collect()),
        Y::Mapping(mapping) => {
            let mut object = Map::new();
            for (key, value) in mapping {
                let key = match key {
                    Y::String(s) => s,
                    other => serde_norway::to_string(&other).unwrap().trim().to_owned(),
                };
                object.insert(key, long_form(value));
            }
            Value::Object(object)
        }
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let tag = tag.trim_start_matches('!');
            let value = long_form(tagged.value);
            let (name, value) = match (tag, value) {
                ("Ref", value) => ("Ref".to_owned(), value),
                ("Condition", value) => ("Condition".to_owned(), value),
                ("GetAtt", Value::String(dotted)) => {
                    let (resource, attribute) = dotted
                        .split_once('.')
                        .unwrap_or_else(|| panic!("!GetAtt {dotted}: no attribute"));
                    (
                        "Fn::GetAtt".to_owned(),
                        serde_json::json!([resource, attribute]),
                    )
                }
                (other, value) => (format!("Fn::{other}"), value),
            };
            Value::Object(Map::from_iter([(name, value)]))
        }
    }
}
