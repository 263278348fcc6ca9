//! SecLang text to directives (see the module above for the syntax).

use super::{Action, Directive, DirectiveKind, Operator, ParseError, Rule, Selector, Variable};

/// Engine settings a file may carry: recorded as [`DirectiveKind::Setting`]
/// for the loader to honour or refuse, by name.
const SETTINGS: &[&str] = &[
    "SecRuleEngine",
    "SecRequestBodyAccess",
    "SecRequestBodyLimit",
    "SecRequestBodyNoFilesLimit",
    "SecRequestBodyLimitAction",
    "SecResponseBodyAccess",
    "SecResponseBodyMimeType",
    "SecPcreMatchLimit",
    "SecPcreMatchLimitRecursion",
    "SecArgumentSeparator",
    "SecCookieFormat",
    "SecUnicodeMapFile",
];

/// Every directive of `text`, and every line that is not one.
pub fn parse(text: &str) -> (Vec<Directive>, Vec<ParseError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (line, logical) in logical_lines(text) {
        let fail = |message: String| ParseError { line, message };
        let args = match arguments(&logical) {
            Ok(a) => a,
            Err(e) => {
                errors.push(fail(e));
                continue;
            }
        };
        let Some((name, rest)) = args.split_first() else {
            continue;
        };
        match directive(name, rest) {
            Ok(kind) => out.push(Directive { line, kind }),
            Err(e) => errors.push(fail(e)),
        }
    }
    (out, errors)
}

/// The logical lines (continuations joined, comments and blanks gone), each
/// with the line it starts on.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        let (start, mut acc) = match current.take() {
            Some(c) => c,
            None => {
                let t = line.trim_start();
                if t.is_empty() || t.starts_with('#') {
                    continue;
                }
                (i + 1, String::new())
            }
        };
        match line.strip_suffix('\\') {
            Some(head) => {
                acc.push_str(head);
                current = Some((start, acc));
            }
            None => {
                acc.push_str(line);
                out.push((start, acc));
            }
        }
    }
    if let Some(c) = current {
        out.push(c);
    }
    out
}

/// The blank-separated arguments of a logical line; `"..."` is one, with
/// `\"` for a quote in it (other backslashes stay, for the regexes).
fn arguments(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Ok(out);
        };
        let mut arg = String::new();
        if first == '"' {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' if chars.peek() == Some(&'"') => {
                        arg.push('"');
                        chars.next();
                    }
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => arg.push(c),
                }
            }
            if !closed {
                return Err("a quoted argument is not closed".into());
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                arg.push(c);
                chars.next();
            }
        }
        out.push(arg);
    }
}

fn count(
    name: &str,
    args: &[String],
    range: std::ops::RangeInclusive<usize>,
) -> Result<(), String> {
    if range.contains(&args.len()) {
        Ok(())
    } else {
        Err(format!(
            "{name} takes {} argument(s), not {}",
            if range.start() == range.end() {
                range.start().to_string()
            } else {
                format!("{} to {}", range.start(), range.end())
            },
            args.len()
        ))
    }
}

fn directive(name: &str, args: &[String]) -> Result<DirectiveKind, String> {
    let is = |d: &str| name.eq_ignore_ascii_case(d);
    if is("SecRule") {
        count(name, args, 2..=3)?;
        return Ok(DirectiveKind::Rule(Rule {
            variables: variables(&args[0])?,
            operator: operator(&args[1]),
            actions: match args.get(2) {
                Some(a) => actions(a)?,
                None => Vec::new(),
            },
        }));
    }
    if is("SecAction") || is("SecDefaultAction") {
        count(name, args, 1..=1)?;
        let a = actions(&args[0])?;
        return Ok(if is("SecAction") {
            DirectiveKind::Action(a)
        } else {
            DirectiveKind::DefaultAction(a)
        });
    }
    let one = |f: fn(String) -> DirectiveKind| -> Result<DirectiveKind, String> {
        count(name, args, 1..=1)?;
        Ok(f(args[0].clone()))
    };
    if is("SecMarker") {
        return one(DirectiveKind::Marker);
    }
    if is("SecRuleRemoveByTag") {
        return one(DirectiveKind::RemoveByTag);
    }
    if is("SecRuleRemoveByMsg") {
        return one(DirectiveKind::RemoveByMsg);
    }
    if is("Include") {
        return one(DirectiveKind::Include);
    }
    if is("SecComponentSignature") {
        return one(DirectiveKind::ComponentSignature);
    }
    if is("SecRuleRemoveById") {
        if args.is_empty() {
            return Err("SecRuleRemoveById names at least one id".into());
        }
        let ids = args
            .iter()
            .flat_map(|a| a.split([' ', ',']))
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        return Ok(DirectiveKind::RemoveById(ids));
    }
    if is("SecRuleUpdateTargetById") || is("SecRuleUpdateTargetByTag") {
        count(name, args, 2..=3)?;
        let targets = variables(&args[1])?;
        let replaced = args.get(2).map(|r| variables(r)).transpose()?;
        return Ok(if is("SecRuleUpdateTargetById") {
            DirectiveKind::UpdateTargetById {
                ids: args[0].split(',').map(|s| s.trim().to_owned()).collect(),
                targets,
                replaced,
            }
        } else {
            DirectiveKind::UpdateTargetByTag {
                tag: args[0].clone(),
                targets,
                replaced,
            }
        });
    }
    if is("SecRuleUpdateActionById") {
        count(name, args, 2..=2)?;
        return Ok(DirectiveKind::UpdateActionById {
            id: args[0].clone(),
            actions: actions(&args[1])?,
        });
    }
    if let Some(setting) = SETTINGS.iter().find(|s| is(s)) {
        count(name, args, 1..=1)?;
        return Ok(DirectiveKind::Setting {
            name: (*setting).to_owned(),
            value: args[0].clone(),
        });
    }
    Err(format!("unsupported directive {name}"))
}

/// `ARGS|!ARGS:foo|REQUEST_HEADERS:/^x-/|&ARGS|XML:/*`.
fn variables(s: &str) -> Result<Vec<Variable>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let (mut exclude, mut count) = (false, false);
        loop {
            match chars.get(i) {
                Some('!') => exclude = true,
                Some('&') => count = true,
                _ => break,
            }
            i += 1;
        }
        let start = i;
        while i < chars.len() && chars[i] != ':' && chars[i] != '|' {
            i += 1;
        }
        let name: String = chars[start..i]
            .iter()
            .collect::<String>()
            .trim()
            .to_ascii_uppercase();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!("{s:?}: {name:?} is not a variable name"));
        }
        let mut selector = None;
        if chars.get(i) == Some(&':') {
            i += 1;
            // XML's selector is an XPath (`/*`, `//@*`): up to the next `|`.
            if chars.get(i) == Some(&'/') && name != "XML" {
                i += 1;
                let mut re = String::new();
                let mut closed = false;
                while i < chars.len() {
                    match chars[i] {
                        '\\' if i + 1 < chars.len() => {
                            re.push('\\');
                            re.push(chars[i + 1]);
                            i += 2;
                            continue;
                        }
                        '/' => {
                            closed = true;
                            i += 1;
                            break;
                        }
                        c => re.push(c),
                    }
                    i += 1;
                }
                if !closed {
                    return Err(format!("{s:?}: a /regex/ selector is not closed"));
                }
                selector = Some(Selector::Regex(re));
            } else {
                let quoted = chars.get(i) == Some(&'\'');
                if quoted {
                    i += 1;
                }
                let start = i;
                while i < chars.len() && chars[i] != if quoted { '\'' } else { '|' } {
                    i += 1;
                }
                let key: String = chars[start..i].iter().collect();
                if quoted {
                    i += 1;
                }
                selector = Some(Selector::Key(key));
            }
        }
        out.push(Variable {
            name,
            selector,
            exclude,
            count,
        });
        match chars.get(i) {
            Some('|') => i += 1,
            None => {}
            Some(c) => return Err(format!("{s:?}: {c:?} after a variable")),
        }
    }
    if out.is_empty() {
        return Err("a rule needs at least one variable".into());
    }
    Ok(out)
}

/// `[!]@name argument`, or a bare pattern (`@rx`).
fn operator(s: &str) -> Operator {
    let t = s.trim_start();
    let (negated, t) = match t.strip_prefix('!') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, t),
    };
    match t.strip_prefix('@') {
        Some(rest) => {
            let (name, argument) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            Operator {
                negated,
                name: name.to_owned(),
                argument: argument.trim_start().to_owned(),
            }
        }
        None => Operator {
            negated,
            name: "rx".into(),
            argument: t.to_owned(),
        },
    }
}

/// `id:1,phase:2,msg:'a, b',t:none`: split on the commas outside quotes.
fn actions(s: &str) -> Result<Vec<Action>, String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '\'' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if quoted {
        return Err(format!("{s:?}: a quoted action value is not closed"));
    }
    parts.push(cur);
    let mut out = Vec::new();
    for p in parts {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        let (name, value) = match p.split_once(':') {
            Some((n, v)) => (n.trim(), Some(unquote(v.trim()))),
            None => (p, None),
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!("{p:?} is not an action"));
        }
        out.push(Action {
            name: name.to_owned(),
            value,
        });
    }
    Ok(out)
}

/// A value without its single quotes, `\'` inside read as `'`.
fn unquote(v: &str) -> String {
    match v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        Some(inner) => inner.replace("\\'", "'"),
        None => v.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crs_shaped_rule_reads_whole() {
        let text = r#"
# a comment
SecRule REQUEST_COOKIES|!REQUEST_COOKIES:/__utm|_ga/|REQUEST_HEADERS:User-Agent|XML://@*|&ARGS "!@rx (?i)^(?:a|b)\s+\"q\"" \
    "id:942100,\
    phase:2,\
    block,\
    t:none,t:urlDecodeUni,\
    msg:'SQL Injection, said with a comma',\
    logdata:'it\'s %{TX.0}',\
    ctl:ruleRemoveTargetById=942100;ARGS:foo,\
    setvar:'tx.score=+%{tx.critical_anomaly_score}'"

SecMarker "END-REQUEST-942"
SecAction "id:900000,phase:1,pass,nolog,setvar:tx.blocking_paranoia_level=1"
"#;
        let (d, errors) = parse(text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].line, 3);
        let DirectiveKind::Rule(r) = &d[0].kind else {
            panic!("{:?}", d[0])
        };
        assert_eq!(r.variables.len(), 5);
        assert_eq!(
            r.variables[1],
            Variable {
                name: "REQUEST_COOKIES".into(),
                selector: Some(Selector::Regex("__utm|_ga".into())),
                exclude: true,
                count: false
            }
        );
        assert_eq!(r.variables[3].selector, Some(Selector::Key("//@*".into())));
        assert!(r.variables[4].count);
        assert_eq!(
            r.operator,
            Operator {
                negated: true,
                name: "rx".into(),
                argument: r#"(?i)^(?:a|b)\s+"q""#.into()
            }
        );
        assert_eq!(r.action("id"), Some("942100"));
        assert_eq!(r.action("msg"), Some("SQL Injection, said with a comma"));
        assert_eq!(r.action("logdata"), Some("it's %{TX.0}"));
        assert_eq!(
            r.action("ctl"),
            Some("ruleRemoveTargetById=942100;ARGS:foo")
        );
        assert_eq!(
            r.action("setvar"),
            Some("tx.score=+%{tx.critical_anomaly_score}")
        );
        assert!(r.has_action("block"));
        let t: Vec<_> = r
            .actions
            .iter()
            .filter(|a| a.name == "t")
            .filter_map(|a| a.value.as_deref())
            .collect();
        assert_eq!(t, ["none", "urlDecodeUni"]);
        assert_eq!(
            d[1],
            Directive {
                line: 13,
                kind: DirectiveKind::Marker("END-REQUEST-942".into())
            }
        );
        assert!(matches!(&d[2].kind, DirectiveKind::Action(a) if a.len() == 5));
    }

    #[test]
    fn what_is_not_understood_is_an_error_with_its_line() {
        let (d, errors) = parse(
            "SecRule ARGS \"@rx a\" \"id:1\"\nSecGeoLookupDb /x.dat\nSecRule ARGS\nSecRule ARGS \"@rx a\nSecAction \"id:2,msg:'open\"\nSecRule AR$GS \"@rx a\"\n",
        );
        assert_eq!(d.len(), 1);
        let got: Vec<(usize, &str)> = errors
            .iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        assert_eq!(got.len(), 5, "{got:?}");
        assert_eq!(got[0], (2, "unsupported directive SecGeoLookupDb"));
        assert!(
            got[1].0 == 3 && got[1].1.contains("takes 2 to 3"),
            "{got:?}"
        );
        assert!(got[2].0 == 4 && got[2].1.contains("not closed"), "{got:?}");
        assert!(got[3].0 == 5 && got[3].1.contains("not closed"), "{got:?}");
        assert!(
            got[4].0 == 6 && got[4].1.contains("not a variable"),
            "{got:?}"
        );
    }

    #[test]
    fn exclusions_and_updates_read_as_written() {
        let (d, errors) = parse(
            "SecRuleRemoveById 942100 942200-942299\nSecRuleRemoveByTag attack-sqli\nSecRuleUpdateTargetById 942100 \"!ARGS:password\"\nSecRuleUpdateActionById 942100 \"pass,nolog\"\nInclude /etc/wafer/crs/*.conf\nSecRuleEngine DetectionOnly\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            d[0].kind,
            DirectiveKind::RemoveById(vec!["942100".into(), "942200-942299".into()])
        );
        assert_eq!(d[1].kind, DirectiveKind::RemoveByTag("attack-sqli".into()));
        assert!(
            matches!(&d[2].kind, DirectiveKind::UpdateTargetById { ids, targets, replaced: None }
            if ids == &["942100"] && targets[0].exclude && targets[0].selector == Some(Selector::Key("password".into())))
        );
        assert!(
            matches!(&d[3].kind, DirectiveKind::UpdateActionById { id, actions } if id == "942100" && actions.len() == 2)
        );
        assert_eq!(
            d[4].kind,
            DirectiveKind::Include("/etc/wafer/crs/*.conf".into())
        );
        assert_eq!(
            d[5].kind,
            DirectiveKind::Setting {
                name: "SecRuleEngine".into(),
                value: "DetectionOnly".into()
            }
        );
    }
}
