//! `spoke completion SHELL`: the shell's completion script for `spoke`.

use std::io::Write as _;

use anyhow::{Context as _, Result};
use clap::CommandFactory as _;
use clap_complete::Shell;

pub const COMPLETION_HELP: &str = "\
Prints the completion script for SHELL (bash, zsh, fish, powershell or
elvish) on stdout: it completes commands, flags and the values of flags that
take one of a fixed list. It needs no registry. Load it from the shell's
start-up file, for instance:

  bash        echo 'source <(spoke completion bash)' >> ~/.bashrc
  zsh         spoke completion zsh > ~/.zfunc/_spoke
              (with `fpath+=~/.zfunc` before `compinit` in ~/.zshrc)
  fish        spoke completion fish > ~/.config/fish/completions/spoke.fish
  powershell  spoke completion powershell >> $PROFILE";

#[derive(clap::Args)]
pub struct CompletionArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the script for `shell` on stdout.
pub fn print(args: &CompletionArgs) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut crate::Cli::command(), "spoke", &mut script);
    std::io::stdout()
        .lock()
        .write_all(&script)
        .context("cannot write output")
}
