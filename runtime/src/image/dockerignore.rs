//! `.dockerignore` files, with the semantics of the Docker CLI: its ignore-file reader
//! (`moby/patternmatcher/ignorefile`) and its matcher (`moby/patternmatcher`), which
//! translates each pattern into a regular expression.
//!
//! Where `patternmatcher` and Go's `filepath.Match` disagree, this follows what the
//! Docker CLI actually does, since the goal is to send the daemon the same context:
//! `[!a]` is a class of `!` and `a` (Go knows only `[^a]`), a negated class also
//! matches `/`, and `**foo` matches any path ending in `foo`.

use regex::Regex;

/// A line of a `.dockerignore` that Docker would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DockerIgnoreError {
    /// A `!` with nothing after it.
    #[error("line {line}: illegal exclusion pattern \"!\"")]
    EmptyException {
        /// 1-based line number.
        line: usize,
    },
    /// A pattern `filepath.Match` calls malformed.
    #[error("line {line}: bad pattern \"{pattern}\": {reason}")]
    BadPattern {
        /// 1-based line number.
        line: usize,
        /// The pattern after cleaning.
        pattern: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// One compiled line.
#[derive(Debug, Clone)]
struct Pattern {
    regex: Regex,
    /// A `!` line: matching paths are re-included.
    exception: bool,
}

/// The patterns of a `.dockerignore` file: with `*.md`, `!README.md` and `target`, the paths
/// `CHANGELOG.md` and `target/debug/app` are excluded and `README.md` is not.
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

impl DockerIgnore {
    /// Parses `text`, skipping lines Docker would refuse (see [`DockerIgnore::try_parse`]).
    #[cfg(any(test, fuzzing))]
    pub fn parse(text: &str) -> Self {
        let patterns = lines(text)
            .filter_map(|(_, line)| compile_line(line).ok())
            .collect();
        DockerIgnore { patterns }
    }

    /// Parses `text`, failing on the first line the Docker CLI would refuse to build with.
    pub fn try_parse(text: &str) -> Result<Self, DockerIgnoreError> {
        let patterns = lines(text)
            .map(|(number, line)| compile_line(line).map_err(|e| e.at_line(number)))
            .collect::<Result<_, _>>()?;
        Ok(DockerIgnore { patterns })
    }

    /// Excludes nothing, as for a context without a `.dockerignore`.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Whether `rel_path` ('/'-separated, relative to the context, no leading `./`)
    /// is left out of the context: the last pattern matching it or one of its parent
    /// directories decides.
    pub fn is_excluded(&self, rel_path: &str) -> bool {
        // Most contexts have no ignore file; the scan asks for each of their entries.
        if self.patterns.is_empty() {
            return false;
        }
        let rel_path = rel_path.trim_end_matches('/');
        let parents: Vec<&str> = rel_path
            .match_indices('/')
            .map(|(slash, _)| &rel_path[..slash])
            .collect();
        let mut excluded = false;
        for pattern in &self.patterns {
            // A pattern can only change the answer in one direction.
            if pattern.exception != excluded {
                continue;
            }
            let hit = pattern.regex.is_match(rel_path)
                || parents.iter().any(|parent| pattern.regex.is_match(parent));
            if hit {
                excluded = !pattern.exception;
            }
        }
        excluded
    }

    /// Whether any `!` pattern exists. A walker must then descend into excluded
    /// directories, since a file inside may be re-included.
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exception)
    }
}

/// The pattern lines of `text` with their 1-based numbers, as `ignorefile.ReadAll`
/// keeps them: a BOM dropped, `#` lines (only at column 0) and blank lines skipped.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.starts_with('#'))
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty())
}

/// A line-less error, given its line number by the caller.
enum LineError {
    EmptyException,
    BadPattern(String, &'static str),
}

impl LineError {
    fn at_line(self, line: usize) -> DockerIgnoreError {
        match self {
            LineError::EmptyException => DockerIgnoreError::EmptyException { line },
            LineError::BadPattern(pattern, reason) => DockerIgnoreError::BadPattern {
                line,
                pattern,
                reason,
            },
        }
    }
}

/// Compiles one trimmed, non-empty line.
fn compile_line(line: &str) -> Result<Pattern, LineError> {
    let (exception, body) = match line.strip_prefix('!') {
        Some(rest) => (true, rest.trim()),
        None => (false, line),
    };
    if body.is_empty() {
        return Err(LineError::EmptyException);
    }
    let cleaned = clean(body);
    // The ignore file is relative to the context root, so "/foo" means "foo".
    let cleaned = match cleaned.strip_prefix('/') {
        Some(rest) if !rest.is_empty() => rest.to_owned(),
        _ => cleaned,
    };
    let source =
        to_regex(&cleaned).map_err(|reason| LineError::BadPattern(cleaned.clone(), reason))?;
    let regex = Regex::new(&source)
        .map_err(|_| LineError::BadPattern(cleaned, "not a valid character class"))?;
    Ok(Pattern { regex, exception })
}

/// Go's `path.Clean`: collapses `//`, drops `.`, resolves `..` lexically.
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|last| *last != "..") => {
                parts.pop();
            }
            ".." if rooted => {}
            _ => parts.push(part),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_owned(),
        (false, false) => body,
    }
}

/// Translates a cleaned pattern into an anchored regular expression, as
/// `patternmatcher`'s `Pattern.compile` does.
fn to_regex(pattern: &str) -> Result<String, &'static str> {
    if let Some(suffix) = literal_suffix_pattern(pattern) {
        return Ok(suffix);
    }
    let mut out = String::from("^");
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                // "**/" is "**": the slash is part of what it may match.
                chars.next_if_eq(&'/');
                out.push_str(if chars.peek().is_none() {
                    ".*"
                } else {
                    "(?:.*/)?"
                });
            }
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            '[' => out.push_str(&class(&mut chars)?),
            '\\' => match chars.next() {
                Some(escaped) => out.push_str(&escape(escaped)),
                None => return Err("trailing backslash"),
            },
            other => out.push_str(&escape(other)),
        }
    }
    out.push('$');
    Ok(out)
}

/// `patternmatcher` does not use a regex for `**` followed by plain text: it
/// tests whether the path ends with that text, so `**foo` matches `xfoo`.
fn literal_suffix_pattern(pattern: &str) -> Option<String> {
    let suffix = pattern.strip_prefix("**")?;
    if suffix.contains(['*', '?', '[', ']', '\\']) {
        return None;
    }
    Some(match suffix.strip_prefix('/') {
        // "**/foo" also matches "foo" itself.
        Some(rest) => format!("^(?:.*/)?{}$", regex::escape(rest)),
        None => format!("^.*{}$", regex::escape(suffix)),
    })
}

/// Translates a `[...]` class whose `[` was consumed, checking it the way
/// `filepath.Match` does: not empty, closed, and `-` only between two characters.
fn class(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<String, &'static str> {
    let mut out = String::from("[");
    if chars.next_if_eq(&'^').is_some() {
        out.push('^');
    }
    let mut items = 0;
    loop {
        let lo = match chars.next() {
            None => return Err("unterminated character class"),
            Some(']') if items > 0 => break,
            Some(c) => class_char(c, chars)?,
        };
        out.push_str(&escape(lo));
        if chars.next_if_eq(&'-').is_some() {
            let hi = match chars.next() {
                Some(c) => class_char(c, chars)?,
                None => return Err("unterminated character class"),
            };
            out.push('-');
            out.push_str(&escape(hi));
        }
        items += 1;
    }
    out.push(']');
    Ok(out)
}

/// One character of a class, after a possible `\` escape.
fn class_char(
    c: char,
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
) -> Result<char, &'static str> {
    match c {
        '\\' => chars.next().ok_or("unterminated character class"),
        '-' | ']' => Err("misplaced '-' or ']' in character class"),
        c => Ok(c),
    }
}

fn escape(c: char) -> String {
    regex::escape(c.encode_utf8(&mut [0; 4]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exception_keeps_one_file_of_an_excluded_pattern() {
        let ignore = DockerIgnore::parse("*.md\n!README.md\ntarget\n");
        assert!(ignore.is_excluded("CHANGELOG.md"));
        assert!(!ignore.is_excluded("README.md"));
        assert!(ignore.is_excluded("target/debug/app"));
    }

    /// `(patterns, path, excluded)`, patterns one per line.
    fn check(cases: &[(&str, &str, bool)]) {
        for &(patterns, path, excluded) in cases {
            let ignore =
                DockerIgnore::try_parse(patterns).unwrap_or_else(|e| panic!("{patterns:?}: {e}"));
            assert_eq!(
                ignore.is_excluded(path),
                excluded,
                "patterns {patterns:?}, path {path:?}"
            );
        }
    }

    #[test]
    fn docker_documentation_examples() {
        let example = "# comment\n*/temp*\n*/*/temp*\ntemp?\n";
        check(&[
            (example, "somedir/temporary.txt", true),
            (example, "somedir/temp", true),
            (example, "somedir/temp/inner.txt", true),
            (example, "somedir/subdir/temporary.txt", true),
            (example, "tempa", true),
            (example, "tempb", true),
            (example, "temp", false),
            (example, "tempab", false),
            (example, "temporary.txt", false),
            (example, "a/b/c/temporary.txt", false),
            (example, "# comment", false),
            ("**/*.go", "main.go", true),
            ("**/*.go", "cmd/app/main.go", true),
            ("**/*.go", "main.rs", false),
            ("*.md\n!README.md", "CHANGELOG.md", true),
            ("*.md\n!README.md", "README.md", false),
            (
                "*.md\n!README*.md\nREADME-secret.md",
                "README-secret.md",
                true,
            ),
            (
                "*.md\n!README*.md\nREADME-secret.md",
                "README-public.md",
                false,
            ),
            ("*.md\n!README*.md\nREADME-secret.md", "notes.md", true),
            (
                "*.md\nREADME-secret.md\n!README*.md",
                "README-secret.md",
                false,
            ),
            ("*.md\nREADME-secret.md\n!README*.md", "notes.md", true),
            ("/foo", "foo", true),
            ("/foo", "foo/bar", true),
            ("/foo", "a/foo", false),
        ]);
    }

    #[test]
    fn lines_are_read_like_the_docker_cli() {
        check(&[
            ("  target  \n", "target", true),
            ("target/", "target/debug", true),
            ("./target", "target", true),
            ("a/../target", "target", true),
            ("a//b", "a/b", true),
            ("# target", "target", false),
            // A '#' after leading blanks is not a comment, but a pattern.
            ("  #x", "#x", true),
            ("\u{feff}target", "target", true),
            ("target\r\n", "target", true),
            ("target\n\n\n", "target", true),
            ("*\n! keep ", "keep", false),
            ("*\n!/keep", "keep", false),
            ("*\n!./keep/", "keep", false),
        ]);
    }

    #[test]
    fn parent_directories_and_exceptions() {
        check(&[
            ("foo", "foo/bar", true),
            ("foo", "foo/bar/baz", true),
            ("foo", "foobar", false),
            ("foo", "a/foo", false),
            ("docs\n!docs/README.md", "docs/README.md", false),
            ("docs\n!docs/README.md", "docs/other.md", true),
            ("docs\n!docs/README.md", "docs", true),
            ("dir/*\n!dir/keep", "dir/keep/x", false),
            ("dir/*\n!dir/keep", "dir/drop/x", true),
            ("*\n!src\nsrc/gen", "src/lib.rs", false),
            ("*\n!src\nsrc/gen", "src/gen/out.rs", true),
            (
                "*\n!src\nsrc/gen\n!src/gen/keep.rs",
                "src/gen/keep.rs",
                false,
            ),
            ("!a\na", "a", true),
            ("a\n!a\na", "a/b", true),
        ]);
    }

    #[test]
    fn patternmatcher_cases() {
        // From moby/patternmatcher's TestMatches, with paths without a trailing '/'.
        check(&[
            ("**", "file", true),
            ("**/", "file", true),
            ("**", "dir/file", true),
            ("**/**", "dir/file", true),
            ("dir/**", "dir/file", true),
            ("dir/**", "dir/dir2/file", true),
            ("**/dir", "dir", true),
            ("**/dir", "dir/file", true),
            ("**/dir2/*", "dir/dir2/file", true),
            ("**/dir2/**", "dir/dir2/dir3/file", true),
            ("**file", "file", true),
            ("**file", "dir/file", true),
            ("**file", "dir/xfile", true),
            ("**/file", "dir/dir/file", true),
            ("**/file", "dir/xfile", false),
            ("**/file*", "dir/dir/file.txt", true),
            ("**/file*txt", "dir/dir/file.txt", true),
            ("**/file*.txt*", "dir/dir/file.txt", true),
            ("**/**/*.txt", "dir/dir/file.txt", true),
            ("**/**/*.txt2", "dir/dir/file.txt", false),
            ("**/*.txt", "file.txt", true),
            ("a**/*.txt", "a/file.txt", true),
            ("a**/*.txt", "a/dir/dir/file.txt", true),
            ("a/*.txt", "a/dir/file.txt", false),
            ("a/*.txt", "a/file.txt", true),
            ("a/*.txt**", "a/file.txt", true),
            ("a[b-d]e", "ae", false),
            ("a[b-d]e", "ace", true),
            ("a[b-d]e", "aae", false),
            ("a[^b-d]e", "aze", true),
            ("a[^b-d]e", "ace", false),
            ("a[!b]e", "a!e", true),
            ("a[!b]e", "axe", false),
            ("a[\\]]e", "a]e", true),
            (".*", ".foo", true),
            (".*", "foo", false),
            ("abc.def", "abcdef", false),
            ("abc.def", "abc.def", true),
            ("abc?def", "abcZdef", true),
            ("abc?def", "abcdef", false),
            ("abc?def", "abc/def", false),
            ("a*b", "a/b", false),
            ("a\\\\", "a\\", true),
            ("a\\*", "a*", true),
            ("a\\*", "ab", false),
            ("**/foo/bar", "foo/bar", true),
            ("**/foo/bar", "dir/dir2/foo/bar", true),
            ("abc/**", "abc", false),
            ("abc/**", "abc/def/ghi", true),
            ("**/.foo", ".foo", true),
            ("**/.foo", "bar.foo", false),
            ("a(b)c/def", "a(b)c/def", true),
            ("a(b)c/def", "a(b)c/xyz", false),
            ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
            (
                "dist/*.whl",
                "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
                true,
            ),
            ("ünï*", "ünïcode", true),
        ]);
    }

    #[test]
    fn refuses_what_docker_refuses() {
        let cases: &[(&str, &str)] = &[
            ("!", "line 1: illegal exclusion pattern"),
            ("ok\n! ", "line 2: illegal exclusion pattern"),
            ("a[", "unterminated character class"),
            ("a[b", "unterminated character class"),
            ("a[]", "misplaced"),
            ("a[x-]]e", "misplaced"),
            ("a[]b]", "misplaced"),
            ("a[-b]", "misplaced"),
            ("a[b-]", "misplaced"),
            ("a\\", "trailing backslash"),
            ("a[z-a]", "not a valid character class"),
        ];
        for &(text, message) in cases {
            let err = DockerIgnore::try_parse(text).expect_err(text).to_string();
            assert!(err.contains(message), "{text:?}: {err}");
        }
        // The lenient parser keeps the good lines.
        let ignore = DockerIgnore::parse("a[\n!\nb");
        assert!(ignore.is_excluded("b"));
        assert!(!ignore.is_excluded("a["));
        assert!(!ignore.has_exceptions());
    }

    #[test]
    fn empty_and_exceptions() {
        assert!(!DockerIgnore::empty().is_excluded("anything"));
        assert!(!DockerIgnore::empty().has_exceptions());
        assert!(DockerIgnore::parse("*\n!keep").has_exceptions());
        assert!(!DockerIgnore::parse("*\n#!keep").has_exceptions());
    }

    #[test]
    fn clean_matches_go() {
        let cases = [
            ("a/b", "a/b"),
            ("a//b/", "a/b"),
            ("./a", "a"),
            ("a/./b", "a/b"),
            ("a/../b", "b"),
            ("a/..", "."),
            ("../a", "../a"),
            ("a/../../b", "../b"),
            ("/../a", "/a"),
            ("/", "/"),
            (".", "."),
        ];
        for (input, expected) in cases {
            assert_eq!(clean(input), expected, "{input}");
        }
    }
}
