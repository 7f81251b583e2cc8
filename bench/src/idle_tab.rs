//! What one idle open tab costs in requests an hour, computed from the page's own timers
//! (static-site/js), not measured: with its WebSocket up the page polls nothing; with it
//! down (reconnecting, or a network that blocks WebSockets) each view polls
//! (docs/admin-page.md, "Keeping up to date"). The timers are read from the page, and each
//! view is checked to still poll as counted here, so a change to the page shows as a MISS.

use std::path::Path;

use edubot_e2e::js_number;

use crate::stats::{Raw, Section};

/// API Gateway ends every WebSocket after this long (the page reconnects with a new ticket).
const CONNECTION_LIFE_S: f64 = 2.0 * 3600.0;

/// A request a view makes each time it polls (`every` polls: 3 for one made every third).
struct Periodic {
    what: &'static str,
    requests: f64,
    every: f64,
    file: &'static str,
    /// Source text that makes the view poll so (checked).
    source: &'static str,
}

/// Every view: the tab title's unread count.
const TITLE: Periodic = Periodic {
    what: "GET /api/admin/dashboard (the tab title's unread count)",
    requests: 1.0,
    every: 1.0,
    file: "app.js",
    source: "keepUpdated(live, readUnread,",
};
const HISTORY: Periodic = Periodic {
    what: "GET /api/admin/conversations/{phone}/messages?after=…",
    requests: 1.0,
    every: 1.0,
    file: "conversation.js",
    source: "keepUpdated(live, messageHistory.refresh,",
};
/// …and its newest page again on every third poll while a message there is unsettled (an
/// outbound one pending, sent or delivered, or a file pending).
const UNSETTLED: Periodic = Periodic {
    what: "GET …/messages?limit=50 (every 3rd poll, while the newest 50 hold an unsettled message)",
    requests: 1.0,
    every: 3.0,
    file: "conversation-history.js",
    source: "(back || polls % 3 === 0) && unsettledTail()",
};
const LIST: Periodic = Periodic {
    what: "GET /api/admin/conversations",
    requests: 1.0,
    every: 1.0,
    file: "conversations.js",
    source: "keepUpdated(live, refresh,",
};
/// The dashboard's figures and its list of chats in support, side by side.
const DASHBOARD: Periodic = Periodic {
    what: "GET /api/admin/dashboard + GET /api/admin/conversations?filter=support",
    requests: 2.0,
    every: 1.0,
    file: "dashboard.js",
    source: "keepUpdated(live, readAll,",
};
const ALL: [&Periodic; 5] = [&TITLE, &HISTORY, &UNSETTLED, &LIST, &DASHBOARD];

/// The page's timers, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Timers {
    /// Each view's poll while the socket is down (`POLL_MS`, polling.js)…
    poll: f64,
    /// …and in a hidden tab (`POLL_HIDDEN_MS`).
    poll_hidden: f64,
    /// The socket's keep-alive (`PING_MS`, live.js; API Gateway closes one idle for 10 min).
    ping: f64,
}

fn timers(js: &Path) -> Result<Timers, String> {
    let read =
        |file: &str| std::fs::read_to_string(js.join(file)).map_err(|e| format!("{file}: {e}"));
    let (polling, live) = (read("polling.js")?, read("live.js")?);
    let ms = |text: &str, file: &str, name: &str| {
        js_number(text, name)
            .map(|ms| ms / 1000.0)
            .ok_or(format!("{file} sets no {name}"))
    };
    Ok(Timers {
        poll: ms(&polling, "polling.js", "POLL_MS")?,
        poll_hidden: ms(&polling, "polling.js", "POLL_HIDDEN_MS")?,
        ping: ms(&live, "live.js", "PING_MS")?,
    })
}

/// Views that no longer poll as counted here.
fn stale(js: &Path) -> Vec<String> {
    ALL.iter()
        .filter(|p| {
            !std::fs::read_to_string(js.join(p.file)).is_ok_and(|text| text.contains(p.source))
        })
        .map(|p| format!("{} (`{}`)", p.file, p.source))
        .collect()
}

impl Periodic {
    fn per_hour(&self, t: Timers, hidden: bool) -> f64 {
        let interval = if hidden { t.poll_hidden } else { t.poll };
        self.requests * 3600.0 / (interval * self.every)
    }
}

/// Each view's requests an hour while the socket is down.
fn views(t: Timers, hidden: bool) -> [(&'static str, f64); 4] {
    let sum = |parts: &[&Periodic]| parts.iter().map(|p| p.per_hour(t, hidden)).sum::<f64>();
    [
        ("a conversation", sum(&[&TITLE, &HISTORY])),
        (
            "a conversation with an unsettled tail",
            sum(&[&TITLE, &HISTORY, &UNSETTLED]),
        ),
        ("the conversations list", sum(&[&TITLE, &LIST])),
        ("the dashboard", sum(&[&TITLE, &DASHBOARD])),
    ]
}

pub fn section(raw: &mut Raw) -> Section {
    let js = crate::root().join("static-site/js");
    let mut section = Section::new(
        "Real time: what an idle open tab costs",
        "Requests per hour of one open, signed-in tab while nothing happens, computed from the page's \
         timers, not measured. With its socket up the page polls nothing: it pings (API Gateway closes a \
         connection idle for 10 minutes) and, as API Gateway ends every connection after 2 hours, asks a \
         ticket and opens a new socket every 2 hours. With the socket down (while it reconnects, or on a \
         network that blocks WebSockets) each view polls, and every view reads the dashboard for the tab \
         title's unread count. The timers are read from static-site/js (POLL_MS and POLL_HIDDEN_MS in \
         polling.js, PING_MS in live.js) and each view is checked to poll as counted; `every()` schedules a \
         poll after the previous one's answer, so the polling figures are ceilings.",
        &["tab", "requests", "per hour visible", "per hour hidden"],
    );
    let t = match timers(&js) {
        Ok(t) => t,
        Err(e) => {
            section
                .notes
                .push(format!("MISS: the page's timers could not be read: {e}"));
            return section;
        }
    };
    let ping = 3600.0 / t.ping;
    let reconnect = 3600.0 / CONNECTION_LIFE_S;
    let socket = ping + 2.0 * reconnect;
    raw.push("realtime_idle", "socket", "requests_per_hour", 0, socket);
    for hidden in [false, true] {
        for (view, v) in views(t, hidden) {
            let subject = format!("polling {view}{}", if hidden { " hidden" } else { "" });
            raw.push("realtime_idle", &subject, "requests_per_hour", 0, v);
        }
    }
    let mut add = |tab: &str, what: String, visible: f64, hidden: f64| {
        section.row(
            vec![
                tab.to_owned(),
                what,
                format!("{visible:.1}"),
                format!("{hidden:.1}"),
            ],
            None,
        );
    };
    add(
        "socket up",
        format!("a ping frame every {} min", t.ping / 60.0),
        ping,
        ping,
    );
    add(
        "socket up",
        "POST /api/admin/ws-ticket every 2 h (3,600 ÷ 7,200)".into(),
        reconnect,
        reconnect,
    );
    add(
        "socket up",
        "the new socket's handshake ($connect) every 2 h".into(),
        reconnect,
        reconnect,
    );
    add("socket up, in all", String::new(), socket, socket);
    for p in ALL {
        add(
            "socket down, one request",
            format!(
                "{}: a poll every {} s ({} s hidden)",
                p.what, t.poll, t.poll_hidden
            ),
            p.per_hour(t, false),
            p.per_hour(t, true),
        );
    }
    for ((view, visible), (_, hidden)) in views(t, false).into_iter().zip(views(t, true)) {
        add(
            &format!("socket down, {view}, in all"),
            "the title's dashboard + the view's own".into(),
            visible,
            hidden,
        );
    }
    let conversation = views(t, false)[0].1;
    section.notes.push(format!(
        "an idle conversation tab: {socket:.1} requests an hour with its socket up, {conversation:.0} while it is \
         down ({:.0}× more); each polled request is a Lambda invocation and a DynamoDB read, while a ping \
         reaches no function (the WebSocket API has no `$default` route, nor has the local stand-in one): \
         only the ticket, `$connect` and `$disconnect` do, 1.5 invocations every 2 hours",
        conversation / socket
    ));
    let stale = stale(&js);
    if !stale.is_empty() {
        section.notes.push(format!(
            "MISS: static-site/js no longer polls as counted here, the figures may be stale: {}",
            stale.join(", ")
        ));
    }
    section
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page as it is: its timers read, and every view polling as counted (a page change
    /// that breaks this would print stale figures).
    #[test]
    fn the_page_reads_as_this_counts_it() {
        let js = crate::root().join("static-site/js");
        let t = timers(&js).unwrap();
        assert!(
            t.poll > 0.0 && t.poll_hidden >= t.poll && t.ping < 600.0,
            "{t:?}"
        );
        assert_eq!(stale(&js), Vec::<String>::new());
    }
}
