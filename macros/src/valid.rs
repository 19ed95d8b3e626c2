//! Checks: rules about the parsed values, the files they name, and the function's shape.
//!
//! Checks on one value always run, as the key's kind in `keys.rs` says. Checks that relate
//! several keys (`image` or `dockerfile` present, keys that need `dockerfile`, wait ports listed
//! in `ports`) are skipped for an attribute that already failed to parse: a misspelt `imag`
//! should not also report a missing `image`.

use std::collections::HashSet;
use std::path::Path;

use dockside_syntax::Mount;
use quote::ToTokens;
use syn::{Attribute, Error, FnArg, Ident, ItemFn, LitInt, LitStr, Pat, PatIdent, PatType, Type};

use crate::attr::{Arg, ContainerArgs, Pair, Port, TestArgs, Value, Wait};
use crate::errors::Errors;
use crate::keys::{Key, Kind, KEYS};

/// One container parameter of the test function, with the arguments that configure it.
pub(crate) struct Container<'a> {
    pub(crate) name: &'a Ident,
    pub(crate) ty: &'a Type,
    /// `None` for a fixture parameter without settings: its type's spec is used as it is.
    pub(crate) args: Option<&'a ContainerArgs>,
}

/// Whether `ty` is written as `Container` (any path ending so). It is the only type the macro
/// can know: any other is taken for a fixture, whose settings are optional and checked against
/// its own spec at run time; whether it is one is for the trait system to say.
pub(crate) fn is_container(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|last| last.ident == "Container"),
        _ => false,
    }
}

/// Checks everything and pairs each parameter with its container arguments. `params` holds the
/// `#[container(...)]` of each parameter of `func`, in order. The result is only meaningful
/// when `errors` stays empty.
pub(crate) fn check<'a>(
    test: &'a TestArgs,
    func: &'a ItemFn,
    params: &'a [Option<ContainerArgs>],
    manifest_dir: Option<&Path>,
    errors: &mut Errors,
) -> Vec<Container<'a>> {
    check_function(func, errors);
    check_flavor(test, func, errors);
    let types = func.sig.inputs.iter().map(|input| match input {
        FnArg::Typed(typed) => Some(&*typed.ty),
        FnArg::Receiver(_) => None,
    });
    // A fixture's settings only complete its own spec, which the macro cannot see.
    let complete = |ty: Option<&Type>| ty.is_none_or(is_container);
    if test.container.given {
        let single = (func.sig.inputs.len() == 1).then(|| types.clone().next().flatten());
        check_container(
            &test.container,
            single.is_none_or(complete),
            manifest_dir,
            errors,
        );
    }
    for (args, ty) in params.iter().zip(types) {
        if let Some(args) = args {
            check_container(args, complete(ty), manifest_dir, errors);
        }
    }
    assign(test, func, params, errors)
}

/// Whether `lit` is one of `words`; an error naming them if not.
fn one_of(key: &Ident, lit: &LitStr, words: &[&str], errors: &mut Errors) -> bool {
    let given = lit.value();
    let known = words.contains(&given.as_str());
    if !known {
        let accepted: Vec<String> = words.iter().map(|w| format!("`\"{w}\"`")).collect();
        let accepted = accepted.join(", ");
        errors.at(
            lit.span(),
            format!("`{key}` must be one of {accepted}, not `\"{given}\"`"),
        );
    }
    known
}

/// `flavor` and `worker_threads` as `#[tokio::test]` takes them, for an `async fn` only.
fn check_flavor(test: &TestArgs, func: &ItemFn, errors: &mut Errors) {
    let multi_thread = test.flavor.as_ref().is_some_and(|(key, word)| {
        // An unknown word is reported once, not again as a missing `multi_thread`.
        !one_of(key, word, &["current_thread", "multi_thread"], errors)
            || word.value() == "multi_thread"
    });
    if let Some((key, count)) = &test.worker_threads {
        match count.base10_parse::<usize>() {
            Ok(0) => errors.at(count.span(), "`worker_threads` must be at least 1"),
            Ok(_) if !multi_thread => errors.at(
                key.span(),
                "`worker_threads` needs `flavor = \"multi_thread\"`",
            ),
            Ok(_) => {}
            Err(error) => errors.push(error),
        }
    }
    if func.sig.asyncness.is_none() {
        let keys = test.flavor.iter().map(|(key, _)| key);
        for key in keys.chain(test.worker_threads.iter().map(|(key, _)| key)) {
            errors.at(
                key.span(),
                format!(
                    "`{key}` applies to an `async fn`: a plain `fn` runs on the test's thread, \
                     outside any runtime"
                ),
            );
        }
    }
}

/// Whether `source` ends with attributes of which one is a test attribute: the text before a
/// `#[docker_test]` that a `#[test]` above it already expanded. Only the attributes after the
/// previous item (or block start) count; text that does not read as attributes counts as none.
pub(crate) fn ends_with_test_attribute(source: &str) -> bool {
    let start = source.rfind(['}', ';', '{']).map_or(0, |at| at + 1);
    syn::parse::Parser::parse_str(Attribute::parse_outer, &source[start..])
        .is_ok_and(|attrs| attrs.iter().any(is_test_attribute))
}

fn is_test_attribute(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|last| last.ident == "test")
}

fn check_function(func: &ItemFn, errors: &mut Errors) {
    let generics = &func.sig.generics;
    if !generics.params.is_empty() {
        errors.push(Error::new_spanned(
            generics,
            "`#[docker_test]` functions cannot be generic",
        ));
    } else if let Some(where_clause) = &generics.where_clause {
        errors.push(Error::new_spanned(
            where_clause,
            "`#[docker_test]` functions cannot have a `where` clause",
        ));
    }
    for attr in &func.attrs {
        if is_test_attribute(attr) {
            errors.push(Error::new_spanned(
                attr,
                "`#[docker_test]` already makes the function a test; remove this attribute",
            ));
        }
    }
}

/// Which arguments configure which parameter: the top-level ones the single parameter, or
/// each parameter its own `#[container(...)]`.
fn assign<'a>(
    test: &'a TestArgs,
    func: &'a ItemFn,
    params: &'a [Option<ContainerArgs>],
    errors: &mut Errors,
) -> Vec<Container<'a>> {
    let top = &test.container;
    let inputs = &func.sig.inputs;
    if top.given {
        for args in params.iter().flatten() {
            errors.at(
                args.origin,
                "`#[container(...)]` cannot be combined with container arguments in \
                 `#[docker_test(...)]`",
            );
        }
        if inputs.len() != 1 {
            let name = &func.sig.ident;
            let count = inputs.len();
            errors.at(
                top.origin,
                format!(
                    "container arguments in `#[docker_test(...)]` configure the single \
                     parameter of the function, but `{name}` has {count}; use \
                     `#[container(...)]` on each parameter instead"
                ),
            );
        }
    } else if inputs.is_empty() {
        errors.at(
            func.sig.paren_token.span.join(),
            "`#[docker_test]` needs a parameter for each container, like \
             `#[container(image = \"alpine\")] web: Container`",
        );
    }
    inputs
        .iter()
        .zip(params)
        .filter_map(|(input, own)| {
            let (name, ty) = param(input, errors)?;
            let args = match own {
                Some(args) => Some(args),
                None if top.given => Some(top),
                None if !is_container(ty) => None,
                None => {
                    errors.at(
                        name.span(),
                        format!(
                            "parameter `{name}` needs `#[container(...)]`, like \
                             `#[container(image = \"alpine\")] {name}: Container`"
                        ),
                    );
                    return None;
                }
            };
            Some(Container { name, ty, args })
        })
        .collect()
}

fn param<'a>(input: &'a FnArg, errors: &mut Errors) -> Option<(&'a Ident, &'a Type)> {
    match input {
        FnArg::Receiver(receiver) => {
            errors.push(Error::new_spanned(
                receiver,
                "`#[docker_test]` functions cannot take `self`",
            ));
            None
        }
        FnArg::Typed(PatType { pat, ty, .. }) => match &**pat {
            Pat::Ident(PatIdent {
                ident,
                by_ref: None,
                subpat: None,
                ..
            }) => match &**ty {
                // rustc's own hint would add a second `&`: the test owns its containers.
                Type::Reference(reference) => {
                    let owned = reference
                        .elem
                        .to_token_stream()
                        .to_string()
                        .replace(" :: ", "::");
                    errors.push(Error::new_spanned(
                        reference,
                        format!("take `{owned}` by value: `{ident}: {owned}`"),
                    ));
                    None
                }
                _ => Some((ident, ty)),
            },
            _ => {
                errors.push(Error::new_spanned(
                    pat,
                    "expected a parameter name, like `web: Container`; the name names the \
                     container, so patterns are not accepted",
                ));
                None
            }
        },
    }
}

/// The checks of one container: each value as its kind requires, then repeats across entries,
/// then (for a well-formed attribute) the rules that relate keys.
fn check_container(
    args: &ContainerArgs,
    complete: bool,
    manifest_dir: Option<&Path>,
    errors: &mut Errors,
) {
    for key in KEYS {
        for arg in args.args.iter().filter(|arg| arg.key.name == key.name) {
            check_value(arg, manifest_dir, errors);
        }
    }
    for key in KEYS {
        let entries = args.args.iter().filter(|arg| arg.key.name == key.name);
        match key.kind {
            Kind::Pairs(what) => unique_pairs(entries, what, errors),
            Kind::Ports => unique_ports(entries, errors),
            _ => {}
        }
    }
    if !args.malformed && complete {
        check_combination(args, errors);
    }
}

fn check_value(arg: &Arg, manifest_dir: Option<&Path>, errors: &mut Errors) {
    let ident = &arg.ident;
    match (arg.key.kind, &arg.value) {
        (Kind::Image, Value::Str(image)) => {
            let text = image.value();
            if let Err(reason) = dockside_syntax::parse_reference(&text) {
                let hint = match reason {
                    dockside_syntax::ReferenceError::Uppercase => lowercase_name(&text)
                        .map(|name| format!("; did you mean `{name}`?"))
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                errors.at(
                    image.span(),
                    format!("invalid image reference `{text}`: {reason}{hint}"),
                );
            }
        }
        (Kind::File | Kind::Directory, Value::Str(lit)) => {
            check_in_crate(lit, arg.key, manifest_dir, errors);
        }
        (Kind::Text, Value::Str(lit)) if lit.value().is_empty() => {
            errors.at(lit.span(), format!("`{ident}` must not be empty"));
        }
        (Kind::AbsolutePath, Value::Str(lit)) => absolute(lit, errors),
        (Kind::Choice(_, words), Value::Str(lit)) => {
            one_of(ident, lit, words, errors);
        }
        (Kind::Command, Value::Exprs(items)) if items.is_empty() => {
            errors.at(ident.span(), format!("`{ident}` must not be empty"));
        }
        (Kind::Paths, Value::List(paths)) => {
            let mut seen = HashSet::new();
            for path in paths {
                absolute(path, errors);
                if !seen.insert(path.value()) {
                    let text = path.value();
                    errors.at(
                        path.span(),
                        format!("{ident} `{text}` listed more than once"),
                    );
                }
            }
        }
        (Kind::Mounts, Value::Mounts(mounts)) => check_mounts(mounts, manifest_dir, errors),
        (Kind::Wait, Value::Waits(waits)) => waits.iter().for_each(|wait| check_wait(wait, errors)),
        _ => {}
    }
}

fn check_wait(wait: &Wait, errors: &mut Errors) {
    match wait {
        Wait::Log(pattern, _) if pattern.value().is_empty() => {
            errors.at(pattern.span(), "the log pattern must not be empty");
        }
        Wait::Log(pattern, times) => {
            // The runtime's `regex` reads patterns with this parser: an invalid one is known now.
            if let Err(error) = regex_syntax::Parser::new().parse(&pattern.value()) {
                let reason = match &error {
                    regex_syntax::Error::Parse(error) => error.kind().to_string(),
                    regex_syntax::Error::Translate(error) => error.kind().to_string(),
                    other => other.to_string(),
                };
                let text = pattern.value();
                errors.at(
                    pattern.span(),
                    format!("invalid log pattern `{text}`: {reason}"),
                );
            }
            if let Some(times) = times
                .as_ref()
                .filter(|t| t.base10_parse::<usize>().ok() == Some(0))
            {
                errors.at(times.span(), "`times` must be at least 1");
            } else if let Some(Err(error)) = times.as_ref().map(LitInt::base10_parse::<usize>) {
                errors.push(error);
            }
        }
        Wait::Http(_, path) if !path.value().starts_with('/') => {
            let path_text = path.value();
            errors.at(
                path.span(),
                format!("the http path `{path_text}` must start with `/`"),
            );
        }
        Wait::Exec(items, kind) if items.is_empty() => {
            errors.at(kind.span(), "the `exec` command must not be empty");
        }
        _ => {}
    }
}

/// `lit` names an existing file or directory, relative to the crate being compiled.
///
/// The message names the path as written and not where it was looked for: the crate directory
/// is where the error points, and an absolute path would tie messages (and the UI tests'
/// snapshots) to one checkout and target directory.
fn check_in_crate(lit: &LitStr, key: &Key, manifest_dir: Option<&Path>, errors: &mut Errors) {
    let what = key.name;
    let relative = lit.value();
    if Path::new(&relative).is_absolute() {
        errors.at(
            lit.span(),
            format!("{what} `{relative}` must be relative to the crate directory"),
        );
        return;
    }
    let Some(dir) = manifest_dir else {
        errors.at(
            lit.span(),
            format!("cannot look for {what} `{relative}`: CARGO_MANIFEST_DIR is not set"),
        );
        return;
    };
    let resolved = dir.join(&relative);
    let (found, kind) = match key.kind {
        Kind::File => (resolved.is_file(), "file"),
        _ => (resolved.is_dir(), "directory"),
    };
    if !found {
        let problem = if resolved.exists() {
            format!("is not a {kind}")
        } else {
            "not found".to_owned()
        };
        errors.at(
            lit.span(),
            format!("{what} `{relative}` {problem} in the crate directory"),
        );
    }
}

fn absolute(lit: &LitStr, errors: &mut Errors) {
    let path = lit.value();
    if !path.starts_with('/') {
        errors.at(
            lit.span(),
            format!("`{path}` must be an absolute path in the container, starting with `/`"),
        );
    }
}

/// Each mount's host path exists (relative paths from the crate directory, named as written;
/// see [`check_in_crate`]) and no container path is mounted twice.
fn check_mounts(mounts: &[(LitStr, Mount)], manifest_dir: Option<&Path>, errors: &mut Errors) {
    let mut seen = HashSet::new();
    for (lit, mount) in mounts {
        let host = Path::new(&mount.host);
        let source = &mount.host;
        match manifest_dir {
            _ if host.is_absolute() && !host.exists() => {
                errors.at(lit.span(), format!("mount source `{source}` not found"));
            }
            _ if host.is_absolute() => {}
            Some(dir) if !dir.join(host).exists() => errors.at(
                lit.span(),
                format!("mount source `{source}` not found in the crate directory"),
            ),
            Some(_) => {}
            None => errors.at(
                lit.span(),
                format!("cannot look for mount source `{source}`: CARGO_MANIFEST_DIR is not set"),
            ),
        }
        if !seen.insert(&mount.container) {
            let container = &mount.container;
            errors.at(
                lit.span(),
                format!("`{container}` is mounted more than once"),
            );
        }
    }
}

/// Pair names are unique across every `key(...)` of one kind, and not empty.
fn unique_pairs<'a>(entries: impl Iterator<Item = &'a Arg>, what: &str, errors: &mut Errors) {
    let mut seen = HashSet::new();
    for entry in entries {
        let Value::Pairs(pairs) = &entry.value else {
            continue;
        };
        for Pair { key, .. } in pairs {
            let name = key.value();
            if name.is_empty() {
                errors.at(key.span(), format!("{what} name must not be empty"));
            } else if name.contains('=') {
                errors.at(
                    key.span(),
                    format!("{what} name `{name}` must not contain `=`"),
                );
            } else if !seen.insert(name.clone()) {
                errors.at(key.span(), format!("{what} `{name}` set more than once"));
            }
        }
    }
}

fn unique_ports<'a>(entries: impl Iterator<Item = &'a Arg>, errors: &mut Errors) {
    let mut seen = HashSet::new();
    for port in entries.flat_map(ports) {
        if !seen.insert(port.number) {
            let number = port.number;
            errors.at(port.span, format!("port {number} listed more than once"));
        }
    }
}

fn ports(arg: &Arg) -> &[Port] {
    match &arg.value {
        Value::Ports(ports) => ports,
        _ => &[],
    }
}

fn check_combination(args: &ContainerArgs, errors: &mut Errors) {
    let dockerfile = args.get("dockerfile").is_some();
    if args.get("image").is_none() && !dockerfile {
        errors.at(args.origin, "set `image`, `dockerfile` or both");
    }
    for key in KEYS
        .iter()
        .filter(|key| key.needs_dockerfile && !dockerfile)
    {
        for arg in args.args.iter().filter(|arg| arg.key.name == key.name) {
            let ident = &arg.ident;
            errors.at(ident.span(), format!("`{ident}` needs `dockerfile`"));
        }
    }
    for key in KEYS
        .iter()
        .filter(|key| key.needs_pulled_image && dockerfile)
    {
        for arg in args.args.iter().filter(|arg| arg.key.name == key.name) {
            let ident = &arg.ident;
            errors.at(
                ident.span(),
                format!(
                    "`{ident}` applies to a pulled `image`, not to a `dockerfile` build \
                     (its `FROM` images follow DOCKSIDE_PULL)"
                ),
            );
        }
    }
    let waits = match args.get("wait").map(|arg| &arg.value) {
        Some(Value::Waits(waits)) => &waits[..],
        _ => &[],
    };
    let listed = args.get("ports").map_or(&[][..], ports);
    let mut missing: Vec<&Port> = Vec::new();
    for wait in waits {
        if let Wait::Port(port) | Wait::Http(port, _) = wait {
            let known = listed.iter().chain(missing.iter().copied());
            if !known.clone().any(|known| known.number == port.number) {
                missing.push(port);
            }
        }
    }
    let all: Vec<String> = listed
        .iter()
        .chain(missing.iter().copied())
        .map(|port| port.number.to_string())
        .collect();
    for port in missing {
        let number = port.number;
        errors.at(
            port.span,
            format!(
                "wait port {number} is not in `ports`; add it: `ports = [{}]`",
                all.join(", ")
            ),
        );
    }
}

/// `text` with its repository name in lower case (the tag and digest kept as written), when
/// that is a valid reference: the form to suggest for `Foo/bar:Latest`.
fn lowercase_name(text: &str) -> Option<String> {
    let (name, digest) = match text.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (text, None),
    };
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repository, tag) = match name[slash..].find(':') {
        Some(colon) => name.split_at(slash + colon),
        None => (name, ""),
    };
    let mut candidate = repository.to_lowercase() + tag;
    if let Some(digest) = digest {
        candidate = format!("{candidate}@{digest}");
    }
    dockside_syntax::parse_reference(&candidate)
        .is_ok()
        .then_some(candidate)
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    use super::*;
    use crate::attr;

    /// Every error for `#[docker_test(args)] item`, checked against this crate's directory.
    fn errors_in(manifest_dir: Option<&Path>, args: TokenStream, item: TokenStream) -> Vec<String> {
        let mut func: ItemFn = syn::parse2(item).expect("test input is a function");
        let mut errors = Errors::default();
        let test = attr::test_args(args, &mut errors);
        let params = attr::take_container_attrs(&mut func.sig, &mut errors);
        check(&test, &func, &params, manifest_dir, &mut errors);
        errors.messages()
    }

    fn errors(args: TokenStream, item: TokenStream) -> Vec<String> {
        errors_in(Some(Path::new(env!("CARGO_MANIFEST_DIR"))), args, item)
    }

    fn one_param(args: TokenStream) -> Vec<String> {
        errors(
            args,
            quote!(
                async fn t(web: Container) {}
            ),
        )
    }

    #[test]
    fn accepts_good_input() {
        assert!(one_param(quote!(image = "alpine:3", ports = [80], wait = port(80))).is_empty());
        assert!(one_param(quote! {
            dockerfile = "Cargo.toml", context = "src", target = "t", build_arg(A = "1"),
            env(A = "1"), labels(a = "1"), workdir = "/w", tmpfs = ["/t"], cmd = ["x"],
            wait = http(80, "/"), ports = [80, 81],
        })
        .is_empty());
        let item = quote! {
            fn t(#[container(image = "a")] one: Container, #[container(image = "b")] mut two: Container) {}
        };
        assert!(errors(TokenStream::new(), item).is_empty());
    }

    #[test]
    fn pull_is_one_of_its_words_and_only_for_a_pulled_image() {
        for word in ["missing", "always", "never"] {
            assert!(
                one_param(quote!(image = "a", pull = #word)).is_empty(),
                "{word}"
            );
        }
        assert_eq!(
            one_param(quote!(image = "a", pull = "sometimes")),
            ["`pull` must be one of `\"missing\"`, `\"always\"`, `\"never\"`, not `\"sometimes\"`"]
        );
        assert_eq!(
            one_param(quote!(dockerfile = "Cargo.toml", pull = "always")),
            [
                "`pull` applies to a pulled `image`, not to a `dockerfile` build \
              (its `FROM` images follow DOCKSIDE_PULL)"
            ]
        );
    }

    #[test]
    fn fixture_parameters_need_no_settings_and_skip_whole_spec_checks() {
        let item = quote! {
            fn t(db: Pg, #[container(env(A = "1"), context = "src", wait = port(81))] cache: my::Redis) {}
        };
        assert!(errors(TokenStream::new(), item).is_empty());
        // Single parameter, top-level settings: the same for a fixture.
        assert!(errors(
            quote!(target = "t"),
            quote!(
                fn t(db: Pg) {}
            )
        )
        .is_empty());
        // Still checked value by value.
        assert_eq!(
            errors(
                quote!(image = "Pg"),
                quote!(
                    fn t(db: Pg) {}
                )
            ),
            ["invalid image reference `Pg`: repository name must be lowercase; did you mean `pg`?"]
        );
        // `Container` (by any path) needs its settings.
        assert_eq!(
            errors(TokenStream::new(), quote!(fn t(db: dockside::Container) {})),
            ["parameter `db` needs `#[container(...)]`, like `#[container(image = \"alpine\")] db: Container`"]
        );
    }

    #[test]
    fn a_test_attribute_above_is_found_in_the_source() {
        for above in [
            "use x;\n#[test]\n",
            "mod m {\n    /// Docs.\n    #[test]\n    #[ignore]\n    ",
            "fn f() {}\n#[tokio::test] ",
        ] {
            assert!(ends_with_test_attribute(above), "{above:?}");
        }
        for not_above in [
            "#[test]\nfn other() {}\n",
            "use x;\n#[ignore]\n",
            "",
            "macro_rules! m { ($(#[$m:meta])*) => { $(#[$m])*\n",
        ] {
            assert!(!ends_with_test_attribute(not_above), "{not_above:?}");
        }
    }

    #[test]
    fn a_parse_error_hides_checks_across_keys() {
        assert_eq!(one_param(quote!(imag = "x", wait = port(80))).len(), 1);
    }

    #[test]
    fn build_paths_are_checked() {
        assert_eq!(
            one_param(quote!(dockerfile = "nope/Dockerfile", context = "nowhere")),
            [
                "dockerfile `nope/Dockerfile` not found in the crate directory",
                "context `nowhere` not found in the crate directory",
            ]
        );
        assert_eq!(
            one_param(quote!(dockerfile = "src", context = "Cargo.toml")),
            [
                "dockerfile `src` is not a file in the crate directory",
                "context `Cargo.toml` is not a directory in the crate directory",
            ]
        );
        assert_eq!(
            one_param(quote!(dockerfile = "/etc/hostname")),
            ["dockerfile `/etc/hostname` must be relative to the crate directory"]
        );
        assert_eq!(
            errors_in(
                None,
                quote!(dockerfile = "Cargo.toml"),
                quote!(
                    fn t(web: Container) {}
                )
            ),
            ["cannot look for dockerfile `Cargo.toml`: CARGO_MANIFEST_DIR is not set"]
        );
    }

    #[test]
    fn values_are_checked() {
        assert_eq!(
            one_param(quote! {
                dockerfile = "Cargo.toml", target = "", user = "", cmd = [], healthcheck = [],
                workdir = "srv", tmpfs = ["/t", "t", "/t"],
                wait = log(""),
            }),
            [
                "`target` must not be empty",
                "`cmd` must not be empty",
                "the log pattern must not be empty",
                "`healthcheck` must not be empty",
                "`user` must not be empty",
                "`srv` must be an absolute path in the container, starting with `/`",
                "`t` must be an absolute path in the container, starting with `/`",
                "tmpfs `/t` listed more than once",
            ]
        );
        assert_eq!(
            one_param(quote!(image = "a", ports = [80], wait = http(80, "health"))),
            ["the http path `health` must start with `/`"]
        );
    }

    #[test]
    fn mounts_are_checked() {
        assert_eq!(
            one_param(quote! {
                image = "a", mounts = ["src:/m", "/no/such/dir:/n", "nowhere:/o", "Cargo.toml:/m:ro"],
            }),
            [
                "mount source `/no/such/dir` not found",
                "mount source `nowhere` not found in the crate directory",
                "`/m` is mounted more than once",
            ]
        );
    }

    #[test]
    fn duplicates_are_errors() {
        assert_eq!(
            one_param(quote! {
                dockerfile = "Cargo.toml", ports = [80, 81, 80],
                env(A = "1", "A" = "2"), env(A = "3", B = "x", "" = "y", "C=D" = "z"),
                labels(a = "1", a = "1"), build_arg(V = "1"), build_arg(V = "2"),
            }),
            [
                "build argument `V` set more than once",
                "environment variable `A` set more than once",
                "environment variable `A` set more than once",
                "environment variable name must not be empty",
                "environment variable name `C=D` must not contain `=`",
                "label `a` set more than once",
                "port 80 listed more than once",
            ]
        );
    }

    #[test]
    fn wait_ports_must_be_published() {
        assert_eq!(
            one_param(quote!(image = "a", ports = [80], wait = port(81))),
            ["wait port 81 is not in `ports`; add it: `ports = [80, 81]`"]
        );
        assert_eq!(
            one_param(quote!(image = "a", wait = http(80, "/"))),
            ["wait port 80 is not in `ports`; add it: `ports = [80]`"]
        );
    }

    #[test]
    fn top_level_arguments_need_one_parameter() {
        let two = quote!(
            fn t(a: Container, b: Container) {}
        );
        assert_eq!(
            errors(quote!(image = "a"), two),
            [
                "container arguments in `#[docker_test(...)]` configure the single parameter of \
              the function, but `t` has 2; use `#[container(...)]` on each parameter instead"
            ]
        );
        assert_eq!(
            errors(
                quote!(image = "a"),
                quote!(
                    fn t() {}
                )
            )
            .len(),
            1
        );
        let mixed = quote!(
            fn t(#[container(image = "b")] a: Container) {}
        );
        assert_eq!(
            errors(quote!(image = "a"), mixed),
            ["`#[container(...)]` cannot be combined with container arguments in `#[docker_test(...)]`"]
        );
    }

    #[test]
    fn bare_attribute_needs_container_per_parameter() {
        assert_eq!(
            errors(
                quote!(crate = "x"),
                quote!(
                    fn t(#[container(image = "a")] a: Container, b: Container) {}
                )
            ),
            ["parameter `b` needs `#[container(...)]`, like \
              `#[container(image = \"alpine\")] b: Container`"]
        );
        assert_eq!(
            errors(
                TokenStream::new(),
                quote!(
                    fn t() {}
                )
            ),
            [
                "`#[docker_test]` needs a parameter for each container, like \
              `#[container(image = \"alpine\")] web: Container`"
            ]
        );
    }

    #[test]
    fn function_shape() {
        let pattern = "expected a parameter name, like `web: Container`; the name names the \
                       container, so patterns are not accepted";
        assert_eq!(
            errors(
                quote!(image = "a"),
                quote!(
                    fn t((a, b): (Container, Container)) {}
                )
            ),
            [pattern]
        );
        assert_eq!(
            errors(
                quote!(image = "a"),
                quote!(
                    fn t(_: Container) {}
                )
            ),
            [pattern]
        );
        assert_eq!(
            errors(
                quote!(image = "a"),
                quote!(
                    fn t(ref a: Container) {}
                )
            ),
            [pattern]
        );
        assert_eq!(
            errors(
                quote!(image = "a"),
                quote!(
                    fn t(&self) {}
                )
            ),
            ["`#[docker_test]` functions cannot take `self`"]
        );
        assert_eq!(
            errors(
                quote!(image = "a"),
                quote!(
                    fn t<T>(a: T) {}
                )
            ),
            ["`#[docker_test]` functions cannot be generic"]
        );
        assert_eq!(
            errors(
                quote!(image = "a"),
                quote!(
                    fn t(a: Container)
                    where
                        Container: Send,
                    {
                    }
                )
            ),
            ["`#[docker_test]` functions cannot have a `where` clause"]
        );
        assert_eq!(
            errors(
                quote!(image = "a"),
                quote!(
                    #[tokio::test]
                    async fn t(a: Container) {}
                )
            ),
            ["`#[docker_test]` already makes the function a test; remove this attribute"]
        );
    }
}
