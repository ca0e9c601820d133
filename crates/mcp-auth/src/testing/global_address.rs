//! Where the test issuer may connect to fetch a client metadata document: a `client_id` is a
//! URL anyone picks, so without a rule the issuer would fetch from the machine's private
//! network for them (server-side request forgery, draft-ietf-oauth-client-id-metadata-document
//! §6.5). Only global addresses are fetched from, and loopback ones when the issuer itself is
//! on loopback (its clients run on the same machine). The rule holds for the addresses a name
//! resolves to, at the moment of connecting: a DNS name pointing at 10.0.0.1 is refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::OnceLock;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::issuer::fetch::client_builder;

/// What a resolver's future fails with.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Whether the issuer may connect to `ip`: a global address, or a loopback one when
/// `loopback` (the issuer is on loopback itself).
pub(crate) fn allowed(ip: IpAddr, loopback: bool) -> bool {
    let ip = ip.to_canonical();
    if ip.is_loopback() {
        return loopback;
    }
    match ip {
        IpAddr::V4(ip) => is_global_v4(ip),
        IpAddr::V6(ip) => is_global_v6(ip),
    }
}

/// Not private (RFC 1918), shared (RFC 6598), link-local, unspecified, broadcast, multicast,
/// documentation, benchmarking (RFC 2544), IETF protocol assignments (192.0.0.0/24) or
/// reserved (240.0.0.0/4, 0.0.0.0/8).
fn is_global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
        || (a == 192 && b == 0 && c == 0))
}

/// Global unicast (2000::/3) but not documentation (2001:db8::/32) or IETF protocol
/// assignments (2001::/23, Teredo among them), and not 6to4 (2002::/16) of an address that is
/// not global itself; or NAT64 (64:ff9b::/96) of a global IPv4 address. Everything else
/// (unique local fc00::/7, link-local fe80::/10, multicast, unspecified) is not.
fn is_global_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    let embedded_v4 = |high: u16, low: u16| {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_global_v4(embedded_v4(segments[6], segments[7]));
    }
    if segments[0] == 0x2002 {
        return is_global_v4(embedded_v4(segments[1], segments[2]));
    }
    let global_unicast = segments[0] & 0xe000 == 0x2000;
    let documentation = segments[0] == 0x2001 && segments[1] == 0x0db8;
    let protocol_assignments = segments[0] == 0x2001 && segments[1] < 0x0200;
    global_unicast && !documentation && !protocol_assignments
}

/// Resolves names as the system does, and refuses a name with any address the issuer may not
/// connect to (refusing beats picking: a name half on the private network is not a client's).
#[derive(Debug, Clone, Copy)]
struct AllowedOnly {
    loopback: bool,
}

impl Resolve for AllowedOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let loopback = self.loopback;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|err| BoxError::from(format!("{host} could not be resolved: {err}")))?
                .collect();
            let found = checked(&host, found, loopback).map_err(BoxError::from)?;
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// The addresses `host` resolved to, if the issuer may connect to every one of them.
fn checked(host: &str, found: Vec<SocketAddr>, loopback: bool) -> Result<Vec<SocketAddr>, String> {
    if found.is_empty() {
        return Err(format!("{host} has no address"));
    }
    match found.iter().find(|addr| !allowed(addr.ip(), loopback)) {
        Some(refused) => Err(format!(
            "{host} resolves to {}, which is not fetched from",
            refused.ip()
        )),
        None => Ok(found),
    }
}

/// The client that fetches client metadata documents: the shared fetching settings, names
/// resolved by [`AllowedOnly`], and no proxy (a proxy would resolve names itself).
pub(crate) fn client(loopback: bool) -> Result<&'static reqwest::Client, &'static String> {
    static WITH_LOOPBACK: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    static GLOBAL_ONLY: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    let cell = if loopback {
        &WITH_LOOPBACK
    } else {
        &GLOBAL_ONLY
    };
    cell.get_or_init(|| {
        client_builder()
            .no_proxy()
            .dns_resolver(AllowedOnly { loopback })
            .build()
            .map_err(|err| format!("the HTTP client could not be built: {err}"))
    })
    .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_addresses_and_loopback_only_when_allowed() {
        for global in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            let ip: IpAddr = global.parse().unwrap();
            assert!(allowed(ip, false), "{global}");
        }
        for local in ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"] {
            let ip: IpAddr = local.parse().unwrap();
            assert!(allowed(ip, true), "{local}");
            assert!(!allowed(ip, false), "{local}");
        }
        for never in [
            "10.0.0.1",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "192.0.0.8",
            "240.0.0.1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "2001::1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:a00:1::1",
        ] {
            let ip: IpAddr = never.parse().unwrap();
            assert!(!allowed(ip, true), "{never}");
        }
    }

    #[test]
    fn a_name_is_refused_when_any_address_of_it_is() {
        let at = |ip: &str| SocketAddr::new(ip.parse().unwrap(), 0);
        let intranet = checked("intranet.example", vec![at("10.0.0.1")], true);
        assert!(intranet.unwrap_err().contains("10.0.0.1"));
        let half = checked(
            "half.example",
            vec![at("8.8.8.8"), at("169.254.169.254")],
            true,
        );
        assert!(half.unwrap_err().contains("169.254.169.254"));
        assert!(checked("none.example", vec![], true).is_err());
        assert!(checked("public.example", vec![at("8.8.8.8")], false).is_ok());
        assert!(checked("localhost", vec![at("127.0.0.1")], false).is_err());
        assert!(checked("localhost", vec![at("127.0.0.1")], true).is_ok());
    }

    /// The document client connects only where the resolved addresses allow: `localhost`
    /// (loopback) is fetched from by the loopback issuer's client, not by the other one.
    #[tokio::test]
    async fn the_document_client_checks_the_addresses_a_name_resolves_to() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = axum::Router::new().fallback(|| async { "{}" });
        tokio::spawn(async move { axum::serve(listener, app).await });
        let url = format!("http://localhost:{port}/client.json");
        let on_loopback = client(true).unwrap().get(&url).send().await;
        assert_eq!(on_loopback.unwrap().status(), reqwest::StatusCode::OK);
        let global_only = client(false).unwrap().get(&url).send().await;
        let error = crate::issuer::fetch::error_chain(&global_only.unwrap_err());
        assert!(error.contains("not fetched from"), "{error}");
    }
}
