//! Quoting for text targets: one POSIX shell word (`sh_quote`, also the templates' `sh`
//! filter), so every emitter and template quotes the same way.

/// Quote `s` as one POSIX shell word.
pub fn sh_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words() {
        assert_eq!(sh_quote("tcp://127.0.0.1:26656"), "tcp://127.0.0.1:26656");
        assert_eq!(sh_quote("net/node-0/node_key"), "net/node-0/node_key");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_quote("a b'c"), r"'a b'\''c'");
        assert_eq!(sh_quote("$HOME"), "'$HOME'");
    }
}
