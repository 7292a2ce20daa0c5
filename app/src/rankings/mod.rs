//! The ranking of players by votes: one page read as one index-range statement, kept per
//! instance in a cache whose pages are never older than [`MAX_STALENESS`].
//!
//! The trade (docs/architecture.md, "Rankings under votes"): a vote is not seen by every reader at
//! once, but within a stated bound, and in exchange votes and reads never wait on each other.

use std::sync::Arc;
use std::time::Duration;

use poem_openapi::Object;
use sqlx::PgPool;
use uuid::Uuid;

use crate::fresh_cache::{FreshCache, Freshness};
use crate::reads::{READ_TIMEOUT, ReadBudget};

/// Every accepted vote shows in every instance's rankings within this time.
pub const MAX_STALENESS: Duration = Duration::from_secs(1);
/// Pages older than this are re-read in the background by the next request that serves them.
const REFRESH_AFTER: Duration = Duration::from_millis(200);
/// At most this many distinct pages are kept; past it, further pages are read without keeping.
const MAX_PAGES: usize = 4096;

/// One row of the ranking.
#[derive(Debug, Clone, Object)]
pub struct RankedPlayer {
    /// 1 + the number of players (within the filter) with strictly more votes: ties share it.
    pub position: i64,
    /// The player's id (the `sub` of their access token).
    pub player_id: Uuid,
    pub username: String,
    pub city: String,
    pub country: String,
    pub votes: i64,
}

/// Which page: the lower-cased city filter, limit and offset.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub city: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// A ranking page and the total of ranked players within its filter.
#[derive(Debug)]
pub struct RankingPage {
    pub players: Vec<RankedPlayer>,
    pub total: i64,
}

/// Why a page could not be given.
#[derive(Debug, thiserror::Error)]
pub enum RankingsError {
    #[error("reading a ranking page: {0}")]
    Database(#[from] sqlx::Error),
    #[error("reading a ranking page took longer than {READ_TIMEOUT:?}")]
    Timeout,
}

/// The ranking as this instance serves it; clones share the cache.
#[derive(Clone)]
pub struct Rankings {
    pool: PgPool,
    budget: ReadBudget,
    pages: FreshCache<PageKey, RankingPage>,
}

impl Rankings {
    /// Pages read from `pool` within the public reads' `budget`.
    pub fn new(pool: PgPool, budget: ReadBudget) -> Self {
        let freshness = Freshness {
            refresh_after: REFRESH_AFTER,
            max_age: MAX_STALENESS,
        };
        Self {
            pool,
            budget,
            pages: FreshCache::new(freshness, MAX_PAGES),
        }
    }

    /// The page under `key`, at most [`MAX_STALENESS`] old.
    pub async fn page(&self, key: PageKey) -> Result<Arc<RankingPage>, RankingsError> {
        let (pool, budget) = (self.pool.clone(), self.budget.clone());
        let read = key.clone();
        self.pages
            .get(key, move || {
                let (pool, budget, key) = (pool.clone(), budget.clone(), read.clone());
                async move {
                    budget
                        .run_in_time(read_page(&pool, &key))
                        .await
                        .ok_or(RankingsError::Timeout)?
                }
            })
            .await
    }
}

/// One row as the page statement returns it.
#[derive(sqlx::FromRow)]
struct PageRow {
    /// Players with strictly more votes than the page's first row.
    above: i64,
    player_id: Uuid,
    first_name: String,
    last_name: String,
    city: String,
    country: String,
    votes: i64,
    /// Ranked players within the filter.
    total: Option<i64>,
}

/// One page of the ranking from the database, in one statement.
async fn read_page(pool: &PgPool, key: &PageKey) -> Result<RankingPage, RankingsError> {
    let PageKey {
        city,
        limit,
        offset,
    } = key;
    let (limit, offset) = (*limit, *offset);
    // Every part is an index range scan:
    // - the page itself, in ranking order;
    // - `ties_before`: players with the page's first total who rank before its first row.
    //   Everyone ahead of the page has at least that total, so the players with strictly more
    //   votes are `offset − ties_before`, which fixes every position on the page (ties share a
    //   position) without counting the whole ranking;
    // - the page's players' names by primary key, and the total from `listing_counts`.
    // Separate statements for "all cities" and "one city" (not `$3 IS NULL OR …`) so each
    // plan uses its own index.
    let (filter, tie_filter, total_key) = if city.is_some() {
        ("WHERE city_key = $3", "s.city_key = $3 AND", "$3")
    } else {
        ("", "", "''")
    };
    let sql = format!(
        "WITH page AS (
             SELECT player_id, votes, reached_at FROM player_scores {filter}
             ORDER BY votes DESC, reached_at, player_id
             LIMIT $1 OFFSET $2
         ),
         first AS (
             SELECT votes, reached_at, player_id FROM page
             ORDER BY votes DESC, reached_at, player_id LIMIT 1
         ),
         ties_before AS (
             SELECT count(*) AS n FROM player_scores s, first f
             WHERE {tie_filter} s.votes = f.votes
               AND (s.reached_at, s.player_id) < (f.reached_at, f.player_id)
         )
         SELECT $2 - (SELECT n FROM ties_before) AS above, p.player_id, u.first_name, u.last_name, u.city,
                u.country, p.votes,
                (SELECT ranked_players FROM listing_counts WHERE city_key = {total_key}) AS total
         FROM page p
         CROSS JOIN LATERAL (
             -- OFFSET 0 keeps this a per-row primary-key look-up (not a join over all users).
             SELECT first_name, last_name, city, country FROM users WHERE id = p.player_id
             OFFSET 0
         ) u
         ORDER BY p.votes DESC, p.reached_at, p.player_id"
    );
    // One statement that only reads: run again when it met a dropped connection.
    let rows = platform::db::retry_transient(|| {
        let query = sqlx::query_as::<_, PageRow>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(limit)
            .bind(offset);
        let query = match city {
            Some(city) => query.bind(city.clone()),
            None => query,
        };
        query.fetch_all(pool)
    })
    .await?;
    // The total rides along with the page; only a page past the end needs its own look-up.
    let total = match rows.first() {
        Some(row) => row.total.unwrap_or(0),
        None => sqlx::query_scalar("SELECT ranked_players FROM listing_counts WHERE city_key = $1")
            .bind(city.as_deref().unwrap_or(""))
            .fetch_optional(pool)
            .await?
            .unwrap_or(0),
    };
    Ok(RankingPage {
        players: positioned(rows, offset),
        total,
    })
}

/// The page's rows with their positions: the first from the count of players above it, each
/// following one shares its predecessor's position on a tie, else takes its own place.
fn positioned(rows: Vec<PageRow>, offset: i64) -> Vec<RankedPlayer> {
    let mut players = Vec::with_capacity(rows.len());
    let mut previous: Option<(i64, i64)> = None; // (votes, position)
    for (index, row) in rows.into_iter().enumerate() {
        let position = match previous {
            Some((previous_votes, position)) if previous_votes == row.votes => position,
            Some(_) => offset + i64::try_from(index).unwrap_or(0) + 1,
            None => row.above + 1,
        };
        previous = Some((row.votes, position));
        players.push(RankedPlayer {
            position,
            player_id: row.player_id,
            username: format!("{} {}", row.first_name, row.last_name),
            city: row.city,
            country: row.country,
            votes: row.votes,
        });
    }
    players
}
