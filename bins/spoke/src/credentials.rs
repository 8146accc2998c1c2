//! Stored tokens: `credentials.json` in the user's configuration directory,
//! one token per registry URL, readable and writable by the user alone
//! (the directory 0700, the file 0600, replaced atomically). `SPOKE_TOKEN`
//! overrides what is stored.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufRead as _, IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};
use spoke_client::BearerToken;

const FILE_NAME: &str = "credentials.json";

/// The variable whose token wins over a stored one.
pub const TOKEN_VARIABLE: &str = "SPOKE_TOKEN";

/// The variable naming the configuration directory instead of
/// `$XDG_CONFIG_HOME/spoke` or `~/.config/spoke`.
pub const CONFIG_DIR_VARIABLE: &str = "SPOKE_CONFIG_DIR";

/// A token longer than this is not a token (an OIDC access token with
/// many groups stays well below).
const MAX_TOKEN_BYTES: u64 = 16 * 1024;

/// The file's content. No `Debug`: it holds secrets.
#[derive(Default, Serialize, Deserialize)]
struct Stored {
    #[serde(default)]
    registries: BTreeMap<String, Entry>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    token: String,
}

/// Where the credentials are: `$SPOKE_CONFIG_DIR`, else
/// `$XDG_CONFIG_HOME/spoke`, else `$HOME/.config/spoke`, then
/// `credentials.json`. `None` when none of those is set (relative paths
/// do not count, as XDG says).
pub fn file() -> Option<PathBuf> {
    let absolute = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
    };
    let dir = absolute(CONFIG_DIR_VARIABLE)
        .or_else(|| absolute("XDG_CONFIG_HOME").map(|dir| dir.join("spoke")))
        .or_else(|| absolute("HOME").map(|home| home.join(".config").join("spoke")))?;
    Some(dir.join(FILE_NAME))
}

/// [`file`], or an error that says how to name one.
pub fn required_file() -> Result<PathBuf> {
    file().with_context(|| {
        format!("no configuration directory to keep credentials in: set {CONFIG_DIR_VARIABLE}, XDG_CONFIG_HOME or HOME")
    })
}

/// The token for `registry` (a canonical registry URL): `SPOKE_TOKEN` when
/// it is set and not empty, else the stored one, else none.
pub fn token_for(registry: &str) -> Result<Option<BearerToken>> {
    if let Some(value) = std::env::var_os(TOKEN_VARIABLE) {
        let value = value
            .to_str()
            .with_context(|| format!("{TOKEN_VARIABLE} is not UTF-8"))?
            .trim();
        if !value.is_empty() {
            let token = BearerToken::new(value).context(TOKEN_VARIABLE)?;
            return Ok(Some(token));
        }
    }
    let Some(path) = file() else {
        return Ok(None);
    };
    let stored = read(&path)?;
    let Some(entry) = stored.registries.get(registry) else {
        return Ok(None);
    };
    let token = BearerToken::new(entry.token.as_str())
        .with_context(|| format!("the token stored for {registry} in {}", path.display()))?;
    Ok(Some(token))
}

/// Stores `token` for `registry`, replacing any it had.
pub fn store(path: &Path, registry: &str, token: &BearerToken) -> Result<()> {
    let mut stored = read(path)?;
    let entry = Entry {
        token: token.secret().to_owned(),
    };
    stored.registries.insert(registry.to_owned(), entry);
    write(path, &stored)
}

/// Forgets the token of `registry`; false when there was none. The file
/// goes when it holds no token any more.
pub fn remove(path: &Path, registry: &str) -> Result<bool> {
    let mut stored = read(path)?;
    if stored.registries.remove(registry).is_none() {
        return Ok(false);
    }
    if stored.registries.is_empty() {
        fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))?;
    } else {
        write(path, &stored)?;
    }
    Ok(true)
}

/// The token on standard input: its first line, trimmed; empty is refused.
/// On a terminal it is asked for on stderr and not echoed.
pub fn read_token_from_stdin(registry: &str) -> Result<BearerToken> {
    let stdin = io::stdin();
    let mut line = String::new();
    {
        let _hidden = if stdin.is_terminal() {
            eprint!("Token for {registry}: ");
            let _ = io::stderr().flush();
            Some(echo::Hidden::new(&stdin))
        } else {
            None
        };
        stdin
            .lock()
            .take(MAX_TOKEN_BYTES + 2)
            .read_line(&mut line)
            .context("cannot read the token from standard input")?;
        if stdin.is_terminal() {
            eprintln!();
        }
    }
    let token = line.trim();
    if token.is_empty() {
        bail!("no token on standard input: pipe it in, e.g. `spoke login < token.txt`");
    }
    if token.len() as u64 > MAX_TOKEN_BYTES {
        bail!("the token on standard input is longer than {MAX_TOKEN_BYTES} bytes");
    }
    Ok(BearerToken::new(token)?)
}

fn read(path: &Path) -> Result<Stored> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Stored::default()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    warn_if_shared(path);
    // serde's messages may quote a value, and the values are secrets: say
    // only where the file is wrong.
    serde_json::from_slice(&bytes).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a credentials file (line {}, column {}); remove it and run `spoke login` again",
            path.display(),
            e.line(),
            e.column()
        )
    })
}

/// A file others can read has leaked its tokens already; say so (the next
/// login rewrites it 0600).
fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(metadata) = fs::metadata(path)
            && metadata.permissions().mode() & 0o077 != 0
        {
            crate::term::warning(format_args!(
                "{} is accessible to other users; run `chmod 600` on it and consider revoking its tokens",
                path.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Writes a temporary file that only the user can read, then renames it
/// over `path`, so a reader sees the old file or the new one, and the
/// tokens are never in a file with wider permissions.
fn write(path: &Path, stored: &Stored) -> Result<()> {
    let dir = path
        .parent()
        .with_context(|| format!("{} has no directory", path.display()))?;
    private_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let temp = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
    let written = write_private(&temp, stored).and_then(|()| fs::rename(&temp, path));
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written.with_context(|| format!("cannot write {}", path.display()))?;
    // The rename is durable once the directory is.
    if let Ok(dir) = fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn write_private(temp: &Path, stored: &Stored) -> io::Result<()> {
    // A leftover of a crashed run with the same id: create_new below must
    // not fail on it (and never follows a link put in its place).
    let _ = fs::remove_file(temp);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(temp)?;
    serde_json::to_writer_pretty(&mut out, stored)?;
    out.write_all(b"\n")?;
    out.sync_all()
}

/// Creates `dir` (and missing parents) readable by the user alone; an
/// existing directory is left as it is.
fn private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Terminal echo, switched off while a secret is typed.
mod echo {
    /// Echo is off while this lives (on a Unix terminal; elsewhere it does
    /// nothing).
    pub struct Hidden {
        #[cfg(unix)]
        restore: Option<rustix::termios::Termios>,
    }

    impl Hidden {
        #[cfg(unix)]
        pub fn new(stdin: &std::io::Stdin) -> Self {
            use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
            let restore = tcgetattr(stdin).ok().filter(|saved| {
                let mut quiet = saved.clone();
                quiet.local_modes.remove(LocalModes::ECHO);
                tcsetattr(stdin, OptionalActions::Now, &quiet).is_ok()
            });
            Self { restore }
        }

        #[cfg(not(unix))]
        pub fn new(_stdin: &std::io::Stdin) -> Self {
            Self {}
        }
    }

    #[cfg(unix)]
    impl Drop for Hidden {
        fn drop(&mut self) {
            if let Some(saved) = &self.restore {
                let _ = rustix::termios::tcsetattr(
                    std::io::stdin(),
                    rustix::termios::OptionalActions::Now,
                    saved,
                );
            }
        }
    }
}
