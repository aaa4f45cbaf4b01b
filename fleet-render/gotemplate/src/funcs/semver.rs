//! sprig's `semver` and `semverCompare` over [`fleet_core::semver`] (Masterminds/semver v3,
//! the library behind them), and `*semver.Version` as a template object with Go's methods
//! (`Major`, `Compare`, `LessThan`, …).

use std::rc::Rc;

pub use fleet_core::semver::{Constraints, Error, Version};

use super::{Pure, str_param, want};
use crate::value::{GoValue, Object};

pub(super) fn register(t: &mut Vec<(&'static str, Pure)>) {
    t.extend([
        (
            "semver",
            (|a: &[GoValue]| {
                want("semver", a, 1)?;
                let v = Version::parse(&str_param(a, 0)?).map_err(|e| e.to_string())?;
                Ok(GoValue::Object(Rc::new(v)))
            }) as Pure,
        ),
        ("semverCompare", |a| {
            want("semverCompare", a, 2)?;
            let c = Constraints::parse(&str_param(a, 0)?).map_err(|e| e.to_string())?;
            let v = Version::parse(&str_param(a, 1)?).map_err(|e| e.to_string())?;
            Ok(GoValue::Bool(c.check(&v)))
        }),
    ]);
}

fn version_arg(v: &GoValue) -> Result<Version, String> {
    match v {
        GoValue::Object(o) => o
            .as_any()
            .downcast_ref::<Version>()
            .cloned()
            .ok_or_else(|| {
                format!(
                    "wrong type for value; expected *semver.Version; got {}",
                    o.type_name()
                )
            }),
        GoValue::Str(s) => Version::parse(s).map_err(|e| e.to_string()),
        other => Err(format!(
            "wrong type for value; expected *semver.Version; got {}",
            other.type_name()
        )),
    }
}

impl Object for Version {
    fn type_name(&self) -> String {
        "*semver.Version".into()
    }

    fn member(&self, name: &str, args: &[GoValue]) -> Option<Result<GoValue, String>> {
        let other = || {
            args.first()
                .map(version_arg)
                .unwrap_or_else(|| Err("missing argument".into()))
        };
        Some(Ok(match name {
            "Major" => GoValue::Int(self.major() as i64),
            "Minor" => GoValue::Int(self.minor() as i64),
            "Patch" => GoValue::Int(self.patch() as i64),
            "Prerelease" => GoValue::str(self.prerelease()),
            "Metadata" => GoValue::str(self.metadata()),
            "Original" => GoValue::str(self.original()),
            "String" => GoValue::from(self.to_string()),
            "Compare" => match other() {
                Ok(o) => GoValue::Int(self.compare(&o) as i64),
                Err(e) => return Some(Err(e)),
            },
            "LessThan" | "GreaterThan" | "Equal" | "LessThanEqual" | "GreaterThanEqual" => {
                match other() {
                    Ok(o) => {
                        let c = self.compare(&o);
                        GoValue::Bool(match name {
                            "LessThan" => c.is_lt(),
                            "GreaterThan" => c.is_gt(),
                            "Equal" => c.is_eq(),
                            "LessThanEqual" => c.is_le(),
                            _ => c.is_ge(),
                        })
                    }
                    Err(e) => return Some(Err(e)),
                }
            }
            _ => return None,
        }))
    }

    fn print(&self) -> String {
        self.to_string()
    }

    fn to_data(&self) -> GoValue {
        GoValue::from(self.to_string())
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::funcs::call;

    fn run(name: &str, args: &[&str]) -> Result<String, String> {
        let args: Vec<GoValue> = args.iter().map(GoValue::str).collect();
        call(name, &args).map(|v| v.sprint())
    }

    #[test]
    fn sprig_functions_and_their_errors() {
        assert_eq!(
            run("semverCompare", &[">=1.19-0", "v1.31.0"]).as_deref(),
            Ok("true")
        );
        assert_eq!(
            run("semverCompare", &["<1.19-0", "v1.31.0"]).as_deref(),
            Ok("false")
        );
        assert_eq!(
            run("semverCompare", &[">= bar", "1.2.3"]),
            Err(r#"improper constraint: ">= bar""#.to_string())
        );
        assert_eq!(
            run("semverCompare", &[">=1", "one"]),
            Err("invalid semantic version".to_string())
        );
        assert_eq!(
            run("semver", &["x"]),
            Err("invalid semantic version".to_string())
        );
        assert_eq!(run("semver", &["v1.2"]).as_deref(), Ok("1.2.0"));
    }

    #[test]
    fn version_object_methods() {
        let v = Version::parse("v1.31.2-rc.1+b").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            v.member("Minor", &[])
                .and_then(Result::ok)
                .map(|m| m.sprint())
                .as_deref(),
            Some("31")
        );
        assert_eq!(v.print(), "1.31.2-rc.1+b");
        let cmp = v.member("Compare", &[GoValue::str("1.31.2")]);
        assert_eq!(
            cmp.and_then(Result::ok).map(|m| m.sprint()).as_deref(),
            Some("-1")
        );
    }
}
