//! Reports (DESIGN §17): the desk's figures per UTC day, and per day and admin, counted as
//! the events that change them happen. What counts, on which day and for whom is decided
//! here, from a conversation's or a message's image before and after a write; the storage
//! adapter only adds the increments up, once per event key. Percentiles come from a
//! [`Sketch`] of log-scale buckets kept as counters (docs/reports.md).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, NaiveDate};

use crate::model::{Author, Conversation, Direction, Message, NOTE_KIND};
use crate::phone::Phone;
use crate::time::{Millis, DAY};

/// The longest report, in days (both ends included).
pub const MAX_REPORT_DAYS: i64 = 92;
/// How long figures are kept (and the markers that keep each event counted once): about
/// 13 months, so a year can be compared with the one before.
pub const FIGURES_KEPT_FOR: Millis = 400 * DAY;
/// The kind of an inbound reaction: not a message the user wrote, so not counted in.
pub const REACTION_KIND: &str = "reaction";

/// A UTC calendar day, written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(NaiveDate);

impl Day {
    /// The UTC day `at` falls on.
    pub fn of(at: Millis) -> Day {
        Day(DateTime::from_timestamp_millis(at)
            .unwrap_or_default()
            .date_naive())
    }

    /// Reads `YYYY-MM-DD` (exactly: no time, no offset).
    pub fn parse(text: &str) -> Option<Day> {
        (text.len() == 10)
            .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
            .flatten()
            .map(Day)
    }

    /// Its first millisecond.
    pub fn starts_at(self) -> Millis {
        self.0
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp_millis()
    }

    pub fn next(self) -> Day {
        Day(self.0.succ_opt().unwrap_or(self.0))
    }

    /// Days from `self` to `to`, both included (0 when `to` is earlier).
    pub fn days_to(self, to: Day) -> i64 {
        ((to.0 - self.0).num_days() + 1).max(0)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

/// Why a report's range is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeProblem {
    /// `from` or `to` is not a `YYYY-MM-DD` date (the field named).
    NotADate(&'static str),
    /// `to` is before `from`.
    Backwards,
    /// More than [`MAX_REPORT_DAYS`] days.
    TooLong,
}

impl fmt::Display for RangeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RangeProblem::NotADate(field) => write!(f, "{field} must be a date as YYYY-MM-DD"),
            RangeProblem::Backwards => write!(f, "to must not be before from"),
            RangeProblem::TooLong => write!(f, "a report covers at most {MAX_REPORT_DAYS} days"),
        }
    }
}

/// The days of a report, both ends included.
pub fn report_range(from: &str, to: &str) -> Result<(Day, Day), RangeProblem> {
    let from = Day::parse(from).ok_or(RangeProblem::NotADate("from"))?;
    let to = Day::parse(to).ok_or(RangeProblem::NotADate("to"))?;
    match from.days_to(to) {
        0 => Err(RangeProblem::Backwards),
        n if n > MAX_REPORT_DAYS => Err(RangeProblem::TooLong),
        _ => Ok((from, to)),
    }
}

/// The relative error of a percentile read from a [`Sketch`].
pub const SKETCH_RELATIVE_ERROR: f64 = 0.02;

/// A mergeable sketch of durations (DDSketch's log mapping): bucket `i` holds the durations
/// in (γ^(i−1), γ^i] milliseconds, γ = (1 + α)/(1 − α), α = 2 %, and is read back as
/// 2γ^i/(γ + 1), within α of every value in it. Buckets are counters, so sketches of days
/// and admins add up; a year is about 800 buckets, a day's few dozen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sketch {
    buckets: BTreeMap<u32, u64>,
}

fn gamma() -> f64 {
    (1.0 + SKETCH_RELATIVE_ERROR) / (1.0 - SKETCH_RELATIVE_ERROR)
}

impl Sketch {
    /// The bucket a duration goes in (durations under a millisecond in bucket 0).
    pub fn bucket_of(duration: Millis) -> u32 {
        let ms = duration.max(1) as f64;
        (ms.ln() / gamma().ln()).ceil().max(0.0) as u32
    }

    /// What a bucket is read back as, in milliseconds.
    pub fn value_of(bucket: u32) -> f64 {
        let g = gamma();
        2.0 * g.powi(bucket as i32) / (g + 1.0)
    }

    pub fn add(&mut self, duration: Millis) {
        self.add_to_bucket(Self::bucket_of(duration), 1);
    }

    pub fn add_to_bucket(&mut self, bucket: u32, count: u64) {
        *self.buckets.entry(bucket).or_default() += count;
    }

    pub fn merge(&mut self, other: &Sketch) {
        for (bucket, count) in &other.buckets {
            self.add_to_bucket(*bucket, *count);
        }
    }

    pub fn count(&self) -> u64 {
        self.buckets.values().sum()
    }

    /// The `q` quantile (0–1) in milliseconds: the value of rank ⌊q·(n−1)⌋ of the n
    /// durations in order, within the sketch's relative error; None when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.count();
        let rank = (q.clamp(0.0, 1.0) * (n.checked_sub(1)? as f64)).floor() as u64;
        let mut seen = 0;
        self.buckets.iter().find_map(|(bucket, count)| {
            seen += count;
            (seen > rank).then(|| Self::value_of(*bucket))
        })
    }
}

/// A figure an aggregate item counts: its attribute name in storage is [`Field::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    ChatsStarted,
    ChatsEnded,
    MessagesIn,
    MessagesOut,
    CsatCount,
    CsatSum,
    /// Per admin: chats they held when support ended.
    ChatsHandled,
    /// A first-response sketch bucket.
    FirstResponse(u32),
    /// A resolution sketch bucket.
    Resolution(u32),
}

const COUNTERS: [(Field, &str); 7] = [
    (Field::ChatsStarted, "chats_started"),
    (Field::ChatsEnded, "chats_ended"),
    (Field::MessagesIn, "messages_in"),
    (Field::MessagesOut, "messages_out"),
    (Field::CsatCount, "csat_count"),
    (Field::CsatSum, "csat_sum"),
    (Field::ChatsHandled, "chats_handled"),
];
const FIRST_RESPONSE_PREFIX: &str = "fr_";
const RESOLUTION_PREFIX: &str = "res_";

impl Field {
    pub fn name(self) -> String {
        match self {
            Field::FirstResponse(b) => format!("{FIRST_RESPONSE_PREFIX}{b}"),
            Field::Resolution(b) => format!("{RESOLUTION_PREFIX}{b}"),
            counter => COUNTERS
                .iter()
                .find(|(f, _)| *f == counter)
                .map(|(_, name)| (*name).to_owned())
                .unwrap_or_default(),
        }
    }

    /// The field an attribute name holds, None for any other attribute.
    pub fn parse(name: &str) -> Option<Field> {
        if let Some(b) = name.strip_prefix(FIRST_RESPONSE_PREFIX) {
            return b.parse().ok().map(Field::FirstResponse);
        }
        if let Some(b) = name.strip_prefix(RESOLUTION_PREFIX) {
            return b.parse().ok().map(Field::Resolution);
        }
        COUNTERS.iter().find(|(_, n)| *n == name).map(|(f, _)| *f)
    }
}

/// What one aggregate item (a day, or a day and admin) holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub chats_started: u64,
    pub chats_ended: u64,
    pub messages_in: u64,
    pub messages_out: u64,
    pub csat_count: u64,
    pub csat_sum: u64,
    pub chats_handled: u64,
    pub first_response: Sketch,
    pub resolution: Sketch,
}

impl Tally {
    pub fn add(&mut self, field: Field, by: u64) {
        match field {
            Field::ChatsStarted => self.chats_started += by,
            Field::ChatsEnded => self.chats_ended += by,
            Field::MessagesIn => self.messages_in += by,
            Field::MessagesOut => self.messages_out += by,
            Field::CsatCount => self.csat_count += by,
            Field::CsatSum => self.csat_sum += by,
            Field::ChatsHandled => self.chats_handled += by,
            Field::FirstResponse(b) => self.first_response.add_to_bucket(b, by),
            Field::Resolution(b) => self.resolution.add_to_bucket(b, by),
        }
    }

    pub fn merge(&mut self, other: &Tally) {
        self.chats_started += other.chats_started;
        self.chats_ended += other.chats_ended;
        self.messages_in += other.messages_in;
        self.messages_out += other.messages_out;
        self.csat_count += other.csat_count;
        self.csat_sum += other.csat_sum;
        self.chats_handled += other.chats_handled;
        self.first_response.merge(&other.first_response);
        self.resolution.merge(&other.resolution);
    }

    fn csat_average(&self) -> Option<f64> {
        (self.csat_count > 0)
            .then(|| (self.csat_sum as f64 * 100.0 / self.csat_count as f64).round() / 100.0)
    }
}

/// One increment of an event: on its day's item, or on the day's item of `admin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Increment {
    pub admin: Option<String>,
    pub field: Field,
    pub by: u64,
}

/// Something that happened and changes the figures. `key` names it once: the same event
/// seen again (a retried stream record, a second backfill) has the same key and counts once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FigureEvent {
    pub key: String,
    pub day: Day,
    pub increments: Vec<Increment>,
}

impl FigureEvent {
    fn new(what: &str, phone: &Phone, id: impl fmt::Display, at: Millis) -> Self {
        FigureEvent {
            key: format!("{what}#{phone}#{id}"),
            day: Day::of(at),
            increments: Vec::new(),
        }
    }

    fn count(mut self, admin: Option<&str>, field: Field, by: u64) -> Self {
        self.increments.push(Increment {
            admin: admin.map(str::to_owned),
            field,
            by,
        });
        self
    }
}

/// What a write of a conversation changed in the figures (`before` None: it is new): a chat
/// support session started, ended (its resolution, the chat handled by its holder), got
/// its first reply (the first response, for the day and the admin who sent it), or was
/// rated.
pub fn conversation_events(
    before: Option<&Conversation>,
    after: &Conversation,
) -> Vec<FigureEvent> {
    let mut events = Vec::new();
    let started_before = before.and_then(|c| c.support_started_at);
    if let Some(started) = after
        .support_started_at
        .filter(|s| Some(*s) != started_before)
    {
        events.push(
            FigureEvent::new("START", &after.phone, started, started).count(
                None,
                Field::ChatsStarted,
                1,
            ),
        );
    }
    if let (Some(started), Some(ended)) = (started_before, after.support_ended_at) {
        if after.support_started_at != Some(started) {
            let bucket = Field::Resolution(Sketch::bucket_of(ended - started));
            let holder = before.and_then(|c| c.assigned_to.as_deref());
            let mut end = FigureEvent::new("END", &after.phone, started, ended)
                .count(None, Field::ChatsEnded, 1)
                .count(None, bucket, 1);
            if holder.is_some() {
                end = end.count(holder, Field::ChatsHandled, 1);
            }
            events.push(end);
        }
    }
    let replied_before = before.and_then(|c| c.first_reply.as_ref());
    if let (Some(reply), Some(started)) = (&after.first_reply, after.support_started_at) {
        if replied_before != Some(reply) {
            let bucket = Field::FirstResponse(Sketch::bucket_of(reply.at - reply.waited_from));
            events.push(
                FigureEvent::new("FIRST", &after.phone, started, reply.at)
                    .count(None, bucket, 1)
                    .count(Some(&reply.admin), bucket, 1),
            );
        }
    }
    if let (Some(rated_at), Some(rating)) = (after.rated_at, after.last_rating) {
        if before.and_then(|c| c.rated_at) != Some(rated_at) {
            events.push(rating_event(
                &after.phone,
                rating,
                rated_at,
                after.ended_holder.as_deref(),
            ));
        }
    }
    events
}

/// What a write of a message changed in the figures: a user's message in (inserted; not a
/// reaction), or a message Meta accepted (its wamid given; never a note or system entry).
pub fn message_events(before: Option<&Message>, after: &Message) -> Vec<FigureEvent> {
    let mut events = Vec::new();
    if before.is_none() && after.direction == Direction::Inbound && after.kind != REACTION_KIND {
        events.push(
            FigureEvent::new("IN", &after.phone, &after.id, after.created_at).count(
                None,
                Field::MessagesIn,
                1,
            ),
        );
    }
    let sent = after.direction == Direction::Outbound
        && after.author != Author::System
        && after.kind != NOTE_KIND
        && after.wamid.is_some();
    if sent && before.is_none_or(|m| m.wamid.is_none()) {
        let at = after.sent_at.unwrap_or(after.created_at);
        events.push(FigureEvent::new("OUT", &after.phone, &after.id, at).count(
            None,
            Field::MessagesOut,
            1,
        ));
    }
    events
}

/// A rating the user gave after chat support at `at`: for the day, and for the admin who
/// held the chat when it ended.
pub fn rating_event(phone: &Phone, rating: u8, at: Millis, holder: Option<&str>) -> FigureEvent {
    let mut event = FigureEvent::new("CSAT", phone, at, at)
        .count(None, Field::CsatCount, 1)
        .count(None, Field::CsatSum, u64::from(rating));
    if holder.is_some() {
        event = event.count(holder, Field::CsatCount, 1).count(
            holder,
            Field::CsatSum,
            u64::from(rating),
        );
    }
    event
}

/// A day's row of a report (DESIGN §17's names); null where there is no data.
#[derive(Debug, Clone, PartialEq)]
pub struct DayRow {
    pub date: Day,
    pub chats_started: u64,
    pub chats_ended: u64,
    pub first_response_p50_s: Option<f64>,
    pub first_response_p90_s: Option<f64>,
    pub resolution_p50_s: Option<f64>,
    pub csat_count: u64,
    pub csat_average: Option<f64>,
    pub messages_in: u64,
    pub messages_out: u64,
}

/// An admin's row over the whole range.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminRow {
    pub admin: String,
    pub chats_handled: u64,
    pub first_response_p50_s: Option<f64>,
    pub csat_average: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub days: Vec<DayRow>,
    pub admins: Vec<AdminRow>,
}

/// Milliseconds as seconds to a tenth.
fn seconds(ms: Option<f64>) -> Option<f64> {
    ms.map(|ms| (ms / 100.0).round() / 10.0)
}

/// The report of `from`–`to` from the aggregate items read (per day, and per day and
/// admin): every day of the range (days with nothing are zeros and nulls), and each admin
/// over the whole range, by name.
pub fn report(
    from: Day,
    to: Day,
    days: &[(Day, Tally)],
    admin_days: &[(Day, String, Tally)],
) -> Report {
    let days: BTreeMap<Day, &Tally> = days.iter().map(|(d, t)| (*d, t)).collect();
    let mut admins: BTreeMap<&str, Tally> = BTreeMap::new();
    for (_, admin, tally) in admin_days {
        admins.entry(admin).or_default().merge(tally);
    }
    let mut rows = Vec::new();
    let mut day = from;
    while day <= to {
        let tally = days.get(&day).copied().cloned().unwrap_or_default();
        rows.push(DayRow {
            date: day,
            chats_started: tally.chats_started,
            chats_ended: tally.chats_ended,
            first_response_p50_s: seconds(tally.first_response.quantile(0.5)),
            first_response_p90_s: seconds(tally.first_response.quantile(0.9)),
            resolution_p50_s: seconds(tally.resolution.quantile(0.5)),
            csat_count: tally.csat_count,
            csat_average: tally.csat_average(),
            messages_in: tally.messages_in,
            messages_out: tally.messages_out,
        });
        if day == to {
            break;
        }
        day = day.next();
    }
    let admins = admins
        .iter()
        .map(|(admin, tally)| AdminRow {
            admin: (*admin).to_owned(),
            chats_handled: tally.chats_handled,
            first_response_p50_s: seconds(tally.first_response.quantile(0.5)),
            csat_average: tally.csat_average(),
        })
        .collect();
    Report { days: rows, admins }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn days_are_utc_dates_and_ranges_are_checked() {
        assert_eq!(Day::of(0).to_string(), "1970-01-01");
        assert_eq!(Day::of(86_400_000 - 1).to_string(), "1970-01-01");
        assert_eq!(Day::of(86_400_000).to_string(), "1970-01-02");
        assert_eq!(Day::of(86_400_000 + 5).starts_at(), 86_400_000);
        assert_eq!(Day::parse("2026-02-30"), None);
        assert_eq!(Day::parse("2026-2-3"), None);
        assert_eq!(Day::parse("2026-11-27T00:00:00Z"), None);
        let (from, to) = report_range("2026-01-01", "2026-04-02").unwrap();
        assert_eq!(from.days_to(to), 92);
        assert_eq!(
            report_range("2026-01-01", "2026-04-03"),
            Err(RangeProblem::TooLong)
        );
        assert_eq!(
            report_range("2026-01-02", "2026-01-01"),
            Err(RangeProblem::Backwards)
        );
        assert_eq!(
            report_range("yesterday", "2026-01-01"),
            Err(RangeProblem::NotADate("from"))
        );
        assert_eq!(
            report_range("2026-01-01", "2026-01-01")
                .unwrap()
                .0
                .to_string(),
            "2026-01-01"
        );
    }

    #[test]
    fn field_names_read_back() {
        for field in [
            Field::ChatsStarted,
            Field::CsatSum,
            Field::ChatsHandled,
            Field::FirstResponse(0),
            Field::Resolution(412),
        ] {
            assert_eq!(Field::parse(&field.name()), Some(field));
        }
        assert_eq!(Field::parse("pk"), None);
        assert_eq!(Field::parse("fr_x"), None);
    }

    proptest! {
        /// Every quantile is within the documented relative error of the exact value of
        /// its rank, whatever the durations.
        #[test]
        fn quantiles_are_within_the_relative_error(
            mut values in proptest::collection::vec(1i64..30 * 86_400_000, 1..300),
            q in 0.0f64..=1.0,
        ) {
            let mut sketch = Sketch::default();
            for v in &values {
                sketch.add(*v);
            }
            values.sort_unstable();
            let exact = values[(q * (values.len() - 1) as f64).floor() as usize] as f64;
            let read = sketch.quantile(q).unwrap();
            prop_assert!((read - exact).abs() <= exact * SKETCH_RELATIVE_ERROR + 1e-9,
                "{read} vs {exact}");
        }

        /// Sketches merge as if every value had gone into one.
        #[test]
        fn sketches_merge(a in proptest::collection::vec(1i64..1_000_000, 0..50),
                          b in proptest::collection::vec(1i64..1_000_000, 0..50)) {
            let (mut left, mut right, mut both) = (Sketch::default(), Sketch::default(), Sketch::default());
            a.iter().for_each(|v| { left.add(*v); both.add(*v); });
            b.iter().for_each(|v| { right.add(*v); both.add(*v); });
            left.merge(&right);
            prop_assert_eq!(left, both);
        }
    }

    #[test]
    fn an_empty_sketch_has_no_quantile() {
        assert_eq!(Sketch::default().quantile(0.5), None);
    }
}
