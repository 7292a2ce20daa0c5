//! A wrong configuration stops the API with one clear line naming the variable, never a panic.

use std::collections::HashMap;

use end_to_end::run_to_exit;

use crate::local_backends;

async fn refuses(overrides: &[(&str, &str)], variable: &str) -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let mut env: HashMap<String, String> = backends.env.clone();
    for (name, value) in overrides {
        env.insert((*name).to_owned(), (*value).to_owned());
    }
    let (code, stderr) = run_to_exit("rising-stars-api", &env).await?;
    assert_eq!(code, Some(2), "stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let last = lines.last().copied().unwrap_or_default();
    assert!(last.contains(variable), "{variable} not named in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("stack backtrace"), "{stderr}");
    Ok(())
}

#[tokio::test]
async fn unknown_storage_scheme_is_refused() -> anyhow::Result<()> {
    refuses(&[("STORAGE_URL", "ftp://example/videos")], "STORAGE_URL").await
}

#[tokio::test]
async fn unknown_queue_is_refused() -> anyhow::Result<()> {
    refuses(&[("QUEUE_URL", "redis://127.0.0.1:6379")], "QUEUE_URL").await
}

#[tokio::test]
async fn unreachable_database_is_refused() -> anyhow::Result<()> {
    refuses(
        &[("DATABASE_URL", "postgres://postgres@127.0.0.1:1/nothing")],
        "DATABASE_URL",
    )
    .await
}

#[tokio::test]
async fn production_without_a_signing_secret_is_refused() -> anyhow::Result<()> {
    refuses(
        &[
            ("RUN_MODE", "production"),
            ("JWT_SECRET", "a-production-jwt-secret-of-enough-bytes"),
            ("URL_SIGNING_SECRET", ""),
        ],
        "URL_SIGNING_SECRET",
    )
    .await
}

#[tokio::test]
async fn a_short_signing_secret_is_refused() -> anyhow::Result<()> {
    refuses(&[("URL_SIGNING_SECRET", "short")], "URL_SIGNING_SECRET").await
}

#[tokio::test]
async fn a_malformed_listen_address_is_refused() -> anyhow::Result<()> {
    refuses(&[("LISTEN_ADDR", "not-an-address")], "LISTEN_ADDR").await
}

#[tokio::test]
async fn production_without_a_jwt_secret_is_refused() -> anyhow::Result<()> {
    refuses(&[("RUN_MODE", "production")], "JWT_SECRET").await
}

#[tokio::test]
async fn a_short_jwt_secret_is_refused() -> anyhow::Result<()> {
    refuses(&[("JWT_SECRET", "too-short")], "JWT_SECRET").await
}

/// A production API's settings but for the mail, which `overrides` then set.
const PRODUCTION: [(&str, &str); 2] = [
    ("RUN_MODE", "production"),
    ("JWT_SECRET", "a-production-jwt-secret-of-enough-bytes"),
];

#[tokio::test]
async fn production_verification_needs_a_public_address_and_a_mail_url() -> anyhow::Result<()> {
    let without_address = [PRODUCTION[0], PRODUCTION[1], ("MAIL_URL", "")];
    refuses(&without_address, "PUBLIC_BASE_URL").await?;
    let without_mail = [
        PRODUCTION[0],
        PRODUCTION[1],
        ("PUBLIC_BASE_URL", "https://rising-stars.example"),
        ("MAIL_URL", ""),
    ];
    refuses(&without_mail, "MAIL_URL").await
}

#[tokio::test]
async fn an_unknown_mail_url_is_refused() -> anyhow::Result<()> {
    refuses(&[("MAIL_URL", "smtp://mail.example.com")], "MAIL_URL").await?;
    refuses(&[("MAIL_URL", "ses:not-an-address")], "MAIL_URL").await
}

#[tokio::test]
async fn a_deployed_task_without_a_run_mode_is_refused() -> anyhow::Result<()> {
    // ECS sets this in every task; with it and no RUN_MODE the dev signing keys must not be used.
    refuses(
        &[(
            "ECS_CONTAINER_METADATA_URI_V4",
            "http://169.254.170.2/v4/task",
        )],
        "RUN_MODE",
    )
    .await
}

#[tokio::test]
async fn dev_secrets_beyond_loopback_are_refused_unless_dev_is_said() -> anyhow::Result<()> {
    // RUN_MODE unset off ECS, listening on every interface: the published dev secrets would sign
    // tokens anyone can forge.
    refuses(&[("LISTEN_ADDR", "0.0.0.0:0")], "LISTEN_ADDR").await?;
    refuses(&[("LISTEN_ADDR", "[::]:0")], "LISTEN_ADDR").await?;

    // Said explicitly, it runs (a classroom demo on a LAN).
    let backends = local_backends().await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut api = tokio::process::Command::new(end_to_end::binary("rising-stars-api")?)
        .envs(&backends.env)
        .env("RUN_MODE", "dev")
        .env("LISTEN_ADDR", format!("0.0.0.0:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let health = format!("http://127.0.0.1:{port}/health");
    let mut answered = None;
    for _ in 0..100 {
        if let Ok(answer) = reqwest::get(&health).await {
            answered = Some(answer.status().as_u16());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    api.kill().await?;
    assert_eq!(answered, Some(200));
    Ok(())
}

#[tokio::test]
async fn a_production_worker_refuses_an_orphan_grace_under_ten_minutes() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let mut env = backends.env.clone();
    env.insert("RUN_MODE".into(), "production".into());
    env.insert("WORKER_ORPHAN_GRACE_SECONDS".into(), "60".into());
    let (code, stderr) = run_to_exit("rising-stars-worker", &env).await?;
    assert_eq!(code, Some(2), "stderr: {stderr}");
    assert!(stderr.contains("WORKER_ORPHAN_GRACE_SECONDS"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    Ok(())
}
