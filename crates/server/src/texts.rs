//! The Chinese texts that Rust code writes out (page notes, field errors,
//! option labels, error pages, API error messages, transport failures):
//! kept in `crates/server/texts.toml` and compiled into constants here by
//! `build.rs`, one module per table of the file (`texts::admin::KEY_REVOKED`).
//! A text with placeholders (`{name}`) is filled in with [`fill`].
//!
//! Markup and page headings live in the templates; notification texts in
//! `templates/messages/` (see `app::messages`).

use std::fmt::{Display, Write as _};

include!(concat!(env!("OUT_DIR"), "/texts.rs"));

/// `text` with each `{name}` replaced by the value given for `name`; a
/// placeholder without a value stays as written, values without a
/// placeholder are ignored, and a value's own braces are not read again.
pub fn fill(text: &str, values: &[(&str, &dyn Display)]) -> String {
    let mut out = String::with_capacity(text.len() + 16 * values.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let name = &after[..close];
            values
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (close, v))
        });
        match value {
            Some((close, v)) => {
                let _ = write!(out, "{v}");
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::fill;

    #[test]
    fn fills_named_placeholders() {
        assert_eq!(
            fill(
                "已创建账号 {name}（{n} 个角色）",
                &[("name", &"张三"), ("n", &2)]
            ),
            "已创建账号 张三（2 个角色）"
        );
    }

    #[test]
    fn a_repeated_placeholder_is_filled_everywhere() {
        assert_eq!(
            fill("{a} 至 {a}", &[("a", &"12月1日")]),
            "12月1日 至 12月1日"
        );
    }

    #[test]
    fn an_unknown_placeholder_stays_as_written() {
        assert_eq!(fill("共 {n} 次，{m}", &[("n", &3)]), "共 3 次，{m}");
        assert_eq!(fill("未闭合 {n", &[("n", &3)]), "未闭合 {n");
        assert_eq!(fill("{{n}}", &[("n", &3)]), "{3}");
    }

    #[test]
    fn text_without_placeholders_is_unchanged() {
        assert_eq!(fill("您已安全退出。", &[]), "您已安全退出。");
        assert_eq!(fill("您已安全退出。", &[("n", &1)]), "您已安全退出。");
        assert_eq!(fill("", &[]), "");
    }

    #[test]
    fn values_are_not_read_again() {
        assert_eq!(fill("{a}{b}", &[("a", &"{b}"), ("b", &"x")]), "{b}x");
    }

    #[test]
    fn generated_texts_are_constants() {
        const T: &str = super::common::LIST_SEPARATOR;
        assert_eq!(T, "、");
    }
}
