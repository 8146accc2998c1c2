//! Colour on terminals.
//!
//! Text meant for people (the `error:` and `warning:` prefixes, table
//! headers, the signs of `spoke diff`) is written with styles through
//! `anstream`, which drops them on the way out unless the stream is to be
//! coloured: `--color always`, or `--color auto` (the default) on a terminal
//! with `NO_COLOR` unset or empty (<https://no-color.org>), `CLICOLOR` not
//! `0`, and a `TERM` other than `dumb`; `CLICOLOR_FORCE` colours a pipe
//! too (docs/cli.md, "Colour", has the whole rule). Machine formats (`--json`, `lint` and `breaking` findings, `deps
//! --format dot`) are written without styles, so they are never coloured.

use std::ffi::OsString;
use std::fmt::Display;
use std::io::Write as _;

use anstyle::{AnsiColor, Style};
use anyhow::{Context as _, Result};
use clap::ValueEnum as _;

/// When to colour, as `--color` takes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set.
    #[default]
    Auto,
    /// Even when piped, whatever NO_COLOR says.
    Always,
    /// Never.
    Never,
}

/// The `--color` value among the command line's `args` (the last one
/// wins, as with clap; none before a `--`), read before clap parses them so
/// that its help and usage errors, which it writes through `anstream` too,
/// follow it. A value clap will refuse counts as `auto`.
pub fn early_choice(args: impl IntoIterator<Item = OsString>) -> ColorWhen {
    let mut when = ColorWhen::Auto;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let value = match arg.to_str() {
            Some("--") => break,
            Some("--color") => args.next(),
            Some(arg) => arg.strip_prefix("--color=").map(OsString::from),
            None => None,
        };
        if let Some(value) = value {
            when = value
                .to_str()
                .and_then(|value| ColorWhen::from_str(value, false).ok())
                .unwrap_or_default();
        }
    }
    when
}

/// Makes `when` the choice of every stream written from now on.
pub fn init(when: ColorWhen) {
    anstream::ColorChoice::write_global(match when {
        ColorWhen::Auto => anstream::ColorChoice::Auto,
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
    });
}

/// The `error:` prefix.
pub const ERROR: Style = AnsiColor::Red.on_default().bold();
/// The `warning:` prefix.
pub const WARNING: Style = AnsiColor::Yellow.on_default().bold();
/// A table's header line.
pub const HEADER: Style = Style::new().bold();
/// Something added (`+` in a diff).
pub const ADDED: Style = AnsiColor::Green.on_default();
/// Something removed (`-` in a diff).
pub const REMOVED: Style = AnsiColor::Red.on_default();
/// Something changed (`~` in a diff).
pub const CHANGED: Style = AnsiColor::Yellow.on_default();

/// `text` wrapped in `style`'s escape codes, for [`stdout`] or [`stderr`]
/// to keep or drop.
pub fn paint(style: Style, text: impl Display) -> String {
    format!("{style}{text}{style:#}")
}

/// Writes `text`, which may hold styles, on stdout at once.
pub fn stdout(text: &str) -> Result<()> {
    anstream::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("cannot write output")
}

/// Writes `text`, which may hold styles, on stderr at once. A failure to
/// write there cannot be reported anywhere, so it is ignored.
fn stderr(text: &str) {
    let _ = anstream::stderr().lock().write_all(text.as_bytes());
}

/// `error: message` on stderr: the one line a failing command prints there.
pub fn error(message: impl Display) {
    stderr(&format!("{} {message}\n", paint(ERROR, "error:")));
}

/// `warning: message` on stderr.
pub fn warning(message: impl Display) {
    stderr(&format!("{} {message}\n", paint(WARNING, "warning:")));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_color_flag_is_found_before_parsing() {
        let choice = |args: &[&str]| early_choice(args.iter().map(OsString::from));
        assert_eq!(choice(&["spoke", "modules"]), ColorWhen::Auto);
        assert_eq!(
            choice(&["spoke", "--color", "never", "modules"]),
            ColorWhen::Never
        );
        assert_eq!(
            choice(&["spoke", "modules", "--color=always"]),
            ColorWhen::Always
        );
        assert_eq!(
            choice(&["spoke", "--color=never", "--color", "always"]),
            ColorWhen::Always
        );
        assert_eq!(choice(&["spoke", "--color", "purple"]), ColorWhen::Auto);
        assert_eq!(choice(&["spoke", "--color"]), ColorWhen::Auto);
        assert_eq!(choice(&["spoke", "--", "--color=never"]), ColorWhen::Auto);
    }

    #[test]
    fn paint_wraps_text_in_escape_codes_that_strip_away() {
        let painted = paint(ERROR, "error:");
        assert_eq!(painted, "\u{1b}[1m\u{1b}[31merror:\u{1b}[0m");
        assert_eq!(anstream::adapter::strip_str(&painted).to_string(), "error:");
    }
}
