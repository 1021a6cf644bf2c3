//! No new import cycles between a crate's top-level modules (`xtask::module_cycles`). The cycles
//! below were there when the check came (issue 19 item 2); each may only shrink. Breaking one up
//! means taking its group off this list.

use std::path::PathBuf;

/// The groups of modules that import each other in a circle today, by crate: none are left.
const KNOWN: &[(&str, &[&str])] = &[];

#[test]
fn no_crate_has_an_import_cycle_beyond_the_known_ones() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut new = Vec::new();
    for krate in xtask::module_cycles::CRATES {
        let graph = xtask::module_cycles::graph(&root.join(krate));
        for cycle in xtask::module_cycles::cycles(&graph) {
            let known = KNOWN.iter().any(|(name, group)| {
                name == krate && cycle.iter().all(|module| group.contains(&module.as_str()))
            });
            if !known {
                new.push(format!("{krate}: {}", cycle.join(" ↔ ")));
            }
        }
    }
    assert!(
        new.is_empty(),
        "modules that import each other in a circle (take what both need into a module of its own):\n{}",
        new.join("\n")
    );
}

#[test]
fn the_known_cycles_are_still_there() {
    // A cycle broken up must leave KNOWN, so it cannot come back unnoticed.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    for (krate, group) in KNOWN {
        let cycles = xtask::module_cycles::cycles(&xtask::module_cycles::graph(&root.join(krate)));
        let current: Vec<&str> = cycles.iter().flatten().map(String::as_str).collect();
        let gone: Vec<&&str> = group.iter().filter(|m| !current.contains(m)).collect();
        assert!(
            gone.is_empty(),
            "{krate}: {gone:?} no longer in a cycle; take them off KNOWN"
        );
    }
}
