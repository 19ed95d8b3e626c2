//! Code generation: the `#[test]` function that sets up the containers and calls the user's.

use std::path::Path;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Error, ItemFn, LitStr, ReturnType, Visibility};

use crate::attr::{self, Args, Ctx};
use crate::keys::{Key, Kind, KEYS, TEST_KEYS};
use crate::valid::{self, Container};

/// Expands `#[docker_test(args)] item` with relative paths resolved against `manifest_dir` (the
/// crate being compiled); `before` is the source text before the attribute, when known.
///
/// On any error the output is the user's function (without its `#[container]` attributes, which
/// would not resolve) and the errors, but no test: the editor keeps seeing the function and no
/// secondary errors follow from half-made glue.
pub(crate) fn expand(
    args: TokenStream,
    item: TokenStream,
    manifest_dir: Option<&Path>,
    before: Option<&str>,
) -> TokenStream {
    let mut func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(error) => {
            let error = error.to_compile_error();
            return quote!(#error #item);
        }
    };
    let mut ctx = Ctx {
        manifest_dir,
        ..Ctx::default()
    };
    if before.is_some_and(valid::ends_with_test_attribute) {
        let message = "remove the `#[test]` above `#[docker_test]`: `#[docker_test]` makes the \
                       function a test itself, and `#[test]` rejects its parameters (\"functions \
                       used as tests can not have any arguments\")";
        ctx.parse.push(Error::new(Span::call_site(), message));
    }
    let top = attr::read(args, Span::call_site(), true, &mut ctx);
    let params = attr::take_container_attrs(&mut func.sig, &mut ctx);
    let should_panic = attr::should_panic(&mut func.attrs, &mut ctx);
    let mut errors = ctx.parse;
    errors.append(&mut ctx.checks);
    let containers = valid::check(&top, &func, &params, &mut errors);
    if !errors.is_empty() {
        let errors = errors.iter().map(Error::to_compile_error);
        return quote!(#(#errors)* #func);
    }
    test_fn(&func, &top, &containers, should_panic)
}

fn test_fn(
    func: &ItemFn,
    top: &Args,
    containers: &[Container],
    should_panic: Option<Option<LitStr>>,
) -> TokenStream {
    let (attrs, vis, sig) = (&func.attrs, &func.vis, &func.sig);
    let (name, output) = (&sig.ident, &sig.output);
    let root = top.of("crate").flat_map(|arg| arg.calls.first()).next();
    let root = root.map_or(quote!(::dockside), Clone::clone);
    let should_panic = should_panic.map(|expected| {
        let expected = expected.map_or(quote!(None), |text| quote!(Some(#text)));
        quote!(.should_panic(::core::option::Option::#expected))
    });
    // The user's function, intact, nested in the test; its attributes (`#[ignore]`, docs, lint
    // levels) belong to the test, and lint levels reach into it.
    let mut inner = func.clone();
    (inner.attrs, inner.vis) = (Vec::new(), Visibility::Inherited);
    let test_calls = calls(top, TEST_KEYS);
    let specs = containers.iter().map(|container| {
        let name = LitStr::new(&container.name.unraw().to_string(), container.name.span());
        let settings = container.args.map(|args| calls(args, KEYS));
        // Spanned on the parameter's type: one that is neither `Container` nor a fixture fails
        // there, through the runtime's `Param` trait.
        let ty = container.ty;
        let param = quote_spanned!(ty.span()=> param::<#ty>);
        quote!(.#param(__dockside::__private::ContainerSpec::new(#name) #settings))
    });
    // The locals `__dockside_spec` and `__dockside_args` are named with the call site's hygiene
    // wherever they are written, only located at the user's tokens: a test written by a user's
    // `macro_rules!` gets those tokens from another syntax context, where a local of this
    // expansion would not be found.
    let at = |span: Span| Span::call_site().located_at(span);
    let takes = containers
        .iter()
        .map(|container| quote_spanned!(at(container.ty.span())=> __dockside_args.take()));
    // Outside `cfg(test)` the test is compiled out; this keeps a parameter or return type that
    // the runtime does not take an error there too (editors, `cargo check`), once per build.
    let checks = containers.iter().map(|container| {
        let ty = container.ty;
        quote_spanned!(ty.span()=> __dockside::__private::assert_param::<#ty>();)
    });
    let (returned, outcome) = match output {
        ReturnType::Default => (sig.ident.span(), quote!(())),
        ReturnType::Type(_, ty) => (ty.span(), ty.to_token_stream()),
    };
    // Spanned on the return type, the whole call, so rustc points there when the runtime
    // does not take it.
    let run = format_ident!("{}", sig.asyncness.map_or("run_sync", |_| "run_async"));
    let run = quote_spanned! {at(returned)=>
        __dockside::__private::#run(__dockside_spec, |mut __dockside_args| #name(#(#takes),*))
    };
    let outcome = quote_spanned!(returned=> __dockside::__private::assert_outcome::<#outcome>(););
    quote! {
        #[cfg(not(test))]
        const _: () = {
            use #root as __dockside;
            #(#checks)*
            #outcome
        };
        #[::core::prelude::v1::test]
        #(#attrs)*
        #vis fn #name() #output {
            #inner
            use #root as __dockside;
            let __dockside_spec = __dockside::__private::TestSpec::new(
                ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)),
                ::core::env!("CARGO_MANIFEST_DIR"),
            )
            #test_calls
            #(#specs)*
            #should_panic;
            #run
        }
    }
}

/// One builder call per call recorded in `args`, in the order of the key table; `crate` is the
/// expansion's root, not a call.
fn calls(args: &Args, table: &[Key]) -> TokenStream {
    let keys = table.iter().filter(|key| key.kind != Kind::Crate);
    let args = keys.flat_map(|key| args.of(key.name));
    args.flat_map(|arg| {
        // Spanned on the user's key so a runtime without the method fails there.
        let method = format_ident!("{}", arg.key.method, span = arg.ident.span());
        arg.calls
            .iter()
            .map(move |call| quote_spanned!(arg.ident.span()=> .#method(#call)))
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn expand_here(args: TokenStream, item: TokenStream) -> String {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        expand(args, item, Some(here), None).to_string()
    }

    /// The messages of the `compile_error!`s in an expansion, in order.
    fn errors(args: TokenStream, item: TokenStream) -> Vec<String> {
        let expanded = expand_here(args, item);
        let mut messages = Vec::new();
        for part in expanded.split(":: core :: compile_error ! {").skip(1) {
            let literal: LitStr = syn::parse_str(part.split('}').next().unwrap().trim()).unwrap();
            messages.push(literal.value());
        }
        messages
    }

    #[test]
    fn an_async_test_with_top_level_arguments() {
        let actual = expand_here(
            quote!(
                image = "x:1",
                ports = [8080],
                env(A = "b", r#type = VALUE),
                cmd = ["a", B],
                wait = all(http(8080, "/health"), log("up", times = 2)),
                startup_timeout = "5s",
                flavor = "multi_thread",
                worker_threads = 2,
                crate = "dockside2"
            ),
            quote! {
                #[should_panic(expected = "boom")]
                #[ignore]
                async fn name(web: Container) -> R { body }
            },
        );
        let string = quote!(__dockside::__private::String);
        let expected = quote! {
            #[cfg(not(test))]
            const _: () = {
                use dockside2 as __dockside;
                __dockside::__private::assert_param::<Container>();
                __dockside::__private::assert_outcome::<R>();
            };
            #[::core::prelude::v1::test]
            #[ignore]
            fn name() -> R {
                async fn name(web: Container) -> R { body }
                use dockside2 as __dockside;
                let __dockside_spec = __dockside::__private::TestSpec::new(
                    ::core::concat!(::core::module_path!(), "::", ::core::stringify!(name)),
                    ::core::env!("CARGO_MANIFEST_DIR"),
                )
                .flavor(__dockside::__private::Flavor::MultiThread)
                .worker_threads(2)
                .param::<Container>(
                    __dockside::__private::ContainerSpec::new("web")
                        .image("x:1")
                        .cmd(::core::convert::identity::<[#string; 2]>([
                            ::core::convert::Into::<#string>::into("a"),
                            ::core::convert::Into::<#string>::into(B)
                        ]))
                        .env("A", "b")
                        .env("type", VALUE)
                        .port(8080)
                        .wait(__dockside::__private::Wait::http(8080, "/health"))
                        .wait(__dockside::__private::Wait::log_times("up", 2))
                        .startup_timeout(::core::time::Duration::from_millis(5000))
                )
                .should_panic(::core::option::Option::Some("boom"));
                __dockside::__private::run_async(__dockside_spec, |mut __dockside_args| name(__dockside_args.take()))
            }
        };
        assert_eq!(actual, expected.to_string());
    }

    #[test]
    fn a_fixture_parameter_needs_no_settings_and_skips_the_whole_spec_rules() {
        let actual = expand_here(
            TokenStream::new(),
            quote!(
                fn t(db: Pg, #[container(context = "src", wait = port(81))] cache: my::Redis) {}
            ),
        );
        let plain = quote!(.param::<Pg>(__dockside::__private::ContainerSpec::new("db")));
        assert!(actual.contains(&plain.to_string()), "{actual}");
        assert!(!actual.contains("compile_error"), "{actual}");
        // Still checked value by value.
        let item = quote!(
            fn t(db: Pg) {}
        );
        assert_eq!(
            errors(quote!(image = "Pg"), item),
            ["invalid image reference `Pg`: repository name must be lowercase; did you mean `pg`?"]
        );
    }

    #[test]
    fn messages_no_ui_test_shows() {
        let item = quote!(
            fn t(web: Container) {}
        );
        assert_eq!(
            errors(
                quote! {
                    dockerfile = "Cargo.toml", context = "Cargo.toml", target = "", cmd = [],
                    tmpfs = ["/t", "t", "/t"], env(A = "1", "" = "y", "C=D" = "z"), env(A = "3"),
                    labels(a.b = "c"), ports = [80 81], wait = log(""), entrypoint = "x",
                    user = 5, workdir =
                },
                item.clone()
            ),
            [
                // Malformed entries first, then the values read well, then the rules across keys.
                "expected `NAME = \"value\"`",
                "expected `,` or `;`",
                "expected a list, like `entrypoint = [\"a\", \"b\"]`",
                "expected string literal",
                "unexpected end of input, expected an expression",
                "context `Cargo.toml` is not a directory in the crate directory",
                "`target` must not be empty",
                "`cmd` must not be empty",
                "`t` must be an absolute path in the container, starting with `/`",
                "tmpfs `/t` listed more than once",
                "the log pattern must not be empty",
                "environment variable name must not be empty",
                "environment variable name `C=D` must not contain `=`",
                "environment variable `A` set more than once",
            ]
        );
        assert_eq!(
            errors(
                quote!(
                    image = "a",
                    crate = "x",
                    crate = "y",
                    crate = "1x",
                    pull = ""
                ),
                item.clone()
            ),
            [
                "`crate` set more than once",
                "invalid crate path `1x`: expected a path, like `dockside` or `::my_dockside`",
                "`pull` must be one of `\"missing\"`, `\"always\"`, `\"never\"`, not `\"\"`",
            ]
        );
        let here = quote!(dockerfile = "Cargo.toml");
        let without_manifest = expand(here, item, None, None).to_string();
        assert!(
            without_manifest.contains(
                "dockerfile `Cargo.toml` cannot be looked for: CARGO_MANIFEST_DIR is not set"
            ),
            "{without_manifest}"
        );
    }

    #[test]
    fn a_test_attribute_above_is_found_in_the_source() {
        for above in [
            "use x;\n#[test]\n",
            "mod m {\n    /// Docs.\n    #[test]\n    #[ignore]\n    ",
            "fn f() {}\n#[tokio::test] ",
        ] {
            assert!(valid::ends_with_test_attribute(above), "{above:?}");
            let expanded = expand(
                quote!(image = "a"),
                quote!(
                    fn t(web: Container) {}
                ),
                None,
                Some(above),
            );
            assert!(
                expanded.to_string().contains("remove the `#[test]` above"),
                "{expanded}"
            );
        }
        for not_above in [
            "#[test]\nfn other() {}\n",
            "use x;\n#[ignore]\n",
            "",
            "macro_rules! m { ($(#[$m:meta])*) => { $(#[$m])*\n",
        ] {
            assert!(!valid::ends_with_test_attribute(not_above), "{not_above:?}");
        }
    }
}
