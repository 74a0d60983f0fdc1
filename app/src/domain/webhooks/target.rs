//! Which URLs webhooks may be sent to. The operator's own endpoints may point anywhere (their services
//! often sit on a private network). Customers' endpoints are a server-side request forgery risk, so they
//! must be `https` and must not reach loopback, private, link-local (cloud metadata), shared, multicast or
//! otherwise special addresses: checked when the endpoint is registered, after resolving its name, and
//! again when each delivery connects ([`GuardedResolver`]), so a name that later resolves elsewhere is
//! caught too. `LATCHKEY_WEBHOOKS_ALLOW_PRIVATE=true` lifts both rules, for testing.

use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::sync::LazyLock;
use url::Url;

/// Longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Whether customers' endpoints are held to the rules above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TargetPolicy {
    /// Allow `http` and any address (for testing against a local receiver).
    pub allow_private: bool,
}

/// Who gave the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Giver {
    /// The operator: any `http` or `https` URL.
    Operator,
    /// A customer: held to the policy.
    Customer,
}

/// Why a URL was refused, in words for whoever gave it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TargetError(pub String);

/// Address ranges customers' endpoints may not reach.
static FORBIDDEN: LazyLock<Vec<IpNet>> = LazyLock::new(|| {
    [
        "0.0.0.0/8",       // "this" network
        "10.0.0.0/8",      // private
        "100.64.0.0/10",   // shared (carrier-grade NAT; also Alibaba's metadata service)
        "127.0.0.0/8",     // loopback
        "169.254.0.0/16",  // link-local, where cloud metadata services answer
        "172.16.0.0/12",   // private
        "192.0.0.0/24",    // protocol assignments
        "192.0.2.0/24",    // documentation
        "192.88.99.0/24",  // 6to4 relay
        "192.168.0.0/16",  // private
        "198.18.0.0/15",   // benchmarking
        "198.51.100.0/24", // documentation
        "203.0.113.0/24",  // documentation
        "224.0.0.0/4",     // multicast
        "240.0.0.0/4",     // reserved, and broadcast
        "::/128",          // unspecified
        "::1/128",         // loopback
        "64:ff9b::/96",    // NAT64: reaches IPv4 addresses, checked as such below
        "100::/64",        // discard
        "2001:db8::/32",   // documentation
        "fc00::/7",        // unique local (AWS's IPv6 metadata service is fd00:ec2::254)
        "fe80::/10",       // link-local
        "ff00::/8",        // multicast
    ]
    .iter()
    .filter_map(|net| net.parse().ok())
    .collect()
});

/// Whether a customer's endpoint may not reach `ip`.
pub fn is_forbidden(ip: IpAddr) -> bool {
    let ip = match ip {
        // An IPv4 address written as IPv6 is the IPv4 address.
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    FORBIDDEN.iter().any(|net| net.contains(&ip))
}

/// Checks the form of `text` as an endpoint URL given by `giver` (no name resolution).
pub fn check_form(text: &str, giver: Giver, policy: TargetPolicy) -> Result<Url, TargetError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(TargetError("Give the URL deliveries are posted to.".into()));
    }
    if text.len() > MAX_URL_LEN {
        return Err(TargetError(format!("The URL is longer than {MAX_URL_LEN} characters.")));
    }
    let url = Url::parse(text).map_err(|err| TargetError(format!("This is not a URL ({err}).")))?;
    let strict = giver == Giver::Customer && !policy.allow_private;
    match url.scheme() {
        "https" => {}
        "http" if !strict => {}
        "http" => return Err(TargetError("Webhook URLs must use https.".into())),
        other => return Err(TargetError(format!("Webhook URLs use https, not {other}."))),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TargetError("Put no user name or password in the URL; deliveries are signed instead.".into()));
    }
    if url.fragment().is_some() {
        return Err(TargetError("A webhook URL has no #fragment.".into()));
    }
    let Some(host) = url.host() else {
        return Err(TargetError("The URL has no host.".into()));
    };
    // The URL standard reads `https://4` or `https://0x7f.1` as IPv4 addresses; an address is only taken
    // written out in full, so that what is stored is what was given.
    if let url::Host::Ipv4(v4) = host
        && written_host(text) != v4.to_string()
    {
        return Err(TargetError(format!("Write the IPv4 address in full, as {v4}.")));
    }
    if strict {
        let literal = match host {
            url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
            url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
            url::Host::Domain(name) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if name == "localhost" || name.ends_with(".localhost") || name.ends_with(".internal") {
                    return Err(refused_name(&name));
                }
                None
            }
        };
        if let Some(ip) = literal.filter(|ip| is_forbidden(*ip)) {
            return Err(refused_address(ip));
        }
    }
    Ok(url)
}

/// The host of `text` as written: between `://` (and any user information) and the port, path or query.
fn written_host(text: &str) -> &str {
    let rest = text.split_once("://").map_or(text, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    host.split(':').next().unwrap_or_default()
}

fn refused_name(name: &str) -> TargetError {
    TargetError(format!("{name} is a local name; webhooks go to public addresses only."))
}

fn refused_address(ip: IpAddr) -> TargetError {
    TargetError(format!(
        "{ip} is a loopback, private, link-local or reserved address; webhooks go to public addresses only."
    ))
}

/// Checks `text` fully: its form and, for a customer held to the rules, every address its host resolves to.
pub async fn check(text: &str, giver: Giver, policy: TargetPolicy) -> Result<Url, TargetError> {
    let url = check_form(text, giver, policy)?;
    if giver == Giver::Customer
        && !policy.allow_private
        && let Some(url::Host::Domain(name)) = url.host()
    {
        let port = url.port_or_known_default().unwrap_or(443);
        let addresses = resolve_public(name, port).await.map_err(|err| TargetError(format!("{name}: {err}")))?;
        if addresses.is_empty() {
            return Err(TargetError(format!("{name} has no address.")));
        }
    }
    Ok(url)
}

/// Resolves `name`, refusing it when any of its addresses is forbidden (one bad address is enough: which
/// one a connection uses is not ours to choose).
pub async fn resolve_public(name: &str, port: u16) -> Result<Vec<SocketAddr>, TargetError> {
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
        .await
        .map_err(|_| TargetError("the name does not resolve".into()))?
        .collect();
    if let Some(bad) = addresses.iter().find(|address| is_forbidden(address.ip())) {
        return Err(refused_address(bad.ip()));
    }
    Ok(addresses)
}

/// reqwest's resolver for customers' endpoints: resolves as usual, and refuses a name when any address it
/// gives is forbidden. It runs for every new connection, so the check holds at connect time.
#[derive(Debug, Clone, Copy, Default)]
pub struct GuardedResolver;

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let addresses =
                resolve_public(&name, 0).await.map_err(|err| -> Box<dyn std::error::Error + Send + Sync> {
                    Box::new(TargetError(format!("{name}: {err}")))
                })?;
            let addresses: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(url: &str) -> Result<Url, TargetError> {
        check_form(url, Giver::Customer, TargetPolicy::default())
    }

    #[test]
    fn customers_may_not_name_inner_addresses() {
        for url in [
            "https://127.0.0.1/hook",
            "https://10.1.2.3/hook",
            "https://172.20.0.1/hook",
            "https://192.168.1.1/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://100.100.100.200/",
            "https://[::1]/hook",
            "https://[::ffff:127.0.0.1]/hook",
            "https://[fd00:ec2::254]/",
            "https://[fe80::1]/",
            "https://0.0.0.0/",
            "https://localhost/hook",
            "https://metadata.google.internal/",
        ] {
            assert!(customer(url).is_err(), "{url} was accepted");
        }
    }

    #[test]
    fn customers_use_https_without_credentials() {
        assert!(customer("https://hooks.example.com/latchkey").is_ok());
        assert!(customer("https://93.184.215.14:8443/x").is_ok());
        assert!(customer("http://hooks.example.com/latchkey").is_err());
        assert!(customer("ftp://hooks.example.com/").is_err());
        assert!(customer("https://user:pw@hooks.example.com/").is_err());
        assert!(customer("not a url").is_err());
        assert!(customer("").is_err());
        assert!(customer(&format!("https://example.com/{}", "a".repeat(MAX_URL_LEN))).is_err());
    }

    #[test]
    fn an_ipv4_address_is_taken_only_written_in_full() {
        for url in ["https://4", "https://0x5d.184.215.14/", "https://93.12121294/", "https://93.184.215.014/"] {
            let refused = check_form(url, Giver::Operator, TargetPolicy::default()).expect_err(url);
            assert!(refused.0.contains("in full"), "{url}: {}", refused.0);
        }
        assert!(check_form("https://93.184.215.14:8443/x", Giver::Operator, TargetPolicy::default()).is_ok());
        assert!(check_form("https://a@93.184.215.14/x", Giver::Operator, TargetPolicy::default()).is_err());
    }

    #[test]
    fn the_operator_and_the_testing_switch_may_reach_local_receivers() {
        assert!(check_form("http://127.0.0.1:9000/hook", Giver::Operator, TargetPolicy::default()).is_ok());
        let open = TargetPolicy { allow_private: true };
        assert!(check_form("http://127.0.0.1:9000/hook", Giver::Customer, open).is_ok());
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_for_customers() {
        let refused = check("https://localhost./x", Giver::Customer, TargetPolicy::default()).await;
        assert!(refused.is_err());
        assert!(resolve_public("localhost", 443).await.is_err());
    }
}
