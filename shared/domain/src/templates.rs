//! Message templates: what WhatsApp accepts outside the 24-hour window (docs/templates.md).
//! Which approved templates the desk offers, and how one is filled in and checked before it
//! is sent. How Meta lists and sends them is the Graph adapter's business.

/// A filled-in template body may hold at most this many characters (Meta's limit).
pub const MAX_TEMPLATE_BODY_CHARS: usize = 1024;

/// A template as Meta lists it, reduced to what decides whether the desk may offer it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListedTemplate {
    pub name: String,
    pub language: String,
    pub status: String,
    pub category: String,
    /// `POSITIONAL` (`{{1}}`) or `NAMED` (`{{name}}`); Meta omits it for older templates,
    /// which are positional.
    pub parameter_format: Option<String>,
    /// The BODY component's text.
    pub body: Option<String>,
    /// A HEADER component's format (`TEXT`, `IMAGE`, `VIDEO`, `DOCUMENT`, `LOCATION`).
    pub header_format: Option<String>,
    /// Texts of the header and of the buttons (a URL's, a quick reply's): none may hold a
    /// variable, since the desk fills in only the body's.
    pub other_texts: Vec<String>,
    /// The quick-reply buttons' labels, in order.
    pub quick_replies: Vec<String>,
}

/// An approved template the desk may send: positional variables in its body only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub name: String,
    /// Meta's language code, e.g. `en_US`.
    pub language: String,
    pub category: String,
    /// The body with `{{1}}`, `{{2}}`… placeholders.
    pub body: String,
    pub parameter_count: usize,
    /// The quick-reply buttons' labels, in order.
    pub quick_replies: Vec<String>,
}

impl ListedTemplate {
    /// The template the desk may offer, or None: only APPROVED, positional templates whose
    /// only variables are the body's (numbered 1..n), with no media header, and not of
    /// category AUTHENTICATION (those carry one-time codes, never a desk's answer).
    pub fn offered(self) -> Option<Template> {
        let positional = self
            .parameter_format
            .as_deref()
            .is_none_or(|f| f.eq_ignore_ascii_case("POSITIONAL"));
        let text_header = self
            .header_format
            .as_deref()
            .is_none_or(|f| f.eq_ignore_ascii_case("TEXT"));
        if self.status != "APPROVED"
            || self.category.eq_ignore_ascii_case("AUTHENTICATION")
            || !positional
            || !text_header
            || self.other_texts.iter().any(|t| t.contains("{{"))
        {
            return None;
        }
        let body = self.body?;
        let parameter_count = positional_parameters(&body)?;
        Some(Template {
            name: self.name,
            language: self.language,
            category: self.category,
            body,
            parameter_count,
            quick_replies: self.quick_replies,
        })
    }
}

/// The number of parameters of a body whose placeholders are exactly `{{1}}`..`{{n}}`
/// (each may repeat); None when it holds any other `{{…}}`.
fn positional_parameters(body: &str) -> Option<usize> {
    let mut seen: Vec<usize> = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}")?;
        let index: usize = after[..end].trim().parse().ok().filter(|i| *i > 0)?;
        if !seen.contains(&index) {
            seen.push(index);
        }
        rest = &after[end + 2..];
    }
    let count = seen.len();
    (seen.iter().all(|i| *i <= count)).then_some(count)
}

/// Why a template send is refused before anything is stored or sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateRefusal {
    Unknown,
    ParameterCount {
        expected: usize,
        given: usize,
    },
    /// Parameter `index` (from 1) is blank or holds what WhatsApp refuses in one.
    BadParameter {
        index: usize,
        why: &'static str,
    },
    TooLong {
        chars: usize,
    },
}

impl TemplateRefusal {
    /// For the admin who sent it.
    pub fn explain(&self) -> String {
        match self {
            TemplateRefusal::Unknown => {
                "No approved template has this name in this language.".to_owned()
            }
            TemplateRefusal::ParameterCount { expected, given } => {
                format!("The template takes {expected} parameter(s); {given} were given.")
            }
            TemplateRefusal::BadParameter { index, why } => {
                format!("Parameter {index} {why}.")
            }
            TemplateRefusal::TooLong { chars } => format!(
                "The filled-in template has {chars} characters; at most {MAX_TEMPLATE_BODY_CHARS} are allowed."
            ),
        }
    }
}

/// What WhatsApp refuses in a template parameter (error 132018): a newline, a tab, or more
/// than four consecutive spaces; and a blank one says nothing.
fn check_parameter(p: &str) -> Result<(), &'static str> {
    if p.trim().is_empty() {
        Err("is blank")
    } else if p.contains(['\n', '\r']) {
        Err("holds a new line")
    } else if p.contains('\t') {
        Err("holds a tab")
    } else if p.contains("     ") {
        Err("holds more than 4 spaces in a row")
    } else {
        Ok(())
    }
}

impl Template {
    /// The body with `parameters` in place of its placeholders, checked as WhatsApp checks
    /// it: the right number, each one sendable, the result within 1024 characters.
    pub fn fill(&self, parameters: &[String]) -> Result<String, TemplateRefusal> {
        if parameters.len() != self.parameter_count {
            return Err(TemplateRefusal::ParameterCount {
                expected: self.parameter_count,
                given: parameters.len(),
            });
        }
        for (i, p) in parameters.iter().enumerate() {
            check_parameter(p)
                .map_err(|why| TemplateRefusal::BadParameter { index: i + 1, why })?;
        }
        let filled = substitute(&self.body, parameters);
        let chars = filled.chars().count();
        if chars > MAX_TEMPLATE_BODY_CHARS {
            return Err(TemplateRefusal::TooLong { chars });
        }
        Ok(filled)
    }
}

/// `body` with each `{{n}}` replaced by `parameters[n-1]`, in one pass (so a parameter that
/// itself holds `{{1}}` is sent as written).
fn substitute(body: &str, parameters: &[String]) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let value = after.find("}}").and_then(|end| {
            let index: usize = after[..end].trim().parse().ok()?;
            Some((parameters.get(index.checked_sub(1)?)?, end))
        });
        match value {
            Some((p, end)) => {
                out.push_str(p);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The approved template `name` in `language`, if the desk may send it.
pub fn find<'a>(templates: &'a [Template], name: &str, language: &str) -> Option<&'a Template> {
    templates
        .iter()
        .find(|t| t.name == name && t.language == language)
}

/// `SUPPORT_FEEDBACK_TEMPLATE`: `name:language`.
pub fn parse_template_ref(value: &str) -> Option<(String, String)> {
    let (name, language) = value.trim().split_once(':')?;
    let valid = |s: &str| {
        !s.is_empty() && s.len() <= 512 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    (valid(name) && valid(language)).then(|| (name.to_owned(), language.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(body: &str) -> ListedTemplate {
        ListedTemplate {
            name: "t".into(),
            language: "en_US".into(),
            status: "APPROVED".into(),
            category: "UTILITY".into(),
            body: Some(body.into()),
            ..ListedTemplate::default()
        }
    }

    #[test]
    fn only_approved_positional_body_only_templates_are_offered() {
        assert_eq!(
            listed("Hi {{1}}, {{2}} and {{1}}")
                .offered()
                .unwrap()
                .parameter_count,
            2
        );
        assert_eq!(listed("No variable").offered().unwrap().parameter_count, 0);
        let pending = ListedTemplate {
            status: "PENDING".into(),
            ..listed("x")
        };
        assert!(pending.offered().is_none());
        let auth = ListedTemplate {
            category: "AUTHENTICATION".into(),
            ..listed("{{1}} is your code")
        };
        assert!(auth.offered().is_none());
        let image = ListedTemplate {
            header_format: Some("IMAGE".into()),
            ..listed("x")
        };
        assert!(image.offered().is_none());
        let named = ListedTemplate {
            parameter_format: Some("NAMED".into()),
            ..listed("Hi {{first_name}}")
        };
        assert!(named.offered().is_none());
        assert!(listed("Hi {{first_name}}").offered().is_none());
        assert!(listed("Gap {{1}} {{3}}").offered().is_none());
        let url_variable = ListedTemplate {
            other_texts: vec!["https://example.com/{{1}}".into()],
            ..listed("x")
        };
        assert!(url_variable.offered().is_none());
    }

    #[test]
    fn a_template_is_filled_and_checked_as_whatsapp_checks_it() {
        let t = listed("Hi {{1}}, about {{2}}.").offered().unwrap();
        assert_eq!(
            t.fill(&["Ann".into(), "fees".into()]).unwrap(),
            "Hi Ann, about fees."
        );
        assert_eq!(
            t.fill(&["Ann".into()]),
            Err(TemplateRefusal::ParameterCount {
                expected: 2,
                given: 1
            })
        );
        for bad in [" ", "a\nb", "a\tb", "a     b"] {
            assert!(
                matches!(
                    t.fill(&["Ann".into(), bad.into()]),
                    Err(TemplateRefusal::BadParameter { index: 2, .. })
                ),
                "{bad:?}"
            );
        }
        assert!(
            t.fill(&["Ann".into(), "a    b".into()]).is_ok(),
            "4 spaces are fine"
        );
        let long = "x".repeat(MAX_TEMPLATE_BODY_CHARS);
        assert!(matches!(
            t.fill(&["Ann".into(), long]),
            Err(TemplateRefusal::TooLong { .. })
        ));
    }

    #[test]
    fn ten_parameters_fill_without_clashing() {
        let body: String = (1..=10)
            .map(|i| format!("{{{{{i}}}}}"))
            .collect::<Vec<_>>()
            .join(",");
        let t = listed(&body).offered().unwrap();
        let params: Vec<String> = (1..=10).map(|i| format!("p{i}")).collect();
        assert_eq!(t.fill(&params).unwrap(), params.join(","));
        let t = listed("{{1}} and {{2}}").offered().unwrap();
        assert_eq!(
            t.fill(&["{{2}}".into(), "b".into()]).unwrap(),
            "{{2}} and b",
            "a parameter is sent as written"
        );
    }

    #[test]
    fn the_feedback_template_is_named_name_colon_language() {
        assert_eq!(
            parse_template_ref("feedback_rating:en_US"),
            Some(("feedback_rating".into(), "en_US".into()))
        );
        assert_eq!(parse_template_ref("feedback_rating"), None);
        assert_eq!(parse_template_ref("a b:en"), None);
    }
}
