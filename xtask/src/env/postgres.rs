//! PostgreSQL for dev and tests: the server on 127.0.0.1:5432 when one answers, otherwise a
//! private cluster under the target directory, started here and stopped when done.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

use crate::cmd;
use crate::console;
use crate::env::apt;

const SYSTEM_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const PRIVATE_PORT: u16 = 54329;

/// A reachable PostgreSQL server.
#[derive(Debug)]
pub struct Postgres {
    server_url: String,
    /// Held for its `Drop`, which stops a cluster this process started.
    _private_cluster: Option<PrivateCluster>,
}

#[derive(Debug)]
struct PrivateCluster {
    bin: PathBuf,
    data: PathBuf,
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        console::step("Stopping the private PostgreSQL cluster");
        let _ = cmd::run(as_postgres_user(&self.bin.join("pg_ctl")).args([
            "-D",
            &self.data.to_string_lossy(),
            "stop",
            "-m",
            "fast",
        ]));
    }
}

impl Postgres {
    /// Finds or starts a server.
    pub async fn ensure() -> anyhow::Result<Self> {
        console::step("PostgreSQL");
        if answers(SYSTEM_ADMIN_URL).await {
            console::note("using the server on 127.0.0.1:5432");
            return Ok(Self {
                server_url: "postgres://postgres@127.0.0.1:5432".to_owned(),
                _private_cluster: None,
            });
        }
        console::note("nothing answers on 127.0.0.1:5432: starting a private cluster");
        let cluster = start_private_cluster()?;
        let server_url = format!("postgres://postgres@127.0.0.1:{PRIVATE_PORT}");
        for _ in 0..50 {
            if answers(&format!("{server_url}/postgres")).await {
                return Ok(Self {
                    server_url,
                    _private_cluster: Some(cluster),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!(
            "the private PostgreSQL cluster did not start: see {}",
            cluster.data.join("log").display()
        )
    }

    /// The URL of one database on this server.
    pub fn url(&self, database: &str) -> String {
        format!("{}/{database}", self.server_url)
    }

    /// An administrative connection (to the `postgres` database).
    pub async fn admin(&self) -> anyhow::Result<PgConnection> {
        Ok(PgConnection::connect(&self.url("postgres")).await?)
    }

    /// Creates a database unless it exists.
    pub async fn create_database(&self, name: &str) -> anyhow::Result<()> {
        let mut admin = self.admin().await?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(name)
                .fetch_one(&mut admin)
                .await?;
        if !exists {
            admin
                .execute(AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
                .await?;
            console::note(format!("created database {name}"));
        }
        Ok(())
    }

    /// Creates the database unless it exists, applies the migrations, and returns a pool on it.
    pub async fn migrated(&self, database: &str) -> anyhow::Result<sqlx::PgPool> {
        self.create_database(database).await?;
        let pool = sqlx::PgPool::connect(&self.url(database)).await?;
        platform::db::migrate(&pool).await?;
        Ok(pool)
    }

    /// Names of databases whose name starts with `prefix`.
    pub async fn databases_like(&self, prefix: &str) -> anyhow::Result<Vec<String>> {
        let mut admin = self.admin().await?;
        Ok(
            sqlx::query_scalar("SELECT datname FROM pg_database WHERE starts_with(datname, $1)")
                .bind(prefix)
                .fetch_all(&mut admin)
                .await?,
        )
    }

    pub async fn drop_database(&self, name: &str) -> anyhow::Result<()> {
        let mut admin = self.admin().await?;
        admin
            .execute(AssertSqlSafe(format!(
                r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
            )))
            .await?;
        Ok(())
    }
}

async fn answers(url: &str) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(3), PgConnection::connect(url)).await,
        Ok(Ok(_))
    )
}

/// The newest installed server binaries (`/usr/lib/postgresql/<version>/bin`).
fn server_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_string_lossy().parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// PostgreSQL refuses to run as root: run its tools as the `postgres` user when we are root.
fn as_postgres_user(program: &Path) -> Command {
    if apt::is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn start_private_cluster() -> anyhow::Result<PrivateCluster> {
    if server_bin_dir().is_none() {
        apt::ensure(&[(
            "postgresql",
            "no PostgreSQL server answers, so xtask runs a private one",
        )])?;
    }
    let bin = server_bin_dir()
        .context("PostgreSQL server binaries not found under /usr/lib/postgresql")?;
    let data = cmd::target_dir().join("xtask").join("pgdata");
    let data_arg = data.to_string_lossy().into_owned();
    if !data.join("PG_VERSION").exists() {
        std::fs::create_dir_all(&data)?;
        if apt::is_root() {
            // The cluster's owner must be able to reach and own its directory.
            cmd::run(Command::new("chown").args(["-R", "postgres:postgres", &data_arg]))?;
            let mut dir = data.parent();
            while let Some(parent) = dir {
                let _ = Command::new("chmod")
                    .args(["o+x", &parent.to_string_lossy()])
                    .status();
                dir = parent.parent();
            }
        }
        cmd::run(as_postgres_user(&bin.join("initdb")).args([
            "-D",
            &data_arg,
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
        ]))?;
    }
    let options = format!("-p {PRIVATE_PORT} -k {data_arg} -c listen_addresses=127.0.0.1");
    cmd::run(as_postgres_user(&bin.join("pg_ctl")).args([
        "-D",
        &data_arg,
        "-o",
        &options,
        "-l",
        &format!("{data_arg}/log"),
        "-w",
        "start",
    ]))?;
    Ok(PrivateCluster { bin, data })
}
