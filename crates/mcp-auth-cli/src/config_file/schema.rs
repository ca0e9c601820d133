//! The configuration file's JSON Schema, `crates/mcp-auth-cli/config.schema.json` (shipped in the
//! package, for editors), generated from what reads the file: clap's model for the flags (each
//! long name, whether it repeats, its possible values, its help) and the rule tables' types
//! (schemars). This test renders it and compares; after changing a flag or a table, write it
//! again with `MCP_AUTH_WRITE_SCHEMA=1 cargo test -p mcp-auth-cli config_schema`.

use std::any::TypeId;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use clap::{Arg, ArgAction, Command, CommandFactory};
use schemars::Schema;
use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use serde_json::{Map, Value, json};

use super::rules::RuleTables;
use super::settings::{FLAG_TABLES, settable_args};

/// The schema.
fn schema() -> Value {
    let mut root = crate::Cli::command();
    root.build();
    let configured: Vec<&Command> = root
        .get_subcommands()
        .filter(|command| command.get_arguments().any(|arg| arg.get_id() == "config"))
        .collect();
    // Each key's schema, with the commands that take it.
    let mut flags: BTreeMap<String, (Value, Vec<&str>)> = BTreeMap::new();
    for command in &configured {
        for arg in settable_args(command) {
            let long = arg.get_long().unwrap_or_default().to_owned();
            let entry = flags
                .entry(long)
                .or_insert_with(|| (flag_schema(arg), Vec::new()));
            entry.1.push(command.get_name());
        }
    }
    let mut properties = Map::new();
    let mut tables: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    for (long, (mut schema, commands)) in flags {
        if commands.len() < configured.len() {
            let only = format!(" Only for mcp-auth {}.", commands.join(", "));
            if let Some(Value::String(description)) = schema.get_mut("description") {
                description.push_str(&only);
            }
        }
        match FLAG_TABLES
            .iter()
            .find(|family| long.starts_with(family.prefix))
        {
            Some(family) => {
                let key = long[family.prefix.len()..].replace('-', "_");
                tables.entry(family.table).or_default().insert(key, schema);
            }
            None => {
                properties.insert(long, schema);
            }
        }
    }
    for family in &FLAG_TABLES {
        let keys = tables.remove(family.table).unwrap_or_default();
        let description = format!(
            "The --{}* flags, without their prefix (url is --{}url).",
            family.prefix, family.prefix
        );
        properties.insert(
            family.table.to_owned(),
            json!({
                "description": description,
                "type": "object",
                "properties": keys,
                "required": [family.required],
                "additionalProperties": false,
            }),
        );
    }
    let rules = SchemaSettings::draft2020_12()
        .with_transform(RecursiveTransform(without_null))
        .into_generator()
        .into_root_schema_for::<RuleTables>();
    if let Some(Value::Object(tables)) = rules.get("properties") {
        properties.extend(tables.clone());
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "mcp-auth configuration file",
        "description": "The settings of mcp-auth serve and mcp-auth proxy (--config FILE, MCP_AUTH_CONFIG): each top-level key is a long flag (an array for a repeatable one), and the tables are rules per operation and [authzen]. Flags and environment variables override the file. Check a file with mcp-auth check-config FILE.",
        "type": "object",
        "properties": properties,
        "additionalProperties": false,
        "$defs": rules.get("$defs").cloned().unwrap_or_else(|| json!({})),
    })
}

/// `schema` without `null` among its types (TOML has none: a key that may be left out is just
/// not required), its description on one line.
fn without_null(schema: &mut Schema) {
    if let Some(Value::String(description)) = schema.get_mut("description") {
        *description = description.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    let null = json!({ "type": "null" });
    if let Some(Value::Array(choices)) = schema.get_mut("anyOf") {
        choices.retain(|choice| *choice != null);
        if let [Value::Object(only)] = choices.as_slice() {
            let only = only.clone();
            schema.remove("anyOf");
            for (key, value) in only {
                schema.insert(key, value);
            }
        }
    }
    if let Some(Value::Array(types)) = schema.get_mut("type") {
        types.retain(|kind| kind != "null");
        if let [only] = types.as_slice() {
            let only = only.clone();
            schema.insert("type".to_owned(), only);
        }
    }
}

/// A flag's key: its values' type (an array for a repeatable flag), its help, its flag and
/// variable, and its default.
fn flag_schema(arg: &Arg) -> Value {
    let mut schema = match arg.get_action() {
        ArgAction::SetTrue => json!({ "type": "boolean" }),
        ArgAction::Append => json!({ "type": "array", "items": value_schema(arg) }),
        _ => value_schema(arg),
    };
    let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
    let mut description = format!("{help} (--{}", arg.get_long().unwrap_or_default());
    if let Some(variable) = arg.get_env() {
        description.push_str(&format!(", {}", variable.to_string_lossy()));
    }
    description.push(')');
    schema["description"] = Value::String(description);
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|value| value.to_string_lossy().into_owned())
        .collect();
    let switch = matches!(arg.get_action(), ArgAction::SetTrue);
    if let ([default], false) = (defaults.as_slice(), switch) {
        schema["default"] = match schema["type"].as_str() {
            Some("integer") => default.parse::<i64>().map_or(Value::Null, Value::from),
            _ => Value::String(default.clone()),
        };
    }
    schema
}

/// One value of a flag: one of its possible values, a number, a duration, or a string.
fn value_schema(arg: &Arg) -> Value {
    let possible: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|value| !value.is_hide_set())
        .map(|value| value.get_name().to_owned())
        .collect();
    let value_type = arg.get_value_parser().type_id();
    let integers = [
        TypeId::of::<u64>(),
        TypeId::of::<u32>(),
        TypeId::of::<usize>(),
    ];
    if !possible.is_empty() {
        json!({ "type": "string", "enum": possible })
    } else if integers.iter().any(|integer| value_type == *integer) {
        json!({ "type": "integer" })
    } else if value_type == TypeId::of::<Duration>() {
        json!({ "type": ["number", "string"], "examples": [30, "300ms"] })
    } else {
        json!({ "type": "string" })
    }
}

#[test]
fn config_schema_is_the_file_s_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.schema.json");
    let generated = format!("{:#}\n", schema());
    if std::env::var_os("MCP_AUTH_WRITE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "config.schema.json is out of date: run MCP_AUTH_WRITE_SCHEMA=1 cargo test -p mcp-auth-cli config_schema"
    );
}

#[test]
fn config_schema_names_every_flag_and_table() {
    let schema = schema();
    let properties = schema["properties"].as_object().unwrap();
    for key in [
        "issuer",
        "upstream",
        "stateful",
        "tool-scope",
        "tool",
        "resource_uri",
        "authzen",
    ] {
        assert!(properties.contains_key(key), "{key}");
    }
    assert!(!properties.contains_key("config"));
    assert!(!properties.contains_key("help"));
    assert!(!properties.contains_key("authzen-url"));
    assert_eq!(properties["issuer"]["type"], "array");
    assert_eq!(properties["issuer-type"]["enum"], json!(["oauth", "oidc"]));
    assert_eq!(properties["leeway"]["type"], "integer");
    assert_eq!(properties["leeway"]["default"], 60);
    assert_eq!(properties["authzen"]["required"], json!(["url"]));
    assert!(
        properties["upstream"]["description"]
            .as_str()
            .unwrap()
            .ends_with("Only for mcp-auth proxy.")
    );
    assert_eq!(
        properties["tool"]["additionalProperties"]["$ref"],
        "#/$defs/ToolRule"
    );
}
