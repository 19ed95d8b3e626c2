//! The README's getting-started code is compiled and run here: each README block marked
//! `<!-- file: PATH -->` must be the file at PATH, verbatim, so neither can change alone.

use std::fs;
use std::path::Path;

/// The files the README's getting-started section shows.
const SHOWN: [&str; 3] = [
    "examples/fixtures/web/Dockerfile",
    "examples/tests/getting_started.rs",
    "examples/tests/getting_started_fixture.rs",
];

/// Each marked path with the fenced block that follows its marker.
fn marked_blocks(readme: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let Some(path) = line
            .strip_prefix("<!-- file: ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        else {
            continue;
        };
        let fence = lines.next().unwrap_or_default();
        assert!(
            fence.starts_with("```"),
            "no code block after the marker of {path}"
        );
        let block: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        blocks.push((path.to_owned(), format!("{}\n", block.join("\n"))));
    }
    blocks
}

#[test]
fn the_readme_shows_the_example_files_verbatim() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = fs::read_to_string(root.join("README.md")).expect("read README.md");
    let blocks = marked_blocks(&readme);
    let paths: Vec<&str> = blocks.iter().map(|(path, _)| path.as_str()).collect();
    assert_eq!(paths, SHOWN, "the README's marked blocks");
    for (path, block) in &blocks {
        let file = fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(*block, file, "the README's block differs from {path}");
    }
}
