//! Docker image references, checked against the grammar of `distribution/reference`:
//!
//! ```text
//! reference := name [ ":" tag ] [ "@" digest ]
//! name      := [ host [ ":" port ] "/" ] path-component ( "/" path-component )*
//! component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//! tag       := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
//! digest    := "sha256:" [a-f0-9]{64}
//! ```
//!
//! The first component is a registry host when it contains `.` or `:` or is `localhost`.
//! Docker also takes an upper-case first component for a host; here it is reported as an
//! upper-case repository name, which is what such a reference almost always is.

const NAME_MAX: usize = 255;
const TAG_MAX: usize = 128;

/// Why `reference` is not a valid image reference, if it is not.
pub(crate) fn check(reference: &str) -> Result<(), String> {
    if reference.is_empty() {
        return Err("the reference is empty".to_owned());
    }
    let (name_and_tag, digest) = match reference.split_once('@') {
        Some((before, digest)) => (before, Some(digest)),
        None => (reference, None),
    };
    let (name, tag) = split_tag(name_and_tag);
    let (host, path) = split_host(name);
    if let Some(host) = host {
        check_host(host)?;
    }
    check_path(path)?;
    if name.len() > NAME_MAX {
        return Err(format!(
            "the repository name is longer than {NAME_MAX} characters"
        ));
    }
    if let Some(tag) = tag {
        check_tag(tag)?;
    }
    if let Some(digest) = digest {
        check_digest(digest)?;
    }
    Ok(())
}

/// `name:tag` → (`name`, `tag`); a `:` followed by a `/` belongs to a registry port.
fn split_tag(text: &str) -> (&str, Option<&str>) {
    match text.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, Some(tag)),
        _ => (text, None),
    }
}

fn split_host(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

fn check_host(host: &str) -> Result<(), String> {
    let invalid = || Err(format!("invalid registry host `{host}`"));
    let (address, port) = if let Some(bracketed) = host.strip_prefix('[') {
        let Some((ipv6, after)) = bracketed.split_once(']') else {
            return invalid();
        };
        if ipv6.is_empty() || !ipv6.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return invalid();
        }
        match after {
            "" => (None, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => return invalid(),
            },
        }
    } else {
        match host.split_once(':') {
            Some((address, port)) => (Some(address), Some(port)),
            None => (Some(host), None),
        }
    };
    let address_ok = address.is_none_or(|address| {
        address.split('.').all(|label| {
            !label.is_empty()
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
    });
    let port_ok =
        port.is_none_or(|port| !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()));
    if address_ok && port_ok {
        Ok(())
    } else {
        invalid()
    }
}

fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("the repository name is empty".to_owned());
    }
    path.split('/').try_for_each(check_component)
}

fn check_component(component: &str) -> Result<(), String> {
    if component.is_empty() {
        return Err("the repository name has an empty path component".to_owned());
    }
    if component.chars().any(|c| c.is_uppercase()) {
        return Err("repository name must be lowercase".to_owned());
    }
    if let Some(c) = component
        .chars()
        .find(|&c| !is_alphanumeric(c) && !is_separator(c))
    {
        return Err(format!("invalid character {c:?} in the repository name"));
    }
    let alphanumeric_ends =
        component.starts_with(is_alphanumeric) && component.ends_with(is_alphanumeric);
    let separators_ok = component
        .split(is_alphanumeric)
        .all(|run| matches!(run, "" | "." | "_" | "__") || run.chars().all(|c| c == '-'));
    if alphanumeric_ends && separators_ok {
        Ok(())
    } else {
        Err(format!(
            "invalid path component `{component}`: separate letters and digits with \
             `.`, `_`, `__` or dashes"
        ))
    }
}

fn is_alphanumeric(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn is_separator(c: char) -> bool {
    matches!(c, '.' | '_' | '-')
}

fn check_tag(tag: &str) -> Result<(), String> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let ok = tag.starts_with(word)
        && tag.len() <= TAG_MAX
        && tag.chars().all(|c| word(c) || c == '.' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid tag `{tag}`: a tag is 1 to {TAG_MAX} letters, digits, `_`, `.` and `-`, \
             not starting with `.` or `-`"
        ))
    }
}

fn check_digest(digest: &str) -> Result<(), String> {
    let ok = digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid digest `{digest}`: expected `sha256:` and 64 lowercase hex digits"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn valid_references() {
        let with_digest = format!("alpine@{DIGEST}");
        let tagged_with_digest = format!("ghcr.io/o/r:1.0@{DIGEST}");
        for reference in [
            "alpine",
            "alpine:3.20",
            "library/alpine:latest",
            "docker.io/library/alpine",
            "ghcr.io/owner/repo/sub:pr-12",
            "localhost/x",
            "localhost:5000/team/app:v1_2.3-rc",
            "127.0.0.1:5000/a",
            "[::1]:5000/a:b",
            "my-Registry.example.com/a",
            "team/a.b__c-d---e_f",
            "x:_tag",
            &with_digest,
            &tagged_with_digest,
        ] {
            assert_eq!(check(reference), Ok(()), "{reference}");
        }
    }

    fn reason(reference: &str) -> String {
        check(reference).expect_err(reference)
    }

    #[test]
    fn invalid_references() {
        assert_eq!(reason("Foo/bar"), "repository name must be lowercase");
        assert_eq!(reason("Ubuntu"), "repository name must be lowercase");
        assert_eq!(reason("docker.io/Foo"), "repository name must be lowercase");
        assert_eq!(reason(""), "the reference is empty");
        assert!(reason("al pine").contains("invalid character ' '"));
        assert!(reason("a%b").contains("invalid character '%'"));
        assert!(reason("a..b").contains("invalid path component `a..b`"));
        assert!(reason("a___b").contains("invalid path component"));
        assert!(reason("-a").contains("invalid path component"));
        assert!(reason("a.").contains("invalid path component"));
        assert!(reason("a//b").contains("empty path component"));
        assert!(reason("a/").contains("empty path component"));
        assert!(reason(":tag").contains("repository name is empty"));
        assert!(reason("localhost/").contains("repository name is empty"));
        assert!(reason("a:").contains("invalid tag ``"));
        assert!(reason("a:.x").contains("invalid tag"));
        assert!(reason("a:b!").contains("invalid tag"));
        assert!(reason(&format!("a:{}", "t".repeat(129))).contains("invalid tag"));
        assert!(reason(&"a".repeat(256)).contains("longer than 255"));
        assert!(reason("a@sha256:abc").contains("invalid digest"));
        assert!(reason("a@md5:0123").contains("invalid digest"));
        assert!(reason(&format!("a@{}", DIGEST.replace("abc", "ABC"))).contains("invalid digest"));
        assert!(reason("reg-.io/a").contains("invalid registry host"));
        assert!(reason("reg.io:port/a").contains("invalid registry host"));
        assert!(reason("[::1/a").contains("invalid registry host"));
    }
}
