//! Rendering: diagnostics, and run events for humans, as JSON and as JSON lines.

pub mod diagnostic;
mod human;
mod json;

pub use human::{HumanReporter, duration};
pub use json::{JsonLinesReporter, JsonReporter, ManifestJson, event_json};

/// `text` as it may reach a terminal or an XML report: each control character but tab and
/// line feed shown as its control picture (`␛` for ESC, `␍` for CR, `␡` for DEL), and
/// C1 controls, bidirectional overrides and the noncharacters U+FFFE/U+FFFF as `\u{...}`:
/// handler-made text never moves the cursor, sets the terminal title or reorders what
/// is shown, and every character left is one XML 1.0 allows.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    fn odd(c: char) -> bool {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FFFE}' | '\u{FFFF}')
    }
    if !text.chars().any(odd) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !odd(c) => out.push(c),
            '\u{0}'..='\u{1F}' => {
                out.push(char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{FFFD}'));
            }
            '\u{7F}' => out.push('\u{2421}'),
            c => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_shown_as_pictures_and_escapes() {
        assert_eq!(super::printable("a\tb\nc"), "a\tb\nc");
        assert_eq!(
            super::printable("\x1b]0;T\x07\r\x7f\u{85}\u{202e}\u{fffe}\u{ffff}"),
            "\u{241b}]0;T\u{2407}\u{240d}\u{2421}\\u{85}\\u{202e}\\u{fffe}\\u{ffff}"
        );
    }
}
