//! Meta's template listing (`GET /{business account}/message_templates`), read into the
//! domain's [`ListedTemplate`]s; the domain decides which the desk may offer.

use serde_json::Value;

use edubot_domain::templates::{ListedTemplate, Template};

/// The templates of one listing page the desk may offer.
pub fn offered_in_page(page: &Value) -> Vec<Template> {
    page.get("data")
        .and_then(Value::as_array)
        .map(|data| data.iter().filter_map(|t| listed(t)?.offered()).collect())
        .unwrap_or_default()
}

/// Whether `next` (a listing's `paging.next`) is on the Graph API's own scheme, host and
/// port: the token goes with it, so it goes nowhere else.
pub fn same_origin(graph: &url::Url, next: &str) -> bool {
    url::Url::parse(next).is_ok_and(|n| {
        n.scheme() == graph.scheme()
            && n.host_str() == graph.host_str()
            && n.port_or_known_default() == graph.port_or_known_default()
    })
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn listed(t: &Value) -> Option<ListedTemplate> {
    let mut listed = ListedTemplate {
        name: text(t, "name")?,
        language: text(t, "language")?,
        status: text(t, "status")?,
        category: text(t, "category").unwrap_or_default(),
        parameter_format: text(t, "parameter_format"),
        ..ListedTemplate::default()
    };
    for component in t.get("components").and_then(Value::as_array)? {
        let kind = text(component, "type")
            .unwrap_or_default()
            .to_ascii_uppercase();
        match kind.as_str() {
            "BODY" => listed.body = text(component, "text"),
            "HEADER" => {
                listed.header_format = text(component, "format");
                listed.other_texts.extend(text(component, "text"));
            }
            "BUTTONS" => {
                for button in component
                    .get("buttons")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let label = text(button, "text").unwrap_or_default();
                    if text(button, "type").as_deref() == Some("QUICK_REPLY") {
                        listed.quick_replies.push(label.clone());
                    }
                    listed.other_texts.push(label);
                    listed.other_texts.extend(text(button, "url"));
                }
            }
            _ => listed.other_texts.extend(text(component, "text")),
        }
    }
    Some(listed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_page_yields_the_templates_the_desk_may_offer() {
        let page = json!({"data": [
            {"name": "support_followup", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
             "parameter_format": "POSITIONAL",
             "components": [{"type": "BODY", "text": "Hi {{1}}, about {{2}}."}]},
            {"name": "feedback_rating", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
             "components": [{"type": "BODY", "text": "Rate us"},
                            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "1"}, {"type": "QUICK_REPLY", "text": "5"}]}]},
            {"name": "course_poster", "language": "en_US", "status": "APPROVED", "category": "MARKETING",
             "components": [{"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "New: {{1}}"}]},
            {"name": "visit", "language": "en_US", "status": "APPROVED", "category": "MARKETING",
             "components": [{"type": "BODY", "text": "See"},
                            {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Open", "url": "https://x.test/{{1}}"}]}]},
            {"name": "spring_offer", "language": "en_US", "status": "PENDING", "category": "MARKETING",
             "components": [{"type": "BODY", "text": "Offer"}]},
            {"language": "en_US", "status": "APPROVED", "components": []}
        ]});
        let offered = offered_in_page(&page);
        let names: Vec<&str> = offered.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["support_followup", "feedback_rating"]);
        assert_eq!(offered[0].parameter_count, 2);
        assert_eq!(offered[1].quick_replies, ["1", "5"]);
    }

    #[test]
    fn the_next_page_is_followed_only_on_the_graph_host() {
        let graph =
            url::Url::parse("https://graph.facebook.com/v23.0/1/message_templates").unwrap();
        assert!(same_origin(
            &graph,
            "https://graph.facebook.com/v23.0/1/message_templates?after=x"
        ));
        assert!(same_origin(
            &graph,
            "https://graph.facebook.com:443/v23.0/1/message_templates"
        ));
        assert!(!same_origin(
            &graph,
            "https://evil.test/v23.0/1/message_templates"
        ));
        assert!(!same_origin(&graph, "http://graph.facebook.com/v23.0/"));
        assert!(!same_origin(&graph, "not a url"));
    }
}
