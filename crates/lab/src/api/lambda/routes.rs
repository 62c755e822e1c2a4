//! The Lambda API's one routing table: `(method, path)` → [`Operation`]. The
//! `/2015-03-31/functions/` prefix is stripped once and the rest matched segment by segment,
//! so no route depends on the order of the others.

use http::Method;

use super::error::{ApiError, Kind};
use crate::api::http::percent_decode;
use protocol::lambda_api::limits::LAYERS_PATH;

/// The prefix of every function operation's path.
const FUNCTIONS: &str = "/2015-03-31/functions/";
/// The prefix of `InvokeWithResponseStream`'s path (its own API version).
const STREAMING_FUNCTIONS: &str = "/2021-11-15/functions/";

/// A Lambda API operation, with the (percent-decoded) names its path carries. A function name
/// may still be a partial or full ARN with a qualifier; the handler parses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// `POST /functions/{FunctionName}/invocations`.
    Invoke { function: String },
    /// `POST /2021-11-15/functions/{FunctionName}/response-streaming-invocations`.
    InvokeWithResponseStream { function: String },
    /// `GET /functions/{FunctionName}`.
    GetFunction { function: String },
    /// `GET /functions/{FunctionName}/configuration`.
    GetFunctionConfiguration { function: String },
    /// `GET /functions/{FunctionName}/versions`.
    ListVersionsByFunction { function: String },
    /// `GET /functions/{FunctionName}/aliases/{Name}`.
    GetAlias { function: String, alias: String },
    /// `PUT /functions/{FunctionName}/aliases/{Name}`.
    UpdateAlias { function: String, alias: String },
    /// `POST /functions`.
    CreateFunction,
    /// `GET /functions/`.
    ListFunctions,
    /// `PUT /functions/{FunctionName}/code`.
    UpdateFunctionCode { function: String },
    /// `PUT /functions/{FunctionName}/configuration`.
    UpdateFunctionConfiguration { function: String },
    /// `POST /functions/{FunctionName}/versions`.
    PublishVersion { function: String },
    /// `DELETE /functions/{FunctionName}`.
    DeleteFunction { function: String },
    /// `POST /functions/{FunctionName}/aliases`.
    CreateAlias { function: String },
    /// `GET /functions/{FunctionName}/aliases`.
    ListAliases { function: String },
    /// `DELETE /functions/{FunctionName}/aliases/{Name}`.
    DeleteAlias { function: String, alias: String },
    /// `GET /2018-10-31/layers` (`ListLayers`, or with `?find=LayerVersion&Arn=`
    /// `GetLayerVersionByArn`: the handler looks at the query).
    ListLayers,
    /// `POST /2018-10-31/layers/{LayerName}/versions`.
    PublishLayerVersion { layer: String },
    /// `GET /2018-10-31/layers/{LayerName}/versions`.
    ListLayerVersions { layer: String },
    /// `GET /2018-10-31/layers/{LayerName}/versions/{VersionNumber}`.
    GetLayerVersion { layer: String, version: String },
    /// `DELETE /2018-10-31/layers/{LayerName}/versions/{VersionNumber}`.
    DeleteLayerVersion { layer: String, version: String },
}

/// The operation `method` and `path` name: `UnknownOperationException` 404 for a path no
/// operation has, 405 for an operation's path with another method.
pub fn routes(method: &Method, path: &str) -> Result<Operation, ApiError> {
    let unknown = || {
        ApiError::new(
            Kind::UnknownOperation,
            format!("Unknown operation {method} {path}"),
        )
    };
    let wrong_method = |operation: &str, allowed: &str| {
        ApiError::new(
            Kind::UnknownOperationMethod,
            format!("{operation} is {allowed}, not {method}"),
        )
    };
    if let Some(rest) = path.strip_prefix(STREAMING_FUNCTIONS) {
        return match rest.split_once('/') {
            Some((name, "response-streaming-invocations")) if !name.is_empty() => match *method {
                Method::POST => Ok(Operation::InvokeWithResponseStream {
                    function: percent_decode(name),
                }),
                _ => Err(wrong_method("InvokeWithResponseStream", "POST")),
            },
            _ => Err(unknown()),
        };
    }
    if let Some(rest) = path.strip_prefix(LAYERS_PATH) {
        return layer_routes(method, rest).ok_or_else(unknown)?;
    }
    if path == FUNCTIONS || path == FUNCTIONS.trim_end_matches('/') {
        return match *method {
            Method::POST => Ok(Operation::CreateFunction),
            Method::GET => Ok(Operation::ListFunctions),
            _ => Err(wrong_method("CreateFunction/ListFunctions", "POST/GET")),
        };
    }
    let rest = path.strip_prefix(FUNCTIONS).ok_or_else(unknown)?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let segments: Vec<&str> = rest.split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(unknown());
    }
    let function = percent_decode(segments[0]);
    let get = *method == Method::GET;
    match (&segments[1..], method) {
        ([], _) if get => Ok(Operation::GetFunction { function }),
        ([], &Method::DELETE) => Ok(Operation::DeleteFunction { function }),
        (["configuration"], _) if get => Ok(Operation::GetFunctionConfiguration { function }),
        (["configuration"], &Method::PUT) => {
            Ok(Operation::UpdateFunctionConfiguration { function })
        }
        (["configuration"], _) => Err(wrong_method("GetFunctionConfiguration", "GET or PUT")),
        (["code"], &Method::PUT) => Ok(Operation::UpdateFunctionCode { function }),
        (["code"], _) => Err(wrong_method("UpdateFunctionCode", "PUT")),
        (["versions"], _) if get => Ok(Operation::ListVersionsByFunction { function }),
        (["versions"], &Method::POST) => Ok(Operation::PublishVersion { function }),
        (["versions"], _) => Err(wrong_method("ListVersionsByFunction", "GET or POST")),
        (["invocations"], &Method::POST) => Ok(Operation::Invoke { function }),
        (["invocations"], _) => Err(wrong_method("Invoke", "POST")),
        (["aliases", alias], _) if get => Ok(Operation::GetAlias {
            function,
            alias: percent_decode(alias),
        }),
        (["aliases", alias], &Method::PUT) => Ok(Operation::UpdateAlias {
            function,
            alias: percent_decode(alias),
        }),
        (["aliases", alias], &Method::DELETE) => Ok(Operation::DeleteAlias {
            function,
            alias: percent_decode(alias),
        }),
        (["aliases"], &Method::POST) => Ok(Operation::CreateAlias { function }),
        (["aliases"], _) if get => Ok(Operation::ListAliases { function }),
        (["aliases"], _) => Err(wrong_method("CreateAlias/ListAliases", "POST/GET")),
        (["aliases", _], _) => Err(ApiError::new(
            Kind::UnknownOperationMethod,
            format!("{method} is not supported on an alias: use GET, PUT or DELETE"),
        )),
        _ => Err(unknown()),
    }
}

/// The layer operations, `rest` being the path after [`LAYERS_PATH`] (`None`: no such path).
fn layer_routes(method: &Method, rest: &str) -> Option<Result<Operation, ApiError>> {
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Some(match *method {
            Method::GET => Ok(Operation::ListLayers),
            _ => Err(ApiError::new(
                Kind::UnknownOperationMethod,
                format!("ListLayers is GET, not {method}"),
            )),
        });
    }
    let segments: Vec<&str> = rest.strip_prefix('/')?.split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return None;
    }
    let layer = percent_decode(segments[0]);
    let wrong = |operation: &str, allowed: &str| {
        Err(ApiError::new(
            Kind::UnknownOperationMethod,
            format!("{operation} is {allowed}, not {method}"),
        ))
    };
    Some(match (&segments[1..], method) {
        (["versions"], &Method::GET) => Ok(Operation::ListLayerVersions { layer }),
        (["versions"], &Method::POST) => Ok(Operation::PublishLayerVersion { layer }),
        (["versions"], _) => wrong("ListLayerVersions/PublishLayerVersion", "GET/POST"),
        (["versions", v], &Method::GET) => Ok(Operation::GetLayerVersion {
            layer,
            version: percent_decode(v),
        }),
        (["versions", v], &Method::DELETE) => Ok(Operation::DeleteLayerVersion {
            layer,
            version: percent_decode(v),
        }),
        (["versions", _], _) => wrong("GetLayerVersion/DeleteLayerVersion", "GET/DELETE"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(method: Method, path: &str) -> Result<Operation, (u16, String)> {
        routes(&method, path).map_err(|e| (e.status().as_u16(), e.error_type().to_owned()))
    }

    #[test]
    fn every_operation_has_one_route() {
        let f = || "hello".to_owned();
        let base = "/2015-03-31/functions/hello";
        let cases = [
            (Method::POST, format!("{base}/invocations"), Operation::Invoke { function: f() }),
            (
                Method::POST,
                "/2021-11-15/functions/hello/response-streaming-invocations".to_owned(),
                Operation::InvokeWithResponseStream { function: f() },
            ),
            (Method::GET, base.to_owned(), Operation::GetFunction { function: f() }),
            (Method::GET, format!("{base}/"), Operation::GetFunction { function: f() }),
            (Method::DELETE, base.to_owned(), Operation::DeleteFunction { function: f() }),
            (Method::POST, "/2015-03-31/functions".to_owned(), Operation::CreateFunction),
            (Method::GET, "/2015-03-31/functions/".to_owned(), Operation::ListFunctions),
            (Method::PUT, format!("{base}/code"), Operation::UpdateFunctionCode { function: f() }),
            (
                Method::PUT,
                format!("{base}/configuration"),
                Operation::UpdateFunctionConfiguration { function: f() },
            ),
            (Method::POST, format!("{base}/versions"), Operation::PublishVersion { function: f() }),
            (
                Method::GET,
                format!("{base}/configuration"),
                Operation::GetFunctionConfiguration { function: f() },
            ),
            (
                Method::GET,
                format!("{base}/versions"),
                Operation::ListVersionsByFunction { function: f() },
            ),
            (
                Method::GET,
                format!("{base}/aliases/live"),
                Operation::GetAlias { function: f(), alias: "live".into() },
            ),
            (
                Method::PUT,
                format!("{base}/aliases/live/"),
                Operation::UpdateAlias { function: f(), alias: "live".into() },
            ),
            (Method::POST, format!("{base}/aliases"), Operation::CreateAlias { function: f() }),
            (Method::GET, format!("{base}/aliases/"), Operation::ListAliases { function: f() }),
            (
                Method::DELETE,
                format!("{base}/aliases/live"),
                Operation::DeleteAlias { function: f(), alias: "live".into() },
            ),
            (
                Method::GET,
                "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ahello/versions".to_owned(),
                Operation::ListVersionsByFunction {
                    function: "arn:aws:lambda:us-east-1:123456789012:function:hello".into(),
                },
            ),
        ];
        for (method, path, expected) in cases {
            assert_eq!(op(method, &path), Ok(expected), "{path}");
        }
    }

    #[test]
    fn unknown_paths_and_methods() {
        let base = "/2015-03-31/functions/hello";
        let unknown = (404, "UnknownOperationException".to_owned());
        let wrong = (405, "UnknownOperationException".to_owned());
        let cases = [
            (Method::POST, format!("{base}/other"), unknown.clone()),
            (
                Method::GET,
                "/2015-03-31/functions//versions".to_owned(),
                unknown.clone(),
            ),
            (
                Method::GET,
                "/2015-03-31/functions/hello/aliases/live/x".to_owned(),
                unknown.clone(),
            ),
            (
                Method::GET,
                "/2016-01-01/functions/hello".to_owned(),
                unknown.clone(),
            ),
            (Method::PUT, base.to_owned(), unknown.clone()),
            (Method::GET, format!("{base}/invocations"), wrong.clone()),
            (Method::DELETE, format!("{base}/versions"), wrong.clone()),
            (
                Method::DELETE,
                "/2015-03-31/functions/".to_owned(),
                wrong.clone(),
            ),
            (Method::PATCH, format!("{base}/aliases/live"), wrong),
        ];
        for (method, path, expected) in cases {
            assert_eq!(op(method.clone(), &path), Err(expected), "{method} {path}");
        }
    }

    #[test]
    fn layer_operations_have_their_routes() {
        let l = || "tools".to_owned();
        let base = "/2018-10-31/layers/tools/versions";
        let cases = [
            (
                Method::GET,
                "/2018-10-31/layers".to_owned(),
                Ok(Operation::ListLayers),
            ),
            (
                Method::GET,
                "/2018-10-31/layers/".to_owned(),
                Ok(Operation::ListLayers),
            ),
            (
                Method::POST,
                base.to_owned(),
                Ok(Operation::PublishLayerVersion { layer: l() }),
            ),
            (
                Method::GET,
                format!("{base}/"),
                Ok(Operation::ListLayerVersions { layer: l() }),
            ),
            (
                Method::GET,
                format!("{base}/3"),
                Ok(Operation::GetLayerVersion {
                    layer: l(),
                    version: "3".into(),
                }),
            ),
            (
                Method::DELETE,
                format!("{base}/3"),
                Ok(Operation::DeleteLayerVersion {
                    layer: l(),
                    version: "3".into(),
                }),
            ),
            (
                Method::POST,
                "/2018-10-31/layers".to_owned(),
                Err((405, "UnknownOperationException".into())),
            ),
            (
                Method::PUT,
                format!("{base}/3"),
                Err((405, "UnknownOperationException".into())),
            ),
            (
                Method::GET,
                "/2018-10-31/layers/tools".to_owned(),
                Err((404, "UnknownOperationException".into())),
            ),
            (
                Method::GET,
                "/2018-10-31/layersx".to_owned(),
                Err((404, "UnknownOperationException".into())),
            ),
            (
                Method::GET,
                "/2018-10-31/layers//versions".to_owned(),
                Err((404, "UnknownOperationException".into())),
            ),
        ];
        for (method, path, expected) in cases {
            assert_eq!(op(method.clone(), &path), expected, "{method} {path}");
        }
    }
}
