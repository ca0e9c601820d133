//! The manual pages in `crates/mcp-auth-cli/man/`, one per command, generated from the clap
//! definitions (clap_mangen) so that they cannot drift from `--help`: this test renders them and
//! compares. After changing a flag, write them again with
//! `MCP_AUTH_WRITE_MAN=1 cargo test -p mcp-auth-cli man_pages`; read one with
//! `man crates/mcp-auth-cli/man/mcp-auth-serve.1`.

use std::collections::BTreeMap;
use std::path::Path;

use clap::CommandFactory;

/// Every page, by file name: the command's and each subcommand's.
fn rendered() -> BTreeMap<String, Vec<u8>> {
    let mut root = crate::Cli::command().disable_help_subcommand(true);
    root.build();
    let mut pages = BTreeMap::new();
    let commands = std::iter::once(root.clone()).chain(root.get_subcommands().cloned());
    for command in commands.filter(|command| !command.is_hide_set()) {
        let page = clap_mangen::Man::new(command);
        let mut roff = Vec::new();
        page.render(&mut roff).unwrap();
        pages.insert(page.get_filename(), roff);
    }
    pages
}

#[test]
fn the_manual_pages_are_the_flags_as_defined() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let pages = rendered();
    assert!(pages.contains_key("mcp-auth-serve.1"), "{:?}", pages.keys());
    if std::env::var_os("MCP_AUTH_WRITE_MAN").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, roff) in &pages {
            std::fs::write(dir.join(name), roff).unwrap();
        }
    }
    let mut committed: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    committed.sort();
    assert_eq!(
        committed,
        pages.keys().cloned().collect::<Vec<_>>(),
        "one page per command, none left over"
    );
    for (name, roff) in &pages {
        let written = std::fs::read(dir.join(name)).unwrap();
        assert!(
            written == *roff,
            "man/{name} is out of date: run MCP_AUTH_WRITE_MAN=1 cargo test -p mcp-auth-cli man_pages"
        );
    }
}
