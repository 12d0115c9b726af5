use super::*;

/// A scope with `x` (slot 0), `y` (slot 1), `flag` (slot 2, a condition) and a derived value
/// `twice_x` = `2 * x`.
struct TestScope {
    twice_x: Expr,
}

impl TestScope {
    fn new() -> TestScope {
        TestScope {
            twice_x: parse("2 * x", 64).expect("parses"),
        }
    }
}

impl Scope for TestScope {
    fn lookup(&self, name: &str) -> Option<Binding<'_>> {
        match name {
            "x" => Some(Binding::Slot(0, Type::Number)),
            "y" => Some(Binding::Slot(1, Type::Number)),
            "flag" => Some(Binding::Slot(2, Type::Bool)),
            "twice_x" => Some(Binding::Inline(&self.twice_x, Type::Number)),
            _ => None,
        }
    }
    fn candidates(&self) -> Vec<String> {
        vec!["x".into(), "y".into(), "flag".into(), "twice_x".into()]
    }
}

fn eval_with(text: &str, slots: &[f64]) -> f64 {
    let expr = parse(text, 64).unwrap_or_else(|e| panic!("{text}: {e:?}"));
    let program =
        compile(&expr, &TestScope::new(), None).unwrap_or_else(|e| panic!("{text}: {e:?}"));
    program.eval_one(slots)
}

fn eval(text: &str) -> f64 {
    eval_with(text, &[3.0, 4.0, 1.0])
}

fn error(text: &str) -> ExprError {
    match parse(text, 64) {
        Err(e) => e,
        Ok(expr) => compile(&expr, &TestScope::new(), Some(Type::Number))
            .expect_err(&format!("`{text}` should not compile")),
    }
}

#[test]
fn arithmetic_precedence() {
    assert_eq!(eval("1 + 2 * 3"), 7.0);
    assert_eq!(eval("(1 + 2) * 3"), 9.0);
    assert_eq!(eval("10 - 4 - 3"), 3.0);
    assert_eq!(eval("12 / 3 / 2"), 2.0);
    assert_eq!(eval("2 ^ 3 ^ 2"), 512.0); // right-associative
    assert_eq!(eval("-2 ^ 2"), -4.0); // unary minus binds looser than ^
    assert_eq!(eval("2 ^ -1"), 0.5);
    assert_eq!(eval("x * y - 2"), 10.0);
    assert_eq!(eval("1.5e2 + .5"), 150.5);
}

#[test]
fn logic_and_comparison_precedence() {
    assert_eq!(eval("1 < 2 and 3 < 2 or true"), 1.0);
    assert_eq!(eval("not 1 > 2"), 1.0);
    assert_eq!(eval("not flag or x == 3"), 1.0);
    assert_eq!(eval("flag and not flag"), 0.0);
    assert_eq!(eval("x != y"), 1.0);
    assert_eq!(eval("flag == true"), 1.0);
}

#[test]
fn functions() {
    assert_eq!(eval("if(x > 2, 10, 20)"), 10.0);
    assert_eq!(eval("if(x > 5, 10, 20)"), 20.0);
    assert_eq!(eval("min(x, y, 1)"), 1.0);
    assert_eq!(eval("max(x, y, 1)"), 4.0);
    assert_eq!(eval("clamp(x, 0, 1)"), 1.0);
    assert_eq!(eval("abs(-x)"), 3.0);
    assert_eq!(eval("pow(2, 10)"), 1024.0);
    assert!((eval("ln(exp(2))") - 2.0).abs() < 1e-12);
    assert_eq!(eval("sqrt(16)"), 4.0);
    assert_eq!(eval("logistic(0)"), 0.5);
    assert!((eval("sin(0) + cos(0)") - 1.0).abs() < 1e-12);
}

#[test]
fn if_evaluates_only_the_taken_branch() {
    // ln(x - 3) is -inf at x = 3; the branch must not be evaluated.
    assert_eq!(eval("if(x > 3, ln(x - 3), 7)"), 7.0);
}

#[test]
fn derived_values_are_inlined() {
    assert_eq!(eval("twice_x + 1"), 7.0);
    assert_eq!(eval_with("twice_x", &[5.0, 0.0, 0.0]), 10.0);
}

#[test]
fn constants_are_folded() {
    let expr = parse("2 * 3 + if(true, 1, 2)", 64).expect("parses");
    let program = compile(&expr, &TestScope::new(), None).expect("compiles");
    assert_eq!(program.as_constant(), Some(7.0));
}

#[test]
fn unknown_name_points_at_it_with_a_suggestion() {
    let e = error("1 + flg * 2");
    assert!(e.message.contains("unknown name `flg`"), "{}", e.message);
    assert_eq!(e.range, 4..7);
    assert_eq!(e.hint.as_deref(), Some("did you mean `flag`?"));
}

#[test]
fn type_errors_are_located() {
    let e = error("x + (y > 1)");
    assert!(e.message.contains("expected a number"), "{}", e.message);
    assert_eq!(e.range, 4..11);
    let e = error("if(x, 1, 2)");
    assert!(e.message.contains("expected a condition"), "{}", e.message);
    assert_eq!(e.range, 3..4);
    let e = error("x > 1");
    assert!(
        e.message.contains("expected a number, found a condition"),
        "{}",
        e.message
    );
    let e = error("if(flag, 1, flag)");
    assert!(e.message.contains("same type"), "{}", e.message);
}

#[test]
fn arity_errors() {
    let e = error("clamp(x, 1)");
    assert!(
        e.message.contains("`clamp` takes 3 arguments, got 2"),
        "{}",
        e.message
    );
    let e = error("min(x)");
    assert!(e.message.contains("at least 2"), "{}", e.message);
    let e = error("logistc(x)");
    assert!(
        e.message.contains("unknown function `logistc`"),
        "{}",
        e.message
    );
    assert_eq!(e.hint.as_deref(), Some("did you mean `logistic`?"));
    assert_eq!(e.range, 0..7);
}

#[test]
fn syntax_errors_are_located() {
    let e = error("1 + * 2");
    assert_eq!(e.range, 4..5);
    let e = error("(1 + 2");
    assert!(e.message.contains("expected `)`"), "{}", e.message);
    let e = error("x = 1");
    assert!(e.hint.as_deref().unwrap_or("").contains("=="));
    let e = error("1 < x < 3");
    assert!(e.message.contains("chained"), "{}", e.message);
    let e = error("");
    assert!(e.message.contains("empty"), "{}", e.message);
    let e = error("x && y");
    assert_eq!(e.hint.as_deref(), Some("write `and`"));
    let e = error("2 $ 3");
    assert_eq!(e.range, 2..3);
}

#[test]
fn static_division_by_zero_is_an_error() {
    let e = error("x / (2 - 2)");
    assert!(e.message.contains("division by zero"), "{}", e.message);
    assert_eq!(e.range, 4..11);
    let e = error("ln(0) + x");
    assert!(e.message.contains("undefined"), "{}", e.message);
}

#[test]
fn nesting_is_bounded() {
    let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
    let e = parse(&deep, 64).expect_err("too deep");
    assert!(e.message.contains("nested deeper"), "{}", e.message);
    let ok = format!("{}1{}", "(".repeat(30), ")".repeat(30));
    assert!(parse(&ok, 64).is_ok());
}

#[test]
fn an_unusable_name_fails_as_a_follow_on_error() {
    struct Broken;
    impl Scope for Broken {
        fn lookup(&self, name: &str) -> Option<Binding<'_>> {
            (name == "broken").then_some(Binding::Unusable)
        }
        fn candidates(&self) -> Vec<String> {
            vec!["broken".into()]
        }
    }
    let expr = parse("1 + broken", 64).expect("parses");
    let err = compile(&expr, &Broken, None).expect_err("cannot compile");
    assert!(err.follow_on);
    let expr = parse("1 + brokn", 64).expect("parses");
    assert!(
        !compile(&expr, &Broken, None)
            .expect_err("unknown")
            .follow_on
    );
}

#[test]
fn an_unknown_dotted_name_says_what_the_prefix_is() {
    let e = error("nope.count + 1");
    assert!(
        e.hint
            .as_deref()
            .is_some_and(|h| h.contains("no actor, event or decision is called `nope`")),
        "{e:?}"
    );
}

#[test]
fn the_compiler_knows_exactly_the_functions_the_scenario_reserves() {
    // `scenario` reserves the names in `crate::names::FUNCTIONS`; the compiler keeps its own
    // table of arities. The hint for a name like no function lists that table.
    let e = error("zzzzzzzz(x)");
    let listed = format!("functions: {}", crate::names::FUNCTIONS.join(", "));
    assert_eq!(e.hint.as_deref(), Some(listed.as_str()));
    for name in crate::names::FUNCTIONS {
        let e = error(&format!("{name}()"));
        assert!(e.message.contains("takes"), "`{name}`: {}", e.message);
    }
}
