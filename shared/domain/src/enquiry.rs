//! Admission enquiries: what the bot collects (an applicant's name and email address, and
//! the course if one was chosen), how it is checked, and the stored enquiry admins see.

use crate::phone::Phone;
use crate::time::Millis;

pub const NAME_MIN_CHARS: usize = 2;
pub const NAME_MAX_CHARS: usize = 100;
/// RFC 5321's limits on a whole address and on its local part.
const EMAIL_MAX_CHARS: usize = 254;
const LOCAL_PART_MAX_CHARS: usize = 64;

/// The applicant's name as typed, whitespace collapsed: 2 to 100 characters with a letter.
pub fn applicant_name(text: &str) -> Option<String> {
    let name = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars = name.chars().count();
    ((NAME_MIN_CHARS..=NAME_MAX_CHARS).contains(&chars) && name.chars().any(char::is_alphabetic))
        .then_some(name)
}

/// Why an email address is refused, in words the user reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailProblem {
    Spaces,
    NoAt,
    SeveralAts,
    NothingBeforeAt,
    TooLong,
    LocalPartTooLong,
    BadCharacters,
    BadDots,
    BadDomain,
}

impl EmailProblem {
    pub const ALL: [EmailProblem; 9] = [
        EmailProblem::Spaces,
        EmailProblem::NoAt,
        EmailProblem::SeveralAts,
        EmailProblem::NothingBeforeAt,
        EmailProblem::TooLong,
        EmailProblem::LocalPartTooLong,
        EmailProblem::BadCharacters,
        EmailProblem::BadDots,
        EmailProblem::BadDomain,
    ];

    pub fn reason(self) -> &'static str {
        match self {
            EmailProblem::Spaces => "it contains spaces",
            EmailProblem::NoAt => "it has no @",
            EmailProblem::SeveralAts => "it has more than one @",
            EmailProblem::NothingBeforeAt => "there is nothing before the @",
            EmailProblem::TooLong => "it is longer than 254 characters",
            EmailProblem::LocalPartTooLong => "the part before the @ is longer than 64 characters",
            EmailProblem::BadCharacters => "it contains characters an email address cannot have",
            EmailProblem::BadDots => "a dot is at the start or end, or two dots are in a row",
            EmailProblem::BadDomain => "the part after the @ is not a domain such as example.com",
        }
    }
}

/// An email address as typed (trimmed; the domain lower-cased), or why it is refused.
/// Checks the shape a mail server accepts (RFC 5321/5322 without quoted or IP forms).
pub fn email_address(text: &str) -> Result<String, EmailProblem> {
    let text = text.trim();
    if text.chars().any(char::is_whitespace) {
        return Err(EmailProblem::Spaces);
    }
    let (local, domain) = match text.split('@').count() {
        1 => return Err(EmailProblem::NoAt),
        2 => text.split_once('@').expect("one @"),
        _ => return Err(EmailProblem::SeveralAts),
    };
    if local.is_empty() {
        return Err(EmailProblem::NothingBeforeAt);
    }
    if text.chars().count() > EMAIL_MAX_CHARS {
        return Err(EmailProblem::TooLong);
    }
    if local.chars().count() > LOCAL_PART_MAX_CHARS {
        return Err(EmailProblem::LocalPartTooLong);
    }
    let local_ok = |c: char| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c);
    if !local.chars().all(local_ok) {
        return Err(EmailProblem::BadCharacters);
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(EmailProblem::BadDots);
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.chars().count() <= 63
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let tld_ok = labels
        .last()
        .is_some_and(|t| t.chars().count() >= 2 && t.chars().all(char::is_alphabetic));
    if labels.len() < 2 || !labels.iter().all(label_ok) || !tld_ok {
        return Err(EmailProblem::BadDomain);
    }
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

/// A confirmed enquiry as the state machine hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnquiryRequest {
    pub course_id: Option<String>,
    /// The course's title when the enquiry was made.
    pub course: Option<String>,
    pub name: String,
    pub email: String,
}

/// A stored admission enquiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enquiry {
    pub id: String,
    pub phone: Phone,
    pub request: EnquiryRequest,
    pub created_at: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_2_to_100_characters_with_a_letter() {
        assert_eq!(
            applicant_name("  Ada   Lovelace \n").as_deref(),
            Some("Ada Lovelace")
        );
        assert_eq!(applicant_name("Li").as_deref(), Some("Li"));
        assert_eq!(applicant_name("Zoë").as_deref(), Some("Zoë"));
        assert_eq!(applicant_name("A"), None);
        assert_eq!(applicant_name("   "), None);
        assert_eq!(applicant_name("12345"), None);
        assert!(applicant_name(&"é".repeat(100)).is_some());
        assert_eq!(applicant_name(&"é".repeat(101)), None);
    }

    #[test]
    fn email_addresses_are_checked_with_a_reason() {
        assert_eq!(
            email_address(" Ada@Example.COM ").as_deref(),
            Ok("Ada@example.com")
        );
        assert!(email_address("first.last+tag@mail.example.co.uk").is_ok());
        for (text, problem) in [
            ("ada example.com", EmailProblem::Spaces),
            ("ada.example.com", EmailProblem::NoAt),
            ("ada@@example.com", EmailProblem::SeveralAts),
            ("a@b@example.com", EmailProblem::SeveralAts),
            ("@example.com", EmailProblem::NothingBeforeAt),
            ("ada<>@example.com", EmailProblem::BadCharacters),
            (".ada@example.com", EmailProblem::BadDots),
            ("ada..l@example.com", EmailProblem::BadDots),
            ("ada@example", EmailProblem::BadDomain),
            ("ada@", EmailProblem::BadDomain),
            ("ada@-example.com", EmailProblem::BadDomain),
            ("ada@example..com", EmailProblem::BadDomain),
            ("ada@example.c", EmailProblem::BadDomain),
            ("ada@example.123", EmailProblem::BadDomain),
        ] {
            assert_eq!(email_address(text), Err(problem), "{text}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert_eq!(
            email_address(&long_local),
            Err(EmailProblem::LocalPartTooLong)
        );
        let long = format!("a@{}.com", "d".repeat(260));
        assert_eq!(email_address(&long), Err(EmailProblem::TooLong));
    }
}
