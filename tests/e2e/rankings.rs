//! Rankings while votes come in: exact after the staleness bound on every instance, whatever the
//! database connections go through.

use std::time::Duration;

use end_to_end::{Client, Player, RunningApi, types};
use futures_util::future::join_all;
use tokio::time::Instant;

use crate::public::{published_video, vote};
use crate::{LocalBackends, behind_a_pausable_proxy, local_backends};

/// `MAX_STALENESS` of app/src/rankings: every accepted vote is in every page served this long
/// after its answer.
const BOUND: Duration = Duration::from_secs(1);

/// (position, username, votes) of each ranked player.
type Ranked = Vec<(i64, String, i64)>;

fn ranked(rows: Vec<types::RankedPlayer>) -> Ranked {
    rows.into_iter()
        .map(|row| (row.position, row.username, row.votes))
        .collect()
}

/// The ranking as a fresh `SELECT` sees it now: ties share the position of their first.
async fn ranking_from_the_database(
    backends: &LocalBackends,
    city: Option<&str>,
) -> anyhow::Result<Ranked> {
    Ok(sqlx::query_as(
        "SELECT rank() OVER (ORDER BY p.votes DESC), u.first_name || ' ' || u.last_name, p.votes
         FROM player_scores p JOIN users u ON u.id = p.player_id
         WHERE $1::text IS NULL OR p.city_key = lower($1)
         ORDER BY p.votes DESC, p.reached_at, p.player_id",
    )
    .bind(city)
    .fetch_all(&backends.database.pool)
    .await?)
}

async fn ranking_of(client: &Client, city: Option<&str>) -> anyhow::Result<Ranked> {
    Ok(ranked(
        client
            .rankings(city, Some(100), None, None, None)
            .await?
            .ok()?,
    ))
}

/// Players named `<prefix>0…` with one published video each, and fans, every one verified (so
/// their votes count); cities cycle over `cities`.
async fn players_and_fans(
    backends: &LocalBackends,
    client: &Client,
    prefix: &str,
    cities: &[&str],
    players: usize,
    fans: usize,
) -> anyhow::Result<(Vec<(Player, String)>, Vec<Player>)> {
    let mut owners = Vec::new();
    for index in 0..players {
        let city = cities[index % cities.len()];
        let email = format!("{prefix}{index}@example.com");
        let player = backends
            .verified_player(client, &email, &format!("{prefix}{index}"), city)
            .await?;
        let video = published_video(backends, client, &player).await?;
        owners.push((player, video));
    }
    let signups = (0..fans).map(|index| async move {
        let email = format!("{prefix}-fan{index}@example.com");
        backends
            .verified_player(client, &email, "Fan", "Cali")
            .await
    });
    let fans = join_all(signups)
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    Ok((owners, fans))
}

#[tokio::test]
async fn a_burst_of_votes_through_two_instances_leaves_exact_totals_and_shared_positions()
-> anyhow::Result<()> {
    let backends = local_backends().await?;
    // Ten new accounts made on one machine voting for one player is what the holding rules hold;
    // here only the totals are under test.
    let mut env = backends.env.clone();
    crate::without_holding_rules(&mut env);
    let first = RunningApi::start(&env).await?;
    let second = RunningApi::start(&env).await?;
    let instances = [Client::new(&first.base_url), Client::new(&second.base_url)];
    let (owners, fans) = players_and_fans(
        &backends,
        &instances[0],
        "Burst",
        &["Cali", "Bogotá"],
        6,
        10,
    )
    .await?;
    let filters = [None, Some("Cali"), Some("Bogotá")];
    // Both instances hold every page before the burst.
    for client in &instances {
        for city in filters {
            ranking_of(client, city).await?;
        }
    }

    // Every fan votes for some videos (counts that tie), each vote sent through both instances at
    // once: exactly one of the two is accepted.
    let mut attempts = Vec::new();
    for (f, fan) in fans.iter().enumerate() {
        for (v, (_, video)) in owners.iter().enumerate() {
            if (f + v) % 3 != 0 || v == 0 {
                for client in &instances {
                    attempts.push(async move { (v, vote(client, fan, video).await) });
                }
            }
        }
    }
    let mut accepted = vec![0_i64; owners.len()];
    for (video, answer) in join_all(attempts).await {
        let answer = answer?;
        match answer.status {
            200 => accepted[video] += 1,
            400 => assert_eq!(answer.code(), "already_voted"),
            other => anyhow::bail!("a vote answered {other}: {answer:?}"),
        }
    }
    let last_answer = Instant::now();

    // No vote lost: each video and each player counts exactly the votes that were accepted.
    for (index, (_, video)) in owners.iter().enumerate() {
        let (video_votes, score, rows): (i32, i64, i64) = sqlx::query_as(
            "SELECT v.votes, p.votes, (SELECT count(*) FROM votes WHERE video_id = v.id)
             FROM videos v JOIN player_scores p ON p.player_id = v.owner_id WHERE v.id = $1::uuid",
        )
        .bind(video)
        .fetch_one(&backends.database.pool)
        .await?;
        let expected = accepted[index];
        assert_eq!(
            (i64::from(video_votes), score, rows),
            (expected, expected, expected)
        );
    }

    // After the bound both instances serve exactly what the database holds.
    tokio::time::sleep_until(last_answer + BOUND).await;
    for city in filters {
        let truth = ranking_from_the_database(&backends, city).await?;
        assert!(
            truth.windows(2).any(|pair| pair[0].0 == pair[1].0),
            "the data has ties"
        );
        for client in &instances {
            assert_eq!(ranking_of(client, city).await?, truth, "city {city:?}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn under_a_vote_stream_another_instance_shows_each_vote_within_the_bound()
-> anyhow::Result<()> {
    let backends = local_backends().await?;
    let voting = RunningApi::start(&backends.env).await?;
    let reading = RunningApi::start(&backends.env).await?;
    let (voting, reading) = (
        Client::new(&voting.base_url),
        Client::new(&reading.base_url),
    );
    let (owners, fans) = players_and_fans(&backends, &voting, "Stream", &["Cali"], 4, 14).await?;
    let (probes, stream) = fans.split_at(2);

    // The stream: every other fan votes for every video, through the voting instance, paced.
    let streaming = {
        let voting = voting.clone();
        let pairs: Vec<(Player, String)> = stream
            .iter()
            .flat_map(|fan| {
                owners
                    .iter()
                    .map(move |(_, video)| (fan.clone(), video.clone()))
            })
            .collect();
        tokio::spawn(async move {
            for (fan, video) in pairs {
                let answer = vote(&voting, &fan, &video).await?;
                anyhow::ensure!(answer.status == 200, "a stream vote answered {answer:?}");
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
            anyhow::Ok(())
        })
    };

    // The probe: a vote, then the reading instance polled until it shows. Every read that began a
    // bound after the vote's answer must show it; the first that does comes within a wide margin.
    let mut worst = Duration::ZERO;
    for probe in probes {
        for (owner, video) in &owners {
            let votes = vote(&voting, probe, video).await?.ok()?.votes;
            let answered = Instant::now();
            let name = format!("{} Test", owner.email.trim_end_matches("@example.com"));
            loop {
                let began = Instant::now();
                let rows = ranking_of(&reading, Some("Cali")).await?;
                let shown = rows
                    .iter()
                    .any(|(_, username, total)| *username == name && *total >= votes);
                if shown {
                    worst = worst.max(began - answered);
                    break;
                }
                assert!(
                    began < answered + BOUND,
                    "a read {:?} after the vote's answer did not show it",
                    began - answered
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    streaming.await??;
    // The poll interval and one request are the only slack past the bound.
    assert!(
        worst < BOUND + Duration::from_secs(1),
        "worst staleness {worst:?}"
    );
    Ok(())
}

/// One player with a published video in Cali and one fan, on `api`.
async fn one_player_and_a_fan(
    backends: &LocalBackends,
    client: &Client,
) -> anyhow::Result<(String, Player)> {
    let (owners, mut fans) = players_and_fans(backends, client, "Solo", &["Cali"], 1, 1).await?;
    let fan = fans.pop().ok_or_else(|| anyhow::anyhow!("no fan"))?;
    Ok((owners[0].1.clone(), fan))
}

#[tokio::test]
async fn rankings_refresh_after_the_database_drops_every_connection() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let (video, fan) = one_player_and_a_fan(&backends, &client).await?;
    assert_eq!(ranking_of(&client, Some("Cali")).await?[0].2, 0);

    let terminated: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&backends.database.pool)
    .await?;
    assert!(!terminated.is_empty(), "the API had connections to drop");

    // The vote goes through on fresh connections, and the page that was cached before is
    // re-read within the bound.
    vote(&client, &fan, &video).await?.ok()?;
    tokio::time::sleep(BOUND).await;
    assert_eq!(ranking_of(&client, Some("Cali")).await?[0].2, 1);
    Ok(())
}

/// The pool checks a connection before handing it out only when it may have been dropped (idle
/// for long, or idle since a statement found its own dropped): votes and reads that meet a
/// dropped connection first run again on a live one.
#[tokio::test]
async fn votes_and_reads_in_flight_when_the_database_drops_every_connection_all_go_through()
-> anyhow::Result<()> {
    let backends = local_backends().await?;
    // Twenty accounts made on one machine voting for one player is what the holding rules hold;
    // here only the answers are under test.
    let mut env = backends.env.clone();
    crate::without_holding_rules(&mut env);
    let api = RunningApi::start(&env).await?;
    let client = Client::new(&api.base_url);
    let (owners, fans) = players_and_fans(&backends, &client, "Dropped", &["Cali"], 2, 20).await?;
    // Twenty votes at once: the pool holds several connections, idle for a moment.
    for answer in join_all(fans.iter().map(|fan| vote(&client, fan, &owners[0].1))).await {
        answer?.ok()?;
    }

    let terminated: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&backends.database.pool)
    .await?;
    assert!(terminated.len() > 1, "the API had connections to drop");

    // Twenty votes and twenty reads of different pages at once.
    let votes = join_all(fans.iter().map(|fan| vote(&client, fan, &owners[1].1)));
    let reads = join_all(
        (1..=20).map(|limit| client.rankings(Some("Cali"), Some(limit), None, None, None)),
    );
    let (votes, reads) = tokio::join!(votes, reads);
    for answer in votes {
        answer?.ok()?;
    }
    for read in reads {
        let read = read?;
        assert_eq!(read.status, 200, "{read:?}");
    }
    tokio::time::sleep(BOUND).await;
    let totals: Vec<i64> = ranking_of(&client, Some("Cali"))
        .await?
        .iter()
        .map(|(_, _, votes)| *votes)
        .collect();
    assert_eq!(totals, [20, 20]);
    Ok(())
}

#[tokio::test]
async fn a_silent_database_connection_never_serves_a_page_past_the_bound() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    // The API reaches PostgreSQL only through a proxy that can fall silent.
    let (proxy, env) = behind_a_pausable_proxy(&backends).await?;
    let api = RunningApi::start(&env).await?;
    let client = Client::new(&api.base_url);
    one_player_and_a_fan(&backends, &client).await?;
    assert_eq!(ranking_of(&client, Some("Cali")).await?[0].2, 0);

    // Silence, and the scores change behind the API's back.
    proxy.pause();
    sqlx::query("UPDATE player_scores SET votes = votes + 5")
        .execute(&backends.database.pool)
        .await?;
    tokio::time::sleep(BOUND).await;
    let refused = client
        .rankings(Some("Cali"), Some(100), None, None, None)
        .await?;
    assert_eq!(
        (refused.status, refused.code()),
        (503, "rankings_unavailable"),
        "{refused:?}"
    );
    assert_eq!(refused.header("retry-after"), Some("1"));

    // Back to normal: the new scores, without a restart.
    proxy.resume();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = client
            .rankings(Some("Cali"), Some(100), None, None, None)
            .await?;
        if answer.status == 200 {
            assert_eq!(ranked(answer.ok()?)[0].2, 5);
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "still refused: {answer:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

#[tokio::test]
async fn a_page_sized_by_limit_is_what_course_clients_get() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let (owners, fans) = players_and_fans(&backends, &client, "jugador", &["Cali"], 3, 1).await?;
    for (_, video) in &owners {
        assert_eq!(vote(&client, &fans[0], video).await?.status, 200);
    }
    tokio::time::sleep(BOUND).await;
    let page = |query: &'static str| {
        let client = &client;
        async move {
            let answer = client
                .raw(
                    reqwest::Method::GET,
                    &format!("/api/public/rankings?{query}"),
                    None,
                    None,
                )
                .await?;
            anyhow::ensure!(answer.status == 200, "{query}: {answer:?}");
            anyhow::ensure!(answer.header("x-total-count") == Some("3"), "{query}");
            Ok(answer.body.as_array().map_or(0, Vec::len))
        }
    };
    // Two peer suites and Schemathesis ask so: `limit` is the page's size.
    assert_eq!(page("page=1&limit=2").await?, 2);
    assert_eq!(page("page=2&limit=2").await?, 1);
    assert_eq!(page("page=2&limit=2&page_size=2").await?, 1);
    assert_eq!(page("page_size=2").await?, 2);
    Ok(())
}
