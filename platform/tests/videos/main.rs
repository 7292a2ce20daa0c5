//! `platform::videos` against the real database, a database per test: intake and outbox, attempts
//! (claim, lease, record, release, sweep), what a row owns, publish, delete and votes.

use std::time::Duration;

use platform::job::ProcessVideo;
use platform::queue::{JobQueue, PgQueue};
use platform::videos::attempts::{self, Claim};
use platform::videos::intake::{NewVideo, record_upload};
use platform::videos::keys::owned_keys;
use platform::videos::{VideoKeys, VideoStatus, bulk, outbox, owned, votes};
use sqlx::PgPool;
use testkit::TestDatabase;
use uuid::Uuid;

const LEASE: Duration = Duration::from_secs(60);

/// A player in `city`; returns their id.
async fn player(pool: &PgPool, city: &str) -> anyhow::Result<Uuid> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, first_name, last_name, city, country)
         VALUES ($1, $1 || '@example.com', 'x', 'Ana', 'Test', $2, 'Colombia')",
    )
    .bind(id)
    .bind(city)
    .execute(pool)
    .await?;
    Ok(id)
}

fn new_video(owner_id: Uuid, publish_requested: bool) -> NewVideo {
    let id = Uuid::now_v7();
    NewVideo {
        id,
        owner_id,
        title: "Jugada".to_owned(),
        publish_requested,
        original: VideoKeys::of(id).original(),
        duration: Duration::from_secs(21),
        width: 1920,
        height: 1080,
        size_bytes: 1000,
        video_codec: "h264".to_owned(),
    }
}

/// A recorded upload of a new player's; returns the video's id.
async fn uploaded(pool: &PgPool, publish_requested: bool) -> anyhow::Result<Uuid> {
    let owner = player(pool, "Cali").await?;
    let video = new_video(owner, publish_requested);
    record_upload(pool, &video).await?;
    Ok(video.id)
}

/// (status, attempts, error) of a video.
async fn state(
    pool: &PgPool,
    video_id: Uuid,
) -> anyhow::Result<(VideoStatus, i32, Option<String>)> {
    Ok(
        sqlx::query_as("SELECT status, attempts, error FROM videos WHERE id = $1")
            .bind(video_id)
            .fetch_one(pool)
            .await?,
    )
}

async fn outbox_records(pool: &PgPool, video_id: Uuid) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM job_outbox WHERE video_id = $1")
            .bind(video_id)
            .fetch_one(pool)
            .await?,
    )
}

/// Claims and processes `video_id` to the end, as one attempt of the worker.
async fn processed(pool: &PgPool, video_id: Uuid) -> anyhow::Result<Claim> {
    let claim = attempts::claim(pool, video_id, LEASE)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no claim"))?;
    assert!(
        attempts::record_processed(pool, &claim, &claim.clip_key(), &claim.poster_key()).await?
    );
    Ok(claim)
}

#[tokio::test]
async fn an_upload_records_its_video_and_its_job_together_or_neither() -> anyhow::Result<()> {
    let db = TestDatabase::new().await?;
    let owner = player(&db.pool, "Cali").await?;
    let video = new_video(owner, true);
    let task_id = record_upload(&db.pool, &video).await?;
    assert_eq!(state(&db.pool, video.id).await?.0, VideoStatus::Uploaded);
    let (recorded_video, due_later): (Uuid, bool) =
        sqlx::query_as("SELECT video_id, next_attempt_at > now() FROM job_outbox WHERE id = $1")
            .bind(task_id)
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(recorded_video, video.id);
    assert!(
        due_later,
        "the request gets its handover delay before the relay"
    );
    let original: String = sqlx::query_scalar("SELECT original_key FROM videos WHERE id = $1")
        .bind(video.id)
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(original, format!("videos/{}/original.mp4", video.id));

    // An owner that does not exist: the video's insert fails, and no job is left behind.
    let orphan = new_video(Uuid::new_v4(), true);
    assert!(record_upload(&db.pool, &orphan).await.is_err());
    assert_eq!(outbox_records(&db.pool, orphan.id).await?, 0);
    Ok(())
}

#[tokio::test]
async fn a_published_job_is_forgotten_and_the_relay_sends_only_what_is_due() -> anyhow::Result<()> {
    let db = TestDatabase::new().await?;
    let queue = PgQueue::new(db.pool.clone(), "jobs", 3);
    let owner = player(&db.pool, "Cali").await?;
    let first = new_video(owner, true);
    let task_id = record_upload(&db.pool, &first).await?;
    assert!(outbox::publish(&db.pool, &queue, task_id, first.id).await);
    assert_eq!(outbox_records(&db.pool, first.id).await?, 0);

    let second = new_video(owner, true);
    let task_id = record_upload(&db.pool, &second).await?;
    assert_eq!(
        outbox::relay_once(&db.pool, &queue).await?,
        0,
        "not due yet"
    );
    sqlx::query("UPDATE job_outbox SET next_attempt_at = now() WHERE id = $1")
        .bind(task_id)
        .execute(&db.pool)
        .await?;
    assert_eq!(outbox::relay_once(&db.pool, &queue).await?, 1);
    assert_eq!(outbox_records(&db.pool, second.id).await?, 0);

    let sent: Vec<ProcessVideo> = queue
        .receive(10, Duration::ZERO, LEASE)
        .await?
        .iter()
        .map(|message| ProcessVideo::from_body(&message.body))
        .collect::<Result<_, _>>()?;
    let videos: Vec<Uuid> = sent.iter().map(|job| job.video_id).collect();
    assert_eq!(videos, vec![first.id, second.id]);
    Ok(())
}

#[tokio::test]
async fn each_claim_takes_a_fresh_token_and_only_the_newest_attempt_records() -> anyhow::Result<()>
{
    let db = TestDatabase::new().await?;
    let video = uploaded(&db.pool, false).await?;
    let older = attempts::claim(&db.pool, video, LEASE).await?.unwrap();
    let newer = attempts::claim(&db.pool, video, LEASE).await?.unwrap();
    assert_ne!(older.token, newer.token);
    assert_eq!(older.original_key, VideoKeys::of(video).original().as_str());
    assert_eq!(
        state(&db.pool, video).await?,
        (VideoStatus::Processing, 2, None)
    );

    // Two deliveries of one job: the superseded attempt can no longer record.
    assert!(
        !attempts::record_processed(&db.pool, &older, &older.clip_key(), &older.poster_key())
            .await?
    );
    assert!(
        attempts::record_processed(&db.pool, &newer, &newer.clip_key(), &newer.poster_key())
            .await?
    );
    assert_eq!(state(&db.pool, video).await?.0, VideoStatus::Processed);
    let (clip, poster): (String, String) =
        sqlx::query_as("SELECT processed_key, poster_key FROM videos WHERE id = $1")
            .bind(video)
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(
        clip,
        format!("videos/{video}/{}/processed.mp4", newer.token)
    );
    assert_eq!(poster, format!("videos/{video}/{}/poster.jpg", newer.token));

    // A redelivered job of a processed (or deleted) video claims nothing.
    assert!(attempts::claim(&db.pool, video, LEASE).await?.is_none());
    assert!(
        attempts::claim(&db.pool, Uuid::new_v4(), LEASE)
            .await?
            .is_none()
    );
    Ok(())
}

#[tokio::test]
async fn a_processed_video_whose_upload_asked_is_published_with_its_owner_ranked()
-> anyhow::Result<()> {
    let db = TestDatabase::new().await?;
    let asked = uploaded(&db.pool, true).await?;
    let not_asked = uploaded(&db.pool, false).await?;
    processed(&db.pool, asked).await?;
    processed(&db.pool, not_asked).await?;
    let published: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM videos WHERE published_at IS NOT NULL")
            .fetch_all(&db.pool)
            .await?;
    assert_eq!(published, vec![asked]);
    let counts: (i64, i64) = sqlx::query_as(
        "SELECT ranked_players::int8, published_videos::int8 FROM listing_counts WHERE city_key = 'cali'",
    )
    .fetch_one(&db.pool)
    .await?;
    assert_eq!(counts, (1, 1));
    Ok(())
}

#[tokio::test]
async fn publish_takes_only_a_processed_unpublished_video() -> anyhow::Result<()> {
    let db = TestDatabase::new().await?;
    let video = uploaded(&db.pool, false).await?;
    let mut tx = db.pool.begin().await?;
    assert!(
        !platform::videos::publish(&mut tx, video).await?,
        "not processed"
    );
    tx.rollback().await?;
    processed(&db.pool, video).await?;
    for expected in [true, false] {
        let mut tx = db.pool.begin().await?;
        assert_eq!(platform::videos::publish(&mut tx, video).await?, expected);
        tx.commit().await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_failure_is_recorded_by_the_current_attempt_or_for_a_video_nobody_holds()
-> anyhow::Result<()> {
    let db = TestDatabase::new().await?;
    let video = uploaded(&db.pool, true).await?;
    let older = attempts::claim(&db.pool, video, LEASE).await?.unwrap();
    let newer = attempts::claim(&db.pool, video, LEASE).await?.unwrap();
    attempts::record_failed(&db.pool, &older, "old").await?;
    assert_eq!(state(&db.pool, video).await?.0, VideoStatus::Processing);
    attempts::record_failed(&db.pool, &newer, "El archivo está incompleto o dañado.").await?;
    assert_eq!(
        state(&db.pool, video).await?,
        (
            VideoStatus::Failed,
            2,
            Some("El archivo está incompleto o dañado.".to_owned())
        )
    );

    // A job that could not even claim fails an unclaimed video; a processed one stays processed.
    let unclaimed = uploaded(&db.pool, true).await?;
    attempts::record_failed(&db.pool, &Claim::unclaimed(unclaimed), "x").await?;
    assert_eq!(state(&db.pool, unclaimed).await?.0, VideoStatus::Failed);
    let done = uploaded(&db.pool, true).await?;
    processed(&db.pool, done).await?;
    attempts::record_failed(&db.pool, &Claim::unclaimed(done), "x").await?;
    assert_eq!(state(&db.pool, done).await?.0, VideoStatus::Processed);
    Ok(())
}

#[tokio::test]
async fn only_the_holder_extends_or_releases_a_lease() -> anyhow::Result<()> {
    let db = TestDatabase::new().await?;
    let video = uploaded(&db.pool, true).await?;
    let lease_left = || async {
        let seconds: f64 = sqlx::query_scalar(
            "SELECT extract(epoch FROM lease_expires_at - now())::float8 FROM videos WHERE id = $1",
        )
        .bind(video)
        .fetch_one(&db.pool)
        .await?;
        anyhow::Ok(seconds)
    };
    let older = attempts::claim(&db.pool, video, LEASE).await?.unwrap();
    assert!(attempts::extend_lease(&db.pool, &older, Duration::from_secs(600)).await?);
    assert!(lease_left().await? > 500.0);
    let newer = attempts::claim(&db.pool, video, LEASE).await?.unwrap();
    assert!(!attempts::extend_lease(&db.pool, &older, Duration::from_secs(600)).await?);
    attempts::release_lease(&db.pool, &older).await?;
    assert!(
        lease_left().await? > 50.0,
        "a superseded attempt released the holder's lease"
    );
    attempts::release_lease(&db.pool, &newer).await?;
    assert!(lease_left().await? <= 0.0);
    Ok(())
}

#[tokio::test]
async fn the_sweep_fails_only_videos_whose_attempts_are_used_up_and_whose_lease_ran_out()
-> anyhow::Result<()> {
    let db = TestDatabase::new().await?;
    let (used_up, attempts_left, alive) = (
        uploaded(&db.pool, true).await?,
        uploaded(&db.pool, true).await?,
        uploaded(&db.pool, true).await?,
    );
    for _ in 0..3 {
        attempts::claim(&db.pool, used_up, Duration::ZERO).await?;
        attempts::claim(&db.pool, alive, LEASE).await?;
    }
    attempts::claim(&db.pool, attempts_left, Duration::ZERO).await?;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let failed = attempts::sweep(&db.pool, 3, Duration::from_millis(10)).await?;
    assert_eq!(failed, vec![used_up]);
    let (status, _, error) = state(&db.pool, used_up).await?;
    assert_eq!(status, VideoStatus::Failed);
    assert!(error.unwrap_or_default().contains("3 veces"));
    for video in [attempts_left, alive] {
        assert_eq!(state(&db.pool, video).await?.0, VideoStatus::Processing);
    }
    assert!(
        attempts::sweep(&db.pool, 3, Duration::ZERO)
            .await?
            .is_empty()
    );
    Ok(())
}

#[tokio::test]
async fn a_row_owns_its_original_its_results_and_its_current_attempt_outputs() -> anyhow::Result<()>
{
    let db = TestDatabase::new().await?;
    let video = uploaded(&db.pool, true).await?;
    let done = processed(&db.pool, video).await?;
    let retry = uploaded(&db.pool, true).await?;
    let running = attempts::claim(&db.pool, retry, LEASE).await?.unwrap();
    let gone = Uuid::new_v4();
    let rows = owned_keys(&db.pool, &[video, retry, gone]).await?;
    assert_eq!(rows.len(), 2);
    let keys = VideoKeys::of(video);
    assert!(rows[&video].owns(keys.original().as_str()));
    assert!(rows[&video].owns(done.clip_key().as_str()));
    assert!(rows[&video].owns(done.poster_key().as_str()));
    assert!(!rows[&video].owns(keys.clip(Uuid::new_v4()).as_str()));
    assert!(rows[&retry].owns(running.poster_key().as_str()));
    Ok(())
}

#[tokio::test]
async fn delete_takes_the_row_and_its_job_and_hands_back_its_files() -> anyhow::Result<()> {
    let db = TestDatabase::new().await?;
    let video = uploaded(&db.pool, false).await?;
    let claim = processed(&db.pool, video).await?;
    let mut tx = db.pool.begin().await?;
    let locked = owned::lock(&mut tx, video).await?.unwrap();
    assert_eq!(locked.status, VideoStatus::Processed);
    assert!(!locked.published);
    let files: Vec<String> = owned::delete(&mut tx, video)
        .await?
        .unwrap()
        .all()
        .collect();
    tx.commit().await?;
    assert_eq!(
        files,
        vec![
            VideoKeys::of(video).original().as_str().to_owned(),
            claim.clip_key().as_str().to_owned(),
            claim.poster_key().as_str().to_owned(),
        ]
    );
    assert!(owned::find(&db.pool, video).await?.is_none());
    assert_eq!(outbox_records(&db.pool, video).await?, 0);
    let mut tx = db.pool.begin().await?;
    assert!(owned::lock(&mut tx, video).await?.is_none());
    assert!(owned::delete(&mut tx, video).await?.is_none());
    Ok(())
}

#[tokio::test]
async fn an_owner_reads_their_videos_newest_first() -> anyhow::Result<()> {
    let db = TestDatabase::new().await?;
    let owner = player(&db.pool, "Cali").await?;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let video = new_video(owner, true);
        record_upload(&db.pool, &video).await?;
        ids.push(video.id);
    }
    uploaded(&db.pool, true).await?;
    ids.reverse();
    let listed: Vec<Uuid> = owned::list_of_owner(&db.pool, owner)
        .await?
        .into_iter()
        .map(|video| video.id)
        .collect();
    assert_eq!(listed, ids);
    let one = owned::find(&db.pool, ids[0]).await?.unwrap();
    assert_eq!((one.owner_id, one.status), (owner, VideoStatus::Uploaded));
    Ok(())
}

#[tokio::test]
async fn a_vote_counts_once_and_never_for_ones_own_or_an_unpublished_video() -> anyhow::Result<()> {
    let db = TestDatabase::new().await?;
    let video = uploaded(&db.pool, true).await?;
    let unpublished = uploaded(&db.pool, false).await?;
    processed(&db.pool, video).await?;
    let owner = owned::find(&db.pool, video).await?.unwrap().owner_id;
    let voter = player(&db.pool, "Bogotá").await?;
    let rules = votes::HoldRules::default();
    let cast = |video, voter| votes::cast(&db.pool, video, voter, "203.0.113.7", false, &rules);
    assert_eq!(cast(video, voter).await?, votes::Vote::Counted { votes: 1 });
    assert_eq!(cast(video, voter).await?, votes::Vote::AlreadyVoted);
    assert_eq!(cast(video, owner).await?, votes::Vote::OwnVideo);
    assert_eq!(cast(unpublished, voter).await?, votes::Vote::NotFound);
    let score: i64 = sqlx::query_scalar("SELECT votes FROM player_scores WHERE player_id = $1")
        .bind(owner)
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(score, 1);
    Ok(())
}

/// A voter whose account was made `days` ago.
async fn voter_of_age(pool: &PgPool, days: i32) -> anyhow::Result<Uuid> {
    let voter = player(pool, "Cali").await?;
    sqlx::query("UPDATE users SET created_at = now() - make_interval(days => $2) WHERE id = $1")
        .bind(voter)
        .bind(days)
        .execute(pool)
        .await?;
    Ok(voter)
}

/// The player's counted score and held votes.
async fn tally(pool: &PgPool, video: Uuid) -> anyhow::Result<(i32, i64, usize)> {
    let owner = owned::find(pool, video)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no video {video}"))?;
    let score: i64 = sqlx::query_scalar("SELECT votes FROM player_scores WHERE player_id = $1")
        .bind(owner.owner_id)
        .fetch_one(pool)
        .await?;
    let held = votes::held_for_player(pool, owner.owner_id).await?.len();
    Ok((owner.votes, score, held))
}

#[tokio::test]
async fn young_accounts_from_one_network_count_up_to_the_burst_even_all_at_once()
-> anyhow::Result<()> {
    let db = TestDatabase::new().await?;
    let video = uploaded(&db.pool, true).await?;
    processed(&db.pool, video).await?;
    let rules = votes::HoldRules::default();
    let mut young = Vec::new();
    for _ in 0..12 {
        young.push(voter_of_age(&db.pool, 0).await?);
    }
    // Twelve new accounts behind one address vote at once: the burst counts, the rest are held.
    let outcomes = futures_util::future::try_join_all(
        young
            .iter()
            .map(|voter| votes::cast(&db.pool, video, *voter, "2001:db8:1:2::/64", false, &rules)),
    )
    .await?;
    let counted = outcomes
        .iter()
        .filter(|vote| matches!(vote, votes::Vote::Counted { .. }))
        .count();
    assert_eq!(counted, rules.young_burst as usize, "{outcomes:?}");
    assert!(outcomes.iter().all(|vote| match vote {
        votes::Vote::Held { reason, .. } => reason == votes::YOUNG_ACCOUNTS_BURST,
        _ => true,
    }));
    assert_eq!(tally(&db.pool, video).await?, (2, 2, 10));
    // An older account on that network, and a new one on another, still count.
    let old = voter_of_age(&db.pool, 30).await?;
    let elsewhere = voter_of_age(&db.pool, 0).await?;
    assert_eq!(
        votes::cast(&db.pool, video, old, "2001:db8:1:2::/64", false, &rules).await?,
        votes::Vote::Counted { votes: 3 }
    );
    assert_eq!(
        votes::cast(
            &db.pool,
            video,
            elsewhere,
            "2001:db8:9:9::/64",
            false,
            &rules
        )
        .await?,
        votes::Vote::Counted { votes: 4 }
    );
    // What the reviewer sees of a held vote.
    let owner = owned::find(&db.pool, video).await?.unwrap().owner_id;
    let held = votes::held_for_player(&db.pool, owner).await?;
    assert!(held.iter().all(|vote| vote.network == "2001:db8:1:2::/64"
        && vote.cast_at - vote.voter_created_at < chrono::TimeDelta::hours(1)
        && !vote.voter_verified));
    assert_eq!(
        votes::held_counts(&db.pool, &[video]).await?.get(&video),
        Some(&10)
    );
    Ok(())
}

#[tokio::test]
async fn accounts_made_on_one_network_count_up_to_the_burst_however_old_they_are()
-> anyhow::Result<()> {
    let db = TestDatabase::new().await?;
    let video = uploaded(&db.pool, true).await?;
    processed(&db.pool, video).await?;
    let rules = votes::HoldRules::default();
    // Five month-old accounts, all signed up from one address, now vote from five networks.
    let mut outcomes = Vec::new();
    for n in 0..5 {
        let voter = voter_of_age(&db.pool, 30).await?;
        sqlx::query("UPDATE users SET signup_network = '203.0.113.9' WHERE id = $1")
            .bind(voter)
            .execute(&db.pool)
            .await?;
        let network = format!("2001:db8:{n}::/64");
        outcomes.push(votes::cast(&db.pool, video, voter, &network, false, &rules).await?);
    }
    let reasons: Vec<_> = outcomes
        .iter()
        .map(|vote| match vote {
            votes::Vote::Counted { .. } => "counted",
            votes::Vote::Held { reason, .. } => reason.as_str(),
            _ => "other",
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "counted",
            "counted",
            "counted",
            votes::SIGNUP_NETWORK_BURST,
            votes::SIGNUP_NETWORK_BURST
        ]
    );
    // Released, a held one counts for its signup network too: the next is still held.
    let owner = owned::find(&db.pool, video).await?.unwrap().owner_id;
    let held = votes::held_for_player(&db.pool, owner).await?;
    votes::release(&db.pool, video, held[0].voter_id, "hermanos").await?;
    let counted: i32 = sqlx::query_scalar(
        "SELECT counted FROM signup_network_votes WHERE network = '203.0.113.9'",
    )
    .fetch_one(&db.pool)
    .await?;
    assert_eq!(counted, 4);
    Ok(())
}

#[tokio::test]
async fn one_network_past_its_share_of_a_players_votes_is_held() -> anyhow::Result<()> {
    let db = TestDatabase::new().await?;
    let video = uploaded(&db.pool, true).await?;
    processed(&db.pool, video).await?;
    let rules = votes::HoldRules::default();
    // Twenty people from as many networks, then old accounts from one network.
    for n in 0..20 {
        let voter = voter_of_age(&db.pool, 30).await?;
        let network = format!("198.51.100.{n}");
        votes::cast(&db.pool, video, voter, &network, false, &rules).await?;
    }
    let mut outcomes = Vec::new();
    for _ in 0..12 {
        let voter = voter_of_age(&db.pool, 30).await?;
        outcomes.push(votes::cast(&db.pool, video, voter, "192.0.2.1", false, &rules).await?);
    }
    // 9 of 29 is under 30 %; the 10th would be 10 of 30 (33 %): held, as every one after.
    let counted = outcomes
        .iter()
        .filter(|vote| matches!(vote, votes::Vote::Counted { .. }))
        .count();
    assert_eq!(counted, 9, "{outcomes:?}");
    assert!(matches!(
        &outcomes[9],
        votes::Vote::Held { votes: 29, reason } if reason == votes::NETWORK_SHARE
    ));
    assert_eq!(tally(&db.pool, video).await?, (29, 29, 3));
    Ok(())
}

#[tokio::test]
async fn a_released_vote_counts_everywhere_and_a_voided_one_never() -> anyhow::Result<()> {
    let db = TestDatabase::new().await?;
    let video = uploaded(&db.pool, true).await?;
    processed(&db.pool, video).await?;
    let rules = votes::HoldRules {
        young_burst: 0,
        ..votes::HoldRules::default()
    };
    let first = voter_of_age(&db.pool, 0).await?;
    let second = voter_of_age(&db.pool, 0).await?;
    for voter in [first, second] {
        assert!(matches!(
            votes::cast(&db.pool, video, voter, "192.0.2.1", false, &rules).await?,
            votes::Vote::Held { votes: 0, .. }
        ));
    }
    assert_eq!(tally(&db.pool, video).await?, (0, 0, 2));
    assert_eq!(
        votes::release(&db.pool, video, first, "familia del jugador").await?,
        votes::Decision::Decided
    );
    assert_eq!(
        votes::void(&db.pool, video, second, "cuenta creada por script").await?,
        votes::Decision::Decided
    );
    assert_eq!(tally(&db.pool, video).await?, (1, 1, 0));
    // Decided once: neither can be decided again, and the voided voter cannot vote again.
    assert_eq!(
        votes::release(&db.pool, video, second, "otra vez").await?,
        votes::Decision::NotHeld
    );
    assert_eq!(
        votes::cast(&db.pool, video, second, "192.0.2.1", false, &rules).await?,
        votes::Vote::AlreadyVoted
    );
    let counted: i32 =
        sqlx::query_scalar("SELECT counted FROM network_votes WHERE network = '192.0.2.1'")
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(counted, 1);
    Ok(())
}

#[tokio::test]
async fn the_tools_empty_the_table_with_its_jobs() -> anyhow::Result<()> {
    let db = TestDatabase::new().await?;
    let video = uploaded(&db.pool, true).await?;
    uploaded(&db.pool, true).await?;
    assert_eq!(bulk::delete_all(&db.pool).await?, 2);
    assert_eq!(outbox_records(&db.pool, video).await?, 0);
    Ok(())
}
