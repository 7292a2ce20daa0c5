//! The API client generated from `docs/openapi.json` (see `build.rs`) and what it runs on:
//! every answer is checked against the document before a test sees it.

use std::marker::PhantomData;
use std::path::PathBuf;

use anyhow::{Context, bail};
use serde::de::DeserializeOwned;

include!(concat!(env!("OUT_DIR"), "/api.rs"));

/// The API as a client application sees it, with one method per documented operation.
#[derive(Debug, Clone)]
pub struct Client {
    pub base_url: String,
    pub http: reqwest::Client,
}

/// A value of a multipart form part.
#[derive(Debug, Clone)]
pub enum FormValue {
    Text(String),
    /// A file streamed from disk as `clip.mp4`, `video/mp4`.
    File(PathBuf),
}

/// What the document says one response must look like.
struct Documented {
    operation: &'static str,
    content_type: Option<&'static str>,
    headers: &'static [&'static str],
    body: Option<fn(&serde_json::Value) -> anyhow::Result<()>>,
}

fn parses<T: DeserializeOwned>(body: &serde_json::Value) -> anyhow::Result<()> {
    T::deserialize(body)
        .map(drop)
        .with_context(|| format!("the body does not match the documented schema: {body}"))
}

async fn form_body(parts: Vec<(String, FormValue)>) -> anyhow::Result<reqwest::multipart::Form> {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in parts {
        form = match value {
            FormValue::Text(text) => form.text(name, text),
            FormValue::File(path) => {
                let file = tokio::fs::File::open(&path)
                    .await
                    .with_context(|| format!("cannot open {}", path.display()))?;
                let length = file.metadata().await?.len();
                let part = reqwest::multipart::Part::stream_with_length(file, length)
                    .file_name("clip.mp4")
                    .mime_str("video/mp4")?;
                form.part(name, part)
            }
        };
    }
    Ok(form)
}

/// An answer that matched the document, reduced to what the tests check. `T` is the documented
/// success body; `ok()` reads it.
pub struct Reply<T> {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: serde_json::Value,
    success: PhantomData<T>,
}

impl<T> std::fmt::Debug for Reply<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &self.body)
            .finish()
    }
}

impl<T: DeserializeOwned> Reply<T> {
    /// The success body, typed; an error for any other answer.
    pub fn ok(&self) -> anyhow::Result<T> {
        anyhow::ensure!(
            (200..300).contains(&self.status),
            "expected a success, got {self:?}"
        );
        Ok(T::deserialize(&self.body)?)
    }
}

impl<T> Reply<T> {
    /// The problem `code` of an error answer.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

impl Client {
    pub fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// A client for the same API sending these headers with every request: optional headers the
    /// typed methods leave out (the `Altcha` proof of work), or the address CloudFront would
    /// report (`CloudFront-Viewer-Address`).
    pub fn with_headers(&self, pairs: &[(&'static str, &str)]) -> anyhow::Result<Self> {
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, reqwest::header::HeaderValue::from_str(value)?);
        }
        Ok(Self {
            base_url: self.base_url.clone(),
            http: reqwest::Client::builder()
                .default_headers(headers)
                .build()?,
        })
    }

    /// An absolute URL for a path (and query) written by hand.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The URL of a path made of segments, each percent-encoded.
    fn url_of(&self, segments: &[&str]) -> reqwest::Url {
        let mut url = reqwest::Url::parse(&self.base_url).unwrap_or_else(|_| {
            reqwest::Url::parse("http://invalid.base.url").unwrap_or_else(|_| unreachable!())
        });
        if let Ok(mut path) = url.path_segments_mut() {
            path.clear().extend(segments);
        }
        url
    }

    /// Sends a request written by hand (for input the typed methods cannot express: malformed
    /// JSON, wrong types, hand-made query strings). The answer is still checked against the
    /// document.
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<RawBody>,
    ) -> anyhow::Result<Reply<serde_json::Value>> {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request = match body {
            None => request,
            Some(RawBody::Json(value)) => request.json(&value),
            Some(RawBody::Bytes {
                content_type,
                bytes,
            }) => request
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(bytes),
        };
        self.execute(request).await
    }

    async fn execute<T>(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Reply<T>> {
        let request = request.build()?;
        let method = request.method().as_str().to_owned();
        let path = request.url().path().to_owned();
        let response = self.http.execute(request).await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?;
        let body = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
            })
        };
        let reply = Reply {
            status,
            headers,
            body,
            success: PhantomData,
        };
        let Some(documented) = documented(&method, &path, status) else {
            bail!(
                "{method} {path} answered {status}, which docs/openapi.json does not document: {reply:?}"
            );
        };
        let operation = documented.operation;
        if let Some(expected) = documented.content_type {
            let actual = reply.header("content-type").unwrap_or_default();
            anyhow::ensure!(
                actual == expected,
                "{operation} {status}: content type {actual:?}, documented {expected:?}"
            );
        }
        for header in documented.headers {
            anyhow::ensure!(
                reply.headers.contains_key(*header),
                "{operation} {status}: the documented header {header} is missing"
            );
        }
        if let Some(parses) = documented.body {
            parses(&reply.body).with_context(|| format!("{operation} {status}"))?;
        }
        Ok(reply)
    }
}

/// A hand-made request body for [`Client::raw`].
#[derive(Debug)]
pub enum RawBody {
    Json(serde_json::Value),
    Bytes {
        content_type: &'static str,
        bytes: Vec<u8>,
    },
}
