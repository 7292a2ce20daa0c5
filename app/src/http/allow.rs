//! Every 405 answer names the methods its resource takes (`Allow`, RFC 9110), read from the
//! OpenAPI document so the list cannot drift from the routes.

use poem::http::{HeaderValue, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};

/// The documented paths (split on `/`, `{…}` segments match anything) and their methods.
#[derive(Debug, Clone)]
pub struct AllowedMethods {
    routes: Vec<(Vec<String>, HeaderValue)>,
}

impl AllowedMethods {
    /// Reads the `paths` of an OpenAPI document.
    pub fn from_document(document: &str) -> Self {
        let document: serde_json::Value = serde_json::from_str(document).unwrap_or_default();
        let mut routes = Vec::new();
        for (path, item) in document["paths"].as_object().into_iter().flatten() {
            let mut methods: Vec<String> = item
                .as_object()
                .into_iter()
                .flatten()
                .map(|(method, _)| method.to_ascii_uppercase())
                .collect();
            methods.sort();
            if let Ok(value) = HeaderValue::from_str(&methods.join(", ")) {
                routes.push((segments(path), value));
            }
        }
        Self { routes }
    }

    /// The `Allow` value of a request path, if a documented path matches it. Where several do, the
    /// one with the most literal segments wins, as in the router (`/api/videos/uploads` before
    /// `/api/videos/{video_id}`).
    pub fn for_path(&self, path: &str) -> Option<&HeaderValue> {
        let wanted = segments(path);
        self.routes
            .iter()
            .filter(|(pattern, _)| {
                pattern.len() == wanted.len()
                    && pattern
                        .iter()
                        .zip(&wanted)
                        .all(|(expected, got)| expected.starts_with('{') || expected == got)
            })
            .max_by_key(|(pattern, _)| pattern.iter().filter(|s| !s.starts_with('{')).count())
            .map(|(_, methods)| methods)
    }
}

fn segments(path: &str) -> Vec<String> {
    path.trim_matches('/')
        .split('/')
        .map(str::to_owned)
        .collect()
}

/// Adds `Allow` to a 405 that lacks it.
pub async fn add_allow_header<E: Endpoint>(
    next: E,
    request: Request,
    allowed: &AllowedMethods,
) -> poem::Result<Response> {
    let path = request.uri().path().to_owned();
    let mut response = match next.call(request).await {
        Ok(response) => response.into_response(),
        Err(error) => error.into_response(),
    };
    if response.status() == StatusCode::METHOD_NOT_ALLOWED
        && !response.headers().contains_key(header::ALLOW)
        && let Some(methods) = allowed.for_path(&path)
    {
        response
            .headers_mut()
            .insert(header::ALLOW, methods.clone());
    }
    Ok(response)
}
