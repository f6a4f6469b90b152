//! Control characters in anything a client sends are a 422 on both databases, never a 500:
//! every string field of every request body, form and query parameter the OpenAPI document
//! describes is sent NUL and other control characters in turn.

use grandma_store::{Role, Uuid};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::common::{TestApp, job_config};

api_test!(control_characters_in_every_string_field_are_refused);

/// NUL, other C0 controls, DEL and a C1 control.
const CONTROLS: [char; 6] = ['\0', '\u{1}', '\u{8}', '\u{1b}', '\u{7f}', '\u{85}'];

/// Follows `$ref`s into the document's components.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => match schema
            .get("allOf")
            .or(schema.get("oneOf"))
            .or(schema.get("anyOf"))
        {
            // A nullable or composed schema: the first non-null alternative.
            Some(Value::Array(options)) => options
                .iter()
                .map(|o| resolve(doc, o))
                .find(|o| o["type"] != "null")
                .unwrap_or(schema),
            _ => schema,
        },
    }
}

fn has_type(schema: &Value, wanted: &str) -> bool {
    match &schema["type"] {
        Value::String(t) => t == wanted,
        Value::Array(ts) => ts.iter().any(|t| t == wanted),
        _ => wanted == "string" && schema.get("enum").is_some(),
    }
}

/// A value of `schema` with every property present, and the paths of its strings.
fn example(doc: &Value, schema: &Value, path: Vec<Value>, strings: &mut Vec<Vec<Value>>) -> Value {
    let schema = resolve(doc, schema);
    if has_type(schema, "object") || schema.get("properties").is_some() {
        let mut object = Map::new();
        let properties = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        if properties.is_empty() {
            // A free-form object (a job document, headers): one string member.
            let mut at = path.clone();
            at.push(json!("k"));
            strings.push(at);
            object.insert("k".into(), json!("x"));
        }
        for (name, property) in &properties {
            let mut at = path.clone();
            at.push(json!(name));
            object.insert(name.clone(), example(doc, property, at, strings));
        }
        Value::Object(object)
    } else if has_type(schema, "array") {
        let mut at = path;
        at.push(json!(0));
        Value::Array(vec![example(doc, &schema["items"], at, strings)])
    } else if has_type(schema, "string") {
        strings.push(path);
        match schema["enum"].as_array().and_then(|e| e.first()) {
            Some(first) => first.clone(),
            None => json!("x"),
        }
    } else if has_type(schema, "integer") || has_type(schema, "number") {
        json!(1)
    } else if has_type(schema, "boolean") {
        json!(true)
    } else {
        Value::Null
    }
}

fn set(value: &mut Value, path: &[Value], new: Value) {
    let mut at = value;
    for step in path {
        at = match step {
            Value::String(k) => &mut at[k.as_str()],
            Value::Number(i) => &mut at[i.as_u64().unwrap() as usize],
            _ => unreachable!(),
        };
    }
    *at = new;
}

/// One hostile request: what it is, and how to send it.
struct Case {
    what: String,
    method: Method,
    path: String,
    body: Option<Value>,
    form: Option<Vec<(String, String)>>,
}

async fn control_characters_in_every_string_field_are_refused(app: &TestApp) {
    let (_, token) = app.user("fuzz@example.com", Role::Admin).await;
    let doc = app
        .client
        .get(app.root("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let id = Uuid::now_v7();
    let mut cases = Vec::new();
    for (template, operations) in doc["paths"].as_object().unwrap() {
        let path = template
            .split('/')
            .map(|s| {
                if s.starts_with('{') {
                    id.to_string()
                } else {
                    s.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for (verb, operation) in operations.as_object().unwrap() {
            let Ok(method) = verb.to_uppercase().parse::<Method>() else {
                continue;
            };
            let content = &operation["requestBody"]["content"];
            if let Some(schema) = content["application/json"].get("schema") {
                let mut strings = Vec::new();
                let base = example(&doc, schema, vec![], &mut strings);
                for (at, c) in strings.iter().flat_map(|at| CONTROLS.map(|c| (at, c))) {
                    let mut body = base.clone();
                    set(&mut body, at, json!(format!("a{c}b")));
                    cases.push(Case {
                        what: format!("{verb} {template} body {at:?} U+{:04X}", c as u32),
                        method: method.clone(),
                        path: path.clone(),
                        body: Some(body),
                        form: None,
                    });
                }
            }
            if let Some(schema) = content["application/x-www-form-urlencoded"].get("schema") {
                let schema = resolve(&doc, schema);
                let fields: Vec<String> = schema["properties"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .cloned()
                    .collect();
                for c in CONTROLS {
                    for field in &fields {
                        let form = fields
                            .iter()
                            .map(|f| {
                                let v = if f == field {
                                    format!("a{c}b")
                                } else {
                                    "x".into()
                                };
                                (f.clone(), v)
                            })
                            .collect();
                        cases.push(Case {
                            what: format!("{verb} {template} form {field} U+{:04X}", c as u32),
                            method: method.clone(),
                            path: path.clone(),
                            body: None,
                            form: Some(form),
                        });
                    }
                }
            }
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let schema = resolve(&doc, &parameter["schema"]);
                if parameter["in"] != "query" || !has_type(schema, "string") {
                    continue;
                }
                let name = parameter["name"].as_str().unwrap();
                for c in CONTROLS {
                    let encoded: String =
                        url::form_urlencoded::byte_serialize(format!("a{c}b").as_bytes()).collect();
                    cases.push(Case {
                        what: format!("{verb} {template} query {name} U+{:04X}", c as u32),
                        method: method.clone(),
                        path: format!("{path}?{name}={encoded}"),
                        body: None,
                        form: None,
                    });
                }
            }
        }
    }
    // The job document is free-form in the schema: its names, selectors and defaults too.
    for (at, c) in [
        ("name", '\0'),
        ("description", '\0'),
        ("item_selector", '\u{1}'),
        ("start_url", '\0'),
    ] {
        let mut config = job_config("Fuzz");
        config[at] = json!(format!("a{c}b"));
        for (method, path) in [
            (Method::POST, "/api/v1/jobs/".to_owned()),
            (Method::PUT, format!("/api/v1/jobs/{id}")),
        ] {
            cases.push(Case {
                what: format!("{method} {path} config.{at}"),
                method,
                path,
                body: Some(json!({"config": config})),
                form: None,
            });
        }
    }
    for (field, key) in [(0, "selector"), (1, "default"), (2, "name")] {
        let mut config = job_config("Fuzz");
        config["fields"][field][key] = json!("a\u{0}b");
        cases.push(Case {
            what: format!("POST /jobs/ config.fields[{field}].{key}"),
            method: Method::POST,
            path: "/api/v1/jobs/".into(),
            body: Some(json!({"config": config})),
            form: None,
        });
    }
    assert!(
        cases.len() > 100,
        "the document describes the API: {} cases",
        cases.len()
    );

    for case in &cases {
        let mut request = app
            .client
            .request(case.method.clone(), app.root(&case.path))
            .bearer_auth(&token);
        if let Some(body) = &case.body {
            request = request.json(body);
        }
        if let Some(form) = &case.form {
            request = request.form(form);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}: {body}",
            case.what
        );
        assert!(body.contains("control characters"), "{}: {body}", case.what);
    }
    eprintln!("{} hostile requests, each a 422", cases.len());

    // Tabs and line breaks are text; nothing was stored by the refused requests.
    let mut config = job_config("Lines");
    config["description"] = json!("line one\r\n\tline two");
    let job = app
        .post("/jobs/", &token, json!({"config": config}), 201)
        .await;
    assert_eq!(job["description"], "line one\r\n\tline two");
    let jobs = app.get("/jobs/?name=%09", &token, 200).await;
    assert_eq!(jobs["total"], 0, "{jobs}");
    let jobs = app.get("/jobs/", &token, 200).await;
    assert_eq!(jobs["total"], 1, "{jobs}");
}
