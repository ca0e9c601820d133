//! `--config FILE` (`MCP_AUTH_CONFIG`): the settings of `serve` and `proxy` in a TOML file.
//!
//! ```toml
//! issuer = ["https://auth.example.com"]
//! resource = "https://mcp.example.com/mcp"
//! scope = ["mcp:tools"]
//!
//! [tool.admin_report]
//! scopes = ["mcp:admin"]
//! allow_if = 'auth.roles.exists(r, r == "admins")'
//!
//! [authzen]
//! url = "http://127.0.0.1:3592"
//! ```
//!
//! Its top-level keys are the subcommand's long flags, and clap stays their only parser: each
//! value is checked by its flag's own parser (a bad one is reported at its `FILE:LINE:COLUMN`),
//! then the file's flags are put on the command line before the user's, except those the command
//! line or the environment set, which win. Tables are rules ([`rules`]) or a family of flags
//! (`[authzen]`: `url` is `--authzen-url`).
//!
//! - [`settings`]: [`load`], the file read and checked against the subcommand it configures;
//! - [`rules`]: the rule tables (`[tool.NAME]`, `[prompt.NAME]`, `[resource_uri."URI"]`,
//!   `[resource_prefix."PREFIX"]`, `[method."NAME"]`, `[every_operation]`);
//! - [`command_line`]: the command line with the file's flags put in, parsed by clap;
//! - [`effective`]: the settings a command line makes, as TOML, for `check-config`;
//! - [`position`] and [`literal`]: where things are in the file, for errors;
//! - `schema` (tests only): the file's JSON Schema, `config.schema.json`, from the same types.

mod command_line;
mod effective;
mod literal;
mod position;
mod rules;
#[cfg(test)]
mod schema;
mod settings;

pub(crate) use command_line::{ConfigArgs, ParseError, Parsed, clap_message, parse};
pub(crate) use effective::effective;
pub(crate) use literal::TomlString;
pub(crate) use position::{ConfigFileError, Position};
pub(crate) use rules::FileRules;
