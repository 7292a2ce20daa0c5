//! Helpers for the end-to-end tests: start the real binaries with a given environment.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};

mod api;

pub use api::{Client, FormValue, RawBody, Reply, forms, types};
use tokio::process::{Child, Command};

/// Where cargo put the workspace binaries (next to this test executable's `deps/` folder).
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .context("cannot locate the target directory")?;
    let path = dir.join(name);
    anyhow::ensure!(
        path.exists(),
        "{} is not built: run the tests with `cargo xtask test`, which builds every binary first",
        path.display()
    );
    Ok(path)
}

/// The `xtask` binary as a command, told where the workspace is (cargo would set that for
/// `cargo xtask`); killed if the test gives up on it.
pub fn xtask() -> anyhow::Result<Command> {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the tests crate has no parent folder")?;
    let mut command = Command::new(binary("xtask")?);
    command
        .env("CARGO_MANIFEST_DIR", workspace.join("xtask"))
        .kill_on_drop(true);
    Ok(command)
}

/// A running API process, killed when dropped.
#[derive(Debug)]
pub struct RunningApi {
    pub base_url: String,
    child: Child,
}

impl Drop for RunningApi {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl RunningApi {
    /// Starts `rising-stars-api` on a free loopback port with exactly `env` (plus PATH) and waits
    /// for `/health`.
    pub async fn start(env: &HashMap<String, String>) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let base_url = format!("http://127.0.0.1:{port}");
        let mut command = Command::new(binary("rising-stars-api")?);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("PUBLIC_BASE_URL", &base_url)
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = command.spawn()?;
        let client = reqwest::Client::new();
        for _ in 0..150 {
            if let Some(status) = child.try_wait()? {
                bail!("the API exited during start-up: {status}");
            }
            if let Ok(response) = client.get(format!("{base_url}/health")).send().await
                && response.status().is_success()
            {
                return Ok(Self { base_url, child });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the API did not answer /health within 15 s")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        Ok(())
    }
}

/// Runs a binary that is expected to stop by itself; returns its exit code and standard error.
pub async fn run_to_exit(
    name: &str,
    env: &HashMap<String, String>,
) -> anyhow::Result<(Option<i32>, String)> {
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        Command::new(binary(name)?)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .envs(env)
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .context("the process did not exit within 30 s")??;
    Ok((
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

/// A signed-up player and their token.
#[derive(Debug, Clone)]
pub struct Player {
    pub id: String,
    pub email: String,
    pub token: String,
}

/// The password every test player signs up with.
pub const PASSWORD: &str = "contraseña-segura";

/// A signup body for `email`, with the test password and the given names and city.
pub fn signup_request(email: &str, first: &str, city: &str) -> types::SignupRequest {
    types::SignupRequest {
        first_name: first.to_owned(),
        last_name: "Test".to_owned(),
        email: email.to_owned(),
        password1: PASSWORD.to_owned(),
        password2: PASSWORD.to_owned(),
        city: city.to_owned(),
        country: "Colombia".to_owned(),
    }
}

/// The verification links mailed to `to` through a mail folder (`MAIL_URL=file:<dir>`), oldest
/// first: each `.eml` file's `To` header and the body line that holds the link.
pub fn mailed_links(dir: &std::path::Path, to: &str) -> anyhow::Result<Vec<String>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the mail folder {}", dir.display()))?
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
        .collect();
    // The mailer names files by UUID v7: by name is by time.
    files.sort();
    let mut links = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        let (head, body) = text
            .split_once("\r\n\r\n")
            .with_context(|| format!("{} has no blank line after its headers", file.display()))?;
        let addressed = head.split("\r\n").any(|line| {
            line.strip_prefix("To: ")
                .is_some_and(|address| address.eq_ignore_ascii_case(to))
        });
        if !addressed {
            continue;
        }
        let link = body
            .split("\r\n")
            .find(|line| line.contains("/verificar?token="))
            .with_context(|| format!("{} carries no verification link", file.display()))?;
        links.push(link.to_owned());
    }
    Ok(links)
}

/// Waits (up to 10 s: signup mails off its answer) until at least `count` verification links went
/// to `to` through the mail folder `dir`; returns them all, oldest first.
pub async fn wait_for_links(
    dir: &std::path::Path,
    to: &str,
    count: usize,
) -> anyhow::Result<Vec<String>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let links = mailed_links(dir, to)?;
        if links.len() >= count {
            return Ok(links);
        }
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "{} verification link(s) mailed to {to} in {} after 10 s, wanted {count}",
                links.len(),
                dir.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `token` parameter of a verification link.
pub fn link_token(link: &str) -> anyhow::Result<String> {
    url::Url::parse(link)?
        .query_pairs()
        .find(|(name, _)| name == "token")
        .map(|(_, token)| token.into_owned())
        .with_context(|| format!("no token in {link}"))
}

/// A login body for `email` and `password`.
pub fn login_request(email: &str, password: &str) -> types::LoginRequest {
    types::LoginRequest {
        email: email.to_owned(),
        password: password.to_owned(),
    }
}

impl Client {
    /// Signs up a player with the given email and city, then logs in.
    pub async fn player(&self, email: &str, first: &str, city: &str) -> anyhow::Result<Player> {
        let created = self
            .signup(&signup_request(email, first, city))
            .await?
            .ok()
            .context("signup failed")?;
        let token = self.login_as(email, PASSWORD).await?;
        Ok(Player {
            id: created.id,
            email: email.to_owned(),
            token,
        })
    }

    /// Signs up a player, verifies the address with the link mailed to the folder `mail_dir`
    /// (`MAIL_URL=file:<mail_dir>`), then logs in.
    pub async fn verified_player(
        &self,
        mail_dir: &std::path::Path,
        email: &str,
        first: &str,
        city: &str,
    ) -> anyhow::Result<Player> {
        let created = self
            .signup(&signup_request(email, first, city))
            .await?
            .ok()
            .context("signup failed")?;
        let links = wait_for_links(mail_dir, email, 1).await?;
        let newest = links.last().context("no link")?;
        self.verify_link(newest)
            .await?
            .ok()
            .with_context(|| format!("verifying {email}"))?;
        let token = self.login_as(email, PASSWORD).await?;
        Ok(Player {
            id: created.id,
            email: email.to_owned(),
            token,
        })
    }

    /// Follows a verification link as the web app does: its token to `POST /api/auth/verify`.
    pub async fn verify_link(&self, link: &str) -> anyhow::Result<Reply<types::EmailVerified>> {
        let body = types::VerifyRequest {
            token: link_token(link)?,
        };
        self.verify_email(&body).await
    }

    /// Logs in and returns the access token.
    pub async fn login_as(&self, email: &str, password: &str) -> anyhow::Result<String> {
        let body = types::LoginRequest {
            email: email.to_owned(),
            password: password.to_owned(),
        };
        let token = self.login(&body).await?.ok().context("login failed")?;
        Ok(token.access_token)
    }

    /// Uploads with any part names and text values: for the `file` alias and bad input.
    pub async fn upload(
        &self,
        token: &str,
        file_field: &str,
        file: Option<&std::path::Path>,
        fields: &[(&str, &str)],
    ) -> anyhow::Result<Reply<types::UploadAccepted>> {
        let mut form = forms::UploadVideo::new();
        for (name, value) in fields {
            form = form.part(name, FormValue::Text((*value).to_owned()));
        }
        if let Some(path) = file {
            form = form.part(file_field, FormValue::File(path.to_path_buf()));
        }
        self.upload_video(Some(token), form).await
    }

    /// Uploads `clip` as `video_file` with a title; returns the new video's id.
    pub async fn upload_clip(
        &self,
        token: &str,
        clip: &std::path::Path,
        title: &str,
        publish: bool,
    ) -> anyhow::Result<String> {
        let form = forms::UploadVideo::new()
            .video_file(clip)
            .title(title)
            .publish(publish);
        let accepted = self
            .upload_video(Some(token), form)
            .await?
            .ok()
            .context("upload failed")?;
        Ok(accepted.video_id)
    }
}

/// A running worker process, killed when dropped.
#[derive(Debug)]
pub struct RunningWorker {
    child: Child,
}

impl Drop for RunningWorker {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl RunningWorker {
    /// Starts `rising-stars-worker` (the queue consumer) with exactly `env` (plus PATH).
    pub fn start(env: &HashMap<String, String>) -> anyhow::Result<Self> {
        let child = Command::new(binary("rising-stars-worker")?)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        Ok(Self { child })
    }

    /// Sends a signal (`TERM`, `KILL`) to the worker.
    pub fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let pid = self.child.id().context("the worker has already exited")?;
        let signal: nix::sys::signal::Signal = format!("SIG{signal}").parse()?;
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(i32::try_from(pid)?), signal)
            .with_context(|| format!("kill -{signal} {pid}"))?;
        Ok(())
    }

    /// Waits for the worker to exit; returns its exit code (`None` when killed by a signal).
    pub async fn wait(&mut self, limit: Duration) -> anyhow::Result<Option<i32>> {
        let status = tokio::time::timeout(limit, self.child.wait())
            .await
            .context("the worker did not exit in time")??;
        Ok(status.code())
    }
}

/// Polls `GET /api/videos/{id}` until the status is one of `wanted`; returns the detail.
pub async fn wait_for_status(
    client: &Client,
    token: &str,
    video_id: &str,
    wanted: &[&str],
    limit: Duration,
) -> anyhow::Result<types::VideoDetail> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let detail = client.get_video(Some(token), video_id).await?.ok()?;
        if wanted.contains(&detail.status.as_str()) {
            return Ok(detail);
        }
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "video {video_id} still {:?} after {limit:?}, wanted {wanted:?}",
                detail.status
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// What ffprobe says about a media file: (duration s, width, height, video codec, audio streams).
pub fn ffprobe(path: &std::path::Path) -> anyhow::Result<(f64, u64, u64, String, usize)> {
    let info = testkit::media::ffprobe(path)?;
    let streams = info["streams"].as_array().cloned().unwrap_or_default();
    let video = streams
        .iter()
        .find(|s| s["codec_type"] == "video")
        .context("no video stream")?;
    let audio = streams
        .iter()
        .filter(|s| s["codec_type"] == "audio")
        .count();
    let duration: f64 = info["format"]["duration"].as_str().unwrap_or("0").parse()?;
    Ok((
        duration,
        video["width"].as_u64().unwrap_or(0),
        video["height"].as_u64().unwrap_or(0),
        video["codec_name"].as_str().unwrap_or_default().to_owned(),
        audio,
    ))
}
