//! The media bucket's local stand-in: moto's S3 server (from PyPI, installed by
//! `make install` into `infra/local/.venv`), a real S3-compatible HTTP server on a free
//! port, stopped with us. The functions reach it through the AWS SDK, unchanged, with
//! `AWS_ENDPOINT_URL_S3` (docs/media.md says why moto).

use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_s3::types::{CorsConfiguration, CorsRule};

use crate::watched::{free_port, Watched};

pub struct ObjectStore {
    process: Watched,
    pub endpoint: String,
}

/// The Python of the virtual environment `make install` puts moto in
/// (`S3_SERVER_PYTHON` overrides): checked before anything starts, so a missing install
/// is named at once.
pub fn python() -> Result<PathBuf, String> {
    let python = match std::env::var("S3_SERVER_PYTHON") {
        Ok(python) => PathBuf::from(python),
        Err(_) => crate::project_root().join("infra/local/.venv/bin/python"),
    };
    if python.is_file() {
        Ok(python)
    } else {
        Err(format!(
            "the local S3 server (moto) is not installed: no {}; run `make install`",
            python.display()
        ))
    }
}

impl ObjectStore {
    /// Starts the S3 server and waits until it answers.
    pub async fn start() -> Result<ObjectStore, String> {
        let python = python()?;
        let port = free_port()?;
        // Its request log goes to stdout, kept only while it starts.
        let command = format!(
            "'{}' -m moto.server -H 127.0.0.1 -p {port} 2>&1",
            python.display()
        );
        let (mut process, output) =
            Watched::start("the local S3 server", &command, &std::env::temp_dir())?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let probe = format!("{endpoint}/moto-api/");
        let answers = || async {
            http.get(&probe)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        };
        process
            .wait_until_ready(&output, &endpoint, Duration::from_secs(60), answers)
            .await?;
        Ok(ObjectStore { process, endpoint })
    }

    /// Stops it (what it held is gone: moto keeps objects in memory).
    pub fn stop(&mut self) {
        self.process.stop();
    }
}

/// An S3 client for the local server: fixed credentials and region, path-style addresses.
pub fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    edubot_adapters::aws::s3_client_with(&crate::local_sdk_config(), Some(endpoint.to_owned()))
}

/// Creates the media bucket (if it is not there) with the deployed bucket's CORS rule: the
/// page's origins may PUT attachments and GET files, nothing else.
pub async fn create_bucket(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    page_origins: &[String],
) -> Result<(), String> {
    let exists = client.head_bucket().bucket(bucket).send().await.is_ok();
    if !exists {
        client
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "cannot create bucket {bucket}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            })?;
    }
    let rule = CorsRule::builder()
        .set_allowed_origins(Some(page_origins.to_vec()))
        .allowed_methods("PUT")
        .allowed_methods("GET")
        .allowed_headers("content-type")
        .max_age_seconds(600)
        .build()
        .map_err(|e| e.to_string())?;
    client
        .put_bucket_cors()
        .bucket(bucket)
        .cors_configuration(
            CorsConfiguration::builder()
                .cors_rules(rule)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot set the CORS rule of {bucket}: {}",
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        })?;
    Ok(())
}
