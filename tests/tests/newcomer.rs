//! The README's first command as a newcomer types it: `make run` in a fresh copy of the
//! work tree with no configuration, a short journey through the simulator, Ctrl-C, and
//! `make run` again. The stack is started by the Makefile here, never by the test kit, so
//! a broken `make run` cannot hide behind tests that start the stack their own way.
//!
//! It reuses this build's target directory (`CARGO_TARGET_DIR`) with the copy's files
//! carrying the work tree's times, so cargo finds the artifacts fresh: nothing is
//! compiled again, and nothing the rest of `make test` uses is replaced under it.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// A first `make run` in the copy compiles the workspace's crates (dependencies are reused)
/// and runs `npm ci`; on a 2-core machine that can take minutes.
const FIRST_START: Duration = Duration::from_secs(900);
const RESTART: Duration = Duration::from_secs(180);
const STOP: Duration = Duration::from_secs(30);
const USER: &str = "447700900123";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

/// This build's target directory: the test binary lives in `<target>/debug/deps/`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .nth(3)
        .expect("<target>/debug/deps/<binary>")
        .to_path_buf()
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=newcomer",
            "-c",
            "user.email=newcomer@example.invalid",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("git prints UTF-8")
}

/// What a clone of the work tree would hold (tracked and new files, nothing ignored),
/// committed in a repository of its own so `git status` can tell what a run leaves behind.
fn fresh_copy(into: &Path) -> PathBuf {
    let root = repo_root();
    let copy = into.join("edubot");
    let listed = git(
        &root,
        &[
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
    );
    for file in listed.split('\0').filter(|f| !f.is_empty()) {
        let from = root.join(file);
        if !from.is_file() {
            continue; // deleted in the work tree, not yet in the index
        }
        let to = copy.join(file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("copy {file}: {e}"));
        // The same times as the work tree, so cargo finds this build's artifacts fresh and
        // reuses them rather than rebuilding (and replacing) them in the shared target.
        let modified = std::fs::metadata(&from).unwrap().modified().unwrap();
        std::fs::File::options()
            .write(true)
            .open(&to)
            .and_then(|f| f.set_modified(modified))
            .unwrap_or_else(|e| panic!("times of {file}: {e}"));
    }
    git(&copy, &["init", "-q"]);
    git(&copy, &["add", "-A"]);
    git(&copy, &["commit", "-q", "-m", "a fresh clone"]);
    copy
}

/// The port a newcomer gets (3000) unless something on this machine already holds it.
fn pick_port() -> u16 {
    if TcpListener::bind(("127.0.0.1", 3000)).is_ok() {
        return 3000;
    }
    TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `make <target>` in `dir` with an environment that holds no EduBot setting: only what
/// finds the tools (PATH, HOME, the Rust toolchain's homes) and the shared target folder.
fn make(dir: &Path, target: &str, extra: &[(&str, String)]) -> Command {
    let mut command = Command::new("make");
    command.arg(target).current_dir(dir).env_clear();
    for name in [
        "PATH",
        "HOME",
        "CARGO_HOME",
        "RUSTUP_HOME",
        "RUSTUP_TOOLCHAIN",
        "JAVA_HOME",
    ] {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command.env("CARGO_TARGET_DIR", target_dir());
    for (name, value) in extra {
        command.env(name, value);
    }
    command
}

/// `make run`, in a process group of its own as a terminal would start it.
struct MakeRun {
    child: Child,
    lines: Receiver<String>,
    log: Vec<String>,
}

impl MakeRun {
    fn start(dir: &Path, extra: &[(&str, String)]) -> MakeRun {
        let mut child = make(dir, "run", extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("make runs");
        let (send, lines) = mpsc::channel();
        for pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let send = send.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let _ = send.send(line);
                }
            });
        }
        MakeRun {
            child,
            lines,
            log: Vec::new(),
        }
    }

    /// Reads the output until the stack says it is up; answers its URL and, when one was
    /// generated, the admin's password.
    fn wait_ready(&mut self, limit: Duration) -> (String, Option<String>) {
        let deadline = Instant::now() + limit;
        let mut url = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(at) = line.find("is up on ") {
                        url = Some(line[at + "is up on ".len()..].trim().to_owned());
                    }
                    let done = line.starts_with("Press Ctrl-C");
                    self.log.push(line);
                    if done {
                        break;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "make run was not ready in {limit:?}:\n{}",
                        self.log.join("\n")
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().ok();
                    panic!(
                        "make run ended ({status:?}) before it was ready:\n{}",
                        self.log.join("\n")
                    )
                }
            }
        }
        let url = url.unwrap_or_else(|| panic!("no URL printed:\n{}", self.log.join("\n")));
        let password = self.log.iter().find_map(|line| {
            let rest = line.trim().strip_prefix("Admin sign-in:")?;
            let (_, password) = rest.split_once(" / ")?;
            Some(password.split_whitespace().next()?.to_owned())
        });
        (url, password)
    }

    /// Ctrl-C in the terminal: SIGINT to the whole process group. Answers once make has
    /// ended, after checking that nothing it started is left running.
    fn interrupt(mut self, copy: &Path) {
        let group = self.child.id() as i32;
        signal_group(group, "-INT");
        let deadline = Instant::now() + STOP;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                signal_group(group, "-KILL");
                panic!("make run did not stop within {STOP:?} of Ctrl-C");
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        // The stack's children (the watchdog shell, DynamoDB Local's Java) are stopped by
        // the stack itself; give them the same few seconds a person would.
        let deadline = Instant::now() + STOP;
        while group_alive(group) || !processes_using(copy).is_empty() {
            if Instant::now() > deadline {
                let left = processes_using(copy);
                signal_group(group, "-KILL");
                panic!("after Ctrl-C (make: {status}) these are still running: {left:#?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn signal_group(group: i32, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", &format!("-{group}")])
        .stderr(Stdio::null())
        .status();
}

fn group_alive(group: i32) -> bool {
    Command::new("kill")
        .args(["-0", "--", &format!("-{group}")])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Command lines of running processes that name the copy (DynamoDB Local's Java names its
/// data folder, the stack's binary runs from it).
fn processes_using(copy: &Path) -> Vec<String> {
    let needle = copy.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit())
        {
            continue;
        }
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
        let cwd = std::fs::read_link(entry.path().join("cwd")).unwrap_or_default();
        let zombie = std::fs::read_to_string(entry.path().join("stat"))
            .map(|s| s.contains(") Z "))
            .unwrap_or(true);
        if !zombie && (cmdline.contains(&needle) || cwd.starts_with(copy)) {
            found.push(cmdline);
        }
    }
    found
}

fn assert_port_free(port: u16) {
    assert!(
        TcpListener::bind(("127.0.0.1", port)).is_ok(),
        "port {port} is still taken after the stack stopped"
    );
}

fn assert_tree_clean(copy: &Path) {
    let status = git(copy, &["status", "--porcelain", "--untracked-files=all"]);
    assert!(
        status.trim().is_empty(),
        "a run left files in the work tree outside .local/ and target/:\n{status}"
    );
}

/// The page's and the simulator's view of the stack, over HTTP.
struct Desk {
    http: reqwest::Client,
    url: String,
}

impl Desk {
    async fn user_says(&self, text: &str) {
        let response = self
            .http
            .post(format!("{}/simulator/api/send", self.url))
            .json(&json!({"phone": USER, "name": "Nia Newcomer", "text": text}))
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["webhook_status"], 200, "{body}");
    }

    /// What the simulated phone shows from the business.
    async fn user_received(&self) -> Vec<Value> {
        let body: Value = self
            .http
            .get(format!("{}/simulator/api/messages?phone={USER}", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["from"] == "business")
            .cloned()
            .collect()
    }

    async fn wait_received(&self, count: usize) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let received = self.user_received().await;
            if received.len() >= count {
                return received;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the user got {} message(s), expected {count}: {received:#?}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn sign_in(&self, password: &str) -> String {
        let response = self
            .http
            .post(format!("{}/api/admin/login", self.url))
            .json(&json!({"username": "admin", "password": password}))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "sign-in with the printed password: {body}");
        body["token"].as_str().unwrap().to_owned()
    }

    async fn get(&self, token: &str, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    /// The conversation as the support list shows it, once `ready` holds for it.
    async fn wait_support_conversation(
        &self,
        token: &str,
        ready: impl Fn(&Value) -> bool,
    ) -> Value {
        let started = Instant::now();
        loop {
            let list = self
                .get(token, "/api/admin/conversations?filter=support")
                .await;
            let found = list["conversations"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["phone"] == USER)
                .cloned();
            if let Some(conversation) = found.filter(|c| ready(c)) {
                return conversation;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the support list never showed the conversation as expected: {list:#}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn make_run_works_from_a_fresh_clone_after_ctrl_c_and_after_make_reset() {
    let scratch = std::env::temp_dir().join(format!(
        "edubot-newcomer-{}",
        edubot_adapters::model::new_message_id().to_lowercase()
    ));
    std::fs::create_dir_all(&scratch).unwrap();
    let copy = fresh_copy(&scratch);
    let port = pick_port();
    let settings = [("PORT", port.to_string())];
    let http = reqwest::Client::new();

    // First run: every default, the data in the relative `.local`.
    let mut run = MakeRun::start(&copy, &settings);
    let (url, password) = run.wait_ready(FIRST_START);
    let password = password.expect("a new admin's password is printed once");
    let desk = Desk {
        http: http.clone(),
        url,
    };
    desk.user_says("hi").await;
    let menu = desk.wait_received(1).await;
    desk.user_says("support").await;
    desk.wait_received(menu.len() + 1).await;
    let token = desk.sign_in(&password).await;
    let conversation = desk
        .wait_support_conversation(&token, |c| c["is_chat_support"] == true)
        .await;
    assert_eq!(conversation["state"], "CHAT_SUPPORT_ACTIVE");
    assert!(
        copy.join(".local/dynamodb").is_dir(),
        "data kept in .local/"
    );
    let sent_before_restart = desk.user_received().await.len();
    run.interrupt(&copy);
    assert_port_free(port_of(&desk.url));
    assert_tree_clean(&copy);

    // Second run: the same data, the stream read on from where it stopped.
    let mut run = MakeRun::start(&copy, &settings);
    let (url, printed) = run.wait_ready(RESTART);
    assert_eq!(printed, None, "the existing admin keeps its password");
    let desk = Desk {
        http: http.clone(),
        url,
    };
    let token = desk.sign_in(&password).await;
    desk.wait_support_conversation(&token, |c| c["state"] == "CHAT_SUPPORT_ACTIVE")
        .await;
    desk.user_says("still there?").await;
    // Handled (not skipped): the processor put it on the conversation.
    desk.wait_support_conversation(&token, |c| {
        c["last_message_preview"] == "still there?" && c["waiting_since"].is_string()
    })
    .await;
    // Not replayed: the simulator started empty, and nothing of before was sent again
    // (in chat support the bot stays silent, so nothing new either).
    assert!(
        desk.user_received().await.is_empty(),
        "the restart sent messages again (before it: {sent_before_restart})"
    );
    run.interrupt(&copy);
    assert_port_free(port_of(&desk.url));
    assert_tree_clean(&copy);

    // `make reset` wipes the data, builds nothing, and leaves the tree as it was.
    let reset = make(&copy, "reset", &[]).output().unwrap();
    assert!(reset.status.success(), "{reset:?}");
    assert!(!copy.join(".local").exists(), "make reset removes .local/");
    assert_tree_clean(&copy);

    // Third run: after the reset, with LOCAL_DATA_DIR an absolute folder elsewhere.
    let elsewhere = scratch.join("elsewhere-data");
    let mut settings = settings.to_vec();
    settings.push(("LOCAL_DATA_DIR", elsewhere.to_string_lossy().into_owned()));
    let mut run = MakeRun::start(&copy, &settings);
    let (url, printed) = run.wait_ready(RESTART);
    let password = printed.expect("after make reset the admin is new again");
    let desk = Desk { http, url };
    let token = desk.sign_in(&password).await;
    let list = desk.get(&token, "/api/admin/conversations").await;
    assert_eq!(
        list["conversations"],
        json!([]),
        "make reset wiped the history"
    );
    assert!(
        elsewhere.join("dynamodb").is_dir(),
        "data kept in LOCAL_DATA_DIR"
    );
    run.interrupt(&copy);
    assert_tree_clean(&copy);

    std::fs::remove_dir_all(&scratch).unwrap();
}
