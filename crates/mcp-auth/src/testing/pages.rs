//! The authorization endpoint's pages: the consent page (who is asking, for which scopes and
//! which of them are new, for which resource, where the answer goes; Approve or Deny) and the
//! page of a request refused without a redirect.

use std::collections::BTreeSet;

use url::Url;

use super::grants::AuthorizationRequest;
use super::redirect_uri;

/// The page for `request`, waiting under `consent_id`; `approved` holds the scopes this user
/// approved for this client before, so a step-up shows what it adds.
pub(crate) fn consent_page(
    request: &AuthorizationRequest,
    consent_id: &str,
    user: &str,
    approved: &BTreeSet<String>,
) -> String {
    let client = match &request.client_name {
        Some(name) => format!("<b>{}</b> ({})", escaped(name), escaped(&request.client_id)),
        None => format!("<b>{}</b>", escaped(&request.client_id)),
    };
    let redirect_host = redirect_target(&request.redirect_uri);
    let on_this_machine = redirect_uri::stays_on_this_machine(&request.redirect_uri);
    let scopes: String = request
        .scopes
        .iter()
        .map(|scope| {
            // On a first consent everything is new: mark only what a step-up adds.
            let added = !approved.is_empty() && !approved.contains(scope);
            let tag = if added { " <em>(new)</em>" } else { "" };
            format!("<li><code>{}</code>{tag}</li>", escaped(scope))
        })
        .collect();
    let scopes = if scopes.is_empty() {
        "<p>No scope.</p>".to_owned()
    } else {
        format!("<ul>{scopes}</ul>")
    };
    let added = request.scopes.iter().any(|scope| !approved.contains(scope));
    let step_up = if !approved.is_empty() && added {
        "<p>It already holds some of them and asks for more (marked new).</p>"
    } else {
        ""
    };
    let resource = request
        .resource
        .as_deref()
        .map(|resource| {
            format!(
                "<p>For the resource <code>{}</code>.</p>",
                escaped(resource)
            )
        })
        .unwrap_or_default();
    let warning = if on_this_machine {
        "<p class=warn>The answer goes to a program on this machine: approve only if you \
         started this client yourself.</p>"
    } else {
        ""
    };
    format!(
        r#"<!doctype html>
<html lang=en><head><meta charset=utf-8><title>Authorize {title}</title>
<style>body{{font-family:sans-serif;max-width:36em;margin:3em auto;line-height:1.4}}
.warn{{color:#8a4b00}} button{{font-size:1em;padding:.4em 1.4em;margin-right:1em}}</style></head>
<body><h1>Authorize access</h1>
<p>{client} asks to act as <b>{user}</b> with these scopes:</p>
{scopes}{step_up}{resource}
<p>The answer goes to <b>{redirect_host}</b>.</p>
{warning}
<form method=post>
<input type=hidden name=consent value="{consent_id}">
<button type=submit name=decision value=approve>Approve</button>
<button type=submit name=decision value=deny>Deny</button>
</form>
<p><small>mcp-auth test authorization server: it approves for whoever opens this page.</small></p>
</body></html>
"#,
        title = escaped(request.client_name.as_deref().unwrap_or(&request.client_id)),
        user = escaped(user),
        redirect_host = escaped(&redirect_host),
        consent_id = escaped(consent_id),
    )
}

/// Where the answer goes, as the user can judge it: the host of an `http(s)` redirect URI;
/// for any other scheme the scheme itself, since whichever program opens it decides where the
/// code goes next.
fn redirect_target(redirect_uri: &str) -> String {
    match Url::parse(redirect_uri) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {
            url.host_str().unwrap_or(redirect_uri).to_owned()
        }
        Ok(url) => format!("the program that opens {}: links", url.scheme()),
        Err(_) => redirect_uri.to_owned(),
    }
}

/// The page of a request that cannot go back to its client, saying why.
pub(crate) fn refusal_page(why: &str) -> String {
    format!(
        "<!doctype html><html lang=en><meta charset=utf-8><title>Authorization refused</title>\
         <h1>Authorization refused</h1><p>{}</p></html>",
        escaped(why)
    )
}

/// `text` safe inside HTML text and quoted attributes.
fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str, scopes: &[&str]) -> AuthorizationRequest {
        AuthorizationRequest {
            client_id: "c1".into(),
            client_name: Some(name.into()),
            redirect_uri: "http://127.0.0.1:5000/cb".into(),
            redirect_uri_sent: true,
            state: None,
            code_challenge: "x".into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            resource: Some("http://127.0.0.1:8000/mcp".into()),
        }
    }

    #[test]
    fn a_client_name_cannot_inject_markup() {
        let page = consent_page(
            &request("<script>x</script>\"", &["a"]),
            "id",
            "u",
            &BTreeSet::new(),
        );
        assert!(!page.contains("<script>"), "{page}");
        assert!(
            page.contains("&lt;script&gt;x&lt;/script&gt;&quot;"),
            "{page}"
        );
    }

    #[test]
    fn a_step_up_marks_the_added_scopes() {
        let before = BTreeSet::from(["mcp:tools".to_owned()]);
        let page = consent_page(
            &request("App", &["mcp:tools", "mcp:admin"]),
            "id",
            "u",
            &before,
        );
        assert!(page.contains("<code>mcp:tools</code></li>"), "{page}");
        assert!(
            page.contains("<code>mcp:admin</code> <em>(new)</em>"),
            "{page}"
        );
        assert!(page.contains("asks for more"), "{page}");
        assert!(page.contains("<b>127.0.0.1</b>"), "{page}");
    }
}
