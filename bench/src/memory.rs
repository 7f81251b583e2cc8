//! One instance of each release binary fed a long run of invocations, one at a time — what
//! a Lambda instance sees during a burst (Lambda never gives one instance two events at
//! once; a burst means more instances, each taking events back to back). Answers its peak
//! RSS after the run, its warm invocation time, and how much more the first invocation
//! took than a warm one (the one-time work done on first use).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::coldstart::{self, Sandbox};
use crate::fixture::Fixture;
use crate::scenarios::Scenarios;
use crate::stats::{f1, f2, median, ms, pass, percentile, Raw, Section};

/// The events one instance of `function` is fed: its scenarios in turn (the webhook gets
/// messages and statuses; the processor batches of several users, as in a burst).
async fn event(sc: &Scenarios<'_>, function: &str, i: usize) -> Option<serde_json::Value> {
    match function {
        "inbound-processor" => return Some(sc.stream_batch(i, 5).await.to_json()),
        FLOOR_SDK => return Some(serde_json::json!({ "bench": "floor" })),
        _ => {}
    }
    let names: Vec<&str> = Scenarios::names()
        .iter()
        .copied()
        .filter(|n| Scenarios::function_of(n) == function)
        .collect();
    Some(
        sc.prepare(names.get(i % names.len().max(1))?, i)
            .await?
            .to_json(),
    )
}

/// The floor plus the SDK client and one GetItem per invocation: its "first − warm" is the
/// SDK's own one-time work on first use, which every function's first invocation includes.
const FLOOR_SDK: &str = "bench-floor-sdk";

pub async fn run(bin_dir: &Path, endpoint: &str, invocations: usize, raw: &mut Raw) -> Section {
    let fx = Fixture::new(endpoint, "memory").await;
    // Sends are limited per admin and minute.
    let sc = Scenarios::new(&fx, invocations / 10 + 2).await;
    let mut env = fx.env.clone();
    env.insert("AWS_ENDPOINT_URL_DYNAMODB".into(), endpoint.to_owned());
    env.insert("RUST_LOG".into(), "info".into());
    let timeout = Duration::from_secs(30);
    let mut section = Section::new(
        "Memory and warm invocations of the release binaries",
        &format!(
            "One instance of each function's release binary (from `{}`), started as in the cold-start \
             section and fed {invocations} invocations back to back — what one Lambda instance sees in a \
             burst: Lambda never gives an instance two events at once, a burst adds instances. The webhook \
             alternates inbound messages and statuses; the processor gets stream batches of 5 users' new \
             messages (each replied to over the Graph stand-in). Peak RSS is VmHWM after the run. \
             \"first − warm\" is the first invocation's time over the warm median: the work done once, on \
             first use (connections, the SDK's lazy set-up, the code's first run); `bench-floor-sdk` (the \
             floor with the SDK client and one GetItem per invocation) shows the SDK's share of it. \
             Goal: peak RSS ≤ 40 MB.",
            bin_dir.display()
        ),
        &[
            "function",
            "answers",
            "invocations",
            "warm p50 ms",
            "warm p99 ms",
            "first ms",
            "first − warm ms",
            "peak RSS MB",
        ],
    );
    let mut functions = coldstart::function_names(&crate::root());
    functions.push(FLOOR_SDK.to_owned());
    for function in functions {
        let bin = coldstart::binary(bin_dir, &function);
        if !bin.is_file() {
            section
                .notes
                .push(format!("{function}: no binary at {}", bin.display()));
            continue;
        }
        let mut sandbox = match Sandbox::start(&bin, &function, &env).await {
            Ok(s) => s,
            Err(e) => {
                section.notes.push(format!("error: {e}"));
                continue;
            }
        };
        let mut times = Vec::new();
        let mut answers: BTreeMap<String, usize> = BTreeMap::new();
        let mut failure = None;
        for i in 0..invocations {
            // Prepared while the instance waits (untimed), as Lambda keeps it frozen.
            let Some(inv) = event(&sc, &function, i).await else {
                failure = Some(format!("{function}: no event in bench/src/scenarios.rs"));
                break;
            };
            match sandbox.invoke(&inv, timeout).await {
                Ok(answer) => {
                    times.push(ms(answer.elapsed));
                    *answers.entry(answer.outcome).or_default() += 1;
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let rss = sandbox.peak_rss_kb() as f64 / 1024.0;
        sandbox.stop().await;
        if let Some(e) = failure {
            section.notes.push(format!("error: {e}"));
        }
        let Some((&first, warm)) = times.split_first() else {
            continue;
        };
        for (i, t) in times.iter().enumerate() {
            raw.push("memory", &function, "invocation_ms", i, *t);
        }
        raw.push("memory", &function, "peak_rss_kb", 0, rss * 1024.0);
        let warm_p50 = median(warm);
        section.row(
            vec![
                function.clone(),
                answers
                    .iter()
                    .map(|(k, n)| format!("{k}×{n}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                times.len().to_string(),
                f2(warm_p50),
                f2(percentile(warm, 99.0)),
                f2(first),
                f2(first - warm_p50),
                f1(rss),
            ],
            Some(if function == FLOOR_SDK {
                "diagnostic".to_owned()
            } else {
                format!("RSS {}", pass(rss <= 40.0))
            }),
        );
    }
    section.notes.push(
        "Statuses 4xx are the scenarios' own: retry-message retries an id that does not exist (404) and \
         sends are limited per admin and minute (429) — both still run the handler's checks."
            .into(),
    );
    section
}
