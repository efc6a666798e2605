//! The ISO 20022 admission check (issue 17): is a `POST /v1/payments/iso20022`
//! body a message QENEX admits? Parsed and schema-validated by libxml2 (here
//! natively: xmllint-wasm spends ~90 ms a call, this tens of microseconds).
//!
//! A message is either a bare `Document` in an ISO 20022 namespace, checked
//! against that namespace's XSD, or a business message: a wrapper (any name:
//! CBPR+ `Envelope`, FedNow's `FedNowIncoming`) that holds one `AppHdr` and one
//! `Document`, in either order. The wrapper is not checked against a schema;
//! the AppHdr is (head.001.001.02) and so is the Document (its namespace's),
//! and the AppHdr's MsgDefIdr must name the Document's message. A wrapper may
//! be nested in single-element wrappers (FedNow:
//! FedNowIncoming/FedNowIncomingMessage/FedNowCustomerCreditTransfer).
//!
//! Use from TypeScript (host/payments/xsd.ts):
//! ```text
//! const set = new IsoSchemaSet(); set.add(xsdBytes);   // once per XSD
//! const verdict = set.validate(body, bytesMax, depthMax, errorsMax);
//! ```
//! The verdict's errors read `line N: <reason>`; libxml2 writes nothing to stderr.

#![deny(unsafe_code)]

use napi::bindgen_prelude::BufferSlice;
use napi_derive::napi;

use crate::libxml::{self, Doc, Errors, Node, Schema};
use crate::xml_prolog;

/// Every ISO 20022 message namespace is this followed by the message
/// definition (`pacs.008.001.08`).
const ISO_NAMESPACE_PREFIX: &str = "urn:iso:std:iso:20022:tech:xsd:";
/// Header (AppHdr) definitions begin so: head.001.001.02.
const HEADER_DEFINITION_PREFIX: &str = "head.";
/// Single-element wrappers allowed above the one that holds AppHdr and
/// Document: FedNow uses two (FedNowIncoming, FedNowIncomingMessage); four
/// leaves room for another network's framing without walking far.
const WRAPPER_LEVELS_MAX: usize = 4;
/// What libxml2 says when a document nests past its own limit (256).
const LIBXML_DEPTH_MESSAGE: &str = "Excessive depth in document";

/// The result of one validation. `ok` is true exactly when `errors` is empty.
#[napi(object)]
pub struct IsoVerdict {
    pub ok: bool,
    /// The Document's message definition, e.g. pacs.008.001.08, once its namespace is known.
    pub definition: Option<String>,
    pub document_namespace: Option<String>,
    /// Whether AppHdr and Document came in a wrapper.
    pub wrapped: bool,
    pub header_namespace: Option<String>,
    /// At most the asked number, then one line counting the rest.
    pub errors: Vec<String>,
}

/// The XSDs a front end admits, keyed by target namespace. Compiled once,
/// then only read; each validation makes its own libxml2 contexts.
#[napi]
pub struct IsoSchemaSet {
    schemas: Vec<(String, Schema)>,
}

enum Shape<'d> {
    Bare(Node<'d>),
    Wrapped { header: Node<'d>, document: Node<'d> },
}

#[napi]
impl IsoSchemaSet {
    /// Throws when libxml2 cannot be loaded on this machine (the rest of the addon works without it).
    #[napi(constructor)]
    pub fn new() -> napi::Result<Self> {
        libxml::init().map_err(napi::Error::from_reason)?;
        Ok(IsoSchemaSet { schemas: Vec::new() })
    }

    /// Compiles the XSD in `xsd` and returns its target namespace. Refuses
    /// a schema without one, a namespace already loaded, and an XSD with a
    /// DOCTYPE (schemas get the same byte checks as messages).
    #[napi]
    pub fn add(&mut self, xsd: BufferSlice) -> napi::Result<String> {
        let refuse = |why: String| napi::Error::from_reason(format!("IsoSchemaSet.add: {why}"));
        xml_prolog::precheck(&xsd, i32::MAX as usize).map_err(|(line, why)| refuse(format!("line {line}: {why}")))?;
        let errors = Errors::new(8);
        let Some(schema) = Schema::parse(&xsd, &errors) else {
            return Err(refuse(format!("not a schema: {}", errors.into_lines().join("; "))));
        };
        let namespace = schema.target_namespace().ok_or_else(|| refuse("a schema without a targetNamespace".into()))?;
        if self.schema(&namespace).is_some() {
            return Err(refuse(format!("{namespace} is already loaded")));
        }
        self.schemas.push((namespace.clone(), schema));
        Ok(namespace)
    }

    /// The target namespaces loaded, in the order they were added.
    #[napi]
    pub fn namespaces(&self) -> Vec<String> {
        self.schemas.iter().map(|(namespace, _)| namespace.clone()).collect()
    }

    /// Checks one message; never throws for anything the message does.
    #[napi]
    pub fn validate(&self, message: BufferSlice, bytes_max: u32, depth_max: u32, errors_max: u32) -> IsoVerdict {
        let mut verdict = IsoVerdict {
            ok: false,
            definition: None,
            document_namespace: None,
            wrapped: false,
            header_namespace: None,
            errors: Vec::new(),
        };
        let errors = Errors::new(errors_max.max(1) as usize);
        self.check(&message, bytes_max as usize, depth_max, &errors, &mut verdict);
        verdict.ok = errors.count() == 0;
        verdict.errors = errors.into_lines().into_iter().map(|line| name_depth_refusal(line, depth_max)).collect();
        assert_eq!(verdict.ok, verdict.errors.is_empty(), "a verdict is ok exactly when it has no errors");
        verdict
    }
}

impl IsoSchemaSet {
    fn schema(&self, namespace: &str) -> Option<&Schema> {
        self.schemas.iter().find(|(loaded, _)| loaded == namespace).map(|(_, schema)| schema)
    }

    fn check(&self, bytes: &[u8], bytes_max: usize, depth_max: u32, errors: &Errors, verdict: &mut IsoVerdict) {
        if let Err((line, why)) = xml_prolog::precheck(bytes, bytes_max) {
            return errors.push(line, &why);
        }
        let Some(doc) = Doc::parse(bytes, errors) else { return };
        if doc.has_dtd() {
            // The prolog check refuses every DOCTYPE first; this is the second line.
            return errors.push(0, "a DOCTYPE declaration: DTDs and entities are refused");
        }
        let root = doc.root().expect("a well-formed document has a root element");
        if let Some(deep) = root.deeper_than(depth_max) {
            return errors.push(deep.line(), &format!("<{}> nested deeper than {depth_max} elements", deep.name()));
        }
        match shape_of(root) {
            Err((line, why)) => errors.push(line, &why),
            Ok(Shape::Bare(document)) => {
                if let Some(schema) = self.document_schema(document, errors, verdict) {
                    schema.validate_doc(&doc, errors);
                }
            }
            Ok(Shape::Wrapped { header, document }) => {
                verdict.wrapped = true;
                if let Some(schema) = self.document_schema(document, errors, verdict) {
                    schema.validate_element(document, errors);
                }
                self.check_header(header, errors, verdict);
            }
        }
    }

    /// The Document's schema, noting its namespace and definition; None,
    /// with the reason, when there is none.
    fn document_schema(&self, document: Node<'_>, errors: &Errors, verdict: &mut IsoVerdict) -> Option<&Schema> {
        let namespace = document.namespace();
        verdict.document_namespace = namespace.clone();
        let definition = iso_definition(document, errors)?;
        verdict.definition = Some(definition.clone());
        if definition.starts_with(HEADER_DEFINITION_PREFIX) {
            errors.push(document.line(), &format!("a Document in the header namespace {definition}"));
            return None;
        }
        self.loaded(document, namespace.as_deref()?, &definition, errors)
    }

    fn check_header(&self, header: Node<'_>, errors: &Errors, verdict: &mut IsoVerdict) {
        let namespace = header.namespace();
        verdict.header_namespace = namespace.clone();
        let Some(definition) = iso_definition(header, errors) else { return };
        if !definition.starts_with(HEADER_DEFINITION_PREFIX) {
            return errors.push(header.line(), &format!("an AppHdr in the namespace of {definition}, not a head.* one"));
        }
        let Some(schema) = self.loaded(header, namespace.as_deref().unwrap_or(""), &definition, errors) else { return };
        schema.validate_element(header, errors);
        let (Some(named), Some(document)) = (header.element_children().find(|c| c.name() == "MsgDefIdr"), &verdict.definition) else {
            return; // the schema requires MsgDefIdr and has said so
        };
        if named.text().trim() != document {
            errors.push(named.line(), &format!("AppHdr MsgDefIdr {:?} does not name the Document's message {document}", named.text().trim()));
        }
    }

    fn loaded(&self, element: Node<'_>, namespace: &str, definition: &str, errors: &Errors) -> Option<&Schema> {
        let schema = self.schema(namespace);
        if schema.is_none() {
            let admitted: Vec<&str> = self.schemas.iter().map(|(ns, _)| ns.strip_prefix(ISO_NAMESPACE_PREFIX).unwrap_or(ns)).collect();
            errors.push(element.line(), &format!("no schema for {namespace}: {definition} is not admitted (admitted: {})", admitted.join(", ")));
        }
        schema
    }
}

/// The message definition of an ISO 20022 element's namespace; None, with
/// the reason, for another namespace or none.
fn iso_definition(element: Node<'_>, errors: &Errors) -> Option<String> {
    let name = element.name();
    let Some(namespace) = element.namespace() else {
        errors.push(element.line(), &format!("<{name}> has no namespace: ISO 20022 elements are in {ISO_NAMESPACE_PREFIX}<message>"));
        return None;
    };
    match namespace.strip_prefix(ISO_NAMESPACE_PREFIX) {
        Some(definition) if !definition.is_empty() => Some(definition.to_string()),
        _ => {
            errors.push(element.line(), &format!("<{name}> is in namespace {namespace}, not an ISO 20022 one ({ISO_NAMESPACE_PREFIX}<message>)"));
            None
        }
    }
}

/// Where AppHdr and Document are: the root itself, or inside wrappers.
fn shape_of(root: Node<'_>) -> Result<Shape<'_>, (u32, String)> {
    if root.name() == "Document" {
        return Ok(Shape::Bare(root));
    }
    let mut wrapper = root;
    for _ in 0..=WRAPPER_LEVELS_MAX {
        // Three are enough to tell every shape apart; a wrapper of thousands is not walked.
        let children: Vec<Node<'_>> = wrapper.element_children().take(3).collect();
        let names: Vec<String> = children.iter().map(|c| c.name()).collect();
        let (at, what) = (wrapper.line(), format!("<{}>", wrapper.name()));
        match names.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            [only] if only != "AppHdr" && only != "Document" => wrapper = children[0],
            ["AppHdr", "Document"] => return Ok(Shape::Wrapped { header: children[0], document: children[1] }),
            ["Document", "AppHdr"] => return Ok(Shape::Wrapped { header: children[1], document: children[0] }),
            [] => return Err((at, format!("{what} is neither a Document nor a wrapper of AppHdr and Document"))),
            [only] => return Err((at, format!("{what} holds a lone {only}: a wrapper holds one AppHdr and one Document"))),
            [first, second] => {
                return Err((at, format!("{what} holds <{first}> and <{second}>: a wrapper holds one AppHdr and one Document")))
            }
            _ => return Err((at, format!("{what} has more than two element children: a wrapper holds one AppHdr and one Document"))),
        }
    }
    Err((root.line(), format!("<{}> wraps its AppHdr and Document more than {WRAPPER_LEVELS_MAX} levels deep", root.name())))
}

/// libxml2's own depth refusal, said as ours (it mentions a parser option).
fn name_depth_refusal(line: String, depth_max: u32) -> String {
    if !line.contains(LIBXML_DEPTH_MESSAGE) {
        return line;
    }
    let at = line.split(':').next().filter(|p| p.starts_with("line ")).map(|p| format!("{p}: ")).unwrap_or_default();
    format!("{at}elements nested deeper than {depth_max} (the parser stopped at its own limit)")
}
