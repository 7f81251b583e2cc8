//! A server the local stack runs as a child process (DynamoDB Local, the S3 server): started
//! under a small shell watchdog that stops it when we stop it or when this process dies
//! without stopping it, with the start of its output kept to explain a failed start.

use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How much of a server's own output is kept to explain a failed start.
const OUTPUT_KEPT: usize = 4096;

pub fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// The end of a server's output, kept while it starts. Once it is up, its error output goes
/// on to ours (warnings stay visible) and the rest is dropped.
#[derive(Clone, Default)]
pub struct Output {
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

    /// What it printed while starting, or a note that it printed nothing.
    pub fn text(&self) -> String {
        let text = self.tail.lock().expect("output lock").trim().to_owned();
        if text.is_empty() {
            "(it printed nothing)".into()
        } else {
            text
        }
    }
}

/// A child server under its watchdog.
pub struct Watched {
    child: Child,
    /// The watchdog script and its working directory: a restart runs the same again.
    script: String,
    workdir: PathBuf,
    name: &'static str,
    running: bool,
}

impl Watched {
    /// Starts `command` (a shell command line) in `workdir`. The shell is a watchdog: it
    /// stops the server when we stop it (TERM) or die (parent gone), and ends when the
    /// server does, which is how a failed start is seen at once.
    pub fn start(
        name: &'static str,
        command: &str,
        workdir: &Path,
    ) -> Result<(Watched, Output), String> {
        let script = format!(
            "{command} & j=$!; trap 'kill $j 2>/dev/null; wait $j; exit 0' TERM INT EXIT; \
             while kill -0 {parent} 2>/dev/null && kill -0 $j 2>/dev/null; do sleep 1; done",
            parent = std::process::id(),
        );
        let (child, output) = spawn(name, &script, workdir)?;
        let watched = Watched {
            child,
            script,
            workdir: workdir.to_path_buf(),
            name,
            running: true,
        };
        Ok((watched, output))
    }

    /// Waits until `answers` says it is up, failing at once, with its own words, when it
    /// ends first, or after `limit`. Then only its error output is passed on.
    pub async fn wait_until_ready<F, Fut>(
        &mut self,
        output: &Output,
        endpoint: &str,
        limit: Duration,
        answers: F,
    ) -> Result<(), String>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = bool>,
    {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                // The readers may still hold its last lines: give them a moment.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Err(format!(
                    "{} stopped while starting ({status}): {}",
                    self.name,
                    output.text()
                ));
            }
            if answers().await {
                output.started.store(true, Ordering::Relaxed);
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!(
            "{} did not answer on {endpoint} within {limit:?}; its output: {}",
            self.name,
            output.text()
        ))
    }

    /// Stops it (TERM, then waits until the server has exited).
    pub fn stop(&mut self) {
        if self.running {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(self.child.id().to_string())
                .stderr(Stdio::null())
                .status();
            let _ = self.child.wait();
            self.running = false;
        }
    }

    /// Starts it again after [`Watched::stop`], with the same command.
    pub fn restart(&mut self) -> Result<Output, String> {
        self.stop();
        let (child, output) = spawn(self.name, &self.script, &self.workdir)?;
        self.child = child;
        self.running = true;
        Ok(output)
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs the watchdog script; its output is kept (to explain a failed start) from here on.
fn spawn(name: &str, script: &str, workdir: &Path) -> Result<(Child, Output), String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {name}: {e}"))?;
    let output = Output::default();
    output.drain(child.stdout.take().expect("piped stdout"), false);
    output.drain(child.stderr.take().expect("piped stderr"), true);
    Ok((child, output))
}
