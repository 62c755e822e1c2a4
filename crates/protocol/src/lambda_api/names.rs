//! Names, qualifiers and ARNs with Lambda's patterns: parsed once, displayed in Lambda's form.
//!
//! Patterns from the Lambda service model (`lambda-2015-03-31`):
//! - function name `[a-zA-Z0-9-_]+`, at most [`FUNCTION_NAME_MAX`] characters;
//! - a `FunctionName` parameter `(arn:(aws[a-zA-Z-]*)?:lambda:)?(<region>:)?(\d{12}:)?(function:)?
//!   (<name>)(:(\$LATEST|[a-zA-Z0-9-_]+))?`, at most [`FUNCTION_REF_MAX`] characters;
//! - version `(\$LATEST|[0-9]+)`; alias `(?!^[0-9]+$)([a-zA-Z0-9-_]+)`, 1 to 128 characters;
//! - function ARN `arn:(aws[a-zA-Z-]*)?:lambda:<region>:\d{12}:function:<name>(:<qualifier>)?`;
//! - layer version ARN `arn:(aws[a-zA-Z-]*)?:lambda:<region>:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+`.

use std::fmt;
use std::str::FromStr;

use super::limits::{
    ALIAS_NAME_MAX, FUNCTION_NAME_MAX, FUNCTION_REF_MAX, LATEST, LAYER_NAME_MAX, QUALIFIER_MAX,
};

/// A name, qualifier or ARN outside Lambda's pattern. The message names the input and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {input:?} {rule}")]
pub struct NameError {
    /// What was being parsed ("function name", "alias name", ...).
    pub what: &'static str,
    /// The refused input.
    pub input: String,
    /// The rule it breaks, phrased as the fix.
    pub rule: String,
}

impl NameError {
    fn new(what: &'static str, input: &str, rule: impl Into<String>) -> Self {
        Self {
            what,
            input: input.to_owned(),
            rule: rule.into(),
        }
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Checks `s` is 1..=`max` characters of `[a-zA-Z0-9-_]`.
fn check_name(what: &'static str, s: &str, max: usize) -> Result<(), NameError> {
    if s.is_empty() || s.len() > max {
        return Err(NameError::new(
            what,
            s,
            format!("must be 1 to {max} characters long"),
        ));
    }
    if let Some(c) = s.chars().find(|c| !is_name_char(*c)) {
        return Err(NameError::new(
            what,
            s,
            format!("has {c:?}: use only letters, digits, '-' and '_'"),
        ));
    }
    Ok(())
}

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The name as Lambda writes it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                Self::parse(s)
            }
        }
    };
}

string_newtype!(
    /// A function's name alone (`my-function`): `[a-zA-Z0-9-_]`, 1 to 64 characters.
    FunctionName
);
string_newtype!(
    /// An alias name (`live`): `[a-zA-Z0-9-_]`, 1 to 128 characters, not all digits (that
    /// would be a version).
    AliasName
);
string_newtype!(
    /// A layer's name (`my-layer`): `[a-zA-Z0-9-_]`, 1 to 140 characters.
    LayerName
);

impl FunctionName {
    /// Parses a bare function name.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        check_name("function name", s, FUNCTION_NAME_MAX)?;
        Ok(Self(s.to_owned()))
    }
}

impl AliasName {
    /// Parses an alias name.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        check_name("alias name", s, ALIAS_NAME_MAX)?;
        if s.chars().all(|c| c.is_ascii_digit()) {
            return Err(NameError::new(
                "alias name",
                s,
                "is all digits, which names a version: give the alias a letter, '-' or '_'",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl LayerName {
    /// Parses a bare layer name.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        check_name("layer name", s, LAYER_NAME_MAX)?;
        Ok(Self(s.to_owned()))
    }
}

/// A published version number (`1`, `2`, ...). Lambda numbers versions from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VersionNumber(pub u64);

impl fmt::Display for VersionNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for VersionNumber {
    type Err = NameError;
    /// Digits only, without a sign or leading zero, so that `Display` gives the input back.
    fn from_str(s: &str) -> Result<Self, NameError> {
        let canonical = !s.is_empty()
            && s.bytes().all(|b| b.is_ascii_digit())
            && (s == "0" || !s.starts_with('0'));
        match s.parse() {
            Ok(n) if canonical => Ok(Self(n)),
            _ => Err(NameError::new(
                "version",
                s,
                "is not a version number: write digits without a leading zero, like 1 or 42",
            )),
        }
    }
}

/// What a qualifier names: `$LATEST`, a published version, or an alias.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Qualifier {
    /// `$LATEST`, the unpublished version.
    Latest,
    /// A published version.
    Version(VersionNumber),
    /// An alias.
    Alias(AliasName),
}

impl Qualifier {
    /// Parses a qualifier: `$LATEST`, digits (a version) or an alias name.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        if s == LATEST {
            return Ok(Self::Latest);
        }
        if s.is_empty() || s.len() > QUALIFIER_MAX {
            return Err(NameError::new(
                "qualifier",
                s,
                format!(
                    "must be $LATEST, a version number or an alias name of 1 to {QUALIFIER_MAX} characters"
                ),
            ));
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            return s
                .parse()
                .map(Self::Version)
                .map_err(|e: NameError| NameError {
                    what: "qualifier",
                    ..e
                });
        }
        AliasName::parse(s).map(Self::Alias).map_err(|e| NameError {
            what: "qualifier",
            ..e
        })
    }

    /// Whether this names a version (`$LATEST` or a number) rather than an alias.
    pub fn is_version(&self) -> bool {
        !matches!(self, Self::Alias(_))
    }
}

impl fmt::Display for Qualifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Latest => f.write_str(LATEST),
            Self::Version(v) => v.fmt(f),
            Self::Alias(a) => a.fmt(f),
        }
    }
}

impl FromStr for Qualifier {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        Self::parse(s)
    }
}

/// Where a resource lives: partition (`aws`), Region and account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArnScope {
    /// Partition: `aws`, `aws-cn`, `aws-us-gov`, ...
    pub partition: String,
    /// Region, such as `us-east-1`.
    pub region: String,
    /// Twelve-digit account id.
    pub account: String,
}

impl ArnScope {
    /// A scope, checking the account is 12 digits and the Region and partition are plausible.
    pub fn new(partition: &str, region: &str, account: &str) -> Result<Self, NameError> {
        check_partition(partition)?;
        check_region(region)?;
        check_account(account)?;
        Ok(Self {
            partition: partition.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
        })
    }
}

fn check_account(s: &str) -> Result<(), NameError> {
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(NameError::new(
            "account id",
            s,
            "must be 12 digits, like 123456789012",
        ))
    }
}

/// Region pattern `[a-z]{2}(-gov)?-[a-z]+-\d{1}` (loosely: lowercase words and a final digit).
fn check_region(s: &str) -> Result<(), NameError> {
    let parts: Vec<&str> = s.split('-').collect();
    let ok = parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].len() == 1
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(NameError::new(
            "region",
            s,
            "is not a Region name like us-east-1",
        ))
    }
}

/// Partition pattern `aws[a-zA-Z-]*`.
fn check_partition(s: &str) -> Result<(), NameError> {
    let ok = s.starts_with("aws") && s[3..].bytes().all(|b| b.is_ascii_alphabetic() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(NameError::new(
            "partition",
            s,
            "is not an AWS partition like aws or aws-cn",
        ))
    }
}

/// A function ARN, `arn:aws:lambda:us-east-1:123456789012:function:my-function[:qualifier]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FunctionArn {
    /// Partition, Region and account.
    pub scope: ArnScope,
    /// The function.
    pub name: FunctionName,
    /// The version or alias, for a qualified ARN.
    pub qualifier: Option<Qualifier>,
}

impl FunctionArn {
    /// The unqualified ARN of `name` in `scope`.
    pub fn new(scope: ArnScope, name: FunctionName) -> Self {
        Self {
            scope,
            name,
            qualifier: None,
        }
    }

    /// The same function qualified by `qualifier`.
    pub fn qualified(&self, qualifier: Qualifier) -> Self {
        Self {
            qualifier: Some(qualifier),
            ..self.clone()
        }
    }

    /// The same function without a qualifier.
    pub fn unqualified(&self) -> Self {
        Self {
            qualifier: None,
            ..self.clone()
        }
    }

    /// Parses a full function ARN.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let r = FunctionRef::parse(s).map_err(|e| NameError {
            what: "function ARN",
            ..e
        })?;
        match r.scope {
            Some(scope) if s.starts_with("arn:") => Ok(Self {
                scope,
                name: r.name,
                qualifier: r.qualifier,
            }),
            _ => Err(NameError::new(
                "function ARN",
                s,
                "is not a full ARN: write arn:aws:lambda:<region>:<account>:function:<name>",
            )),
        }
    }
}

impl fmt::Display for FunctionArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ArnScope {
            partition,
            region,
            account,
        } = &self.scope;
        write!(
            f,
            "arn:{partition}:lambda:{region}:{account}:function:{}",
            self.name
        )?;
        if let Some(q) = &self.qualifier {
            write!(f, ":{q}")?;
        }
        Ok(())
    }
}

impl FromStr for FunctionArn {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        Self::parse(s)
    }
}

/// A `FunctionName` parameter in any of Lambda's forms: `my-function`, `my-function:v1`,
/// `123456789012:function:my-function[:v1]`, or a full ARN.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FunctionRef {
    /// The function.
    pub name: FunctionName,
    /// The qualifier written in the reference, if any.
    pub qualifier: Option<Qualifier>,
    /// The scope of a full ARN.
    pub scope: Option<ArnScope>,
    /// The account of a partial ARN (or of a full ARN).
    pub account: Option<String>,
}

impl FunctionRef {
    /// Parses any form of the `FunctionName` parameter.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        const WHAT: &str = "function name";
        if s.is_empty() || s.len() > FUNCTION_REF_MAX {
            return Err(NameError::new(
                WHAT,
                s,
                format!("must be 1 to {FUNCTION_REF_MAX} characters long (64 for a name alone)"),
            ));
        }
        let parts: Vec<&str> = s.split(':').collect();
        let (scope, account, rest): (Option<ArnScope>, Option<String>, &[&str]) = match parts
            .as_slice()
        {
            [
                "arn",
                partition,
                "lambda",
                region,
                account,
                "function",
                rest @ ..,
            ] => (
                Some(ArnScope::new(partition, region, account)?),
                Some((*account).to_owned()),
                rest,
            ),
            ["arn", ..] => {
                return Err(NameError::new(
                    WHAT,
                    s,
                    "is not a function ARN: write arn:aws:lambda:<region>:<account>:function:<name>",
                ));
            }
            [account, "function", rest @ ..] => {
                check_account(account)?;
                (None, Some((*account).to_owned()), rest)
            }
            rest => (None, None, rest),
        };
        let (name, qualifier) = match rest {
            [name] => (FunctionName::parse(name)?, None),
            [name, q] => (FunctionName::parse(name)?, Some(Qualifier::parse(q)?)),
            _ => {
                return Err(NameError::new(
                    WHAT,
                    s,
                    "has too many ':' parts: write name, name:qualifier, or a function ARN",
                ));
            }
        };
        Ok(Self {
            name,
            qualifier,
            scope,
            account,
        })
    }
}

/// A layer version ARN, `arn:aws:lambda:us-east-1:123456789012:layer:my-layer:3`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LayerVersionArn {
    /// Partition, Region and account.
    pub scope: ArnScope,
    /// The layer.
    pub name: LayerName,
    /// The layer version (layers number their versions from 1).
    pub version: VersionNumber,
}

impl LayerVersionArn {
    /// The ARN of the layer itself (`LayerArn`), without the version.
    pub fn layer_arn(&self) -> String {
        let ArnScope {
            partition,
            region,
            account,
        } = &self.scope;
        format!(
            "arn:{partition}:lambda:{region}:{account}:layer:{}",
            self.name
        )
    }

    /// Parses a layer version ARN.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let parts: Vec<&str> = s.split(':').collect();
        match parts.as_slice() {
            [
                "arn",
                partition,
                "lambda",
                region,
                account,
                "layer",
                name,
                version,
            ] => Ok(Self {
                scope: ArnScope::new(partition, region, account)?,
                name: LayerName::parse(name)?,
                version: version.parse().map_err(|e: NameError| NameError {
                    what: "layer version",
                    ..e
                })?,
            }),
            _ => Err(NameError::new(
                "layer version ARN",
                s,
                "is not arn:aws:lambda:<region>:<account>:layer:<name>:<version>",
            )),
        }
    }
}

impl fmt::Display for LayerVersionArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.layer_arn(), self.version)
    }
}

impl FromStr for LayerVersionArn {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        Self::parse(s)
    }
}
