//! `spoke`: push and pull Protobuf modules to and from a Spoke registry.
//!
//! Exit codes: 0 success, 1 any failure (one `error: …` line on stderr),
//! 2 a usage error (clap's message), 100 `lint` found violations or
//! `breaking` found breaking changes (or, as in buf, compile errors).

mod access;
mod against;
mod assemble;
mod breaking;
mod closure;
mod compat;
mod completion;
mod credentials;
mod deprecate;
mod deps;
mod diff;
mod failure;
mod findings;
mod generate;
mod git;
mod image;
mod label;
mod lint;
mod local;
mod lock;
mod pull;
mod push;
mod sdk;
mod search;
mod suggest;
mod targets;
mod term;
mod validate;
mod workspace;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::{CommandFactory as _, Parser, Subcommand};
use serde::Serialize;
use spoke_client::{Client, ClientError, ClientOptions};

const PULL_HELP: &str = "\
Writes the files of MODULE@VERSION under --dir, at their paths inside the module.

With --recursive the version's dependency closure (as the registry's
`dependencies?transitive=true` view lists it) is pulled too, and the files of
every module are MERGED into the same directory at their own paths: imports
resolve against the union of the closure's files, so this layout compiles with
`protoc -I DIR`. A path that two modules provide with different content is an
error and nothing is written; the same path with identical content is written
once.

Paths received from the registry are validated (relative, no `..`, no
backslashes) before anything is written. Existing files are overwritten; other
files in DIR are left alone.";

const PUSH_HELP: &str = "\
In a buf workspace (DIR holds a buf.yaml, v1 or v2, or a buf.work.yaml, or is
a module's directory, or one holding modules, of the workspace found above it,
as `spoke build` finds it), pushes the modules DIR names (every module from the
root) and, as `buf push` does, the workspace modules they import from, as
VERSION, each file at its path relative to its module's root, without its
`excludes`. A buf name REMOTE/OWNER/MODULE is the Spoke module
OWNER.MODULE (REMOTE is not part of it: every remote's modules live in
--registry). Modules are pushed in dependency order: a module that imports
another workspace module's files pins it at the same VERSION. The `deps` it
imports from are pinned at the versions spoke.lock names (a digest that no
longer matches refuses the push), else at what each entry names now (latest, a
label or a version). Every module is compiled before anything is pushed;
compile errors print as `spoke build` prints them (buf's words, exit status
100). As with `buf push`, every module pushed needs a name; with --module, the one module
of a workspace that names none is pushed under that name, and --dep adds to
its deps (so a buf.yaml kept only for lint changes nothing for today's flags).

Without a buf.yaml, pushes every *.proto file under DIR (recursively, paths
relative to DIR with `/` separators) as --module@VERSION, with the --dep
dependencies. Directories whose name starts with `.` (such as .git) are
skipped; symbolic links to files are followed, those to directories are not.

A module is created (with --description) when it does not exist yet, and only
once the push is accepted. When a module's directory is inside a git work tree,
the commit, branch and `origin` remote (without credentials) are sent as the
version's source info.

Without a buf.yaml, files that do not compile are refused by the registry and
nothing is stored: every compile error is printed on stdout as
`path:line:column: message` (with --json, the registry's list), then the
`error:` line.

Versions are immutable: pushing the same content again succeeds and changes
nothing; pushing different content under an existing version fails.";

const DEP_UPDATE_HELP: &str = "\
Resolves every `deps` entry of the buf workspace DIR is in (its root, or a
module's directory the workspace is found above, as buf finds it) to an exact
version and writes spoke.lock at the workspace root:

  version: v1
  deps:
    - module: acme.types
      version: v1.4.0
      digest: sha256:…

An entry is buf's REMOTE/OWNER/MODULE[:REF] (the Spoke module OWNER.MODULE) or
MODULE[@REF]; REF is a version, a label or `latest` (the default). Entries are
sorted by module. While spoke.lock exists, `push` and `build` resolve every
entry to its locked version, and refuse one whose digest no longer matches,
until the next `spoke dep update`.";

const DEP_GRAPH_HELP: &str = "\
Prints the dependency graph of the buf workspace DIR is in, in Graphviz's DOT
language, as `buf dep graph` draws it: one edge per direct import relation,
from a workspace module (its Spoke name, or its path when it has none) to the
workspace modules it imports from and to the remote versions (MODULE@VERSION,
resolved through spoke.lock when there is one) whose files it imports, then
the remote versions' own dependencies, walked depth first from the modules
nothing imports. A module with no edge is listed alone. From the workspace
root every module is drawn; from a module's directory (or one holding
modules), those modules and what they reach.

  spoke dep graph | dot -Tsvg > deps.svg";

const GENERATE_HELP: &str = "\
Runs the plugins of a buf.gen.yaml (version v2) template, as `buf generate`
does, and writes their files under each plugin's `out` (relative to the
current directory):

  version: v2
  managed:
    enabled: true            # java_package, csharp_namespace, … set as buf sets them
    override:
      - file_option: go_package_prefix
        value: example.com/gen
  plugins:
    - local: protoc-gen-es   # a program on PATH, a path, or [argv, …]
      out: gen/es
      opt: target=ts         # a string or a list, joined with commas
      strategy: directory    # one run per directory (default) or `all`
      include_imports: false
      include_wkt: false
    - builtin: rust          # Spoke's own generator: prost + tonic, no program
      out: gen/rust
      opt: include_file=lib.rs
  inputs:
    - directory: proto
    - module: acme.user@v1.2.0

Plugins speak the protoc plugin protocol, so any protoc-gen-* works; the
output equals buf generate's for the same template, file for file. INPUT
(a directory, a buf workspace with its spoke.lock honoured, or
MODULE@VERSION / MODULE@LABEL fetched from --registry) replaces the
template's inputs. A plugin that fails, crashes or answers an error stops
the run before anything is written, with the plugin's name and the end of
its stderr. See docs/codegen.md.";

const BUILD_HELP: &str = "\
Compiles the buf workspace at DIR (every module's files at their paths relative
to their module's root, the `deps` closures fetched from the registry through
spoke.lock when there is one), or DIR's .proto files without a buf.yaml, and
writes the image `buf build -o` writes:

  FILE.binpb   the binary image (a google.protobuf.FileDescriptorSet)
  FILE.json    the same in protobuf's JSON mapping
  -            binary, on stdout

The image holds the workspace's files and, unless --exclude-imports, every
file they import (dependencies and well-known types), each after its imports,
with source code info unless --exclude-source-info. buf's own image
extensions (buf_extension) are not written. A v1beta1 buf.yaml's build.roots
are read as buf reads them. Compile errors are printed on stdout as buf prints
them, `path:line:column:message` in buf's words, paths relative to DIR;
nothing is written and the exit status is 100, as buf's.";

const VALIDATE_HELP: &str = "\
Compiles DIR's *.proto files locally (types linked, options checked), as a push
would, without pushing anything. DIR's files are found as `spoke push` finds
them, and their paths relative to DIR are their import paths.

Imports resolve against DIR's own files, then the files of the -I directories
(importable but not checked themselves; the first directory providing a path
wins) and of every --dep module's dependency closure fetched from the registry,
then the well-known types. A path that two of those offer with different
content is an ambiguous import; -I files are named include@v0.0.0 in the message.

Output: `DIR compiles: N files` on success. Otherwise each compile error on
stdout as `path:line:column: message` (paths relative to DIR or -I), then one
`error:` line on stderr. With --json, one JSON object on stdout either way:
{valid, dependencies, files: [{path, provider}], diagnostics: [{path, line,
column, message, kind}]}.

Only --dep needs the registry.

Exit status: 0 when the files compile, 1 when they do not or on any other error.";

const LINT_HELP: &str = "\
A drop-in for `buf lint`: compiles DIR like `spoke validate` (same -I and --dep),
then checks DIR's own files against buf's lint rules (buf's rule and category
IDs and messages), printing what buf prints, byte for byte.

DIR may be a buf workspace root: a buf.yaml v2 (with `modules:`), a v1 buf.yaml
or a buf.work.yaml. Every module is checked with its own configuration (a v2
module's `lint` section replaces the top-level one); the other modules' files
are importable and the workspace's `deps` come from the registry. Without
those files DIR is one module with buf's defaults (STANDARD). --use replaces
the configured `use` list; --except adds to the configured `except` list. Both
take rule or category IDs, repeated or comma-separated. An unknown ID is an
error. --path limits the findings to files or directories (as printed).

Paths are printed as buf prints them: DIR as given, joined with the module's
directory and the file's path in the module. Output on stdout, in buf's
--error-format (the global --json means json):
  text                 path:line:column:message
  json                 one object per line: {path, start_line, start_column,
                       end_line, end_column, type, message}; type is the rule ID
  msvs                 path(line,column) : error TYPE : message
  junit                a JUnit XML report, a test suite per file
  github-actions       ::error file=path,line=L,col=C,endLine=L2,endColumn=C2::message
                       (`github` is another name for it)
  gitlab-code-quality  a GitLab Code Quality JSON report
  config-ignore-yaml   a buf.yaml `lint.ignore_only` section ignoring every finding
Compile errors are the findings when something does not compile, as in buf:
type COMPILE (config-ignore-yaml prints them as text).

Exit status (buf's): 0 no violations, 100 violations found or compile errors,
1 a bad configuration or any other error (one `error:` line on stderr).";

const BREAKING_HELP: &str = "\
A drop-in for `buf breaking`: compiles DIR like `spoke lint` (every module of a
buf workspace, each with its own `breaking` section) and what it is checked
against, then reports every change of DIR's own files that breaks buf's
breaking-change rules (buf's rule and category IDs, locations and messages),
printing what buf prints, byte for byte.

--against is read as buf reads an input:
  .git#branch=main     a commit of a git repository (also #tag=T, #ref=R, any
                       of them with ,subdir=DIR; ../other/.git, repo.git);
                       read with the git binary, the repository untouched
  image.binpb          an image file as `buf build -o` writes it (.binpb, .bin,
  image.json           or protobuf JSON)
  DIR2                 a directory, compiled like DIR, with the same -I and --dep
  MODULE@VERSION       a registry version fetched with its dependency closure
                       (as `spoke pull --recursive` fetches it) and compiled
                       locally; MODULE@latest names the highest release,
                       MODULE@LABEL the version the label points at
Modules are paired in order; one image against several modules configured
alike is compared with the whole workspace.

Configuration: each module's `breaking` section (v1 or v2: use, except, ignore,
ignore_only, ignore_unstable_packages), else buf's default (FILE). --use
replaces the configured `use` list; --except adds to the configured `except`
list. Both take rule or category IDs (FILE, PACKAGE, WIRE_JSON, WIRE), repeated
or comma-separated. An unknown ID is an error. --path limits the findings to
files or directories (as printed).

Output on stdout in the --error-formats of `spoke lint` but config-ignore-yaml,
paths as buf prints them. A file that was deleted is reported as buf does: text
`<input>:1:1:…`, no `path` in JSON. Compile errors (of either side) are the
findings, type COMPILE.

Exit status (buf's): 0 nothing breaks, 100 breaking changes found or compile
errors, 1 a bad configuration, --against or any other error (one `error:` line
on stderr).";

const DIFF_HELP: &str = "\
Compares two versions of one module as the registry sees them: files,
packages, messages, fields, oneofs, enums, values, services, RPCs, extensions
and options added, removed or changed. Each change is marked with the buf
breaking categories (FILE, PACKAGE, WIRE_JSON, WIRE) under which it breaks.

Both arguments name the same module: `spoke diff common@v1.0.0 common@v1.1.0`
(either may be MODULE@latest).

--format text (default) prints the registry's readable summary, grouped by
file: `+` added, `-` removed, `~` changed, then a line with the counts. json
prints the registry's JSON body {module_name, from, to, changes: [{kind,
element, name, path, line, before, after, breaking: [{category, rule,
message}]}]}.";

const SEARCH_HELP: &str = "\
Search the registry's symbols and files: messages, fields, enums, enum
values, services, RPCs, packages and files, in each module's latest version
(--all-versions: every version), of the modules you may read.

QUERY matches names, full or short: a prefix (Mon finds Money), CamelCase
and snake_case segments (email finds primary_email, server_name finds
HTTPServerName), a typo or two (Mony). Several words must each match a
name, an enclosing name or a comment (user email finds User.email). A
qualified name or path matches by suffix or prefix (User.email,
acme/user/v1). type:NAME lists the fields and RPCs that use the type NAME.

Prints MODULE@VERSION, KIND, NAME and FILE:LINE, best first; with --json the
registry's JSON body. When more results follow, stderr names the --cursor
for the next page.

Examples:
  spoke search Money
  spoke search type:acme.common.v1.Money
  spoke search email --kind field --module user";

const DEPS_HELP: &str = "\
Lists what MODULE@VERSION depends on (its direct dependencies, by module name)
or, with --transitive, its whole dependency closure in topological order (every
version after the versions it depends on). With --dependents it lists the
versions that depend on it instead (directly, or with --transitive through
others), by module then version.

MODULE@VERSION may be `MODULE` or `MODULE@latest` (the highest release), or
`MODULE@LABEL` (the version the label points at).

--format text (default) prints MODULE, VERSION and DIGEST columns and nothing at
all for an empty list; json prints the registry's JSON body; dot prints the
dependency graph of the whole closure in Graphviz's DOT language (so it ignores
--transitive and cannot be combined with --dependents):

  spoke deps user@v1.0.0 --format dot | dot -Tsvg > deps.svg";

const LOGIN_HELP: &str = "\
Reads a token from standard input (its first line, trimmed; on a terminal it is
asked for without echo) and stores it for --registry in
$SPOKE_CONFIG_DIR/credentials.json, else $XDG_CONFIG_HOME/spoke/credentials.json,
else ~/.config/spoke/credentials.json. The directory is created readable by you
alone (0700) and the file is written that way too (0600), replaced atomically.
Every later command sends the token stored for its --registry; SPOKE_TOKEN, when
set, is sent instead.

The token is not checked here: `spoke whoami` shows who it authenticates as.

  spoke login --registry https://spoke.example < token.txt
  printf '%s\\n' \"$TOKEN\" | spoke login";

#[derive(Parser)]
#[command(
    name = "spoke",
    version,
    about = "Push and pull Protobuf modules to and from a Spoke registry",
    after_help = "Credentials: every command sends the token `spoke login` stored for its --registry; the SPOKE_TOKEN environment variable, when set, is sent instead.\n\nExit status: 0 on success, 1 on any failure (one `error:` line on stderr), 2 on a usage error, 100 when `lint` found violations or `breaking` found breaking changes (or, as buf, compile errors)."
)]
struct Cli {
    /// Registry URL: http:// or https://.
    #[arg(
        long,
        global = true,
        env = "SPOKE_REGISTRY",
        // A URL may carry credentials (`https://user:pass@host`): --help
        // names the variable, never its value.
        hide_env_values = true,
        default_value = "http://localhost:8080",
        value_name = "URL"
    )]
    registry: String,

    /// The registry's API to use: the REST API, or the gRPC API (served on
    /// the same port by default).
    #[arg(
        long,
        global = true,
        env = "SPOKE_TRANSPORT",
        value_enum,
        default_value_t = Transport::Rest
    )]
    transport: Transport,

    /// PEM CA certificates that an https:// registry's certificate must
    /// chain to, instead of the system's trust store (for a private CA).
    #[arg(long, global = true, env = "SPOKE_CA_FILE", value_name = "PATH")]
    ca_file: Option<PathBuf>,

    /// Print machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,

    /// When to colour the output: auto (on a terminal, unless NO_COLOR is
    /// set), always or never. JSON, DOT and lint/breaking findings are never
    /// coloured.
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "WHEN",
        default_value_t = term::ColorWhen::Auto
    )]
    color: term::ColorWhen,

    /// Seconds to wait for each request.
    #[arg(long, global = true, default_value_t = 30, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum DepCommand {
    /// Resolve every `deps` entry to an exact version and write spoke.lock.
    #[command(long_about = DEP_UPDATE_HELP)]
    Update {
        /// A directory of the workspace: its root (holding buf.yaml or
        /// buf.work.yaml) or a module's directory.
        #[arg(default_value = ".", value_name = "DIR")]
        dir: PathBuf,
    },
    /// Print the workspace's dependency graph in Graphviz's DOT language.
    #[command(long_about = DEP_GRAPH_HELP)]
    Graph {
        /// A directory of the workspace: its root (holding buf.yaml or
        /// buf.work.yaml) or a module's directory.
        #[arg(default_value = ".", value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Transport {
    Rest,
    Grpc,
}

#[derive(Subcommand)]
enum Command {
    /// Push a buf workspace's modules, or a directory's .proto files, as a
    /// new version.
    #[command(long_about = PUSH_HELP)]
    Push {
        /// A directory of a buf workspace (its root, holding buf.yaml or
        /// buf.work.yaml, or a module's directory) or the directory
        /// holding the .proto files [default: .].
        #[arg(value_name = "DIR", conflicts_with = "dir")]
        input: Option<PathBuf>,
        /// Module name; needed without a buf.yaml, or to name the one
        /// unnamed module of a buf.yaml.
        #[arg(long, short = 'm')]
        module: Option<String>,
        /// Version to create: SemVer (v1.2.3, 1.0.0-rc.1) or a commit id.
        #[arg(long)]
        version: String,
        /// The same as DIR.
        #[arg(long, short = 'd')]
        dir: Option<PathBuf>,
        /// A dependency, `module@version`, `module@latest`, `module@label`
        /// or `module` (the registry pins the exact version); in a
        /// workspace, only beside --module.
        /// Repeat for several.
        #[arg(long = "dep", value_name = "MODULE@VERSION")]
        dependencies: Vec<String>,
        /// Description used when a module has to be created.
        #[arg(long)]
        description: Option<String>,
    },
    /// Lock a buf workspace's dependencies (spoke.lock) or draw its
    /// dependency graph.
    #[command(subcommand)]
    Dep(DepCommand),
    /// Build a buf workspace (or a directory) into an image, as `buf build`.
    #[command(long_about = BUILD_HELP)]
    Build {
        /// The workspace root (holding buf.yaml or buf.work.yaml) or a
        /// directory of .proto files.
        #[arg(default_value = ".", value_name = "DIR")]
        dir: PathBuf,
        /// Where to write the image: FILE.binpb (binary), FILE.json
        /// (protobuf JSON) or `-` (binary on stdout). Without it the
        /// workspace is only compiled.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
        /// Leave out the files the workspace imports (dependencies and
        /// well-known types).
        #[arg(long)]
        exclude_imports: bool,
        /// Leave out source code info (locations and comments).
        #[arg(long)]
        exclude_source_info: bool,
    },
    /// Generate code with a buf.gen.yaml (v2) template, as `buf generate`.
    #[command(long_about = GENERATE_HELP)]
    Generate {
        /// What to generate from: a directory of .proto files, a buf
        /// workspace, or MODULE@VERSION / MODULE@LABEL in the registry.
        /// Replaces the template's `inputs`; without either, `.`.
        #[arg(value_name = "INPUT")]
        input: Option<String>,
        /// The template [default: buf.gen.yaml].
        #[arg(long, value_name = "FILE")]
        template: Option<PathBuf>,
    },
    /// Download a version's generated code (an SDK), as the registry
    /// generates it.
    #[command(subcommand)]
    Sdk(sdk::SdkCommand),
    /// Write a version's files (and with --recursive its dependencies') into a directory.
    #[command(long_about = PULL_HELP)]
    Pull {
        /// Module name.
        #[arg(long, short = 'm')]
        module: String,
        /// Version to pull; `latest` names the highest release, a label the
        /// version it points at.
        #[arg(long, default_value = "latest")]
        version: String,
        /// Directory to write into (created if missing).
        #[arg(long, short = 'd', default_value = ".")]
        dir: PathBuf,
        /// Also pull the dependency closure, merged into the same directory.
        #[arg(long, short = 'r')]
        recursive: bool,
    },
    /// Compile a local directory of .proto files against -I directories and
    /// registry modules, without pushing.
    #[command(long_about = VALIDATE_HELP)]
    Validate {
        #[command(flatten)]
        sources: local::Sources,
    },
    /// Check a local directory of .proto files against buf's lint rules.
    #[command(long_about = LINT_HELP)]
    Lint {
        #[command(flatten)]
        sources: local::Sources,
        /// Rule or category IDs to run instead of buf.yaml's `use` list.
        #[arg(long = "use", value_name = "ID", value_delimiter = ',')]
        uses: Vec<String>,
        /// Rule or category IDs to leave out, added to buf.yaml's `except`.
        #[arg(long, value_name = "ID", value_delimiter = ',')]
        except: Vec<String>,
        /// Only report findings in these files or directories (as paths
        /// are printed). Repeatable.
        #[arg(long = "path", value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// How to print findings [default: text; json with --json].
        #[arg(long, value_enum, value_name = "FORMAT")]
        error_format: Option<findings::ErrorFormat>,
    },
    /// Check a local directory of .proto files for breaking changes against
    /// another directory or a registry version, with buf's rules.
    #[command(long_about = BREAKING_HELP)]
    Breaking {
        #[command(flatten)]
        sources: local::Sources,
        /// What to check against: a directory, an image file (.binpb,
        /// .json), a git reference (.git#branch=main) or MODULE@VERSION in
        /// the registry.
        #[arg(long, value_name = "INPUT")]
        against: String,
        /// Rule or category IDs to run instead of buf.yaml's `use` list.
        #[arg(long = "use", value_name = "ID", value_delimiter = ',')]
        uses: Vec<String>,
        /// Rule or category IDs to leave out, added to buf.yaml's `except`.
        #[arg(long, value_name = "ID", value_delimiter = ',')]
        except: Vec<String>,
        /// Only report findings in these files or directories (as paths
        /// are printed). Repeatable.
        #[arg(long = "path", value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// How to print findings [default: text; json with --json].
        #[arg(long, value_enum, value_name = "FORMAT")]
        error_format: Option<findings::ErrorFormat>,
    },
    /// Show what changed between two versions of a module.
    #[command(long_about = DIFF_HELP)]
    Diff {
        /// The older version: MODULE@VERSION.
        #[arg(value_name = "MODULE@FROM")]
        from: String,
        /// The newer version: MODULE@VERSION, the same module.
        #[arg(value_name = "MODULE@TO")]
        to: String,
        /// Output format [default: text; json with --json].
        #[arg(long, value_enum, value_name = "FORMAT")]
        format: Option<diff::DiffFormat>,
    },
    /// List a version's dependencies or dependents, or draw its dependency graph.
    #[command(long_about = DEPS_HELP)]
    Deps {
        /// The version: MODULE@VERSION, MODULE@latest, MODULE@LABEL or MODULE.
        #[arg(value_name = "MODULE@VERSION")]
        reference: String,
        /// List the versions that depend on this one instead.
        #[arg(long)]
        dependents: bool,
        /// Follow dependencies (or dependents) through other versions.
        #[arg(long)]
        transitive: bool,
        /// Output format [default: text; json with --json].
        #[arg(long, value_enum, value_name = "FORMAT")]
        format: Option<deps::DepsFormat>,
    },
    /// Search the registry's symbols and files: messages, fields, enums,
    /// services, RPCs, packages and files of every module you may read.
    #[command(long_about = SEARCH_HELP)]
    Search {
        /// What to look for: a name (a prefix, CamelCase or snake_case
        /// segments, a typo or two), several words, a qualified name or
        /// path (User.email, acme/user), or type:NAME.
        #[arg(value_name = "QUERY")]
        query: String,
        /// Only results of this kind: message, field, enum, enum_value,
        /// service, rpc, package or file.
        #[arg(long)]
        kind: Option<String>,
        /// Only results from this module.
        #[arg(long, short = 'm')]
        module: Option<String>,
        /// Search every version, not only each module's latest.
        #[arg(long)]
        all_versions: bool,
        /// The most results to print (1 to 1000) [default: 50].
        #[arg(long)]
        limit: Option<u32>,
        /// Continue after the previous page (the cursor it printed).
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Store a token for --registry, read from standard input.
    #[command(long_about = LOGIN_HELP)]
    Login,
    /// Forget the token stored for --registry.
    Logout,
    /// Show who the registry takes you for: subject, groups and roles.
    Whoami,
    /// Create, list and revoke API tokens.
    #[command(subcommand)]
    Token(access::TokenCommand),
    /// Grant roles on modules, list and remove grants.
    #[command(subcommand)]
    Grant(access::GrantCommand),
    /// Show the registry's audit log, oldest first (admins only).
    Audit(access::AuditArgs),
    /// Set, list, show and remove a module's labels (named pointers to
    /// versions, usable wherever a version is: `MODULE@LABEL`).
    #[command(subcommand)]
    Label(label::LabelCommand),
    /// Show, set or clear a module's compatibility policy.
    #[command(subcommand, long_about = compat::COMPAT_HELP)]
    Compat(compat::CompatCommand),
    /// List every module: name, latest version, description.
    Modules,
    /// Deprecate a module or one of its versions (the module's owner only).
    #[command(long_about = deprecate::DEPRECATE_HELP)]
    Deprecate(deprecate::DeprecateArgs),
    /// Remove the deprecation of a module or one of its versions.
    #[command(long_about = deprecate::UNDEPRECATE_HELP)]
    Undeprecate(deprecate::UndeprecateArgs),
    /// List every version of a module, newest first: version, push time,
    /// digest, and whether it is deprecated.
    Versions {
        /// Module name.
        module: String,
    },
    /// Print the shell completion script for bash, zsh, fish or powershell.
    #[command(long_about = completion::COMPLETION_HELP)]
    Completion(completion::CompletionArgs),
}

fn main() -> ExitCode {
    // Before parsing too, so that clap's help and usage errors follow --color.
    term::init(term::early_choice(std::env::args_os()));
    let cli = Cli::try_parse().unwrap_or_else(|error| exit_usage(error));
    term::init(cli.color);
    let json = cli.json;
    if let Command::Deps {
        dependents: true,
        format: Some(deps::DepsFormat::Dot),
        ..
    } = cli.command
    {
        Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "--format dot draws the dependency graph; it cannot be combined with --dependents",
            )
            .exit();
    }
    // Local validate, lint and breaking compile in-process: on a thread with
    // the stack the schema engine needs, like the server's compute workers.
    let result = std::thread::Builder::new()
        .name("spoke".to_owned())
        .stack_size(spoke_schema::STACK_BYTES)
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")
                .and_then(|runtime| runtime.block_on(run(cli)))
        })
        .context("cannot start the main thread")
        .and_then(|thread| {
            thread
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the command panicked")))
        });
    match result {
        Ok(code) => code,
        Err(error) => {
            failure::print_findings(&error, json);
            term::error(format_args!("{}{}", one_line(&error), hint(&error)));
            // Compile errors exit as buf's do.
            if error.chain().any(|cause| cause.is::<local::NotCompiling>()) {
                ExitCode::from(local::NotCompiling::EXIT_CODE)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Exits on a usage error with clap's message: status 2, except for an
/// unknown `--error-format`, which buf's `lint` and `breaking` answer with
/// status 1, so CI scripts matching buf's codes see the same.
fn exit_usage(error: clap::Error) -> ! {
    use clap::error::{ContextKind, ErrorKind};
    let bad_error_format = error.kind() == ErrorKind::InvalidValue
        && error
            .get(ContextKind::InvalidArg)
            .is_some_and(|arg| arg.to_string().starts_with("--error-format"));
    if bad_error_format {
        // Nothing useful is left to do if stderr is gone.
        let _ = error.print();
        std::process::exit(1);
    }
    error.exit()
}

async fn run(cli: Cli) -> Result<ExitCode> {
    // Needs no registry, not even a valid URL for one.
    if let Command::Completion(args) = &cli.command {
        return completion::print(args).map(|()| ExitCode::SUCCESS);
    }
    // One key per registry, however its URL is spelled.
    let registry = spoke_client::registry_url(&cli.registry)?;
    match cli.command {
        Command::Login => return access::login(&registry, cli.json).map(|()| ExitCode::SUCCESS),
        Command::Logout => return access::logout(&registry, cli.json).map(|()| ExitCode::SUCCESS),
        _ => {}
    }
    let ca_certificates_pem = match &cli.ca_file {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("cannot read --ca-file {}", path.display()))?,
        ),
        None => None,
    };
    let options = ClientOptions {
        timeout: Duration::from_secs(cli.timeout),
        ca_certificates_pem,
        token: credentials::token_for(&registry)?,
        ..ClientOptions::default()
    };
    let client = match cli.transport {
        Transport::Rest => Client::rest(&cli.registry, &options),
        Transport::Grpc => Client::grpc(&cli.registry, &options),
    };
    let client = match (client, &cli.ca_file) {
        (Err(error @ ClientError::InvalidCaCertificates { .. }), Some(path)) => {
            return Err(anyhow::Error::new(error).context(format!("--ca-file {}", path.display())));
        }
        (client, _) => client?,
    };
    match cli.command {
        Command::Push {
            input,
            module,
            version,
            dir,
            dependencies,
            description,
        } => {
            let dir = input.or(dir).unwrap_or_else(|| PathBuf::from("."));
            // The workspace the directory is in, found as build, lint and
            // breaking find it (walking up, as buf does).
            let found = workspace::Workspace::find(&dir)?;
            if module.is_none() && found.is_none() {
                // Without a buf.yaml naming the modules, --module is as
                // required as it always was: a usage error.
                Cli::command()
                    .error(
                        clap::error::ErrorKind::MissingRequiredArgument,
                        format!(
                            "--module is required: {} is in no buf workspace (no buf.yaml or buf.work.yaml here or above naming its modules)",
                            dir.display()
                        ),
                    )
                    .exit();
            }
            let args = push::PushArgs {
                module,
                version,
                dir,
                dependencies,
                description,
            };
            push::run(&client, args, found, cli.json).await?;
        }
        Command::Dep(DepCommand::Update { dir }) => lock::update(&client, &dir, cli.json).await?,
        Command::Dep(DepCommand::Graph { dir }) => image::graph(&client, &dir).await?,
        Command::Generate { input, template } => {
            generate::generate(&client, generate::GenerateArgs { input, template }).await?;
        }
        Command::Build {
            dir,
            output,
            exclude_imports,
            exclude_source_info,
        } => {
            let args = image::BuildArgs {
                dir,
                output,
                exclude_imports,
                exclude_source_info,
            };
            image::build(&client, args).await?;
        }
        Command::Pull {
            module,
            version,
            dir,
            recursive,
        } => {
            let args = pull::PullArgs {
                module,
                version,
                dir,
                recursive,
            };
            pull::run(&client, args, cli.json).await?;
        }
        Command::Sdk(command) => sdk::run(&client, command, cli.json).await?,
        Command::Validate { sources } => validate::run(&client, &sources, cli.json).await?,
        Command::Lint {
            sources,
            uses,
            except,
            paths,
            error_format,
        } => {
            let json = cli.json.then_some(findings::ErrorFormat::Json);
            let args = lint::LintArgs {
                sources,
                uses,
                except,
                paths,
                format: error_format.or(json).unwrap_or(findings::ErrorFormat::Text),
            };
            return lint::run(&client, args).await;
        }
        Command::Breaking {
            sources,
            against,
            uses,
            except,
            paths,
            error_format,
        } => {
            let json = cli.json.then_some(findings::ErrorFormat::Json);
            let args = breaking::BreakingArgs {
                sources,
                against,
                uses,
                except,
                paths,
                format: error_format.or(json).unwrap_or(findings::ErrorFormat::Text),
            };
            return breaking::run(&client, args).await;
        }
        Command::Diff { from, to, format } => {
            let json = cli.json.then_some(diff::DiffFormat::Json);
            let format = format.or(json).unwrap_or(diff::DiffFormat::Text);
            diff::run(&client, &from, &to, format).await?;
        }
        Command::Deps {
            reference,
            dependents,
            transitive,
            format,
        } => {
            let json = cli.json.then_some(deps::DepsFormat::Json);
            let args = deps::DepsArgs {
                reference,
                dependents,
                transitive,
                format: format.or(json).unwrap_or(deps::DepsFormat::Text),
            };
            deps::run(&client, args).await?;
        }
        Command::Search {
            query,
            kind,
            module,
            all_versions,
            limit,
            cursor,
        } => {
            let query = spoke_client::SearchQuery {
                q: query,
                kind,
                module,
                all_versions,
                limit,
                cursor,
            };
            search::run(&client, query, cli.json).await?;
        }
        // Handled before a client is made.
        Command::Login | Command::Logout | Command::Completion(_) => {}
        Command::Whoami => access::whoami(&client, cli.json).await?,
        Command::Token(command) => access::token(&client, command, cli.json).await?,
        Command::Grant(command) => access::grant(&client, command, cli.json).await?,
        Command::Audit(args) => access::audit(&client, args, cli.json).await?,
        Command::Label(command) => label::run(&client, command, cli.json).await?,
        Command::Compat(command) => compat::run(&client, command, cli.json).await?,
        Command::Modules => modules(&client, cli.json).await?,
        Command::Deprecate(args) => deprecate::deprecate(&client, args, cli.json).await?,
        Command::Undeprecate(args) => deprecate::undeprecate(&client, args, cli.json).await?,
        Command::Versions { module } => versions(&client, &module, cli.json).await?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn modules(client: &Client, json: bool) -> Result<()> {
    let modules = client.list_all_modules().await?;
    if json {
        return print_json(&modules);
    }
    let rows = modules
        .into_iter()
        .map(|m| {
            [
                m.name,
                m.latest_version.unwrap_or_else(|| "-".to_owned()),
                single_line(&m.description),
            ]
        })
        .collect::<Vec<_>>();
    print_table(["NAME", "LATEST", "DESCRIPTION"], &rows)
}

async fn versions(client: &Client, module: &str, json: bool) -> Result<()> {
    let versions = client.list_all_versions(module);
    let versions = suggest::explained(client, module, &[], versions).await?;
    if json {
        return print_json(&versions);
    }
    let rows = versions
        .into_iter()
        .map(|v| {
            let deprecated = if v.deprecated.is_some() { "yes" } else { "-" };
            [v.version, v.created_at, v.digest, deprecated.to_owned()]
        })
        .collect::<Vec<_>>();
    print_table(["VERSION", "CREATED_AT", "DIGEST", "DEPRECATED"], &rows)
}

/// Pretty JSON on stdout, for `--json`.
fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, value).context("cannot write output")?;
    writeln!(stdout).context("cannot write output")
}

/// Columns separated by two spaces, padded to the widest cell, the header
/// in bold on a terminal; nothing at all for an empty list, so scripts can
/// test for empty output.
fn print_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut out = String::new();
    let header = header.map(str::to_owned);
    let mut widths = [0usize; N];
    for row in std::iter::once(&header).chain(rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for (index, row) in std::iter::once(&header).chain(rows).enumerate() {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        let line = line.trim_end();
        if index == 0 {
            out.push_str(&term::paint(term::HEADER, line));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    term::stdout(&out)
}

fn single_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The error and its causes on one line. The chain stops at a
/// `ClientError`, whose message already says what went wrong (its sources
/// are HTTP-library internals), or at the suggestion that includes one.
fn one_line(error: &anyhow::Error) -> String {
    let mut parts = Vec::new();
    for cause in error.chain() {
        parts.push(single_line(&failure::describe(cause)));
        if cause.is::<ClientError>() || cause.is::<suggest::DidYouMean>() {
            break;
        }
    }
    parts.join(": ")
}

/// What to do about a refusal for want of credentials.
fn hint(error: &anyhow::Error) -> &'static str {
    let unauthenticated = error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<ClientError>())
        .any(ClientError::is_unauthenticated);
    if unauthenticated {
        "; log in with `spoke login`, or set SPOKE_TOKEN"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn errors_print_on_one_line() {
        let inner = ClientError::Api {
            status: 404,
            code: "VERSION_NOT_FOUND".to_owned(),
            message: "version v9 of module common\nnot found".to_owned(),
            details: None,
        };
        let error = anyhow::Error::new(inner).context("pulling common@v9");
        assert_eq!(
            one_line(&error),
            "pulling common@v9: version v9 of module common not found (VERSION_NOT_FOUND)"
        );
    }
}
