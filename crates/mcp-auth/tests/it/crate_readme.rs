//! The crate README (the rustdoc landing page) cannot drift from the crate: every Cargo feature
//! has a row in its feature table, every public module a link in its map.

const README: &str = include_str!("../../README.md");
const CARGO_TOML: &str = include_str!("../../Cargo.toml");
const LIB_RS: &str = include_str!("../../src/lib.rs");

#[test]
fn every_feature_is_in_the_feature_table() {
    let features = CARGO_TOML
        .split("[features]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .expect("a [features] table");
    let names: Vec<&str> = features
        .lines()
        .filter_map(|line| line.split_once(" = ").map(|(name, _)| name.trim()))
        .filter(|name| *name != "default")
        .collect();
    assert!(names.contains(&"testing"), "{names:?}");
    for name in names {
        assert!(
            README.contains(&format!("| `{name}` |")),
            "feature `{name}` has no row in README.md's feature table"
        );
    }
}

#[test]
fn every_public_module_is_in_the_map() {
    // `pub mod name;`, or a module re-exported from a private room: `pub use room::name;`
    // (a lowercase last segment names a module; types are in CamelCase).
    let reexported = |line: &'static str| {
        let path = line.strip_prefix("pub use ")?.strip_suffix(';')?;
        let name = path.rsplit("::").next()?;
        name.starts_with(|c: char| c.is_ascii_lowercase())
            .then_some(name)
    };
    let modules: Vec<&str> = LIB_RS
        .lines()
        .filter_map(|line| {
            line.strip_prefix("pub mod ")
                .and_then(|rest| rest.strip_suffix(';'))
                .or_else(|| reexported(line))
        })
        .filter(|name| *name != "fuzzing")
        .collect();
    assert!(modules.contains(&"bearer"), "{modules:?}");
    assert!(modules.contains(&"discovery"), "{modules:?}");
    for name in modules {
        assert!(
            README.contains(&format!(
                "[`{name}`](https://docs.rs/mcp-auth/latest/mcp_auth/{name}/)"
            )),
            "module `{name}` has no link in README.md's map"
        );
    }
}
