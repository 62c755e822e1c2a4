//! `Fn::Sub`'s string: literal text and `${Name}` / `${Resource.Attribute}` variables, with
//! `${!Literal}` standing for the literal text `${Literal}`.

use std::borrow::Cow;

/// One piece of an `Fn::Sub` string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part<'a> {
    /// Text written out as it is (`${!X}` already turned into `${X}`).
    Text(Cow<'a, str>),
    /// A variable: a parameter, pseudo parameter, resource (`Ref`), `Resource.Attribute`
    /// (`Fn::GetAtt`) or a key of the variable map.
    Var(&'a str),
}

/// The pieces of `text`; an unterminated or empty `${}` is an error saying so.
pub(crate) fn parse(text: &str) -> Result<Vec<Part<'_>>, String> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        literal.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        if let Some(escaped) = after.strip_prefix('!') {
            // `${!Literal}` is the text `${Literal}`: the rest is scanned as text again.
            literal.push_str("${");
            rest = escaped;
            continue;
        }
        let Some(end) = after.find('}') else {
            return Err(format!(
                "`${{` at byte {start} of {text:?} is not closed by `}}`: write `${{Name}}`, or `${{!Text}}` for a literal `${{Text}}`"
            ));
        };
        let name = &after[..end];
        if name.is_empty() {
            return Err(format!(
                "`${{}}` in {text:?} names no variable: write `${{Name}}`"
            ));
        }
        if !literal.is_empty() {
            parts.push(Part::Text(Cow::Owned(std::mem::take(&mut literal))));
        }
        parts.push(Part::Var(name));
        rest = &after[end + 1..];
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(Part::Text(Cow::Owned(literal)));
    }
    Ok(parts)
}

/// The variables `text` names (for dependencies); unparseable text names none.
pub(crate) fn variables(text: &str) -> Vec<&str> {
    parse(text)
        .map(|parts| {
            parts
                .into_iter()
                .filter_map(|part| match part {
                    Part::Var(name) => Some(name),
                    Part::Text(_) => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn variables_and_escapes() {
        let parts = parse("arn:${AWS::Partition}:x:${Fn.Arn}/${!Literal}-${A}").unwrap();
        assert_eq!(
            parts,
            vec![
                Part::Text("arn:".into()),
                Part::Var("AWS::Partition"),
                Part::Text(":x:".into()),
                Part::Var("Fn.Arn"),
                Part::Text("/${Literal}-".into()),
                Part::Var("A"),
            ]
        );
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(parse("$x {y}").unwrap(), vec![Part::Text("$x {y}".into())]);
    }

    #[test]
    fn unterminated_and_empty_variables_are_refused() {
        let err = parse("a-${Name").unwrap_err();
        assert!(err.contains("is not closed by `}`"), "{err}");
        let err = parse("a-${}").unwrap_err();
        assert!(err.contains("names no variable"), "{err}");
    }

    /// A piece as generated: text that may contain `$`, `{`, `}` and `${`, or a variable name.
    #[derive(Debug, Clone)]
    enum Piece {
        Text(String),
        Var(String),
    }

    fn piece() -> impl Strategy<Value = Piece> {
        prop_oneof![
            "[a-z$:/{}!. -]{1,12}".prop_map(Piece::Text),
            "[A-Za-z][A-Za-z0-9:.]{0,15}".prop_map(Piece::Var),
        ]
    }

    /// Writes pieces as a Sub string: `${` in text (adjacent texts joined first) is escaped as `${!`.
    fn render(pieces: &[Piece]) -> String {
        let mut out = String::new();
        let mut text = String::new();
        for piece in pieces {
            match piece {
                Piece::Text(t) => text.push_str(t),
                Piece::Var(v) => {
                    out.push_str(&std::mem::take(&mut text).replace("${", "${!"));
                    out.push_str(&format!("${{{v}}}"));
                }
            }
        }
        out.push_str(&text.replace("${", "${!"));
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, rng_seed: proptest::test_runner::RngSeed::Fixed(11), ..ProptestConfig::default() })]

        /// Rendering pieces and parsing them back gives the same text and variables.
        #[test]
        fn render_then_parse_round_trips(pieces in prop::collection::vec(piece(), 0..8)) {
            let text = render(&pieces);
            let parts = parse(&text).unwrap();
            let vars: Vec<&str> = parts.iter().filter_map(|p| match p { Part::Var(v) => Some(*v), Part::Text(_) => None }).collect();
            let expected_vars: Vec<&str> = pieces.iter().filter_map(|p| match p { Piece::Var(v) => Some(v.as_str()), Piece::Text(_) => None }).collect();
            prop_assert_eq!(vars, expected_vars);
            // Substituting each variable by `<name>` gives the text with the variables so written.
            let substituted: String = parts.iter().map(|p| match p { Part::Text(t) => t.to_string(), Part::Var(v) => format!("<{v}>") }).collect();
            let expected: String = pieces.iter().map(|p| match p { Piece::Text(t) => t.clone(), Piece::Var(v) => format!("<{v}>") }).collect();
            prop_assert_eq!(substituted, expected);
        }
    }
}
