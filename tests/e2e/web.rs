//! The web app's build as the API serves it at `/`: files, client routes, caching, gzip, CSP,
//! and the paths it must never shadow.

use std::collections::HashMap;

use end_to_end::{RunningApi, run_to_exit};
use reqwest::header;

use crate::{local_backends, s3_and_sqs_env};

/// A build laid out as SvelteKit's static adapter lays it out.
fn fake_build() -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    let immutable = dir.path().join("_app/immutable/entry");
    std::fs::create_dir_all(&immutable)?;
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><html><head><script src=\"/_app/immutable/entry/boot.js\"></script></head><body></body></html>",
    )?;
    std::fs::write(
        immutable.join("boot.js"),
        "console.log('boot');\n".repeat(200),
    )?;
    std::fs::write(dir.path().join("robots.txt"), "User-agent: *\n")?;
    Ok(dir)
}

async fn api_with_build() -> anyhow::Result<(RunningApi, tempfile::TempDir)> {
    let backends = local_backends().await?;
    let build = fake_build()?;
    let mut env: HashMap<String, String> = backends.env.clone();
    env.insert("WEB_DIR".to_owned(), build.path().display().to_string());
    Ok((RunningApi::start(&env).await?, build))
}

/// With S3 storage the pages send upload parts straight to the bucket: its origin, and only it,
/// joins `connect-src`; on local storage the parts come to this origin alone.
#[tokio::test]
async fn the_csp_lets_pages_reach_the_bucket_of_upload_parts_and_nothing_else() -> anyhow::Result<()>
{
    let backends = local_backends().await?;
    let build = fake_build()?;
    let mut env = s3_and_sqs_env(&backends).await?;
    env.insert("WEB_DIR".to_owned(), build.path().display().to_string());
    let api = RunningApi::start(&env).await?;
    let page = reqwest::get(api.url("/")).await?;
    let csp = page.headers()["content-security-policy"]
        .to_str()?
        .to_owned();
    let endpoint = url::Url::parse(&std::env::var("AWS_ENDPOINT_URL")?)?;
    let origin = endpoint.origin().ascii_serialization();
    assert!(
        csp.contains(&format!("connect-src 'self' {origin};")),
        "{csp}"
    );
    let (local, _build) = api_with_build().await?;
    let page = reqwest::get(local.url("/")).await?;
    let csp = page.headers()["content-security-policy"]
        .to_str()?
        .to_owned();
    assert!(csp.contains("connect-src 'self';"), "{csp}");
    Ok(())
}

#[tokio::test]
async fn the_build_is_served_with_client_routes_caching_and_csp() -> anyhow::Result<()> {
    let (api, _build) = api_with_build().await?;
    let http = reqwest::Client::builder().no_gzip().build()?;
    let get = |path: &str| http.get(api.url(path)).send();

    for path in [
        "/",
        "/rankings",
        "/videos/3f1c0a52-8a0e-4c1e-9d7a-1a2b3c4d5e6f",
    ] {
        let page = get(path).await?;
        assert_eq!(page.status(), 200, "{path}");
        let headers = page.headers().clone();
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache", "{path}");
        let csp = headers["content-security-policy"].to_str()?;
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(page.text().await?.starts_with("<!doctype html>"), "{path}");
    }

    let asset = http
        .get(api.url("/_app/immutable/entry/boot.js"))
        .header(header::ACCEPT_ENCODING, "gzip, br")
        .send()
        .await?;
    assert_eq!(asset.status(), 200);
    let headers = asset.headers().clone();
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()?
            .contains("javascript")
    );
    let etag = headers[header::ETAG].clone();
    let again = http
        .get(api.url("/_app/immutable/entry/boot.js"))
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await?;
    assert_eq!(again.status(), 304);

    let plain = get("/robots.txt").await?;
    assert_eq!(plain.headers().get(header::CONTENT_ENCODING), None);
    assert_eq!(plain.text().await?, "User-agent: *\n");
    Ok(())
}

#[tokio::test]
async fn missing_files_and_other_routes_are_not_the_web_app() -> anyhow::Result<()> {
    let (api, _build) = api_with_build().await?;
    let http = reqwest::Client::new();
    for path in [
        "/_app/immutable/entry/missing.js",
        "/favicon.png",
        "/api/nothing-here",
    ] {
        let answer = http.get(api.url(path)).send().await?;
        assert_eq!(answer.status(), 404, "{path}");
        assert_eq!(
            answer.headers()[header::CONTENT_TYPE],
            "application/problem+json",
            "{path}"
        );
    }
    let health = http.get(api.url("/health")).send().await?;
    assert_eq!(
        health.json::<serde_json::Value>().await?["status"],
        "healthy"
    );
    let document = http.get(api.url("/openapi.json")).send().await?;
    assert!(document.json::<serde_json::Value>().await?["paths"].is_object());

    let post = http.post(api.url("/rankings")).send().await?;
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()[header::ALLOW], "GET, HEAD");
    let api_post = http.put(api.url("/api/public/rankings")).send().await?;
    assert_eq!(api_post.status(), 405);
    assert_eq!(api_post.headers()[header::ALLOW], "GET");
    Ok(())
}

#[tokio::test]
async fn the_served_document_is_the_committed_one() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let served: serde_json::Value = reqwest::get(api.url("/openapi.json")).await?.json().await?;
    let committed: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/openapi.json"))?;
    assert_eq!(served, committed);
    Ok(())
}

#[tokio::test]
async fn a_web_dir_without_a_build_is_refused_at_start() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let empty = tempfile::tempdir()?;
    let mut env: HashMap<String, String> = backends.env.clone();
    env.insert("WEB_DIR".to_owned(), empty.path().display().to_string());
    let (code, stderr) = run_to_exit("rising-stars-api", &env).await?;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("WEB_DIR"), "{stderr}");
    Ok(())
}
