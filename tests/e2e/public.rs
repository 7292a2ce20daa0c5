//! Public listing, votes and rankings.

use end_to_end::{Client, Player, Reply, RunningApi, types};
use reqwest::Method;
use testkit::media::Clip;

use crate::{LocalBackends, local_backends, mark_processed};

/// Uploads, "processes" and publishes a video for `player`; returns its id.
pub async fn published_video(
    backends: &LocalBackends,
    client: &Client,
    player: &Player,
) -> anyhow::Result<String> {
    let clip = Clip::h264(1920, 1080, 21.0).path()?;
    let video = client
        .upload_clip(&player.token, &clip, "Triple", false)
        .await?;
    mark_processed(backends, &video).await?;
    client
        .publish_video(Some(&player.token), &video)
        .await?
        .ok()?;
    Ok(video)
}

pub async fn vote(
    client: &Client,
    voter: &Player,
    video: &str,
) -> anyhow::Result<Reply<types::VoteRecorded>> {
    client.vote(Some(&voter.token), video).await
}

/// (position, username, votes) of each ranked player.
fn positions(ranked: &[types::RankedPlayer]) -> Vec<(i64, &str, i64)> {
    ranked
        .iter()
        .map(|row| (row.position, row.username.as_str(), row.votes))
        .collect()
}

#[tokio::test]
async fn votes_count_once_never_for_oneself_and_only_for_published_videos() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    // The unpublished video's job stays queued: no worker runs.
    backends.expect_queued_jobs();
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let owner = backends
        .verified_player(&client, "owner@example.com", "Ana", "Cali")
        .await?;
    let fan = backends
        .verified_player(&client, "fan@example.com", "Luis", "Cali")
        .await?;
    let video = published_video(&backends, &client, &owner).await?;
    let state = |player: &end_to_end::Player| {
        let token = player.token.clone();
        let client = &client;
        let video = video.clone();
        async move { client.get_vote_state(Some(&token), &video).await?.ok() }
    };
    let before = state(&fan).await?;
    assert_eq!((before.voted, before.own_video), (false, false));
    let mine = state(&owner).await?;
    assert_eq!((mine.voted, mine.own_video), (false, true));
    let shown = client.get_public_video(&video).await?.ok()?;
    assert_eq!(
        (
            shown.player_id.as_str(),
            shown.votes,
            shown.username.as_str()
        ),
        (owner.id.as_str(), 0, "Ana Test")
    );

    let first = vote(&client, &fan, &video).await?.ok()?;
    assert_eq!(first.message, "Voto registrado exitosamente.");
    let after = state(&fan).await?;
    assert_eq!((after.voted, after.own_video), (true, false));
    assert_eq!(client.get_public_video(&video).await?.ok()?.votes, 1);
    assert_eq!(first.votes, 1);
    let again = vote(&client, &fan, &video).await?;
    assert_eq!((again.status, again.code()), (400, "already_voted"));
    assert_eq!(again.body["detail"], "Ya has votado por este video.");
    let own = vote(&client, &owner, &video).await?;
    assert_eq!((own.status, own.code()), (400, "own_video"));

    // An unpublished video, an unknown id and a malformed id all look the same: not found.
    let private = client
        .upload_clip(
            &owner.token,
            &Clip::h264(1920, 1080, 21.0).path()?,
            "x",
            true,
        )
        .await?;
    for id in [
        private.as_str(),
        "00000000-0000-0000-0000-000000000000",
        "nope",
        "1' OR '1'='1",
    ] {
        let answer = vote(&client, &fan, id).await?;
        assert_eq!(
            (answer.status, answer.code()),
            (404, "video_not_found"),
            "{id}"
        );
        assert_eq!(answer.body["detail"], "Video no encontrado.");
        let shown = client.get_public_video(id).await?;
        assert_eq!(
            (shown.status, shown.code()),
            (404, "video_not_found"),
            "{id}"
        );
        let state = client.get_vote_state(Some(&fan.token), id).await?;
        assert_eq!(
            (state.status, state.code()),
            (404, "video_not_found"),
            "{id}"
        );
    }
    assert_eq!(client.vote(None, &video).await?.status, 401);
    assert_eq!(client.get_vote_state(None, &video).await?.status, 401);
    Ok(())
}

#[tokio::test]
async fn fifty_concurrent_identical_votes_count_once() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let owner = backends
        .verified_player(&client, "star@example.com", "Ana", "Cali")
        .await?;
    let fan = backends
        .verified_player(&client, "eager@example.com", "Luis", "Cali")
        .await?;
    let video = published_video(&backends, &client, &owner).await?;

    let attempts = (0..50).map(|_| vote(&client, &fan, &video));
    let answers = futures_util::future::join_all(attempts).await;
    let mut ok = 0;
    for answer in answers {
        let answer = answer?;
        match answer.status {
            200 => ok += 1,
            400 => assert_eq!(answer.code(), "already_voted"),
            // Fifty at once is faster than a person votes: past the account's pace.
            429 => assert_eq!(answer.code(), "too_many_votes"),
            other => panic!("unexpected status {other}: {answer:?}"),
        }
    }
    assert_eq!(ok, 1);
    let (video_votes, player_votes): (i32, i64) = sqlx::query_as(
        "SELECT v.votes, p.votes FROM videos v JOIN player_scores p ON p.player_id = v.owner_id",
    )
    .fetch_one(&backends.database.pool)
    .await?;
    assert_eq!((video_votes, player_votes), (1, 1));
    Ok(())
}

#[tokio::test]
async fn rankings_share_positions_on_ties_and_filter_by_city() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    // Four players; votes: Ana 2, Beto 1, Caro 1 (reached after Beto), Dani 0.
    let ana = backends
        .verified_player(&client, "ana@example.com", "Ana", "Bogotá")
        .await?;
    let beto = backends
        .verified_player(&client, "beto@example.com", "Beto", "Cali")
        .await?;
    let caro = backends
        .verified_player(&client, "caro@example.com", "Caro", "bogotá")
        .await?;
    let dani = backends
        .verified_player(&client, "dani@example.com", "Dani", "Cali")
        .await?;
    let fans = [
        backends
            .verified_player(&client, "f1@example.com", "F1", "X")
            .await?,
        backends
            .verified_player(&client, "f2@example.com", "F2", "X")
            .await?,
    ];
    let videos = [
        published_video(&backends, &client, &ana).await?,
        published_video(&backends, &client, &beto).await?,
        published_video(&backends, &client, &caro).await?,
        published_video(&backends, &client, &dani).await?,
    ];
    assert_eq!(vote(&client, &fans[0], &videos[0]).await?.status, 200);
    assert_eq!(vote(&client, &fans[1], &videos[0]).await?.status, 200);
    assert_eq!(vote(&client, &fans[0], &videos[1]).await?.status, 200);
    assert_eq!(vote(&client, &fans[0], &videos[2]).await?.status, 200);

    let all = client.rankings(None, None, None, None, None).await?;
    assert_eq!(all.header("x-total-count"), Some("4"));
    assert_eq!(
        positions(&all.ok()?),
        [
            (1, "Ana Test", 2),
            (2, "Beto Test", 1),
            (2, "Caro Test", 1),
            (4, "Dani Test", 0),
        ]
    );
    // The second page starts inside the tie and keeps the shared position.
    let page = client
        .rankings(None, Some(2), Some(2), None, None)
        .await?
        .ok()?;
    assert_eq!(positions(&page), [(2, "Caro Test", 1), (4, "Dani Test", 0)]);
    let paged = client
        .rankings(None, None, None, Some(2), Some(2))
        .await?
        .ok()?;
    assert_eq!(paged, page);

    let bogota = client
        .rankings(Some("BOGOTÁ"), None, None, None, None)
        .await?;
    assert_eq!(bogota.header("x-total-count"), Some("2"));
    let bogota = bogota.ok()?;
    assert_eq!(
        positions(&bogota),
        [(1, "Ana Test", 2), (2, "Caro Test", 1)]
    );
    assert_eq!(bogota[0].city, "Bogotá");
    Ok(())
}

#[tokio::test]
async fn a_vote_through_one_instance_shows_in_the_rankings_of_another() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let first = RunningApi::start(&backends.env).await?;
    let second = RunningApi::start(&backends.env).await?;
    let (voting, reading) = (Client::new(&first.base_url), Client::new(&second.base_url));
    let owner = backends
        .verified_player(&voting, "cached@example.com", "Ana", "Cali")
        .await?;
    let fan = backends
        .verified_player(&voting, "fan@example.com", "Luis", "Cali")
        .await?;
    let video = published_video(&backends, &voting, &owner).await?;
    let votes_seen = || async {
        let ranked = reading
            .rankings(Some("cali"), None, None, None, None)
            .await?
            .ok()?;
        anyhow::Ok(ranked.first().map(|player| player.votes))
    };
    // Read twice so the second instance has the page cached.
    assert_eq!(votes_seen().await?, Some(0));
    assert_eq!(votes_seen().await?, Some(0));

    vote(&voting, &fan, &video).await?.ok()?;
    // The other instance hears of the vote through PostgreSQL's notification, not a timer.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while votes_seen().await? != Some(1) {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the second instance still shows the old ranking"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The voting instance itself shows the vote at once.
    let own_view = voting
        .rankings(Some("cali"), None, None, None, None)
        .await?
        .ok()?;
    assert_eq!(own_view[0].votes, 1);
    Ok(())
}

#[tokio::test]
async fn public_videos_are_listed_newest_first_with_totals() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let ana = backends
        .verified_player(&client, "ana@example.com", "Ana", "Medellín")
        .await?;
    let beto = backends
        .verified_player(&client, "beto@example.com", "Beto", "Cali")
        .await?;
    let first = published_video(&backends, &client, &ana).await?;
    let second = published_video(&backends, &client, &beto).await?;

    let listed = client.list_public_videos(None, None, None).await?;
    assert_eq!(listed.header("x-total-count"), Some("2"));
    let listed = listed.ok()?;
    assert_eq!(listed[0].video_id, second);
    assert_eq!(listed[1].video_id, first);
    assert_eq!(listed[1].username, "Ana Test");
    assert_eq!(listed[1].city, "Medellín");
    for link in [&listed[0].processed_url, &listed[0].poster_url] {
        assert!(
            link.as_deref()
                .is_some_and(|url| url.contains("signature="))
        );
    }
    let medellin = client
        .list_public_videos(Some("medellín"), Some(1), Some(0))
        .await?;
    assert_eq!(medellin.header("x-total-count"), Some("1"));
    assert_eq!(medellin.ok()?[0].video_id, first);
    let past_the_end = client.list_public_videos(None, None, Some(10)).await?;
    assert!(past_the_end.ok()?.is_empty());
    Ok(())
}

#[tokio::test]
async fn invalid_listing_parameters_are_400_naming_the_parameter() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    for (path, field) in [
        ("/api/public/videos?limit=0", "limit"),
        ("/api/public/videos?limit=101", "limit"),
        ("/api/public/videos?limit=abc", "limit"),
        ("/api/public/videos?offset=-1", "offset"),
        ("/api/public/videos?city=", "city"),
        ("/api/public/rankings?page=0", "page"),
        ("/api/public/rankings?page_size=500", "page_size"),
        ("/api/public/rankings?offset=5&page=2", "offset"),
        ("/api/public/rankings?limit=5&page_size=10", "page_size"),
        ("/api/public/rankings?offset=1.5", "offset"),
        // Pages end at the 10,000th row at most.
        ("/api/public/videos?offset=10000", "offset"),
        ("/api/public/videos?offset=9950&limit=100", "offset"),
        ("/api/public/rankings?offset=9901&limit=100", "offset"),
        ("/api/public/rankings?page=101&page_size=100", "page"),
        ("/api/public/rankings?page=10001", "page"),
    ] {
        let answer = client.raw(Method::GET, path, None, None).await?;
        assert_eq!(answer.status, 400, "{path}: {answer:?}");
        assert_eq!(answer.body["field"], field, "{path}");
        assert_eq!(
            answer.header("content-type"),
            Some("application/problem+json")
        );
    }
    // The deepest pages there are still answer.
    for path in [
        "/api/public/videos?offset=9900&limit=100",
        "/api/public/rankings?page=100&page_size=100",
        "/api/public/rankings?offset=9999&limit=1",
    ] {
        let answer = client.raw(Method::GET, path, None, None).await?;
        assert_eq!(answer.status, 200, "{path}: {answer:?}");
    }
    Ok(())
}
