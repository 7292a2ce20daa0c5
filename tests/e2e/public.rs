//! Public listing, votes and rankings.

use end_to_end::{Client, Player, RunningApi};
use testkit::media::Clip;

use crate::{LocalStack, local_stack, mark_processed};

/// Uploads, "processes" and publishes a video for `player`; returns its id.
async fn published_video(
    stack: &LocalStack,
    client: &Client,
    player: &Player,
) -> anyhow::Result<String> {
    let clip = Clip::h264(1920, 1080, 21.0).path()?;
    let answer = client
        .upload(
            &player.token,
            "video_file",
            Some(&clip),
            &[("title", "Triple"), ("publish", "false")],
        )
        .await?;
    anyhow::ensure!(answer.status == 201, "{answer:?}");
    let video = answer.body["video_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    mark_processed(stack, &video).await?;
    let published = client
        .post(&format!("/api/videos/{video}/publish"), Some(&player.token))
        .await?;
    anyhow::ensure!(published.status == 200, "{published:?}");
    Ok(video)
}

async fn vote(client: &Client, voter: &Player, video: &str) -> anyhow::Result<end_to_end::Answer> {
    client
        .post(
            &format!("/api/public/videos/{video}/vote"),
            Some(&voter.token),
        )
        .await
}

#[tokio::test]
async fn votes_count_once_never_for_oneself_and_only_for_published_videos() -> anyhow::Result<()> {
    let stack = local_stack().await?;
    let api = RunningApi::start(&stack.env).await?;
    let client = Client::new(&api.base_url);
    let owner = client.player("owner@example.com", "Ana", "Cali").await?;
    let fan = client.player("fan@example.com", "Luis", "Cali").await?;
    let video = published_video(&stack, &client, &owner).await?;

    let first = vote(&client, &fan, &video).await?;
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.body["message"], "Voto registrado exitosamente.");
    assert_eq!(first.body["votes"], 1);
    let again = vote(&client, &fan, &video).await?;
    assert_eq!((again.status, again.code()), (400, "already_voted"));
    assert_eq!(again.body["detail"], "Ya has votado por este video.");
    let own = vote(&client, &owner, &video).await?;
    assert_eq!((own.status, own.code()), (400, "own_video"));

    // An unpublished video, an unknown id and a malformed id all look the same: not found.
    let private = client
        .upload(
            &owner.token,
            "video_file",
            Some(&Clip::h264(1920, 1080, 21.0).path()?),
            &[("title", "x")],
        )
        .await?;
    let private = private.body["video_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for id in [
        private.as_str(),
        "00000000-0000-0000-0000-000000000000",
        "nope",
    ] {
        let answer = vote(&client, &fan, id).await?;
        assert_eq!(
            (answer.status, answer.code()),
            (404, "video_not_found"),
            "{id}"
        );
        assert_eq!(answer.body["detail"], "Video no encontrado.");
    }
    assert_eq!(
        client
            .post(&format!("/api/public/videos/{video}/vote"), None)
            .await?
            .status,
        401
    );
    Ok(())
}

#[tokio::test]
async fn fifty_concurrent_identical_votes_count_once() -> anyhow::Result<()> {
    let stack = local_stack().await?;
    let api = RunningApi::start(&stack.env).await?;
    let client = Client::new(&api.base_url);
    let owner = client.player("star@example.com", "Ana", "Cali").await?;
    let fan = client.player("eager@example.com", "Luis", "Cali").await?;
    let video = published_video(&stack, &client, &owner).await?;

    let attempts = (0..50).map(|_| vote(&client, &fan, &video));
    let answers = futures_util::future::join_all(attempts).await;
    let mut ok = 0;
    for answer in answers {
        let answer = answer?;
        match answer.status {
            200 => ok += 1,
            400 => assert_eq!(answer.code(), "already_voted"),
            other => panic!("unexpected status {other}: {answer:?}"),
        }
    }
    assert_eq!(ok, 1);
    let (video_votes, player_votes): (i32, i64) = sqlx::query_as(
        "SELECT v.votes, p.votes FROM videos v JOIN player_scores p ON p.player_id = v.owner_id",
    )
    .fetch_one(&stack.database.pool)
    .await?;
    assert_eq!((video_votes, player_votes), (1, 1));
    Ok(())
}

#[tokio::test]
async fn rankings_share_positions_on_ties_and_filter_by_city() -> anyhow::Result<()> {
    let stack = local_stack().await?;
    let api = RunningApi::start(&stack.env).await?;
    let client = Client::new(&api.base_url);
    // Four players; votes: Ana 2, Beto 1, Caro 1 (reached after Beto), Dani 0.
    let ana = client.player("ana@example.com", "Ana", "Bogotá").await?;
    let beto = client.player("beto@example.com", "Beto", "Cali").await?;
    let caro = client.player("caro@example.com", "Caro", "bogotá").await?;
    let dani = client.player("dani@example.com", "Dani", "Cali").await?;
    let fans = [
        client.player("f1@example.com", "F1", "X").await?,
        client.player("f2@example.com", "F2", "X").await?,
    ];
    let videos = [
        published_video(&stack, &client, &ana).await?,
        published_video(&stack, &client, &beto).await?,
        published_video(&stack, &client, &caro).await?,
        published_video(&stack, &client, &dani).await?,
    ];
    assert_eq!(vote(&client, &fans[0], &videos[0]).await?.status, 200);
    assert_eq!(vote(&client, &fans[1], &videos[0]).await?.status, 200);
    assert_eq!(vote(&client, &fans[0], &videos[1]).await?.status, 200);
    assert_eq!(vote(&client, &fans[0], &videos[2]).await?.status, 200);

    let all = client.get("/api/public/rankings", None).await?;
    assert_eq!(all.status, 200);
    assert_eq!(all.header("x-total-count"), Some("4"));
    let rows: Vec<(i64, String, i64)> = all
        .body
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    (
                        r["position"].as_i64().unwrap_or(0),
                        r["username"].as_str().unwrap_or("").to_owned(),
                        r["votes"].as_i64().unwrap_or(-1),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        rows,
        vec![
            (1, "Ana Test".to_owned(), 2),
            (2, "Beto Test".to_owned(), 1),
            (2, "Caro Test".to_owned(), 1),
            (4, "Dani Test".to_owned(), 0),
        ]
    );
    // The second page starts inside the tie and keeps the shared position.
    let page = client
        .get("/api/public/rankings?limit=2&offset=2", None)
        .await?;
    assert_eq!(page.body[0]["username"], "Caro Test");
    assert_eq!(page.body[0]["position"], 2);
    assert_eq!(page.body[1]["position"], 4);
    let paged = client
        .get("/api/public/rankings?page=2&page_size=2", None)
        .await?;
    assert_eq!(paged.body, page.body);

    let bogota = client.get("/api/public/rankings?city=BOGOTÁ", None).await?;
    assert_eq!(bogota.header("x-total-count"), Some("2"));
    assert_eq!(bogota.body[0]["username"], "Ana Test");
    assert_eq!(bogota.body[1]["username"], "Caro Test");
    assert_eq!(bogota.body[1]["position"], 2);
    assert_eq!(bogota.body[0]["city"], "Bogotá");
    Ok(())
}

#[tokio::test]
async fn public_videos_are_listed_newest_first_with_totals() -> anyhow::Result<()> {
    let stack = local_stack().await?;
    let api = RunningApi::start(&stack.env).await?;
    let client = Client::new(&api.base_url);
    let ana = client.player("ana@example.com", "Ana", "Medellín").await?;
    let beto = client.player("beto@example.com", "Beto", "Cali").await?;
    let first = published_video(&stack, &client, &ana).await?;
    let second = published_video(&stack, &client, &beto).await?;

    let listed = client.get("/api/public/videos", None).await?;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.header("x-total-count"), Some("2"));
    assert_eq!(listed.body[0]["video_id"], second.as_str());
    assert_eq!(listed.body[1]["video_id"], first.as_str());
    assert_eq!(listed.body[1]["username"], "Ana Test");
    for field in [
        "title",
        "city",
        "country",
        "votes",
        "processed_url",
        "poster_url",
        "uploaded_at",
    ] {
        assert!(!listed.body[0][field].is_null(), "{field}");
    }
    let medellin = client
        .get("/api/public/videos?city=medellín&limit=1&offset=0", None)
        .await?;
    assert_eq!(medellin.header("x-total-count"), Some("1"));
    assert_eq!(medellin.body[0]["video_id"], first.as_str());
    let past_the_end = client.get("/api/public/videos?offset=10", None).await?;
    assert_eq!(past_the_end.body, serde_json::json!([]));
    Ok(())
}

#[tokio::test]
async fn invalid_listing_parameters_are_400_naming_the_parameter() -> anyhow::Result<()> {
    let stack = local_stack().await?;
    let api = RunningApi::start(&stack.env).await?;
    let client = Client::new(&api.base_url);
    for (path, field) in [
        ("/api/public/videos?limit=0", "limit"),
        ("/api/public/videos?limit=101", "limit"),
        ("/api/public/videos?limit=abc", "limit"),
        ("/api/public/videos?offset=-1", "offset"),
        ("/api/public/videos?city=", "city"),
        ("/api/public/rankings?page=0", "page"),
        ("/api/public/rankings?page_size=500", "page_size"),
        ("/api/public/rankings?limit=5&page=2", "page"),
        ("/api/public/rankings?offset=1.5", "offset"),
    ] {
        let answer = client.get(path, None).await?;
        assert_eq!(answer.status, 400, "{path}: {answer:?}");
        assert_eq!(answer.body["field"], field, "{path}");
        assert_eq!(
            answer.header("content-type"),
            Some("application/problem+json")
        );
    }
    Ok(())
}
