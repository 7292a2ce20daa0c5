//! Sign-up, login, tokens and throttling through the real API.

use end_to_end::{Client, PASSWORD, RawBody, RunningApi, login_request, signup_request, types};
use reqwest::Method;
use serde_json::json;

use crate::local_backends;

fn signup_body(email: &str) -> types::SignupRequest {
    types::SignupRequest {
        last_name: "Pérez".to_owned(),
        ..signup_request(email, "Ana", "Bogotá")
    }
}

/// The signup body as JSON, to be bent into shapes the typed client cannot send.
fn signup_json(email: &str) -> serde_json::Value {
    serde_json::to_value(signup_body(email)).unwrap_or_default()
}

#[tokio::test]
async fn signup_stores_a_lower_cased_email_and_an_argon2id_hash() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let created = client
        .signup(&signup_body("  Ana.Perez@Example.COM "))
        .await?
        .ok()?;
    assert_eq!(created.message, "Usuario creado exitosamente.");
    assert_eq!(created.email, "ana.perez@example.com");
    assert_eq!(
        (created.first_name.as_str(), created.city.as_str()),
        ("Ana", "Bogotá")
    );
    // The path with a trailing slash is the same operation, answered directly.
    let slash = client
        .raw(
            Method::POST,
            "/api/auth/signup/",
            None,
            Some(RawBody::Json(signup_json("slash@example.com"))),
        )
        .await?;
    assert_eq!(slash.status, 201, "{slash:?}");
    let (email, hash): (String, String) = sqlx::query_as("SELECT email, password_hash FROM users")
        .fetch_one(&backends.database.pool)
        .await?;
    assert_eq!(email, "ana.perez@example.com");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("contraseña"));
    Ok(())
}

#[tokio::test]
async fn signup_refuses_bad_input_and_changes_nothing() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let long = "x".repeat(101);
    let cases: Vec<(serde_json::Value, &str, Option<&str>)> = vec![
        (
            json!({"first_name": "Ana"}),
            "validation_error",
            Some("last_name"),
        ),
        (
            {
                let mut b = signup_json("a@example.com");
                b["password2"] = json!("otra-cosa-123");
                b
            },
            "password_mismatch",
            Some("password2"),
        ),
        (
            {
                let mut b = signup_json("a@example.com");
                b["email"] = json!("not-an-email");
                b
            },
            "validation_error",
            Some("email"),
        ),
        (
            {
                let mut b = signup_json("a@example.com");
                b["password1"] = json!("short");
                b["password2"] = json!("short");
                b
            },
            "validation_error",
            Some("password1"),
        ),
        (
            {
                let mut b = signup_json("a@example.com");
                b["city"] = json!("   ");
                b
            },
            "validation_error",
            Some("city"),
        ),
        (
            {
                let mut b = signup_json("a@example.com");
                b["country"] = json!(long);
                b
            },
            "validation_error",
            Some("country"),
        ),
        (
            {
                let mut b = signup_json("a@example.com");
                b["first_name"] = json!(42);
                b
            },
            "validation_error",
            Some("first_name"),
        ),
    ];
    for (body, code, field) in cases {
        let answer = client
            .raw(
                Method::POST,
                "/api/auth/signup",
                None,
                Some(RawBody::Json(body.clone())),
            )
            .await?;
        assert_eq!(answer.status, 400, "{body}: {answer:?}");
        assert_eq!(answer.code(), code, "{body}");
        assert_eq!(answer.body["field"].as_str(), field, "{body}");
        assert_eq!(
            answer.header("content-type"),
            Some("application/problem+json")
        );
        assert!(answer.body["detail"].is_string());
    }
    let malformed = client
        .raw(
            Method::POST,
            "/api/auth/signup",
            None,
            Some(RawBody::Bytes {
                content_type: "application/json",
                bytes: b"{\"first_name\": ".to_vec(),
            }),
        )
        .await?;
    assert_eq!(malformed.status, 400);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&backends.database.pool)
        .await?;
    assert_eq!(users, 0);
    Ok(())
}

#[tokio::test]
async fn sql_html_and_unicode_are_stored_as_plain_text() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let body = types::SignupRequest {
        first_name: "Robert'); DROP TABLE users;--".to_owned(),
        last_name: "<script>alert(1)</script>".to_owned(),
        city: "Medellín 🏀".to_owned(),
        country: "Côte d'Ivoire".to_owned(),
        ..signup_body("robert@example.com")
    };
    let created = client.signup(&body).await?.ok()?;
    assert_eq!(created.first_name, "Robert'); DROP TABLE users;--");
    assert_eq!(created.last_name, "<script>alert(1)</script>");
    assert_eq!(created.city, "Medellín 🏀");
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&backends.database.pool)
        .await?;
    assert_eq!(users, 1);
    Ok(())
}

#[tokio::test]
async fn a_duplicate_email_in_any_case_is_refused() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    client.signup(&signup_body("dup@example.com")).await?.ok()?;
    let again = client.signup(&signup_body("DUP@Example.com")).await?;
    assert_eq!(again.status, 400);
    assert_eq!(again.code(), "email_taken");
    Ok(())
}

#[tokio::test]
async fn two_concurrent_signups_with_one_email_make_one_account() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let body = signup_body("race@example.com");
    let (first, second) = tokio::join!(client.signup(&body), client.signup(&body));
    let mut statuses = [first?.status, second?.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 400]);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&backends.database.pool)
        .await?;
    assert_eq!(users, 1);
    Ok(())
}

#[tokio::test]
async fn login_returns_a_bearer_token_and_refuses_wrong_credentials_alike() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    client.player("login@example.com", "Ana", "Cali").await?;
    let token = client
        .login(&login_request("LOGIN@example.com", PASSWORD))
        .await?
        .ok()?;
    assert_eq!(token.token_type, "Bearer");
    assert_eq!(token.expires_in, 3600);
    assert_eq!(token.access_token.split('.').count(), 3);

    let wrong_password = client
        .login(&login_request("login@example.com", "nope-nope-nope"))
        .await?;
    let unknown_email = client
        .login(&login_request("nobody@example.com", "nope-nope-nope"))
        .await?;
    assert_eq!(wrong_password.status, 401);
    assert_eq!(unknown_email.status, 401);
    assert_eq!(wrong_password.body, unknown_email.body);
    Ok(())
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_with_retry_after() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    client.player("target@example.com", "Ana", "Cali").await?;
    let wrong = login_request("target@example.com", "wrong-password");
    for attempt in 1..=5 {
        let answer = client.login(&wrong).await?;
        assert_eq!(answer.status, 401, "attempt {attempt}");
    }
    let throttled = client.login(&wrong).await?;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.code(), "too_many_attempts");
    let retry_after: u64 = throttled.header("retry-after").unwrap_or("0").parse()?;
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    // Even the right password waits while the email is throttled.
    let right = login_request("target@example.com", PASSWORD);
    assert_eq!(client.login(&right).await?.status, 429);
    Ok(())
}

#[tokio::test]
async fn every_kind_of_bad_token_gets_401_with_www_authenticate() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let player = client.player("tokens@example.com", "Ana", "Cali").await?;
    let parts: Vec<&str> = player.token.split('.').collect();
    let wrong_signature = format!("{}.{}.{}", parts[0], parts[1], "AAAA".repeat(10));
    // {"alg":"none","typ":"JWT"} with the real claims and no signature.
    let alg_none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1]);
    // Signed with the right key but expired: made with a one-second lifetime API.
    let mut short_env = backends.env.clone();
    short_env.insert("TOKEN_LIFETIME_SECONDS".into(), "1".into());
    let short_api = RunningApi::start(&short_env).await?;
    let expired = Client::new(&short_api.base_url)
        .login_as("tokens@example.com", PASSWORD)
        .await?;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;

    let mut tokens = vec![
        None,
        Some("not-a-jwt".to_owned()),
        Some(wrong_signature),
        Some(alg_none),
        Some(expired),
    ];
    tokens.push(Some(String::new()));
    for token in tokens {
        let answer = client.list_my_videos(token.as_deref()).await?;
        assert_eq!(answer.status, 401, "{token:?}");
        assert_eq!(
            answer.header("www-authenticate"),
            Some("Bearer"),
            "{token:?}"
        );
        assert_eq!(answer.code(), "unauthorized");
    }
    let basic = client
        .http
        .get(client.url("/api/videos"))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await?;
    assert_eq!(basic.status(), 401);
    assert!(
        client
            .list_my_videos(Some(&player.token))
            .await?
            .ok()?
            .is_empty()
    );
    Ok(())
}
