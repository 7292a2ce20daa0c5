//! `cargo xtask seed --demo`: a small living showcase — eight players with Spanish names in six
//! cities, each with a real clip rendered by the worker and published, and fans' votes (with a
//! tie) — made through the API as people would (each account verified with the link mailed to
//! the product's mail folder, so the fans' votes count), so the first `cargo xtask dev` and the
//! README's screens show the product rather than an empty page or test data.
//!
//! One thing cannot be made through the API here: fans who joined over weeks, each from home.
//! Every request comes from this machine, so the holding rules (docs/api.md, "Votes people can
//! trust") would hold the fans' votes as the bulk signups they look like. So the fans' accounts
//! are dated a month back with a home network each, and their votes are recorded as the API
//! records them (`platform::videos::votes::cast`, the rules as shipped).
//!
//! The source clips are drawn by the ffmpeg CLI (a court, a bouncing ball; 1080p, 21 s) and kept
//! under `target/xtask/demo-clips`. Every demo account's password is [`DEMO_PASSWORD`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use platform::videos::votes::{self, HoldRules, Vote};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::time::Instant;
use uuid::Uuid;

use crate::cmd;
use crate::console;
use crate::env::mail;
use crate::env::product::{DEV_DATABASE, Options, Product, dev_mail_dir};

/// The password of every demo account (local demo data only).
pub const DEMO_PASSWORD: &str = "demo-rising-stars";

/// The demo's e-mail domain (reserved: `.test` never delivers).
const DOMAIN: &str = "demo.test";

/// (first name, last name, city, video title), in the order of their votes.
const PLAYERS: [(&str, &str, &str, &str); 8] = [
    ("Valentina", "Ríos", "Bogotá", "Triple desde la esquina"),
    ("Santiago", "Herrera", "Medellín", "Crossover y bandeja"),
    ("Camila", "Ortiz", "Cali", "Tapón en la última jugada"),
    ("Mateo", "Gómez", "Barranquilla", "Mate en contraataque"),
    ("Isabella", "Castro", "Cartagena", "Doble y falta"),
    ("Sebastián", "Moreno", "Bogotá", "Paso europeo"),
    ("Daniela", "Vargas", "Medellín", "Asistencia sin mirar"),
    ("Andrés", "Rojas", "Pereira", "Tiro en suspensión"),
];

/// Votes of each player above, from distinct fans; the fifth and sixth tie.
const VOTES: [usize; 8] = [17, 14, 12, 10, 9, 9, 5, 3];

/// Fans' names (first names × last names, in order).
const FAN_FIRST: [&str; 6] = ["Laura", "Juan", "Sofía", "Carlos", "Mariana", "Felipe"];
const FAN_LAST: [&str; 3] = ["Pérez", "Martínez", "Suárez"];

/// How long the worker may take over all the demo's clips.
const PROCESSING_LIMIT: Duration = Duration::from_secs(900);

/// `cargo xtask seed --demo`: the product on the dev database for as long as it takes.
pub async fn run() -> anyhow::Result<()> {
    let logs = cmd::target_dir().join("xtask").join("demo-logs");
    std::fs::create_dir_all(&logs)?;
    console::note(format!(
        "the API's and worker's logs go to {}",
        logs.display()
    ));
    let mail = dev_mail_dir();
    let product = Product::start(&Options {
        port: cmd::free_port()?,
        database: DEV_DATABASE.to_owned(),
        storage: None,
        mail: Some(mail.clone()),
        cargo_profile: "dev".to_owned(),
        api: true,
        api_env: Vec::new(),
        worker_env: vec![("WORKER_POLL_WAIT_SECONDS".to_owned(), "2".to_owned())],
        log_dir: Some(logs),
    })
    .await?;
    let outcome = seed(&product.base_url, &mail, &product.pool).await;
    product.stop().await;
    outcome
}

/// Adds the demo through the API at `base_url` (a worker must be running on its queue, and the
/// API mailing to the folder `mail`), unless the showcase already has videos.
pub async fn seed(base_url: &str, mail: &Path, pool: &PgPool) -> anyhow::Result<()> {
    let api = Api::new(base_url, mail)?;
    let shown = api.published_videos().await?;
    if shown > 0 {
        console::note(format!(
            "The showcase already has {shown} video(s): no demo data added"
        ));
        return Ok(());
    }
    let clips = tokio::task::spawn_blocking(source_clips).await??;
    console::step(format!(
        "Demo data: {} players, {} fans, through the API at {base_url}",
        PLAYERS.len(),
        fans().len()
    ));
    let mut videos = Vec::new();
    for (index, (first, last, city, title)) in PLAYERS.iter().enumerate() {
        let email = email(first, last);
        let token = api.account(&email, first, last, city).await?;
        let clip = &clips[index % clips.len()];
        let video = api.upload(&token, clip, title).await?;
        console::note(format!("{first} {last} ({city}) uploaded «{title}»"));
        videos.push((token, video, format!("{first} {last}")));
    }
    let began = Instant::now();
    for (done, (token, video, name)) in videos.iter().enumerate() {
        api.wait_processed(token, video, began + PROCESSING_LIMIT)
            .await?;
        console::note(format!(
            "processed and published {}/{}: {name} ({:.0} s)",
            done + 1,
            videos.len(),
            began.elapsed().as_secs_f64()
        ));
    }
    let mut cast = 0;
    for (index, (first, last)) in fans().into_iter().enumerate() {
        let email = email(&first, &last);
        api.account(&email, &first, &last, "Bogotá").await?;
        let home = format!("demo-home-{index}");
        let fan: Uuid = sqlx::query_scalar(
            "UPDATE users SET created_at = now() - interval '30 days', signup_network = $2
             WHERE email = $1 RETURNING id",
        )
        .bind(&email)
        .bind(&home)
        .fetch_one(pool)
        .await?;
        for ((_, video, _), wanted) in videos.iter().zip(VOTES) {
            if index < wanted {
                let video = Uuid::parse_str(video)?;
                let rules = HoldRules::default();
                match votes::cast(pool, video, fan, &home, false, &rules).await? {
                    Vote::Counted { .. } => cast += 1,
                    other => bail!("demo vote for {video}: {other:?}"),
                }
            }
        }
    }
    console::note(format!(
        "{cast} votes cast. Log in as any demo player, e.g. {} / {DEMO_PASSWORD}",
        email(PLAYERS[0].0, PLAYERS[0].1)
    ));
    Ok(())
}

/// The fans' (first, last) names.
fn fans() -> Vec<(String, String)> {
    FAN_LAST
        .iter()
        .flat_map(|last| {
            FAN_FIRST
                .iter()
                .map(move |first| ((*first).to_owned(), (*last).to_owned()))
        })
        .collect()
}

/// `valentina.rios@demo.test`: lower case, accents dropped.
fn email(first: &str, last: &str) -> String {
    let plain = |name: &str| -> String {
        name.to_lowercase()
            .chars()
            .map(|c| match c {
                'á' => 'a',
                'é' => 'e',
                'í' => 'i',
                'ó' => 'o',
                'ú' | 'ü' => 'u',
                'ñ' => 'n',
                other => other,
            })
            .collect()
    };
    format!("{}.{}@{DOMAIN}", plain(first), plain(last))
}

/// Floor colour, ball speed (px/s) and bounce rate of each source clip.
const SCENES: [(&str, u32, f64); 2] = [("0xC68642", 300, 2.6), ("0xB07040", 420, 3.4)];

/// The demo's source clips, drawn once with the ffmpeg CLI and kept.
pub fn source_clips() -> anyhow::Result<Vec<PathBuf>> {
    SCENES
        .iter()
        .enumerate()
        .map(|(index, scene)| {
            kept_clip(&format!("court-{index}.mp4"), |partial| {
                console::step(format!(
                    "Drawing demo clip {}/{} with ffmpeg (1080p, 21 s)",
                    index + 1,
                    SCENES.len()
                ));
                draw(scene, partial)
            })
        })
        .collect()
}

/// `name` under `target/xtask/demo-clips`, made by `make` (into a partial file, renamed when
/// whole) unless it is there already.
fn kept_clip(
    name: &str,
    make: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<PathBuf> {
    crate::env::apt::ensure(&[crate::env::apt::FFMPEG_CLI])?;
    let dir = cmd::target_dir().join("xtask").join("demo-clips");
    std::fs::create_dir_all(&dir)?;
    let clip = dir.join(name);
    if !clip.is_file() {
        let partial = clip.with_extension("partial.mp4");
        make(&partial)?;
        std::fs::rename(&partial, &clip)?;
    }
    Ok(clip)
}

/// A court seen from the side — stands, floor, baseline, the paint, a backboard and rim — and a
/// ball bouncing across it, into `partial`.
fn draw((floor, speed, bounce): &(&str, u32, f64), partial: &Path) -> anyhow::Result<()> {
    let court = format!(
        "[0]drawbox=x=0:y=0:w=iw:h=330:color=0x1B2A41:t=fill,\
         drawbox=x=0:y=880:w=iw:h=10:color=white@0.9:t=fill,\
         drawbox=x=1180:y=600:w=740:h=280:color=0x8B1E1E@0.85:t=fill,\
         drawbox=x=1180:y=600:w=740:h=280:color=white:t=6,\
         drawbox=x=1760:y=180:w=18:h=300:color=white:t=fill,\
         drawbox=x=1610:y=410:w=150:h=10:color=0xFF6A00:t=fill,\
         drawbox=x=40:y=330:w=10:h=560:color=white@0.6:t=fill[court];\
         [court][1]overlay=x='mod(t*{speed},W-110)':y='770-abs(sin(t*{bounce}))*520'"
    );
    cmd::run(
        std::process::Command::new("ffmpeg")
            .args(["-loglevel", "error", "-y", "-f", "lavfi", "-i"])
            .arg(format!("color=c={floor}:s=1920x1080:r=30:d=21"))
            .args(["-f", "lavfi", "-i"])
            .arg(
                "color=c=0xE8702A:s=110x110:r=30:d=21,format=rgba,\
                 geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='if(lt(hypot(X-55,Y-55),54),255,0)'",
            )
            .args(["-filter_complex", &court])
            .args(["-c:v", "libx264", "-preset", "ultrafast", "-crf", "26"])
            .args(["-pix_fmt", "yuv420p", "-t", "21", "-f", "mp4"])
            .arg(partial),
    )?;
    Ok(())
}

/// A 720p clip (25 s) that the upload page refuses before sending, for the upload screen.
pub fn lowres_clip() -> anyhow::Result<PathBuf> {
    kept_clip("lowres-720p.mp4", |partial| {
        cmd::run(
            std::process::Command::new("ffmpeg")
                .args(["-loglevel", "error", "-y", "-f", "lavfi", "-i"])
                .arg("testsrc2=size=1280x720:rate=30:duration=25")
                .args([
                    "-c:v",
                    "libx264",
                    "-preset",
                    "ultrafast",
                    "-pix_fmt",
                    "yuv420p",
                ])
                .args(["-f", "mp4"])
                .arg(partial),
        )
    })
}

/// The e-mail of the first demo player (the most voted).
pub fn first_player_email() -> String {
    email(PLAYERS[0].0, PLAYERS[0].1)
}

/// The few API calls the demo makes.
struct Api {
    http: reqwest::Client,
    base_url: String,
    /// The API's mail folder, where the verification links arrive.
    mail: PathBuf,
}

impl Api {
    fn new(base_url: &str, mail: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()?,
            base_url: base_url.trim_end_matches('/').to_owned(),
            mail: mail.to_path_buf(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    async fn published_videos(&self) -> anyhow::Result<u64> {
        let answer = self
            .http
            .get(self.url("/api/public/videos?limit=1"))
            .send()
            .await?
            .error_for_status()?;
        answer
            .headers()
            .get("x-total-count")
            .and_then(|total| total.to_str().ok()?.parse().ok())
            .context("the public listing has no X-Total-Count")
    }

    /// Signs the account up (unless it exists) and logs in; returns a token.
    async fn account(
        &self,
        email: &str,
        first: &str,
        last: &str,
        city: &str,
    ) -> anyhow::Result<String> {
        let signup = self
            .http
            .post(self.url("/api/auth/signup"))
            .json(&json!({
                "first_name": first, "last_name": last, "email": email,
                "password1": DEMO_PASSWORD, "password2": DEMO_PASSWORD,
                "city": city, "country": "Colombia",
            }))
            .send()
            .await?;
        let status = signup.status();
        let body: Value = signup.json().await?;
        if status != 201 && body["code"] != "email_taken" {
            bail!("signing up {email} answered {status}: {body}");
        }
        let token = self.login(email).await?;
        let account: Value = self
            .http
            .get(self.url("/api/auth/me"))
            .bearer_auth(&token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        if account["email_verified"] != true {
            mail::verify_address(&self.http, &self.base_url, &self.mail, email).await?;
        }
        Ok(token)
    }

    async fn login(&self, email: &str) -> anyhow::Result<String> {
        let login: Value = self
            .http
            .post(self.url("/api/auth/login"))
            .json(&json!({ "email": email, "password": DEMO_PASSWORD }))
            .send()
            .await?
            .error_for_status()
            .with_context(|| format!("logging in as {email}"))?
            .json()
            .await?;
        login["access_token"]
            .as_str()
            .map(str::to_owned)
            .context("the login answer has no access_token")
    }

    async fn upload(&self, token: &str, clip: &Path, title: &str) -> anyhow::Result<String> {
        let form = reqwest::multipart::Form::new()
            .text("title", title.to_owned())
            // Published by the worker as soon as it is processed.
            .text("publish", "true")
            .part(
                "video_file",
                reqwest::multipart::Part::bytes(std::fs::read(clip)?)
                    .file_name("jugada.mp4")
                    .mime_str("video/mp4")?,
            );
        let answer = self
            .http
            .post(self.url("/api/videos/upload"))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await?;
        let status = answer.status();
        let body: Value = answer.json().await?;
        if status != 201 {
            bail!("uploading «{title}» answered {status}: {body}");
        }
        body["video_id"]
            .as_str()
            .map(str::to_owned)
            .context("the upload answer has no video_id")
    }

    async fn wait_processed(
        &self,
        token: &str,
        video: &str,
        deadline: Instant,
    ) -> anyhow::Result<()> {
        loop {
            let detail: Value = self
                .http
                .get(self.url(&format!("/api/videos/{video}")))
                .bearer_auth(token)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            match detail["status"].as_str() {
                Some("processed") => return Ok(()),
                Some("failed") => {
                    bail!("the worker failed demo video {video}: {}", detail["error"])
                }
                _ if Instant::now() >= deadline => {
                    bail!(
                        "demo video {video} is still {} (is the worker running?)",
                        detail["status"]
                    )
                }
                _ => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    }
}

/// Whether `address` is a demo account's (`cargo xtask dev` does not print their mail).
pub fn is_demo_address(address: &str) -> bool {
    address.ends_with(&format!("@{DOMAIN}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_emails_are_plain_and_distinct() {
        assert_eq!(email("Sebastián", "Ríos"), "sebastian.rios@demo.test");
        let mut all: Vec<String> = PLAYERS
            .iter()
            .map(|(first, last, _, _)| email(first, last))
            .chain(fans().iter().map(|(first, last)| email(first, last)))
            .collect();
        let count = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), count);
    }

    #[test]
    fn every_vote_has_a_distinct_fan_and_the_signups_fit_one_address() {
        assert!(VOTES.iter().all(|&votes| votes <= fans().len()));
        // SIGNUP_MAX_PER_CLIENT (30 per 15 minutes): the demo signs up from one address.
        assert!(PLAYERS.len() + fans().len() <= 30);
    }
}
