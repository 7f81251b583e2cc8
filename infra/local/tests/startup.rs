//! When a part of the local stack cannot start, `make run` stops at once and says which
//! part and why, in that part's own words: never a generic time-out a minute later.

use std::net::TcpListener;
use std::process::{Command, Output};

use edubot_local::DynamoDbLocal;

/// The stack's binary with no EduBot setting but these, its data in a fresh folder.
fn run_stack(vars: &[(&str, &str)]) -> Output {
    // One folder per run: the tests run side by side.
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let data = std::env::temp_dir().join(format!("edubot-startup-{}-{run}", std::process::id()));
    let mut command = Command::new(env!("CARGO_BIN_EXE_edubot-local"));
    command
        .env_clear()
        .env("HOME", std::env::var_os("HOME").unwrap_or_default())
        .env("LOCAL_DATA_DIR", &data)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for (name, value) in vars {
        command.env(name, value);
    }
    let output = command.output().expect("the stack's binary runs");
    let _ = std::fs::remove_dir_all(&data);
    output
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_port_already_taken_is_named() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = run_stack(&[("PORT", &port)]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(&format!("port {port} is already in use")),
        "{}",
        stderr(&output)
    );
}

#[test]
fn missing_java_is_named() {
    let output = run_stack(&[("PORT", "0"), ("PATH", "/nonexistent")]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("Java is not installed"), "{text}");
    assert!(text.contains("make install"), "{text}");
}

#[test]
fn a_bad_port_setting_is_refused() {
    let output = run_stack(&[("PORT", "three thousand")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("PORT=three thousand is not a port number"));
}

#[tokio::test]
async fn dynamodb_local_that_exits_while_starting_is_reported_with_its_own_words() {
    // A heap too small for the JVM to start: Java prints why and exits at once.
    let error = match DynamoDbLocal::start_with(None, "-Xmx1k").await {
        Ok(_) => panic!("DynamoDB Local started with a 1 KB heap"),
        Err(e) => e,
    };
    assert!(
        error.starts_with("DynamoDB Local stopped while starting"),
        "{error}"
    );
    assert!(
        error.contains("heap"),
        "Java's own words are missing: {error}"
    );
}

#[test]
fn the_data_folder_is_made_absolute_against_the_working_directory() {
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(
        edubot_local::data_dir_from(None).unwrap(),
        cwd.join(".local")
    );
    assert_eq!(
        edubot_local::data_dir_from(Some(String::new())).unwrap(),
        cwd.join(".local")
    );
    assert_eq!(
        edubot_local::data_dir_from(Some("data/here".into())).unwrap(),
        cwd.join("data/here")
    );
    assert_eq!(
        edubot_local::data_dir_from(Some("/srv/edubot".into())).unwrap(),
        std::path::PathBuf::from("/srv/edubot")
    );
}

#[test]
fn a_missing_s3_server_is_named() {
    let output = run_stack(&[("PORT", "0"), ("S3_SERVER_PYTHON", "/nonexistent/python")]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains("the local S3 server (moto) is not installed"),
        "{text}"
    );
    assert!(text.contains("make install"), "{text}");
}

#[tokio::test]
async fn the_s3_server_starts_and_takes_the_buckets_cors_rule() {
    let store = edubot_local::ObjectStore::start()
        .await
        .expect("the local S3 server starts (make install)");
    let s3 = edubot_local::object_store::s3_client(&store.endpoint);
    let origins = ["http://127.0.0.1:3000".to_owned()];
    edubot_local::object_store::create_bucket(&s3, "startup-test", &origins)
        .await
        .unwrap();
    let cors = s3
        .get_bucket_cors()
        .bucket("startup-test")
        .send()
        .await
        .unwrap();
    let rule = &cors.cors_rules()[0];
    assert_eq!(rule.allowed_origins(), origins);
    assert_eq!(rule.allowed_methods(), ["PUT", "GET"]);
}
