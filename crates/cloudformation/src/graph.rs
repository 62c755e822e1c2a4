//! Which resources each resource depends on (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `DependsOn`), and
//! the order CloudFormation creates them in.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::path::Path;
use crate::pseudo::Pseudo;
use crate::references::{Kind, Reference, collect};
use crate::template::{Resource, TemplateError, resources};

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
    /// A reference in `Outputs` to a name that is neither a parameter nor a resource.
    #[error(
        "{path}: Unresolved resource dependencies [{}] in the Outputs block of the template: declare {} under Resources (or Parameters), or fix the name",
        names.join(", "),
        if names.len() == 1 { "it" } else { "them" }
    )]
    UnresolvedInOutputs {
        /// The output holding the references.
        output: String,
        /// Where the first of them is (`Outputs.ApiUrl.Value.Fn::Sub`).
        path: String,
        /// The unknown names.
        names: Vec<String>,
    },
    /// A resource's or output's `Condition`, or an `Fn::If`, naming a condition not declared.
    #[error(
        "{path}: condition {name} is not declared under Conditions (declared: {}): fix the name or declare it",
        if declared.is_empty() { "none".to_owned() } else { declared.join(", ") }
    )]
    UndeclaredCondition {
        /// Where the name is.
        path: String,
        /// The condition named.
        name: String,
        /// The conditions the template declares.
        declared: Vec<String>,
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

/// The names a template declares: what a reference may name.
struct Declared<'a> {
    parameters: BTreeSet<&'a str>,
    resources: BTreeSet<&'a str>,
    conditions: BTreeSet<&'a str>,
}

impl<'a> Declared<'a> {
    fn of(template: &'a Value, resources: &[Resource<'a>]) -> Declared<'a> {
        let keys = |section: &str| -> BTreeSet<&'a str> {
            template
                .get(section)
                .and_then(Value::as_object)
                .map(|map| map.keys().map(String::as_str).collect())
                .unwrap_or_default()
        };
        Declared {
            parameters: keys("Parameters"),
            resources: resources.iter().map(|r| r.logical_id).collect(),
            conditions: keys("Conditions"),
        }
    }

    /// The resources `references` name; an undeclared name, a parameter where a resource is
    /// needed, or an undeclared condition is an error (`owner` in `block`).
    fn resolve(
        &self,
        references: Vec<Reference>,
        block: Block,
        owner: &str,
    ) -> Result<BTreeSet<String>, GraphError> {
        let mut depends = BTreeSet::new();
        let mut unresolved: Vec<(String, Path)> = Vec::new();
        for reference in references {
            let name = reference.name.as_str();
            match reference.kind {
                Kind::Condition => {
                    if !self.conditions.contains(name) {
                        return Err(GraphError::UndeclaredCondition {
                            path: reference.path.to_string(),
                            name: reference.name,
                            declared: self.conditions.iter().map(|c| (*c).to_owned()).collect(),
                        });
                    }
                }
                _ if self.resources.contains(name) => {
                    depends.insert(reference.name);
                }
                Kind::Resource if self.parameters.contains(name) => {
                    return Err(GraphError::NotAResource {
                        resource: owner.to_owned(),
                        path: reference.path.to_string(),
                        name: reference.name,
                    });
                }
                Kind::Ref if self.parameters.contains(name) || Pseudo::is_pseudo(name) => {}
                _ => {
                    if !unresolved.iter().any(|(n, _)| n == name) {
                        unresolved.push((reference.name, reference.path));
                    }
                }
            }
        }
        let Some((_, path)) = unresolved.first() else {
            return Ok(depends);
        };
        let path = path.to_string();
        let names = unresolved.into_iter().map(|(n, _)| n).collect();
        Err(match block {
            Block::Resources => GraphError::Unresolved {
                resource: owner.to_owned(),
                path,
                names,
            },
            Block::Outputs => GraphError::UnresolvedInOutputs {
                output: owner.to_owned(),
                path,
                names,
            },
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum Block {
    Resources,
    Outputs,
}

/// The logical ids each resource depends on: `Ref`, `Fn::GetAtt` and `Fn::Sub` references to
/// other resources anywhere in its `Properties`, `Metadata`, `UpdatePolicy` and `CreationPolicy`
/// (both branches of an `Fn::If`), plus `DependsOn`. Pseudo parameters and parameters are not
/// dependencies; a name that is neither a parameter nor a resource is an error, and so is a
/// condition (the resource's `Condition`, an `Fn::If`'s) not declared under `Conditions`.
pub fn dependencies(template: &Value) -> Result<BTreeMap<String, BTreeSet<String>>, GraphError> {
    let resources = resources(template)?;
    let declared = Declared::of(template, &resources);
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
                kind: Kind::Resource,
            });
        }
        if let Some(name) = resource.condition {
            references.push(Reference {
                name: name.to_owned(),
                path: root.key("Condition"),
                kind: Kind::Condition,
            });
        }
        let depends = declared.resolve(references, Block::Resources, resource.logical_id)?;
        out.insert(resource.logical_id.to_owned(), depends);
    }
    Ok(out)
}

/// The resources each of the template's `Outputs` names (its `Value` and `Export`), checked as
/// [`dependencies`] checks resources.
pub fn output_dependencies(
    template: &Value,
) -> Result<BTreeMap<String, BTreeSet<String>>, GraphError> {
    let resources = resources(template)?;
    let declared = Declared::of(template, &resources);
    let mut out = BTreeMap::new();
    let Some(outputs) = template.get("Outputs").and_then(Value::as_object) else {
        return Ok(out);
    };
    for (name, output) in outputs {
        let root = Path::root().key("Outputs").key(name);
        let mut references = Vec::new();
        for key in ["Value", "Export"] {
            if let Some(value) = output.get(key) {
                collect(value, &root.key(key), &mut references);
            }
        }
        if let Some(condition) = output.get("Condition").and_then(Value::as_str) {
            references.push(Reference {
                name: condition.to_owned(),
                path: root.key("Condition"),
                kind: Kind::Condition,
            });
        }
        out.insert(
            name.clone(),
            declared.resolve(references, Block::Outputs, name)?,
        );
    }
    Ok(out)
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
