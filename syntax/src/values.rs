//! The rules of the other values a test writes: paths in the container, port numbers, the names
//! of environment variables and labels, log patterns, HTTP paths and words from a fixed list.
//! Each returns the message to show as it is; the caller says where.

/// Checks that `path` is absolute in the container.
///
/// ```
/// assert!(dockside_syntax::container_path("/srv").is_ok());
/// assert!(dockside_syntax::container_path("srv").is_err());
/// ```
pub fn container_path(path: &str) -> Result<(), String> {
    match path.starts_with('/') {
        true => Ok(()),
        false => Err(not_absolute(path)),
    }
}

/// Why `path` is not a path in the container (for a mount's too).
pub(crate) fn not_absolute(path: &str) -> String {
    format!("`{path}` must be an absolute path in the container, starting with `/`")
}

/// Reads the decimal `digits` of a port number, 1 to 65535.
///
/// ```
/// assert_eq!(dockside_syntax::parse_port("8080"), Ok(8080));
/// assert!(dockside_syntax::parse_port("0").is_err());
/// ```
pub fn parse_port(digits: &str) -> Result<u16, String> {
    match digits.parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(format!(
            "port {digits} is out of range: expected 1 to 65535"
        )),
    }
}

/// Checks the name of a `NAME=value` pair (an environment variable, a label, a build argument),
/// called `what` in the message.
///
/// ```
/// assert!(dockside_syntax::pair_name("label", "com.example.kind").is_ok());
/// assert!(dockside_syntax::pair_name("environment variable", "A=B").is_err());
/// ```
pub fn pair_name(what: &str, name: &str) -> Result<(), String> {
    match () {
        _ if name.is_empty() => Err(format!("{what} name must not be empty")),
        _ if name.contains('=') => Err(format!("{what} name `{name}` must not contain `=`")),
        _ => Ok(()),
    }
}

/// Checks a log wait's pattern: not empty, and valid in the grammar of the `regex` crate, which
/// the runtime matches log lines with.
///
/// ```
/// assert!(dockside_syntax::log_pattern("ready on port \\d+").is_ok());
/// assert!(dockside_syntax::log_pattern("ready (to serve").is_err());
/// ```
pub fn log_pattern(pattern: &str) -> Result<(), String> {
    if pattern.is_empty() {
        return Err("the log pattern must not be empty".to_owned());
    }
    let reason = match regex_syntax::Parser::new().parse(pattern) {
        Ok(_) => return Ok(()),
        Err(regex_syntax::Error::Parse(error)) => error.kind().to_string(),
        Err(regex_syntax::Error::Translate(error)) => error.kind().to_string(),
        Err(other) => other.to_string(),
    };
    Err(format!("invalid log pattern `{pattern}`: {reason}"))
}

/// Checks the path of an HTTP wait.
///
/// ```
/// assert!(dockside_syntax::http_path("/health").is_ok());
/// assert!(dockside_syntax::http_path("health").is_err());
/// ```
pub fn http_path(path: &str) -> Result<(), String> {
    match path.starts_with('/') {
        true => Ok(()),
        false => Err(format!("the http path `{path}` must start with `/`")),
    }
}

/// The pull policies, as `pull = "..."` and `DOCKSIDE_PULL` are written, in the order of the
/// runtime's `Pull` variants, each the word in CamelCase (`"missing"`: `Pull::Missing`).
pub const PULL_POLICIES: [&str; 3] = ["missing", "always", "never"];

/// Checks that the value of `key` is one of `words`.
///
/// ```
/// let words = ["missing", "always", "never"];
/// assert!(dockside_syntax::one_of("pull", "always", &words).is_ok());
/// assert!(dockside_syntax::one_of("pull", "sometimes", &words).is_err());
/// ```
pub fn one_of(key: &str, text: &str, words: &[&str]) -> Result<(), String> {
    match words.contains(&text) {
        true => Ok(()),
        false => Err(format!(
            "`{key}` must be one of `\"{}\"`, not `\"{text}\"`",
            words.join("\"`, `\"")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let cases = [
            (
                container_path("t"),
                "`t` must be an absolute path in the container, starting with `/`",
            ),
            (
                parse_port("65536").map(drop),
                "port 65536 is out of range: expected 1 to 65535",
            ),
            (
                parse_port("0").map(drop),
                "port 0 is out of range: expected 1 to 65535",
            ),
            (pair_name("label", ""), "label name must not be empty"),
            (
                pair_name("label", "C=D"),
                "label name `C=D` must not contain `=`",
            ),
            (log_pattern(""), "the log pattern must not be empty"),
            (
                log_pattern("a(b"),
                "invalid log pattern `a(b`: unclosed group",
            ),
            (
                log_pattern("\\p{Nope}"),
                "invalid log pattern `\\p{Nope}`: Unicode property not found",
            ),
            (
                http_path("health"),
                "the http path `health` must start with `/`",
            ),
            (
                one_of("pull", "", &["a", "b"]),
                "`pull` must be one of `\"a\"`, `\"b\"`, not `\"\"`",
            ),
        ];
        for (actual, expected) in cases {
            assert_eq!(actual, Err(expected.to_owned()));
        }
    }

    #[test]
    fn accepted() {
        assert_eq!(parse_port("65535"), Ok(65535));
        assert_eq!(parse_port("1"), Ok(1));
        assert_eq!(container_path("/"), Ok(()));
        assert_eq!(pair_name("label", "a.b"), Ok(()));
        assert_eq!(log_pattern("^ready$"), Ok(()));
        assert_eq!(http_path("/"), Ok(()));
        assert_eq!(one_of("flavor", "b", &["a", "b"]), Ok(()));
    }
}
