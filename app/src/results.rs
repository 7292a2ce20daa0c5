//! Rounds as the public reads them (the list of rounds, a closed round's frozen standings), kept
//! per instance like the rankings (never older than [`crate::rankings::MAX_STALENESS`]) and read
//! within the public reads' share of the pool; and the freezer every instance runs, which writes
//! a round's standings once it has closed (`platform::rounds::freeze_due`).

use std::sync::Arc;
use std::time::Duration;

use platform::rounds::{self, Round, Standing, StandingsFilter};
use sqlx::PgPool;
use uuid::Uuid;

use crate::fresh_cache::{FreshCache, Freshness};
use crate::reads::{READ_TIMEOUT, ReadBudget};

/// Pages older than this are re-read in the background by the next request that serves them.
const REFRESH_AFTER: Duration = Duration::from_millis(200);
/// At most this many distinct pages are kept (of each kind).
const MAX_PAGES: usize = 1024;
/// How often each instance looks for rounds to freeze.
const FREEZE_INTERVAL: Duration = Duration::from_secs(1);

/// Which page of the rounds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoundsKey {
    pub limit: i64,
    pub offset: i64,
}

/// Which page of a round's standings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StandingsKey {
    pub round: Uuid,
    pub filter: StandingsFilter,
    pub limit: i64,
    pub offset: i64,
}

/// A page and the total its filter holds.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// What a round's standings are, as of the read.
#[derive(Debug)]
pub enum Standings {
    NoRound,
    /// Not frozen yet (scheduled, open or closing): no result to show.
    NotFinal(Round),
    Final {
        round: Round,
        page: Page<Standing>,
    },
}

/// Why a read could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("reading the rounds: {0}")]
    Database(#[from] sqlx::Error),
    #[error("reading the rounds took longer than {READ_TIMEOUT:?}")]
    Timeout,
}

/// The public reads of rounds as this instance serves them; clones share the cache.
#[derive(Clone)]
pub struct Results {
    pool: PgPool,
    budget: ReadBudget,
    rounds: FreshCache<RoundsKey, Page<Round>>,
    standings: FreshCache<StandingsKey, Standings>,
}

impl Results {
    pub fn new(pool: PgPool, budget: ReadBudget) -> Self {
        let freshness = Freshness {
            refresh_after: REFRESH_AFTER,
            max_age: crate::rankings::MAX_STALENESS,
        };
        Self {
            pool,
            budget,
            rounds: FreshCache::new(freshness, MAX_PAGES),
            standings: FreshCache::new(freshness, MAX_PAGES),
        }
    }

    /// Rounds that were not cancelled, the latest opening first.
    pub async fn rounds(&self, key: RoundsKey) -> Result<Arc<Page<Round>>, ResultsError> {
        let (pool, budget) = (self.pool.clone(), self.budget.clone());
        let read = key.clone();
        self.rounds
            .get(key, move || {
                let (pool, budget, key) = (pool.clone(), budget.clone(), read.clone());
                within_budget(budget, async move {
                    let (items, total) = rounds::list(&pool, false, key.limit, key.offset).await?;
                    Ok(Page { items, total })
                })
            })
            .await
    }

    /// A page of a round's standings, once they are final.
    pub async fn standings(&self, key: StandingsKey) -> Result<Arc<Standings>, ResultsError> {
        let (pool, budget) = (self.pool.clone(), self.budget.clone());
        let read = key.clone();
        self.standings
            .get(key, move || {
                let (pool, budget, key) = (pool.clone(), budget.clone(), read.clone());
                within_budget(budget, async move {
                    let round = match rounds::get(&pool, key.round).await? {
                        Some(round) if round.cancelled_at.is_none() => round,
                        _ => return Ok(Standings::NoRound),
                    };
                    if round.frozen_at.is_none() {
                        return Ok(Standings::NotFinal(round));
                    }
                    let (items, total) =
                        rounds::standings(&pool, key.round, &key.filter, key.limit, key.offset)
                            .await?;
                    Ok(Standings::Final {
                        round,
                        page: Page { items, total },
                    })
                })
            })
            .await
    }
}

/// Runs `read` in the public reads' share of the pool, within [`READ_TIMEOUT`].
async fn within_budget<T>(
    budget: ReadBudget,
    read: impl Future<Output = Result<T, ResultsError>>,
) -> Result<T, ResultsError> {
    budget
        .run_in_time(read)
        .await
        .ok_or(ResultsError::Timeout)?
}

/// Freezes each round's standings once it has closed, from every instance (one wins each round),
/// until the process ends.
pub fn spawn_freezer(pool: PgPool) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(FREEZE_INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(error) = rounds::freeze_due(&pool).await {
                tracing::warn!(%error, "freezing closed rounds failed");
            }
        }
    });
}
