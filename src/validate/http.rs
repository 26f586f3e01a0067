//! The HTTP layer: one HTTPS request per call, with rustls and the bundled Mozilla roots (no
//! system store, no system packages), a per-request timeout, no redirect followed (a 3xx comes
//! back as an answer and `answer` names where it pointed), a bounded answer, and the proxy
//! variables honoured: `HTTPS_PROXY`/`https_proxy`, else `ALL_PROXY`/`all_proxy` (an
//! `http://` proxy, tunnelled with CONNECT), except for hosts `NO_PROXY`/`no_proxy` names.
//! Nothing here is built unless `--validate` is given, so a scan without it opens no socket.
//!
//! In test builds only, a `TestRoute` sends every request to a local mock server instead of
//! the provider (same path, headers and body): no config or environment can do that in a
//! release binary.

use std::io::Read;
use std::time::Duration;

use ureq::Agent;

use super::answer::Answer;
use super::request::PreparedRequest;

/// Largest answer read; the rest is not needed to judge a key.
const MAX_ANSWER: u64 = 1 << 20;

/// Sends prepared requests.
pub trait Transport: Sync {
    /// The answer to `request`, or why there is none (network, TLS, proxy, timeout).
    fn send(&self, request: &PreparedRequest) -> Result<Answer, String>;
}

/// The proxy settings read from the environment once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyEnv {
    /// The proxy URL, when one is set.
    pub proxy: Option<String>,
    /// The `NO_PROXY` list as given.
    pub no_proxy: String,
}

impl ProxyEnv {
    /// Reads `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` (either case; upper case first).
    pub fn from_env() -> ProxyEnv {
        let var = |names: &[&str]| {
            names
                .iter()
                .filter_map(|n| std::env::var(n).ok())
                .find(|v| !v.trim().is_empty())
        };
        ProxyEnv {
            proxy: var(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]),
            no_proxy: var(&["NO_PROXY", "no_proxy"]).unwrap_or_default(),
        }
    }

    /// Whether a request to `host` goes through the proxy.
    pub fn proxies(&self, host: &str) -> bool {
        self.proxy.is_some() && !no_proxy_matches(&self.no_proxy, host)
    }
}

/// Whether the `NO_PROXY` list `list` names `host`: `*` names every host; an entry names
/// itself and its subdomains (`example.com` and `.example.com` both name `api.example.com`);
/// a port on an entry is ignored (validators use 443 only).
pub fn no_proxy_matches(list: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    list.split([',', ' '])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = entry.rsplit_once(':').map_or(entry, |(h, port)| {
                if port.chars().all(|c| c.is_ascii_digit()) {
                    h
                } else {
                    entry
                }
            });
            let entry = entry
                .trim_start_matches('*')
                .trim_start_matches('.')
                .trim_end_matches('.')
                .to_ascii_lowercase();
            !entry.is_empty()
                && (host == entry
                    || (host.ends_with(&entry) && host[..host.len() - entry.len()].ends_with('.')))
        })
}

/// Where test builds send requests instead of the provider.
#[cfg(test)]
#[derive(Debug, Clone)]
pub struct TestRoute {
    /// The mock server's port on localhost.
    pub port: u16,
    /// Its certificate (DER), the only root trusted.
    pub root: Vec<u8>,
}

/// The real transport.
pub struct Http {
    direct: Agent,
    proxied: Option<Agent>,
    env: ProxyEnv,
    #[cfg(test)]
    route: Option<TestRoute>,
}

impl Http {
    /// A transport with `timeout` per request and the proxy settings of `env`. A proxy URL
    /// that is not `http://` (or that ureq cannot parse) is an error.
    pub fn new(timeout: Duration, env: ProxyEnv) -> Result<Http, String> {
        let proxied = match &env.proxy {
            Some(url) => {
                let lower = url.to_ascii_lowercase();
                if !lower.starts_with("http://") && lower.contains("://") {
                    return Err(format!(
                        "proxy {url:?}: only http:// proxies (tunnelling HTTPS with CONNECT) are supported"
                    ));
                }
                let proxy = ureq::Proxy::new(url).map_err(|e| format!("proxy {url:?}: {e}"))?;
                Some(agent(timeout, Some(proxy), None))
            }
            None => None,
        };
        Ok(Http {
            direct: agent(timeout, None, None),
            proxied,
            env,
            #[cfg(test)]
            route: None,
        })
    }

    /// A transport that sends every request to the mock server `route` names.
    #[cfg(test)]
    pub fn to_mock(timeout: Duration, route: TestRoute) -> Http {
        let root = ureq::tls::Certificate::from_der(&route.root).to_owned();
        Http {
            direct: agent(timeout, None, Some(root)),
            proxied: None,
            env: ProxyEnv::default(),
            route: Some(route),
        }
    }

    /// The URL actually requested: the provider's, or in test builds the mock's.
    fn target(&self, url: &str) -> String {
        #[cfg(test)]
        if let Some(route) = &self.route {
            let rest = url.strip_prefix("https://").unwrap_or(url);
            let path = rest.find(['/', '?']).map_or("/", |i| &rest[i..]);
            return format!("https://localhost:{}{path}", route.port);
        }
        url.to_string()
    }
}

fn agent(
    timeout: Duration,
    proxy: Option<ureq::Proxy>,
    root: Option<ureq::tls::Certificate<'static>>,
) -> Agent {
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(root) = root {
        tls = tls.root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![
            root,
        ])));
    }
    Agent::config_builder()
        .https_only(true)
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .proxy(proxy)
        .user_agent(concat!(
            "keyhound/",
            env!("CARGO_PKG_VERSION"),
            " (secret validation)"
        ))
        .tls_config(tls.build())
        .build()
        .into()
}

impl Transport for Http {
    fn send(&self, request: &PreparedRequest) -> Result<Answer, String> {
        let host = super::request::https_host(&request.url)
            .ok_or("the request is not to an https:// host")?;
        let agent = match &self.proxied {
            Some(proxied) if self.env.proxies(&host) => proxied,
            _ => &self.direct,
        };
        let mut builder = ureq::http::Request::builder()
            .method(request.method)
            .uri(self.target(&request.url));
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let bad = |e: ureq::http::Error| format!("bad request: {e}");
        // No body at all (not an empty one) when the validator declares none.
        let mut response = match &request.body {
            Some(body) => agent.run(builder.body(body.clone()).map_err(bad)?),
            None => agent.run(builder.body(()).map_err(bad)?),
        }
        .map_err(describe)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        if request.method != "HEAD" {
            response
                .body_mut()
                .as_reader()
                .take(MAX_ANSWER)
                .read_to_end(&mut body)
                .map_err(|e| format!("reading the answer: {e}"))?;
        }
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

/// A network error in words.
fn describe(e: ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "timed out".into(),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectProxyFailed(m) => format!("the proxy refused the tunnel: {m}"),
        other => format!("network error: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_names_hosts_and_their_subdomains() {
        for (list, host, expected) in [
            ("", "api.github.com", false),
            ("*", "api.github.com", true),
            ("github.com", "api.github.com", true),
            (".github.com", "api.github.com", true),
            ("*.github.com", "api.github.com", true),
            ("github.com:443", "api.github.com", true),
            ("localhost, api.github.com", "api.github.com", true),
            ("hub.com", "api.github.com", false),
            ("api.github.com.evil", "api.github.com", false),
        ] {
            assert_eq!(no_proxy_matches(list, host), expected, "{list:?} {host}");
        }
    }

    #[test]
    fn proxy_only_when_set_and_not_excluded() {
        let env = ProxyEnv {
            proxy: Some("http://127.0.0.1:9".into()),
            no_proxy: "slack.com".into(),
        };
        assert!(env.proxies("api.github.com"));
        assert!(!env.proxies("slack.com"));
        assert!(!ProxyEnv::default().proxies("api.github.com"));
    }
}
