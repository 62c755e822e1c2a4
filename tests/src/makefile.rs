//! Reading the root Makefile's targets and recipes (only what SAM's `makefile` build method
//! relies on: `build-<LogicalId>` targets that put their output in `$(ARTIFACTS_DIR)`).

/// The recipe lines (tab-indented, without the tab) of `target`, or `None` when the Makefile
/// has no rule for it. A rule is `target:` at the start of a line (not `target :=`).
pub fn recipe<'a>(makefile: &'a str, target: &str) -> Option<Vec<&'a str>> {
    let mut lines = makefile.lines();
    lines.by_ref().find(|line| {
        line.strip_prefix(target)
            .and_then(|rest| rest.strip_prefix(':'))
            .is_some_and(|rest| !rest.starts_with('='))
    })?;
    Some(
        lines
            .take_while(|line| line.starts_with('\t'))
            .map(|line| line.trim_start_matches('\t'))
            .collect(),
    )
}

/// The file names a recipe writes directly into `$(ARTIFACTS_DIR)` (`"$(ARTIFACTS_DIR)/hello"`
/// gives `hello`).
pub fn artifact_names<'a>(recipe: &[&'a str]) -> Vec<&'a str> {
    const DIR: &str = "$(ARTIFACTS_DIR)/";
    recipe
        .iter()
        .flat_map(|line| line.match_indices(DIR).map(|(i, _)| &line[i + DIR.len()..]))
        .filter_map(|rest| {
            let end = rest
                .find(|c: char| c == '"' || c == '\'' || c.is_whitespace())
                .unwrap_or(rest.len());
            let name = &rest[..end];
            (!name.is_empty() && !name.contains('/')).then_some(name)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAKEFILE: &str = "X ?= 1\nbuild-A:\n\tcargo build\n\tinstall -m 0755 \"t/a\" \"$(ARTIFACTS_DIR)/app\"\n\n\
                            build-B:\n\t$(MAKE) files DEST=\"$(ARTIFACTS_DIR)\"\nbuild-C := 3\n";

    #[test]
    fn recipes_are_the_tab_lines_after_the_rule() {
        let a = recipe(MAKEFILE, "build-A").unwrap();
        assert_eq!(a.len(), 2);
        assert!(a[0].starts_with("cargo build"));
        assert_eq!(recipe(MAKEFILE, "build-B").unwrap().len(), 1);
        assert_eq!(
            recipe(MAKEFILE, "build-C"),
            None,
            "a variable is not a rule"
        );
        assert_eq!(recipe(MAKEFILE, "build"), None);
    }

    #[test]
    fn artifact_names_are_files_directly_in_the_artifacts_dir() {
        assert_eq!(
            artifact_names(&recipe(MAKEFILE, "build-A").unwrap()),
            ["app"]
        );
        assert!(artifact_names(&recipe(MAKEFILE, "build-B").unwrap()).is_empty());
        assert_eq!(
            artifact_names(&["cp x $(ARTIFACTS_DIR)/one && cp y '$(ARTIFACTS_DIR)/two'"]),
            ["one", "two"]
        );
    }
}
