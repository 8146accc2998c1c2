//! What the protoc comparisons need from the machine.

use std::path::Path;
use std::process::Command;

/// Where Debian's `libprotobuf-dev` puts the well-known type sources, which
/// protoc finds only through an include path.
pub const WELL_KNOWN_INCLUDE: &str = "/usr/include";

/// Whether protoc and the well-known type sources are installed. When they
/// are not, the comparison is skipped with a note — unless
/// `SPOKE_TEST_REQUIRE_PROTOC` is set (as `cargo xtask test` does after
/// installing them), in which case a missing protoc fails the test.
pub fn protoc_available() -> bool {
    let found = Command::new("protoc").arg("--version").output().is_ok()
        && Path::new(WELL_KNOWN_INCLUDE)
            .join("google/protobuf/empty.proto")
            .exists();
    if !found {
        assert!(
            std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
            "protoc or the well-known type sources are missing (apt-get install protobuf-compiler libprotobuf-dev)"
        );
        eprintln!("protoc is not installed; skipping the comparison with protoc");
    }
    found
}
