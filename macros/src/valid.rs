//! Checks: rules about the parsed values, the files they name, and the function's shape.
//!
//! Checks on one value always run. Checks that relate several keys (`image` or `dockerfile`
//! present, keys that need `dockerfile`, wait ports listed in `ports`) are skipped for an
//! attribute that already failed to parse: a misspelt `imag` should not also report a missing
//! `image`.

use std::collections::HashSet;
use std::path::Path;

use syn::{Error, FnArg, Ident, ItemFn, LitStr, Pat, PatIdent, PatType, Type};

use crate::attr::{Arg, ContainerArgs, Pair, TestArgs, Wait};
use crate::errors::Errors;
use crate::reference;

/// One container parameter of the test function, with the arguments that configure it.
pub(crate) struct Container<'a> {
    pub(crate) name: &'a Ident,
    pub(crate) ty: &'a Type,
    pub(crate) args: &'a ContainerArgs,
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
    if test.container.given {
        check_container(&test.container, manifest_dir, errors);
    }
    for args in params.iter().flatten() {
        check_container(args, manifest_dir, errors);
    }
    assign(test, func, params, errors)
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
        if attr
            .path()
            .segments
            .last()
            .is_some_and(|last| last.ident == "test")
        {
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
                Some(args) => args,
                None if top.given => top,
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
            }) => Some((ident, ty)),
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

fn check_container(args: &ContainerArgs, manifest_dir: Option<&Path>, errors: &mut Errors) {
    if let Some(image) = &args.image {
        check_image(&image.value, errors);
    }
    if let Some(dockerfile) = &args.dockerfile {
        check_in_crate(&dockerfile.value, Entry::File, manifest_dir, errors);
    }
    if let Some(context) = &args.context {
        check_in_crate(&context.value, Entry::Directory, manifest_dir, errors);
    }
    for arg in [&args.target, &args.user].into_iter().flatten() {
        not_empty(&arg.value, &arg.key, errors);
    }
    for arg in [&args.cmd, &args.healthcheck].into_iter().flatten() {
        if arg.value.is_empty() {
            errors.at(arg.key.span(), format!("`{}` must not be empty", arg.key));
        }
    }
    if let Some(workdir) = &args.workdir {
        absolute(&workdir.value, errors);
    }
    if let Some(tmpfs) = &args.tmpfs {
        check_tmpfs(&tmpfs.value, errors);
    }
    if let Some(mounts) = &args.mounts {
        check_mounts(&mounts.value, manifest_dir, errors);
    }
    unique_pairs(&args.env, "environment variable", errors);
    unique_pairs(&args.labels, "label", errors);
    unique_pairs(&args.build_args, "build argument", errors);
    check_ports(args, errors);
    if let Some(wait) = &args.wait {
        check_wait(&wait.value, errors);
    }
    if !args.malformed {
        check_combination(args, errors);
    }
}

fn check_image(image: &LitStr, errors: &mut Errors) {
    let text = image.value();
    if let Err(reason) = reference::check(&text) {
        errors.at(
            image.span(),
            format!("invalid image reference `{text}`: {reason}"),
        );
    }
}

#[derive(Clone, Copy)]
enum Entry {
    File,
    Directory,
}

/// `lit` names an existing file or directory, relative to the crate being compiled.
fn check_in_crate(lit: &LitStr, entry: Entry, manifest_dir: Option<&Path>, errors: &mut Errors) {
    let (what, kind) = match entry {
        Entry::File => ("dockerfile", "file"),
        Entry::Directory => ("context", "directory"),
    };
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
    let found = match entry {
        Entry::File => resolved.is_file(),
        Entry::Directory => resolved.is_dir(),
    };
    if found {
        return;
    }
    let problem = if resolved.exists() {
        format!("is not a {kind}")
    } else {
        "not found".to_owned()
    };
    let at = resolved.display();
    errors.at(lit.span(), format!("{what} `{relative}` {problem} at {at}"));
}

fn not_empty(lit: &LitStr, key: &Ident, errors: &mut Errors) {
    if lit.value().is_empty() {
        errors.at(lit.span(), format!("`{key}` must not be empty"));
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

fn check_tmpfs(paths: &[LitStr], errors: &mut Errors) {
    let mut seen = HashSet::new();
    for path in paths {
        absolute(path, errors);
        if !seen.insert(path.value()) {
            errors.at(
                path.span(),
                format!("tmpfs `{}` listed more than once", path.value()),
            );
        }
    }
}

/// A bind mount as written: `host:container`, optionally `:ro` or `:rw`.
pub(crate) struct Mount {
    pub(crate) host: String,
    pub(crate) container: String,
    pub(crate) read_only: bool,
}

impl Mount {
    pub(crate) fn parse(text: &str) -> Result<Mount, String> {
        let parts: Vec<&str> = text.split(':').collect();
        let (host, container, read_only) = match parts.as_slice() {
            [host, container] => (*host, *container, false),
            [host, container, "ro"] => (*host, *container, true),
            [host, container, "rw"] => (*host, *container, false),
            [_, _, mode] => return Err(format!("mount mode `{mode}` is neither `ro` nor `rw`")),
            _ => {
                return Err(
                    "a mount is `host:container`, `host:container:ro` or `host:container:rw`"
                        .to_owned(),
                )
            }
        };
        if host.is_empty() {
            return Err("the host path of a mount must not be empty".to_owned());
        }
        if !container.starts_with('/') {
            return Err(format!(
                "`{container}` must be an absolute path in the container, starting with `/`"
            ));
        }
        Ok(Mount {
            host: host.to_owned(),
            container: container.to_owned(),
            read_only,
        })
    }
}

/// Each mount is well formed, its host path exists (relative paths from the crate directory),
/// and no container path is mounted twice.
fn check_mounts(mounts: &[LitStr], manifest_dir: Option<&Path>, errors: &mut Errors) {
    let mut seen = HashSet::new();
    for lit in mounts {
        let mount = match Mount::parse(&lit.value()) {
            Ok(mount) => mount,
            Err(reason) => {
                errors.at(
                    lit.span(),
                    format!("invalid mount `{}`: {reason}", lit.value()),
                );
                continue;
            }
        };
        let host = Path::new(&mount.host);
        let resolved = match manifest_dir {
            _ if host.is_absolute() => host.to_path_buf(),
            Some(dir) => dir.join(host),
            None => {
                errors.at(
                    lit.span(),
                    format!(
                        "cannot look for mount source `{}`: CARGO_MANIFEST_DIR is not set",
                        mount.host
                    ),
                );
                continue;
            }
        };
        if !resolved.exists() {
            errors.at(
                lit.span(),
                format!(
                    "mount source `{}` not found at {}",
                    mount.host,
                    resolved.display()
                ),
            );
        }
        if !seen.insert(mount.container.clone()) {
            errors.at(
                lit.span(),
                format!("`{}` is mounted more than once", mount.container),
            );
        }
    }
}

/// Pair names are unique across every `key(...)` of one kind, and not empty.
fn unique_pairs(lists: &[Arg<Vec<Pair>>], what: &str, errors: &mut Errors) {
    let mut seen = HashSet::new();
    for Pair { key, .. } in lists.iter().flat_map(|list| &list.value) {
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

fn check_ports(args: &ContainerArgs, errors: &mut Errors) {
    let mut seen = HashSet::new();
    for port in args.ports.iter().flat_map(|ports| &ports.value) {
        if !seen.insert(port.number) {
            errors.at(
                port.span,
                format!("port {} listed more than once", port.number),
            );
        }
    }
}

fn check_wait(wait: &Wait, errors: &mut Errors) {
    match wait {
        Wait::Log(pattern) if pattern.value().is_empty() => {
            errors.at(pattern.span(), "the log pattern must not be empty");
        }
        Wait::Http(_, path) if !path.value().starts_with('/') => {
            errors.at(
                path.span(),
                format!("the http path `{}` must start with `/`", path.value()),
            );
        }
        _ => {}
    }
}

fn check_combination(args: &ContainerArgs, errors: &mut Errors) {
    if args.image.is_none() && args.dockerfile.is_none() {
        errors.at(args.origin, "set `image`, `dockerfile` or both");
    }
    if args.dockerfile.is_none() {
        let needs_dockerfile = [&args.context, &args.target]
            .into_iter()
            .flatten()
            .map(|arg| &arg.key)
            .chain(args.build_args.iter().map(|arg| &arg.key));
        for key in needs_dockerfile {
            errors.at(key.span(), format!("`{key}` needs `dockerfile`"));
        }
    }
    if let Some(Arg {
        value: Wait::Port(port) | Wait::Http(port, _),
        ..
    }) = &args.wait
    {
        let listed = args
            .ports
            .iter()
            .flat_map(|ports| &ports.value)
            .any(|listed| listed.number == port.number);
        if !listed {
            errors.at(
                port.span,
                format!(
                    "wait port {} is not in `ports`; add it, like `ports = [{}]`",
                    port.number, port.number
                ),
            );
        }
    }
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
    fn needs_image_or_dockerfile() {
        assert_eq!(
            one_param(quote!(ports = [80])),
            ["set `image`, `dockerfile` or both"]
        );
        let item = quote!(
            fn t(#[container(ports = [80])] web: Container) {}
        );
        assert_eq!(
            errors(TokenStream::new(), item),
            ["set `image`, `dockerfile` or both"]
        );
    }

    #[test]
    fn a_parse_error_hides_checks_across_keys() {
        assert_eq!(one_param(quote!(imag = "x", wait = port(80))).len(), 1);
    }

    #[test]
    fn image_must_be_a_reference() {
        assert_eq!(
            one_param(quote!(image = "Foo/bar")),
            ["invalid image reference `Foo/bar`: repository name must be lowercase"]
        );
    }

    #[test]
    fn build_paths_are_checked() {
        let dir = env!("CARGO_MANIFEST_DIR");
        assert_eq!(
            one_param(quote!(dockerfile = "nope/Dockerfile", context = "nowhere")),
            [
                format!("dockerfile `nope/Dockerfile` not found at {dir}/nope/Dockerfile"),
                format!("context `nowhere` not found at {dir}/nowhere"),
            ]
        );
        assert_eq!(
            one_param(quote!(dockerfile = "src", context = "Cargo.toml")),
            [
                format!("dockerfile `src` is not a file at {dir}/src"),
                format!("context `Cargo.toml` is not a directory at {dir}/Cargo.toml"),
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
    fn build_keys_need_a_dockerfile() {
        assert_eq!(
            one_param(quote!(
                image = "a",
                context = ".",
                target = "t",
                build_arg(A = "1")
            )),
            [
                "`context` needs `dockerfile`",
                "`target` needs `dockerfile`",
                "`build_arg` needs `dockerfile`"
            ]
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
                "`user` must not be empty",
                "`cmd` must not be empty",
                "`healthcheck` must not be empty",
                "`srv` must be an absolute path in the container, starting with `/`",
                "`t` must be an absolute path in the container, starting with `/`",
                "tmpfs `/t` listed more than once",
                "the log pattern must not be empty",
            ]
        );
        assert_eq!(
            one_param(quote!(image = "a", ports = [80], wait = http(80, "health"))),
            ["the http path `health` must start with `/`"]
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
                "environment variable `A` set more than once",
                "environment variable `A` set more than once",
                "environment variable name must not be empty",
                "environment variable name `C=D` must not contain `=`",
                "label `a` set more than once",
                "build argument `V` set more than once",
                "port 80 listed more than once",
            ]
        );
    }

    #[test]
    fn wait_ports_must_be_published() {
        assert_eq!(
            one_param(quote!(image = "a", ports = [80], wait = port(81))),
            ["wait port 81 is not in `ports`; add it, like `ports = [81]`"]
        );
        assert_eq!(
            one_param(quote!(image = "a", wait = http(80, "/"))),
            ["wait port 80 is not in `ports`; add it, like `ports = [80]`"]
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
