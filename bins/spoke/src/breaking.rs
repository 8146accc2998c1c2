//! `spoke breaking`: compile a local directory like `validate`, compile
//! what it is checked against (another directory, or a registry version
//! with its closure), and report buf's breaking changes between the two.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use spoke_client::Client;
use spoke_domain::DependencyRef;
use spoke_schema::breaking::{BreakingConfig, BreakingViolation};

use crate::findings::{self, Annotation, ErrorFormat};
use crate::local::{self, Sources};

pub struct BreakingArgs {
    pub sources: Sources,
    pub against: String,
    pub uses: Vec<String>,
    pub except: Vec<String>,
    pub format: ErrorFormat,
}

/// What the sources are checked against.
#[derive(Debug, PartialEq)]
enum Against {
    /// A directory, compiled with the same `-I` and `--dep` as DIR.
    Dir(PathBuf),
    /// A registry version, compiled with its own dependency closure.
    Registry(DependencyRef),
}

impl Against {
    /// An existing directory is one; otherwise the value must be
    /// `MODULE@VERSION` (or `MODULE@latest`). A bare word is not taken as a
    /// module, so that a mistyped directory is not looked up in the registry.
    fn parse(text: &str) -> Result<Self> {
        let path = PathBuf::from(text);
        if path.is_dir() {
            return Ok(Self::Dir(path));
        }
        if !text.contains('@') {
            bail!(
                "--against {text:?} is not a directory (a registry version is written MODULE@VERSION)"
            );
        }
        DependencyRef::parse(text)
            .map(Self::Registry)
            .with_context(|| format!("bad --against {text:?}"))
    }
}

pub async fn run(client: &Client, args: BreakingArgs) -> Result<ExitCode> {
    // Configuration and --against are checked before any file is read or
    // fetched, so a typo fails fast.
    let config = config(&args)?;
    let against = Against::parse(&args.against)?;
    let current = local::compile(client, &args.sources).await?;
    let current =
        local::compiled_or_report(current.compiled, args.format, args.sources.dir.display())?;
    let previous = match &against {
        Against::Dir(dir) => {
            let sources = Sources {
                dir: dir.clone(),
                ..args.sources.clone()
            };
            let local = local::compile(client, &sources).await?;
            let what = format!("--against {}", dir.display());
            local::compiled_or_report(local.compiled, args.format, what)?
        }
        Against::Registry(reference) => {
            let fetched = local::compile_registry_version(client, reference).await?;
            let what = format!("--against {}", fetched.pin);
            local::compiled_or_report(fetched.compiled, args.format, what)?
        }
    };
    let violations = spoke_schema::breaking::check(&previous, &current, &config)?;
    findings::report(violations.iter().map(annotation), args.format)
}

/// DIR's buf.yaml `breaking` section (buf's default, `FILE`, without one),
/// then `--use` replaces its `use` list and `--except` adds to its `except`
/// list.
fn config(args: &BreakingArgs) -> Result<BreakingConfig> {
    let mut config = match findings::read_buf_yaml(&args.sources.dir)? {
        Some(text) => BreakingConfig::from_buf_yaml(&text)
            .with_context(|| format!("{}", args.sources.dir.join("buf.yaml").display()))?,
        None => BreakingConfig::default(),
    };
    if !args.uses.is_empty() {
        config.uses.clone_from(&args.uses);
    }
    config.except.extend(args.except.iter().cloned());
    config.validate()?;
    Ok(config)
}

fn annotation(violation: &BreakingViolation) -> Annotation<'_> {
    Annotation {
        path: &violation.path,
        start_line: violation.start_line,
        start_column: violation.start_column,
        end_line: violation.end_line,
        end_column: violation.end_column,
        kind: violation.rule,
        message: &violation.message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn against_is_a_directory_or_a_registry_version() {
        let dir = std::env::temp_dir();
        let text = dir.to_str().unwrap_or_default();
        assert_eq!(Against::parse(text).ok(), Some(Against::Dir(dir.clone())));
        assert!(matches!(
            Against::parse("common@v1.0.0"),
            Ok(Against::Registry(_))
        ));
        assert!(matches!(
            Against::parse("common@latest"),
            Ok(Against::Registry(_))
        ));
        let err = Against::parse("no/such/dir").unwrap_err().to_string();
        assert!(err.contains("MODULE@VERSION"), "{err}");
        assert!(Against::parse("Common@v1").is_err());
    }
}
