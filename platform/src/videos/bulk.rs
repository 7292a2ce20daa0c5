//! Whole-table changes for the developer tools only (`cargo xtask seed`, `bench`, `loadtest`):
//! a ranked data set in a few set-based statements, and an empty table before a measured run.

use sqlx::{PgConnection, PgPool};

/// Deletes every video (their outbox records go with them). Returns how many.
pub async fn delete_all(pool: &PgPool) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM videos")
        .execute(pool)
        .await?
        .rows_affected())
}

/// Players `0..players` (ids `md5('player-' || i)`, `player<i>@seed.test`, every one with
/// `password_hash`; cities cycle over `cities`), created a second apart from 2026-01-01, each
/// signed up from an address of its own in the benchmarking range 198.18.0.0/15.
pub async fn seed_players(
    connection: &mut PgConnection,
    players: i64,
    password_hash: &str,
    cities: &[&str],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, first_name, last_name, city, country, created_at,
                            signup_network)
         SELECT md5('player-' || i)::uuid, 'player' || i || '@seed.test', $2,
                'Jugador', 'Número ' || i, ($3::text[])[1 + i % cardinality($3::text[])], 'Colombia',
                timestamptz '2026-01-01 00:00:00Z' + i * interval '1 second',
                '198.' || 18 + i / 65536 % 2 || '.' || i / 256 % 256 || '.' || i % 256
         FROM generate_series(0, $1 - 1) AS i",
    )
    .bind(players)
    .bind(password_hash)
    .bind(cities)
    .execute(connection)
    .await?;
    Ok(())
}

/// One processed, published video for each seeded player `0..players` (ids `md5('video-' || i)`
/// owned by `md5('player-' || i)`), with files under `seed/<i>/` that no storage holds.
pub async fn seed_published(
    connection: &mut PgConnection,
    players: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO videos (id, owner_id, title, status, publish_requested, published_at,
                             original_key, processed_key, poster_key, duration_ms, width, height,
                             size_bytes, video_codec, uploaded_at, processed_at)
         SELECT md5('video-' || i)::uuid, md5('player-' || i)::uuid, 'Jugada ' || i, 'processed', true,
                t + interval '1 minute', 'seed/' || i || '/original.mp4', 'seed/' || i || '/processed.mp4',
                'seed/' || i || '/poster.jpg', 30000, 1920, 1080, 50000000, 'h264', t, t + interval '1 minute'
         FROM generate_series(0, $1 - 1) AS i,
              LATERAL (SELECT timestamptz '2026-02-01 00:00:00Z' + i * interval '10 seconds' AS t) AS at",
    )
    .bind(players)
    .execute(connection)
    .await?;
    Ok(())
}

/// Sets every video's vote count, and the holding rules' tallies per player and network, from
/// the `votes` rows (after votes were inserted in bulk), as the votes would have left them.
pub async fn recount_votes(connection: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(
        "UPDATE videos v SET votes = c.n
         FROM (SELECT video_id, count(*) AS n FROM votes WHERE state = 'counted' GROUP BY video_id) c
         WHERE v.id = c.video_id;
         DELETE FROM network_votes;
         INSERT INTO network_votes (player_id, network, counted)
         SELECT player_id, network, count(*) FROM votes WHERE state = 'counted'
         GROUP BY player_id, network;
         DELETE FROM signup_network_votes;
         INSERT INTO signup_network_votes (player_id, network, counted)
         SELECT player_id, signup_network, count(*) FROM votes
         WHERE state = 'counted' AND signup_network IS NOT NULL
         GROUP BY player_id, signup_network;",
    )
    .execute(connection)
    .await?;
    Ok(())
}

/// Ranks every player with a video by its votes as seeded, and sets the listing totals (after the
/// votes are in, on a database that had none).
pub async fn rank_seeded(connection: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(
        "INSERT INTO player_scores (player_id, city_key, votes, reached_at)
         SELECT v.owner_id, lower(u.city), v.votes, v.published_at + v.votes * interval '1 second'
         FROM videos v JOIN users u ON u.id = v.owner_id;
         INSERT INTO listing_counts (city_key, ranked_players, published_videos)
         SELECT lower(u.city), count(*), count(*) FROM videos v JOIN users u ON u.id = v.owner_id
         GROUP BY lower(u.city)
         UNION ALL SELECT '', count(*), count(*) FROM videos;
         ANALYZE;",
    )
    .execute(connection)
    .await?;
    Ok(())
}
