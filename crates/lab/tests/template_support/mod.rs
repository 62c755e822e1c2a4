//! Shared by the template tests: whether the real SAM translator is there, and a YAML reader
//! for the repository's template (short-form tags to long form, as SAM CLI's yamlhelper does).

#![allow(dead_code)]

pub mod apply;

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

/// The template with what depends on code content written as placeholders: the hashed logical
/// ids of versions, layer versions and REST deployments, and code digests in S3 keys.
pub fn normalized(template: &Value) -> Value {
    let hashed = [
        "AWS::Lambda::Version",
        "AWS::Lambda::LayerVersion",
        "AWS::ApiGateway::Deployment",
    ];
    let mut renames: Vec<(String, String)> = template["Resources"]
        .as_object()
        .map(|resources| {
            resources
                .iter()
                .filter(|(_, r)| hashed.iter().any(|t| r["Type"] == *t))
                .filter_map(|(id, _)| {
                    let (stem, hash) = id.split_at(id.len().checked_sub(10)?);
                    let is_hash = hash
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                    (is_hash && !stem.is_empty()).then(|| (id.clone(), format!("{stem}<hash>")))
                })
                .collect()
        })
        .unwrap_or_default();
    renames.sort_by_key(|(id, _)| std::cmp::Reverse(id.len()));
    rename(template, &renames)
}

fn rename(value: &Value, renames: &[(String, String)]) -> Value {
    let text = |s: &str| {
        let mut s = s.to_owned();
        for (from, to) in renames {
            s = s.replace(from, to);
        }
        match s.rsplit_once('-') {
            Some((stem, digest))
                if digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                format!("{stem}-<sha256>")
            }
            _ => s,
        }
    };
    match value {
        Value::String(s) => Value::String(text(s)),
        Value::Array(items) => Value::Array(items.iter().map(|v| rename(v, renames)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (text(k), rename(v, renames)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// JSON paths where `want` and `got` differ.
pub fn diff(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for key in w.keys().chain(g.keys().filter(|k| !w.contains_key(*k))) {
                let at = format!("{path}/{key}");
                match (w.get(key), g.get(key)) {
                    (Some(a), Some(b)) => diff(&at, a, b, out),
                    (Some(_), None) => out.push(format!("{at}: gone")),
                    (None, Some(_)) => out.push(format!("{at}: new")),
                    (None, None) => {}
                }
            }
        }
        (a, b) if a != b => out.push(format!("{path}: {a} -> {b}")),
        _ => {}
    }
}
