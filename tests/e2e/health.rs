//! `/health` and `/health/ready` on both backend sets.

use end_to_end::RunningApi;
use serde_json::Value;

use crate::{aws_env, local_stack};

#[tokio::test]
async fn health_answers_with_and_without_a_trailing_slash() -> anyhow::Result<()> {
    let stack = local_stack().await?;
    let api = RunningApi::start(&stack.env).await?;
    for path in ["/health", "/health/"] {
        let response = reqwest::get(api.url(path)).await?;
        assert_eq!(response.status(), 200, "{path}");
        let body: Value = response.json().await?;
        assert_eq!(body["status"], "healthy");
        assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    }
    Ok(())
}

#[tokio::test]
async fn ready_on_local_backends() -> anyhow::Result<()> {
    let stack = local_stack().await?;
    let api = RunningApi::start(&stack.env).await?;
    let response = reqwest::get(api.url("/health/ready")).await?;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await?;
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(body["checks"]["storage"], "ok");
    assert_eq!(body["checks"]["queue"], "ok");
    Ok(())
}

#[tokio::test]
async fn ready_on_s3_and_sqs() -> anyhow::Result<()> {
    let stack = local_stack().await?;
    let aws = testkit::aws_config().await?;
    let bucket = testkit::s3_bucket(&aws).await?;
    let queue = testkit::sqs_queue_with_dead_letter(&aws, 3).await?;
    let mut env = stack.env.clone();
    env.extend(aws_env());
    env.insert("STORAGE_URL".into(), format!("s3://{bucket}/media"));
    env.insert("S3_FORCE_PATH_STYLE".into(), "true".into());
    env.insert("QUEUE_URL".into(), queue);
    let api = RunningApi::start(&env).await?;
    let response = reqwest::get(api.url("/health/ready")).await?;
    assert_eq!(response.status(), 200);
    Ok(())
}

#[tokio::test]
async fn not_ready_names_the_storage_that_does_not_answer() -> anyhow::Result<()> {
    let stack = local_stack().await?;
    let mut env = stack.env.clone();
    env.extend(aws_env());
    env.insert(
        "STORAGE_URL".into(),
        "s3://no-such-bucket-here/media".into(),
    );
    env.insert("S3_FORCE_PATH_STYLE".into(), "true".into());
    let api = RunningApi::start(&env).await?;
    let response = reqwest::get(api.url("/health/ready")).await?;
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await?;
    assert_eq!(body["code"], "not_ready");
    assert_eq!(body["checks"]["storage"], "unavailable");
    assert_eq!(body["checks"]["database"], "ok");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("almacenamiento")
    );
    Ok(())
}
