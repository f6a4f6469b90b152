//! Compares two OpenAPI documents and lists what a client of the old one would find broken in
//! the new one. Additions are never breaks: a new path, operation, optional parameter, response
//! field or enum value leaves every existing client working.
//!
//! Schemas are compared in the direction the data flows. A response may only narrow what it
//! promised (no field removed, no field that was always there made optional, nothing that was
//! never null made nullable); a request may only widen what it accepts (no new required field,
//! no type refused that was accepted). Either way a removed property, a removed enum value and
//! a changed type or format are breaks. `$ref`s are followed on both sides, with a guard
//! against recursive schemas.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::Value;

/// Which way a schema's data flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// The client sends it: the server may accept more, never less.
    Request,
    /// The client receives it: the server may promise more, never less.
    Response,
}

/// One change that breaks existing clients, located by a readable path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    pub at: String,
    pub what: String,
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.what)
    }
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

/// Every break from `old` to `new`, for the paths of `old` starting with `prefix`.
pub fn breaking_changes(old: &Value, new: &Value, prefix: &str) -> Vec<Break> {
    let mut cmp = Comparer {
        old_doc: old,
        new_doc: new,
        breaks: Vec::new(),
        seen: HashSet::new(),
    };
    let empty = serde_json::Map::new();
    let old_paths = old["paths"].as_object().unwrap_or(&empty);
    let new_paths = new["paths"].as_object().unwrap_or(&empty);
    for (path, old_item) in old_paths.iter().filter(|(p, _)| p.starts_with(prefix)) {
        let Some(new_item) = new_paths.get(path) else {
            cmp.report(path, "path removed");
            continue;
        };
        for method in METHODS {
            let Some(old_op) = old_item.get(method) else {
                continue;
            };
            let at = format!("{} {path}", method.to_uppercase());
            match new_item.get(method) {
                None => cmp.report(&at, "operation removed"),
                Some(new_op) => cmp.operation(&at, old_item, old_op, new_item, new_op),
            }
        }
    }
    cmp.breaks
}

/// Paths and operations of `new` that `old` does not have, to say what the snapshot lacks.
pub fn additions(old: &Value, new: &Value, prefix: &str) -> Vec<String> {
    let mut added = Vec::new();
    let Some(new_paths) = new["paths"].as_object() else {
        return added;
    };
    for (path, item) in new_paths.iter().filter(|(p, _)| p.starts_with(prefix)) {
        for method in METHODS {
            if item.get(method).is_some() && old["paths"][path].get(method).is_none() {
                added.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    added
}

struct Comparer<'a> {
    old_doc: &'a Value,
    new_doc: &'a Value,
    breaks: Vec<Break>,
    /// Pairs of references already being compared, so recursive schemas end.
    seen: HashSet<(String, String)>,
}

impl<'a> Comparer<'a> {
    fn report(&mut self, at: &str, what: impl Into<String>) {
        self.breaks.push(Break {
            at: at.to_owned(),
            what: what.into(),
        });
    }

    fn operation(
        &mut self,
        at: &str,
        old_item: &'a Value,
        old_op: &'a Value,
        new_item: &'a Value,
        new_op: &'a Value,
    ) {
        let old_params = self.parameters(self.old_doc, old_item, old_op);
        let new_params = self.parameters(self.new_doc, new_item, new_op);
        for ((place, name), old_p) in &old_params {
            let here = format!("{at} parameter {name} (in {place})");
            let Some(new_p) = new_params.get(&(place.clone(), name.clone())) else {
                self.report(&here, "parameter removed");
                continue;
            };
            if !is_required(old_p) && is_required(new_p) {
                self.report(&here, "parameter became required");
            }
            self.schema(
                &here,
                old_p.get("schema").unwrap_or(&Value::Null),
                new_p.get("schema").unwrap_or(&Value::Null),
                Flow::Request,
            );
        }
        for ((place, name), new_p) in &new_params {
            if is_required(new_p) && !old_params.contains_key(&(place.clone(), name.clone())) {
                self.report(
                    &format!("{at} parameter {name} (in {place})"),
                    "new required parameter",
                );
            }
        }
        self.request_body(at, old_op, new_op);
        self.responses(at, old_op, new_op);
    }

    /// The operation's parameters with the path item's, keyed by location and name, with
    /// references resolved.
    fn parameters(
        &self,
        doc: &'a Value,
        item: &'a Value,
        op: &'a Value,
    ) -> BTreeMap<(String, String), &'a Value> {
        let mut out = BTreeMap::new();
        for list in [item.get("parameters"), op.get("parameters")]
            .into_iter()
            .flatten()
        {
            for p in list.as_array().into_iter().flatten() {
                let p = resolve(doc, p);
                let place = p["in"].as_str().unwrap_or("").to_owned();
                let name = p["name"].as_str().unwrap_or("").to_owned();
                out.insert((place, name), p);
            }
        }
        out
    }

    fn request_body(&mut self, at: &str, old_op: &'a Value, new_op: &'a Value) {
        let old_body = old_op.get("requestBody").map(|b| resolve(self.old_doc, b));
        let new_body = new_op.get("requestBody").map(|b| resolve(self.new_doc, b));
        let here = format!("{at} request body");
        match (old_body, new_body) {
            (None, Some(new_body)) if is_required(new_body) => {
                self.report(&here, "a body is now required");
            }
            (Some(old_body), Some(new_body)) => {
                if !is_required(old_body) && is_required(new_body) {
                    self.report(&here, "the body became required");
                }
                self.contents(&here, old_body, new_body, Flow::Request);
            }
            (Some(_), None) => self.report(&here, "the body is no longer accepted"),
            _ => {}
        }
    }

    fn responses(&mut self, at: &str, old_op: &'a Value, new_op: &'a Value) {
        let Some(old_responses) = old_op["responses"].as_object() else {
            return;
        };
        for (status, old_r) in old_responses {
            let here = format!("{at} response {status}");
            let Some(new_r) = new_op["responses"].get(status) else {
                self.report(&here, "response removed");
                continue;
            };
            let old_r = resolve(self.old_doc, old_r);
            let new_r = resolve(self.new_doc, new_r);
            self.contents(&here, old_r, new_r, Flow::Response);
        }
    }

    /// The media types of a body or response: each old one must still be there, with a
    /// compatible schema.
    fn contents(&mut self, at: &str, old: &'a Value, new: &'a Value, flow: Flow) {
        let Some(old_content) = old["content"].as_object() else {
            return;
        };
        for (media, old_media) in old_content {
            let here = format!("{at} ({media})");
            match new["content"].get(media) {
                None => self.report(&here, "media type removed"),
                Some(new_media) => self.schema(
                    &here,
                    old_media.get("schema").unwrap_or(&Value::Null),
                    new_media.get("schema").unwrap_or(&Value::Null),
                    flow,
                ),
            }
        }
    }

    fn schema(&mut self, at: &str, old: &'a Value, new: &'a Value, flow: Flow) {
        if self.compared_before(old, new, flow) {
            return;
        }
        let (old, old_nullable) = unwrap_nullable(resolve(self.old_doc, old));
        let (new, new_nullable) = unwrap_nullable(resolve(self.new_doc, new));
        if self.compared_before(old, new, flow) {
            return;
        }
        match flow {
            Flow::Response if new_nullable && !old_nullable => {
                self.report(at, "may now be null");
            }
            Flow::Request if old_nullable && !new_nullable => {
                self.report(at, "null is no longer accepted");
            }
            _ => {}
        }
        // The new schema may resolve through references the old one did not have.
        let (old, _) = unwrap_nullable(resolve(self.old_doc, old));
        let (new, _) = unwrap_nullable(resolve(self.new_doc, new));

        let old_types = types(old);
        let new_types = types(new);
        let narrowed = match (&old_types, &new_types) {
            (_, None) => flow == Flow::Response && old_types.is_some(),
            (None, Some(_)) => flow == Flow::Request,
            (Some(o), Some(n)) => match flow {
                Flow::Request => !o.is_subset(n),
                Flow::Response => !n.is_subset(o),
            },
        };
        if narrowed {
            self.report(
                at,
                format!(
                    "type changed from {} to {}",
                    describe(&old_types),
                    describe(&new_types)
                ),
            );
            return;
        }
        if let Some(old_format) = old["format"].as_str()
            && new["format"].as_str() != Some(old_format)
        {
            self.report(
                at,
                format!(
                    "format changed from {old_format} to {}",
                    new["format"].as_str().unwrap_or("none")
                ),
            );
        }
        if let Some(old_enum) = old["enum"].as_array() {
            let new_enum = new["enum"].as_array();
            for value in old_enum {
                if new_enum.is_some_and(|n| !n.contains(value)) {
                    self.report(at, format!("enum value {value} removed"));
                }
            }
        }
        self.properties(at, old, new, flow);
        if let (Some(old_items), Some(new_items)) = (old.get("items"), new.get("items")) {
            self.schema(&format!("{at}[]"), old_items, new_items, flow);
        }
        for keyword in ["oneOf", "anyOf", "allOf"] {
            let (Some(o), Some(n)) = (old[keyword].as_array(), new[keyword].as_array()) else {
                continue;
            };
            if n.len() < o.len() {
                self.report(
                    at,
                    format!("{keyword} lost {} variant(s)", o.len() - n.len()),
                );
            }
            for (i, (o, n)) in o.iter().zip(n).enumerate() {
                self.schema(&format!("{at} {keyword}[{i}]"), o, n, flow);
            }
        }
    }

    /// Whether this pair of references was compared already in this direction: the second
    /// visit of a recursive or shared schema would only repeat the first's findings.
    fn compared_before(&mut self, old: &Value, new: &Value, flow: Flow) -> bool {
        let (Some(o), Some(n)) = (ref_of(old), ref_of(new)) else {
            return false;
        };
        !self.seen.insert((format!("{flow:?}{o}"), n.to_owned()))
    }

    fn properties(&mut self, at: &str, old: &'a Value, new: &'a Value, flow: Flow) {
        let old_required = required_set(old);
        let new_required = required_set(new);
        let old_props = old["properties"].as_object();
        let new_props = new["properties"].as_object();
        for (name, old_p) in old_props.into_iter().flatten() {
            let here = format!("{at}.{name}");
            let Some(new_p) = new_props.and_then(|props| props.get(name)) else {
                self.report(&here, "field removed");
                continue;
            };
            match flow {
                Flow::Request if new_required.contains(name) && !old_required.contains(name) => {
                    self.report(&here, "request field became required");
                }
                Flow::Response if old_required.contains(name) && !new_required.contains(name) => {
                    self.report(&here, "response field is no longer always present");
                }
                _ => {}
            }
            self.schema(&here, old_p, new_p, flow);
        }
        if flow == Flow::Request {
            for name in new_required.difference(&old_required) {
                if !old_props.is_some_and(|props| props.contains_key(name)) {
                    self.report(&format!("{at}.{name}"), "new required request field");
                }
            }
        }
    }
}

fn is_required(v: &Value) -> bool {
    v["required"].as_bool().unwrap_or(false)
}

fn required_set(schema: &Value) -> BTreeSet<String> {
    schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

fn ref_of(v: &Value) -> Option<&str> {
    v.get("$ref").and_then(Value::as_str)
}

/// Follows `$ref`s (local ones, `#/...`) until a value that is not a reference; an unknown
/// reference resolves to `null`, which compares as "anything".
fn resolve<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..32 {
        let Some(reference) = ref_of(v) else {
            return v;
        };
        let Some(pointer) = reference.strip_prefix('#') else {
            return &Value::Null;
        };
        v = doc.pointer(pointer).unwrap_or(&Value::Null);
    }
    v
}

/// A schema without its "or null": `type: [T, "null"]` or a two-way `oneOf`/`anyOf` with a
/// `null` branch (how utoipa spells `Option`), and whether it had one.
fn unwrap_nullable(schema: &Value) -> (&Value, bool) {
    if schema["nullable"].as_bool() == Some(true) {
        return (schema, true);
    }
    if let Some(list) = schema["type"].as_array()
        && list.iter().any(|t| t == "null")
    {
        return (schema, true);
    }
    for keyword in ["oneOf", "anyOf"] {
        if let Some(variants) = schema[keyword].as_array()
            && variants.len() == 2
        {
            let is_null = |v: &Value| v["type"] == "null";
            if let Some(other) = variants.iter().find(|v| !is_null(v))
                && variants.iter().any(is_null)
            {
                return (other, true);
            }
        }
    }
    (schema, false)
}

/// The non-null types a schema names (`integer` counted as a `number`), or `None` for any.
fn types(schema: &Value) -> Option<BTreeSet<String>> {
    let names: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    let mut out: BTreeSet<String> = names
        .into_iter()
        .filter(|t| *t != "null")
        .map(str::to_owned)
        .collect();
    // An integer is a number: widening integer to number in a request is compatible.
    if out.contains("number") {
        out.insert("integer".into());
    }
    Some(out)
}

fn describe(types: &Option<BTreeSet<String>>) -> String {
    match types {
        None => "any".into(),
        Some(set) => set
            .iter()
            .filter(|t| !(*t == "integer" && set.contains("number")))
            .cloned()
            .collect::<Vec<_>>()
            .join("|"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A document with one `GET /api/v1/things/{id}` that answers a `Thing`, one
    /// `POST /api/v1/things` that takes a `ThingIn`, and the given changes applied.
    fn doc(change: impl FnOnce(&mut Value)) -> Value {
        let mut doc = json!({
            "openapi": "3.1.0",
            "paths": {
                "/api/v1/things/{id}": {
                    "get": {
                        "parameters": [
                            {"name": "id", "in": "path", "required": true,
                             "schema": {"type": "string", "format": "uuid"}},
                            {"name": "verbose", "in": "query", "required": false,
                             "schema": {"type": "boolean"}}
                        ],
                        "responses": {
                            "200": {"description": "ok", "content": {"application/json":
                                {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                            "404": {"description": "no"}
                        }
                    }
                },
                "/api/v1/things": {
                    "post": {
                        "requestBody": {"required": true, "content": {"application/json":
                            {"schema": {"$ref": "#/components/schemas/ThingIn"}}}},
                        "responses": {"201": {"description": "made"}}
                    }
                },
                "/health": {"get": {"responses": {"200": {"description": "ok"}}}}
            },
            "components": {"schemas": {
                "Thing": {
                    "type": "object",
                    "required": ["id", "status", "parts"],
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "status": {"$ref": "#/components/schemas/Status"},
                        "parts": {"type": "array", "items": {"$ref": "#/components/schemas/Part"}},
                        "note": {"type": ["string", "null"]},
                        "parent": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Thing"}]}
                    }
                },
                "Part": {"type": "object", "required": ["size"],
                         "properties": {"size": {"type": "integer", "format": "int64"}}},
                "Status": {"type": "string", "enum": ["pending", "done"]},
                "ThingIn": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string"},
                        "tags": {"type": ["array", "null"], "items": {"type": "string"}}
                    }
                }
            }}
        });
        change(&mut doc);
        doc
    }

    fn breaks(change: impl FnOnce(&mut Value)) -> Vec<String> {
        breaking_changes(&doc(|_| {}), &doc(change), "/api/v1")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn schema<'a>(d: &'a mut Value, name: &str) -> &'a mut Value {
        &mut d["components"]["schemas"][name]
    }

    fn op<'a>(d: &'a mut Value, path: &str, method: &str) -> &'a mut Value {
        &mut d["paths"][path][method]
    }

    #[test]
    fn the_same_document_has_no_breaks() {
        assert_eq!(breaks(|_| {}), Vec::<String>::new());
    }

    #[test]
    fn additions_pass() {
        let found = breaks(|d| {
            d["paths"]["/api/v1/other"] = json!({"get": {"responses": {}}});
            d["paths"]["/api/v1/things/{id}"]["delete"] = json!({"responses": {}});
            op(d, "/api/v1/things/{id}", "get")["parameters"]
                .as_array_mut()
                .unwrap()
                .push(json!({"name": "fields", "in": "query", "schema": {"type": "string"}}));
            op(d, "/api/v1/things/{id}", "get")["responses"]["304"] =
                json!({"description": "not modified"});
            schema(d, "Thing")["properties"]["extra"] = json!({"type": "integer"});
            schema(d, "Status")["enum"]
                .as_array_mut()
                .unwrap()
                .push(json!("archived"));
            schema(d, "ThingIn")["properties"]["color"] = json!({"type": "string"});
            // A request may accept more: null where it did not, a number for an integer.
            schema(d, "ThingIn")["properties"]["name"] = json!({"type": ["string", "null"]});
        });
        assert_eq!(found, Vec::<String>::new());
        let added = additions(
            &doc(|_| {}),
            &doc(|d| {
                d["paths"]["/api/v1/other"] = json!({"get": {"responses": {}}});
            }),
            "/api/v1",
        );
        assert_eq!(added, ["GET /api/v1/other"]);
    }

    #[test]
    fn a_removed_path_or_method_breaks() {
        assert_eq!(
            breaks(|d| {
                d["paths"].as_object_mut().unwrap().remove("/api/v1/things");
            }),
            ["/api/v1/things: path removed"]
        );
        assert_eq!(
            breaks(|d| {
                d["paths"]["/api/v1/things/{id}"]
                    .as_object_mut()
                    .unwrap()
                    .remove("get");
                d["paths"]["/api/v1/things/{id}"]["put"] = json!({"responses": {}});
            }),
            ["GET /api/v1/things/{id}: operation removed"]
        );
    }

    #[test]
    fn paths_outside_the_prefix_are_not_the_contract() {
        assert_eq!(
            breaks(|d| {
                d["paths"].as_object_mut().unwrap().remove("/health");
            }),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_removed_or_newly_required_parameter_breaks() {
        assert_eq!(
            breaks(|d| {
                op(d, "/api/v1/things/{id}", "get")["parameters"]
                    .as_array_mut()
                    .unwrap()
                    .remove(1);
            }),
            ["GET /api/v1/things/{id} parameter verbose (in query): parameter removed"]
        );
        assert_eq!(
            breaks(|d| {
                op(d, "/api/v1/things/{id}", "get")["parameters"][1]["required"] = json!(true);
                op(d, "/api/v1/things/{id}", "get")["parameters"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"name": "x", "in": "header", "required": true,
                                 "schema": {"type": "string"}}));
            }),
            [
                "GET /api/v1/things/{id} parameter verbose (in query): parameter became required",
                "GET /api/v1/things/{id} parameter x (in header): new required parameter",
            ]
        );
    }

    #[test]
    fn a_parameter_of_another_type_breaks() {
        assert_eq!(
            breaks(|d| {
                op(d, "/api/v1/things/{id}", "get")["parameters"][0]["schema"] =
                    json!({"type": "integer", "format": "int64"});
            }),
            ["GET /api/v1/things/{id} parameter id (in path): type changed from string to integer"]
        );
        assert_eq!(
            breaks(|d| {
                op(d, "/api/v1/things/{id}", "get")["parameters"][0]["schema"]["format"] =
                    json!("date-time");
            }),
            [
                "GET /api/v1/things/{id} parameter id (in path): format changed from uuid to date-time"
            ]
        );
    }

    #[test]
    fn a_removed_response_field_breaks_through_references() {
        assert_eq!(
            breaks(|d| {
                schema(d, "Part")["properties"]
                    .as_object_mut()
                    .unwrap()
                    .remove("size");
            }),
            [
                "GET /api/v1/things/{id} response 200 (application/json).parts[].size: \
                 field removed"
            ]
        );
    }

    #[test]
    fn a_response_field_that_may_be_missing_or_null_breaks() {
        assert_eq!(
            breaks(|d| {
                schema(d, "Thing")["required"] = json!(["id", "parts"]);
                schema(d, "Thing")["properties"]["id"]["type"] = json!(["string", "null"]);
            }),
            [
                "GET /api/v1/things/{id} response 200 (application/json).id: may now be null",
                "GET /api/v1/things/{id} response 200 (application/json).status: \
                 response field is no longer always present",
            ]
        );
    }

    #[test]
    fn a_changed_response_type_breaks() {
        assert_eq!(
            breaks(|d| {
                schema(d, "Part")["properties"]["size"] = json!({"type": "string"});
            }),
            [
                "GET /api/v1/things/{id} response 200 (application/json).parts[].size: \
                 type changed from integer to string"
            ]
        );
        // Promising "anything" where a type was promised is a change too.
        assert_eq!(
            breaks(|d| {
                schema(d, "Part")["properties"]["size"] = json!({});
            }),
            [
                "GET /api/v1/things/{id} response 200 (application/json).parts[].size: \
                 type changed from integer to any"
            ]
        );
    }

    #[test]
    fn a_removed_enum_value_breaks() {
        assert_eq!(
            breaks(|d| {
                schema(d, "Status")["enum"] = json!(["pending", "finished"]);
            }),
            [
                "GET /api/v1/things/{id} response 200 (application/json).status: \
                 enum value \"done\" removed"
            ]
        );
    }

    #[test]
    fn a_newly_required_request_field_breaks() {
        assert_eq!(
            breaks(|d| {
                schema(d, "ThingIn")["required"] = json!(["name", "tags", "owner"]);
                schema(d, "ThingIn")["properties"]["owner"] = json!({"type": "string"});
            }),
            [
                "POST /api/v1/things request body (application/json).tags: \
                 request field became required",
                "POST /api/v1/things request body (application/json).owner: \
                 new required request field",
            ]
        );
    }

    #[test]
    fn a_request_that_accepts_less_breaks() {
        assert_eq!(
            breaks(|d| {
                schema(d, "ThingIn")["properties"]["tags"]["type"] = json!("array");
                op(d, "/api/v1/things", "post")["requestBody"]["content"] =
                    json!({"application/xml": {}});
            }),
            ["POST /api/v1/things request body (application/json): media type removed"]
        );
        assert_eq!(
            breaks(|d| {
                schema(d, "ThingIn")["properties"]["tags"]["type"] = json!("array");
            }),
            ["POST /api/v1/things request body (application/json).tags: \
                 null is no longer accepted"]
        );
    }

    #[test]
    fn a_removed_response_status_breaks() {
        assert_eq!(
            breaks(|d| {
                op(d, "/api/v1/things/{id}", "get")["responses"]
                    .as_object_mut()
                    .unwrap()
                    .remove("404");
            }),
            ["GET /api/v1/things/{id} response 404: response removed"]
        );
    }

    #[test]
    fn recursive_schemas_are_compared_once_and_end() {
        // `Thing.parent` is a `Thing`: the comparison must terminate and still see a change
        // inside the recursion.
        let found = breaks(|d| {
            schema(d, "Thing")["properties"]
                .as_object_mut()
                .unwrap()
                .remove("note");
        });
        assert_eq!(
            found,
            ["GET /api/v1/things/{id} response 200 (application/json).note: field removed"]
        );
    }
}
