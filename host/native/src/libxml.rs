//! libxml2, the one module of the addon that calls it: the few C functions
//! the ISO 20022 admission check (xml.rs) needs, declared by hand, and safe
//! owners for what they return (a parsed document, a compiled schema). Every
//! `unsafe` block of the XML work is here; xml.rs never sees a raw pointer.
//!
//! The parser never reads a file or the network for a message: documents are
//! parsed from memory with XML_PARSE_NONET and without NOENT, DTDLOAD or
//! DTDATTR, and the external entity loader refuses every URL, so even a
//! DOCTYPE that slipped past the callers' checks could load nothing.
//!
//! Errors never reach stderr. While a `Capture` lives, libxml2's structured
//! and generic error handlers of the calling thread (libxml2 keeps them per
//! thread) point at its `Errors`; when it ends they point at a handler that
//! drops everything. Nothing else is global beyond libxml2's own init, so
//! two schema sets never share state.
//!
//! We read a few fields of xmlDoc, xmlNode, xmlNs, xmlError and xmlSchema
//! through `#[repr(C)]` prefixes of libxml2's public structs (stable across
//! 2.x); `init` checks those offsets against libxml2's own accessors once and
//! refuses to run if they disagree.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_long, c_void, CStr};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};
use std::sync::{Once, OnceLock};

// ---- libxml2's structs, the prefixes we read ----

const XML_ELEMENT_NODE: c_int = 1;
const XML_TEXT_NODE: c_int = 3;
const XML_CDATA_SECTION_NODE: c_int = 4;
/// xmlErrorLevel: XML_ERR_ERROR; warnings (1) are not refusals.
const XML_ERR_LEVEL_ERROR: c_int = 2;

// XML_PARSE_NONET (never the network), XML_PARSE_BIG_LINES (line numbers
// past 65535 stay right). Absent on purpose: NOENT (substitute entities),
// DTDLOAD, DTDATTR, DTDVALID, XINCLUDE, HUGE (keeps libxml2's own limits).
const PARSE_OPTIONS: c_int = (1 << 11) | (1 << 22);

#[repr(C)]
struct RawNs {
    next: *mut RawNs,
    kind: c_int,
    href: *const c_char,
}

#[repr(C)]
struct RawNode {
    private: *mut c_void,
    kind: c_int,
    name: *const c_char,
    children: *mut RawNode,
    last: *mut RawNode,
    parent: *mut RawNode,
    next: *mut RawNode,
    prev: *mut RawNode,
    doc: *mut RawDoc,
    ns: *mut RawNs,
    content: *const c_char,
}

#[repr(C)]
struct RawDoc {
    private: *mut c_void,
    kind: c_int,
    name: *const c_char,
    children: *mut RawNode,
    last: *mut RawNode,
    parent: *mut RawNode,
    next: *mut RawNode,
    prev: *mut RawNode,
    doc: *mut RawDoc,
    compression: c_int,
    standalone: c_int,
    int_subset: *mut c_void,
    ext_subset: *mut c_void,
}

#[repr(C)]
struct RawError {
    domain: c_int,
    code: c_int,
    message: *const c_char,
    level: c_int,
    file: *const c_char,
    line: c_int,
}

#[repr(C)]
struct RawSchema {
    name: *const c_char,
    target_namespace: *const c_char,
}

type StructuredErrorFn = unsafe extern "C" fn(*mut c_void, *const RawError);
type EntityLoaderFn = unsafe extern "C" fn(*const c_char, *const c_char, *mut c_void) -> *mut c_void;

// libxml2 is loaded when the first schema set is made (`init`), not linked:
// the addon's other devices (block storage, the HSM, hashing) must load on a
// machine without libxml2 (a board, the test VM), where only the ISO 20022
// admission check is missing, and says so. Each function below calls the
// symbol of the same name in the loaded library.
macro_rules! libxml2_api {
    ($( fn $name:ident ( $($arg:ident : $ty:ty),* ) $( -> $ret:ty )?; )*) => {
        #[allow(non_snake_case)]
        struct Api { $( $name: unsafe extern "C" fn($($ty),*) $(-> $ret)?, )* }

        fn resolve(lib: &'static libloading::Library) -> Result<Api, String> {
            Ok(Api { $( $name: unsafe {
                *lib.get::<unsafe extern "C" fn($($ty),*) $(-> $ret)?>(concat!(stringify!($name), "\0").as_bytes())
                    .map_err(|e| format!("libxml2 has no {}: {e}", stringify!($name)))?
            }, )* })
        }

        $( #[allow(non_snake_case)] unsafe fn $name($($arg: $ty),*) $(-> $ret)? { (api().$name)($($arg),*) } )*
    };
}

libxml2_api! {
    fn xmlInitParser();
    fn xmlReadMemory(buffer: *const c_char, size: c_int, url: *const c_char, encoding: *const c_char, options: c_int) -> *mut RawDoc;
    fn xmlFreeDoc(doc: *mut RawDoc);
    fn xmlDocGetRootElement(doc: *const RawDoc) -> *mut RawNode;
    fn xmlFirstElementChild(node: *mut RawNode) -> *mut RawNode;
    fn xmlGetIntSubset(doc: *const RawDoc) -> *mut c_void;
    fn xmlGetLineNo(node: *const RawNode) -> c_long;
    fn xmlSetStructuredErrorFunc(ctx: *mut c_void, handler: Option<StructuredErrorFn>);
    // The handler is `void (*)(void *, const char *, ...)`; see `quiet_generic`.
    fn xmlSetGenericErrorFunc(ctx: *mut c_void, handler: *const c_void);
    fn xmlSetExternalEntityLoader(loader: EntityLoaderFn);
    fn xmlSchemaNewMemParserCtxt(buffer: *const c_char, size: c_int) -> *mut c_void;
    fn xmlSchemaSetParserStructuredErrors(ctxt: *mut c_void, handler: Option<StructuredErrorFn>, ctx: *mut c_void);
    fn xmlSchemaParse(ctxt: *mut c_void) -> *mut RawSchema;
    fn xmlSchemaFreeParserCtxt(ctxt: *mut c_void);
    fn xmlSchemaFree(schema: *mut RawSchema);
    fn xmlSchemaNewValidCtxt(schema: *mut RawSchema) -> *mut c_void;
    fn xmlSchemaSetValidStructuredErrors(ctxt: *mut c_void, handler: Option<StructuredErrorFn>, ctx: *mut c_void);
    fn xmlSchemaValidateDoc(ctxt: *mut c_void, doc: *mut RawDoc) -> c_int;
    fn xmlSchemaValidateOneElement(ctxt: *mut c_void, elem: *mut RawNode) -> c_int;
    fn xmlSchemaFreeValidCtxt(ctxt: *mut c_void);
}

/// The library's file names, most specific first.
const LIBRARY_NAMES: &[&str] = if cfg!(target_os = "macos") {
    &["libxml2.2.dylib", "libxml2.dylib"]
} else if cfg!(windows) {
    &["libxml2-2.dll", "libxml2.dll"]
} else {
    &["libxml2.so.2", "libxml2.so"]
};

static API: OnceLock<Result<Api, String>> = OnceLock::new();

fn load() -> Result<Api, String> {
    let lib = LIBRARY_NAMES
        .iter()
        .find_map(|name| unsafe { libloading::Library::new(name) }.ok())
        .ok_or_else(|| format!("libxml2 is not installed here (looked for {}); the ISO 20022 admission check needs it (Debian: libxml2)", LIBRARY_NAMES.join(", ")))?;
    // Kept for the life of the process: the functions above point into it.
    resolve(Box::leak(Box::new(lib)))
}

/// The loaded library; only after `init` succeeded (every caller of the functions above comes after it).
fn api() -> &'static Api {
    match API.get() {
        Some(Ok(api)) => api,
        _ => panic!("libxml2 used before init loaded it"),
    }
}

// ---- errors ----

/// The errors of one operation, in order: libxml2's (through `Capture`) and
/// the caller's own. Keeps the first `kept_max`, counts the rest.
pub struct Errors {
    inner: RefCell<ErrorList>,
}

struct ErrorList {
    kept: Vec<String>,
    dropped: u32,
    kept_max: usize,
}

impl Errors {
    pub fn new(kept_max: usize) -> Errors {
        assert!(kept_max >= 1, "an error list keeps at least one error");
        Errors { inner: RefCell::new(ErrorList { kept: Vec::new(), dropped: 0, kept_max }) }
    }

    /// Adds `message` at `line` (0: no line known).
    pub fn push(&self, line: u32, message: &str) {
        let mut list = self.inner.borrow_mut();
        if list.kept.len() >= list.kept_max {
            list.dropped = list.dropped.saturating_add(1);
            return;
        }
        let text = tidy_message(message);
        list.kept.push(if line > 0 { format!("line {line}: {text}") } else { text });
    }

    /// Errors so far, the dropped ones included.
    pub fn count(&self) -> usize {
        let list = self.inner.borrow();
        list.kept.len() + list.dropped as usize
    }

    /// The kept errors, then one line saying how many more there were.
    pub fn into_lines(self) -> Vec<String> {
        let list = self.inner.into_inner();
        let mut lines = list.kept;
        if list.dropped > 0 {
            lines.push(format!("... and {} more errors", list.dropped));
        }
        lines
    }
}

/// One line, and schema messages' `{urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08}Nm`
/// shortened to `{pacs.008.001.08}Nm`: the long prefix is the same in every
/// ISO name and buries the part that differs.
fn tidy_message(message: &str) -> String {
    message.trim_end().replace('\n', " ").replace("{urn:iso:std:iso:20022:tech:xsd:", "{")
}

unsafe extern "C" fn collect(ctx: *mut c_void, error: *const RawError) {
    // No panic may cross into C: every step here is infallible but the
    // RefCell borrow, which is never held while libxml2 runs.
    if ctx.is_null() || error.is_null() {
        return;
    }
    let (errors, error) = unsafe { (&*(ctx as *const Errors), &*error) };
    if error.level < XML_ERR_LEVEL_ERROR {
        return;
    }
    let message = if error.message.is_null() {
        format!("libxml2 error {} (domain {})", error.code, error.domain)
    } else {
        unsafe { CStr::from_ptr(error.message) }.to_string_lossy().into_owned()
    };
    errors.push(error.line.max(0) as u32, &message);
}

unsafe extern "C" fn drop_structured(_ctx: *mut c_void, _error: *const RawError) {}

// libxml2 calls the generic handler as a C variadic function. This one takes
// only the fixed arguments and ignores them: calling a non-variadic function
// through a variadic pointer is how every C caller of such handlers works on
// the ABIs Node runs on (System V x86-64, AAPCS64, Windows x64), and Rust
// cannot define variadic functions on stable. It drops what it is given:
// with a structured handler set, libxml2 reports errors through that one.
unsafe extern "C" fn quiet_generic(_ctx: *mut c_void, _message: *const c_char) {}

thread_local! {
    // Whether a Capture is live on this thread: they do not nest, since the
    // inner one's end would silence the outer one's errors.
    static CAPTURING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Points the calling thread's libxml2 error handlers at `errors` until
/// dropped. One at a time per thread.
pub struct Capture<'e> {
    _errors: PhantomData<&'e Errors>,
}

impl<'e> Capture<'e> {
    pub fn new(errors: &'e Errors) -> Capture<'e> {
        assert!(!CAPTURING.replace(true), "libxml2 error captures do not nest");
        let ctx = Self::ctx(errors);
        unsafe {
            xmlSetStructuredErrorFunc(ctx, Some(collect));
            xmlSetGenericErrorFunc(ctx, quiet_generic as *const c_void);
        }
        Capture { _errors: PhantomData }
    }

    fn ctx(errors: &Errors) -> *mut c_void {
        errors as *const Errors as *mut c_void
    }
}

impl Drop for Capture<'_> {
    fn drop(&mut self) {
        // Never leave a pointer to an `Errors` that is about to go away.
        unsafe {
            xmlSetStructuredErrorFunc(ptr::null_mut(), Some(drop_structured));
            xmlSetGenericErrorFunc(ptr::null_mut(), quiet_generic as *const c_void);
        }
        CAPTURING.set(false);
    }
}

// ---- init ----

unsafe extern "C" fn refuse_entity(_url: *const c_char, _id: *const c_char, _ctxt: *mut c_void) -> *mut c_void {
    ptr::null_mut()
}

static INIT: Once = Once::new();

/// Loads and initialises libxml2 once per process (xmlInitParser is not safe
/// to race) and checks the struct prefixes above against libxml2's
/// accessors; the reason when libxml2 cannot be loaded.
pub fn init() -> Result<(), String> {
    if let Err(reason) = API.get_or_init(load) {
        return Err(reason.clone());
    }
    INIT.call_once(|| {
        unsafe {
            xmlInitParser();
            xmlSetExternalEntityLoader(refuse_entity);
        }
        check_layout();
    });
    Ok(())
}

fn check_layout() {
    // A DOCTYPE here (our own bytes) so that the internal subset's offset is checked too.
    let probe = b"<!DOCTYPE a>\n<a xmlns='urn:qenex:probe'><b>t</b></a>";
    let errors = Errors::new(4);
    let doc = Doc::parse(probe, &errors).expect("libxml2 parses the layout probe");
    let raw = doc.raw.as_ptr();
    let root = doc.root().expect("the probe has a root");
    unsafe {
        assert!(xmlDocGetRootElement(raw) == root.raw.as_ptr(), "libxml2 layout: xmlDoc.children");
        assert!(!(*raw).int_subset.is_null() && xmlGetIntSubset(raw) == (*raw).int_subset, "libxml2 layout: xmlDoc.intSubset");
        assert!(xmlFirstElementChild(root.raw.as_ptr()) == (*root.raw.as_ptr()).children, "libxml2 layout: xmlNode.children");
    }
    assert_eq!((root.name(), root.namespace()), ("a".into(), Some("urn:qenex:probe".into())), "libxml2 layout: xmlNode.name, ns");
    let b = root.element_children().next().expect("the probe's b");
    assert_eq!((b.name(), b.text(), b.line()), ("b".into(), "t".into(), 2), "libxml2 layout: children, content, line");
    let broken = Errors::new(4);
    assert!(Doc::parse(b"<a>\n</b>", &broken).is_none());
    let lines = broken.into_lines();
    assert!(lines.first().is_some_and(|l| l.starts_with("line 2: ")), "libxml2 layout: xmlError, got {lines:?}");
}

// ---- documents ----

/// A parsed document; freed on drop.
pub struct Doc {
    raw: NonNull<RawDoc>,
}

impl Doc {
    /// Parses `bytes` as UTF-8 with the safe options above; None, with the
    /// reasons in `errors`, when it is not well-formed. A document libxml2
    /// returns with errors (an undeclared namespace prefix is one) is refused
    /// too: a message is namespace-well-formed or nothing.
    pub fn parse(bytes: &[u8], errors: &Errors) -> Option<Doc> {
        assert!(bytes.len() <= c_int::MAX as usize, "xmlReadMemory takes an int length");
        let before = errors.count();
        let _capture = Capture::new(errors);
        let raw = unsafe {
            xmlReadMemory(bytes.as_ptr().cast(), bytes.len() as c_int, ptr::null(), c"UTF-8".as_ptr(), PARSE_OPTIONS)
        };
        let doc = NonNull::new(raw).map(|raw| Doc { raw });
        if doc.is_some() && errors.count() > before {
            return None;
        }
        if doc.is_none() && errors.count() == before {
            errors.push(0, "not well-formed XML");
        }
        doc
    }

    /// Whether the document has a DOCTYPE: an internal or external subset.
    pub fn has_dtd(&self) -> bool {
        let raw = unsafe { self.raw.as_ref() };
        !raw.int_subset.is_null() || !raw.ext_subset.is_null()
    }

    pub fn root(&self) -> Option<Node<'_>> {
        let root = unsafe { xmlDocGetRootElement(self.raw.as_ptr()) };
        NonNull::new(root).map(|raw| Node { raw, _doc: PhantomData })
    }
}

impl Drop for Doc {
    fn drop(&mut self) {
        unsafe { xmlFreeDoc(self.raw.as_ptr()) }
    }
}

/// An element of a `Doc`, valid while the document lives.
#[derive(Clone, Copy)]
pub struct Node<'d> {
    raw: NonNull<RawNode>,
    _doc: PhantomData<&'d Doc>,
}

fn string_of(text: *const c_char) -> Option<String> {
    (!text.is_null()).then(|| unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned())
}

impl<'d> Node<'d> {
    fn of(raw: *mut RawNode) -> Option<Node<'d>> {
        NonNull::new(raw).map(|raw| Node { raw, _doc: PhantomData })
    }

    fn fields(&self) -> &RawNode {
        unsafe { self.raw.as_ref() }
    }

    /// The local name.
    pub fn name(&self) -> String {
        string_of(self.fields().name).unwrap_or_default()
    }

    /// The namespace URI, None for none.
    pub fn namespace(&self) -> Option<String> {
        let ns = self.fields().ns;
        if ns.is_null() {
            return None;
        }
        string_of(unsafe { (*ns).href })
    }

    pub fn line(&self) -> u32 {
        let line = unsafe { xmlGetLineNo(self.raw.as_ptr()) };
        u32::try_from(line).unwrap_or(0)
    }

    /// The element children, in order.
    pub fn element_children(&self) -> impl Iterator<Item = Node<'d>> {
        let mut at = self.fields().children;
        std::iter::from_fn(move || {
            while let Some(node) = Node::of(at) {
                at = node.fields().next;
                if node.fields().kind == XML_ELEMENT_NODE {
                    return Some(node);
                }
            }
            None
        })
    }

    /// The text and CDATA children, joined (not those of descendants).
    pub fn text(&self) -> String {
        let mut text = String::new();
        let mut at = self.fields().children;
        while let Some(node) = Node::of(at) {
            let kind = node.fields().kind;
            if kind == XML_TEXT_NODE || kind == XML_CDATA_SECTION_NODE {
                text.push_str(&string_of(node.fields().content).unwrap_or_default());
            }
            at = node.fields().next;
        }
        text
    }

    /// The first element nested deeper than `depth_max` (this node at depth
    /// 1), in document order. Iterative, so a deep document cannot overflow
    /// the stack; each node is visited once.
    pub fn deeper_than(&self, depth_max: u32) -> Option<Node<'d>> {
        let top = self.raw.as_ptr();
        let mut node = *self;
        let mut depth: u32 = 1;
        loop {
            if depth > depth_max {
                return Some(node);
            }
            if let Some(child) = node.element_children().next() {
                node = child;
                depth += 1;
                continue;
            }
            loop {
                if node.raw.as_ptr() == top {
                    return None;
                }
                if let Some(next) = Node::of(node.fields().next).and_then(|n| n.next_element_or_self()) {
                    node = next;
                    break;
                }
                node = Node::of(node.fields().parent).expect("a nested element has a parent");
                depth -= 1;
            }
        }
    }

    /// This node if it is an element, else its next element sibling.
    fn next_element_or_self(self) -> Option<Node<'d>> {
        let mut at = Some(self);
        while let Some(node) = at {
            if node.fields().kind == XML_ELEMENT_NODE {
                return Some(node);
            }
            at = Node::of(node.fields().next);
        }
        None
    }
}

// ---- schemas ----

/// A compiled XSD; freed on drop. Only read while validating, and a
/// validation context of its own is made per validation.
pub struct Schema {
    raw: NonNull<RawSchema>,
}

impl Schema {
    /// Compiles the XSD in `bytes`; None when libxml2 refuses it (the reasons
    /// are in `errors`).
    pub fn parse(bytes: &[u8], errors: &Errors) -> Option<Schema> {
        assert!(bytes.len() <= c_int::MAX as usize, "an XSD fits an int length");
        let _capture = Capture::new(errors);
        let ctx = Capture::ctx(errors);
        unsafe {
            let parser = xmlSchemaNewMemParserCtxt(bytes.as_ptr().cast(), bytes.len() as c_int);
            if parser.is_null() {
                return None;
            }
            xmlSchemaSetParserStructuredErrors(parser, Some(collect), ctx);
            let raw = xmlSchemaParse(parser);
            xmlSchemaFreeParserCtxt(parser);
            NonNull::new(raw).map(|raw| Schema { raw })
        }
    }

    /// The schema's targetNamespace, None for a schema without one.
    pub fn target_namespace(&self) -> Option<String> {
        string_of(unsafe { self.raw.as_ref() }.target_namespace)
    }

    /// Validates the whole of `doc`; false with the reasons in `errors`.
    pub fn validate_doc(&self, doc: &Doc, errors: &Errors) -> bool {
        self.with_context(errors, |ctxt| unsafe { xmlSchemaValidateDoc(ctxt, doc.raw.as_ptr()) })
    }

    /// Validates the subtree of `element` against this schema's global
    /// element of the same name; false with the reasons in `errors`.
    pub fn validate_element(&self, element: Node<'_>, errors: &Errors) -> bool {
        self.with_context(errors, |ctxt| unsafe { xmlSchemaValidateOneElement(ctxt, element.raw.as_ptr()) })
    }

    fn with_context(&self, errors: &Errors, run: impl FnOnce(*mut c_void) -> c_int) -> bool {
        let before = errors.count();
        let _capture = Capture::new(errors);
        let ctxt = unsafe { xmlSchemaNewValidCtxt(self.raw.as_ptr()) };
        if ctxt.is_null() {
            errors.push(0, "libxml2 could not make a validation context (out of memory?)");
            return false;
        }
        unsafe { xmlSchemaSetValidStructuredErrors(ctxt, Some(collect), Capture::ctx(errors)) };
        let rc = run(ctxt);
        unsafe { xmlSchemaFreeValidCtxt(ctxt) };
        if rc < 0 {
            errors.push(0, &format!("libxml2 failed while validating (internal error {rc})"));
        } else if rc > 0 && errors.count() == before {
            errors.push(0, &format!("not valid (libxml2 error {rc})"));
        }
        rc == 0
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        unsafe { xmlSchemaFree(self.raw.as_ptr()) }
    }
}
