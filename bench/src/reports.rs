//! Reports (DESIGN §17): a 92-day range of figures counted through the store as push counts
//! them (events per second), then the report of the whole range timed in-process with the
//! items each call reads.

use std::time::Instant;

use edubot_app::ports::ReportStore;
use edubot_domain::reports::{Day, Field, FigureEvent, Increment, Sketch};
use edubot_domain::time::{now_ms, DAY, SECOND};
use http::Method;

use crate::fixture::Fixture;
use crate::scenarios::{api_event, call_handler, Invocation};
use crate::stats::{f1, f2, ms, percentile, Raw, Section};

const ADMINS: [&str; 5] = ["ana", "ben", "carla", "dev", "eli"];

fn count(admin: Option<&str>, field: Field, by: u64) -> Increment {
    Increment {
        admin: admin.map(str::to_owned),
        field,
        by,
    }
}

/// A day's events for `chats` chats: each starts, gets its first reply, ends, is rated,
/// and brings `messages` messages each way.
fn day_events(day_start: i64, chats: usize, messages: usize) -> Vec<FigureEvent> {
    let day = Day::of(day_start);
    let mut events = Vec::new();
    let mut event = |key: String, increments: Vec<Increment>| {
        events.push(FigureEvent {
            key,
            day,
            increments,
        })
    };
    for c in 0..chats {
        let admin = Some(ADMINS[c % ADMINS.len()]);
        let first = Field::FirstResponse(Sketch::bucket_of((20 + 37 * c as i64 % 600) * SECOND));
        let resolution =
            Field::Resolution(Sketch::bucket_of((300 + 91 * c as i64 % 5400) * SECOND));
        let id = format!("{day}#{c}");
        event(
            format!("START#{id}"),
            vec![count(None, Field::ChatsStarted, 1)],
        );
        event(
            format!("FIRST#{id}"),
            vec![count(None, first, 1), count(admin, first, 1)],
        );
        event(
            format!("END#{id}"),
            vec![
                count(None, Field::ChatsEnded, 1),
                count(None, resolution, 1),
                count(admin, Field::ChatsHandled, 1),
            ],
        );
        let rating = 1 + (c as u64 % 5);
        event(
            format!("CSAT#{id}"),
            vec![
                count(None, Field::CsatCount, 1),
                count(None, Field::CsatSum, rating),
                count(admin, Field::CsatCount, 1),
                count(admin, Field::CsatSum, rating),
            ],
        );
        for m in 0..messages {
            event(
                format!("IN#{id}#{m}"),
                vec![count(None, Field::MessagesIn, 1)],
            );
            event(
                format!("OUT#{id}#{m}"),
                vec![count(None, Field::MessagesOut, 1)],
            );
        }
    }
    events
}

pub async fn run(
    endpoint: &str,
    days: usize,
    chats: usize,
    iterations: usize,
    raw: &mut Raw,
) -> Section {
    let fx = Fixture::new(endpoint, "reports").await;
    let token = fx.admin_token("bench.reports", "bench-password-123").await;
    let today = Day::of(now_ms()).starts_at();
    let first_day = today - (days as i64 - 1) * DAY;
    let messages = 10;
    let t = Instant::now();
    let mut counted = 0;
    for d in 0..days {
        let events = day_events(first_day + d as i64 * DAY, chats, messages);
        counted += fx.ctx.store.count_figures(&events).await.expect("counted");
    }
    let count_secs = t.elapsed().as_secs_f64();
    let again = day_events(first_day, chats, messages);
    let t = Instant::now();
    let repeated = fx.ctx.store.count_figures(&again).await.expect("counted");
    let repeat_ms = ms(t.elapsed());

    let path = format!(
        "/api/admin/reports?from={}&to={}",
        Day::of(first_day),
        Day::of(today)
    );
    let auth = format!("Bearer {token}");
    let h = [("authorization", auth.as_str())];
    let mut times = Vec::new();
    let mut reads = Vec::new();
    let mut calls = 0;
    let mut status = String::new();
    for i in 0..iterations + 1 {
        let inv = Invocation::Http(Box::new(api_event(Method::GET, &path, &h, b"")));
        fx.counter.take();
        let t = Instant::now();
        status = call_handler("reports", &fx.ctx, inv).await;
        let elapsed = ms(t.elapsed());
        let made = fx.counter.take();
        if i == 0 {
            continue;
        }
        times.push(elapsed);
        calls = made.len();
        reads.push(made.iter().map(|c| c.items_read).sum::<i64>());
        raw.push("reports", "report of the range", "ms", i, elapsed);
    }
    let mut section = Section::new(
        "Reports",
        &format!(
            "{days} days of figures for {} admins, {chats} chats a day each with a start, a first \
             reply, an end, a rating and {messages} messages each way: {counted} events counted \
             through `Store::count_figures` (as push counts a batch) in {count_secs:.1} s, \
             {:.0} events/s. Then `GET /api/admin/reports` of the whole range {iterations} times \
             in-process; items read from the SDK interceptor.",
            ADMINS.len(),
            counted as f64 / count_secs.max(0.001)
        ),
        &[
            "call",
            "status",
            "p50 ms",
            "p99 ms",
            "items read/call (max)",
            "calls",
        ],
    );
    let most = reads.iter().max().copied().unwrap_or(0);
    section.row(
        vec![
            format!("report, {days} days"),
            status,
            f2(percentile(&times, 50.0)),
            f2(percentile(&times, 99.0)),
            format!(
                "{} ({most})",
                f1(reads.iter().sum::<i64>() as f64 / reads.len().max(1) as f64)
            ),
            calls.to_string(),
        ],
        Some(format!(
            "{} ≤ one per day and admin ({})",
            crate::stats::pass(most as usize <= days * (1 + ADMINS.len())),
            days * (1 + ADMINS.len())
        )),
    );
    section.notes.push(format!(
        "A day's events counted again (a retried batch, {} events): {repeated} counted, {repeat_ms:.0} ms.",
        again.len()
    ));
    section
}
