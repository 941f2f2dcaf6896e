//! Scripts: statements split at `;` outside quotes and comments.

/// Splits a script into statements at `;` outside quotes and comments.
///
/// ```
/// use datafusion_timemachine::sql::split_statements;
/// let parts = split_statements("select ';' as a; -- done;\nselect 2");
/// assert_eq!(parts, vec!["select ';' as a", "-- done;\nselect 2"]);
/// ```
pub fn split_statements(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = script.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                cur.push(c);
                if c == '\\' && q != '`' {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' | '`' => {
                    quote = Some(c);
                    cur.push(c);
                }
                '-' if chars.peek() == Some(&'-') => {
                    cur.push('-');
                    for n in chars.by_ref() {
                        cur.push(n);
                        if n == '\n' {
                            break;
                        }
                    }
                }
                ';' => {
                    let s = cur.trim();
                    if !s.is_empty() && !is_only_comments(s) {
                        out.push(s.to_string());
                    }
                    cur.clear();
                }
                _ => cur.push(c),
            },
        }
    }
    let s = cur.trim();
    if !s.is_empty() && !is_only_comments(s) {
        out.push(s.to_string());
    }
    out
}

fn is_only_comments(s: &str) -> bool {
    s.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with("--"))
}
