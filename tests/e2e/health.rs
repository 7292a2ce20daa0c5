//! `/health` and `/health/ready` on both backend sets.

use end_to_end::{Client, RunningApi};
use reqwest::Method;

use crate::{aws_env, local_backends, s3_and_sqs_env};

#[tokio::test]
async fn health_answers_with_and_without_a_trailing_slash() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let health = client.health().await?.ok()?;
    assert_eq!(health.status, "healthy");
    assert_eq!(health.version, env!("CARGO_PKG_VERSION"));
    let slash = client.raw(Method::GET, "/health/", None, None).await?;
    assert_eq!(slash.status, 200);
    assert_eq!(slash.body["status"], "healthy");
    Ok(())
}

#[tokio::test]
async fn ready_on_local_backends() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let ready = Client::new(&api.base_url).ready().await?.ok()?;
    let checks = ready.checks;
    assert_eq!(
        (
            checks.database.as_str(),
            checks.storage.as_str(),
            checks.queue.as_str()
        ),
        ("ok", "ok", "ok")
    );
    Ok(())
}

#[tokio::test]
async fn ready_on_s3_and_sqs() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let env = s3_and_sqs_env(&backends).await?;
    let api = RunningApi::start(&env).await?;
    assert_eq!(Client::new(&api.base_url).ready().await?.status, 200);
    Ok(())
}

#[tokio::test]
async fn not_ready_names_the_storage_that_does_not_answer() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let mut env = backends.env.clone();
    env.extend(aws_env());
    env.insert(
        "STORAGE_URL".into(),
        "s3://no-such-bucket-here/media".into(),
    );
    env.insert("S3_FORCE_PATH_STYLE".into(), "true".into());
    let api = RunningApi::start(&env).await?;
    let answer = Client::new(&api.base_url).ready().await?;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.code(), "not_ready");
    assert_eq!(answer.body["checks"]["storage"], "unavailable");
    assert_eq!(answer.body["checks"]["database"], "ok");
    assert!(
        answer.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("almacenamiento")
    );
    Ok(())
}
