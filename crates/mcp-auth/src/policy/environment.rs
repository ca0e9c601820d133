//! The CEL environment every rule compiles and runs in: the standard library, and
//! `underPath`, a path test a `..` cannot fool.

use std::sync::{Arc, OnceLock};

use cel::Env;
use cel::common::types::{CelBool, CelString};

/// The one environment, built on first use.
pub(crate) fn environment() -> Arc<Env> {
    static ENVIRONMENT: OnceLock<Arc<Env>> = OnceLock::new();
    ENVIRONMENT
        .get_or_init(|| {
            let mut env = Env::stdlib();
            // Only fails on a name declared twice: `underPath` is ours alone.
            if let Err(err) = env.add_extension(|env| {
                cel::add_member_overload!(env, fn under_path: (CelString, CelString) -> CelBool, name = "underPath")
            }) {
                tracing::error!(%err, "underPath could not be declared");
            }
            Arc::new(env)
        })
        .clone()
}

/// `path.underPath(folder)`: whether `path` names `folder` or something inside it, written so
/// that no server could read it as another path: absolute, no `.` or `..` segment, no empty
/// segment (`//`), no `\`, `%` or control character. `"/public/a".underPath("/public")` is
/// true; `"/public/../etc/passwd"`, `"/public2/a"` and `"/public//a"` are not.
fn under_path(path: &CelString<'_>, folder: &CelString<'_>) -> CelBool {
    CelBool::from(is_under(path.inner(), folder.inner()))
}

fn is_under(path: &str, folder: &str) -> bool {
    let folder = folder.trim_end_matches('/');
    if !plain(path) || !(folder.is_empty() || plain(folder)) {
        return false;
    }
    match path.strip_prefix(folder) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// An absolute path with no segment a file system or URL parser would rewrite.
fn plain(path: &str) -> bool {
    let Some(segments) = path.strip_prefix('/') else {
        return false;
    };
    let bad_char = |c: char| c == '\\' || c == '%' || c.is_control();
    if path.chars().any(bad_char) {
        return false;
    }
    let mut segments = segments.split('/').peekable();
    while let Some(segment) = segments.next() {
        // A trailing `/` leaves one empty last segment, which is fine.
        let last = segments.peek().is_none();
        if segment == "." || segment == ".." || (segment.is_empty() && !last) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_path_refuses_every_way_out() {
        for (path, folder, under) in [
            ("/public/a.txt", "/public/", true),
            ("/public/a.txt", "/public", true),
            ("/public", "/public", true),
            ("/public/", "/public", true),
            ("/public/sub/dir/", "/public", true),
            ("/anything", "/", true),
            ("/public2/a", "/public", false),
            ("/public/../etc/passwd", "/public/", false),
            ("/public/./a", "/public/", false),
            ("/public//a", "/public/", false),
            ("/public/..", "/public", false),
            ("/public/%2e%2e/etc", "/public", false),
            ("/public\\..\\etc", "/public", false),
            ("public/a", "public", false),
            ("/public/a\n", "/public", false),
            ("", "/public", false),
            ("/etc/passwd", "/public", false),
            ("/public/a", "/pub/../public", false),
        ] {
            assert_eq!(is_under(path, folder), under, "{path:?} under {folder:?}");
        }
    }

    #[test]
    fn the_environment_knows_under_path() {
        let env = environment();
        let program = env.compile(r#""/public/../x".underPath("/public")"#);
        let context = cel::Context::with_env(env);
        let result = program.map(|program| program.execute(&context));
        assert_eq!(result.ok(), Some(Ok(cel::Value::Bool(false))));
    }
}
