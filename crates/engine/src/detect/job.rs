//! A proposal as an ordinary job document, checked by the spec's own validation, and its
//! sample rows taken by the normal extraction code from the same page, so that what a person
//! is shown is what the job gives.

use scraper::Html;
use serde_json::{Map, Value, json};
use url::Url;

use super::fields::{FieldPlan, ValueKind};
use super::pagination::PaginationPlan;
use super::{Candidate, FieldProposal, PaginationProposal, SelectorKind};
use crate::JobSpec;
use crate::extract::extract_document;
use crate::spec::SelectorType;

/// A list ready to become a candidate.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub item_selector: String,
    pub fields: Vec<FieldPlan>,
    pub score: f64,
    pub item_nodes: Vec<u32>,
}

impl From<SelectorType> for SelectorKind {
    fn from(t: SelectorType) -> Self {
        match t {
            SelectorType::Css => SelectorKind::Css,
            SelectorType::XPath => SelectorKind::Xpath,
        }
    }
}

pub(crate) fn attribute_of(kind: &ValueKind) -> (&'static str, Option<String>) {
    match kind {
        ValueKind::Text => ("text", None),
        ValueKind::Href => ("href", None),
        ValueKind::Src => ("src", None),
        ValueKind::Attr(name) => ("custom", Some(name.clone())),
        // The selector is an XPath string expression; the attribute is not read.
        ValueKind::After { .. } => ("text", None),
    }
}

/// The pagination part of a job document.
fn pagination_value(plan: Option<&PaginationPlan>) -> Value {
    match plan {
        None => json!({"type": "none"}),
        Some(PaginationPlan::NextButton { selector, kind, .. }) => json!({
            "type": "next_button",
            "next_button_selector": selector,
            "next_button_selector_type": kind.as_str(),
        }),
        Some(PaginationPlan::UrlPattern { pattern, .. }) => {
            json!({"type": "url_pattern", "url_pattern": pattern})
        }
    }
}

/// The job document for a draft; `required` names the field that must have a value.
pub(crate) fn document(
    name: &str,
    page_url: &Url,
    draft: &Draft,
    required: Option<usize>,
    pagination: Option<&PaginationPlan>,
) -> Value {
    let fields: Vec<Value> = draft
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let (attribute, custom) = attribute_of(&f.kind);
            let mut o = Map::new();
            o.insert("name".into(), json!(f.name));
            o.insert("selector".into(), json!(f.selector.source));
            o.insert("selector_type".into(), json!(f.selector.kind.as_str()));
            o.insert("attribute".into(), json!(attribute));
            if let Some(c) = custom {
                o.insert("custom_attribute".into(), json!(c));
            }
            if f.multiple {
                o.insert("multiple".into(), json!(true));
            }
            if required == Some(i) {
                o.insert("required".into(), json!(true));
            }
            Value::Object(o)
        })
        .collect();
    json!({
        "name": name,
        "start_url": page_url.as_str(),
        "item_selector": draft.item_selector,
        "item_selector_type": "css",
        "fields": fields,
        "pagination": pagination_value(pagination),
    })
}

/// Builds the candidate: validates the document and extracts its sample with the engine's
/// extraction. `Err` says why the draft could not become a job (a bug, reported as a warning).
pub(crate) fn finish(
    html: &Html,
    page_url: &Url,
    name: &str,
    draft: &Draft,
    pagination: Option<&PaginationPlan>,
    sample_rows: usize,
) -> Result<Candidate, String> {
    // A field the extraction never fills (its selector finds nothing with a value on the whole
    // page) is left out.
    let mut draft = draft.clone();
    let (_, mut items, mut next) = run(html, page_url, name, &draft, None, pagination)?;
    if items.is_empty() {
        return Err("the item selector gives no rows".into());
    }
    let filled = filled_counts(&items);
    if filled.contains(&0) {
        let mut keep = filled.iter().map(|&f| f > 0);
        draft.fields.retain(|_| keep.next().unwrap_or(false));
        if draft.fields.is_empty() {
            return Err("no field has a value".into());
        }
        (_, items, next) = run(html, page_url, name, &draft, None, pagination)?;
    }
    // The first text field every row has becomes required: on later pages it drops the tiles
    // that only look like items. Every row here has it, so the rows stay the same, and so does
    // the next page when the pagination is kept: the extraction need not run again.
    let filled = filled_counts(&items);
    let required = draft
        .fields
        .iter()
        .zip(&filled)
        .position(|(f, &n)| f.kind == ValueKind::Text && !f.multiple && n == items.len());
    // Pagination whose selector does not lead where it was found is left out.
    let pagination = match pagination {
        Some(p @ PaginationPlan::NextButton { next: want, .. }) => {
            (next.as_ref() == Some(want)).then_some(p)
        }
        other => other,
    };
    let doc = document(name, page_url, &draft, required, pagination);
    let columns: Vec<String> = draft.fields.iter().map(|f| f.name.clone()).collect();
    let filled = filled_counts(&items);
    let fields = draft
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let (attribute, custom_attribute) = attribute_of(&f.kind);
            FieldProposal {
                name: f.name.clone(),
                selector: f.selector.source.clone(),
                selector_type: f.selector.kind.into(),
                attribute: attribute.into(),
                custom_attribute,
                multiple: f.multiple,
                required: required == Some(i),
                filled: filled[i],
            }
        })
        .collect();
    Ok(Candidate {
        item_selector: draft.item_selector.clone(),
        item_selector_type: SelectorKind::Css,
        count: items.len(),
        fields,
        sample: items
            .iter()
            .take(sample_rows)
            .map(|item| item.to_json_object(&columns))
            .collect(),
        pagination: pagination.map(PaginationProposal::from),
        score: draft.score,
        item_nodes: draft.item_nodes.clone(),
        job: doc,
    })
}

type Run = (Value, Vec<crate::Item>, Option<Url>);

fn run(
    html: &Html,
    page_url: &Url,
    name: &str,
    draft: &Draft,
    required: Option<usize>,
    pagination: Option<&PaginationPlan>,
) -> Result<Run, String> {
    let doc = document(name, page_url, draft, required, pagination);
    let spec = JobSpec::from_value(&doc).map_err(|e| e.to_string())?;
    let out = extract_document(&spec, html, page_url);
    if let Some(w) = out.warnings.first() {
        return Err(w.clone());
    }
    Ok((doc, out.items, out.next_url))
}

fn filled_counts(items: &[crate::Item]) -> Vec<usize> {
    let width = items.first().map_or(0, |i| i.values.len());
    (0..width)
        .map(|c| items.iter().filter(|i| !i.values[c].is_null()).count())
        .collect()
}

impl From<&PaginationPlan> for PaginationProposal {
    fn from(p: &PaginationPlan) -> Self {
        match p {
            PaginationPlan::NextButton {
                selector,
                kind,
                next,
            } => PaginationProposal::NextButton {
                selector: selector.clone(),
                selector_type: (*kind).into(),
                next_url: next.to_string(),
            },
            PaginationPlan::UrlPattern { pattern, next } => PaginationProposal::UrlPattern {
                url_pattern: pattern.clone(),
                next_url: next.to_string(),
            },
        }
    }
}
