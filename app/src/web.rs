//! The web app at `/`: its static build (`WEB_DIR`), loaded into memory at start-up and served
//! with `index.html` for client routes, long-lived caching of hashed assets, gzip, and a strict
//! Content-Security-Policy. The API, docs, health and file routes are matched before this.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::Path;

use anyhow::Context;
use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, Request, Response};

use crate::http::problem::Problem;

/// Scripts, styles, fonts and data only from this origin; nothing inline. Clips and posters may
/// come from the storage's signed links (S3 in AWS), hence `https:` for media and images. The
/// browser connects to this origin, and (see [`WebApp::connecting_to`]) to the bucket its upload
/// parts go to.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data: blob: https:; media-src 'self' blob: https:; \
     connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'none'";

/// [`CONTENT_SECURITY_POLICY`] that also lets the page connect to `origin` (the bucket upload
/// parts are sent to), when there is one.
pub fn content_security_policy(origin: Option<&str>) -> String {
    match origin {
        Some(origin) => CONTENT_SECURITY_POLICY.replace(
            "connect-src 'self';",
            &format!("connect-src 'self' {origin};"),
        ),
        None => CONTENT_SECURITY_POLICY.to_owned(),
    }
}

/// Content-hashed build output: its name changes whenever its content does.
const IMMUTABLE_PREFIX: &str = "_app/immutable/";
const IMMUTABLE_CACHE: &str = "public, max-age=31536000, immutable";
/// Everything else is revalidated on each use (cheap: a 304 on an unchanged ETag).
const REVALIDATE: &str = "no-cache";
/// A static build is a few hundred kilobytes; past this, something else is in the directory.
const MAX_BUILD_BYTES: u64 = 64 * 1024 * 1024;
/// Smaller files are not worth compressing.
const MIN_GZIP_BYTES: usize = 512;

/// One file of the build.
struct Asset {
    content_type: String,
    body: Vec<u8>,
    /// The body gzipped, when that is smaller and the type compresses.
    gzip: Option<Vec<u8>>,
    etag: String,
    immutable: bool,
}

/// The whole build, by URL path without the leading `/`.
pub struct WebApp {
    assets: HashMap<String, Asset>,
    csp: String,
}

impl WebApp {
    /// Reads every file under `dir`. A missing directory is an error the caller may tolerate.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let index = dir.join("index.html");
        if !index.is_file() {
            anyhow::bail!(
                "{} has no index.html (build the web app: `npm ci && npm run build` in web/)",
                dir.display()
            );
        }
        let mut assets = HashMap::new();
        let mut total = 0;
        let mut pending = vec![dir.to_path_buf()];
        while let Some(folder) = pending.pop() {
            for entry in std::fs::read_dir(&folder)
                .with_context(|| format!("cannot list {}", folder.display()))?
            {
                let path = entry?.path();
                if path.is_dir() {
                    pending.push(path);
                    continue;
                }
                let body = std::fs::read(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                total += body.len() as u64;
                if total > MAX_BUILD_BYTES {
                    anyhow::bail!(
                        "{} holds more than {} MiB: is it a web build?",
                        dir.display(),
                        MAX_BUILD_BYTES / 1024 / 1024
                    );
                }
                let key = url_key(dir, &path)?;
                assets.insert(key.clone(), Asset::new(&key, &path, body)?);
            }
        }
        Ok(Self {
            assets,
            csp: CONTENT_SECURITY_POLICY.to_owned(),
        })
    }

    /// The same app, whose pages may also connect to `origin` (the storage's, when clients send
    /// upload parts straight to it).
    pub fn connecting_to(self, origin: Option<&str>) -> Self {
        Self {
            csp: content_security_policy(origin),
            ..self
        }
    }

    /// How many files the build has.
    pub fn len(&self) -> usize {
        self.assets.len()
    }

    /// Whether the build has no file (never, once loaded: it has `index.html`).
    pub fn is_empty(&self) -> bool {
        self.assets.is_empty()
    }

    fn answer(&self, request: &Request) -> Response {
        let path = request.uri().path().trim_start_matches('/');
        let asset = match self.assets.get(path) {
            Some(asset) => asset,
            None if path.is_empty() || is_client_route(path) => &self.assets["index.html"],
            None => {
                return Problem::new(StatusCode::NOT_FOUND, "not_found", "Recurso no encontrado.")
                    .into_response();
            }
        };
        asset.respond(request, &self.csp)
    }
}

/// A path the web app's router handles: no file extension in its last segment.
fn is_client_route(path: &str) -> bool {
    !path.starts_with(IMMUTABLE_PREFIX)
        && !path
            .rsplit('/')
            .next()
            .is_some_and(|segment| segment.contains('.'))
}

fn url_key(dir: &Path, path: &Path) -> anyhow::Result<String> {
    let relative = path.strip_prefix(dir)?;
    let parts: Option<Vec<&str>> = relative.iter().map(|part| part.to_str()).collect();
    parts
        .map(|parts| parts.join("/"))
        .with_context(|| format!("{} is not a UTF-8 path", path.display()))
}

impl Asset {
    fn new(key: &str, path: &Path, body: Vec<u8>) -> anyhow::Result<Self> {
        let mime = mime_guess::from_path(path).first_or_octet_stream();
        let textual = mime.type_() == "text"
            || matches!(mime.subtype().as_str(), "javascript" | "json" | "xml")
            || mime.suffix().is_some_and(|suffix| suffix == "xml");
        let content_type = if textual {
            format!("{mime}; charset=utf-8")
        } else {
            mime.to_string()
        };
        let gzip = if textual && body.len() >= MIN_GZIP_BYTES {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            encoder.write_all(&body)?;
            Some(encoder.finish()?).filter(|gzip| gzip.len() < body.len())
        } else {
            None
        };
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        body.hash(&mut hasher);
        Ok(Self {
            content_type,
            etag: format!("\"{:x}-{:x}\"", body.len(), hasher.finish()),
            immutable: key.starts_with(IMMUTABLE_PREFIX),
            body,
            gzip,
        })
    }

    fn respond(&self, request: &Request, csp: &str) -> Response {
        let mut response = Response::builder()
            .header(header::CONTENT_TYPE, self.content_type.as_str())
            .header(header::ETAG, self.etag.as_str())
            .header(
                header::CACHE_CONTROL,
                if self.immutable {
                    IMMUTABLE_CACHE
                } else {
                    REVALIDATE
                },
            )
            .header(header::VARY, "Accept-Encoding")
            .header("Content-Security-Policy", csp)
            .header("X-Content-Type-Options", "nosniff")
            .header("Referrer-Policy", "same-origin");
        let unchanged = request
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == self.etag));
        if unchanged {
            return response.status(StatusCode::NOT_MODIFIED).finish();
        }
        let body = match &self.gzip {
            Some(gzip) if accepts_gzip(request) => {
                response = response.header(header::CONTENT_ENCODING, "gzip");
                gzip
            }
            _ => &self.body,
        };
        let response = response.header(header::CONTENT_LENGTH, body.len());
        if request.method() == Method::HEAD {
            response.finish()
        } else {
            response.body(body.clone())
        }
    }
}

fn accepts_gzip(request: &Request) -> bool {
    request
        .headers()
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|param| {
                param
                    .trim()
                    .strip_prefix("q=")
                    .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// The endpoint serving the build (GET and HEAD only), or answering 404 when there is none.
pub struct WebEndpoint(pub Option<WebApp>);

impl Endpoint for WebEndpoint {
    type Output = Response;

    async fn call(&self, request: Request) -> poem::Result<Response> {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            let mut response = Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Método no permitido para este recurso.",
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return Ok(response);
        }
        Ok(match &self.0 {
            Some(web) => web.answer(&request),
            None => Problem::new(StatusCode::NOT_FOUND, "not_found", "Recurso no encontrado.")
                .into_response(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_routes_have_no_extension() {
        assert!(is_client_route("rankings"));
        assert!(is_client_route(
            "videos/0b6c1e9e-2f7d-4d7e-9a59-9d6f0d0f7c1a"
        ));
        assert!(!is_client_route("favicon.png"));
        assert!(!is_client_route("_app/immutable/chunks/missing"));
        assert!(!is_client_route("_app/version.json"));
    }
}
