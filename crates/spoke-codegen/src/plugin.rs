//! Running a plugin process: the request on stdin, the response from
//! stdout, stderr kept for errors; time, output size, environment and
//! working directory confined as the caller asks.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use prost::Message;
use sha2::{Digest, Sha256};

use crate::input::GenerationInput;
use crate::protocol::{self, FEATURE_PROTO3_OPTIONAL, FEATURE_SUPPORTS_EDITIONS};
use crate::{CodegenError, PluginCommand, ResponseFile, WorkDir};

/// How much of stderr errors keep.
const STDERR_TAIL_BYTES: usize = 4096;
/// `FileDescriptorProto.syntax` and `.edition`.
const FILE_SYNTAX: u32 = 12;
const FILE_EDITION: u32 = 14;

pub(crate) fn run(
    input: &GenerationInput,
    plugin: &PluginCommand,
    parameter: Option<&str>,
) -> Result<Vec<ResponseFile>, CodegenError> {
    let request = protocol::encode_request(input, parameter);
    let output = execute(plugin, request)?;
    let response = protocol::Response::decode(output.stdout.as_slice()).map_err(|e| {
        CodegenError::InvalidResponse {
            plugin: plugin.name.clone(),
            reason: format!("not a CodeGeneratorResponse: {e}"),
            stderr_tail: output.stderr_tail.clone(),
        }
    })?;
    if let Some(message) = response.error.clone() {
        return Err(CodegenError::PluginError {
            plugin: plugin.name.clone(),
            message,
            stderr_tail: output.stderr_tail,
        });
    }
    check_features(input, plugin, &response)?;
    protocol::response_files(response.file).map_err(|reason| CodegenError::InvalidResponse {
        plugin: plugin.name.clone(),
        reason,
        stderr_tail: output.stderr_tail,
    })
}

struct Output {
    stdout: Vec<u8>,
    stderr_tail: String,
}

fn execute(plugin: &PluginCommand, request: Vec<u8>) -> Result<Output, CodegenError> {
    let limits = &plugin.limits;
    let program = program_path(plugin)?;
    let mut command = Command::new(&program);
    command
        .args(&plugin.argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if limits.clear_env {
        command.env_clear();
    }
    command.envs(limits.env.iter().map(|(k, v)| (k, v)));
    // Kept alive until the plugin has exited.
    let temp_dir;
    match &limits.work_dir {
        WorkDir::Inherit => {}
        WorkDir::Temp => {
            temp_dir = tempfile::tempdir().map_err(|source| CodegenError::Io {
                context: "creating the plugin's working directory".into(),
                source,
            })?;
            command.current_dir(temp_dir.path());
        }
        WorkDir::Path(dir) => {
            command.current_dir(dir);
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let mut child = command.spawn().map_err(|source| CodegenError::Spawn {
        plugin: plugin.name.clone(),
        program: program.display().to_string(),
        source,
    })?;
    let deadline = limits.timeout.map(|t| Instant::now() + t);

    let (Some(mut stdin), Some(mut stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        kill(&mut child);
        return Err(CodegenError::Io {
            context: format!("plugin {}: no pipes", plugin.name),
            source: std::io::Error::other("missing pipe"),
        });
    };
    // A plugin may answer (or fail) before reading all of its request, so
    // a write error here is not the failure to report.
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&request);
    });
    let stderr_reader = thread::spawn(move || {
        let mut tail = Vec::new();
        let mut chunk = [0u8; 8192];
        while let Ok(n) = stderr.read(&mut chunk) {
            if n == 0 {
                break;
            }
            tail.extend_from_slice(&chunk[..n]);
            if tail.len() > 2 * STDERR_TAIL_BYTES {
                tail.drain(..tail.len() - STDERR_TAIL_BYTES);
            }
        }
        tail
    });
    let limit = plugin.limits.max_output_bytes;
    let (done_tx, done_rx) = mpsc::channel();
    let stdout_reader = thread::spawn(move || {
        let mut out = Vec::new();
        let result = match limit {
            Some(limit) => (&mut stdout)
                .take(limit.saturating_add(1))
                .read_to_end(&mut out),
            None => stdout.read_to_end(&mut out),
        };
        let _ = done_tx.send(());
        result.map(|_| out)
    });

    // Stdout closes (or the deadline passes), then the plugin exits.
    let closed = match deadline {
        Some(deadline) => done_rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_ok(),
        None => done_rx.recv().is_ok(),
    };
    let stdout = if closed {
        stdout_reader.join().ok()
    } else {
        None
    };
    // What went wrong, if anything; the plugin is stopped before its
    // stderr is collected.
    let (stdout, failure) = match stdout {
        None => (Vec::new(), Some(Failure::TimedOut)),
        Some(Err(source)) => (Vec::new(), Some(Failure::Read(source))),
        Some(Ok(out)) => match limit.filter(|&l| out.len() as u64 > l) {
            // It may be blocked writing the rest: stop it now.
            Some(limit) => (Vec::new(), Some(Failure::TooLarge(limit))),
            None => (out, None),
        },
    };
    let status = match failure {
        Some(_) => {
            kill(&mut child);
            None
        }
        None => wait_until(&mut child, deadline),
    };
    let _ = writer.join();
    let stderr_tail = tail_text(stderr_reader.join().unwrap_or_default());
    let plugin_name = plugin.name.clone();
    match (failure, status) {
        (Some(Failure::Read(source)), _) => Err(CodegenError::Io {
            context: format!("reading plugin {plugin_name}'s output"),
            source,
        }),
        (Some(Failure::TooLarge(limit)), _) => Err(CodegenError::OutputTooLarge {
            plugin: plugin_name,
            limit,
            stderr_tail,
        }),
        (Some(Failure::TimedOut), _) | (None, None) => Err(CodegenError::TimedOut {
            plugin: plugin_name,
            timeout: limits.timeout.unwrap_or_default(),
            stderr_tail,
        }),
        (None, Some(status)) if !status.success() => Err(CodegenError::Crashed {
            plugin: plugin_name,
            status: describe(status),
            stderr_tail,
        }),
        (None, Some(_)) => Ok(Output {
            stdout,
            stderr_tail,
        }),
    }
}

enum Failure {
    TimedOut,
    TooLarge(u64),
    Read(std::io::Error),
}

/// Waits for the exit, killing the plugin at the deadline (`None` then).
/// Stdout is closed by now, so the wait is normally immediate.
fn wait_until(child: &mut Child, deadline: Option<Instant>) -> Option<ExitStatus> {
    let Some(deadline) = deadline else {
        return child.wait().ok();
    };
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => {
                thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            _ => {
                kill(child);
                return None;
            }
        }
    }
}

/// Kills the plugin and whatever it started (its process group), so no
/// descendant keeps the pipes open.
fn kill(child: &mut Child) {
    #[cfg(unix)]
    if let Some(pid) = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn describe(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("killed by signal {signal}");
        }
    }
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => status.to_string(),
    }
}

fn tail_text(mut bytes: Vec<u8>) -> String {
    if bytes.len() > STDERR_TAIL_BYTES {
        bytes.drain(..bytes.len() - STDERR_TAIL_BYTES);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Refuses an answer for files the plugin said it cannot handle, as protoc
/// and buf do: proto3 `optional` fields, and editions outside its bounds.
fn check_features(
    input: &GenerationInput,
    plugin: &PluginCommand,
    response: &protocol::Response,
) -> Result<(), CodegenError> {
    let features = response.supported_features.unwrap_or(0);
    for file in input.targets() {
        let fields = crate::wire::fields(&file.descriptor)
            .map_err(|e| CodegenError::InvalidInput(format!("{}: {e}", file.name)))?;
        let syntax = crate::wire::last_bytes(&fields, FILE_SYNTAX).unwrap_or(b"proto2");
        if syntax == b"editions" {
            let edition = crate::wire::last_varint(&fields, FILE_EDITION).unwrap_or(0) as i32;
            let unsupported = |why: String| CodegenError::Unsupported {
                plugin: plugin.name.clone(),
                what: format!("{} ({why})", file.name),
            };
            if features & FEATURE_SUPPORTS_EDITIONS == 0 {
                return Err(unsupported("it uses editions".into()));
            }
            let min = response.minimum_edition.unwrap_or(i32::MIN);
            let max = response.maximum_edition.unwrap_or(i32::MAX);
            if edition < min || edition > max {
                return Err(unsupported(format!(
                    "edition {edition} is outside the plugin's {min}..={max}"
                )));
            }
        } else if syntax == b"proto3"
            && features & FEATURE_PROTO3_OPTIONAL == 0
            && GenerationInput::decode(file)?
                .message_type
                .iter()
                .any(has_proto3_optional)
        {
            return Err(CodegenError::Unsupported {
                plugin: plugin.name.clone(),
                what: format!("{} (it has proto3 optional fields)", file.name),
            });
        }
    }
    Ok(())
}

fn has_proto3_optional(message: &prost_types::DescriptorProto) -> bool {
    message.field.iter().any(|f| f.proto3_optional())
        || message.nested_type.iter().any(has_proto3_optional)
}

/// SHA-256 of the plugin's program file, hex.
pub(crate) fn program_digest(plugin: &PluginCommand) -> Result<String, CodegenError> {
    let path = program_path(plugin)?;
    let bytes = std::fs::read(&path).map_err(|source| CodegenError::Io {
        context: format!("reading {}", path.display()),
        source,
    })?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// The program a plugin runs, which its digest is taken of too.
fn program_path(plugin: &PluginCommand) -> Result<PathBuf, CodegenError> {
    let program = plugin
        .argv
        .first()
        .ok_or_else(|| CodegenError::InvalidParameter {
            generator: plugin.name.clone(),
            message: "empty command".into(),
        })?;
    resolve(program, &plugin.limits).ok_or_else(|| CodegenError::Spawn {
        plugin: plugin.name.clone(),
        program: program.clone(),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "not found on PATH"),
    })
}

/// Where `program` runs from: itself when it has a `/`, else the first
/// executable of that name on the `PATH` the plugin is given, or else on
/// this process's own `PATH`. A plugin run with a cleared environment has
/// no `PATH` of its own, so a bare name is found where the operator's
/// shell would find it, and the plugin is started by that full path.
fn resolve(program: &str, limits: &crate::PluginLimits) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    let path = limits
        .env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone().into())
        .or_else(|| std::env::var_os("PATH"))?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}
