//! Voting rounds: the windows in which votes count, and their frozen results.
//!
//! Staff create a round (name, opening and closing times, the cities it covers or all, finalists
//! per city), may cancel it before it opens or close it early, and every change is in the audit
//! log. Once any round that was not cancelled exists, a vote counts only inside an open round of
//! its player's city (the vote's own statement checks it: `videos::votes::cast`); with none,
//! voting is open as the course's contract has it.
//!
//! After a round closes, [`freeze_due`] (run by every API instance every second; one wins each
//! round) writes its standings to `round_standings`: every ranked player of each city it covers,
//! positioned by the ranking's rule (ties share a position), the top N of each city with at least
//! one vote marked as finalists (a tie at the cut makes every tied player one). Votes are never
//! reset: the standings are the players' totals at the close. The rows are frozen (a trigger
//! refuses changes), so later votes, reports and deletions never change a result.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::audit::{self, Action, Actor};

/// A round is frozen at least this long after it closes, so that every vote whose statement began
/// before the close (and so was accepted) has committed: see [`freeze_due`].
pub const FREEZE_GRACE: std::time::Duration = std::time::Duration::from_secs(1);
/// ...and at most this long after, even if some transaction that began before the close is
/// still open (a vote's statement takes milliseconds; this is a session left idle in a
/// transaction).
const FREEZE_WAIT_LIMIT_SECONDS: f64 = 30.0;
/// Serialises round creations, so that two overlapping rounds cannot both pass the check.
const ROUNDS_LOCK: i64 = 0x726f_756e_6473;

/// A round's state at the time of reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundState {
    /// Not open yet.
    Scheduled,
    /// Votes for its cities count.
    Open,
    /// Closed; its standings are being frozen (within seconds).
    Closing,
    /// Closed and frozen: its standings and finalists are final.
    Closed,
    /// Withdrawn before it opened.
    Cancelled,
}

impl RoundState {
    fn parse(state: &str) -> Self {
        match state {
            "scheduled" => Self::Scheduled,
            "open" => Self::Open,
            "closing" => Self::Closing,
            "closed" => Self::Closed,
            _ => Self::Cancelled,
        }
    }
}

/// A round as staff and the public see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Round {
    pub id: Uuid,
    pub name: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// The cities it covers as staff wrote them; `None`: all cities.
    pub cities: Option<Vec<String>>,
    pub finalists_per_city: i32,
    pub state: RoundState,
    pub created_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub frozen_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct RoundRow {
    id: Uuid,
    name: String,
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
    cities: Option<Vec<String>>,
    finalists_per_city: i32,
    state: String,
    created_at: DateTime<Utc>,
    cancelled_at: Option<DateTime<Utc>>,
    frozen_at: Option<DateTime<Utc>>,
}

impl From<RoundRow> for Round {
    fn from(row: RoundRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            opens_at: row.opens_at,
            closes_at: row.closes_at,
            cities: row.cities,
            finalists_per_city: row.finalists_per_city,
            state: RoundState::parse(&row.state),
            created_at: row.created_at,
            cancelled_at: row.cancelled_at,
            frozen_at: row.frozen_at,
        }
    }
}

/// The columns of [`RoundRow`], its state as of the statement's `now()`.
const ROUND_COLUMNS: &str = "id, name, opens_at, closes_at, cities, finalists_per_city,
     CASE WHEN cancelled_at IS NOT NULL THEN 'cancelled'
          WHEN frozen_at IS NOT NULL THEN 'closed'
          WHEN now() < opens_at THEN 'scheduled'
          WHEN now() < closes_at THEN 'open'
          ELSE 'closing' END AS state,
     created_at, cancelled_at, frozen_at";

/// A round to create, checked by the caller (name, times, cities, finalists within bounds).
#[derive(Debug, Clone)]
pub struct NewRound {
    pub name: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// Distinct by lower-case; `None`: all cities.
    pub cities: Option<Vec<String>>,
    pub finalists_per_city: i32,
}

/// What creating a round did.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    Created {
        round: Round,
        entry: i64,
    },
    /// It closes before the database's clock: a round must end in the future.
    ClosesInPast,
    /// Its window overlaps this round's, which covers one of its cities (or all).
    Overlaps(Box<Round>),
}

/// Creates a round, unless it overlaps a round that is not cancelled and shares a city with it
/// (two windows for one city would make "the round" of a vote ambiguous).
pub async fn create(pool: &PgPool, new: &NewRound, actor: &Actor) -> Result<Created, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(ROUNDS_LOCK)
        .execute(&mut *tx)
        .await?;
    let keys = new.cities.as_ref().map(|cities| {
        cities
            .iter()
            .map(|city| city.to_lowercase())
            .collect::<Vec<_>>()
    });
    let in_past: bool = sqlx::query_scalar("SELECT $1 <= now()")
        .bind(new.closes_at)
        .fetch_one(&mut *tx)
        .await?;
    if in_past {
        return Ok(Created::ClosesInPast);
    }
    let overlapping: Option<RoundRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ROUND_COLUMNS} FROM rounds
         WHERE cancelled_at IS NULL AND opens_at < $2 AND $1 < closes_at
           AND (city_keys IS NULL OR $3::text[] IS NULL OR city_keys && $3)
         ORDER BY opens_at LIMIT 1"
    )))
    .bind(new.opens_at)
    .bind(new.closes_at)
    .bind(&keys)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(round) = overlapping {
        return Ok(Created::Overlaps(Box::new(round.into())));
    }
    let row: RoundRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO rounds (name, opens_at, closes_at, cities, city_keys, finalists_per_city,
                             created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING {ROUND_COLUMNS}"
    )))
    .bind(&new.name)
    .bind(new.opens_at)
    .bind(new.closes_at)
    .bind(&new.cities)
    .bind(&keys)
    .bind(new.finalists_per_city)
    .bind(actor.id())
    .fetch_one(&mut *tx)
    .await?;
    let details = serde_json::json!({
        "name": new.name,
        "opens_at": new.opens_at,
        "closes_at": new.closes_at,
        "cities": new.cities,
        "finalists_per_city": new.finalists_per_city,
    });
    let entry = audit::record(
        &mut tx,
        actor,
        Action::RoundCreated,
        row.id,
        &new.name,
        details,
    )
    .await?;
    tx.commit().await?;
    Ok(Created::Created {
        round: row.into(),
        entry,
    })
}

/// Rounds, the latest opening first, cancelled ones only with `include_cancelled`; and how many.
pub async fn list(
    pool: &PgPool,
    include_cancelled: bool,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Round>, i64), sqlx::Error> {
    let rows: Vec<RoundRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ROUND_COLUMNS} FROM rounds WHERE $1 OR cancelled_at IS NULL
         ORDER BY opens_at DESC, id LIMIT $2 OFFSET $3"
    )))
    .bind(include_cancelled)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar("SELECT count(*) FROM rounds WHERE $1 OR cancelled_at IS NULL")
        .bind(include_cancelled)
        .fetch_one(pool)
        .await?;
    Ok((rows.into_iter().map(Round::from).collect(), total))
}

/// One round, cancelled or not.
pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<Round>, sqlx::Error> {
    let row: Option<RoundRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ROUND_COLUMNS} FROM rounds WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(Round::from))
}

/// When voting for a player of `city_key` next opens: the earliest opening of a round covering it
/// that has not opened yet.
pub async fn next_opening(
    pool: &PgPool,
    city_key: Option<&str>,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT min(opens_at) FROM rounds
         WHERE cancelled_at IS NULL AND opens_at > now()
           AND (city_keys IS NULL OR $1 = ANY (city_keys))",
    )
    .bind(city_key)
    .fetch_one(pool)
    .await
}

/// What a staff decision on a round did.
#[derive(Debug, Clone, PartialEq)]
pub enum Changed {
    NotFound,
    /// The round is not in a state the decision applies to (closing early: open; cancelling:
    /// scheduled); its state now.
    NotApplicable(RoundState),
    Done {
        round: Round,
        entry: i64,
    },
}

/// Closes an open round now: votes for its cities are refused from this statement on, and its
/// standings are frozen within [`FREEZE_GRACE`] and the next pass of [`freeze_due`].
pub async fn close_early(
    pool: &PgPool,
    id: Uuid,
    actor: &Actor,
    reason: &str,
) -> Result<Changed, sqlx::Error> {
    change(
        pool,
        id,
        actor,
        reason,
        Action::RoundClosedEarly,
        "UPDATE rounds SET closes_at = now()
         WHERE id = $1 AND cancelled_at IS NULL AND opens_at <= now() AND now() < closes_at",
    )
    .await
}

/// Cancels a round that has not opened yet.
pub async fn cancel(
    pool: &PgPool,
    id: Uuid,
    actor: &Actor,
    reason: &str,
) -> Result<Changed, sqlx::Error> {
    change(
        pool,
        id,
        actor,
        reason,
        Action::RoundCancelled,
        "UPDATE rounds SET cancelled_at = now()
         WHERE id = $1 AND cancelled_at IS NULL AND now() < opens_at",
    )
    .await
}

async fn change(
    pool: &PgPool,
    id: Uuid,
    actor: &Actor,
    reason: &str,
    action: Action,
    update: &'static str,
) -> Result<Changed, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let changed = sqlx::query(update)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let row: Option<RoundRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ROUND_COLUMNS} FROM rounds WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(Changed::NotFound);
    };
    let round = Round::from(row);
    if changed == 0 {
        return Ok(Changed::NotApplicable(round.state));
    }
    let entry = audit::record(
        &mut tx,
        actor,
        action,
        id,
        reason,
        serde_json::json!({ "name": round.name, "closes_at": round.closes_at }),
    )
    .await?;
    tx.commit().await?;
    Ok(Changed::Done { round, entry })
}

/// Freezes every round that closed at least [`FREEZE_GRACE`] ago and is not frozen yet; returns
/// the rounds it froze. Safe to run from every instance at once: each round is frozen by one
/// (`FOR UPDATE SKIP LOCKED`), and a frozen round is never frozen again.
///
/// A vote is accepted when its statement's `now()` (its start) is before the close; so the round
/// waits until no transaction that began before its close is still running (of this database
/// role: the API's, which casts every vote), at most [`FREEZE_WAIT_LIMIT_SECONDS`]. Every vote a
/// client was told counted is then in the totals the standings copy.
pub async fn freeze_due(pool: &PgPool) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut frozen = Vec::new();
    loop {
        let mut tx = pool.begin().await?;
        let due: Option<(Uuid, i32, Option<Vec<String>>, String)> = sqlx::query_as(
            "SELECT r.id, r.finalists_per_city, r.city_keys, r.name FROM rounds r
             WHERE r.cancelled_at IS NULL AND r.frozen_at IS NULL
               AND r.closes_at <= now() - make_interval(secs => $1)
               AND (r.closes_at <= now() - make_interval(secs => $2)
                    OR NOT EXISTS (
                        SELECT 1 FROM pg_stat_activity a
                        WHERE a.datname = current_database() AND a.usename = current_user
                          AND a.pid <> pg_backend_pid() AND a.xact_start < r.closes_at))
             ORDER BY r.closes_at LIMIT 1
             FOR UPDATE OF r SKIP LOCKED",
        )
        .bind(FREEZE_GRACE.as_secs_f64())
        .bind(FREEZE_WAIT_LIMIT_SECONDS)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, finalists_per_city, city_keys, name)) = due else {
            return Ok(frozen);
        };
        let (players, finalists) =
            write_standings(&mut tx, id, finalists_per_city, &city_keys).await?;
        sqlx::query("UPDATE rounds SET frozen_at = greatest(now(), closes_at) WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            &Actor::Schedule,
            Action::RoundFrozen,
            id,
            &name,
            serde_json::json!({ "players": players, "finalists": finalists }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(round = %id, players, finalists, "round closed: standings frozen");
        frozen.push(id);
    }
}

/// Copies the ranking of the round's cities into its standings; returns how many players and
/// finalists it wrote.
async fn write_standings(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    finalists_per_city: i32,
    city_keys: &Option<Vec<String>>,
) -> Result<(i64, i64), sqlx::Error> {
    // The ranking's order: votes, then who reached the total first, then the id; the position is
    // 1 + the players of the city with strictly more votes (`rank()` over the votes alone).
    let (players, finalists): (i64, i64) = sqlx::query_as(
        "WITH ranked AS (
             SELECT s.city_key, s.player_id, s.votes,
                    rank() OVER by_votes AS position,
                    row_number() OVER in_order AS ordinal,
                    u.first_name || ' ' || u.last_name AS username, u.city, u.country
             FROM player_scores s JOIN users u ON u.id = s.player_id
             WHERE $2::text[] IS NULL OR s.city_key = ANY ($2)
             WINDOW by_votes AS (PARTITION BY s.city_key ORDER BY s.votes DESC),
                    in_order AS (PARTITION BY s.city_key
                                 ORDER BY s.votes DESC, s.reached_at, s.player_id)
         ), written AS (
             INSERT INTO round_standings (round_id, city_key, position, ordinal, player_id,
                                          username, city, country, votes, finalist)
             SELECT $1, city_key, position, ordinal, player_id, username, city, country, votes,
                    position <= $3 AND votes > 0
             FROM ranked
             RETURNING finalist
         )
         SELECT count(*), count(*) FILTER (WHERE finalist) FROM written",
    )
    .bind(id)
    .bind(city_keys)
    .bind(finalists_per_city)
    .fetch_one(&mut **tx)
    .await?;
    Ok((players, finalists))
}

/// One row of a closed round's standings.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Standing {
    pub city_key: String,
    pub position: i32,
    pub player_id: Uuid,
    pub username: String,
    pub city: String,
    pub country: String,
    pub votes: i64,
    pub finalist: bool,
    /// Another player of the city shares this position.
    pub tied: bool,
}

/// The columns of [`Standing`], from `round_standings s`.
const STANDING_COLUMNS: &str = "s.city_key, s.position, s.player_id, s.username, s.city,
     s.country, s.votes, s.finalist,
     EXISTS (SELECT 1 FROM round_standings t
             WHERE t.round_id = s.round_id AND t.city_key = s.city_key
               AND t.position = s.position AND t.ordinal <> s.ordinal) AS tied";

/// Which standings to read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StandingsFilter {
    /// Lower-cased; `None`: every city of the round, city by city.
    pub city_key: Option<String>,
    pub finalists_only: bool,
}

/// A page of a frozen round's standings, city by city (alphabetically by key) in ranking order,
/// and how many rows the filter holds.
pub async fn standings(
    pool: &PgPool,
    id: Uuid,
    filter: &StandingsFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Standing>, i64), sqlx::Error> {
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {STANDING_COLUMNS}
         FROM round_standings s
         WHERE s.round_id = $1 AND ($2::text IS NULL OR s.city_key = $2)
           AND (NOT $3 OR s.finalist)
         ORDER BY s.city_key, s.ordinal LIMIT $4 OFFSET $5"
    )))
    .bind(id)
    .bind(&filter.city_key)
    .bind(filter.finalists_only)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(
        "SELECT count(*) FROM round_standings
         WHERE round_id = $1 AND ($2::text IS NULL OR city_key = $2) AND (NOT $3 OR finalist)",
    )
    .bind(id)
    .bind(&filter.city_key)
    .bind(filter.finalists_only)
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

/// A finalist as staff export them: the frozen standing and the account's e-mail now (`None`
/// when the account was deleted since).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Finalist {
    #[sqlx(flatten)]
    pub standing: Standing,
    pub email: Option<String>,
}

/// Every finalist of a frozen round, city by city in ranking order.
pub async fn finalists(pool: &PgPool, id: Uuid) -> Result<Vec<Finalist>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {STANDING_COLUMNS}, u.email
         FROM round_standings s LEFT JOIN users u ON u.id = s.player_id
         WHERE s.round_id = $1 AND s.finalist
         ORDER BY s.city_key, s.ordinal"
    )))
    .bind(id)
    .fetch_all(pool)
    .await
}
