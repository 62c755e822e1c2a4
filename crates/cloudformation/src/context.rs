//! A ready-made [`Context`]: a stack's values held in plain maps.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::conditions::evaluate_conditions;
use crate::intrinsics::{Context, IntrinsicError};
use crate::pseudo::Pseudo;

/// A stack's values in plain maps: the resolved parameters, pseudo parameters, conditions, the
/// `Mappings` section, and the `Ref` and attributes of each resource created so far.
#[derive(Debug, Clone, PartialEq)]
pub struct StackValues {
    /// Resolved parameter values ([`crate::resolve_parameters`]).
    pub parameters: BTreeMap<String, Value>,
    /// Pseudo parameters.
    pub pseudo: Pseudo,
    /// Condition values ([`evaluate_conditions`]).
    pub conditions: BTreeMap<String, bool>,
    /// The template's `Mappings` section (`Null` when it has none).
    pub mappings: Value,
    /// `Ref` of each created resource, by logical id.
    pub refs: BTreeMap<String, Value>,
    /// Attributes of each created resource: logical id → attribute name → value.
    pub attributes: BTreeMap<String, BTreeMap<String, Value>>,
}

impl StackValues {
    /// The values of `template` before any resource is created: its conditions are evaluated
    /// with `parameters` and `pseudo`, its `Mappings` kept for `Fn::FindInMap`.
    pub fn new(
        template: &Value,
        parameters: BTreeMap<String, Value>,
        pseudo: Pseudo,
    ) -> Result<StackValues, IntrinsicError> {
        let mut values = StackValues {
            parameters,
            pseudo,
            conditions: BTreeMap::new(),
            mappings: template.get("Mappings").cloned().unwrap_or(Value::Null),
            refs: BTreeMap::new(),
            attributes: BTreeMap::new(),
        };
        values.conditions = evaluate_conditions(template, &values)?;
        Ok(values)
    }

    /// Records a created resource's `Ref` and attributes.
    pub fn created(
        &mut self,
        logical_id: &str,
        reference: Value,
        attributes: impl IntoIterator<Item = (String, Value)>,
    ) {
        self.refs.insert(logical_id.to_owned(), reference);
        self.attributes
            .entry(logical_id.to_owned())
            .or_default()
            .extend(attributes);
    }
}

impl Context for StackValues {
    fn parameter(&self, name: &str) -> Option<Value> {
        self.parameters.get(name).cloned()
    }

    fn pseudo(&self, name: &str) -> Option<Value> {
        self.pseudo.value(name)
    }

    fn resource_ref(&self, logical_id: &str) -> Option<Value> {
        self.refs.get(logical_id).cloned()
    }

    fn resource_attribute(&self, logical_id: &str, attribute: &str) -> Option<Value> {
        self.attributes.get(logical_id)?.get(attribute).cloned()
    }

    fn condition(&self, name: &str) -> Option<bool> {
        self.conditions.get(name).copied()
    }

    fn mappings(&self) -> Option<&Value> {
        Some(&self.mappings).filter(|m| !m.is_null())
    }
}
