//! The pages' logic without DOM (frames and gaps, the offline outbox, timers, all-day, the
//! basket) is unit-tested under Node's own test runner; this runs it as part of `cargo test`.
//! Without `node` it says that it skipped, unless `REQUIRE_NODE=1` (set by `.ci/run`).

use std::{path::Path, process::Command};

#[test]
fn the_pages_logic_passes_its_node_tests() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("web/test");
    let run = Command::new("node").arg("--test").arg(&tests).output();
    let output = match run {
        Ok(output) => output,
        Err(error) => {
            let message = format!("SKIPPED the pages' Node tests: cannot run `node` ({error})");
            assert!(
                std::env::var("REQUIRE_NODE").is_err(),
                "{message}, and REQUIRE_NODE is set"
            );
            eprintln!("{message}");
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "node --test {} failed:\n{stdout}\n{stderr}",
        tests.display()
    );
    let passed = stdout
        .lines()
        .find_map(|line| line.strip_prefix("# pass "))
        .and_then(|n| n.trim().parse::<u32>().ok())
        .unwrap_or(0);
    assert!(passed > 0, "node ran no test:\n{stdout}");
}
