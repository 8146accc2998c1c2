use std::time::Duration;

/// Why generation failed. Every plugin failure names the plugin and keeps
/// the tail of what it wrote to standard error.
#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    #[error("invalid generation input: {0}")]
    InvalidInput(String),
    #[error("invalid parameter for {generator}: {message}")]
    InvalidParameter { generator: String, message: String },
    #[error("plugin {plugin}: cannot run {program}: {source}")]
    Spawn {
        plugin: String,
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("plugin {plugin} crashed ({status}){}", tail_suffix(stderr_tail))]
    Crashed {
        plugin: String,
        status: String,
        stderr_tail: String,
    },
    #[error("plugin {plugin} timed out after {}{}", humanize(*timeout), tail_suffix(stderr_tail))]
    TimedOut {
        plugin: String,
        timeout: Duration,
        stderr_tail: String,
    },
    #[error(
        "plugin {plugin} wrote more than {limit} bytes of output{}",
        tail_suffix(stderr_tail)
    )]
    OutputTooLarge {
        plugin: String,
        limit: u64,
        stderr_tail: String,
    },
    #[error(
        "plugin {plugin} reported an error: {message}{}",
        tail_suffix(stderr_tail)
    )]
    PluginError {
        plugin: String,
        message: String,
        stderr_tail: String,
    },
    #[error(
        "plugin {plugin} answered an invalid response: {reason}{}",
        tail_suffix(stderr_tail)
    )]
    InvalidResponse {
        plugin: String,
        reason: String,
        stderr_tail: String,
    },
    #[error("plugin {plugin} does not support {what}")]
    Unsupported { plugin: String, what: String },
    #[error("{plugin}: insertion point {insertion_point:?} in {file:?}: {reason}")]
    Insertion {
        plugin: String,
        file: String,
        insertion_point: String,
        reason: String,
    },
    #[error("built-in generator {generator} failed: {message}")]
    Builtin { generator: String, message: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

/// Who is to blame, so front-ends pick a status the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodegenErrorKind {
    /// The input, the parameter or the template is wrong (a 4xx).
    BadInput,
    /// The generator failed or misbehaved (the plugin's fault, a 5xx
    /// naming it).
    GeneratorFailed,
    /// A local failure (I/O).
    Internal,
}

impl CodegenError {
    pub fn kind(&self) -> CodegenErrorKind {
        match self {
            CodegenError::InvalidInput(_)
            | CodegenError::InvalidParameter { .. }
            | CodegenError::Unsupported { .. } => CodegenErrorKind::BadInput,
            CodegenError::Spawn { .. }
            | CodegenError::Crashed { .. }
            | CodegenError::TimedOut { .. }
            | CodegenError::OutputTooLarge { .. }
            | CodegenError::PluginError { .. }
            | CodegenError::InvalidResponse { .. }
            | CodegenError::Insertion { .. }
            | CodegenError::Builtin { .. } => CodegenErrorKind::GeneratorFailed,
            CodegenError::Io { .. } => CodegenErrorKind::Internal,
        }
    }

    /// The end of the plugin's standard error, when it wrote any.
    pub fn stderr_tail(&self) -> Option<&str> {
        match self {
            CodegenError::Crashed { stderr_tail, .. }
            | CodegenError::TimedOut { stderr_tail, .. }
            | CodegenError::OutputTooLarge { stderr_tail, .. }
            | CodegenError::PluginError { stderr_tail, .. }
            | CodegenError::InvalidResponse { stderr_tail, .. }
                if !stderr_tail.is_empty() =>
            {
                Some(stderr_tail)
            }
            _ => None,
        }
    }
}

fn tail_suffix(tail: &str) -> String {
    if tail.is_empty() {
        String::new()
    } else {
        format!("; stderr: {}", tail.trim_end())
    }
}

fn humanize(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}
