//! Uploads: the accepted path and the bad-input matrix, each case leaving nothing behind.

use std::io::Write;

use end_to_end::{Client, RawBody, RunningApi, forms};
use futures_util::future::join_all;
use testkit::media::{self, Clip};

use crate::{LocalBackends, files_under, local_backends};

/// Rows, queued jobs and stored files: all must stay at zero after a refused upload.
async fn stored_anything(backends: &LocalBackends) -> anyhow::Result<(i64, i64, i64, usize)> {
    let pool = &backends.database.pool;
    let videos: i64 = sqlx::query_scalar("SELECT count(*) FROM videos")
        .fetch_one(pool)
        .await?;
    let outbox: i64 = sqlx::query_scalar("SELECT count(*) FROM job_outbox")
        .fetch_one(pool)
        .await?;
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM queue_messages")
        .fetch_one(pool)
        .await?;
    Ok((
        videos,
        outbox,
        queued,
        files_under(backends.storage.path()).len(),
    ))
}

fn valid_clip() -> anyhow::Result<std::path::PathBuf> {
    Clip::h264(1920, 1080, 21.0).path()
}

#[tokio::test]
async fn an_accepted_upload_is_stored_recorded_and_queued() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    // The upload's job stays queued: no worker runs.
    backends.expect_queued_jobs();
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let player = client.player("up@example.com", "Ana", "Cali").await?;
    let answer = client
        .upload(
            &player.token,
            "video_file",
            Some(&valid_clip()?),
            &[("title", "Mi mejor jugada")],
        )
        .await?;
    assert_eq!(answer.status, 201, "{answer:?}");
    let accepted = answer.ok()?;
    assert_eq!(
        accepted.message,
        "Video subido correctamente. Procesamiento en curso."
    );
    let (video_id, task_id) = (accepted.video_id, accepted.task_id);

    let (status, published, width, height, codec): (String, bool, i32, i32, String) = sqlx::query_as(
        "SELECT status, published_at IS NOT NULL, width, height, video_codec FROM videos WHERE id = $1::uuid",
    )
    .bind(&video_id)
    .fetch_one(&backends.database.pool)
    .await?;
    assert_eq!(
        (status.as_str(), published, width, height, codec.as_str()),
        ("uploaded", false, 1920, 1080, "h264")
    );
    let body: String = sqlx::query_scalar("SELECT body FROM queue_messages")
        .fetch_one(&backends.database.pool)
        .await?;
    let job: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(job["video_id"], video_id.as_str());
    assert_eq!(job["task_id"], task_id.as_str());
    let (_, outbox, _, files) = stored_anything(&backends).await?;
    assert_eq!(
        (outbox, files),
        (0, 1),
        "the job left the outbox; the original is stored"
    );

    let mine = client.list_my_videos(Some(&player.token)).await?.ok()?;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].video_id, video_id);
    assert_eq!(mine[0].status, "uploaded");
    assert!(!mine[0].published);
    assert_eq!(
        (&mine[0].processed_url, &mine[0].processed_at),
        (&None, &None)
    );
    Ok(())
}

#[tokio::test]
async fn the_file_field_alias_and_publish_false_are_accepted() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    // The upload's job stays queued: no worker runs.
    backends.expect_queued_jobs();
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let player = client.player("alias@example.com", "Ana", "Cali").await?;
    let answer = client
        .upload(
            &player.token,
            "file",
            Some(&valid_clip()?),
            &[("title", "Alias"), ("publish", "false")],
        )
        .await?;
    assert_eq!(answer.status, 201, "{answer:?}");
    let requested: bool = sqlx::query_scalar("SELECT publish_requested FROM videos")
        .fetch_one(&backends.database.pool)
        .await?;
    assert!(!requested);
    Ok(())
}

#[tokio::test]
async fn h265_input_is_accepted() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    // The upload's job stays queued: no worker runs.
    backends.expect_queued_jobs();
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let player = client.player("hevc@example.com", "Ana", "Cali").await?;
    let clip = Clip {
        encoder: "libx265",
        ..Clip::h264(1080, 1920, 20.5)
    }
    .path()?;
    let answer = client
        .upload(
            &player.token,
            "video_file",
            Some(&clip),
            &[("title", "HEVC")],
        )
        .await?;
    assert_eq!(answer.status, 201, "{answer:?}");
    Ok(())
}

#[tokio::test]
async fn bad_uploads_are_refused_and_leave_nothing_behind() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let player = client.player("bad@example.com", "Ana", "Cali").await?;
    let dir = tempfile::tempdir()?;

    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "esto es texto, no un video\n".repeat(100))?;
    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"")?;
    let truncated = dir.path().join("truncated.mp4");
    let whole = std::fs::read(valid_clip()?)?;
    std::fs::File::create(&truncated)?.write_all(&whole[..whole.len() / 2])?;
    let short = Clip::h264(1920, 1080, 10.0).path()?;
    let long = Clip::h264(1920, 1080, 70.0).path()?;
    let low = Clip::h264(1280, 720, 21.0).path()?;
    let audio = media::audio_only(21.0)?;
    let clip = valid_clip()?;
    let title_5000 = "t".repeat(5000);

    // (case, file, text fields, status, code)
    type Case<'a> = (
        &'a str,
        Option<&'a std::path::Path>,
        Vec<(&'a str, &'a str)>,
        u16,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "text renamed .mp4",
            Some(&text),
            vec![("title", "x")],
            400,
            "invalid_video",
        ),
        (
            "zero bytes",
            Some(&empty),
            vec![("title", "x")],
            400,
            "invalid_video",
        ),
        (
            "truncated MP4",
            Some(&truncated),
            vec![("title", "x")],
            400,
            "invalid_video",
        ),
        (
            "audio only",
            Some(&audio),
            vec![("title", "x")],
            400,
            "invalid_video",
        ),
        (
            "10 s",
            Some(&short),
            vec![("title", "x")],
            400,
            "invalid_duration",
        ),
        (
            "70 s",
            Some(&long),
            vec![("title", "x")],
            400,
            "invalid_duration",
        ),
        (
            "720p",
            Some(&low),
            vec![("title", "x")],
            400,
            "invalid_resolution",
        ),
        (
            "missing file",
            None,
            vec![("title", "x")],
            400,
            "validation_error",
        ),
        (
            "missing title",
            Some(&clip),
            vec![],
            400,
            "validation_error",
        ),
        (
            "blank title",
            Some(&clip),
            vec![("title", "   ")],
            400,
            "validation_error",
        ),
        (
            "5,000-character title",
            Some(&clip),
            vec![("title", &title_5000)],
            400,
            "validation_error",
        ),
        (
            "bad publish flag",
            Some(&clip),
            vec![("title", "x"), ("publish", "maybe")],
            400,
            "validation_error",
        ),
    ];
    for (case, file, fields, status, code) in cases {
        let answer = client
            .upload(&player.token, "video_file", file, &fields)
            .await?;
        assert_eq!(answer.status, status, "{case}: {answer:?}");
        assert_eq!(answer.code(), code, "{case}");
        assert_eq!(
            answer.header("content-type"),
            Some("application/problem+json"),
            "{case}"
        );
        assert_eq!(
            stored_anything(&backends).await?,
            (0, 0, 0, 0),
            "{case} left something behind"
        );
    }

    let not_multipart = client
        .raw(
            reqwest::Method::POST,
            "/api/videos/upload",
            Some(&player.token),
            Some(RawBody::Json(serde_json::json!({"title": "x"}))),
        )
        .await?;
    assert_eq!(not_multipart.status, 400);
    let anonymous = client
        .upload_video(None, forms::UploadVideo::new().title("x"))
        .await?;
    assert_eq!(anonymous.status, 401);
    assert_eq!(stored_anything(&backends).await?, (0, 0, 0, 0));
    assert_eq!(
        files_under(backends.uploads.path()).len(),
        0,
        "no upload left in UPLOAD_DIR"
    );
    Ok(())
}

#[tokio::test]
async fn an_upload_over_100_mb_is_refused_while_streaming() -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let player = client.player("big@example.com", "Ana", "Cali").await?;

    // A raw HTTP/1.1 request without Content-Length (chunked), so the cap must be found while
    // streaming: 101 MiB of file, written in chunks while we watch for the answer.
    let address = api.base_url.trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(&address).await?;
    let (mut reader, mut writer) = stream.into_split();
    let boundary = "rsboundary";
    let head = format!(
        "POST /api/videos/upload HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n",
        player.token
    );
    let preamble = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nGrande\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"video_file\"; filename=\"big.mp4\"\r\n\
         Content-Type: video/mp4\r\n\r\n"
    );
    let writer_task = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        let chunk = |data: &[u8]| {
            let mut framed = format!("{:x}\r\n", data.len()).into_bytes();
            framed.extend_from_slice(data);
            framed.extend_from_slice(b"\r\n");
            framed
        };
        writer.write_all(&chunk(preamble.as_bytes())).await?;
        let block = vec![0x42u8; 1024 * 1024];
        let mut sent: u64 = 0;
        for _ in 0..101 {
            if writer.write_all(&chunk(&block)).await.is_err() {
                break; // the server stopped reading: exactly what we expect
            }
            sent += block.len() as u64;
        }
        anyhow::Ok(sent)
    });
    let mut response = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read =
            tokio::time::timeout(std::time::Duration::from_secs(60), reader.read(&mut buffer))
                .await??;
        if read == 0 {
            break;
        }
        response.extend_from_slice(&buffer[..read]);
        if response.windows(4).any(|w| w == b"\r\n\r\n")
            && String::from_utf8_lossy(&response).contains("\"code\"")
        {
            break;
        }
    }
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("file_too_large"), "{text}");
    let _ = writer_task.await;
    assert_eq!(stored_anything(&backends).await?, (0, 0, 0, 0));
    assert_eq!(
        files_under(backends.uploads.path()).len(),
        0,
        "no partial upload left behind"
    );
    Ok(())
}

/// Videos of `owner` recorded, and files stored for anyone.
async fn recorded_and_stored(
    backends: &LocalBackends,
    owner: &str,
) -> anyhow::Result<(i64, usize)> {
    let videos: i64 = sqlx::query_scalar("SELECT count(*) FROM videos WHERE owner_id = $1::uuid")
        .bind(owner)
        .fetch_one(&backends.database.pool)
        .await?;
    Ok((videos, files_under(backends.storage.path()).len()))
}

#[tokio::test]
async fn an_account_with_its_videos_in_flight_at_the_ceiling_is_refused_until_one_finishes()
-> anyhow::Result<()> {
    let backends = local_backends().await?;
    // No worker runs: every accepted video stays `uploaded`, in flight.
    backends.expect_queued_jobs();
    let mut env = backends.env.clone();
    env.insert("UPLOAD_MAX_IN_FLIGHT_PER_ACCOUNT".into(), "2".into());
    // Room for six parallel uploads of one account, so that only the ceiling stops them.
    env.insert("UPLOAD_MAX_CONCURRENT_PER_ACCOUNT".into(), "6".into());
    let api = RunningApi::start(&env).await?;
    let client = Client::new(&api.base_url);
    let clip = valid_clip()?;
    let busy = client.player("cola@example.com", "Ana", "Cali").await?;
    let other = client
        .player("otra.cola@example.com", "Eva", "Cali")
        .await?;
    let send = |token: &str, title: &'static str| {
        let (client, token, clip) = (client.clone(), token.to_owned(), clip.clone());
        async move {
            client
                .upload(&token, "video_file", Some(&clip), &[("title", title)])
                .await
        }
    };

    for title in ["Primera", "Segunda"] {
        let answer = send(&busy.token, title).await?;
        assert_eq!(answer.status, 201, "{answer:?}");
    }
    let refused = send(&busy.token, "Tercera").await?;
    assert_eq!(
        (refused.status, refused.code()),
        (429, "too_many_videos_in_flight"),
        "{refused:?}"
    );
    assert_eq!(refused.header("retry-after"), Some("60"));
    assert_eq!(
        recorded_and_stored(&backends, &busy.id).await?,
        (2, 2),
        "nothing recorded or stored for the refused upload"
    );

    // Another account is not held back by this one's videos.
    let answer = send(&other.token, "De otra cuenta").await?;
    assert_eq!(answer.status, 201, "{answer:?}");

    // Six at once from an account with no video in flight: all pass the early look, and the
    // recording transaction lets exactly two through; the others' stored originals are removed.
    let racer = client.player("carrera@example.com", "Luz", "Cali").await?;
    let answers = join_all((0..6).map(|_| send(&racer.token, "A la vez"))).await;
    let mut statuses = Vec::new();
    for answer in answers {
        let answer = answer?;
        statuses.push((answer.status, answer.code().to_owned()));
    }
    statuses.sort();
    let accepted = statuses.iter().filter(|(status, _)| *status == 201).count();
    let in_flight = statuses
        .iter()
        .filter(|(status, code)| *status == 429 && code == "too_many_videos_in_flight")
        .count();
    assert_eq!((accepted, in_flight), (2, 4), "{statuses:?}");
    let (racer_videos, files) = recorded_and_stored(&backends, &racer.id).await?;
    assert_eq!(
        (racer_videos, files),
        (2, 2 + 1 + 2),
        "two recorded, and only recorded videos have a stored original"
    );

    // One video finishes (as the worker would mark it): room for one more.
    sqlx::query(
        "UPDATE videos SET status = 'failed', error = 'x', processed_at = now()
          WHERE id = (SELECT id FROM videos WHERE owner_id = $1::uuid ORDER BY uploaded_at LIMIT 1)",
    )
    .bind(&busy.id)
    .execute(&backends.database.pool)
    .await?;
    let answer = send(&busy.token, "Tras terminar una").await?;
    assert_eq!(answer.status, 201, "{answer:?}");
    let refused = send(&busy.token, "Otra vez de más").await?;
    assert_eq!(refused.code(), "too_many_videos_in_flight", "{refused:?}");

    // Deleting a waiting video frees its place too.
    let waiting = answer.ok()?.video_id;
    let deleted = client.delete_video(Some(&busy.token), &waiting).await?;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    let answer = send(&busy.token, "Tras borrar una").await?;
    assert_eq!(answer.status, 201, "{answer:?}");
    Ok(())
}
