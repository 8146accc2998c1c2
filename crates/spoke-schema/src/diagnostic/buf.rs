//! buf's wording of compile errors: what `buf build` (buf 1.75) prints for
//! the error a protox or prost-reflect diagnostic reports, and where.
//!
//! Neither compiler exposes its error kinds (their enums are private), so
//! the kind is recognized from the error's fixed message template
//! ([`Kind::of`]); each kind then says buf's words, and where buf places
//! the error when that differs (the name after `option`, the value of an
//! option, the first of two definitions, …), found from the labels and
//! the source text. A message no template matches keeps its own words.

use super::{BufForm, position_at};

/// A located label of a compiler diagnostic: its text and byte offset.
pub(crate) type Label<'a> = (Option<&'a str>, usize);

/// The error kinds buf words differently, with what the wording needs.
#[derive(Debug, PartialEq, Eq)]
enum Kind<'m> {
    /// `expected X, but found 'T'` where X asks for a `;`.
    UnexpectedAfterDefinition(&'m str),
    /// `expected an integer, but found 'IDENT'`.
    NotAConstant(&'m str),
    /// `expected …, but reached end of file`.
    UnmatchedBrace,
    UnknownSyntax,
    DuplicatePackage,
    FieldNumberOutOfRange,
    /// `integer is too large` where a field number was expected.
    IntegerTooLarge,
    MismatchedTypes,
    MapFieldWithLabel,
    MapKeyType,
    OneofFieldWithLabel,
    Proto2WithoutLabel,
    Proto3Default,
    Proto3Group,
    Proto3Required,
    /// `invalid token` (the character at the position).
    InvalidToken,
    NameNotDefined(&'m str),
    OptionNotDefined(&'m str),
    DuplicateFieldNumber(&'m str),
    SameJsonName,
    DefinedTwice(&'m str),
    DuplicateEnumNumber(&'m str),
    EmptyEnum,
    OpenEnumFirstValue,
    ExtensionNumberUnreserved(&'m str),
    ReservedFieldNumber(&'m str),
    ReservedEnumNumber(&'m str),
    /// `'X' is not a message type` and the like.
    NotOfType(&'m str),
    DuplicateOption(&'m str),
    ReservedFieldName,
    ReservedEnumValueName,
}

/// The text between `prefix` and `suffix`, when `message` is exactly that.
fn between<'m>(message: &'m str, prefix: &str, suffix: &str) -> Option<&'m str> {
    message.strip_prefix(prefix)?.strip_suffix(suffix)
}

impl<'m> Kind<'m> {
    /// The kind of a protox or prost-reflect message, by its template.
    fn of(message: &'m str) -> Option<Kind<'m>> {
        use Kind::*;
        let exact = match message {
            "multiple package names specified" => Some(DuplicatePackage),
            "integer is too large" => Some(IntegerTooLarge),
            "map fields cannot have labels" => Some(MapFieldWithLabel),
            "a map field key type must be an integer, boolean or string" => Some(MapKeyType),
            "oneof fields cannot have labels" => Some(OneofFieldWithLabel),
            "default values are not allowed in proto3" => Some(Proto3Default),
            "groups are not allowed in proto3 syntax" => Some(Proto3Group),
            "required fields are not allowed in proto3 syntax" => Some(Proto3Required),
            "invalid token" => Some(InvalidToken),
            "enums must have at least one value" => Some(EmptyEnum),
            "the first value for proto3 enums must be 0" => Some(OpenEnumFirstValue),
            _ => None,
        };
        if exact.is_some() {
            return exact;
        }
        if message.starts_with("fields must have a label with proto2 syntax") {
            return Some(Proto2WithoutLabel);
        }
        if message.starts_with("message numbers must be between")
            || (message.starts_with("invalid field number '") && message.ends_with('\''))
        {
            return Some(FieldNumberOutOfRange);
        }
        if message.starts_with("unknown syntax '") {
            return Some(UnknownSyntax);
        }
        if message.starts_with("expected value to be ")
            || (message.starts_with("expected a value of type '") && message.contains("for option"))
        {
            return Some(MismatchedTypes);
        }
        if let Some(found) = between(message, "expected an integer, but found '", "'")
            && is_identifier(found)
        {
            return Some(NotAConstant(found));
        }
        if let Some((expected, found)) = message
            .strip_prefix("expected ")
            .and_then(|rest| rest.split_once(", but found '"))
            && expected.starts_with("';'")
        {
            return found.strip_suffix('\'').map(UnexpectedAfterDefinition);
        }
        if message.starts_with("expected ") && message.ends_with(", but reached end of file") {
            return Some(UnmatchedBrace);
        }
        if let Some(name) = between(message, "name '", "' is not defined") {
            return Some(NameNotDefined(name));
        }
        if let Some(name) = between(message, "option field '", "' is not defined") {
            return Some(OptionNotDefined(name));
        }
        if let Some(name) = between(message, "option field '", "' has already been set") {
            return Some(DuplicateOption(name));
        }
        if let Some(number) = between(message, "field number '", "' is already used") {
            return Some(DuplicateFieldNumber(number));
        }
        if message.starts_with("camel-case name of field '")
            || message.starts_with("a field with JSON name '")
        {
            return Some(SameJsonName);
        }
        if let Some(name) = between(message, "name '", "' is defined twice") {
            return Some(DefinedTwice(name));
        }
        if let Some(rest) = message.strip_prefix("name '")
            && let Some((name, _)) = rest.split_once("' is already defined in file '")
        {
            return Some(DefinedTwice(name));
        }
        if let Some(number) = between(message, "enum number '", "' has already been used") {
            return Some(DuplicateEnumNumber(number));
        }
        if let Some(rest) = message.strip_prefix("message '")
            && let Some((_, number)) = rest.split_once("' does not define '")
        {
            return number
                .strip_suffix("' as an extension number")
                .map(ExtensionNumberUnreserved);
        }
        if let Some(rest) = message.strip_prefix("field number '")
            && let Some((number, range)) = rest.split_once("' conflicts with ")
            && (range.starts_with("reserved range") || range.starts_with("extension range"))
        {
            return Some(ReservedFieldNumber(number));
        }
        if let Some(rest) = message.strip_prefix("enum number '")
            && let Some((number, range)) = rest.split_once("' conflicts with ")
            && range.starts_with("reserved range")
        {
            return Some(ReservedEnumNumber(number));
        }
        if message.starts_with("field name \"") && message.ends_with("\" is reserved") {
            return Some(ReservedFieldName);
        }
        if message.starts_with("enum value \"") && message.ends_with("\" is reserved") {
            return Some(ReservedEnumValueName);
        }
        if message.starts_with('\'')
            && let Some((name, _)) = message[1..].split_once("' is not ")
        {
            return Some(NotOfType(name));
        }
        None
    }
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// How buf words and places the error `message` found at byte `offset` of
/// `source` (`labels`: the diagnostic's located labels). `None` when the
/// message is not one buf words differently: it is then printed as it is.
pub(crate) fn form(
    message: &str,
    offset: Option<usize>,
    source: &str,
    labels: &[Label],
) -> Option<BufForm> {
    use Kind::*;
    let kind = Kind::of(message)?;
    let offset = match (offset, &kind) {
        (Some(offset), _) => offset,
        (None, UnmatchedBrace) => source.len(),
        (None, _) => return None,
    };
    let text = Text(source);
    let at = |offset: usize, message: String| {
        let (line, column) = position_at(source, offset);
        Some(BufForm {
            line,
            column,
            message,
        })
    };
    let here = |message: &str| at(offset, message.to_owned());
    match kind {
        UnexpectedAfterDefinition(token) => here(&format!("unexpected `{token}` after definition")),
        NotAConstant(name) => here(&format!("cannot find `{name}` in this scope")),
        UnmatchedBrace => {
            let open = text.unmatched_brace()?;
            at(open, "encountered unmatched `{` delimiter".to_owned())
        }
        UnknownSyntax => here("unrecognized `syntax` declaration value"),
        DuplicatePackage => {
            let second = labels.iter().map(|(_, offset)| *offset).max()?;
            at(second, "unexpected `package` declaration".to_owned())
        }
        FieldNumberOutOfRange => here("field number out of range"),
        IntegerTooLarge if text.after_equals(offset) => here("field number out of range"),
        IntegerTooLarge => None,
        MismatchedTypes => {
            let value = text.option_value(offset).unwrap_or(offset);
            at(value, "mismatched types".to_owned())
        }
        MapFieldWithLabel => {
            let map = text.skip_word(offset);
            at(map, "unexpected type after `repeated`".to_owned())
                .filter(|_| text.word(offset) == Some("repeated"))
        }
        MapKeyType => {
            let key = text.word(offset)?;
            here(&format!("expected map key type, found scalar type `{key}`"))
        }
        OneofFieldWithLabel => {
            let label = text.word(offset)?;
            here(&format!("unexpected `{label}`"))
        }
        Proto2WithoutLabel => here("unexpected type name"),
        Proto3Default => here("custom default in \"proto3\""),
        Proto3Group => {
            let mut group = offset;
            if text.word(group) != Some("group") {
                group = text.skip_word(group);
            }
            at(group, "group syntax is not supported".to_owned())
        }
        Proto3Required => here("unexpected `required`"),
        InvalidToken => {
            let token = source.get(offset..)?.chars().next()?;
            (text.depth_at(offset) == 0).then_some(())?;
            here(&format!("unexpected `{token}` in file scope"))
        }
        NameNotDefined(name) => {
            let name_at = text.option_name(offset).unwrap_or(offset);
            let name_at = if source.get(name_at..)?.starts_with('(') {
                name_at + 1
            } else {
                name_at
            };
            at(name_at, format!("cannot find `{name}` in this scope"))
        }
        OptionNotDefined(name) => {
            let options = text.options_message(offset)?;
            let name_at = text.option_name(offset).unwrap_or(offset);
            at(
                name_at,
                format!("cannot find message field `{name}` in `google.protobuf.{options}`"),
            )
        }
        DuplicateFieldNumber(number) => {
            here(&format!("field number `{number}` used more than once"))
        }
        SameJsonName => {
            let value = text.json_name_value(offset).unwrap_or(offset);
            at(value, "message fields have the same JSON name".to_owned())
        }
        DefinedTwice(name) => {
            let short = name.rsplit('.').next().unwrap_or(name);
            let first = labels
                .iter()
                .find(|(label, _)| *label == Some("first defined here"))
                .map_or(offset, |(_, offset)| *offset);
            at(first, format!("`{short}` declared multiple times"))
        }
        DuplicateEnumNumber(number) => here(&format!("enum value `{number}` used more than once")),
        EmptyEnum => here("enum type must define at least one value"),
        OpenEnumFirstValue => here("first value of open enum must be zero"),
        ExtensionNumberUnreserved(number) => {
            here(&format!("extension with unreserved number `{number}`"))
        }
        ReservedFieldNumber(number) => here(&format!("use of reserved field number `{number}`")),
        ReservedEnumNumber(number) => {
            // At the value's number, the first `= N` after the range.
            let value = text.assigned(offset, number)?;
            at(value, format!("use of reserved enum value `{number}`"))
        }
        NotOfType(name) => {
            let defined = labels
                .iter()
                .find(|(label, _)| *label == Some("defined here"))
                .map(|(_, offset)| *offset)?;
            let found = match text.word_before(defined)? {
                "enum" => "enum type",
                "message" => "message type",
                "service" => "service",
                _ => return None,
            };
            let expected = message.rsplit_once("' is not ")?.1;
            let expected = expected
                .strip_prefix("a ")
                .or_else(|| expected.strip_prefix("an "))
                .unwrap_or(expected);
            here(&format!("expected {expected}, found {found} `{name}`"))
        }
        DuplicateOption(name) => {
            let name_at = text.option_name(offset).unwrap_or(offset);
            at(name_at, format!("option `{name}` set multiple times"))
        }
        ReservedFieldName => here("use of reserved message field name"),
        ReservedEnumValueName => here("use of reserved enum value name"),
    }
}

/// Source text, read as far as buf's placement needs: words, the nesting
/// of braces (outside comments and strings), option statements.
struct Text<'s>(&'s str);

impl<'s> Text<'s> {
    /// The identifier starting at `offset`.
    fn word(&self, offset: usize) -> Option<&'s str> {
        let rest = self.0.get(offset..)?;
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        (end > 0).then(|| &rest[..end])
    }

    /// The offset after the word at `offset` and the blanks after it.
    fn skip_word(&self, offset: usize) -> usize {
        let end = offset + self.word(offset).map_or(0, str::len);
        self.skip_blanks(end)
    }

    fn skip_blanks(&self, offset: usize) -> usize {
        let rest = self.0.get(offset..).unwrap_or_default();
        offset + (rest.len() - rest.trim_start().len())
    }

    /// The word that ends just before `offset`, blanks between skipped.
    fn word_before(&self, offset: usize) -> Option<&'s str> {
        let before = self.0.get(..offset)?.trim_end();
        let start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        (start < before.len()).then(|| &before[start..])
    }

    /// Where `number` starts in the first `= number` after `offset`.
    fn assigned(&self, offset: usize, number: &str) -> Option<usize> {
        let mut from = offset;
        while let Some(found) = self.0.get(from..)?.find('=') {
            let value = self.skip_blanks(from + found + 1);
            let rest = self.0.get(value..)?;
            let ends = rest[number.len().min(rest.len())..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_ascii_alphanumeric());
            if rest.starts_with(number) && ends {
                return Some(value);
            }
            from += found + 1;
        }
        None
    }

    /// Whether the last thing before `offset` is `=` (a field number).
    fn after_equals(&self, offset: usize) -> bool {
        self.0
            .get(..offset)
            .is_some_and(|before| before.trim_end().ends_with('='))
    }

    /// Where the name starts in the option statement (`option NAME = …`)
    /// or field option (`[NAME = …]`) at `offset`.
    fn option_name(&self, offset: usize) -> Option<usize> {
        match self.word(offset) {
            Some("option") => Some(self.skip_word(offset)),
            _ => None,
        }
    }

    /// Where the value starts in the option at `offset` (after its `=`).
    fn option_value(&self, offset: usize) -> Option<usize> {
        let rest = self.0.get(offset..)?;
        let end = rest.find([';', ']']).unwrap_or(rest.len());
        let equals = rest[..end].find('=')?;
        Some(self.skip_blanks(offset + equals + 1))
    }

    /// Where the value of the field's `json_name` option starts, when the
    /// field at `offset` has one.
    fn json_name_value(&self, offset: usize) -> Option<usize> {
        let rest = self.0.get(offset..)?;
        let end = rest.find(';')?;
        let option = rest[..end].find("json_name")?;
        self.option_value(offset + option)
    }

    /// The options message of the option statement at `offset`, from the
    /// block it is in.
    fn options_message(&self, offset: usize) -> Option<&'static str> {
        if self.word(offset) != Some("option") {
            return None;
        }
        match self.enclosing(offset) {
            None => Some("FileOptions"),
            Some("message") => Some("MessageOptions"),
            Some("enum") => Some("EnumOptions"),
            Some("service") => Some("ServiceOptions"),
            Some("oneof") => Some("OneofOptions"),
            _ => None,
        }
    }

    /// The keyword of the innermost block (`message`, `enum`, …) open at
    /// `offset`, `None` at file scope.
    fn enclosing(&self, offset: usize) -> Option<&'s str> {
        let mut open = Vec::new();
        self.scan(offset, |brace, at| match brace {
            '{' => open.push(at),
            _ => {
                open.pop();
            }
        });
        let brace = *open.last()?;
        // `message Name {`: the keyword is two words back.
        let name = self.word_before(brace)?;
        let name_start = self.0[..brace].trim_end().len() - name.len();
        self.word_before(name_start)
    }

    /// How many braces are open at `offset`.
    fn depth_at(&self, offset: usize) -> usize {
        let mut depth = 0usize;
        self.scan(offset, |brace, _| match brace {
            '{' => depth += 1,
            _ => depth = depth.saturating_sub(1),
        });
        depth
    }

    /// The first `{` of the file never closed.
    fn unmatched_brace(&self) -> Option<usize> {
        let mut open = Vec::new();
        self.scan(self.0.len(), |brace, at| match brace {
            '{' => open.push(at),
            _ => {
                open.pop();
            }
        });
        open.first().copied()
    }

    /// Calls `each` with every brace before `end` that is code (not in a
    /// comment or a string), and its offset.
    fn scan(&self, end: usize, mut each: impl FnMut(char, usize)) {
        let text = self.0.get(..end).unwrap_or(self.0);
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '/' if chars.peek().is_some_and(|(_, n)| *n == '/') => {
                    for (_, c) in chars.by_ref() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                '/' if chars.peek().is_some_and(|(_, n)| *n == '*') => {
                    chars.next();
                    let mut star = false;
                    for (_, c) in chars.by_ref() {
                        if star && c == '/' {
                            break;
                        }
                        star = c == '*';
                    }
                }
                '"' | '\'' => {
                    let mut escaped = false;
                    for (_, s) in chars.by_ref() {
                        if s == '\n' || (s == c && !escaped) {
                            break;
                        }
                        escaped = s == '\\' && !escaped;
                    }
                }
                '{' | '}' => each(c, at),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_read_from_the_templates() {
        assert_eq!(
            Kind::of("expected ';' or '[', but found '}'"),
            Some(Kind::UnexpectedAfterDefinition("}"))
        );
        assert_eq!(
            Kind::of("name 'a.A' is already defined in file 'a.proto'"),
            Some(Kind::DefinedTwice("a.A"))
        );
        assert_eq!(
            Kind::of("'a.E' is not a message type"),
            Some(Kind::NotOfType("a.E"))
        );
        assert_eq!(Kind::of("something else entirely"), None);
    }

    #[test]
    fn the_source_is_read_outside_comments_and_strings() {
        let text = Text("message A { // {\n  string s = 1 [default = \"{\"];\n  enum E {\n");
        assert_eq!(text.unmatched_brace(), Some(10));
        assert_eq!(text.depth_at(text.0.len()), 2);
        assert_eq!(text.enclosing(text.0.len()), Some("enum"));
        assert_eq!(text.enclosing(5), None);
        let option = Text("option java_package = \"x\";");
        assert_eq!(option.option_name(0), Some(7));
        assert_eq!(option.option_value(0), Some(22));
        assert_eq!(option.options_message(0), Some("FileOptions"));
    }
}
