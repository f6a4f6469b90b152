//! Tokenizer for XPath 1.0 expressions (§3.7 "Lexical Structure").
//!
//! The disambiguation rules of §3.7 are applied here, so the parser never has to guess: after
//! an operand, `*` is multiplication and a name must be `and`/`or`/`mod`/`div`; a name followed
//! by `(` is a function or node type; a name followed by `::` is an axis.

use crate::ast::Axis;
use crate::error::XPathError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Dot,
    DotDot,
    At,
    Comma,
    Slash,
    DoubleSlash,
    Pipe,
    Plus,
    Minus,
    Eq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Mod,
    Div,
    Multiply,
    Literal(String),
    Number(f64),
    /// `*`, `prefix:*`, `name` or `prefix:name`; `local` is `None` for `*`.
    NameTest {
        prefix: Option<String>,
        local: Option<String>,
    },
    NodeType(NodeType),
    /// A (possibly prefixed) name followed by `(`; the `(` is left for the parser.
    FunctionName {
        prefix: Option<String>,
        local: String,
    },
    /// An axis name; its `::` has been consumed.
    AxisName(Axis),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeType {
    Node,
    Text,
    Comment,
    ProcessingInstruction,
}

impl NodeType {
    fn from_name(name: &str) -> Option<NodeType> {
        Some(match name {
            "node" => NodeType::Node,
            "text" => NodeType::Text,
            "comment" => NodeType::Comment,
            "processing-instruction" => NodeType::ProcessingInstruction,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            NodeType::Node => "node",
            NodeType::Text => "text",
            NodeType::Comment => "comment",
            NodeType::ProcessingInstruction => "processing-instruction",
        }
    }
}

impl TokenKind {
    /// How the token is named in error messages.
    pub(crate) fn describe(&self) -> String {
        let fixed = match self {
            TokenKind::LParen => "'('",
            TokenKind::RParen => "')'",
            TokenKind::LBracket => "'['",
            TokenKind::RBracket => "']'",
            TokenKind::Dot => "'.'",
            TokenKind::DotDot => "'..'",
            TokenKind::At => "'@'",
            TokenKind::Comma => "','",
            TokenKind::Slash => "'/'",
            TokenKind::DoubleSlash => "'//'",
            TokenKind::Pipe => "'|'",
            TokenKind::Plus => "'+'",
            TokenKind::Minus => "'-'",
            TokenKind::Eq => "'='",
            TokenKind::NotEq => "'!='",
            TokenKind::Lt => "'<'",
            TokenKind::Le => "'<='",
            TokenKind::Gt => "'>'",
            TokenKind::Ge => "'>='",
            TokenKind::And => "'and'",
            TokenKind::Or => "'or'",
            TokenKind::Mod => "'mod'",
            TokenKind::Div => "'div'",
            TokenKind::Multiply => "'*'",
            TokenKind::Literal(s) => return format!("string literal {s:?}"),
            TokenKind::Number(n) => return format!("number {}", crate::value::format_number(*n)),
            TokenKind::NameTest { prefix, local } => {
                let local = local.as_deref().unwrap_or("*");
                return match prefix {
                    Some(p) => format!("name '{p}:{local}'"),
                    None => format!("name '{local}'"),
                };
            }
            TokenKind::NodeType(t) => return format!("'{}()'", t.name()),
            TokenKind::FunctionName { prefix, local } => {
                return match prefix {
                    Some(p) => format!("function '{p}:{local}'"),
                    None => format!("function '{local}'"),
                };
            }
            TokenKind::AxisName(_) => "an axis name",
        };
        fixed.to_owned()
    }

    /// Operators per §3.7; after one of these (or `@ :: ( [ ,`) a name is a name again.
    fn is_operator(&self) -> bool {
        matches!(
            self,
            TokenKind::And
                | TokenKind::Or
                | TokenKind::Mod
                | TokenKind::Div
                | TokenKind::Multiply
                | TokenKind::Slash
                | TokenKind::DoubleSlash
                | TokenKind::Pipe
                | TokenKind::Plus
                | TokenKind::Minus
                | TokenKind::Eq
                | TokenKind::NotEq
                | TokenKind::Lt
                | TokenKind::Le
                | TokenKind::Gt
                | TokenKind::Ge
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    /// Byte offset of the token's first character.
    pub(crate) pos: usize,
}

/// XML whitespace (`S` in XML 1.0); XPath ignores nothing else between tokens.
pub(crate) fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_name_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

/// An approximation of XML's NameChar: the exact Unicode tables buy nothing for HTML scraping,
/// so any non-ASCII, non-space character is allowed after the first.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '_' | '-' | '.')
        || (!c.is_ascii() && !c.is_whitespace())
}

pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, XPathError> {
    let mut lexer = Lexer {
        src,
        pos: 0,
        tokens: Vec::new(),
    };
    lexer.run()?;
    Ok(lexer.tokens)
}

struct Lexer<'s> {
    src: &'s str,
    pos: usize,
    tokens: Vec<Token>,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(offset)
    }

    fn push(&mut self, kind: TokenKind, start: usize) {
        self.tokens.push(Token { kind, pos: start });
    }

    /// §3.7: a preceding token that is not `@ :: ( [ ,` or an operator means the next `*` is
    /// multiplication and the next name is an operator name.
    fn after_operand(&self) -> bool {
        match self.tokens.last() {
            None => false,
            Some(t) => {
                !matches!(
                    t.kind,
                    TokenKind::At
                        | TokenKind::AxisName(_)
                        | TokenKind::LParen
                        | TokenKind::LBracket
                        | TokenKind::Comma
                ) && !t.kind.is_operator()
            }
        }
    }

    fn run(&mut self) -> Result<(), XPathError> {
        while let Some(c) = self.peek() {
            let start = self.pos;
            if is_xml_space(c) {
                self.pos += 1;
                continue;
            }
            let next = self.peek_at(1);
            let (kind, len) = match c {
                '(' => (TokenKind::LParen, 1),
                ')' => (TokenKind::RParen, 1),
                '[' => (TokenKind::LBracket, 1),
                ']' => (TokenKind::RBracket, 1),
                '@' => (TokenKind::At, 1),
                ',' => (TokenKind::Comma, 1),
                '|' => (TokenKind::Pipe, 1),
                '+' => (TokenKind::Plus, 1),
                '-' => (TokenKind::Minus, 1),
                '=' => (TokenKind::Eq, 1),
                '!' if next == Some('=') => (TokenKind::NotEq, 2),
                '<' if next == Some('=') => (TokenKind::Le, 2),
                '<' => (TokenKind::Lt, 1),
                '>' if next == Some('=') => (TokenKind::Ge, 2),
                '>' => (TokenKind::Gt, 1),
                '/' if next == Some('/') => (TokenKind::DoubleSlash, 2),
                '/' => (TokenKind::Slash, 1),
                '.' if next == Some('.') => (TokenKind::DotDot, 2),
                '.' if next.is_some_and(|n| n.is_ascii_digit()) => {
                    self.lex_number();
                    continue;
                }
                '.' => (TokenKind::Dot, 1),
                '0'..='9' => {
                    self.lex_number();
                    continue;
                }
                '"' | '\'' => {
                    self.lex_literal(c)?;
                    continue;
                }
                '*' if self.after_operand() => (TokenKind::Multiply, 1),
                '*' => (
                    TokenKind::NameTest {
                        prefix: None,
                        local: None,
                    },
                    1,
                ),
                '$' => {
                    self.pos += 1;
                    let name = self.take_ncname().unwrap_or_default();
                    // Rejected here rather than in the parser so the message is the same
                    // wherever the variable appears.
                    return Err(XPathError::new(
                        start,
                        format!("variables are not supported (found '${name}')"),
                    ));
                }
                c if is_name_start(c) => {
                    self.lex_name()?;
                    continue;
                }
                '!' => {
                    return Err(XPathError::new(
                        start,
                        "unexpected '!' (did you mean '!=' or 'not(…)'?)",
                    ));
                }
                ':' => {
                    return Err(XPathError::new(
                        start,
                        "unexpected ':' (an axis needs a name before '::', e.g. 'child::a')",
                    ));
                }
                other => {
                    return Err(XPathError::new(
                        start,
                        format!("unexpected character '{other}'"),
                    ));
                }
            };
            self.pos += len;
            self.push(kind, start);
        }
        Ok(())
    }

    /// `Digits ('.' Digits?)? | '.' Digits`; no sign, no exponent (§3.7).
    fn lex_number(&mut self) {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let mut end = start;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        if end < bytes.len() && bytes[end] == b'.' {
            end += 1;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
        }
        self.pos = end;
        let value = crate::value::parse_number_literal(&self.src[start..end]);
        self.push(TokenKind::Number(value), start);
    }

    fn lex_literal(&mut self, quote: char) -> Result<(), XPathError> {
        let start = self.pos;
        let body = start + 1;
        match self.src[body..].find(quote) {
            Some(len) => {
                let text = self.src[body..body + len].to_owned();
                self.pos = body + len + 1;
                self.push(TokenKind::Literal(text), start);
                Ok(())
            }
            None => Err(XPathError::new(
                start,
                format!("unterminated string literal (missing closing {quote})"),
            )),
        }
    }

    fn take_ncname(&mut self) -> Option<String> {
        let rest = &self.src[self.pos..];
        let mut chars = rest.char_indices();
        match chars.next() {
            Some((_, c)) if is_name_start(c) => {}
            _ => return None,
        }
        let len = chars
            .find(|&(_, c)| !is_name_char(c))
            .map_or(rest.len(), |(i, _)| i);
        self.pos += len;
        Some(rest[..len].to_owned())
    }

    /// Skips whitespace without consuming it and returns what follows.
    fn rest_after_space(&self) -> &str {
        self.src[self.pos..].trim_start_matches(is_xml_space)
    }

    fn lex_name(&mut self) -> Result<(), XPathError> {
        let start = self.pos;
        let Some(name) = self.take_ncname() else {
            return Err(XPathError::new(start, "expected a name"));
        };
        if self.after_operand() {
            let kind = match name.as_str() {
                "and" => TokenKind::And,
                "or" => TokenKind::Or,
                "mod" => TokenKind::Mod,
                "div" => TokenKind::Div,
                _ => {
                    return Err(XPathError::new(
                        start,
                        format!(
                            "unexpected name '{name}': expected an operator (such as 'and', \
                             'or', '|', '=') or the end of the expression"
                        ),
                    ));
                }
            };
            self.push(kind, start);
            return Ok(());
        }

        // `prefix:local` or `prefix:*`, written without spaces; `::` belongs to an axis.
        let rest = &self.src[self.pos..];
        if rest.starts_with(':') && !rest.starts_with("::") {
            let after = rest[1..].chars().next();
            if after == Some('*') {
                self.pos += 2;
                self.push(
                    TokenKind::NameTest {
                        prefix: Some(name),
                        local: None,
                    },
                    start,
                );
                return Ok(());
            }
            if after.is_some_and(is_name_start) {
                self.pos += 1;
                let local = self.take_ncname().unwrap_or_default();
                let kind = if self.rest_after_space().starts_with('(') {
                    TokenKind::FunctionName {
                        prefix: Some(name),
                        local,
                    }
                } else {
                    TokenKind::NameTest {
                        prefix: Some(name),
                        local: Some(local),
                    }
                };
                self.push(kind, start);
                return Ok(());
            }
            return Err(XPathError::new(
                self.pos,
                "expected a name or '*' after the namespace prefix",
            ));
        }

        let following = self.rest_after_space();
        if following.starts_with("::") {
            let Some(axis) = Axis::from_name(&name) else {
                return Err(XPathError::new(start, format!("unknown axis '{name}'")));
            };
            let skipped = self.src.len() - self.pos - following.len();
            self.pos += skipped + 2;
            self.push(TokenKind::AxisName(axis), start);
            return Ok(());
        }
        let kind = if following.starts_with('(') {
            match NodeType::from_name(&name) {
                Some(t) => TokenKind::NodeType(t),
                None => TokenKind::FunctionName {
                    prefix: None,
                    local: name,
                },
            }
        } else {
            TokenKind::NameTest {
                prefix: None,
                local: Some(name),
            }
        };
        self.push(kind, start);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        tokenize(src).unwrap().into_iter().map(|t| t.kind).collect()
    }

    fn name(local: &str) -> TokenKind {
        TokenKind::NameTest {
            prefix: None,
            local: Some(local.to_owned()),
        }
    }

    #[test]
    fn star_and_names_are_disambiguated_by_the_previous_token() {
        assert_eq!(
            kinds("div div div"),
            vec![name("div"), TokenKind::Div, name("div")]
        );
        assert_eq!(
            kinds("* * *"),
            vec![
                TokenKind::NameTest {
                    prefix: None,
                    local: None
                },
                TokenKind::Multiply,
                TokenKind::NameTest {
                    prefix: None,
                    local: None
                },
            ]
        );
        assert_eq!(kinds("//div"), vec![TokenKind::DoubleSlash, name("div")]);
    }

    #[test]
    fn names_may_contain_hyphens_and_dots() {
        assert_eq!(kinds("a-b.c"), vec![name("a-b.c")]);
        assert_eq!(kinds("a -b"), vec![name("a"), TokenKind::Minus, name("b")]);
    }

    #[test]
    fn axes_functions_and_node_types() {
        assert_eq!(
            kinds("child :: a"),
            vec![TokenKind::AxisName(Axis::Child), name("a")]
        );
        assert_eq!(
            kinds("text ()"),
            vec![
                TokenKind::NodeType(NodeType::Text),
                TokenKind::LParen,
                TokenKind::RParen
            ]
        );
        assert_eq!(
            kinds("count(x)"),
            vec![
                TokenKind::FunctionName {
                    prefix: None,
                    local: "count".to_owned()
                },
                TokenKind::LParen,
                name("x"),
                TokenKind::RParen
            ]
        );
        assert_eq!(
            kinds("svg:*"),
            vec![TokenKind::NameTest {
                prefix: Some("svg".to_owned()),
                local: None
            }]
        );
    }

    #[test]
    fn numbers_and_literals() {
        assert_eq!(
            kinds("1.5 .5 3. 'a\"b' \"c'd\""),
            vec![
                TokenKind::Number(1.5),
                TokenKind::Number(0.5),
                TokenKind::Number(3.0),
                TokenKind::Literal("a\"b".to_owned()),
                TokenKind::Literal("c'd".to_owned()),
            ]
        );
        assert_eq!(
            kinds("..5"),
            vec![TokenKind::DotDot, TokenKind::Number(5.0)]
        );
    }

    #[test]
    fn token_positions_are_byte_offsets() {
        let tokens = tokenize("é = 'x'").unwrap();
        assert_eq!(
            tokens.iter().map(|t| t.pos).collect::<Vec<_>>(),
            vec![0, 3, 5]
        );
    }

    #[test]
    fn lexical_errors() {
        let err = tokenize("'abc").unwrap_err();
        assert_eq!(err.position, 0);
        assert_eq!(
            err.message,
            "unterminated string literal (missing closing ')"
        );
        let err = tokenize("a[$x]").unwrap_err();
        assert_eq!(
            err,
            XPathError::new(2, "variables are not supported (found '$x')")
        );
        assert_eq!(tokenize("a # b").unwrap_err().position, 2);
        assert_eq!(
            tokenize("foo::a").unwrap_err().message,
            "unknown axis 'foo'"
        );
        assert_eq!(tokenize("a b").unwrap_err().position, 2);
    }
}
