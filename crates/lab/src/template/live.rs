//! What the lab keeps of a stack's resources once they exist: each resource's physical id,
//! the values `Ref` and `Fn::GetAtt` give, and the properties it was made with (resolved), so
//! that the next update can tell what changed and a rollback can put it back.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use cloudformation::{Context, Pseudo};

/// One resource as it exists in the lab.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveResource {
    /// `AWS::Lambda::Function`, ...
    pub resource_type: String,
    /// The physical id DescribeStackResources reports.
    pub physical_id: String,
    /// What `Ref` gives.
    pub ref_value: Value,
    /// What `Fn::GetAtt` gives, by attribute.
    pub attributes: BTreeMap<String, Value>,
    /// The properties it was created or last updated with, intrinsics resolved.
    pub properties: Value,
    /// Its `DeletionPolicy` (`Retain` keeps it when it leaves the stack).
    pub deletion_policy: Option<String>,
    /// Its `UpdateReplacePolicy` (`Retain` keeps the old one when an update replaces it).
    pub update_replace_policy: Option<String>,
    /// Whether the lab runs it (false: recorded only, such as IAM roles).
    pub emulated: bool,
}

/// A stack's state in the lab: its parameters, conditions and resources.
#[derive(Debug, Clone)]
pub struct LiveStack {
    /// Name, Region, account, ... (`AWS::StackName`, ...).
    pub pseudo: Pseudo,
    /// The template file it was last deployed from.
    pub template_path: PathBuf,
    /// Parameter values, resolved.
    pub parameters: BTreeMap<String, Value>,
    /// Condition values.
    pub conditions: BTreeMap<String, bool>,
    /// Resources by logical id.
    pub resources: BTreeMap<String, LiveResource>,
    /// Staged code: S3 key -> local path.
    pub artifacts: BTreeMap<String, PathBuf>,
    /// `Mappings`, for `Fn::FindInMap`.
    pub mappings: Value,
    /// The processed template it was last deployed from (null before its create): its
    /// outputs are the stack's.
    pub template: Value,
}

impl LiveStack {
    /// An empty stack named in `pseudo`.
    pub fn new(pseudo: Pseudo, template_path: PathBuf) -> Self {
        Self {
            pseudo,
            template_path,
            parameters: BTreeMap::new(),
            conditions: BTreeMap::new(),
            resources: BTreeMap::new(),
            artifacts: BTreeMap::new(),
            mappings: Value::Null,
            template: Value::Null,
        }
    }
}

impl Context for LiveStack {
    fn parameter(&self, name: &str) -> Option<Value> {
        self.parameters.get(name).cloned()
    }

    fn pseudo(&self, name: &str) -> Option<Value> {
        self.pseudo.value(name)
    }

    fn resource_ref(&self, logical_id: &str) -> Option<Value> {
        self.resources.get(logical_id).map(|r| r.ref_value.clone())
    }

    fn resource_attribute(&self, logical_id: &str, attribute: &str) -> Option<Value> {
        self.resources
            .get(logical_id)
            .and_then(|r| r.attributes.get(attribute).cloned())
    }

    fn condition(&self, name: &str) -> Option<bool> {
        self.conditions.get(name).copied()
    }

    fn mappings(&self) -> Option<&Value> {
        (!self.mappings.is_null()).then_some(&self.mappings)
    }
}

/// A physical name as CloudFormation makes one: `{stack}-{LogicalId}-{12 characters}`, the
/// first two parts cut so that the whole fits `max` characters. The suffix is derived from
/// the stack and the logical id, so that the lab names a resource the same way each run.
pub fn physical_name(stack: &str, logical_id: &str, max: usize) -> String {
    use sha2::{Digest, Sha256};
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let digest = Sha256::digest(format!("{stack}/{logical_id}").as_bytes());
    let suffix: String = digest
        .iter()
        .take(12)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    let room = max.saturating_sub(suffix.len() + 2);
    let stack_part: String = stack.chars().take(room / 2).collect();
    let logical_part: String = logical_id
        .chars()
        .take(room.saturating_sub(stack_part.len()))
        .collect();
    format!("{stack_part}-{logical_part}-{suffix}")
}

/// A lowercase id of `len` characters derived from the stack and logical id (API ids).
pub fn short_id(stack: &str, logical_id: &str, len: usize) -> String {
    use sha2::{Digest, Sha256};
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    Sha256::digest(format!("{stack}/{logical_id}/id").as_bytes())
        .iter()
        .take(len)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn physical_names_fit_and_are_stable() {
        let a = physical_name("rollcall-demo", "HelloFunction", 64);
        assert_eq!(a, physical_name("rollcall-demo", "HelloFunction", 64));
        assert!(a.starts_with("rollcall-demo-HelloFunction-"), "{a}");
        assert_eq!(a.len(), "rollcall-demo-HelloFunction-".len() + 12);
        assert_ne!(a, physical_name("rollcall-demo", "OtherFunction", 64));
        let long = physical_name(&"s".repeat(100), &"L".repeat(100), 64);
        assert_eq!(long.len(), 64, "{long}");
        assert_eq!(short_id("s", "Api", 10).len(), 10);
    }
}
