//! Sign-up, login, tokens and throttling through the real API.

use end_to_end::{Client, RunningApi};
use serde_json::json;

use crate::local_stack;

fn signup_body(email: &str) -> serde_json::Value {
    json!({
        "first_name": "Ana", "last_name": "Pérez", "email": email,
        "password1": "contraseña-segura", "password2": "contraseña-segura",
        "city": "Bogotá", "country": "Colombia",
    })
}

#[tokio::test]
async fn signup_stores_a_lower_cased_email_and_an_argon2id_hash() -> anyhow::Result<()> {
    let stack = local_stack().await?;
    let api = RunningApi::start(&stack.env).await?;
    let client = Client::new(&api.base_url);
    let answer = client
        .post_json(
            "/api/auth/signup/",
            None,
            &signup_body("  Ana.Perez@Example.COM "),
        )
        .await?;
    assert_eq!(answer.status, 201, "{answer:?}");
    assert_eq!(answer.body["message"], "Usuario creado exitosamente.");
    assert_eq!(answer.body["email"], "ana.perez@example.com");
    for field in ["id", "first_name", "last_name", "city", "country"] {
        assert!(answer.body[field].is_string(), "{field}");
    }
    let (email, hash): (String, String) = sqlx::query_as("SELECT email, password_hash FROM users")
        .fetch_one(&stack.database.pool)
        .await?;
    assert_eq!(email, "ana.perez@example.com");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("contraseña"));
    Ok(())
}

#[tokio::test]
async fn signup_refuses_bad_input_and_changes_nothing() -> anyhow::Result<()> {
    let stack = local_stack().await?;
    let api = RunningApi::start(&stack.env).await?;
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
                let mut b = signup_body("a@example.com");
                b["password2"] = json!("otra-cosa-123");
                b
            },
            "password_mismatch",
            Some("password2"),
        ),
        (
            {
                let mut b = signup_body("a@example.com");
                b["email"] = json!("not-an-email");
                b
            },
            "validation_error",
            Some("email"),
        ),
        (
            {
                let mut b = signup_body("a@example.com");
                b["password1"] = json!("short");
                b["password2"] = json!("short");
                b
            },
            "validation_error",
            Some("password1"),
        ),
        (
            {
                let mut b = signup_body("a@example.com");
                b["city"] = json!("   ");
                b
            },
            "validation_error",
            Some("city"),
        ),
        (
            {
                let mut b = signup_body("a@example.com");
                b["country"] = json!(long);
                b
            },
            "validation_error",
            Some("country"),
        ),
        (
            {
                let mut b = signup_body("a@example.com");
                b["first_name"] = json!(42);
                b
            },
            "validation_error",
            Some("first_name"),
        ),
    ];
    for (body, code, field) in cases {
        let answer = client.post_json("/api/auth/signup", None, &body).await?;
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
        .http
        .post(client.url("/api/auth/signup"))
        .header("content-type", "application/json")
        .body("{\"first_name\": ")
        .send()
        .await?;
    assert_eq!(malformed.status(), 400);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&stack.database.pool)
        .await?;
    assert_eq!(users, 0);
    Ok(())
}

#[tokio::test]
async fn sql_html_and_unicode_are_stored_as_plain_text() -> anyhow::Result<()> {
    let stack = local_stack().await?;
    let api = RunningApi::start(&stack.env).await?;
    let client = Client::new(&api.base_url);
    let mut body = signup_body("robert@example.com");
    body["first_name"] = json!("Robert'); DROP TABLE users;--");
    body["last_name"] = json!("<script>alert(1)</script>");
    body["city"] = json!("Medellín 🏀");
    body["country"] = json!("Côte d'Ivoire");
    let answer = client.post_json("/api/auth/signup", None, &body).await?;
    assert_eq!(answer.status, 201, "{answer:?}");
    assert_eq!(answer.body["first_name"], "Robert'); DROP TABLE users;--");
    assert_eq!(answer.body["last_name"], "<script>alert(1)</script>");
    assert_eq!(answer.body["city"], "Medellín 🏀");
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&stack.database.pool)
        .await?;
    assert_eq!(users, 1);
    Ok(())
}

#[tokio::test]
async fn a_duplicate_email_in_any_case_is_refused() -> anyhow::Result<()> {
    let stack = local_stack().await?;
    let api = RunningApi::start(&stack.env).await?;
    let client = Client::new(&api.base_url);
    assert_eq!(
        client
            .post_json("/api/auth/signup", None, &signup_body("dup@example.com"))
            .await?
            .status,
        201
    );
    let again = client
        .post_json("/api/auth/signup", None, &signup_body("DUP@Example.com"))
        .await?;
    assert_eq!(again.status, 400);
    assert_eq!(again.code(), "email_taken");
    Ok(())
}

#[tokio::test]
async fn two_concurrent_signups_with_one_email_make_one_account() -> anyhow::Result<()> {
    let stack = local_stack().await?;
    let api = RunningApi::start(&stack.env).await?;
    let client = Client::new(&api.base_url);
    let body = signup_body("race@example.com");
    let (first, second) = tokio::join!(
        client.post_json("/api/auth/signup", None, &body),
        client.post_json("/api/auth/signup", None, &body),
    );
    let mut statuses = [first?.status, second?.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 400]);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&stack.database.pool)
        .await?;
    assert_eq!(users, 1);
    Ok(())
}

#[tokio::test]
async fn login_returns_a_bearer_token_and_refuses_wrong_credentials_alike() -> anyhow::Result<()> {
    let stack = local_stack().await?;
    let api = RunningApi::start(&stack.env).await?;
    let client = Client::new(&api.base_url);
    client.player("login@example.com", "Ana", "Cali").await?;
    let ok = client
        .post_json(
            "/api/auth/login",
            None,
            &json!({"email": "LOGIN@example.com", "password": "contraseña-segura"}),
        )
        .await?;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body["token_type"], "Bearer");
    assert_eq!(ok.body["expires_in"], 3600);
    assert_eq!(
        ok.body["access_token"]
            .as_str()
            .map(|t| t.split('.').count()),
        Some(3)
    );

    let wrong_password = client
        .post_json(
            "/api/auth/login",
            None,
            &json!({"email": "login@example.com", "password": "nope-nope-nope"}),
        )
        .await?;
    let unknown_email = client
        .post_json(
            "/api/auth/login",
            None,
            &json!({"email": "nobody@example.com", "password": "nope-nope-nope"}),
        )
        .await?;
    assert_eq!(wrong_password.status, 401);
    assert_eq!(unknown_email.status, 401);
    assert_eq!(wrong_password.body, unknown_email.body);
    Ok(())
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_with_retry_after() -> anyhow::Result<()> {
    let stack = local_stack().await?;
    let api = RunningApi::start(&stack.env).await?;
    let client = Client::new(&api.base_url);
    client.player("target@example.com", "Ana", "Cali").await?;
    let wrong = json!({"email": "target@example.com", "password": "wrong-password"});
    for attempt in 1..=5 {
        let answer = client.post_json("/api/auth/login", None, &wrong).await?;
        assert_eq!(answer.status, 401, "attempt {attempt}");
    }
    let throttled = client.post_json("/api/auth/login", None, &wrong).await?;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.code(), "too_many_attempts");
    let retry_after: u64 = throttled.header("retry-after").unwrap_or("0").parse()?;
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    // Even the right password waits while the email is throttled.
    let right = json!({"email": "target@example.com", "password": "contraseña-segura"});
    assert_eq!(
        client
            .post_json("/api/auth/login", None, &right)
            .await?
            .status,
        429
    );
    Ok(())
}

#[tokio::test]
async fn every_kind_of_bad_token_gets_401_with_www_authenticate() -> anyhow::Result<()> {
    let stack = local_stack().await?;
    let api = RunningApi::start(&stack.env).await?;
    let client = Client::new(&api.base_url);
    let player = client.player("tokens@example.com", "Ana", "Cali").await?;
    let parts: Vec<&str> = player.token.split('.').collect();
    let wrong_signature = format!("{}.{}.{}", parts[0], parts[1], "AAAA".repeat(10));
    // {"alg":"none","typ":"JWT"} with the real claims and no signature.
    let alg_none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1]);
    // Signed with the right key but expired: made with a one-second lifetime API.
    let mut short_env = stack.env.clone();
    short_env.insert("TOKEN_LIFETIME_SECONDS".into(), "1".into());
    let short_api = RunningApi::start(&short_env).await?;
    let expired = Client::new(&short_api.base_url)
        .login("tokens@example.com", "contraseña-segura")
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
        let answer = client.get("/api/videos", token.as_deref()).await?;
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
    assert_eq!(
        client.get("/api/videos", Some(&player.token)).await?.status,
        200
    );
    Ok(())
}
