//! JSON schemas of the tools: the shape of each result (`outputSchema`, so clients can check
//! and use structured content), and a transform that keeps optional arguments plain.
//!
//! Output schemas describe the fields every client may rely on and leave the rest open
//! (`additionalProperties` is not restricted), so adding a field is never a breaking change.
//! Tool errors carry no structured content: their text is the message, and no schema
//! constrains it.

use codeintel_sync::{Kind, Setting};
use rmcp::model::JsonObject;
use serde_json::{json, Value};
use std::sync::Arc;

/// Optional arguments as plain optional properties: schemars writes an `Option<String>` as
/// `"type": ["string", "null"]` (or an `anyOf` with a null branch), which clients with strict
/// schema handling warn about. An argument left out is what `null` would have meant.
pub fn plain_optionals(schema: &mut schemars::Schema) {
    let Some(Value::Object(properties)) = schema.get_mut("properties") else {
        return;
    };
    for property in properties.values_mut() {
        let Value::Object(map) = property else {
            continue;
        };
        if let Some(Value::Array(types)) = map.get_mut("type") {
            types.retain(|t| t != "null");
            if types.len() == 1 {
                let only = types[0].clone();
                map.insert("type".into(), only);
            }
        }
        if let Some(Value::Array(branches)) = map.get("anyOf").cloned() {
            let kept: Vec<Value> = branches
                .into_iter()
                .filter(|b| b.get("type") != Some(&json!("null")))
                .collect();
            if let [Value::Object(only)] = kept.as_slice() {
                map.remove("anyOf");
                for (k, v) in only {
                    map.entry(k.clone()).or_insert_with(|| v.clone());
                }
            } else {
                map.insert("anyOf".into(), Value::Array(kept));
            }
        }
        if map.get("default") == Some(&Value::Null) {
            map.remove("default");
        }
    }
}

/// The arguments of a tool that sets auto-sync settings: optional arguments kept plain (see
/// [`plain_optionals`]), and each property named by a setting's key described, and bounded
/// when it is a number, as the sync crate's settings table says.
pub fn settings(schema: &mut schemars::Schema) {
    plain_optionals(schema);
    let Some(Value::Object(properties)) = schema.get_mut("properties") else {
        return;
    };
    for (key, property) in properties.iter_mut() {
        let (Some(setting), Value::Object(map)) = (Setting::by_key(key), property) else {
            continue;
        };
        map.insert("description".into(), json!(setting.description()));
        if let Kind::Number { min, max, .. } = setting.kind {
            map.insert("minimum".into(), json!(min));
            if max != u64::MAX {
                map.insert("maximum".into(), json!(max));
            }
        }
    }
}

fn object(properties: Value, required: &[&str]) -> Arc<JsonObject> {
    let schema = json!({
        "type": "object",
        "properties": properties,
        "required": required,
    });
    match schema {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(JsonObject::new()),
    }
}

fn integer() -> Value {
    json!({ "type": "integer" })
}

fn string() -> Value {
    json!({ "type": "string" })
}

fn optional_string() -> Value {
    json!({ "type": ["string", "null"] })
}

fn list_of(items: Value) -> Value {
    json!({ "type": "array", "items": items })
}

/// Why a result was cut, or what to know about it.
fn note() -> Value {
    json!({ "type": "string", "description": "what was left out and how to get more, or what to know about the results" })
}

pub fn search_code() -> Arc<JsonObject> {
    let hit = json!({
        "type": "object",
        "properties": {
            "repository": string(), "path": string(),
            "start_line": integer(), "end_line": integer(), "line": integer(),
            "language": string(), "symbol": optional_string(), "kind": optional_string(),
            "score": { "type": "number" }, "snippet": string(),
        },
        "required": ["repository", "path", "start_line", "end_line", "line", "language", "score", "snippet"],
    });
    object(
        json!({ "results": list_of(hit), "count": integer(), "note": note() }),
        &["results", "count"],
    )
}

pub fn find_symbol() -> Arc<JsonObject> {
    let symbol = json!({
        "type": "object",
        "properties": {
            "repository": string(), "path": string(), "name": string(), "kind": string(),
            "language": string(), "start_line": integer(), "end_line": integer(),
            "references": integer(),
        },
        "required": ["repository", "path", "name", "kind", "start_line", "end_line", "references"],
    });
    object(
        json!({ "results": list_of(symbol), "count": integer(), "note": note() }),
        &["results", "count"],
    )
}

pub fn find_references() -> Arc<JsonObject> {
    let site = json!({
        "type": "object",
        "properties": {
            "repository": string(), "path": string(), "line": integer(), "column": integer(),
            "kind": { "type": "string", "enum": ["call", "type", "import", "reference"] },
            "symbol": optional_string(),
            "confidence": { "type": "string", "enum": ["exact", "likely", "name"] },
            "snippet": string(),
        },
        "required": ["repository", "path", "line", "column", "kind", "confidence", "snippet"],
    });
    object(
        json!({ "references": list_of(site), "count": integer(), "total": integer(), "note": note() }),
        &["references", "count", "total"],
    )
}

pub fn get_call_graph() -> Arc<JsonObject> {
    // Nodes nest: each has the same fields and its own `calls`.
    let node = json!({
        "type": "object",
        "properties": {
            "symbol": string(), "kind": string(), "repository": string(), "path": string(),
            "line": integer(),
            "confidence": { "type": ["string", "null"], "enum": ["exact", "likely", "name", null] },
            "sites": list_of(integer()), "calls": { "type": "array" },
            "cycle": { "type": "boolean" },
        },
        "required": ["symbol", "repository", "path", "line", "calls"],
    });
    object(
        json!({
            "symbol": string(), "kind": string(), "repository": string(), "path": string(),
            "line": integer(), "calls": list_of(node), "nodes": integer(), "note": note(),
        }),
        &["calls", "nodes"],
    )
}

pub fn get_file() -> Arc<JsonObject> {
    object(
        json!({
            "repository": string(), "path": string(),
            "start_line": integer(), "start_column": integer(), "end_line": integer(),
            "total_lines": integer(), "content": string(),
            "next": {
                "type": "object",
                "description": "where the next page starts, when this one stopped early",
                "properties": { "start_line": integer(), "start_column": integer() },
                "required": ["start_line", "start_column"],
            },
            "note": note(),
        }),
        &[
            "repository",
            "path",
            "start_line",
            "end_line",
            "total_lines",
            "content",
        ],
    )
}

fn repository() -> Value {
    json!({
        "type": "object",
        "properties": {
            "path": string(), "name": string(), "state": string(),
            "language": optional_string(), "files": integer(), "chunks": integer(),
            "last_sync": optional_string(), "watched": { "type": "boolean" },
            "watch": string(), "last_error": optional_string(),
            "depends_on": list_of(string()), "used_by": list_of(string()),
        },
        "required": ["path", "name", "state", "files", "chunks", "depends_on", "used_by"],
    })
}

pub fn list_repositories() -> Arc<JsonObject> {
    object(
        json!({ "repositories": list_of(repository()), "count": integer(), "note": note() }),
        &["repositories", "count"],
    )
}

pub fn repository_status() -> Arc<JsonObject> {
    match repository() {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(JsonObject::new()),
    }
}

pub fn index_repository() -> Arc<JsonObject> {
    object(
        json!({
            "repository": string(), "files_processed": integer(), "files_added": integer(),
            "files_updated": integer(), "files_deleted": integer(), "files_skipped": integer(),
            "chunks_new": integer(), "chunks_deleted": integer(),
            "success_rate": { "type": "number" }, "duration_ms": integer(), "note": note(),
        }),
        &[
            "repository",
            "files_processed",
            "success_rate",
            "duration_ms",
        ],
    )
}

pub fn remove_repository() -> Arc<JsonObject> {
    object(
        json!({ "repository": string(), "path": string(), "files": integer(), "chunks": integer() }),
        &["repository", "path", "files", "chunks"],
    )
}

pub fn configure_auto_sync() -> Arc<JsonObject> {
    object(
        json!({ "enabled": { "type": "boolean" }, "config": { "type": "object" } }),
        &["enabled", "config"],
    )
}

pub fn auto_sync_status() -> Arc<JsonObject> {
    object(
        json!({
            "enabled": { "type": "boolean" }, "running": { "type": "boolean" },
            "paused": { "type": "boolean" }, "last_scan": optional_string(),
            "queued_repos": integer(), "active_syncs": integer(), "synced_repos": integer(),
            "config": { "type": "object" }, "repositories": list_of(repository()),
            "metrics": { "type": "object" }, "note": note(),
            "store": { "type": "string" },
        }),
        &[
            "enabled",
            "running",
            "paused",
            "queued_repos",
            "active_syncs",
            "synced_repos",
            "config",
            "repositories",
        ],
    )
}

pub fn scan_counts() -> Arc<JsonObject> {
    object(
        json!({ "queued": integer(), "active": integer(), "synced": integer() }),
        &["queued", "active", "synced"],
    )
}

pub fn paused() -> Arc<JsonObject> {
    object(json!({ "paused": { "type": "boolean" } }), &["paused"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(schemars::JsonSchema)]
    #[schemars(transform = plain_optionals)]
    #[allow(dead_code)]
    struct Args {
        query: String,
        limit: Option<i64>,
        paths: Option<Vec<String>>,
    }

    #[test]
    fn configure_arguments_are_described_and_bounded_by_the_settings_table() {
        let schema = schemars::schema_for!(crate::tools::ConfigureArgs);
        let props = schema.as_value()["properties"].as_object().unwrap();
        assert_eq!(props.len(), 5, "{props:?}");
        for (key, property) in props {
            let setting = Setting::by_key(key).expect("a setting's key");
            assert!(setting.configurable(), "{key}");
            assert_eq!(
                property["description"],
                json!(setting.description()),
                "{key}"
            );
        }
        assert_eq!(props["max_concurrent"]["minimum"], 1);
        assert_eq!(props["max_concurrent"]["maximum"], 64);
        assert_eq!(props["scan_interval"]["minimum"], 1);
        assert!(props["scan_interval"].get("maximum").is_none());
        assert_eq!(props["max_concurrent"]["type"], "integer");
        assert!(!schema.as_value().to_string().contains("null"), "{props:?}");
        assert!(schema
            .as_value()
            .get("required")
            .is_none_or(|r| r == &json!([])));
    }

    #[test]
    fn optional_arguments_are_plain_and_not_required() {
        let schema = schemars::schema_for!(Args);
        let props = &schema.as_value()["properties"];
        assert_eq!(props["limit"]["type"], "integer", "{props}");
        assert_eq!(props["paths"]["type"], "array", "{props}");
        assert!(!props.to_string().contains("null"), "{props}");
        assert_eq!(schema.as_value()["required"], json!(["query"]));
    }
}
