//! Text a server chose (version values, reasons that quote them) made safe to show on a terminal
//! and in XML: every character a terminal would act on or XML 1.0 cannot carry becomes a visible
//! `\u{..}` escape. `report.json` keeps the exact value; everything shown goes through here.

use std::borrow::Cow;

/// Whether `c` is shown as an escape: C0 controls (newline and tab included: a value is one
/// line), DEL, C1 controls, the characters XML 1.0 excludes (U+FFFE, U+FFFF), and the
/// invisible characters that reorder or break a line (bidi controls, line/paragraph separators).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{fffe}'
                | '\u{ffff}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every unsafe character written as `\u{hex}`; borrowed when nothing changes.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`printable`] cut to at most `width` characters, ending in `…` when cut.
pub fn printable_cut(text: &str, width: usize) -> String {
    let shown = printable(text);
    if shown.chars().count() <= width {
        return shown.into_owned();
    }
    let mut out: String = shown.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(printable("v1.2-é ✓"), Cow::Borrowed("v1.2-é ✓")));
    }

    #[test]
    fn controls_and_non_characters_become_visible_escapes() {
        assert_eq!(
            printable("a\u{1b}[2J\u{7}\r\n\t\u{0}\u{7f}\u{9b}\u{ffff}\u{202e}b"),
            "a\\u{1b}[2J\\u{7}\\u{d}\\u{a}\\u{9}\\u{0}\\u{7f}\\u{9b}\\u{ffff}\\u{202e}b"
        );
    }

    #[test]
    fn cut_counts_characters_and_marks_the_cut() {
        assert_eq!(printable_cut("abcdef", 6), "abcdef");
        assert_eq!(printable_cut("abcdefg", 6), "abcde…");
        assert_eq!(printable_cut("\u{1b}", 3), "\\u…");
    }
}
