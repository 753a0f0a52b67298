//! Rules across keys, and the shape of the annotated item: `tick`'s receiver, parameters and
//! return type, `new`, the hooks. The result is the [`Plan`] that `expand` turns into code.

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{FnArg, ImplItemFn, ItemImpl, ReceiverKind, ReturnType, Signature, Type};

use crate::args::{Args, Errors, Mode};
use crate::item::{self, Item, NEW, ON_RELOAD, ON_STOP, TICK};
use crate::suggest::nearest;

/// What the expansion needs to know about the item.
pub(crate) enum Plan<'a> {
    /// An impl block: the state's type and how to build it, the tick, the hooks present.
    Impl {
        self_ty: &'a Type,
        state: State,
        tick: Tick<'a>,
        on_stop: bool,
        on_reload: bool,
    },
    /// A free `fn tick()`.
    Fn { tick: Tick<'a> },
}

/// How the state is built.
pub(crate) enum State {
    /// `Default::default()`.
    Default,
    /// `fn new() -> Self`.
    New,
    /// `fn new() -> Result<Self, E>`.
    TryNew,
}

/// The shape of `tick`.
pub(crate) struct Tick<'a> {
    /// The span of the `&Context` parameter's type, when `tick` takes one.
    pub(crate) ctx: Option<Span>,
    /// The return type, when one is written.
    pub(crate) output: Option<&'a Type>,
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
    errors.finish(plan)
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
    let tick = match item::method(imp, TICK) {
        Some(m) => check_tick(&m.sig, true, errors),
        None => {
            errors.push(missing_tick(imp));
            Tick {
                ctx: None,
                output: None,
            }
        }
    };
    let state = match item::method(imp, NEW) {
        Some(m) => check_new(m, &imp.self_ty, errors),
        None => State::Default,
    };
    let on_stop = item::method(imp, ON_STOP)
        .inspect(|m| check_hook(m, errors))
        .is_some();
    let on_reload = item::method(imp, ON_RELOAD)
        .inspect(|m| check_hook(m, errors))
        .is_some();
    Plan::Impl {
        self_ty: &imp.self_ty,
        state,
        tick,
        on_stop,
        on_reload,
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

/// Rules every recognised function shares: not async, not unsafe, not generic.
fn check_plain(sig: &Signature, errors: &mut Errors) {
    let name = &sig.ident;
    if let Some(a) = &sig.asyncness {
        errors.push(syn::Error::new(
            a.span,
            format!(
                "`{name}` cannot be async: the daemon calls it on its own thread, so block in it \
                 (or drive an async runtime from it)"
            ),
        ));
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
}

const TICK_FORMS: &str = "`fn tick(&mut self)` or `fn tick(&mut self, ctx: &simple_daemon::Context)`";
const FREE_TICK_FORMS: &str = "`fn tick()` or `fn tick(ctx: &simple_daemon::Context)`";

fn check_tick<'a>(sig: &'a Signature, method: bool, errors: &mut Errors) -> Tick<'a> {
    check_plain(sig, errors);
    let mut inputs = sig.inputs.iter().peekable();
    if method {
        match inputs.peek() {
            Some(FnArg::Receiver(r)) => {
                inputs.next();
                let ok = matches!(&r.kind, ReceiverKind::Reference(_, _, Some(_)));
                if !ok {
                    let found = match &r.kind {
                        ReceiverKind::Reference(..) => "`&self`: a tick may change the daemon's state",
                        ReceiverKind::Value => {
                            "`self`: the daemon calls it again and again on the same state"
                        }
                        _ => "a typed `self`",
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
    Tick { ctx, output }
}

fn check_new(m: &ImplItemFn, self_ty: &Type, errors: &mut Errors) -> State {
    let sig = &m.sig;
    check_plain(sig, errors);
    if !sig.inputs.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.inputs,
            "`new` must take no arguments: the daemon builds its state with `new()` (rename this \
             one and implement `Default`, or read the settings inside `new`)",
        ));
    }
    const RETURNS: &str = "`new` must return `Self` or `Result<Self, E>` where `E: Display`";
    match &sig.output {
        ReturnType::Default => {
            errors.push(syn::Error::new(sig.ident.span(), RETURNS));
            State::New
        }
        ReturnType::Type(_, ty) => match last_ident(ty) {
            Some(id) if id == "Self" || last_ident(self_ty).is_some_and(|s| s == id) => State::New,
            Some(id) if id == "Result" => State::TryNew,
            _ => {
                errors.push(syn::Error::new_spanned(ty, RETURNS));
                State::New
            }
        },
    }
}

fn check_hook(m: &ImplItemFn, errors: &mut Errors) {
    let sig = &m.sig;
    check_plain(sig, errors);
    let name = &sig.ident;
    let good_receiver = matches!(
        sig.inputs.first(),
        Some(FnArg::Receiver(r)) if matches!(r.kind, ReceiverKind::Reference(_, _, Some(_)))
    );
    if !good_receiver || sig.inputs.len() != 1 {
        errors.push(syn::Error::new_spanned(
            &sig.inputs,
            format!("the `{name}` hook takes `&mut self` and nothing else: `fn {name}(&mut self)`"),
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

/// The last identifier of a path type (`Self`, `Worker`, `Result` in `io::Result<Self>`).
fn last_ident(ty: &Type) -> Option<&syn::Ident> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().map(|s| &s.ident),
        Type::Paren(p) => last_ident(&p.elem),
        Type::Group(g) => last_ident(&g.elem),
        _ => None,
    }
}
