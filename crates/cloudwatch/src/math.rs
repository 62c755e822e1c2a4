//! Metric math of the form alarms use (`100 * errors / invocations`): numbers, query ids,
//! `+ - * /`, unary minus and parentheses (CloudWatch User Guide, "Metric math syntax and
//! functions", "Basic arithmetic functions"). Per timestamp, as CloudWatch evaluates
//! arithmetic on time series: a series without a value there counts as 0, a timestamp where no
//! referenced series has a value has no datapoint, and a division by zero drops the datapoint.

use std::collections::BTreeMap;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number.
    Number(f64),
    /// Another query's id.
    Id(String),
    /// Unary minus.
    Neg(Box<Expr>),
    /// A binary operation.
    Binary(Box<Expr>, Op, Box<Expr>),
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

impl Expr {
    /// Parses `text`; the error says where and what is expected.
    pub fn parse(text: &str) -> Result<Expr, String> {
        let tokens = tokenize(text)?;
        let mut p = Parser { tokens, pos: 0 };
        let e = p.sum()?;
        match p.tokens.get(p.pos) {
            None => Ok(e),
            Some(t) => Err(format!(
                "unexpected {} after a complete expression",
                t.describe()
            )),
        }
    }

    /// The ids the expression names, in order of appearance.
    pub fn ids(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_ids(&mut out);
        out
    }

    fn collect_ids<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::Number(_) => {}
            Expr::Id(id) => out.push(id),
            Expr::Neg(e) => e.collect_ids(out),
            Expr::Binary(a, _, b) => {
                a.collect_ids(out);
                b.collect_ids(out);
            }
        }
    }

    /// The value at one timestamp given each id's value there (`None`: no datapoint). `None`
    /// when no referenced id has a value, or on a division by zero.
    pub fn eval(&self, values: &BTreeMap<String, Option<f64>>) -> Option<f64> {
        let ids = self.ids();
        if !ids.is_empty()
            && ids
                .iter()
                .all(|id| values.get(*id).copied().flatten().is_none())
        {
            return None;
        }
        self.eval_filled(values)
    }

    fn eval_filled(&self, values: &BTreeMap<String, Option<f64>>) -> Option<f64> {
        Some(match self {
            Expr::Number(n) => *n,
            Expr::Id(id) => values.get(id).copied().flatten().unwrap_or(0.0),
            Expr::Neg(e) => -e.eval_filled(values)?,
            Expr::Binary(a, op, b) => {
                let (a, b) = (a.eval_filled(values)?, b.eval_filled(values)?);
                match op {
                    Op::Add => a + b,
                    Op::Sub => a - b,
                    Op::Mul => a * b,
                    Op::Div if b == 0.0 => return None,
                    Op::Div => a / b,
                }
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Id(String),
    Op(char),
    Open,
    Close,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Number(n) => format!("number {n}"),
            Token::Id(id) => format!("id {id:?}"),
            Token::Op(c) => format!("operator {c:?}"),
            Token::Open => "\"(\"".into(),
            Token::Close => "\")\"".into(),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '+' | '-' | '*' | '/' => {
                out.push(Token::Op(c));
                i += 1;
            }
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            '0'..='9' | '.' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let s: String = chars[start..i].iter().collect();
                let n = s
                    .parse::<f64>()
                    .map_err(|_| format!("{s:?} is not a number"))?;
                out.push(Token::Number(n));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if chars.get(i) == Some(&'(') {
                    return Err(format!(
                        "function {word}() is not supported here; write the arithmetic with \
                         numbers, ids, + - * / and parentheses"
                    ));
                }
                out.push(Token::Id(word));
            }
            other => {
                return Err(format!(
                    "character {other:?} at position {i} is not supported; use numbers, ids, \
                     + - * / and parentheses"
                ));
            }
        }
    }
    if out.is_empty() {
        return Err("the expression is empty".into());
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek_op(&self, ops: &[char]) -> Option<char> {
        match self.tokens.get(self.pos) {
            Some(Token::Op(c)) if ops.contains(c) => Some(*c),
            _ => None,
        }
    }

    fn sum(&mut self) -> Result<Expr, String> {
        let mut e = self.product()?;
        while let Some(c) = self.peek_op(&['+', '-']) {
            self.pos += 1;
            let rhs = self.product()?;
            let op = if c == '+' { Op::Add } else { Op::Sub };
            e = Expr::Binary(Box::new(e), op, Box::new(rhs));
        }
        Ok(e)
    }

    fn product(&mut self) -> Result<Expr, String> {
        let mut e = self.unary()?;
        while let Some(c) = self.peek_op(&['*', '/']) {
            self.pos += 1;
            let rhs = self.unary()?;
            let op = if c == '*' { Op::Mul } else { Op::Div };
            e = Expr::Binary(Box::new(e), op, Box::new(rhs));
        }
        Ok(e)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek_op(&['-']).is_some() {
            self.pos += 1;
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, String> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        match token {
            Some(Token::Number(n)) => Ok(Expr::Number(n)),
            Some(Token::Id(id)) => Ok(Expr::Id(id)),
            Some(Token::Open) => {
                let e = self.sum()?;
                match self.tokens.get(self.pos) {
                    Some(Token::Close) => {
                        self.pos += 1;
                        Ok(e)
                    }
                    _ => Err("a \"(\" is not closed; add the missing \")\"".into()),
                }
            }
            Some(t) => Err(format!(
                "expected a number, an id or \"(\", found {}",
                t.describe()
            )),
            None => Err("the expression ends early; an operand is missing".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(pairs: &[(&str, Option<f64>)]) -> BTreeMap<String, Option<f64>> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn precedence_parentheses_and_unary_minus() {
        let v = vals(&[("a", Some(2.0)), ("b", Some(3.0))]);
        assert_eq!(Expr::parse("1 + a * b").unwrap().eval(&v), Some(7.0));
        assert_eq!(Expr::parse("(1 + a) * b").unwrap().eval(&v), Some(9.0));
        assert_eq!(Expr::parse("-a - -b").unwrap().eval(&v), Some(1.0));
        assert_eq!(Expr::parse("a / b * 3").unwrap().eval(&v), Some(2.0));
        assert_eq!(Expr::parse("10 - a - b").unwrap().eval(&v), Some(5.0));
    }

    #[test]
    fn missing_counts_as_zero_unless_all_are_missing_and_division_by_zero_drops() {
        let e = Expr::parse("100 * errors / invocations").unwrap();
        assert_eq!(
            e.eval(&vals(&[("errors", None), ("invocations", Some(4.0))])),
            Some(0.0)
        );
        assert_eq!(
            e.eval(&vals(&[("errors", None), ("invocations", None)])),
            None
        );
        assert_eq!(
            e.eval(&vals(&[("errors", Some(1.0)), ("invocations", None)])),
            None,
            "1 / missing(0) is a division by zero: dropped"
        );
        assert_eq!(
            e.eval(&vals(&[("errors", Some(1.0)), ("invocations", Some(0.0))])),
            None
        );
    }

    #[test]
    fn syntax_errors_say_what_is_wrong() {
        for (text, needle) in [
            ("", "empty"),
            ("a +", "ends early"),
            ("(a + b", "not closed"),
            ("a b", "after a complete expression"),
            ("a ^ 2", "not supported"),
            ("SUM(m1)", "function SUM()"),
            ("1..2", "not a number"),
            ("* a", "expected a number"),
        ] {
            let err = Expr::parse(text).unwrap_err();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }
}
