//! Time as the system stores it: milliseconds since the Unix epoch, shown as RFC 3339 UTC.

use chrono::{DateTime, SecondsFormat, Utc};

/// Milliseconds since the Unix epoch (UTC).
pub type Millis = i64;

pub const SECOND: Millis = 1_000;
pub const MINUTE: Millis = 60 * SECOND;
pub const HOUR: Millis = 60 * MINUTE;
pub const DAY: Millis = 24 * HOUR;

pub fn now_ms() -> Millis {
    Utc::now().timestamp_millis()
}

/// `2026-11-25T08:27:43.123Z`: RFC 3339, UTC, always with milliseconds.
pub fn rfc3339(ms: Millis) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Serde helpers so API structs hold [`Millis`] and print RFC 3339.
pub mod serde_rfc3339 {
    use super::{rfc3339, Millis};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&rfc3339(*ms))
    }

    pub mod option {
        use super::{rfc3339, Millis};
        use serde::Serializer;

        pub fn serialize<S: Serializer>(ms: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
            match ms {
                Some(ms) => s.serialize_str(&rfc3339(*ms)),
                None => s.serialize_none(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_milliseconds_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_764_059_263_042), "2025-11-25T08:27:43.042Z");
    }
}
