//! Compile errors: exact messages and byte positions, and the size limits.

use grandma_xpath::{MAX_EXPRESSION_LENGTH, MAX_NESTING_DEPTH, XPath};

use crate::common::*;

fn msg(position: usize, message: &str) -> (usize, String) {
    (position, message.to_owned())
}

#[test]
fn unclosed_brackets_and_parentheses() {
    assert_eq!(
        err("//a[1"),
        msg(
            5,
            "expected ']' to close the predicate opened at position 3, found the end of the expression"
        )
    );
    assert_eq!(
        err("//a[1 = 1 )"),
        msg(
            10,
            "expected ']' to close the predicate opened at position 3, found ')'"
        )
    );
    assert_eq!(
        err("//a[@x = 1 //b]"),
        msg(
            11,
            "'//' can only follow a node-set, but this expression is a number"
        )
    );
    assert_eq!(
        err("(1 + 2"),
        msg(
            6,
            "expected ')' to close the '(' at position 0, found the end of the expression"
        )
    );
    assert_eq!(
        err("count(//a"),
        msg(
            9,
            "expected ',' or ')' in the arguments of 'count(' opened at position 5, found the end of the expression"
        )
    );
    assert_eq!(
        err("//a["),
        msg(4, "expected an expression, found the end of the expression")
    );
    assert_eq!(err("//a[]"), msg(4, "expected an expression, found ']'"));
}

#[test]
fn unknown_functions_and_wrong_arity() {
    assert_eq!(err("foo(1)"), msg(0, "unknown function 'foo'"));
    assert_eq!(
        err("//a[matches(., 'x')]"),
        msg(4, "unknown function 'matches'")
    );
    assert_eq!(err("fn:string(1)"), msg(0, "unknown function 'fn:string'"));
    assert_eq!(
        err("substring('a')"),
        msg(0, "function 'substring' takes 2 or 3 arguments, got 1")
    );
    assert_eq!(
        err("1 + count()"),
        msg(4, "function 'count' takes exactly 1 argument, got 0")
    );
    assert_eq!(
        err("true(1)"),
        msg(0, "function 'true' takes no arguments, got 1")
    );
    assert_eq!(
        err("concat('a')"),
        msg(0, "function 'concat' takes at least 2 arguments, got 1")
    );
    assert_eq!(
        err("string(1, 2)"),
        msg(0, "function 'string' takes 0 or 1 arguments, got 2")
    );
}

#[test]
fn trailing_garbage() {
    assert_eq!(
        err("//a)"),
        msg(3, "unexpected ')' after the end of the expression")
    );
    assert_eq!(
        err("//a]"),
        msg(3, "unexpected ']' after the end of the expression")
    );
    assert_eq!(
        err("1 2"),
        msg(2, "unexpected number 2 after the end of the expression")
    );
    assert_eq!(
        err("'a' 'b'"),
        msg(
            4,
            "unexpected string literal \"b\" after the end of the expression"
        )
    );
    assert_eq!(
        err("//a b"),
        msg(
            4,
            "unexpected name 'b': expected an operator (such as 'and', 'or', '|', '=') or the end of the expression"
        )
    );
}

#[test]
fn variables_are_rejected() {
    assert_eq!(
        err("$x"),
        msg(0, "variables are not supported (found '$x')")
    );
    assert_eq!(
        err("//a[@href = $url]"),
        msg(12, "variables are not supported (found '$url')")
    );
}

#[test]
fn other_syntax_errors() {
    assert_eq!(err(""), msg(0, "empty expression"));
    assert_eq!(err("  \n "), msg(0, "empty expression"));
    assert_eq!(
        err("//"),
        msg(
            2,
            "expected a location step (a name, '*', '.', '..', '@' or an axis), found the end of the expression"
        )
    );
    assert_eq!(
        err("a/"),
        msg(
            2,
            "expected a location step (a name, '*', '.', '..', '@' or an axis), found the end of the expression"
        )
    );
    assert_eq!(
        err("@"),
        msg(
            1,
            "expected a node test (a name, '*', node(), text(), comment() or processing-instruction()), found the end of the expression"
        )
    );
    assert_eq!(err("foo::a"), msg(0, "unknown axis 'foo'"));
    assert_eq!(
        err("//x:a"),
        msg(
            2,
            "unknown namespace prefix 'x' (known prefixes: html, svg, math, xlink, xml, xmlns)"
        )
    );
    assert_eq!(err("//HTML:div").0, 2);
    assert_eq!(
        err("text(1)"),
        msg(
            5,
            "expected ')' to close 'text(' at position 4 ('text()' takes no arguments), found number 1"
        )
    );
    assert_eq!(
        err("'abc"),
        msg(0, "unterminated string literal (missing closing ')")
    );
    assert_eq!(err("a # b"), msg(2, "unexpected character '#'"));
    assert_eq!(
        err("a ! b"),
        msg(2, "unexpected '!' (did you mean '!=' or 'not(…)'?)")
    );
    assert_eq!(
        err("1 +"),
        msg(3, "expected an expression, found the end of the expression")
    );
    assert_eq!(
        err("./[1]"),
        msg(
            2,
            "expected a location step (a name, '*', '.', '..', '@' or an axis), found '['"
        )
    );
    assert_eq!(err("é + )"), msg(5, "expected an expression, found ')'"));
}

#[test]
fn type_errors_are_caught_at_compile_time() {
    assert_eq!(
        err("'abc'[1]"),
        msg(
            5,
            "a predicate can only filter a node-set, but this expression is a string"
        )
    );
    assert_eq!(
        err("count(//a)/b"),
        msg(
            10,
            "'/' can only follow a node-set, but this expression is a number"
        )
    );
    assert_eq!(
        err("//a | 1"),
        msg(
            6,
            "the operands of '|' must be node-sets, but this expression is a number"
        )
    );
    assert_eq!(
        err("true() | //a"),
        msg(
            0,
            "the operands of '|' must be node-sets, but this expression is a boolean"
        )
    );
    assert_eq!(
        err("count('a')"),
        msg(
            6,
            "function 'count' expects a node-set argument, but this expression is a string"
        )
    );
    assert_eq!(
        err("sum(1 + 1)"),
        msg(
            4,
            "function 'sum' expects a node-set argument, but this expression is a number"
        )
    );
    assert_eq!(err("name(string(.))").0, 5);
}

#[test]
fn display_includes_the_position() {
    assert_eq!(
        error("foo()").to_string(),
        "at position 0: unknown function 'foo'"
    );
    let e: Box<dyn std::error::Error> = Box::new(error("//a["));
    assert_eq!(
        e.to_string(),
        "at position 4: expected an expression, found the end of the expression"
    );
}

#[test]
fn relative_mode_reports_the_same_errors() {
    let e = XPath::parse_relative("//a[").unwrap_err();
    assert_eq!(e.position, 4);
}

#[test]
fn length_limit() {
    let longest = format!("1{}", " ".repeat(MAX_EXPRESSION_LENGTH - 1));
    assert_eq!(
        XPath::parse(&longest).unwrap().source().len(),
        MAX_EXPRESSION_LENGTH
    );
    let too_long = format!("1{}", " ".repeat(MAX_EXPRESSION_LENGTH));
    assert_eq!(
        err(&too_long),
        msg(
            0,
            "expression is too long (10001 characters; the limit is 10000)"
        )
    );
    // Characters, not bytes: 5,000 two-byte characters are fine.
    let wide = format!("'{}'", "é".repeat(5_000));
    assert!(XPath::parse(&wide).is_ok());
}

#[test]
fn nesting_limit() {
    let nested = |n: usize| format!("{}1{}", "(".repeat(n), ")".repeat(n));
    assert_eq!(s(&nested(MAX_NESTING_DEPTH - 1)), "1");
    assert_eq!(
        err(&nested(MAX_NESTING_DEPTH)),
        msg(
            200,
            "expression is nested too deeply (more than 200 levels)"
        )
    );
    assert_eq!(err(&nested(4_000)).0, 200);

    let predicates = format!("{}1{}", "a[".repeat(300), "]".repeat(300));
    assert_eq!(
        err(&predicates).1,
        "expression is nested too deeply (more than 200 levels)"
    );
    let calls = format!("{}1{}", "not(".repeat(1_000), ")".repeat(1_000));
    assert_eq!(
        err(&calls).1,
        "expression is nested too deeply (more than 200 levels)"
    );

    // Just under the limit still evaluates, with the default 2 MiB test-thread stack.
    let deep_calls = format!(
        "{}1{}",
        "not(".repeat(MAX_NESTING_DEPTH - 1),
        ")".repeat(MAX_NESTING_DEPTH - 1)
    );
    assert_eq!(s(&deep_calls), "false");
    let deep_filters = format!("count({}1{})", "(//p)[".repeat(190), "]".repeat(190));
    assert_eq!(string("<p>x</p>", &deep_filters), "1");
    let deep_predicates = format!("count(//p{}{})", "[p".repeat(150), "]".repeat(150));
    assert_eq!(string("<p><p>x</p></p>", &deep_predicates), "0");
}

#[test]
fn long_flat_expressions_do_not_recurse() {
    let sum = vec!["1"; 5_000].join("+");
    assert_eq!(s(&sum), "5000");
    let minus = format!("{}1", "-".repeat(9_999));
    assert_eq!(s(&minus), "-1");
    let ors = vec!["false()"; 800].join(" or ");
    assert_eq!(s(&ors), "false");
    let union = vec!["//p"; 2_000].join("|");
    assert_eq!(string("<p>x</p>", &format!("count({union})")), "1");
    let steps = format!("count(/{})", vec!["*"; 3_000].join("/"));
    assert_eq!(s(&steps), "0");
}
