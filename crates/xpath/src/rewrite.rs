//! Rewrites of location steps that keep results identical but make evaluation cheaper.

use crate::ast::{Axis, Step};

/// Applied to every step list the parser builds:
/// - `self::node()` without predicates is the identity and is dropped (`.//a`);
/// - `descendant-or-self::node()/child::x[p]` becomes `descendant::x[p]` when `p` does not
///   depend on position, turning `//x` into one ordered walk instead of a child step from
///   every node (which would then need sorting).
pub(crate) fn simplify(steps: Vec<Step>) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::with_capacity(steps.len());
    for mut step in steps {
        if step.is_plain(Axis::SelfNode) {
            continue;
        }
        if step.axis == Axis::Child
            && !step.is_positional()
            && out
                .last()
                .is_some_and(|prev| prev.is_plain(Axis::DescendantOrSelf))
        {
            out.pop();
            step.axis = Axis::Descendant;
        }
        out.push(step);
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::ast::{Axis, Expr};
    use crate::parser::{Mode, parse};

    fn steps_of(src: &str, mode: Mode) -> (bool, Vec<Axis>) {
        match parse(src, mode).unwrap() {
            Expr::Path(p) => (p.absolute, p.steps.iter().map(|s| s.axis).collect()),
            other => panic!("not a path: {other:?}"),
        }
    }

    #[test]
    fn double_slash_with_plain_child_becomes_descendant() {
        assert_eq!(
            steps_of("//a", Mode::Document),
            (true, vec![Axis::Descendant])
        );
        assert_eq!(
            steps_of("//a[@x]/b", Mode::Document),
            (true, vec![Axis::Descendant, Axis::Child])
        );
        assert_eq!(
            steps_of("//a[1]", Mode::Document),
            (true, vec![Axis::DescendantOrSelf, Axis::Child])
        );
        assert_eq!(
            steps_of("//a[position() < 3]", Mode::Document),
            (true, vec![Axis::DescendantOrSelf, Axis::Child])
        );
        assert_eq!(
            steps_of(".//a", Mode::Document),
            (false, vec![Axis::Descendant])
        );
        assert_eq!(steps_of(".", Mode::Document), (false, vec![]));
    }
}
