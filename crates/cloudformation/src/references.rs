//! The names a part of a template refers to: `Ref`, `Fn::GetAtt`, `Fn::Sub` variables, and the
//! conditions `Fn::If` and `Condition` name.

use serde_json::Value;

use crate::intrinsics::as_intrinsic;
use crate::path::Path;
use crate::sub;

/// What a name must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `Ref` / `${Name}`: a parameter, pseudo parameter or resource.
    Ref,
    /// `Fn::GetAtt` / `${A.B}` / `DependsOn`: a resource.
    Resource,
    /// `Fn::If`'s first argument / `Condition`: a condition.
    Condition,
}

/// A name referred to, as written.
#[derive(Debug, Clone)]
pub(crate) struct Reference {
    pub(crate) name: String,
    pub(crate) path: Path,
    pub(crate) kind: Kind,
}

/// Every name `value` refers to (both branches of an `Fn::If`).
pub(crate) fn collect(value: &Value, at: &Path, out: &mut Vec<Reference>) {
    let mut push = |name: &str, path: Path, kind: Kind| {
        out.push(Reference {
            name: name.to_owned(),
            path,
            kind,
        });
    };
    match value {
        Value::Object(map) => {
            let Some((function, arg)) = as_intrinsic(map) else {
                for (key, item) in map {
                    collect(item, &at.key(key), out);
                }
                return;
            };
            let here = at.key(function);
            match (function, arg) {
                ("Ref", Value::String(name)) => push(name, here, Kind::Ref),
                ("Condition", Value::String(name)) => push(name, here, Kind::Condition),
                ("Fn::GetAtt", Value::String(dotted)) => {
                    let name = dotted.split_once('.').map_or(dotted.as_str(), |(r, _)| r);
                    push(name, here, Kind::Resource);
                }
                ("Fn::GetAtt", Value::Array(items)) => {
                    if let Some(name) = items.first().and_then(Value::as_str) {
                        push(name, here.clone(), Kind::Resource);
                    }
                    // The attribute may be a Ref of a parameter.
                    for (i, item) in items.iter().enumerate().skip(1) {
                        collect(item, &here.index(i), out);
                    }
                }
                ("Fn::If", Value::Array(items)) => {
                    if let Some(name) = items.first().and_then(Value::as_str) {
                        push(name, here.index(0), Kind::Condition);
                    }
                    for (i, item) in items.iter().enumerate() {
                        if !item.is_string() || i > 0 {
                            collect(item, &here.index(i), out);
                        }
                    }
                }
                ("Fn::Sub", Value::String(text)) => sub_references(text, &[], &here, out),
                ("Fn::Sub", Value::Array(items)) => {
                    let map = items.get(1).and_then(Value::as_object);
                    let local: Vec<&str> = map
                        .map(|m| m.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    if let Some(text) = items.first().and_then(Value::as_str) {
                        sub_references(text, &local, &here, out);
                    }
                    if let Some(map) = map {
                        for (key, item) in map {
                            collect(item, &here.index(1).key(key), out);
                        }
                    }
                }
                (_, arg) => collect(arg, &here, out),
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect(item, &at.index(i), out);
            }
        }
        _ => {}
    }
}

fn sub_references(text: &str, local: &[&str], at: &Path, out: &mut Vec<Reference>) {
    for variable in sub::variables(text) {
        if local.contains(&variable) {
            continue;
        }
        let (name, kind) = match variable.split_once('.') {
            Some((resource, _)) if !variable.starts_with("AWS::") => (resource, Kind::Resource),
            _ => (variable, Kind::Ref),
        };
        out.push(Reference {
            name: name.to_owned(),
            path: at.clone(),
            kind,
        });
    }
}
