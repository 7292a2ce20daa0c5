//! Many people behind one address at once (a stadium's Wi-Fi, a school, a carrier's NAT on voting
//! night), and the same account from several places: what a crowd must get through, and what an
//! attacker behind one address still cannot. Every request here comes from 127.0.0.1.

use std::collections::HashMap;

use end_to_end::{Client, PASSWORD, RunningApi, login_request, signup_request, types};
use futures_util::future::join_all;

use crate::local_backends;

/// Signs up `count` accounts named `<prefix><n>@example.com`; returns their emails.
async fn accounts(client: &Client, prefix: &str, count: usize) -> anyhow::Result<Vec<String>> {
    let mut emails = Vec::new();
    for index in 0..count {
        let email = format!("{prefix}{index}@example.com");
        client
            .signup(&signup_request(&email, "Ana", "Cali"))
            .await?
            .ok()?;
        emails.push(email);
    }
    Ok(emails)
}

/// Sends every login at once; returns each answer's status, in order.
async fn all_at_once(client: &Client, logins: &[types::LoginRequest]) -> anyhow::Result<Vec<u16>> {
    join_all(logins.iter().map(|body| client.login(body)))
        .await
        .into_iter()
        .map(|answer| Ok(answer?.status))
        .collect()
}

fn counts(statuses: &[u16]) -> HashMap<u16, usize> {
    let mut counts = HashMap::new();
    for status in statuses {
        *counts.entry(*status).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn two_hundred_parallel_correct_logins_for_five_accounts_all_succeed() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let emails = accounts(&client, "fan", 5).await?;
    // Forty logins per account at once: eight times LOGIN_MAX_FAILURES_PER_EMAIL, ten times
    // LOGIN_MAX_FAILURES_PER_CLIENT, twice the hashing queue.
    let logins: Vec<_> = (0..200)
        .map(|index| login_request(&emails[index % 5], PASSWORD))
        .collect();
    let statuses = all_at_once(&client, &logins).await?;
    assert_eq!(counts(&statuses), HashMap::from([(200, 200)]));
    Ok(())
}

#[tokio::test]
async fn a_wrong_password_among_two_hundred_correct_logins_refuses_only_itself()
-> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let emails = accounts(&client, "fan", 5).await?;
    let mut logins: Vec<_> = (0..200)
        .map(|index| login_request(&emails[index % 5], PASSWORD))
        .collect();
    // The typo goes in the middle of the burst, for the first account.
    logins.insert(100, login_request(&emails[0], "contraseña-mal-escrita"));
    let statuses = all_at_once(&client, &logins).await?;
    assert_eq!(statuses[100], 401, "the wrong password");
    let mut correct = statuses;
    correct.remove(100);
    assert_eq!(counts(&correct), HashMap::from([(200, 200)]));
    Ok(())
}

#[tokio::test]
async fn two_hundred_parallel_logins_through_two_api_instances_all_succeed() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let first = RunningApi::start(&backends.env).await?;
    let second = RunningApi::start(&backends.env).await?;
    let clients = [Client::new(&first.base_url), Client::new(&second.base_url)];
    let emails = accounts(&clients[0], "hincha", 5).await?;
    // Each instance lets five logins of an account through at once; the database lets five in
    // all, so half of them find the account's places taken by the other instance and wait.
    let answers = join_all((0..200).map(|index| {
        let client = &clients[index % 2];
        let body = login_request(&emails[(index / 2) % 5], PASSWORD);
        async move { client.login(&body).await }
    }))
    .await;
    let statuses: Vec<u16> = answers
        .into_iter()
        .map(|answer| Ok(answer?.status))
        .collect::<anyhow::Result<_>>()?;
    assert_eq!(counts(&statuses), HashMap::from([(200, 200)]));
    Ok(())
}

#[tokio::test]
async fn typos_followed_by_the_right_password_never_lock_out_a_shared_address() -> anyhow::Result<()>
{
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    // Twenty-five people behind one address, more than LOGIN_MAX_FAILURES_PER_CLIENT (20), each
    // mistyping once and then getting it right.
    let emails = accounts(&client, "socio", 26).await?;
    for email in &emails[..25] {
        let typo = client
            .login(&login_request(email, "contrasena-segura"))
            .await?;
        assert_eq!(typo.status, 401, "{email}");
        let right = client.login(&login_request(email, PASSWORD)).await?;
        assert_eq!(right.status, 200, "{email}: {right:?}");
    }
    // And someone who has not tried yet still gets in.
    let last = client.login(&login_request(&emails[25], PASSWORD)).await?;
    assert_eq!(last.status, 200, "{last:?}");
    Ok(())
}

#[tokio::test]
async fn guesses_over_many_accounts_from_one_address_are_still_throttled() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let emails = accounts(&client, "victima", 2).await?;
    // Credential stuffing: one guess each for a hundred accounts, all at once. Only
    // LOGIN_MAX_FAILURES_PER_CLIENT (20) of them reach the hash.
    let guesses: Vec<_> = (0..100)
        .map(|index| login_request(&format!("cuenta{index}@example.com"), "123456789"))
        .collect();
    let statuses = all_at_once(&client, &guesses).await?;
    assert_eq!(
        counts(&statuses),
        HashMap::from([(401, 20), (429, 80)]),
        "{statuses:?}"
    );
    // A correct login that forgives its own typos does not forgive anyone else's: the address
    // stays throttled, even for a right password.
    let right = client.login(&login_request(&emails[0], PASSWORD)).await?;
    assert_eq!(right.status, 429, "{right:?}");
    assert_eq!(right.code(), "too_many_attempts");
    Ok(())
}

/// A signup sent as if CloudFront saw it come from `address`; returns the status.
async fn signup_from(client: &Client, address: &str, email: &str) -> anyhow::Result<u16> {
    let answer = client
        .http
        .post(client.url("/api/auth/signup"))
        .header("CloudFront-Viewer-Address", format!("[{address}]:443"))
        .json(&signup_request(email, "Ana", "Cali"))
        .send()
        .await?;
    Ok(answer.status().as_u16())
}

#[tokio::test]
async fn an_ipv6_client_is_its_64_and_signups_count_before_the_email_is_looked_up()
-> anyhow::Result<()> {
    let backends = local_backends().await?;
    let mut env = backends.env.clone();
    env.insert(
        "CLIENT_ADDRESS_HEADER".into(),
        "CloudFront-Viewer-Address".into(),
    );
    env.insert("SIGNUP_MAX_PER_CLIENT".into(), "3".into());
    let api = RunningApi::start(&env).await?;
    let client = Client::new(&api.base_url);
    // Three addresses of one /64 share its three signups: rotating through 2^64 addresses buys
    // nothing. A taken email counts too, so they cannot be used to test which emails exist.
    for (address, email, status) in [
        ("2001:db8:0:1::1", "uno@example.com", 201),
        ("2001:db8:0:1::2", "uno@example.com", 400),
        ("2001:db8:0:1:ffff::3", "dos@example.com", 201),
        ("2001:db8:0:1::4", "tres@example.com", 429),
        ("2001:db8:0:1::5", "uno@example.com", 429),
        // The next /64 is somebody else.
        ("2001:db8:0:2::1", "tres@example.com", 201),
    ] {
        assert_eq!(
            signup_from(&client, address, email).await?,
            status,
            "{address} {email}"
        );
    }
    Ok(())
}
