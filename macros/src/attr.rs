//! Parsing: the tokens of `#[docker_test(...)]` and `#[container(...)]` into typed arguments.
//!
//! This module turns tokens into values (strings, lists, port numbers, durations, byte sizes,
//! mounts) as the key's row in `keys.rs` says, and rejects what cannot become one: a wrong
//! literal, an unknown or repeated key. Rules about the values (image references, files on
//! disk, which keys need which) live in `valid.rs`.
//!
//! Each `key ...` entry is parsed on its own, so one bad entry does not hide the errors of the
//! others: its error is recorded and parsing resumes after the next comma.

use std::mem;

use dockside_syntax::Mount;
use proc_macro2::{Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    bracketed, parenthesized, token, Attribute, Error, Expr, ExprLit, FnArg, Ident, Lit, LitInt,
    LitStr, Meta, Path, Signature, Token,
};

use crate::errors::Errors;
use crate::keys::{self, Key, Kind, KEYS};

/// One `key = value` (or `key(...)`) entry: its row, the key as written (for spans), the value.
pub(crate) struct Arg {
    pub(crate) key: &'static Key,
    pub(crate) ident: Ident,
    pub(crate) value: Value,
}

/// A parsed value; which variant a key gets follows from its [`Kind`].
pub(crate) enum Value {
    Str(LitStr),
    List(Vec<LitStr>),
    Pairs(Vec<Pair>),
    Ports(Vec<Port>),
    Wait(Wait),
    Millis(u64),
    Bytes(u64),
    /// Each mount with the literal it was written in, for spans.
    Mounts(Vec<(LitStr, Mount)>),
    /// A [`Kind::Flag`] key, written bare.
    Flag,
}

/// `#[docker_test(...)]`: the runtime's path and the container arguments given at top level.
pub(crate) struct TestArgs {
    pub(crate) krate: Option<Path>,
    pub(crate) container: ContainerArgs,
}

/// The arguments describing one container.
pub(crate) struct ContainerArgs {
    /// Where to point errors about the container as a whole (the attribute).
    pub(crate) origin: Span,
    /// Some container key was written (for `#[docker_test]`: the top level configures one).
    pub(crate) given: bool,
    /// Parsing reported an error, so checks that look at several keys would only add noise.
    pub(crate) malformed: bool,
    /// The entries in the order written; only [`Kind::Pairs`] keys appear more than once.
    pub(crate) args: Vec<Arg>,
}

/// `NAME = "value"` inside `env(...)`, `labels(...)` or `build_arg(...)`. A name written as
/// an identifier is kept as a string literal with the identifier's span.
pub(crate) struct Pair {
    pub(crate) key: LitStr,
    pub(crate) value: LitStr,
}

#[derive(Clone, Copy)]
pub(crate) struct Port {
    pub(crate) number: u16,
    pub(crate) span: Span,
}

/// `wait = ...`: what makes the container ready.
pub(crate) enum Wait {
    Port(Port),
    Log(LitStr),
    Healthy,
    Http(Port, LitStr),
    Custom(Path),
    Exit(LitInt),
}

/// Parses the arguments of `#[docker_test(...)]`.
pub(crate) fn test_args(tokens: TokenStream, errors: &mut Errors) -> TestArgs {
    let mut krate = None;
    let mut container = ContainerArgs::new(Span::call_site());
    let found = parse_entries(tokens, |ident, meta, errors| {
        if ident == "crate" {
            let path = crate_path(meta, ident)?;
            match krate {
                Some(_) => errors.at(ident.span(), "`crate` set more than once"),
                None => krate = Some(path),
            }
            Ok(())
        } else if container.entry(ident, meta, errors)? {
            Ok(())
        } else {
            Err(unknown_key(ident, true))
        }
    });
    container.malformed = !found.is_empty();
    errors.append(found);
    TestArgs { krate, container }
}

/// The function's `#[should_panic]`: `Some(expected)` when it has one, `expected` holding the
/// substring of `#[should_panic(expected = "...")]` or `#[should_panic = "..."]`. The expansion
/// takes the attribute off the test and hands it to the runtime, which judges only the body's
/// panic: left to libtest, a set-up failure would satisfy it.
pub(crate) fn should_panic(attrs: &[Attribute], errors: &mut Errors) -> Option<Option<LitStr>> {
    let mut found = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("should_panic"));
    let first = found.next()?;
    for extra in found {
        errors.at(
            extra.path().span(),
            "more than one `#[should_panic]` on this function",
        );
    }
    let malformed = |span| {
        syn::Error::new(
            span,
            "expected `#[should_panic]` or `#[should_panic(expected = \"...\")]`",
        )
    };
    let expected = match &first.meta {
        Meta::Path(_) => Ok(None),
        Meta::NameValue(name_value) => match &name_value.value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(lit), ..
            }) => Ok(Some(lit.clone())),
            other => Err(malformed(other.span())),
        },
        Meta::List(list) => {
            let mut expected = None;
            list.parse_nested_meta(|meta| {
                if !meta.path.is_ident("expected") {
                    return Err(malformed(meta.path.span()));
                }
                if expected.is_some() {
                    return Err(meta.error("`expected` set more than once"));
                }
                expected = Some(meta.value()?.parse::<LitStr>()?);
                Ok(())
            })
            .map(|()| expected)
        }
    };
    match expected {
        Ok(expected) => Some(expected),
        Err(error) => {
            errors.push(error);
            Some(None)
        }
    }
}

/// Removes the `#[container(...)]` attributes from the parameters of `sig` and parses them:
/// one entry per parameter, `None` where a parameter has none.
pub(crate) fn take_container_attrs(
    sig: &mut Signature,
    errors: &mut Errors,
) -> Vec<Option<ContainerArgs>> {
    sig.inputs
        .iter_mut()
        .map(|input| {
            let attrs = match input {
                FnArg::Receiver(receiver) => &mut receiver.attrs,
                FnArg::Typed(typed) => &mut typed.attrs,
            };
            let (ours, others) = mem::take(attrs)
                .into_iter()
                .partition::<Vec<_>, _>(|attr| attr.path().is_ident("container"));
            *attrs = others;
            let mut ours = ours.iter();
            let first = ours.next().map(|attr| container_attr(attr, errors));
            for extra in ours {
                errors.at(
                    extra.path().span(),
                    "more than one `#[container(...)]` on this parameter",
                );
            }
            first
        })
        .collect()
}

fn container_attr(attr: &Attribute, errors: &mut Errors) -> ContainerArgs {
    let origin = attr.path().span();
    match &attr.meta {
        Meta::List(list) => container_args(list.tokens.clone(), origin, errors),
        Meta::Path(_) => ContainerArgs::new(origin),
        Meta::NameValue(name_value) => {
            errors.at(
                name_value.eq_token.span,
                "expected `#[container(...)]`, like `#[container(image = \"alpine\")]`",
            );
            ContainerArgs {
                malformed: true,
                ..ContainerArgs::new(origin)
            }
        }
    }
}

/// Parses the arguments of one `#[container(...)]`.
pub(crate) fn container_args(
    tokens: TokenStream,
    origin: Span,
    errors: &mut Errors,
) -> ContainerArgs {
    let mut args = ContainerArgs::new(origin);
    let found = parse_entries(tokens, |ident, meta, errors| {
        if args.entry(ident, meta, errors)? {
            Ok(())
        } else if ident == "crate" {
            Err(Error::new(
                ident.span(),
                "`crate` goes in `#[docker_test(...)]`, not in `#[container(...)]`",
            ))
        } else {
            Err(unknown_key(ident, false))
        }
    });
    args.malformed = !found.is_empty();
    errors.append(found);
    args
}

impl ContainerArgs {
    fn new(origin: Span) -> Self {
        ContainerArgs {
            origin,
            given: false,
            malformed: false,
            args: Vec::new(),
        }
    }

    /// The first entry of the key called `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&Arg> {
        self.args.iter().find(|arg| arg.key.name == name)
    }

    /// Parses the entry starting with `ident` as its row says; `Ok(false)` when `ident` is no
    /// container key.
    fn entry(
        &mut self,
        ident: &Ident,
        meta: &ParseNestedMeta,
        errors: &mut Errors,
    ) -> syn::Result<bool> {
        self.given = true;
        let Some(key) = keys::find(&ident.to_string()) else {
            return Ok(false);
        };
        let value = match key.kind {
            Kind::Image
            | Kind::File
            | Kind::Directory
            | Kind::Text
            | Kind::AbsolutePath
            | Kind::Choice(..) => Value::Str(string(meta, ident)?),
            Kind::Command | Kind::Strings | Kind::Paths => Value::List(strings(meta, ident)?),
            Kind::Mounts => Value::Mounts(mounts(meta, ident, errors)?),
            Kind::Pairs(_) => Value::Pairs(pairs(meta, ident)?),
            Kind::Ports => Value::Ports(ports(meta, ident, errors)?),
            Kind::Wait => Value::Wait(syn::parse2(value(meta, ident)?)?),
            Kind::Duration => Value::Millis(duration(meta, ident)?),
            Kind::Size => Value::Bytes(size(meta, ident)?),
            Kind::Flag => flag(meta, ident)?,
        };
        let repeatable = matches!(key.kind, Kind::Pairs(_));
        if !repeatable && self.get(key.name).is_some() {
            errors.at(ident.span(), format!("`{ident}` set more than once"));
        } else {
            self.args.push(Arg {
                key,
                ident: ident.clone(),
                value,
            });
        }
        Ok(true)
    }
}

/// Runs `entry` on each `key ...` entry of `tokens` and returns the errors found. A failing
/// entry is skipped up to the next comma, so the entries after it are still checked.
fn parse_entries(
    tokens: TokenStream,
    mut entry: impl FnMut(&Ident, &ParseNestedMeta, &mut Errors) -> syn::Result<()>,
) -> Errors {
    let mut errors = Errors::default();
    let parsed = syn::meta::parser(|meta| {
        let result = entry_key(&meta.path).and_then(|key| entry(&key, &meta, &mut errors));
        if let Err(error) = result {
            errors.push(error);
            rest_of_entry(meta.input)?;
        }
        Ok(())
    })
    .parse2(tokens);
    if let Err(error) = parsed {
        errors.push(error);
    }
    errors
}

fn entry_key(path: &Path) -> syn::Result<Ident> {
    path.get_ident()
        .cloned()
        .ok_or_else(|| Error::new_spanned(path, "expected an argument name, like `image`"))
}

fn unknown_key(key: &Ident, top_level: bool) -> Error {
    let mut accepted: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
    if top_level {
        accepted.push("crate");
    }
    let written = key.to_string();
    // A typo is the usual cause: name the one key it is close to rather than all of them. Optimal
    // string alignment counts a swap of two letters (`imgae`) as one edit.
    let closest = accepted
        .iter()
        .map(|name| (strsim::osa_distance(&written, name), *name))
        .filter(|(distance, name)| *distance <= (name.len() / 3).max(1))
        .min_by_key(|(distance, _)| *distance);
    let message = match closest {
        Some((_, name)) => format!("unknown argument `{written}`; did you mean `{name}`?"),
        None => {
            let listed: Vec<String> = accepted.iter().map(|name| format!("`{name}`")).collect();
            format!(
                "unknown argument `{written}`; expected one of {}",
                listed.join(", ")
            )
        }
    };
    Error::new(key.span(), message)
}

/// The tokens up to the next comma at this level (token trees keep brackets whole).
fn rest_of_entry(input: ParseStream) -> syn::Result<TokenStream> {
    input.step(|cursor| {
        let mut rest = *cursor;
        let mut tokens = TokenStream::new();
        while let Some((tree, next)) = rest.token_tree() {
            if matches!(&tree, TokenTree::Punct(punct) if punct.as_char() == ',') {
                break;
            }
            tokens.extend([tree]);
            rest = next;
        }
        Ok((tokens, rest))
    })
}

/// The value of `key = value`, as tokens to parse on their own.
fn value(meta: &ParseNestedMeta, key: &Ident) -> syn::Result<TokenStream> {
    meta.value()?;
    let tokens = rest_of_entry(meta.input)?;
    if tokens.is_empty() {
        return Err(Error::new(
            key.span(),
            format!("expected a value after `{key} =`"),
        ));
    }
    Ok(tokens)
}

/// A bare `key`: anything after it but the next entry (`= true`, `(...)`) is an error.
fn flag(meta: &ParseNestedMeta, key: &Ident) -> syn::Result<Value> {
    if meta.input.is_empty() || meta.input.peek(Token![,]) {
        return Ok(Value::Flag);
    }
    Err(meta.input.error(format!(
        "`{key}` takes no value: write `{key}` alone to turn it on, leave it out to turn it off"
    )))
}

fn string(meta: &ParseNestedMeta, key: &Ident) -> syn::Result<LitStr> {
    syn::parse2(value(meta, key)?)
}

/// `key = ["a", "b"]`.
fn strings(meta: &ParseNestedMeta, key: &Ident) -> syn::Result<Vec<LitStr>> {
    let list = |input: ParseStream| {
        expect_list(input, key, "\"a\", \"b\"")?;
        let content;
        bracketed!(content in input);
        Punctuated::<LitStr, Token![,]>::parse_terminated(&content)
    };
    Ok(list.parse2(value(meta, key)?)?.into_iter().collect())
}

fn expect_list(input: ParseStream, key: &Ident, example: &str) -> syn::Result<()> {
    if input.peek(token::Bracket) {
        Ok(())
    } else {
        Err(input.error(format!("expected a list, like `{key} = [{example}]`")))
    }
}

/// `ports = [8080, 5432]`; each bad element is its own error.
fn ports(meta: &ParseNestedMeta, key: &Ident, errors: &mut Errors) -> syn::Result<Vec<Port>> {
    let list = |input: ParseStream| {
        expect_list(input, key, "8080, 5432")?;
        let content;
        bracketed!(content in input);
        Punctuated::<Expr, Token![,]>::parse_terminated(&content)
    };
    let elements = list.parse2(value(meta, key)?)?;
    Ok(elements
        .iter()
        .filter_map(|element| port(element).map_err(|error| errors.push(error)).ok())
        .collect())
}

fn port(element: &Expr) -> syn::Result<Port> {
    match element {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => port_number(int),
        _ => Err(Error::new_spanned(
            element,
            "expected a port number, an integer from 1 to 65535",
        )),
    }
}

fn port_number(int: &LitInt) -> syn::Result<Port> {
    match int.base10_parse::<u16>() {
        Ok(number) if number != 0 => Ok(Port {
            number,
            span: int.span(),
        }),
        _ => Err(Error::new(
            int.span(),
            format!("port {int} is out of range: expected 1 to 65535"),
        )),
    }
}

/// `key = "text"`, read by one of `dockside-syntax`'s parsers.
fn syntax<T, E: std::fmt::Display>(
    meta: &ParseNestedMeta,
    key: &Ident,
    what: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> syn::Result<T> {
    let lit = string(meta, key)?;
    parse(&lit.value()).map_err(|reason| {
        Error::new(
            lit.span(),
            format!("invalid {what} `{}`: {reason}", lit.value()),
        )
    })
}

fn duration(meta: &ParseNestedMeta, key: &Ident) -> syn::Result<u64> {
    let duration = syntax(meta, key, "duration", dockside_syntax::parse_duration)?;
    // Parsed from a sum of milliseconds held in a u64, so it fits.
    Ok(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

fn size(meta: &ParseNestedMeta, key: &Ident) -> syn::Result<u64> {
    syntax(meta, key, "memory size", dockside_syntax::parse_size)
}

/// `mounts = ["host:/container:ro"]`; each bad element is its own error.
fn mounts(
    meta: &ParseNestedMeta,
    key: &Ident,
    errors: &mut Errors,
) -> syn::Result<Vec<(LitStr, Mount)>> {
    Ok(strings(meta, key)?
        .into_iter()
        .filter_map(|lit| match dockside_syntax::parse_mount(&lit.value()) {
            Ok(mount) => Some((lit, mount)),
            Err(reason) => {
                errors.at(
                    lit.span(),
                    format!("invalid mount `{}`: {reason}", lit.value()),
                );
                None
            }
        })
        .collect())
}

fn crate_path(meta: &ParseNestedMeta, key: &Ident) -> syn::Result<Path> {
    let lit = string(meta, key)?;
    lit.parse_with(Path::parse_mod_style).map_err(|_| {
        Error::new(
            lit.span(),
            format!(
                "invalid crate path `{}`: expected a path, like `dockside` or `::my_dockside`",
                lit.value()
            ),
        )
    })
}

/// `key(NAME = "value", ...)`.
fn pairs(meta: &ParseNestedMeta, key: &Ident) -> syn::Result<Vec<Pair>> {
    // Parsed as tokens of its own so an error inside leaves no half-read group behind.
    let list = |input: ParseStream| {
        if !input.peek(token::Paren) {
            return Err(Error::new(
                key.span(),
                format!("expected `{key}(NAME = \"value\", ...)`"),
            ));
        }
        let content;
        parenthesized!(content in input);
        Punctuated::<Pair, Token![,]>::parse_terminated(&content)
    };
    Ok(list
        .parse2(rest_of_entry(meta.input)?)?
        .into_iter()
        .collect())
}

impl syn::parse::Parse for Pair {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key = if input.peek(LitStr) {
            input.parse()?
        } else if input.peek(Ident::peek_any) {
            let name = Ident::parse_any(input)?;
            LitStr::new(&name.unraw().to_string(), name.span())
        } else {
            return Err(input.error("expected `NAME = \"value\"`"));
        };
        input.parse::<Token![=]>()?;
        let value = input.parse()?;
        Ok(Pair { key, value })
    }
}

impl syn::parse::Parse for Wait {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        const EXPECTED: &str =
            "expected `port(..)`, `log(..)`, `healthy`, `http(..)`, `custom(..)` or `exit(..)`";
        let kind = Ident::parse_any(input).map_err(|error| Error::new(error.span(), EXPECTED))?;
        match kind.to_string().as_str() {
            "healthy" => Ok(Wait::Healthy),
            "port" => in_parens(input, &kind, "port(8080)", |content| {
                port_number(&content.parse()?).map(Wait::Port)
            }),
            "log" => in_parens(input, &kind, "log(\"ready\")", |content| {
                content.parse().map(Wait::Log)
            }),
            "http" => in_parens(input, &kind, "http(8080, \"/health\")", |content| {
                let port = port_number(&content.parse()?)?;
                content.parse::<Token![,]>()?;
                Ok(Wait::Http(port, content.parse()?))
            }),
            "custom" => in_parens(input, &kind, "custom(path::to::probe)", |content| {
                Path::parse_mod_style(content).map(Wait::Custom)
            }),
            "exit" => in_parens(input, &kind, "exit(0)", |content| {
                let code: LitInt = content.parse()?;
                code.base10_parse::<i32>()?;
                Ok(Wait::Exit(code))
            }),
            _ => Err(Error::new(
                kind.span(),
                format!("unknown wait `{kind}`; {EXPECTED}"),
            )),
        }
    }
}

/// The parenthesized arguments of a wait kind, parsed with `parse` and fully consumed.
fn in_parens<T>(
    input: ParseStream,
    kind: &Ident,
    usage: &str,
    parse: impl FnOnce(ParseStream) -> syn::Result<T>,
) -> syn::Result<T> {
    if !input.peek(token::Paren) {
        return Err(Error::new(kind.span(), format!("expected `{usage}`")));
    }
    let content;
    parenthesized!(content in input);
    let value = parse(&content)?;
    if !content.is_empty() {
        return Err(content.error(format!("expected `{usage}`")));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use quote::quote;
    use syn::parse_quote;

    use super::*;

    fn parse(tokens: TokenStream) -> (TestArgs, Vec<String>) {
        let mut errors = Errors::default();
        let args = test_args(tokens, &mut errors);
        (args, errors.messages())
    }

    fn image(args: &ContainerArgs) -> Option<String> {
        match &args.get("image")?.value {
            Value::Str(lit) => Some(lit.value()),
            _ => None,
        }
    }

    #[test]
    fn crate_alone_gives_no_container() {
        let (args, errors) = parse(quote!(crate = "::my::dockside"));
        assert!(errors.is_empty());
        assert!(!args.container.given);
        let (args, errors) = parse(TokenStream::new());
        assert!(errors.is_empty() && !args.container.given && args.krate.is_none());
    }

    #[test]
    fn a_misspelt_key_gets_the_closest_one() {
        let (_, errors) = parse(quote!(imgae = "x"));
        assert_eq!(errors, ["unknown argument `imgae`; did you mean `image`?"]);
        let (_, errors) = parse(quote!(prots = [80]));
        assert_eq!(errors, ["unknown argument `prots`; did you mean `ports`?"]);
        let (_, errors) = parse(quote!(crat = "x"));
        assert_eq!(errors, ["unknown argument `crat`; did you mean `crate`?"]);
    }

    #[test]
    fn a_flag_is_a_bare_word() {
        let (args, errors) = parse(quote!(image = "x", shared));
        assert!(errors.is_empty(), "{errors:?}");
        assert!(matches!(
            args.container.get("shared").unwrap().value,
            Value::Flag
        ));
        let taken = "`shared` takes no value: write `shared` alone to turn it on, leave it out \
                     to turn it off";
        let (args, errors) = parse(quote!(shared = true, image = "x"));
        assert_eq!(errors, [taken]);
        assert!(args.container.get("shared").is_none() && args.container.get("image").is_some());
        let (_, errors) = parse(quote!(shared(), shared));
        assert_eq!(errors, [taken]);
        let (_, errors) = parse(quote!(shared, shared));
        assert_eq!(errors, ["`shared` set more than once"]);
    }

    #[test]
    fn reports_every_bad_entry_and_keeps_the_good_ones() {
        let (args, errors) = parse(quote! {
            image = 5, ports = [0, "x", 80, 70000], bogus = [1, 2], cmd = "x", env = "A",
            wait = port, user, workdir =, tmpfs = ["/t"], image = "a", image = "b",
        });
        assert_eq!(
            errors,
            [
                "expected string literal",
                "port 0 is out of range: expected 1 to 65535",
                "expected a port number, an integer from 1 to 65535",
                "port 70000 is out of range: expected 1 to 65535",
                "unknown argument `bogus`; expected one of `image`, `dockerfile`, `context`, \
                 `target`, `build_arg`, `cmd`, `entrypoint`, `env`, `labels`, `ports`, `wait`, \
                 `healthcheck`, `startup_timeout`, `user`, `workdir`, `tmpfs`, `mounts`, `memory`, `pull`, \
                 `shared`, `crate`",
                "expected a list, like `cmd = [\"a\", \"b\"]`",
                "expected `env(NAME = \"value\", ...)`",
                "expected `port(8080)`",
                "expected `=`",
                "expected a value after `workdir =`",
                "`image` set more than once",
            ]
        );
        let ports = match &args.container.get("ports").unwrap().value {
            Value::Ports(ports) => ports.iter().map(|p| p.number).collect::<Vec<_>>(),
            _ => unreachable!(),
        };
        assert_eq!(ports, [80]);
        assert!(args.container.get("tmpfs").is_some());
        assert_eq!(image(&args.container).as_deref(), Some("a"));
        assert!(args.container.malformed);
    }

    #[test]
    fn pairs_add_up_and_mounts_are_typed() {
        let (args, errors) = parse(quote! {
            env(A = "b"), env(r#type = "c", "x.y" = "d"), mounts = ["src:/src:ro", "bad"],
        });
        assert_eq!(
            errors,
            [
                "invalid mount `bad`: a mount is `host:container`, `host:container:ro` or \
              `host:container:rw`"
            ]
        );
        let names: Vec<String> = args
            .container
            .args
            .iter()
            .flat_map(|arg| match &arg.value {
                Value::Pairs(pairs) => pairs.iter().map(|p| p.key.value()).collect(),
                _ => Vec::new(),
            })
            .collect();
        assert_eq!(names, ["A", "type", "x.y"]);
        let Value::Mounts(mounts) = &args.container.get("mounts").unwrap().value else {
            unreachable!()
        };
        let (host, container, read_only) = (
            &mounts[0].1.host,
            &mounts[0].1.container,
            mounts[0].1.read_only,
        );
        assert_eq!(
            (host.as_str(), container.as_str(), read_only),
            ("src", "/src", true)
        );
    }

    #[test]
    fn an_error_inside_a_group_does_not_leak() {
        let (args, errors) = parse(quote!(env(A = 1, B = "c"), image = "x"));
        assert_eq!(errors, ["expected string literal"]);
        assert!(image(&args.container).is_some());
        let (_, errors) = parse(quote!(labels(a.b = "c")));
        assert_eq!(errors, ["expected `=`"]);
        let (_, errors) = parse(quote!(ports = [80 81]));
        assert_eq!(errors, ["expected `,`"]);
    }

    #[test]
    fn container_attributes_are_taken_from_parameters() {
        let mut sig: Signature = parse_quote! {
            fn f(
                #[container(image = "a")] #[allow(unused)] one: Container,
                two: Container,
                #[container(image = "b")] #[container(image = "c")] three: Container,
                #[container] four: Container,
                #[container = "x"] five: Container,
            )
        };
        let mut errors = Errors::default();
        let params = take_container_attrs(&mut sig, &mut errors);
        assert_eq!(
            errors.messages(),
            [
                "more than one `#[container(...)]` on this parameter",
                "expected `#[container(...)]`, like `#[container(image = \"alpine\")]`",
            ]
        );
        let images: Vec<Option<String>> =
            params.iter().map(|p| p.as_ref().and_then(image)).collect();
        assert_eq!(
            images,
            [Some("a".into()), None, Some("b".into()), None, None]
        );
        assert!(params[4].as_ref().unwrap().malformed);
        assert!(!params[3].as_ref().unwrap().malformed);
        let remaining: Vec<usize> = sig
            .inputs
            .iter()
            .map(|input| match input {
                FnArg::Typed(typed) => typed.attrs.len(),
                FnArg::Receiver(_) => unreachable!(),
            })
            .collect();
        assert_eq!(remaining, [1, 0, 0, 0, 0]);
    }

    #[test]
    fn crate_is_top_level_only() {
        let mut errors = Errors::default();
        let args = container_args(
            quote!(crate = "x", image = "a"),
            Span::call_site(),
            &mut errors,
        );
        assert_eq!(
            errors.messages(),
            ["`crate` goes in `#[docker_test(...)]`, not in `#[container(...)]`"]
        );
        assert!(image(&args).is_some() && args.malformed);
        let mut errors = Errors::default();
        container_args(quote!(nope = 1), Span::call_site(), &mut errors);
        assert!(!errors.messages()[0].contains("`crate`"));
    }
}
