//! Renders [`Diagnostic`]s like a compiler: `error: message`, then `--> file:line:col`, the
//! line itself and a caret under the spot, then notes and help.

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};

use crate::diagnostic::{Diagnostic, Severity};
use crate::manifest::Location;

/// Renders one diagnostic; `color` adds ANSI styles.
pub fn render(d: &Diagnostic, color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let level = match d.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let mut group = Group::with_title(level.primary_title(d.message.as_str()));
    let mut excerpts = Vec::new();
    if let Some(location) = &d.location {
        excerpts.push((location, d.label.as_deref(), true));
    }
    for (location, text) in &d.related {
        excerpts.push((location, Some(text.as_str()), false));
    }
    // Each source line is masked before the renderer cuts a long one (`...`), which could
    // leave part of a secret the masking below no longer recognises (issue 15).
    let lines: Vec<_> = excerpts
        .iter()
        .map(|(location, _, _)| masked_line(location))
        .collect();
    for (&(location, label, primary), line) in excerpts.iter().zip(&lines) {
        group = match line {
            Some((text, span)) => {
                group.element(snippet(location, text, span.clone(), label, primary))
            }
            None => group.element(origin(location)),
        };
    }
    for note in &d.notes {
        group = group.element(Level::NOTE.message(note.as_str()));
    }
    if let Some(help) = &d.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    let mut text = renderer.render(&[group]);
    // The renderer names the column of the masked line; a secret masked before it on the
    // line moved it: name the column in the file.
    for ((location, _, _), line) in excerpts.iter().zip(&lines) {
        if let Some((masked, span)) = line {
            let shown = masked.get(..span.start).map_or(0, |t| t.chars().count()) + 1;
            let real = location.mark.col.max(1) as usize;
            if shown != real {
                let at = |col| format!("{}:{}:{col}", location.file.name(), location.mark.line);
                text = text.replacen(&at(shown), &at(real), 1);
            }
        }
    }
    // Notes and help may quote a secret too: mask the whole text.
    crate::exec::secrets::masked(&text)
}

fn origin(location: &Location) -> Origin<'_> {
    let mut o = Origin::path(location.file.name());
    if location.mark.line > 0 {
        o = o
            .line(location.mark.line as usize)
            .char_column(location.mark.col.max(1) as usize);
    }
    o
}

/// The line of `location`, secrets masked, with the byte range to annotate in it, if the
/// text is at hand.
fn masked_line(location: &Location) -> Option<(String, std::ops::Range<usize>)> {
    if location.mark.line == 0 {
        return None;
    }
    let line = location.file.line(location.mark.line)?;
    let col = location.mark.col.max(1) as usize - 1;
    let start = line.char_indices().nth(col).map_or(line.len(), |(b, _)| b);
    let end = line
        .get(start..)?
        .char_indices()
        .nth(location.width as usize)
        .map_or(line.len(), |(b, _)| start + b);
    let masked = crate::exec::secrets::masked(line);
    // The annotated range, moved by what masking shortened before it.
    let (start, end) = if masked.len() == line.len() {
        (start, end)
    } else {
        let before = crate::exec::secrets::mask(line.get(..start)?).len();
        let inside = crate::exec::secrets::mask(line.get(start..end)?).len();
        let start = floor_boundary(&masked, before);
        (start, floor_boundary(&masked, start + inside))
    };
    let end = if end == start {
        (start + 1).min(masked.len().max(start))
    } else {
        end
    };
    Some((masked, start..end))
}

/// `at`, or the nearest char boundary of `text` before it.
fn floor_boundary(text: &str, at: usize) -> usize {
    (0..=at.min(text.len()))
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
}

/// `line` with an annotation over `span`.
fn snippet<'a>(
    location: &'a Location,
    line: &'a str,
    span: std::ops::Range<usize>,
    label: Option<&'a str>,
    primary: bool,
) -> Snippet<'a, annotate_snippets::Annotation<'a>> {
    let kind = if primary {
        AnnotationKind::Primary
    } else {
        AnnotationKind::Context
    };
    Snippet::source(line)
        .line_start(location.mark.line as usize)
        .path(location.file.name())
        .annotation(kind.span(span).label(label))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Mark, SourceFile};

    #[test]
    fn an_error_shows_the_file_line_and_a_caret() {
        let f = SourceFile::new(
            "m.yaml",
            ".",
            "kind: A\nmetadata:\n  name: x\n  dependencies: {apply: [netwrk]}\n",
        );
        let d = Diagnostic::error(
            "manifest `x` depends on unknown manifest `netwrk`; did you mean `network`?",
        )
        .at(Location::new(&f, Mark::new(4, 26)).with_width(6))
        .help("check the name");
        let text = render(&d, false);
        assert!(
            text.contains("error: manifest `x` depends on unknown manifest `netwrk`"),
            "{text}"
        );
        assert!(text.contains("m.yaml:4:26"), "{text}");
        assert!(text.contains("^^^^^^"), "{text}");
        assert!(text.contains("help: check the name"), "{text}");
    }

    #[test]
    fn a_location_without_text_still_names_the_place() {
        let f = SourceFile::new("gone.yaml", ".", "");
        let text = render(
            &Diagnostic::error("cannot read").at(Location::new(&f, Mark::new(3, 1))),
            false,
        );
        assert!(text.contains("gone.yaml:3:1"), "{text}");
    }
}
