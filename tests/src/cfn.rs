//! Reading CloudFormation / SAM templates written in YAML with short-form intrinsic tags.
//!
//! `serde_norway` keeps an unknown tag such as `!Ref X` as a tagged value; the accessors here
//! read the short form (`!Ref X`, `!GetAtt A.B`) and the long form (`{Ref: X}`,
//! `{Fn::GetAtt: [A, B]}`) alike.

use std::path::Path;

pub use serde_norway::Value;

/// A template that cannot be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum CfnError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The text is not YAML.
    #[error("{path} is not valid YAML: {source}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's error, with its position.
        source: serde_norway::Error,
    },
}

/// Reads and parses the YAML file at `path`.
pub fn load(path: &Path) -> Result<Value, CfnError> {
    let text = std::fs::read_to_string(path).map_err(|source| CfnError::Read {
        path: path.display().to_string(),
        source,
    })?;
    serde_norway::from_str(&text).map_err(|source| CfnError::Parse {
        path: path.display().to_string(),
        source,
    })
}

/// The value under the mapping keys `path`, if every key is there.
pub fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(*key))
}

/// The plain string `value` is (`Value::as_str` also sees through tags: `!Ref x` gives `x`).
pub fn plain_str(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// The plain string under `path`, if there is one.
pub fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(value, path).and_then(plain_str)
}

/// The plain strings of a sequence (anything else, intrinsics included, is left out).
pub fn strings(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_sequence)
        .map(|items| items.iter().filter_map(plain_str).collect())
        .unwrap_or_default()
}

/// The argument of the intrinsic `name` (`Ref`, `GetAtt`, `Sub`, …): `!Ref x` or `{Ref: x}`,
/// `!GetAtt x` or `{Fn::GetAtt: x}`.
pub fn intrinsic<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    match value {
        Value::Tagged(tagged) if tagged.tag == name => Some(&tagged.value),
        Value::Mapping(map) if map.len() == 1 => {
            let long = if name == "Ref" {
                name.to_owned()
            } else {
                format!("Fn::{name}")
            };
            map.get(long.as_str())
        }
        _ => None,
    }
}

/// The target of `!Ref target`.
pub fn ref_target(value: &Value) -> Option<&str> {
    intrinsic(value, "Ref").and_then(plain_str)
}

/// The dotted target of `!GetAtt A.B.C` / `!GetAtt [A, B.C]` / `{Fn::GetAtt: [A, B]}`: `"A.B.C"`.
pub fn get_att(value: &Value) -> Option<String> {
    let arg = intrinsic(value, "GetAtt")?;
    match arg {
        Value::String(s) => Some(s.clone()),
        Value::Sequence(parts) => {
            let parts: Option<Vec<&str>> = parts.iter().map(plain_str).collect();
            Some(parts?.join("."))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Value {
        serde_norway::from_str(text).unwrap()
    }

    #[test]
    fn short_and_long_forms_read_alike() {
        let v = parse(
            "a: !Ref Thing\nb: {Ref: Thing}\nc: !GetAtt Fn.Version.Version\n\
             d: {Fn::GetAtt: [Fn, Version.Version]}\ne: !GetAtt [Fn, Arn]\nf: plain\n",
        );
        assert_eq!(ref_target(&v["a"]), Some("Thing"));
        assert_eq!(ref_target(&v["b"]), Some("Thing"));
        assert_eq!(get_att(&v["c"]).as_deref(), Some("Fn.Version.Version"));
        assert_eq!(get_att(&v["d"]).as_deref(), Some("Fn.Version.Version"));
        assert_eq!(get_att(&v["e"]).as_deref(), Some("Fn.Arn"));
        assert_eq!(ref_target(&v["c"]), None);
        assert_eq!(ref_target(&v["f"]), None);
        assert_eq!(get_att(&v["a"]), None);
    }

    #[test]
    fn paths_and_lists() {
        let v = parse("A:\n  B:\n    C: x\n    L: [p, q, !Ref r]\n");
        assert_eq!(str_at(&v, &["A", "B", "C"]), Some("x"));
        assert_eq!(str_at(&v, &["A", "X", "C"]), None);
        let tagged = parse("H: !Ref x\n");
        assert_eq!(
            str_at(&tagged, &["H"]),
            None,
            "a tagged value is not a plain string"
        );
        assert_eq!(strings(at(&v, &["A", "B", "L"])), ["p", "q"]);
        assert!(strings(at(&v, &["A", "B", "C"])).is_empty());
    }
}
