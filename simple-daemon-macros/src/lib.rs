//! The `#[daemon]` attribute of [`simple-daemon`](https://docs.rs/simple-daemon): see
//! [`daemon`] for its forms, its keys, what it expands to, and the same program without it.
//!
//! Use it through the runtime crate, `simple_daemon::daemon`: the generated code calls
//! `::simple_daemon`.
//!
//! The crate is organised by phase: `args` parses the keys, `item` views the annotated item,
//! `valid` checks rules across keys and the item's shape, `expand` emits the code.
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

mod args;
mod calendar;
mod expand;
mod item;
mod suggest;
mod valid;

use proc_macro::TokenStream;

#[doc = include_str!("daemon.md")]
#[proc_macro_attribute]
pub fn daemon(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::daemon(args.into(), item.into()).into()
}
