//! Request context: a request id on every log line of a request (and in the `X-Request-Id`
//! response header), and one summary line per request. Query strings and bodies are never logged:
//! they may hold passwords or signed-link signatures.

use std::time::Instant;

use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;
use uuid::Uuid;

const REQUEST_ID: &str = "x-request-id";

/// A caller-supplied id is kept when it is short and plain; otherwise a new one is made.
fn request_id(request: &Request) -> String {
    request
        .header(REQUEST_ID)
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map_or_else(|| Uuid::new_v4().to_string(), str::to_owned)
}

pub async fn request_context<E: Endpoint>(next: E, request: Request) -> poem::Result<Response> {
    let id = request_id(&request);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    async move {
        let started = Instant::now();
        let mut response = match next.call(request).await {
            Ok(response) => response.into_response(),
            Err(error) => error.into_response(),
        };
        let status = response.status().as_u16();
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        if status >= 500 {
            tracing::error!(status, elapsed_ms, "request failed");
        } else {
            tracing::info!(status, elapsed_ms, "request");
        }
        if let Ok(value) = HeaderValue::from_str(&id) {
            response.headers_mut().insert(REQUEST_ID, value);
        }
        Ok(response)
    }
    .instrument(span)
    .await
}
