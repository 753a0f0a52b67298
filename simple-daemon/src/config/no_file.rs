//! Without the feature `config` there is no operator's file: the configuration is the built-in
//! one (and `RUST_LOG`), and there are no settings to read.

use super::{Config, Operator, Reload, SimpleDaemon};
use crate::error::Error;

/// No settings type without the feature.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SettingsType(());

/// The builder's own configuration: what [`SimpleDaemon::config`] returns.
pub(crate) fn resolve(b: &SimpleDaemon) -> Result<Config, Error> {
    let mut config = b.check()?;
    config.operator = Operator {
        base: Some(Box::new(b.clone())),
        resolved: Some(Box::new(b.clone())),
        ..Operator::default()
    };
    Ok(config)
}

/// No start line without the feature: there is never a file.
pub(crate) fn start_line(_config: &Config) -> Option<String> {
    None
}

/// Without the feature a reload is `on_reload` alone.
pub(crate) fn reload(_current: &mut Config) -> Reload {
    Reload::NoFile
}
