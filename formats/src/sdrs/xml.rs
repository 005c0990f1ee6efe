//! Reading an SDRS document: parsing with no DTD and a node limit, and elements that know
//! their XPath-like path for errors.

use roxmltree::{Document, Node, ParsingOptions};

use crate::decimal::{decimal, minor_units, Decimal};
use crate::error::{bad_value, unsupported, FormatCode, FormatError};
use crate::MAX_XML_NODES;

/// The ARTS (NRF IXRetail) namespace of DigitalReceiptV2.0.0.xsd.
pub(crate) const ARTS: &str = "http://www.nrf-arts.org/IXRetail/namespace/";
/// The namespace of the Swedish extension, SweArtsDR200ExtV1.0.0.xsd.
pub(crate) const SE: &str = "http://www.sweretailstandard.se/schemas/namespace/se";

/// Parses `text` as XML. A document type declaration is refused (roxmltree's default):
/// so no entity is ever declared, expanded or fetched (no XXE, no "billion laughs"), and
/// only XML's five predefined entities and character references are read. More than
/// [`MAX_XML_NODES`] nodes is refused while parsing.
pub(crate) fn parse(text: &str) -> Result<Document<'_>, FormatError> {
    let options =
        ParsingOptions { allow_dtd: false, nodes_limit: MAX_XML_NODES, ..ParsingOptions::default() };
    Document::parse_with_options(text, options)
        .map_err(|error| FormatError::new(FormatCode::Syntax, "", format!("not well-formed XML: {error}")))
}

/// An element of the document.
#[derive(Clone, Copy, Debug)]
pub(crate) struct El<'a, 'input>(pub Node<'a, 'input>);

impl<'a, 'input> El<'a, 'input> {
    /// Whether the element is `name` in namespace `namespace`.
    pub(crate) fn is(self, namespace: &str, name: &str) -> bool {
        self.0.tag_name().namespace() == Some(namespace) && self.0.tag_name().name() == name
    }

    /// The child elements `name` in `namespace`, in document order.
    pub(crate) fn children(
        self,
        namespace: &'static str,
        name: &'static str,
    ) -> impl Iterator<Item = El<'a, 'input>> {
        self.0.children().filter(Node::is_element).map(El).filter(move |child| child.is(namespace, name))
    }

    /// Every child element.
    pub(crate) fn elements(self) -> impl Iterator<Item = El<'a, 'input>> {
        self.0.children().filter(Node::is_element).map(El)
    }

    /// The first child element `name` in `namespace`.
    pub(crate) fn child(self, namespace: &'static str, name: &'static str) -> Option<El<'a, 'input>> {
        self.children(namespace, name).next()
    }

    /// The element's own text, surrounding white space dropped.
    pub(crate) fn text(self) -> &'a str {
        self.0.text().unwrap_or_default().trim()
    }

    /// The attribute `name` (no namespace), trimmed.
    pub(crate) fn attr(self, name: &str) -> Option<&'a str> {
        self.0.attribute(name).map(str::trim)
    }

    /// The attribute `name` in `namespace`, trimmed.
    pub(crate) fn attr_in(self, namespace: &str, name: &str) -> Option<&'a str> {
        self.0.attribute((namespace, name)).map(str::trim)
    }

    /// The element's path: `/DigitalReceipt/Transaction/RetailTransaction/LineItem[3]`,
    /// an index (from 1) only where the parent has several such elements.
    pub(crate) fn path(self) -> String {
        let mut steps: Vec<String> = self
            .0
            .ancestors()
            .filter(Node::is_element)
            .map(|node| {
                let name = qualified_name(node);
                let same = |other: &Node<'_, '_>| other.is_element() && other.tag_name() == node.tag_name();
                let before = node.prev_siblings().skip(1).filter(same).count();
                let after = node.next_siblings().skip(1).filter(same).count();
                if before + after == 0 {
                    name
                } else {
                    format!("{name}[{}]", before + 1)
                }
            })
            .collect();
        steps.reverse();
        format!("/{}", steps.join("/"))
    }

    /// The path of this element's child `name` in `namespace` (which may be absent).
    pub(crate) fn child_path(self, namespace: &str, name: &str) -> String {
        let prefix = if namespace == SE { "se:" } else { "" };
        format!("{}/{prefix}{name}", self.path())
    }

    /// The path of this element's attribute `name`.
    pub(crate) fn attr_path(self, name: &str) -> String {
        format!("{}/@{name}", self.path())
    }

    /// The element's text as a decimal number, or `format.value` at its path.
    pub(crate) fn decimal(self) -> Result<Decimal, FormatError> {
        decimal(&self.path(), self.text())
    }

    /// The element's text as an amount of `currency` in minor units (an amount element's
    /// `Currency` or `CurrencyCode` attribute, if any, must name the same currency).
    pub(crate) fn amount(self, currency: &str) -> Result<i64, FormatError> {
        for attribute in ["Currency", "CurrencyCode"] {
            if let Some(own) = self.attr(attribute).filter(|own| !own.eq_ignore_ascii_case(currency)) {
                return Err(unsupported(
                    self.attr_path(attribute),
                    format!("an amount in {own} on a receipt in {currency}: one currency a receipt"),
                ));
            }
        }
        let value = self.decimal()?;
        if value.is_negative() {
            return Err(bad_value(
                self.path(),
                "an ARTS amount is not negative: a return says so by its element",
            ));
        }
        minor_units(&self.path(), value, currency)
    }

    /// Whether a flag attribute (`VoidFlag`, `se:copy`) says true (`true` or `1`).
    pub(crate) fn flag(value: Option<&str>) -> bool {
        matches!(value, Some("true" | "1"))
    }
}

/// `se:` + the name for the Swedish extension, the bare name otherwise.
fn qualified_name(node: Node<'_, '_>) -> String {
    let name = node.tag_name().name();
    if node.tag_name().namespace() == Some(SE) {
        format!("se:{name}")
    } else {
        name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_index_only_repeated_elements() {
        let text = format!(
            r#"<r:DigitalReceipt xmlns:r="{ARTS}" xmlns:se="{SE}"><r:T><r:L/><r:L><r:A X="1"/></r:L><se:C/></r:T></r:DigitalReceipt>"#
        );
        let document = parse(&text).unwrap();
        let root = El(document.root_element());
        let transaction = root.child(ARTS, "T").unwrap();
        let second = transaction.children(ARTS, "L").nth(1).unwrap();
        assert_eq!(second.path(), "/DigitalReceipt/T/L[2]");
        assert_eq!(second.child(ARTS, "A").unwrap().attr_path("X"), "/DigitalReceipt/T/L[2]/A/@X");
        assert_eq!(transaction.child(SE, "C").unwrap().path(), "/DigitalReceipt/T/se:C");
        assert_eq!(transaction.child_path(SE, "ControlUnit"), "/DigitalReceipt/T/se:ControlUnit");
    }

    #[test]
    fn no_dtd_is_read() {
        for hostile in [
            "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>",
            "<!DOCTYPE r [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]><r>&b;</r>",
            "<!DOCTYPE r SYSTEM \"http://example.invalid/r.dtd\"><r/>",
        ] {
            let error = parse(hostile).unwrap_err();
            assert_eq!(error.code(), FormatCode::Syntax, "{hostile}");
            assert!(error.detail().contains("DTD"), "{}", error.detail());
        }
        let undeclared = parse("<r>&x;</r>").unwrap_err();
        assert_eq!(undeclared.code(), FormatCode::Syntax);
    }

    #[test]
    fn nodes_are_limited_at_the_edge() {
        // The root element is one node, the document node another, each <a/> one more.
        let nodes = |count: u32| format!("<r>{}</r>", "<a/>".repeat(usize::try_from(count).unwrap()));
        assert!(parse(&nodes(MAX_XML_NODES - 2)).is_ok());
        let error = parse(&nodes(MAX_XML_NODES - 1)).unwrap_err();
        assert!(error.detail().contains("nodes limit"), "{}", error.detail());
    }
}
