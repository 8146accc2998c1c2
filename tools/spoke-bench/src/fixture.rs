//! The benchmark module: twenty realistic, compiling proto3 files in package
//! `bench.v1`, one of them the ~4 KiB "hot" file that the load run fetches.
//!
//! Only local imports (no well-known types), so the fixture exercises the
//! serving path and does not depend on any particular compiler feature.

use std::fmt::Write as _;

use serde_json::json;

pub const MODULE: &str = "bench";
pub const VERSION: &str = "v1.0.0";
pub const HOT_PATH: &str = "bench/v1/hot.proto";

pub struct File {
    pub path: String,
    pub content: String,
}

/// A resource that gets one file: name, plural, two extra (type, field) pairs.
struct Entity {
    name: &'static str,
    plural: &'static str,
    extra: [(&'static str, &'static str); 2],
}

const fn e(
    name: &'static str,
    plural: &'static str,
    first: (&'static str, &'static str),
    second: (&'static str, &'static str),
) -> Entity {
    Entity {
        name,
        plural,
        extra: [first, second],
    }
}

const ENTITIES: [Entity; 17] = [
    e(
        "Account",
        "accounts",
        ("string", "email"),
        ("Money", "balance"),
    ),
    e(
        "Address",
        "addresses",
        ("string", "street"),
        ("string", "postal_code"),
    ),
    e(
        "Invoice",
        "invoices",
        ("Money", "total"),
        ("string", "account_id"),
    ),
    e(
        "Order",
        "orders",
        ("Money", "amount"),
        ("string", "customer_id"),
    ),
    e(
        "Payment",
        "payments",
        ("Money", "amount"),
        ("string", "invoice_id"),
    ),
    e(
        "Product",
        "products",
        ("string", "sku"),
        ("Money", "unit_price"),
    ),
    e(
        "Shipment",
        "shipments",
        ("string", "carrier"),
        ("string", "tracking_code"),
    ),
    e(
        "Customer",
        "customers",
        ("string", "email"),
        ("string", "phone"),
    ),
    e(
        "Warehouse",
        "warehouses",
        ("string", "region"),
        ("int32", "capacity"),
    ),
    e(
        "Supplier",
        "suppliers",
        ("string", "vat_id"),
        ("string", "country"),
    ),
    e(
        "Refund",
        "refunds",
        ("Money", "amount"),
        ("string", "payment_id"),
    ),
    e(
        "Coupon",
        "coupons",
        ("string", "code"),
        ("int32", "percent_off"),
    ),
    e("Review", "reviews", ("int32", "stars"), ("string", "body")),
    e(
        "Cart",
        "carts",
        ("string", "customer_id"),
        ("Money", "subtotal"),
    ),
    e(
        "Subscription",
        "subscriptions",
        ("string", "plan"),
        ("Money", "price"),
    ),
    e(
        "Ticket",
        "tickets",
        ("string", "subject"),
        ("string", "assignee"),
    ),
    e(
        "Webhook",
        "webhooks",
        ("string", "url"),
        ("string", "secret_ref"),
    ),
];

const HEADER: &str = "syntax = \"proto3\";\n\npackage bench.v1;\n\n";
const OPTIONS: &str = "option go_package = \"example.com/bench/gen/go/bench/v1;benchv1\";\n\
option java_multiple_files = true;\n\
option java_package = \"com.example.bench.v1\";\n\n";

/// The hot file's content: the bytes every mode expects the server to answer.
pub fn hot_bytes() -> Vec<u8> {
    hot().into_bytes()
}

/// The version manifest's route.
pub fn manifest_route() -> String {
    format!("/modules/{MODULE}/versions/{VERSION}")
}

/// The hot file's route, asking for the raw bytes.
pub fn hot_route() -> String {
    format!("{}/files/{HOT_PATH}?format=raw", manifest_route())
}

/// All files of the benchmark version, hot file included.
pub fn files() -> Vec<File> {
    let mut files = vec![
        File {
            path: "bench/v1/common.proto".into(),
            content: common(),
        },
        File {
            path: HOT_PATH.into(),
            content: hot(),
        },
    ];
    files.extend(ENTITIES.iter().map(|e| File {
        path: format!("bench/v1/{}.proto", snake(e.name)),
        content: entity(e),
    }));
    files.push(File {
        path: "bench/v1/service.proto".into(),
        content: service(),
    });
    files
}

/// The request body of `POST /modules/bench/versions`.
pub fn push_body(files: &[File]) -> String {
    let files: Vec<_> = files
        .iter()
        .map(|f| json!({ "path": f.path, "content": f.content }))
        .collect();
    json!({ "version": VERSION, "files": files, "dependencies": [] }).to_string()
}

/// The request body of `POST /modules`.
pub fn module_body() -> String {
    json!({ "name": MODULE, "description": "benchmark module" }).to_string()
}

fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn screaming(camel: &str) -> String {
    snake(camel).to_ascii_uppercase()
}

fn common() -> String {
    let mut s = String::from(HEADER);
    s.push_str(OPTIONS);
    s.push_str(
        "// Money is an amount in a currency, in minor units (cents).\n\
message Money {\n  \
  // ISO 4217 code, e.g. \"EUR\".\n  \
  string currency_code = 1;\n  \
  int64 units = 2;\n  \
  int32 nanos = 3;\n}\n\n\
// Audit carries who changed a resource and when (Unix milliseconds).\n\
message Audit {\n  \
  int64 create_time_unix_ms = 1;\n  \
  int64 update_time_unix_ms = 2;\n  \
  string created_by = 3;\n  \
  string updated_by = 4;\n  \
  int64 revision = 5;\n}\n\n\
// PageRequest is embedded in every List request.\n\
message PageRequest {\n  \
  int32 page_size = 1;\n  \
  string page_token = 2;\n  \
  string order_by = 3;\n}\n\n\
// PageInfo is embedded in every List response.\n\
message PageInfo {\n  \
  string next_page_token = 1;\n  \
  int32 total_size = 2;\n}\n\n\
// Labels are free-form key/value annotations.\n\
message Labels {\n  \
  map<string, string> values = 1;\n}\n",
    );
    s
}

fn entity(
    &Entity {
        name,
        plural,
        ref extra,
    }: &Entity,
) -> String {
    let upper = screaming(name);
    let mut s = String::from(HEADER);
    s.push_str("import \"bench/v1/common.proto\";\n\n");
    s.push_str(OPTIONS);
    let _ = write!(
        s,
        "// {name} is a resource of the benchmark API.\n\
message {name} {{\n  \
  // Resource name, e.g. \"{plural}/123\".\n  \
  string name = 1;\n  \
  string display_name = 2;\n  \
  {name}State state = 3;\n  \
  Audit audit = 4;\n  \
  Labels labels = 5;\n"
    );
    for (i, (ty, field)) in extra.iter().enumerate() {
        let _ = writeln!(s, "  {ty} {field} = {};", i + 6);
    }
    let _ = write!(
        s,
        "  reserved 15;\n  reserved \"legacy_id\";\n}}\n\n\
// {name}State is the lifecycle state of the {name} resource.\n\
enum {name}State {{\n  \
  {upper}_STATE_UNSPECIFIED = 0;\n  \
  {upper}_STATE_ACTIVE = 1;\n  \
  {upper}_STATE_SUSPENDED = 2;\n  \
  {upper}_STATE_DELETED = 3;\n}}\n\n\
message Get{name}Request {{\n  string name = 1;\n}}\n\n\
message List{cap_plural}Request {{\n  PageRequest page = 1;\n  string filter = 2;\n}}\n\n\
message List{cap_plural}Response {{\n  repeated {name} {plural} = 1;\n  PageInfo page = 2;\n}}\n\n\
message Create{name}Request {{\n  {name} {field} = 1;\n  string request_id = 2;\n}}\n\n\
message Delete{name}Request {{\n  string name = 1;\n  bool allow_missing = 2;\n}}\n",
        cap_plural = capitalize(plural),
        field = snake(name),
    );
    s
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_ascii_uppercase().to_string() + chars.as_str()
    })
}

fn service() -> String {
    let mut s = String::from(HEADER);
    for entity in &ENTITIES {
        let _ = writeln!(s, "import \"bench/v1/{}.proto\";", snake(entity.name));
    }
    s.push('\n');
    s.push_str(OPTIONS);
    s.push_str("// BenchService is the CRUD surface over every benchmark resource.\n");
    s.push_str("service BenchService {\n");
    for &Entity { name, plural, .. } in &ENTITIES {
        let cap = capitalize(plural);
        let _ = write!(
            s,
            "  rpc Get{name}(Get{name}Request) returns ({name});\n  \
  rpc List{cap}(List{cap}Request) returns (List{cap}Response);\n  \
  rpc Create{name}(Create{name}Request) returns ({name});\n  \
  rpc Delete{name}(Delete{name}Request) returns ({name});\n"
        );
    }
    s.push_str("}\n");
    s
}

/// The hot file: a catalog schema, padded with documented fields to ~4 KiB.
fn hot() -> String {
    const TARGET: usize = 4096;
    let mut s = String::from(HEADER);
    s.push_str("import \"bench/v1/common.proto\";\n\n");
    s.push_str(OPTIONS);
    s.push_str(
        "// CatalogEntry is what storefronts fetch for every product page, so it\n\
// is the hottest schema in the registry.\n\
message CatalogEntry {\n  \
  string sku = 1;\n  \
  string title = 2;\n  \
  Money list_price = 3;\n  \
  Money sale_price = 4;\n  \
  Availability availability = 5;\n  \
  repeated Image images = 6;\n  \
  Labels labels = 7;\n  \
  Audit audit = 8;\n\n  \
  // Image is one picture of the product.\n  \
  message Image {\n    \
    string url = 1;\n    \
    int32 width_px = 2;\n    \
    int32 height_px = 3;\n    \
    string alt_text = 4;\n  }\n\n  \
  oneof fulfilment {\n    \
    string warehouse_id = 9;\n    \
    string supplier_id = 10;\n  }\n}\n\n\
// Availability says whether and when an entry can be bought.\n\
enum Availability {\n  \
  AVAILABILITY_UNSPECIFIED = 0;\n  \
  AVAILABILITY_IN_STOCK = 1;\n  \
  AVAILABILITY_BACKORDER = 2;\n  \
  AVAILABILITY_DISCONTINUED = 3;\n}\n\n\
// CatalogAttributes are the searchable facets of an entry.\n\
message CatalogAttributes {\n",
    );
    const FACETS: [&str; 12] = [
        "brand",
        "colour",
        "material",
        "size",
        "fit",
        "season",
        "gender",
        "origin",
        "care",
        "pattern",
        "style",
        "collection",
    ];
    let mut number = 1;
    'fill: loop {
        for facet in FACETS {
            let suffix = if number <= FACETS.len() {
                String::new()
            } else {
                format!("_{}", (number - 1) / FACETS.len() + 1)
            };
            let field = format!(
                "  // The {facet} facet as shown to shoppers; empty when unknown.\n  \
                 string {facet}{suffix} = {number};\n"
            );
            // Leave room for the closing brace and newline.
            if s.len() + field.len() + 2 > TARGET {
                break 'fill;
            }
            s.push_str(&field);
            number += 1;
        }
    }
    s.push_str("}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_files_with_unique_paths() {
        let files = files();
        assert_eq!(files.len(), 20);
        let mut paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), 20);
        assert!(
            paths
                .iter()
                .all(|p| p.starts_with("bench/v1/") && p.ends_with(".proto"))
        );
    }

    #[test]
    fn hot_file_is_about_four_kib() {
        let files = files();
        let hot = files.iter().find(|f| f.path == HOT_PATH).unwrap();
        assert!(
            (3800..=4096).contains(&hot.content.len()),
            "{}",
            hot.content.len()
        );
        assert!(hot.content.ends_with("}\n"));
    }

    #[test]
    fn catalog_attribute_numbers_are_unique() {
        let hot = hot();
        let attrs = hot.split("message CatalogAttributes {").nth(1).unwrap();
        let mut numbers: Vec<&str> = attrs
            .lines()
            .filter_map(|l| l.split(" = ").nth(1))
            .collect();
        let count = numbers.len();
        numbers.sort_unstable();
        numbers.dedup();
        assert!(count > 20);
        assert_eq!(numbers.len(), count);
    }

    #[test]
    fn names() {
        assert_eq!(snake("ShipmentItem"), "shipment_item");
        assert_eq!(screaming("Account"), "ACCOUNT");
        assert_eq!(capitalize("orders"), "Orders");
    }

    #[test]
    fn push_body_is_json_shaped() {
        let files = files();
        let body = push_body(&files);
        assert!(!body.contains('\n'));
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["version"], "v1.0.0");
        assert_eq!(json["dependencies"], serde_json::json!([]));
        let pushed = json["files"].as_array().unwrap();
        assert_eq!(pushed.len(), files.len());
        for (pushed, file) in pushed.iter().zip(&files) {
            assert!(file.path.starts_with("bench/v1/"));
            assert_eq!(pushed["path"], file.path.as_str());
            assert_eq!(pushed["content"], file.content.as_str());
        }
    }
}
