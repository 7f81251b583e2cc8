//! WhatsApp ids: the only phone format the system accepts.

use std::fmt;

/// A WhatsApp id (`wa_id`): 8 to 15 ASCII digits, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Option<Phone> {
        let ok = (8..=15).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| Phone(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For logs: keeps the country code and the last two digits (`44******23`).
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Masks any phone-like string for logging, valid or not.
pub fn mask(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    if chars.len() <= 4 {
        return "*".repeat(chars.len());
    }
    let keep_tail = 2;
    let keep_head = 2;
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < keep_head || i >= chars.len() - keep_tail {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_text_is_a_phone_exactly_when_it_is_8_to_15_ascii_digits(raw in "\\PC{0,20}|[0-9]{6,17}") {
            let expected = (8..=15).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_digit());
            let parsed = Phone::parse(&raw);
            prop_assert_eq!(parsed.is_some(), expected);
            if let Some(phone) = parsed {
                prop_assert_eq!(phone.as_str(), raw.as_str());
                prop_assert_eq!(phone.masked().chars().count(), raw.len());
            }
        }
    }

    #[test]
    fn accepts_8_to_15_digits_only() {
        assert!(Phone::parse("12345678").is_some());
        assert!(Phone::parse("447700900123").is_some());
        assert!(Phone::parse("123456789012345").is_some());
        for bad in [
            "1234567",
            "1234567890123456",
            "+447700900123",
            "4477 0090",
            "44770090012a",
            "",
            "４４７７００９００１２３",
        ] {
            assert!(Phone::parse(bad).is_none(), "{bad} should be refused");
        }
    }

    #[test]
    fn masks_the_middle() {
        assert_eq!(
            Phone::parse("447700900123").unwrap().masked(),
            "44********23"
        );
        assert_eq!(mask("123"), "***");
    }
}
