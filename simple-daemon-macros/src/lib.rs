//! The `#[daemon]` attribute of `simple-daemon` (interim: the attribute issue builds it).
use proc_macro::TokenStream;

/// Turn an `impl` block with `fn tick(&mut self)` into a daemon's `main`.
#[proc_macro_attribute]
pub fn daemon(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}
