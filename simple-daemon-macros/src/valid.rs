//! Rules across keys, and the shape of the annotated item: `tick`'s receiver, parameters and
//! return type, `new`, the hooks. The result is the [`Plan`] that `expand` turns into code.

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{FnArg, ImplItemFn, ItemImpl, ReceiverKind, ReturnType, Signature, Type};

use crate::args::{Args, Errors, Flavor, Mode, OnError};
use crate::item::{self, Item, NEW, ON_RELOAD, ON_STOP, TICK};
use crate::suggest::nearest;

/// What the expansion needs to know about the item.
pub(crate) enum Plan<'a> {
    /// An impl block: the state's type and how to build it, the tick, the hooks present.
    Impl {
        self_ty: &'a Type,
        state: State,
        tick: Tick<'a>,
        /// Each hook, when present: the span of its name, and whether it is an `async fn`.
        on_stop: Option<Hook>,
        on_reload: Option<Hook>,
        /// The daemon's settings type (feature `config`), when `new` or `on_reload` takes one.
        settings: Option<Settings<'a>>,
    },
    /// A free `fn tick()`.
    Fn { tick: Tick<'a> },
}

/// A hook the impl block has.
#[derive(Clone, Copy)]
pub(crate) struct Hook {
    /// The span of its name.
    pub(crate) name: Span,
    /// `async fn`.
    pub(crate) is_async: bool,
}

impl Plan<'_> {
    /// Whether the daemon is async (feature `tokio`): any of its functions is an `async fn`.
    pub(crate) fn is_async(&self) -> bool {
        match self {
            Plan::Impl {
                state,
                tick,
                on_stop,
                on_reload,
                ..
            } => {
                tick.is_async
                    || matches!(state, State::New(_, true))
                    || on_stop.is_some_and(|h| h.is_async)
                    || on_reload.is_some_and(|h| h.is_async)
            }
            Plan::Fn { tick } => tick.is_async,
        }
    }
}

/// The settings parameter of `new` and `on_reload` (feature `config`).
#[derive(Clone, Copy)]
pub(crate) struct Settings<'a> {
    /// Its type: read from the file's `[settings]` table.
    pub(crate) ty: &'a Type,
    /// `new` takes it.
    pub(crate) in_new: bool,
    /// `on_reload` takes it.
    pub(crate) in_reload: bool,
}

/// How the state is built.
pub(crate) enum State {
    /// `Default::default()`.
    Default,
    /// `fn new()`, returning `Self` or `Result<Self, E>` under any name: the span of its return
    /// type, where the type system's verdict on it is reported, and whether it is `async`.
    New(Span, bool),
}

/// The shape of `tick`.
pub(crate) struct Tick<'a> {
    /// The span of the name `tick`.
    pub(crate) name: Span,
    /// The span of the `&Context` parameter's type, when `tick` takes one.
    pub(crate) ctx: Option<Span>,
    /// The return type, when one is written.
    pub(crate) output: Option<&'a Type>,
    /// `async fn tick`.
    pub(crate) is_async: bool,
}

/// Check the keys together and the item's shape; every error is reported.
pub(crate) fn check<'a>(args: &Args, item: &'a Item) -> syn::Result<Plan<'a>> {
    let mut errors = Errors::default();
    if let (Some((Mode::Aggressive, _)), Some((_, span))) = (&args.mode, &args.stop_timeout) {
        errors.push(syn::Error::new(
            *span,
            "`stop_timeout` has no effect with mode = \"aggressive\", which stops at once; \
             remove it, or use mode = \"passive\" to let the tick in progress finish within it",
        ));
    }
    if let (Some((_, at)), Some(_)) = (&args.schedule, &args.interval) {
        errors.push(syn::Error::new(
            *at,
            "`schedule` and `interval` cannot be used together: a daemon runs on a calendar \
             (`schedule`) or at a fixed rate (`interval`); remove one of them",
        ));
    }
    if let (Some((_, at)), None) = (&args.timezone, &args.schedule) {
        errors.push(syn::Error::new(
            *at,
            "`timezone` is the time zone of `schedule`: add `schedule = \"0 3 * * *\"`, or \
             remove `timezone`",
        ));
    }
    if let Some((_, at)) = &args.max_failures {
        if !matches!(args.on_error, Some((OnError::Continue, _))) {
            errors.push(syn::Error::new(
                *at,
                "`max_failures` needs on_error = \"continue\": with on_error = \"exit\" (the \
                 default) the first error ends the daemon",
            ));
        }
    }
    if let Some((_, at)) = &args.max_backoff {
        if !matches!(args.on_error, Some((OnError::Continue, _))) {
            errors.push(syn::Error::new(
                *at,
                "`max_backoff` needs on_error = \"continue\": with on_error = \"exit\" (the \
                 default) the first error ends the daemon",
            ));
        }
    }
    let plan = match item {
        Item::Impl(imp) => check_impl(imp, &mut errors),
        Item::Fn(f) => {
            if f.sig.ident != TICK {
                errors.push(fn_not_tick(&f.sig));
            }
            let tick = check_tick(&f.sig, false, &mut errors);
            Plan::Fn { tick }
        }
    };
    check_runtime_keys(args, plan.is_async(), &mut errors);
    errors.finish(plan)
}

/// `flavor` and `worker_threads` configure the tokio runtime of an async daemon, and
/// `worker_threads` only a multi-thread one.
fn check_runtime_keys(args: &Args, is_async: bool, errors: &mut Errors) {
    for (key, span) in [
        ("flavor", args.flavor.as_ref().map(|f| f.1)),
        ("worker_threads", args.worker_threads.as_ref().map(|w| w.1)),
    ] {
        if let (Some(span), false) = (span, is_async) {
            errors.push(syn::Error::new(
                span,
                format!(
                    "`{key}` configures the tokio runtime of an async daemon (feature `tokio`), and \
                     this daemon has no `async fn`: make `tick` an `async fn`, or remove `{key}`"
                ),
            ));
        }
    }
    if let (Some((Flavor::CurrentThread, _)), Some((_, span))) = (&args.flavor, &args.worker_threads) {
        errors.push(syn::Error::new(
            *span,
            "`worker_threads` has no effect with flavor = \"current_thread\", which runs \
             everything on the daemon's own thread; remove it, or use flavor = \"multi_thread\"",
        ));
    }
}

fn fn_not_tick(sig: &Signature) -> syn::Error {
    let message = if sig.ident == "main" {
        "#[daemon] writes `main` for you: put it on your periodic work, a free `fn tick()`, or on \
         the impl block that holds `fn tick(&mut self)`"
            .to_owned()
    } else {
        format!(
            "#[daemon] on a function expects it to be named `tick`: rename `{}` to `tick`",
            sig.ident
        )
    };
    syn::Error::new(sig.ident.span(), message)
}

fn check_impl<'a>(imp: &'a ItemImpl, errors: &mut Errors) -> Plan<'a> {
    if let Some((path, _)) = &imp.trait_ {
        let is_daemon = path.segments.last().is_some_and(|s| s.ident == "Daemon");
        let hint = if is_daemon {
            "; to implement `Daemon` by hand, run it without the macro: \
             `SimpleDaemon::new(\"MyDaemon\").run(Worker::default())`"
        } else {
            ""
        };
        errors.push(syn::Error::new_spanned(
            path,
            format!(
                "#[daemon] goes on an inherent impl block (`impl Worker {{ fn tick(&mut self) {{ ... }} }}`), \
                 not on a trait impl{hint}"
            ),
        ));
    }
    if !imp.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &imp.generics,
            "a daemon's impl block cannot be generic: `main` must build one concrete type",
        ));
    }
    if let Some(path) = foreign_path(&imp.self_ty) {
        errors.push(foreign_type(path));
    }
    for m in item::methods(imp) {
        if [TICK, NEW, ON_STOP, ON_RELOAD].iter().any(|n| m.sig.ident == n) {
            check_no_cfg(m, errors);
        }
    }
    let tick = match item::method(imp, TICK) {
        Some(m) => check_tick(&m.sig, true, errors),
        None => {
            errors.push(missing_tick(imp));
            Tick {
                name: imp.self_ty.span(),
                ctx: None,
                output: None,
                is_async: false,
            }
        }
    };
    let (state, new_settings) = match item::method(imp, NEW) {
        Some(m) => check_new(m, errors),
        None => (State::Default, None),
    };
    let on_stop = item::method(imp, ON_STOP).map(|m| check_hook(m, false, errors).0);
    let (on_reload, reload_settings) = match item::method(imp, ON_RELOAD) {
        Some(m) => {
            let (hook, settings) = check_hook(m, true, errors);
            (Some(hook), settings)
        }
        None => (None, None),
    };
    if let (Some(a), Some(b)) = (new_settings, reload_settings) {
        if a.to_token_stream().to_string() != b.to_token_stream().to_string() {
            errors.push(syn::Error::new_spanned(
                b,
                format!(
                    "`on_reload` takes the settings type `new` takes, `{}`: both are read from the \
                     same [settings] table",
                    a.to_token_stream()
                ),
            ));
        }
    }
    let settings = new_settings.or(reload_settings).map(|ty| Settings {
        ty,
        in_new: new_settings.is_some(),
        in_reload: reload_settings.is_some(),
    });
    Plan::Impl {
        self_ty: &imp.self_ty,
        state,
        tick,
        on_stop,
        on_reload,
        settings,
    }
}

/// No `tick` in the impl block: point at a likely candidate, else at the type.
fn missing_tick(imp: &ItemImpl) -> syn::Error {
    const SYNONYMS: &[&str] = &["run", "step", "work", "do_work", "poll", "run_once", "on_tick"];
    let candidate = item::methods(imp).find(|m| {
        let name = m.sig.ident.to_string();
        SYNONYMS.contains(&name.as_str()) || nearest(&name, [TICK]).is_some()
    });
    match candidate {
        Some(m) => syn::Error::new(
            m.sig.ident.span(),
            format!(
                "#[daemon] calls `fn tick(&mut self)`, and this impl block has none; rename `{}` to `tick`",
                m.sig.ident
            ),
        ),
        None => syn::Error::new_spanned(
            &imp.self_ty,
            format!(
                "missing `fn tick(&mut self)` in this impl block: #[daemon] calls it periodically \
                 (`impl {} {{ fn tick(&mut self) {{ ... }} }}`)",
                imp.self_ty.to_token_stream()
            ),
        ),
    }
}

/// Rules every recognised function shares: not unsafe, not generic, and `async` only with the
/// feature `tokio`. Returns whether it is an `async fn`.
fn check_plain(sig: &Signature, errors: &mut Errors) -> bool {
    let name = &sig.ident;
    if let Some(a) = &sig.asyncness {
        if !cfg!(feature = "tokio") {
            errors.push(syn::Error::new(
                a.span,
                format!(
                    "`async fn {name}` needs the `tokio` feature of simple-daemon; enable it in \
                     Cargo.toml: `simple-daemon = {{ version = \"0.1\", features = [\"tokio\"] }}`"
                ),
            ));
        }
    }
    if let syn::Safety::Unsafe(u) = &sig.safety {
        errors.push(syn::Error::new(
            u.span,
            format!("`{name}` cannot be an unsafe fn: the generated code calls it safely"),
        ));
    }
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            format!("`{name}` cannot be generic: the daemon calls it with no type to choose"),
        ));
    }
    sig.asyncness.is_some()
}

const TICK_FORMS: &str = "`fn tick(&mut self)` or `fn tick(&mut self, ctx: &simple_daemon::Context)`";
const FREE_TICK_FORMS: &str = "`fn tick()` or `fn tick(ctx: &simple_daemon::Context)`";

fn check_tick<'a>(sig: &'a Signature, method: bool, errors: &mut Errors) -> Tick<'a> {
    let is_async = check_plain(sig, errors);
    let mut inputs = sig.inputs.iter().peekable();
    if method {
        match inputs.peek() {
            Some(FnArg::Receiver(r)) => {
                inputs.next();
                if !mut_ref_receiver(r) {
                    let found = match &r.kind {
                        ReceiverKind::Reference(..) => "`&self`: a tick may change the daemon's state",
                        ReceiverKind::Value => {
                            "`self`: the daemon calls it again and again on the same state"
                        }
                        ReceiverKind::Typed(_, ty) if matches!(&**ty, Type::Reference(_)) => {
                            "`self: &Self`: a tick may change the daemon's state"
                        }
                        _ => "a `self` of this type: the daemon holds the state and lends it to each tick",
                    };
                    errors.push(syn::Error::new_spanned(
                        r,
                        format!("`tick` takes `&mut self`, not {found}"),
                    ));
                }
            }
            _ => errors.push(syn::Error::new(
                sig.ident.span(),
                format!(
                    "`tick` in an impl block must take `&mut self`: {TICK_FORMS} \
                     (for a daemon without state, put #[daemon] on a free `fn tick()`)"
                ),
            )),
        }
    }
    let forms = if method { TICK_FORMS } else { FREE_TICK_FORMS };
    let mut ctx = None;
    if let Some(arg) = inputs.next() {
        match arg {
            FnArg::Typed(p) => match &*p.ty {
                Type::Reference(r) if r.mutability.is_none() => ctx = Some(referent_span(&r.elem)),
                other => errors.push(syn::Error::new_spanned(
                    other,
                    format!(
                        "{} is the daemon's context, taken by shared reference: {forms}",
                        if method {
                            "the parameter of `tick` after `&mut self`"
                        } else {
                            "the parameter of a free `tick`"
                        }
                    ),
                )),
            },
            FnArg::Receiver(r) => errors.push(syn::Error::new_spanned(
                r,
                format!("a free `tick` has no `self`: {FREE_TICK_FORMS}"),
            )),
        }
    }
    let extra: Vec<&FnArg> = inputs.collect();
    if !extra.is_empty() {
        errors.push(syn::Error::new_spanned(
            quote::quote!(#(#extra),*),
            format!("too many parameters: the daemon calls {forms}"),
        ));
    }
    let output = match &sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some(&**ty),
    };
    Tick {
        name: sig.ident.span(),
        ctx,
        output,
        is_async,
    }
}

/// The settings parameter of `new` or `on_reload` (one typed parameter, `settings: S`), checked:
/// it needs the feature `config`.
fn settings_param<'a>(arg: &'a FnArg, name: &str, errors: &mut Errors) -> Option<&'a Type> {
    match arg {
        FnArg::Typed(t) => {
            if !cfg!(feature = "config") {
                errors.push(syn::Error::new_spanned(
                    t,
                    format!(
                        "a settings parameter of `{name}` needs the `config` feature of \
                         simple-daemon (the [settings] table of the operator's file); enable it \
                         in Cargo.toml: `simple-daemon = {{ version = \"0.1\", features = \
                         [\"config\"] }}`"
                    ),
                ));
                return None;
            }
            if let Type::Reference(r) = &*t.ty {
                errors.push(syn::Error::new_spanned(
                    r,
                    format!(
                        "the parameter of `{name}` is the daemon's settings, read from the [settings] \
                         table of the operator's file: an owned type that implements \
                         `serde::Deserialize` (`{name}(settings: Settings)`), not a reference"
                    ),
                ));
                return None;
            }
            Some(&t.ty)
        }
        FnArg::Receiver(r) => {
            errors.push(syn::Error::new_spanned(r, format!("`{name}` takes no `self`")));
            None
        }
    }
}

fn check_new<'a>(m: &'a ImplItemFn, errors: &mut Errors) -> (State, Option<&'a Type>) {
    let sig = &m.sig;
    let is_async = check_plain(sig, errors);
    let mut settings = None;
    match sig.inputs.len() {
        0 => {}
        1 => settings = sig.inputs.first().and_then(|a| settings_param(a, "new", errors)),
        _ => errors.push(syn::Error::new_spanned(
            &sig.inputs,
            "`new` takes no arguments, or one: the daemon's settings, read from the [settings] \
             table of the operator's file (`fn new(settings: Settings) -> Self`, feature `config`)",
        )),
    }
    let state = match &sig.output {
        ReturnType::Default => {
            errors.push(syn::Error::new(
                sig.ident.span(),
                "`new` must return `Self` or `Result<Self, E>` where `E: Display`: \
                 `fn new() -> Self`",
            ));
            State::New(sig.ident.span(), is_async)
        }
        // Whether it is `Self`, a `Result<Self, E: Display>` or an alias of one is for the type
        // system to say (`__private::NewReturn`), on this type: the macro cannot see through an
        // alias.
        ReturnType::Type(_, ty) => State::New(ty.span(), is_async),
    };
    (state, settings)
}

/// `#[cfg]` on a method the macro calls: the glue would call it whether or not it is compiled
/// in, and without it `Worker::tick` is the `Daemon` trait's own method (see `expand`, which
/// makes that a compile error too); this says why, on the attribute.
fn check_no_cfg(m: &ImplItemFn, errors: &mut Errors) {
    let name = &m.sig.ident;
    for attr in &m.attrs {
        if is_cfg(attr) {
            errors.push(syn::Error::new_spanned(
                attr,
                format!(
                    "#[daemon] cannot follow `#[cfg]` on `{name}`: it calls `{name}` whether or not \
                     the condition keeps it. Keep `{name}` and put the condition inside its body \
                     (`#[cfg(...)] {{ ... }}` or `if cfg!(...) {{ ... }}`)"
                ),
            ));
        }
    }
}

/// `#[cfg(...)]`, or a `#[cfg_attr(pred, ...)]` that may produce one.
fn is_cfg(attr: &syn::Attribute) -> bool {
    let path = attr.path();
    if path.is_ident("cfg") {
        return true;
    }
    let syn::Meta::List(list) = &attr.meta else {
        return false;
    };
    if !path.is_ident("cfg_attr") {
        return false;
    }
    // `cfg_attr(predicate, attr, attr, ...)`: after the first top-level comma, each attribute
    // starts with its name.
    let mut at_start = false;
    let mut produces_cfg = false;
    for tt in list.tokens.clone() {
        match &tt {
            proc_macro2::TokenTree::Punct(p) if p.as_char() == ',' => at_start = true,
            proc_macro2::TokenTree::Ident(i) if at_start => {
                produces_cfg |= i == "cfg" || i == "cfg_attr";
                at_start = false;
            }
            _ => at_start = false,
        }
    }
    produces_cfg
}

/// A hook (`on_stop`, `on_reload`); `takes_settings`: it may take the settings too (feature
/// `config`), returned.
fn check_hook<'a>(m: &'a ImplItemFn, takes_settings: bool, errors: &mut Errors) -> (Hook, Option<&'a Type>) {
    let sig = &m.sig;
    let is_async = check_plain(sig, errors);
    let name = &sig.ident;
    let good_receiver = matches!(sig.inputs.first(), Some(FnArg::Receiver(r)) if mut_ref_receiver(r));
    let mut settings = None;
    if good_receiver && takes_settings && sig.inputs.len() == 2 {
        settings = sig
            .inputs
            .iter()
            .nth(1)
            .and_then(|a| settings_param(a, "on_reload", errors));
    } else if !good_receiver || sig.inputs.len() != 1 {
        let also = if takes_settings {
            format!(", or `&mut self` and the settings: `fn {name}(&mut self, settings: Settings)` (feature `config`)")
        } else {
            String::new()
        };
        errors.push(syn::Error::new_spanned(
            &sig.inputs,
            format!("the `{name}` hook takes `&mut self` and nothing else: `fn {name}(&mut self)`{also}"),
        ));
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        let unit = matches!(&**ty, Type::Tuple(t) if t.elems.is_empty());
        if !unit {
            errors.push(syn::Error::new_spanned(
                ty,
                format!("the `{name}` hook returns nothing: `fn {name}(&mut self)`"),
            ));
        }
    }
    (
        Hook {
            name: sig.ident.span(),
            is_async,
        },
        settings,
    )
}

/// `&mut self`, `&'a mut self`, or `self: &mut T` (`&mut Self`, `&mut Worker`, `&mut` an alias:
/// the type system checks `T` is the daemon's type, on `T`).
fn mut_ref_receiver(r: &syn::Receiver) -> bool {
    match &r.kind {
        ReceiverKind::Reference(_, _, m) => m.is_some(),
        ReceiverKind::Typed(_, ty) => matches!(&**ty, Type::Reference(t) if t.mutability.is_some()),
        _ => false,
    }
}

/// Where to report a wrong context type: the last identifier of a path (`Context` in
/// `&simple_daemon::Context`, `str` in `&str`), else the type's first token.
fn referent_span(ty: &Type) -> Span {
    match ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .map_or_else(|| ty.span(), |s| s.ident.span()),
        other => other.span(),
    }
}

/// The self type's path when it names the type through other modules or crates
/// (`mylib::Poller`, `::mylib::Poller`): almost always a type from another crate, for which
/// neither the user's inherent impl nor the generated `impl Daemon` is allowed. (A path from
/// `crate`, `self` or `super` is this crate's; a plain name may be an import, which the macro
/// cannot tell.)
pub(crate) fn foreign_path(ty: &Type) -> Option<&syn::Path> {
    let Type::Path(p) = ty else { return None };
    let first = p.path.segments.first()?;
    let local = ["crate", "self", "super", "Self"]
        .iter()
        .any(|k| first.ident == k);
    let through = p.path.leading_colon.is_some() || p.path.segments.len() > 1;
    (p.qself.is_none() && through && !local).then_some(&p.path)
}

fn foreign_type(path: &syn::Path) -> syn::Error {
    let shown = path.to_token_stream().to_string().replace(' ', "");
    let name = path
        .segments
        .last()
        .map_or_else(|| shown.clone(), |s| s.ident.to_string());
    syn::Error::new_spanned(
        path,
        format!(
            "#[daemon] needs a type defined in this crate, named by its plain name \
             (`impl {name}`); `{shown}` names it through another crate or module. For a type \
             defined in a library, keep its `impl Daemon` there and write this binary's main \
             with the builder: `fn main() -> simple_daemon::Exit {{ \
             simple_daemon::SimpleDaemon::new(\"{name}\").main({shown}::new) }}` (same command \
             line); for a type in a module of this crate, `use` it and write `impl {name}`"
        ),
    )
}
