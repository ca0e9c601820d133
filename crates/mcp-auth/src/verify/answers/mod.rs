//! What the verifiers that ask a server about each token (introspection, userinfo) share: where
//! answers are kept ([`IntrospectionStore`], keyed by the token's SHA-256, never the token),
//! one call for concurrent requests with one new token ([`SingleFlight`]), and a bound on calls
//! a second ([`CallBudget`]).

mod call_budget;
mod single_flight;
mod store;

pub(crate) use call_budget::CallBudget;
pub(crate) use single_flight::SingleFlight;
pub use store::{
    IntrospectionStore, MemoryIntrospectionStore, StoreFuture, StoredAnswer, TokenDigest,
};
