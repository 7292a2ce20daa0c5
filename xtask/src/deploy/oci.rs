//! The OCI image types shared by building (`image`) and pushing (`registry`): media types, blobs,
//! layers, and an image written out as an OCI image layout.

use std::path::PathBuf;

pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
pub const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// A content-addressed file in an image layout.
#[derive(Debug, Clone)]
pub struct Blob {
    pub media_type: &'static str,
    /// `sha256:<hex>`.
    pub digest: String,
    pub size: u64,
    /// Where the bytes are: `<layout>/blobs/sha256/<hex>`.
    pub path: PathBuf,
}

/// A layer blob (gzip) and what it holds.
#[derive(Debug, Clone)]
pub struct Layer {
    pub blob: Blob,
    /// `sha256:` of the uncompressed tar (the config's `rootfs.diff_ids`).
    pub diff_id: String,
    pub uncompressed_size: u64,
    /// `base`, `libraries` or `binary`.
    pub what: &'static str,
    /// Regular files in the layer.
    pub files: usize,
}

/// An image written as an OCI image layout, ready to push.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    /// `api` or `worker`: also the last part of its repository name.
    pub name: &'static str,
    /// The first 16 hex digits of the manifest digest.
    pub tag: String,
    /// `sha256:<hex>` of the manifest bytes.
    pub manifest_digest: String,
    pub layout_dir: PathBuf,
    pub manifest: Blob,
    pub config: Blob,
    /// Base files, shared libraries, the binary: in this order.
    pub layers: Vec<Layer>,
}

impl BuiltImage {
    /// The blobs a registry must hold before the manifest may refer to them.
    pub fn blobs(&self) -> impl Iterator<Item = &Blob> {
        self.layers
            .iter()
            .map(|layer| &layer.blob)
            .chain(std::iter::once(&self.config))
    }

    pub fn compressed_size(&self) -> u64 {
        self.layers.iter().map(|layer| layer.blob.size).sum()
    }

    pub fn uncompressed_size(&self) -> u64 {
        self.layers
            .iter()
            .map(|layer| layer.uncompressed_size)
            .sum()
    }
}
