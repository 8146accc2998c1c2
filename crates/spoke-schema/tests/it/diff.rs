#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The structured diff between two compiled versions.

use spoke_test_support::googleapis as split;

use std::collections::BTreeSet;

use spoke_domain::{DependencyPin, FilePath, ProtoFile};
use spoke_schema::breaking::{BreakingConfig, CATEGORIES, check};
use spoke_schema::diff::{ChangeKind, ElementKind, SchemaDiff, diff};
use spoke_schema::{CompileRequest, Compiled, DependencyFiles, compile};

fn compiled(files: &[(&str, &str)]) -> Compiled {
    let request = CompileRequest {
        files: files
            .iter()
            .map(|(path, content)| ProtoFile {
                path: FilePath::parse(path).unwrap(),
                content: (*content).to_owned(),
            })
            .collect(),
        dependencies: Vec::new(),
    };
    compile(&request).unwrap_or_else(|diagnostics| panic!("{diagnostics:#?}"))
}

fn diff_of(previous: &[(&str, &str)], current: &[(&str, &str)]) -> SchemaDiff {
    let (previous, current) = (compiled(previous), compiled(current));
    let diff = diff(&previous, &current);
    assert_marks_every_violation(&previous, &current, &diff);
    diff
}

/// Attaching violations to changes loses none: the diff marks every
/// violation the breaking check finds under each category.
fn assert_marks_every_violation(previous: &Compiled, current: &Compiled, diff: &SchemaDiff) {
    let mut violations = BTreeSet::new();
    for category in CATEGORIES {
        let config = BreakingConfig {
            uses: vec![(*category).to_owned()],
            ..BreakingConfig::default()
        };
        for violation in check(previous, current, &config).unwrap() {
            violations.insert((
                (*category).to_owned(),
                violation.rule.to_owned(),
                violation.message,
            ));
        }
    }
    let marks: BTreeSet<(String, String, String)> = diff
        .changes
        .iter()
        .flat_map(|c| &c.breaking)
        .map(|m| (m.category.clone(), m.rule.clone(), m.message.clone()))
        .collect();
    assert_eq!(marks, violations);
}

type Row<'a> = (
    ChangeKind,
    ElementKind,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
);

/// The changes as (kind, element, name, before, after), in the diff's order.
fn rows(diff: &SchemaDiff) -> Vec<Row<'_>> {
    diff.changes
        .iter()
        .map(|c| {
            (
                c.kind,
                c.element,
                c.name.as_str(),
                c.before.as_deref(),
                c.after.as_deref(),
            )
        })
        .collect()
}

use ChangeKind::{Added, Changed, Removed};
use ElementKind as E;

const USERS_BEFORE: &str = r#"syntax = "proto3";
package a.v1;

message User {
  int32 id = 1;
  string email = 2;
  string name = 3;
  string nickname = 4;
  string old_name = 5;
  repeated string tags = 6;
  oneof contact {
    string phone = 7;
    string fax = 8;
  }
  oneof legacy {
    string pager = 9;
  }
  string locale = 12;
  reserved 20;
  message Address { string city = 1; }
  message Gone { string x = 1; }
}
"#;

const USERS_AFTER: &str = r#"syntax = "proto3";
package a.v1;

message User {
  int64 id = 1;
  bytes email = 2;
  string name = 3 [json_name = "fullName"];
  string display_name = 5;
  map<string, string> tags = 6;
  oneof contact {
    string phone = 7;
  }
  string fax = 8;
  optional string bio = 11;
  string locale = 14;
  reserved 20 to 22;
  reserved "nickname";
  message Address { string city = 1; string zip = 2; }
  message Profile {}
}
"#;

#[test]
fn messages_fields_and_oneofs() {
    let diff = diff_of(
        &[("a/v1/users.proto", USERS_BEFORE)],
        &[("a/v1/users.proto", USERS_AFTER)],
    );
    let expected: Vec<Row<'_>> = vec![
        (
            Changed,
            E::Message,
            "a.v1.User",
            Some("reserved 20"),
            Some("reserved 20 to 22, \"nickname\""),
        ),
        (
            Added,
            E::Field,
            "a.v1.User.Address.zip",
            None,
            Some("string zip = 2"),
        ),
        (Removed, E::Message, "a.v1.User.Gone", None, None),
        (Added, E::Message, "a.v1.User.Profile", None, None),
        (
            Added,
            E::Field,
            "a.v1.User.bio",
            None,
            Some("optional string bio = 11"),
        ),
        // Fields pair by number: a rename is a change of name.
        (
            Changed,
            E::Field,
            "a.v1.User.display_name",
            Some("string old_name = 5"),
            Some("string display_name = 5"),
        ),
        (
            Changed,
            E::Field,
            "a.v1.User.email",
            Some("string email = 2"),
            Some("bytes email = 2"),
        ),
        (
            Changed,
            E::Field,
            "a.v1.User.fax",
            Some("string fax = 8 in oneof contact"),
            Some("string fax = 8"),
        ),
        (
            Changed,
            E::Field,
            "a.v1.User.id",
            Some("int32 id = 1"),
            Some("int64 id = 1"),
        ),
        (Removed, E::Oneof, "a.v1.User.legacy", None, None),
        // ... and then by name: a renumbering is a change of number.
        (
            Changed,
            E::Field,
            "a.v1.User.locale",
            Some("string locale = 12"),
            Some("string locale = 14"),
        ),
        (
            Changed,
            E::Field,
            "a.v1.User.name",
            Some("string name = 3"),
            Some("string name = 3 [json_name = \"fullName\"]"),
        ),
        (
            Removed,
            E::Field,
            "a.v1.User.nickname",
            Some("string nickname = 4"),
            None,
        ),
        (
            Removed,
            E::Field,
            "a.v1.User.pager",
            Some("string pager = 9 in oneof legacy"),
            None,
        ),
        (
            Changed,
            E::Field,
            "a.v1.User.tags",
            Some("repeated string tags = 6"),
            Some("map<string, string> tags = 6"),
        ),
    ];
    assert_eq!(rows(&diff), expected);
    assert!(diff.changes.iter().all(|c| c.path == "a/v1/users.proto"));
    assert_eq!(
        breaking(&diff),
        vec![
            ("a.v1.User.Gone", vec!["FILE", "PACKAGE"]),
            (
                "a.v1.User.display_name",
                vec!["FILE", "PACKAGE", "WIRE_JSON"]
            ),
            ("a.v1.User.email", vec!["FILE", "PACKAGE", "WIRE_JSON"]),
            ("a.v1.User.fax", ALL.to_vec()),
            ("a.v1.User.id", vec!["FILE", "PACKAGE", "WIRE_JSON"]),
            ("a.v1.User.legacy", vec!["FILE", "PACKAGE"]),
            // buf sees field 12 deleted: the renumbering carries it.
            ("a.v1.User.locale", ALL.to_vec()),
            ("a.v1.User.name", vec!["FILE", "PACKAGE", "WIRE_JSON"]),
            ("a.v1.User.nickname", ALL.to_vec()),
            ("a.v1.User.pager", ALL.to_vec()),
            ("a.v1.User.tags", ALL.to_vec()),
        ]
    );
    assert_every_mark_explained(&diff);
}

const API_BEFORE: &str = r#"syntax = "proto3";
package a.v1;

import "google/protobuf/descriptor.proto";

extend google.protobuf.FieldOptions {
  string label = 50001;
  bool old_flag = 50002;
}

enum Status {
  STATUS_UNSPECIFIED = 0;
  STATUS_ACTIVE = 1;
  STATUS_BANNED = 2;
  STATUS_GONE = 4;
}

enum Obsolete { OBSOLETE_UNSPECIFIED = 0; }

message Req {}
message Resp {}

service Users {
  rpc GetUser(Req) returns (Resp);
  rpc ListUsers(Req) returns (stream Resp);
  rpc DeleteUser(Req) returns (Resp);
}

service Legacy { rpc Ping(Req) returns (Resp); }
"#;

const API_AFTER: &str = r#"syntax = "proto3";
package a.v1;

import "google/protobuf/descriptor.proto";

extend google.protobuf.FieldOptions {
  int32 label = 50001;
  bool new_flag = 50003;
}

enum Status {
  STATUS_UNSPECIFIED = 0;
  STATUS_ACTIVE = 1 [deprecated = true];
  STATUS_BANNED = 3;
  reserved 4;
}

enum Color { COLOR_UNSPECIFIED = 0; }

message Req {}
message Resp {}

service Users {
  option deprecated = true;
  rpc GetUser(Req) returns (Resp) {
    option idempotency_level = NO_SIDE_EFFECTS;
  }
  rpc ListUsers(Req) returns (Resp);
  rpc CreateUser(Req) returns (Resp);
}

service Admin { rpc Ban(Req) returns (Resp); }
"#;

#[test]
fn enums_services_rpcs_extensions_and_options() {
    let diff = diff_of(
        &[("a/v1/api.proto", API_BEFORE)],
        &[("a/v1/api.proto", API_AFTER)],
    );
    let expected: Vec<Row<'_>> = vec![
        (Added, E::Service, "a.v1.Admin", None, None),
        (Added, E::Enum, "a.v1.Color", None, None),
        (Removed, E::Service, "a.v1.Legacy", None, None),
        (Removed, E::Enum, "a.v1.Obsolete", None, None),
        (
            Changed,
            E::Enum,
            "a.v1.Status",
            Some("no reserved"),
            Some("reserved 4"),
        ),
        (
            Added,
            E::Option,
            "a.v1.Status.STATUS_ACTIVE#deprecated",
            None,
            Some("deprecated=true"),
        ),
        // Enum values pair by name: a new number is a change.
        (
            Changed,
            E::EnumValue,
            "a.v1.Status.STATUS_BANNED",
            Some("STATUS_BANNED = 2"),
            Some("STATUS_BANNED = 3"),
        ),
        (
            Removed,
            E::EnumValue,
            "a.v1.Status.STATUS_GONE",
            Some("STATUS_GONE = 4"),
            None,
        ),
        (
            Added,
            E::Option,
            "a.v1.Users#deprecated",
            None,
            Some("deprecated=true"),
        ),
        (
            Added,
            E::Rpc,
            "a.v1.Users.CreateUser",
            None,
            Some("rpc CreateUser(a.v1.Req) returns (a.v1.Resp)"),
        ),
        (
            Removed,
            E::Rpc,
            "a.v1.Users.DeleteUser",
            Some("rpc DeleteUser(a.v1.Req) returns (a.v1.Resp)"),
            None,
        ),
        (
            Added,
            E::Option,
            "a.v1.Users.GetUser#idempotency_level",
            None,
            Some("idempotency_level=NO_SIDE_EFFECTS"),
        ),
        (
            Changed,
            E::Rpc,
            "a.v1.Users.ListUsers",
            Some("rpc ListUsers(a.v1.Req) returns (stream a.v1.Resp)"),
            Some("rpc ListUsers(a.v1.Req) returns (a.v1.Resp)"),
        ),
        (
            Changed,
            E::Extension,
            "a.v1.label",
            Some("extend google.protobuf.FieldOptions: string label = 50001"),
            Some("extend google.protobuf.FieldOptions: int32 label = 50001"),
        ),
        (
            Added,
            E::Extension,
            "a.v1.new_flag",
            None,
            Some("extend google.protobuf.FieldOptions: bool new_flag = 50003"),
        ),
        (
            Removed,
            E::Extension,
            "a.v1.old_flag",
            Some("extend google.protobuf.FieldOptions: bool old_flag = 50002"),
            None,
        ),
    ];
    assert_eq!(rows(&diff), expected);
}

fn files_diff() -> SchemaDiff {
    let previous = [
        (
            "a/v1/a.proto",
            "syntax = \"proto3\";\npackage a.v1;\noption go_package = \"example.com/a/v1\";\nmessage Moved { string x = 1; }\nmessage Stay {}\n",
        ),
        (
            "legacy/v1/old.proto",
            "syntax = \"proto3\";\npackage legacy.v1;\nmessage Old {}\n",
        ),
        (
            "c/v1/thing.proto",
            "syntax = \"proto3\";\npackage c.v1;\nmessage Thing {}\n",
        ),
        (
            "s/v1/p2.proto",
            "syntax = \"proto2\";\npackage s.v1;\nmessage P2 {\n  optional int32 n = 2 [default = 5];\n  required string r = 3;\n}\n",
        ),
        (
            "s/v1/s.proto",
            "syntax = \"proto2\";\npackage s.v1;\nmessage S { optional string s = 1; }\n",
        ),
    ];
    let current = [
        (
            "a/v1/a.proto",
            "syntax = \"proto3\";\npackage a.v1;\noption go_package = \"example.com/a/v1;av1\";\noption java_package = \"com.example.a.v1\";\nmessage Stay {}\n",
        ),
        (
            "a/v1/moved.proto",
            "syntax = \"proto3\";\npackage a.v1;\nmessage Moved { string x = 1; }\n",
        ),
        (
            "c/v1/thing.proto",
            "syntax = \"proto3\";\npackage c.v2;\nmessage Thing {}\n",
        ),
        (
            "s/v1/p2.proto",
            "syntax = \"proto2\";\npackage s.v1;\nmessage P2 {\n  optional int32 n = 2 [default = 6];\n  optional string r = 3;\n}\n",
        ),
        (
            "s/v1/s.proto",
            "syntax = \"proto3\";\npackage s.v1;\nmessage S { optional string s = 1; }\n",
        ),
    ];
    diff_of(&previous, &current)
}

#[test]
fn files_packages_moves_syntax_and_file_options() {
    let diff = files_diff();
    let expected: Vec<(&str, Row<'_>)> = vec![
        (
            "a/v1/a.proto",
            (
                Changed,
                E::Option,
                "a/v1/a.proto#go_package",
                Some("go_package=\"example.com/a/v1\""),
                Some("go_package=\"example.com/a/v1;av1\""),
            ),
        ),
        (
            "a/v1/a.proto",
            (
                Added,
                E::Option,
                "a/v1/a.proto#java_package",
                None,
                Some("java_package=\"com.example.a.v1\""),
            ),
        ),
        // A message that moved to another file is the same message.
        (
            "a/v1/moved.proto",
            (
                Changed,
                E::Message,
                "a.v1.Moved",
                Some("file a/v1/a.proto"),
                Some("file a/v1/moved.proto"),
            ),
        ),
        (
            "a/v1/moved.proto",
            (Added, E::File, "a/v1/moved.proto", None, None),
        ),
        (
            "c/v1/thing.proto",
            (Removed, E::Package, "c.v1", None, None),
        ),
        (
            "c/v1/thing.proto",
            (Removed, E::Message, "c.v1.Thing", None, None),
        ),
        ("c/v1/thing.proto", (Added, E::Package, "c.v2", None, None)),
        (
            "c/v1/thing.proto",
            (Added, E::Message, "c.v2.Thing", None, None),
        ),
        (
            "c/v1/thing.proto",
            (
                Changed,
                E::File,
                "c/v1/thing.proto",
                Some("package c.v1"),
                Some("package c.v2"),
            ),
        ),
        (
            "legacy/v1/old.proto",
            (Removed, E::Package, "legacy.v1", None, None),
        ),
        (
            "legacy/v1/old.proto",
            (Removed, E::Message, "legacy.v1.Old", None, None),
        ),
        (
            "legacy/v1/old.proto",
            (Removed, E::File, "legacy/v1/old.proto", None, None),
        ),
        (
            "s/v1/p2.proto",
            (
                Changed,
                E::Field,
                "s.v1.P2.n",
                Some("optional int32 n = 2 [default = 5]"),
                Some("optional int32 n = 2 [default = 6]"),
            ),
        ),
        (
            "s/v1/p2.proto",
            (
                Changed,
                E::Field,
                "s.v1.P2.r",
                Some("required string r = 3"),
                Some("optional string r = 3"),
            ),
        ),
        (
            "s/v1/s.proto",
            (
                Changed,
                E::File,
                "s/v1/s.proto",
                Some("syntax = \"proto2\""),
                Some("syntax = \"proto3\""),
            ),
        ),
    ];
    let actual: Vec<(&str, Row<'_>)> = diff
        .changes
        .iter()
        .map(|c| c.path.as_str())
        .zip(rows(&diff))
        .collect();
    assert_eq!(actual, expected);
    assert_eq!(
        breaking(&diff),
        vec![
            ("a/v1/a.proto#go_package", vec!["FILE", "PACKAGE"]),
            ("a/v1/a.proto#java_package", vec!["FILE", "PACKAGE"]),
            // Moving a message between files of a package breaks only FILE.
            ("a.v1.Moved", vec!["FILE"]),
            ("c.v1", vec!["PACKAGE"]),
            ("c/v1/thing.proto", ALL.to_vec()),
            ("legacy.v1", vec!["PACKAGE"]),
            ("legacy/v1/old.proto", vec!["FILE"]),
            ("s.v1.P2.n", ALL.to_vec()),
            ("s.v1.P2.r", ALL.to_vec()),
            // Also carries the UTF-8 validation rules the syntax change trips.
            ("s/v1/s.proto", vec!["FILE", "PACKAGE"]),
        ]
    );
    let syntax_rules: Vec<&str> = diff
        .changes
        .last()
        .unwrap()
        .breaking
        .iter()
        .map(|m| m.rule.as_str())
        .collect();
    assert!(
        syntax_rules.contains(&"FILE_SAME_SYNTAX")
            && syntax_rules.contains(&"FIELD_SAME_UTF8_VALIDATION")
    );
    assert_every_mark_explained(&diff);
}

#[test]
fn stored_images_diff_like_fresh_compilations() {
    // The registry diffs versions from their stored images.
    let from_image = |compiled: &Compiled| {
        let own: BTreeSet<String> = compiled.roots().map(|f| f.path.clone()).collect();
        Compiled::from_image(&compiled.image(), &own).unwrap()
    };
    let previous = compiled(&[("a/v1/api.proto", API_BEFORE)]);
    let current = compiled(&[("a/v1/api.proto", API_AFTER)]);
    assert_eq!(
        diff(&from_image(&previous), &from_image(&current)),
        diff(&previous, &current)
    );
}

#[test]
fn identical_and_reformatted_versions_have_no_changes() {
    let reformatted = USERS_BEFORE.replace("message User {", "// The user.\n\nmessage User {\n");
    for current in [USERS_BEFORE, reformatted.as_str()] {
        let diff = diff_of(
            &[("a/v1/users.proto", USERS_BEFORE)],
            &[("a/v1/users.proto", current)],
        );
        assert!(diff.is_empty(), "{diff:#?}");
        assert!(diff.breaking_categories().is_empty());
        assert_eq!(diff.render_text(), "no changes\n");
    }
}

#[test]
fn lines_come_from_the_side_that_has_the_element() {
    let diff = diff_of(
        &[("a/v1/users.proto", USERS_BEFORE)],
        &[("a/v1/users.proto", USERS_AFTER)],
    );
    let line = |name: &str| {
        diff.changes
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no change {name}"))
            .line
    };
    // Removed: the previous file's line; added and changed: the current one's.
    assert_eq!(line("a.v1.User.nickname"), Some(8));
    assert_eq!(line("a.v1.User.Gone"), Some(21));
    assert_eq!(line("a.v1.User.bio"), Some(14));
    assert_eq!(line("a.v1.User.email"), Some(6));
    assert_eq!(line("a.v1.User"), Some(4));

    let options = diff_of(
        &[("a/v1/api.proto", API_BEFORE)],
        &[("a/v1/api.proto", API_AFTER)],
    );
    let option = options
        .changes
        .iter()
        .find(|c| c.name == "a.v1.Users.GetUser#idempotency_level")
        .unwrap();
    assert_eq!(option.line, Some(26), "the option statement's line");
}

#[test]
fn text_groups_changes_by_file_with_a_summary() {
    let diff = diff_of(
        &[
            ("a/v1/api.proto", API_BEFORE),
            (
                "legacy/v1/old.proto",
                "syntax = \"proto3\";\npackage legacy.v1;\nmessage Old {}\n",
            ),
        ],
        &[("a/v1/api.proto", API_AFTER)],
    );
    let expected = r#"a/v1/api.proto
  + service a.v1.Admin
  + enum a.v1.Color
  - service a.v1.Legacy  [breaks: FILE, PACKAGE]
  - enum a.v1.Obsolete  [breaks: FILE, PACKAGE]
  ~ enum a.v1.Status: no reserved -> reserved 4
  + option a.v1.Status.STATUS_ACTIVE#deprecated: deprecated=true
  ~ enum a.v1.Status value STATUS_BANNED: STATUS_BANNED = 2 -> STATUS_BANNED = 3  [breaks: FILE, PACKAGE, WIRE_JSON, WIRE]
  - enum a.v1.Status value STATUS_GONE: STATUS_GONE = 4  [breaks: FILE, PACKAGE, WIRE_JSON]
  + option a.v1.Users#deprecated: deprecated=true
  + service a.v1.Users rpc CreateUser: rpc CreateUser(a.v1.Req) returns (a.v1.Resp)
  - service a.v1.Users rpc DeleteUser: rpc DeleteUser(a.v1.Req) returns (a.v1.Resp)  [breaks: FILE, PACKAGE]
  + option a.v1.Users.GetUser#idempotency_level: idempotency_level=NO_SIDE_EFFECTS  [breaks: FILE, PACKAGE, WIRE_JSON, WIRE]
  ~ service a.v1.Users rpc ListUsers: rpc ListUsers(a.v1.Req) returns (stream a.v1.Resp) -> rpc ListUsers(a.v1.Req) returns (a.v1.Resp)  [breaks: FILE, PACKAGE, WIRE_JSON, WIRE]
  ~ extension a.v1.label: extend google.protobuf.FieldOptions: string label = 50001 -> extend google.protobuf.FieldOptions: int32 label = 50001  [breaks: FILE, PACKAGE, WIRE_JSON, WIRE]
  + extension a.v1.new_flag: extend google.protobuf.FieldOptions: bool new_flag = 50003
  - extension a.v1.old_flag: extend google.protobuf.FieldOptions: bool old_flag = 50002  [breaks: FILE, PACKAGE]
legacy/v1/old.proto
  - package legacy.v1  [breaks: PACKAGE]
  - message legacy.v1.Old
  - file legacy/v1/old.proto  [breaks: FILE]
7 added, 8 removed, 4 changed; 11 breaking (FILE 10, PACKAGE 10, WIRE_JSON 5, WIRE 4)
"#;
    assert_eq!(diff.render_text(), expected);
}

#[test]
fn serialises_with_snake_case_kinds() {
    let diff = diff_of(
        &[("a/v1/api.proto", API_BEFORE)],
        &[("a/v1/api.proto", API_AFTER)],
    );
    let json = serde_json::to_value(&diff).unwrap();
    let banned = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "a.v1.Status.STATUS_BANNED")
        .unwrap();
    assert_eq!(
        banned,
        &serde_json::json!({
            "kind": "changed",
            "element": "enum_value",
            "name": "a.v1.Status.STATUS_BANNED",
            "path": "a/v1/api.proto",
            "line": 14,
            "before": "STATUS_BANNED = 2",
            "after": "STATUS_BANNED = 3",
            "breaking": banned["breaking"],
        })
    );
    assert_eq!(
        banned["breaking"][0],
        serde_json::json!({
            "category": "FILE",
            "rule": "ENUM_VALUE_NO_DELETE",
            "message": "Previously present enum value \"2\" on enum \"Status\" was deleted.",
        })
    );
    let back: SchemaDiff = serde_json::from_value(json).unwrap();
    assert_eq!(back, diff);
}

/// Each breaking change's name and the categories it breaks under.
fn breaking(diff: &SchemaDiff) -> Vec<(&str, Vec<&str>)> {
    diff.changes
        .iter()
        .filter(|c| !c.breaking.is_empty())
        .map(|c| {
            let mut categories: Vec<&str> =
                c.breaking.iter().map(|m| m.category.as_str()).collect();
            categories.dedup();
            (c.name.as_str(), categories)
        })
        .collect()
}

/// Every violation found a change the walk made: none had to be kept as a
/// bare "file changed".
fn assert_every_mark_explained(diff: &SchemaDiff) {
    for change in &diff.changes {
        if change.kind == Changed {
            assert!(
                change.before.is_some() && change.after.is_some(),
                "unexplained breaking change {change:#?}"
            );
        }
    }
}

const ALL: [&str; 4] = ["FILE", "PACKAGE", "WIRE_JSON", "WIRE"];

fn one_field_change(before: &str, after: &str) -> SchemaDiff {
    let file = |body: &str| {
        format!("syntax = \"proto3\";\npackage a.v1;\nmessage M {{\n  string keep = 1;\n{body}}}\n")
    };
    let (previous, current) = (file(before), file(after));
    diff_of(
        &[("a/v1/m.proto", previous.as_str())],
        &[("a/v1/m.proto", current.as_str())],
    )
}

/// A field declaration before and after, the change's name, and the
/// categories and rules it breaks.
type CategoryCase<'a> = (&'a str, &'a str, &'a str, &'a [&'a str], &'a [&'a str]);

#[test]
fn categories_are_those_of_the_buf_rules_each_change_violates() {
    // Checked against `buf breaking` v1.75 with each category in turn.
    let cases: &[CategoryCase<'_>] = &[
        // Deleting a field without reserving it breaks everything ...
        (
            "  int32 id = 2;\n",
            "",
            "a.v1.M.id",
            &ALL,
            &[
                "FIELD_NO_DELETE",
                "FIELD_NO_DELETE_UNLESS_NAME_RESERVED",
                "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED",
            ],
        ),
        // ... reserving its number and name keeps the wire and JSON safe.
        (
            "  int32 id = 2;\n",
            "  reserved 2;\n  reserved \"id\";\n",
            "a.v1.M.id",
            &["FILE", "PACKAGE"],
            &["FIELD_NO_DELETE"],
        ),
        // A rename breaks generated code and JSON, not the wire.
        (
            "  int32 id = 2;\n",
            "  int32 ident = 2;\n",
            "a.v1.M.ident",
            &["FILE", "PACKAGE", "WIRE_JSON"],
            &["FIELD_SAME_JSON_NAME", "FIELD_SAME_NAME"],
        ),
        // int32 and int64 share a wire encoding; JSON writes int64 as a string.
        (
            "  int32 id = 2;\n",
            "  int64 id = 2;\n",
            "a.v1.M.id",
            &["FILE", "PACKAGE", "WIRE_JSON"],
            &["FIELD_SAME_TYPE", "FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
        ),
        (
            "  int32 id = 2;\n",
            "  string id = 2;\n",
            "a.v1.M.id",
            &ALL,
            &[
                "FIELD_SAME_TYPE",
                "FIELD_WIRE_COMPATIBLE_TYPE",
                "FIELD_WIRE_JSON_COMPATIBLE_TYPE",
            ],
        ),
    ];
    for (before, after, name, categories, rules) in cases {
        let diff = one_field_change(before, after);
        assert_eq!(
            breaking(&diff),
            vec![(*name, categories.to_vec())],
            "{before:?} -> {after:?}: {diff:#?}"
        );
        let change = diff.changes.iter().find(|c| c.name == *name).unwrap();
        let mut actual_rules: Vec<&str> = change.breaking.iter().map(|m| m.rule.as_str()).collect();
        actual_rules.sort_unstable();
        actual_rules.dedup();
        assert_eq!(actual_rules, rules.to_vec(), "{before:?} -> {after:?}");
        assert_eq!(
            diff.breaking_categories(),
            categories.iter().map(|c| (*c).to_owned()).collect(),
        );
    }
    // Adding a field breaks nothing.
    let added = one_field_change("", "  int32 id = 2;\n");
    assert_eq!(
        rows(&added),
        vec![(Added, E::Field, "a.v1.M.id", None, Some("int32 id = 2"))]
    );
    assert!(added.breaking_categories().is_empty());
}

#[test]
fn marks_name_rule_and_message() {
    let diff = one_field_change("  int32 id = 2;\n", "  int64 id = 2;\n");
    let marks: Vec<(&str, &str, &str)> = diff.changes[0]
        .breaking
        .iter()
        .map(|m| (m.category.as_str(), m.rule.as_str(), m.message.as_str()))
        .collect();
    let same_type =
        "Field \"2\" with name \"id\" on message \"M\" changed type from \"int32\" to \"int64\".";
    assert_eq!(marks[0], ("FILE", "FIELD_SAME_TYPE", same_type));
    assert_eq!(marks[1], ("PACKAGE", "FIELD_SAME_TYPE", same_type));
    assert_eq!(marks[2].0, "WIRE_JSON");
    assert_eq!(marks[2].1, "FIELD_WIRE_JSON_COMPATIBLE_TYPE");
    assert_eq!(marks.len(), 3);
    assert!(diff.render_text().contains(
        "  ~ message a.v1.M field id: int32 id = 2 -> int64 id = 2  [breaks: FILE, PACKAGE, WIRE_JSON]\n"
    ));
}

/// Compiles googleapis' pubsub module against the api module it depends on.
fn compile_pubsub(api: &split::Module, files: Vec<ProtoFile>) -> Compiled {
    let request = CompileRequest {
        files,
        dependencies: vec![DependencyFiles {
            pin: DependencyPin::parse("googleapis-api@v1.0.0").unwrap(),
            files: api.files.clone(),
        }],
    };
    compile(&request).unwrap_or_else(|diagnostics| panic!("{diagnostics:#?}"))
}

#[test]
fn realistic_evolution_of_a_googleapis_module() {
    let Some(root) = split::root() else {
        assert!(
            std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
            "SPOKE_TEST_GOOGLEAPIS does not name the googleapis sources (cargo xtask test installs them)"
        );
        eprintln!("SPOKE_TEST_GOOGLEAPIS is not set; skipping the googleapis diff");
        return;
    };
    let modules = split::load(&root);
    let module = |name: &str| modules.iter().find(|m| m.name == name).unwrap();
    let (api, pubsub) = (module("googleapis-api"), module("googleapis-pubsub"));
    let previous = compile_pubsub(api, pubsub.files.clone());
    assert!(diff(&previous, &previous).is_empty());

    let mutations = [
        (
            "  bool satisfies_pzs = 7 [(google.api.field_behavior) = OPTIONAL];\n",
            "",
        ),
        (
            "get: \"/v1/{topic=projects/*/topics/*}\"",
            "get: \"/v2/{topic=projects/*/topics/*}\"",
        ),
        (
            "pubsub/v2/apiv1/pubsubpb;pubsubpb\"",
            "pubsub/v3/apiv1/pubsubpb;pubsubpb\"",
        ),
        (
            "string kms_key_name = 5 [\n    (google.api.field_behavior) = OPTIONAL,",
            "string kms_key_name = 5 [\n    (google.api.field_behavior) = REQUIRED,",
        ),
    ];
    let files = pubsub
        .files
        .iter()
        .map(|file| {
            let mut file = file.clone();
            if file.path.as_str() == "google/pubsub/v1/pubsub.proto" {
                for (from, to) in mutations {
                    assert_eq!(file.content.matches(from).count(), 1, "{from}");
                    file.content = file.content.replace(from, to);
                }
            }
            file
        })
        .collect();
    let current = compile_pubsub(api, files);
    let diff = diff(&previous, &current);
    let expected: Vec<Row<'_>> = vec![
        // Custom options are compared too, in text format.
        (
            Changed,
            E::Option,
            "google.pubsub.v1.Publisher.GetTopic#(google.api.http)",
            Some("(google.api.http)={get:\"/v1/{topic=projects/*/topics/*}\"}"),
            Some("(google.api.http)={get:\"/v2/{topic=projects/*/topics/*}\"}"),
        ),
        (
            Changed,
            E::Option,
            "google.pubsub.v1.Topic.kms_key_name#(google.api.field_behavior)",
            Some("(google.api.field_behavior)=[OPTIONAL]"),
            Some("(google.api.field_behavior)=[REQUIRED]"),
        ),
        (
            Removed,
            E::Field,
            "google.pubsub.v1.Topic.satisfies_pzs",
            Some("bool satisfies_pzs = 7"),
            None,
        ),
        (
            Changed,
            E::Option,
            "google/pubsub/v1/pubsub.proto#go_package",
            Some("go_package=\"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb;pubsubpb\""),
            Some("go_package=\"cloud.google.com/go/pubsub/v3/apiv1/pubsubpb;pubsubpb\""),
        ),
    ];
    assert_eq!(rows(&diff), expected);
    assert_eq!(
        breaking(&diff),
        vec![
            ("google.pubsub.v1.Topic.satisfies_pzs", ALL.to_vec()),
            (
                "google/pubsub/v1/pubsub.proto#go_package",
                vec!["FILE", "PACKAGE"]
            ),
        ]
    );
    assert_marks_every_violation(&previous, &current, &diff);
}

/// An editions file is shown as one: its `edition` statement, no labels
/// but `repeated`, and the presence and message encoding it resolves
/// (inherited or set on the field) where they are not the edition's
/// default, as the `features` that set them.
#[test]
fn editions_files_show_their_edition_and_resolved_features() {
    let proto3 = [(
        "e/v1/e.proto",
        "syntax = \"proto3\";\npackage e.v1;\nmessage M {\n  int32 a = 1;\n  optional int32 b = 2;\n  repeated int32 c = 3;\n  M child = 4;\n  oneof o {\n    int32 d = 5;\n  }\n  map<string, int32> e = 6;\n}\n",
    )];
    let body = "message M {\n  int32 a = 1;\n  int32 b = 2 [features.field_presence = EXPLICIT];\n  repeated int32 c = 3;\n  M child = 4;\n  oneof o {\n    int32 d = 5;\n  }\n  map<string, int32> e = 6;\n  int32 f = 7 [features.field_presence = LEGACY_REQUIRED];\n  M g = 8 [features.message_encoding = DELIMITED];\n  extensions 100 to 200;\n}\nextend M {\n  M h = 100 [features.message_encoding = DELIMITED];\n}\n";
    let implicit = format!(
        "edition = \"2023\";\npackage e.v1;\noption features.field_presence = IMPLICIT;\n{body}"
    );
    let implicit = [("e/v1/e.proto", implicit.as_str())];
    let diff = diff_of(&proto3, &implicit);
    use ChangeKind::{Added, Changed};
    use ElementKind::{Extension, Field, File, Message, Option};
    assert_eq!(
        rows(&diff),
        [
            (
                Changed,
                Message,
                "e.v1.M",
                Some("no extensions"),
                Some("extensions 100 to 200")
            ),
            (
                Changed,
                Field,
                "e.v1.M.a",
                Some("int32 a = 1"),
                Some("int32 a = 1 [features.field_presence = IMPLICIT]")
            ),
            (
                Changed,
                Field,
                "e.v1.M.b",
                Some("optional int32 b = 2"),
                Some("int32 b = 2")
            ),
            (
                Added,
                Option,
                "e.v1.M.b#features",
                None,
                Some("features={field_presence:EXPLICIT}")
            ),
            (
                Added,
                Field,
                "e.v1.M.f",
                None,
                Some("int32 f = 7 [features.field_presence = LEGACY_REQUIRED]")
            ),
            (
                Added,
                Field,
                "e.v1.M.g",
                None,
                Some("e.v1.M g = 8 [features.message_encoding = DELIMITED]")
            ),
            (
                Added,
                Extension,
                "e.v1.h",
                None,
                Some("extend e.v1.M: e.v1.M h = 100 [features.message_encoding = DELIMITED]")
            ),
            (
                Changed,
                File,
                "e/v1/e.proto",
                Some("syntax = \"proto3\""),
                Some("edition = \"2023\"")
            ),
            (
                Added,
                Option,
                "e/v1/e.proto#features",
                None,
                Some("features={field_presence:IMPLICIT}")
            ),
        ]
    );
    // Dropping the file's default changes the presence of the fields that
    // inherit it: each is a change, marked with the rule it breaks.
    let explicit = format!("edition = \"2023\";\npackage e.v1;\n{body}");
    let diff = diff_of(&implicit, &[("e/v1/e.proto", explicit.as_str())]);
    let a = diff.changes.iter().find(|c| c.name == "e.v1.M.a").unwrap();
    assert_eq!(
        (a.before.as_deref(), a.after.as_deref()),
        (
            Some("int32 a = 1 [features.field_presence = IMPLICIT]"),
            Some("int32 a = 1")
        )
    );
    assert!(
        a.breaking
            .iter()
            .any(|m| m.rule == "FIELD_SAME_CARDINALITY"),
        "{a:?}"
    );
}
