//! Code generation: the `#[test]` function that sets up the containers and calls the user's.

use std::path::{Path, PathBuf};

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Ident, ItemFn, LitStr, Visibility};

use crate::attr::{self, Arg, ContainerArgs, Pair, Port, Wait};
use crate::errors::Errors;
use crate::valid::{self, Container};

/// Expands `#[docker_test(args)] item`, looking for Dockerfiles in the crate being compiled.
pub(crate) fn docker_test(args: TokenStream, item: TokenStream) -> TokenStream {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    expand(args, item, manifest_dir.as_deref())
}

/// Expands `#[docker_test(args)] item` with relative paths resolved against `manifest_dir`.
///
/// On any error the output is the user's function (without its `#[container]` attributes, which
/// would not resolve) and the errors, but no test: the editor keeps seeing the function and no
/// secondary errors follow from half-made glue.
pub(crate) fn expand(
    args: TokenStream,
    item: TokenStream,
    manifest_dir: Option<&Path>,
) -> TokenStream {
    let mut func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(error) => {
            let error = error.to_compile_error();
            return quote!(#error #item);
        }
    };
    let mut errors = Errors::default();
    let test = attr::test_args(args, &mut errors);
    let params = attr::take_container_attrs(&mut func.sig, &mut errors);
    let containers = valid::check(&test, &func, &params, manifest_dir, &mut errors);
    if !errors.is_empty() {
        let errors = errors.to_compile_errors();
        return quote!(#errors #func);
    }
    let root = match &test.krate {
        Some(krate) => krate.value.to_token_stream(),
        None => quote!(::dockside),
    };
    test_fn(&func, &containers, &root)
}

fn test_fn(func: &ItemFn, containers: &[Container], root: &TokenStream) -> TokenStream {
    let ItemFn {
        attrs, vis, sig, ..
    } = func;
    let name = &sig.ident;
    let output = &sig.output;
    // The user's function, intact, nested in the test; its attributes (`#[should_panic]`,
    // `#[ignore]`, docs, lint levels) belong to the test, and lint levels reach into it.
    let inner = ItemFn {
        attrs: Vec::new(),
        vis: Visibility::Inherited,
        ..func.clone()
    };
    let specs = containers
        .iter()
        .map(|container| container_spec(container, root));
    // Spanned on the parameter's type: a type that is no container fails there.
    let takes = containers
        .iter()
        .map(|container| quote_spanned!(container.ty.span()=> __dockside_args.take()));
    let run = if sig.asyncness.is_some() {
        quote!(run_async)
    } else {
        quote!(run_sync)
    };
    quote! {
        #[::core::prelude::v1::test]
        #(#attrs)*
        #vis fn #name() #output {
            #inner
            let __dockside_spec = #root::__private::TestSpec::new(
                ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)),
                ::core::env!("CARGO_MANIFEST_DIR"),
            )
            #(.container(#specs))*;
            #root::__private::#run(__dockside_spec, |mut __dockside_args| #name(#(#takes),*))
        }
    }
}

fn container_spec(container: &Container, root: &TokenStream) -> TokenStream {
    let name = LitStr::new(&container.name.unraw().to_string(), container.name.span());
    let calls = builder_calls(container.args, root);
    quote!(#root::__private::ContainerSpec::new(#name) #calls)
}

/// One builder call per setting, in a fixed order.
fn builder_calls(args: &ContainerArgs, root: &TokenStream) -> TokenStream {
    let mut calls = TokenStream::new();
    calls.extend(string(args.image.as_ref(), "image"));
    calls.extend(string(args.dockerfile.as_ref(), "dockerfile"));
    calls.extend(string(args.context.as_ref(), "context"));
    calls.extend(string(args.target.as_ref(), "target"));
    calls.extend(pairs(&args.build_args, "build_arg"));
    calls.extend(list(args.cmd.as_ref(), "cmd"));
    calls.extend(list(args.entrypoint.as_ref(), "entrypoint"));
    calls.extend(pairs(&args.env, "env"));
    calls.extend(pairs(&args.labels, "label"));
    calls.extend(each(args.ports.as_ref(), "port", port_literal));
    calls.extend(args.wait.as_ref().map(|wait| {
        let value = wait_expr(&wait.value, root);
        call(&wait.key, "wait", &value)
    }));
    calls.extend(list(args.healthcheck.as_ref(), "healthcheck"));
    calls.extend(args.startup_timeout.as_ref().map(|timeout| {
        let millis = Literal::u64_unsuffixed(timeout.value);
        let value = quote!(::core::time::Duration::from_millis(#millis));
        call(&timeout.key, "startup_timeout", &value)
    }));
    calls.extend(string(args.user.as_ref(), "user"));
    calls.extend(string(args.workdir.as_ref(), "workdir"));
    calls.extend(each(
        args.tmpfs.as_ref(),
        "tmpfs",
        ToTokens::to_token_stream,
    ));
    calls.extend(each(args.mounts.as_ref(), "mount", mount_args));
    calls.extend(args.memory.as_ref().map(|memory| {
        let bytes = Literal::u64_unsuffixed(memory.value);
        call(&memory.key, "memory", &bytes)
    }));
    calls
}

/// `host, container, read_only` for the runtime's `.mount(...)`; a relative host path is made
/// absolute from the crate directory at compile time, as `dockerfile` is checked there. The
/// value was validated before expansion, so a malformed one cannot reach here.
fn mount_args(lit: &LitStr) -> TokenStream {
    let Ok(mount) = crate::valid::Mount::parse(&lit.value()) else {
        return quote_spanned!(lit.span()=> ::core::compile_error!("invalid mount"));
    };
    let (container, read_only) = (&mount.container, mount.read_only);
    let host = &mount.host;
    let host = if std::path::Path::new(host).is_absolute() {
        quote!(#host)
    } else {
        quote!(::core::concat!(::core::env!("CARGO_MANIFEST_DIR"), "/", #host))
    };
    quote_spanned!(lit.span()=> #host, #container, #read_only)
}

/// `.method(value)`, spanned on the user's key so a runtime without the method fails there.
fn call(key: &Ident, method: &str, value: &dyn ToTokens) -> TokenStream {
    let method = format_ident!("{}", method, span = key.span());
    quote_spanned!(key.span()=> .#method(#value))
}

fn string(arg: Option<&Arg<LitStr>>, method: &str) -> Option<TokenStream> {
    arg.map(|arg| call(&arg.key, method, &arg.value))
}

fn list(arg: Option<&Arg<Vec<LitStr>>>, method: &str) -> Option<TokenStream> {
    arg.map(|arg| {
        let items = &arg.value;
        let value = if items.is_empty() {
            // Nothing to infer the element type from (`entrypoint = []`).
            quote!(&[] as &[&::core::primitive::str])
        } else {
            quote!(&[#(#items),*])
        };
        call(&arg.key, method, &value)
    })
}

/// One call per element, for settings the runtime takes one at a time (ports, tmpfs paths).
fn each<T>(
    arg: Option<&Arg<Vec<T>>>,
    method: &str,
    value: impl Fn(&T) -> TokenStream,
) -> Vec<TokenStream> {
    arg.iter()
        .flat_map(|arg| {
            arg.value
                .iter()
                .map(|item| call(&arg.key, method, &value(item)))
        })
        .collect()
}

/// One `.method(key, value)` per pair of every `env(...)`-like list.
fn pairs(lists: &[Arg<Vec<Pair>>], method: &str) -> Vec<TokenStream> {
    lists
        .iter()
        .flat_map(|list| {
            list.value
                .iter()
                .map(|Pair { key, value }| call(&list.key, method, &quote!(#key, #value)))
        })
        .collect()
}

fn port_literal(port: &Port) -> TokenStream {
    let mut literal = Literal::u16_unsuffixed(port.number);
    literal.set_span(port.span);
    literal.into_token_stream()
}

fn wait_expr(wait: &Wait, root: &TokenStream) -> TokenStream {
    let wait_type = quote!(#root::__private::Wait);
    match wait {
        Wait::Port(port) => {
            let port = port_literal(port);
            quote!(#wait_type::port(#port))
        }
        Wait::Log(pattern) => quote!(#wait_type::log(#pattern)),
        Wait::Healthy => quote!(#wait_type::healthy()),
        Wait::Http(port, path) => {
            let port = port_literal(port);
            quote!(#wait_type::http(#port, #path))
        }
        Wait::Custom(probe) => quote!(#wait_type::custom(#probe)),
        Wait::Exit(code) => quote!(#wait_type::exit(#code)),
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn expand_here(args: TokenStream, item: TokenStream) -> String {
        expand(args, item, Some(Path::new(env!("CARGO_MANIFEST_DIR")))).to_string()
    }

    #[test]
    fn async_test_with_top_level_arguments() {
        let actual = expand_here(
            quote!(
                image = "x:1",
                ports = [8080],
                env(A = "b"),
                wait = http(8080, "/health"),
                startup_timeout = "5s"
            ),
            quote! {
                #[should_panic]
                async fn name(web: Container) -> R { body }
            },
        );
        let expected = quote! {
            #[::core::prelude::v1::test]
            #[should_panic]
            fn name() -> R {
                async fn name(web: Container) -> R { body }
                let __dockside_spec = ::dockside::__private::TestSpec::new(
                    ::core::concat!(::core::module_path!(), "::", ::core::stringify!(name)),
                    ::core::env!("CARGO_MANIFEST_DIR"),
                )
                .container(
                    ::dockside::__private::ContainerSpec::new("web")
                        .image("x:1")
                        .env("A", "b")
                        .port(8080)
                        .wait(::dockside::__private::Wait::http(8080, "/health"))
                        .startup_timeout(::core::time::Duration::from_millis(5000))
                );
                ::dockside::__private::run_async(__dockside_spec, |mut __dockside_args| name(__dockside_args.take()))
            }
        };
        assert_eq!(actual, expected.to_string());
    }

    #[test]
    fn sync_test_with_a_container_per_parameter() {
        let actual = expand_here(
            quote!(crate = "dockside2"),
            quote! {
                /// Docs.
                #[ignore]
                pub fn two(
                    #[container(image = "a", wait = healthy, healthcheck = ["/c"], labels("k.l" = "v"))] #[allow(unused)] r#one: Container,
                    #[container(dockerfile = "Cargo.toml", context = ".", target = "t", build_arg(A = "1", B = "2"), cmd = ["c"], entrypoint = [], user = "u", workdir = "/w", tmpfs = ["/t", "/r"], memory = "1k", wait = custom(probe::ready), ports = [1])] mut two: Option<Container>,
                ) -> Result<(), String> { Ok(()) }
            },
        );
        let expected = quote! {
            #[::core::prelude::v1::test]
            #[doc = r" Docs."]
            #[ignore]
            pub fn two() -> Result<(), String> {
                fn two(#[allow(unused)] r#one: Container, mut two: Option<Container>,) -> Result<(), String> { Ok(()) }
                let __dockside_spec = dockside2::__private::TestSpec::new(
                    ::core::concat!(::core::module_path!(), "::", ::core::stringify!(two)),
                    ::core::env!("CARGO_MANIFEST_DIR"),
                )
                .container(
                    dockside2::__private::ContainerSpec::new("one")
                        .image("a")
                        .label("k.l", "v")
                        .wait(dockside2::__private::Wait::healthy())
                        .healthcheck(&["/c"])
                )
                .container(
                    dockside2::__private::ContainerSpec::new("two")
                        .dockerfile("Cargo.toml")
                        .context(".")
                        .target("t")
                        .build_arg("A", "1")
                        .build_arg("B", "2")
                        .cmd(&["c"])
                        .entrypoint(&[] as &[&::core::primitive::str])
                        .port(1)
                        .wait(dockside2::__private::Wait::custom(probe::ready))
                        .user("u")
                        .workdir("/w")
                        .tmpfs("/t")
                        .tmpfs("/r")
                        .memory(1024)
                );
                dockside2::__private::run_sync(__dockside_spec, |mut __dockside_args| two(__dockside_args.take(), __dockside_args.take()))
            }
        };
        assert_eq!(actual, expected.to_string());
    }

    #[test]
    fn wait_expressions() {
        let actual = expand_here(
            quote!(image = "a", ports = [80], wait = port(80)),
            quote!(
                fn t(web: Container) {}
            ),
        );
        assert!(actual.contains(&quote!(.wait(::dockside::__private::Wait::port(80))).to_string()));
        let actual = expand_here(
            quote!(image = "a", wait = log("up")),
            quote!(
                fn t(web: Container) {}
            ),
        );
        assert!(actual.contains(&quote!(.wait(::dockside::__private::Wait::log("up"))).to_string()));
    }

    #[test]
    fn bad_input_gives_the_function_and_the_errors_only() {
        let actual = expand_here(
            quote!(image = "Foo/bar", ports = [0]),
            quote!(
                #[should_panic]
                async fn t(#[container(image = "a")] web: Container) {}
            ),
        );
        let expected = quote! {
            // Parsing errors first, then the checks'.
            ::core::compile_error! { "port 0 is out of range: expected 1 to 65535" }
            ::core::compile_error! { "invalid image reference `Foo/bar`: repository name must be lowercase" }
            ::core::compile_error! { "`#[container(...)]` cannot be combined with container arguments in `#[docker_test(...)]`" }
            #[should_panic] async fn t(web: Container) {}
        };
        assert_eq!(actual, expected.to_string());
    }

    #[test]
    fn not_a_function() {
        let actual = expand_here(
            quote!(image = "a"),
            quote!(
                struct S;
            ),
        );
        assert!(actual.starts_with(&quote!(::core::compile_error!).to_string()));
        assert!(actual.ends_with(
            &quote!(
                struct S;
            )
            .to_string()
        ));
    }
}
