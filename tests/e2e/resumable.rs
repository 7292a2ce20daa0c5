//! Upload sessions end to end: parts through a connection cut five times, straight to the emulated
//! S3 bucket and on to a processed video, and the refusals, abort and expiry that leave nothing.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use end_to_end::{Client, RawBody, RunningApi, RunningWorker, types, wait_for_status};
use testkit::media::{self, Clip};

use crate::{files_under, local_backends, s3_and_sqs_env};

/// The bytes of part `part` of `file`.
fn part_bytes(file: &Path, part: &types::UploadPart, part_size: u64) -> anyhow::Result<Vec<u8>> {
    let mut source = std::fs::File::open(file)?;
    source.seek(SeekFrom::Start((part.part_number - 1) * part_size))?;
    let mut bytes = vec![0_u8; usize::try_from(part.size)?];
    source.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// PUTs a part to its link the way the web app does: a path on the API (local storage; the answer
/// is checked against the document) or a pre-signed S3 link. The status, or an error when the
/// connection broke.
async fn send_part(client: &Client, url: &str, bytes: Vec<u8>) -> anyhow::Result<u16> {
    if url.starts_with('/') {
        let link = url::Url::parse(&client.url(url))?;
        let segments: Vec<&str> = link.path_segments().into_iter().flatten().collect();
        let query: HashMap<_, _> = link.query_pairs().into_owned().collect();
        let (Some(id), Some(number)) = (segments.get(3), segments.get(5)) else {
            anyhow::bail!("unexpected part link {url}");
        };
        let reply = client
            .put_upload_part(
                id,
                number,
                query.get("expires").map(String::as_str),
                query.get("signature").map(String::as_str),
                bytes,
            )
            .await?;
        return Ok(reply.status);
    }
    let response = client
        .http
        .put(url)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await?;
    Ok(response.status().as_u16())
}

/// Sends every part the session still lacks, asking the session again after any failure (a cut
/// connection), until none is missing.
async fn send_missing(
    client: &Client,
    token: &str,
    upload_id: &str,
    file: &Path,
) -> anyhow::Result<types::UploadSession> {
    for _ in 0..200 {
        let session = match client.get_upload_session(Some(token), upload_id).await {
            Ok(reply) => reply.ok()?,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let missing: Vec<&types::UploadPart> =
            session.parts.iter().filter(|part| !part.received).collect();
        if missing.is_empty() {
            return Ok(session);
        }
        for part in missing {
            let bytes = part_bytes(file, part, session.part_size)?;
            match send_part(client, &part.url, bytes).await {
                Ok(200) => {}
                Ok(status) => anyhow::bail!("part {} answered {status}", part.part_number),
                Err(_) => break,
            }
        }
    }
    anyhow::bail!("the parts never all arrived")
}

/// Completes, trying again when the connection breaks before the answer.
async fn complete(
    client: &Client,
    token: &str,
    upload_id: &str,
) -> anyhow::Result<end_to_end::Reply<types::UploadAccepted>> {
    let mut last = None;
    for _ in 0..20 {
        match client.complete_upload_session(Some(token), upload_id).await {
            Ok(reply) => return Ok(reply),
            Err(error) => last = Some(error),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("no answer")))
}

fn session_request(file: &Path, title: &str) -> anyhow::Result<types::UploadSessionRequest> {
    Ok(types::UploadSessionRequest {
        size: std::fs::metadata(file)?.len(),
        title: title.to_owned(),
        publish: None,
        checksum: None,
    })
}

/// Opens a session for `file`, sends it and completes it.
async fn upload_in_parts(
    client: &Client,
    token: &str,
    file: &Path,
    title: &str,
) -> anyhow::Result<end_to_end::Reply<types::UploadAccepted>> {
    let opened = client
        .create_upload_session(Some(token), &session_request(file, title)?)
        .await?
        .ok()?;
    send_missing(client, token, &opened.upload_id, file).await?;
    complete(client, token, &opened.upload_id).await
}

/// A 100 MB clip (a 21 s 1080p clip whose `moov` comes after its media data, padded with a `free`
/// box) sent through a proxy that cuts every connection five times, evenly over the file.
#[tokio::test]
async fn a_100_mb_session_survives_five_cuts_resending_little() -> anyhow::Result<()> {
    const FILE_BYTES: u64 = 100_000_000;
    let backends = local_backends().await?;
    backends.expect_queued_jobs();
    let api = RunningApi::start(&backends.env).await?;
    let player = Client::new(&api.base_url)
        .player("cortes@example.com", "Ana", "Cali")
        .await?;
    let file = media::padded_to(
        &media::moov_at_end(&Clip::h264(1920, 1080, 21.0))?,
        FILE_BYTES,
    )?;
    let upstream: std::net::SocketAddr = api.base_url.trim_start_matches("http://").parse()?;
    let cut_at: Vec<u64> = (1..=5).map(|cut| cut * FILE_BYTES / 6).collect();

    let proxy = testkit::proxy::CuttingProxy::start(upstream, cut_at.clone()).await?;
    let client = Client::new(&format!("http://{}", proxy.address()));
    let answer = upload_in_parts(&client, &player.token, file.path(), "Cinco cortes").await?;
    assert_eq!(answer.status, 201, "{answer:?}");
    let (sent, cuts) = (proxy.bytes_sent(), proxy.cuts());
    let ratio = sent as f64 / FILE_BYTES as f64;
    eprintln!("upload session, 100 MB, {cuts} cuts: {sent} bytes sent ({ratio:.3}× the file)");
    assert_eq!(cuts, 5, "every cut happened");
    assert!(ratio <= 1.3, "sent {ratio:.3}× the file");
    let stored: i64 = sqlx::query_scalar("SELECT size_bytes FROM videos")
        .fetch_one(&backends.database.pool)
        .await?;
    assert_eq!(stored, i64::try_from(FILE_BYTES)?);

    // The single request through the same cuts: every cut starts it again from zero.
    let proxy = testkit::proxy::CuttingProxy::start(upstream, cut_at).await?;
    let client = Client::new(&format!("http://{}", proxy.address()));
    let mut attempts = 0;
    loop {
        attempts += 1;
        anyhow::ensure!(attempts <= 10, "the single upload never got through");
        match client
            .upload(
                &player.token,
                "video_file",
                Some(file.path()),
                &[("title", "Sin sesión")],
            )
            .await
        {
            Ok(reply) if reply.status == 201 => break,
            Ok(reply) if reply.status == 400 => {}
            Ok(reply) => anyhow::bail!("the single upload answered {reply:?}"),
            Err(_) => {}
        }
    }
    let single = proxy.bytes_sent();
    eprintln!(
        "single-request upload, 100 MB, {} cuts: {single} bytes sent ({:.3}× the file, {attempts} attempts)",
        proxy.cuts(),
        single as f64 / FILE_BYTES as f64
    );
    Ok(())
}

/// In S3 mode the parts go to the bucket through pre-signed links (never through the API), and
/// the completed session is processed by the worker.
#[tokio::test]
async fn a_session_on_s3_goes_straight_to_the_bucket_and_is_processed() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let env = s3_and_sqs_env(&backends).await?;
    let api = RunningApi::start(&env).await?;
    let mut worker_env = env.clone();
    worker_env.insert("WORKER_X264_PRESET".into(), "ultrafast".into());
    worker_env.insert("WORKER_POLL_WAIT_SECONDS".into(), "1".into());
    let _worker = RunningWorker::start(&worker_env)?;
    let client = Client::new(&api.base_url);
    let player = client.player("s3parts@example.com", "Ana", "Cali").await?;
    // Three parts: two of 5 MiB and the rest.
    let file = media::padded_to(&Clip::h264(1920, 1080, 21.0).path()?, 12 * 1024 * 1024)?;
    let opened = client
        .create_upload_session(
            Some(&player.token),
            &session_request(file.path(), "Directo")?,
        )
        .await?;
    assert_eq!(opened.status, 201, "{opened:?}");
    let opened = opened.ok()?;
    assert_eq!((opened.part_count, opened.part_size), (3, 5 * 1024 * 1024));
    let endpoint = std::env::var("AWS_ENDPOINT_URL")?;
    for part in &opened.parts {
        assert!(
            part.url.starts_with(&endpoint) && part.url.contains("X-Amz-Signature"),
            "a part link goes to the bucket, pre-signed: {}",
            part.url
        );
    }
    // Before every part is there, completing says which are missing.
    let early = client
        .complete_upload_session(Some(&player.token), &opened.upload_id)
        .await?;
    assert_eq!((early.status, early.code()), (409, "upload_incomplete"));
    send_missing(&client, &player.token, &opened.upload_id, file.path()).await?;
    let answer = complete(&client, &player.token, &opened.upload_id).await?;
    assert_eq!(answer.status, 201, "{answer:?}");
    let accepted = answer.ok()?;
    // A retry after a lost answer hears the same.
    let again = complete(&client, &player.token, &opened.upload_id)
        .await?
        .ok()?;
    assert_eq!(again.video_id, accepted.video_id);
    let detail = wait_for_status(
        &client,
        &player.token,
        &accepted.video_id,
        &["processed", "failed"],
        Duration::from_secs(240),
    )
    .await?;
    assert_eq!(detail.status, "processed", "{detail:?}");
    Ok(())
}

/// A session whose file breaks a rule is refused with the single upload's problem, and its file is
/// removed; one whose `moov` is at the end is found by ranged reads and accepted.
#[tokio::test]
async fn a_session_is_judged_by_the_single_uploads_rules() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    backends.expect_queued_jobs();
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let player = client.player("reglas@example.com", "Ana", "Cali").await?;
    let short = Clip::h264(1920, 1080, 8.0).path()?;
    let single = client
        .upload(
            &player.token,
            "video_file",
            Some(&short),
            &[("title", "Corto")],
        )
        .await?;
    let opened = client
        .create_upload_session(Some(&player.token), &session_request(&short, "Corto")?)
        .await?
        .ok()?;
    send_missing(&client, &player.token, &opened.upload_id, &short).await?;
    let session = complete(&client, &player.token, &opened.upload_id).await?;
    assert_eq!((session.status, session.code()), (400, "invalid_duration"));
    assert_eq!(
        session.body, single.body,
        "the same problem as the single upload"
    );
    // A client that lost the answer and asks again hears the same.
    let again = complete(&client, &player.token, &opened.upload_id).await?;
    assert_eq!(again.body, single.body);
    assert!(
        files_under(backends.storage.path()).is_empty(),
        "nothing stored: {:?}",
        files_under(backends.storage.path())
    );
    let videos: i64 = sqlx::query_scalar("SELECT count(*) FROM videos")
        .fetch_one(&backends.database.pool)
        .await?;
    assert_eq!(videos, 0);

    let late_moov = media::moov_at_end(&Clip::h264(1080, 1920, 21.0))?;
    let accepted = upload_in_parts(&client, &player.token, &late_moov, "Al final").await?;
    assert_eq!(accepted.status, 201, "{accepted:?}");
    Ok(())
}

/// Bad requests change nothing; a session can be aborted; an expired one is swept with its parts;
/// an account's open sessions have a ceiling.
#[tokio::test]
async fn sessions_are_bounded_aborted_and_swept() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let mut env = backends.env.clone();
    env.insert("UPLOAD_SESSION_SWEEP_SECONDS".into(), "1".into());
    env.insert("UPLOAD_MAX_SESSIONS_PER_ACCOUNT".into(), "2".into());
    let api = RunningApi::start(&env).await?;
    let client = Client::new(&api.base_url);
    let player = client.player("sesiones@example.com", "Ana", "Cali").await?;
    let token = Some(player.token.as_str());
    let sessions = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM upload_sessions")
            .fetch_one(&backends.database.pool)
            .await
    };

    let request = |body: serde_json::Value| {
        client.raw(
            reqwest::Method::POST,
            "/api/videos/uploads",
            token,
            Some(RawBody::Json(body)),
        )
    };
    let too_large =
        request(serde_json::json!({"size": 100 * 1024 * 1024 + 1, "title": "X"})).await?;
    assert_eq!(
        (too_large.status, too_large.code()),
        (413, "file_too_large")
    );
    let empty = request(serde_json::json!({"size": 0, "title": "X"})).await?;
    assert_eq!((empty.status, empty.code()), (400, "invalid_body"));
    let untitled = request(serde_json::json!({"size": 10})).await?;
    assert_eq!(
        (
            untitled.status,
            untitled.code(),
            untitled.body["field"].as_str()
        ),
        (400, "validation_error", Some("title"))
    );
    let blank = request(serde_json::json!({"size": 10, "title": "   "})).await?;
    assert_eq!((blank.status, blank.code()), (400, "validation_error"));
    assert_eq!(sessions().await?, 0, "nothing opened");

    let file = Clip::h264(1920, 1080, 21.0).path()?;
    let open = || async {
        client
            .create_upload_session(token, &session_request(&file, "Partes")?)
            .await
    };
    let first = open().await?.ok()?;
    let second = open().await?.ok()?;
    let third = open().await?;
    assert_eq!(
        (third.status, third.code()),
        (429, "too_many_upload_sessions")
    );
    assert!(third.header("retry-after").is_some());

    // A part, then abort: the part goes with the session.
    let part = &first.parts[0];
    let bytes = part_bytes(&file, part, first.part_size)?;
    assert_eq!(send_part(&client, &part.url, bytes).await?, 200);
    let parts_dir = backends.storage.path().join(".parts");
    assert_eq!(files_under(&parts_dir).len(), 1);
    // A link with another signature is refused.
    let forged = part.url.replace("signature=", "signature=00");
    assert_eq!(send_part(&client, &forged, vec![0; 10]).await?, 403);
    let aborted = client.abort_upload_session(token, &first.upload_id).await?;
    assert_eq!(aborted.status, 200, "{aborted:?}");
    assert!(
        files_under(&parts_dir).is_empty(),
        "the part went with the session"
    );
    let gone = client.get_upload_session(token, &first.upload_id).await?;
    assert_eq!((gone.status, gone.code()), (404, "upload_not_found"));

    // A part, then the session expires: the sweep removes both.
    let part = &second.parts[0];
    let bytes = part_bytes(&file, part, second.part_size)?;
    assert_eq!(send_part(&client, &part.url, bytes).await?, 200);
    sqlx::query("UPDATE upload_sessions SET expires_at = now() - interval '1 second'")
        .execute(&backends.database.pool)
        .await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while sessions().await? > 0 {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the sweep never came"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        files_under(&parts_dir).is_empty(),
        "the sweep removed the part"
    );
    let expired = client
        .complete_upload_session(token, &second.upload_id)
        .await?;
    assert_eq!((expired.status, expired.code()), (404, "upload_not_found"));
    Ok(())
}

/// CPU seconds (user + system) of process `pid` so far.
fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok(ticks as f64 / 100.0)
}

/// In S3 mode the API's share of a 100 MB upload by session is a few small requests (and two
/// ranged reads of the stored object): the bytes clients send the API, counted by a proxy in front
/// of it, and its CPU time, against the same file sent as a single request.
#[tokio::test]
async fn in_s3_mode_a_session_costs_the_api_no_video_bytes() -> anyhow::Result<()> {
    const FILE_BYTES: u64 = 100_000_000;
    const SESSIONS: u64 = 3;
    let backends = local_backends().await?;
    backends.expect_queued_jobs();
    let mut env = s3_and_sqs_env(&backends).await?;
    env.insert("UPLOAD_MAX_IN_FLIGHT_PER_ACCOUNT".into(), "10".into());
    let api = RunningApi::start(&env).await?;
    let pid = api
        .pid()
        .ok_or_else(|| anyhow::anyhow!("the API is not running"))?;
    let upstream: std::net::SocketAddr = api.base_url.trim_start_matches("http://").parse()?;
    let counting = testkit::proxy::CuttingProxy::start(upstream, Vec::new()).await?;
    let client = Client::new(&format!("http://{}", counting.address()));
    let player = client.player("costes@example.com", "Ana", "Cali").await?;
    let file = media::padded_to(&Clip::h264(1920, 1080, 21.0).path()?, FILE_BYTES)?;

    let (cpu_before, sent_before) = (cpu_seconds(pid)?, counting.bytes_sent());
    for n in 0..SESSIONS {
        let answer =
            upload_in_parts(&client, &player.token, file.path(), &format!("S3 {n}")).await?;
        assert_eq!(answer.status, 201, "{answer:?}");
    }
    let (cpu_after, sent_after) = (cpu_seconds(pid)?, counting.bytes_sent());
    let session_cpu = (cpu_after - cpu_before) / SESSIONS as f64;
    let session_bytes = (sent_after - sent_before) / SESSIONS;
    let peak_mib = testkit::peak_rss_bytes_of(pid)? as f64 / (1024.0 * 1024.0);

    let single = client
        .upload(
            &player.token,
            "video_file",
            Some(file.path()),
            &[("title", "Entera")],
        )
        .await?;
    assert_eq!(single.status, 201, "{single:?}");
    let (cpu_single, sent_single) = (cpu_seconds(pid)?, counting.bytes_sent());
    eprintln!(
        "S3 mode, 100 MB: per session the API received {session_bytes} bytes and used \
         {session_cpu:.2} s of CPU (peak RSS {peak_mib:.1} MiB after {SESSIONS} sessions); the \
         single request: {} bytes received, {:.2} s of CPU",
        sent_single - sent_after,
        cpu_single - cpu_after
    );
    assert!(
        session_bytes < 64 * 1024,
        "the API received {session_bytes} bytes for one session: video bytes went through it"
    );
    Ok(())
}
