//! Kustomize reads kustomization files with a decoder that lets a repeated mapping key
//! override the earlier one. The workspace's YAML reader rejects duplicates, so before a
//! kustomization that fails for that reason is read again, earlier duplicates are dropped
//! from its block-style text.

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// The key of a block mapping entry starting this line, if it is one.
fn key_of(line: &str) -> Option<&str> {
    let t = line.trim_start_matches(' ');
    if t.starts_with("- ") || t == "-" || t.starts_with('#') {
        return None;
    }
    let end = if let Some(rest) = t.strip_prefix('"') {
        rest.find('"').map(|i| i + 2)?
    } else if let Some(rest) = t.strip_prefix('\'') {
        rest.find('\'').map(|i| i + 2)?
    } else {
        t.find(':')?
    };
    let after = &t[end..];
    if after.starts_with(':') && (after.len() == 1 || after[1..].starts_with(' ')) {
        Some(&t[..end])
    } else {
        None
    }
}

/// Removes earlier duplicates among the mapping entries at `indent` in `lines`, recursively.
fn dedupe(lines: Vec<String>, indent: usize) -> Vec<String> {
    // Split into entries: an entry starts at a key line at exactly `indent`.
    let mut entries: Vec<(Option<String>, Vec<String>)> = Vec::new();
    for line in lines {
        let starts = !is_blank(&line) && indent_of(&line) == indent && key_of(&line).is_some();
        if starts || entries.is_empty() {
            let key = if starts {
                key_of(&line).map(str::to_string)
            } else {
                None
            };
            entries.push((key, vec![line]));
        } else if let Some(last) = entries.last_mut() {
            last.1.push(line);
        }
    }
    let mut out = Vec::new();
    for (i, (key, body)) in entries.iter().enumerate() {
        if let Some(k) = key
            && entries[i + 1..]
                .iter()
                .any(|(other, _)| other.as_ref() == Some(k))
        {
            continue;
        }
        let mut body = body.clone();
        let head = body.remove(0);
        out.push(head);
        out.extend(dedupe_children(body, indent));
    }
    out
}

/// Dedupes the value lines of one entry: a nested mapping, or a sequence of mappings.
fn dedupe_children(body: Vec<String>, parent: usize) -> Vec<String> {
    let Some(first) = body.iter().find(|l| !is_blank(l)) else {
        return body;
    };
    let child = indent_of(first);
    if child < parent {
        return body;
    }
    if first.trim_start().starts_with("- ") {
        // A sequence: each item's text, with `- ` read as indentation, is a mapping.
        let mut items: Vec<Vec<String>> = Vec::new();
        for line in body {
            let item_start = !is_blank(&line)
                && indent_of(&line) == child
                && line.trim_start().starts_with("- ");
            if item_start || items.is_empty() {
                items.push(vec![line]);
            } else if let Some(last) = items.last_mut() {
                last.push(line);
            }
        }
        let mut out = Vec::new();
        for mut item in items {
            let head = item.remove(0);
            if !head.trim_start().starts_with("- ") {
                out.push(head);
                out.extend(item);
                continue;
            }
            let opened = format!(
                "{}  {}",
                " ".repeat(child),
                head.get(child + 2..).unwrap_or("")
            );
            let mut lines = vec![opened];
            lines.extend(item);
            let mut deduped = dedupe(lines, child + 2);
            if let Some(first) = deduped.iter_mut().find(|l| !is_blank(l)) {
                let rest = first
                    .get(child + 2..)
                    .unwrap_or(first.trim_start())
                    .to_string();
                *first = format!("{}- {}", " ".repeat(child), rest);
            }
            out.extend(deduped);
        }
        out
    } else if child > parent {
        dedupe(body, child)
    } else {
        body
    }
}

/// Drops earlier duplicate keys of block mappings in `text`.
pub(super) fn drop_duplicate_keys(text: &str) -> String {
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut out = dedupe(lines, 0).join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_keys_win() {
        let text = "apiVersion: a\nkind: K\napiVersion: b\ngen:\n- name: x\n  literals:\n  - a=1\n  literals:\n  - b=2\n  files:\n  - f\n";
        let out = drop_duplicate_keys(text);
        assert_eq!(
            out,
            "kind: K\napiVersion: b\ngen:\n- name: x\n  literals:\n  - b=2\n  files:\n  - f\n"
        );
    }
}
