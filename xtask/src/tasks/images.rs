//! `cargo xtask images`: build both images (see `deploy::image`); with `--push`, push them (see
//! `deploy::registry`).

use std::time::Instant;

use anyhow::Context;
use serde_json::{Value, json};

use crate::console::{self, mb};
use crate::deploy::oci::BuiltImage;
use crate::deploy::{aws, image, registry};
use crate::flags::ImagesArgs;

pub async fn run(args: ImagesArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let profile = args.cargo_profile.clone();
    let images = tokio::task::spawn_blocking(move || image::build(&profile)).await??;
    let built_in = started.elapsed();

    console::step("Images");
    for image in &images {
        describe(image);
    }
    console::note(format!("built in {:.1} s", built_in.as_secs_f64()));

    let mut pushed = Vec::new();
    if args.push {
        let lap = Instant::now();
        let aws = aws::sdk_config(&args.aws).await;
        let registry = registry::connect(&aws, args.registry.as_deref()).await?;
        pushed = registry::push_images(&registry, &args.aws.stack, &images).await?;
        console::step("Pushed");
        for image in &pushed {
            console::note(format!(
                "{}: {} blob(s) uploaded ({:.1} MB), {} already there, manifest {}",
                image.name,
                image.uploaded,
                mb(image.uploaded_bytes),
                image.skipped,
                if image.manifest_pushed {
                    "pushed"
                } else {
                    "already there"
                }
            ));
            console::note(format!("  {}", image.reference));
            console::note(format!("  {}", image.digest_reference));
        }
        console::note(format!("pushed in {:.1} s", lap.elapsed().as_secs_f64()));
    }

    if let Some(path) = &args.summary {
        let summary = summary_json(&images, &pushed);
        std::fs::write(path, serde_json::to_vec_pretty(&summary)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        console::note(format!("summary written to {}", path.display()));
    }
    Ok(())
}

fn describe(image: &BuiltImage) {
    console::note(format!(
        "{}:{}  {}  {:.1} MB compressed, {:.1} MB uncompressed",
        image.name,
        image.tag,
        image.manifest_digest,
        mb(image.compressed_size()),
        mb(image.uncompressed_size())
    ));
    for layer in &image.layers {
        console::note(format!(
            "  {:<9} {:>8.1} MB  {:>8.1} MB  {:>4} file(s)  {}",
            layer.what,
            mb(layer.blob.size),
            mb(layer.uncompressed_size),
            layer.files,
            layer.blob.digest
        ));
    }
    console::note(format!("  layout    {}", image.layout_dir.display()));
}

/// What `--summary` writes: the images, their layers and what the push did.
fn summary_json(images: &[BuiltImage], pushed: &[registry::Pushed]) -> Value {
    let images: Vec<Value> = images
        .iter()
        .map(|image| {
            let push = pushed.iter().find(|p| p.name == image.name).map(|p| {
                json!({
                    "digest_reference": p.digest_reference,
                    "manifest_pushed": p.manifest_pushed,
                    "reference": p.reference,
                    "repository": p.repository,
                    "skipped": p.skipped,
                    "uploaded": p.uploaded,
                    "uploaded_bytes": p.uploaded_bytes,
                })
            });
            let layers: Vec<Value> = image
                .layers
                .iter()
                .map(|layer| {
                    json!({
                        "what": layer.what,
                        "digest": layer.blob.digest,
                        "diff_id": layer.diff_id,
                        "size": layer.blob.size,
                        "uncompressed_size": layer.uncompressed_size,
                        "files": layer.files,
                    })
                })
                .collect();
            json!({
                "name": image.name,
                "tag": image.tag,
                "manifest_digest": image.manifest_digest,
                "config_digest": image.config.digest,
                "layout_dir": image.layout_dir,
                "layers": layers,
                "push": push,
            })
        })
        .collect();
    json!({ "images": images })
}
