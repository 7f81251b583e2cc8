//! Activation codes: admins issue a single-use code for a student; a user who types it in
//! `ACTIVATION_CODE` links their conversation to that student. Codes are stored only as
//! their SHA-256, are valid for 7 days, and three wrong attempts lock activation for
//! `ACTIVATION_LOCK_SECONDS`.

use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::time::{Millis, DAY, HOUR, MINUTE};

/// How long an issued code can be used.
pub const CODE_VALIDITY: Millis = 7 * DAY;
/// The attempt that locks activation.
pub const MAX_WRONG_CODES: u8 = 3;
/// Letters and digits that cannot be mistaken for one another (no 0/O, 1/I).
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// 8 characters of 32: 40 bits, shown as `ABCD-2345`.
const CODE_CHARS: usize = 8;
const STUDENT_NAME_MAX_CHARS: usize = 100;
const COURSE_MAX_CHARS: usize = 100;

/// The student a conversation is linked to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Student {
    pub name: String,
    pub course: String,
}

/// An issued code, as stored (never the code itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationCode {
    pub code_hash: String,
    pub student: Student,
    pub created_by: String,
    pub created_at: Millis,
    pub valid_until: Millis,
    pub used_at: Option<Millis>,
}

impl ActivationCode {
    pub fn usable(&self, now: Millis) -> bool {
        self.used_at.is_none() && now < self.valid_until
    }
}

/// A new random code, `XXXX-XXXX`.
pub fn new_code() -> String {
    let mut rng = rand::thread_rng();
    let chars: String = (0..CODE_CHARS)
        .map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char)
        .collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

/// What a user typed, as a code: case, spaces and dashes do not matter.
pub fn normalize(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

/// The stored form of a code (or of any attempt): SHA-256 of the normalized text, in hex.
pub fn code_hash(text: &str) -> String {
    hex::encode(Sha256::digest(normalize(text).as_bytes()))
}

/// "1 hour 5 minutes", "42 minutes", "1 minute": the time left, rounded up to the minute.
pub fn remaining_text(ms: Millis) -> String {
    let minutes = ((ms.max(1) + MINUTE - 1) / MINUTE).max(1);
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let (hours, minutes) = (minutes / (HOUR / MINUTE), minutes % (HOUR / MINUTE));
    match (hours, minutes) {
        (0, m) => plural(m, "minute"),
        (h, 0) => plural(h, "hour"),
        (h, m) => format!("{} {}", plural(h, "hour"), plural(m, "minute")),
    }
}

/// The validated request of `POST /api/admin/activation-codes`.
/// Refused with the reason, for a person.
pub fn student_of(name: &str, course: &str) -> Result<Student, &'static str> {
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    let course = course.split_whitespace().collect::<Vec<_>>().join(" ");
    if !(2..=STUDENT_NAME_MAX_CHARS).contains(&name.chars().count()) {
        return Err("student_name must be 2 to 100 characters.");
    }
    if !(1..=COURSE_MAX_CHARS).contains(&course.chars().count()) {
        return Err("course must be 1 to 100 characters.");
    }
    // Shown to the user on WhatsApp and to admins: printable text only.
    if name.chars().chain(course.chars()).any(char::is_control) {
        return Err("student_name and course must not contain control characters.");
    }
    Ok(Student { name, course })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_student_is_printable_text() {
        assert!(student_of("Ada\u{0007}Lovelace", "Maths").is_err());
        assert!(student_of("Ada Lovelace", "Ma\u{200B}ths\u{0000}").is_err());
        assert_eq!(
            student_of("  Ada   Lovelace ", " Maths ").map(|s| (s.name, s.course)),
            Ok(("Ada Lovelace".to_owned(), "Maths".to_owned()))
        );
    }

    #[test]
    fn codes_are_random_readable_and_hashed_whatever_the_format_typed() {
        let code = new_code();
        assert_eq!(code.len(), 9);
        assert_eq!(&code[4..5], "-");
        assert!(code
            .bytes()
            .all(|b| b == b'-' || CODE_ALPHABET.contains(&b)));
        assert_ne!(new_code(), code);
        let hash = code_hash(&code);
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&code.replace('-', "")));
        assert_eq!(code_hash(&code.to_lowercase().replace('-', " ")), hash);
        assert_eq!(code_hash(&format!("  {}  ", code.replace('-', ""))), hash);
        assert_ne!(code_hash("ABCD-2346"), code_hash("ABCD-2345"));
    }

    #[test]
    fn a_code_is_usable_once_and_for_seven_days() {
        let mut c = ActivationCode {
            code_hash: code_hash("ABCD-2345"),
            student: Student {
                name: "Jane".into(),
                course: "Web".into(),
            },
            created_by: "admin".into(),
            created_at: 0,
            valid_until: CODE_VALIDITY,
            used_at: None,
        };
        assert!(c.usable(CODE_VALIDITY - 1));
        assert!(!c.usable(CODE_VALIDITY));
        c.used_at = Some(5);
        assert!(!c.usable(10));
    }

    #[test]
    fn remaining_time_is_rounded_up_to_the_minute() {
        assert_eq!(remaining_text(HOUR), "1 hour");
        assert_eq!(remaining_text(HOUR - 1), "1 hour");
        assert_eq!(remaining_text(HOUR + 1), "1 hour 1 minute");
        assert_eq!(remaining_text(42 * MINUTE), "42 minutes");
        assert_eq!(remaining_text(1), "1 minute");
        assert_eq!(remaining_text(2 * HOUR + 5 * MINUTE), "2 hours 5 minutes");
    }

    #[test]
    fn requests_are_validated() {
        assert_eq!(
            student_of(" Jane  Doe ", " Web Development ").unwrap(),
            Student {
                name: "Jane Doe".into(),
                course: "Web Development".into()
            }
        );
        assert!(student_of("J", "Web").is_err());
        assert!(student_of("Jane", "  ").is_err());
        assert!(student_of(&"x".repeat(101), "Web").is_err());
    }
}
