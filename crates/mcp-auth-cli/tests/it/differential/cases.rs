//! The table of requests: each a name and the raw pieces of one HTTP/1.1 request (method,
//! target, header lines, body bytes, framing) and the token it carries. Every case is sent to
//! every upstream through its proxy.
//!
//! Header values and targets may hold placeholders filled per proxy: `{HOST}` (the proxy's
//! authority), `{S1}` and `{S2}` (sessions created by user-1 and user-2), `{TOKEN_ADMIN}`.

/// Whose token a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Who {
    /// user-1 through client-1, `mcp:tools`.
    User1,
    /// A token without `sub` and `client_id`, `mcp:tools`.
    NoSubject,
    /// user-2 through client-2, `mcp:tools`: the owner of the session another user steals.
    User2,
    /// user-1 with `mcp:tools mcp:admin`.
    Admin,
    /// user-1 with `mcp:tools files:private`.
    Private,
    /// No `Authorization` header.
    Nobody,
}

impl Who {
    pub(crate) const TOKENS: [Who; 5] = [
        Who::User1,
        Who::NoSubject,
        Who::User2,
        Who::Admin,
        Who::Private,
    ];

    pub(crate) fn subject(self) -> Option<&'static str> {
        match self {
            Who::User1 | Who::Admin | Who::Private => Some("user-1"),
            Who::User2 => Some("user-2"),
            Who::NoSubject | Who::Nobody => None,
        }
    }

    pub(crate) fn client_id(self) -> Option<&'static str> {
        match self {
            Who::User1 | Who::Admin | Who::Private => Some("client-1"),
            Who::User2 => Some("client-2"),
            Who::NoSubject | Who::Nobody => None,
        }
    }

    pub(crate) fn scopes(self) -> &'static [&'static str] {
        match self {
            Who::User1 | Who::NoSubject | Who::User2 => &["mcp:tools"],
            Who::Admin => &["mcp:tools", "mcp:admin"],
            Who::Private => &["mcp:tools", "files:private"],
            Who::Nobody => &[],
        }
    }
}

/// How the body is framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `Content-Length`.
    Length,
    /// `Transfer-Encoding: chunked`, the body in two chunks.
    Chunked,
    /// Nothing added: the case's own headers frame its body.
    AsGiven,
}

/// One request of the table.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    pub(crate) name: String,
    pub(crate) method: String,
    pub(crate) target: String,
    /// Header lines after the harness's own; an empty name sends the value as a raw line.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) framing: Framing,
    pub(crate) who: Who,
    /// Sends no `Content-Type` of its own.
    pub(crate) no_content_type: bool,
    /// A positive control: the kind and resolution every upstream must have executed.
    pub(crate) must_execute: Option<(&'static str, &'static str)>,
}

impl Case {
    /// `POST /mcp` of `body` with user-1's token.
    pub(crate) fn new(name: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            name: name.to_owned(),
            method: "POST".to_owned(),
            target: "/mcp".to_owned(),
            headers: Vec::new(),
            body: body.into(),
            framing: Framing::Length,
            who: Who::User1,
            no_content_type: false,
            must_execute: None,
        }
    }

    fn method(mut self, method: &str) -> Self {
        method.clone_into(&mut self.method);
        self
    }

    fn target(mut self, target: &str) -> Self {
        target.clone_into(&mut self.target);
        self
    }

    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    fn raw_line(self, line: &str) -> Self {
        self.header("", line)
    }

    fn who(mut self, who: Who) -> Self {
        self.who = who;
        self
    }

    fn framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    fn no_content_type(mut self) -> Self {
        self.no_content_type = true;
        self
    }

    fn control(mut self, kind: &'static str, resolved: &'static str) -> Self {
        self.must_execute = Some((kind, resolved));
        self
    }
}

/// A JSON-RPC request of `method` with `params` (both JSON text, inserted as they are).
pub(crate) fn rpc(method: &str, params: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#)
}

/// `tools/call` of `name` (JSON string contents, escapes kept).
pub(crate) fn call(name: &str) -> String {
    rpc(
        "tools/call",
        &format!(r#"{{"name":"{name}","arguments":{{}}}}"#),
    )
}

/// `resources/read` of `uri` (JSON string contents, escapes kept).
pub(crate) fn read(uri: &str) -> String {
    rpc("resources/read", &format!(r#"{{"uri":"{uri}"}}"#))
}

/// `prompts/get` of `name` (JSON string contents, escapes kept).
pub(crate) fn prompt(name: &str) -> String {
    rpc("prompts/get", &format!(r#"{{"name":"{name}"}}"#))
}

/// The two sessions every other case may use: created first, by their owners.
pub(crate) fn setup() -> Vec<Case> {
    vec![
        Case::new("setup_initialize_user1", rpc("initialize", "{}"))
            .control("method", "initialize"),
        Case::new("setup_initialize_user2", rpc("initialize", "{}"))
            .who(Who::User2)
            .control("method", "initialize"),
    ]
}

/// Every other case, positive controls first.
pub(crate) fn all() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(controls());
    cases.extend(keys());
    cases.extend(duplicates());
    cases.extend(look_alike_responses());
    cases.extend(batches());
    cases.extend(encodings());
    cases.extend(names());
    cases.extend(prompts_and_methods());
    cases.extend(completions());
    cases.extend(resources());
    cases.extend(http_methods());
    cases.extend(identity_headers());
    cases.extend(sessions());
    cases.extend(paths());
    cases.extend(framing());
    cases.extend(forwarding());
    cases.extend(benign());
    // Last: an upstream that died on an earlier case fails here, not silently.
    cases.push(Case::new("control_whoami_last", call("whoami")).control("tool", "whoami"));
    cases
}

/// What must be executed on every upstream, so that a proxy refusing everything fails.
fn controls() -> Vec<Case> {
    vec![
        Case::new("control_whoami", call("whoami")).control("tool", "whoami"),
        Case::new("control_admin_report_with_mcp_admin", call("admin_report"))
            .who(Who::Admin)
            .control("tool", "admin_report"),
        Case::new("control_public_readme", read("file:///public/readme"))
            .control("resource", "/public/readme"),
        Case::new("control_call_in_own_session", call("whoami"))
            .header("Mcp-Session-Id", "{S1}")
            .control("tool", "whoami"),
        Case::new(
            "control_private_with_files_private",
            read("file:///private/hr/x"),
        )
        .who(Who::Private)
        .control("resource", "/private/hr/x"),
    ]
}

/// Go's encoding/json matches keys to fields without case, the last match winning, and folds
/// `ſ` to `s` and `K` (Kelvin) to `k`; Jackson with ACCEPT_CASE_INSENSITIVE_PROPERTIES too.
fn keys() -> Vec<Case> {
    let tools = |params: &str| rpc("tools/call", params);
    vec![
        Case::new("key_Name_only", tools(r#"{"Name":"admin_report"}"#)),
        Case::new(
            "key_name_then_Name",
            tools(r#"{"name":"whoami","Name":"admin_report"}"#),
        ),
        Case::new(
            "key_name_then_NAME",
            tools(r#"{"name":"whoami","NAME":"admin_report"}"#),
        ),
        Case::new(
            "key_name_then_nAmE",
            tools(r#"{"name":"whoami","nAmE":"admin_report"}"#),
        ),
        Case::new(
            "key_Name_then_name",
            tools(r#"{"Name":"admin_report","name":"whoami"}"#),
        ),
        Case::new(
            "key_escaped_Name",
            tools(r#"{"name":"whoami","N\u0061me":"admin_report"}"#),
        ),
        Case::new(
            "key_Method_only",
            r#"{"jsonrpc":"2.0","id":1,"Method":"tools/call","params":{"name":"admin_report"}}"#,
        ),
        Case::new(
            "key_method_then_Method",
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","Method":"tools/call","params":{"name":"admin_report"}}"#,
        ),
        Case::new(
            "key_METHOD",
            r#"{"jsonrpc":"2.0","id":1,"METHOD":"tools/call","params":{"name":"admin_report"}}"#,
        ),
        Case::new(
            "key_Params_only",
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","Params":{"name":"admin_report"}}"#,
        ),
        Case::new(
            "key_params_then_Params",
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami"},"Params":{"name":"admin_report"}}"#,
        ),
        Case::new(
            "key_params_then_PARAMS",
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami"},"PARAMS":{"name":"admin_report"}}"#,
        ),
        Case::new(
            "key_long_s_params",
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"whoami\"},\"param\u{17f}\":{\"name\":\"admin_report\"}}",
        ),
        Case::new(
            "key_long_s_params_escaped",
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami"},"param\u017f":{"name":"admin_report"}}"#,
        ),
        Case::new(
            "key_long_s_PARAMS",
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami"},"PARAM\u017f":{"name":"admin_report"}}"#,
        ),
        Case::new(
            "key_Method_and_Params",
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","Method":"tools/call","Params":{"Name":"admin_report"}}"#,
        ),
        Case::new(
            "key_URI",
            rpc(
                "resources/read",
                r#"{"uri":"file:///public/readme","URI":"file:///etc/passwd"}"#,
            ),
        ),
        Case::new(
            "key_Uri",
            rpc(
                "resources/read",
                r#"{"uri":"file:///public/readme","Uri":"file:///private/hr/x"}"#,
            ),
        ),
        Case::new(
            "key_URI_only",
            rpc("resources/read", r#"{"URI":"file:///etc/passwd"}"#),
        ),
        Case::new(
            "key_prompt_Name",
            rpc("prompts/get", r#"{"name":"hello","Name":"secret_prompt"}"#),
        ),
        Case::new(
            "key_setLevel_Method",
            r#"{"jsonrpc":"2.0","id":1,"method":"ping","Method":"logging/setLevel","params":{"level":"debug"}}"#,
        ),
        Case::new("key_kelvin_tool_escaped", call(r"\u212aill_switch")),
        Case::new("key_kelvin_tool_literal", call("\u{212a}ill_switch")),
        Case::new("key_kelvin_tool_upper", call(r"\u212aILL_SWITCH")),
        Case::new("key_long_s_prompt_escaped", prompt(r"\u017fecret_prompt")),
        Case::new("key_long_s_prompt_literal", prompt("\u{17f}ecret_prompt")),
        Case::new(
            "key_Name_in_nested_arguments_only",
            tools(r#"{"arguments":{"name":"admin_report"},"name":"whoami"}"#),
        ),
    ]
}

/// Two members of one name, spelt alike or through escapes: every upstream here takes the last.
fn duplicates() -> Vec<Case> {
    let tools = |params: &str| rpc("tools/call", params);
    vec![
        Case::new(
            "dup_name_exact",
            tools(r#"{"name":"whoami","name":"admin_report"}"#),
        ),
        Case::new(
            "dup_name_escaped_second",
            tools(r#"{"name":"whoami","n\u0061me":"admin_report"}"#),
        ),
        Case::new(
            "dup_name_escaped_first",
            tools(r#"{"n\u0061me":"whoami","name":"admin_report"}"#),
        ),
        Case::new(
            "dup_name_all_escaped",
            tools(r#"{"name":"whoami","\u006e\u0061\u006d\u0065":"admin_report"}"#),
        ),
        Case::new(
            "dup_name_three",
            tools(r#"{"name":"admin_report","name":"whoami","name":"kill_switch"}"#),
        ),
        Case::new(
            "dup_method_exact",
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"admin_report"}}"#,
        ),
        Case::new(
            "dup_method_escaped",
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","m\u0065thod":"tools/call","params":{"name":"admin_report"}}"#,
        ),
        Case::new(
            "dup_params_exact",
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami"},"params":{"name":"admin_report"}}"#,
        ),
        Case::new(
            "dup_params_escaped",
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami"},"p\u0061rams":{"name":"admin_report"}}"#,
        ),
        Case::new(
            "dup_uri_exact",
            rpc(
                "resources/read",
                r#"{"uri":"file:///public/readme","uri":"file:///etc/passwd"}"#,
            ),
        ),
        Case::new(
            "dup_uri_escaped",
            rpc(
                "resources/read",
                r#"{"uri":"file:///public/readme","\u0075ri":"file:///private/hr/x"}"#,
            ),
        ),
        Case::new(
            "dup_prompt_name",
            rpc("prompts/get", r#"{"name":"hello","name":"secret_prompt"}"#),
        ),
        Case::new(
            "dup_method_setLevel",
            r#"{"jsonrpc":"2.0","id":1,"method":"ping","method":"logging/setLevel","params":{"level":"debug"}}"#,
        ),
        Case::new(
            "dup_jsonrpc_member_in_batch",
            r#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","name":"admin_report"}}]"#,
        ),
    ]
}

/// Responses (no method for a strict reader) that a lenient reader takes for requests.
fn look_alike_responses() -> Vec<Case> {
    vec![
        Case::new(
            "response_result_with_Method",
            r#"{"jsonrpc":"2.0","id":1,"result":{},"Method":"tools/call","params":{"name":"admin_report"}}"#,
        ),
        Case::new(
            "response_result_with_method",
            r#"{"jsonrpc":"2.0","id":1,"result":{},"method":"tools/call","params":{"name":"admin_report"}}"#,
        ),
        Case::new(
            "response_error_with_method",
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"x"},"method":"tools/call","params":{"name":"admin_report"}}"#,
        ),
        Case::new(
            "response_result_with_Method_and_Params",
            r#"{"jsonrpc":"2.0","id":1,"result":{},"Method":"tools/call","Params":{"Name":"admin_report"}}"#,
        ),
        Case::new(
            "response_result_with_resource_read",
            r#"{"jsonrpc":"2.0","id":1,"result":{},"method":"resources/read","params":{"uri":"file:///etc/passwd"}}"#,
        ),
        Case::new(
            "response_in_batch_with_Method",
            r#"[{"jsonrpc":"2.0","id":1,"result":{},"Method":"tools/call","params":{"name":"admin_report"}}]"#,
        ),
    ]
}

/// JSON-RPC batches (protocol 2025-03-26) mixing what the token allows and what it does not.
fn batches() -> Vec<Case> {
    let many = {
        let mut items: Vec<String> = (0..50).map(|_| call("whoami")).collect();
        items.push(call("admin_report"));
        format!("[{}]", items.join(","))
    };
    let nested_depth = format!(
        "{}{}{}",
        "[".repeat(40),
        call("admin_report"),
        "]".repeat(40)
    );
    vec![
        Case::new(
            "batch_allowed_then_forbidden",
            format!("[{},{}]", call("whoami"), call("admin_report")),
        ),
        Case::new(
            "batch_forbidden_then_allowed",
            format!("[{},{}]", call("admin_report"), call("whoami")),
        ),
        Case::new(
            "batch_single_forbidden",
            format!("[{}]", call("admin_report")),
        ),
        Case::new(
            "batch_resource_passwd",
            format!(
                "[{},{}]",
                read("file:///public/readme"),
                read("file:///etc/passwd")
            ),
        ),
        Case::new(
            "batch_resource_private",
            format!(
                "[{},{}]",
                read("file:///public/readme"),
                read("file:///private/hr/x")
            ),
        ),
        Case::new(
            "batch_prompt_secret",
            format!("[{},{}]", prompt("hello"), prompt("secret_prompt")),
        ),
        Case::new(
            "batch_setLevel",
            format!(
                "[{},{}]",
                rpc("ping", "{}"),
                rpc("logging/setLevel", r#"{"level":"debug"}"#)
            ),
        ),
        Case::new(
            "batch_notification_forbidden",
            format!(
                "[{},{}]",
                call("whoami"),
                r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"admin_report"}}"#
            ),
        ),
        Case::new(
            "batch_response_then_forbidden",
            format!(
                r#"[{{"jsonrpc":"2.0","id":9,"result":{{}}}},{}]"#,
                call("admin_report")
            ),
        ),
        Case::new("batch_51_last_forbidden", many),
        Case::new(
            "batch_leading_whitespace",
            format!(" \r\n\t[{},{}]", call("whoami"), call("admin_report")),
        ),
        Case::new("batch_nested", nested_depth),
        Case::new("batch_empty", "[]"),
        Case::new(
            "batch_Method_key",
            r#"[{"jsonrpc":"2.0","id":1,"Method":"tools/call","params":{"name":"admin_report"}}]"#,
        ),
        Case::new(
            "batch_kelvin_name",
            format!("[{},{}]", call("whoami"), call(r"\u212aill_switch")),
        ),
    ]
}

/// Encodings and JSON extensions some readers accept and others refuse.
fn encodings() -> Vec<Case> {
    let admin = call("admin_report");
    let with_bom = [b"\xef\xbb\xbf".as_slice(), admin.as_bytes()].concat();
    let deep = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"admin_report","arguments":{{"x":{}1{}}}}}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    vec![
        Case::new("enc_utf8_bom", with_bom),
        Case::new("enc_utf16le_bom", utf16(&admin, false, true)),
        Case::new("enc_utf16be_bom", utf16(&admin, true, true)),
        Case::new("enc_utf16le_no_bom", utf16(&admin, false, false)),
        Case::new("enc_utf16be_no_bom", utf16(&admin, true, false)),
        Case::new("enc_utf32le", utf32le(&admin)),
        Case::new(
            "enc_utf16_with_charset",
            utf16(&admin, false, true),
        )
        .header("Content-Type", "application/json; charset=utf-16")
        .no_content_type(),
        Case::new(
            "enc_nan_argument",
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"admin_report","arguments":{"x":NaN}}}"#,
        ),
        Case::new(
            "enc_infinity_id",
            r#"{"jsonrpc":"2.0","id":Infinity,"method":"tools/call","params":{"name":"admin_report"}}"#,
        ),
        Case::new(
            "enc_line_comment",
            "{\"jsonrpc\":\"2.0\",\"id\":1, // note\n\"method\":\"tools/call\",\"params\":{\"name\":\"admin_report\"}}",
        ),
        Case::new(
            "enc_block_comment",
            r#"{"jsonrpc":"2.0","id":1,/* c */"method":"tools/call","params":{"name":"admin_report"}}"#,
        ),
        Case::new(
            "enc_trailing_comma_object",
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"admin_report",},}"#,
        ),
        Case::new(
            "enc_trailing_comma_batch",
            format!("[{},{},]", call("whoami"), call("admin_report")),
        ),
        Case::new(
            "enc_single_quotes",
            r#"{'jsonrpc':'2.0','id':1,'method':'tools/call','params':{'name':'admin_report'}}"#,
        ),
        Case::new(
            "enc_unquoted_names",
            r#"{jsonrpc:"2.0",id:1,method:"tools/call",params:{name:"admin_report"}}"#,
        ),
        Case::new(
            "enc_huge_exponent_id",
            r#"{"jsonrpc":"2.0","id":1e400,"method":"tools/call","params":{"name":"admin_report"}}"#,
        ),
        Case::new(
            "enc_huge_integer_id",
            r#"{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"tools/call","params":{"name":"admin_report"}}"#,
        ),
        Case::new("enc_deep_arguments", deep),
        Case::new("enc_trailing_garbage", format!("{admin}garbage")),
        Case::new(
            "enc_two_values_allowed_first",
            format!("{}{}", call("whoami"), admin),
        ),
        Case::new(
            "enc_two_values_forbidden_first",
            format!("{}\n{}", admin, call("whoami")),
        ),
        Case::new("enc_trailing_nul", format!("{admin}\0")),
        Case::new("enc_leading_crlf", format!("\r\n\r\n{admin}\r\n")),
        Case::new(
            "enc_invalid_utf8_in_name",
            [
                br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"admin_report"#.as_slice(),
                b"\xff\"}}",
            ]
            .concat(),
        ),
        Case::new("enc_lone_surrogate_in_name", call(r"admin_report\ud800")),
        Case::new("enc_escaped_slash_method", rpc(r"tools\/call", r#"{"name":"admin_report"}"#)),
        Case::new("enc_latin1_body", b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"admin_report\",\"x\":\"\xe9\"}}".as_slice()),
    ]
}

/// Tool names a lenient registry matches to a protected tool.
fn names() -> Vec<Case> {
    let variants: [(&str, &str); 33] = [
        ("name_upper", "ADMIN_REPORT"),
        ("name_mixed_case", "Admin_Report"),
        ("name_leading_space", " admin_report"),
        ("name_trailing_space", "admin_report "),
        ("name_leading_tab", r"\tadmin_report"),
        ("name_trailing_newline", r"admin_report\n"),
        ("name_trailing_cr", r"admin_report\r"),
        ("name_vertical_tab", r"\u000badmin_report"),
        ("name_form_feed", r"\u000cadmin_report"),
        ("name_trailing_nul", r"admin_report\u0000"),
        ("name_nul_then_suffix", r"admin_report\u0000x"),
        ("name_file_separator", r"\u001cadmin_report"),
        ("name_unit_separator", r"admin_report\u001f"),
        ("name_nbsp", r"admin_report\u00a0"),
        ("name_nel", r"\u0085admin_report"),
        ("name_ideographic_space", r"\u3000admin_report"),
        ("name_line_separator", r"admin_report\u2028"),
        ("name_em_space", r"\u2003admin_report"),
        ("name_bom_prefix", r"\ufeffadmin_report"),
        ("name_zero_width_space", r"admin_report\u200b"),
        ("name_soft_hyphen", r"admin\u00ad_report"),
        ("name_fullwidth", r"\uff41\uff44\uff4d\uff49\uff4e_report"),
        ("name_fullwidth_underscore", r"admin\uff3freport"),
        ("name_escaped_underscore", r"admin\u005freport"),
        (
            "name_all_escaped",
            r"\u0061\u0064\u006d\u0069\u006e\u005f\u0072\u0065\u0070\u006f\u0072\u0074",
        ),
        ("name_kill_switch_plain", "kill_switch"),
        ("name_kill_switch_upper", "KILL_SWITCH"),
        ("name_kill_switch_spaced", " kill_switch\t"),
        ("name_kelvin_and_space", r" \u212aill_switch "),
        ("name_dotted_capital_i", r"ADM\u0130N_REPORT"),
        ("name_upper_and_nbsp", r"\u00a0ADMIN_REPORT\u00a0"),
        ("name_case_and_nul", r"Admin_Report\u0000"),
        ("name_plain_forbidden", "admin_report"),
    ];
    let mut cases: Vec<Case> = variants
        .iter()
        .map(|(name, tool)| Case::new(name, call(tool)))
        .collect();
    for (name, value) in [
        ("name_number", "1"),
        ("name_array", r#"["admin_report"]"#),
        ("name_object", r#"{"name":"admin_report"}"#),
        ("name_null", "null"),
    ] {
        cases.push(Case::new(
            name,
            rpc("tools/call", &format!(r#"{{"name":{value}}}"#)),
        ));
    }
    cases
}

/// Prompts and the method rule.
fn prompts_and_methods() -> Vec<Case> {
    vec![
        Case::new("prompt_secret", prompt("secret_prompt")),
        Case::new("prompt_secret_upper", prompt("SECRET_PROMPT")),
        Case::new("prompt_secret_spaced", prompt(" secret_prompt ")),
        Case::new("prompt_secret_nbsp", prompt(r"secret_prompt\u00a0")),
        Case::new("prompt_secret_fullwidth_s", prompt(r"\uff53ecret_prompt")),
        Case::new("prompt_secret_nul", prompt(r"secret_prompt\u0000")),
        Case::new(
            "prompt_secret_escaped_key",
            rpc(
                "prompts/get",
                r#"{"name":"hello","n\u0061me":"secret_prompt"}"#,
            ),
        ),
        Case::new(
            "method_setLevel",
            rpc("logging/setLevel", r#"{"level":"debug"}"#),
        ),
        Case::new(
            "method_setLevel_escaped_slash",
            rpc(r"logging\/setLevel", r#"{"level":"debug"}"#),
        ),
        Case::new(
            "method_setLevel_escaped_letters",
            rpc(r"logging/set\u004cevel", r#"{"level":"debug"}"#),
        ),
        Case::new(
            "method_setLevel_notification",
            r#"{"jsonrpc":"2.0","method":"logging/setLevel","params":{"level":"debug"}}"#,
        ),
        Case::new(
            "method_setLevel_Method_key",
            r#"{"jsonrpc":"2.0","id":1,"Method":"logging/setLevel","params":{"level":"debug"}}"#,
        ),
        Case::new(
            "method_setLevel_case_variant",
            rpc("Logging/SetLevel", r#"{"level":"debug"}"#),
        ),
    ]
}

/// `completion/complete` needs what its prompt or resource reference needs.
fn completions() -> Vec<Case> {
    let complete = |reference: &str| {
        rpc(
            "completion/complete",
            &format!(r#"{{"ref":{reference},"argument":{{"name":"a","value":""}}}}"#),
        )
    };
    vec![
        Case::new(
            "complete_secret_prompt",
            complete(r#"{"type":"ref/prompt","name":"secret_prompt"}"#),
        ),
        Case::new(
            "complete_secret_prompt_upper",
            complete(r#"{"type":"ref/prompt","name":"SECRET_PROMPT"}"#),
        ),
        Case::new(
            "complete_ref_NAME",
            complete(r#"{"type":"ref/prompt","name":"hello","NAME":"secret_prompt"}"#),
        ),
        Case::new(
            "complete_Ref_key",
            rpc(
                "completion/complete",
                r#"{"ref":{"type":"ref/prompt","name":"hello"},"Ref":{"type":"ref/prompt","name":"secret_prompt"}}"#,
            ),
        ),
        Case::new(
            "complete_private_resource",
            complete(r#"{"type":"ref/resource","uri":"file:///private/hr/x"}"#),
        ),
        Case::new(
            "complete_passwd_resource_query",
            complete(r#"{"type":"ref/resource","uri":"file:///etc/passwd?"}"#),
        ),
        Case::new(
            "complete_resource_URI_key",
            complete(
                r#"{"type":"ref/resource","uri":"file:///public/readme","URI":"file:///etc/passwd"}"#,
            ),
        ),
        Case::new(
            "complete_hello_prompt",
            complete(r#"{"type":"ref/prompt","name":"hello"}"#),
        ),
        Case::new(
            "complete_public_resource",
            complete(r#"{"type":"ref/resource","uri":"file:///public/readme"}"#),
        ),
    ]
}

/// Resource URIs that a string rule does not match but a server resolves to a protected file.
fn resources() -> Vec<Case> {
    let uris: [(&str, &str); 56] = [
        ("res_passwd", "file:///etc/passwd"),
        ("res_passwd_empty_query", "file:///etc/passwd?"),
        ("res_passwd_query", "file:///etc/passwd?x=1"),
        ("res_passwd_fragment", "file:///etc/passwd#x"),
        ("res_passwd_empty_fragment", "file:///etc/passwd#"),
        ("res_passwd_semicolon", "file:///etc/passwd;x"),
        ("res_passwd_semicolon_params", "file:///etc/passwd;type=a"),
        ("res_passwd_trailing_slash", "file:///etc/passwd/"),
        ("res_passwd_trailing_dot", "file:///etc/passwd/."),
        ("res_passwd_dot_segment", "file:///etc/./passwd"),
        ("res_passwd_dotdot_segment", "file:///etc/x/../passwd"),
        ("res_passwd_encoded_dotdot", "file:///etc/x/%2e%2e/passwd"),
        ("res_passwd_four_slashes", "file:////etc/passwd"),
        ("res_passwd_double_slash_inside", "file:///etc//passwd"),
        ("res_passwd_encoded_letter", "file:///etc/%70asswd"),
        ("res_passwd_encoded_slash", "file:///etc%2fpasswd"),
        ("res_passwd_upper_path", "file:///ETC/PASSWD"),
        ("res_passwd_upper_scheme", "FILE:///etc/passwd"),
        ("res_passwd_localhost", "file://localhost/etc/passwd"),
        ("res_passwd_other_host", "file://evil.example/etc/passwd"),
        ("res_passwd_no_authority", "file:/etc/passwd"),
        ("res_passwd_backslash", r"file:///etc\\passwd"),
        ("res_passwd_tab", r"file:///etc/pass\twd"),
        ("res_passwd_newline", r"file:///etc/passwd\n"),
        ("res_passwd_leading_space", " file:///etc/passwd"),
        ("res_passwd_encoded_nul", "file:///etc/passwd%00.txt"),
        ("res_passwd_encoded_question", "file:///etc/passwd%3f.txt"),
        ("res_passwd_escaped_json", r"file:\/\/\/etc\/passwd"),
        ("res_passwd_double_encoded", "file:///etc/%2570asswd"),
        ("res_private", "file:///private/hr/x"),
        ("res_private_four_slashes", "file:////private/x"),
        ("res_private_double_slash_inside", "file:///private//hr/x"),
        ("res_private_semicolon_segment", "file:///private;x/hr/x"),
        ("res_private_backslashes", r"file:///private\\hr\\x"),
        ("res_private_public_dotdot", "file:///public/../private/x"),
        (
            "res_private_public_encoded_dotdot",
            "file:///public/%2e%2e/private/x",
        ),
        (
            "res_private_public_dotdot_encoded_slash",
            "file:///public/..%2fprivate/x",
        ),
        (
            "res_private_public_backslash_dotdot",
            r"file:///public\\..\\private\\x",
        ),
        ("res_private_upper", "file:///PRIVATE/hr/x"),
        ("res_private_mixed_case", "file:///Private/hr/x"),
        ("res_private_encoded_upper", "file:///%50RIVATE/hr/x"),
        ("res_private_localhost", "file://localhost/private/x"),
        ("res_private_other_host", "file://evil.example/private/x"),
        ("res_private_no_authority", "file:/private/x"),
        ("res_private_directory", "file:///private"),
        ("res_private_directory_slash", "file:///private/"),
        ("res_private_encoded_slash", "file:///private%2fhr/x"),
        ("res_private_encoded_letter", "file:///%70rivate/x"),
        ("res_private_dot_prefix", "file:///./private/x"),
        ("res_private_fragment", "file:///private#x"),
        ("res_private_tab", r"file:///pri\tvate/x"),
        ("res_private_upper_scheme", "FILE:///private/x"),
        ("res_private_leading_space", " file:///private/x"),
        (
            "res_public_query_dotdot",
            "file:///public/x?/../../private/x",
        ),
        (
            "res_public_fragment_dotdot",
            "file:///public/readme#/../../private/x",
        ),
        ("res_public_readme_plain", "file:///public/readme"),
    ];
    let mut cases: Vec<Case> = uris
        .iter()
        .map(|(name, uri)| Case::new(name, read(uri)))
        .collect();
    cases.push(Case::new(
        "res_uri_array",
        rpc("resources/read", r#"{"uri":["file:///etc/passwd"]}"#),
    ));
    cases.push(Case::new(
        "res_http_scheme_private_path",
        read("https://example.com/private/x"),
    ));
    cases
}

/// Methods and method overrides that can skip a peek made only for `POST`.
fn http_methods() -> Vec<Case> {
    let admin = call("admin_report");
    let override_cases = [
        (
            "http_PUT_override_POST",
            "PUT",
            "X-HTTP-Method-Override",
            "POST",
        ),
        (
            "http_PUT_override_post",
            "PUT",
            "X-HTTP-Method-Override",
            "post",
        ),
        (
            "http_PATCH_override_POST",
            "PATCH",
            "X-HTTP-Method-Override",
            "POST",
        ),
        (
            "http_GET_override_POST",
            "GET",
            "X-HTTP-Method-Override",
            "POST",
        ),
        (
            "http_DELETE_override_POST",
            "DELETE",
            "X-HTTP-Method-Override",
            "POST",
        ),
        ("http_PUT_X_HTTP_Method", "PUT", "X-HTTP-Method", "POST"),
        (
            "http_PUT_X_Method_Override",
            "PUT",
            "X-Method-Override",
            "POST",
        ),
        (
            "http_PUT_override_underscore",
            "PUT",
            "X_HTTP_Method_Override",
            "POST",
        ),
        (
            "http_FOO_override_POST",
            "FOO",
            "X-HTTP-Method-Override",
            "POST",
        ),
        (
            "http_POST_override_GET",
            "POST",
            "X-HTTP-Method-Override",
            "GET",
        ),
        (
            "http_POST_override_PUT",
            "POST",
            "X-HTTP-Method-Override",
            "PUT",
        ),
    ];
    let mut cases: Vec<Case> = [
        ("http_post_lower", "post"),
        ("http_Post_mixed", "Post"),
        ("http_PUT", "PUT"),
        ("http_PATCH", "PATCH"),
        ("http_DELETE_with_body", "DELETE"),
        ("http_GET_with_body", "GET"),
        ("http_OPTIONS_with_body", "OPTIONS"),
        ("http_PROPFIND_with_body", "PROPFIND"),
    ]
    .iter()
    .map(|(name, method)| Case::new(name, admin.clone()).method(method))
    .collect();
    for (name, method, header, value) in override_cases {
        cases.push(
            Case::new(name, admin.clone())
                .method(method)
                .header(header, value),
        );
    }
    cases.push(Case::new("http_post_lower_resource", read("file:///etc/passwd")).method("post"));
    for method in ["GET", "DELETE"] {
        cases.push(
            Case::new(&format!("http_{method}_chunked_body"), admin.clone())
                .method(method)
                .framing(Framing::Chunked),
        );
    }
    cases.push(
        Case::new("http_PUT_override_resource", read("file:///private/hr/x"))
            .method("PUT")
            .header("X-HTTP-Method-Override", "POST"),
    );
    cases.push(
        Case::new("http_PUT_override_prompt", prompt("secret_prompt"))
            .method("PUT")
            .header("X-HTTP-Method-Override", "POST"),
    );
    cases.push(
        Case::new(
            "http_PUT_override_setLevel",
            rpc("logging/setLevel", r#"{"level":"debug"}"#),
        )
        .method("PUT")
        .header("X-HTTP-Method-Override", "POST"),
    );
    cases
}

/// Identity headers spelt so that the proxy's removal misses them and a server reads them.
fn identity_headers() -> Vec<Case> {
    let whoami = call("whoami");
    let spoof = |name: &str, header: &str, value: &str, who: Who| {
        Case::new(name, whoami.clone())
            .header(header, value)
            .who(who)
    };
    vec![
        spoof(
            "hdr_subject_underscore",
            "X_MCP_Auth_Subject",
            "admin",
            Who::User1,
        ),
        spoof(
            "hdr_subject_underscore_lower",
            "x_mcp_auth_subject",
            "admin",
            Who::User1,
        ),
        spoof(
            "hdr_client_underscore",
            "X_MCP_Auth_Client_Id",
            "evil-client",
            Who::User1,
        ),
        spoof(
            "hdr_scopes_underscore",
            "X_MCP_Auth_Scopes",
            "mcp:admin root",
            Who::User1,
        ),
        spoof(
            "hdr_issuer_underscore",
            "X_MCP_Auth_Issuer",
            "https://evil.example",
            Who::User1,
        ),
        spoof(
            "hdr_subject_mixed_separators",
            "X-MCP_Auth-Subject",
            "admin",
            Who::User1,
        ),
        spoof(
            "hdr_subject_canonical",
            "X-MCP-Auth-Subject",
            "admin",
            Who::User1,
        ),
        spoof(
            "hdr_subject_lower",
            "x-mcp-auth-subject",
            "admin",
            Who::User1,
        ),
        spoof(
            "hdr_scopes_upper",
            "X-MCP-AUTH-SCOPES",
            "mcp:admin",
            Who::User1,
        ),
        spoof(
            "hdr_subject_without_token_subject",
            "X-MCP-Auth-Subject",
            "admin",
            Who::NoSubject,
        ),
        spoof(
            "hdr_subject_underscore_without_token_subject",
            "X_MCP_Auth_Subject",
            "admin",
            Who::NoSubject,
        ),
        spoof(
            "hdr_client_underscore_without_token_client",
            "X_MCP_Auth_Client_Id",
            "evil-client",
            Who::NoSubject,
        ),
        spoof(
            "hdr_scopes_underscore_without_token_subject",
            "X_MCP_Auth_Scopes",
            "mcp:admin",
            Who::NoSubject,
        ),
        Case::new("hdr_subject_two_spellings", whoami.clone())
            .header("X-MCP-Auth-Subject", "admin")
            .header("x-mcp-auth-subject", "root"),
        Case::new("hdr_all_underscored", whoami.clone())
            .header("X_MCP_Auth_Subject", "admin")
            .header("X_MCP_Auth_Client_Id", "evil-client")
            .header("X_MCP_Auth_Scopes", "mcp:admin")
            .header("X_MCP_Auth_Issuer", "https://evil.example"),
        Case::new("hdr_subject_space_before_colon", whoami.clone())
            .raw_line("X-MCP-Auth-Subject : admin"),
        Case::new("hdr_subject_obs_fold", whoami.clone())
            .raw_line("X-Note: a")
            .raw_line(" X-MCP-Auth-Subject: admin"),
        Case::new("hdr_connection_names_identity", whoami.clone())
            .header("Connection", "close, X-MCP-Auth-Subject, X-MCP-Auth-Scopes"),
        Case::new("hdr_two_authorizations", call("admin_report"))
            .header("Authorization", "Bearer {TOKEN_ADMIN}"),
        Case::new("hdr_mcp_name_disagrees", call("admin_report"))
            .header("Mcp-Method", "tools/call")
            .header("Mcp-Name", "whoami"),
        Case::new("hdr_mcp_method_disagrees", call("admin_report"))
            .header("Mcp-Method", "tools/list"),
        Case::new("hdr_content_type_text", call("admin_report"))
            .header("Content-Type", "text/plain")
            .no_content_type(),
        Case::new("hdr_content_type_form", call("admin_report"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .no_content_type(),
        Case::new("hdr_content_type_missing", call("admin_report")).no_content_type(),
        Case::new("hdr_content_type_json_suffix", call("admin_report"))
            .header("Content-Type", "application/vnd.api+json")
            .no_content_type(),
    ]
}

/// Another user's session, through spellings the proxy's binding may miss.
fn sessions() -> Vec<Case> {
    let whoami = call("whoami");
    let steal = |name: &str, header: &str, value: &str| {
        Case::new(name, whoami.clone()).header(header, value)
    };
    vec![
        steal("session_other_user", "Mcp-Session-Id", "{S2}"),
        steal("session_other_user_lower", "mcp-session-id", "{S2}"),
        steal("session_other_user_upper", "MCP-SESSION-ID", "{S2}"),
        steal("session_other_user_underscore", "Mcp_Session_Id", "{S2}"),
        steal(
            "session_other_user_underscore_lower",
            "mcp_session_id",
            "{S2}",
        ),
        steal("session_other_user_padded", "Mcp-Session-Id", "  {S2}  "),
        Case::new("session_own_then_other", whoami.clone())
            .header("Mcp-Session-Id", "{S1}")
            .header("Mcp-Session-Id", "{S2}"),
        Case::new("session_other_then_own", whoami.clone())
            .header("Mcp-Session-Id", "{S2}")
            .header("Mcp-Session-Id", "{S1}"),
        Case::new("session_own_and_other_underscore", whoami.clone())
            .header("Mcp-Session-Id", "{S1}")
            .header("Mcp_Session_Id", "{S2}"),
        Case::new("session_other_underscore_and_own", whoami.clone())
            .header("Mcp_Session_Id", "{S2}")
            .header("Mcp-Session-Id", "{S1}"),
        steal(
            "session_other_user_comma_list",
            "Mcp-Session-Id",
            "{S2}, {S1}",
        ),
        Case::new("session_underscore_without_subject", whoami.clone())
            .header("Mcp_Session_Id", "{S1}")
            .who(Who::NoSubject),
        Case::new("session_plain_without_subject", whoami.clone())
            .header("Mcp-Session-Id", "{S1}")
            .who(Who::NoSubject),
        Case::new("session_own_user2", whoami.clone())
            .header("Mcp-Session-Id", "{S2}")
            .who(Who::User2),
        Case::new("session_other_user_admin_call", call("admin_report"))
            .header("Mcp_Session_Id", "{S2}")
            .who(Who::Admin),
    ]
}

/// Paths that a server decoding or normalising before routing reads outside `/mcp`.
fn paths() -> Vec<Case> {
    let targets = [
        ("path_dotdot_semicolon", "/mcp/..;/admin"),
        ("path_encoded_dotdot_semicolon", "/mcp/%2e%2e;/x"),
        ("path_dotdot_encoded_slash", "/mcp/..%2fadmin"),
        ("path_dotdot_encoded_backslash", "/mcp/..%5cadmin"),
        ("path_upper_encoded_dots", "/mcp/%2E%2E/admin"),
        ("path_mixed_encoded_dots", "/mcp/.%2e/admin"),
        ("path_dot_segment", "/mcp/./x"),
        ("path_upper_mcp", "/MCP"),
        ("path_semicolon_on_mcp", "/mcp;x"),
        ("path_semicolon_dotdot_after", "/mcp;x/../admin"),
        ("path_double_encoded_dots", "/mcp/%252e%252e/admin"),
        ("path_double_encoded_slash", "/mcp/..%252fadmin"),
        ("path_raw_backslash", r"/mcp/..\admin"),
        ("path_plain_dotdot", "/mcp/../admin"),
        ("path_dot_semicolon", "/mcp/.;/x"),
        ("path_trailing_dotdot", "/mcp/x/.."),
        ("path_trailing_dotdot_twice", "/mcp/x/../.."),
        ("path_leading_double_slash", "//mcp/x"),
        ("path_double_slash_inside", "/mcp//x"),
        ("path_encoded_nul_dotdot", "/mcp/x%00/../../admin"),
        ("path_encoded_question_dotdot", "/mcp/%3f/../../admin"),
        ("path_encoded_hash_dotdot", "/mcp/%23/../../admin"),
        ("path_semicolon_encoded", "/mcp/..%3b/admin"),
        ("path_fullwidth_dots", "/mcp/%EF%BC%8E%EF%BC%8E/admin"),
        ("path_overlong_dots", "/mcp/%c0%ae%c0%ae/admin"),
        ("path_dotdot_back_into_mcp", "/mcp/../mcp"),
        ("path_query_dotdot", "/mcp?x=/../admin"),
        ("path_encoded_mcp", "/%6dcp"),
        ("path_absolute_form_dotdot", "http://{HOST}/mcp/../admin"),
        ("path_absolute_form", "http://{HOST}/mcp"),
        ("path_absolute_form_other_host", "http://evil.example/mcp"),
        ("path_mcp_suffix", "/mcpx"),
        ("path_dotdot_semicolon_params", "/mcp/..;jsessionid=1/admin"),
    ];
    targets
        .iter()
        .map(|(name, target)| Case::new(name, call("whoami")).target(target))
        .collect()
}

/// How the body is framed and encoded.
fn framing() -> Vec<Case> {
    let admin = call("admin_report");
    let chunked_admin = {
        let half = admin.len() / 2;
        format!(
            "{:x}\r\n{}\r\n{:x}\r\n{}\r\n0\r\n\r\n",
            half,
            &admin[..half],
            admin.len() - half,
            &admin[half..]
        )
    };
    let short_whoami = call("whoami");
    vec![
        Case::new("frame_chunked_forbidden", admin.clone()).framing(Framing::Chunked),
        Case::new("frame_chunked_resource", read("file:///etc/passwd")).framing(Framing::Chunked),
        Case::new("frame_chunked_and_length", chunked_admin.clone())
            .framing(Framing::AsGiven)
            .header("Content-Length", "5")
            .header("Transfer-Encoding", "chunked"),
        Case::new("frame_length_and_chunked", chunked_admin.clone())
            .framing(Framing::AsGiven)
            .header("Transfer-Encoding", "chunked")
            .header("Content-Length", &chunked_admin.len().to_string()),
        Case::new("frame_chunked_capitalised", chunked_admin.clone())
            .framing(Framing::AsGiven)
            .header("Transfer-Encoding", "Chunked"),
        Case::new("frame_chunked_identity_list", chunked_admin.clone())
            .framing(Framing::AsGiven)
            .header("Transfer-Encoding", "identity, chunked"),
        Case::new(
            "frame_chunk_extension",
            format!("{:x};ext=1\r\n{admin}\r\n0\r\n\r\n", admin.len()),
        )
        .framing(Framing::AsGiven)
        .header("Transfer-Encoding", "chunked"),
        Case::new(
            "frame_chunked_trailer_identity",
            format!(
                "{:x}\r\n{}\r\n0\r\nX-MCP-Auth-Subject: admin\r\n\r\n",
                short_whoami.len(),
                short_whoami
            ),
        )
        .framing(Framing::AsGiven)
        .header("Transfer-Encoding", "chunked")
        .header("Trailer", "X-MCP-Auth-Subject"),
        Case::new("frame_two_equal_lengths", admin.clone())
            .framing(Framing::AsGiven)
            .header("Content-Length", &admin.len().to_string())
            .header("Content-Length", &admin.len().to_string()),
        Case::new("frame_two_different_lengths", admin.clone())
            .framing(Framing::AsGiven)
            .header("Content-Length", "10")
            .header("Content-Length", &admin.len().to_string()),
        Case::new(
            "frame_length_shorter_than_body",
            format!("{short_whoami}{admin}"),
        )
        .framing(Framing::AsGiven)
        .header("Content-Length", &short_whoami.len().to_string()),
        Case::new("frame_gzip", gzip(admin.as_bytes())).header("Content-Encoding", "gzip"),
        Case::new("frame_gzip_upper", gzip(admin.as_bytes())).header("Content-Encoding", "GZIP"),
        Case::new("frame_deflate", zlib(admin.as_bytes())).header("Content-Encoding", "deflate"),
        Case::new(
            "frame_gzip_resource",
            gzip(read("file:///etc/passwd").as_bytes()),
        )
        .header("Content-Encoding", "gzip"),
        Case::new("frame_gzip_chunked", gzip(admin.as_bytes()))
            .header("Content-Encoding", "gzip")
            .framing(Framing::Chunked),
        Case::new("frame_identity_encoding", admin.clone()).header("Content-Encoding", "identity"),
        Case::new("frame_expect_continue", admin.clone()).header("Expect", "100-continue"),
    ]
}

/// Forwarding headers a client sends: none may reach the upstream as the client wrote it.
fn forwarding() -> Vec<Case> {
    let whoami = call("whoami");
    let sent = |name: &str, header: &str, value: &str| {
        Case::new(name, whoami.clone()).header(header, value)
    };
    vec![
        sent(
            "fwd_forwarded",
            "Forwarded",
            "for=203.0.113.9;host=evil.example;proto=https",
        ),
        sent("fwd_x_real_ip", "X-Real-IP", "203.0.113.9"),
        sent("fwd_x_original_url", "X-Original-URL", "/evil/admin"),
        sent("fwd_x_rewrite_url", "X-Rewrite-URL", "/evil/admin"),
        sent("fwd_x_forwarded_host", "X-Forwarded-Host", "evil.example"),
        sent("fwd_x_forwarded_prefix", "X-Forwarded-Prefix", "/evil"),
        sent("fwd_x_forwarded_for", "X-Forwarded-For", "203.0.113.9"),
        sent("fwd_x_forwarded_proto", "X-Forwarded-Proto", "https"),
        sent("fwd_x_forwarded_port", "X-Forwarded-Port", "6666"),
        sent(
            "fwd_x_forwarded_server",
            "X-Forwarded-Server",
            "evil.example",
        ),
        sent("fwd_x_forwarded_ssl", "X-Forwarded-Ssl", "evil-on"),
        sent(
            "fwd_x_forwarded_host_lower",
            "x-forwarded-host",
            "evil.example",
        ),
        sent(
            "fwd_x_forwarded_host_underscore",
            "X_Forwarded_Host",
            "evil.example",
        ),
        sent(
            "fwd_x_forwarded_for_underscore",
            "X_Forwarded_For",
            "203.0.113.9",
        ),
        sent("fwd_x_real_ip_underscore", "X_Real_IP", "203.0.113.9"),
        sent(
            "fwd_x_original_url_underscore",
            "X_Original_URL",
            "/evil/admin",
        ),
        sent(
            "fwd_x_forwarded_prefix_underscore",
            "X_Forwarded_Prefix",
            "/evil",
        ),
        sent("fwd_x_forwarded_bare", "X-Forwarded", "for=203.0.113.9"),
        sent("fwd_x_forwarded_scheme", "X-Forwarded-Scheme", "evil-https"),
        sent("fwd_x_forwarded_uri", "X-Forwarded-Uri", "/evil/admin"),
        sent("fwd_x_client_ip", "X-Client-IP", "203.0.113.9"),
        sent("fwd_true_client_ip", "True-Client-IP", "203.0.113.9"),
        sent("fwd_cf_connecting_ip", "CF-Connecting-IP", "203.0.113.9"),
        sent(
            "fwd_x_cluster_client_ip",
            "X-Cluster-Client-IP",
            "203.0.113.9",
        ),
        sent("fwd_x_host", "X-Host", "evil.example"),
        Case::new("fwd_x_forwarded_for_twice", whoami.clone())
            .header("X-Forwarded-For", "203.0.113.9")
            .header("X-Forwarded-For", "203.0.113.10"),
        Case::new("fwd_all_at_once", whoami.clone())
            .header("Forwarded", "for=203.0.113.9")
            .header("X-Real-IP", "203.0.113.9")
            .header("X-Original-URL", "/evil/admin")
            .header("X-Rewrite-URL", "/evil/admin")
            .header("X-Forwarded-Host", "evil.example")
            .header("X-Forwarded-Prefix", "/evil")
            .header("X-Forwarded-For", "203.0.113.9"),
        Case::new("fwd_connection_names_forwarded_for", whoami.clone())
            .header("Connection", "close, X-Forwarded-For")
            .header("X-Forwarded-For", "203.0.113.9"),
        Case::new("host_other", whoami.clone()).header("Host", "evil.example"),
        Case::new("host_twice", whoami.clone())
            .header("Host", "{HOST}")
            .header("Host", "evil.example"),
    ]
}

/// Ordinary requests: whatever the proxy decides, nothing may go wrong upstream.
fn benign() -> Vec<Case> {
    vec![
        Case::new("ok_tools_list", rpc("tools/list", "{}")),
        Case::new("ok_resources_list", rpc("resources/list", "{}")),
        Case::new("ok_prompts_list", rpc("prompts/list", "{}")),
        Case::new("ok_ping", rpc("ping", "{}")),
        Case::new("ok_prompt_hello", prompt("hello")),
        Case::new("ok_echo", call("echo")),
        Case::new(
            "ok_notification_initialized",
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        ),
        Case::new("ok_initialize_again", rpc("initialize", "{}")),
        Case::new("ok_whoami_without_subject", call("whoami")).who(Who::NoSubject),
        Case::new("ok_whoami_user2", call("whoami")).who(Who::User2),
        Case::new("ok_get_stream", "").method("GET"),
        Case::new("ok_delete_session", "")
            .method("DELETE")
            .header("Mcp-Session-Id", "{S1}"),
        Case::new("no_token_forbidden", call("admin_report")).who(Who::Nobody),
        Case::new("no_token_underscore_identity", call("whoami"))
            .who(Who::Nobody)
            .header("X_MCP_Auth_Subject", "admin"),
    ]
}

/// `text` in UTF-16, little- or big-endian, with or without a byte order mark.
fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let units = bom.then_some(0xfeff).into_iter().chain(text.encode_utf16());
    units
        .flat_map(|unit: u16| match big_endian {
            true => unit.to_be_bytes(),
            false => unit.to_le_bytes(),
        })
        .collect()
}

/// `text` in UTF-32 little-endian, without a byte order mark.
fn utf32le(text: &str) -> Vec<u8> {
    text.chars()
        .flat_map(|c| u32::from(c).to_le_bytes())
        .collect()
}

/// `data` as one stored (uncompressed) deflate block: a valid stream without a compressor.
fn stored_deflate(data: &[u8]) -> Vec<u8> {
    let len = u16::try_from(data.len()).unwrap();
    [&[0x01][..], &len.to_le_bytes(), &(!len).to_le_bytes(), data].concat()
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// `data` as a gzip member (RFC 1952).
fn gzip(data: &[u8]) -> Vec<u8> {
    let header = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let size = u32::try_from(data.len()).unwrap();
    [
        &header[..],
        &stored_deflate(data),
        &crc32(data).to_le_bytes(),
        &size.to_le_bytes(),
    ]
    .concat()
}

/// `data` as a zlib stream (RFC 1950), what HTTP calls `deflate`.
fn zlib(data: &[u8]) -> Vec<u8> {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    [
        &[0x78, 0x01][..],
        &stored_deflate(data),
        &((b << 16) | a).to_be_bytes(),
    ]
    .concat()
}
