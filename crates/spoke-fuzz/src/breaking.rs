//! Target `breaking`: two fuzzer-made file sets (headed `//== previous PATH`
//! and `//== current PATH`; a plain `.proto` is both) compiled, then
//! checked as `spoke breaking` and compatibility policies check them: every
//! breaking rule, the structured diff and its text, lint with every rule
//! over the current side, and its symbols.
//!
//! Besides not crashing: a check against the previous side's stored image
//! (as the registry checks earlier versions, decoded rather than compiled)
//! finds exactly what the check against the compiled side finds.

use std::collections::BTreeSet;

use spoke_domain::ProtoFile;
use spoke_schema::breaking::{self, BreakingConfig};
use spoke_schema::lint::{self, LintConfig};
use spoke_schema::{CompileRequest, Compiled, compile, diff, extract_symbols};

use crate::sections::{self, proto_files};

pub fn breaking(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let sections = sections::split(&text, &["previous", "current"], ("current", "fuzz.proto"));
    let current = proto_files(&sections, "current");
    let previous = if sections.iter().any(|s| s.role == "previous") {
        proto_files(&sections, "previous")
    } else {
        current.clone()
    };
    let (Some(previous), Some(current)) = (previous.and_then(compiled), current.and_then(compiled))
    else {
        return;
    };

    let every_rule = BreakingConfig {
        uses: breaking::CATEGORIES
            .iter()
            .map(|c| (*c).to_owned())
            .collect(),
        ..BreakingConfig::default()
    };
    let violations = match breaking::check(&previous, &current, &every_rule) {
        Ok(violations) => violations,
        Err(error) => panic!("fuzz harness: every breaking rule is refused: {error}"),
    };
    let own: BTreeSet<String> = previous.roots().map(|f| f.path.clone()).collect();
    match Compiled::from_image(&previous.image(), &own) {
        Ok(stored) => {
            let against_stored = breaking::check(&stored, &current, &every_rule);
            assert_eq!(
                against_stored.as_ref().ok(),
                Some(&violations),
                "checking against the stored image differs from checking against the compiled files"
            );
        }
        Err(error) => panic!("a compiled image does not decode: {error}"),
    }

    let changes = diff::diff(&previous, &current);
    let _ = changes.render_text();
    let _ = changes.breaking_categories();

    let every_lint_rule = LintConfig {
        uses: lint::CATEGORIES.iter().map(|c| (*c).to_owned()).collect(),
        ..LintConfig::default()
    };
    if let Err(error) = lint::lint(&current, &every_lint_rule) {
        panic!("fuzz harness: every lint rule is refused: {error}");
    }
    let _ = extract_symbols(&current);
}

/// `None` for files that do not compile.
fn compiled(files: Vec<ProtoFile>) -> Option<Compiled> {
    compile(&CompileRequest {
        files,
        dependencies: Vec::new(),
    })
    .ok()
}
