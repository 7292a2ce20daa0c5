//! A crawler walking deep pages while votes flow: public reads take their share of the database
//! pool and no more, so every vote still finds a connection. Listed in docs/reliability.md.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use end_to_end::{Client, RunningApi};
use futures_util::future::join_all;
use platform::videos::bulk;
use reqwest::Method;

use crate::local_backends;

/// Seeded players, one published video each: deep pages cost the database every row before them.
const PLAYERS: i64 = 20_000;
const FANS: usize = 40;
const VOTES_PER_FAN: usize = 25;
const READERS: usize = 60;
const READS_PER_READER: usize = 60;

/// A small deterministic generator (the test needs spread, not secrecy).
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// A public page at a random depth: a ranking (all cities or one) or a showcase list page.
fn random_page(state: &mut u64) -> String {
    let limit = [20, 50, 100][(next(state) % 3) as usize];
    let offset = next(state) % (10_000 - limit + 1);
    match next(state) % 3 {
        0 => format!("/api/public/rankings?limit={limit}&offset={offset}"),
        1 => format!(
            "/api/public/rankings?city=cali&limit={limit}&offset={}",
            offset / 3
        ),
        _ => format!("/api/public/videos?limit={limit}&offset={offset}"),
    }
}

#[tokio::test]
async fn thousands_of_random_deep_page_reads_never_keep_a_vote_from_the_database()
-> anyhow::Result<()> {
    let backends = local_backends().await?;
    {
        let mut db = backends.database.pool.acquire().await?;
        bulk::seed_players(&mut db, PLAYERS, "unused", &["Cali", "Bogotá", "Medellín"]).await?;
        bulk::seed_published(&mut db, PLAYERS).await?;
        bulk::rank_seeded(&mut db).await?;
    }
    let mut env = backends.env.clone();
    for (name, value) in [
        // The stack's pool size.
        ("DATABASE_MAX_CONNECTIONS", "5"),
        // Forty fans from one address, voting at a load generator's pace.
        ("SIGNUP_MAX_PER_CLIENT", "1000"),
        ("VOTE_MAX_PER_ACCOUNT_PER_MINUTE", "1000"),
        ("VOTE_MAX_PER_NETWORK_PER_HOUR", "100000"),
        ("EMAIL_VERIFICATION", "off"),
    ] {
        env.insert(name.into(), value.into());
    }
    let api = RunningApi::start(&env).await?;
    let client = Client::new(&api.base_url);
    let fans = join_all((0..FANS).map(|index| {
        let client = client.clone();
        async move {
            client
                .player(&format!("fan{index}@example.com"), "Fan", "Cali")
                .await
        }
    }))
    .await
    .into_iter()
    .collect::<anyhow::Result<Vec<_>>>()?;
    let videos: Vec<String> =
        sqlx::query_scalar("SELECT id::text FROM videos ORDER BY md5(id::text) LIMIT $1")
            .bind(VOTES_PER_FAN as i64)
            .fetch_all(&backends.database.pool)
            .await?;

    let reading = join_all((0..READERS).map(|reader| {
        let client = client.clone();
        async move {
            let mut state = 0x9E37_79B9_7F4A_7C15 ^ (reader as u64 + 1);
            let mut statuses = Vec::with_capacity(READS_PER_READER);
            for _ in 0..READS_PER_READER {
                let page = random_page(&mut state);
                statuses.push(client.raw(Method::GET, &page, None, None).await?.status);
            }
            anyhow::Ok(statuses)
        }
    }));
    let voting = join_all(fans.iter().map(|fan| {
        let (client, videos) = (client.clone(), videos.clone());
        async move {
            let mut answers = Vec::with_capacity(videos.len());
            for video in &videos {
                let started = Instant::now();
                let status = client.vote(Some(&fan.token), video).await?.status;
                answers.push((status, started.elapsed()));
            }
            anyhow::Ok(answers)
        }
    }));
    let (reads, votes) = tokio::join!(reading, voting);

    let mut read_statuses: HashMap<u16, usize> = HashMap::new();
    for status in reads
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()?
        .concat()
    {
        *read_statuses.entry(status).or_default() += 1;
    }
    let votes = votes
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()?
        .concat();
    let mut latencies: Vec<Duration> = votes.iter().map(|(_, took)| *took).collect();
    latencies.sort_unstable();
    eprintln!(
        "reads by status {read_statuses:?}; {} votes, p50 {:?}, p95 {:?}, max {:?}",
        votes.len(),
        latencies[latencies.len() / 2],
        latencies[latencies.len() * 95 / 100],
        latencies[latencies.len() - 1],
    );
    // Every vote answered and counted.
    assert!(votes.iter().all(|(status, _)| *status == 200), "{votes:?}");
    let counted: i64 = sqlx::query_scalar("SELECT count(*) FROM votes")
        .fetch_one(&backends.database.pool)
        .await?;
    assert_eq!(counted, (FANS * VOTES_PER_FAN) as i64);
    // The reads were served, or turned away with a 503 a client retries: nothing else.
    let served = read_statuses.get(&200).copied().unwrap_or(0);
    let turned_away = read_statuses.get(&503).copied().unwrap_or(0);
    assert_eq!(
        served + turned_away,
        READERS * READS_PER_READER,
        "{read_statuses:?}"
    );
    assert!(
        served * 10 >= READERS * READS_PER_READER * 9,
        "{read_statuses:?}"
    );
    Ok(())
}
