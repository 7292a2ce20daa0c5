//! An image written as an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/`): its
//! layers, then its configuration and manifest as canonical JSON, so the same layers always give
//! the same manifest digest, and the tag taken from that digest.

use std::path::Path;
use std::process::Command;

use aws_lc_rs::digest;
use serde_json::{Value, json};

use super::layers::{LayerPlan, hex_of};
use super::plan::{APP_UID, CA_CERTIFICATES, Spec, WEB_DIR, shared_libraries, web_layer};
use crate::cmd;
use crate::deploy::oci::{
    Blob, BuiltImage, CONFIG_MEDIA_TYPE, INDEX_MEDIA_TYPE, Layer, MANIFEST_MEDIA_TYPE,
};

/// Writes the image of `spec` (its `binary`, stripped of debug information) as a layout in
/// `<root>/<name>/`, replacing an earlier one only once the new one is complete.
pub(super) fn build_image(
    spec: &Spec,
    binary: &Path,
    web_build: &Path,
    base: &LayerPlan,
    root: &Path,
) -> anyhow::Result<BuiltImage> {
    let mut libraries = LayerPlan::new("libraries");
    for (in_image, real) in shared_libraries(binary)? {
        libraries.file_from(&in_image, &real)?;
    }
    let staging = root.join(format!(".{}.partial", spec.name));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    // Debug information off, symbols kept: a panic's backtrace still names the functions, and the
    // release API layer shrinks from about 36 MB to 11 MB compressed (every task start pulls it).
    let stripped = root.join(format!(".{}.stripped", spec.binary));
    cmd::run(
        Command::new("objcopy")
            .arg("--strip-debug")
            .arg(binary)
            .arg(&stripped),
    )?;
    let mut program = LayerPlan::new("binary");
    program.file_from(&format!("/usr/local/bin/{}", spec.binary), &stripped)?;

    let blobs = staging.join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs)?;
    let mut plans = vec![base, &libraries];
    let web = match spec.web {
        true => Some(web_layer(web_build)?),
        false => None,
    };
    plans.extend(web.as_ref());
    plans.push(&program);
    let mut layers = Vec::new();
    for plan in plans {
        layers.push(plan.write(&blobs)?);
    }
    std::fs::remove_file(&stripped)?;

    let config = write_blob(
        &blobs,
        CONFIG_MEDIA_TYPE,
        &canonical_json(&image_config(spec, &layers))?,
    )?;
    let manifest = write_blob(
        &blobs,
        MANIFEST_MEDIA_TYPE,
        &canonical_json(&manifest(&config, &layers))?,
    )?;
    let tag = tag_of(&manifest.digest);
    let index = json!({
        "manifests": [{
            "annotations": { "org.opencontainers.image.ref.name": tag },
            "digest": manifest.digest,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "size": manifest.size,
        }],
        "mediaType": INDEX_MEDIA_TYPE,
        "schemaVersion": 2,
    });
    std::fs::write(staging.join("index.json"), canonical_json(&index)?)?;
    std::fs::write(
        staging.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )?;

    let layout_dir = root.join(spec.name);
    if layout_dir.exists() {
        std::fs::remove_dir_all(&layout_dir)?;
    }
    std::fs::rename(&staging, &layout_dir)?;
    let moved = |blob: Blob| Blob {
        path: layout_dir.join(
            blob.path
                .strip_prefix(&staging)
                .unwrap_or(blob.path.as_path()),
        ),
        ..blob
    };
    Ok(BuiltImage {
        name: spec.name,
        manifest_digest: manifest.digest.clone(),
        tag,
        manifest: moved(manifest),
        config: moved(config),
        layers: layers
            .into_iter()
            .map(|layer| Layer {
                blob: moved(layer.blob),
                ..layer
            })
            .collect(),
        layout_dir,
    })
}

/// The tag of an image: the first 16 hex digits of its manifest digest.
fn tag_of(manifest_digest: &str) -> String {
    let hex = manifest_digest
        .strip_prefix("sha256:")
        .unwrap_or(manifest_digest);
    hex.chars().take(16).collect()
}

/// The OCI image configuration. No `created` time: it would make every build a new image.
fn image_config(spec: &Spec, layers: &[Layer]) -> Value {
    let mut config = json!({
        "Entrypoint": [format!("/usr/local/bin/{}", spec.binary)],
        "Env": [
            "PATH=/usr/local/bin:/usr/bin:/bin",
            format!("SSL_CERT_FILE={CA_CERTIFICATES}"),
        ],
        "User": format!("{APP_UID}:{APP_UID}"),
        // The task definition mounts a task volume at /tmp under a read-only root file system;
        // declared as a volume here, the mount takes the image's /tmp (mode 1777), so the non-root
        // user can write there.
        "Volumes": { "/tmp": {} },
        "WorkingDir": "/",
    });
    if let (true, Some(env)) = (spec.web, config["Env"].as_array_mut()) {
        env.push(json!(format!("WEB_DIR={WEB_DIR}")));
    }
    if let (Some(port), Some(object)) = (spec.port, config.as_object_mut()) {
        let mut ports = serde_json::Map::new();
        ports.insert(format!("{port}/tcp"), json!({}));
        object.insert("ExposedPorts".to_owned(), Value::Object(ports));
    }
    let history: Vec<Value> = layers
        .iter()
        .map(|layer| json!({ "created_by": format!("cargo xtask images: {}", layer.what) }))
        .collect();
    json!({
        "architecture": "amd64",
        "config": config,
        "history": history,
        "os": "linux",
        "rootfs": {
            "diff_ids": layers.iter().map(|layer| layer.diff_id.as_str()).collect::<Vec<_>>(),
            "type": "layers",
        },
    })
}

fn manifest(config: &Blob, layers: &[Layer]) -> Value {
    let descriptor = |blob: &Blob| json!({ "digest": blob.digest, "mediaType": blob.media_type, "size": blob.size });
    json!({
        "config": descriptor(config),
        "layers": layers.iter().map(|layer| descriptor(&layer.blob)).collect::<Vec<_>>(),
        "mediaType": MANIFEST_MEDIA_TYPE,
        "schemaVersion": 2,
    })
}

/// Compact JSON with every object's keys sorted: the bytes (and so the digests) do not depend on
/// whether serde_json keeps insertion order, a feature another crate in the build may switch on.
fn canonical_json(value: &Value) -> anyhow::Result<Vec<u8>> {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(key, value)| (key.clone(), sorted(value)))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    Ok(serde_json::to_vec(&sorted(value))?)
}

/// Writes a small blob (config, manifest) and returns its descriptor.
fn write_blob(blobs: &Path, media_type: &'static str, bytes: &[u8]) -> anyhow::Result<Blob> {
    let digest = format!(
        "sha256:{}",
        hex::encode(digest::digest(&digest::SHA256, bytes))
    );
    let path = blobs.join(hex_of(&digest));
    std::fs::write(&path, bytes)?;
    Ok(Blob {
        media_type,
        digest,
        size: bytes.len() as u64,
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_is_the_first_16_hex_digits_of_the_manifest_digest() {
        assert_eq!(
            tag_of("sha256:0123456789abcdef0123456789abcdef"),
            "0123456789abcdef"
        );
    }
}
