//! The media bucket and WhatsApp's media endpoints (DESIGN §12, docs/media.md): a user's
//! file is looked up (`GET {base}/{media_id}`), downloaded with the bearer token, hashed as
//! it streams and written to S3 in parts, and kept only when it matches the SHA-256 Meta
//! gave — a multipart upload is completed only after that check, and aborted otherwise, so
//! bytes that do not match are never stored as good. Memory holds one part at a time.

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use edubot_app::ports::{FetchError, MediaFiles, StoreError, StoredFile};
use edubot_domain::media::{sha256_matches, AttachmentKind};
use sha2::{Digest, Sha256};

use crate::config::Secret;
use crate::model::MessageError;
use crate::time::Millis;
use crate::whatsapp::client::network_title;

/// Parts of a multipart upload (S3 wants at least 5 MiB but the last).
const PART_BYTES: usize = 8 * 1024 * 1024;
/// WhatsApp's largest file (documents) and a little room: anything larger is not Meta's.
const MAX_FETCH_BYTES: u64 = AttachmentKind::Document.max_bytes() + 1024 * 1024;

#[derive(Clone)]
pub struct MediaClient {
    http: reqwest::Client,
    s3: aws_sdk_s3::Client,
    bucket: String,
    graph_base: url::Url,
    access_token: Secret,
}

/// What `GET {base}/{media_id}` answers.
#[derive(serde::Deserialize)]
struct MediaInfo {
    url: String,
    mime_type: Option<String>,
    sha256: Option<String>,
    /// Bytes, as a number or a string.
    file_size: Option<serde_json::Value>,
}

fn file_size_of(value: &serde_json::Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

/// A file larger than WhatsApp allows is refused for good: downloading it again cannot help.
fn too_large() -> FetchError {
    FetchError::Gone(error(
        "too_large",
        "The file is larger than WhatsApp allows",
    ))
}

fn error(code: &str, title: impl Into<String>) -> MessageError {
    MessageError {
        code: code.into(),
        title: title.into(),
    }
}

fn transient(code: &str, title: impl Into<String>) -> FetchError {
    FetchError::Transient(error(code, title))
}

impl MediaClient {
    pub fn new(
        http: reqwest::Client,
        s3: aws_sdk_s3::Client,
        bucket: String,
        graph_base: url::Url,
        access_token: Secret,
    ) -> Self {
        MediaClient {
            http,
            s3,
            bucket,
            graph_base,
            access_token,
        }
    }

    /// The S3 client (the media bucket's).
    pub fn s3(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }

    async fn media_info(&self, media_id: &str) -> Result<MediaInfo, FetchError> {
        let mut url = self.graph_base.clone();
        url.path_segments_mut()
            .map_err(|_| transient("config", "The Graph API base URL cannot take a path"))?
            .pop_if_empty()
            .push(media_id);
        let response = self
            .http
            .get(url)
            .bearer_auth(self.access_token.expose())
            .send()
            .await
            .map_err(|e| transient("network", network_title(&e)))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| transient("network", network_title(&e)))?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&body)
                .map_err(|_| transient("bad_response", "WhatsApp's media lookup answered no URL"));
        }
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let code = json.pointer("/error/code").and_then(|c| c.as_i64());
        let title = json
            .pointer("/error/message")
            .and_then(|t| t.as_str())
            .unwrap_or("WhatsApp refused the media lookup")
            .to_owned();
        match code {
            // The id is gone (expired or never ours): fetching again cannot help.
            Some(100) => Err(FetchError::Gone(error("100", title))),
            Some(c) => Err(transient(&c.to_string(), title)),
            None => Err(transient(&format!("http_{status}"), title)),
        }
    }

    /// Streams `response` into the bucket under `key` while hashing it; completes the
    /// object only if `expected` (when given) matches. Answers the size.
    async fn store_checked(
        &self,
        mut response: reqwest::Response,
        key: &str,
        mime_type: Option<&str>,
        expected: Option<&str>,
    ) -> Result<u64, FetchError> {
        let mut hasher = Sha256::new();
        let mut buffer: Vec<u8> = Vec::with_capacity(64 * 1024);
        let mut size: u64 = 0;
        let mut upload: Option<(String, Vec<CompletedPart>)> = None;
        let result: Result<(), FetchError> = async {
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| transient("network", network_title(&e)))?
            {
                size += chunk.len() as u64;
                if size > MAX_FETCH_BYTES {
                    return Err(transient(
                        "too_large",
                        "The file is larger than WhatsApp allows",
                    ));
                }
                hasher.update(&chunk);
                buffer.extend_from_slice(&chunk);
                if buffer.len() >= PART_BYTES {
                    let part = std::mem::take(&mut buffer);
                    self.upload_part(&mut upload, key, mime_type, part).await?;
                }
            }
            Ok(())
        }
        .await;
        let digest: [u8; 32] = hasher.finalize().into();
        let matches = expected.is_none_or(|given| sha256_matches(given, &digest));
        let outcome = match result {
            Err(e) => Err(e),
            Ok(()) if !matches => Err(transient(
                "sha256_mismatch",
                "The downloaded file does not match the checksum WhatsApp gave",
            )),
            Ok(()) if upload.is_none() => self.put_whole(key, mime_type, buffer).await,
            Ok(()) => self.finish(&mut upload, key, mime_type, buffer).await,
        };
        if outcome.is_err() {
            if let Some((id, _)) = upload {
                // Nothing half-written is kept (the bucket's lifecycle rule also clears
                // abandoned uploads, should this call fail too).
                let _ = self
                    .s3
                    .abort_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(id)
                    .send()
                    .await;
            }
        }
        outcome.map(|()| size)
    }

    async fn put_whole(
        &self,
        key: &str,
        mime_type: Option<&str>,
        bytes: Vec<u8>,
    ) -> Result<(), FetchError> {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .set_content_type(mime_type.map(str::to_owned))
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                transient(
                    "storage",
                    format!("The media bucket refused the file: {}", s3_error(&e)),
                )
            })
    }

    /// Uploads one part, starting the multipart upload on the first.
    async fn upload_part(
        &self,
        upload: &mut Option<(String, Vec<CompletedPart>)>,
        key: &str,
        mime_type: Option<&str>,
        part: Vec<u8>,
    ) -> Result<(), FetchError> {
        let storage =
            |e: String| transient("storage", format!("The media bucket refused the file: {e}"));
        if upload.is_none() {
            let created = self
                .s3
                .create_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .set_content_type(mime_type.map(str::to_owned))
                .send()
                .await
                .map_err(|e| storage(s3_error(&e)))?;
            let id = created
                .upload_id()
                .ok_or_else(|| storage("no upload id".into()))?
                .to_owned();
            *upload = Some((id, Vec::new()));
        }
        let (id, parts) = upload.as_mut().expect("started above");
        let number = parts.len() as i32 + 1;
        let uploaded = self
            .s3
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(id.as_str())
            .part_number(number)
            .body(ByteStream::from(part))
            .send()
            .await
            .map_err(|e| storage(s3_error(&e)))?;
        parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(uploaded.e_tag().map(str::to_owned))
                .build(),
        );
        Ok(())
    }

    /// Uploads the last part and completes the upload; on success nothing is left to abort.
    async fn finish(
        &self,
        upload: &mut Option<(String, Vec<CompletedPart>)>,
        key: &str,
        mime_type: Option<&str>,
        last: Vec<u8>,
    ) -> Result<(), FetchError> {
        if !last.is_empty() {
            self.upload_part(upload, key, mime_type, last).await?;
        }
        let (id, parts) = upload.as_ref().expect("a started upload");
        self.complete(key, id, parts.clone()).await?;
        *upload = None;
        Ok(())
    }

    async fn complete(
        &self,
        key: &str,
        id: &str,
        parts: Vec<CompletedPart>,
    ) -> Result<(), FetchError> {
        self.s3
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                transient(
                    "storage",
                    format!("The media bucket refused the file: {}", s3_error(&e)),
                )
            })
    }
}

impl MediaFiles for MediaClient {
    async fn fetch_into_store(
        &self,
        media_id: &str,
        object_key: &str,
        webhook_sha256: Option<&str>,
    ) -> Result<StoredFile, FetchError> {
        let info = self.media_info(media_id).await?;
        // Larger than WhatsApp allows: never ours to keep, so not downloaded at all.
        if info
            .file_size
            .as_ref()
            .and_then(file_size_of)
            .is_some_and(|size| size > MAX_FETCH_BYTES)
        {
            return Err(too_large());
        }
        let expected = info.sha256.as_deref().or(webhook_sha256);
        let url = url::Url::parse(&info.url)
            .map_err(|_| transient("bad_response", "WhatsApp's media URL is not a URL"))?;
        if !may_send_token_to(&self.graph_base, &url) {
            return Err(transient(
                "download_host",
                "WhatsApp's media URL names a host the access token is not sent to",
            ));
        }
        let response = self
            .http
            .get(url)
            .bearer_auth(self.access_token.expose())
            .send()
            .await
            .map_err(|e| transient("network", network_title(&e)))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(transient(
                &format!("http_{status}"),
                "WhatsApp refused the download",
            ));
        }
        let size = self
            .store_checked(response, object_key, info.mime_type.as_deref(), expected)
            .await?;
        Ok(StoredFile {
            size,
            mime_type: info.mime_type,
        })
    }

    async fn upload_link(
        &self,
        object_key: &str,
        mime_type: &str,
        valid_for: Millis,
    ) -> Result<String, StoreError> {
        let request = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(object_key)
            .content_type(mime_type)
            .presigned(presigning(valid_for)?)
            .await
            .map_err(|e| StoreError::Unavailable(s3_error(&e)))?;
        Ok(request.uri().to_owned())
    }

    async fn describe(&self, object_key: &str) -> Result<Option<StoredFile>, StoreError> {
        match self
            .s3
            .head_object()
            .bucket(&self.bucket)
            .key(object_key)
            .send()
            .await
        {
            Ok(head) => Ok(Some(StoredFile {
                size: head.content_length().unwrap_or_default().max(0) as u64,
                mime_type: head.content_type().map(str::to_owned),
            })),
            // Without s3:ListBucket (no role has it), S3 answers a missing key's HeadObject
            // with 403, not 404; the roles that call this may read the key, so 403 is
            // "not there" too.
            Err(e)
                if e.as_service_error().is_some_and(|e| e.is_not_found())
                    || e.raw_response().is_some_and(|r| r.status().as_u16() == 403) =>
            {
                Ok(None)
            }
            Err(e) => Err(StoreError::Unavailable(s3_error(&e))),
        }
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.s3
            .copy_object()
            .bucket(&self.bucket)
            .copy_source(format!("{}/{from}", self.bucket))
            .key(to)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| StoreError::Unavailable(s3_error(&e)))
    }

    async fn download_link(
        &self,
        object_key: &str,
        mime_type: &str,
        download_as: Option<&str>,
        valid_for: Millis,
    ) -> Result<String, StoreError> {
        let disposition = match download_as {
            Some(name) => attachment_disposition(name),
            None => "inline".to_owned(),
        };
        let request = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(object_key)
            .response_content_type(mime_type)
            .response_content_disposition(disposition)
            .presigned(presigning(valid_for)?)
            .await
            .map_err(|e| StoreError::Unavailable(s3_error(&e)))?;
        Ok(request.uri().to_owned())
    }
}

/// The bearer token goes only to the Graph API's own host and, for Meta's API, to its
/// download host (`*.fbsbx.com`), never over plain HTTP when the API is HTTPS: never to a
/// host a response names otherwise.
fn may_send_token_to(graph_base: &url::Url, url: &url::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let graph_host = graph_base.host_str().unwrap_or_default();
    let same_or_https = url.scheme() == graph_base.scheme() || url.scheme() == "https";
    let graph_itself =
        host == graph_host && url.port_or_known_default() == graph_base.port_or_known_default();
    same_or_https
        && (graph_itself || (graph_host == "graph.facebook.com" && host.ends_with(".fbsbx.com")))
}

/// Presigning settings for a link valid `valid_for`.
fn presigning(valid_for: Millis) -> Result<PresigningConfig, StoreError> {
    PresigningConfig::expires_in(std::time::Duration::from_millis(valid_for.max(1) as u64))
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

/// A `Content-Disposition` that downloads under `name`: quotes and controls dropped from the
/// plain form, the exact name in the RFC 6266 `filename*` form.
fn attachment_disposition(name: &str) -> String {
    let plain: String = name
        .chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control() && *c != '"' && *c != '\\')
        .collect();
    let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    format!("attachment; filename=\"{plain}\"; filename*=UTF-8''{encoded}")
}

fn s3_error<E: std::error::Error + 'static, R: std::fmt::Debug>(
    e: &aws_sdk_s3::error::SdkError<E, R>,
) -> String {
    aws_sdk_s3::error::DisplayErrorContext(e).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> url::Url {
        url::Url::parse(text).unwrap()
    }

    #[test]
    fn the_token_goes_only_to_graph_and_metas_download_host() {
        let meta = url("https://graph.facebook.com/v23.0");
        assert!(may_send_token_to(
            &meta,
            &url("https://graph.facebook.com/123")
        ));
        assert!(may_send_token_to(
            &meta,
            &url("https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1")
        ));
        for elsewhere in [
            "https://evil.example/x",
            "https://fbsbx.com.evil.example/x",
            "http://lookaside.fbsbx.com/x",
            "https://graph.facebook.com.evil.example/x",
        ] {
            assert!(!may_send_token_to(&meta, &url(elsewhere)), "{elsewhere}");
        }
        // Locally: the configured base's own host only.
        let local = url("http://127.0.0.1:3000/simulator/graph");
        assert!(may_send_token_to(
            &local,
            &url("http://127.0.0.1:3000/simulator/media/1")
        ));
        assert!(!may_send_token_to(
            &local,
            &url("http://lookaside.fbsbx.com/x")
        ));
        assert!(!may_send_token_to(&local, &url("http://127.0.0.2/x")));
        assert!(
            !may_send_token_to(&local, &url("http://127.0.0.1:4000/x")),
            "another port"
        );
    }

    #[test]
    fn a_download_name_cannot_break_the_header() {
        let header = attachment_disposition("Fees \"2027\"\r\nX-Evil: 1.pdf");
        assert!(!header.contains('\r') && !header.contains('\n'), "{header}");
        assert!(
            header.starts_with("attachment; filename=\"Fees 2027X-Evil: 1.pdf\""),
            "{header}"
        );
        assert!(
            header.contains("filename*=UTF-8''Fees%20%222027%22%0D%0AX-Evil%3A%201.pdf"),
            "{header}"
        );
    }
}
