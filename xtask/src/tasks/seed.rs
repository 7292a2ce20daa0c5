//! `cargo xtask seed`: a deterministic synthetic data set for benchmarks and demos — players over
//! ten cities, one published video each, Zipf-skewed votes — generated inside PostgreSQL.
//!
//! Every player's password is `SEED_PASSWORD`, so load tests can log in as `player<i>@seed.test`.

use std::time::Instant;

use anyhow::bail;
use argon2::password_hash::PasswordHasher;
use sqlx::{Connection, PgConnection};

use crate::console;
use crate::env::postgres::Postgres;
use crate::flags::SeedArgs;

/// The password of every seeded player (synthetic accounts on a local database only).
pub const SEED_PASSWORD: &str = "seed-password-123";

const CITIES: [&str; 10] = [
    "Bogotá",
    "Medellín",
    "Cali",
    "Barranquilla",
    "Cartagena",
    "Bucaramanga",
    "Pereira",
    "Manizales",
    "Santa Marta",
    "Cúcuta",
];

/// Votes per video: Zipf with s = 1 over the video ranks, scaled to `total`, each capped at the
/// number of possible voters (every other player).
fn zipf_counts(players: u32, total: u64) -> Vec<i64> {
    let harmonic: f64 = (1..=players).map(|rank| 1.0 / f64::from(rank)).sum();
    let cap = i64::from(players.saturating_sub(1));
    let mut counts: Vec<i64> = (1..=players)
        .map(|rank| ((total as f64 / harmonic / f64::from(rank)).round() as i64).min(cap))
        .collect();
    // Hand the rounding and capping difference to the videos with room, in rank order.
    let mut missing = i64::try_from(total).unwrap_or(i64::MAX) - counts.iter().sum::<i64>();
    for count in counts.iter_mut() {
        if missing <= 0 {
            break;
        }
        let room = cap - *count;
        let add = room.min(missing);
        *count += add;
        missing -= add;
    }
    counts
}

/// `players` players (`player<i>@seed.test`, password [`SEED_PASSWORD`], ten cities), each with
/// one published video; ids derive from the index (md5 as uuid), so every run makes the same data.
pub async fn players_with_videos(db: &mut PgConnection, players: i64) -> anyhow::Result<()> {
    let hash = tokio::task::spawn_blocking(|| {
        argon2::Argon2::default()
            .hash_password(SEED_PASSWORD.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|error| anyhow::anyhow!("hashing the seed password: {error}"))
    })
    .await??;
    platform::videos::bulk::seed_players(db, players, &hash, &CITIES).await?;
    platform::videos::bulk::seed_published(db, players).await?;
    Ok(())
}

pub async fn run(args: SeedArgs) -> anyhow::Result<()> {
    if args.demo {
        return crate::tasks::demo::run().await;
    }
    if args.players < 2 {
        bail!("--players must be at least 2 (nobody may vote for their own video)");
    }
    let most = u64::from(args.players) * u64::from(args.players - 1);
    if args.votes > most {
        bail!(
            "--votes can be at most {most} for {} players (one vote per player per video)",
            args.players
        );
    }
    if !args
        .database
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        bail!("--database must be a plain name (letters, digits, underscores)");
    }
    let started = Instant::now();
    let postgres = Postgres::ensure().await?;
    console::step(format!("Recreating database {}", args.database));
    postgres.drop_database(&args.database).await?;
    postgres.migrated(&args.database).await?.close().await;
    let url = postgres.url(&args.database);
    let mut db = PgConnection::connect(&url).await?;

    console::step(format!("Players and videos: {}", args.players));
    players_with_videos(&mut db, i64::from(args.players)).await?;

    console::step(format!("Votes: {} (Zipf, s = 1)", args.votes));
    let counts = zipf_counts(args.players, args.votes);
    // Video of rank r (index r - 1) gets its votes from the players that follow it, wrapping
    // around: distinct voters, never the owner.
    sqlx::query(
        "INSERT INTO votes (video_id, user_id, created_at, player_id, voter_created_at)
         SELECT md5('video-' || (r.ord - 1))::uuid, md5('player-' || ((r.ord - 1 + k) % $2))::uuid,
                timestamptz '2026-03-01 00:00:00Z' + k * interval '1 second',
                md5('player-' || (r.ord - 1))::uuid, timestamptz '2026-01-01 00:00:00Z'
         FROM unnest($1::bigint[]) WITH ORDINALITY AS r(n, ord),
              LATERAL generate_series(1, r.n) AS k",
    )
    .bind(&counts)
    .bind(i64::from(args.players))
    .execute(&mut db)
    .await?;
    platform::videos::bulk::recount_votes(&mut db).await?;
    platform::videos::bulk::rank_seeded(&mut db).await?;
    let votes: i64 = sqlx::query_scalar("SELECT count(*) FROM votes")
        .fetch_one(&mut db)
        .await?;
    console::step("Seeded");
    console::note(format!("database:  {url}"));
    console::note(format!(
        "players:   {} (player0@seed.test … player{}@seed.test, password {SEED_PASSWORD})",
        args.players,
        args.players - 1
    ));
    console::note(format!("votes:     {votes}"));
    console::note(format!(
        "took:      {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::zipf_counts;

    #[test]
    fn zipf_counts_sum_to_the_total_and_respect_the_cap() {
        let counts = zipf_counts(2000, 200_000);
        assert_eq!(counts.iter().sum::<i64>(), 200_000);
        assert!(counts.iter().all(|&n| (0..=1999).contains(&n)));
        // Ranked: capping and handing out the remainder in rank order keep it non-increasing.
        assert!(counts.windows(2).all(|w| w[0] >= w[1]));
        assert_eq!(zipf_counts(3, 6), vec![2, 2, 2]);
    }
}
