//! `mcp-auth dpop-proof`: a fresh DPoP proof (RFC 9449) for one request, signed with the demo's
//! DPoP key, so that the demo's bound token can be used from curl.

use clap::Args;
use mcp_auth::testing::DpopKey;

/// Arguments of `dpop-proof`.
#[derive(Debug, Args)]
pub(crate) struct DpopProofArgs {
    /// The request's method (htm).
    method: String,
    /// The request's URL (htu; a query is ignored by the server).
    url: String,
    /// The access token the request carries (ath).
    token: String,
}

/// Prints the proof.
pub(crate) fn run(args: &DpopProofArgs) -> Result<(), String> {
    let key = DpopKey::fixture().map_err(|err| err.to_string())?;
    let proof = key
        .proof(&args.method.to_ascii_uppercase(), &args.url, &args.token)
        .map_err(|err| err.to_string())?;
    println!("{proof}");
    Ok(())
}
