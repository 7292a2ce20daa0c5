//! The showcase: published videos as the public reads them. List pages are kept per instance in
//! a [`FreshCache`] with the rankings' bound (a page is never older than
//! [`crate::rankings::MAX_STALENESS`]), and every read runs within the public reads' share of the
//! pool ([`ReadBudget`]), so a crawler walking the pages cannot take the connections votes need.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use platform::storage::{Storage, StorageError, StorageKey};
use poem_openapi::Object;
use sqlx::PgPool;
use uuid::Uuid;

use crate::fresh_cache::{FreshCache, Freshness};
use crate::reads::{READ_TIMEOUT, ReadBudget};

/// Pages older than this are re-read in the background by the next request that serves them.
const REFRESH_AFTER: Duration = Duration::from_millis(200);
/// At most this many distinct list pages are kept; past it, further pages are read without keeping.
const MAX_PAGES: usize = 4096;

#[derive(Debug, Clone, Object)]
pub struct PublicVideo {
    pub video_id: Uuid,
    pub title: String,
    /// The player's id (the `sub` of their access token).
    pub player_id: Uuid,
    /// The player's "first_name last_name".
    pub username: String,
    pub city: String,
    pub country: String,
    pub votes: i32,
    /// A time-limited link to the showcase clip (null only if the storage cannot sign one).
    #[oai(nullable)]
    pub processed_url: Option<String>,
    /// A time-limited link to the poster image (null only if the storage cannot sign one).
    #[oai(nullable)]
    pub poster_url: Option<String>,
    pub uploaded_at: DateTime<Utc>,
}

/// A published video as the statements read it.
#[derive(sqlx::FromRow)]
struct PublicVideoRow {
    id: Uuid,
    title: String,
    owner_id: Uuid,
    first_name: String,
    last_name: String,
    city: String,
    country: String,
    votes: i32,
    processed_key: Option<String>,
    poster_key: Option<String>,
    uploaded_at: DateTime<Utc>,
}

/// The columns of [`PublicVideoRow`], from `videos v JOIN users u`.
const PUBLIC_VIDEO_COLUMNS: &str = "v.id, v.title, v.owner_id, u.first_name, u.last_name, u.city,
     u.country, v.votes, v.processed_key, v.poster_key, v.uploaded_at";

/// Which list page: the lower-cased city filter, limit and offset.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListKey {
    pub city: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// A list page and the total of published videos within its filter.
#[derive(Debug)]
pub struct ListPage {
    pub videos: Vec<PublicVideo>,
    pub total: i64,
}

/// Why a read could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum ShowcaseError {
    #[error("reading the showcase: {0}")]
    Database(#[from] sqlx::Error),
    #[error("signing a showcase link: {0}")]
    Storage(#[from] StorageError),
    #[error("reading the showcase took longer than {READ_TIMEOUT:?}")]
    Timeout,
}

/// The showcase as this instance serves it; clones share the cache.
#[derive(Clone)]
pub struct Showcase {
    reader: Reader,
    pages: FreshCache<ListKey, ListPage>,
}

/// What a read needs: the pool, the share of it, and the storage that signs the links.
#[derive(Clone)]
struct Reader {
    pool: PgPool,
    budget: ReadBudget,
    storage: Arc<dyn Storage>,
    link_ttl: Duration,
}

impl Showcase {
    /// Reads from `pool` within `budget`; links signed by `storage`, valid for `link_ttl`.
    pub fn new(
        pool: PgPool,
        budget: ReadBudget,
        storage: Arc<dyn Storage>,
        link_ttl: Duration,
    ) -> Self {
        let freshness = Freshness {
            refresh_after: REFRESH_AFTER,
            max_age: crate::rankings::MAX_STALENESS,
        };
        Self {
            reader: Reader {
                pool,
                budget,
                storage,
                link_ttl,
            },
            pages: FreshCache::new(freshness, MAX_PAGES),
        }
    }

    /// The list page under `key`, newest first, at most the rankings' bound old.
    pub async fn page(&self, key: ListKey) -> Result<Arc<ListPage>, ShowcaseError> {
        let reader = self.reader.clone();
        let read = key.clone();
        self.pages
            .get(key, move || {
                let (reader, key) = (reader.clone(), read.clone());
                async move { reader.within_budget(reader.list(&key)).await }
            })
            .await
    }

    /// One published video, read now (a primary-key look-up).
    pub async fn video(&self, video_id: Uuid) -> Result<Option<PublicVideo>, ShowcaseError> {
        let reader = &self.reader;
        reader.within_budget(reader.one(video_id)).await
    }
}

impl Reader {
    /// Runs `read` in the public reads' share of the pool, within [`READ_TIMEOUT`].
    async fn within_budget<T>(
        &self,
        read: impl Future<Output = Result<T, ShowcaseError>>,
    ) -> Result<T, ShowcaseError> {
        self.budget
            .run_in_time(read)
            .await
            .ok_or(ShowcaseError::Timeout)?
    }

    async fn list(&self, key: &ListKey) -> Result<ListPage, ShowcaseError> {
        let ListKey {
            city,
            limit,
            offset,
        } = key;
        // Separate statements for "all cities" and "one city", so each plan uses its own index.
        // Without a city the page is found on the videos' index alone and only its rows meet
        // their players: the rows skipped by the offset cost an index entry each, not a join.
        let sql = if city.is_some() {
            format!(
                "SELECT {PUBLIC_VIDEO_COLUMNS} FROM videos v JOIN users u ON u.id = v.owner_id
                 WHERE v.published_at IS NOT NULL AND v.hidden_at IS NULL AND lower(u.city) = $3
                 ORDER BY v.uploaded_at DESC, v.id DESC LIMIT $1 OFFSET $2"
            )
        } else {
            format!(
                "WITH page AS (
                     SELECT id FROM videos WHERE published_at IS NOT NULL AND hidden_at IS NULL
                     ORDER BY uploaded_at DESC, id DESC LIMIT $1 OFFSET $2
                 )
                 SELECT {PUBLIC_VIDEO_COLUMNS}
                 FROM page JOIN videos v ON v.id = page.id JOIN users u ON u.id = v.owner_id
                 ORDER BY v.uploaded_at DESC, v.id DESC"
            )
        };
        let query = sqlx::query_as::<_, PublicVideoRow>(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .bind(offset);
        let query = match city {
            Some(city) => query.bind(city.clone()),
            None => query,
        };
        let rows = query.fetch_all(&self.pool).await?;
        let total =
            sqlx::query_scalar("SELECT published_videos FROM listing_counts WHERE city_key = $1")
                .bind(city.as_deref().unwrap_or(""))
                .fetch_optional(&self.pool)
                .await?
                .unwrap_or(0);
        let mut videos = Vec::with_capacity(rows.len());
        for row in rows {
            videos.push(self.public(row).await?);
        }
        Ok(ListPage { videos, total })
    }

    async fn one(&self, video_id: Uuid) -> Result<Option<PublicVideo>, ShowcaseError> {
        let row: Option<PublicVideoRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {PUBLIC_VIDEO_COLUMNS} FROM videos v JOIN users u ON u.id = v.owner_id
             WHERE v.id = $1 AND v.published_at IS NOT NULL AND v.hidden_at IS NULL"
        )))
        .bind(video_id)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(Some(self.public(row).await?)),
            None => Ok(None),
        }
    }

    /// The row as the public sees it, its links signed.
    async fn public(&self, row: PublicVideoRow) -> Result<PublicVideo, ShowcaseError> {
        Ok(PublicVideo {
            processed_url: self.link(row.processed_key.as_deref()).await?,
            poster_url: self.link(row.poster_key.as_deref()).await?,
            video_id: row.id,
            title: row.title,
            player_id: row.owner_id,
            username: format!("{} {}", row.first_name, row.last_name),
            city: row.city,
            country: row.country,
            votes: row.votes,
            uploaded_at: row.uploaded_at,
        })
    }

    async fn link(&self, key: Option<&str>) -> Result<Option<String>, StorageError> {
        let Some(key) = key else { return Ok(None) };
        let key = StorageKey::parse(key)?;
        Ok(Some(self.storage.signed_url(&key, self.link_ttl).await?))
    }
}
