//! YAML text → [`Node`] trees, one per document, with positions, tags and resource bounds.
//!
//! ordo reads YAML through `saphyr-parser`'s event stream rather than a generic value type
//! because it needs the line and column of every node, and control over what is expanded:
//! anchors, aliases and merge keys (`<<`) work, but the nesting depth, the number of nodes a
//! document may expand to (the "billion laughs" alias bomb) and the number of documents are
//! bounded, each with its own error. No tag ever executes anything: `!!python/object` is just
//! a tag, kept as data.
//!
//! This file holds the stream: documents, limits, errors, and parsing large streams on
//! several threads. Building one document's tree from the parser's events (anchors, merge
//! keys, mapping keys) is `builder.rs`'s; what a scalar means is `scalar.rs`'s.

use saphyr_parser::Parser;

use super::builder::Builder;
use super::node::Node;
use crate::source::Mark;

/// Bounds on what one YAML file may expand to, so a hostile file cannot exhaust memory.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Collections nested inside each other.
    pub max_depth: usize,
    /// Nodes in one document, counting every copy an alias makes.
    pub max_nodes: usize,
    /// Nodes created by expanding aliases, in one document.
    pub max_alias_nodes: usize,
    /// Bytes of text (scalars and keys) copied by expanding aliases, in one document: a
    /// few aliases of a large scalar would otherwise multiply the file's size in memory.
    pub max_alias_bytes: usize,
    /// Documents in one file, empty ones included.
    pub max_documents: usize,
    /// Characters of text in one document (issue 9: one huge document in a file of many
    /// small ones is refused with the line where it starts, not only by the file's size).
    pub max_document_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 64,
            max_nodes: 1_000_000,
            max_alias_nodes: 100_000,
            max_alias_bytes: 16 << 20,
            max_documents: 1_000_000,
            max_document_chars: 16 << 20,
        }
    }
}

/// A document of a YAML stream: where it starts and its root node.
#[derive(Debug)]
pub struct ParsedDocument {
    pub mark: Mark,
    pub root: Node,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum YamlErrorKind {
    #[error("invalid YAML: {0}")]
    Syntax(String),
    #[error("mapping keys must be plain values, not {0}")]
    ComplexKey(&'static str),
    #[error("a mapping key cannot carry a tag (`{0}`); tags belong on values")]
    TaggedKey(String),
    #[error("`%YAML {0}`: ordo reads YAML 1.2 (and 1.1 documents as 1.2), not this version")]
    UnsupportedVersion(String),
    #[error("duplicate key `{key}` (first defined on line {first_line})")]
    DuplicateKey { key: String, first_line: u32 },
    #[error("a merge key (`<<`) takes a mapping or a list of mappings, not {0}")]
    BadMerge(&'static str),
    #[error("`{value}` is not a valid {tag} value")]
    BadCoreTag { tag: String, value: String },
    #[error("nesting is deeper than the limit of {0} levels")]
    TooDeep(usize),
    #[error("document expands to more than {0} nodes")]
    TooManyNodes(usize),
    #[error("aliases expand to more than {0} nodes in one document (an alias bomb?)")]
    AliasBomb(usize),
    #[error("aliases copy more than {} MiB of text in one document (an alias bomb?)", .0 >> 20)]
    AliasBytes(usize),
    #[error("more than {0} documents in one file")]
    TooManyDocuments(usize),
    #[error("this document is larger than the limit of {} MiB", .0 >> 20)]
    DocumentTooLarge(usize),
    #[error("alias to an unknown anchor")]
    UnknownAnchor,
}

#[derive(Debug, PartialEq)]
pub struct YamlError {
    pub mark: Mark,
    pub kind: YamlErrorKind,
}

/// The documents of a stream, and the error that stopped parsing, if any. Documents before a
/// syntax error are kept so the rest of the run can still report their own problems.
#[derive(Debug)]
pub struct ParsedStream {
    pub documents: Vec<ParsedDocument>,
    pub error: Option<YamlError>,
    /// Every document read, the empty ones included (they count toward the limit).
    pub documents_seen: usize,
    /// Where the second document read starts, empty or not (`yaml::parse` takes one).
    pub second_document: Option<Mark>,
}

/// Parses every document of `text`. Empty documents (`---` alone, or `~`) are left out.
pub fn parse_stream(text: &str, limits: &Limits) -> ParsedStream {
    parse_stream_at(text, limits, 0)
}

/// Below this size a stream is parsed on one thread.
const PARALLEL_MIN_BYTES: usize = 2 << 20;

/// Like [`parse_stream`], but a large stream is split at document markers and the pieces
/// parsed on several threads. A line that starts with `---` and a blank is a document
/// marker wherever it appears (YAML forbids it inside any content), so the split never
/// cuts a document; streams with `%` directives, which carry over between documents, are
/// parsed whole.
pub fn parse_stream_parallel(text: &str, limits: &Limits) -> ParsedStream {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(8);
    if text.len() < PARALLEL_MIN_BYTES
        || threads < 2
        || text.starts_with('%')
        || text.contains("\n%")
    {
        return parse_stream(text, limits);
    }
    let pieces = split_at_markers(text, threads);
    let parsed: Vec<ParsedStream> = std::thread::scope(|scope| {
        let handles: Vec<_> = pieces
            .iter()
            .map(|&(line, piece)| scope.spawn(move || parse_stream_at(piece, limits, line)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| ParsedStream {
                    documents: Vec::new(),
                    error: None,
                    documents_seen: 0,
                    second_document: None,
                })
            })
            .collect()
    });
    // Too many documents in all: parse again in one piece, which stops at the exact one.
    if parsed.iter().map(|p| p.documents_seen).sum::<usize>() > limits.max_documents {
        return parse_stream(text, limits);
    }
    let mut documents = Vec::new();
    let mut error = None;
    let mut documents_seen = 0;
    let mut second_document = None;
    for piece in parsed {
        if documents_seen + piece.documents_seen >= 2 && second_document.is_none() {
            second_document = piece
                .second_document
                .or(piece.documents.first().map(|d| d.mark));
        }
        documents.extend(piece.documents);
        documents_seen += piece.documents_seen;
        if piece.error.is_some() {
            error = piece.error;
            break;
        }
    }
    ParsedStream {
        documents,
        error,
        documents_seen,
        second_document,
    }
}

/// Splits `text` into about `n` pieces, each starting at a document marker; with the
/// number of lines before each piece.
fn split_at_markers(text: &str, n: usize) -> Vec<(u32, &str)> {
    let mut cuts = vec![0];
    for i in 1..n {
        let from = (text.len() / n * i).max(cuts.last().copied().unwrap_or(0) + 1);
        if let Some(cut) = next_marker(text, from)
            && cut > cuts.last().copied().unwrap_or(0)
        {
            cuts.push(cut);
        }
    }
    let mut pieces = Vec::with_capacity(cuts.len());
    let mut lines = 0_u32;
    for (k, &start) in cuts.iter().enumerate() {
        let end = cuts.get(k + 1).copied().unwrap_or(text.len());
        let piece = text.get(start..end).unwrap_or_default();
        pieces.push((lines, piece));
        lines += u32::try_from(piece.bytes().filter(|&b| b == b'\n').count()).unwrap_or(u32::MAX);
    }
    pieces
}

/// The byte offset of the first line at or after `from` that is a document marker.
fn next_marker(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = from;
    while let Some(i) = text.get(at..)?.find("\n---") {
        let start = at + i + 1;
        match bytes.get(start + 3) {
            None | Some(b' ' | b'\t' | b'\n' | b'\r') => return Some(start),
            _ => at = start,
        }
    }
    None
}

/// [`parse_stream`] of a piece that starts after `line_offset` lines of its file.
fn parse_stream_at(text: &str, limits: &Limits, line_offset: u32) -> ParsedStream {
    let mut builder = Builder::new(*limits, text, line_offset);
    let mut documents = Vec::new();
    let mut seen = 0_usize;
    let mut second_document = None;
    let mut error = None;
    for event in Parser::new_from_str(text) {
        let step = match event {
            Ok((event, span)) => builder.event(event, span),
            Err(e) => Err(YamlError {
                mark: Mark::new(
                    u32::try_from(e.marker().line())
                        .unwrap_or(u32::MAX)
                        .saturating_add(line_offset),
                    u32::try_from(e.marker().col() + 1).unwrap_or(u32::MAX),
                ),
                // The parser has its own, looser nesting guard; report it as ours.
                kind: if e.info().contains("recursion limit") {
                    YamlErrorKind::TooDeep(limits.max_depth)
                } else {
                    YamlErrorKind::Syntax(e.info().to_string())
                },
            }),
        };
        match step {
            Ok(Some(doc)) => {
                seen += 1;
                if seen == 2 {
                    second_document = Some(doc.mark);
                }
                if seen > limits.max_documents {
                    error = Some(YamlError {
                        mark: doc.mark,
                        kind: YamlErrorKind::TooManyDocuments(limits.max_documents),
                    });
                    break;
                }
                if !doc.root.is_null() {
                    documents.push(doc);
                }
            }
            Ok(None) => {}
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    ParsedStream {
        documents,
        error,
        documents_seen: seen,
        second_document,
    }
}

/// Parses text that must hold exactly one document (for `yaml::parse`); empty text is null.
/// A second document is refused even when it is empty (`a: 1\n---\n`): the text is
/// something other than one value.
pub fn parse_one(text: &str, limits: &Limits) -> Result<Node, YamlError> {
    let stream = parse_stream(text, limits);
    if let Some(e) = stream.error {
        return Err(e);
    }
    if let Some(mark) = stream.second_document {
        return Err(YamlError {
            mark,
            kind: YamlErrorKind::Syntax("expected one document, found several".into()),
        });
    }
    Ok(stream
        .documents
        .into_iter()
        .next()
        .map_or_else(|| Node::null(Mark::new(1, 1)), |d| d.root))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Value;

    fn one(text: &str) -> Node {
        parse_one(text, &Limits::default()).unwrap()
    }

    fn err(text: &str) -> YamlError {
        parse_one(text, &Limits::default()).unwrap_err()
    }

    /// Regression (issue 14): `0x10:` became the key `"16"`, and `1:` and `1.0:` collided.
    #[test]
    fn keys_keep_their_spelling() {
        let n = one("0x10: a\n1: b\n1.0: c\ntrue: d\n~: e\n'x': f\n");
        let keys: Vec<&str> = match &n.value {
            Value::Map(entries) => entries.iter().map(|e| e.key.as_str()).collect(),
            _ => panic!("not a map"),
        };
        assert_eq!(keys, ["0x10", "1", "1.0", "true", "~", "x"]);
        let n = one("{1: a, 1.0: b}");
        assert_eq!(n.get("1.0").unwrap().value, Value::String("b".into()));
        // An alias used as a key keeps the anchored spelling.
        let n = one("a: &k 0x10\n*k : b\n");
        assert_eq!(n.get("0x10").unwrap().value, Value::String("b".into()));
        // Same text, same key, whatever the style.
        assert!(matches!(
            err("1: a\n'1': b\n").kind,
            YamlErrorKind::DuplicateKey { .. }
        ));
    }

    /// Regression (issue 14): `! 12` was an unknown tag `{tag: "!", value: 12}`.
    #[test]
    fn the_non_specific_tag_makes_plain_strings_and_collections() {
        let n = one("a: ! 12\nb: ! true\nc: ! [1]\nd: ! {x: 1}\n");
        assert_eq!(n.get("a").unwrap().value, Value::String("12".into()));
        assert_eq!(n.get("b").unwrap().value, Value::String("true".into()));
        assert!(matches!(n.get("c").unwrap().value, Value::Seq(_)));
        assert!(matches!(n.get("d").unwrap().value, Value::Map(_)));
    }

    /// Regression (issue 14): core tags written in full were unknown tags.
    #[test]
    fn core_tags_written_in_full_are_core_tags() {
        let n = one(
            "a: !<tag:yaml.org,2002:int> '12'\nb: !<tag:yaml.org,2002:str> 12\nc: !<tag:yaml.org,2002:seq> [1]\n",
        );
        assert_eq!(n.get("a").unwrap().value, Value::Int(12));
        assert_eq!(n.get("b").unwrap().value, Value::String("12".into()));
        assert!(matches!(n.get("c").unwrap().value, Value::Seq(_)));
        assert!(matches!(
            err("a: !<tag:yaml.org,2002:int> x").kind,
            YamlErrorKind::BadCoreTag { .. }
        ));
    }

    /// Regression (issue 14): a quoted `"<<"` was a merge key.
    #[test]
    fn only_a_plain_merge_key_merges() {
        let n = one("a: {\"<<\": {meaning: here-doc}}\nb: {'<<': shift-left}\n");
        let a = n.get("a").unwrap();
        assert!(a.get("meaning").is_none());
        assert!(a.get("<<").unwrap().get("meaning").is_some());
        assert_eq!(
            n.get("b").unwrap().get("<<").unwrap().value,
            Value::String("shift-left".into())
        );
        assert!(matches!(
            err("a: {<<: shift-left}").kind,
            YamlErrorKind::BadMerge(_)
        ));
        assert!(
            one("a: {!!str <<: {x: 1}}")
                .get("a")
                .unwrap()
                .get("<<")
                .is_some()
        );
    }

    /// Regression (issue 14): the tag of a key (`!Env HOME: v`) was dropped without a word.
    #[test]
    fn a_tag_on_a_key_is_refused() {
        let e = err("a: 1\n!Env HOME: v\n");
        assert_eq!(e.kind, YamlErrorKind::TaggedKey("!Env".into()));
        assert_eq!(e.mark.line, 2);
        assert!(matches!(
            err("x: &a !T k\n*a : v\n").kind,
            YamlErrorKind::TaggedKey(_)
        ));
        // Core tags only type the key, which keeps its text.
        assert!(one("!!str 1: a").get("1").is_some());
    }

    /// Regression (issue 14): `%YAML 9.9` was accepted without a word.
    #[test]
    fn unknown_yaml_versions_are_refused() {
        let e = parse_stream("a: 1\n...\n%YAML 9.9\n---\nb: 2\n", &Limits::default())
            .error
            .unwrap();
        assert_eq!(e.kind, YamlErrorKind::UnsupportedVersion("9.9".into()));
        assert_eq!(e.mark.line, 3);
        assert!(one("%YAML 1.2\n---\na: 1\n").get("a").is_some());
        assert!(one("%YAML 1.1 # old\n---\na: 1\n").get("a").is_some());
        // A line of a multi-line scalar that looks like a directive is text.
        assert_eq!(
            one("---\nscalar\n%YAML 9.9\n").value,
            Value::String("scalar %YAML 9.9".into())
        );
    }

    /// Regression (issue 14): `yaml::parse` accepted empty documents after the first.
    #[test]
    fn one_document_means_one() {
        assert_eq!(err("a: 1\n---\n").mark.line, 2);
        assert_eq!(err("a: 1\n--- ~\n").mark.line, 2);
        assert!(one("a: 1\n...\n").get("a").is_some());
        assert!(one("").is_null());
    }

    #[test]
    fn quoted_scalars_stay_strings() {
        let n = one("a: '8080'\nb: \"true\"");
        assert_eq!(n.get("a").unwrap().value, Value::String("8080".into()));
        assert_eq!(n.get("b").unwrap().value, Value::String("true".into()));
    }

    #[test]
    fn merge_keys_and_aliases_expand() {
        let n = one("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n");
        let m = n.get("m").unwrap();
        assert_eq!(m.get("x").unwrap().value, Value::Int(1));
        assert_eq!(m.get("y").unwrap().value, Value::Int(3));
    }

    #[test]
    fn unknown_tags_are_kept_and_never_executed() {
        let n = one("x: !!python/object/apply:os.system [\"touch /tmp/pwned\"]\ny: !Ref bucket");
        let Value::Tagged(t) = &n.get("x").unwrap().value else {
            panic!("not tagged")
        };
        assert_eq!(t.tag, "!!python/object/apply:os.system");
        let Value::Tagged(t) = &n.get("y").unwrap().value else {
            panic!("not tagged")
        };
        assert_eq!(t.tag, "!Ref");
        assert_eq!(t.node.value, Value::String("bucket".into()));
    }

    #[test]
    fn core_tags_convert() {
        let n = one("a: !!str 12\nb: !!int '7'\n");
        assert_eq!(n.get("a").unwrap().value, Value::String("12".into()));
        assert_eq!(n.get("b").unwrap().value, Value::Int(7));
        let e = parse_one("a: !!int x", &Limits::default()).unwrap_err();
        assert!(matches!(e.kind, YamlErrorKind::BadCoreTag { .. }));
    }

    #[test]
    fn duplicate_keys_are_errors_with_both_lines() {
        let e = parse_one("a: 1\nb: 2\na: 3\n", &Limits::default()).unwrap_err();
        assert_eq!(
            e.kind,
            YamlErrorKind::DuplicateKey {
                key: "a".into(),
                first_line: 1
            }
        );
        assert_eq!(e.mark, Mark::new(3, 1));
    }

    #[test]
    fn alias_bombs_are_stopped() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        let e = parse_one(&text, &Limits::default()).unwrap_err();
        assert!(matches!(e.kind, YamlErrorKind::AliasBomb(_)), "{e:?}");
    }

    #[test]
    fn a_document_over_the_size_limit_is_refused_where_it_starts() {
        let limits = Limits {
            max_document_chars: 100,
            ..Limits::default()
        };
        let big = format!("a: 1\n---\nb: '{}'\n", "x".repeat(200));
        let s = parse_stream(&big, &limits);
        assert_eq!(s.documents.len(), 1, "the small document before it is kept");
        let e = s.error.unwrap();
        assert_eq!(e.kind, YamlErrorKind::DocumentTooLarge(100));
        assert_eq!(e.mark, Mark::new(2, 1), "the `---` that starts it");
        let small = format!("a: '{}'\n---\nb: '{}'\n", "x".repeat(80), "y".repeat(80));
        assert!(parse_stream(&small, &limits).error.is_none());
    }

    #[test]
    fn empty_documents_count_towards_the_document_limit() {
        let limits = Limits {
            max_documents: 3,
            ..Limits::default()
        };
        let s = parse_stream("---\n---\n---\n---\na: 1\n", &limits);
        let e = s.error.unwrap();
        assert_eq!(e.kind, YamlErrorKind::TooManyDocuments(3));
        assert_eq!(e.mark.line, 4);
    }

    #[test]
    fn deep_nesting_is_stopped() {
        let text = "[".repeat(10_000);
        let e = parse_one(&text, &Limits::default()).unwrap_err();
        assert!(matches!(e.kind, YamlErrorKind::TooDeep(_)), "{e:?}");
    }

    /// Regression (issue 9): the depth limit was checked only while parsing, so aliases of
    /// deep nodes nested again built trees of any depth (thousands of levels within the
    /// alias budget), deeper than every recursive walk downstream expects.
    #[test]
    fn aliases_cannot_nest_deeper_than_the_limit() {
        let limits = Limits::default();
        let open = "[".repeat(40);
        let close = "]".repeat(40);
        let text = format!("a: &a {open}1{close}\nb: &b {open}*a{close}\n");
        let e = parse_one(&text, &limits).unwrap_err();
        assert_eq!(e.kind, YamlErrorKind::TooDeep(64));
        assert_eq!(e.mark.line, 2);
        // Within the limit, aliases of nested nodes still work.
        let ok = format!("a: &a {open}1{close}\nb: [*a]\n");
        assert!(parse_one(&ok, &limits).is_ok());
    }

    #[test]
    fn documents_keep_their_start_lines_and_empty_ones_are_skipped() {
        let s = parse_stream("a: 1\n---\n---\nb: 2\n", &Limits::default());
        assert!(s.error.is_none());
        let lines: Vec<u32> = s.documents.iter().map(|d| d.mark.line).collect();
        assert_eq!(lines, vec![1, 3]);
    }

    #[test]
    fn a_large_stream_parses_the_same_in_pieces() {
        let mut text = String::new();
        for i in 0..40_000 {
            text.push_str(&format!(
                "---\nkind: K\nmetadata: {{name: n{i}}}\nspec: |\n  ---not a marker\n  x\n"
            ));
        }
        assert!(text.len() > PARALLEL_MIN_BYTES);
        let whole = parse_stream(&text, &Limits::default());
        let pieces = parse_stream_parallel(&text, &Limits::default());
        assert_eq!(whole.documents.len(), 40_000);
        assert_eq!(pieces.documents.len(), whole.documents.len());
        for (a, b) in whole.documents.iter().zip(&pieces.documents) {
            assert_eq!(a.mark, b.mark);
            assert_eq!(a.root, b.root);
        }
        // An error in a later piece keeps its real line.
        text.push_str("---\nbad: [\n");
        let e = parse_stream_parallel(&text, &Limits::default())
            .error
            .unwrap();
        assert_eq!(e.mark.line, 40_000 * 6 + 3);
    }

    #[test]
    fn syntax_errors_keep_the_documents_before_them() {
        let s = parse_stream("a: 1\n---\nb: [1, 2\n", &Limits::default());
        assert_eq!(s.documents.len(), 1);
        let e = s.error.unwrap();
        assert!(matches!(e.kind, YamlErrorKind::Syntax(_)));
    }
}
