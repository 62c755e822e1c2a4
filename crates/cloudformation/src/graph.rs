//! Which resources each resource depends on (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `DependsOn`), and
//! the order CloudFormation creates them in.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::intrinsics::as_intrinsic;
use crate::path::Path;
use crate::pseudo::Pseudo;
use crate::sub;
use crate::template::{TemplateError, resources};

/// A template whose resources cannot be ordered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// The `Resources` section cannot be read.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A reference to a name that is neither a parameter nor a resource (CloudFormation's words).
    #[error(
        "{path}: Unresolved resource dependencies [{}] in the Resources block of the template: declare {} under Resources (or Parameters), or fix the name",
        names.join(", "),
        if names.len() == 1 { "it" } else { "them" }
    )]
    Unresolved {
        /// The resource holding the references.
        resource: String,
        /// Where the first of them is (`Resources.X.Properties.AlarmConfiguration.Alarms[0].Name`).
        path: String,
        /// The unknown names.
        names: Vec<String>,
    },
    /// `Fn::GetAtt` (or `${Name.Attribute}`) or `DependsOn` naming a parameter.
    #[error(
        "{path}: {name} is a parameter, and only resources have attributes and can be depended on: name a resource"
    )]
    NotAResource {
        /// The resource holding the reference.
        resource: String,
        /// Where the reference is.
        path: String,
        /// The parameter's name.
        name: String,
    },
    /// Resources that depend on each other in a circle.
    #[error(
        "Circular dependency between resources: [{}] ({}): break the cycle (remove a Ref, Fn::GetAtt, Fn::Sub variable or DependsOn)",
        resources.join(", "),
        cycle.join(" -> ")
    )]
    Cycle {
        /// Every resource that cannot be created, alphabetically.
        resources: Vec<String>,
        /// One cycle among them, first resource repeated at the end.
        cycle: Vec<String>,
    },
}

/// A name referred to from a resource, as written.
#[derive(Debug)]
struct Reference {
    name: String,
    path: Path,
    /// `Fn::GetAtt` / `${A.B}` / `DependsOn`: must be a resource.
    resource_only: bool,
}

/// The logical ids each resource depends on: `Ref`, `Fn::GetAtt` and `Fn::Sub` references to
/// other resources anywhere in its `Properties`, `Metadata`, `UpdatePolicy` and `CreationPolicy`
/// (both branches of an `Fn::If`), plus `DependsOn`. Pseudo parameters and parameters are not
/// dependencies; a name that is neither a parameter nor a resource is an error.
pub fn dependencies(template: &Value) -> Result<BTreeMap<String, BTreeSet<String>>, GraphError> {
    let parameters: BTreeSet<&str> = template
        .get("Parameters")
        .and_then(Value::as_object)
        .map(|map| map.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let resources = resources(template)?;
    let declared: BTreeSet<&str> = resources.iter().map(|r| r.logical_id).collect();
    let mut out = BTreeMap::new();
    for resource in &resources {
        let root = Path::root().key("Resources").key(resource.logical_id);
        let mut references = Vec::new();
        for key in ["Properties", "Metadata", "UpdatePolicy", "CreationPolicy"] {
            if let Some(value) = resource.definition.get(key) {
                collect(value, &root.key(key), &mut references);
            }
        }
        for name in resource.depends_on()? {
            references.push(Reference {
                name: name.to_owned(),
                path: root.key("DependsOn"),
                resource_only: true,
            });
        }
        let mut depends = BTreeSet::new();
        let mut unresolved: Vec<(String, Path)> = Vec::new();
        for reference in references {
            let name = reference.name.as_str();
            if declared.contains(name) {
                depends.insert(reference.name);
            } else if parameters.contains(name) {
                if reference.resource_only {
                    return Err(GraphError::NotAResource {
                        resource: resource.logical_id.to_owned(),
                        path: reference.path.to_string(),
                        name: reference.name,
                    });
                }
            } else if Pseudo::is_pseudo(name) && !reference.resource_only {
                // A pseudo parameter: known before any resource.
            } else if !unresolved.iter().any(|(n, _)| n == name) {
                unresolved.push((reference.name, reference.path));
            }
        }
        if let Some((_, path)) = unresolved.first() {
            return Err(GraphError::Unresolved {
                resource: resource.logical_id.to_owned(),
                path: path.to_string(),
                names: unresolved.iter().map(|(n, _)| n.clone()).collect(),
            });
        }
        out.insert(resource.logical_id.to_owned(), depends);
    }
    Ok(out)
}

/// Every name `value` refers to through `Ref`, `Fn::GetAtt` and `Fn::Sub`.
fn collect(value: &Value, at: &Path, out: &mut Vec<Reference>) {
    match value {
        Value::Object(map) => {
            if let Some((function, arg)) = as_intrinsic(map) {
                let here = at.key(function);
                match (function, arg) {
                    ("Ref", Value::String(name)) => out.push(Reference {
                        name: name.clone(),
                        path: here,
                        resource_only: false,
                    }),
                    ("Fn::GetAtt", Value::String(dotted)) => {
                        let name = dotted.split_once('.').map_or(dotted.as_str(), |(r, _)| r);
                        out.push(Reference {
                            name: name.to_owned(),
                            path: here,
                            resource_only: true,
                        });
                    }
                    ("Fn::GetAtt", Value::Array(items)) => {
                        if let Some(name) = items.first().and_then(Value::as_str) {
                            out.push(Reference {
                                name: name.to_owned(),
                                path: here.clone(),
                                resource_only: true,
                            });
                        }
                        // The attribute may be a Ref of a parameter.
                        for (i, item) in items.iter().enumerate().skip(1) {
                            collect(item, &here.index(i), out);
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
                return;
            }
            for (key, item) in map {
                collect(item, &at.key(key), out);
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
        let (name, resource_only) = match variable.split_once('.') {
            Some((resource, _)) if !variable.starts_with("AWS::") => (resource, true),
            _ => (variable, false),
        };
        out.push(Reference {
            name: name.to_owned(),
            path: at.clone(),
            resource_only,
        });
    }
}

/// The order CloudFormation creates the resources in: each after every resource it depends on,
/// alphabetically among those ready at the same time. A cycle is an error listing it.
pub fn creation_order(template: &Value) -> Result<Vec<String>, GraphError> {
    let graph = dependencies(template)?;
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut order = Vec::with_capacity(graph.len());
    loop {
        let ready = graph
            .iter()
            .find(|(id, deps)| {
                !done.contains(id.as_str()) && deps.iter().all(|d| done.contains(d.as_str()))
            })
            .map(|(id, _)| id.as_str());
        match ready {
            Some(id) => {
                done.insert(id);
                order.push(id.to_owned());
            }
            None => break,
        }
    }
    if order.len() == graph.len() {
        return Ok(order);
    }
    let stuck: BTreeSet<&str> = graph
        .keys()
        .map(String::as_str)
        .filter(|id| !done.contains(id))
        .collect();
    Err(GraphError::Cycle {
        resources: stuck.iter().map(|s| (*s).to_owned()).collect(),
        cycle: find_cycle(&graph, &stuck),
    })
}

/// One cycle among `stuck` (each of which waits, directly or not, on a cycle).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>, stuck: &BTreeSet<&str>) -> Vec<String> {
    let Some(start) = stuck.first() else {
        return Vec::new();
    };
    let mut path: Vec<&str> = vec![start];
    loop {
        let current = path[path.len() - 1];
        // Every stuck resource waits on at least one stuck resource.
        let Some(next) = graph[current]
            .iter()
            .map(String::as_str)
            .find(|d| stuck.contains(d))
        else {
            return path.iter().map(|s| (*s).to_owned()).collect();
        };
        if let Some(at) = path.iter().position(|p| *p == next) {
            let mut cycle: Vec<String> = path[at..].iter().map(|s| (*s).to_owned()).collect();
            cycle.push(next.to_owned());
            return cycle;
        }
        path.push(next);
    }
}
