//! Code generation: the `#[test]` function that sets up the containers and calls the user's.

use std::path::{Path, PathBuf};

use dockside_syntax::Mount;
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{ItemFn, LitStr, Visibility};

use crate::attr::{self, ContainerArgs, Pair, Port, Value, Wait};
use crate::errors::Errors;
use crate::keys::{Kind, KEYS};
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
    let should_panic = attr::should_panic(&func.attrs, &mut errors);
    let containers = valid::check(&test, &func, &params, manifest_dir, &mut errors);
    if !errors.is_empty() {
        // The function is no test now, and rustc would report a malformed `#[should_panic]`
        // a second time.
        func.attrs
            .retain(|attr| !attr.path().is_ident("should_panic"));
        let errors = errors.to_compile_errors();
        return quote!(#errors #func);
    }
    let root = match &test.krate {
        Some(krate) => krate.to_token_stream(),
        None => quote!(::dockside),
    };
    test_fn(&func, &containers, should_panic, &root)
}

fn test_fn(
    func: &ItemFn,
    containers: &[Container],
    should_panic: Option<Option<LitStr>>,
    root: &TokenStream,
) -> TokenStream {
    let ItemFn {
        attrs, vis, sig, ..
    } = func;
    // `#[should_panic]` goes to the runtime instead (see `attr::should_panic`).
    let attrs = attrs
        .iter()
        .filter(|attr| !attr.path().is_ident("should_panic"));
    let should_panic = should_panic.map(|expected| match expected {
        Some(expected) => {
            quote_spanned!(expected.span()=> .should_panic(::core::option::Option::Some(#expected)))
        }
        None => quote!(.should_panic(::core::option::Option::None)),
    });
    let name = &sig.ident;
    let output = &sig.output;
    // The user's function, intact, nested in the test; its attributes (`#[ignore]`, docs, lint
    // levels) belong to the test, and lint levels reach into it.
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
    // Outside `cfg(test)` the test is compiled out; this keeps a parameter type that is neither
    // `Container` nor a fixture an error there too (editors, `cargo check`), once per build.
    let checks = containers.iter().map(|container| {
        let ty = container.ty;
        quote_spanned!(ty.span()=> #root::__private::assert_param::<#ty>();)
    });
    let run = if sig.asyncness.is_some() {
        quote!(run_async)
    } else {
        quote!(run_sync)
    };
    quote! {
        #[cfg(not(test))]
        const _: () = { #(#checks)* };
        #[::core::prelude::v1::test]
        #(#attrs)*
        #vis fn #name() #output {
            #inner
            let __dockside_spec = #root::__private::TestSpec::new(
                ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)),
                ::core::env!("CARGO_MANIFEST_DIR"),
            )
            #(#specs)*
            #should_panic;
            #root::__private::#run(__dockside_spec, |mut __dockside_args| #name(#(#takes),*))
        }
    }
}

/// `.param::<Type>(settings)`: the parameter's type decides, through the runtime's `Param`
/// trait, whether the settings are the whole container or override a fixture's spec.
fn container_spec(container: &Container, root: &TokenStream) -> TokenStream {
    let name = LitStr::new(&container.name.unraw().to_string(), container.name.span());
    let calls = container
        .args
        .map(|args| builder_calls(args, root))
        .unwrap_or_default();
    let ty = container.ty;
    // Spanned on the parameter's type: a type that is neither `Container` nor a fixture fails
    // there.
    let param = quote_spanned!(ty.span()=> param::<#ty>);
    quote!(.#param(#root::__private::ContainerSpec::new(#name) #calls))
}

/// One builder call per setting (one per element for the kinds the runtime takes one at a
/// time), in the order of the key table.
fn builder_calls(args: &ContainerArgs, root: &TokenStream) -> TokenStream {
    KEYS.iter()
        .flat_map(|key| args.args.iter().filter(move |arg| arg.key.name == key.name))
        .flat_map(|arg| {
            let call = |value: &dyn ToTokens| {
                let method = format_ident!("{}", arg.key.method, span = arg.ident.span());
                // Spanned on the user's key so a runtime without the method fails there.
                quote_spanned!(arg.ident.span()=> .#method(#value))
            };
            match &arg.value {
                Value::Str(lit) => match arg.key.kind {
                    Kind::Choice(ty, _) => vec![call(&choice_expr(ty, lit, root))],
                    _ => vec![call(lit)],
                },
                Value::List(items) if arg.key.kind == Kind::Paths => {
                    items.iter().map(|item| call(item)).collect()
                }
                // Nothing to infer the element type from (`entrypoint = []`).
                Value::List(items) if items.is_empty() => {
                    vec![call(&quote!(&[] as &[&::core::primitive::str]))]
                }
                Value::List(items) => vec![call(&quote!(&[#(#items),*]))],
                Value::Pairs(pairs) => pairs
                    .iter()
                    .map(|Pair { key, value }| call(&quote!(#key, #value)))
                    .collect(),
                Value::Ports(ports) => ports.iter().map(|port| call(&port_literal(port))).collect(),
                Value::Wait(wait) => vec![call(&wait_expr(wait, root))],
                Value::Millis(millis) => {
                    let millis = Literal::u64_unsuffixed(*millis);
                    vec![call(&quote!(::core::time::Duration::from_millis(#millis)))]
                }
                Value::Bytes(bytes) => vec![call(&Literal::u64_unsuffixed(*bytes))],
                Value::Flag => {
                    let method = format_ident!("{}", arg.key.method, span = arg.ident.span());
                    vec![quote_spanned!(arg.ident.span()=> .#method())]
                }
                Value::Mounts(mounts) => mounts
                    .iter()
                    .map(|(lit, mount)| call(&mount_args(lit, mount)))
                    .collect(),
            }
        })
        .collect()
}

/// `__private::<ty>::<Word>` for the word in `lit` (checked against the row's words already),
/// spanned on the literal so a runtime without that variant fails there.
fn choice_expr(ty: &str, lit: &LitStr, root: &TokenStream) -> TokenStream {
    let word = lit.value();
    let mut chars = word.chars();
    let variant: String = chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    let ty = format_ident!("{}", ty, span = lit.span());
    let variant = format_ident!("{}", variant, span = lit.span());
    quote_spanned!(lit.span()=> #root::__private::#ty::#variant)
}

/// `host, container, read_only` for the runtime's `.mount(...)`; a relative host path is made
/// absolute from the crate directory at compile time, as `dockerfile` is checked there.
fn mount_args(lit: &LitStr, mount: &Mount) -> TokenStream {
    let Mount {
        host,
        container,
        read_only,
    } = mount;
    let host = if Path::new(host).is_absolute() {
        quote!(#host)
    } else {
        quote!(::core::concat!(::core::env!("CARGO_MANIFEST_DIR"), "/", #host))
    };
    quote_spanned!(lit.span()=> #host, #container, #read_only)
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
            #[cfg(not(test))]
            const _: () = { ::dockside::__private::assert_param::<Container>(); };
            #[::core::prelude::v1::test]
            fn name() -> R {
                async fn name(web: Container) -> R { body }
                let __dockside_spec = ::dockside::__private::TestSpec::new(
                    ::core::concat!(::core::module_path!(), "::", ::core::stringify!(name)),
                    ::core::env!("CARGO_MANIFEST_DIR"),
                )
                .param::<Container>(
                    ::dockside::__private::ContainerSpec::new("web")
                        .image("x:1")
                        .env("A", "b")
                        .port(8080)
                        .wait(::dockside::__private::Wait::http(8080, "/health"))
                        .startup_timeout(::core::time::Duration::from_millis(5000))
                )
                .should_panic(::core::option::Option::None);
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
                    #[container(image = "a", wait = healthy, pull = "always", healthcheck = ["/c"], labels("k.l" = "v"))] #[allow(unused)] r#one: Container,
                    #[container(dockerfile = "Cargo.toml", context = ".", target = "t", build_arg(A = "1", B = "2"), cmd = ["c"], entrypoint = [], user = "u", workdir = "/w", tmpfs = ["/t", "/r"], memory = "1k", wait = custom(probe::ready), ports = [1], mounts = ["src:/src:ro", "/tmp:/t"])] mut two: Option<Container>,
                ) -> Result<(), String> { Ok(()) }
            },
        );
        let expected = quote! {
            #[cfg(not(test))]
            const _: () = {
                dockside2::__private::assert_param::<Container>();
                dockside2::__private::assert_param::<Option<Container> >();
            };
            #[::core::prelude::v1::test]
            #[doc = r" Docs."]
            #[ignore]
            pub fn two() -> Result<(), String> {
                fn two(#[allow(unused)] r#one: Container, mut two: Option<Container>,) -> Result<(), String> { Ok(()) }
                let __dockside_spec = dockside2::__private::TestSpec::new(
                    ::core::concat!(::core::module_path!(), "::", ::core::stringify!(two)),
                    ::core::env!("CARGO_MANIFEST_DIR"),
                )
                .param::<Container>(
                    dockside2::__private::ContainerSpec::new("one")
                        .image("a")
                        .label("k.l", "v")
                        .wait(dockside2::__private::Wait::healthy())
                        .healthcheck(&["/c"])
                        .pull(dockside2::__private::Pull::Always)
                )
                .param::<Option<Container> >(
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
                        .mount(::core::concat!(::core::env!("CARGO_MANIFEST_DIR"), "/", "src"), "/src", true)
                        .mount("/tmp", "/t", false)
                        .memory(1024)
                );
                dockside2::__private::run_sync(__dockside_spec, |mut __dockside_args| two(__dockside_args.take(), __dockside_args.take()))
            }
        };
        assert_eq!(actual, expected.to_string());
    }

    #[test]
    fn fixture_parameter_without_settings() {
        let actual = expand_here(
            TokenStream::new(),
            quote!(
                fn t(db: Pg) {}
            ),
        );
        let registered = quote!(.param::<Pg>(::dockside::__private::ContainerSpec::new("db")));
        assert!(actual.contains(&registered.to_string()), "{actual}");
        let checked = quote!(::dockside::__private::assert_param::<Pg>(););
        assert!(actual.contains(&checked.to_string()), "{actual}");
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
    fn should_panic_goes_to_the_runtime_not_to_libtest() {
        for (attr, call) in [
            (
                quote!(#[should_panic(expected = "boom")]),
                quote!(.should_panic(::core::option::Option::Some("boom"))),
            ),
            (
                quote!(#[should_panic = "boom"]),
                quote!(.should_panic(::core::option::Option::Some("boom"))),
            ),
        ] {
            let actual = expand_here(
                quote!(image = "a"),
                quote!(
                    #[ignore]
                    #attr
                    fn t(web: Container) {}
                ),
            );
            assert!(!actual.contains("# [should_panic"), "{actual}");
            assert!(actual.contains("# [ignore]"), "{actual}");
            assert!(actual.contains(&call.to_string()), "{actual}");
        }
        let without = expand_here(
            quote!(image = "a"),
            quote!(
                fn t(web: Container) {}
            ),
        );
        assert!(!without.contains("should_panic"), "{without}");
    }

    #[test]
    fn malformed_should_panic_is_a_compile_error() {
        for (attr, message) in [
            (
                quote!(#[should_panic(because = "x")]),
                "expected `#[should_panic]` or `#[should_panic(expected = \"...\")]`",
            ),
            (
                quote!(#[should_panic = 3]),
                "expected `#[should_panic]` or `#[should_panic(expected = \"...\")]`",
            ),
            (
                quote!(#[should_panic(expected = "a", expected = "b")]),
                "`expected` set more than once",
            ),
            (
                quote!(#[should_panic] #[should_panic]),
                "more than one `#[should_panic]` on this function",
            ),
        ] {
            let actual = expand_here(
                quote!(image = "a"),
                quote!(
                    #attr
                    fn t(web: Container) {}
                ),
            );
            let error = quote!(::core::compile_error! { #message }).to_string();
            assert!(actual.starts_with(&error), "{attr}: {actual}");
        }
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
            ::core::compile_error! { "invalid image reference `Foo/bar`: repository name must be lowercase; did you mean `foo/bar`?" }
            ::core::compile_error! { "`#[container(...)]` cannot be combined with container arguments in `#[docker_test(...)]`" }
            async fn t(web: Container) {}
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
