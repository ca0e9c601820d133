//! Authorization server (RFC 8414) and protected resource (RFC 9728) metadata documents: never a
//! panic reading or validating one, and what is read is written back unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_auth::metadata::{AuthorizationServerMetadata, ProtectedResourceMetadata};

fuzz_target!(|data: &[u8]| {
    if let Ok(metadata) = serde_json::from_slice::<AuthorizationServerMetadata>(data) {
        let _ = metadata.validate();
        let written = serde_json::to_string(&metadata).expect("metadata serializes");
        let again: AuthorizationServerMetadata =
            serde_json::from_str(&written).expect("written metadata reads back");
        assert_eq!(
            serde_json::to_string(&again).expect("metadata serializes"),
            written
        );
    }
    if let Ok(metadata) = serde_json::from_slice::<ProtectedResourceMetadata>(data) {
        let written = serde_json::to_string(&metadata).expect("metadata serializes");
        let again: ProtectedResourceMetadata =
            serde_json::from_str(&written).expect("written metadata reads back");
        assert_eq!(again, metadata, "{written}");
    }
});
