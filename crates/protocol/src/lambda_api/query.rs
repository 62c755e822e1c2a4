//! The query string of the list and get operations: `Marker`, `MaxItems`, `FunctionVersion`,
//! `Qualifier` (Lambda API reference, `ListFunctions`, `ListVersionsByFunction`, `ListAliases`,
//! `ListLayerVersions`, `GetFunction`).

use super::limits::MAX_ITEMS_RANGE;

/// A query string parameter Lambda would refuse (answered as `InvalidParameterValueException`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query parameter {name}={value:?} {rule}")]
pub struct QueryError {
    /// The parameter.
    pub name: String,
    /// Its (decoded) value.
    pub value: String,
    /// The rule, phrased as the fix.
    pub rule: String,
}

/// The query parameters of the Lambda API's read operations. Unknown parameters are ignored,
/// as Lambda ignores them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// `Marker`: "Specify the pagination token that's returned by a previous request to
    /// retrieve the next page of results."
    pub marker: Option<String>,
    /// `MaxItems`: the page size asked for, 1 to 10000 (Lambda returns at most 50).
    pub max_items: Option<u32>,
    /// `FunctionVersion`: `ALL` for `ListFunctions`; a version for `ListAliases`.
    pub function_version: Option<String>,
    /// `Qualifier`: a version or alias (`GetFunction`, `DeleteFunction`, `Invoke`).
    pub qualifier: Option<String>,
}

impl ListQuery {
    /// Parses `a=b&c=d` (without the `?`), percent-decoding names and values (`+` is a space).
    pub fn parse(query: &str) -> Result<Self, QueryError> {
        let mut out = Self::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (name, value) = (decode(name), decode(value));
            let refuse = |rule: &str| QueryError {
                name: name.clone(),
                value: value.clone(),
                rule: rule.to_owned(),
            };
            match name.as_str() {
                "Marker" => out.marker = Some(value.clone()),
                "MaxItems" => {
                    let (lo, hi) = MAX_ITEMS_RANGE;
                    match value.parse::<u32>() {
                        Ok(n) if (lo..=hi).contains(&n) => out.max_items = Some(n),
                        _ => return Err(refuse("must be a whole number from 1 to 10000")),
                    }
                }
                "FunctionVersion" => out.function_version = Some(value.clone()),
                "Qualifier" => {
                    if value.is_empty() {
                        return Err(refuse(
                            "is empty: give a version or an alias, or leave it out",
                        ));
                    }
                    out.qualifier = Some(value.clone());
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

/// Percent-decodes `s` (`%XX` and `+`); a malformed escape is kept as written.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}
