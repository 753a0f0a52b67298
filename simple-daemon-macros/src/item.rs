//! A typed view of the item `#[daemon]` is put on: an inherent `impl` block, or a free
//! `fn tick()`. Anything else is an error here, on the item's first tokens.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{ImplItem, ImplItemFn, ItemFn, ItemImpl};

/// The annotated item.
pub(crate) enum Item {
    /// `impl Worker { fn tick(&mut self) { ... } ... }`
    Impl(ItemImpl),
    /// `fn tick() { ... }`
    Fn(ItemFn),
}

/// The method names the macro looks for in an impl block.
pub(crate) const TICK: &str = "tick";
pub(crate) const NEW: &str = "new";
pub(crate) const ON_STOP: &str = "on_stop";
pub(crate) const ON_RELOAD: &str = "on_reload";

const WHERE: &str = "put #[daemon] on the impl block that holds `fn tick(&mut self)`, or on a free \
                     `fn tick()` for a daemon without state";

/// Parse the annotated tokens and accept only the two forms.
pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Item> {
    let item: syn::Item = syn::parse2(tokens)?;
    match item {
        syn::Item::Impl(i) => Ok(Item::Impl(i)),
        syn::Item::Fn(f) => Ok(Item::Fn(f)),
        syn::Item::Struct(s) => {
            let (kw, ident) = (&s.struct_token, &s.ident);
            Err(on_type(quote!(#kw #ident), &ident.to_string(), "a struct"))
        }
        syn::Item::Enum(e) => {
            let (kw, ident) = (&e.enum_token, &e.ident);
            Err(on_type(quote!(#kw #ident), &ident.to_string(), "an enum"))
        }
        syn::Item::Union(u) => {
            let (kw, ident) = (&u.union_token, &u.ident);
            Err(on_type(quote!(#kw #ident), &ident.to_string(), "a union"))
        }
        syn::Item::Trait(t) => {
            let (kw, ident) = (&t.trait_token, &t.ident);
            Err(syn::Error::new_spanned(
                quote!(#kw #ident),
                format!("#[daemon] cannot go on a trait: {WHERE}"),
            ))
        }
        other => Err(syn::Error::new_spanned(
            first_tokens(&other),
            format!("#[daemon] cannot go on this item: {WHERE}"),
        )),
    }
}

fn on_type(tokens: TokenStream, name: &str, what: &str) -> syn::Error {
    syn::Error::new_spanned(
        tokens,
        format!(
            "#[daemon] goes on the impl block that holds `fn tick(&mut self)`, not on {what}: \
             write `#[daemon(...)] impl {name} {{ fn tick(&mut self) {{ ... }} }}`"
        ),
    )
}

/// The tokens that start an item (its keyword and name), to put an error on.
fn first_tokens(item: &syn::Item) -> TokenStream {
    match item {
        syn::Item::Const(c) => {
            let (kw, ident) = (&c.const_token, &c.ident);
            quote!(#kw #ident)
        }
        syn::Item::Static(s) => {
            let (kw, ident) = (&s.static_token, &s.ident);
            quote!(#kw #ident)
        }
        syn::Item::Mod(m) => {
            let (kw, ident) = (&m.mod_token, &m.ident);
            quote!(#kw #ident)
        }
        syn::Item::Type(t) => {
            let (kw, ident) = (&t.type_token, &t.ident);
            quote!(#kw #ident)
        }
        syn::Item::Use(u) => {
            let kw = &u.use_token;
            quote!(#kw)
        }
        other => quote!(#other),
    }
}

/// The methods of an impl block, by name.
pub(crate) fn method<'a>(imp: &'a ItemImpl, name: &str) -> Option<&'a ImplItemFn> {
    methods(imp).find(|m| m.sig.ident == name)
}

/// Every method of an impl block.
pub(crate) fn methods(imp: &ItemImpl) -> impl Iterator<Item = &ImplItemFn> {
    imp.items.iter().filter_map(|i| match i {
        ImplItem::Fn(f) => Some(f),
        _ => None,
    })
}
