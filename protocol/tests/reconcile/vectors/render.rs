//! Rendering the vectors as the committed JSON: a frame or an item on one line, other
//! containers one element a line (short arrays of scalars excepted), keys in a fixed order,
//! two-space indent, final newline.

use super::*;

pub(super) enum Json {
    Number(u64),
    Text(String),
    Array(Vec<Json>),
    Object(Vec<(&'static str, Json)>),
    /// Written on one line.
    Line(Box<Json>),
}

/// Arrays of scalars longer than this go one element a line.
pub(super) const INLINE_ARRAY: usize = 100;

impl Json {
    pub(super) fn text(value: impl Into<String>) -> Json {
        Json::Text(value.into())
    }

    pub(super) fn is_scalar(&self) -> bool {
        matches!(self, Json::Number(_) | Json::Text(_))
    }

    pub(super) fn inline(&self) -> String {
        match self {
            Json::Number(number) => number.to_string(),
            Json::Text(text) => serde_json::to_string(text).unwrap(),
            Json::Array(elements) => {
                format!("[{}]", elements.iter().map(Json::inline).collect::<Vec<_>>().join(", "))
            }
            Json::Object(entries) => format!(
                "{{{}}}",
                entries
                    .iter()
                    .map(|(key, value)| format!("{}: {}", Json::text(*key).inline(), value.inline()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Json::Line(json) => json.inline(),
        }
    }

    pub(super) fn write(&self, indent: usize, out: &mut String) {
        let inline = match self {
            Json::Number(_) | Json::Text(_) | Json::Line(_) => true,
            Json::Array(elements) => {
                elements.is_empty()
                    || (elements.iter().all(Json::is_scalar) && self.inline().len() <= INLINE_ARRAY)
            }
            Json::Object(entries) => entries.is_empty(),
        };
        if inline {
            out.push_str(&self.inline());
            return;
        }
        let pad = "  ".repeat(indent + 1);
        let (open, close) = if matches!(self, Json::Array(_)) { ('[', ']') } else { ('{', '}') };
        out.push(open);
        let mut first = true;
        let mut element = |key: Option<&str>, value: &Json, out: &mut String| {
            out.push_str(if first { "\n" } else { ",\n" });
            first = false;
            out.push_str(&pad);
            if let Some(key) = key {
                out.push_str(&Json::text(key).inline());
                out.push_str(": ");
            }
            value.write(indent + 1, out);
        };
        match self {
            Json::Array(elements) => elements.iter().for_each(|value| element(None, value, out)),
            Json::Object(entries) => entries.iter().for_each(|(key, value)| element(Some(key), value, out)),
            Json::Number(_) | Json::Text(_) | Json::Line(_) => {}
        }
        out.push('\n');
        out.push_str(&"  ".repeat(indent));
        out.push(close);
    }
}

pub(super) fn json_side(side: &Side) -> Json {
    let items = Json::Array(
        side.items
            .iter()
            .map(|item| {
                Json::Line(Box::new(Json::Array(vec![
                    Json::Number(item.time),
                    Json::text(hex::encode(item.id.0)),
                ])))
            })
            .collect(),
    );
    // The initiator's salt; the responder has none.
    let salt = side.salt.map(|salt| ("salt", Json::text(hex::encode(salt.0))));
    Json::Object(salt.into_iter().chain([("items", items)]).collect())
}

pub(super) fn json_ids(ids: &[RecordId]) -> Json {
    Json::Array(ids.iter().map(|id| Json::text(hex::encode(id.0))).collect())
}

pub(super) fn json_outcome(outcome: &Outcome) -> Json {
    let need = match &outcome.need {
        Need::Ids(ids) => json_ids(ids),
        Need::Count(count) => Json::Number(*count),
    };
    Json::Object(vec![("have", json_ids(&outcome.have)), ("need", need)])
}

/// The `kind` text of a frame's map, read without the schema (refused frames included).
pub(super) fn frame_kind(bytes: &[u8]) -> String {
    let value: Value = ciborium::from_reader(bytes).unwrap();
    map_get(&value, "kind").and_then(Value::as_text).unwrap().to_owned()
}

pub(super) fn json_frame(frame: &Frame) -> Vec<(&'static str, Json)> {
    vec![
        ("from", Json::text(frame.from.name())),
        ("kind", Json::text(frame_kind(&frame.bytes))),
        ("hex", Json::text(hex::encode(&frame.bytes))),
    ]
}

impl Vector {
    pub(super) fn file_name(&self) -> String {
        format!("{}.json", self.name)
    }

    pub(super) fn render(&self) -> String {
        let mut entries = vec![
            ("name", Json::text(&self.name)),
            ("description", Json::text(&self.description)),
            ("type", Json::text(if matches!(self.end, End::Session { .. }) { "session" } else { "refusal" })),
            ("initiator", json_side(&self.initiator)),
            ("responder", json_side(&self.responder)),
        ];
        if let End::Session { .. } = self.end {
            let keys = SpecKeys::new(&self.initiator.initiator_salt().unwrap());
            entries.push((
                "keys",
                Json::Object(vec![
                    ("hello", Json::text(hex::encode(keys.hello))),
                    ("check", Json::text(hex::encode(keys.check))),
                ]),
            ));
            // The initiator's first item, and the responder's first that the initiator lacks.
            let lacked = self
                .responder
                .items
                .iter()
                .find(|item| !self.initiator.items.iter().any(|ours| ours.id == item.id));
            let examples = [(self.initiator.items.first(), Role::Initiator), (lacked, Role::Responder)]
                .into_iter()
                .filter_map(|(item, role)| item.map(|item| json_example(&keys, role, item)))
                .collect();
            entries.push(("examples", Json::Array(examples)));
        }
        entries.push((
            "frames",
            Json::Array(
                self.frames
                    .iter()
                    .map(|frame| Json::Line(Box::new(Json::Object(json_frame(frame)))))
                    .collect(),
            ),
        ));
        match &self.end {
            End::Session { initiator, responder } => entries.push((
                "outcomes",
                Json::Object(vec![
                    ("initiator", json_outcome(initiator)),
                    ("responder", json_outcome(responder)),
                ]),
            )),
            End::Refusal { receiver, state, frame, error } => {
                let mut refusal =
                    vec![("receiver", Json::text(receiver.name())), ("state", Json::text(*state))];
                refusal.extend(json_frame(frame));
                refusal.push(("error", Json::text(variant(error))));
                refusal.push(("detail", Json::text(error.to_string())));
                entries.push(("refusal", Json::Object(refusal)));
            }
        }
        let mut text = String::new();
        Json::Object(entries).write(0, &mut text);
        text.push('\n');
        text
    }
}

/// How many indices of an example's index sequence a vector shows.
pub(super) const EXAMPLE_INDICES: usize = 10;

pub(super) fn json_example(keys: &SpecKeys, role: Role, item: &Item) -> Json {
    let tag = keys.tag(item);
    let mut sequence = SpecSequence::new(tag);
    let indices = (0..EXAMPLE_INDICES).map(|_| Json::Number(sequence.next_index())).collect();
    Json::Object(vec![
        ("side", Json::text(role.name())),
        ("id", Json::text(hex::encode(item.id.0))),
        ("time", Json::Number(item.time)),
        ("digest", Json::text(hex::encode(keys.digest(&item.id)))),
        ("tag", Json::text(hex::encode(tag.to_be_bytes()))),
        ("check", Json::text(hex::encode(keys.check(tag).to_be_bytes()))),
        ("indices", Json::Array(indices)),
    ])
}
