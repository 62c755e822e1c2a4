//! A Query request's form (`application/x-www-form-urlencoded`): plain fields, and the lists the
//! protocol flattens as `Name.member.N` and `Name.member.N.Field`.

use std::collections::BTreeMap;

use crate::control::stacks::{CloudFormationError, ErrorCode};

/// A decoded request form.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Form {
    fields: BTreeMap<String, String>,
}

impl Form {
    /// Decodes `body` (percent-encoding and `+` as space).
    pub fn parse(body: &[u8]) -> Self {
        Self {
            fields: form_urlencoded::parse(body).into_owned().collect(),
        }
    }

    /// The field `name`, when sent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// The field `name`, which the operation needs (CloudFormation's `ValidationError` when
    /// missing).
    pub fn required(&self, name: &str) -> Result<&str, CloudFormationError> {
        self.get(name).ok_or_else(|| {
            CloudFormationError::new(
                ErrorCode::ValidationError,
                format!(
                    "1 validation error detected: Value null at '{}' failed to satisfy \
                     constraint: Member must not be null",
                    lower_first(name)
                ),
            )
        })
    }

    /// The boolean field `name` (`true`/`false`), false when not sent.
    pub fn flag(&self, name: &str) -> Result<bool, CloudFormationError> {
        match self.get(name) {
            None => Ok(false),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(CloudFormationError::validation(format!(
                "Value '{v}' at '{}' is not a boolean: send true or false",
                lower_first(name)
            ))),
        }
    }

    /// The list `name` of plain values (`name.member.1`, `name.member.2`, ...), in order.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.members(name)
            .into_iter()
            .filter_map(|mut m| m.remove(""))
            .collect()
    }

    /// The list `name` of structures (`name.member.N.Field`), in order of `N`; each member's
    /// fields by name (a plain member's value under `""`).
    pub fn members(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        let prefix = format!("{name}.member.");
        let mut members: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
        for (key, value) in self.fields.range(prefix.clone()..) {
            let Some(rest) = key.strip_prefix(&prefix) else {
                break;
            };
            let (index, field) = rest.split_once('.').unwrap_or((rest, ""));
            if let Ok(index) = index.parse::<u32>() {
                members
                    .entry(index)
                    .or_default()
                    .insert(field.to_owned(), value.clone());
            }
        }
        members.into_values().collect()
    }
}

/// `StackName` → `stackName`, as CloudFormation names members in its validation messages.
fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}
