//! The `Mcp-Method` and `Mcp-Name` headers of MCP 2026-07-28 (SEP-2243), held against the body:
//! a request whose headers say one thing and whose body another is refused, so that no proxy,
//! router or rule can be shown a harmless operation while the server runs another.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName};

use super::message::Operation;
use crate::wire::headers::{MCP_METHOD, MCP_NAME};

/// SEP-2243 wraps a value that cannot travel as a header value as `=?base64?...?=`.
const BASE64_PREFIX: &str = "=?base64?";
const BASE64_SUFFIX: &str = "?=";

/// Whether the request carries either header.
pub(crate) fn present(headers: &HeaderMap) -> bool {
    headers.contains_key(MCP_METHOD) || headers.contains_key(MCP_NAME)
}

/// Checks the headers that are present against the operation the body asks for; `Err` says
/// how they disagree. A header that is absent is not required here: the protocol versions that
/// require them are checked by the MCP server itself.
pub(crate) fn agree(headers: &HeaderMap, operation: &Operation) -> Result<(), String> {
    if let Some(method) = single(headers, MCP_METHOD)?
        && method != operation.method
    {
        return Err(format!(
            "the Mcp-Method header does not match the body's method {}",
            operation.method
        ));
    }
    match (single(headers, MCP_NAME)?, operation.header_name()) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(format!(
            "an Mcp-Name header was sent for {}, which it does not name",
            operation.method
        )),
        (Some(raw), Some(expected)) => {
            let name = decoded(raw).ok_or("the Mcp-Name header is not valid base64")?;
            if name == expected {
                Ok(())
            } else {
                Err(format!(
                    "the Mcp-Name header does not match what the body's {} names",
                    operation.method
                ))
            }
        }
    }
}

/// The one value of header `name`, if sent; two values, or one that is not visible ASCII, are
/// a disagreement in themselves.
fn single(headers: &HeaderMap, name: HeaderName) -> Result<Option<&str>, String> {
    let mut values = headers.get_all(&name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(format!("the {name} header is sent twice"));
    }
    value
        .to_str()
        .map(Some)
        .map_err(|_| format!("the {name} header is not visible ASCII"))
}

/// A header value, base64-unwrapped when SEP-2243 wrapped it.
fn decoded(raw: &str) -> Option<String> {
    match raw
        .strip_prefix(BASE64_PREFIX)
        .and_then(|inner| inner.strip_suffix(BASE64_SUFFIX))
    {
        Some(inner) => String::from_utf8(STANDARD.decode(inner).ok()?).ok(),
        None => Some(raw.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::message::Target;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn call(tool: &str) -> Operation {
        Operation {
            method: "tools/call".to_owned(),
            targets: vec![Target::Tool(tool.to_owned())],
            arguments: None,
        }
    }

    #[test]
    fn matching_or_absent_headers_agree() {
        let op = call("delete_repo");
        assert_eq!(agree(&headers(&[]), &op), Ok(()));
        assert_eq!(
            agree(
                &headers(&[("mcp-method", "tools/call"), ("mcp-name", "delete_repo")]),
                &op
            ),
            Ok(())
        );
        assert_eq!(
            agree(&headers(&[("mcp-method", "tools/call")]), &op),
            Ok(())
        );
        // "délète" wrapped as SEP-2243 does for non-ASCII names.
        let wrapped = format!("=?base64?{}?=", STANDARD.encode("délète"));
        assert_eq!(
            agree(&headers(&[("mcp-name", &wrapped)]), &call("délète")),
            Ok(())
        );
    }

    #[test]
    fn headers_that_name_another_operation_disagree() {
        let op = call("delete_repo");
        for pairs in [
            vec![("mcp-method", "tools/list")],
            vec![("mcp-method", "tools/call"), ("mcp-name", "read_file")],
            vec![("mcp-name", "=?base64?cmVhZF9maWxl?=")],
            vec![("mcp-name", "=?base64?not base64?=")],
            vec![("mcp-name", "delete_repo"), ("mcp-name", "delete_repo")],
        ] {
            assert!(agree(&headers(&pairs), &op).is_err(), "{pairs:?}");
        }
        let list = Operation {
            method: "tools/list".to_owned(),
            targets: Vec::new(),
            arguments: None,
        };
        assert!(agree(&headers(&[("mcp-name", "delete_repo")]), &list).is_err());
    }
}
