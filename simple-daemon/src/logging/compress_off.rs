//! Without the feature `compress`: rotated files stay as they are (the feature's
//! `logging/compress.rs` gzips them). The key and the builder method need the feature, so
//! nothing asks for compression here.

use std::path::Path;

/// Nothing to start: there is no compression without the feature.
pub(crate) enum Compressor {}

impl Compressor {
    /// Never starts (no compression without the feature).
    pub(crate) fn start(_path: &Path, _backups: usize) -> Option<Compressor> {
        None
    }

    /// Cannot be called: no `Compressor` exists without the feature.
    pub(crate) fn rotated(&self, _id: (u64, u64)) {
        match *self {}
    }
}
