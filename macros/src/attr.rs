//! Parsing: the tokens of `#[docker_test(...)]` and `#[container(...)]` into typed arguments.
//!
//! This module turns tokens into values (strings, lists, port numbers, durations, byte sizes)
//! and rejects what cannot become one: a wrong literal, an unknown or repeated key. Rules about
//! the values (the image grammar, files on disk, which keys need which) live in `valid.rs`.
//!
//! Each `key ...` entry is parsed on its own, so one bad entry does not hide the errors of the
//! others: its error is recorded and parsing resumes after the next comma.

use std::mem;

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
use crate::units;

/// The keys a container accepts, in `#[docker_test(...)]` and in `#[container(...)]`.
pub(crate) const CONTAINER_KEYS: &[&str] = &[
    "image",
    "dockerfile",
    "context",
    "target",
    "build_arg",
    "cmd",
    "entrypoint",
    "env",
    "labels",
    "ports",
    "wait",
    "healthcheck",
    "startup_timeout",
    "user",
    "workdir",
    "tmpfs",
    "mounts",
    "memory",
];

/// One `key = value` (or `key(...)`) entry: the key, kept for spans, and its parsed value.
pub(crate) struct Arg<T> {
    pub(crate) key: Ident,
    pub(crate) value: T,
}

/// `#[docker_test(...)]`: the runtime's path and the container arguments given at top level.
pub(crate) struct TestArgs {
    pub(crate) krate: Option<Arg<Path>>,
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
    pub(crate) image: Option<Arg<LitStr>>,
    pub(crate) dockerfile: Option<Arg<LitStr>>,
    pub(crate) context: Option<Arg<LitStr>>,
    pub(crate) target: Option<Arg<LitStr>>,
    pub(crate) build_args: Vec<Arg<Vec<Pair>>>,
    pub(crate) cmd: Option<Arg<Vec<LitStr>>>,
    pub(crate) entrypoint: Option<Arg<Vec<LitStr>>>,
    pub(crate) env: Vec<Arg<Vec<Pair>>>,
    pub(crate) labels: Vec<Arg<Vec<Pair>>>,
    pub(crate) ports: Option<Arg<Vec<Port>>>,
    pub(crate) wait: Option<Arg<Wait>>,
    pub(crate) healthcheck: Option<Arg<Vec<LitStr>>>,
    /// Milliseconds.
    pub(crate) startup_timeout: Option<Arg<u64>>,
    pub(crate) user: Option<Arg<LitStr>>,
    pub(crate) workdir: Option<Arg<LitStr>>,
    pub(crate) tmpfs: Option<Arg<Vec<LitStr>>>,
    /// `"host:container[:ro|:rw]"` bind mounts.
    pub(crate) mounts: Option<Arg<Vec<LitStr>>>,
    /// Bytes.
    pub(crate) memory: Option<Arg<u64>>,
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
    let found = parse_entries(tokens, |key, meta, errors| {
        if key == "crate" {
            let path = crate_path(meta, key)?;
            set(&mut krate, key, path, errors);
            Ok(())
        } else if container.entry(key, meta, errors)? {
            Ok(())
        } else {
            Err(unknown_key(key, true))
        }
    });
    container.malformed = !found.is_empty();
    errors.append(found);
    TestArgs { krate, container }
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
    let found = parse_entries(tokens, |key, meta, errors| {
        if args.entry(key, meta, errors)? {
            Ok(())
        } else if key == "crate" {
            Err(Error::new(
                key.span(),
                "`crate` goes in `#[docker_test(...)]`, not in `#[container(...)]`",
            ))
        } else {
            Err(unknown_key(key, false))
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
            image: None,
            dockerfile: None,
            context: None,
            target: None,
            build_args: Vec::new(),
            cmd: None,
            entrypoint: None,
            env: Vec::new(),
            labels: Vec::new(),
            ports: None,
            wait: None,
            healthcheck: None,
            startup_timeout: None,
            user: None,
            workdir: None,
            tmpfs: None,
            mounts: None,
            memory: None,
        }
    }

    /// Parses the entry starting with `key`; `Ok(false)` when `key` is no container key.
    fn entry(
        &mut self,
        key: &Ident,
        meta: &ParseNestedMeta,
        errors: &mut Errors,
    ) -> syn::Result<bool> {
        self.given = true;
        match key.to_string().as_str() {
            "image" => set(&mut self.image, key, string(meta, key)?, errors),
            "dockerfile" => set(&mut self.dockerfile, key, string(meta, key)?, errors),
            "context" => set(&mut self.context, key, string(meta, key)?, errors),
            "target" => set(&mut self.target, key, string(meta, key)?, errors),
            "user" => set(&mut self.user, key, string(meta, key)?, errors),
            "workdir" => set(&mut self.workdir, key, string(meta, key)?, errors),
            "cmd" => set(&mut self.cmd, key, strings(meta, key)?, errors),
            "entrypoint" => set(&mut self.entrypoint, key, strings(meta, key)?, errors),
            "healthcheck" => set(&mut self.healthcheck, key, strings(meta, key)?, errors),
            "tmpfs" => set(&mut self.tmpfs, key, strings(meta, key)?, errors),
            "mounts" => set(&mut self.mounts, key, strings(meta, key)?, errors),
            "ports" => set(&mut self.ports, key, ports(meta, key, errors)?, errors),
            "wait" => set(&mut self.wait, key, syn::parse2(value(meta, key)?)?, errors),
            "startup_timeout" => set(&mut self.startup_timeout, key, duration(meta, key)?, errors),
            "memory" => set(&mut self.memory, key, memory(meta, key)?, errors),
            "env" => self.env.push(pairs(meta, key)?),
            "labels" => self.labels.push(pairs(meta, key)?),
            "build_arg" => self.build_args.push(pairs(meta, key)?),
            _ => return Ok(false),
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
    let mut accepted: Vec<String> = CONTAINER_KEYS.iter().map(|k| format!("`{k}`")).collect();
    if top_level {
        accepted.push("`crate`".to_owned());
    }
    Error::new(
        key.span(),
        format!(
            "unknown argument `{key}`; expected one of {}",
            accepted.join(", ")
        ),
    )
}

fn set<T>(slot: &mut Option<Arg<T>>, key: &Ident, value: T, errors: &mut Errors) {
    if slot.is_some() {
        errors.at(key.span(), format!("`{key}` set more than once"));
    } else {
        *slot = Some(Arg {
            key: key.clone(),
            value,
        });
    }
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

fn duration(meta: &ParseNestedMeta, key: &Ident) -> syn::Result<u64> {
    let lit = string(meta, key)?;
    units::duration_millis(&lit.value()).map_err(|reason| {
        Error::new(
            lit.span(),
            format!("invalid duration `{}`: {reason}", lit.value()),
        )
    })
}

fn memory(meta: &ParseNestedMeta, key: &Ident) -> syn::Result<u64> {
    let lit = string(meta, key)?;
    units::memory_bytes(&lit.value()).map_err(|reason| {
        Error::new(
            lit.span(),
            format!("invalid memory size `{}`: {reason}", lit.value()),
        )
    })
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
fn pairs(meta: &ParseNestedMeta, key: &Ident) -> syn::Result<Arg<Vec<Pair>>> {
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
    let pairs = list.parse2(rest_of_entry(meta.input)?)?;
    Ok(Arg {
        key: key.clone(),
        value: pairs.into_iter().collect(),
    })
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

    fn values(lits: &[LitStr]) -> Vec<String> {
        lits.iter().map(LitStr::value).collect()
    }

    fn pair_values(lists: &[Arg<Vec<Pair>>]) -> Vec<(String, String)> {
        lists
            .iter()
            .flat_map(|list| &list.value)
            .map(|pair| (pair.key.value(), pair.value.value()))
            .collect()
    }

    #[test]
    fn parses_every_key() {
        let (args, errors) = parse(quote! {
            image = "x:1", dockerfile = "d/Dockerfile", context = "d", target = "t",
            build_arg(V = "1"), build_arg("W" = "2"),
            cmd = ["sh", "-c", "x"], entrypoint = [], env(A = "b", r#type = "c"),
            labels("com.x.y" = "v"), ports = [8080, 5432], wait = http(8080, "/h"),
            healthcheck = ["/bin/check"], startup_timeout = "1m30s", user = "1000",
            workdir = "/srv", tmpfs = ["/tmp", "/run"], memory = "512m", crate = "dockside2",
        });
        assert_eq!(errors, Vec::<String>::new());
        let c = &args.container;
        assert!(c.given && !c.malformed);
        assert_eq!(c.image.as_ref().unwrap().value.value(), "x:1");
        assert_eq!(c.dockerfile.as_ref().unwrap().value.value(), "d/Dockerfile");
        assert_eq!(c.context.as_ref().unwrap().value.value(), "d");
        assert_eq!(c.target.as_ref().unwrap().value.value(), "t");
        assert_eq!(
            pair_values(&c.build_args),
            [("V".into(), "1".into()), ("W".into(), "2".into())]
        );
        assert_eq!(values(&c.cmd.as_ref().unwrap().value), ["sh", "-c", "x"]);
        assert!(c.entrypoint.as_ref().unwrap().value.is_empty());
        assert_eq!(
            pair_values(&c.env),
            [("A".into(), "b".into()), ("type".into(), "c".into())]
        );
        assert_eq!(pair_values(&c.labels), [("com.x.y".into(), "v".into())]);
        let ports: Vec<u16> = c
            .ports
            .as_ref()
            .unwrap()
            .value
            .iter()
            .map(|p| p.number)
            .collect();
        assert_eq!(ports, [8080, 5432]);
        assert!(matches!(
            &c.wait.as_ref().unwrap().value,
            Wait::Http(Port { number: 8080, .. }, path) if path.value() == "/h"
        ));
        assert_eq!(
            values(&c.healthcheck.as_ref().unwrap().value),
            ["/bin/check"]
        );
        assert_eq!(c.startup_timeout.as_ref().unwrap().value, 90_000);
        assert_eq!(c.user.as_ref().unwrap().value.value(), "1000");
        assert_eq!(c.workdir.as_ref().unwrap().value.value(), "/srv");
        assert_eq!(values(&c.tmpfs.as_ref().unwrap().value), ["/tmp", "/run"]);
        assert_eq!(c.memory.as_ref().unwrap().value, 512 << 20);
        let krate = &args.krate.unwrap().value;
        assert_eq!(quote!(#krate).to_string(), "dockside2");
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
    fn wait_kinds() {
        let wait = |tokens: TokenStream| syn::parse2::<Wait>(tokens).map_err(|e| e.to_string());
        assert!(matches!(
            wait(quote!(port(80))),
            Ok(Wait::Port(Port { number: 80, .. }))
        ));
        assert!(matches!(wait(quote!(log("ready")) ), Ok(Wait::Log(l)) if l.value() == "ready"));
        assert!(matches!(wait(quote!(healthy)), Ok(Wait::Healthy)));
        assert!(matches!(wait(quote!(custom(a::b))), Ok(Wait::Custom(p)) if p.segments.len() == 2));
        assert_eq!(
            wait(quote!(ready)).err().unwrap(),
            "unknown wait `ready`; expected `port(..)`, `log(..)`, `healthy`, `http(..)`, `custom(..)` or `exit(..)`"
        );
        assert_eq!(wait(quote!(port)).err().unwrap(), "expected `port(8080)`");
        assert_eq!(
            wait(quote!(port(80, 81))).err().unwrap(),
            "expected `port(8080)`"
        );
        assert!(wait(quote!(port(0)))
            .err()
            .unwrap()
            .contains("out of range"));
        assert!(wait(quote!(healthy())).is_err());
    }

    #[test]
    fn unknown_key_lists_the_accepted_ones() {
        let (args, errors) = parse(quote!(imag = "x"));
        assert_eq!(
            errors,
            [
                "unknown argument `imag`; expected one of `image`, `dockerfile`, `context`, \
              `target`, `build_arg`, `cmd`, `entrypoint`, `env`, `labels`, `ports`, `wait`, \
              `healthcheck`, `startup_timeout`, `user`, `workdir`, `tmpfs`, `mounts`, `memory`, `crate`"
            ]
        );
        assert!(args.container.given && args.container.malformed);
    }

    #[test]
    fn repeated_key_keeps_the_first() {
        let (args, errors) = parse(quote!(image = "a", image = "b", crate = "x", crate = "y"));
        assert_eq!(
            errors,
            ["`image` set more than once", "`crate` set more than once"]
        );
        assert_eq!(args.container.image.unwrap().value.value(), "a");
    }

    #[test]
    fn reports_every_bad_entry() {
        let (args, errors) = parse(quote! {
            image = 5, ports = [0, "x", 80, 70000], startup_timeout = "soon", memory = "lots",
            bogus = [1, 2], cmd = "x", env = "A", wait = port, user, workdir =, tmpfs = ["/t"],
        });
        assert_eq!(
            errors,
            [
                "expected string literal",
                "port 0 is out of range: expected 1 to 65535",
                "expected a port number, an integer from 1 to 65535",
                "port 70000 is out of range: expected 1 to 65535",
                "invalid duration `soon`: expected a number and a unit (`h`, `m`, `s` or `ms`), \
                 largest unit first, like `500ms`, `30s` or `1m30s`",
                "invalid memory size `lots`: expected a number of bytes with an optional `b`, \
                 `k`, `m` or `g` suffix, like `512m`",
                "unknown argument `bogus`; expected one of `image`, `dockerfile`, `context`, \
                 `target`, `build_arg`, `cmd`, `entrypoint`, `env`, `labels`, `ports`, `wait`, \
                 `healthcheck`, `startup_timeout`, `user`, `workdir`, `tmpfs`, `mounts`, `memory`, `crate`",
                "expected a list, like `cmd = [\"a\", \"b\"]`",
                "expected `env(NAME = \"value\", ...)`",
                "expected `port(8080)`",
                "expected `=`",
                "expected a value after `workdir =`",
            ]
        );
        // The good parts are kept.
        let ports: Vec<u16> = args
            .container
            .ports
            .unwrap()
            .value
            .iter()
            .map(|p| p.number)
            .collect();
        assert_eq!(ports, [80]);
        assert!(args.container.tmpfs.is_some());
    }

    #[test]
    fn an_error_inside_a_group_does_not_leak() {
        let (args, errors) = parse(quote!(env(A = 1, B = "c"), image = "x"));
        assert_eq!(errors, ["expected string literal"]);
        assert!(args.container.image.is_some());
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
        let images: Vec<Option<String>> = params
            .iter()
            .map(|p| {
                p.as_ref()
                    .and_then(|a| a.image.as_ref())
                    .map(|i| i.value.value())
            })
            .collect();
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
        assert!(args.image.is_some() && args.malformed);
        let mut errors = Errors::default();
        container_args(quote!(nope = 1), Span::call_site(), &mut errors);
        assert!(!errors.messages()[0].contains("`crate`"));
    }
}
