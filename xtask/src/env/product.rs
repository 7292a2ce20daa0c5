//! The product on this machine: the API and a worker as child processes on PostgreSQL, a local
//! storage directory and the PostgreSQL queue. `cargo xtask dev` runs it in the foreground;
//! `cargo xtask loadtest --local` runs it privately for the length of a test.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::bail;
use tokio::process::{Child, Command};

use crate::cmd::{self, cargo};
use crate::console;
use crate::env::postgres::Postgres;

/// The database `cargo xtask dev` runs on (the app's default `DATABASE_URL` names it too).
pub const DEV_DATABASE: &str = "rising_stars";

/// A private product's folders (see [`fresh_run_dirs`]).
#[derive(Debug, Clone)]
pub struct RunDirs {
    /// The stored files.
    pub storage: PathBuf,
    /// The processes' logs.
    pub logs: PathBuf,
    /// The mail the API sends (`MAIL_URL=file:<mail>`).
    pub mail: PathBuf,
}

/// A private product's folders under `<target>/xtask/<name>`, emptied first.
pub fn fresh_run_dirs(name: &str) -> anyhow::Result<RunDirs> {
    let runs = cmd::target_dir().join("xtask").join(name);
    if runs.exists() {
        std::fs::remove_dir_all(&runs)?;
    }
    let dirs = RunDirs {
        storage: runs.join("storage"),
        logs: runs.join("logs"),
        mail: runs.join("mail"),
    };
    for dir in [&dirs.storage, &dirs.logs, &dirs.mail] {
        std::fs::create_dir_all(dir)?;
    }
    Ok(dirs)
}

/// The mail folder of the dev database's product (`cargo xtask dev`, `cargo xtask seed --demo`).
pub fn dev_mail_dir() -> PathBuf {
    cmd::target_dir().join("xtask").join("dev").join("mail")
}

/// How to run the product.
#[derive(Debug, Clone)]
pub struct Options {
    pub port: u16,
    /// The database (created and migrated if needed).
    pub database: String,
    /// Where stored files go; `None`: the binaries' default (`target/dev/storage`).
    pub storage: Option<PathBuf>,
    /// Where the API's mail goes (`MAIL_URL=file:<dir>`, created if missing); `None`: the API's
    /// default (a folder under the system temp dir).
    pub mail: Option<PathBuf>,
    /// `dev` (the debug build) or `release`.
    pub cargo_profile: String,
    /// Start the API (a worker-only run does not need it).
    pub api: bool,
    /// Extra environment of the API, e.g. `SIGNUP_MAX_PER_CLIENT`.
    pub api_env: Vec<(String, String)>,
    /// Extra environment of the worker, e.g. `WORKER_CONCURRENCY`.
    pub worker_env: Vec<(String, String)>,
    /// Where the processes' logs go; `None`: this terminal.
    pub log_dir: Option<PathBuf>,
}

/// The product running here; the processes are stopped by [`Product::stop`] (or killed when
/// dropped).
#[derive(Debug)]
pub struct Product {
    pub base_url: String,
    pub database_url: String,
    /// A pool on the product's (migrated) database.
    pub pool: sqlx::PgPool,
    /// Held so that a private cluster started for the product runs as long as the product.
    _postgres: Postgres,
    pub api: Option<Child>,
    pub worker: Child,
}

impl Product {
    pub async fn start(options: &Options) -> anyhow::Result<Self> {
        crate::env::apt::ensure(crate::env::apt::BUILD)?;
        let postgres = Postgres::ensure().await?;
        let database_url = postgres.url(&options.database);
        console::step(format!("Applying migrations to {}", options.database));
        let pool = postgres.migrated(&options.database).await?;

        console::step(format!(
            "Building the binaries (cargo profile {})",
            options.cargo_profile
        ));
        // `--workspace` with the two binaries named, as `cargo xtask test` builds them: other
        // package selections unify features differently and would rebuild (and replace) them.
        cmd::run(cargo().args([
            "build",
            "--profile",
            &options.cargo_profile,
            "--workspace",
            "--bin",
            "rising-stars-api",
            "--bin",
            "rising-stars-worker",
        ]))?;
        let out_dir = match options.cargo_profile.as_str() {
            "dev" => "debug",
            other => other,
        };

        let base_url = format!("http://127.0.0.1:{}", options.port);
        let binary = |name: &str| -> anyhow::Result<Command> {
            let mut command = Command::new(cmd::target_dir().join(out_dir).join(name));
            command
                .current_dir(cmd::workspace_root())
                .env("PUBLIC_BASE_URL", &base_url)
                .env("DATABASE_URL", &database_url)
                .env(
                    "LOG_FORMAT",
                    std::env::var("LOG_FORMAT").unwrap_or_else(|_| "text".to_owned()),
                )
                .stdin(Stdio::null());
            if let Some(storage) = &options.storage {
                command.env("STORAGE_URL", format!("file:{}", storage.display()));
            }
            if let Some(dir) = &options.log_dir {
                std::fs::create_dir_all(dir)?;
                let log = std::fs::File::create(dir.join(format!("{name}.log")))?;
                command
                    .stdout(Stdio::from(log.try_clone()?))
                    .stderr(Stdio::from(log));
            }
            Ok(command)
        };

        let api = if options.api {
            console::step(format!("Starting the API on {base_url}"));
            let mut api = binary("rising-stars-api")?;
            api.env("LISTEN_ADDR", format!("127.0.0.1:{}", options.port));
            if let Some(mail) = &options.mail {
                std::fs::create_dir_all(mail)?;
                api.env("MAIL_URL", format!("file:{}", mail.display()));
            }
            let mut api = cmd::spawn(api.envs(options.api_env.iter().map(|(k, v)| (k, v))))?;
            wait_until_healthy(&mut api, &base_url).await?;
            Some(api)
        } else {
            None
        };

        console::step("Starting the worker");
        let worker = cmd::spawn(
            binary("rising-stars-worker")?.envs(options.worker_env.iter().map(|(k, v)| (k, v))),
        )?;
        Ok(Self {
            base_url,
            database_url,
            pool,
            _postgres: postgres,
            api,
            worker,
        })
    }

    /// Stops the worker, then the API: SIGTERM, then SIGKILL after ten seconds.
    pub async fn stop(mut self) {
        cmd::terminate(&mut self.worker, "worker").await;
        if let Some(api) = &mut self.api {
            cmd::terminate(api, "API").await;
        }
        self.pool.close().await;
    }
}

async fn wait_until_healthy(api: &mut Child, base_url: &str) -> anyhow::Result<()> {
    let address = base_url.trim_start_matches("http://");
    for _ in 0..150 {
        if let Some(status) = api.try_wait()? {
            bail!("the API exited during start-up ({status}); see its log");
        }
        if let Ok(mut stream) = tokio::net::TcpStream::connect(address).await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let request =
                format!("GET /health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
            stream.write_all(request.as_bytes()).await?;
            let mut response = String::new();
            let _ = stream.read_to_string(&mut response).await;
            if response.starts_with("HTTP/1.1 200") {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("the API did not answer /health within 30 s")
}
