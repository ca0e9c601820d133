//! Authorization beyond scopes: rules written in CEL on who calls and what the call carries
//! (set on [`OperationRules`](crate::operations::OperationRules)), and an external policy
//! decision point ([`DecisionPoint`], such as an AuthZEN PDP through [`AuthZen`]) asked about
//! every call the layer's own rules let through.

mod access;
mod authzen;
mod decision_point;
mod environment;
mod rule;
mod variables;

pub use access::{
    AccessRequest, AccessResource, Action, ResourceProperties, Subject, SubjectProperties,
};
pub use authzen::{AuthZen, AuthZenBuilder};
pub use decision_point::{DecisionError, DecisionFuture, DecisionPoint};
pub(crate) use rule::{AllowRule, Reads};
pub(crate) use variables::{Call, context};
