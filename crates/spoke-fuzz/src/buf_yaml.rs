//! Target `buf_yaml`: the bytes as a `buf.yaml`, read for its `lint:` and
//! `breaking:` sections as `spoke lint`/`spoke breaking` and
//! `POST /api/v1/lint` read it, for its module layout and each module's
//! sections as `spoke push`/`build` read a workspace, and as a
//! `buf.work.yaml`. A configuration that is accepted must then
//! run: lint and the breaking-change check over a small fixed schema (two
//! versions with violations under several directories, so `ignore` and
//! `ignore_only` paths take effect) may not refuse it.

use std::sync::OnceLock;

use spoke_domain::ProtoFile;
use spoke_schema::breaking::{self, BreakingConfig};
use spoke_schema::lint::{self, LintConfig};
use spoke_schema::{CompileRequest, Compiled, compile};

pub fn buf_yaml(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (previous, current) = fixture();
    if let Ok(config) = LintConfig::from_buf_yaml(&text)
        && let Err(error) = lint::lint(current, &config)
    {
        panic!("an accepted lint configuration does not run: {error}");
    }
    if let Ok(config) = BreakingConfig::from_buf_yaml(&text)
        && let Err(error) = breaking::check(previous, current, &config)
    {
        panic!("an accepted breaking configuration does not run: {error}");
    }
    // The workspace readers of `spoke push`/`build`: the layout, then each
    // module's own sections, which must run too.
    if let Ok(layout) = lint::BufYamlLayout::parse(&text) {
        for module in &layout.modules {
            if let Ok(config) = LintConfig::from_buf_yaml_module(&text, &module.path)
                && let Err(error) = lint::lint(current, &config)
            {
                panic!("an accepted module lint configuration does not run: {error}");
            }
            if let Ok(config) = BreakingConfig::from_buf_yaml_module(&text, &module.path)
                && let Err(error) = breaking::check(previous, current, &config)
            {
                panic!("an accepted module breaking configuration does not run: {error}");
            }
        }
    }
    let _ = lint::buf_work_directories(&text);
}

const PREVIOUS: &[(&str, &str)] = &[
    (
        "acme/pay/v1/pay.proto",
        r#"syntax = "proto3";
package acme.pay.v1;
import "acme/common/v1/money.proto";
message Payment {
  string id = 1;
  acme.common.v1.Money amount = 2;
  string note = 3;
}
enum Status {
  STATUS_UNSPECIFIED = 0;
  STATUS_OK = 1;
}
service PayService {
  rpc Pay(Payment) returns (Payment);
}
"#,
    ),
    (
        "acme/common/v1/money.proto",
        r#"syntax = "proto3";
package acme.common.v1;
message Money {
  int64 units = 1;
  string currency = 2;
}
"#,
    ),
    (
        "acme/pay/v1alpha1/beta.proto",
        r#"syntax = "proto3";
package acme.pay.v1alpha1;
message Beta { string x = 1; }
"#,
    ),
];

const CURRENT: &[(&str, &str)] = &[
    (
        "acme/pay/v1/pay.proto",
        r#"syntax = "proto3";
package acme.pay.v1;
import "acme/common/v1/money.proto";
message Payment {
  string id = 1;
  acme.common.v1.Money amount = 2;
  int32 Note = 3;
}
enum Status {
  STATUS_UNSPECIFIED = 0;
}
service PayService {
  rpc pay(Payment) returns (Payment);
}
"#,
    ),
    (
        "acme/common/v1/money.proto",
        r#"syntax = "proto3";
package acme.common.v1;
message Money {
  int32 units = 1;
}
"#,
    ),
    (
        "acme/pay/v1alpha1/beta.proto",
        r#"syntax = "proto3";
package acme.pay.v1alpha1;
message Beta { int32 x = 1; }
"#,
    ),
];

/// The two versions, compiled once.
fn fixture() -> &'static (Compiled, Compiled) {
    static FIXTURE: OnceLock<(Compiled, Compiled)> = OnceLock::new();
    FIXTURE.get_or_init(|| (compiled(PREVIOUS), compiled(CURRENT)))
}

fn compiled(files: &[(&str, &str)]) -> Compiled {
    let files = files
        .iter()
        .map(|(path, content)| {
            crate::harness(
                "a fixture file",
                ProtoFile::parse(path, (*content).to_owned()),
            )
        })
        .collect();
    let request = CompileRequest {
        files,
        dependencies: Vec::new(),
    };
    match compile(&request) {
        Ok(compiled) => compiled,
        Err(diagnostics) => panic!("fuzz harness: the fixture does not compile: {diagnostics:?}"),
    }
}
