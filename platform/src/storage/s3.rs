//! The S3 backend: streamed single or multipart uploads, streamed downloads, presigned GET links,
//! ranged reads, and clients' multipart uploads through pre-signed part links.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use tokio::io::AsyncWriteExt;

use super::contract::{Storage, StorageError, StorageKey, StoredObject, StoredPart};

/// Files above this size go up in parts of this size (S3 allows 10,000 parts of at least 5 MiB).
const PART_SIZE: u64 = 16 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct S3Storage {
    client: Client,
    bucket: String,
    prefix: String,
}

impl S3Storage {
    /// `force_path_style` addresses `endpoint/bucket/key`, which emulators on loopback need.
    pub fn new(
        aws: &aws_config::SdkConfig,
        bucket: &str,
        prefix: &str,
        force_path_style: bool,
    ) -> Self {
        let config = aws_sdk_s3::config::Builder::from(aws)
            .force_path_style(force_path_style)
            .build();
        Self {
            client: Client::from_conf(config),
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        }
    }

    fn object_key(&self, key: &StorageKey) -> String {
        if self.prefix.is_empty() {
            key.as_str().to_owned()
        } else {
            format!("{}/{}", self.prefix, key)
        }
    }

    async fn put_multipart(
        &self,
        key: &StorageKey,
        source: &Path,
        size: u64,
        content_type: &str,
    ) -> Result<(), StorageError> {
        let object_key = self.object_key(key);
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&object_key)
            .content_type(content_type)
            .send()
            .await
            .map_err(|error| StorageError::backend("put", key, error))?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| StorageError::backend("put", key, "S3 returned no upload id"))?
            .to_owned();
        match self
            .upload_parts(key, &object_key, &upload_id, source, size)
            .await
        {
            Ok(parts) => self
                .client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(&object_key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map(|_| ())
                .map_err(|error| StorageError::backend("put", key, error)),
            Err(error) => {
                // Best effort: the bucket's lifecycle rule aborts anything left behind.
                let _ = self
                    .client
                    .abort_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&object_key)
                    .upload_id(&upload_id)
                    .send()
                    .await;
                Err(error)
            }
        }
    }

    async fn upload_parts(
        &self,
        key: &StorageKey,
        object_key: &str,
        upload_id: &str,
        source: &Path,
        size: u64,
    ) -> Result<Vec<CompletedPart>, StorageError> {
        let mut parts = Vec::new();
        let mut offset = 0;
        let mut part_number = 1;
        while offset < size {
            let length = PART_SIZE.min(size - offset);
            let body = ByteStream::read_from()
                .path(source)
                .offset(offset)
                .length(Length::Exact(length))
                .build()
                .await
                .map_err(|error| StorageError::backend("put", key, error))?;
            let uploaded = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(object_key)
                .upload_id(upload_id)
                .part_number(part_number)
                .body(body)
                .send()
                .await
                .map_err(|error| StorageError::backend("put", key, error))?;
            parts.push(
                CompletedPart::builder()
                    .set_e_tag(uploaded.e_tag().map(str::to_owned))
                    .part_number(part_number)
                    .build(),
            );
            offset += length;
            part_number += 1;
        }
        Ok(parts)
    }
}

#[async_trait]
impl Storage for S3Storage {
    async fn put_file(
        &self,
        key: &StorageKey,
        source: &Path,
        content_type: &str,
    ) -> Result<(), StorageError> {
        let size = tokio::fs::metadata(source)
            .await
            .map_err(|error| StorageError::backend("put", key, error))?
            .len();
        if size > PART_SIZE {
            return self.put_multipart(key, source, size, content_type).await;
        }
        let body = ByteStream::from_path(source)
            .await
            .map_err(|error| StorageError::backend("put", key, error))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| StorageError::backend("put", key, error))
    }

    async fn download_to(&self, key: &StorageKey, destination: &Path) -> Result<u64, StorageError> {
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await
            .map_err(|error| {
                if error.as_service_error().is_some_and(|e| e.is_no_such_key()) {
                    StorageError::NotFound(key.clone())
                } else {
                    StorageError::backend("download", key, error)
                }
            })?;
        let mut file = tokio::fs::File::create(destination)
            .await
            .map_err(|error| StorageError::backend("download", key, error))?;
        let mut body = object.body.into_async_read();
        let written = tokio::io::copy(&mut body, &mut file)
            .await
            .map_err(|error| StorageError::backend("download", key, error))?;
        file.flush()
            .await
            .map_err(|error| StorageError::backend("download", key, error))?;
        Ok(written)
    }

    async fn exists(&self, key: &StorageKey) -> Result<bool, StorageError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(false),
            Err(error) => Err(StorageError::backend("exists", key, error)),
        }
    }

    async fn delete(&self, key: &StorageKey) -> Result<(), StorageError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await
            .map(|_| ())
            .map_err(|error| StorageError::backend("delete", key, error))
    }

    async fn signed_url(
        &self,
        key: &StorageKey,
        expires_in: Duration,
    ) -> Result<String, StorageError> {
        let presigning = PresigningConfig::expires_in(expires_in)
            .map_err(|error| StorageError::backend("sign", key, error))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .presigned(presigning)
            .await
            .map_err(|error| StorageError::backend("sign", key, error))?;
        Ok(request.uri().to_owned())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<StoredObject>, StorageError> {
        let full_prefix = if self.prefix.is_empty() {
            prefix.to_owned()
        } else {
            format!("{}/{prefix}", self.prefix)
        };
        let strip = full_prefix.len() - prefix.len();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&full_prefix)
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| StorageError::backend("list", &full_prefix, error))?;
            for object in page.contents() {
                let Some(key) = object.key() else {
                    continue;
                };
                let Ok(key) = StorageKey::parse(key.get(strip..).unwrap_or_default()) else {
                    continue;
                };
                // Unreadable, it is unknown (never the epoch: that would make it look old).
                let modified = object
                    .last_modified()
                    .and_then(|at| std::time::SystemTime::try_from(*at).ok());
                found.push(StoredObject { key, modified });
            }
        }
        Ok(found)
    }

    async fn check(&self) -> Result<(), StorageError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| StorageError::backend("check", &self.bucket, error))
    }
    async fn size_of(&self, key: &StorageKey) -> Result<u64, StorageError> {
        let head = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await
            .map_err(|error| {
                if error.as_service_error().is_some_and(|e| e.is_not_found()) {
                    StorageError::NotFound(key.clone())
                } else {
                    StorageError::backend("size", key, error)
                }
            })?;
        Ok(head
            .content_length()
            .and_then(|length| u64::try_from(length).ok())
            .unwrap_or(0))
    }

    async fn read_range(
        &self,
        key: &StorageKey,
        offset: u64,
        length: u64,
    ) -> Result<Vec<u8>, StorageError> {
        if length == 0 {
            return Ok(Vec::new());
        }
        let last = offset.saturating_add(length - 1);
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .range(format!("bytes={offset}-{last}"))
            .send()
            .await
            .map_err(|error| {
                if error.as_service_error().is_some_and(|e| e.is_no_such_key()) {
                    StorageError::NotFound(key.clone())
                } else {
                    StorageError::backend("read", key, error)
                }
            })?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|error| StorageError::backend("read", key, error))?
            .into_bytes();
        // A server that ignores the range sends the whole object: keep only what was asked.
        let bytes = if object.content_range.is_none() && bytes.len() as u64 > length {
            let start = usize::try_from(offset)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            let end = start
                .saturating_add(usize::try_from(length).unwrap_or(usize::MAX))
                .min(bytes.len());
            bytes.slice(start..end)
        } else {
            bytes
        };
        Ok(bytes.to_vec())
    }

    async fn create_multipart(
        &self,
        key: &StorageKey,
        content_type: &str,
    ) -> Result<String, StorageError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .content_type(content_type)
            .send()
            .await
            .map_err(|error| StorageError::backend("start upload", key, error))?;
        created
            .upload_id()
            .map(str::to_owned)
            .ok_or_else(|| StorageError::backend("start upload", key, "S3 returned no upload id"))
    }

    async fn presign_part(
        &self,
        key: &StorageKey,
        upload_id: &str,
        number: u32,
        size: u64,
        expires_in: Duration,
    ) -> Result<Option<String>, StorageError> {
        let presigning = PresigningConfig::expires_in(expires_in)
            .map_err(|error| StorageError::backend("sign part", key, error))?;
        // The length is signed too: S3 refuses a part of any other size (browsers send the
        // body's length themselves).
        let request = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .upload_id(upload_id)
            .part_number(part_number(number))
            .content_length(i64::try_from(size).unwrap_or(i64::MAX))
            .presigned(presigning)
            .await
            .map_err(|error| StorageError::backend("sign part", key, error))?;
        Ok(Some(request.uri().to_owned()))
    }

    async fn put_part(
        &self,
        key: &StorageKey,
        upload_id: &str,
        number: u32,
        source: &Path,
    ) -> Result<String, StorageError> {
        let body = ByteStream::from_path(source)
            .await
            .map_err(|error| StorageError::backend("put part", key, error))?;
        let uploaded = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .upload_id(upload_id)
            .part_number(part_number(number))
            .body(body)
            .send()
            .await
            .map_err(|error| {
                if error
                    .as_service_error()
                    .is_some_and(|e| e.code() == Some("NoSuchUpload"))
                {
                    StorageError::NotFound(key.clone())
                } else {
                    StorageError::backend("put part", key, error)
                }
            })?;
        Ok(uploaded.e_tag().unwrap_or_default().to_owned())
    }

    async fn list_parts(
        &self,
        key: &StorageKey,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, StorageError> {
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let answer = self
                .client
                .list_parts()
                .bucket(&self.bucket)
                .key(self.object_key(key))
                .upload_id(upload_id)
                .set_part_number_marker(marker.take())
                .send()
                .await;
            let page = match answer {
                Ok(page) => page,
                Err(error)
                    if error
                        .as_service_error()
                        .is_some_and(|e| e.code() == Some("NoSuchUpload")) =>
                {
                    return Err(StorageError::NotFound(key.clone()));
                }
                // The emulator (moto 5.2) answers with a `ListPartsResponse` root where S3 has
                // `ListPartsResult`, which the SDK refuses to read: its raw answer is read here.
                Err(error) => match error
                    .raw_response()
                    .filter(|raw| raw.status().is_success())
                    .and_then(|raw| raw.body().bytes())
                    .and_then(|body| std::str::from_utf8(body).ok())
                    .filter(|body| body.contains("<ListPartsResponse"))
                {
                    Some(body) => {
                        let (found, next) = parts_of_xml(body);
                        parts.extend(found);
                        match next {
                            Some(next) => {
                                marker = Some(next);
                                continue;
                            }
                            None => break,
                        }
                    }
                    None => return Err(StorageError::backend("list parts", key, error)),
                },
            };
            for part in page.parts() {
                let (Some(number), Some(size)) = (part.part_number(), part.size()) else {
                    continue;
                };
                let (Ok(number), Ok(size)) = (u32::try_from(number), u64::try_from(size)) else {
                    continue;
                };
                parts.push(StoredPart {
                    number,
                    size,
                    etag: part.e_tag().unwrap_or_default().to_owned(),
                });
            }
            match (page.is_truncated(), page.next_part_number_marker()) {
                (Some(true), Some(next)) => marker = Some(next.to_owned()),
                _ => break,
            }
        }
        parts.sort_by_key(|part| part.number);
        parts.dedup_by_key(|part| part.number);
        Ok(parts)
    }

    async fn complete_multipart(
        &self,
        key: &StorageKey,
        upload_id: &str,
        parts: &[StoredPart],
    ) -> Result<(), StorageError> {
        let completed = parts
            .iter()
            .map(|part| {
                CompletedPart::builder()
                    .e_tag(&part.etag)
                    .part_number(part_number(part.number))
                    .build()
            })
            .collect();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(completed))
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|error| {
                if error
                    .as_service_error()
                    .is_some_and(|e| e.code() == Some("NoSuchUpload"))
                {
                    StorageError::NotFound(key.clone())
                } else {
                    StorageError::backend("complete upload", key, error)
                }
            })
    }

    async fn abort_multipart(&self, key: &StorageKey, upload_id: &str) -> Result<(), StorageError> {
        match self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .upload_id(upload_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_no_such_upload()) =>
            {
                Ok(())
            }
            Err(error) => Err(StorageError::backend("abort upload", key, error)),
        }
    }
}

/// The parts of a ListParts answer read from its XML, and the next page's marker when it is
/// truncated.
fn parts_of_xml(body: &str) -> (Vec<StoredPart>, Option<String>) {
    fn element<'a>(within: &'a str, name: &str) -> Option<&'a str> {
        let start = within.find(&format!("<{name}>"))? + name.len() + 2;
        let end = start + within[start..].find(&format!("</{name}>"))?;
        Some(&within[start..end])
    }
    let mut parts = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("<Part>") {
        let Some(end) = rest[start..].find("</Part>").map(|end| start + end) else {
            break;
        };
        let part = &rest[start..end];
        let number = element(part, "PartNumber").and_then(|n| n.trim().parse().ok());
        let size = element(part, "Size").and_then(|n| n.trim().parse().ok());
        if let (Some(number), Some(size)) = (number, size) {
            parts.push(StoredPart {
                number,
                size,
                etag: element(part, "ETag")
                    .unwrap_or_default()
                    .replace("&quot;", "\"")
                    .replace("&#34;", "\""),
            });
        }
        rest = &rest[end..];
    }
    let next = (element(body, "IsTruncated") == Some("true"))
        .then(|| element(body, "NextPartNumberMarker").map(str::to_owned))
        .flatten();
    (parts, next)
}

/// S3's part number (1 to 10,000) as the SDK takes it.
fn part_number(number: u32) -> i32 {
    i32::try_from(number).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_emulators_list_of_parts_reads_back() {
        let body = "<?xml version=\"1.0\"?><ListPartsResponse><IsTruncated>false</IsTruncated>\
            <Part><PartNumber>1</PartNumber><ETag>&quot;ab&quot;</ETag><Size>5242880</Size></Part>\
            <Part><PartNumber>2</PartNumber><ETag>\"cd\"</ETag><Size>7</Size></Part>\
            </ListPartsResponse>";
        let (parts, next) = parts_of_xml(body);
        assert_eq!(next, None);
        assert_eq!(
            parts,
            vec![
                StoredPart {
                    number: 1,
                    size: 5_242_880,
                    etag: "\"ab\"".to_owned()
                },
                StoredPart {
                    number: 2,
                    size: 7,
                    etag: "\"cd\"".to_owned()
                },
            ]
        );
    }
}
