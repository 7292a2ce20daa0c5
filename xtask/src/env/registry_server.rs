//! A private OCI registry on loopback for the tests: Debian's `docker-registry` (the CNCF
//! distribution server) with filesystem storage in a temporary directory and htpasswd (bcrypt)
//! authentication, stopped and removed when dropped.

use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::bail;
use tokio::process::Child;

use crate::cmd;
use crate::console;

/// The test user `cargo xtask test` hands to the tests.
pub const USERNAME: &str = "rising-stars-test";
/// The user and password in the ECR token of the moto emulator (account 123456789012): the
/// registry accepts it too, so pushes that log in through the emulated ECR work against it.
const MOTO_ECR_USERNAME: &str = "AWS";
const MOTO_ECR_PASSWORD: &str = "123456789012-auth-token";

/// A running registry; killed (and its storage deleted) when dropped.
#[derive(Debug)]
pub struct RegistryServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    pub username: String,
    pub password: String,
    child: Child,
    _dir: tempfile::TempDir,
}

/// A bcrypt htpasswd line (`htpasswd -Bbn`).
fn htpasswd(user: &str, password: &str) -> anyhow::Result<String> {
    let line = cmd::read(Command::new("htpasswd").args(["-Bbn", user, password]))?;
    Ok(format!("{}\n", line.trim()))
}

/// Starts a fresh, empty registry on a free loopback port and waits until `/v2/` answers.
/// Needs the Debian packages `docker-registry` and `apache2-utils` (see `apt::TEST`).
pub async fn start() -> anyhow::Result<RegistryServer> {
    let dir = tempfile::Builder::new()
        .prefix("rising-stars-registry-")
        .tempdir()?;
    let port = cmd::free_port()?;
    console::step(format!("Starting an OCI registry on 127.0.0.1:{port}"));
    let password = uuid::Uuid::new_v4().simple().to_string();
    let users = htpasswd(USERNAME, &password)? + &htpasswd(MOTO_ECR_USERNAME, MOTO_ECR_PASSWORD)?;
    std::fs::write(dir.path().join("htpasswd"), users)?;
    // JSON is YAML: no YAML writer needed, and every path is quoted correctly.
    let config = serde_json::json!({
        "version": "0.1",
        "log": { "level": "warn", "accesslog": { "disabled": true } },
        "storage": {
            "filesystem": { "rootdirectory": dir.path().join("storage") },
            "delete": { "enabled": true },
        },
        "http": {
            "addr": format!("127.0.0.1:{port}"),
            "secret": uuid::Uuid::new_v4().simple().to_string(),
        },
        "auth": {
            "htpasswd": { "realm": "rising-stars-test", "path": dir.path().join("htpasswd") },
        },
    });
    let config_path = dir.path().join("config.yml");
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config)?)?;
    let log_path = cmd::target_dir().join("xtask").join("registry.log");
    std::fs::create_dir_all(cmd::target_dir().join("xtask"))?;
    let log = std::fs::File::create(&log_path)?;
    let child = cmd::spawn(
        tokio::process::Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            // Its settings come from the file only, not from REGISTRY_* variables around us.
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log)),
    )?;
    let mut server = RegistryServer {
        url: format!("http://127.0.0.1:{port}"),
        username: USERNAME.to_owned(),
        password,
        child,
        _dir: dir,
    };
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if let Some(status) = server.child.try_wait()? {
            bail!(
                "docker-registry exited during start-up ({status}); see {}",
                log_path.display()
            );
        }
        // 401 is an answer too: the server is up and asks for credentials.
        if let Ok(response) = client.get(format!("{}/v2/", server.url)).send().await
            && matches!(response.status().as_u16(), 200 | 401)
        {
            return Ok(server);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!(
        "the OCI registry did not answer within 10 s; see {}",
        log_path.display()
    )
}
