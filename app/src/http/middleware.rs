//! Request context: a request id on every log line of a request (and in the `X-Request-Id`
//! response header), and one summary line per request. Query strings and bodies are never logged:
//! they may hold passwords or signed-link signatures. And early answers that reach the client:
//! an unread request body is drained before the answer goes out.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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

/// The most of an unread request body read and thrown away after the answer is ready.
const DRAIN_MAX_BYTES: u64 = crate::upload::MAX_UPLOAD_BYTES + 1024 * 1024;
/// The longest a client may take to finish sending a body that was refused.
const DRAIN_MAX_TIME: std::time::Duration = std::time::Duration::from_secs(30);

/// A request body that says whether anyone read it, and to the end. The body itself stays in a
/// slot the middleware can reach after the handler has let go of it.
struct WatchedBody {
    body: Arc<Mutex<Option<BodyStream>>>,
    progress: Arc<BodyProgress>,
}

type BodyStream = futures_util::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>;

#[derive(Default)]
struct BodyProgress {
    polled: AtomicBool,
    finished: AtomicBool,
    /// Bytes the handler read.
    read: AtomicU64,
}

impl futures_util::Stream for WatchedBody {
    type Item = std::io::Result<bytes::Bytes>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.progress.polled.store(true, Ordering::Relaxed);
        let mut slot = self
            .body
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(stream) = slot.as_mut() else {
            return std::task::Poll::Ready(None);
        };
        let next = stream.as_mut().poll_next(context);
        match &next {
            std::task::Poll::Ready(None) => self.progress.finished.store(true, Ordering::Relaxed),
            std::task::Poll::Ready(Some(Ok(chunk))) => {
                self.progress
                    .read
                    .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
            _ => {}
        }
        next
    }
}

/// Answers that come before the body is read (a bad token, a declared size over the limit, a full
/// instance) still reach the client: the rest of the body is read and discarded before the answer
/// goes out (at most [`DRAIN_MAX_BYTES`] within [`DRAIN_MAX_TIME`]; past that, or when the
/// declared length says the rest is longer, the connection closes instead). Without this the server closes the connection while the client is still sending, and
/// many clients (Node's `http`, browsers) report a broken pipe instead of the answer.
///
/// A client that asked `Expect: 100-continue` and was never told to go on has sent nothing more:
/// there is nothing to drain.
pub async fn drain_unread_body<E: Endpoint>(
    next: E,
    mut request: Request,
) -> poem::Result<Response> {
    let declared = request
        .header("content-length")
        .and_then(|length| length.parse::<u64>().ok());
    let chunked = request
        .header("transfer-encoding")
        .is_some_and(|coding| coding.to_ascii_lowercase().contains("chunked"));
    if declared.unwrap_or(0) == 0 && !chunked {
        return next.call(request).await.map(IntoResponse::into_response);
    }
    let expects_continue = request
        .header("expect")
        .is_some_and(|expect| expect.eq_ignore_ascii_case("100-continue"));
    let body = Arc::new(Mutex::new(Some(futures_util::StreamExt::boxed(
        request.take_body().into_bytes_stream(),
    ))));
    let progress = Arc::new(BodyProgress::default());
    request.set_body(poem::Body::from_bytes_stream(WatchedBody {
        body: Arc::clone(&body),
        progress: Arc::clone(&progress),
    }));
    let mut response = match next.call(request).await {
        Ok(response) => response.into_response(),
        Err(error) => error.into_response(),
    };
    // A client waiting for "100 Continue" that never came has sent nothing more.
    let client_sent_more = !expects_continue || progress.polled.load(Ordering::Relaxed);
    let unread = !progress.finished.load(Ordering::Relaxed) && client_sent_more;
    let rest = body
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    // A declared rest beyond the drain budget would be read in vain: close at once instead.
    let rest_too_long = declared.is_some_and(|total| {
        total.saturating_sub(progress.read.load(Ordering::Relaxed)) > DRAIN_MAX_BYTES
    });
    let delivered = match (unread, rest) {
        (false, _) | (true, None) => true,
        (true, Some(_)) if rest_too_long => false,
        (true, Some(mut rest)) => tokio::time::timeout(DRAIN_MAX_TIME, async {
            let mut discarded: u64 = 0;
            while let Some(Ok(chunk)) = futures_util::StreamExt::next(&mut rest).await {
                discarded += chunk.len() as u64;
                if discarded > DRAIN_MAX_BYTES {
                    return false;
                }
            }
            true
        })
        .await
        .unwrap_or(false),
    };
    if !delivered {
        response.headers_mut().insert(
            poem::http::header::CONNECTION,
            HeaderValue::from_static("close"),
        );
    }
    Ok(response)
}

/// Adds `Strict-Transport-Security` to answers the load balancer received over HTTPS
/// (`X-Forwarded-Proto: https`, trusted with `TRUST_FORWARDED_FOR`), so browsers keep to HTTPS.
/// Behind CloudFront the distribution's response headers policy adds it instead.
#[derive(Debug, Clone, Copy)]
pub struct Hsts {
    pub trust_forwarded_proto: bool,
}

impl<E: Endpoint> poem::Middleware<E> for Hsts {
    type Output = HstsEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        HstsEndpoint {
            inner,
            trust_forwarded_proto: self.trust_forwarded_proto,
        }
    }
}

pub struct HstsEndpoint<E> {
    inner: E,
    trust_forwarded_proto: bool,
}

impl<E: Endpoint> Endpoint for HstsEndpoint<E> {
    type Output = Response;

    async fn call(&self, request: Request) -> poem::Result<Response> {
        let over_https = self.trust_forwarded_proto
            && request
                .header("x-forwarded-proto")
                .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
        let mut response = self.inner.call(request).await?.into_response();
        if over_https {
            response.headers_mut().insert(
                poem::http::header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000"),
            );
        }
        Ok(response)
    }
}
