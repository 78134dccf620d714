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
    for (location, label, primary) in excerpts {
        group = match excerpt(location, label, primary) {
            Some(snippet) => group.element(snippet),
            None => group.element(origin(location)),
        };
    }
    for note in &d.notes {
        group = group.element(Level::NOTE.message(note.as_str()));
    }
    if let Some(help) = &d.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    // Excerpts show source lines, which may hold a secret value: mask the whole text.
    crate::exec::secrets::masked(&renderer.render(&[group]))
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

/// The line of `location` with an annotation under its column, if the text is at hand.
fn excerpt<'a>(
    location: &'a Location,
    label: Option<&'a str>,
    primary: bool,
) -> Option<Snippet<'a, annotate_snippets::Annotation<'a>>> {
    if location.mark.line == 0 {
        return None;
    }
    let line = location.file.line(location.mark.line)?;
    let col = location.mark.col.max(1) as usize - 1;
    let start = line.char_indices().nth(col).map_or(line.len(), |(b, _)| b);
    let end = line[start..]
        .char_indices()
        .nth(location.width as usize)
        .map_or(line.len(), |(b, _)| start + b);
    let end = if end == start {
        (start + 1).min(line.len().max(start))
    } else {
        end
    };
    let kind = if primary {
        AnnotationKind::Primary
    } else {
        AnnotationKind::Context
    };
    Some(
        Snippet::source(line)
            .line_start(location.mark.line as usize)
            .path(location.file.name())
            .annotation(kind.span(start..end).label(label)),
    )
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
