//! Execution of parsed templates.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::parse::{Command, Node, Operand, Pipeline, Pos};
use crate::value::{print, truthy};
use crate::{Context, Error, MissingKey, TemplateSet};

enum Flow {
    Normal,
    Break,
    Continue,
}

struct State<'a> {
    set: &'a TemplateSet,
    name: &'a str,
    depth: usize,
    vars: Vec<(String, Value)>,
    out: String,
    steps: usize,
}

/// Runs template `name` of `set` at nesting `depth`.
pub(crate) fn run(
    set: &TemplateSet,
    name: &str,
    data: &Value,
    depth: usize,
) -> Result<String, Error> {
    let Some(body) = set.templates.get(name) else {
        return Err(Error::NoTemplate {
            name: name.to_string(),
            set: set.first.clone().unwrap_or_default(),
        });
    };
    if depth > set.options.max_depth {
        return Err(Error::unlocated(format!(
            "exceeded max template depth ({})",
            set.options.max_depth
        )));
    }
    let mut state = State {
        set,
        name,
        depth,
        vars: vec![("$".to_string(), data.clone())],
        out: String::new(),
        steps: 0,
    };
    state.walk(body, data)?;
    Ok(state.out)
}

/// Attaches the action's position to an error raised inside it.
fn locate(e: Error, name: &str, pos: &Pos) -> Error {
    match e {
        Error::Exec {
            name: n, message, ..
        } if n.is_empty() => Error::Exec {
            name: name.to_string(),
            line: pos.line,
            col: pos.col,
            node: pos.text.clone(),
            message,
        },
        other => other,
    }
}

const MAX_STEPS: usize = 1_000_000;
const MAX_OUTPUT: usize = 64 << 20;

fn field_of(v: &Value, name: &str, missing: MissingKey) -> Result<Value, Error> {
    match v {
        Value::Object(map) => match map.get(name) {
            Some(v) => Ok(v.clone()),
            None if missing == MissingKey::Error => Err(Error::unlocated(format!(
                "map has no entry for key {name:?}"
            ))),
            None => Ok(Value::Null),
        },
        Value::Null => Err(Error::unlocated(format!(
            "nil pointer evaluating interface {{}}.{name}"
        ))),
        other => Err(Error::unlocated(format!(
            "can't evaluate field {name} in type {}",
            crate::funcs::type_name(other)
        ))),
    }
}

fn fields(mut v: Value, names: &[String], missing: MissingKey) -> Result<Value, Error> {
    for name in names {
        v = field_of(&v, name, missing)?;
    }
    Ok(v)
}

impl State<'_> {
    fn lookup(&self, name: &str) -> Result<Value, Error> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| Error::unlocated(format!("undefined variable: ${name}")))
    }

    fn set(&mut self, name: &str, value: Value) -> Result<(), Error> {
        match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = value;
                Ok(())
            }
            None => Err(Error::unlocated(format!("undefined variable: ${name}"))),
        }
    }

    fn tick(&mut self) -> Result<(), Error> {
        self.steps += 1;
        if self.steps > MAX_STEPS || self.out.len() > MAX_OUTPUT {
            return Err(Error::unlocated(
                "template too expensive: step or output limit reached".to_string(),
            ));
        }
        Ok(())
    }

    fn walk(&mut self, nodes: &[Node], dot: &Value) -> Result<Flow, Error> {
        for node in nodes {
            self.tick()?;
            match node {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(pipe, pos) => {
                    let v = self
                        .pipeline(pipe, dot)
                        .map_err(|e| locate(e, self.name, pos))?;
                    if pipe.decl.is_empty() {
                        self.out.push_str(&print(&v));
                    }
                }
                Node::Template(name, pipe, pos) => {
                    let data = match pipe {
                        Some(pipe) => self
                            .pipeline(pipe, dot)
                            .map_err(|e| locate(e, self.name, pos))?,
                        None => Value::Null,
                    };
                    let text = run(self.set, name, &data, self.depth + 1).map_err(|e| match e {
                        Error::NoTemplate { name, .. } => locate(
                            Error::unlocated(format!("template {name:?} not defined")),
                            self.name,
                            pos,
                        ),
                        other => locate(other, self.name, pos),
                    })?;
                    self.out.push_str(&text);
                }
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
                Node::If(pipe, body, els) | Node::With(pipe, body, els) => {
                    let mark = self.vars.len();
                    let v = self.pipeline(pipe, dot)?;
                    let flow = if truthy(&v) {
                        let next_dot = if matches!(node, Node::With(..)) {
                            v
                        } else {
                            dot.clone()
                        };
                        self.walk(body, &next_dot)?
                    } else {
                        self.walk(els, dot)?
                    };
                    self.vars.truncate(mark);
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                Node::Range(pipe, body, els) => {
                    let mark = self.vars.len();
                    let mut inner = pipe.clone();
                    let decl = std::mem::take(&mut inner.decl);
                    let v = self.pipeline(&inner, dot)?;
                    let items: Vec<(Value, Value)> = match &v {
                        Value::Array(a) => a
                            .iter()
                            .enumerate()
                            .map(|(i, x)| (Value::from(i), x.clone()))
                            .collect(),
                        Value::Object(o) => {
                            let sorted: BTreeMap<&String, &Value> = o.iter().collect();
                            sorted
                                .into_iter()
                                .map(|(k, x)| (Value::from(k.as_str()), x.clone()))
                                .collect()
                        }
                        Value::Number(n) if n.as_i64().is_some() => (0..n.as_i64().unwrap_or(0))
                            .map(|i| (Value::from(i), Value::from(i)))
                            .collect(),
                        Value::Null => Vec::new(),
                        other => {
                            return Err(Error::unlocated(format!(
                                "range can't iterate over {}",
                                print(other)
                            )));
                        }
                    };
                    if items.is_empty() {
                        let flow = self.walk(els, dot)?;
                        self.vars.truncate(mark);
                        if !matches!(flow, Flow::Normal) {
                            return Ok(flow);
                        }
                        continue;
                    }
                    for (key, item) in items {
                        let inner_mark = self.vars.len();
                        match decl.as_slice() {
                            [] => {}
                            [v] => self.vars.push((v.clone(), item.clone())),
                            [k, v, ..] => {
                                self.vars.push((k.clone(), key));
                                self.vars.push((v.clone(), item.clone()));
                            }
                        }
                        let flow = self.walk(body, &item)?;
                        self.vars.truncate(inner_mark);
                        if matches!(flow, Flow::Break) {
                            break;
                        }
                    }
                    self.vars.truncate(mark);
                }
            }
        }
        Ok(Flow::Normal)
    }

    fn pipeline(&mut self, pipe: &Pipeline, dot: &Value) -> Result<Value, Error> {
        let mut last: Option<Value> = None;
        for cmd in &pipe.cmds {
            last = Some(self.command(cmd, dot, last)?);
        }
        let v = last.unwrap_or(Value::Null);
        if pipe.assign {
            for name in &pipe.decl {
                self.set(name, v.clone())?;
            }
        } else {
            for name in &pipe.decl {
                self.vars.push((name.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn operand(&mut self, op: &Operand, dot: &Value) -> Result<Value, Error> {
        match op {
            Operand::Dot(names) => fields(dot.clone(), names, self.set.options.missing_key),
            Operand::Var(name, names) => {
                fields(self.lookup(name)?, names, self.set.options.missing_key)
            }
            Operand::Lit(v) => Ok(v.clone()),
            Operand::Sub(pipe, names) => {
                let v = self.pipeline(pipe, dot)?;
                fields(v, names, self.set.options.missing_key)
            }
            Operand::Func(name) => self.call(name, Vec::new(), dot),
        }
    }

    fn command(
        &mut self,
        cmd: &Command,
        dot: &Value,
        piped: Option<Value>,
    ) -> Result<Value, Error> {
        match &cmd.head {
            Operand::Func(name) if (name == "and" || name == "or") && !cmd.args.is_empty() => {
                // Short-circuit: operands after the deciding one are not evaluated.
                let want = name == "or";
                let mut last = Value::Null;
                for a in &cmd.args {
                    last = self.operand(a, dot)?;
                    if truthy(&last) == want {
                        return Ok(last);
                    }
                }
                if let Some(p) = piped {
                    last = p;
                }
                Ok(last)
            }
            Operand::Func(name) => {
                let mut args = Vec::with_capacity(cmd.args.len() + 1);
                for a in &cmd.args {
                    args.push(self.operand(a, dot)?);
                }
                if let Some(p) = piped {
                    args.push(p);
                }
                self.call(name, args, dot)
            }
            head => {
                if piped.is_some() {
                    return Err(Error::unlocated(
                        "can't give argument to non-function".to_string(),
                    ));
                }
                self.operand(head, dot)
            }
        }
    }

    fn call(&mut self, name: &str, args: Vec<Value>, _dot: &Value) -> Result<Value, Error> {
        match name {
            "and" | "or" => {
                let want = name == "or";
                let mut last = Value::Null;
                for a in args {
                    if truthy(&a) == want {
                        return Ok(a);
                    }
                    last = a;
                }
                Ok(last)
            }
            _ => {
                let Some(func) = self.set.funcs.get(name) else {
                    return Err(Error::unlocated(format!("function {name:?} not defined")));
                };
                let mut ctx = Context {
                    set: self.set,
                    depth: self.depth,
                };
                func(&mut ctx, &args).map_err(Error::unlocated)
            }
        }
    }
}
