//! `make bench`: cold start against a hello-world floor, warm handler latency against the
//! bare DynamoDB calls, a burst through the local stack (and again under faults), users'
//! files (webhook to stored, and the bot's replies beside them), real time (a user's
//! message on every open admin WebSocket, and what an idle tab requests), the admin API at
//! size, and the deployment size — one run, one machine, interleaved, medians. Prints a
//! table and writes BENCHMARKS.md with the raw figures in a CSV beside it. `--quick` proves
//! the harness with tiny sizes (and writes under target/ instead). No goal fails the run.

mod admin;
mod burst;
mod coldstart;
mod counting;
mod fixture;
mod idle_tab;
mod media;
mod memory;
mod realtime;
mod reports;
mod scenarios;
mod size;
mod soak;
mod stats;
mod sustained;
mod warm;

use std::path::{Path, PathBuf};
use std::time::Instant;

use stats::{Raw, Section};

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
    /// The fault soak's users, messages per user, concurrency.
    soak_size: Option<(usize, usize, usize)>,
    /// The media section's images, 1 MB and 10 MB documents, text users per phase.
    media_size: Option<media::Size>,
    /// The real-time section's sockets, users, messages per user, interval (ms).
    realtime_size: Option<realtime::Size>,
    /// The sustained section's users and seconds per rate, its rates, the stand-in's latency.
    sustained_size: Option<(usize, u64)>,
    sustained_rates: Option<Vec<usize>>,
    graph_latency: Option<(u64, u64)>,
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
        soak_size: None,
        media_size: None,
        realtime_size: None,
        sustained_size: None,
        sustained_rates: None,
        graph_latency: None,
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
            "--soak-size" => match numbers(&value()?)?[..] {
                [u, m, c] => o.soak_size = Some((u, m, c)),
                _ => return Err("--soak-size USERS,MESSAGES_PER_USER,CONCURRENCY".into()),
            },
            "--media-size" => match numbers(&value()?)?[..] {
                [images, small_docs, large_docs, texts] => {
                    o.media_size = Some(media::Size {
                        images,
                        small_docs,
                        large_docs,
                        texts,
                    })
                }
                _ => return Err("--media-size IMAGES,DOCS_1MB,DOCS_10MB,TEXT_USERS".into()),
            },
            "--realtime-size" => match numbers(&value()?)?[..] {
                [sockets, users, per_user, interval_ms] if sockets > 0 && users > 0 => {
                    o.realtime_size = Some(realtime::Size {
                        sockets,
                        users,
                        per_user,
                        interval: std::time::Duration::from_millis(interval_ms as u64),
                    })
                }
                _ => {
                    return Err(
                        "--realtime-size SOCKETS,USERS,MESSAGES_PER_USER,INTERVAL_MS".into(),
                    )
                }
            },
            "--sustained-size" => match numbers(&value()?)?[..] {
                [users, seconds] if users > 0 && seconds > 0 => {
                    o.sustained_size = Some((users, seconds as u64))
                }
                _ => return Err("--sustained-size USERS,SECONDS_PER_RATE".into()),
            },
            "--sustained-rates" => match numbers(&value()?)? {
                rates if !rates.is_empty() && !rates.contains(&0) => {
                    o.sustained_rates = Some(rates)
                }
                _ => return Err("--sustained-rates RATE,RATE,… (messages a second)".into()),
            },
            "--graph-latency-ms" => match numbers(&value()?)?[..] {
                [base, spread] => o.graph_latency = Some((base as u64, spread as u64)),
                _ => return Err("--graph-latency-ms BASE,SPREAD".into()),
            },
            "-h" | "--help" => {
                println!(
                    "edubot-bench [--quick] [--bin-dir target/release] [--out-dir bench] [--starts 20]\n\
                     \t[--only coldstart,memory,warm,burst,sustained,soak,media,realtime,admin,reports,size] [--speed-bin-dir DIR]\n\
                     \t[--admin-size 5000,40] [--burst-size 200,10,32] [--soak-size 200,10,32]\n\
                     \t[--media-size 60,40,20,200] [--realtime-size 10,20,10,200]\n\
                     \t[--sustained-size 200,60] [--sustained-rates 20,40,80,160] [--graph-latency-ms 150,50]"
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
    let root = root();
    let mut raw = Raw::default();
    let mut sections: Vec<Section> = Vec::new();
    let mut timings: Vec<(String, f64)> = Vec::new();

    if wants(&o, "coldstart") {
        let t = Instant::now();
        eprintln!("edubot-bench: cold starts ({} per function)…", o.starts);
        sections.push(
            coldstart::run(
                &root,
                &o.bin_dir,
                o.speed_bin_dir.as_deref(),
                &endpoint,
                o.starts,
                &mut raw,
            )
            .await,
        );
        timings.push(("cold start".into(), t.elapsed().as_secs_f64()));
        done(&o, &sections, &raw, &timings, started);
    }
    if wants(&o, "memory") {
        let t = Instant::now();
        let n = if o.quick { 3 } else { 200 };
        eprintln!("edubot-bench: memory and warm invocations ({n} per release binary)…");
        sections.push(memory::run(&o.bin_dir, &endpoint, n, &mut raw).await);
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
    if wants(&o, "sustained") {
        let t = Instant::now();
        let mut size = sustained::Size::new(o.quick);
        if let Some((users, seconds)) = o.sustained_size {
            (size.users, size.seconds) = (users, seconds);
        }
        if let Some(rates) = &o.sustained_rates {
            size.before_rates.retain(|r| rates.contains(r));
            size.rates = rates.clone();
        }
        if let Some((base, spread)) = o.graph_latency {
            size.latency = std::time::Duration::from_millis(base);
            size.spread = std::time::Duration::from_millis(spread);
        }
        eprintln!(
            "edubot-bench: sustained rates ({} users, {:?} messages/s for {} s each)…",
            size.users, size.rates, size.seconds
        );
        sections.push(sustained::run(&endpoint, &size, o.quick, &mut raw).await);
        timings.push(("sustained rates".into(), t.elapsed().as_secs_f64()));
        done(&o, &sections, &raw, &timings, started);
    }
    if wants(&o, "soak") {
        let t = Instant::now();
        let (users, per_user, conc) =
            o.soak_size
                .unwrap_or(if o.quick { (10, 5, 4) } else { (200, 10, 32) });
        eprintln!(
            "edubot-bench: fault soak ({} messages from {users} users at concurrency {conc}, with 5xx, \
             timeouts and a DynamoDB Local restart)…",
            users * per_user
        );
        let plan = soak::Plan::new(users, per_user, conc);
        sections.push(soak::run(&plan, &mut raw).await);
        timings.push(("fault soak".into(), t.elapsed().as_secs_f64()));
        done(&o, &sections, &raw, &timings, started);
    }
    if wants(&o, "media") {
        let t = Instant::now();
        let size = o.media_size.unwrap_or(media::Size::new(o.quick));
        eprintln!(
            "edubot-bench: media ({} files beside {} text users, through the local stack)…",
            size.media(),
            size.texts
        );
        sections.push(media::run(&endpoint, size, &mut raw).await);
        timings.push(("media".into(), t.elapsed().as_secs_f64()));
        done(&o, &sections, &raw, &timings, started);
    }
    if wants(&o, "realtime") {
        let t = Instant::now();
        let size = o.realtime_size.unwrap_or(realtime::Size::new(o.quick));
        eprintln!(
            "edubot-bench: real time ({} messages from {} users, one every {} ms, on {} admin WebSockets)…",
            size.messages(),
            size.users,
            size.interval.as_millis(),
            size.sockets
        );
        sections.extend(realtime::run(&endpoint, size, o.quick, &mut raw).await);
        timings.push(("real time".into(), t.elapsed().as_secs_f64()));
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
    if wants(&o, "reports") {
        let t = Instant::now();
        let (days, chats, n) = if o.quick { (3, 2, 1) } else { (92, 20, 50) };
        eprintln!("edubot-bench: reports ({days} days, {chats} chats a day)…");
        sections.push(reports::run(&endpoint, days, chats, n, &mut raw).await);
        timings.push(("reports".into(), t.elapsed().as_secs_f64()));
        done(&o, &sections, &raw, &timings, started);
    }
    if wants(&o, "size") {
        sections.push(size::run(
            &root,
            &o.bin_dir,
            o.speed_bin_dir.as_deref(),
            o.quick,
        ));
        done(&o, &sections, &raw, &timings, started);
    }

    eprintln!(
        "edubot-bench: done in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

/// Prints the sections not printed yet and rewrites the report with everything measured so
/// far.
fn done(o: &Options, sections: &[Section], raw: &Raw, timings: &[(String, f64)], started: Instant) {
    static PRINTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let from = PRINTED.swap(sections.len(), std::sync::atomic::Ordering::Relaxed);
    for s in sections.iter().skip(from) {
        println!("{}", s.to_text());
    }
    write_report(o, sections, raw, timings, started.elapsed().as_secs_f64());
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
