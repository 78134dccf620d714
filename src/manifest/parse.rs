//! YAML text → [`Node`] trees, one per document, with positions, tags and resource bounds.
//!
//! ordo reads YAML through `saphyr-parser`'s event stream rather than a generic value type
//! because it needs the line and column of every node, and control over what is expanded:
//! anchors, aliases and merge keys (`<<`) work, but the nesting depth, the number of nodes a
//! document may expand to (the "billion laughs" alias bomb) and the number of documents are
//! bounded, each with its own error. No tag ever executes anything: `!!python/object` is just
//! a tag, kept as data.
//!
//! Plain scalars are typed by the YAML 1.2 core schema, with one deliberate exception shared
//! with serde_yaml: a decimal with a leading zero (`0644`) stays a string, because it is almost
//! always a file mode or an identifier, never the number 644. Integers that do not fit in 64
//! bits also stay strings rather than silently losing digits as floats.

use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

use super::node::{Entry, Node, Tagged, Value};
use super::source::Mark;

/// Bounds on what one YAML file may expand to, so a hostile file cannot exhaust memory.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Collections nested inside each other.
    pub max_depth: usize,
    /// Nodes in one document, counting every copy an alias makes.
    pub max_nodes: usize,
    /// Nodes created by expanding aliases, in one document.
    pub max_alias_nodes: usize,
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
    for piece in parsed {
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
    let mut builder = Builder::new(*limits);
    builder.line_offset = line_offset;
    let mut documents = Vec::new();
    let mut seen = 0_usize;
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
    }
}

/// Parses text that must hold exactly one document (for `yaml::parse`); empty text is null.
pub fn parse_one(text: &str, limits: &Limits) -> Result<Node, YamlError> {
    let stream = parse_stream(text, limits);
    if let Some(e) = stream.error {
        return Err(e);
    }
    let mut docs = stream.documents.into_iter();
    let first = docs
        .next()
        .map_or_else(|| Node::null(Mark::new(1, 1)), |d| d.root);
    if let Some(second) = docs.next() {
        return Err(YamlError {
            mark: second.mark,
            kind: YamlErrorKind::Syntax("expected one document, found several".into()),
        });
    }
    Ok(first)
}

fn mark_of(span: Span) -> Mark {
    Mark::new(
        u32::try_from(span.start.line()).unwrap_or(u32::MAX),
        u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
    )
}

enum Frame {
    Seq {
        mark: Mark,
        anchor: usize,
        tag: Option<String>,
        items: Vec<Node>,
    },
    Map {
        mark: Mark,
        anchor: usize,
        tag: Option<String>,
        entries: Vec<Entry>,
        /// Keys seen so far, once the mapping is large enough for a linear search to hurt.
        seen: Option<HashSet<String>>,
        key: Option<(String, Mark, bool)>,
        merges: Vec<Node>,
    },
}

struct Builder {
    limits: Limits,
    /// Lines of the file before the text being parsed (for streams parsed in pieces).
    line_offset: u32,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    doc_mark: Mark,
    /// Where the current document starts, in characters from the start of the text.
    doc_start: usize,
    root: Option<Node>,
    nodes: usize,
    alias_nodes: usize,
}

impl Builder {
    fn new(limits: Limits) -> Self {
        Builder {
            limits,
            line_offset: 0,
            stack: Vec::new(),
            anchors: HashMap::new(),
            doc_mark: Mark::new(1, 1),
            doc_start: 0,
            root: None,
            nodes: 0,
            alias_nodes: 0,
        }
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<Option<ParsedDocument>, YamlError> {
        let mut mark = mark_of(span);
        mark.line = mark.line.saturating_add(self.line_offset);
        if matches!(event, Event::DocumentStart(_)) {
            self.doc_start = span.start.index();
        } else if span.end.index().saturating_sub(self.doc_start) > self.limits.max_document_chars {
            return Err(YamlError {
                mark: self.doc_mark,
                kind: YamlErrorKind::DocumentTooLarge(self.limits.max_document_chars),
            });
        }
        match event {
            Event::DocumentStart(_) => {
                self.doc_mark = mark;
                self.anchors.clear();
                self.nodes = 0;
                self.alias_nodes = 0;
                self.root = None;
            }
            Event::DocumentEnd => {
                let root = self
                    .root
                    .take()
                    .unwrap_or_else(|| Node::null(self.doc_mark));
                return Ok(Some(ParsedDocument {
                    mark: self.doc_mark,
                    root,
                }));
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.count(mark, 1)?;
                let node = Node::new(mark, scalar(&text, style, tag.as_deref(), mark)?);
                self.finish(node, anchor, 1)?;
            }
            Event::Alias(id) => {
                let (node, size) = self.anchors.get(&id).cloned().ok_or(YamlError {
                    mark,
                    kind: YamlErrorKind::UnknownAnchor,
                })?;
                self.alias_nodes += size;
                if self.alias_nodes > self.limits.max_alias_nodes {
                    return Err(YamlError {
                        mark,
                        kind: YamlErrorKind::AliasBomb(self.limits.max_alias_nodes),
                    });
                }
                // The depth limit holds for the expanded tree: an alias of a deep node
                // nested deep again would otherwise build any depth (issue 9).
                if self.stack.len() + depth_of(&node) > self.limits.max_depth {
                    return Err(YamlError {
                        mark,
                        kind: YamlErrorKind::TooDeep(self.limits.max_depth),
                    });
                }
                self.count(mark, size)?;
                self.finish(node, 0, size)?;
            }
            Event::SequenceStart(anchor, tag) => {
                self.open(mark)?;
                self.stack.push(Frame::Seq {
                    mark,
                    anchor,
                    tag: tag.as_deref().map(tag_name),
                    items: Vec::new(),
                });
            }
            Event::MappingStart(anchor, tag) => {
                self.open(mark)?;
                self.stack.push(Frame::Map {
                    mark,
                    anchor,
                    tag: tag.as_deref().map(tag_name),
                    entries: Vec::new(),
                    seen: None,
                    key: None,
                    merges: Vec::new(),
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = self.stack.pop().ok_or(YamlError {
                    mark,
                    kind: YamlErrorKind::Syntax("unbalanced collection".into()),
                })?;
                let (node, anchor) = close(frame)?;
                let size = count_nodes(&node);
                self.finish(node, anchor, size)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
        Ok(None)
    }

    fn open(&mut self, mark: Mark) -> Result<(), YamlError> {
        self.count(mark, 1)?;
        if self.stack.len() >= self.limits.max_depth {
            return Err(YamlError {
                mark,
                kind: YamlErrorKind::TooDeep(self.limits.max_depth),
            });
        }
        Ok(())
    }

    fn count(&mut self, mark: Mark, n: usize) -> Result<(), YamlError> {
        self.nodes += n;
        if self.nodes > self.limits.max_nodes {
            return Err(YamlError {
                mark,
                kind: YamlErrorKind::TooManyNodes(self.limits.max_nodes),
            });
        }
        Ok(())
    }

    /// A complete node: remember it under its anchor, then hand it to its parent.
    fn finish(&mut self, node: Node, anchor: usize, size: usize) -> Result<(), YamlError> {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                seen,
                key,
                merges,
                ..
            }) => match key.take() {
                None => {
                    let (text, is_merge) = key_text(&node)?;
                    *key = Some((text, node.mark, is_merge));
                }
                Some((_, _, true)) => merges.push(node),
                Some((text, key_mark, false)) => {
                    if let Some(first) = find_key(entries, seen, &text) {
                        return Err(YamlError {
                            mark: key_mark,
                            kind: YamlErrorKind::DuplicateKey {
                                key: text,
                                first_line: first.line,
                            },
                        });
                    }
                    entries.push(Entry {
                        key: text,
                        key_mark,
                        value: node,
                    });
                }
            },
        }
        Ok(())
    }
}

/// Looks a key up among the entries so far; switches to a hash set for large mappings.
fn find_key(entries: &[Entry], seen: &mut Option<HashSet<String>>, key: &str) -> Option<Mark> {
    const LINEAR: usize = 16;
    if entries.len() < LINEAR {
        return entries.iter().find(|e| e.key == key).map(|e| e.key_mark);
    }
    let set = seen.get_or_insert_with(|| entries.iter().map(|e| e.key.clone()).collect());
    if set.contains(key) {
        return entries.iter().find(|e| e.key == key).map(|e| e.key_mark);
    }
    set.insert(key.to_string());
    None
}

fn close(frame: Frame) -> Result<(Node, usize), YamlError> {
    let (node, anchor, tag) = match frame {
        Frame::Seq {
            mark,
            anchor,
            tag,
            items,
        } => (Node::new(mark, Value::Seq(items)), anchor, tag),
        Frame::Map {
            mark,
            anchor,
            tag,
            mut entries,
            merges,
            ..
        } => {
            apply_merges(&mut entries, merges)?;
            (Node::new(mark, Value::Map(entries)), anchor, tag)
        }
    };
    let node = match tag.as_deref() {
        None | Some("!!map" | "!!seq") => node,
        Some(_) => {
            let mark = node.mark;
            Node::new(
                mark,
                Value::Tagged(Box::new(Tagged {
                    tag: tag.unwrap_or_default(),
                    node,
                })),
            )
        }
    };
    Ok((node, anchor))
}

/// Merge keys: explicit keys win, and among several merged mappings the earlier one wins.
fn apply_merges(entries: &mut Vec<Entry>, merges: Vec<Node>) -> Result<(), YamlError> {
    let mut sources = Vec::new();
    for merge in merges {
        match merge.value {
            Value::Map(m) => sources.push(m),
            Value::Seq(items) => {
                for item in items {
                    match item.value {
                        Value::Map(m) => sources.push(m),
                        other => {
                            return Err(YamlError {
                                mark: item.mark,
                                kind: YamlErrorKind::BadMerge(other.type_name()),
                            });
                        }
                    }
                }
            }
            other => {
                return Err(YamlError {
                    mark: merge.mark,
                    kind: YamlErrorKind::BadMerge(other.type_name()),
                });
            }
        }
    }
    if sources.is_empty() {
        return Ok(());
    }
    let mut present: HashSet<String> = entries.iter().map(|e| e.key.clone()).collect();
    for source in sources {
        for entry in source {
            if present.insert(entry.key.clone()) {
                entries.push(entry);
            }
        }
    }
    Ok(())
}

fn count_nodes(node: &Node) -> usize {
    match &node.value {
        Value::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        Value::Map(entries) => {
            1 + entries
                .iter()
                .map(|e| 1 + count_nodes(&e.value))
                .sum::<usize>()
        }
        Value::Tagged(t) => count_nodes(&t.node),
        _ => 1,
    }
}

/// How many collections are nested in `node`, itself included (a scalar is 0).
fn depth_of(node: &Node) -> usize {
    match &node.value {
        Value::Seq(items) => 1 + items.iter().map(depth_of).max().unwrap_or(0),
        Value::Map(entries) => {
            1 + entries
                .iter()
                .map(|e| depth_of(&e.value))
                .max()
                .unwrap_or(0)
        }
        Value::Tagged(t) => depth_of(&t.node),
        _ => 0,
    }
}

/// The text of a mapping key, and whether it is the merge key `<<`.
fn key_text(node: &Node) -> Result<(String, bool), YamlError> {
    let text = match &node.value {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Tagged(t) => match t.node.value {
            Value::String(_) | Value::Int(_) | Value::Bool(_) | Value::Float(_) | Value::Null => {
                return key_text(&t.node);
            }
            _ => {
                return Err(YamlError {
                    mark: node.mark,
                    kind: YamlErrorKind::ComplexKey("a tagged collection"),
                });
            }
        },
        other => {
            return Err(YamlError {
                mark: node.mark,
                kind: YamlErrorKind::ComplexKey(other.type_name()),
            });
        }
    };
    let is_merge = text == "<<" && matches!(node.value, Value::String(_));
    Ok((text, is_merge))
}

const CORE: &str = "tag:yaml.org,2002:";

fn tag_name(tag: &Tag) -> String {
    if tag.handle == CORE {
        format!("!!{}", tag.suffix)
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    }
}

fn scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    mark: Mark,
) -> Result<Value, YamlError> {
    let Some(tag) = tag else {
        return Ok(if style == ScalarStyle::Plain {
            plain(text)
        } else {
            Value::String(text.to_string())
        });
    };
    let bad = || YamlError {
        mark,
        kind: YamlErrorKind::BadCoreTag {
            tag: tag_name(tag),
            value: text.to_string(),
        },
    };
    if tag.handle == CORE {
        match tag.suffix.as_str() {
            "str" => return Ok(Value::String(text.to_string())),
            "int" => return int(text).map(Value::Int).ok_or_else(bad),
            "float" => {
                return match plain(text) {
                    Value::Int(i) => Ok(Value::Float(i as f64)),
                    v @ Value::Float(_) => Ok(v),
                    _ => Err(bad()),
                };
            }
            "bool" => {
                return match plain(text) {
                    v @ Value::Bool(_) => Ok(v),
                    _ => Err(bad()),
                };
            }
            "null" => {
                return match plain(text) {
                    Value::Null => Ok(Value::Null),
                    _ => Err(bad()),
                };
            }
            _ => {}
        }
    }
    let inner = if style == ScalarStyle::Plain {
        plain(text)
    } else {
        Value::String(text.to_string())
    };
    Ok(Value::Tagged(Box::new(Tagged {
        tag: tag_name(tag),
        node: Node::new(mark, inner),
    })))
}

/// Types a plain (unquoted) scalar by the YAML 1.2 core schema.
fn plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(i) = int(text) {
        return Value::Int(i);
    }
    if is_float(text)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::String(text.to_string())
}

fn int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, body) = if let Some(hex) = digits.strip_prefix("0x") {
        (16, hex)
    } else if let Some(oct) = digits.strip_prefix("0o") {
        (8, oct)
    } else {
        // `0644` is a string: see the module documentation.
        if digits.len() > 1 && digits.starts_with('0') {
            return None;
        }
        (10, digits)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i128::from_str_radix(body, radix).ok()?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn is_float(text: &str) -> bool {
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (mantissa, None),
    };
    let digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match fraction {
        Some(f) => digits(whole) && digits(f) && !(whole.is_empty() && f.is_empty()),
        None => !whole.is_empty() && digits(whole),
    };
    if whole.len() > 1 && whole.starts_with('0') {
        return false;
    }
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok && (fraction.is_some() || exponent.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        parse_one(text, &Limits::default()).unwrap()
    }

    macro_rules! plain_cases {
        ($($text:expr => $value:expr),* $(,)?) => {
            $( assert_eq!(plain($text), $value, "typing {:?}", $text); )*
        };
    }

    #[test]
    fn plain_scalars_are_typed_by_the_core_schema() {
        plain_cases! {
            "true" => Value::Bool(true),
            "False" => Value::Bool(false),
            "yes" => Value::String("yes".into()),
            "8080" => Value::Int(8080),
            "-3" => Value::Int(-3),
            "0" => Value::Int(0),
            "0644" => Value::String("0644".into()),
            "0x1F" => Value::Int(31),
            "0o17" => Value::Int(15),
            "1.5" => Value::Float(1.5),
            "1e3" => Value::Float(1000.0),
            "1_000" => Value::String("1_000".into()),
            "~" => Value::Null,
            "" => Value::Null,
            "99999999999999999999" => Value::String("99999999999999999999".into()),
            "1.2.3" => Value::String("1.2.3".into()),
            "." => Value::String(".".into()),
        }
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
