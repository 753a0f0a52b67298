//! Emit the code: the user's item untouched, one `impl Daemon`, and one `fn main` that ends a
//! literal builder chain in `SimpleDaemon::main`. On error: the item, a stub `fn main` and the
//! `compile_error!`s, so one mistake gives one error.
//!
//! The glue in `impl Daemon for Worker` calls `Worker::tick`, which resolves to the inherent
//! method, or, when there is none (compiled out by a `#[cfg]`), to the trait's own `tick`: a call
//! of itself. `valid` refuses `#[cfg]` on the recognised methods, with the reason; for what the
//! macro cannot see, the impl denies `unconditional_recursion`, so such a call is a compile
//! error, never a daemon spinning at run time. (Naming the methods in a module without traits in
//! scope would also do, but a module cannot name a type declared in a function body, as in a
//! doc test.)

use proc_macro2::{Delimiter, Group, Literal, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::Type;

use crate::args::{Args, Errors, Flavor, Level, LevelSpec, Missed, Mode, OnError, RotateEvery};
use crate::item::{self, Item};
use crate::valid::{self, Plan, State, Tick};

/// The attribute: parse the arguments and the item, check them, and emit the code or the errors.
pub(crate) fn daemon(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = Args::parse.parse2(args).map_err(|e| errors.push(e)).ok();
    let item = item::parse(input.clone()).map_err(|e| errors.push(e)).ok();
    // Check the item's shape even when the arguments are wrong: every error at once.
    let plan = item.as_ref().and_then(|item| {
        let checked = valid::check(args.as_ref().unwrap_or(&Args::default()), item);
        checked.map_err(|e| errors.push(e)).ok()
    });
    match (errors.finish(()), args, plan) {
        (Ok(()), Some(args), Some(plan)) => emit(&args, &plan, input),
        (Err(e), _, _) => fallback(input, item.as_ref(), &e),
        // Unreachable: no error means both parsed; emit the item alone rather than panic.
        (Ok(()), _, _) => input,
    }
}

/// The user's item, a `fn main` so that "`main` function not found" does not follow the real
/// error, and the errors.
///
/// An impl of a type named through another crate is left out: rustc would reject it too (E0116),
/// a second error saying less than the macro's.
fn fallback(input: TokenStream, item: Option<&Item>, e: &syn::Error) -> TokenStream {
    let errors = e.to_compile_error();
    let foreign = matches!(item, Some(Item::Impl(i)) if valid::foreign_path(&i.self_ty).is_some());
    let input = (!foreign).then_some(input);
    let is_main = matches!(item, Some(Item::Fn(f)) if f.sig.ident == "main");
    let main = (!is_main).then(|| {
        quote!(
            fn main() {}
        )
    });
    quote! {
        #input
        #main
        #errors
    }
}

fn emit(args: &Args, plan: &Plan<'_>, input: TokenStream) -> TokenStream {
    let krate = match &args.krate {
        Some((path, _)) => path.to_token_stream(),
        None => quote!(::simple_daemon),
    };
    let p = quote!(#krate::__private);
    let builder = builder(args, &p);
    // An async daemon (feature `tokio`): `impl AsyncDaemon` with `async fn`s, an async `init`,
    // and `main_tokio`.
    let asynchronous = plan.is_async();
    let (asy, dot_await) = if asynchronous {
        (quote!(async), quote!(.await))
    } else {
        (TokenStream::new(), TokenStream::new())
    };
    let awaited = |is_async: bool| {
        if is_async {
            quote!(.await)
        } else {
            TokenStream::new()
        }
    };
    let (daemon_impl, init, settings_ty) = match plan {
        Plan::Impl {
            self_ty,
            state,
            tick,
            on_stop,
            on_reload,
            settings,
        } => {
            let ty = type_prefix(self_ty);
            let settings_ty = settings.map(|s| s.ty);
            // `new(settings: S)`: the settings the start read are its argument.
            let new_args = match settings {
                Some(s) if s.in_new => quote!(__simple_daemon_settings),
                _ => TokenStream::new(),
            };
            let params = match settings_ty {
                Some(s) => quote!(__simple_daemon_settings: #s),
                None => TokenStream::new(),
            };
            // The async `init` owns the settings it is given.
            let moved = settings_ty.map(|_| quote!(move));
            let init = match state {
                // The type system says whether `new`'s return type is `Self` or a `Result` of it,
                // on that type.
                State::New(ret, is_async) => {
                    let new_await = awaited(*is_async);
                    let new_state = respan(
                        quote!(#p::new_state::<#self_ty, _>(#ty::new(#new_args) #new_await)),
                        *ret,
                    );
                    if asynchronous {
                        quote!(|#params| async #moved { #new_state })
                    } else {
                        quote!(|#params| #new_state)
                    }
                }
                // No `new` here: `Default`, with an error on the type that says where `new` is
                // looked for.
                State::Default => {
                    let default_state = respan(quote!(#p::default_state::<#self_ty>), self_ty.span());
                    if asynchronous {
                        quote!(|#params| async #moved { #default_state() })
                    } else {
                        quote!(|#params| #default_state())
                    }
                }
            };
            // Each forwarding method is spanned on the user's method, where a call of itself
            // (the inherent method compiled out) is reported.
            let on_stop = on_stop.map(|h| {
                let a = awaited(h.is_async);
                respan(
                    quote!(#asy fn on_stop(&mut self) { #ty::on_stop(self) #a }),
                    h.name,
                )
            });
            let on_reload = on_reload.map(|h| {
                let a = awaited(h.is_async);
                match settings {
                    // The settings the reload read, when it read a valid file.
                    Some(s) if s.in_reload => {
                        let sty = s.ty;
                        respan(
                            quote!(#asy fn on_reload(&mut self) {
                                if let ::core::option::Option::Some(__simple_daemon_settings) =
                                    #p::reloaded_settings::<#sty>()
                                {
                                    #ty::on_reload(self, __simple_daemon_settings) #a
                                }
                            }),
                            h.name,
                        )
                    }
                    _ => respan(
                        quote!(#asy fn on_reload(&mut self) { #ty::on_reload(self) #a }),
                        h.name,
                    ),
                }
            });
            let tick_await = awaited(tick.is_async);
            let call = match ctx_arg(tick) {
                Some(ctx) => quote!(#ty::tick(self, #ctx) #tick_await),
                None => quote!(#ty::tick(self) #tick_await),
            };
            let (error, body) = match &tick.output {
                Some(ret) => {
                    let tick_return = respan(quote!(<#ret as #p::TickReturn>), ret.span());
                    (
                        respan(quote!(type Error = #tick_return::Error;), ret.span()),
                        quote_spanned!(ret.span()=> #tick_return::into_result(#call)),
                    )
                }
                None => (
                    quote!(
                        type Error = ::core::convert::Infallible;
                    ),
                    quote!(#call; ::core::result::Result::Ok(())),
                ),
            };
            let ctx = if tick.ctx.is_some() {
                quote!(__simple_daemon_ctx)
            } else {
                quote!(_)
            };
            let (mut sig, body) = match tick.output {
                // An async tick with a written return type: its future, wrapped in a named type
                // whose `Future` impl asks for `TickReturn`, so that a wrong type is one error on
                // it (`type Error` above reports the same error at the same place).
                Some(ret) if asynchronous => {
                    let (a, b) = (quote!('__simple_daemon_a), quote!('__simple_daemon_b));
                    (
                        quote!(
                            #[allow(refining_impl_trait)]
                            fn tick<#a, #b>(&#a mut self, #ctx: &#b #p::Context)
                                -> #p::IntoResult<impl ::core::future::Future<Output = #ret> + use<#a, #b>>
                        ),
                        quote!(#p::IntoResult::new(async move { #call })),
                    )
                }
                _ => (
                    quote!(#asy fn tick(&mut self, #ctx: &#p::Context) -> ::core::result::Result<(), Self::Error>),
                    body,
                ),
            };
            let mut body = Group::new(Delimiter::Brace, body);
            if let Some(ret) = tick.output {
                // The method's well-formedness depends on the user's return type: a wrong one is
                // reported there, once, rather than also on the attribute.
                sig = respan(sig, ret.span());
                body.set_span(ret.span());
            } else {
                sig = respan(sig, tick.name);
                body.set_span(tick.name);
            }
            let daemon_trait = if asynchronous {
                quote!(AsyncDaemon)
            } else {
                quote!(Daemon)
            };
            let daemon_impl = quote! {
                #[deny(unconditional_recursion)]
                impl #p::#daemon_trait for #self_ty {
                    #error
                    #sig #body
                    #on_stop
                    #on_reload
                }
            };
            (daemon_impl, init, settings_ty)
        }
        Plan::Fn { tick } => {
            let call = match ctx_arg(tick) {
                Some(ctx) => quote!(tick(#ctx) #dot_await),
                None => quote!(tick() #dot_await),
            };
            // A written return type is checked where it is written: `TickReturn` spanned on it.
            let call = match &tick.output {
                Some(ret) => {
                    let tick_return = respan(quote!(<#ret as #p::TickReturn>), ret.span());
                    quote_spanned!(ret.span()=> #tick_return::into_result(#call))
                }
                None => call,
            };
            let ctx = if tick.ctx.is_some() {
                quote!(__simple_daemon_ctx)
            } else {
                quote!(_)
            };
            let init = if asynchronous {
                let daemon = quote!(#p::FnAsyncDaemon(async |#ctx: &#p::Context| #call));
                quote!(|| async { ::core::result::Result::Ok::<_, ::core::convert::Infallible>(#daemon) })
            } else {
                let daemon = quote!(#p::FnDaemon(|#ctx: &#p::Context| #call));
                quote!(|| ::core::result::Result::Ok::<_, ::core::convert::Infallible>(#daemon))
            };
            (TokenStream::new(), init, None)
        }
    };
    let main_fn = match (asynchronous, settings_ty) {
        (true, None) => quote!(main_tokio),
        (false, None) => quote!(main),
        // A settings type that is not `Deserialize` is reported on the type.
        (true, Some(ty)) => respan(quote!(main_tokio_with_settings), ty.span()),
        (false, Some(ty)) => respan(quote!(main_with_settings), ty.span()),
    };
    quote! {
        #input
        #daemon_impl
        fn main() -> #p::Exit {
            #builder.#main_fn(#init)
        }
    }
}

/// `__simple_daemon_ctx`, spanned on the user's parameter type so that a wrong type is reported
/// there, when `tick` takes the context.
fn ctx_arg(tick: &Tick<'_>) -> Option<TokenStream> {
    tick.ctx.map(|span| quote_spanned!(span=> __simple_daemon_ctx))
}

/// `tokens` with every span set to `span`: a path to a runtime item that an error about the
/// user's code should point at that code.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|tt| match tt {
            TokenTree::Group(g) => {
                let mut group = Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                TokenTree::Group(group)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
}

/// `Worker` for a plain path type, `<Worker<u8>>` otherwise, ready to be followed by `::item`.
fn type_prefix(ty: &Type) -> TokenStream {
    match ty {
        Type::Path(p) if p.qself.is_none() && p.path.segments.iter().all(|s| s.arguments.is_none()) => {
            p.to_token_stream()
        }
        other => quote!(<#other>),
    }
}

/// The literal builder chain: `SimpleDaemon::new(name)` and one call per key given.
fn builder(args: &Args, p: &TokenStream) -> TokenStream {
    let name = match &args.name {
        Some((name, _)) => quote!(#name),
        None => quote! {
            ::core::env!(
                "CARGO_BIN_NAME",
                "#[daemon] names the daemon after its binary (CARGO_BIN_NAME, set by Cargo); give it a name: #[daemon(name = \"...\")]"
            )
        },
    };
    let mut chain = quote!(#p::SimpleDaemon::new(#name).version(::core::env!("CARGO_PKG_VERSION")));
    if let Some((mode, _)) = &args.mode {
        let variant = match mode {
            Mode::Passive => quote!(Passive),
            Mode::Aggressive => quote!(Aggressive),
        };
        chain.extend(quote!(.mode(#p::Mode::#variant)));
    }
    if let Some((ms, _)) = &args.interval {
        let d = duration(*ms);
        chain.extend(quote!(.interval(#d)));
    }
    match &args.level {
        Some((LevelSpec::Plain(level), _)) => {
            let variant = match level {
                Level::Error => quote!(Error),
                Level::Warn => quote!(Warn),
                Level::Info => quote!(Info),
                Level::Debug => quote!(Debug),
                Level::Trace => quote!(Trace),
            };
            chain.extend(quote!(.level(#p::LevelFilter::#variant)));
        }
        Some((LevelSpec::Directives(s), _)) => chain.extend(quote!(.level(#s))),
        None => {}
    }
    for (key, value) in [
        ("log_path", &args.log_path),
        ("log_name", &args.log_name),
        ("log_format", &args.log_format),
    ] {
        if let Some((s, _)) = value {
            let method = syn::Ident::new(key, Span::call_site());
            chain.extend(quote!(.#method(#s)));
        }
    }
    for (key, value) in [
        ("stream", &args.stream),
        ("syslog", &args.syslog),
        ("journal", &args.journal),
        ("buffered", &args.buffered),
    ] {
        if let Some((on, _)) = value {
            let method = syn::Ident::new(key, Span::call_site());
            chain.extend(quote!(.#method(#on)));
        }
    }
    if let Some((bytes, _)) = &args.max_log_size {
        let n = Literal::u64_unsuffixed(*bytes);
        chain.extend(quote!(.max_log_size(#n)));
    }
    if let Some((count, _)) = &args.max_log_files {
        let n = Literal::u64_unsuffixed(*count);
        chain.extend(quote!(.max_log_files(#n)));
    }
    if let Some((every, _)) = &args.rotate_every {
        let variant = match every {
            RotateEvery::Hour => quote!(Hour),
            RotateEvery::Day => quote!(Day),
        };
        chain.extend(quote!(.rotate_every(#p::RotateEvery::#variant)));
    }
    if let Some((on, _)) = &args.compress {
        chain.extend(quote!(.compress(#on)));
    }
    if let Some((ms, _)) = &args.stop_timeout {
        let d = duration(*ms);
        chain.extend(quote!(.stop_timeout(#d)));
    }
    if let Some((ms, _)) = &args.watchdog {
        let d = duration(*ms);
        chain.extend(quote!(.watchdog(#d)));
    }
    if let Some((s, _)) = &args.schedule {
        chain.extend(quote!(.schedule(#s)));
    }
    if let Some((s, _)) = &args.timezone {
        chain.extend(quote!(.timezone(#s)));
    }
    if let Some((missed, _)) = &args.missed {
        let variant = match missed {
            Missed::Delay => quote!(Delay),
            Missed::Skip => quote!(Skip),
            Missed::Burst => quote!(Burst),
        };
        chain.extend(quote!(.missed(#p::Missed::#variant)));
    }
    if let Some((ms, _)) = &args.jitter {
        let d = duration(*ms);
        chain.extend(quote!(.jitter(#d)));
    }
    if let Some((on_error, _)) = &args.on_error {
        let variant = match on_error {
            OnError::Exit => quote!(Exit),
            OnError::Continue => quote!(Continue),
        };
        chain.extend(quote!(.on_error(#p::OnError::#variant)));
    }
    if let Some((ms, _)) = &args.max_backoff {
        let d = duration(*ms);
        chain.extend(quote!(.max_backoff(#d)));
    }
    if let Some((n, _)) = &args.max_failures {
        let n = Literal::u64_unsuffixed(*n);
        chain.extend(quote!(.max_failures(#n)));
    }
    if let Some((flavor, _)) = &args.flavor {
        let variant = match flavor {
            Flavor::CurrentThread => quote!(CurrentThread),
            Flavor::MultiThread => quote!(MultiThread),
        };
        chain.extend(quote!(.flavor(#p::Flavor::#variant)));
    }
    if let Some((n, _)) = &args.worker_threads {
        let n = Literal::u64_unsuffixed(*n);
        chain.extend(quote!(.worker_threads(#n)));
    }
    if let Some((ms, _)) = &args.tick_timeout {
        let d = duration(*ms);
        chain.extend(quote!(.tick_timeout(#d)));
    }
    if let Some((addr, _)) = &args.admin {
        chain.extend(quote!(.admin(#addr)));
    }
    if let Some((path, _)) = &args.config {
        chain.extend(quote!(.config_file(#path)));
    }
    chain
}

/// `Duration::from_secs(n)` when whole seconds, else `Duration::from_millis(n)`.
fn duration(ms: u64) -> TokenStream {
    if ms.is_multiple_of(1000) {
        let secs = Literal::u64_unsuffixed(ms / 1000);
        quote!(::core::time::Duration::from_secs(#secs))
    } else {
        let ms = Literal::u64_unsuffixed(ms);
        quote!(::core::time::Duration::from_millis(#ms))
    }
}
