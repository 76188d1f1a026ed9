//! Official documents as A4 PDFs (附表2/3/4, the acceptance receipt, the
//! completion notice), typeset by Typst from a [`Document`]: a title, a
//! list of blocks (label/value grids, tables, numbered lists, paragraphs,
//! signature and seal areas) and the verification line printed on every
//! page. One template (`templates/document.typ`) draws every kind, so the
//! layout is the same everywhere; what a kind shows is decided by whoever
//! builds its `Document` (the server's `app::documents`).
//!
//! The fonts are embedded (Noto Serif CJK SC for the text, Noto Sans CJK SC
//! Bold for titles and labels, both cut to GB 2312; see `fonts/subset.py`),
//! so a PDF looks the same on every machine. Extra font files may be added
//! for characters outside that set ([`Renderer::with_extra_fonts`]).
//!
//! The data is handed to Typst as a JSON file the template reads: strings
//! are set as text and never evaluated, whatever they contain.

use serde::Serialize;
use std::sync::Arc;
use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

const TEMPLATE: &str = include_str!("../templates/document.typ");
const SERIF: &[u8] = include_bytes!("../fonts/NotoSerifSC-Regular-GB2312.otf");
const SANS_BOLD: &[u8] = include_bytes!("../fonts/NotoSansSC-Bold-GB2312.otf");

/// One document to typeset.
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    /// The title at the top (e.g. 随州市用户水电气网暖需求信息采集单).
    pub title: String,
    /// A line under the title (e.g. 附表2 · 申请编号 LB…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    /// Who issues it (the PDF's author).
    pub issuer: String,
    /// The date of issue (the PDF's date).
    pub issued: Ymd,
    pub verification: Verification,
    pub blocks: Vec<Block>,
}

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ymd {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

/// The line on every page that lets a printed copy be checked.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// The document's number.
    pub number: String,
    /// The check code (a digest of the document's content).
    pub hash: String,
    /// Where to check it.
    pub url: String,
}

/// One block of the body, top to bottom.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// A numbered or plain section heading.
    Heading {
        text: String,
    },
    /// A form grid of four columns (label, value, label, value); a cell
    /// may span several.
    Grid {
        rows: Vec<Vec<Cell>>,
    },
    /// A table with a header row; `widths` are relative column widths.
    Table {
        header: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        widths: Option<Vec<f32>>,
        rows: Vec<Vec<String>>,
    },
    /// A numbered list.
    List {
        items: Vec<String>,
    },
    Paragraph {
        text: String,
    },
    /// Small print.
    Note {
        text: String,
    },
    /// Signature (and seal) areas side by side.
    Signatures {
        signatures: Vec<Signature>,
    },
    /// Vertical space.
    Space,
}

/// One cell of a [`Block::Grid`].
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub text: String,
    pub label: bool,
    pub span: u8,
}

impl Cell {
    pub fn label(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            label: true,
            span: 1,
        }
    }

    pub fn value(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            label: false,
            span: 1,
        }
    }

    /// The cell spanning `n` columns.
    pub fn span(mut self, n: u8) -> Self {
        self.span = n.clamp(1, 4);
        self
    }
}

/// One signature area: a label above a box (with the signer's name when
/// signed electronically, and where the seal goes) and a date under it.
#[derive(Debug, Clone, Serialize)]
pub struct Signature {
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A hint in the box's corner (e.g. （盖章）).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the document could not be typeset: {0}")]
    Typeset(String),
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
    #[error("the document's data could not be serialised: {0}")]
    Data(#[from] serde_json::Error),
}

/// The typesetter: fonts and the standard library loaded once, shared by
/// every render (cheap to clone).
#[derive(Clone)]
pub struct Renderer {
    inner: Arc<Inner>,
}

struct Inner {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    main: FileId,
    data: FileId,
    template: Source,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer {
    /// With the embedded fonts only.
    pub fn new() -> Self {
        Self::with_extra_fonts(Vec::new())
    }

    /// With the embedded fonts, then these font files (OpenType, TrueType
    /// or collections) for characters the embedded ones lack.
    pub fn with_extra_fonts(extra: Vec<Vec<u8>>) -> Self {
        let mut fonts: Vec<Font> = Vec::new();
        for data in [SERIF.to_vec(), SANS_BOLD.to_vec()]
            .into_iter()
            .chain(extra)
        {
            fonts.extend(Font::iter(Bytes::new(data)));
        }
        let book = FontBook::from_fonts(&fonts);
        let id = |path: &str| {
            FileId::new(RootedPath::new(
                VirtualRoot::Project,
                VirtualPath::new(path).expect("a valid virtual path"),
            ))
        };
        let main = id("/document.typ");
        Self {
            inner: Arc::new(Inner {
                library: LazyHash::new(Library::default()),
                book: LazyHash::new(book),
                fonts,
                main,
                data: id("/data.json"),
                template: Source::new(main, TEMPLATE.to_owned()),
            }),
        }
    }

    /// How many font faces are loaded.
    pub fn font_count(&self) -> usize {
        self.inner.fonts.len()
    }

    /// The characters of `text` that no loaded font can draw (each once, in
    /// order of appearance).
    pub fn uncovered(&self, text: &str) -> Vec<char> {
        let mut out: Vec<char> = Vec::new();
        for c in text.chars() {
            if c.is_control() || out.contains(&c) {
                continue;
            }
            if !self
                .inner
                .fonts
                .iter()
                .any(|f| f.info().coverage.contains(c as u32))
            {
                out.push(c);
            }
        }
        out
    }

    /// Typesets `doc` as a PDF. The same document gives the same bytes.
    pub fn render(&self, doc: &Document) -> Result<Vec<u8>, RenderError> {
        let data = serde_json::to_vec(doc)?;
        let world = RenderWorld {
            inner: &self.inner,
            data: Bytes::new(data),
            today: Datetime::from_ymd(doc.issued.year, doc.issued.month, doc.issued.day),
        };
        let compiled = typst::compile::<PagedDocument>(&world);
        let document = compiled
            .output
            .map_err(|e| RenderError::Typeset(messages(&e)))?;
        let options = typst_pdf::PdfOptions {
            ident: typst::foundations::Smart::Custom(doc.verification.number.clone()),
            creator: typst::foundations::Smart::Custom(Some("onestop".to_owned())),
            ..Default::default()
        };
        let pdf =
            typst_pdf::pdf(&document, &options).map_err(|e| RenderError::Pdf(messages(&e)))?;
        // Typst memoises layout work; keep only what recent renders used.
        typst::comemo::evict(10);
        Ok(pdf)
    }
}

fn messages(diags: &[SourceDiagnostic]) -> String {
    diags
        .iter()
        .map(|d| d.message.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The world of one render: the template, its data and the fonts.
struct RenderWorld<'a> {
    inner: &'a Inner,
    data: Bytes,
    today: Option<Datetime>,
}

impl World for RenderWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.inner.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.inner.book
    }

    fn main(&self) -> FileId {
        self.inner.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.inner.main {
            Ok(self.inner.template.clone())
        } else {
            Err(FileError::NotSource)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.inner.data {
            Ok(self.data.clone())
        } else if id == self.inner.main {
            Ok(Bytes::from_string(self.inner.template.clone()))
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.inner.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        self.today
    }
}

#[cfg(test)]
mod tests;
