//! Attacks a hostile, logged-in client can make, each against the real API: the attack is refused
//! with a clear answer, nothing is stored, and the service keeps answering meanwhile. Listed with
//! what each proves in docs/reliability.md.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use end_to_end::{Client, RunningApi, types};
use futures_util::future::join_all;
use testkit::media::Clip;
use tokio::time::Instant;

use crate::local_backends;

/// Polls `/health` every 50 ms until stopped; returns the slowest answer (an error if any failed).
struct HealthWatch {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<anyhow::Result<Vec<Duration>>>,
}

impl HealthWatch {
    fn start(api: &RunningApi) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let url = api.url("/health");
        let flag = Arc::clone(&stop);
        let task = tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()?;
            let mut latencies = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                let began = Instant::now();
                let status = http.get(&url).send().await?.status();
                anyhow::ensure!(status == 200, "/health answered {status}");
                latencies.push(began.elapsed());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(latencies)
        });
        Self { stop, task }
    }

    /// Every answer's latency, sorted.
    async fn finish(self) -> anyhow::Result<Vec<Duration>> {
        self.stop.store(true, Ordering::Relaxed);
        let mut latencies = self.task.await??;
        latencies.sort();
        anyhow::ensure!(!latencies.is_empty(), "/health was never polled");
        Ok(latencies)
    }
}

/// A multipart body of one part whose header line never ends: 100 MiB of it, made on the fly.
fn endless_header_body() -> reqwest::Body {
    let head = b"--B\r\nContent-Disposition: form-data; name=\"video_file\"; filename=\"a.mp4\"\r\nX-Pad: "
        .to_vec();
    let chunks = std::iter::once(head)
        .chain(std::iter::repeat_with(|| vec![b'a'; 1024 * 1024]).take(100))
        .map(Ok::<_, std::io::Error>);
    reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))
}

#[tokio::test]
async fn ten_parallel_endless_part_headers_are_refused_with_memory_bounded() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    // Ten accounts (they are free), so that each attack gets past the per-account share.
    let mut players = Vec::new();
    for index in 0..10 {
        let email = format!("headers{index}@example.com");
        players.push(client.player(&email, "Ana", "Cali").await?);
    }
    let health = HealthWatch::start(&api);

    let attacks = players.iter().map(|player| {
        client
            .http
            .post(api.url("/api/videos/upload"))
            .bearer_auth(&player.token)
            .header("content-type", "multipart/form-data; boundary=B")
            .body(endless_header_body())
            .send()
    });
    for answer in join_all(attacks).await {
        let answer = answer?;
        let status = answer.status();
        let body: serde_json::Value = answer.json().await?;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["code"], "validation_error", "{body}");
    }
    let latencies = health.finish().await?;
    let pid = api.pid().ok_or_else(|| anyhow::anyhow!("the API exited"))?;
    let peak_mib = testkit::peak_rss_bytes_of(pid)? / (1024 * 1024);
    // The upload-memory budget of docs/benchmarks.md (20 real 100 MB uploads: under 150 MiB).
    assert!(peak_mib < 150, "API peak RSS {peak_mib} MiB");
    assert!(
        latencies[latencies.len() - 1] < Duration::from_secs(2),
        "slowest /health {:?}",
        latencies[latencies.len() - 1]
    );
    let (videos, files): (i64, usize) = (
        sqlx::query_scalar("SELECT count(*) FROM videos")
            .fetch_one(&backends.database.pool)
            .await?,
        std::fs::read_dir(backends.uploads.path())?.count(),
    );
    assert_eq!((videos, files), (0, 0));
    Ok(())
}

#[tokio::test]
async fn uploads_past_the_concurrency_cap_are_refused_at_once() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    // The accepted uploads' jobs stay queued: no worker runs.
    backends.expect_queued_jobs();
    let mut env = backends.env.clone();
    env.insert("UPLOAD_MAX_CONCURRENT".into(), "2".into());
    let api = RunningApi::start(&env).await?;
    let client = Client::new(&api.base_url);
    let player = client.player("cap@example.com", "Ana", "Cali").await?;
    // The third upload comes from someone else: the player's own two are its account's share.
    let other = client.player("cap2@example.com", "Eva", "Cali").await?;

    // Two uploads that stay open (their bodies wait on a channel), then a third.
    let mut holds = Vec::new();
    let mut open = Vec::new();
    for _ in 0..2 {
        let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
        sender
            .send(Ok(
                b"--B\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nx".to_vec(),
            ))
            .await?;
        let body = reqwest::Body::wrap_stream(tokio_stream_of(receiver));
        open.push(tokio::spawn(
            client
                .http
                .post(api.url("/api/videos/upload"))
                .bearer_auth(&player.token)
                .header("content-type", "multipart/form-data; boundary=B")
                .body(body)
                .send(),
        ));
        holds.push(sender);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let clip = Clip::h264(1920, 1080, 21.0).path()?;
    let third = client
        .upload(
            &other.token,
            "video_file",
            Some(&clip),
            &[("title", "Tercero")],
        )
        .await?;
    assert_eq!((third.status, third.code()), (503, "busy"), "{third:?}");
    assert!(third.header("retry-after").is_some());
    // Once a place frees, uploads go through again.
    drop(holds);
    for task in open {
        let _ = task.await?;
    }
    let fourth = client
        .upload(
            &player.token,
            "video_file",
            Some(&clip),
            &[("title", "Cuarto")],
        )
        .await?;
    assert_eq!(fourth.status, 201, "{fourth:?}");
    Ok(())
}

/// A stream of the chunks sent on `receiver` (ends when every sender is dropped).
fn tokio_stream_of(
    mut receiver: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |context| receiver.poll_recv(context))
}

#[tokio::test]
async fn a_file_of_millions_of_tiny_boxes_is_refused_without_stalling_the_service()
-> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let player = client.player("boxes@example.com", "Ana", "Cali").await?;
    // An `ftyp`, then 100 MB of 8-byte `free` boxes: twelve million boxes.
    let mut file = tempfile::NamedTempFile::new()?;
    {
        use std::io::Write;
        let mut writer = std::io::BufWriter::new(file.as_file_mut());
        writer.write_all(&[
            0, 0, 0, 16, b'f', b't', b'y', b'p', b'i', b's', b'o', b'm', 0, 0, 0, 0,
        ])?;
        let boxes: Vec<u8> = [0, 0, 0, 8, b'f', b'r', b'e', b'e'].repeat(128 * 1024);
        for _ in 0..95 {
            writer.write_all(&boxes)?;
        }
        writer.flush()?;
    }
    let health = HealthWatch::start(&api);
    let answer = client
        .upload(
            &player.token,
            "video_file",
            Some(file.path()),
            &[("title", "Cajas")],
        )
        .await?;
    let latencies = health.finish().await?;
    assert_eq!(
        (answer.status, answer.code()),
        (400, "invalid_video"),
        "{answer:?}"
    );
    let p99 = latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)];
    assert!(
        p99 < Duration::from_millis(500),
        "/health p99 {p99:?} over {} polls",
        latencies.len()
    );
    Ok(())
}

/// `clip` with every `mvhd` and `mdhd` rewritten as version 1 with a duration of 2^64 − 2 ticks
/// of one second: about 585 billion years.
fn with_absurd_durations(clip: &std::path::Path) -> anyhow::Result<tempfile::NamedTempFile> {
    let mut bytes = std::fs::read(clip)?;
    let mut patched = 0;
    for kind in [b"mvhd", b"mdhd"] {
        let starts: Vec<usize> = bytes
            .windows(4)
            .enumerate()
            .filter(|(_, window)| window == kind)
            .map(|(at, _)| at + 4)
            .collect();
        for payload in starts {
            bytes[payload] = 1;
            bytes[payload + 20..payload + 24].copy_from_slice(&1_u32.to_be_bytes());
            bytes[payload + 24..payload + 32].copy_from_slice(&(u64::MAX - 1).to_be_bytes());
            patched += 1;
        }
    }
    anyhow::ensure!(patched >= 2, "the clip has an mvhd and an mdhd");
    let file = tempfile::NamedTempFile::new()?;
    std::fs::write(file.path(), bytes)?;
    Ok(file)
}

#[tokio::test]
async fn a_crafted_duration_is_a_400_not_a_dropped_connection() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let player = client.player("crafted@example.com", "Ana", "Cali").await?;
    let crafted = with_absurd_durations(&Clip::h264(1920, 1080, 21.0).path()?)?;
    let answer = client
        .upload(
            &player.token,
            "video_file",
            Some(crafted.path()),
            &[("title", "Eterno")],
        )
        .await?;
    assert_eq!(
        (answer.status, answer.code()),
        (400, "invalid_video"),
        "{answer:?}"
    );
    // And the server is still there.
    assert_eq!(client.health().await?.status, 200);
    Ok(())
}

/// A copy of `clip` whose sample entry declares frames of `width` × `height` for the decoder.
fn with_declared_frame_size(
    clip: &std::path::Path,
    width: u16,
    height: u16,
) -> anyhow::Result<tempfile::NamedTempFile> {
    let mut bytes = std::fs::read(clip)?;
    let stsd = bytes
        .windows(4)
        .position(|window| window == b"stsd")
        .context("the clip has an stsd box")?;
    let entry = stsd
        + bytes[stsd..]
            .windows(4)
            .position(|window| window == b"avc1")
            .context("the clip's sample entry is avc1")?;
    // The visual sample entry's width and height, 24 and 26 bytes into its payload.
    bytes[entry + 28..entry + 30].copy_from_slice(&width.to_be_bytes());
    bytes[entry + 30..entry + 32].copy_from_slice(&height.to_be_bytes());
    let file = tempfile::NamedTempFile::new()?;
    std::fs::write(file.path(), bytes)?;
    Ok(file)
}

#[tokio::test]
async fn frames_too_many_or_too_large_for_a_worker_are_refused_at_upload() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let player = client.player("pesado@example.com", "Ana", "Cali").await?;
    let dense = Clip {
        fps: 240,
        audio: false,
        ..Clip::h264(320, 240, 21.0)
    };
    let huge = with_declared_frame_size(&Clip::h264(1920, 1080, 21.0).path()?, 16_000, 16_000)?;
    for (file, code) in [
        (dense.path()?, "invalid_frame_rate"),
        (huge.path().to_owned(), "invalid_resolution"),
    ] {
        let answer = client
            .upload(
                &player.token,
                "video_file",
                Some(&file),
                &[("title", "Pesado")],
            )
            .await?;
        assert_eq!((answer.status, answer.code()), (400, code), "{answer:?}");
    }
    Ok(())
}

#[tokio::test]
async fn a_hundred_parallel_wrong_logins_reach_the_hash_at_most_the_limit() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    client.player("target@example.com", "Ana", "Cali").await?;
    let wrong = types::LoginRequest {
        email: "target@example.com".into(),
        password: "adivinanza-123".into(),
    };
    let answers = join_all((0..100).map(|_| client.login(&wrong))).await;
    let mut counts: HashMap<u16, usize> = HashMap::new();
    for answer in answers {
        *counts.entry(answer?.status).or_default() += 1;
    }
    // LOGIN_MAX_FAILURES_PER_EMAIL is 5: five wrong passwords are checked, the rest never hashed.
    assert_eq!(counts.get(&401), Some(&5), "{counts:?}");
    assert_eq!(counts.get(&429), Some(&95), "{counts:?}");
    Ok(())
}

#[tokio::test]
async fn a_signup_flood_is_refused_quickly_and_a_normal_login_still_works() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let mut env = backends.env.clone();
    env.insert("PASSWORD_HASH_THREADS".into(), "1".into());
    env.insert("PASSWORD_HASH_QUEUE".into(), "4".into());
    let api = RunningApi::start(&env).await?;
    let client = Client::new(&api.base_url);
    client.player("regular@example.com", "Ana", "Cali").await?;
    let normal = types::LoginRequest {
        email: "regular@example.com".into(),
        password: end_to_end::PASSWORD.into(),
    };

    let began = Instant::now();
    let flood = (0..400).map(|index| {
        let client = &client;
        async move {
            let body =
                end_to_end::signup_request(&format!("flood{index}@example.com"), "Bot", "Cali");
            client.signup(&body).await
        }
    });
    let mut counts: HashMap<u16, usize> = HashMap::new();
    for answer in join_all(flood).await {
        *counts.entry(answer?.status).or_default() += 1;
    }
    let flood_took = began.elapsed();
    // The queue never holds more than a few hashes: the flood is answered in seconds, not the
    // minutes 400 hashes in a row would take, and most of it never reaches a hash.
    assert!(
        flood_took < Duration::from_secs(20),
        "the flood took {flood_took:?}: {counts:?}"
    );
    let created = counts.get(&201).copied().unwrap_or(0);
    assert!(created <= 30, "SIGNUP_MAX_PER_CLIENT is 30: {counts:?}");
    assert_eq!(
        counts.get(&429).copied().unwrap_or(0) + counts.get(&503).copied().unwrap_or(0) + created,
        400,
        "{counts:?}"
    );
    let login_began = Instant::now();
    let login = client.login(&normal).await?;
    assert_eq!(login.status, 200, "{login:?}");
    assert!(
        login_began.elapsed() < Duration::from_secs(2),
        "{:?}",
        login_began.elapsed()
    );
    Ok(())
}

#[tokio::test]
async fn an_early_refusal_reaches_a_node_client_still_sending() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    let api = RunningApi::start(&backends.env).await?;
    // Node's http client writes the whole body and reports EPIPE/ECONNRESET, not the answer, when
    // the server closes the connection while it is still sending.
    let script = r#"
        const http = require('http');
        const body = Buffer.alloc(25 * 1024 * 1024, 0x61);
        const head = Buffer.from('--B\r\nContent-Disposition: form-data; name="video_file"; filename="a.mp4"\r\n\r\n');
        const tail = Buffer.from('\r\n--B--\r\n');
        const request = http.request(process.argv[1], {
            method: 'POST',
            headers: {
                'content-type': 'multipart/form-data; boundary=B',
                'content-length': head.length + body.length + tail.length,
            },
        }, (response) => {
            let text = '';
            response.on('data', (chunk) => { text += chunk; });
            response.on('end', () => { console.log(`status ${response.statusCode} ${text}`); });
        });
        request.on('error', (error) => { console.log(`error ${error.code}`); process.exitCode = 3; });
        request.write(head);
        request.write(body);
        request.end(tail);
    "#;
    let output = tokio::process::Command::new("node")
        .arg("-e")
        .arg(script)
        .arg(api.url("/api/videos/upload"))
        .output()
        .await?;
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        printed.starts_with("status 401"),
        "{printed} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(printed.contains("unauthorized"), "{printed}");
    Ok(())
}

/// An upload that sends its head and the start of its body, then a byte every `every` until
/// aborted: it never stalls long enough to be dropped.
fn trickle(base_url: &str, token: &str, every: Duration) -> tokio::task::JoinHandle<()> {
    let address = base_url.trim_start_matches("http://").to_owned();
    let token = token.to_owned();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let Ok(mut stream) = tokio::net::TcpStream::connect(&address).await else {
            return;
        };
        let head = format!(
            "POST /api/videos/upload HTTP/1.1\r\nHost: {address}\r\n\
             Authorization: Bearer {token}\r\n\
             Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 50000000\r\n\r\n\
             --B\r\nContent-Disposition: form-data; name=\"video_file\"; filename=\"a.mp4\"\r\n\r\n"
        );
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        loop {
            tokio::time::sleep(every).await;
            if stream.write_all(b"a").await.is_err() {
                return;
            }
        }
    })
}

#[tokio::test]
async fn one_account_trickling_on_sixteen_connections_leaves_room_for_everyone_else()
-> anyhow::Result<()> {
    let backends = local_backends().await?;
    backends.expect_queued_jobs();
    let api = RunningApi::start(&backends.env).await?;
    let client = Client::new(&api.base_url);
    let slow = client.player("goteo@example.com", "Ana", "Cali").await?;
    let other = client.player("otra@example.com", "Eva", "Cali").await?;
    // As many connections as the instance takes uploads (UPLOAD_MAX_CONCURRENT), each sending a
    // byte a second: before, they held every slot and everyone else got 503.
    let tricklers: Vec<_> = (0..16)
        .map(|_| trickle(&api.base_url, &slow.token, Duration::from_secs(1)))
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let answer = client
        .upload(
            &other.token,
            "video_file",
            Some(&Clip::h264(1920, 1080, 21.0).path()?),
            &[("title", "Mientras tanto")],
        )
        .await?;
    assert_eq!(answer.status, 201, "{answer:?}");
    // The trickling account itself may send two at once (UPLOAD_MAX_CONCURRENT_PER_ACCOUNT).
    let refused = client
        .upload(
            &slow.token,
            "video_file",
            Some(&Clip::h264(1920, 1080, 21.0).path()?),
            &[("title", "Otra más")],
        )
        .await?;
    assert_eq!(
        (refused.status, refused.code()),
        (429, "too_many_uploads"),
        "{refused:?}"
    );
    assert!(refused.header("retry-after").is_some());
    for trickler in tricklers {
        trickler.abort();
    }
    Ok(())
}

#[tokio::test]
async fn a_body_that_never_ends_frees_its_slot_at_the_upload_deadline() -> anyhow::Result<()> {
    let backends = local_backends().await?;
    backends.expect_queued_jobs();
    let mut env = backends.env.clone();
    env.insert("UPLOAD_MAX_CONCURRENT".into(), "1".into());
    env.insert("UPLOAD_DEADLINE_SECONDS".into(), "2".into());
    let api = RunningApi::start(&env).await?;
    let client = Client::new(&api.base_url);
    let slow = client.player("eterno@example.com", "Ana", "Cali").await?;
    let other = client.player("puntual@example.com", "Eva", "Cali").await?;
    // Never stalled (a byte every half second), never finished: it holds the only slot...
    let trickler = trickle(&api.base_url, &slow.token, Duration::from_millis(500));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let clip = Clip::h264(1920, 1080, 21.0).path()?;
    let meanwhile = client
        .upload(
            &other.token,
            "video_file",
            Some(&clip),
            &[("title", "Espera")],
        )
        .await?;
    assert_eq!((meanwhile.status, meanwhile.code()), (503, "busy"));
    // ...until the deadline, while it still trickles.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = client
        .upload(
            &other.token,
            "video_file",
            Some(&clip),
            &[("title", "Ahora sí")],
        )
        .await?;
    assert_eq!(after.status, 201, "{after:?}");
    trickler.abort();
    Ok(())
}

/// A copy of `clip` (ffmpeg's `+faststart`: `ftyp`, `moov`, then the media) whose `moov` carries
/// `extra` more bytes in a `free` box: a valid MP4 the probe must read a large `moov` of.
fn with_large_moov(
    clip: &std::path::Path,
    extra: usize,
) -> anyhow::Result<tempfile::NamedTempFile> {
    let bytes = std::fs::read(clip)?;
    let mut at = 0;
    let (start, size) = loop {
        let size = u32::from_be_bytes(
            bytes
                .get(at..at + 4)
                .context("the clip has a moov box")?
                .try_into()?,
        ) as usize;
        if bytes.get(at + 4..at + 8) == Some(b"moov") {
            break (at, size);
        }
        anyhow::ensure!(size >= 8, "a box of {size} bytes");
        at += size;
    };
    let mut large = Vec::with_capacity(bytes.len() + extra);
    large.extend_from_slice(&bytes[..start]);
    large.extend_from_slice(&u32::try_from(size + extra)?.to_be_bytes());
    large.extend_from_slice(&bytes[start + 4..start + size]);
    large.extend_from_slice(&u32::try_from(extra)?.to_be_bytes());
    large.extend_from_slice(b"free");
    large.resize(large.len() + extra - 8, 0);
    large.extend_from_slice(&bytes[start + size..]);
    let file = tempfile::NamedTempFile::new()?;
    std::fs::write(file.path(), large)?;
    Ok(file)
}

#[tokio::test]
async fn sixteen_large_moovs_at_once_stay_within_the_moov_memory_budget() -> anyhow::Result<()> {
    const MOOV_BUDGET_MIB: u64 = 32;
    let backends = local_backends().await?;
    backends.expect_queued_jobs();
    let mut env = backends.env.clone();
    env.insert("UPLOAD_MOOV_BUDGET_MIB".into(), MOOV_BUDGET_MIB.to_string());
    let api = RunningApi::start(&env).await?;
    let client = Client::new(&api.base_url);
    // Eight accounts of two uploads each (UPLOAD_MAX_CONCURRENT_PER_ACCOUNT): the instance's 16.
    let mut players = Vec::new();
    for index in 0..8 {
        let email = format!("moov{index}@example.com");
        players.push(client.player(&email, "Ana", "Cali").await?);
    }
    let clip = Clip::h264(1920, 1080, 21.0).path()?;
    // A 24 MiB moov: under the 32 MiB a single upload may have, but two at once pass the budget.
    let large = with_large_moov(&clip, 24 * 1024 * 1024)?;
    let mut body = b"--B\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nGrande\r\n\
        --B\r\nContent-Disposition: form-data; name=\"video_file\"; filename=\"a.mp4\"\r\n\
        Content-Type: video/mp4\r\n\r\n"
        .to_vec();
    body.extend_from_slice(&std::fs::read(large.path())?);
    let body = Arc::new(body);

    // Sixteen uploads send all but their closing boundary...
    let mut tails = Vec::new();
    let mut answers = Vec::new();
    for player in players.iter().chain(&players) {
        let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
        answers.push(tokio::spawn(
            client
                .http
                .post(api.url("/api/videos/upload"))
                .bearer_auth(&player.token)
                .header("content-type", "multipart/form-data; boundary=B")
                .body(reqwest::Body::wrap_stream(tokio_stream_of(receiver)))
                .send(),
        ));
        let body = Arc::clone(&body);
        tails.push(tokio::spawn(async move {
            for chunk in body.chunks(1024 * 1024) {
                sender.send(Ok(chunk.to_vec())).await?;
            }
            anyhow::Ok(sender)
        }));
    }
    let mut senders = Vec::new();
    for tail in tails {
        senders.push(tail.await??);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pid = api.pid().ok_or_else(|| anyhow::anyhow!("the API exited"))?;
    let before_mib = testkit::peak_rss_bytes_of(pid)? / (1024 * 1024);
    // ...then all close at once: sixteen probes read their moov together.
    join_all(
        senders
            .iter()
            .map(|sender| sender.send(Ok(b"\r\n--B--\r\n".to_vec()))),
    )
    .await;
    drop(senders);
    let mut accepted = 0_i64;
    for answer in answers {
        let answer = answer.await??;
        let (status, retry_after) = (
            answer.status(),
            answer.headers().get("retry-after").cloned(),
        );
        let body: serde_json::Value = answer.json().await?;
        match status.as_u16() {
            201 => accepted += 1,
            503 => {
                assert_eq!(body["code"], "busy", "{body}");
                assert!(retry_after.is_some(), "{body}");
            }
            _ => panic!("{status} {body}"),
        }
    }
    let grew_mib = (testkit::peak_rss_bytes_of(pid)? / (1024 * 1024)).saturating_sub(before_mib);
    println!(
        "API peak RSS {before_mib} MiB before the probes, grew {grew_mib} MiB; {accepted} accepted"
    );
    // One moov at a time fits the budget; the rest of the growth is a few MiB of request buffers.
    assert!(
        grew_mib < MOOV_BUDGET_MIB + 16,
        "API peak RSS grew by {grew_mib} MiB for a {MOOV_BUDGET_MIB} MiB moov budget"
    );
    // Every accepted upload is recorded.
    let videos: i64 = sqlx::query_scalar("SELECT count(*) FROM videos")
        .fetch_one(&backends.database.pool)
        .await?;
    assert_eq!(videos, accepted);
    // And an ordinary upload still goes through.
    let after = client
        .upload(
            &players[0].token,
            "video_file",
            Some(&clip),
            &[("title", "Normal")],
        )
        .await?;
    assert_eq!(after.status, 201, "{after:?}");
    Ok(())
}
