//! Reading the committed files back, as another implementation would, and replaying each
//! side alone against them.

use super::*;

// ---------------------------------------------------------------------------------------
// Reading the committed files, as another implementation would.
// ---------------------------------------------------------------------------------------

/// A committed vector, read back.
pub(super) struct Committed {
    pub(super) name: String,
    pub(super) kind: String,
    pub(super) initiator: Side,
    pub(super) responder: Side,
    pub(super) frames: Vec<(Frame, String)>,
    pub(super) json: serde_json::Value,
}

pub(super) fn text<'a>(json: &'a serde_json::Value, key: &str) -> Result<&'a str, String> {
    json.get(key).and_then(serde_json::Value::as_str).ok_or_else(|| format!("no text field {key:?}"))
}

pub(super) fn hex_bytes(json: &serde_json::Value, key: &str) -> Result<Vec<u8>, String> {
    hex::decode(text(json, key)?).map_err(|error| format!("{key}: not hex: {error}"))
}

pub(super) fn array<'a>(
    json: &'a serde_json::Value,
    key: &str,
) -> Result<&'a Vec<serde_json::Value>, String> {
    json.get(key).and_then(serde_json::Value::as_array).ok_or_else(|| format!("no array {key:?}"))
}

pub(super) fn fixed<const N: usize>(bytes: Vec<u8>, what: &str) -> Result<[u8; N], String> {
    bytes.try_into().map_err(|bytes: Vec<u8>| format!("{what}: {} bytes, expected {N}", bytes.len()))
}

pub(super) fn read_side(json: &serde_json::Value, role: Role) -> Result<Side, String> {
    let side = json.get(role.name()).ok_or_else(|| format!("no {}", role.name()))?;
    // The initiator's salt; the responder has none.
    let salt = match role {
        Role::Initiator => Some(Salt(fixed(hex_bytes(side, "salt")?, "salt")?)),
        Role::Responder if side.get("salt").is_some() => return Err("the responder has a salt".into()),
        Role::Responder => None,
    };
    let items = array(side, "items")?
        .iter()
        .map(|item| {
            let (Some(time), Some(id)) = (
                item.get(0).and_then(serde_json::Value::as_u64),
                item.get(1).and_then(serde_json::Value::as_str),
            ) else {
                return Err(format!("{}: an item is not [time, id]", role.name()));
            };
            let id = fixed(hex::decode(id).map_err(|error| error.to_string())?, "id")?;
            Ok(Item { time, id: RecordId(id) })
        })
        .collect::<Result<Vec<Item>, String>>()?;
    Ok(Side { salt, items })
}

pub(super) fn read_frame(json: &serde_json::Value) -> Result<(Frame, String), String> {
    let from = Role::parse(text(json, "from")?).ok_or("from is neither side")?;
    Ok((Frame { from, bytes: hex_bytes(json, "hex")? }, text(json, "kind")?.to_owned()))
}

pub(super) fn read_ids(json: &serde_json::Value, key: &str) -> Result<Vec<RecordId>, String> {
    array(json, key)?
        .iter()
        .map(|id| {
            let id =
                hex::decode(id.as_str().ok_or("an id is not text")?).map_err(|error| error.to_string())?;
            Ok(RecordId(fixed(id, "id")?))
        })
        .collect()
}

pub(super) fn read_outcome(json: &serde_json::Value, role: Role) -> Result<Outcome, String> {
    let outcome = json.get("outcomes").and_then(|outcomes| outcomes.get(role.name())).ok_or("no outcome")?;
    // The need is the ids, or (a responder after coded symbols) only their count.
    let need = match outcome.get("need").and_then(serde_json::Value::as_u64) {
        Some(count) => Need::Count(count),
        None => Need::Ids(read_ids(outcome, "need")?),
    };
    Ok(Outcome { have: read_ids(outcome, "have")?, need })
}

pub(super) fn read(file_name: &str, text_of_file: &str) -> Result<Committed, String> {
    let json: serde_json::Value =
        serde_json::from_str(text_of_file).map_err(|error| format!("not JSON: {error}"))?;
    let name = text(&json, "name")?.to_owned();
    if format!("{name}.json") != file_name {
        return Err(format!("name {name:?} is not the file's stem"));
    }
    text(&json, "description")?;
    let frames = array(&json, "frames")?.iter().map(read_frame).collect::<Result<Vec<_>, String>>()?;
    Ok(Committed {
        name,
        kind: text(&json, "type")?.to_owned(),
        initiator: read_side(&json, Role::Initiator)?,
        responder: read_side(&json, Role::Responder)?,
        frames,
        json,
    })
}

pub(super) fn committed_vectors() -> Vec<Committed> {
    golden().bless_if_asked(rendered);
    let files = golden().committed();
    let read: Vec<Result<Committed, String>> =
        files.iter().map(|(name, text)| read(name, text).map_err(|why| format!("{name}: {why}"))).collect();
    let failures: Vec<&String> = read.iter().filter_map(|result| result.as_ref().err()).collect();
    assert!(failures.is_empty(), "unreadable vectors:\n  {failures:?}");
    read.into_iter().filter_map(Result::ok).collect()
}

impl Committed {
    pub(super) fn side(&self, role: Role) -> &Side {
        match role {
            Role::Initiator => &self.initiator,
            Role::Responder => &self.responder,
        }
    }

    pub(super) fn frames(&self) -> Vec<Frame> {
        self.frames.iter().map(|(frame, _)| frame.clone()).collect()
    }

    /// The frames alternate from the initiator, and each is of the kind it says.
    pub(super) fn check_frames(&self) -> Result<(), String> {
        for (index, (frame, kind)) in self.frames.iter().enumerate() {
            let expected = if index % 2 == 0 { Role::Initiator } else { Role::Responder };
            if frame.from != expected {
                return Err(format!(
                    "frames[{index}] is from the {}, expected the {}",
                    frame.from.name(),
                    expected.name()
                ));
            }
            let decoded =
                Message::decode(&frame.bytes).map_err(|error| format!("frames[{index}]: {error}"))?;
            if decoded.kind() != kind {
                return Err(format!("frames[{index}] is a {}, not a {kind}", decoded.kind()));
            }
        }
        Ok(())
    }

    /// Each side alone reaches the committed outcome through exactly the committed frames.
    pub(super) fn replay_session(&self) -> Result<(), String> {
        self.check_frames()?;
        if self.frames.is_empty() {
            return Err("no frames".into());
        }
        for role in [Role::Initiator, Role::Responder] {
            let replayed = replay(role, self.side(role), &self.frames())
                .map_err(|why| format!("{}: {why}", role.name()))?;
            let expected = read_outcome(&self.json, role)?;
            match replayed.outcome {
                Some(outcome) if outcome == expected => {}
                Some(outcome) => {
                    return Err(format!("the {} ends with {outcome:?}, not {expected:?}", role.name()))
                }
                None => return Err(format!("the {} does not finish", role.name())),
            }
        }
        Ok(())
    }

    /// The receiver, after the frames, refuses the refused frame with the stated error, and
    /// then refuses anything with `Finished`.
    pub(super) fn replay_refusal(&self) -> Result<(), String> {
        self.check_frames()?;
        let refusal = self.json.get("refusal").ok_or("no refusal")?;
        let receiver = Role::parse(text(refusal, "receiver")?).ok_or("receiver is neither side")?;
        text(refusal, "state")?;
        let (frame, kind) = read_frame(refusal)?;
        if frame.from != receiver.peer() {
            return Err("the refused frame is not from the receiver's peer".into());
        }
        if self.frames.len() % 2 != usize::from(frame.from == Role::Responder) {
            return Err("the refused frame is not the peer's turn".into());
        }
        if frame_kind(&frame.bytes) != kind {
            return Err(format!("the refused frame's kind is not {kind:?}"));
        }
        let mut replayed = replay(receiver, self.side(receiver), &self.frames())?;
        if replayed.outcome.is_some() {
            return Err("the receiver finished before the refused frame".into());
        }
        match replayed.machine.receive(&frame.bytes) {
            Ok(step) => return Err(format!("accepted: {step:?}")),
            Err(error) => {
                let (expected, detail) = (text(refusal, "error")?, text(refusal, "detail")?);
                if variant(&error) != expected || error.to_string() != detail {
                    return Err(format!("refused with {error:?} ({error}), expected {expected} ({detail})"));
                }
            }
        }
        match replayed.machine.receive(&frame.bytes) {
            Err(ReconcileError::Finished) => Ok(()),
            other => Err(format!("after the refusal: {other:?}, not Finished")),
        }
    }
}

#[test]
pub(super) fn every_vector_replays_on_each_side() {
    let vectors = committed_vectors();
    let mut failures = Vec::new();
    let mut kinds = BTreeSet::new();
    let (mut sessions, mut refusals) = (0, 0);
    for vector in &vectors {
        let result = match vector.kind.as_str() {
            "session" => {
                sessions += 1;
                vector.replay_session()
            }
            "refusal" => {
                refusals += 1;
                vector.replay_refusal()
            }
            other => Err(format!("unknown type {other:?}")),
        };
        if let Err(why) = result {
            failures.push(format!("{}: {why}", vector.name));
        }
        kinds.extend(vector.frames.iter().map(|(_, kind)| kind.clone()));
    }
    assert!(failures.is_empty(), "{} vectors fail:\n  {}", failures.len(), failures.join("\n  "));
    // The sessions between them send every kind of message.
    assert_eq!(kinds.len(), 7, "{kinds:?}");
    assert!(sessions >= 5 && refusals >= 10, "{sessions} sessions, {refusals} refusals");
}
