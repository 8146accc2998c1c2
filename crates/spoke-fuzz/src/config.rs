//! Target `config`: [`Settings::load`] with fuzzer-made environment pairs
//! and TOML file. The input is `NAME=VALUE` lines (bytes, so values need
//! not be UTF-8), then optionally a line `---` and the TOML text.
//!
//! Besides not crashing: no secret (a value of a secret variable, a
//! password in `SPOKE_REDIS_URL`) reaches an error message or the
//! settings' `Debug` form, which is what the server logs.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

use spoke_server::Settings;
use spoke_server::config::{ENV_PREFIX, SECRET_KEYS};
use tempfile::NamedTempFile;

/// Secrets shorter than this are not looked for: they would be found by
/// chance in unrelated text.
const MIN_SECRET_LEN: usize = 8;

pub fn config(data: &[u8]) {
    let (env_text, toml) = match find_separator(data) {
        Some((env, toml)) => (env, Some(toml)),
        None => (data, None),
    };
    let env: Vec<(Vec<u8>, Vec<u8>)> = env_text
        .split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| match line.iter().position(|b| *b == b'=') {
            Some(eq) => (line[..eq].to_vec(), line[eq + 1..].to_vec()),
            None => (line.to_vec(), Vec::new()),
        })
        .collect();
    let file = toml.map(config_file);
    let path = file.as_ref().map(|f| f.path());
    let shown = load_and_show(path, &env);
    for (index, secret) in secrets(&env) {
        // Only a secret found nowhere else in the input, and not in what is
        // shown without it (fixed text), can only have been shown as itself.
        if occurrences(data, secret) != 1 {
            continue;
        }
        let mut without = env.clone();
        without[index].1 = replace(&env[index].1, secret);
        if contains(load_and_show(path, &without).as_bytes(), secret) {
            continue;
        }
        assert!(
            !contains(shown.as_bytes(), secret),
            "a secret is shown: {shown}"
        );
    }
}

/// Loads the settings and renders what the server may log of them: the
/// error, or the settings' `Debug` form.
fn load_and_show(file: Option<&Path>, env: &[(Vec<u8>, Vec<u8>)]) -> String {
    let env = env.iter().map(|(name, value)| {
        (
            OsString::from_vec(name.clone()),
            OsString::from_vec(value.clone()),
        )
    });
    match Settings::load(file, env) {
        Ok(settings) => {
            let _ = settings.l2_settings();
            format!("{settings:?} {:?}", settings.inert_settings())
        }
        Err(error) => format!("{error} {error:?}"),
    }
}

fn config_file(text: &[u8]) -> NamedTempFile {
    let mut file = crate::harness(
        "a config file",
        tempfile::Builder::new()
            .suffix(".toml")
            .tempfile_in(crate::scratch_root()),
    );
    crate::harness("a config file", file.write_all(text));
    file
}

/// The input split at its first line `---`.
fn find_separator(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut offset = 0;
    for line in data.split_inclusive(|b| *b == b'\n') {
        if line.strip_suffix(b"\n").unwrap_or(line) == b"---" {
            return Some((&data[..offset], &data[offset + line.len()..]));
        }
        offset += line.len();
    }
    None
}

/// The secrets in the environment worth looking for, with the index of
/// the variable that holds each.
fn secrets(env: &[(Vec<u8>, Vec<u8>)]) -> Vec<(usize, &[u8])> {
    let mut secrets = Vec::new();
    for (index, (name, value)) in env.iter().enumerate() {
        let Some(key) = name.strip_prefix(ENV_PREFIX.as_bytes()) else {
            continue;
        };
        let key = String::from_utf8_lossy(key).to_ascii_lowercase();
        if SECRET_KEYS.contains(&key.as_str()) {
            secrets.push((index, value.as_slice()));
        } else if key == "redis_url" {
            secrets.extend(url_password(value).map(|password| (index, password)));
        }
    }
    secrets.retain(|(_, s)| s.len() >= MIN_SECRET_LEN);
    secrets
}

/// The password of a `scheme://user:password@host/…` URL, found as the
/// Redis URL parser finds it: the authority ends at the first `/`, the
/// user part at its last `@`.
fn url_password(url: &[u8]) -> Option<&[u8]> {
    let start = url.windows(3).position(|w| w == b"://")? + 3;
    let rest = &url[start..];
    let authority = &rest[..rest.iter().position(|b| *b == b'/').unwrap_or(rest.len())];
    let userinfo = &authority[..authority.iter().rposition(|b| *b == b'@')?];
    let colon = userinfo.iter().position(|b| *b == b':')?;
    Some(&userinfo[colon + 1..])
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    occurrences(haystack, needle) > 0
}

fn occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

/// `value` with `secret` (a part of it) replaced by as many `x`.
fn replace(value: &[u8], secret: &[u8]) -> Vec<u8> {
    let Some(at) = value.windows(secret.len()).position(|w| w == secret) else {
        return value.to_vec();
    };
    let mut out = value.to_vec();
    out[at..at + secret.len()].fill(b'x');
    out
}
