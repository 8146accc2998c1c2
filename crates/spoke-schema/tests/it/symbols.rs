#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Symbol extraction from a compiled version's own files.

use spoke_domain::{DependencyPin, FilePath, ProtoFile};
use spoke_schema::{CompileRequest, DependencyFiles, Symbol, SymbolKind, compile, extract_symbols};

const SHOP: &str = r#"syntax = "proto3";

// Shop things.
package shop.v1;

import "dep/money.proto";

// An order placed by a customer.
message Order {
  // Unique id.
  string id = 1;
  dep.v1.Money total = 2;
  map<string, string> labels = 3;

  // One line of an order.
  message Line {
    string sku = 1;
  }

  repeated Line lines = 4;

  /* Where the order is. */
  enum State {
    // Not set.
    STATE_UNSPECIFIED = 0;
    STATE_OPEN = 1;
  }
}

// Manages orders.
service Orders {
  // Fetches one order.
  rpc GetOrder(Order) returns (Order);
  rpc ListOrders(Order) returns (stream Order);
}
"#;

fn symbols() -> Vec<Symbol> {
    let request = CompileRequest {
        files: vec![ProtoFile {
            path: FilePath::parse("shop/v1/shop.proto").unwrap(),
            content: SHOP.to_owned(),
        }],
        dependencies: vec![DependencyFiles {
            pin: DependencyPin::parse("dep@v1.0.0").unwrap(),
            files: vec![ProtoFile {
                path: FilePath::parse("dep/money.proto").unwrap(),
                content: "syntax = \"proto3\";\npackage dep.v1;\n\n// Money.\nmessage Money {\n  int64 units = 1;\n}\n"
                    .to_owned(),
            }],
        }],
    };
    extract_symbols(&compile(&request).unwrap())
}

fn find<'a>(symbols: &'a [Symbol], full_name: &str) -> &'a Symbol {
    symbols
        .iter()
        .find(|s| s.full_name == full_name)
        .unwrap_or_else(|| panic!("no symbol {full_name} in {symbols:#?}"))
}

#[test]
fn finds_every_kind_with_line_and_comment() {
    let symbols = symbols();
    let expect: &[(&str, SymbolKind, u32, Option<&str>)] = &[
        ("shop.v1", SymbolKind::Package, 4, Some("Shop things.")),
        (
            "shop.v1.Order",
            SymbolKind::Message,
            9,
            Some("An order placed by a customer."),
        ),
        (
            "shop.v1.Order.id",
            SymbolKind::Field,
            11,
            Some("Unique id."),
        ),
        ("shop.v1.Order.total", SymbolKind::Field, 12, None),
        ("shop.v1.Order.labels", SymbolKind::Field, 13, None),
        ("shop.v1.Order.lines", SymbolKind::Field, 20, None),
        (
            "shop.v1.Order.Line",
            SymbolKind::Message,
            16,
            Some("One line of an order."),
        ),
        ("shop.v1.Order.Line.sku", SymbolKind::Field, 17, None),
        (
            "shop.v1.Order.State",
            SymbolKind::Enum,
            23,
            Some("Where the order is."),
        ),
        (
            "shop.v1.Order.STATE_UNSPECIFIED",
            SymbolKind::EnumValue,
            25,
            Some("Not set."),
        ),
        ("shop.v1.Order.STATE_OPEN", SymbolKind::EnumValue, 26, None),
        (
            "shop.v1.Orders",
            SymbolKind::Service,
            31,
            Some("Manages orders."),
        ),
        (
            "shop.v1.Orders.GetOrder",
            SymbolKind::Method,
            33,
            Some("Fetches one order."),
        ),
        ("shop.v1.Orders.ListOrders", SymbolKind::Method, 34, None),
    ];
    let got: Vec<(&str, SymbolKind, u32, Option<&str>)> = symbols
        .iter()
        .map(|s| (s.full_name.as_str(), s.kind, s.line, s.comment.as_deref()))
        .collect();
    assert_eq!(got, expect);
    assert!(symbols.iter().all(|s| s.path == "shop/v1/shop.proto"));
}

#[test]
fn leaves_out_map_entries_and_dependency_files() {
    let symbols = symbols();
    assert!(!symbols.iter().any(|s| s.full_name.contains("LabelsEntry")));
    assert!(!symbols.iter().any(|s| s.full_name.starts_with("dep.")));
}

#[test]
fn nested_message_and_rpc_are_found_by_name() {
    let symbols = symbols();
    assert_eq!(
        find(&symbols, "shop.v1.Order.Line").kind,
        SymbolKind::Message
    );
    assert_eq!(
        find(&symbols, "shop.v1.Orders.GetOrder").kind.as_str(),
        "rpc"
    );
    assert_eq!(
        find(&symbols, "shop.v1.Order.STATE_OPEN").kind.as_str(),
        "enum_value"
    );
}

#[test]
fn fields_and_rpcs_record_the_types_they_use() {
    let symbols = symbols();
    let refs = |name: &str| find(&symbols, name).type_refs.clone();
    assert_eq!(refs("shop.v1.Order.total"), ["dep.v1.Money"]);
    assert_eq!(refs("shop.v1.Order.lines"), ["shop.v1.Order.Line"]);
    assert!(
        refs("shop.v1.Order.id").is_empty(),
        "a scalar refers to no type"
    );
    assert!(
        refs("shop.v1.Order.labels").is_empty(),
        "map<string, string>"
    );
    assert_eq!(refs("shop.v1.Orders.GetOrder"), ["shop.v1.Order"]);
    assert!(refs("shop.v1.Order").is_empty());

    let request = CompileRequest {
        files: vec![ProtoFile {
            path: FilePath::parse("m.proto").unwrap(),
            content: "syntax = \"proto3\";\npackage m;\nenum E { E_UNSPECIFIED = 0; }\n\
                      message A {}\nmessage B {}\nmessage C {\n  map<string, A> by_key = 1;\n  E e = 2;\n}\n\
                      service S { rpc Call(A) returns (B); }\n"
                .to_owned(),
        }],
        dependencies: vec![],
    };
    let symbols = extract_symbols(&compile(&request).unwrap());
    assert_eq!(
        find(&symbols, "m.C.by_key").type_refs,
        ["m.A"],
        "a map's value type"
    );
    assert_eq!(find(&symbols, "m.C.e").type_refs, ["m.E"]);
    assert_eq!(find(&symbols, "m.S.Call").type_refs, ["m.A", "m.B"]);
}
