//! The deployable images: `cargo xtask images --push` into a private registry, read back through
//! the registry's HTTP API, unpacked and run under `chroot` as the image's user; a second push of
//! the rebuilt (byte-identical) images uploads nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use end_to_end::xtask;
use serde_json::Value;
use testkit::TestDatabase;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const STACK: &str = "e2e-images";

/// The registry `cargo xtask test` started, as a client of its HTTP API.
struct Registry {
    url: String,
    username: String,
    password: String,
    client: reqwest::Client,
}

impl Registry {
    fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| {
            std::env::var(name).with_context(|| {
                format!("{name} is not set: run the tests with `cargo xtask test`")
            })
        };
        Ok(Self {
            url: var("REGISTRY_URL")?,
            username: var("REGISTRY_USERNAME")?,
            password: var("REGISTRY_PASSWORD")?,
            client: reqwest::Client::new(),
        })
    }

    async fn get(&self, path: &str, accept: &str) -> anyhow::Result<reqwest::Response> {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .basic_auth(&self.username, Some(&self.password))
            .header("Accept", accept)
            .send()
            .await?;
        ensure!(
            response.status() == 200,
            "GET {path}: {}",
            response.status()
        );
        Ok(response)
    }
}

/// Runs `xtask images --push` against the test registry; returns its `--summary` and output.
async fn push(
    registry: &Registry,
    with_password: bool,
    out: &Path,
) -> anyhow::Result<(Value, String)> {
    let summary = out.join(if with_password {
        "first.json"
    } else {
        "second.json"
    });
    let mut command = xtask()?;
    command
        .args([
            "images",
            "--push",
            "--cargo-profile",
            "dev",
            "--stack",
            STACK,
        ])
        .args(["--registry", &registry.url, "--summary"])
        .arg(&summary)
        .stdin(Stdio::null());
    if !with_password {
        // The second push logs in with the emulated ECR's token instead (AWS_ENDPOINT_URL).
        command
            .env_remove("REGISTRY_USERNAME")
            .env_remove("REGISTRY_PASSWORD");
    }
    let output = tokio::time::timeout(Duration::from_secs(600), command.output())
        .await
        .context("xtask images did not finish within 10 minutes")??;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    println!("{stdout}");
    ensure!(
        output.status.success(),
        "xtask images failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok((serde_json::from_slice(&std::fs::read(&summary)?)?, stdout))
}

fn images(summary: &Value) -> anyhow::Result<&Vec<Value>> {
    summary["images"]
        .as_array()
        .context("no images in the summary")
}

fn image<'a>(summary: &'a Value, name: &str) -> anyhow::Result<&'a Value> {
    images(summary)?
        .iter()
        .find(|image| image["name"] == name)
        .with_context(|| format!("no {name} image in the summary"))
}

/// `sha256:` of a file, or of its gunzipped content.
fn sha256(path: &Path, gunzip: bool) -> anyhow::Result<String> {
    let script = if gunzip {
        "gzip -dc \"$1\" | sha256sum"
    } else {
        "sha256sum < \"$1\""
    };
    let output = std::process::Command::new("sh")
        .args(["-c", script, "sh"])
        .arg(path)
        .output()?;
    ensure!(output.status.success(), "sha256sum failed");
    let text = String::from_utf8(output.stdout)?;
    let hex = text.split_whitespace().next().context("no digest")?;
    Ok(format!("sha256:{hex}"))
}

/// A program on the host's PATH (the image's own PATH has no `chroot`).
fn host_program(name: &str) -> anyhow::Result<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .with_context(|| format!("{name} is not on the PATH"))
}

/// The layers of each image, bottom up.
const API_LAYERS: [&str; 4] = ["base", "libraries", "web app", "binary"];
const WORKER_LAYERS: [&str; 3] = ["base", "libraries", "binary"];

/// Pulls one image by tag through the registry API, checks every digest, unpacks its layers into
/// `root`, and returns its configuration.
async fn pull(
    registry: &Registry,
    image: &Value,
    root: &Path,
    expected_layers: &[&str],
) -> anyhow::Result<Value> {
    let repository = image["push"]["repository"]
        .as_str()
        .context("no repository")?;
    let tag = image["tag"].as_str().context("no tag")?;
    let digest = image["manifest_digest"].as_str().context("no digest")?;

    let response = registry
        .get(&format!("/v2/{repository}/manifests/{tag}"), MANIFEST)
        .await?;
    assert_eq!(
        response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok()),
        Some(digest)
    );
    let manifest_bytes = response.bytes().await?;
    let manifest_file = root.with_extension("manifest.json");
    std::fs::write(&manifest_file, &manifest_bytes)?;
    assert_eq!(sha256(&manifest_file, false)?, digest, "manifest digest");
    let manifest: Value = serde_json::from_slice(&manifest_bytes)?;
    assert_eq!(manifest["mediaType"], MANIFEST);
    assert_eq!(manifest["schemaVersion"], 2);

    let config_digest = manifest["config"]["digest"].as_str().context("no config")?;
    let config: Value = registry
        .get(&format!("/v2/{repository}/blobs/{config_digest}"), "*/*")
        .await?
        .json()
        .await?;
    let diff_ids = config["rootfs"]["diff_ids"]
        .as_array()
        .context("no diff_ids")?;
    let layers = manifest["layers"].as_array().context("no layers")?;
    assert_eq!(layers.len(), expected_layers.len(), "{expected_layers:?}");
    assert_eq!(diff_ids.len(), layers.len());

    std::fs::create_dir_all(root)?;
    for (index, (layer, diff_id)) in layers.iter().zip(diff_ids).enumerate() {
        assert_eq!(layer["mediaType"], LAYER);
        let digest = layer["digest"].as_str().context("no layer digest")?;
        let mut response = registry
            .get(&format!("/v2/{repository}/blobs/{digest}"), "*/*")
            .await?;
        let file = root.with_extension(format!("layer{index}.tar.gz"));
        let mut out = tokio::fs::File::create(&file).await?;
        while let Some(chunk) = response.chunk().await? {
            out.write_all(&chunk).await?;
        }
        out.flush().await?;
        assert_eq!(
            std::fs::metadata(&file)?.len(),
            layer["size"].as_u64().unwrap_or_default()
        );
        assert_eq!(sha256(&file, false)?, digest, "layer {index} digest");
        assert_eq!(
            Value::String(sha256(&file, true)?),
            *diff_id,
            "layer {index} diff_id"
        );
        let status = std::process::Command::new("tar")
            .args(["-xzf"])
            .arg(&file)
            .arg("-C")
            .arg(root)
            .status()?;
        ensure!(status.success(), "tar could not unpack layer {index}");
        std::fs::remove_file(&file)?;
    }
    Ok(config)
}

/// `chroot --userspec=<image user> root <entrypoint> args` with exactly the image's environment
/// plus `env`.
fn in_image(
    root: &Path,
    config: &Value,
    args: &[&str],
    env: &HashMap<&str, String>,
) -> anyhow::Result<Command> {
    let user = config["config"]["User"].as_str().context("no User")?;
    let entrypoint: Vec<&str> = config["config"]["Entrypoint"]
        .as_array()
        .context("no Entrypoint")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut command = Command::new(host_program("chroot")?);
    command
        .arg(format!("--userspec={user}"))
        .arg(root)
        .args(&entrypoint)
        .args(args)
        .env_clear()
        .current_dir("/")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for pair in config["config"]["Env"].as_array().context("no Env")? {
        let (name, value) = pair
            .as_str()
            .and_then(|pair| pair.split_once('='))
            .context("bad Env entry")?;
        command.env(name, value);
    }
    command.envs(env);
    Ok(command)
}

#[tokio::test]
async fn pushed_images_run_from_the_registry_and_a_second_push_uploads_nothing()
-> anyhow::Result<()> {
    ensure!(
        std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0"),
        "this test runs the images under chroot, which needs root"
    );
    let registry = Registry::from_env()?;
    let work = tempfile::tempdir()?;
    let (first, _) = push(&registry, true, work.path()).await?;

    for (name, layers) in [("api", API_LAYERS.len()), ("worker", WORKER_LAYERS.len())] {
        let image = image(&first, name)?;
        let push = &image["push"];
        assert_eq!(push["manifest_pushed"], true, "{name}: {push}");
        assert_eq!(
            push["uploaded"].as_u64().unwrap_or(0) + push["skipped"].as_u64().unwrap_or(0),
            layers as u64 + 1,
            "{name}: its layers and the config"
        );
        let digest = image["manifest_digest"].as_str().unwrap_or_default();
        assert!(
            push["digest_reference"]
                .as_str()
                .unwrap_or_default()
                .ends_with(&format!("/{STACK}/{name}@{digest}")),
            "{push}"
        );
        assert_eq!(image["tag"].as_str(), digest.get(7..23));
    }
    assert_eq!(
        image(&first, "api")?["layers"][0]["digest"],
        image(&first, "worker")?["layers"][0]["digest"],
        "the base layer is shared"
    );

    // The API, from what the registry serves, as uid 10001.
    let api_root = work.path().join("api");
    let api_config = pull(&registry, image(&first, "api")?, &api_root, &API_LAYERS).await?;
    assert_eq!(api_config["architecture"], "amd64");
    assert_eq!(api_config["os"], "linux");
    assert_eq!(api_config["config"]["User"], "10001:10001");
    assert!(api_config["config"]["ExposedPorts"]["8080/tcp"].is_object());
    assert!(api_config.get("created").is_none(), "no build time");
    let passwd = std::fs::read_to_string(api_root.join("etc/passwd"))?;
    assert!(passwd.contains("app:x:10001:10001:"), "{passwd}");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(api_root.join("tmp"))?
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o1777, "/tmp is world-writable and sticky");
    }
    for shell in ["bin/sh", "usr/bin/sh", "bin/bash"] {
        assert!(!api_root.join(shell).exists(), "no shell in the image");
    }
    assert!(api_root.join("etc/ssl/certs/ca-certificates.crt").is_file());
    // The database's certificate authorities, for DATABASE_SSLMODE=verify-full.
    let rds = std::fs::read_to_string(api_root.join("etc/ssl/certs/rds-ca-bundle.pem"))?;
    assert!(
        rds.matches("BEGIN CERTIFICATE").count() >= 100,
        "the RDS CA bundle"
    );
    assert!(api_root.join("lib64/ld-linux-x86-64.so.2").is_file());

    let database = TestDatabase::new().await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let env = HashMap::from([
        ("RUN_MODE", "dev".to_owned()),
        ("LISTEN_ADDR", format!("127.0.0.1:{port}")),
        ("DATABASE_URL", database.url.clone()),
        ("STORAGE_URL", "file:///tmp/storage".to_owned()),
        ("QUEUE_URL", "postgres".to_owned()),
    ]);
    let api_log = work.path().join("api.log");
    let mut api = in_image(&api_root, &api_config, &[], &env)?
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&api_log)?)
        .spawn()?;
    let client = reqwest::Client::new();
    let mut healthy = false;
    for _ in 0..300 {
        if let Some(status) = api.try_wait()? {
            let log = std::fs::read_to_string(&api_log).unwrap_or_default();
            bail!("the API in the image exited ({status}):\n{log}");
        }
        if let Ok(response) = client
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .await
            && response.status() == 200
        {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The web app's build rides in the image and the API finds it through the image's WEB_DIR.
    let page = client
        .get(format!("http://127.0.0.1:{port}/rankings"))
        .send()
        .await?;
    let csp = page
        .headers()
        .get("content-security-policy")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let html = page.text().await?;
    api.start_kill()?;
    api.wait().await?;
    ensure!(
        healthy,
        "the API in the image did not answer /health in 30 s"
    );
    assert!(html.contains("/_app/immutable/"), "the web app: {html}");
    assert!(csp.contains("script-src 'self'"), "{csp}");

    // The worker renders a clip through FFmpeg's libraries: the shared-library closure is whole.
    let worker_root = work.path().join("worker");
    let worker_config = pull(
        &registry,
        image(&first, "worker")?,
        &worker_root,
        &WORKER_LAYERS,
    )
    .await?;
    assert_eq!(worker_config["config"]["User"], "10001:10001");
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        in_image(
            &worker_root,
            &worker_config,
            &["--self-check"],
            &HashMap::new(),
        )?
        .output(),
    )
    .await
    .context("the self-check did not finish within 2 minutes")??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success() && stdout.contains("self-check passed"),
        "the worker's self-check in the image failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );

    // Rebuilt from the same binaries, the images are the same bytes: nothing to upload.
    let (second, output) = push(&registry, false, work.path()).await?;
    assert!(
        output.contains("with an ECR authorization token"),
        "{output}"
    );
    for (name, layers) in [("api", API_LAYERS.len()), ("worker", WORKER_LAYERS.len())] {
        let (before, after) = (image(&first, name)?, image(&second, name)?);
        assert_eq!(
            before["manifest_digest"], after["manifest_digest"],
            "{name} is reproducible"
        );
        let push = &after["push"];
        assert_eq!(push["uploaded"], 0, "{name}: {push}");
        assert_eq!(push["skipped"], layers + 1, "{name}: {push}");
        assert_eq!(push["manifest_pushed"], false, "{name}: {push}");
    }
    Ok(())
}
