//! Rules that relate things read apart: the keys of one attribute, the attributes and the
//! function's parameters, the function's shape.
//!
//! Rules across keys (`image` or `dockerfile` present, what a key needs, wait ports listed in
//! `ports`) are skipped for an attribute that already failed to read: a misspelt `imag` should
//! not also report a missing `image`.

use std::collections::HashSet;

use quote::ToTokens;
use syn::{Attribute, Error, FnArg, Ident, ItemFn, LitStr, Pat, PatType, Type};

use crate::attr::{Arg, Args};
use crate::keys::{find, Key, Kind, Needs, KEYS, TEST_KEYS};

/// One container parameter of the test function, with the arguments that configure it.
pub(crate) struct Container<'a> {
    pub(crate) name: &'a Ident,
    pub(crate) ty: &'a Type,
    /// `None` for a fixture parameter without settings: its type's spec is used as it is.
    pub(crate) args: Option<&'a Args>,
}

/// Whether `ty` is written as `Container` (any path ending so). It is the only type the macro
/// can know: any other is taken for a fixture, whose settings are optional and checked against
/// its own spec at run time; whether it is one is for the trait system to say.
pub(crate) fn is_container(ty: &Type) -> bool {
    matches!(ty, Type::Path(path) if ends_with(&path.path, "Container"))
}

/// Whether the last segment of `path` is `name`.
fn ends_with(path: &syn::Path, name: &str) -> bool {
    path.segments.last().is_some_and(|last| last.ident == name)
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
    ends_with(attr.path(), "test")
}

/// Checks everything not checked while reading, and pairs each parameter with its container
/// arguments. `params` holds the `#[container(...)]` of each parameter of `func`, in order. The
/// result is only meaningful when no error was added.
pub(crate) fn check<'a>(
    top: &'a Args,
    func: &'a ItemFn,
    params: &'a [Option<Args>],
    errors: &mut Vec<Error>,
) -> Vec<Container<'a>> {
    let sig = &func.sig;
    if !sig.generics.params.is_empty() {
        let message = "`#[docker_test]` functions cannot be generic";
        errors.push(Error::new_spanned(&sig.generics, message));
    } else if let Some(where_clause) = &sig.generics.where_clause {
        let message = "`#[docker_test]` functions cannot have a `where` clause";
        errors.push(Error::new_spanned(where_clause, message));
    }
    for attr in func.attrs.iter().filter(|attr| is_test_attribute(attr)) {
        let message = "`#[docker_test]` already makes the function a test; remove this attribute";
        errors.push(Error::new_spanned(attr, message));
    }
    let test_keys = top.args.iter().filter(|arg| arg.key.kind != Kind::Crate);
    let test_keys = test_keys.map(|arg| &arg.ident);
    let test_keys = test_keys.filter(|key| find(TEST_KEYS, key).is_some());
    for key in test_keys.filter(|_| sig.asyncness.is_none()) {
        let why = "a plain `fn` runs on the test's thread, outside any runtime";
        let message = format!("`{key}` applies to an `async fn`: {why}");
        errors.push(Error::new(key.span(), message));
    }
    if !top.malformed {
        needs(top, TEST_KEYS, errors);
    }
    // A fixture's settings only complete its own spec, which the macro cannot see.
    let fixture = |input: &FnArg| matches!(input, FnArg::Typed(typed) if !is_container(&typed.ty));
    if top.given {
        let single_fixture = sig.inputs.len() == 1 && sig.inputs.iter().all(fixture);
        across(top, !single_fixture, errors);
    }
    for (args, input) in params.iter().zip(&sig.inputs) {
        if let Some(args) = args {
            across(args, !fixture(input), errors);
        }
    }
    assign(top, func, params, errors)
}

/// The rules across the entries of one container: pair names and ports unique, then, for a
/// well-formed attribute of a whole spec, an image source, what each key needs, and each
/// awaited port published.
fn across(args: &Args, complete: bool, errors: &mut Vec<Error>) {
    for key in KEYS {
        let mut seen = HashSet::new();
        for value in args.of(key.name).flat_map(|arg| &arg.values) {
            let text = value.value();
            let problem = match key.kind {
                Kind::Pairs(what) => match dockside_syntax::pair_name(what, &text) {
                    Err(problem) => problem,
                    Ok(()) if seen.insert(text.clone()) => continue,
                    Ok(()) => format!("{what} `{text}` set more than once"),
                },
                Kind::Ports if !seen.insert(text.clone()) => {
                    format!("port {text} listed more than once")
                }
                _ => continue,
            };
            errors.push(Error::new(value.span(), problem));
        }
    }
    if args.malformed || !complete {
        return;
    }
    let image_source = args.of("image").chain(args.of("dockerfile"));
    if image_source.count() == 0 {
        errors.push(Error::new(args.origin, "set `image`, `dockerfile` or both"));
    }
    needs(args, KEYS, errors);
    // Each awaited port not listed, once; the suggested list adds all of them.
    let listed = args.of("ports").flat_map(|arg| &arg.values);
    let mut all: Vec<String> = listed.map(LitStr::value).collect();
    let mut missing = Vec::new();
    for port in args.of("wait").flat_map(|arg| &arg.values) {
        if !all.contains(&port.value()) {
            all.push(port.value());
            missing.push(port);
        }
    }
    let all = all.join(", ");
    for port in missing {
        let number = port.value();
        let message = format!("wait port {number} is not in `ports`; add it: `ports = [{all}]`");
        errors.push(Error::new(port.span(), message));
    }
}

/// What each key of `table` asks of the other keys of `args`.
fn needs(args: &Args, table: &'static [Key], errors: &mut Vec<Error>) {
    for key in table {
        for arg in args.of(key.name) {
            let ident = &arg.ident;
            let message = match key.needs {
                Needs::Key(other, word) => {
                    let said =
                        |arg: &Arg| word.is_none_or(|w| arg.values.iter().any(|v| v.value() == w));
                    let given = args.of(other).any(said);
                    let needed = word.map_or(other.to_owned(), |w| format!("{other} = \"{w}\""));
                    (!given).then(|| format!("`{ident}` needs `{needed}`"))
                }
                Needs::Not(other, why) => args.of(other).next().map(|_| format!("`{ident}` {why}")),
                Needs::Nothing => None,
            };
            errors.extend(message.map(|message| Error::new(ident.span(), message)));
        }
    }
}

/// Which arguments configure which parameter: the top-level ones the single parameter, or
/// each parameter its own `#[container(...)]`.
fn assign<'a>(
    top: &'a Args,
    func: &'a ItemFn,
    params: &'a [Option<Args>],
    errors: &mut Vec<Error>,
) -> Vec<Container<'a>> {
    let (inputs, name) = (&func.sig.inputs, &func.sig.ident);
    if top.given {
        for args in params.iter().flatten() {
            let message = "`#[container(...)]` cannot be combined with container arguments in \
                           `#[docker_test(...)]`";
            errors.push(Error::new(args.origin, message));
        }
        if inputs.len() != 1 {
            let count = inputs.len();
            let message = format!(
                "container arguments in `#[docker_test(...)]` configure the single parameter \
                 of the function, but `{name}` has {count}; use `#[container(...)]` on each \
                 parameter instead"
            );
            errors.push(Error::new(top.origin, message));
        }
    } else if inputs.is_empty() {
        let message = "`#[docker_test]` needs a parameter for each container, like \
                       `#[container(image = \"alpine\")] web: Container`";
        errors.push(Error::new(func.sig.paren_token.span.join(), message));
    }
    let mut containers = Vec::new();
    for (input, own) in inputs.iter().zip(params) {
        let param = param(input).map_err(|error| errors.push(error));
        let Ok((name, ty)) = param else {
            continue;
        };
        let args = match own {
            Some(args) => Some(args),
            None if top.given => Some(top),
            None if !is_container(ty) => None,
            None => {
                let message = format!(
                    "parameter `{name}` needs `#[container(...)]`, like \
                     `#[container(image = \"alpine\")] {name}: Container`"
                );
                errors.push(Error::new(name.span(), message));
                continue;
            }
        };
        containers.push(Container { name, ty, args });
    }
    containers
}

/// The name and type of a parameter taken by value.
fn param(input: &FnArg) -> syn::Result<(&Ident, &Type)> {
    let FnArg::Typed(PatType { pat, ty, .. }) = input else {
        let message = "`#[docker_test]` functions cannot take `self`";
        return Err(Error::new_spanned(input, message));
    };
    let ident = match &**pat {
        Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => &pat.ident,
        _ => {
            let message = "expected a parameter name, like `web: Container`; the name names the \
                           container, so patterns are not accepted";
            return Err(Error::new_spanned(pat, message));
        }
    };
    if let Type::Reference(reference) = &**ty {
        // rustc's own hint would add a second `&`: the test owns its containers.
        let owned = reference.elem.to_token_stream().to_string();
        let owned = owned.replace(" :: ", "::");
        let message = format!("take `{owned}` by value: `{ident}: {owned}`");
        return Err(Error::new_spanned(reference, message));
    }
    Ok((ident, ty))
}
