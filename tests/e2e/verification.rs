//! E-mail verification end to end: the link a signup mails (to a folder, or through SES in moto)
//! verifies its account once; expired, unknown and used links are refused; new links are limited
//! per account; and a course client's whole walk works with verification on and off.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use end_to_end::{Client, RunningApi, link_token, mailed_links, signup_request, types};
use reqwest::Method;

use crate::public::{published_video, vote};
use crate::{LocalBackends, aws_env, local_backends};

/// `GET /api/auth/me`'s `email_verified` for `token`.
async fn verified(client: &Client, token: &str) -> anyhow::Result<bool> {
    Ok(client.me(Some(token)).await?.ok()?.email_verified)
}

/// Moves every verification link of the database `seconds` into the past (created and expiry
/// alike), as if that much time had gone by.
async fn age_links(backends: &LocalBackends, seconds: i64) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE email_verification_tokens
         SET created_at = created_at - $1 * interval '1 second',
             expires_at = expires_at - $1 * interval '1 second'",
    )
    .bind(seconds as f64)
    .execute(&backends.database.pool)
    .await?;
    Ok(())
}

#[tokio::test]
async fn the_mailed_link_verifies_its_account_once() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let player = client.player("ana@example.com", "Ana", "Cali").await?;
    assert!(!verified(&client, &player.token).await?);
    let account = client.me(Some(&player.token)).await?.ok()?;
    assert_eq!(
        (
            account.id.as_str(),
            account.email.as_str(),
            account.first_name.as_str(),
            account.city.as_str()
        ),
        (player.id.as_str(), "ana@example.com", "Ana", "Cali")
    );

    let link = backends.verification_link("ana@example.com").await?;
    assert!(
        link.starts_with(&format!("{}/verificar?token=", api.base_url)),
        "{link}"
    );
    // Only a hash of the token is stored.
    let token = link_token(&link)?;
    let stored: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT token_hash FROM email_verification_tokens")
            .fetch_all(&backends.database.pool)
            .await?;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].len(), 32, "a SHA-256");
    assert_ne!(stored[0], token.as_bytes());

    // Two at once: exactly one uses the link.
    let (first, second) = tokio::join!(client.verify_link(&link), client.verify_link(&link));
    let mut answers = [first?, second?];
    answers.sort_by_key(|answer| answer.status);
    assert_eq!(answers[0].status, 200, "{:?}", answers[0]);
    let body = answers[0].ok()?;
    assert_eq!(
        (body.message.as_str(), body.email_verified),
        ("Correo electrónico verificado.", true)
    );
    assert_eq!(
        (answers[1].status, answers[1].code()),
        (400, "invalid_verification_link"),
        "{:?}",
        answers[1]
    );
    assert!(verified(&client, &player.token).await?);

    // And later too.
    let again = client.verify_link(&link).await?;
    assert_eq!(
        (again.status, again.code()),
        (400, "invalid_verification_link")
    );
    assert_eq!(client.me(None).await?.status, 401);
    Ok(())
}

#[tokio::test]
async fn an_expired_link_is_refused_and_verifies_nothing() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let player = client.player("late@example.com", "Tardío", "Cali").await?;
    let link = backends.verification_link("late@example.com").await?;
    // EMAIL_VERIFICATION_TOKEN_HOURS is 24: a day and a second later.
    age_links(&backends, 24 * 3600 + 1).await?;
    let answer = client.verify_link(&link).await?;
    assert_eq!(
        (answer.status, answer.code()),
        (400, "verification_link_expired"),
        "{answer:?}"
    );
    assert!(!verified(&client, &player.token).await?);
    Ok(())
}

#[tokio::test]
async fn links_are_dropped_a_month_after_they_expire_and_not_before() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    client.player("vieja@example.com", "Ana", "Cali").await?;
    // Made 32 days ago: it expired 31 days ago.
    age_links(&backends, (24 + 31 * 24) * 3600).await?;
    client.player("reciente@example.com", "Eva", "Cali").await?;
    let recent = backends.verification_link("reciente@example.com").await?;
    // Both a day older: the second link has just expired, the first did 32 days ago.
    age_links(&backends, 24 * 3600 + 1).await?;
    let links = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM email_verification_tokens")
            .fetch_one(&backends.database.pool)
            .await
    };
    assert_eq!(links().await?, 2);
    // An instance prunes as it starts (and every hour after).
    let _pruning = RunningApi::start(&backends.env).await?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while links().await? > 1 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(links().await?, 1);
    let late = client.verify_link(&recent).await?;
    assert_eq!(
        (late.status, late.code()),
        (400, "verification_link_expired")
    );
    Ok(())
}

#[tokio::test]
async fn unknown_and_malformed_tokens_are_refused_alike() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    // 43 base64url characters, the shape of a real token, that no link ever carried.
    let unknown = "A".repeat(43);
    for token in [
        unknown.as_str(),
        "abc",
        "",
        "no es un token; DROP TABLE users",
    ] {
        let answer = client
            .verify_email(&types::VerifyRequest {
                token: token.to_owned(),
            })
            .await?;
        assert_eq!(
            (answer.status, answer.code()),
            (400, "invalid_verification_link"),
            "{token:?}: {answer:?}"
        );
    }
    let missing = client
        .raw(
            Method::POST,
            "/api/auth/verify",
            None,
            Some(end_to_end::RawBody::Json(serde_json::json!({}))),
        )
        .await?;
    assert_eq!((missing.status, missing.code()), (400, "validation_error"));
    assert_eq!(missing.body["field"], "token");
    Ok(())
}

#[tokio::test]
async fn new_links_are_limited_per_account_with_retry_after() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let mut env = backends.env.clone();
    env.insert("EMAIL_VERIFICATION_MAX_PER_DAY".into(), "3".into());
    let api = RunningApi::start(&env).await?;
    let client = Client::new(&api.base_url);
    let email = "again@example.com";
    let player = client.player(email, "Otra", "Cali").await?;
    let signup_link = backends.verification_link(email).await?;
    let dir = backends.mail.path();

    // The signup's mail went a moment ago: one a minute (EMAIL_VERIFICATION_RESEND_SECONDS).
    let soon = client.resend_verification(Some(&player.token)).await?;
    assert_eq!(
        (soon.status, soon.code()),
        (429, "too_many_verification_emails")
    );
    let wait: u64 = soon.header("retry-after").context("Retry-After")?.parse()?;
    assert!((1..=60).contains(&wait), "{wait}");

    // A minute later, a new link; and the one before still works until it is used.
    age_links(&backends, 61).await?;
    let sent = client.resend_verification(Some(&player.token)).await?;
    assert_eq!(sent.status, 202, "{sent:?}");
    assert_eq!(
        sent.ok()?.message,
        "Te enviamos un nuevo enlace de verificación. Revisa tu correo electrónico."
    );
    let links = end_to_end::wait_for_links(dir, email, 2).await?;
    assert_ne!(links[0], links[1]);
    assert_eq!(links[0], signup_link);

    // The third mail of the day is the last (EMAIL_VERIFICATION_MAX_PER_DAY=3).
    age_links(&backends, 61).await?;
    assert_eq!(
        client
            .resend_verification(Some(&player.token))
            .await?
            .status,
        202
    );
    age_links(&backends, 61).await?;
    let day = client.resend_verification(Some(&player.token)).await?;
    assert_eq!(
        (day.status, day.code()),
        (429, "too_many_verification_emails")
    );
    let wait: u64 = day.header("retry-after").context("Retry-After")?.parse()?;
    // The signup's mail leaves the 24 hours first: it went 183 s ago.
    assert!(
        (24 * 3600 - 200..=24 * 3600 - 180).contains(&wait),
        "{wait}"
    );
    assert_eq!(mailed_links(dir, email)?.len(), 3);

    // Any of the links verifies; then there is nothing to resend.
    client.verify_link(&signup_link).await?.ok()?;
    let done = client.resend_verification(Some(&player.token)).await?;
    assert_eq!((done.status, done.code()), (409, "already_verified"));
    assert_eq!(client.resend_verification(None).await?.status, 401);
    Ok(())
}

#[tokio::test]
async fn a_link_mailed_through_ses_in_the_emulator_verifies_the_account() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    // An emulator of mail's own (see `sent_through_moto`).
    let endpoint = std::env::var("MAIL_AWS_ENDPOINT_URL")
        .context("MAIL_AWS_ENDPOINT_URL: run `cargo xtask test`")?;
    let aws = testkit::aws_config().await?;
    let ses = aws_sdk_sesv2::config::Builder::from(&aws)
        .endpoint_url(&endpoint)
        .build();
    // SES sends only from a verified identity; moto checks that too.
    let domain = "correo.rising-stars.example";
    aws_sdk_sesv2::Client::from_conf(ses)
        .create_email_identity()
        .email_identity(domain)
        .send()
        .await
        .context("creating the SES identity in moto")?;
    let mut env = backends.env.clone();
    env.extend(aws_env());
    env.insert("AWS_ENDPOINT_URL".into(), endpoint.clone());
    env.insert("MAIL_URL".into(), format!("ses:no-reply@{domain}"));
    let api = RunningApi::start(&env).await?;
    let client = Client::new(&api.base_url);
    let email = format!("ses-{}@example.com", std::process::id());
    let player = client.player(&email, "Sesión", "Cali").await?;
    let message = sent_through_moto(&endpoint, &email).await?;
    assert_eq!(
        message["source"],
        format!("Rising Stars <no-reply@{domain}>")
    );
    assert_eq!(
        message["subject"],
        "Confirma tu correo electrónico en Rising Stars"
    );
    let body = message["body"].as_str().unwrap_or_default();
    let link = body
        .lines()
        .find(|line| line.contains("/verificar?token="))
        .with_context(|| format!("no link in {body}"))?;
    assert!(body.starts_with("Hola, Sesión:"), "{body}");
    assert!(mailed_links(backends.mail.path(), &email)?.is_empty());
    client.verify_link(link).await?.ok()?;
    assert!(verified(&client, &player.token).await?);
    Ok(())
}

/// The message moto's SES kept for `to` (its `/moto-api/data.json` lists every `ses.Message`:
/// `source`, `subject`, `body`, `destinations`), waiting for the signup's mail.
///
/// The page serialises every service's state, and moto 5 cannot serialise an RDS subnet group:
/// once the deploy test has made one in the shared emulator, the page answers 500 for good. So
/// the mail test has an emulator of its own (`MAIL_AWS_ENDPOINT_URL`, started by `cargo xtask
/// test`) at `endpoint`.
async fn sent_through_moto(endpoint: &str, to: &str) -> anyhow::Result<serde_json::Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let data: serde_json::Value = reqwest::get(format!("{endpoint}/moto-api/data.json"))
            .await?
            .error_for_status()?
            .json()
            .await?;
        let found = data["ses"]["Message"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|message| {
                message["destinations"]["ToAddresses"]
                    .as_array()
                    .is_some_and(|to_addresses| to_addresses.iter().any(|address| address == to))
            });
        if let Some(message) = found {
            return Ok(message.clone());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "moto's SES kept no message to {to} after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A client written for the course's contract: signup → login → upload → own list → (processed
/// and published) → public list → a fan's vote → rankings, through the generated client. With
/// `verify`, the fan first follows the mailed link; without, the API runs with
/// `EMAIL_VERIFICATION=off` and nobody verifies anything.
async fn course_client_walk(verify: bool) -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let mut env: HashMap<String, String> = backends.env.clone();
    if !verify {
        env.insert("EMAIL_VERIFICATION".into(), "off".into());
    }
    let api = RunningApi::start(&env).await?;
    let client = Client::new(&api.base_url);

    let created = client
        .signup(&signup_request("jugadora@example.com", "Juana", "Cali"))
        .await?;
    assert_eq!(created.status, 201, "{created:?}");
    let token = client
        .login_as("jugadora@example.com", end_to_end::PASSWORD)
        .await?;
    let player = end_to_end::Player {
        id: created.ok()?.id,
        email: "jugadora@example.com".to_owned(),
        token,
    };
    let video = published_video(&backends, &client, &player).await?;
    let mine = client.list_my_videos(Some(&player.token)).await?.ok()?;
    assert_eq!(mine[0].video_id, video);
    let listed = client.list_public_videos(None, None, None).await?.ok()?;
    assert_eq!(listed[0].video_id, video);

    let fan = if verify {
        backends
            .verified_player(&client, "hincha@example.com", "Hincha", "Cali")
            .await?
    } else {
        client
            .player("hincha@example.com", "Hincha", "Cali")
            .await?
    };
    let voted = vote(&client, &fan, &video).await?;
    assert_eq!(voted.status, 200, "{voted:?}");
    assert_eq!(voted.ok()?.votes, 1);
    // Rankings are fresh within 1 s of a vote's answer.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let ranked = client
        .rankings(Some("Cali"), None, None, None, None)
        .await?
        .ok()?;
    assert_eq!(
        (
            ranked[0].position,
            ranked[0].username.as_str(),
            ranked[0].votes
        ),
        (1, "Juana Test", 1)
    );

    let resend = client.resend_verification(Some(&fan.token)).await?;
    if verify {
        assert!(verified(&client, &fan.token).await?);
        assert_eq!(resend.code(), "already_verified");
    } else {
        // Off: nothing is mailed, and there is nothing to ask for.
        assert!(!verified(&client, &fan.token).await?);
        assert_eq!(
            (resend.status, resend.code()),
            (409, "verification_not_required")
        );
        assert!(end_to_end::mailed_links(backends.mail.path(), "hincha@example.com")?.is_empty());
        assert!(crate::files_under(backends.mail.path()).is_empty());
    }
    Ok(())
}

#[tokio::test]
async fn a_course_client_walks_from_signup_to_the_rankings_with_verification_on()
-> anyhow::Result<()> {
    course_client_walk(true).await
}

#[tokio::test]
async fn a_course_client_walks_from_signup_to_the_rankings_with_verification_off()
-> anyhow::Result<()> {
    course_client_walk(false).await
}
