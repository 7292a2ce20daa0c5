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
    // around: distinct voters, never the owner, each voting from the network it signed up on.
    sqlx::query(
        "INSERT INTO votes (video_id, user_id, created_at, player_id, voter_created_at, network,
                           signup_network, voter_verified)
         SELECT md5('video-' || (r.ord - 1))::uuid, u.id,
                timestamptz '2026-03-01 00:00:00Z' + k * interval '1 second',
                md5('player-' || (r.ord - 1))::uuid, u.created_at, u.signup_network,
                u.signup_network, u.email_verified_at IS NOT NULL
         FROM unnest($1::bigint[]) WITH ORDINALITY AS r(n, ord)
              CROSS JOIN LATERAL generate_series(1, r.n) AS k
              JOIN users u ON u.id = md5('player-' || ((r.ord - 1 + k) % $2))::uuid",
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

/// The seeded staff member (`player0@seed.test`, password [`SEED_PASSWORD`]) who hides videos in
/// [`jury_data`] and reads the moderation queue in the bench's `staff` mix.
pub const SEED_STAFF: &str = "player0@seed.test";

/// What the jury's desk adds to a seeded data set (`cargo xtask bench api --jury <reports>`):
/// `reports` open reports, four per video from the players that follow its owner (below the
/// shipped `REPORTS_TO_HIDE`, so they stay visible and open); one video in fifty hidden by a staff
/// decision (its votes out of the rankings, as `platform::videos::review` does it); and a round
/// over every city that closed yesterday, frozen, beside one open now (so votes still count).
pub async fn jury_data(url: &str, players: u32, reports: u32) -> anyhow::Result<()> {
    const PER_VIDEO: u32 = 4;
    if reports > PER_VIDEO * players || players <= PER_VIDEO {
        bail!(
            "--jury {reports} needs more players: four reports per video, so at least {} players",
            reports.div_ceil(PER_VIDEO).max(PER_VIDEO + 1)
        );
    }
    let pool = sqlx::PgPool::connect(url).await?;
    let actor = platform::audit::Actor::Operator;
    platform::staff::grant(&pool, SEED_STAFF, &actor, "bench").await?;
    let staff_id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(SEED_STAFF)
        .fetch_one(&pool)
        .await?;
    let staff = platform::audit::Actor::Staff {
        id: staff_id,
        email: SEED_STAFF.to_owned(),
    };

    console::step(format!("Open reports: {reports} (four per video)"));
    sqlx::query(
        "INSERT INTO video_reports (video_id, reporter_id, reason, details, counts, created_at)
         SELECT md5('video-' || n / 4)::uuid, md5('player-' || ((n / 4 + 1 + n % 4) % $2))::uuid,
                (ARRAY['inappropriate', 'not_basketball', 'not_the_player', 'copyright'])[n % 4 + 1],
                NULL, true, timestamptz '2026-03-02 00:00:00Z' + n * interval '1 second'
         FROM generate_series(0, $1 - 1) AS n",
    )
    .bind(i64::from(reports))
    .bind(i64::from(players))
    .execute(&pool)
    .await?;

    let hidden: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT md5('video-' || i)::uuid FROM generate_series(1, $1 - 1, 50) AS i",
    )
    .bind(i64::from(players))
    .fetch_all(&pool)
    .await?;
    console::step(format!("Hidden by staff: {} videos", hidden.len()));
    for video in hidden {
        platform::videos::review::decide(
            &pool,
            video,
            platform::videos::review::Decision::Hide,
            &staff,
            "bench",
        )
        .await?;
    }

    console::step("Rounds: one closed yesterday (frozen), one open until tomorrow");
    sqlx::query(
        "INSERT INTO rounds (name, opens_at, closes_at, finalists_per_city, created_by) VALUES
             ('Ronda cerrada', now() - interval '3 days', now() - interval '1 day', 3, $1),
             ('Ronda abierta', now() - interval '1 hour', now() + interval '1 day', 3, $1)",
    )
    .bind(staff_id)
    .execute(&pool)
    .await?;
    let frozen = platform::rounds::freeze_due(&pool).await?;
    anyhow::ensure!(frozen.len() == 1, "the closed round was not frozen");
    pool.close().await;
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
