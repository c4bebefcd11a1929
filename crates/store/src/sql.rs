//! Small helpers for the few statements written as SQL text.

use sea_orm::{DbBackend, Statement, Value};

/// Most bound parameters in one statement (SQLite allows 32,766; PostgreSQL 65,535): an
/// import chunk's ids fit in one.
pub(crate) const MAX_PARAMETERS: usize = 30_000;

/// Builds a statement from SQL whose parameters are written `?`, numbering them `$1, $2, ...`
/// for PostgreSQL.
pub(crate) fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = if backend == DbBackend::Postgres {
        let mut numbered = String::with_capacity(sql.len() + 16);
        let mut next = 0;
        for c in sql.chars() {
            if c == '?' {
                next += 1;
                numbered.push('$');
                numbered.push_str(&next.to_string());
            } else {
                numbered.push(c);
            }
        }
        numbered
    } else {
        sql.to_owned()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// `?, ?, ?` for `count` parameters.
pub(crate) fn marks(count: usize) -> String {
    vec!["?"; count].join(", ")
}

/// Escapes `%`, `_` and `!` for a LIKE pattern with `ESCAPE '!'` (a backslash would mean
/// different things to the two dialects' string literals).
pub(crate) fn like_escape(text: &str) -> String {
    text.replace('!', "!!").replace('%', "!%").replace('_', "!_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_parameters_are_numbered() {
        let stmt =
            statement(DbBackend::Postgres, "a = ? AND b IN (?, ?)", vec![1.into(), 2.into(), 3.into()]);
        assert_eq!(stmt.sql, "a = $1 AND b IN ($2, $3)");
        assert_eq!(statement(DbBackend::Sqlite, "a = ?", vec![1.into()]).sql, "a = ?");
        assert_eq!(marks(3), "?, ?, ?");
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_escape("50%_off!"), "50!%!_off!!");
    }
}
