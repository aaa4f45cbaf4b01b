//! Execution of parsed templates.

use crate::parse::{Command, Node, Operand, Pipeline, Pos};
use crate::value::GoValue;
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
    vars: Vec<(String, GoValue)>,
    out: String,
    /// Steps taken by the whole execution, template calls included.
    steps: &'a std::cell::Cell<usize>,
    /// Control structures entered below this template's start; counted with `depth`
    /// against `max_depth`, so nested bodies and template calls together bound the stack.
    nest: usize,
}

/// Runs template `name` of `set` at nesting `depth`.
pub(crate) fn run(
    set: &TemplateSet,
    name: &str,
    data: &GoValue,
    depth: usize,
    steps: &std::cell::Cell<usize>,
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
        steps,
        nest: 0,
    };
    state.walk(body, data)?;
    Ok(state.out)
}

/// Attaches the action's position to an error raised inside it.
fn locate(e: Error, name: &str, pos: &Pos) -> Error {
    match e {
        Error::Exec {
            name: n,
            message,
            node,
            col,
            ..
        } if n.is_empty() => Error::Exec {
            name: name.to_string(),
            line: pos.line,
            // A command that failed gave its own column and text.
            col: if node.is_empty() { pos.col } else { col },
            node: if node.is_empty() {
                pos.text.clone()
            } else {
                node
            },
            message,
        },
        other => other,
    }
}

/// Names the command an error came from, as Go's error context prints it (`<include "x" .>`).
fn at_command(e: Error, cmd: &Command) -> Error {
    match e {
        Error::Exec {
            name,
            line,
            node,
            message,
            ..
        } if name.is_empty() && node.is_empty() => Error::Exec {
            name,
            line,
            col: cmd.col,
            node: cmd.to_string(),
            message,
        },
        other => other,
    }
}

const MAX_OUTPUT: usize = 64 << 20;

/// The member `name` of `v`: a map entry, or an object's field or method (called with
/// `args`).
fn member(
    v: &GoValue,
    name: &str,
    args: &[GoValue],
    missing: MissingKey,
) -> Result<GoValue, Error> {
    match v {
        GoValue::Map(map) => {
            if !args.is_empty() {
                return Err(Error::unlocated(format!(
                    "{name} is not a method but has arguments"
                )));
            }
            match map.borrow().get(name) {
                Some(v) => Ok(v.clone()),
                None if missing == MissingKey::Error => Err(Error::unlocated(format!(
                    "map has no entry for key {name:?}"
                ))),
                None => Ok(GoValue::Nil),
            }
        }
        GoValue::Object(o) => match o.member(name, args) {
            Some(r) => r.map_err(|e| Error::unlocated(format!("error calling {name}: {e}"))),
            None => Err(Error::unlocated(format!(
                "can't evaluate field {name} in type {}",
                o.type_name()
            ))),
        },
        GoValue::Nil => Err(Error::unlocated(format!(
            "nil pointer evaluating interface {{}}.{name}"
        ))),
        other => Err(Error::unlocated(format!(
            "can't evaluate field {name} in type {}",
            other.type_name()
        ))),
    }
}

/// Walks a field chain. A nil reached through a map entry of this chain is Go's nil
/// interface (`.a.b` with `a` missing: "nil pointer evaluating interface {}.b"); a nil
/// receiver that came from a variable, a pipeline or dot is an invalid value, on which Go's
/// field access quietly gives nil again (`(.a).b`, `$x.b`).
fn fields(
    mut v: GoValue,
    names: &[String],
    args: &[GoValue],
    missing: MissingKey,
) -> Result<GoValue, Error> {
    for (i, name) in names.iter().enumerate() {
        let last = i + 1 == names.len();
        if i == 0 && v.is_nil() {
            if missing == MissingKey::Error {
                return Err(Error::unlocated(format!(
                    "nil data; no entry for key {name:?}"
                )));
            }
            return Ok(GoValue::Nil);
        }
        v = member(&v, name, if last { args } else { &[] }, missing)?;
    }
    Ok(v)
}

impl State<'_> {
    fn lookup(&self, name: &str) -> Result<GoValue, Error> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| Error::unlocated(format!("undefined variable: {name}")))
    }

    fn set_var(&mut self, name: &str, value: GoValue) -> Result<(), Error> {
        match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = value;
                Ok(())
            }
            None => Err(Error::unlocated(format!("undefined variable: {name}"))),
        }
    }

    fn tick(&mut self) -> Result<(), Error> {
        self.steps.set(self.steps.get() + 1);
        if self.steps.get() > self.set.options.max_steps || self.out.len() > MAX_OUTPUT {
            return Err(Error::unlocated(
                "template too expensive: step or output limit reached".to_string(),
            ));
        }
        Ok(())
    }

    fn walk(&mut self, nodes: &[Node], dot: &GoValue) -> Result<Flow, Error> {
        self.nest += 1;
        if self.depth + self.nest > self.set.options.max_depth {
            return Err(Error::unlocated(format!(
                "exceeded max template depth ({})",
                self.set.options.max_depth
            )));
        }
        let flow = self.walk_nodes(nodes, dot);
        self.nest -= 1;
        flow
    }

    fn walk_nodes(&mut self, nodes: &[Node], dot: &GoValue) -> Result<Flow, Error> {
        for node in nodes {
            self.tick()?;
            match node {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(pipe, pos) => {
                    let v = self
                        .pipeline(pipe, dot)
                        .map_err(|e| locate(e, self.name, pos))?;
                    if pipe.decl.is_empty() {
                        self.out.push_str(&v.print_action());
                    }
                }
                Node::Template(name, pipe, pos) => {
                    let data = match pipe {
                        Some(pipe) => self
                            .pipeline(pipe, dot)
                            .map_err(|e| locate(e, self.name, pos))?,
                        None => GoValue::Nil,
                    };
                    let text = run(
                        self.set,
                        name,
                        &data,
                        self.depth + self.nest + 1,
                        self.steps,
                    )
                    .map_err(|e| match e {
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
                Node::If(pipe, body, els, pos) | Node::With(pipe, body, els, pos) => {
                    let mark = self.vars.len();
                    let v = self
                        .pipeline(pipe, dot)
                        .map_err(|e| locate(e, self.name, pos))?;
                    let flow = if v.truthy() {
                        if matches!(node, Node::With(..)) {
                            self.walk(body, &v)?
                        } else {
                            self.walk(body, dot)?
                        }
                    } else {
                        self.vars.truncate(mark);
                        self.walk(els, dot)?
                    };
                    self.vars.truncate(mark);
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                Node::Range(pipe, body, els, pos) => {
                    let mark = self.vars.len();
                    let decl = &pipe.decl;
                    let inner = Pipeline {
                        decl: Vec::new(),
                        assign: false,
                        cmds: pipe.cmds.clone(),
                    };
                    let v = self
                        .pipeline(&inner, dot)
                        .map_err(|e| locate(e, self.name, pos))?;
                    let v = match v {
                        GoValue::Object(o) => o.to_data(),
                        other => other,
                    };
                    let items: Vec<(GoValue, GoValue)> = match &v {
                        GoValue::List(l) => l
                            .items
                            .borrow()
                            .iter()
                            .enumerate()
                            .map(|(i, x)| (GoValue::Int(i as i64), x.clone()))
                            .collect(),
                        GoValue::Map(m) => m
                            .borrow()
                            .iter()
                            .map(|(k, x)| (GoValue::str(k), x.clone()))
                            .collect(),
                        GoValue::Int(n) | GoValue::Int64(n) => (0..*n)
                            .map(|i| (GoValue::Int(i), GoValue::Int(i)))
                            .collect(),
                        GoValue::Nil => Vec::new(),
                        other => {
                            return Err(locate(
                                Error::unlocated(format!(
                                    "range can't iterate over {}",
                                    other.sprint()
                                )),
                                self.name,
                                pos,
                            ));
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

    fn pipeline(&mut self, pipe: &Pipeline, dot: &GoValue) -> Result<GoValue, Error> {
        let mut last: Option<GoValue> = None;
        for cmd in &pipe.cmds {
            last = Some(
                self.command(cmd, dot, last)
                    .map_err(|e| at_command(e, cmd))?,
            );
        }
        let v = last.unwrap_or(GoValue::Nil);
        if pipe.assign {
            for name in &pipe.decl {
                self.set_var(name, v.clone())?;
            }
        } else {
            for name in &pipe.decl {
                self.vars.push((name.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn operand(&mut self, op: &Operand, dot: &GoValue) -> Result<GoValue, Error> {
        let missing = self.set.options.missing_key;
        match op {
            Operand::Dot(names) => fields(dot.clone(), names, &[], missing),
            Operand::Var(name, names) => fields(self.lookup(name)?, names, &[], missing),
            Operand::Lit(v) => Ok(v.value()),
            Operand::Sub(pipe, names) => {
                let v = self.pipeline(pipe, dot)?;
                fields(v, names, &[], missing)
            }
            Operand::Func(name) => self.call(name, Vec::new()),
        }
    }

    fn args(
        &mut self,
        cmd: &Command,
        dot: &GoValue,
        piped: Option<GoValue>,
    ) -> Result<Vec<GoValue>, Error> {
        let mut args = Vec::with_capacity(cmd.args.len() + 1);
        for a in &cmd.args {
            args.push(self.operand(a, dot)?);
        }
        if let Some(p) = piped {
            args.push(p);
        }
        Ok(args)
    }

    fn command(
        &mut self,
        cmd: &Command,
        dot: &GoValue,
        piped: Option<GoValue>,
    ) -> Result<GoValue, Error> {
        let missing = self.set.options.missing_key;
        match &cmd.head {
            Operand::Func(name) if (name == "and" || name == "or") && !cmd.args.is_empty() => {
                // Short-circuit: operands after the deciding one are not evaluated.
                let want = name == "or";
                let mut last = GoValue::Nil;
                for a in &cmd.args {
                    last = self.operand(a, dot)?;
                    if last.truthy() == want {
                        return Ok(last);
                    }
                }
                if let Some(p) = piped {
                    last = p;
                }
                Ok(last)
            }
            Operand::Func(name) => {
                let args = self.args(cmd, dot, piped)?;
                self.call(name, args)
            }
            Operand::Dot(names) | Operand::Var(_, names) | Operand::Sub(_, names)
                if !names.is_empty() && (!cmd.args.is_empty() || piped.is_some()) =>
            {
                // A method call: the receiver is the chain without its last name.
                let receiver = match &cmd.head {
                    Operand::Dot(_) => dot.clone(),
                    Operand::Var(name, _) => self.lookup(name)?,
                    Operand::Sub(pipe, _) => self.pipeline(pipe, dot)?,
                    _ => GoValue::Nil,
                };
                let Some((last, init)) = names.split_last() else {
                    return Ok(GoValue::Nil);
                };
                let receiver = fields(receiver, init, &[], missing)?;
                let args = self.args(cmd, dot, piped)?;
                match &receiver {
                    GoValue::Object(_) => member(&receiver, last, &args, missing),
                    GoValue::Nil => member(&receiver, last, &[], missing),
                    _ => Err(Error::unlocated(format!(
                        "{last} is not a method but has arguments"
                    ))),
                }
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

    fn call(&mut self, name: &str, args: Vec<GoValue>) -> Result<GoValue, Error> {
        match name {
            "and" | "or" => {
                let want = name == "or";
                let mut last = GoValue::Nil;
                for a in args {
                    if a.truthy() == want {
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
                    depth: self.depth + self.nest,
                    steps: self.steps,
                };
                func(&mut ctx, &args).map_err(|e| match e {
                    crate::CallError::Message(m) => {
                        Error::unlocated(format!("error calling {name}: {m}"))
                    }
                    // Go wraps a nested template's error in the calling action's.
                    crate::CallError::Template(t) => {
                        Error::unlocated(format!("error calling {name}: {t}"))
                    }
                })
            }
        }
    }
}
