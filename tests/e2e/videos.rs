//! The caller's videos: detail with signed links, publish, delete, and other players' videos.

use anyhow::Context;
use end_to_end::{Client, RunningApi};
use testkit::media::Clip;

use crate::{local_backends, mark_processed};

async fn upload(client: &Client, token: &str, publish: bool) -> anyhow::Result<String> {
    let clip = Clip::h264(1920, 1080, 21.0).path()?;
    client.upload_clip(token, &clip, "Jugada", publish).await
}

#[tokio::test]
async fn detail_links_download_the_stored_files() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let owner = client.player("detail@example.com", "Ana", "Cali").await?;
    let video = upload(&client, &owner.token, false).await?;

    let detail = client.get_video(Some(&owner.token), &video).await?.ok()?;
    assert_eq!(detail.status, "uploaded");
    assert_eq!((&detail.processed_url, &detail.poster_url), (&None, &None));
    let original = detail
        .original_url
        .context("the local storage signs the original's link")?;
    let downloaded = client.http.get(original).send().await?;
    assert_eq!(downloaded.status(), 200);
    assert_eq!(
        downloaded.bytes().await?.len() as u64,
        std::fs::metadata(Clip::h264(1920, 1080, 21.0).path()?)?.len()
    );

    mark_processed(&backends, &video).await?;
    let detail = client.get_video(Some(&owner.token), &video).await?.ok()?;
    assert_eq!(detail.status, "processed");
    for (link, url) in [
        ("processed_url", detail.processed_url),
        ("poster_url", detail.poster_url),
    ] {
        let url = url.with_context(|| format!("a processed video has its {link}"))?;
        assert!(
            url.contains("expires=") && url.contains("signature="),
            "{url}"
        );
        assert_eq!(client.http.get(&url).send().await?.status(), 200, "{link}");
    }
    Ok(())
}

#[tokio::test]
async fn another_players_video_is_forbidden_and_unknown_ids_are_not_found() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    // The upload's job stays queued: no worker runs.
    backends.expect_queued_jobs();
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let owner = client.player("owner@example.com", "Ana", "Cali").await?;
    let other = client.player("other@example.com", "Luis", "Cali").await?;
    let video = upload(&client, &owner.token, true).await?;

    let stranger = Some(other.token.as_str());
    assert_eq!(client.get_video(stranger, &video).await?.status, 403);
    assert_eq!(client.publish_video(stranger, &video).await?.status, 403);
    assert_eq!(client.delete_video(stranger, &video).await?.status, 403);
    for id in [
        "00000000-0000-0000-0000-000000000000",
        "not-a-uuid",
        "1' OR 1=1",
        "<script>",
    ] {
        let answer = client.get_video(Some(&owner.token), id).await?;
        assert_eq!(answer.status, 404, "{id}");
        assert_eq!(answer.code(), "video_not_found");
        assert_eq!(
            client.delete_video(Some(&owner.token), id).await?.status,
            404
        );
    }
    assert_eq!(client.get_video(None, &video).await?.status, 401);
    Ok(())
}

#[tokio::test]
async fn publish_needs_a_processed_unpublished_video() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let owner = client.player("pub@example.com", "Ana", "Cali").await?;
    let video = upload(&client, &owner.token, false).await?;
    let token = Some(owner.token.as_str());

    let early = client.publish_video(token, &video).await?;
    assert_eq!((early.status, early.code()), (400, "not_processed"));
    mark_processed(&backends, &video).await?;
    let ok = client.publish_video(token, &video).await?.ok()?;
    assert_eq!(ok.video_id, video);
    let again = client.publish_video(token, &video).await?;
    assert_eq!((again.status, again.code()), (400, "already_published"));

    let listed = client.list_public_videos(None, None, None).await?.ok()?;
    assert_eq!(listed[0].video_id, video);
    let ranked = client.rankings(None, None, None, None, None).await?.ok()?;
    assert_eq!(
        (ranked[0].username.as_str(), ranked[0].votes),
        ("Ana Test", 0)
    );
    Ok(())
}

#[tokio::test]
async fn delete_removes_row_files_and_job_but_not_once_published() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let owner = client.player("del@example.com", "Ana", "Cali").await?;
    let video = upload(&client, &owner.token, false).await?;
    mark_processed(&backends, &video).await?;

    let deleted = client.delete_video(Some(&owner.token), &video).await?;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    assert_eq!(
        deleted.body["message"],
        "El video ha sido eliminado exitosamente."
    );
    assert_eq!(deleted.body["video_id"], video.as_str());
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM videos")
        .fetch_one(&backends.database.pool)
        .await?;
    assert_eq!(rows, 0);
    assert!(
        !backends
            .storage
            .path()
            .join("videos")
            .join(&video)
            .join("original.mp4")
            .exists()
    );
    assert!(
        !backends
            .storage
            .path()
            .join("videos")
            .join(&video)
            .join("processed.mp4")
            .exists()
    );
    assert!(
        !backends
            .storage
            .path()
            .join("videos")
            .join(&video)
            .join("poster.jpg")
            .exists()
    );
    assert_eq!(
        client.get_video(Some(&owner.token), &video).await?.status,
        404
    );

    let published = upload(&client, &owner.token, false).await?;
    mark_processed(&backends, &published).await?;
    assert_eq!(
        client
            .publish_video(Some(&owner.token), &published)
            .await?
            .status,
        200
    );
    let refused = client.delete_video(Some(&owner.token), &published).await?;
    assert_eq!((refused.status, refused.code()), (400, "video_published"));
    Ok(())
}
