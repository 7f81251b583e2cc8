//! `make bench`: cold start against a hello-world floor, warm handler latency against the
//! bare DynamoDB calls, a burst through the local stack, the admin API at size, and the
//! deployment size — one run, one machine, interleaved, medians. Prints a table and writes
//! BENCHMARKS.md with the raw figures in a CSV beside it. `--quick` proves the harness
//! with tiny sizes (and writes under target/ instead). No goal fails the run.

mod admin;
mod burst;
mod coldstart;
mod counting;
mod fixture;
mod scenarios;
mod size;
mod stats;
mod sustained;
mod warm;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use stats::{f1, f2, median, pass, percentile, Raw, Section};

struct Options {
    quick: bool,
    bin_dir: PathBuf,
    out_dir: PathBuf,
    starts: usize,
    only: Option<Vec<String>>,
    speed_bin_dir: Option<PathBuf>,
    /// Conversations, messages per conversation.
    admin_size: Option<(usize, usize)>,
    /// Users, messages per user, concurrency.
    burst_size: Option<(usize, usize, usize)>,
}

fn numbers(v: &str) -> Result<Vec<usize>, String> {
    v.split(',')
        .map(|n| n.trim().parse().map_err(|_| format!("{v}: not numbers")))
        .collect()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn parse_args() -> Result<Options, String> {
    let root = root();
    let mut o = Options {
        quick: false,
        bin_dir: root.join("target/release"),
        out_dir: root.join("bench"),
        starts: 20,
        only: None,
        speed_bin_dir: None,
        admin_size: None,
        burst_size: None,
    };
    let mut out_set = false;
    let mut starts_set = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--quick" => o.quick = true,
            "--bin-dir" => o.bin_dir = PathBuf::from(value()?),
            "--out-dir" => {
                o.out_dir = PathBuf::from(value()?);
                out_set = true;
            }
            "--starts" => {
                o.starts = value()?.parse().map_err(|_| "--starts N")?;
                starts_set = true;
            }
            "--only" => o.only = Some(value()?.split(',').map(str::to_owned).collect()),
            "--speed-bin-dir" => o.speed_bin_dir = Some(PathBuf::from(value()?)),
            "--admin-size" => match numbers(&value()?)?[..] {
                [c, m] => o.admin_size = Some((c, m)),
                _ => return Err("--admin-size CONVERSATIONS,MESSAGES_PER_CONVERSATION".into()),
            },
            "--burst-size" => match numbers(&value()?)?[..] {
                [u, m, c] => o.burst_size = Some((u, m, c)),
                _ => return Err("--burst-size USERS,MESSAGES_PER_USER,CONCURRENCY".into()),
            },
            "-h" | "--help" => {
                println!(
                    "edubot-bench [--quick] [--bin-dir target/release] [--out-dir bench] [--starts 20]\n\
                     \t[--only coldstart,sustained,warm,burst,admin,size] [--speed-bin-dir DIR]\n\
                     \t[--admin-size 5000,40] [--burst-size 200,10,32]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    // Binaries start in a temporary directory: their paths must not be relative.
    o.bin_dir = std::fs::canonicalize(&o.bin_dir).unwrap_or(o.bin_dir);
    o.speed_bin_dir = o
        .speed_bin_dir
        .map(|d| std::fs::canonicalize(&d).unwrap_or(d));
    if o.quick {
        if !out_set {
            o.out_dir = root.join("target/bench-quick");
        }
        if !starts_set {
            o.starts = 1;
        }
    }
    Ok(o)
}

fn wants(o: &Options, part: &str) -> bool {
    o.only.as_ref().is_none_or(|l| l.iter().any(|p| p == part))
}

#[tokio::main]
async fn main() {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("edubot-bench: {e}");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    // DynamoDB Local in memory (or the one named by AWS_ENDPOINT_URL_DYNAMODB).
    let (_local, endpoint) = match std::env::var("AWS_ENDPOINT_URL_DYNAMODB") {
        Ok(e) if !e.is_empty() => (None, e),
        _ => {
            // Room for every section's tables at once in one in-memory instance (the
            // admin section alone holds 205,000 items).
            let local =
                edubot_local::DynamoDbLocal::start_with(None, "-Xms1g -Xmx4g -XX:+UseParallelGC")
                    .await
                    .expect("DynamoDB Local starts (make install)");
            let e = local.endpoint.clone();
            (Some(local), e)
        }
    };
    eprintln!(
        "edubot-bench: DynamoDB Local at {endpoint}{}",
        if o.quick { " (quick mode)" } else { "" }
    );
    let mut raw = Raw::default();
    let mut sections: Vec<Section> = Vec::new();
    let mut timings: Vec<(String, f64)> = Vec::new();

    if wants(&o, "coldstart") {
        let t = Instant::now();
        eprintln!("edubot-bench: cold starts ({} per function)…", o.starts);
        sections.push(cold_starts(&o, &endpoint, &mut raw).await);
        timings.push(("cold start".into(), t.elapsed().as_secs_f64()));
        done(&o, &sections, &raw, &timings, started);
    }
    if wants(&o, "sustained") {
        let t = Instant::now();
        let n = if o.quick { 3 } else { 200 };
        eprintln!("edubot-bench: memory and warm invocations ({n} per release binary)…");
        sections.push(sustained::run(&o.bin_dir, &endpoint, n, &mut raw).await);
        timings.push((
            "memory and warm invocations".into(),
            t.elapsed().as_secs_f64(),
        ));
        done(&o, &sections, &raw, &timings, started);
    }
    if wants(&o, "warm") {
        let t = Instant::now();
        let n = if o.quick { 1 } else { 50 };
        eprintln!("edubot-bench: warm latency ({n} requests per handler)…");
        sections.push(warm::run(&endpoint, n, &mut raw).await);
        timings.push(("warm latency".into(), t.elapsed().as_secs_f64()));
        done(&o, &sections, &raw, &timings, started);
    }
    if wants(&o, "burst") {
        let t = Instant::now();
        let (users, per_user, conc) =
            o.burst_size
                .unwrap_or(if o.quick { (6, 3, 4) } else { (200, 10, 32) });
        eprintln!(
            "edubot-bench: burst ({} messages from {users} users at concurrency {conc})…",
            users * per_user
        );
        sections.push(burst::run(&endpoint, users, per_user, conc, &mut raw).await);
        timings.push(("burst".into(), t.elapsed().as_secs_f64()));
        done(&o, &sections, &raw, &timings, started);
    }
    if wants(&o, "admin") {
        let t = Instant::now();
        let (convs, per) = o
            .admin_size
            .unwrap_or(if o.quick { (30, 6) } else { (5_000, 40) });
        let n = if o.quick { 1 } else { 50 };
        eprintln!(
            "edubot-bench: admin API at size ({convs} conversations, {} messages)…",
            convs * per
        );
        sections.push(admin::run(&endpoint, convs, per, n, &mut raw).await);
        timings.push(("admin at size".into(), t.elapsed().as_secs_f64()));
        done(&o, &sections, &raw, &timings, started);
    }
    if wants(&o, "size") {
        sections.push(sizes(&o));
        done(&o, &sections, &raw, &timings, started);
    }

    eprintln!(
        "edubot-bench: done in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

/// Prints the newest section and rewrites the report with everything measured so far.
fn done(o: &Options, sections: &[Section], raw: &Raw, timings: &[(String, f64)], started: Instant) {
    if let Some(s) = sections.last() {
        println!("{}", s.to_text());
    }
    write_report(o, sections, raw, timings, started.elapsed().as_secs_f64());
}

async fn cold_starts(o: &Options, endpoint: &str, raw: &mut Raw) -> Section {
    let root = root();
    let fx = fixture::Fixture::new(endpoint, "cold").await;
    let sc = scenarios::Scenarios::new(&fx, 3).await;
    let mut env = fx.env.clone();
    env.insert("AWS_ENDPOINT_URL_DYNAMODB".into(), endpoint.to_owned());
    env.insert("RUST_LOG".into(), "info".into());
    let floor_bin = coldstart::binary(&o.bin_dir, "bench-floor");
    let mut functions = coldstart::function_names(&root);
    let timeout = Duration::from_secs(30);
    let mut samples: BTreeMap<String, Vec<coldstart::Start>> = BTreeMap::new();
    let mut errors: Vec<String> = Vec::new();
    let floor_event = serde_json::json!({"bench": "floor"});
    // Diagnostics (no goal): the floor plus the shared DynamoDB client construction.
    let diagnostics: Vec<String> = ["bench-floor-sdk"]
        .into_iter()
        .map(str::to_owned)
        .filter(|d| coldstart::binary(&o.bin_dir, d).is_file())
        .collect();
    for round in 0..o.starts {
        // Rotate the order each round, so no function always follows the same one.
        functions.rotate_left(if round == 0 { 0 } else { 1 });
        for f in &functions {
            let bin = coldstart::binary(&o.bin_dir, f);
            if !bin.is_file() {
                if round == 0 {
                    errors.push(format!("{f}: no binary at {}", bin.display()));
                }
                continue;
            }
            let Some(inv) = sc.prepare(f, round).await else {
                if round == 0 {
                    errors.push(format!(
                        "{f}: no event defined for it in bench/src/scenarios.rs"
                    ));
                }
                continue;
            };
            // The floor right before each function: same moment, same machine state.
            match coldstart::start_once(&floor_bin, "bench-floor", &floor_event, &env, timeout)
                .await
            {
                Ok(s) => samples.entry("(floor)".into()).or_default().push(s),
                Err(e) => errors.push(e),
            }
            match coldstart::start_once(&bin, f, &inv.to_json(), &env, timeout).await {
                Ok(s) => samples.entry(f.clone()).or_default().push(s),
                Err(e) => errors.push(e),
            }
            // The same function built speed-optimised (`make bench SPEED=1`), right after.
            if let Some(speed) = o.speed_bin_dir.as_ref().map(|d| coldstart::binary(d, f)) {
                if speed.is_file() {
                    let inv = sc.prepare(f, round).await.expect("prepared above");
                    match coldstart::start_once(&speed, f, &inv.to_json(), &env, timeout).await {
                        Ok(s) => samples
                            .entry(format!("{f} (opt-level 3)"))
                            .or_default()
                            .push(s),
                        Err(e) => errors.push(e),
                    }
                }
            }
        }
        for d in &diagnostics {
            let bin = coldstart::binary(&o.bin_dir, d);
            match coldstart::start_once(&bin, d, &floor_event, &env, timeout).await {
                Ok(s) => samples.entry(format!("({d})")).or_default().push(s),
                Err(e) => errors.push(e),
            }
        }
    }
    let floor: Vec<f64> = samples
        .get("(floor)")
        .map(|v| v.iter().map(|s| s.init_ms).collect())
        .unwrap_or_default();
    let floor_first: Vec<f64> = samples
        .get("(floor)")
        .map(|v| v.iter().map(|s| s.first_invoke_ms).collect())
        .unwrap_or_default();
    let floor_init = median(&floor);
    let floor_invoke = median(&floor_first);
    let mut section = Section::new(
        "Cold start against the floor",
        &format!(
            "Each function's binary from `{}` started {} times as Lambda starts it (env cleared, then the \
             Lambda environment: AWS_LAMBDA_RUNTIME_API of an emulator in the bench, AWS_REGION, credentials \
             in AWS_ACCESS_KEY_ID/…/AWS_SESSION_TOKEN, AWS_ENDPOINT_URL_DYNAMODB at DynamoDB Local, the \
             README's configuration). init = spawn → first `GET /runtime/invocation/next`; first invocation = \
             spawn → its response posted, for a realistic event (API Gateway v2 request, stream batch, \
             EventBridge schedule). The floor (`bench/floor`, a hello-world `lambda_runtime` function, same \
             profile) starts right before every function start. Peak RSS is VmHWM after the first \
             invocation. Goals: init ≤ 1.5× the floor; peak RSS ≤ 40 MB.",
            o.bin_dir.display(),
            o.starts
        ),
        &[
            "function",
            "answer",
            "init p50 ms",
            "init p90 ms",
            "init ÷ floor",
            "1st invocation p50 ms",
            "p90 ms",
            "invocation − init p50 ms",
            "peak RSS MB",
        ],
    );
    for (name, v) in &samples {
        let init: Vec<f64> = v.iter().map(|s| s.init_ms).collect();
        let first: Vec<f64> = v.iter().map(|s| s.first_invoke_ms).collect();
        let gap: Vec<f64> = v.iter().map(|s| s.first_invoke_ms - s.init_ms).collect();
        let rss = v.iter().map(|s| s.peak_rss_kb).max().unwrap_or(0) as f64 / 1024.0;
        for (i, s) in v.iter().enumerate() {
            raw.push("coldstart", name, "init_ms", i, s.init_ms);
            raw.push(
                "coldstart",
                name,
                "first_invocation_ms",
                i,
                s.first_invoke_ms,
            );
            raw.push("coldstart", name, "peak_rss_kb", i, s.peak_rss_kb as f64);
        }
        let mut answers: BTreeMap<&str, usize> = BTreeMap::new();
        for s in v {
            *answers.entry(s.outcome.as_str()).or_default() += 1;
        }
        let answers = answers
            .iter()
            .map(|(k, n)| format!("{k}×{n}"))
            .collect::<Vec<_>>()
            .join(" ");
        let ratio = if floor_init > 0.0 {
            median(&init) / floor_init
        } else {
            0.0
        };
        let verdict = if name.starts_with("(bench-floor-") {
            "diagnostic".to_owned()
        } else if name.ends_with("(opt-level 3)") {
            "comparison".to_owned()
        } else if name == "(floor)" {
            format!("RSS {}", pass(rss <= 40.0))
        } else {
            format!("init {} · RSS {}", pass(ratio <= 1.5), pass(rss <= 40.0))
        };
        section.row(
            vec![
                name.clone(),
                answers,
                f2(median(&init)),
                f2(percentile(&init, 90.0)),
                f2(ratio),
                f2(median(&first)),
                f2(percentile(&first, 90.0)),
                f2(median(&gap)),
                f1(rss),
            ],
            Some(verdict),
        );
    }
    section.notes.push(format!(
        "Floor: init p50 {} ms, first invocation p50 {} ms, over {} starts.",
        f2(floor_init),
        f2(floor_invoke),
        floor.len()
    ));
    section.notes.push(
        "(bench-floor-sdk) is the floor plus `edubot_adapters::aws::dynamodb_client()` (what every function \
         builds at init) and one GetItem per invocation: its init's distance from the floor is the cost of \
         building the SDK client."
            .into(),
    );
    section.notes.push(
        "Peak RSS here is after one invocation; after a long run of invocations it is in the next section."
            .into(),
    );
    let sdk: Vec<f64> = samples
        .get("(bench-floor-sdk)")
        .map(|v| v.iter().map(|s| s.init_ms).collect())
        .unwrap_or_default();
    let functions_init: Vec<f64> = samples
        .iter()
        .filter(|(k, _)| !k.starts_with('(') && !k.ends_with(')'))
        .map(|(_, v)| median(&v.iter().map(|s| s.init_ms).collect::<Vec<_>>()))
        .collect();
    if !sdk.is_empty() && floor_init > 0.0 && !functions_init.is_empty() {
        let fn_init = median(&functions_init);
        let gap = fn_init - floor_init;
        let sdk_gap = median(&sdk) - floor_init;
        section.notes.push(format!(
            "Where the init time goes: the functions' median init is {} ms, the floor's {} ms (a gap of {} ms); \
             the floor plus `edubot_adapters::aws::dynamodb_client()` alone is {} ms, i.e. {} ms ({:.0}% of the \
             gap) is building the DynamoDB client. In Lambda that client takes region and credentials straight \
             from the environment (no provider chain, profile files or IMDS) and trusts five compiled-in \
             Amazon roots (no filesystem scan): what is left is the SDK's own configuration building.",
            f2(fn_init),
            f2(floor_init),
            f2(gap),
            f2(median(&sdk)),
            f2(sdk_gap),
            if gap > 0.0 { 100.0 * sdk_gap / gap } else { 0.0 },
        ));
    }
    for e in errors.iter().take(10) {
        section.notes.push(format!("error: {e}"));
    }
    if errors.len() > 10 {
        section
            .notes
            .push(format!("… and {} more errors", errors.len() - 10));
    }
    section
}

fn sizes(o: &Options) -> Section {
    let root = root();
    let work = std::env::temp_dir().join(format!("edubot-bench-zip-{}", std::process::id()));
    let mut names = coldstart::function_names(&root);
    if o.quick {
        // Debug binaries are large and slow to zip: prove the path on two.
        names.retain(|n| n == "webhook");
    }
    names.push("bench-floor".into());
    let mut section = Section::new(
        "Size",
        &format!(
            "Each binary of `{}` copied as `bootstrap` and zipped (`zip -9`), as `cargo lambda` packages it. \
             This machine builds x86_64; the arm64 build Lambda runs (`cargo lambda build --release --arm64`, \
             `make bench ARM64=1` or a deploy) is shown when present, and the speed-optimised profile \
             (`release-speed`, opt-level 3) with `make bench SPEED=1`. Goal: the arm64 bootstrap.zip ≤ 4 MB.",
            o.bin_dir.display()
        ),
        &["function", "binary MB", "bootstrap.zip MB", "arm64 zip MB", "opt-level 3 zip MB"],
    );
    for n in &names {
        let bin = o.bin_dir.join(n);
        if !bin.is_file() {
            section.row(
                vec![
                    n.clone(),
                    "no binary".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                ],
                None,
            );
            continue;
        }
        let raw_size = std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0);
        let zip = size::bootstrap_zip(&bin, &work);
        let arm_zip =
            size::arm64_binary(&root, n).map(|b| size::bootstrap_zip(&b, &work.join("arm64")));
        let arm = match &arm_zip {
            Some(Ok(z)) => f2(size::mb(*z)),
            Some(Err(e)) => e.clone(),
            None => "—".into(),
        };
        let speed = o
            .speed_bin_dir
            .as_ref()
            .map(|d| d.join(n))
            .filter(|b| b.is_file())
            .map(|b| {
                size::bootstrap_zip(&b, &work.join("speed"))
                    .map(|z| f2(size::mb(z)))
                    .unwrap_or_else(|e| e)
            })
            .unwrap_or_else(|| "—".into());
        match zip {
            Ok(z) => section.row(
                vec![
                    n.clone(),
                    f2(size::mb(raw_size)),
                    f2(size::mb(z)),
                    arm,
                    speed,
                ],
                // The goal is the deployed (arm64) zip's; x86_64's stands in without one.
                Some(match arm_zip {
                    Some(Ok(a)) => format!("arm64 {} ≤4 MB", pass(a <= 4 * 1024 * 1024)),
                    _ => format!("x86_64 {} ≤4 MB", pass(z <= 4 * 1024 * 1024)),
                }),
            ),
            Err(e) => section.row(vec![n.clone(), f2(size::mb(raw_size)), e, arm, speed], None),
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    section
}

fn write_report(
    o: &Options,
    sections: &[Section],
    raw: &Raw,
    timings: &[(String, f64)],
    total: f64,
) {
    let _ = std::fs::create_dir_all(&o.out_dir);
    let csv = o.out_dir.join("results.csv");
    let md = o.out_dir.join("BENCHMARKS.md");
    let host = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mut out = String::from("# EduBot benchmarks\n\n");
    out.push_str(&format!(
        "Written by `make bench` ({}) on {} UTC: {host}, {cores} cores, x86_64. One run, one machine, the \
         same build throughout; runs interleaved; medians unless a percentile is named. The raw figures are in \
         [`results.csv`](results.csv). The goals are the issue's; a MISS does not fail the run.\n\n",
        if o.quick { "quick mode" } else { "full" },
        chrono::Utc::now().format("%Y-%m-%d %H:%M"),
    ));
    for s in sections {
        out.push_str(&s.to_markdown());
    }
    out.push_str("## Run\n\n");
    for (k, v) in timings {
        out.push_str(&format!("- {k}: {v:.0} s\n"));
    }
    out.push_str(&format!("- whole bench (after the build): {total:.0} s\n"));
    std::fs::write(&md, out).expect("BENCHMARKS.md written");
    std::fs::write(&csv, raw.to_csv()).expect("results.csv written");
    eprintln!("edubot-bench: wrote {} and {}", md.display(), csv.display());
}
