//! Reading: the tokens of `#[docker_test(...)]`, `#[container(...)]` and `#[should_panic]` into
//! the builder calls each entry makes, each value checked on the way as its row in `keys.rs`
//! says. Rules that relate several keys, or keys and the function, are in `valid.rs`.
//!
//! A value is read as a Rust expression (`"text"`, `[a, b]`, `port(8080)`, `A = "b"` inside
//! `env(...)`) and then taken apart as its key's kind says. Each `key ...` entry is read on its
//! own, so one bad entry does not hide the errors of the others: its error is recorded and
//! reading resumes after the next comma.

use std::collections::HashSet;
use std::fmt::Display;
use std::path::Path;

use proc_macro2::{Literal, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{parenthesized, Attribute, Error, Expr, FnArg, Ident, Lit, LitInt, LitStr, Meta, Token};

use crate::keys::{find, Key, Kind, KEYS, TEST_KEYS};

type Result<T = ()> = syn::Result<T>;

/// Where relative paths are looked for, and the errors found so far: the tokens that are not
/// what a key takes (`parse`) apart from the values read well that break a rule (`checks`), so
/// that each kind is reported together, the malformed ones first.
#[derive(Default)]
pub(crate) struct Ctx<'a> {
    pub(crate) manifest_dir: Option<&'a Path>,
    pub(crate) parse: Vec<Error>,
    pub(crate) checks: Vec<Error>,
}

impl Ctx<'_> {
    fn check(&mut self, span: Span, message: impl Display) {
        self.checks.push(Error::new(span, message));
    }

    /// Checks `lit` against a rule of `dockside-syntax`, which words the message.
    fn rule(&mut self, lit: &LitStr, rule: fn(&str) -> std::result::Result<(), String>) {
        let broken = rule(&lit.value()).err();
        self.checks
            .extend(broken.map(|message| Error::new(lit.span(), message)));
    }
}

/// An error at `span`, as a `Result`.
fn fail<T>(span: Span, message: impl Display) -> Result<T> {
    Err(Error::new(span, message))
}

/// One entry: its row, the key as written (for spans), its builder calls, and what the rules
/// across keys read.
pub(crate) struct Arg {
    pub(crate) key: &'static Key,
    pub(crate) ident: Ident,
    /// The arguments of each call of the row's method (for `crate`, the runtime's path). Paths
    /// into the runtime start at `__dockside`, which the expansion makes name the runtime's root.
    pub(crate) calls: Vec<TokenStream>,
    /// What the rules across keys read, spanned where written: the ports listed (`ports`) or
    /// awaited (`wait`), the names of `env`, `labels` or `build_arg` pairs, a
    /// [`Kind::Choice`] key's word.
    pub(crate) values: Vec<LitStr>,
}

/// The entries of one attribute.
pub(crate) struct Args {
    /// Where to point errors about the attribute as a whole.
    pub(crate) origin: Span,
    /// Some container key was written (for `#[docker_test]`: the top level configures one).
    pub(crate) given: bool,
    /// Reading failed somewhere, so rules across keys would only add noise.
    pub(crate) malformed: bool,
    /// In the order written; only [`Kind::Pairs`] keys appear more than once.
    pub(crate) args: Vec<Arg>,
}

impl Args {
    /// The entries of the key called `name`.
    pub(crate) fn of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Arg> + Clone {
        self.args.iter().filter(move |arg| arg.key.name == name)
    }

    /// Reads one `key ...` entry (`top`: of `#[docker_test(...)]`, which also takes the test's
    /// keys) and records it, unless it repeats a key that may appear once.
    fn entry(&mut self, meta: &ParseNestedMeta, top: bool, ctx: &mut Ctx) -> Result {
        let Some(ident) = meta.path.get_ident() else {
            return Err(meta.error("expected an argument name, like `image`"));
        };
        let test_key = find(TEST_KEYS, ident);
        if !top && test_key.is_some() {
            let message =
                format!("`{ident}` goes in `#[docker_test(...)]`, not in `#[container(...)]`");
            return fail(ident.span(), message);
        }
        self.given |= test_key.is_none();
        let Some(key) = test_key.or_else(|| find(KEYS, ident)) else {
            return Err(unknown_key(ident, top));
        };
        let repeat = !matches!(key.kind, Kind::Pairs(_)) && self.of(key.name).next().is_some();
        let checked = ctx.checks.len();
        let mut arg = Arg {
            key,
            ident: ident.clone(),
            calls: Vec::new(),
            values: Vec::new(),
        };
        value(&mut arg, meta, ctx)?;
        if repeat {
            // The first one counts; this one's value is not checked.
            ctx.checks.truncate(checked);
            return fail(ident.span(), format!("`{ident}` set more than once"));
        }
        self.args.push(arg);
        Ok(())
    }
}

/// Reads the entries of `#[docker_test(...)]` (`top`) or of a `#[container(...)]` written at
/// `origin`. A failing entry is skipped up to the next comma, so the entries after it are still
/// read.
pub(crate) fn read(tokens: TokenStream, origin: Span, top: bool, ctx: &mut Ctx) -> Args {
    let mut args = Args {
        origin,
        given: false,
        malformed: false,
        args: Vec::new(),
    };
    let before = ctx.parse.len();
    let parsed = syn::meta::parser(|meta| {
        if let Err(error) = args.entry(&meta, top, ctx) {
            ctx.parse.push(error);
            rest_of_entry(meta.input)?;
        }
        Ok(())
    })
    .parse2(tokens);
    ctx.parse.extend(parsed.err());
    args.malformed = ctx.parse.len() > before;
    args
}

/// Removes the `#[container(...)]` attributes from the parameters of `sig` and reads them:
/// one entry per parameter, `None` where a parameter has none.
pub(crate) fn take_container_attrs(sig: &mut syn::Signature, ctx: &mut Ctx) -> Vec<Option<Args>> {
    let mut taken = Vec::new();
    for input in &mut sig.inputs {
        let attrs = match input {
            FnArg::Receiver(receiver) => &mut receiver.attrs,
            FnArg::Typed(typed) => &mut typed.attrs,
        };
        let mut ours = attrs.extract_if(.., |attr| attr.path().is_ident("container"));
        let first = ours.next();
        for extra in ours {
            let message = "more than one `#[container(...)]` on this parameter";
            ctx.parse.push(Error::new(extra.path().span(), message));
        }
        taken.push(first.map(|attr| {
            let tokens = attr.meta.require_list().map(|list| list.tokens.clone());
            let mut args = read(tokens.unwrap_or_default(), attr.path().span(), false, ctx);
            if let Meta::NameValue(name_value) = &attr.meta {
                let like = "expected `#[container(...)]`, like `#[container(image = \"alpine\")]`";
                ctx.parse.push(Error::new(name_value.eq_token.span, like));
                args.malformed = true;
            }
            args
        }));
    }
    taken
}

/// Removes the function's `#[should_panic]` from `attrs`: `Some(expected)` when it has one,
/// `expected` holding the substring of `#[should_panic(expected = "...")]` or
/// `#[should_panic = "..."]`. The expansion hands it to the runtime, which judges only the
/// body's panic: left to libtest, a set-up failure would satisfy it (and on an error, when the
/// function is no test, rustc would report a malformed one a second time).
pub(crate) fn should_panic(attrs: &mut Vec<Attribute>, ctx: &mut Ctx) -> Option<Option<LitStr>> {
    let mut found = attrs.extract_if(.., |attr| attr.path().is_ident("should_panic"));
    let first = found.next()?;
    for extra in found {
        let message = "more than one `#[should_panic]` on this function";
        ctx.parse.push(Error::new(extra.path().span(), message));
    }
    let expected = match &first.meta {
        Meta::Path(_) => Ok(None),
        Meta::NameValue(name_value) => lit_str(&name_value.value).map(Some),
        Meta::List(list) => list.parse_args_with(|input: ParseStream| match input.parse()? {
            Expr::Assign(assign) if is_ident(&assign.left, "expected") => {
                lit_str(&assign.right).map(Some)
            }
            other => fail(other.span(), ""),
        }),
    };
    let like = "expected `#[should_panic]` or `#[should_panic(expected = \"...\")]`";
    Some(expected.unwrap_or_else(|error| {
        ctx.parse.push(Error::new(error.span(), like));
        None
    }))
}

fn unknown_key(key: &Ident, top_level: bool) -> Error {
    let test_keys = TEST_KEYS.iter().filter(|_| top_level);
    let accepted: Vec<&str> = KEYS.iter().chain(test_keys).map(|key| key.name).collect();
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
            let accepted = accepted.join("`, `");
            format!("unknown argument `{written}`; expected one of `{accepted}`")
        }
    };
    Error::new(key.span(), message)
}

/// Reads the value of `arg`'s key as its kind says, checks it, and records its calls.
fn value(arg: &mut Arg, meta: &ParseNestedMeta, ctx: &mut Ctx) -> Result {
    let (key, kind) = (arg.ident.clone(), arg.key.kind);
    if let Kind::Pairs(_) = kind {
        let group = |input: ParseStream| {
            if !input.peek(syn::token::Paren) {
                let message = format!("expected `{key}(NAME = \"value\", ...)`");
                return fail(key.span(), message);
            }
            let content;
            parenthesized!(content in input);
            Punctuated::<Expr, Token![,]>::parse_terminated(&content)
        };
        for pair in group.parse2(rest_of_entry(meta.input)?)? {
            let Expr::Assign(pair) = pair else {
                return fail(pair.span(), "expected `NAME = \"value\"`");
            };
            let name = match *pair.left {
                Expr::Path(path) if path.path.get_ident().is_some() => {
                    let name = &path.path.segments[0].ident;
                    LitStr::new(&name.unraw().to_string(), name.span())
                }
                left => {
                    lit_str(&left).or_else(|_| fail(left.span(), "expected `NAME = \"value\"`"))?
                }
            };
            let value = pair.right;
            arg.calls.push(quote!(#name, #value));
            arg.values.push(name);
        }
        return Ok(());
    }
    if kind == Kind::Flag {
        // A bare word: anything after it but the next entry (`= true`, `(...)`) is an error.
        if !(meta.input.is_empty() || meta.input.peek(Token![,])) {
            let message = format!(
                "`{key}` takes no value: write `{key}` alone to turn it on, leave it out to \
                 turn it off"
            );
            return fail(meta.input.span(), message);
        }
        arg.calls.push(TokenStream::new());
        return Ok(());
    }
    meta.value()?;
    let expr: Expr = syn::parse2(rest_of_entry(meta.input)?)?;
    let call = match kind {
        Kind::Strings(_) | Kind::Paths | Kind::Mounts | Kind::Ports => {
            let Expr::Array(list) = &expr else {
                let example = match kind {
                    Kind::Ports => "8080, 5432",
                    _ => "\"a\", \"b\"",
                };
                let message = format!("expected a list, like `{key} = [{example}]`");
                return fail(expr.span(), message);
            };
            return list_value(arg, list, ctx);
        }
        Kind::Wait => return wait(&expr, arg, ctx),
        Kind::Count => count(&expr, &key, ctx)?.into_token_stream(),
        Kind::Duration if lit_int(&expr, "").is_ok() => {
            // The unit is the usual omission: `startup_timeout = 5`.
            let like = format!("`{key} = \"{}s\"`", expr.to_token_stream());
            let message = format!("expected a duration string with a unit, like {like}");
            return fail(expr.span(), message);
        }
        _ => string_value(arg, lit_str(&expr)?, ctx)?,
    };
    arg.calls.push(call);
    Ok(())
}

/// The call of a key written as one string literal.
fn string_value(arg: &mut Arg, lit: LitStr, ctx: &mut Ctx) -> Result<TokenStream> {
    let (key, text, span) = (&arg.ident, lit.value(), lit.span());
    let syntax =
        |reason: &dyn Display, what| Error::new(span, format!("invalid {what} `{text}`: {reason}"));
    match arg.key.kind {
        Kind::Image => {
            if let Err(reason) = dockside_syntax::parse_reference(&text) {
                // Valid once lower-cased: the case was the only fault.
                let fix = dockside_syntax::lowercased(&text);
                let hint = fix.map_or(String::new(), |fix| format!("; did you mean `{fix}`?"));
                let message = format!("invalid image reference `{text}`: {reason}{hint}");
                ctx.check(span, message);
            }
        }
        Kind::Local(want) => in_crate(ctx, span, &key.to_string(), &text, want),
        Kind::Text if text.is_empty() => ctx.check(span, format!("`{key}` must not be empty")),
        Kind::AbsolutePath => ctx.rule(&lit, dockside_syntax::container_path),
        Kind::Crate => {
            let Ok(path) = lit.parse_with(syn::Path::parse_mod_style) else {
                let like = "expected a path, like `dockside` or `::my_dockside`";
                return fail(span, format!("invalid crate path `{text}`: {like}"));
            };
            return Ok(path.into_token_stream());
        }
        Kind::Choice(ty, words) => match dockside_syntax::one_of(&key.to_string(), &text, words) {
            Err(message) => ctx.check(span, message),
            Ok(()) => {
                // One of the row's words: lowercase ASCII words joined by `_`.
                let variant = text.split('_').map(|w| w[..1].to_uppercase() + &w[1..]);
                // Spanned on the literal, so a runtime without that variant fails there.
                let variant = format_ident!("{}", variant.collect::<String>(), span = span);
                let ty = format_ident!("{ty}");
                arg.values.push(lit);
                return Ok(quote!(__dockside::__private::#ty::#variant));
            }
        },
        Kind::Duration => {
            let duration = dockside_syntax::parse_duration(&text);
            let duration = duration.map_err(|e| syntax(&e, "duration"))?;
            // Read from a sum of milliseconds held in a u64, so it fits.
            let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
            let millis = Literal::u64_unsuffixed(millis);
            return Ok(quote!(::core::time::Duration::from_millis(#millis)));
        }
        Kind::Size => {
            let bytes = dockside_syntax::parse_size(&text).map_err(|e| syntax(&e, "memory size"));
            return Ok(Literal::u64_unsuffixed(bytes?).into_token_stream());
        }
        _ => {}
    }
    Ok(lit.into_token_stream())
}

/// The calls of a key written as a list: one for the whole list of expressions (`cmd`), or one
/// per element (`ports`, `tmpfs`, `mounts`). A bad element is its own error.
fn list_value(arg: &mut Arg, list: &syn::ExprArray, ctx: &mut Ctx) -> Result {
    let (key, kind) = (&arg.ident, arg.key.kind);
    if let Kind::Strings(not_empty) = kind {
        if not_empty && list.elems.is_empty() {
            ctx.check(key.span(), format!("`{key}` must not be empty"));
        }
        arg.calls.push(strings(list));
        return Ok(());
    }
    let mut seen = HashSet::new();
    for element in &list.elems {
        let call = match kind {
            Kind::Ports => port(element, &mut arg.values),
            Kind::Paths => lit_str(element).map(|lit| {
                let (text, span) = (lit.value(), lit.span());
                ctx.rule(&lit, dockside_syntax::container_path);
                if !seen.insert(text.clone()) {
                    ctx.check(span, format!("{key} `{text}` listed more than once"));
                }
                lit.into_token_stream()
            }),
            _ => lit_str(element).and_then(|lit| mount(&lit, &mut seen, ctx)),
        };
        call.map_or_else(|error| ctx.parse.push(error), |call| arg.calls.push(call));
    }
    Ok(())
}

/// One bind mount's call: `host, container, read_only`, its source checked like a Dockerfile
/// and its target unique among `seen`.
fn mount(lit: &LitStr, seen: &mut HashSet<String>, ctx: &mut Ctx) -> Result<TokenStream> {
    let text = lit.value();
    let mount = dockside_syntax::parse_mount(&text)
        .map_err(|reason| Error::new(lit.span(), format!("invalid mount `{text}`: {reason}")))?;
    let (host, container, read_only) = (&mount.host, &mount.container, mount.read_only);
    in_crate(ctx, lit.span(), "mount source", host, "");
    if !seen.insert(container.clone()) {
        let message = format!("`{container}` is mounted more than once");
        ctx.check(lit.span(), message);
    }
    // A relative source is made absolute from the crate directory, where it was checked.
    let host = match Path::new(host).is_absolute() {
        true => quote!(#host),
        false => quote!(::core::concat!(::core::env!("CARGO_MANIFEST_DIR"), "/", #host)),
    };
    Ok(quote_spanned!(lit.span()=> #host, #container, #read_only))
}

/// The tokens up to the next comma at this level (token trees keep groups whole). A value is
/// read from these alone, so an error inside a group leaves no half-read group behind.
fn rest_of_entry(input: ParseStream) -> Result<TokenStream> {
    let mut tokens = TokenStream::new();
    while !(input.is_empty() || input.peek(Token![,])) {
        tokens.extend([input.parse::<TokenTree>()?]);
    }
    Ok(tokens)
}

fn is_ident(expr: &Expr, name: &str) -> bool {
    matches!(expr, Expr::Path(path) if path.path.is_ident(name))
}

fn lit_str(expr: &Expr) -> Result<LitStr> {
    syn::parse2(expr.to_token_stream())
}

fn lit_int(expr: &Expr, expected: &str) -> Result<LitInt> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(int), ..
        }) => Ok(int.clone()),
        other => Err(Error::new_spanned(other, expected)),
    }
}

/// `[a, b]` as an array of `String`s: each item is any expression of a type `impl
/// Into<String>`, evaluated when the test runs (a literal, a `const`, `std::env::var(..)?`).
fn strings(list: &syn::ExprArray) -> TokenStream {
    let string = quote!(__dockside::__private::String);
    let count = Literal::usize_unsuffixed(list.elems.len());
    let into = list.elems.iter();
    let into = into
        .map(|item| quote_spanned!(item.span()=> ::core::convert::Into::<#string>::into(#item)));
    quote!(::core::convert::identity::<[#string; #count]>([#(#into),*]))
}

/// `N`, at least 1, called `name` in messages.
fn count(expr: &Expr, name: &dyn Display, ctx: &mut Ctx) -> Result<LitInt> {
    let count = lit_int(expr, "expected a whole number")?;
    if count.base10_parse::<usize>()? == 0 {
        ctx.check(count.span(), format!("`{name}` must be at least 1"));
    }
    Ok(count)
}

/// A port number, added to `ports`, as its literal.
fn port(expr: &Expr, ports: &mut Vec<LitStr>) -> Result<TokenStream> {
    let int = lit_int(expr, "expected a port number, an integer from 1 to 65535")?;
    let number = dockside_syntax::parse_port(int.base10_digits());
    let number = number
        .map_err(|message| Error::new(int.span(), message))?
        .to_string();
    ports.push(LitStr::new(&number, int.span()));
    Ok(LitInt::new(&number, int.span()).into_token_stream())
}

/// `path` names an existing `want` (`"file"`, `"directory"`, or `""` for either), called `what`
/// in messages: relative to the crate being compiled, or absolute where `want` is `""` (a
/// mount source).
///
/// Messages name the path as written, not where it was looked for: the crate directory is
/// where the error points, and an absolute path would tie messages (and the UI tests'
/// snapshots) to one checkout and target directory.
fn in_crate(ctx: &mut Ctx, span: Span, what: &str, path: &str, want: &str) {
    let relative = Path::new(path).is_relative();
    let resolved = ctx.manifest_dir.map(|dir| dir.join(path));
    let found = |at: &Path| match want {
        "file" => at.is_file(),
        "directory" => at.is_dir(),
        _ => at.exists(),
    };
    let problem = match resolved {
        _ if !relative && !want.is_empty() => "must be relative to the crate directory".to_owned(),
        _ if !relative && Path::new(path).exists() => return,
        _ if !relative => "not found".to_owned(),
        None => "cannot be looked for: CARGO_MANIFEST_DIR is not set".to_owned(),
        Some(at) if found(&at) => return,
        Some(at) if at.exists() => format!("is not a {want} in the crate directory"),
        Some(_) => "not found in the crate directory".to_owned(),
    };
    ctx.check(span, format!("{what} `{path}` {problem}"));
}

/// Each wait and how to write it, for messages.
const WAITS: &[(&str, &str)] = &[
    ("port", "port(8080)"),
    ("log", "log(\"ready\", times = 2)"),
    ("healthy", "healthy"),
    ("http", "http(8080, \"/health\")"),
    ("custom", "custom(path::to::probe)"),
    ("exit", "exit(0)"),
    ("exec", "exec([\"pg_isready\"])"),
    ("all", "all(port(5432), log(\"ready\"))"),
];

/// `wait = ...`: one wait, or `all(...)` of several (nested `all`s flatten); each makes one
/// call, and its ports are recorded.
fn wait(expr: &Expr, arg: &mut Arg, ctx: &mut Ctx) -> Result {
    const EXPECTED: &str = "expected `port(..)`, `log(..)`, `healthy`, `http(..)`, `custom(..)`, \
                            `exit(..)`, `exec([..])` or `all(..)`";
    let (func, args): (_, Vec<&Expr>) = match expr {
        Expr::Call(call) => (&*call.func, call.args.iter().collect()),
        _ => (expr, Vec::new()),
    };
    let Expr::Path(path) = func else {
        return fail(expr.span(), EXPECTED);
    };
    let kind = path.path.get_ident();
    let row = kind.and_then(|kind| WAITS.iter().find(|(name, _)| kind == name));
    let (Some(kind), Some((_, usage))) = (kind, row) else {
        return match kind {
            Some(kind) => fail(kind.span(), format!("unknown wait `{kind}`; {EXPECTED}")),
            None => fail(expr.span(), EXPECTED),
        };
    };
    let (method, args) = match (kind.to_string().as_str(), &args[..]) {
        ("healthy", []) if matches!(expr, Expr::Path(_)) => ("healthy", TokenStream::new()),
        ("all", []) => return fail(kind.span(), "`all(..)` needs at least one wait"),
        ("all", waits) => return waits.iter().try_for_each(|each| wait(each, arg, ctx)),
        ("port", [number]) => ("port", port(number, &mut arg.values)?),
        ("log", [pattern, times @ ..]) if times.len() < 2 => {
            let pattern = lit_str(pattern)?;
            ctx.rule(&pattern, dockside_syntax::log_pattern);
            match times.first() {
                None => ("log", pattern.into_token_stream()),
                Some(Expr::Assign(times)) if is_ident(&times.left, "times") => {
                    let times = count(&times.right, &"times", ctx)?;
                    ("log_times", quote!(#pattern, #times))
                }
                Some(Expr::Assign(other)) => {
                    return fail(other.left.span(), "expected `times = N`")
                }
                Some(other) => return fail(other.span(), "expected `times = N`"),
            }
        }
        ("http", [number, path]) => {
            let (port, path) = (port(number, &mut arg.values)?, lit_str(path)?);
            ctx.rule(&path, dockside_syntax::http_path);
            ("http", quote!(#port, #path))
        }
        ("custom", [Expr::Path(probe)]) => ("custom", probe.to_token_stream()),
        ("exit", [code]) => {
            let code = lit_int(code, "expected an exit code")?;
            code.base10_parse::<i32>()?;
            ("exit", code.into_token_stream())
        }
        ("exec", [Expr::Array(command)]) => {
            if command.elems.is_empty() {
                ctx.check(kind.span(), "the `exec` command must not be empty");
            }
            ("exec", strings(command))
        }
        _ => return fail(expr.span(), format!("expected `{usage}`")),
    };
    let method = format_ident!("{method}");
    arg.calls
        .push(quote!(__dockside::__private::Wait::#method(#args)));
    Ok(())
}
