// SPDX-License-Identifier: Apache-2.0
//! The CLI's message catalogue: every text a person reads, in English and in French, one
//! function per message, grouped by command family ([`wallet`], [`qr`], [`demo`]).
//!
//! The language is chosen once per process: `VISTALID_LANG` (`en` or `fr`), else the POSIX
//! locale variables in their order of precedence (`LC_ALL`, `LC_MESSAGES`, `LANG`): a value
//! starting with `fr` gives French, anything else English. Plurals follow each language's
//! rule ([`plural`]). Dates are shown in the machine's local time zone with its UTC offset
//! ([`local_time`]). Lines that scripts read (`demo: N passed, N failed`) are not messages
//! and stay as they are. `--help` (clap's) is in English only.

pub(crate) mod browser;
pub(crate) mod demo;
pub(crate) mod offline;
pub(crate) mod qr;
pub(crate) mod wallet;

use std::sync::OnceLock;

/// A language of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    /// English (the default).
    En,
    /// French.
    Fr,
}

/// The text in the current language, formatted only for that language:
/// `t!("English {x}", "Français {x}")`.
macro_rules! t {
    ($en:literal, $fr:literal $(,)?) => {
        match $crate::text::lang() {
            $crate::text::Lang::En => format!($en),
            $crate::text::Lang::Fr => format!($fr),
        }
    };
}
pub(crate) use t;

/// The language of this process (see the module docs).
pub(crate) fn lang() -> Lang {
    #[cfg(test)]
    if let Some(forced) = tests::FORCED.with(std::cell::Cell::get) {
        return forced;
    }
    static LANG: OnceLock<Lang> = OnceLock::new();
    *LANG.get_or_init(|| from_env(|key| std::env::var(key).ok()))
}

/// The language the environment asks for; `get` reads a variable.
fn from_env(get: impl Fn(&str) -> Option<String>) -> Lang {
    for key in ["VISTALID_LANG", "LC_ALL", "LC_MESSAGES", "LANG"] {
        if let Some(value) = get(key).filter(|v| !v.is_empty()) {
            return if value.to_ascii_lowercase().starts_with("fr") {
                Lang::Fr
            } else {
                Lang::En
            };
        }
    }
    Lang::En
}

/// `n` followed by the singular or plural form, by the current language's rule: English
/// uses the singular for 1 only, French for 0 and 1.
pub(crate) fn plural(
    n: u64,
    (en_one, en_many): (&str, &str),
    (fr_one, fr_many): (&str, &str),
) -> String {
    let word = match lang() {
        Lang::En if n == 1 => en_one,
        Lang::En => en_many,
        Lang::Fr if n <= 1 => fr_one,
        Lang::Fr => fr_many,
    };
    format!("{n} {word}")
}

/// A time (seconds since the epoch) as a local date and time with its UTC offset, e.g.
/// `2026-12-01 21:17:00 (UTC+01:00)` or, in French, `01/12/2026 21:17:00 (UTC+01:00)`; the
/// raw number if it is out of range.
pub(crate) fn local_time(secs: i64) -> String {
    use chrono::TimeZone as _;
    match chrono::Local.timestamp_opt(secs, 0).single() {
        Some(at) => match lang() {
            Lang::En => at.format("%Y-%m-%d %H:%M:%S (UTC%:z)").to_string(),
            Lang::Fr => at.format("%d/%m/%Y %H:%M:%S (UTC%:z)").to_string(),
        },
        None => secs.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;

    use super::*;

    thread_local! {
        pub(super) static FORCED: Cell<Option<Lang>> = const { Cell::new(None) };
    }

    /// Runs `f` with the catalogue in `lang` (this thread only).
    pub(crate) fn with_lang<T>(lang: Lang, f: impl FnOnce() -> T) -> T {
        FORCED.with(|c| c.set(Some(lang)));
        let out = f();
        FORCED.with(|c| c.set(None));
        out
    }

    #[test]
    fn the_environment_chooses_the_language_in_posix_order() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |key: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(from_env(env(&[])), Lang::En);
        assert_eq!(from_env(env(&[("LANG", "fr_FR.UTF-8")])), Lang::Fr);
        assert_eq!(from_env(env(&[("LANG", "C.UTF-8")])), Lang::En);
        assert_eq!(
            from_env(env(&[("LC_ALL", "en_GB.UTF-8"), ("LANG", "fr_FR.UTF-8")])),
            Lang::En
        );
        assert_eq!(
            from_env(env(&[
                ("LC_ALL", ""),
                ("LC_MESSAGES", "fr_CA"),
                ("LANG", "en_US")
            ])),
            Lang::Fr
        );
        assert_eq!(
            from_env(env(&[("VISTALID_LANG", "fr"), ("LC_ALL", "en_US.UTF-8")])),
            Lang::Fr
        );
        assert_eq!(
            from_env(env(&[("VISTALID_LANG", "en"), ("LANG", "fr_FR.UTF-8")])),
            Lang::En
        );
    }

    #[test]
    fn plurals_follow_each_language() {
        let tries = |n| plural(n, ("try", "tries"), ("essai", "essais"));
        with_lang(Lang::En, || {
            assert_eq!(tries(0), "0 tries");
            assert_eq!(tries(1), "1 try");
            assert_eq!(tries(4), "4 tries");
        });
        with_lang(Lang::Fr, || {
            assert_eq!(tries(0), "0 essai");
            assert_eq!(tries(1), "1 essai");
            assert_eq!(tries(2), "2 essais");
        });
    }

    #[test]
    fn times_are_dates_not_seconds() {
        for lang in [Lang::En, Lang::Fr] {
            let shown = with_lang(lang, || local_time(1_796_151_420));
            assert!(!shown.contains("1796151420"), "{shown}");
            assert!(shown.contains("2026") && shown.contains("(UTC"), "{shown}");
        }
        assert_eq!(local_time(i64::MAX), i64::MAX.to_string());
    }
}
