//! The assertions, as pure functions of what an upstream recorded: (a) every operation it
//! executed is allowed by the token under the rules, (b) the identity it read is the token's,
//! (c) a session it used belongs to the caller, (d) the path it routed is at or below `/mcp`,
//! (e) no forwarding header carries what the client wrote.

use serde_json::Value;

use super::cases::Who;

/// The per-operation rules every proxy is given (`FLAGS` in differential.rs).
pub(crate) const TOOL_RULES: [(&str, &str); 2] =
    [("admin_report", "mcp:admin"), ("kill_switch", "mcp:admin")];
pub(crate) const PROMPT_RULES: [(&str, &str); 1] = [("secret_prompt", "mcp:admin")];
pub(crate) const METHOD_RULES: [(&str, &str); 1] = [("logging/setLevel", "mcp:admin")];
/// `--resource-scope file:///etc/passwd=root`.
pub(crate) const PROTECTED_FILE: (&str, &str) = ("/etc/passwd", "root");
/// `--resource-prefix-scope file:///private/=files:private`.
pub(crate) const PROTECTED_DIR: (&str, &str) = ("/private", "files:private");

/// Parts of every value the cases send in forwarding headers: none may reach an upstream.
pub(crate) const CLIENT_MARKERS: [&str; 3] = ["evil", "203.0.113.", "6666"];

/// What went wrong, grouped in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Finding {
    /// A tool, prompt or JSON-RPC method ran that the token's scopes do not allow.
    Operation,
    /// A protected resource was read without the scope it needs.
    Resource,
    /// The upstream read an identity value the token does not carry.
    Identity,
    /// The upstream used a session created by someone else.
    Session,
    /// The upstream routed a path outside `/mcp`.
    Path,
    /// A forwarding header reached the upstream as the client wrote it.
    Forwarding,
    /// A positive control was not executed.
    Control,
    /// A request the harness did not send as such (unknown case, or one case recorded twice).
    Unattributed,
}

impl Finding {
    pub(crate) fn title(self) -> &'static str {
        match self {
            Finding::Operation => "(a) operation executed without its scope",
            Finding::Resource => "(a) protected resource read without its scope",
            Finding::Identity => "(b) identity the token does not carry",
            Finding::Session => "(c) another user's session",
            Finding::Path => "(d) path routed outside /mcp",
            Finding::Forwarding => "(e) client-sent forwarding header reached the upstream",
            Finding::Control => "positive control not executed",
            Finding::Unattributed => "request not sent as such (smuggled or unattributed)",
        }
    }
}

/// What the checks need to know beyond the record.
pub(crate) struct Expected<'a> {
    pub(crate) who: Who,
    pub(crate) issuer: &'a str,
    /// The proxy's own `host:port`.
    pub(crate) host: &'a str,
    /// The upstream's sessions: id → the identity it read when creating it.
    pub(crate) sessions: &'a Value,
}

/// Every violation in one record, as (finding, what happened).
pub(crate) fn check_record(record: &Value, expected: &Expected<'_>) -> Vec<(Finding, String)> {
    let mut found = Vec::new();
    let scopes = expected.who.scopes();
    for entry in record["executed"].as_array().into_iter().flatten() {
        for (finding, scope, why) in needs(entry) {
            if !scopes.contains(&scope) {
                found.push((
                    finding,
                    format!("executed {why}, which needs {scope}; the token has {scopes:?}"),
                ));
            }
        }
    }
    found.extend(check_identity(&record["identity"], expected));
    let session = record["session"].as_str().filter(|s| !s.is_empty());
    if let Some((session, owner)) =
        session.and_then(|s| expected.sessions.get(s).map(|owner| (s, owner)))
    {
        let owner_subject = owner["subject"].as_str().filter(|s| !s.is_empty());
        if owner_subject != expected.who.subject() {
            found.push((
                Finding::Session,
                format!(
                    "used session {session:?} created by {owner_subject:?}; the caller is {:?}",
                    expected.who.subject()
                ),
            ));
        }
    }
    let routed = record["path_seen"].as_str().unwrap_or("");
    let raw = record["raw_target"].as_str().unwrap_or("");
    if !under_mcp(routed) {
        found.push((
            Finding::Path,
            format!("routed {routed:?} (request target {raw:?})"),
        ));
    } else if !under_mcp(&strict_path(raw)) {
        found.push((
            Finding::Path,
            format!(
                "request target {raw:?} read strictly (`;params` cut as Tomcat does, decoded, `\\` as `/`) is {:?}",
                strict_path(raw)
            ),
        ));
    }
    found.extend(check_forwarding(&record["forwarded"], expected));
    found
}

/// The scopes one executed entry needs: (finding, scope, description).
fn needs(entry: &Value) -> Vec<(Finding, &'static str, String)> {
    let kind = entry["kind"].as_str().unwrap_or("");
    let name = entry["name"].as_str();
    let resolved = entry["resolved"].as_str();
    let describe = || format!("{kind} {name:?} (resolved {resolved:?})");
    let rules: &[(&str, &str)] = match kind {
        "tool" => &TOOL_RULES,
        "prompt" => &PROMPT_RULES,
        "method" => &METHOD_RULES,
        "resource" => {
            let readings = [name.and_then(strict_uri_path), resolved.map(strict_fs_path)];
            let mut needed = Vec::new();
            for reading in readings.iter().flatten() {
                for scope in protection(reading) {
                    if !needed.iter().any(|(_, s, _)| *s == scope) {
                        needed.push((
                            Finding::Resource,
                            scope,
                            format!("{} read as {reading:?}", describe()),
                        ));
                    }
                }
            }
            return needed;
        }
        _ => &[],
    };
    rules
        .iter()
        .filter(|(rule, _)| name == Some(rule) || resolved == Some(rule))
        .map(|(_, scope)| (Finding::Operation, *scope, describe()))
        .collect()
}

/// The scopes a file path needs (already canonical: lower case, no dot segments).
pub(crate) fn protection(path: &str) -> Vec<&'static str> {
    let mut scopes = Vec::new();
    if path == PROTECTED_FILE.0 {
        scopes.push(PROTECTED_FILE.1);
    }
    if path == PROTECTED_DIR.0 || path.starts_with(&format!("{}/", PROTECTED_DIR.0)) {
        scopes.push(PROTECTED_DIR.1);
    }
    scopes
}

fn check_identity(identity: &Value, expected: &Expected<'_>) -> Vec<(Finding, String)> {
    let who = expected.who;
    let scopes = who.scopes().join(" ");
    let fields = [
        ("subject", who.subject()),
        ("client_id", who.client_id()),
        ("scopes", Some(scopes.as_str())),
        ("issuer", Some(expected.issuer)),
    ];
    let mut found = Vec::new();
    for (field, want) in fields {
        let read = identity[field].as_str();
        let fine = match want {
            Some(want) if field == "scopes" => read.is_some_and(|read| same_words(read, want)),
            Some(want) => read == Some(want),
            None => read.is_none_or(str::is_empty),
        };
        if !fine {
            found.push((
                Finding::Identity,
                format!("read {field} {read:?}; the token's is {want:?}"),
            ));
        }
    }
    found
}

/// Space-separated words, compared as sets.
fn same_words(a: &str, b: &str) -> bool {
    let mut a: Vec<&str> = a.split(' ').collect();
    let mut b: Vec<&str> = b.split(' ').collect();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

fn check_forwarding(forwarded: &Value, expected: &Expected<'_>) -> Vec<(Finding, String)> {
    let mut found = Vec::new();
    let Some(headers) = forwarded.as_object() else {
        return found;
    };
    for (name, want) in [
        ("x-forwarded-for", "127.0.0.1"),
        ("x-forwarded-host", expected.host),
        ("x-forwarded-proto", "http"),
    ] {
        let read = headers.get(name).and_then(Value::as_str);
        if read != Some(want) {
            found.push((
                Finding::Forwarding,
                format!("read {name} {read:?}; the proxy's is {want:?}"),
            ));
        }
    }
    for (name, value) in headers {
        let value = value.as_str().unwrap_or("");
        if CLIENT_MARKERS.iter().any(|marker| value.contains(marker))
            && !matches!(
                name.as_str(),
                "x-forwarded-for" | "x-forwarded-host" | "x-forwarded-proto"
            )
        {
            found.push((
                Finding::Forwarding,
                format!("read {name} {value:?}, a value the client sent"),
            ));
        }
    }
    found
}

/// `/mcp` or below it.
fn under_mcp(path: &str) -> bool {
    path == "/mcp" || path.starts_with("/mcp/")
}

/// A request target read as Tomcat reads it: the query cut, `;parameters` cut from every
/// segment before decoding, then decoded once, `\` read as `/`, dot segments resolved.
pub(crate) fn strict_path(target: &str) -> String {
    let target = match target.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |at| &rest[at..]),
        None => target,
    };
    let path = target.split('?').next().unwrap_or("");
    let cut: Vec<&str> = path
        .split('/')
        .map(|segment| segment.split(';').next().unwrap_or(""))
        .collect();
    let decoded = percent_decode(&cut.join("/")).replace('\\', "/");
    resolve_dots(&decoded)
}

/// A resource URI read as strictly as any server may: blanks trimmed and tabs and newlines
/// removed, the `file:` scheme without case, the authority dropped, percent-decoded, cut at a
/// NUL, `?` or `#`, `\` read as `/`, `;parameters` cut from segments, `//` collapsed, dot
/// segments resolved, lower-cased. `None` for another scheme.
pub(crate) fn strict_uri_path(uri: &str) -> Option<String> {
    let cleaned: String = uri
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let scheme_end = cleaned.find(':')?;
    if !cleaned[..scheme_end].eq_ignore_ascii_case("file") {
        return None;
    }
    let rest = &cleaned[scheme_end + 1..];
    let path = match rest.strip_prefix("//").or_else(|| rest.strip_prefix(r"\\")) {
        Some(authority_and_path) => authority_and_path
            .find(['/', '\\'])
            .map_or("/", |at| &authority_and_path[at..]),
        None => rest,
    };
    let decoded = percent_decode(path);
    let cut = decoded.split(['\0', '?', '#']).next().unwrap_or("");
    let segments: Vec<&str> = cut
        .split(['/', '\\'])
        .map(|segment| segment.split(';').next().unwrap_or(""))
        .collect();
    Some(resolve_dots(&segments.join("/")).to_lowercase())
}

/// A file path an upstream resolved, read as a case-insensitive filesystem would open it: cut
/// at a NUL, `\` read as `/`, `//` collapsed, dot segments resolved, lower-cased.
pub(crate) fn strict_fs_path(path: &str) -> String {
    let cut = path.split('\0').next().unwrap_or("");
    resolve_dots(&cut.replace('\\', "/")).to_lowercase()
}

/// `/`-separated segments with empty and `.` segments dropped and `..` applied.
fn resolve_dots(path: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            segment => kept.push(segment),
        }
    }
    format!("/{}", kept.join("/"))
}

/// `%XX` escapes decoded once; an invalid escape is kept as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        let escape = (bytes[at] == b'%' && at + 2 < bytes.len())
            .then(|| hex(bytes[at + 1]).zip(hex(bytes[at + 2])))
            .flatten();
        if let Some((high, low)) = escape {
            out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
            at += 3;
            continue;
        }
        out.push(bytes[at]);
        at += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_that_land_on_protected_files_are_read_as_them() {
        for (uri, path) in [
            ("file:///etc/passwd", "/etc/passwd"),
            ("file:///etc/passwd?", "/etc/passwd"),
            ("file:///etc/passwd#x", "/etc/passwd"),
            ("file:///etc/passwd;x", "/etc/passwd"),
            ("file:///etc/passwd/", "/etc/passwd"),
            ("FILE://localhost/ETC/passwd", "/etc/passwd"),
            ("file:/etc/passwd", "/etc/passwd"),
            ("file:///etc\\passwd", "/etc/passwd"),
            ("file:///etc/pass\twd", "/etc/passwd"),
            ("file:///etc/passwd%00.txt", "/etc/passwd"),
            ("file:////private/x", "/private/x"),
            ("file:///private//hr/x", "/private/hr/x"),
            ("file:///public/%2e%2e/private/x", "/private/x"),
            ("file:///public/..%2fprivate/x", "/private/x"),
            ("file:///PRIVATE/hr/x", "/private/hr/x"),
            ("file:///private;x/hr", "/private/hr"),
            ("file:///public/readme#/../../private/x", "/public/readme"),
        ] {
            assert_eq!(strict_uri_path(uri).as_deref(), Some(path), "{uri}");
        }
        assert_eq!(strict_uri_path("https://example.com/private/x"), None);
        assert_eq!(protection("/private"), ["files:private"]);
        assert_eq!(protection("/privatex"), Vec::<&str>::new());
        assert_eq!(strict_fs_path("//PRIVATE/x/../y"), "/private/y");
    }

    #[test]
    fn request_targets_are_read_as_a_servlet_container_reads_them() {
        for (target, path) in [
            ("/mcp", "/mcp"),
            ("/mcp/..;/admin", "/admin"),
            ("/mcp/%2e%2e;/x", "/x"),
            ("/mcp/..%2fadmin", "/admin"),
            ("/mcp/..%5cadmin", "/admin"),
            ("/mcp/x?y=/../..", "/mcp/x"),
            ("/mcp/..%3b/admin", "/mcp/..;/admin"),
            ("http://127.0.0.1:1/mcp/../x", "/x"),
        ] {
            assert_eq!(strict_path(target), path, "{target}");
        }
    }
}
