//! A template's text (YAML or JSON) as JSON, with CloudFormation's short-form tags in their
//! long form (`!Ref X` → `{"Ref": "X"}`, `!Sub s` → `{"Fn::Sub": s}`, ...).

use serde_json::{Map, Number, Value};
use serde_norway::Value as Yaml;

use crate::path::Path;

/// Why a template's text could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The text is not YAML (or, starting with `{`, not JSON).
    #[error("{}{message}: fix the template's syntax", location(*line, *column))]
    Syntax {
        /// The parser's message.
        message: String,
        /// 1-based line, when the parser gives it.
        line: Option<usize>,
        /// 1-based column, when the parser gives it.
        column: Option<usize>,
    },
    /// A YAML tag (`!Ref`, `!GetAtt`, ...) that CloudFormation does not know or that is misused.
    #[error("{path}: {message}")]
    Tag {
        /// Where the tag is (`Resources.HelloFunction.Properties.Role`).
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A mapping key that is not a plain scalar.
    #[error(
        "{path}: a mapping key must be a plain string, found {found}: write the key as a string"
    )]
    Key {
        /// The mapping holding the key.
        path: String,
        /// What the key is.
        found: String,
    },
    /// The document is not a mapping.
    #[error(
        "the template is {found}, not a mapping: a template is a mapping with (at least) a Resources section"
    )]
    NotAMapping {
        /// What the document is (`a list`, `a string`, ...).
        found: &'static str,
    },
}

impl LoadError {
    /// The 1-based line of a syntax error, when the parser gives it.
    pub fn line(&self) -> Option<usize> {
        match self {
            LoadError::Syntax { line, .. } => *line,
            _ => None,
        }
    }

    /// The 1-based column of a syntax error, when the parser gives it.
    pub fn column(&self) -> Option<usize> {
        match self {
            LoadError::Syntax { column, .. } => *column,
            _ => None,
        }
    }
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!("line {line}, column {column}: "),
        (Some(line), None) => format!("line {line}: "),
        _ => String::new(),
    }
}

/// The short-form tags that become `Fn::<Name>` (`!Sub` → `Fn::Sub`); `!Ref`, `!Condition` and
/// `!GetAtt` are handled apart.
const FN_TAGS: &[&str] = &[
    "Base64",
    "Cidr",
    "FindInMap",
    "GetAZs",
    "ImportValue",
    "Join",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "If",
    "Not",
    "Equals",
    "And",
    "Or",
    "ToJsonString",
    "Length",
];

/// A template's text (YAML or JSON) as JSON, with CloudFormation's short-form tags turned into
/// the long form: `!Ref X` → `{"Ref": "X"}`, `!Condition X` → `{"Condition": "X"}`,
/// `!GetAtt A.B.C` → `{"Fn::GetAtt": ["A", "B.C"]}` (split on the FIRST dot, as SAM CLI's
/// yamlhelper does), the `!GetAtt [A, B]` list form, and `!Sub`, `!If`, `!Not`, `!Equals`, `!And`,
/// `!Or`, `!Join`, `!Select`, `!Split`, `!FindInMap`, `!Base64`, `!Cidr`, `!GetAZs`,
/// `!ImportValue` → `Fn::*`.
///
/// YAML scalars keep their YAML type (numbers and booleans stay JSON numbers and booleans);
/// callers treat them as strings where CloudFormation does. Text starting with `{` is read as JSON.
///
/// Plain scalars follow YAML 1.2's core schema: unquoted `yes`, `no`, `on`, `off` stay strings,
/// `010` stays a string and `1e3` is a number, where SAM CLI's PyYAML (YAML 1.1) reads `true`,
/// `false`, `8` and the string `"1e3"`. Every template of this repository parses alike in both
/// (checked against `samcli.yamlhelper.yaml_parse`); quote such values to be safe everywhere.
pub fn parse_template(text: &str) -> Result<Value, LoadError> {
    let value = if text.trim_start().starts_with('{') {
        serde_json::from_str::<Value>(text)
            .map_err(|e| syntax(&e.to_string(), Some(e.line()), Some(e.column())))?
    } else {
        let yaml: Yaml = serde_norway::from_str(text).map_err(|e| {
            let at = e.location();
            syntax(
                &e.to_string(),
                at.as_ref().map(|l| l.line()),
                at.as_ref().map(|l| l.column()),
            )
        })?;
        convert(yaml, &Path::root())?
    };
    match value {
        Value::Object(_) => Ok(value),
        other => Err(LoadError::NotAMapping {
            found: kind(&other),
        }),
    }
}

/// A parser's error, its own " at line L column C" dropped (the error shows the location first).
fn syntax(message: &str, line: Option<usize>, column: Option<usize>) -> LoadError {
    let message = match (line, column) {
        (Some(l), Some(c)) => message.replacen(&format!(" at line {l} column {c}"), "", 1),
        _ => message.to_owned(),
    };
    LoadError::Syntax {
        message,
        line,
        column,
    }
}

/// `a list`, `a string`, ...: what a JSON value is, for messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "empty (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn convert(yaml: Yaml, at: &Path) -> Result<Value, LoadError> {
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => number(&n),
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| convert(item, &at.index(i)))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Mapping(mapping) => {
            let mut map = Map::new();
            for (key, value) in mapping {
                let key = match key {
                    Yaml::String(s) => s,
                    Yaml::Bool(b) => b.to_string(),
                    Yaml::Number(n) => n.to_string(),
                    other => {
                        return Err(LoadError::Key {
                            path: at.to_string(),
                            found: format!("{other:?}"),
                        });
                    }
                };
                let value = convert(value, &at.key(&key))?;
                map.insert(key, value);
            }
            Value::Object(map)
        }
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.strip_prefix('!').unwrap_or(&tag).to_owned();
            let inner = convert(tagged.value, at)?;
            long_form(&name, inner, at)?
        }
    })
}

fn number(n: &serde_norway::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::Number(i.into())
    } else if let Some(u) = n.as_u64() {
        Value::Number(u.into())
    } else {
        // .inf and .nan have no JSON number: keep CloudFormation's view of them, a string.
        n.as_f64()
            .and_then(Number::from_f64)
            .map_or_else(|| Value::String(n.to_string()), Value::Number)
    }
}

fn long_form(tag: &str, inner: Value, at: &Path) -> Result<Value, LoadError> {
    let one = |key: &str, value: Value| Value::Object(Map::from_iter([(key.to_owned(), value)]));
    match tag {
        "Ref" | "Condition" => match inner {
            Value::String(_) => Ok(one(tag, inner)),
            other => Err(LoadError::Tag {
                path: at.to_string(),
                message: format!(
                    "!{tag} takes a name, found {}: write `!{tag} Name`",
                    kind(&other)
                ),
            }),
        },
        "GetAtt" => match inner {
            Value::String(s) => match s.split_once('.') {
                Some((resource, attribute)) if !resource.is_empty() && !attribute.is_empty() => {
                    Ok(one("Fn::GetAtt", Value::from(vec![resource, attribute])))
                }
                _ => Err(LoadError::Tag {
                    path: at.to_string(),
                    message: format!(
                        "!GetAtt {s:?} names no attribute: write `!GetAtt LogicalId.Attribute`"
                    ),
                }),
            },
            Value::Array(_) => Ok(one("Fn::GetAtt", inner)),
            other => Err(LoadError::Tag {
                path: at.to_string(),
                message: format!(
                    "!GetAtt takes `LogicalId.Attribute` or `[LogicalId, Attribute]`, found {}",
                    kind(&other)
                ),
            }),
        },
        // `!GetAZs` alone (no value) means the stack's region, as `!GetAZs ''` does.
        "GetAZs" if inner.is_null() => Ok(one("Fn::GetAZs", Value::from(""))),
        _ if FN_TAGS.contains(&tag) => Ok(one(&format!("Fn::{tag}"), inner)),
        _ => Err(LoadError::Tag {
            path: at.to_string(),
            message: format!(
                "unknown tag !{tag}: CloudFormation's short forms are !Ref, !Condition, !GetAtt and {}",
                FN_TAGS
                    .iter()
                    .map(|t| format!("!{t}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_forms_become_long_forms() {
        let text = r#"
Resources:
  A:
    Type: T
    Properties:
      R: !Ref X
      C: !Condition Y
      G: !GetAtt Fn.Version.Version
      L: !GetAtt [Fn, Arn]
      S: !Sub "${AWS::Region}-x"
      S2: !Sub ["${a}", {a: !Ref X}]
      I: !If [Cond, !Ref X, !Ref AWS::NoValue]
      E: !Not [!Equals [!Ref X, ""]]
      J: !Join [",", [a, b]]
      Z: !GetAZs
      N: 5
      B: true
      Q: "5"
"#;
        let v = parse_template(text).unwrap();
        assert_eq!(
            v["Resources"]["A"]["Properties"],
            json!({
                "R": {"Ref": "X"},
                "C": {"Condition": "Y"},
                "G": {"Fn::GetAtt": ["Fn", "Version.Version"]},
                "L": {"Fn::GetAtt": ["Fn", "Arn"]},
                "S": {"Fn::Sub": "${AWS::Region}-x"},
                "S2": {"Fn::Sub": ["${a}", {"a": {"Ref": "X"}}]},
                "I": {"Fn::If": ["Cond", {"Ref": "X"}, {"Ref": "AWS::NoValue"}]},
                "E": {"Fn::Not": [{"Fn::Equals": [{"Ref": "X"}, ""]}]},
                "J": {"Fn::Join": [",", ["a", "b"]]},
                "Z": {"Fn::GetAZs": ""},
                "N": 5,
                "B": true,
                "Q": "5",
            })
        );
    }

    #[test]
    fn plain_scalars_follow_yaml_1_2() {
        let v = parse_template("A: on\nB: yes\nC: 010\nD: 1e3\nE: 2010-09-09\nF: .inf\n").unwrap();
        assert_eq!(
            v,
            json!({"A": "on", "B": "yes", "C": "010", "D": 1000.0, "E": "2010-09-09", "F": ".inf"})
        );
    }

    #[test]
    fn json_text_is_read_as_json() {
        let v = parse_template(r#"{"Resources": {"A": {"Type": "T"}}}"#).unwrap();
        assert_eq!(v["Resources"]["A"]["Type"], "T");
    }

    #[test]
    fn a_syntax_error_gives_line_and_column() {
        let err = parse_template("Resources:\n  A: [unclosed\n").unwrap_err();
        assert!(err.line().is_some(), "{err:?}");
        assert!(err.to_string().starts_with("line "), "{err}");
        assert!(
            err.to_string().contains("fix the template's syntax"),
            "{err}"
        );

        assert_eq!(
            err.to_string(),
            "line 3, column 1: did not find expected ',' or ']', while parsing a flow sequence at line 2 column 6: fix the template's syntax"
        );

        let err = parse_template("{\"Resources\": }").unwrap_err();
        assert_eq!((err.line(), err.column()), (Some(1), Some(15)), "{err}");
        assert_eq!(
            err.to_string(),
            "line 1, column 15: expected value: fix the template's syntax"
        );

        let err = parse_template("A: 1\nA: 2\n").unwrap_err().to_string();
        assert!(err.contains("duplicate entry with key \"A\""), "{err}");
    }

    #[test]
    fn an_unknown_tag_names_its_place_and_the_known_ones() {
        let err = parse_template("Resources:\n  A:\n    Properties:\n      X: !Reff Y\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("Resources.A.Properties.X: unknown tag !Reff"),
            "{err}"
        );
        assert!(err.contains("!Ref, !Condition, !GetAtt"), "{err}");
    }

    #[test]
    fn a_getatt_without_attribute_is_refused() {
        let err = parse_template("Outputs:\n  O:\n    Value: !GetAtt Fn\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("Outputs.O.Value: !GetAtt \"Fn\" names no attribute"),
            "{err}"
        );
        assert!(err.contains("`!GetAtt LogicalId.Attribute`"), "{err}");
    }

    #[test]
    fn a_ref_of_a_list_is_refused() {
        let err = parse_template("A: !Ref [X]\n").unwrap_err().to_string();
        assert_eq!(err, "A: !Ref takes a name, found a list: write `!Ref Name`");
    }

    #[test]
    fn a_document_that_is_not_a_mapping_is_refused() {
        let err = parse_template("- a\n- b\n").unwrap_err().to_string();
        assert!(
            err.starts_with("the template is a list, not a mapping"),
            "{err}"
        );
    }
}
