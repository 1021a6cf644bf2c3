//! `docs/runbook.md`: its section anchors (as GitHub renders them) and the text of each section.

use std::collections::BTreeSet;

pub const RUNBOOK: &str = "docs/runbook.md";

/// The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens.
pub fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn headings(markdown: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut in_code = false;
    markdown.lines().filter_map(move |line| {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        }
        if in_code {
            return None;
        }
        let level = line.chars().take_while(|c| *c == '#').count();
        (level > 0 && line[level..].starts_with(' ')).then(|| (level, line[level..].trim()))
    })
}

/// Every heading's anchor.
pub fn anchors(markdown: &str) -> BTreeSet<String> {
    headings(markdown).map(|(_, text)| anchor(text)).collect()
}

/// The text under the `## {title}` heading, up to the next heading of the same or a higher level.
pub fn section<'a>(markdown: &'a str, title: &str) -> Option<&'a str> {
    let mut start = None;
    let mut offset = 0;
    for line in markdown.split_inclusive('\n') {
        let level = line.chars().take_while(|c| *c == '#').count();
        let is_heading = level > 0 && line[level..].starts_with(' ');
        match start {
            None if is_heading && level == 2 && line[level..].trim() == title => {
                start = Some(offset + line.len());
            }
            Some(from) if is_heading && level <= 2 => return Some(&markdown[from..offset]),
            _ => {}
        }
        offset += line.len();
    }
    start.map(|from| &markdown[from..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_follow_github() {
        assert_eq!(anchor("ServiceDown"), "servicedown");
        assert_eq!(anchor("Start, stop and scale"), "start-stop-and-scale");
        let doc = "# Runbook\n```\n# not a heading\n```\n## ServiceDown\ntext\n### Confirm\nmore\n## Next\n";
        assert!(anchors(doc).contains("servicedown"));
        assert!(!anchors(doc).contains("not-a-heading"));
        assert_eq!(
            section(doc, "ServiceDown"),
            Some("text\n### Confirm\nmore\n")
        );
        assert_eq!(section(doc, "Next"), Some(""));
    }
}
