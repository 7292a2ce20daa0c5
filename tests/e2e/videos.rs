//! The caller's videos: detail with signed links, publish, delete, and other players' videos.

use end_to_end::{Client, RunningApi};
use testkit::media::Clip;

use crate::{local_stack, mark_processed};

async fn upload(client: &Client, token: &str, publish: &str) -> anyhow::Result<String> {
    let clip = Clip::h264(1920, 1080, 21.0).path()?;
    let answer = client
        .upload(
            token,
            "video_file",
            Some(&clip),
            &[("title", "Jugada"), ("publish", publish)],
        )
        .await?;
    anyhow::ensure!(answer.status == 201, "upload failed: {answer:?}");
    Ok(answer.body["video_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

#[tokio::test]
async fn detail_links_download_the_stored_files() -> anyhow::Result<()> {
    let stack = local_stack().await?;
    let api = RunningApi::start(&stack.env).await?;
    let client = Client::new(&api.base_url);
    let owner = client.player("detail@example.com", "Ana", "Cali").await?;
    let video = upload(&client, &owner.token, "false").await?;

    let detail = client
        .get(&format!("/api/videos/{video}"), Some(&owner.token))
        .await?;
    assert_eq!(detail.status, 200, "{detail:?}");
    assert_eq!(detail.body["status"], "uploaded");
    assert!(detail.body["processed_url"].is_null() && detail.body["poster_url"].is_null());
    let original = detail.body["original_url"].as_str().unwrap_or_default();
    let downloaded = client.http.get(original).send().await?;
    assert_eq!(downloaded.status(), 200);
    assert_eq!(
        downloaded.bytes().await?.len() as u64,
        std::fs::metadata(Clip::h264(1920, 1080, 21.0).path()?)?.len()
    );

    mark_processed(&stack, &video).await?;
    let detail = client
        .get(&format!("/api/videos/{video}/"), Some(&owner.token))
        .await?;
    assert_eq!(detail.body["status"], "processed");
    for link in ["processed_url", "poster_url"] {
        let url = detail.body[link].as_str().unwrap_or_default();
        assert!(
            url.contains("expires=") && url.contains("signature="),
            "{url}"
        );
        assert_eq!(client.http.get(url).send().await?.status(), 200, "{link}");
    }
    Ok(())
}

#[tokio::test]
async fn another_players_video_is_forbidden_and_unknown_ids_are_not_found() -> anyhow::Result<()> {
    let stack = local_stack().await?;
    let api = RunningApi::start(&stack.env).await?;
    let client = Client::new(&api.base_url);
    let owner = client.player("owner@example.com", "Ana", "Cali").await?;
    let other = client.player("other@example.com", "Luis", "Cali").await?;
    let video = upload(&client, &owner.token, "true").await?;

    let path = format!("/api/videos/{video}");
    assert_eq!(client.get(&path, Some(&other.token)).await?.status, 403);
    assert_eq!(
        client
            .post(&format!("{path}/publish"), Some(&other.token))
            .await?
            .status,
        403
    );
    assert_eq!(client.delete(&path, Some(&other.token)).await?.status, 403);
    for id in [
        "00000000-0000-0000-0000-000000000000",
        "not-a-uuid",
        "1%27%20OR%201=1",
    ] {
        let answer = client
            .get(&format!("/api/videos/{id}"), Some(&owner.token))
            .await?;
        assert_eq!(answer.status, 404, "{id}");
        assert_eq!(answer.code(), "video_not_found");
        assert_eq!(
            client
                .delete(&format!("/api/videos/{id}"), Some(&owner.token))
                .await?
                .status,
            404
        );
    }
    assert_eq!(client.get(&path, None).await?.status, 401);
    Ok(())
}

#[tokio::test]
async fn publish_needs_a_processed_unpublished_video() -> anyhow::Result<()> {
    let stack = local_stack().await?;
    let api = RunningApi::start(&stack.env).await?;
    let client = Client::new(&api.base_url);
    let owner = client.player("pub@example.com", "Ana", "Cali").await?;
    let video = upload(&client, &owner.token, "false").await?;
    let publish = format!("/api/videos/{video}/publish");

    let early = client.post(&publish, Some(&owner.token)).await?;
    assert_eq!((early.status, early.code()), (400, "not_processed"));
    mark_processed(&stack, &video).await?;
    let ok = client.post(&publish, Some(&owner.token)).await?;
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(ok.body["video_id"], video.as_str());
    let again = client.post(&publish, Some(&owner.token)).await?;
    assert_eq!((again.status, again.code()), (400, "already_published"));

    let listed = client.get("/api/public/videos", None).await?;
    assert_eq!(listed.body[0]["video_id"], video.as_str());
    let ranked = client.get("/api/public/rankings", None).await?;
    assert_eq!(ranked.body[0]["username"], "Ana Test");
    assert_eq!(ranked.body[0]["votes"], 0);
    Ok(())
}

#[tokio::test]
async fn delete_removes_row_files_and_job_but_not_once_published() -> anyhow::Result<()> {
    let stack = local_stack().await?;
    let api = RunningApi::start(&stack.env).await?;
    let client = Client::new(&api.base_url);
    let owner = client.player("del@example.com", "Ana", "Cali").await?;
    let video = upload(&client, &owner.token, "false").await?;
    mark_processed(&stack, &video).await?;

    let deleted = client
        .delete(&format!("/api/videos/{video}"), Some(&owner.token))
        .await?;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    assert_eq!(
        deleted.body["message"],
        "El video ha sido eliminado exitosamente."
    );
    assert_eq!(deleted.body["video_id"], video.as_str());
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM videos")
        .fetch_one(&stack.database.pool)
        .await?;
    assert_eq!(rows, 0);
    assert!(
        !stack
            .storage
            .path()
            .join("videos")
            .join(&video)
            .join("original.mp4")
            .exists()
    );
    assert!(
        !stack
            .storage
            .path()
            .join("videos")
            .join(&video)
            .join("processed.mp4")
            .exists()
    );
    assert!(
        !stack
            .storage
            .path()
            .join("videos")
            .join(&video)
            .join("poster.jpg")
            .exists()
    );
    assert_eq!(
        client
            .get(&format!("/api/videos/{video}"), Some(&owner.token))
            .await?
            .status,
        404
    );

    let published = upload(&client, &owner.token, "false").await?;
    mark_processed(&stack, &published).await?;
    assert_eq!(
        client
            .post(
                &format!("/api/videos/{published}/publish"),
                Some(&owner.token)
            )
            .await?
            .status,
        200
    );
    let refused = client
        .delete(&format!("/api/videos/{published}"), Some(&owner.token))
        .await?;
    assert_eq!((refused.status, refused.code()), (400, "video_published"));
    Ok(())
}
