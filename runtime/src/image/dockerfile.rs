//! What a Dockerfile needs from registries before BuildKit can build it without a
//! session: its base images and its `# syntax=` frontend.
//!
//! This reads a Dockerfile the way BuildKit's parser does, as far as these two answers
//! need: parser directives, `\` (or `` ` ``) line continuations, comments, heredocs,
//! global `ARG`s and shell-style variable expansion in `FROM`.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;

use super::reference;

/// The directives BuildKit knows; any other `# key=value` line ends the directives.
const KNOWN_DIRECTIVES: [&str; 3] = ["syntax", "escape", "check"];

fn directive_regex(comment: &str) -> Regex {
    let pattern = format!(r"^{comment}[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$");
    // `comment` is one of this module's two constants, covered by its tests.
    Regex::new(&pattern).expect("constant directive pattern is valid")
}

static HASH_DIRECTIVE: LazyLock<Regex> = LazyLock::new(|| directive_regex("#"));
static SLASH_DIRECTIVE: LazyLock<Regex> = LazyLock::new(|| directive_regex("//"));
static HEREDOC: LazyLock<Regex> = LazyLock::new(|| {
    // BuildKit's `^(\d*)<<(-?)([^<]*)$`, applied to each word of RUN, COPY and ADD.
    Regex::new(r"^[0-9]*<<(-?)([^<]+)$").expect("constant heredoc pattern is valid")
});

/// The frontend image of a `# syntax=...` parser directive, which BuildKit would fetch
/// from a registry before building.
///
/// As BuildKit's `DetectSyntax`: only in the leading block of directives (a first-line
/// `#!` shebang is skipped), key case-insensitive, also in the `// syntax=` form.
pub fn syntax_directive(dockerfile: &str) -> Option<String> {
    let text = strip_bom(dockerfile);
    let text = match text.strip_prefix("#!") {
        Some(shebang) => shebang.split_once('\n').map_or("", |(_, rest)| rest),
        None => text,
    };
    directive(text, &HASH_DIRECTIVE, "syntax")
        .or_else(|| directive(text, &SLASH_DIRECTIVE, "syntax"))
}

/// The value of directive `key` in the leading block of `regex`-shaped directive lines.
fn directive(text: &str, regex: &Regex, key: &str) -> Option<String> {
    for line in text.lines() {
        let captures = regex.captures(line)?;
        let name = captures[1].to_ascii_lowercase();
        if !KNOWN_DIRECTIVES.contains(&name.as_str()) {
            return None;
        }
        if name == key {
            return Some(captures[2].to_owned());
        }
    }
    None
}

fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// The escape character: `\` unless an `# escape=` directive says `` ` ``.
fn escape_char(text: &str) -> char {
    match directive(text, &HASH_DIRECTIVE, "escape").as_deref() {
        Some("`") => '`',
        _ => '\\',
    }
}

/// The images a build of `dockerfile` starts from, in order of appearance, without
/// duplicates: `FROM` images that are not earlier stages, and images named by
/// `COPY --from=` or `RUN --mount=...,from=` that are not stages or stage indexes.
///
/// `FROM` flags such as `--platform=` are ignored. Variables are expanded from the
/// global `ARG`s (those before the first `FROM`), a build arg overriding an `ARG`'s
/// default; `$V`, `${V}`, `${V:-x}`, `${V-x}`, `${V:+x}`, `${V+x}` and `${V:?x}` are
/// understood. An image that needs a variable with no value, `scratch`, and anything
/// that is not a valid reference are left out: the build reports those itself.
// The build uses `base_images_with_lines`; this shape is the fuzz targets' and the tests'.
#[cfg(any(fuzzing, test))]
pub fn base_images(dockerfile: &str, build_args: &[(String, String)]) -> Vec<String> {
    base_images_with_lines(dockerfile, build_args)
        .into_iter()
        .map(|(image, _)| image)
        .collect()
}

/// [`base_images`], each with the 1-based line of the instruction that names it first, so an
/// error about a base image can point at its `FROM`.
pub(crate) fn base_images_with_lines(
    dockerfile: &str,
    build_args: &[(String, String)],
) -> Vec<(String, usize)> {
    let text = strip_bom(dockerfile);
    let escape = escape_char(text);
    let overrides: HashMap<&str, &str> = build_args
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let mut globals = Vars::new();
    let mut stages: HashSet<String> = HashSet::new();
    let mut seen_from = false;
    // `(image, checked)`: a FROM image is checked against the stages defined before it
    // at once; a `--from` may name any stage, so it is checked at the end.
    let mut candidates: Vec<(String, bool, usize)> = Vec::new();
    for instruction in instructions(text, escape) {
        let words = split_words(&instruction.args, escape);
        match instruction.keyword.as_str() {
            "arg" if !seen_from => declare_globals(&words, &overrides, &mut globals, escape),
            "from" => {
                seen_from = true;
                let Some((image, stage)) = from_parts(&words) else {
                    continue;
                };
                if let Some(image) = expand(image, &globals, escape) {
                    if !stages.contains(&image.to_lowercase()) {
                        candidates.push((image, true, instruction.line));
                    }
                }
                if let Some(stage) = stage {
                    stages.insert(stage.to_lowercase());
                }
            }
            "copy" => candidates.extend(
                flags(&words)
                    .filter_map(|flag| flag.strip_prefix("--from="))
                    .filter_map(|image| expand(image, &globals, escape))
                    .map(|image| (image, false, instruction.line)),
            ),
            "run" => candidates.extend(
                flags(&words)
                    .filter_map(|flag| flag.strip_prefix("--mount="))
                    .filter_map(mount_from)
                    .filter_map(|image| expand(image, &globals, escape))
                    .map(|image| (image, false, instruction.line)),
            ),
            _ => {}
        }
    }
    let is_stage = |image: &str| {
        stages.contains(&image.to_lowercase())
            || (!image.is_empty() && image.bytes().all(|b| b.is_ascii_digit()))
    };
    let mut seen = HashSet::new();
    candidates
        .into_iter()
        .filter(|(image, checked, _)| *checked || !is_stage(image))
        .filter(|(image, _, _)| image != "scratch")
        .filter_map(|(image, _, line)| {
            let normalized = reference::parse(&image).ok()?.normalized();
            seen.insert(normalized).then_some((image, line))
        })
        .collect()
}

/// One instruction, its continuation lines joined.
#[derive(Debug, PartialEq)]
struct Instruction {
    /// Lowercase, as instructions are case-insensitive.
    keyword: String,
    args: String,
    /// The 1-based line the instruction starts on.
    line: usize,
}

/// The instructions of `text`, as BuildKit's parser reads them: comments and blank
/// lines skipped (also between continuation lines), lines ending in the escape
/// character joined to the next, heredoc bodies of RUN, COPY and ADD skipped.
fn instructions(text: &str, escape: char) -> Vec<Instruction> {
    let mut lines = text.lines().enumerate();
    let mut out = Vec::new();
    while let Some((index, first)) = lines.next() {
        if is_blank_or_comment(first) {
            continue;
        }
        let mut logical = String::new();
        let mut line = first.trim_start();
        while let Some(head) = continued(line, escape) {
            logical.push_str(head);
            match lines.by_ref().find(|(_, next)| !is_blank_or_comment(next)) {
                Some((_, next)) => line = next,
                None => {
                    line = "";
                    break;
                }
            }
        }
        logical.push_str(line);
        let (keyword, args) = logical
            .split_once(char::is_whitespace)
            .unwrap_or((&logical, ""));
        let instruction = Instruction {
            keyword: keyword.to_lowercase(),
            args: args.trim().to_owned(),
            line: index + 1,
        };
        if matches!(instruction.keyword.as_str(), "run" | "copy" | "add") {
            skip_heredocs(&instruction.args, &mut lines.by_ref().map(|(_, line)| line));
        }
        out.push(instruction);
    }
    out
}

fn is_blank_or_comment(line: &str) -> bool {
    let line = line.trim_start();
    line.is_empty() || line.starts_with('#')
}

/// The line without its trailing escape character, when it continues on the next.
fn continued(line: &str, escape: char) -> Option<&str> {
    line.trim_end_matches([' ', '\t']).strip_suffix(escape)
}

/// Consumes the bodies of the heredocs (`<<EOF`, `<<-"EOF"`, ...) that `args` opens.
fn skip_heredocs<'a>(args: &str, lines: &mut impl Iterator<Item = &'a str>) {
    for word in args.split_whitespace() {
        let Some(captures) = HEREDOC.captures(word) else {
            continue;
        };
        let strip_tabs = !captures[1].is_empty();
        let delimiter = unquote(&captures[2]);
        for line in lines.by_ref() {
            let line = if strip_tabs {
                line.trim_start_matches('\t')
            } else {
                line
            };
            if line == delimiter {
                break;
            }
        }
    }
}

fn unquote(word: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = word.strip_prefix(quote).and_then(|w| w.strip_suffix(quote)) {
            return inner;
        }
    }
    word
}

/// Splits arguments at unquoted whitespace, keeping quotes and escapes in the words
/// for [`expand`] to interpret (BuildKit's `parseWords`).
fn split_words(args: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut chars = args.chars();
    while let Some(c) = chars.next() {
        match quote {
            None if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                continue;
            }
            Some('\'') => {}
            _ if c == escape => {
                word.push(c);
                if let Some(escaped) = chars.next() {
                    word.push(escaped);
                }
                continue;
            }
            _ => {}
        }
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(open), c) if c == open => quote = None,
            _ => {}
        }
        word.push(c);
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The leading `--flag` words of an instruction.
fn flags(words: &[String]) -> impl Iterator<Item = &str> {
    words
        .iter()
        .map(String::as_str)
        .take_while(|word| word.starts_with("--"))
}

/// `FROM [--flags] image [AS name]` as `(image, name)`; `None` when malformed.
fn from_parts(words: &[String]) -> Option<(&str, Option<&str>)> {
    let rest = &words[flags(words).count()..];
    match rest {
        [image] => Some((image, None)),
        [image, as_keyword, name] if as_keyword.eq_ignore_ascii_case("as") => {
            Some((image, Some(name)))
        }
        _ => None,
    }
}

/// The `from=` field of a `--mount=` value (comma-separated `key=value` fields).
fn mount_from(mount: &str) -> Option<&str> {
    mount.split(',').find_map(|field| {
        let (key, value) = field.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("from")
            .then_some(value.trim())
    })
}

/// Declared variables: `None` for one declared without a value.
type Vars = HashMap<String, Option<String>>;

/// Records `ARG NAME[=default] ...`: a build arg wins over the default, and a default
/// may use the variables declared before it.
fn declare_globals(
    words: &[String],
    overrides: &HashMap<&str, &str>,
    globals: &mut Vars,
    escape: char,
) {
    for word in words {
        let (name, default) = match word.split_once('=') {
            Some((name, default)) => (name, Some(default)),
            None => (word.as_str(), None),
        };
        if name.is_empty() {
            continue;
        }
        let value = match overrides.get(name) {
            Some(value) => Some((*value).to_owned()),
            None => default.and_then(|default| expand(default, globals, escape)),
        };
        globals.insert(name.to_owned(), value);
    }
}

/// Expands variables and removes quotes and escapes in `word`, as BuildKit's shell
/// lexer does; `None` when a variable it needs has no value.
fn expand(word: &str, vars: &Vars, escape: char) -> Option<String> {
    Expander {
        chars: word.chars().collect(),
        pos: 0,
        vars,
        escape,
    }
    .word(None)
}

struct Expander<'a> {
    chars: Vec<char>,
    pos: usize,
    vars: &'a Vars,
    escape: char,
}

impl Expander<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn lookup(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned().flatten()
    }

    /// Reads up to an unquoted `stop` (left unread) or the end.
    fn word(&mut self, stop: Option<char>) -> Option<String> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                break;
            }
            self.pos += 1;
            match c {
                c if c == self.escape => out.push(self.next().unwrap_or(c)),
                '\'' => {
                    while let Some(c) = self.next().filter(|&c| c != '\'') {
                        out.push(c);
                    }
                }
                '"' => out.push_str(&self.double_quoted()?),
                '$' => out.push_str(&self.dollar()?),
                c => out.push(c),
            }
        }
        Some(out)
    }

    /// Inside `"..."`, whose opening quote was read: only `$` and escapes of `"`, `$`
    /// and the escape character itself are special.
    fn double_quoted(&mut self) -> Option<String> {
        let mut out = String::new();
        while let Some(c) = self.next() {
            match c {
                '"' => break,
                '$' => out.push_str(&self.dollar()?),
                c if c == self.escape => match self.peek() {
                    Some(next) if next == '"' || next == '$' || next == self.escape => {
                        self.pos += 1;
                        out.push(next);
                    }
                    _ => out.push(c),
                },
                c => out.push(c),
            }
        }
        Some(out)
    }

    /// After a `$`: `${...}`, `$NAME`, or a lone `$`.
    fn dollar(&mut self) -> Option<String> {
        if self.peek() == Some('{') {
            self.pos += 1;
            return self.braced();
        }
        let name = self.name();
        if name.is_empty() {
            return Some("$".to_owned());
        }
        self.lookup(&name)
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self
            .peek()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        {
            self.pos += 1;
            name.push(c);
        }
        name
    }

    /// After `${`: `NAME}` or `NAME[:]op word}` with op one of `-`, `+`, `?`.
    fn braced(&mut self) -> Option<String> {
        let name = self.name();
        let value = self.lookup(&name);
        let colon = match self.next()? {
            '}' if !name.is_empty() => return value,
            ':' => true,
            '-' | '+' | '?' => {
                self.pos -= 1;
                false
            }
            // `${V#x}`, `${V%x}`, `${V/x/y}` and bad substitutions: left to the build.
            _ => return None,
        };
        let op = self.next()?;
        // Parsed whatever the value, so the position moves past it; used only if chosen.
        let alternative = self.word(Some('}'));
        if name.is_empty() || self.next() != Some('}') {
            return None;
        }
        let set = match (&value, colon) {
            (Some(value), true) => !value.is_empty(),
            (Some(_), false) => true,
            (None, _) => false,
        };
        match (op, set) {
            ('-', true) | ('?', true) => value,
            ('-', false) | ('+', true) => alternative,
            ('+', false) => Some(String::new()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directive_counts_only_before_the_first_instruction() {
        let text = "# syntax=docker/dockerfile:1\nFROM alpine\n";
        assert_eq!(
            syntax_directive(text).as_deref(),
            Some("docker/dockerfile:1")
        );
        assert_eq!(syntax_directive("FROM alpine\n# syntax=x\n"), None);
    }

    #[test]
    fn bases_skip_stages_and_expand_global_args() {
        let text =
            "ARG V=3.19\nFROM golang:1.22 AS build\nFROM alpine:${V}\nCOPY --from=build /app /app\n";
        assert_eq!(base_images(text, &[]), ["golang:1.22", "alpine:3.19"]);
    }

    const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    /// `(case name, dockerfile, build args, expected base images)`.
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);

    fn args(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn base_images_of_real_world_shapes() {
        let digest_from = format!("FROM alpine@{DIGEST}\n");
        let digest_image = format!("alpine@{DIGEST}");
        let cases: &[Case] = &[
            ("single", "FROM alpine:3.19\nRUN apk add curl\n", &[], &["alpine:3.19"]),
            (
                "go multi-stage",
                "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /app\n\
                 FROM gcr.io/distroless/static\nCOPY --from=build /app /app\n",
                &[],
                &["golang:1.22", "gcr.io/distroless/static"],
            ),
            (
                "rust multi-stage, lowercase as",
                "FROM rust:1.78-slim as builder\nRUN cargo build --release\n\
                 FROM debian:bookworm-slim\nCOPY --from=builder /t/app /usr/bin/app\n",
                &[],
                &["rust:1.78-slim", "debian:bookworm-slim"],
            ),
            ("arg default", "ARG VERSION=1.2\nFROM alpine:${VERSION}\n", &[], &["alpine:1.2"]),
            ("build arg wins", "ARG VERSION=1.2\nFROM alpine:${VERSION}\n", &[("VERSION", "3.19")], &["alpine:3.19"]),
            ("plain $VAR", "ARG V=3\nFROM alpine:$V\n", &[], &["alpine:3"]),
            (
                "platform flags",
                "FROM --platform=$BUILDPLATFORM golang AS build\nFROM --platform=linux/amd64 alpine\n",
                &[],
                &["golang", "alpine"],
            ),
            ("lowercase instruction", "from alpine\nFrom busybox\n", &[], &["alpine", "busybox"]),
            ("continuation", "FROM \\\n  alpine:3 \\\n  AS base\nFROM base\n", &[], &["alpine:3"]),
            ("continuation, trailing blanks", "FROM \\  \t\n alpine\n", &[], &["alpine"]),
            ("comment in continuation", "FROM \\\n# a comment\n\n    alpine\n", &[], &["alpine"]),
            ("digest", &digest_from, &[], &[&digest_image]),
            ("registry port", "FROM localhost:5000/x:1\n", &[], &["localhost:5000/x:1"]),
            (
                "copy --from",
                "FROM alpine AS a\nCOPY --from=0 /a /b\nCOPY --from=a /a /b\n\
                 COPY --chown=1:1 --from=nginx:1.25 /etc/nginx /x\n",
                &[],
                &["alpine", "nginx:1.25"],
            ),
            ("copy --from a later stage", "FROM alpine\nCOPY --from=later /a /b\nFROM busybox AS later\n", &[], &["alpine", "busybox"]),
            ("scratch", "FROM scratch\nCOPY app /\n", &[], &[]),
            ("declared, no value", "ARG BASE\nFROM ${BASE}\n", &[], &[]),
            ("declared, build arg", "ARG BASE\nFROM ${BASE}\n", &[("BASE", "busybox")], &["busybox"]),
            ("undeclared", "FROM ${X}\nFROM alpine\n", &[("X", "busybox")], &["alpine"]),
            ("stage ARG is not global", "FROM alpine\nARG V=1\nFROM busybox:$V\n", &[], &["alpine"]),
            ("default form", "FROM ${BASE:-alpine}\n", &[], &["alpine"]),
            ("default for empty", "ARG BASE=\nFROM ${BASE:-alpine}\n", &[], &["alpine"]),
            ("no default for empty", "ARG BASE=\nFROM ${BASE-alpine}\n", &[], &[]),
            ("default for unset", "ARG BASE\nFROM ${BASE-alpine}:3\n", &[], &["alpine:3"]),
            ("alternative unset", "ARG TAG\nFROM alpine${TAG:+:$TAG}\n", &[], &["alpine"]),
            ("alternative set", "ARG TAG\nFROM alpine${TAG:+:$TAG}\n", &[("TAG", "3")], &["alpine:3"]),
            ("required unset", "ARG T\nFROM alpine:${T:?required}\n", &[], &[]),
            ("required set", "ARG T=3\nFROM alpine:${T:?required}\n", &[], &["alpine:3"]),
            ("unsupported modifier", "ARG T=v3\nFROM alpine:${T#v}\n", &[], &[]),
            ("double-quoted arg", "ARG A=\"alpine:3.18\"\nFROM $A\n", &[], &["alpine:3.18"]),
            ("single-quoted arg", "ARG A='alpine:3.17'\nFROM $A\n", &[], &["alpine:3.17"]),
            ("quoted FROM", "FROM \"alpine:3.16\"\n", &[], &["alpine:3.16"]),
            ("several args on a line", "ARG A=alpine B=3\nFROM $A:$B\n", &[], &["alpine:3"]),
            (
                "arg from arg",
                "ARG REG=localhost:5000\nARG IMG=${REG}/app\nFROM $IMG:1\n",
                &[],
                &["localhost:5000/app:1"],
            ),
            ("stage reused", "FROM alpine AS Base\nRUN x\nFROM base\nFROM BASE AS final\n", &[], &["alpine"]),
            ("stage defined later is an image", "FROM build\nFROM alpine AS build\n", &[], &["build", "alpine"]),
            (
                "deduplicated",
                "FROM alpine\nFROM alpine:latest\nFROM docker.io/library/alpine\nFROM alpine:3\n",
                &[],
                &["alpine", "alpine:3"],
            ),
            (
                "heredocs",
                "FROM alpine\nRUN <<EOF\nFROM evil\nEOF\nCOPY <<-\"END\" /x\n\tFROM also-not\n\tEND\nFROM busybox\n",
                &[],
                &["alpine", "busybox"],
            ),
            (
                "two heredocs",
                "FROM alpine\nRUN <<ONE cat - <<TWO\nFROM a\nONE\nFROM b\nTWO\nFROM busybox\n",
                &[],
                &["alpine", "busybox"],
            ),
            ("shift is not a heredoc", "FROM alpine\nRUN echo $((1<<2))\nFROM busybox\n", &[], &["alpine", "busybox"]),
            (
                "escape directive",
                "# escape=`\nFROM alpine `\n  AS base\nRUN dir c:\\\nFROM base\nFROM busybox\n",
                &[],
                &["alpine", "busybox"],
            ),
            (
                "mount from",
                "FROM alpine AS build\nRUN --mount=type=cache,from=busybox:1,target=/x \
                 --mount=type=bind,from=build,target=/y --mount=type=secret,id=s true\n",
                &[],
                &["alpine", "busybox:1"],
            ),
            ("unresolved copy --from", "FROM alpine\nCOPY --from=${NOPE} /a /b\n", &[], &["alpine"]),
            ("copy --from with global", "ARG TOOLS=busybox:1.36\nFROM alpine\nCOPY --from=$TOOLS /bin/sh /sh\n", &[], &["alpine", "busybox:1.36"]),
            ("invalid after expansion", "ARG V=\nFROM alpine:$V\nFROM Alpine\n", &[], &[]),
            ("crlf and bom", "\u{feff}FROM alpine\r\nFROM busybox AS b\r\n", &[], &["alpine", "busybox"]),
            ("malformed from", "FROM alpine AS a AS b\nFROM\nFROM busybox\n", &[], &["busybox"]),
            ("comments and indentation", "# FROM nope\n  # FROM nope\n   FROM alpine\n", &[], &["alpine"]),
            ("onbuild ignored", "FROM alpine\nONBUILD COPY --from=busybox / /\n", &[], &["alpine"]),
            ("escaped dollar", "FROM alpine\nCOPY --from=a\\$b / /\n", &[], &["alpine"]),
            ("lone dollar", "FROM alpine:$\n", &[], &[]),
        ];
        for &(name, text, build_args, expected) in cases {
            assert_eq!(
                base_images(text, &args(build_args)),
                expected,
                "{name}: {text:?}"
            );
        }
    }

    #[test]
    fn syntax_directives() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "# syntax=docker/dockerfile:1\nFROM alpine\n",
                Some("docker/dockerfile:1"),
            ),
            (
                "#syntax = docker/dockerfile:1.4 \t\nFROM alpine\n",
                Some("docker/dockerfile:1.4"),
            ),
            (
                "# SYNTAX=example.com/front:1\n",
                Some("example.com/front:1"),
            ),
            ("# escape=`\n# syntax=x/y\n", Some("x/y")),
            ("# check=skip=all\n# syntax=x/y\n", Some("x/y")),
            ("#!/usr/bin/env buildctl\n# syntax=x/y\n", Some("x/y")),
            ("// syntax=x/y\nFROM alpine\n", Some("x/y")),
            ("\u{feff}# syntax=x/y\n", Some("x/y")),
            ("# syntax=x/y\r\nFROM alpine\r\n", Some("x/y")),
            ("# a comment\n# syntax=x/y\n", None),
            ("# unknown=1\n# syntax=x/y\n", None),
            ("\n# syntax=x/y\n", None),
            ("FROM alpine\n# syntax=x/y\n", None),
            ("# syntax=\nFROM alpine\n", None),
            ("FROM alpine\n", None),
        ];
        for &(text, expected) in cases {
            assert_eq!(syntax_directive(text).as_deref(), expected, "{text:?}");
        }
    }

    #[test]
    fn instructions_join_continuations_and_skip_heredocs() {
        let text =
            "FROM a \\\n  AS b\n\nRUN one \\\n# c\n  two\nCOPY <<EOF /x\nRUN not\nEOF\nrun last \\";
        let got: Vec<(String, String, usize)> = instructions(text, '\\')
            .into_iter()
            .map(|i| (i.keyword, i.args, i.line))
            .collect();
        let expected = [
            ("from", "a   AS b", 1),
            ("run", "one   two", 4),
            ("copy", "<<EOF /x", 7),
            ("run", "last", 10),
        ];
        let expected: Vec<(String, String, usize)> = expected
            .iter()
            .map(|(k, a, l)| (k.to_string(), a.to_string(), *l))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn expansion() {
        let vars: Vars = [("A", Some("x")), ("E", Some("")), ("U", None)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.map(str::to_owned)))
            .collect();
        let cases: &[(&str, Option<&str>)] = &[
            ("plain", Some("plain")),
            ("$A", Some("x")),
            ("${A}b", Some("xb")),
            ("$Ab", None),
            ("$U", None),
            ("$NOPE", None),
            ("${U:-d}", Some("d")),
            ("${E:-d}", Some("d")),
            ("${E-d}", Some("")),
            ("${A:-$NOPE}", Some("x")),
            ("${U:-$A}", Some("x")),
            ("${U:-${E:-deep}}", Some("deep")),
            ("${A:+alt}", Some("alt")),
            ("${E:+alt}", Some("")),
            ("${E+alt}", Some("alt")),
            ("${U+alt}", Some("")),
            ("${A:?msg}", Some("x")),
            ("${U:?msg}", None),
            ("${A", None),
            ("${}", None),
            ("'$A'", Some("$A")),
            ("\"$A y\"", Some("x y")),
            ("\"a\\\"b\"", Some("a\"b")),
            ("\\$A", Some("$A")),
            ("a$", Some("a$")),
            ("${U:-a}}", Some("a}")),
        ];
        for &(word, expected) in cases {
            assert_eq!(expand(word, &vars, '\\').as_deref(), expected, "{word}");
        }
        assert_eq!(expand("`$A", &vars, '`').as_deref(), Some("$A"));
        assert_eq!(expand("\\$A", &vars, '`').as_deref(), Some("\\x"));
    }
}
