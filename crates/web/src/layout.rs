//! The shared page layout lives in `caducee_core::html` so that every component rendering
//! pages (idp, portals) uses the same one; re-exported here for the web crate's own pages.

pub use caducee_core::html::{escape, page};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert!(page("<t>", "").contains("<title>&lt;t&gt; — caducee</title>"));
    }
}
