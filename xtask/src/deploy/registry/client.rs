//! A registry endpoint and how to speak to it: its base URL (plain HTTP for a loopback registry
//! given without a scheme, as Docker does), Basic credentials, and the HTTP client.

use std::time::Duration;

use anyhow::Context;
use aws_config::SdkConfig;
use reqwest::{Method, RequestBuilder, Url};

/// User name and password for HTTP Basic authentication.
#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ***)", self.username)
    }
}

/// A registry endpoint and how to authenticate to it.
#[derive(Debug)]
pub struct Registry {
    pub(super) base: Url,
    credentials: Option<Credentials>,
    /// The account's ECR (repositories are created on demand), as opposed to a given URL.
    pub(super) ecr: Option<SdkConfig>,
    client: reqwest::Client,
}

impl Registry {
    /// A registry at `endpoint` (see [`endpoint_url`] for one given without a scheme).
    pub fn new(endpoint: &str, credentials: Option<Credentials>) -> anyhow::Result<Self> {
        let base = endpoint_url(endpoint)?;
        let client = reqwest::Client::builder()
            .user_agent(concat!("rising-stars-xtask/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            .build()?;
        Ok(Self {
            base,
            credentials,
            ecr: None,
            client,
        })
    }

    /// `host[:port]`, as image references name the registry.
    pub fn host(&self) -> String {
        let host = self.base.host_str().unwrap_or_default();
        match self.base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    pub(super) fn url(&self, path: &str) -> anyhow::Result<Url> {
        Ok(self.base.join(path)?)
    }

    pub(super) fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let request = self.client.request(method, url);
        match &self.credentials {
            Some(credentials) => {
                request.basic_auth(&credentials.username, Some(&credentials.password))
            }
            None => request,
        }
    }
}

/// The registry's base URL. Without a scheme, a registry on loopback (`127.0.0.1:5000`,
/// `localhost:5000`, `[::1]:5000`) is spoken to in plain HTTP, as Docker does; any other in HTTPS.
pub(super) fn endpoint_url(endpoint: &str) -> anyhow::Result<Url> {
    let endpoint = endpoint.trim_end_matches('/');
    let parse =
        |text: &str| Url::parse(text).with_context(|| format!("not a registry URL: {endpoint}"));
    let url = if endpoint.contains("://") {
        parse(endpoint)?
    } else {
        let plain = parse(&format!("http://{endpoint}"))?;
        if is_loopback(&plain) {
            plain
        } else {
            parse(&format!("https://{endpoint}"))?
        }
    };
    anyhow::ensure!(url.host_str().is_some(), "not a registry URL: {endpoint}");
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_host_keeps_the_port() {
        let registry = Registry::new("http://127.0.0.1:5000/", None).unwrap();
        assert_eq!(registry.host(), "127.0.0.1:5000");
        let ecr = Registry::new("123456789012.dkr.ecr.us-east-1.amazonaws.com", None).unwrap();
        assert_eq!(ecr.host(), "123456789012.dkr.ecr.us-east-1.amazonaws.com");
        assert_eq!(ecr.base.scheme(), "https");
    }

    #[test]
    fn a_loopback_registry_without_a_scheme_is_plain_http_as_docker_does() {
        for (given, expected) in [
            ("127.0.0.1:5000", "http://127.0.0.1:5000/"),
            ("localhost:5000", "http://localhost:5000/"),
            ("[::1]:5000", "http://[::1]:5000/"),
            ("127.0.0.2:5000/", "http://127.0.0.2:5000/"),
            (
                "registry.example.com:5000",
                "https://registry.example.com:5000/",
            ),
            ("10.0.0.5:5000", "https://10.0.0.5:5000/"),
            ("https://127.0.0.1:5000", "https://127.0.0.1:5000/"),
        ] {
            let registry = Registry::new(given, None).unwrap();
            assert_eq!(registry.base.as_str(), expected, "{given}");
        }
        assert_eq!(
            Registry::new("127.0.0.1:5000", None).unwrap().host(),
            "127.0.0.1:5000"
        );
    }
}
