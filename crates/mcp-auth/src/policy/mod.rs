//! Authorization beyond scopes: rules written in CEL on who calls and what the call carries,
//! and an external policy decision point ([`DecisionPoint`]) asked about every call the
//! layer's own rules let through.

mod access;
mod decision_point;

pub use access::{
    AccessRequest, AccessResource, Action, ResourceProperties, Subject, SubjectProperties,
};
pub use decision_point::{DecisionError, DecisionFuture, DecisionPoint};
