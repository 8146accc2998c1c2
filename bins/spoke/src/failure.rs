//! What a command that failed prints besides its `error:` line: the compile
//! errors the registry sent with a `COMPILE_FAILED` answer, every one of
//! them, on stdout as `spoke validate` prints its own.

use std::error::Error;
use std::io::Write as _;

use anyhow::{Context as _, Result};
use spoke_client::{ClientError, DiagnosticBody};

use crate::local;

/// Prints on stdout the compile errors that `error` carries from the
/// registry, if any: one per line (see [`print_diagnostics`]) or, with
/// `json`, the registry's list. Output that cannot be written is left out:
/// the error line that follows still says what failed.
pub fn print_findings(error: &anyhow::Error, json: bool) {
    let Some(diagnostics) = error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<ClientError>())
        .find_map(ClientError::diagnostics)
    else {
        return;
    };
    let _ = if json {
        crate::print_json(&diagnostics)
    } else {
        print_diagnostics(&diagnostics)
    };
}

/// Compile errors on stdout, one per line, `path:line:column: message`: the
/// form protoc and editors use.
pub fn print_diagnostics(diagnostics: &[DiagnosticBody]) -> Result<()> {
    let mut out = String::new();
    for d in diagnostics {
        out.push_str(&format!(
            "{}:{}:{}: {}\n",
            d.path, d.line, d.column, d.message
        ));
    }
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .context("cannot write output")
}

/// One cause of an error, as its part of the error line. A registry's
/// compile failure, whose every error [`print_findings`] printed, is
/// summed up like `spoke validate` sums up its own: `the schema does not
/// compile (2 errors) (COMPILE_FAILED)`.
pub fn describe(cause: &(dyn Error + 'static)) -> String {
    match cause.downcast_ref::<ClientError>() {
        Some(error @ ClientError::Api { code, .. }) => match error.diagnostics() {
            Some(diagnostics) if !diagnostics.is_empty() => format!(
                "{} ({code})",
                local::not_compiling("the schema", diagnostics.len())
            ),
            _ => error.to_string(),
        },
        _ => cause.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compile_failure_is_summed_up_and_other_errors_are_unchanged() {
        let failed = ClientError::Api {
            status: 422,
            code: "COMPILE_FAILED".to_owned(),
            message: "the files do not compile: a.proto:1:1: x (and 1 more error)".to_owned(),
            details: Some(serde_json::json!({"diagnostics": [
                {"path": "a.proto", "line": 1, "column": 1, "message": "x", "kind": "syntax"},
                {"path": "b.proto", "line": 2, "column": 3, "message": "y", "kind": "syntax"},
            ]})),
        };
        assert_eq!(
            describe(&failed),
            "the schema does not compile (2 errors) (COMPILE_FAILED)"
        );
        let other = ClientError::Api {
            status: 404,
            code: "MODULE_NOT_FOUND".to_owned(),
            message: "module x not found".to_owned(),
            details: None,
        };
        assert_eq!(describe(&other), "module x not found (MODULE_NOT_FOUND)");
    }
}
