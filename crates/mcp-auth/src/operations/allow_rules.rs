//! [`AllowRules`]: the CEL rules of [`OperationRules`](super::OperationRules), each attached to
//! a tool, prompt, resource, resource prefix, method or every operation, and the calls they
//! decide.

use std::net::IpAddr;
use std::sync::Arc;

use super::message::{Operation, Target};
use super::resource_uri;
use crate::auth_info::AuthInfo;
use crate::error::ConfigError;
use crate::policy::{AllowRule, Call, Reads, context};
use crate::wire::case_fold::fold;

/// What a rule is attached to (names folded, URIs as keys, as scope rules match them).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Attached {
    Tool(String),
    Prompt(String),
    Resource(String),
    ResourcePrefix(String),
    Method(String),
    Every,
}

/// A rule as given, compiled when the layer is built.
#[derive(Debug, Clone)]
struct Given {
    id: String,
    attached: Attached,
    /// The name or URI as written, for the checks of [`AllowRules::compile`].
    target: String,
    expression: String,
}

/// The CEL rules of one set of operation rules.
#[derive(Debug, Clone, Default)]
pub(crate) struct AllowRules {
    given: Vec<Given>,
    compiled: Vec<(Attached, Arc<AllowRule>)>,
    /// A decision point is asked about every call too: each call naming a target is kept for
    /// it, rules or not.
    decision_point: bool,
}

/// The rules one call must pass.
#[derive(Debug)]
pub(crate) struct Conditions<'r> {
    /// The call; `None` when the body could not be read (then `mcp` holds nothing).
    pub(crate) call: Option<Operation>,
    pub(crate) rules: Vec<&'r AllowRule>,
}

impl AllowRules {
    /// Adds `expression` on the `kind` (`tool`, `prompt`, `resource`, `resource_prefix`,
    /// `method`; `None` for every operation) named `target`.
    pub(crate) fn add(&mut self, kind: Option<&str>, target: String, expression: String) {
        let attached = match kind {
            Some("tool") => Attached::Tool(fold(&target).into_owned()),
            Some("prompt") => Attached::Prompt(fold(&target).into_owned()),
            Some("resource") => Attached::Resource(resource_uri::key(&target)),
            Some("resource_prefix") => Attached::ResourcePrefix(target.clone()),
            Some(_) => Attached::Method(fold(&target).into_owned()),
            None => Attached::Every,
        };
        let base = match kind {
            Some(kind) => format!("{kind}:{target}"),
            None => "every_operation".to_owned(),
        };
        let earlier = self
            .given
            .iter()
            .filter(|given| given.attached == attached)
            .count();
        let id = match earlier {
            0 => base,
            _ => format!("{base}#{}", earlier + 1),
        };
        self.given.push(Given {
            id,
            attached,
            target,
            expression,
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.given.is_empty() && !self.decision_point
    }

    /// Keeps every call naming a target for a decision point.
    pub(crate) fn keep_calls_for_decision_point(&mut self) {
        self.decision_point = true;
    }

    /// The rules `operation` must pass, with the call itself (its arguments taken out of it);
    /// `None` when no rule applies and no decision point needs the call.
    pub(crate) fn conditions(&self, operation: &mut Operation) -> Option<Conditions<'_>> {
        let rules = self.for_operation(operation);
        let asked = self.decision_point && !operation.targets.is_empty();
        if rules.is_empty() && !asked {
            return None;
        }
        Some(Conditions {
            call: Some(Operation {
                method: operation.method.clone(),
                targets: operation.targets.clone(),
                arguments: operation.arguments.take(),
            }),
            rules,
        })
    }

    /// What a request whose calls could not be read must pass: every rule, and the decision
    /// point (which denies what it cannot be asked about); `None` when neither is set.
    pub(crate) fn unread(&self) -> Option<Conditions<'_>> {
        let rules = self.every();
        if rules.is_empty() && !self.decision_point {
            return None;
        }
        Some(Conditions { call: None, rules })
    }

    /// Compiles every rule given: an empty name, a resource URI out of canonical form or an
    /// expression that cannot be used is a [`ConfigError`].
    pub(crate) fn compile(&mut self) -> Result<(), ConfigError> {
        let mut compiled = Vec::with_capacity(self.given.len());
        for given in &self.given {
            match &given.attached {
                Attached::Every => {}
                _ if given.target.is_empty() => return Err(ConfigError::EmptyOperationName),
                Attached::Resource(_) | Attached::ResourcePrefix(_)
                    if resource_uri::canonical(&given.target).is_none() =>
                {
                    return Err(ConfigError::NonCanonicalResourceRule {
                        uri: given.target.clone(),
                    });
                }
                _ => {}
            }
            let rule = AllowRule::compile(&given.id, &given.expression)?;
            compiled.push((given.attached.clone(), Arc::new(rule)));
        }
        self.compiled = compiled;
        Ok(())
    }

    /// The rules that decide whether `operation` is listed: those that read neither its
    /// arguments nor the request, both known only when it is called.
    pub(crate) fn listing(&self, operation: Operation) -> Conditions<'_> {
        let rules = self
            .for_operation(&operation)
            .into_iter()
            .filter(|rule| !rule.reads().arguments() && !rule.reads().request)
            .collect();
        Conditions {
            call: Some(operation),
            rules,
        }
    }

    /// The rules `operation` must pass.
    fn for_operation(&self, operation: &Operation) -> Vec<&AllowRule> {
        self.compiled
            .iter()
            .filter(|(attached, _)| applies(attached, operation))
            .map(|(_, rule)| rule.as_ref())
            .collect()
    }

    /// Every rule.
    pub(crate) fn every(&self) -> Vec<&AllowRule> {
        self.compiled
            .iter()
            .map(|(_, rule)| rule.as_ref())
            .collect()
    }
}

fn applies(attached: &Attached, operation: &Operation) -> bool {
    let targets = || operation.targets.iter();
    match attached {
        Attached::Every => true,
        Attached::Method(method) => fold(&operation.method) == method.as_str(),
        Attached::Tool(tool) => targets()
            .any(|target| matches!(target, Target::Tool(name) if fold(name) == tool.as_str())),
        Attached::Prompt(prompt) => targets()
            .any(|target| matches!(target, Target::Prompt(name) if fold(name) == prompt.as_str())),
        Attached::Resource(key) => targets().any(|target| match target {
            // A URI out of canonical form could be read as any other: every rule applies.
            Target::Resource(uri) if resource_uri::canonical(uri).is_none() => true,
            Target::Resource(uri) => resource_uri::key(uri) == *key,
            _ => false,
        }),
        Attached::ResourcePrefix(prefix) => targets().any(|target| match target {
            Target::Resource(uri) if resource_uri::canonical(uri).is_none() => true,
            Target::Resource(uri) => resource_uri::under(uri, prefix),
            _ => false,
        }),
    }
}

impl Conditions<'_> {
    /// The id of the first rule that denies `caller` this call from `remote_addr`, if any. An
    /// evaluation error is a denial, logged with the rule's id (never its expression, nor what
    /// it read).
    pub(crate) fn denied(&self, caller: &AuthInfo, remote_addr: Option<IpAddr>) -> Option<&str> {
        // Kept for the decision point alone: no rule to build a context for.
        if self.rules.is_empty() {
            return None;
        }
        let reads = self
            .rules
            .iter()
            .fold(Reads::default(), |reads, rule| reads.union(rule.reads()));
        let call = match &self.call {
            None => Call::default(),
            Some(operation) => Call {
                method: Some(&operation.method),
                name: operation.targets.first().map(Target::name),
                arguments: operation.arguments.as_ref(),
            },
        };
        let context = match context(reads, caller, call, remote_addr) {
            Ok(context) => context,
            Err(why) => {
                // Only what the request sent can fail to convert: blame a rule reading it.
                let reader = self.rules.iter().find(|rule| rule.reads().arguments());
                let rule = reader.or(self.rules.first()).map(|rule| rule.id())?;
                tracing::warn!(rule, why, "the call is denied: its rules could not read it");
                return Some(rule);
            }
        };
        self.rules
            .iter()
            .find_map(|rule| match rule.allows(&context) {
                Ok(true) => None,
                Ok(false) => Some(rule.id()),
                Err(why) => {
                    tracing::warn!(
                        rule = rule.id(),
                        why,
                        "the rule could not be evaluated: the call is denied"
                    );
                    Some(rule.id())
                }
            })
    }
}
