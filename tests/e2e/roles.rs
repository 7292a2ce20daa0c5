//! The deployed stack's database roles, on a real PostgreSQL: `rising-stars-api migrate` (as the
//! schema's owner) creates the API's and the worker's roles; the real API and worker binaries then
//! run a whole flow as those roles, with `DATABASE_MIGRATE=check`; the worker's role cannot read
//! `users.password_hash`, and neither role can change the schema.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use end_to_end::{Client, RunningApi, RunningWorker, wait_for_status};
use sqlx::{Connection, Executor, PgConnection};
use testkit::media::Clip;

use crate::local_backends;

/// `url` with another user and password (the server trusts loopback; the roles still need LOGIN).
fn as_role(url: &str, role: &str, password: &str) -> anyhow::Result<String> {
    let mut url = url::Url::parse(url)?;
    url.set_username(role)
        .map_err(|()| anyhow::anyhow!("cannot set the user"))?;
    url.set_password(Some(password))
        .map_err(|()| anyhow::anyhow!("cannot set the password"))?;
    Ok(url.into())
}

/// The error `statement` fails with as the role at `url`, or a failure when it succeeds.
async fn refused(url: &str, statement: &str) -> anyhow::Result<String> {
    let mut connection = PgConnection::connect(url).await?;
    match connection
        .execute(sqlx::AssertSqlSafe(statement.to_owned()))
        .await
    {
        Ok(_) => anyhow::bail!("{statement} succeeded"),
        Err(error) => Ok(error.to_string()),
    }
}

#[tokio::test]
async fn each_service_runs_as_its_own_role_which_cannot_read_passwords_or_change_the_schema()
-> anyhow::Result<()> {
    let backends = local_backends().await?;
    let suffix = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let (api_role, worker_role) = (format!("rs_api_{suffix}"), format!("rs_worker_{suffix}"));
    let mut migrate_env = HashMap::from([
        ("DATABASE_URL".to_owned(), backends.database.url.clone()),
        ("DATABASE_API_USER".to_owned(), api_role.clone()),
        (
            "DATABASE_API_PASSWORD".to_owned(),
            "api-password-1".to_owned(),
        ),
        ("DATABASE_WORKER_USER".to_owned(), worker_role.clone()),
        (
            "DATABASE_WORKER_PASSWORD".to_owned(),
            "worker-password-1".to_owned(),
        ),
    ]);
    let outcome = async {
        // Twice: the second run finds the roles and only updates them (a new password).
        for password in ["worker-password-1", "worker-password-2"] {
            migrate_env.insert("DATABASE_WORKER_PASSWORD".into(), password.into());
            let output = tokio::time::timeout(
                Duration::from_secs(60),
                tokio::process::Command::new(end_to_end::binary("rising-stars-api")?)
                    .arg("migrate")
                    .env_clear()
                    .envs(&migrate_env)
                    .output(),
            )
            .await
            .context("migrate did not exit within 60 s")??;
            anyhow::ensure!(
                output.status.success(),
                "migrate exited {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        run_flow(&backends, &api_role, &worker_role).await
    };
    let result = outcome.await;
    // The roles outlive a database: drop them once it is gone.
    drop(backends);
    let admin_url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let mut admin = PgConnection::connect(&admin_url).await?;
    for role in [&api_role, &worker_role] {
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                r#"DROP ROLE IF EXISTS "{role}""#
            )))
            .await?;
    }
    result
}

async fn run_flow(
    backends: &crate::LocalBackends,
    api_role: &str,
    worker_role: &str,
) -> anyhow::Result<()> {
    let api_url = as_role(&backends.database.url, api_role, "api-password-1")?;
    let worker_url = as_role(&backends.database.url, worker_role, "worker-password-2")?;
    let mut api_env = backends.env.clone();
    api_env.insert("DATABASE_URL".into(), api_url.clone());
    api_env.insert("DATABASE_MIGRATE".into(), "check".into());
    api_env.insert("EMAIL_VERIFICATION".into(), "off".into());
    crate::without_holding_rules(&mut api_env);
    let mut worker_env = backends.env.clone();
    worker_env.insert("DATABASE_URL".into(), worker_url.clone());
    worker_env.insert("DATABASE_MIGRATE".into(), "check".into());
    worker_env.insert("WORKER_X264_PRESET".into(), "ultrafast".into());
    worker_env.insert("WORKER_POLL_WAIT_SECONDS".into(), "1".into());

    let api = RunningApi::start(&api_env).await?;
    let _worker = RunningWorker::start(&worker_env)?;
    let client = Client::new(&api.base_url);
    let owner = client.player("rol@example.com", "Ana", "Cali").await?;
    let fan = client.player("fan-rol@example.com", "Luis", "Cali").await?;
    let clip = Clip::h264(1920, 1080, 21.0).path()?;
    let video = client
        .upload_clip(&owner.token, &clip, "Como rol propio", true)
        .await?;
    let detail = wait_for_status(
        &client,
        &owner.token,
        &video,
        &["processed", "failed"],
        Duration::from_secs(240),
    )
    .await?;
    assert_eq!(detail.status, "processed", "{detail:?}");
    assert!(detail.published, "the worker's role published it");
    client.vote(Some(&fan.token), &video).await?.ok()?;
    let listed = client.list_public_videos(None, None, None).await?.ok()?;
    assert_eq!(listed[0].video_id, video);
    let second = client
        .upload_clip(&owner.token, &clip, "Para borrar", false)
        .await?;
    wait_for_status(
        &client,
        &owner.token,
        &second,
        &["processed"],
        Duration::from_secs(240),
    )
    .await?;
    client
        .delete_video(Some(&owner.token), &second)
        .await?
        .ok()
        .context("the API's role deletes a video")?;

    // The worker's role sees a user's id and city, never the password hash or the e-mail.
    let mut worker = PgConnection::connect(&worker_url).await?;
    let cities: Vec<String> = sqlx::query_scalar("SELECT city FROM users")
        .fetch_all(&mut worker)
        .await?;
    assert_eq!(cities.len(), 2);
    for column in ["password_hash", "email", "*"] {
        let error = refused(&worker_url, &format!("SELECT {column} FROM users")).await?;
        assert!(error.contains("permission denied"), "{column}: {error}");
    }
    // It may put back a job the queue lost, and publish it (the sweeper's second pass).
    let worker_pool = sqlx::PgPool::connect(&worker_url).await?;
    let lost = platform::videos::attempts::requeue_stranded(
        &worker_pool,
        Some(3),
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
    )
    .await?;
    assert_eq!(
        lost,
        Vec::<uuid::Uuid>::new(),
        "every video here is settled"
    );
    let queue = platform::queue::PgQueue::new(worker_pool.clone(), "video-jobs", 3);
    platform::videos::outbox::relay_once(&worker_pool, &queue).await?;
    for statement in [
        "DELETE FROM videos",
        "INSERT INTO users (id) VALUES (gen_random_uuid())",
        "DELETE FROM votes",
        "UPDATE _sqlx_migrations SET success = false",
    ] {
        let error = refused(&worker_url, statement).await?;
        assert!(error.contains("permission denied"), "{statement}: {error}");
    }
    // The audit log: the API's role appends to it (its identity column needs no other grant),
    // and may neither change nor remove a row; the worker's role cannot touch it.
    let mut api = PgConnection::connect(&api_url).await?;
    sqlx::query(
        "INSERT INTO staff_actions (actor, action, target_kind, target_id, reason)
         VALUES ('operator', 'staff_added', 'user', gen_random_uuid(), 'prueba')",
    )
    .execute(&mut api)
    .await
    .context("the API's role appends to the audit log")?;
    for statement in [
        "UPDATE staff_actions SET reason = 'otra'",
        "DELETE FROM staff_actions",
        "TRUNCATE staff_actions",
    ] {
        let error = refused(&api_url, statement).await?;
        assert!(error.contains("permission denied"), "{statement}: {error}");
    }
    let error = refused(&worker_url, "SELECT * FROM staff_actions").await?;
    assert!(error.contains("permission denied"), "{error}");
    // Neither role changes the schema, nor the migrations' record.
    for url in [&api_url, &worker_url] {
        for statement in [
            "CREATE TABLE intruder (id int)",
            "ALTER TABLE videos ADD COLUMN intruder int",
            "DROP TABLE votes",
            "DELETE FROM _sqlx_migrations",
        ] {
            let error = refused(url, statement).await?;
            assert!(
                error.contains("permission denied") || error.contains("must be owner"),
                "{statement}: {error}"
            );
        }
    }
    Ok(())
}
