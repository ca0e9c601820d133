//! [`AllowRule`]: one CEL expression compiled, checked for what it may read, and run against
//! one call.

use std::fmt;

use cel::common::ast::{EntryExpr, Expr, IdedExpr};
use cel::{Context, Program, Value};

use super::environment::environment;
use crate::error::ConfigError;

/// What the variables a rule may read hold; anything else is a mistake caught at start.
const VARIABLES: [(&str, &[&str]); 4] = [
    (
        "auth",
        &["subject", "client_id", "issuer", "scopes", "roles"],
    ),
    // Claims are the token's own: any name.
    ("jwt", &[]),
    ("mcp", &["method", "name", "arguments"]),
    ("request", &["remote_addr"]),
];

/// The longest evaluation error message logged (it may quote what the request carried).
const MAX_LOGGED_ERROR: usize = 200;

/// A rule that allows a call when its expression is `true`: anything else (`false`, an error,
/// a value that is not a boolean) denies it.
pub(crate) struct AllowRule {
    /// Named in denials and logs: `tool:delete_repo`, `every_operation`...
    id: String,
    program: Program,
    reads: Reads,
}

/// Which variables a rule reads, and which of their fields, so that each call builds only
/// those.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Reads {
    /// Fields of `auth`, by their place in [`VARIABLES`] (bit 0: `subject`...).
    pub(crate) auth: Fields,
    pub(crate) jwt: bool,
    /// Fields of `mcp`: `method`, `name`, `arguments`.
    pub(crate) mcp: Fields,
    pub(crate) request: bool,
}

/// A set of a variable's fields, one bit each in the variable's order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Fields(u8);

impl Fields {
    /// Every field (the variable is used as a whole).
    pub(crate) const ALL: Self = Self(u8::MAX);

    /// Whether the field at `index` is read.
    pub(crate) fn has(self, index: usize) -> bool {
        self.0 & (1 << index) != 0
    }

    pub(crate) fn any(self) -> bool {
        self.0 != 0
    }

    fn with(self, index: usize) -> Self {
        Self(self.0 | (1 << index))
    }

    fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

/// Where `mcp.arguments` sits among `mcp`'s fields.
pub(crate) const ARGUMENTS: usize = 2;

impl Reads {
    /// What either reads.
    pub(crate) fn union(self, other: Self) -> Self {
        Self {
            auth: self.auth.union(other.auth),
            jwt: self.jwt || other.jwt,
            mcp: self.mcp.union(other.mcp),
            request: self.request || other.request,
        }
    }

    /// Whether the call's arguments are read: known only when it is called, so a list leaves
    /// the item shown.
    pub(crate) fn arguments(self) -> bool {
        self.mcp.has(ARGUMENTS)
    }
}

impl fmt::Debug for AllowRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AllowRule")
            .field("id", &self.id)
            .field("reads", &self.reads)
            .finish_non_exhaustive()
    }
}

impl AllowRule {
    /// Compiles `source` as the rule `id`: a syntax error, a variable or field no call has, or
    /// a loop whose cost a request could multiply is a [`ConfigError::PolicyRule`] naming the
    /// rule and the line and column at fault.
    pub(crate) fn compile(id: &str, source: &str) -> Result<Self, ConfigError> {
        let program = environment().compile(source).map_err(|errors| {
            let first = errors.errors.first();
            let (line, column) = first.map_or((1, 1), |error| {
                (position(error.pos.0), position(error.pos.1))
            });
            let message = first.map_or_else(
                || "the expression does not parse".to_owned(),
                |error| error.msg.clone(),
            );
            rule_error(id, line, column, message)
        })?;
        let mut reads = Reads::default();
        let mut check = Check {
            source,
            program: &program,
            bound: Vec::new(),
            in_loop: false,
        };
        check
            .expression(program.expression(), &mut reads)
            .map_err(|(line, column, message)| rule_error(id, line, column, message))?;
        Ok(Self {
            id: id.to_owned(),
            program,
            reads,
        })
    }

    /// The rule's id.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// What the rule reads.
    pub(crate) fn reads(&self) -> Reads {
        self.reads
    }

    /// Whether the rule allows the call `context` describes; `Err` (a denial) with why when
    /// it could not be evaluated to a boolean.
    pub(crate) fn allows(&self, context: &Context<'_, '_>) -> Result<bool, String> {
        match self.program.execute(context) {
            Ok(Value::Bool(allowed)) => Ok(allowed),
            Ok(other) => Err(format!(
                "the rule gave a {:?}, not true or false",
                other.type_of()
            )),
            Err(err) => Err(err.to_string().chars().take(MAX_LOGGED_ERROR).collect()),
        }
    }
}

fn rule_error(id: &str, line: usize, column: usize, message: String) -> ConfigError {
    ConfigError::PolicyRule {
        rule: id.to_owned(),
        line,
        column,
        message,
    }
}

/// A 1-based position from the parser's (never below 1).
fn position(value: isize) -> usize {
    usize::try_from(value).unwrap_or(0).max(1)
}

/// Walks a compiled expression for what it reads and how it loops.
struct Check<'a> {
    source: &'a str,
    program: &'a Program,
    /// Names a macro binds (its element, its accumulator), innermost last.
    bound: Vec<&'a str>,
    /// Inside a macro's loop: another loop there would multiply the cost.
    in_loop: bool,
}

/// Line, column and message of a mistake.
type Mistake = (usize, usize, String);

impl<'a> Check<'a> {
    fn expression(&mut self, node: &'a IdedExpr, reads: &mut Reads) -> Result<(), Mistake> {
        match &node.expr {
            Expr::Ident(name) => self.variable(node, name, None, reads),
            Expr::Select(select) => match &select.operand.expr {
                Expr::Ident(name) => {
                    self.variable(&select.operand, name, Some((node, &select.field)), reads)
                }
                _ => self.expression(&select.operand, reads),
            },
            Expr::Call(call) => {
                if let Some(target) = &call.target {
                    self.expression(target, reads)?;
                }
                call.args
                    .iter()
                    .try_for_each(|arg| self.expression(arg, reads))
            }
            Expr::List(list) => list
                .elements
                .iter()
                .try_for_each(|element| self.expression(element, reads)),
            Expr::Map(map) => map.entries.iter().try_for_each(|entry| match &entry.expr {
                EntryExpr::MapEntry(entry) => {
                    self.expression(&entry.key, reads)?;
                    self.expression(&entry.value, reads)
                }
                EntryExpr::StructField(field) => self.expression(&field.value, reads),
            }),
            Expr::Struct(_) => Err(self.mistake(node, "rules build no messages".to_owned())),
            Expr::Comprehension(loop_) => {
                if self.in_loop {
                    return Err(self.mistake(
                        node,
                        "a loop (exists, all, exists_one) inside another: its cost would grow with the square of what the request sends".to_owned(),
                    ));
                }
                if matches!(loop_.accu_init.expr, Expr::List(_) | Expr::Map(_)) {
                    return Err(self.mistake(
                        node,
                        "map and filter build lists as large as what the request sends: use exists, all or exists_one".to_owned(),
                    ));
                }
                self.expression(&loop_.iter_range, reads)?;
                self.expression(&loop_.accu_init, reads)?;
                let outer = self.bound.len();
                self.bound.push(&loop_.iter_var);
                if let Some(second) = &loop_.iter_var2 {
                    self.bound.push(second);
                }
                self.bound.push(&loop_.accu_var);
                self.in_loop = true;
                let body = [&loop_.loop_cond, &loop_.loop_step, &loop_.result]
                    .into_iter()
                    .try_for_each(|part| self.expression(part, reads));
                self.in_loop = false;
                self.bound.truncate(outer);
                body
            }
            Expr::Literal(_) => Ok(()),
            Expr::Unspecified => Err(self.mistake(node, "an empty expression".to_owned())),
        }
    }

    /// The variable `name` at `node`, with the field read from it when there is one.
    fn variable(
        &mut self,
        node: &'a IdedExpr,
        name: &str,
        field: Option<(&'a IdedExpr, &str)>,
        reads: &mut Reads,
    ) -> Result<(), Mistake> {
        if self.bound.contains(&name) {
            return Ok(());
        }
        let Some((_, fields)) = VARIABLES.iter().find(|(known, _)| *known == name) else {
            return Err(self.mistake(
                node,
                format!("no variable {name:?}: rules read auth, jwt, mcp and request"),
            ));
        };
        let index = match field {
            Some((at, field)) if !fields.is_empty() => {
                match fields.iter().position(|known| *known == field) {
                    Some(index) => Some(index),
                    None => {
                        return Err(self.mistake(
                            at,
                            format!(
                                "{name} has no field {field:?}: it has {}",
                                fields.join(", ")
                            ),
                        ));
                    }
                }
            }
            _ => None,
        };
        // A variable used as a whole may be read anywhere: all its fields are built.
        let read = |fields: Fields| index.map_or(Fields::ALL, |index| fields.with(index));
        match name {
            "auth" => reads.auth = read(reads.auth),
            "jwt" => reads.jwt = true,
            "request" => reads.request = true,
            _ => reads.mcp = read(reads.mcp),
        }
        Ok(())
    }

    /// `message` at the start of `node` in the source.
    fn mistake(&self, node: &IdedExpr, message: String) -> Mistake {
        let start = self
            .program
            .source_info()
            .offset_for(node.id)
            .map_or(0, |(start, _)| start as usize);
        let (line, column) = line_and_column(self.source, start);
        (line, column, message)
    }
}

/// The 1-based line and column of the `offset`-th character of `source`.
fn line_and_column(source: &str, offset: usize) -> (usize, usize) {
    let mut line = 1;
    let mut column = 1;
    for c in source.chars().take(offset) {
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mistake(source: &str) -> (usize, usize, String) {
        match AllowRule::compile("tool:t", source) {
            Err(ConfigError::PolicyRule {
                rule,
                line,
                column,
                message,
            }) => {
                assert_eq!(rule, "tool:t");
                (line, column, message)
            }
            other => panic!("{source}: {other:?}"),
        }
    }

    #[test]
    fn syntax_errors_name_their_position() {
        let (line, column, _) = mistake("auth.roles.exists(r, r == \"admins\"");
        assert_eq!(line, 1);
        assert!(column > 30, "{column}");
        let (line, column, _) = mistake("auth.subject == \"a\" &&\n  mcp.name = \"x\"");
        assert_eq!((line, column), (2, 12));
    }

    #[test]
    fn unknown_variables_and_fields_are_refused_where_written() {
        let (line, column, message) = mistake("auth.subject == \"a\" && user.name == \"b\"");
        assert_eq!((line, column), (1, 24));
        assert!(message.contains("\"user\""), "{message}");
        let (_, column, message) = mistake("auth.role == \"admins\"");
        assert_eq!(column, 5);
        assert!(message.contains("roles"), "{message}");
        let (_, _, message) = mistake("mcp.args.path == \"/\"");
        assert!(message.contains("arguments"), "{message}");
    }

    #[test]
    fn loops_a_request_could_multiply_are_refused() {
        let (_, _, message) =
            mistake("mcp.arguments.a.exists(x, mcp.arguments.b.exists(y, x == y))");
        assert!(message.contains("inside another"), "{message}");
        let (_, _, message) = mistake("size(mcp.arguments.a.map(x, x + x)) > 0");
        assert!(message.contains("map and filter"), "{message}");
        assert!(AllowRule::compile("r", "mcp.arguments.a.all(x, x > 0)").is_ok());
        assert!(
            AllowRule::compile(
                "r",
                "[1, 2].exists(x, x == 2) && auth.roles.exists(r, r == \"a\")"
            )
            .is_ok()
        );
    }

    #[test]
    fn a_rule_knows_what_it_reads() {
        let reads = |source: &str| AllowRule::compile("r", source).map(|rule| rule.reads());
        assert_eq!(
            reads("\"admins\" in auth.roles"),
            Ok(Reads {
                auth: Fields::default().with(4),
                ..Reads::default()
            })
        );
        let arguments = reads("mcp.arguments.path.underPath(\"/public\")");
        assert_eq!(arguments.map(Reads::arguments), Ok(true));
        let name = reads("mcp.name == \"x\" && jwt.tenant == \"a\"");
        assert_eq!(
            name,
            Ok(Reads {
                mcp: Fields::default().with(1),
                jwt: true,
                ..Reads::default()
            })
        );
        assert_eq!(reads("size(mcp) > 0").map(Reads::arguments), Ok(true));
        assert_eq!(
            reads("size(auth) > 0").map(|reads| reads.auth),
            Ok(Fields::ALL)
        );
        let bound = reads("auth.scopes.exists(mcp, mcp == \"x\")");
        assert_eq!(bound.map(|reads| reads.mcp.any()), Ok(false));
    }
}
