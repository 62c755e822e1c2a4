//! Places in a template as errors name them: `Resources.HelloFunction.Properties.Layers[0]`.

use std::fmt;

/// A dotted path into a template; list items as `[i]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Path(String);

impl Path {
    /// The whole template.
    pub(crate) fn root() -> Path {
        Path(String::new())
    }

    /// The path a caller gave (`Resources.X.Properties`).
    pub(crate) fn from(at: &str) -> Path {
        Path(at.to_owned())
    }

    /// The value under `key` of this mapping.
    pub(crate) fn key(&self, key: &str) -> Path {
        if self.0.is_empty() {
            Path(key.to_owned())
        } else {
            Path(format!("{}.{key}", self.0))
        }
    }

    /// Item `i` of this list.
    pub(crate) fn index(&self, i: usize) -> Path {
        Path(format!("{}[{i}]", self.0))
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("(template)")
        } else {
            f.write_str(&self.0)
        }
    }
}
