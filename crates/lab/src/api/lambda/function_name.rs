//! The `FunctionName` of Lambda API paths: a name, `name:qualifier`, a partial ARN
//! (`account:function:name[:qualifier]`) or a full ARN, with the `?Qualifier=` parameter, and the
//! region and account an ARN names.

use protocol::lambda_api::{FunctionRef, Qualifier};

use super::error::{ApiError, Kind};
use super::function_arn;
use crate::api::http::percent_decode;

/// The region and account a full or partial ARN names (`None` where it names none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArnHome {
    /// The ARN's region (full ARNs).
    pub region: Option<String>,
    /// The ARN's account (full and partial ARNs).
    pub account: Option<String>,
}

/// The function, qualifier and ARN home of a `FunctionName` path segment (decoded; a name, a
/// partial or a full ARN, possibly qualified) and the `?Qualifier=` of `query`, which must agree.
pub(super) fn function_and_qualifier(
    name: &str,
    query: Option<&str>,
) -> Result<(String, Option<String>, ArnHome), ApiError> {
    let (function, embedded, home) = split_function_name(name)?;
    let param = query.unwrap_or("").split('&').find_map(|p| {
        p.split_once('=')
            .filter(|(k, _)| *k == "Qualifier")
            .map(|(_, v)| percent_decode(v))
    });
    let qualifier = match (embedded, param) {
        (Some(a), Some(b)) if a != b => {
            return Err(ApiError::new(
                Kind::InvalidParameterValue,
                "The derived qualifier from the function name does not match the specified qualifier.",
            ));
        }
        (a, b) => a.or(b),
    };
    if let Some(q) = &qualifier {
        // Lambda validates the parameter against the model's pattern first.
        Qualifier::parse(q).map_err(|e| {
            ApiError::new(
                Kind::Validation,
                format!(
                    "1 validation error detected: Value '{q}' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+) ({e})"
                ),
            )
        })?;
    }
    Ok((function, qualifier, home))
}

/// Splits `name`, `name:qualifier`, `account:function:name[:q]` or
/// `arn:aws:lambda:region:account:function:name[:q]` (protocol's [`FunctionRef`]).
pub(super) fn split_function_name(
    name: &str,
) -> Result<(String, Option<String>, ArnHome), ApiError> {
    let r = FunctionRef::parse(name).map_err(|e| ApiError::new(Kind::Validation, e.to_string()))?;
    let home = ArnHome {
        region: r.scope.map(|s| s.region),
        account: r.account,
    };
    Ok((
        r.name.as_str().to_owned(),
        r.qualifier.map(|q| q.to_string()),
        home,
    ))
}

/// The ARN a request named: its own region and account where it gave them, else the lab's.
pub(super) fn arn_of(
    (lab_region, lab_account): (&str, &str),
    name: &str,
    home: &ArnHome,
    qualifier: Option<&str>,
) -> String {
    let region = home.region.as_deref().unwrap_or(lab_region);
    let account = home.account.as_deref().unwrap_or(lab_account);
    function_arn((region, account), name, qualifier)
}

/// Refuses an ARN of another region or account as Lambda does: another region is
/// `404 ResourceNotFoundException` ("Functions from 'R' are not reachable in this region"),
/// another account `403 AccessDeniedException` (the caller, of the lab's account, has no
/// permission there). `lab` is the lab's `(region, account)`; `action` the IAM action
/// (`lambda:InvokeFunction`).
pub(super) fn check_home(
    home: &ArnHome,
    (region, account): (&str, &str),
    arn: impl FnOnce() -> String,
    action: &str,
) -> Result<(), ApiError> {
    if let Some(r) = home.region.as_deref().filter(|r| *r != region) {
        return Err(ApiError::new(
            Kind::ResourceNotFound,
            format!("Functions from '{r}' are not reachable in this region ('{region}')"),
        ));
    }
    if home.account.as_deref().is_some_and(|a| a != account) {
        return Err(ApiError::new(
            Kind::AccessDenied,
            format!(
                "User: arn:aws:iam::{account}:user/rollcall-lab is not authorized to perform: \
                 {action} on resource: {} because no resource-based policy allows the \
                 {action} action",
                arn()
            ),
        ));
    }
    Ok(())
}
