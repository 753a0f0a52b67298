//! The keys of the feature `schedule`: `schedule` (cron, checked by the parser the runtime
//! uses, `simple-daemon-cron`) and `timezone` (IANA names from the tz database the runtime
//! uses, `chrono-tz`). Without the feature, either key is one error naming the feature.

use syn::LitStr;

/// The error for a key of the feature `schedule` when it is off.
#[cfg(not(feature = "schedule"))]
fn feature_off(lit: &LitStr, key: &str) -> syn::Error {
    syn::Error::new(
        lit.span(),
        format!(
            "`{key}` needs the feature `schedule` of simple-daemon: \
             simple-daemon = {{ version = \"0.1\", features = [\"schedule\"] }}"
        ),
    )
}

/// Check a cron expression; the error names the bad field (`hour 25 is out of range 0-23`).
#[cfg(feature = "schedule")]
pub(crate) fn check_schedule(s: &str, lit: &LitStr) -> syn::Result<()> {
    simple_daemon_cron::Cron::parse(s)
        .map(drop)
        .map_err(|e| syn::Error::new(lit.span(), format!("invalid schedule {s:?}: {e}")))
}

/// Check an IANA time zone name, suggesting the nearest one.
#[cfg(feature = "schedule")]
pub(crate) fn check_timezone(s: &str, lit: &LitStr) -> syn::Result<()> {
    if s.parse::<chrono_tz::Tz>().is_ok() {
        return Ok(());
    }
    let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
    let hint = suggest_zone(s, names).map_or(String::new(), |n| format!("; did you mean \"{n}\"?"));
    Err(syn::Error::new(
        lit.span(),
        format!(
            "unknown time zone {s:?}{hint} Expected an IANA name, like \"Europe/Berlin\", \
             \"America/New_York\" or \"UTC\""
        ),
    ))
}

/// The zone a wrong name most likely means: same letters in another case, a city alone
/// (`Berlin`), or the nearest name.
#[cfg(feature = "schedule")]
fn suggest_zone<'a>(s: &str, names: impl Iterator<Item = &'a str> + Clone) -> Option<&'a str> {
    let wanted = s.trim().replace(' ', "_");
    names
        .clone()
        .find(|n| n.eq_ignore_ascii_case(&wanted))
        .or_else(|| {
            names.clone().find(|n| {
                n.rsplit_once('/')
                    .is_some_and(|(_, city)| city.eq_ignore_ascii_case(&wanted))
            })
        })
        .or_else(|| crate::suggest::nearest(&wanted, names))
}

#[cfg(not(feature = "schedule"))]
pub(crate) fn check_schedule(_s: &str, lit: &LitStr) -> syn::Result<()> {
    Err(feature_off(lit, "schedule"))
}

#[cfg(not(feature = "schedule"))]
pub(crate) fn check_timezone(_s: &str, lit: &LitStr) -> syn::Result<()> {
    Err(feature_off(lit, "timezone"))
}
