//! Parser events → one document's [`Node`] tree: anchors and aliases, merge keys, mapping
//! keys, `%YAML` directives, and the bounds of [`Limits`] on what a document may expand to.
//!
//! Mapping keys are text, spelled as written (`0x10:` is the key `"0x10"`, and `1:` and
//! `1.0:` are two keys); a key may not carry a tag other than a core one, and only a plain
//! `<<` is a merge key (`"<<"` is an ordinary key). What one scalar means (typing, tags) is
//! `scalar.rs`'s business; splitting a stream into documents is `parse.rs`'s.

use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, ScalarStyle, Span};

use super::node::{Entry, Node, Tagged, Value};
use super::parse::{Limits, ParsedDocument, YamlError, YamlErrorKind};
use super::scalar::{TagKind, is_plain_collection, scalar, tag_kind, tag_name};
use crate::source::Mark;

/// The `%YAML` lines of `text`, with their line numbers and versions. Whether each is a
/// directive, rather than a line of a multi-line scalar, is decided while parsing.
pub(super) fn version_directives(text: &str, line_offset: u32) -> Vec<(u32, String)> {
    if !(text.starts_with("%YAML") || text.contains("\n%YAML")) {
        return Vec::new();
    }
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(rest) = line.strip_prefix("%YAML") else {
            continue;
        };
        if !rest.starts_with([' ', '\t']) {
            continue;
        }
        let version = rest.split('#').next().unwrap_or_default().trim();
        let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
        found.push((line.saturating_add(line_offset), version.to_string()));
    }
    found
}

pub(super) fn mark_of(span: Span) -> Mark {
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

pub(super) struct Builder {
    limits: Limits,
    /// Lines of the file before the text being parsed (for streams parsed in pieces).
    line_offset: u32,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    /// The text of every anchored scalar, for aliases used as keys.
    key_texts: HashMap<usize, String>,
    /// `%YAML` lines of the text (see [`version_directives`]).
    directives: Vec<(u32, String)>,
    /// The last line holding content so far: a `%YAML` line after it is a directive.
    content_end: u32,
    doc_mark: Mark,
    /// Where the current document starts, in characters from the start of the text.
    doc_start: usize,
    root: Option<Node>,
    nodes: usize,
    alias_nodes: usize,
    /// Bytes of text the aliases of the current document copied.
    alias_bytes: usize,
}

impl Builder {
    /// A builder for the events of `text`, which starts after `line_offset` lines of its
    /// file (streams are parsed in pieces).
    pub(super) fn new(limits: Limits, text: &str, line_offset: u32) -> Self {
        Builder {
            limits,
            line_offset,
            stack: Vec::new(),
            anchors: HashMap::new(),
            key_texts: HashMap::new(),
            directives: version_directives(text, line_offset),
            content_end: 0,
            doc_mark: Mark::new(1, 1),
            doc_start: 0,
            root: None,
            nodes: 0,
            alias_nodes: 0,
            alias_bytes: 0,
        }
    }

    /// Takes one event; a document, once complete.
    pub(super) fn event(
        &mut self,
        event: Event<'_>,
        span: Span,
    ) -> Result<Option<ParsedDocument>, YamlError> {
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
        let end_line = u32::try_from(span.end.line())
            .unwrap_or(u32::MAX)
            .saturating_add(self.line_offset);
        match event {
            Event::DocumentStart(explicit) => {
                if explicit {
                    self.check_directives(mark.line)?;
                }
                self.doc_mark = mark;
                self.anchors.clear();
                self.key_texts.clear();
                self.nodes = 0;
                self.alias_nodes = 0;
                self.alias_bytes = 0;
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
                self.content_end = end_line;
                self.count(mark, 1)?;
                let tag = tag.as_deref();
                let node = Node::new(mark, scalar(&text, style, tag, mark)?);
                if anchor != 0 {
                    self.key_texts.insert(anchor, text.to_string());
                }
                if self.expects_key() {
                    if let Some(tag) = tag
                        && matches!(tag_kind(tag), TagKind::Other)
                    {
                        return Err(YamlError {
                            mark,
                            kind: YamlErrorKind::TaggedKey(tag_name(tag)),
                        });
                    }
                    // Only a plain, untagged `<<` is a merge key (issue 14): `"<<"` is text.
                    let is_merge = text == "<<" && style == ScalarStyle::Plain && tag.is_none();
                    self.remember(node, anchor, 1);
                    self.set_key(text.to_string(), mark, is_merge);
                } else {
                    self.finish(node, anchor, 1)?;
                }
            }
            Event::Alias(id) => {
                self.content_end = end_line;
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
                self.alias_bytes = self.alias_bytes.saturating_add(bytes_of(&node));
                if self.alias_bytes > self.limits.max_alias_bytes {
                    return Err(YamlError {
                        mark,
                        kind: YamlErrorKind::AliasBytes(self.limits.max_alias_bytes),
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
                if self.expects_key() {
                    // An alias of a scalar key keeps the spelling of the anchored text.
                    let canonical = key_text(&node)?;
                    let text = self.key_texts.get(&id).cloned().unwrap_or(canonical);
                    self.set_key(text, mark, false);
                } else {
                    self.finish(node, 0, size)?;
                }
            }
            Event::SequenceStart(anchor, tag) => {
                self.open(mark)?;
                self.stack.push(Frame::Seq {
                    mark,
                    anchor,
                    tag: tag
                        .as_deref()
                        .filter(|t| !is_plain_collection(t))
                        .map(tag_name),
                    items: Vec::new(),
                });
            }
            Event::MappingStart(anchor, tag) => {
                self.open(mark)?;
                self.stack.push(Frame::Map {
                    mark,
                    anchor,
                    tag: tag
                        .as_deref()
                        .filter(|t| !is_plain_collection(t))
                        .map(tag_name),
                    entries: Vec::new(),
                    seen: None,
                    key: None,
                    merges: Vec::new(),
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                self.content_end = end_line;
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

    /// Refuses a `%YAML` directive of a version ordo does not read, among the lines before
    /// the `---` on `line` (issue 14: `%YAML 9.9` was accepted without a word).
    fn check_directives(&self, line: u32) -> Result<(), YamlError> {
        for (at, version) in &self.directives {
            if *at > self.content_end
                && *at < line
                && !matches!(version.as_str(), "1.0" | "1.1" | "1.2")
            {
                return Err(YamlError {
                    mark: Mark::new(*at, 1),
                    kind: YamlErrorKind::UnsupportedVersion(version.clone()),
                });
            }
        }
        Ok(())
    }

    /// Whether the next node completed is the key of a mapping entry.
    fn expects_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }

    /// Sets the key of the mapping being built (see [`Builder::expects_key`]).
    fn set_key(&mut self, text: String, mark: Mark, is_merge: bool) {
        if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
            *key = Some((text, mark, is_merge));
        }
    }

    fn remember(&mut self, node: Node, anchor: usize, size: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, (node, size));
        }
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
                    // A collection where a key belongs (scalars are keyed before this).
                    key_text(&node)?;
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
/// The bytes of text (scalars, keys, tags) in `node`; a scalar that is no text counts 8.
fn bytes_of(node: &Node) -> usize {
    match &node.value {
        Value::String(s) => s.len(),
        Value::Seq(items) => items
            .iter()
            .fold(0, |sum, n| sum.saturating_add(bytes_of(n))),
        Value::Map(entries) => entries.iter().fold(0, |sum, e| {
            sum.saturating_add(e.key.len())
                .saturating_add(bytes_of(&e.value))
        }),
        Value::Tagged(t) => t.tag.len().saturating_add(bytes_of(&t.node)),
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => 8,
    }
}

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

/// The text of a mapping key that is not a scalar written there: an alias of a scalar
/// whose text is unknown, or a collection, which is refused.
fn key_text(node: &Node) -> Result<String, YamlError> {
    match &node.value {
        Value::Null => Ok("null".to_string()),
        Value::String(_) | Value::Bool(_) | Value::Int(_) | Value::Float(_) => {
            Ok(node.value.text().unwrap_or_default())
        }
        Value::Tagged(t) => Err(YamlError {
            mark: node.mark,
            kind: YamlErrorKind::TaggedKey(t.tag.clone()),
        }),
        other => Err(YamlError {
            mark: node.mark,
            kind: YamlErrorKind::ComplexKey(other.type_name()),
        }),
    }
}
